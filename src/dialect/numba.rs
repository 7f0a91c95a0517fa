//! Numba's markers: the options of `@njit`/`@jit`, and its signatures, as
//! strings (`"f8(f8[:, ::1], i8)"`) or type objects
//! (`float64(float64[:], int64)`, `nb.f8[:]`, `Array(float64, 2, 'C')`).

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostics::{codes, Diagnostic, Severity, Span};
use crate::ir::untyped::ParamType;
use crate::signature;
use crate::types::{ArrayType, Type};

use super::{Context, Signature};

/// A signature expression: a string, or a call of a result type object.
pub fn signature(expr: &ast::Expr, cx: &Context<'_>) -> Result<Signature, Diagnostic> {
    let parsed;
    let expr = match expr {
        ast::Expr::Constant(constant) => match &constant.value {
            ast::Constant::Str(text) => {
                parsed = signature::string_expression(constant, text, cx.file)?;
                &parsed
            }
            _ => return Err(bad_signature(expr)),
        },
        other => other,
    };
    let span: Span = expr.range().into();
    let (returns, args): (Option<&ast::Expr>, Vec<&ast::Expr>) = match expr {
        ast::Expr::Call(call) if call.keywords.is_empty() => {
            (Some(call.func.as_ref()), call.args.iter().collect())
        }
        // `"(f8[:], i8)"`: argument types only, the result inferred.
        ast::Expr::Tuple(tuple) => (None, tuple.elts.iter().collect()),
        _ => return Err(bad_signature(expr)),
    };
    let returns = match returns {
        Some(returns) if is_void(returns, cx) => Some(Type::None),
        Some(returns) => Some(match type_of(returns, cx)? {
            ParamType::Known(ty) => ty,
            ParamType::ArrayOfUnknownRank(_) => return Err(bad_signature(returns)),
        }),
        None => None,
    };
    let nullable: Vec<bool> = args
        .iter()
        .map(|arg| optional_of(arg, cx).is_some())
        .collect();
    let params = args
        .iter()
        .map(|arg| type_of(optional_of(arg, cx).unwrap_or(arg), cx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Signature {
        optional: vec![false; params.len()],
        nullable,
        params,
        returns,
        span,
        code: codes::BAD_SIGNATURE,
    })
}

/// The `T` of `optional(T)` (`numba.optional`, `numba.types.Optional`): an
/// argument that may also be None.
fn optional_of<'e>(expr: &'e ast::Expr, cx: &Context<'_>) -> Option<&'e ast::Expr> {
    let ast::Expr::Call(call) = expr else {
        return None;
    };
    let name = (cx.qualify)(&call.func).unwrap_or_default();
    let short = name.rsplit('.').next().unwrap_or_default();
    match (short, call.args.as_slice(), call.keywords.is_empty()) {
        ("optional" | "Optional", [inner], true) => Some(inner),
        _ => None,
    }
}

fn is_void(expr: &ast::Expr, cx: &Context<'_>) -> bool {
    matches!(
        (cx.qualify)(expr).as_deref(),
        Some(
            "void" | "none" | "numba.void" | "numba.none" | "numba.types.void" | "numba.types.none"
        )
    )
}

/// One type of a signature: the signature language, plus Numba's
/// `Array(dtype, ndim, layout)`, `UniTuple(type, n)` and `Tuple((a, b))`.
fn type_of(expr: &ast::Expr, cx: &Context<'_>) -> Result<ParamType, Diagnostic> {
    if let ast::Expr::Call(call) = expr {
        let name = (cx.qualify)(&call.func).unwrap_or_default();
        let short = name.rsplit('.').next().unwrap_or_default();
        let known = |ty: ParamType| match ty {
            ParamType::Known(ty) => Ok(ty),
            ParamType::ArrayOfUnknownRank(_) => Err(bad_signature(expr)),
        };
        match (short, call.args.as_slice()) {
            ("Array", [dtype, ndim, rest @ ..]) if rest.len() <= 1 => {
                let dtype =
                    signature::dtype_of(dtype, cx.qualify).ok_or_else(|| bad_signature(dtype))?;
                let ndim = small_int(ndim)
                    .filter(|n| (1..=3).contains(n))
                    .ok_or_else(|| {
                        Diagnostic::error(
                            codes::TOO_MANY_DIMENSIONS,
                            ndim.range().into(),
                            "arrays of 1 to 3 dimensions are supported",
                        )
                        .with_hint("reshape the data to at most 3 dimensions")
                    })?;
                return Ok(ParamType::Known(Type::Array(ArrayType {
                    dtype,
                    ndim: ndim as u8,
                })));
            }
            ("UniTuple", [item, count]) => {
                let item = known(type_of(item, cx)?)?;
                let count = small_int(count)
                    .filter(|n| (1..=16).contains(n))
                    .ok_or_else(|| bad_signature(count))?;
                return Ok(ParamType::Known(Type::Tuple(vec![item; count])));
            }
            ("Tuple", [ast::Expr::Tuple(items)]) => {
                let items = items
                    .elts
                    .iter()
                    .map(|item| type_of(item, cx).and_then(known))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(ParamType::Known(Type::Tuple(items)));
            }
            _ => return Err(bad_signature(expr)),
        }
    }
    signature::annotation(expr, cx.file, cx.qualify)
}

fn small_int(expr: &ast::Expr) -> Option<usize> {
    match expr {
        ast::Expr::Constant(constant) => match &constant.value {
            ast::Constant::Int(value) => value.to_string().parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn bad_signature(expr: &ast::Expr) -> Diagnostic {
    Diagnostic::error(
        codes::BAD_SIGNATURE,
        expr.range().into(),
        "cannot read this Numba signature",
    )
    .with_label("expected `result(argument, ...)`")
    .with_hint("write a signature such as \"float64(float64[:], int64)\" or \"f8(f8[:, ::1], i8)\"")
}

/// What ferropy does with one keyword option of `@njit`/`@jit`: `None`
/// when it means what ferropy already does, else a warning saying why it
/// is ignored.
pub fn option(keyword: &ast::Keyword, name: &str) -> Option<Diagnostic> {
    let value = match &keyword.value {
        ast::Expr::Constant(constant) => match &constant.value {
            ast::Constant::Bool(value) => Some(*value),
            ast::Constant::None => Some(false),
            _ => None,
        },
        _ => None,
    };
    let python_error_model = matches!(&keyword.value, ast::Expr::Constant(c)
        if matches!(&c.value, ast::Constant::Str(s) if s == "python"));
    let why = match (name, value) {
        // Object mode does not exist here: ferropy compiles the whole
        // function or reports why it cannot.
        ("nopython", Some(true)) | ("forceobj" | "looplift", Some(false)) => return None,
        // Parallel loops: `prange` is always checked and run in parallel
        // when proven safe, and independent `range` loops are parallelised.
        ("parallel", _) => return None,
        // Builds are cached by content hash.
        ("cache", _) => return None,
        // The GIL is always released while a compiled function runs.
        ("nogil", _) => return None,
        // Indexing is always checked.
        ("boundscheck", Some(true)) => return None,
        ("error_model", _) if python_error_model => return None,
        ("boundscheck", _) => {
            "ferropy always checks indexing (IndexError) and removes the checks it proves \
             unnecessary"
        }
        ("fastmath", _) => {
            "ferropy keeps IEEE floating-point semantics: no reassociation, contraction or \
             assumptions about NaN and infinity"
        }
        ("error_model", _) => {
            "ferropy keeps Python's error model: division by zero raises ZeroDivisionError"
        }
        ("nopython", _) | ("forceobj", _) | ("looplift", _) => {
            "ferropy has no object mode: it compiles the whole function or reports why it \
             cannot"
        }
        ("locals", _) => "ferropy infers the types of local variables; annotate them instead",
        ("inline", _) => "ferropy leaves inlining to the Rust compiler",
        _ => "ferropy does not know this option",
    };
    Some(Diagnostic {
        code: codes::IGNORED_OPTION,
        severity: Severity::Warning,
        message: format!("the Numba option `{name}` is ignored"),
        span: keyword.range.into(),
        label: "ignored".into(),
        secondary: Vec::new(),
        hint: Some(format!("{why}; remove the option to silence this warning")),
    })
}
