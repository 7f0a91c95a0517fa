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
        match <ast::Expr as rustpython_parser::Parse>::parse_starts_at(
            text,
            &file.path,
            offset.into(),
        ) {
            Ok(ast::Expr::Call(call)) => match call.func.as_ref() {
                ast::Expr::Name(name) if call.keywords.is_empty() => exports.push(PythranExport {
                    function: name.id.to_string(),
                    arg_types: call.args.clone(),
                    span,
                }),
                _ => diagnostics.push(bad_export(span)),
            },
            _ => diagnostics.push(bad_export(span)),
        }
    }
    (exports, diagnostics)
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
