//! Compiler diagnostics: a message tied to a source span, rendered rustc-style.
//!
//! Every stage reports problems as `Diagnostic` values; nothing is printed or
//! aborted along the way. Rendering happens in one place, `render`, so the
//! command line, snapshot tests and any future editor integration agree.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};

/// A half-open byte range `[start, end)` into the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl From<rustpython_parser::text_size::TextRange> for Span {
    fn from(range: rustpython_parser::text_size::TextRange) -> Span {
        Span {
            start: range.start().into(),
            end: range.end().into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A secondary span with its own short message ("first assigned here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryLabel {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Short text printed under the caret.
    pub label: String,
    pub secondary: Vec<SecondaryLabel>,
    /// What to write instead; every error should have one.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            hint: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(SecondaryLabel {
            span,
            message: message.into(),
        });
        self
    }
}

/// The text of one Python source file and the name used to report it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user wrote it; diagnostics print it verbatim.
    pub path: String,
    pub text: String,
}

/// Whether `render` may emit ANSI colour codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Never,
    Always,
}

/// Renders diagnostics in the rustc style: `error: message`, `--> file:line:col`,
/// the source line with a caret under the span, then the hint.
pub fn render(file: &SourceFile, diagnostics: &[Diagnostic], color: Color) -> String {
    let files = SimpleFile::new(file.path.as_str(), file.text.as_str());
    let mut buffer = match color {
        Color::Never => termcolor::Buffer::no_color(),
        Color::Always => termcolor::Buffer::ansi(),
    };
    let config = term::Config::default();
    for diagnostic in diagnostics {
        let text_len = file.text.len();
        let clamp = |span: Span| {
            let start = (span.start as usize).min(text_len);
            let end = (span.end as usize).clamp(start, text_len);
            start..end
        };
        let mut labels =
            vec![Label::primary((), clamp(diagnostic.span)).with_message(diagnostic.label.clone())];
        for secondary in &diagnostic.secondary {
            labels.push(
                Label::secondary((), clamp(secondary.span)).with_message(secondary.message.clone()),
            );
        }
        let mut rendered = match diagnostic.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_message(diagnostic.message.clone())
        .with_labels(labels);
        if let Some(hint) = &diagnostic.hint {
            rendered = rendered.with_notes(vec![format!("hint: {hint}")]);
        }
        // Writing into an in-memory buffer only fails if a span is outside the
        // file, which `clamp` rules out; fall back to the bare message anyway.
        if term::emit_to_write_style(&mut buffer, &config, &files, &rendered).is_err() {
            let fallback = format!("error: {}\n", diagnostic.message);
            std::io::Write::write_all(&mut buffer, fallback.as_bytes()).ok();
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}
