//! Cython's pure-Python mode: its C types as ferropy types, and what its
//! decorators and directives mean here.
//!
//! Scalars follow the interpreter, which is the reference: a file in pure
//! Python mode runs under CPython, where `x: cython.int` holds a Python
//! `int` and `cython.float` a Python `float`. So scalar types map to `int`,
//! `float` and `bool`. Memoryview elements are memory, so they keep the C
//! width: `cython.float[:]` is a float32 array, `cython.int[:]` an int32 one,
//! `cython.floatcomplex[:]` a complex64 one; `cython.doublecomplex` scalars
//! are Python `complex` numbers.

use crate::diagnostics::{codes, Diagnostic, Span};
use crate::types::{Dtype, Type};

/// The C type `name` (after `cython.`) as the element of a memoryview.
pub fn element_dtype(name: &str) -> Option<Dtype> {
    Some(match name {
        "bint" => Dtype::Bool,
        "char" | "schar" => Dtype::Int8,
        "uchar" => Dtype::UInt8,
        "short" | "sshort" => Dtype::Int16,
        "ushort" => Dtype::UInt16,
        "int" | "sint" => Dtype::Int32,
        "uint" => Dtype::UInt32,
        "long" | "slong" | "longlong" | "slonglong" | "Py_ssize_t" | "ssize_t" | "Py_hash_t" => {
            Dtype::Int64
        }
        "ulong" | "ulonglong" | "size_t" => Dtype::UInt64,
        "float" => Dtype::Float32,
        "double" => Dtype::Float64,
        "floatcomplex" => Dtype::Complex64,
        "doublecomplex" | "complex" => Dtype::Complex128,
        _ => return None,
    })
}

/// The C type `cython.name` as a scalar: the Python type its values have
/// when the file runs under CPython.
pub fn scalar_type(qualified: &str) -> Option<Type> {
    let name = qualified.strip_prefix("cython.")?;
    Some(match element_dtype(name)? {
        Dtype::Bool => Type::Bool,
        Dtype::Float32 | Dtype::Float64 => Type::Float,
        Dtype::Complex64 | Dtype::Complex128 => Type::Complex,
        _ => Type::Int,
    })
}

/// Why a `cython.` name is not a type ferropy compiles.
pub fn unsupported_type(qualified: &str, span: Span) -> Diagnostic {
    let name = qualified.strip_prefix("cython.").unwrap_or(qualified);
    let hint = if name.starts_with("p_") || name.starts_with("pp_") {
        "pointers are not supported; pass a typed memoryview such as `cython.double[:]`"
    } else {
        "use cython.int, cython.long, cython.Py_ssize_t, cython.float, cython.double, \
         cython.bint, or a memoryview such as cython.double[:]"
    };
    Diagnostic::error(
        codes::UNSUPPORTED_ANNOTATION,
        span,
        format!("unsupported Cython type `cython.{name}`"),
    )
    .with_label("not a type ferropy compiles")
    .with_hint(hint)
}

/// What a Cython decorator (`cython.<name>`, called or not) does here.
pub enum Decorator {
    /// `@cython.cfunc`: callable from compiled code only, so a helper.
    CFunction,
    /// `@cython.returns(T)`.
    Returns,
    /// `@cython.locals(a=T, ...)`.
    Locals,
    /// Accepted; the text says what ferropy does instead, for `explain`,
    /// or nothing when the decorator changes nothing.
    Accepted(Option<&'static str>),
    /// Not known: accepted with a warning.
    Unknown,
}

pub fn decorator(name: &str, argument: Option<bool>) -> Decorator {
    match name {
        "cfunc" => Decorator::CFunction,
        "returns" => Decorator::Returns,
        "locals" => Decorator::Locals,
        "boundscheck" if argument == Some(false) => Decorator::Accepted(Some(
            "@cython.boundscheck(False) accepted: indexing stays checked (IndexError), and \
             ferropy removes the checks it proves unnecessary",
        )),
        "wraparound" if argument == Some(false) => Decorator::Accepted(Some(
            "@cython.wraparound(False) accepted: negative indices still count from the end, \
             as in Python",
        )),
        "cdivision" if argument == Some(true) => Decorator::Accepted(Some(
            "@cython.cdivision(True) accepted: `/`, `//` and `%` keep Python semantics \
             (ZeroDivisionError, rounding towards minus infinity)",
        )),
        "overflowcheck" if argument == Some(false) => Decorator::Accepted(Some(
            "@cython.overflowcheck(False) accepted: int arithmetic that leaves 64 bits still \
             raises OverflowError",
        )),
        "initializedcheck" | "nonecheck" => Decorator::Accepted(Some(
            "memoryview checks accepted: ferropy checks every array argument on entry",
        )),
        "boundscheck"
        | "wraparound"
        | "cdivision"
        | "overflowcheck"
        | "ccall"
        | "inline"
        | "nogil"
        | "with_gil"
        | "exceptval"
        | "infer_types"
        | "profile"
        | "linetrace"
        | "embedsignature"
        | "binding"
        | "always_allow_keywords"
        | "cdivision_warnings"
        | "final"
        | "locals_"
        | "annotation_typing"
        | "cpow"
        | "optimize" => Decorator::Accepted(None),
        _ => Decorator::Unknown,
    }
}
