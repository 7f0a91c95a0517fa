//! Parsing: Python text to the rustpython AST, plus `#pythran export` lines.
//!
//! The parser crate does the real work; this module turns its errors into
//! diagnostics and reads the export comments that the AST does not keep.

use rustpython_parser::ast;
use rustpython_parser::text_size::TextSize;

use crate::diagnostics::{codes, Diagnostic, SourceFile, Span};

/// A parsed file: the module body and the export comments found in it.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub file: &'a SourceFile,
    pub body: ast::Suite,
    pub exports: Vec<PythranExport>,
}

/// One `#pythran export f(float64[:], int)` line, parsed as the call
/// expression `f(float64[:], int)`.
#[derive(Debug)]
pub struct PythranExport {
    pub function: String,
    pub arg_types: Vec<ast::Expr>,
    /// Per argument: written `int?`, so callers may leave it out.
    pub optional: Vec<bool>,
    pub span: Span,
}

pub fn parse(file: &SourceFile) -> Result<Parsed<'_>, Vec<Diagnostic>> {
    let body = rustpython_parser::parse(&file.text, rustpython_parser::Mode::Module, &file.path)
        .map_err(|error| vec![parse_error(file, &error)])?;
    let body = match body {
        ast::Mod::Module(module) => module.body,
        _ => Vec::new(),
    };
    let (exports, diagnostics) = pythran_exports(file);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Parsed {
        file,
        body,
        exports,
    })
}

fn parse_error(file: &SourceFile, error: &rustpython_parser::ParseError) -> Diagnostic {
    let start: u32 = error.offset.into();
    let end = next_char_boundary(&file.text, start);
    Diagnostic::error(
        codes::INVALID_SYNTAX,
        Span::new(start, end),
        syntax_message(&error.error.to_string()),
    )
    .with_label("the parser stopped here")
    .with_hint("ferropy reads Python 3 source; check that the file runs under CPython")
}

/// The parser's message, prefixed with "invalid syntax" unless it says so.
fn syntax_message(message: &str) -> String {
    if message.starts_with("invalid syntax") {
        message.to_string()
    } else {
        format!("invalid syntax: {message}")
    }
}

/// The end of the character starting at `offset`, so a caret covers one character.
fn next_char_boundary(text: &str, offset: u32) -> u32 {
    let offset = offset as usize;
    match text.get(offset..).and_then(|rest| rest.chars().next()) {
        Some('\n' | '\r') => offset as u32,
        Some(c) => (offset + c.len_utf8()) as u32,
        None => offset as u32,
    }
}

/// Parses a string annotation such as `"float64[:, :]"` whose text starts at
/// `offset` in the file, so spans inside it point at the right columns.
pub fn parse_annotation_text(
    text: &str,
    file: &SourceFile,
    offset: u32,
) -> Result<ast::Expr, Diagnostic> {
    <ast::Expr as rustpython_parser::Parse>::parse_starts_at(
        text,
        &file.path,
        TextSize::from(offset),
    )
    .map_err(|error| {
        let start: u32 = error.offset.into();
        Diagnostic::error(
            codes::INVALID_ANNOTATION_SYNTAX,
            Span::new(start, next_char_boundary(&file.text, start)),
            format!("invalid type annotation: {}", error.error),
        )
        .with_hint("write array types as \"float64[:]\" or \"int32[:, :]\"")
    })
}

fn pythran_exports(file: &SourceFile) -> (Vec<PythranExport>, Vec<Diagnostic>) {
    let mut exports = Vec::new();
    let mut diagnostics = Vec::new();
    let mut line_start = 0usize;
    for line in file.text.split_inclusive('\n') {
        let this_start = line_start;
        line_start += line.len();
        let trimmed = line.trim_start();
        let Some(comment) = trimmed.strip_prefix('#') else {
            continue;
        };
        let comment = comment.trim_start();
        let Some(rest) = comment.strip_prefix("pythran export") else {
            continue;
        };
        let rest_offset = this_start + (line.len() - rest.len());
        let text = rest.trim_end();
        let leading = text.len() - text.trim_start().len();
        let text = text.trim_start();
        let offset = (rest_offset + leading) as u32;
        let span = Span::new(offset, offset + text.len() as u32);
        if let Some(diagnostic) = unsupported_export(text, span) {
            diagnostics.push(diagnostic);
            continue;
        }
        // Pythran's array forms (`float64[]`, `float [][]`, `uint8[][][3]`)
        // are not Python; they are rewritten to `float64[:]` and friends,
        // and positions mapped back to the comment for diagnostics.
        let (normal, positions) = normalise_array_types(text);
        let (normal, positions) = normalise_container_types(&normal, positions);
        match <ast::Expr as rustpython_parser::Parse>::parse_starts_at(
            &normal,
            &file.path,
            TextSize::from(0),
        ) {
            Ok(ast::Expr::Call(call)) => match call.func.as_ref() {
                ast::Expr::Name(name) if call.keywords.is_empty() => {
                    let arg_types: Vec<ast::Expr> = call
                        .args
                        .iter()
                        .cloned()
                        .map(|mut arg| {
                            remap_ranges(&mut arg, &|at| {
                                let at = usize::from(at).min(positions.len() - 1);
                                TextSize::from(offset + positions[at] as u32)
                            });
                            arg
                        })
                        .collect();
                    // `int?`: the `?` (read as a space) follows the type.
                    let optional = arg_types
                        .iter()
                        .map(|arg| {
                            let end = usize::from(ast::Ranged::range(arg).end());
                            file.text
                                .get(end..)
                                .is_some_and(|rest| rest.trim_start().starts_with('?'))
                        })
                        .collect();
                    exports.push(PythranExport {
                        function: name.id.to_string(),
                        arg_types,
                        optional,
                        span,
                    })
                }
                _ => diagnostics.push(bad_export(span)),
            },
            _ => diagnostics.push(bad_export(span)),
        }
    }
    (exports, diagnostics)
}

/// Rewrites Pythran's container types into Python annotations:
/// `int list` → `list[int]`, `float set` → `set[float]`,
/// `int:float dict` → `dict[int, float]`, `(int, float) list` →
/// `list[tuple[int, float]]`, nested as written (`int list list`). Each
/// rewritten argument maps, byte for byte, to where it starts in the line.
fn normalise_container_types(text: &str, positions: Vec<usize>) -> (String, Vec<usize>) {
    let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
        return (text.to_string(), positions);
    };
    if close < open {
        return (text.to_string(), positions);
    }
    let is_word = |arg: &str, word: &str| {
        arg.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == word)
    };
    let mut out = String::new();
    let mut out_positions = Vec::new();
    let mut push = |piece: &str, from: usize| {
        out.push_str(piece);
        out_positions.extend(std::iter::repeat_n(from, piece.len()));
    };
    let position = |at: usize| positions.get(at).copied().unwrap_or(0);
    for (k, c) in text[..=open].char_indices() {
        push(&c.to_string(), position(k));
    }
    let inner = &text[open + 1..close];
    let mut start = 0;
    for (k, piece) in split_top_level(inner, ',').into_iter().enumerate() {
        if k > 0 {
            push(",", position(open + start));
            start += 1;
        }
        let at = open + 1 + start;
        let rewritten = ["list", "set", "dict"]
            .iter()
            .any(|w| is_word(piece, w))
            .then(|| container_type(piece.trim()))
            .flatten();
        match rewritten {
            Some(rewritten) => push(&format!(" {rewritten}"), position(at)),
            None => {
                for (j, c) in piece.char_indices() {
                    push(&c.to_string(), position(at + j));
                }
            }
        }
        start += piece.len();
    }
    for (k, c) in text[close..].char_indices() {
        push(&c.to_string(), position(close + k));
    }
    out_positions.push(position(text.len()));
    (out, out_positions)
}

/// Splits at `separator` outside brackets and parentheses.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (k, c) in text.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            c if c == separator && depth == 0 => {
                parts.push(&text[start..k]);
                start = k + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One Pythran type with container suffixes as a Python annotation.
fn container_type(text: &str) -> Option<String> {
    let text = text.trim();
    for (suffix, name) in [(" list", "list"), (" set", "set")] {
        if let Some(inner) = text.strip_suffix(suffix) {
            return Some(format!("{name}[{}]", container_type(inner)?));
        }
    }
    if let Some(inner) = text.strip_suffix(" dict") {
        let [key, value] = split_top_level(inner, ':')[..] else {
            return None;
        };
        return Some(format!(
            "dict[{}, {}]",
            container_type(key)?,
            container_type(value)?
        ));
    }
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        let items: Option<Vec<String>> = split_top_level(inner, ',')
            .into_iter()
            .map(container_type)
            .collect();
        return Some(format!("tuple[{}]", items?.join(", ")));
    }
    (!text.is_empty()).then(|| text.to_string())
}

/// Rewrites Pythran's array types into the Python form the signature
/// language reads: `float64[]` → `float64[:]`, `float [][]` → `float[:, :]`,
/// `uint8[][][3]` → `uint8[:, :, :]` (fixed sizes are not checked),
/// `float64[::]` → `float64[:]`. Returns the text and, for every byte of it
/// (and one past the end), the byte of `text` it came from.
fn normalise_array_types(text: &str) -> (String, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8);
    let mut positions = Vec::with_capacity(text.len() + 9);
    let push = |out: &mut String, positions: &mut Vec<usize>, piece: &str, from: usize| {
        out.push_str(piece);
        positions.extend(std::iter::repeat_n(from, piece.len()));
    };
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'?' {
            push(&mut out, &mut positions, " ", i);
            i += 1;
            continue;
        }
        if !is_name(bytes[i]) || !text.is_char_boundary(i) {
            let end = (i + 1..=bytes.len())
                .find(|&e| text.is_char_boundary(e))
                .unwrap_or(bytes.len());
            push(&mut out, &mut positions, &text[i..end], i);
            i = end;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_name(bytes[i]) {
            i += 1;
        }
        push(&mut out, &mut positions, &text[start..i], start);
        // Bracket groups after the name, spaces allowed before each.
        let mut dims: Vec<String> = Vec::new();
        let mut j = i;
        let group_start = i;
        loop {
            let mut k = j;
            while k < bytes.len() && bytes[k] == b' ' {
                k += 1;
            }
            if k >= bytes.len() || bytes[k] != b'[' {
                break;
            }
            let Some(close) = text[k..].find(']').map(|c| k + c) else {
                break;
            };
            let content = text[k + 1..close].trim();
            if content.contains('[') {
                break;
            }
            if content.is_empty() {
                dims.push(":".into());
            } else {
                for part in content.split(',') {
                    let part = part.trim();
                    let whole = part.is_empty()
                        || part == ":"
                        || part == "::"
                        || part.chars().all(|c| c.is_ascii_digit());
                    dims.push(if whole { ":".into() } else { part.to_string() });
                }
            }
            j = close + 1;
        }
        if dims.is_empty() {
            continue;
        }
        let rewritten = format!("[{}]", dims.join(", "));
        push(&mut out, &mut positions, &rewritten, group_start);
        i = j;
    }
    positions.push(text.len());
    (out, positions)
}

/// Moves every range in an export's type expression through `map`.
fn remap_ranges(expr: &mut ast::Expr, map: &dyn Fn(TextSize) -> TextSize) {
    use rustpython_parser::text_size::TextRange;
    let moved = |range: TextRange| {
        TextRange::new(map(range.start()), map(range.end()).max(map(range.start())))
    };
    match expr {
        ast::Expr::Name(node) => node.range = moved(node.range),
        ast::Expr::Constant(node) => node.range = moved(node.range),
        ast::Expr::Attribute(node) => {
            node.range = moved(node.range);
            remap_ranges(&mut node.value, map);
        }
        ast::Expr::Subscript(node) => {
            node.range = moved(node.range);
            remap_ranges(&mut node.value, map);
            remap_ranges(&mut node.slice, map);
        }
        ast::Expr::Tuple(node) => {
            node.range = moved(node.range);
            node.elts.iter_mut().for_each(|e| remap_ranges(e, map));
        }
        ast::Expr::List(node) => {
            node.range = moved(node.range);
            node.elts.iter_mut().for_each(|e| remap_ranges(e, map));
        }
        ast::Expr::Slice(node) => {
            node.range = moved(node.range);
            for bound in [&mut node.lower, &mut node.upper, &mut node.step]
                .into_iter()
                .flatten()
            {
                remap_ranges(bound, map);
            }
        }
        ast::Expr::Call(node) => {
            node.range = moved(node.range);
            remap_ranges(&mut node.func, map);
            node.args.iter_mut().for_each(|e| remap_ranges(e, map));
        }
        ast::Expr::UnaryOp(node) => {
            node.range = moved(node.range);
            remap_ranges(&mut node.operand, map);
        }
        ast::Expr::BinOp(node) => {
            node.range = moved(node.range);
            remap_ranges(&mut node.left, map);
            remap_ranges(&mut node.right, map);
        }
        ast::Expr::BoolOp(node) => {
            node.range = moved(node.range);
            node.values.iter_mut().for_each(|e| remap_ranges(e, map));
        }
        _ => {}
    }
}

/// Export forms ferropy recognises but does not compile: capsules.
fn unsupported_export(text: &str, span: Span) -> Option<Diagnostic> {
    if text
        .strip_prefix("capsule")
        .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    {
        return Some(
            Diagnostic::error(
                codes::BAD_PYTHRAN_EXPORT,
                span,
                "`#pythran export capsule` is not supported",
            )
            .with_label("a PyCapsule export")
            .with_hint(
                "export the function as a Python function (drop `capsule`); other modules \
                 compiled by ferropy call it natively through `__ferropy_native__`",
            ),
        );
    }
    None
}

fn bad_export(span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::BAD_PYTHRAN_EXPORT,
        span,
        "cannot read this `#pythran export` line",
    )
    .with_label("expected `name(type, ...)`")
    .with_hint("write `#pythran export f(float64[:], int)`, or annotate the parameters instead")
}
