//! Source bytes to text the way CPython reads a file (PEP 3120, PEP 263):
//! UTF-8 unless a coding comment on line 1, or on line 2 below a blank or
//! comment line, names another encoding; a UTF-8 byte order mark is dropped
//! and allows only a `utf-8` comment. Bytes that do not decode, an unknown
//! encoding, or a byte order mark with another encoding give an
//! invalid-syntax diagnostic, as they give CPython a SyntaxError.
//!
//! Spans are byte offsets into the decoded text, which is what the renderer
//! shows; an undecodable file is shown with U+FFFD for the bad bytes, and
//! the span points there.

use std::borrow::Cow;

use crate::diagnostics::{codes, Diagnostic, SourceFile, Span};
use encoding_rs::{DecoderResult, Encoding};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file that cannot be decoded: its text as well as it can be shown,
/// and the diagnostic saying why.
#[derive(Debug)]
pub struct Undecodable {
    pub file: SourceFile,
    pub diagnostic: Diagnostic,
}

/// The encodings a source file can declare. Latin-1 and ASCII are
/// decoded here because the Encoding Standard behind `encoding_rs` maps
/// their labels to windows-1252. For the single-byte ISO 8859 encodings
/// it likewise substitutes windows code pages, which differ from Python
/// only in bytes 0x80–0x9F (C1 controls in Python).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceEncoding {
    Utf8,
    Latin1,
    Ascii,
    Other(&'static Encoding),
}

impl SourceEncoding {
    fn name(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "UTF-8",
            SourceEncoding::Latin1 => "Latin-1",
            SourceEncoding::Ascii => "ASCII",
            SourceEncoding::Other(encoding) => encoding.name(),
        }
    }
}

/// A coding comment: the encoding name as written and where it is.
struct Cookie<'a> {
    name: &'a str,
    /// Byte offset of the name in the file after any byte order mark.
    start: usize,
}

pub fn decode(path: String, bytes: &[u8]) -> Result<SourceFile, Box<Undecodable>> {
    let (has_bom, body) = match bytes.strip_prefix(UTF8_BOM) {
        Some(body) => (true, body),
        None => (false, bytes),
    };
    let cookie = find_cookie(body);
    let encoding = match &cookie {
        None => SourceEncoding::Utf8,
        Some(cookie) => match lookup(cookie.name) {
            Ok(encoding) => encoding,
            Err(problem) => {
                return Err(Box::new(cookie_error(path, body, cookie, problem)));
            }
        },
    };
    if let (true, Some(cookie)) = (has_bom, &cookie) {
        if !is_python_utf8_name(cookie.name) {
            let diagnostic = Diagnostic::error(
                codes::INVALID_SYNTAX,
                lossy_span(body, cookie),
                format!(
                    "this file starts with a UTF-8 byte order mark but declares the \
                     encoding `{}`",
                    cookie.name
                ),
            )
            .with_label("declared here")
            .with_hint(
                "Python accepts a byte order mark only with `coding: utf-8`; write \
                 `utf-8` here, or remove the byte order mark",
            );
            return Err(Box::new(Undecodable {
                file: SourceFile {
                    path,
                    text: String::from_utf8_lossy(body).into_owned(),
                },
                diagnostic,
            }));
        }
    }
    match decode_strictly(encoding, body) {
        Ok(text) => Ok(SourceFile { path, text }),
        Err(bad) => Err(Box::new(undecodable(
            path,
            body,
            encoding,
            cookie.as_ref(),
            bad,
        ))),
    }
}

/// The coding comment on line 1, or on line 2 when line 1 is blank or a
/// comment: `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`, as in CPython's
/// tokenizer.
fn find_cookie(body: &[u8]) -> Option<Cookie<'_>> {
    let mut line_start = 0;
    for _ in 0..2 {
        let rest = body.get(line_start..)?;
        let line_end = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(rest.len(), |newline| newline + 1);
        let line = &rest[..line_end];
        if let Some((start, end)) = cookie_in_line(line) {
            // The name is ASCII by construction.
            let name = std::str::from_utf8(&line[start..end]).ok()?;
            return Some(Cookie {
                name,
                start: line_start + start,
            });
        }
        let first = line
            .iter()
            .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\x0c'));
        if !matches!(first, None | Some(b'#' | b'\r' | b'\n')) {
            return None;
        }
        line_start += line_end;
    }
    None
}

/// The byte range of the encoding name in a coding comment line.
fn cookie_in_line(line: &[u8]) -> Option<(usize, usize)> {
    let hash = line
        .iter()
        .position(|&byte| !matches!(byte, b' ' | b'\t' | b'\x0c'))?;
    if line[hash] != b'#' {
        return None;
    }
    let is_name_byte =
        |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
    let mut search = hash + 1;
    while let Some(found) = line[search..]
        .windows(b"coding".len())
        .position(|window| window == b"coding")
    {
        let after = search + found + b"coding".len();
        search += found + 1;
        if !matches!(line.get(after), Some(b':' | b'=')) {
            continue;
        }
        let mut start = after + 1;
        while matches!(line.get(start), Some(b' ' | b'\t')) {
            start += 1;
        }
        let mut end = start;
        while line.get(end).is_some_and(is_name_byte) {
            end += 1;
        }
        if end > start {
            return Some((start, end));
        }
    }
    None
}

/// Whether CPython's tokenizer takes `name` for UTF-8 when the file has a
/// byte order mark: `utf-8` or `utf-8-…`, any case, `_` for `-`.
fn is_python_utf8_name(name: &str) -> bool {
    let normal = name.to_ascii_lowercase().replace('_', "-");
    normal == "utf-8" || normal.starts_with("utf-8-")
}

/// Why a declared encoding cannot be used.
#[derive(Debug)]
enum LookupProblem {
    Unknown,
    NotAsciiCompatible(&'static str),
}

/// Python's codec name lookup, for the names a source file can use.
fn lookup(name: &str) -> Result<SourceEncoding, LookupProblem> {
    let key = codec_key(name);
    let python_alias = match key.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => {
            Some(SourceEncoding::Utf8)
        }
        "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "iso8859" | "8859"
        | "cp819" | "ibm819" | "iso_ir_100" | "csisolatin1" | "iso_8859_1_1987" | "iso_latin_1" => {
            Some(SourceEncoding::Latin1)
        }
        "ascii" | "us_ascii" | "646" | "us" | "cp367" | "ibm367" | "csascii" | "iso646_us"
        | "iso_ir_6" | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986"
        | "iso_646.irv_1991" => Some(SourceEncoding::Ascii),
        // CPython's tokenizer also takes `utf-8-…` and `latin-1-…` for
        // UTF-8 and Latin-1 (Emacs writes `utf-8-unix`).
        _ if key.starts_with("utf_8_") => Some(SourceEncoding::Utf8),
        _ if key.starts_with("latin_1_")
            || key.starts_with("iso_8859_1_")
            || key.starts_with("iso_latin_1_") =>
        {
            Some(SourceEncoding::Latin1)
        }
        _ => None,
    };
    if let Some(encoding) = python_alias {
        return Ok(encoding);
    }
    let encoding = [key.clone(), key.replace('_', "-")]
        .iter()
        .find_map(|label| Encoding::for_label_no_replacement(label.as_bytes()))
        .ok_or(LookupProblem::Unknown)?;
    if encoding == encoding_rs::UTF_8 {
        Ok(SourceEncoding::Utf8)
    } else if encoding == encoding_rs::X_USER_DEFINED {
        Err(LookupProblem::Unknown)
    } else if !encoding.is_ascii_compatible() {
        Err(LookupProblem::NotAsciiCompatible(encoding.name()))
    } else {
        Ok(SourceEncoding::Other(encoding))
    }
}

/// Python's normalised codec name: lower case, and each run of
/// characters other than letters, digits and `.` becomes one `_`.
fn codec_key(name: &str) -> String {
    let mut key = String::new();
    let mut pending_separator = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if pending_separator && !key.is_empty() {
                key.push('_');
            }
            key.push(c.to_ascii_lowercase());
            pending_separator = false;
        } else {
            pending_separator = true;
        }
    }
    key
}

/// Where decoding failed: the text before the bad bytes, their offset
/// and length.
struct BadBytes {
    valid_prefix: String,
    offset: usize,
    len: usize,
}

fn decode_strictly(encoding: SourceEncoding, body: &[u8]) -> Result<String, BadBytes> {
    match encoding {
        SourceEncoding::Utf8 => match std::str::from_utf8(body) {
            Ok(text) => Ok(text.to_string()),
            Err(error) => {
                let offset = error.valid_up_to();
                Err(BadBytes {
                    valid_prefix: String::from_utf8_lossy(&body[..offset]).into_owned(),
                    offset,
                    len: error.error_len().unwrap_or(body.len() - offset),
                })
            }
        },
        SourceEncoding::Latin1 => Ok(body.iter().map(|&byte| char::from(byte)).collect()),
        SourceEncoding::Ascii => match body.iter().position(|byte| !byte.is_ascii()) {
            None => Ok(String::from_utf8_lossy(body).into_owned()),
            Some(offset) => Err(BadBytes {
                valid_prefix: String::from_utf8_lossy(&body[..offset]).into_owned(),
                offset,
                len: 1,
            }),
        },
        SourceEncoding::Other(encoding) => {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            let mut text = String::new();
            let mut read_total = 0;
            loop {
                let remaining = body.len() - read_total;
                let needed = decoder
                    .max_utf8_buffer_length_without_replacement(remaining)
                    .unwrap_or(remaining);
                text.reserve(needed);
                let (result, read) = decoder.decode_to_string_without_replacement(
                    &body[read_total..],
                    &mut text,
                    true,
                );
                read_total += read;
                match result {
                    DecoderResult::InputEmpty => return Ok(text),
                    DecoderResult::OutputFull => continue,
                    DecoderResult::Malformed(bad, consumed_after) => {
                        let len = usize::from(bad);
                        let offset = read_total
                            .saturating_sub(usize::from(consumed_after))
                            .saturating_sub(len);
                        return Err(BadBytes {
                            valid_prefix: text,
                            offset,
                            len,
                        });
                    }
                }
            }
        }
    }
}

/// Bytes decoded with U+FFFD for what does not decode.
fn decode_lossily(encoding: SourceEncoding, bytes: &[u8]) -> Cow<'_, str> {
    match encoding {
        SourceEncoding::Utf8 | SourceEncoding::Ascii => String::from_utf8_lossy(bytes),
        SourceEncoding::Latin1 => Cow::Owned(bytes.iter().map(|&byte| char::from(byte)).collect()),
        SourceEncoding::Other(encoding) => encoding.decode_without_bom_handling(bytes).0,
    }
}

fn undecodable(
    path: String,
    body: &[u8],
    encoding: SourceEncoding,
    cookie: Option<&Cookie<'_>>,
    bad: BadBytes,
) -> Undecodable {
    // The text shown is the good prefix, then the rest decoded lossily
    // from the bad bytes on, so the caret lands on their U+FFFD.
    let rest = decode_lossily(encoding, &body[bad.offset..]);
    let start = bad.valid_prefix.len();
    let first_char = rest.chars().next().map_or(0, char::len_utf8);
    let text = format!("{}{rest}", bad.valid_prefix);
    let bytes = body[bad.offset..(bad.offset + bad.len).min(body.len())]
        .iter()
        .map(|byte| format!("0x{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let noun = if bad.len == 1 { "byte" } else { "bytes" };
    let mut diagnostic = Diagnostic::error(
        codes::INVALID_SYNTAX,
        Span::new(start as u32, (start + first_char) as u32),
        format!("cannot decode {noun} {bytes} as {}", encoding.name()),
    )
    .with_label(format!("not valid {}", encoding.name()));
    match cookie {
        None => {
            diagnostic = diagnostic.with_hint(
                "Python reads source files as UTF-8 unless a comment on line 1 or 2 \
                 declares another encoding (PEP 263); save the file as UTF-8, or declare \
                 its encoding with a comment such as `# -*- coding: latin-1 -*-`",
            );
        }
        Some(cookie) => {
            // The comment is on line 1 or 2; the bad bytes may come
            // before it, in which case it sits in the lossy rest.
            let cookie_offset = if cookie.start <= bad.offset {
                decode_lossily(encoding, &body[..cookie.start]).len()
            } else {
                start + decode_lossily(encoding, &body[bad.offset..cookie.start]).len()
            };
            let span = Span::new(
                cookie_offset as u32,
                (cookie_offset + cookie.name.len()) as u32,
            );
            diagnostic = diagnostic
                .with_secondary(span, "the encoding is declared here")
                .with_hint("save the file in the declared encoding, or correct the coding comment");
        }
    }
    Undecodable {
        file: SourceFile { path, text },
        diagnostic,
    }
}

fn cookie_error(
    path: String,
    body: &[u8],
    cookie: &Cookie<'_>,
    problem: LookupProblem,
) -> Undecodable {
    let (message, label, hint) = match problem {
        LookupProblem::Unknown => (
            format!("unknown encoding `{}`", cookie.name),
            "not an encoding Python knows",
            "declare a codec Python knows, such as `utf-8` or `latin-1`, or remove the \
             coding comment to use UTF-8"
                .to_string(),
        ),
        LookupProblem::NotAsciiCompatible(name) => (
            format!(
                "the encoding `{}` cannot be declared in the file",
                cookie.name
            ),
            "not compatible with ASCII",
            format!(
                "a coding comment must itself be readable as ASCII, which {name} is not; \
                 save the file as UTF-8"
            ),
        ),
    };
    let diagnostic = Diagnostic::error(codes::INVALID_SYNTAX, lossy_span(body, cookie), message)
        .with_label(label)
        .with_hint(hint);
    Undecodable {
        file: SourceFile {
            path,
            text: String::from_utf8_lossy(body).into_owned(),
        },
        diagnostic,
    }
}

/// The span of the encoding name in the file decoded lossily as UTF-8.
fn lossy_span(body: &[u8], cookie: &Cookie<'_>) -> Span {
    let start = String::from_utf8_lossy(&body[..cookie.start]).len();
    Span::new(start as u32, (start + cookie.name.len()) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of a file, or the message and the spanned text of its
    /// diagnostic.
    type Expected = Result<String, (String, String)>;

    fn outcome(bytes: &[u8]) -> Expected {
        match decode("f.py".to_string(), bytes) {
            Ok(file) => Ok(file.text),
            Err(undecodable) => {
                let span = undecodable.diagnostic.span;
                let spanned =
                    undecodable.file.text[span.start as usize..span.end as usize].to_string();
                Err((undecodable.diagnostic.message, spanned))
            }
        }
    }

    fn error(message: &str, spanned: &str) -> Expected {
        Err((message.to_string(), spanned.to_string()))
    }

    #[test]
    fn decodes_like_cpython() {
        let cases: &[(&[u8], Expected)] = &[
            (b"x = 1\n", Ok("x = 1\n".into())),
            (b"\xEF\xBB\xBFx = 1\n", Ok("x = 1\n".into())),
            (
                b"\xEF\xBB\xBF# coding: utf-8-unix\nx = 1\n",
                Ok("# coding: utf-8-unix\nx = 1\n".into()),
            ),
            (
                b"# -*- coding: latin-1 -*-\ns = '\xE9'\n",
                Ok("# -*- coding: latin-1 -*-\ns = '\u{e9}'\n".into()),
            ),
            (
                b"#!/usr/bin/env python\n# vim: set fileencoding=latin_1 :\ns = '\xE9'\n",
                Ok(
                    "#!/usr/bin/env python\n# vim: set fileencoding=latin_1 :\ns = '\u{e9}'\n"
                        .into(),
                ),
            ),
            (
                b"# coding:   \n# coding: iso8859_15\ns = '\xA4'\n",
                Ok("# coding:   \n# coding: iso8859_15\ns = '\u{20ac}'\n".into()),
            ),
            (
                b"# coding: koi8-r\ns = '\xF0'\n",
                Ok("# coding: koi8-r\ns = '\u{41f}'\n".into()),
            ),
            (
                b"# coding: cp1252\ns = '\x80'\n",
                Ok("# coding: cp1252\ns = '\u{20ac}'\n".into()),
            ),
            (
                b"  # coding=latin1\ns = '\xE9'\n",
                Ok("  # coding=latin1\ns = '\u{e9}'\n".into()),
            ),
            (
                b"x = '\xE9'\n",
                error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
            ),
            (
                b"x = 1\n# coding: latin-1\ns = '\xE9'\n",
                error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
            ),
            (
                b"x = '\xE9' # coding: latin-1\n",
                error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
            ),
            (
                b"# coding: ascii\ns = '\xC3\xA9'\n",
                error("cannot decode byte 0xc3 as ASCII", "\u{e9}"),
            ),
            (
                b"# coding: euc-jp\ns = '\xA4'\n",
                error("cannot decode byte 0xa4 as EUC-JP", "\u{fffd}"),
            ),
            (
                b"# coding: uft-8\nx = 1\n",
                error("unknown encoding `uft-8`", "uft-8"),
            ),
            (
                b"# \xE9 coding: nope\nx = 1\n",
                error("unknown encoding `nope`", "nope"),
            ),
            (
                b"# coding: utf-16\nx = 1\n",
                error(
                    "the encoding `utf-16` cannot be declared in the file",
                    "utf-16",
                ),
            ),
            (
                b"\xEF\xBB\xBF# coding: utf8\nx = 1\n",
                error(
                    "this file starts with a UTF-8 byte order mark but declares the \
                     encoding `utf8`",
                    "utf8",
                ),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                &outcome(bytes),
                expected,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn the_declared_encoding_is_pointed_at() {
        let bytes = b"# coding: ascii\n# \xE9\n";
        let undecodable = decode("f.py".to_string(), bytes).unwrap_err();
        let [declared] = undecodable.diagnostic.secondary.as_slice() else {
            panic!("expected one secondary label");
        };
        let text = &undecodable.file.text;
        assert_eq!(
            &text[declared.span.start as usize..declared.span.end as usize],
            "ascii"
        );
    }

    #[test]
    fn codec_keys_follow_python() {
        assert_eq!(codec_key("Latin-1"), "latin_1");
        assert_eq!(codec_key("ISO_8859--15"), "iso_8859_15");
        assert_eq!(codec_key("-utf.8-"), "utf.8");
    }
}
