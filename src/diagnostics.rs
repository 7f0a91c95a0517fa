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
    /// A stable code such as `FP0301`, documented in docs/diagnostics.md.
    pub code: &'static str,
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
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
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

/// The stable diagnostic codes. Each has an entry with a failing and a fixed
/// example in docs/diagnostics.md; the numbering groups them by stage.
pub mod codes {
    /// The compiler itself failed on this input (a bug in ferropy).
    pub const INTERNAL_ERROR: &str = "FP0001";
    /// The file is not valid Python.
    pub const INVALID_SYNTAX: &str = "FP0101";
    /// A string annotation such as `"float64[:,"` does not parse.
    pub const INVALID_ANNOTATION_SYNTAX: &str = "FP0102";
    /// A `#pythran export` line is malformed or does not match its function.
    pub const BAD_PYTHRAN_EXPORT: &str = "FP0103";
    /// A Numba signature, `cc.export` or Cython decorator that cannot be
    /// read or does not match its function.
    pub const BAD_SIGNATURE: &str = "FP0104";
    /// A type annotation outside the signature language.
    pub const UNSUPPORTED_ANNOTATION: &str = "FP0201";
    /// An unknown NumPy dtype name.
    pub const UNKNOWN_DTYPE: &str = "FP0202";
    /// An array of more than three dimensions.
    pub const TOO_MANY_DIMENSIONS: &str = "FP0203";
    /// A parameter of an exported function without a type.
    pub const MISSING_PARAMETER_TYPE: &str = "FP0204";
    /// The rank of an `NDArray` cannot be inferred.
    pub const UNKNOWN_RANK: &str = "FP0205";
    /// A file in which no function is exported.
    pub const NOTHING_EXPORTED: &str = "FP0206";
    /// A statement outside the compiled subset (`try`, `with`, `raise`, ...).
    pub const UNSUPPORTED_STATEMENT: &str = "FP0301";
    /// A class, nested function or unknown decorator.
    pub const UNSUPPORTED_DEFINITION: &str = "FP0302";
    /// `*args`, `**kwargs`, default values or keyword-only parameters.
    pub const UNSUPPORTED_PARAMETER: &str = "FP0303";
    /// A `for` loop over something other than `range(...)`.
    pub const UNSUPPORTED_LOOP: &str = "FP0304";
    /// An expression outside the compiled subset (lambda, generator, `is`, ...).
    pub const UNSUPPORTED_EXPRESSION: &str = "FP0305";
    /// A list, dict or set.
    pub const UNSUPPORTED_CONTAINER: &str = "FP0306";
    /// Slicing such as `a[1:3]`.
    pub const UNSUPPORTED_SLICE: &str = "FP0307";
    /// An assignment target other than a name, an element or a tuple of those.
    pub const UNSUPPORTED_TARGET: &str = "FP0308";
    /// `print` and other I/O.
    pub const UNSUPPORTED_IO: &str = "FP0309";
    /// A name that is not defined.
    pub const UNDEFINED_NAME: &str = "FP0401";
    /// A module-level variable that is not a compile-time constant.
    pub const NOT_A_CONSTANT: &str = "FP0402";
    /// A function or module member used as a value.
    pub const NOT_A_VALUE: &str = "FP0403";
    /// A variable read before any assignment.
    pub const USED_BEFORE_ASSIGNMENT: &str = "FP0404";
    /// A variable assigned values of incompatible types.
    pub const INCOMPATIBLE_ASSIGNMENT: &str = "FP0501";
    /// An operator applied to types it does not support.
    pub const UNSUPPORTED_OPERAND: &str = "FP0502";
    /// An index of the wrong type or count, or a store into a non-array.
    pub const INVALID_INDEX: &str = "FP0503";
    /// A return value that does not match the function's return type.
    pub const RETURN_TYPE_MISMATCH: &str = "FP0504";
    /// A call with missing, extra or unknown arguments.
    pub const WRONG_ARGUMENTS: &str = "FP0505";
    /// An argument of the wrong type.
    pub const ARGUMENT_TYPE_MISMATCH: &str = "FP0506";
    /// A builtin, `math` or NumPy function (or form of one) not supported yet.
    pub const UNSUPPORTED_FUNCTION: &str = "FP0507";
    /// An integer literal outside the 64-bit range.
    pub const INTEGER_TOO_LARGE: &str = "FP0508";
    /// Tuple unpacking with the wrong number of names.
    pub const UNPACK_MISMATCH: &str = "FP0509";
    /// A `prange` loop whose iterations are not independent.
    pub const PARALLEL_RACE: &str = "FP0601";
    /// A warning: a Numba, Cython or `numba.pycc` option that ferropy ignores.
    pub const IGNORED_OPTION: &str = "FP0701";

    /// Every code, in order, for documentation checks.
    pub const ALL: &[&str] = &[
        INTERNAL_ERROR,
        INVALID_SYNTAX,
        INVALID_ANNOTATION_SYNTAX,
        BAD_PYTHRAN_EXPORT,
        BAD_SIGNATURE,
        UNSUPPORTED_ANNOTATION,
        UNKNOWN_DTYPE,
        TOO_MANY_DIMENSIONS,
        MISSING_PARAMETER_TYPE,
        UNKNOWN_RANK,
        NOTHING_EXPORTED,
        UNSUPPORTED_STATEMENT,
        UNSUPPORTED_DEFINITION,
        UNSUPPORTED_PARAMETER,
        UNSUPPORTED_LOOP,
        UNSUPPORTED_EXPRESSION,
        UNSUPPORTED_CONTAINER,
        UNSUPPORTED_SLICE,
        UNSUPPORTED_TARGET,
        UNSUPPORTED_IO,
        UNDEFINED_NAME,
        NOT_A_CONSTANT,
        NOT_A_VALUE,
        USED_BEFORE_ASSIGNMENT,
        INCOMPATIBLE_ASSIGNMENT,
        UNSUPPORTED_OPERAND,
        INVALID_INDEX,
        RETURN_TYPE_MISMATCH,
        WRONG_ARGUMENTS,
        ARGUMENT_TYPE_MISMATCH,
        UNSUPPORTED_FUNCTION,
        INTEGER_TOO_LARGE,
        UNPACK_MISMATCH,
        PARALLEL_RACE,
        IGNORED_OPTION,
    ];
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
        .with_code(diagnostic.code)
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
