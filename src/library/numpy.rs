//! NumPy: scalar functions, ufuncs on arrays, reductions and array methods.

use crate::ir::typed::ElemFunction;
use crate::ir::BinaryOp;
use crate::types::Dtype;

/// NumPy scalar functions as IEEE float methods: (NumPy name, Rust method
/// of `f32`/`f64`, arity). On a scalar they compute in the argument's
/// float type and never raise.
pub const FLOAT_METHODS: &[(&str, &str, usize)] = &[
    ("sqrt", "sqrt", 1),
    ("exp", "exp", 1),
    ("exp2", "exp2", 1),
    ("log", "ln", 1),
    ("log2", "log2", 1),
    ("log10", "log10", 1),
    ("log1p", "ln_1p", 1),
    ("expm1", "exp_m1", 1),
    ("sin", "sin", 1),
    ("cos", "cos", 1),
    ("tan", "tan", 1),
    ("arcsin", "asin", 1),
    ("arccos", "acos", 1),
    ("arctan", "atan", 1),
    ("sinh", "sinh", 1),
    ("cosh", "cosh", 1),
    ("tanh", "tanh", 1),
    ("arcsinh", "asinh", 1),
    ("arccosh", "acosh", 1),
    ("arctanh", "atanh", 1),
    ("floor", "floor", 1),
    ("ceil", "ceil", 1),
    ("trunc", "trunc", 1),
    ("rint", "round_ties_even", 1),
    ("deg2rad", "to_radians", 1),
    ("radians", "to_radians", 1),
    ("rad2deg", "to_degrees", 1),
    ("degrees", "to_degrees", 1),
    ("fabs", "abs", 1),
    ("abs", "abs", 1),
    ("absolute", "abs", 1),
    ("hypot", "hypot", 2),
    ("arctan2", "atan2", 2),
    ("power", "powf", 2),
    ("copysign", "copysign", 2),
];

/// How a ufunc applies to arrays, element by element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ufunc {
    /// A float function (`x.sqrt()`): integers convert to float first.
    Float(&'static str),
    /// floor, ceil, trunc, rint, round: the float method on floats; the
    /// identity on integers (NumPy 2 keeps their dtype), except `rint`.
    Rounding(&'static str),
    Abs,
    Sign,
    Square,
    /// minimum/maximum of the promoted dtype, nan winning.
    MinMax(ElemFunction),
    Clip,
    /// `np.where(condition, x, y)`.
    Where,
    /// isnan, isinf, isfinite: bool results.
    Test(ElemFunction),
    /// logical_and/or/xor, and logical_not (`Truthy`): bool results.
    Logical(ElemFunction),
    /// add, subtract, multiply, ..., power: the operator.
    Binary(BinaryOp),
    /// real, imag, conj, angle: a part of a complex number (the method of
    /// the runtime's complex element: `real`, `imag`, `conj`, `arg`).
    Part(&'static str),
}

/// The float methods that the runtime's complex elements also have, with
/// NumPy's complex semantics (`rt::Complex::exp`, ...).
pub const COMPLEX_METHODS: &[&str] = &[
    "sqrt", "exp", "ln", "sin", "cos", "tan", "sinh", "cosh", "tanh",
];

/// Every ufunc compiled on arrays: (NumPy name, lowering, arity).
pub const UFUNCS: &[(&str, Ufunc, usize)] = &[
    ("sqrt", Ufunc::Float("sqrt"), 1),
    ("exp", Ufunc::Float("exp"), 1),
    ("exp2", Ufunc::Float("exp2"), 1),
    ("expm1", Ufunc::Float("exp_m1"), 1),
    ("log", Ufunc::Float("ln"), 1),
    ("log1p", Ufunc::Float("ln_1p"), 1),
    ("log2", Ufunc::Float("log2"), 1),
    ("log10", Ufunc::Float("log10"), 1),
    ("sin", Ufunc::Float("sin"), 1),
    ("cos", Ufunc::Float("cos"), 1),
    ("tan", Ufunc::Float("tan"), 1),
    ("arcsin", Ufunc::Float("asin"), 1),
    ("arccos", Ufunc::Float("acos"), 1),
    ("arctan", Ufunc::Float("atan"), 1),
    ("sinh", Ufunc::Float("sinh"), 1),
    ("cosh", Ufunc::Float("cosh"), 1),
    ("tanh", Ufunc::Float("tanh"), 1),
    ("arcsinh", Ufunc::Float("asinh"), 1),
    ("arccosh", Ufunc::Float("acosh"), 1),
    ("arctanh", Ufunc::Float("atanh"), 1),
    ("deg2rad", Ufunc::Float("to_radians"), 1),
    ("radians", Ufunc::Float("to_radians"), 1),
    ("rad2deg", Ufunc::Float("to_degrees"), 1),
    ("degrees", Ufunc::Float("to_degrees"), 1),
    ("arctan2", Ufunc::Float("atan2"), 2),
    ("hypot", Ufunc::Float("hypot"), 2),
    ("copysign", Ufunc::Float("copysign"), 2),
    ("floor", Ufunc::Rounding("floor"), 1),
    ("ceil", Ufunc::Rounding("ceil"), 1),
    ("trunc", Ufunc::Rounding("trunc"), 1),
    ("rint", Ufunc::Rounding("round_ties_even"), 1),
    ("round", Ufunc::Rounding("round_ties_even"), 1),
    ("around", Ufunc::Rounding("round_ties_even"), 1),
    ("abs", Ufunc::Abs, 1),
    ("absolute", Ufunc::Abs, 1),
    ("fabs", Ufunc::Abs, 1),
    ("sign", Ufunc::Sign, 1),
    ("square", Ufunc::Square, 1),
    ("minimum", Ufunc::MinMax(ElemFunction::Minimum), 2),
    ("maximum", Ufunc::MinMax(ElemFunction::Maximum), 2),
    ("clip", Ufunc::Clip, 3),
    ("where", Ufunc::Where, 3),
    ("isnan", Ufunc::Test(ElemFunction::IsNan), 1),
    ("isinf", Ufunc::Test(ElemFunction::IsInf), 1),
    ("isfinite", Ufunc::Test(ElemFunction::IsFinite), 1),
    ("logical_and", Ufunc::Logical(ElemFunction::LogicalAnd), 2),
    ("logical_or", Ufunc::Logical(ElemFunction::LogicalOr), 2),
    ("logical_xor", Ufunc::Logical(ElemFunction::LogicalXor), 2),
    ("logical_not", Ufunc::Logical(ElemFunction::Truthy), 1),
    ("real", Ufunc::Part("real"), 1),
    ("imag", Ufunc::Part("imag"), 1),
    ("conj", Ufunc::Part("conj"), 1),
    ("conjugate", Ufunc::Part("conj"), 1),
    ("angle", Ufunc::Part("arg"), 1),
    ("add", Ufunc::Binary(BinaryOp::Add), 2),
    ("subtract", Ufunc::Binary(BinaryOp::Sub), 2),
    ("multiply", Ufunc::Binary(BinaryOp::Mul), 2),
    ("divide", Ufunc::Binary(BinaryOp::TrueDiv), 2),
    ("true_divide", Ufunc::Binary(BinaryOp::TrueDiv), 2),
    ("floor_divide", Ufunc::Binary(BinaryOp::FloorDiv), 2),
    ("mod", Ufunc::Binary(BinaryOp::Mod), 2),
    ("remainder", Ufunc::Binary(BinaryOp::Mod), 2),
    ("power", Ufunc::Binary(BinaryOp::Pow), 2),
    ("bitwise_and", Ufunc::Binary(BinaryOp::BitAnd), 2),
    ("bitwise_or", Ufunc::Binary(BinaryOp::BitOr), 2),
    ("bitwise_xor", Ufunc::Binary(BinaryOp::BitXor), 2),
    ("left_shift", Ufunc::Binary(BinaryOp::LShift), 2),
    ("right_shift", Ufunc::Binary(BinaryOp::RShift), 2),
];

impl Ufunc {
    pub fn arity(self) -> usize {
        UFUNCS
            .iter()
            .find(|(_, u, _)| *u == self)
            .map_or(1, |(_, _, arity)| *arity)
    }
}

/// The ufunc `name` (as in `np.name`), if compiled on arrays.
pub fn ufunc(name: &str) -> Option<Ufunc> {
    UFUNCS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, u, _)| *u)
}

/// Reductions, as NumPy functions and as array methods.
pub const REDUCTIONS: &[&str] = &[
    "sum", "prod", "mean", "var", "std", "min", "max", "amin", "amax", "argmin", "argmax", "all",
    "any", "cumsum", "cumprod",
];

pub fn is_reduction(name: &str) -> bool {
    REDUCTIONS.contains(&name)
}

/// Array methods besides the reductions.
pub const ARRAY_METHODS: &[&str] = &[
    "sort",
    "argsort",
    "nonzero",
    "repeat",
    "searchsorted",
    "sum",
    "prod",
    "mean",
    "var",
    "std",
    "min",
    "max",
    "argmin",
    "argmax",
    "all",
    "any",
    "cumsum",
    "cumprod",
    "copy",
    "astype",
    "conj",
    "conjugate",
    "reshape",
    "ravel",
    "flatten",
    "transpose",
];

/// Other NumPy functions that take or make arrays.
pub const ARRAY_FUNCTIONS: &[&str] = &[
    "linalg.norm",
    "dot",
    "matmul",
    "outer",
    "trace",
    "eye",
    "identity",
    "flip",
    "fliplr",
    "flipud",
    "expand_dims",
    "squeeze",
    "diff",
    "concatenate",
    "stack",
    "vstack",
    "hstack",
    "roll",
    "sort",
    "argsort",
    "unique",
    "searchsorted",
    "bincount",
    "count_nonzero",
    "nonzero",
    "median",
    "repeat",
    "tile",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "copy",
    "transpose",
    "reshape",
    "ravel",
    "arange",
    "linspace",
    "sum",
    "prod",
    "mean",
    "var",
    "std",
    "min",
    "max",
    "amin",
    "amax",
    "argmin",
    "argmax",
    "all",
    "any",
    "cumsum",
    "cumprod",
];

/// The supported method closest to a misspelt one.
pub fn nearest_method(name: &str) -> Option<&'static str> {
    super::nearest(name, ARRAY_METHODS.iter().copied())
}

/// The supported NumPy function closest to `name`.
pub fn nearest_function(name: &str) -> Option<&'static str> {
    super::nearest(
        name,
        UFUNCS
            .iter()
            .map(|(n, _, _)| *n)
            .chain(ARRAY_FUNCTIONS.iter().copied()),
    )
}

/// The dtype `sum`, `prod`, `cumsum` and `cumprod` accumulate `dtype` in:
/// int64 for bools and signed integers, uint64 for unsigned ones, the
/// float itself for floats.
pub fn accumulated_dtype(dtype: Dtype) -> Dtype {
    if dtype.is_float() || dtype.is_complex() {
        dtype
    } else if dtype.is_unsigned() {
        Dtype::UInt64
    } else {
        Dtype::Int64
    }
}
