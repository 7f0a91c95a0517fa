//! Diagnostics as the user sees them: rustc-style text on stderr, or one
//! JSON object per diagnostic per line on stdout.

use std::io::{self, IsTerminal, Write};

use ferropy::diagnostics::{self, Color, Diagnostic, Severity, SourceFile, Span};

/// At most this many diagnostics of one file are printed as text; a flood
/// of follow-on errors would hide the first, usually the one to fix.
pub const DIAGNOSTICS_PER_FILE: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text on stderr, coloured on a terminal unless NO_COLOR
    /// is set; at most 50 diagnostics per file.
    Human,
    /// one JSON object per diagnostic per line on stdout, every diagnostic:
    /// file, line, column, end_line, end_column (1-based, columns in
    /// characters, end exclusive), severity, code, message, label, hint,
    /// secondary.
    Json,
}

pub struct Printer {
    format: Format,
    color: Color,
}

impl Printer {
    pub fn new(format: Format) -> Printer {
        Printer {
            format,
            color: diagnostic_color(),
        }
    }

    pub fn diagnostics(&self, file: &SourceFile, found: &[Diagnostic]) {
        if found.is_empty() {
            return;
        }
        // Write errors (a closed pipe) are ignored: the exit code still
        // tells the caller that the file has diagnostics.
        let _ = match self.format {
            Format::Human => io::stderr()
                .lock()
                .write_all(render_capped(file, found, self.color, DIAGNOSTICS_PER_FILE).as_bytes()),
            Format::Json => {
                let lines = LineIndex::new(&file.text);
                let mut text = String::new();
                for diagnostic in found {
                    text.push_str(&json_line(file, &lines, diagnostic));
                    text.push('\n');
                }
                io::stdout().lock().write_all(text.as_bytes())
            }
        };
    }
}

/// Colour only for a person at a terminal who has not opted out with NO_COLOR.
fn diagnostic_color() -> Color {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    if io::stderr().is_terminal() && !no_color {
        Color::Always
    } else {
        Color::Never
    }
}

/// The first `cap` diagnostics rendered, then a line counting the rest.
pub fn render_capped(file: &SourceFile, found: &[Diagnostic], color: Color, cap: usize) -> String {
    let (shown, rest) = found.split_at(found.len().min(cap));
    let mut text = diagnostics::render(file, shown, color);
    if !rest.is_empty() {
        let errors = rest
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count();
        let noun = if errors == rest.len() {
            "error"
        } else if errors == 0 {
            "warning"
        } else {
            "diagnostic"
        };
        let plural = if rest.len() == 1 { "" } else { "s" };
        text.push_str(&format!(
            "... and {} more {noun}{plural} in {}\n\n",
            rest.len(),
            file.path
        ));
    }
    text
}

/// "1 error", "3 errors".
pub fn count_errors(found: &[Diagnostic]) -> String {
    let errors = found
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .count();
    match errors {
        1 => "1 error".to_string(),
        errors => format!("{errors} errors"),
    }
}

/// Byte offsets to 1-based lines and columns, counted the way the text
/// renderer counts them: lines end at `\n`, columns are characters.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        LineIndex { starts }
    }

    /// The line and column of a byte offset, clamped into the text and
    /// back to the start of the character it falls in.
    pub fn position(&self, text: &str, offset: u32) -> (usize, usize) {
        let mut offset = (offset as usize).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = self.starts[line - 1];
        (line, text[line_start..offset].chars().count() + 1)
    }

    /// `"line":…,"column":…,"end_line":…,"end_column":…` for a span.
    fn span_fields(&self, text: &str, span: Span) -> String {
        let (line, column) = self.position(text, span.start);
        let (end_line, end_column) = self.position(text, span.end.max(span.start));
        format!(
            "\"line\":{line},\"column\":{column},\"end_line\":{end_line},\"end_column\":{end_column}"
        )
    }
}

/// One diagnostic as a single-line JSON object, fields in a fixed order.
pub fn json_line(file: &SourceFile, lines: &LineIndex, diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let hint = match &diagnostic.hint {
        Some(hint) => json_string(hint),
        None => "null".to_string(),
    };
    let secondary: Vec<String> = diagnostic
        .secondary
        .iter()
        .map(|label| {
            format!(
                "{{{},\"message\":{}}}",
                lines.span_fields(&file.text, label.span),
                json_string(&label.message)
            )
        })
        .collect();
    format!(
        "{{\"file\":{},{},\"severity\":\"{severity}\",\"code\":{},\"message\":{},\
         \"label\":{},\"hint\":{hint},\"secondary\":[{}]}}",
        json_string(&file.path),
        lines.span_fields(&file.text, diagnostic.span),
        json_string(diagnostic.code),
        json_string(&diagnostic.message),
        json_string(&diagnostic.label),
        secondary.join(","),
    )
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
