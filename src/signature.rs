//! The signature language: Python annotations and Pythran export types to `Type`.
//!
//! Accepts builtin scalars (`int`, `float`, `bool`), NumPy scalars
//! (`np.float32`), array strings in Pythran/Numba notation (`"float64[:, ::1]"`),
//! `NDArray[np.float64]` and tuples. Annotations arrive as AST expressions; a
//! string annotation is re-parsed in place so diagnostics point inside it.

use rustpython_parser::ast;

use crate::diagnostics::{codes, Diagnostic, SourceFile, Span};
use crate::ir::untyped::ParamType;
use crate::types::{ArrayType, Dtype, Type};

/// Turns an annotation into a type. `qualify` gives the fully qualified name
/// of a dotted expression through the module's imports (`np.float64` →
/// `numpy.float64`), or `None` if it is not a name.
pub fn annotation(
    expr: &ast::Expr,
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<ParamType, Diagnostic> {
    match expr {
        ast::Expr::Constant(constant) => match &constant.value {
            ast::Constant::Str(text) => {
                let quote = quote_length(file, constant.range.start().into());
                let inner_offset = u32::from(constant.range.start()) + quote;
                let inner = crate::parse::parse_annotation_text(text, file, inner_offset)?;
                annotation(&inner, file, qualify)
            }
            ast::Constant::None => Ok(ParamType::Known(Type::None)),
            _ => Err(unsupported(expr)),
        },
        ast::Expr::Subscript(subscript) => {
            let base = qualify(&subscript.value);
            match base.as_deref() {
                Some("numpy.typing.NDArray" | "numpy.ndarray") => {
                    let dtype = dtype_of(&subscript.slice, qualify).ok_or_else(|| {
                        Diagnostic::error(
                            codes::UNKNOWN_DTYPE,
                            span(&subscript.slice),
                            "unknown dtype in NDArray[...]",
                        )
                        .with_hint("write NDArray[np.float64] (or another NumPy dtype)")
                    })?;
                    Ok(ParamType::ArrayOfUnknownRank(Some(dtype)))
                }
                Some("tuple" | "typing.Tuple") => {
                    let items = match subscript.slice.as_ref() {
                        ast::Expr::Tuple(tuple) => tuple.elts.iter().collect(),
                        single => vec![single],
                    };
                    if items.is_empty() {
                        return Err(Diagnostic::error(
                            codes::UNSUPPORTED_ANNOTATION,
                            span(expr),
                            "the empty tuple type is not supported",
                        )
                        .with_hint("use a list type, or a tuple type with items"));
                    }
                    if let [item, ast::Expr::Constant(ast::ExprConstant {
                        value: ast::Constant::Ellipsis,
                        ..
                    })] = items.as_slice()
                    {
                        // `tuple[int, ...]`: any length, one item type.
                        return match annotation(item, file, qualify)? {
                            ParamType::Known(item) if hashable(&item) => {
                                Ok(ParamType::Known(Type::TupleOf(Box::new(item))))
                            }
                            _ => Err(Diagnostic::error(
                                codes::UNSUPPORTED_ANNOTATION,
                                span(item),
                                "the items of a tuple of any length must be numbers or tuples of numbers",
                            )
                            .with_label("not an item type ferropy compiles here")
                            .with_hint("use tuple[int, ...], tuple[float, ...] or tuple[bool, ...], or a list type")),
                        };
                    }
                    tuple_type(&items, file, qualify)
                }
                Some("list" | "typing.List") => {
                    let item = match annotation(&subscript.slice, file, qualify)? {
                        ParamType::Known(item) if item != Type::None => item,
                        _ => return Err(unsupported(&subscript.slice)),
                    };
                    if matches!(item, Type::Callable(_)) {
                        return Err(unsupported(&subscript.slice));
                    }
                    Ok(ParamType::Known(Type::List(Box::new(item))))
                }
                Some("set" | "typing.Set") => {
                    let item = match annotation(&subscript.slice, file, qualify)? {
                        ParamType::Known(item) if hashable(&item) => item,
                        _ => return Err(unhashable(&subscript.slice)),
                    };
                    Ok(ParamType::Known(Type::Set(Box::new(item))))
                }
                Some("dict" | "typing.Dict") => {
                    let ast::Expr::Tuple(pair) = subscript.slice.as_ref() else {
                        return Err(unsupported(expr));
                    };
                    let [key, value] = pair.elts.as_slice() else {
                        return Err(unsupported(expr));
                    };
                    let key = match annotation(key, file, qualify)? {
                        ParamType::Known(key) if hashable(&key) => key,
                        _ => return Err(unhashable(key)),
                    };
                    let value = match annotation(value, file, qualify)? {
                        ParamType::Known(value)
                            if !matches!(value, Type::None | Type::Callable(_)) =>
                        {
                            value
                        }
                        _ => return Err(unsupported(value)),
                    };
                    Ok(ParamType::Known(Type::Dict(Box::new(key), Box::new(value))))
                }
                Some("frozenset") => Err(Diagnostic::error(
                    codes::UNSUPPORTED_ANNOTATION,
                    span(expr),
                    "frozensets are not supported",
                )
                .with_label("container annotation")
                .with_hint("use a set (`set[int]`)")),
                Some("typing.Callable" | "collections.abc.Callable" | "Callable") => {
                    callable_type(&subscript.slice, file, qualify).map(ParamType::Known)
                }
                _ => {
                    let dtype = dtype_of(&subscript.value, qualify).ok_or_else(|| {
                        Diagnostic::error(
                            codes::UNKNOWN_DTYPE,
                            span(&subscript.value),
                            "unknown array element type",
                        )
                        .with_label("not a NumPy dtype")
                        .with_hint("use a dtype name such as float64, int32, uint8 or bool")
                    })?;
                    let ndim = array_rank(&subscript.slice)?;
                    Ok(ParamType::Known(Type::Array(ArrayType { dtype, ndim })))
                }
            }
        }
        ast::Expr::Tuple(tuple) => {
            let items: Vec<&ast::Expr> = tuple.elts.iter().collect();
            tuple_type(&items, file, qualify)
        }
        // Pythran's `int or None`, and `int | None`.
        ast::Expr::BoolOp(_)
        | ast::Expr::BinOp(ast::ExprBinOp {
            op: ast::Operator::BitOr,
            ..
        }) => Err(Diagnostic::error(
            codes::UNSUPPORTED_ANNOTATION,
            span(expr),
            "alternative types are not supported",
        )
        .with_label("one of several types")
        .with_hint(
            "give the parameter one type, or one type or None (`int | None`, \
             `Optional[int]`, `#pythran export f(float64[:], int or None)`)",
        )),
        _ => {
            let name = qualify(expr);
            match name.as_deref() {
                Some("int") => Ok(ParamType::Known(Type::Int)),
                Some("float") => Ok(ParamType::Known(Type::Float)),
                Some("bool") => Ok(ParamType::Known(Type::Bool)),
                Some("None") => Ok(ParamType::Known(Type::None)),
                Some("str" | "bytes") => Err(Diagnostic::error(
                    codes::UNSUPPORTED_ANNOTATION,
                    span(expr),
                    "strings are only supported as parameters of their own",
                )
                .with_label("a string")
                .with_hint(
                    "a `str` parameter may be compared with `==`, `!=` or `in` a tuple of \
                     strings and passed on; keep other strings in the Python caller",
                )),
                Some("complex" | "numpy.complex128" | "numpy.cdouble" | "numpy.complex_") => {
                    Ok(ParamType::Known(Type::Complex))
                }
                Some("numpy.ndarray" | "numpy.typing.NDArray") => Err(Diagnostic::error(
                    codes::UNKNOWN_DTYPE,
                    span(expr),
                    "an array annotation needs a dtype",
                )
                .with_hint("write NDArray[np.float64] or \"float64[:]\"")),
                Some(name) if name.starts_with("cython.") => {
                    crate::dialect::cython::scalar_type(name)
                        .map(ParamType::Known)
                        .ok_or_else(|| crate::dialect::cython::unsupported_type(name, span(expr)))
                }
                _ => match dtype_of(expr, qualify) {
                    // Compiled code has no complex64 scalar (only arrays).
                    Some(Dtype::Complex64) => Err(unsupported(expr)),
                    Some(dtype) => Ok(ParamType::Known(Type::of_element(dtype))),
                    None => Err(unsupported(expr)),
                },
            }
        }
    }
}

/// Parses the annotation of a parameter that may also be None: `T | None`,
/// `None | T`, `Optional[T]`, `Union[T, None]` and Pythran's `T or None`
/// (also inside a string annotation) give `T` and `true`; any other
/// annotation is read by `parameter_annotation`, with `false`.
pub fn nullable_parameter_annotation(
    expr: &ast::Expr,
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<(ParamType, bool), Diagnostic> {
    if let ast::Expr::Constant(constant) = expr {
        if let ast::Constant::Str(text) = &constant.value {
            let inner = string_expression(constant, text, file)?;
            if let Some(item) = without_none(&inner, qualify) {
                return Ok((parameter_annotation(item, file, qualify)?, true));
            }
        }
    }
    match without_none(expr, qualify) {
        Some(item) => Ok((parameter_annotation(item, file, qualify)?, true)),
        None => Ok((parameter_annotation(expr, file, qualify)?, false)),
    }
}

/// The `T` of `T | None`, `None | T`, `T or None`, `Optional[T]` and
/// `Union[T, None]`.
fn without_none<'e>(
    expr: &'e ast::Expr,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Option<&'e ast::Expr> {
    let is_none = |e: &ast::Expr| {
        matches!(
            e,
            ast::Expr::Constant(ast::ExprConstant {
                value: ast::Constant::None,
                ..
            })
        ) || matches!(e, ast::Expr::Name(name) if name.id.as_str() == "None")
    };
    let pair = |a: &'e ast::Expr, b: &'e ast::Expr| match (is_none(a), is_none(b)) {
        (false, true) => Some(a),
        (true, false) => Some(b),
        _ => None,
    };
    match expr {
        ast::Expr::BinOp(ast::ExprBinOp {
            op: ast::Operator::BitOr,
            left,
            right,
            ..
        }) => pair(left, right),
        ast::Expr::BoolOp(ast::ExprBoolOp {
            op: ast::BoolOp::Or,
            values,
            ..
        }) => match values.as_slice() {
            [a, b] => pair(a, b),
            _ => None,
        },
        ast::Expr::Subscript(subscript) => match qualify(&subscript.value).as_deref() {
            Some("typing.Optional" | "Optional") => Some(&subscript.slice),
            Some("typing.Union" | "Union") => match subscript.slice.as_ref() {
                ast::Expr::Tuple(tuple) => match tuple.elts.as_slice() {
                    [a, b] => pair(a, b),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Parses the annotation of a parameter (or its type in a `#pythran export`
/// line): as `annotation`, and also `str`, which only a parameter may have
/// (compiled code compares it with `==`/`!=` and passes it on).
pub fn parameter_annotation(
    expr: &ast::Expr,
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<ParamType, Diagnostic> {
    let is_str = match expr {
        ast::Expr::Constant(constant) => {
            matches!(&constant.value, ast::Constant::Str(text) if text.trim() == "str")
        }
        _ => qualify(expr).as_deref() == Some("str"),
    };
    if is_str {
        return Ok(ParamType::Known(Type::Str));
    }
    annotation(expr, file, qualify)
}

/// Parses a return annotation: like a parameter annotation, but the rank of an
/// `NDArray` return is left to inference.
pub fn return_annotation(
    expr: &ast::Expr,
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<Option<Type>, Diagnostic> {
    // A bare `tuple` or `list` names the kind but not the items: the
    // body's return statements tell them.
    if let Some("tuple" | "list" | "typing.Tuple" | "typing.List") = qualify(expr).as_deref() {
        return Ok(None);
    }
    match annotation(expr, file, qualify)? {
        ParamType::Known(ty) => Ok(Some(ty)),
        ParamType::ArrayOfUnknownRank(_) => Ok(None),
    }
}

/// `Callable[[float, int], float]`: scalar parameters and a scalar result.
fn callable_type(
    slice: &ast::Expr,
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<Type, Diagnostic> {
    let bad = || {
        Diagnostic::error(
            codes::UNSUPPORTED_ANNOTATION,
            span(slice),
            "unsupported Callable signature",
        )
        .with_label("expected Callable[[argument types], result type]")
        .with_hint(
            "write Callable[[float], float]; arguments and result must be int, float or bool",
        )
    };
    let ast::Expr::Tuple(parts) = slice else {
        return Err(bad());
    };
    let [params, ret] = parts.elts.as_slice() else {
        return Err(bad());
    };
    let ast::Expr::List(params) = params else {
        return Err(bad());
    };
    let scalar = |expr: &ast::Expr| match annotation(expr, file, qualify) {
        Ok(ParamType::Known(ty @ (Type::Int | Type::Float | Type::Bool))) => Ok(ty),
        Ok(_) => Err(bad()),
        Err(diagnostic) => Err(diagnostic),
    };
    let params = params
        .elts
        .iter()
        .map(scalar)
        .collect::<Result<Vec<_>, _>>()?;
    let ret = scalar(ret)?;
    Ok(Type::Callable(crate::types::CallableType {
        params,
        ret: Box::new(ret),
    }))
}

fn tuple_type(
    items: &[&ast::Expr],
    file: &SourceFile,
    qualify: &dyn Fn(&ast::Expr) -> Option<String>,
) -> Result<ParamType, Diagnostic> {
    let mut types = Vec::new();
    for item in items {
        match annotation(item, file, qualify)? {
            ParamType::Known(ty) => types.push(ty),
            ParamType::ArrayOfUnknownRank(_) => {
                return Err(Diagnostic::error(
                    codes::UNSUPPORTED_ANNOTATION,
                    span(item),
                    "arrays in tuples need a rank",
                )
                .with_hint("write \"float64[:]\" instead of NDArray inside tuple types"))
            }
        }
    }
    Ok(ParamType::Known(Type::Tuple(types)))
}

/// The dtype named by an expression: `float64`, `np.float64`, `numpy.uint8`,
/// `"f8"`, or the builtins `int`, `float`, `bool`.
pub fn dtype_of(expr: &ast::Expr, qualify: &dyn Fn(&ast::Expr) -> Option<String>) -> Option<Dtype> {
    if let ast::Expr::Constant(constant) = expr {
        if let ast::Constant::Str(text) = &constant.value {
            return Dtype::from_name(text);
        }
    }
    let name = qualify(expr)?;
    if let Some(cython_name) = name.strip_prefix("cython.") {
        return crate::dialect::cython::element_dtype(cython_name);
    }
    // Numba's type objects (`numba.float64`, `nb.f8`, `numba.types.int32`)
    // name dtypes as NumPy does, plus `boolean`.
    let short = ["numpy.", "numba.types.", "numba."]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(&name);
    if short.contains('.') {
        return None;
    }
    match short {
        "boolean" => Some(Dtype::Bool),
        _ => Dtype::from_name(short),
    }
}

/// The expression inside a string literal such as `"f8(f8[:], i8)"`,
/// parsed in place so that diagnostics point inside the string.
pub fn string_expression(
    constant: &ast::ExprConstant,
    text: &str,
    file: &SourceFile,
) -> Result<ast::Expr, Diagnostic> {
    let quote = quote_length(file, constant.range.start().into());
    let inner_offset = u32::from(constant.range.start()) + quote;
    crate::parse::parse_annotation_text(text, file, inner_offset)
}

/// The number of dimensions in `[:]`, `[:, :]`, `[:, ::1]`.
fn array_rank(slice: &ast::Expr) -> Result<u8, Diagnostic> {
    let dims: Vec<&ast::Expr> = match slice {
        ast::Expr::Tuple(tuple) => tuple.elts.iter().collect(),
        single => vec![single],
    };
    for dim in &dims {
        let ok = match dim {
            ast::Expr::Slice(s) => {
                s.lower.is_none()
                    && s.upper.is_none()
                    && s.step
                        .as_deref()
                        .map_or(true, |step| is_int_literal(step, 1))
            }
            _ => false,
        };
        if !ok {
            return Err(Diagnostic::error(
                codes::UNSUPPORTED_ANNOTATION,
                span(dim),
                "expected `:` or `::1` for each dimension",
            )
            .with_hint("write \"float64[:]\" for 1-D, \"float64[:, :]\" for 2-D arrays"));
        }
    }
    match dims.len() {
        n @ 1..=3 => Ok(n as u8),
        _ => Err(Diagnostic::error(
            codes::TOO_MANY_DIMENSIONS,
            span(slice),
            "arrays of more than 3 dimensions are not supported yet",
        )
        .with_hint("reshape the data to at most 3 dimensions")),
    }
}

fn is_int_literal(expr: &ast::Expr, value: i64) -> bool {
    matches!(expr, ast::Expr::Constant(c) if matches!(&c.value, ast::Constant::Int(i) if i.to_string() == value.to_string()))
}

/// Whether values of the type can be dict keys and set elements in
/// compiled code: numbers and tuples of them.
pub fn hashable(ty: &Type) -> bool {
    match ty {
        Type::Int | Type::Float | Type::Bool | Type::Scalar(_) => true,
        Type::Tuple(items) => items.len() <= 4 && items.iter().all(hashable),
        Type::TupleOf(item) => hashable(item),
        _ => false,
    }
}

fn unhashable(expr: &ast::Expr) -> Diagnostic {
    Diagnostic::error(
        codes::UNSUPPORTED_ANNOTATION,
        span(expr),
        "dict keys and set elements must be numbers or tuples of numbers",
    )
    .with_label("not a key type ferropy compiles")
    .with_hint("use int, float, bool or a tuple of them (up to 4 items)")
}

fn unsupported(expr: &ast::Expr) -> Diagnostic {
    Diagnostic::error(
        codes::UNSUPPORTED_ANNOTATION,
        span(expr),
        "unsupported type annotation",
    )
    .with_label("not a type ferropy compiles")
    .with_hint("use int, float, bool, a NumPy dtype, \"float64[:]\"-style arrays or tuple[...]")
}

fn span(expr: &ast::Expr) -> Span {
    use rustpython_parser::ast::Ranged;
    expr.range().into()
}

/// The number of quote characters that open the string literal at `offset`
/// (`"`, `'`, `"""`), skipping a prefix such as `r`.
fn quote_length(file: &SourceFile, offset: u32) -> u32 {
    let rest = file.text.get(offset as usize..).unwrap_or("");
    let prefix = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = &rest[prefix..];
    let quotes = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        3
    } else {
        1
    };
    (prefix + quotes) as u32
}
