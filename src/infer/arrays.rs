//! Inference of whole-array code: basic slicing into views, element-wise
//! expressions fused into one loop (`ExprKind::ElementWise`), NumPy's ufuncs
//! on arrays, reductions and array methods.
//!
//! Element-wise expressions follow NumPy 2: dtypes promote as
//! `np.result_type` does, with Python scalars "weak" (NEP 50); integers wrap;
//! division by zero gives inf, nan or 0. Building the expression fuses it:
//! `a * b + c` is one `ElementWise` with three inputs and the body
//! `x0 * x1 + x2`, not two temporaries.

use super::{Cx, Inference};
use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{
    self, Elem, ElemFunction, ElemKind, Expr, ExprKind, Literal, Reduction, ViewItem,
};
use crate::ir::{untyped, BinaryOp, CompareOp, UnaryOp};
use crate::library::numpy::{self as library, Ufunc};
use crate::types::{ArrayType, Dtype, Type};

/// Array inputs one fused loop reads at most (the runtime's `map6`).
pub(crate) const MAX_FUSED_ARRAYS: usize = 6;

/// An operand of an element-wise operation: its inputs and per-element body.
struct Fused {
    inputs: Vec<Expr>,
    body: Elem,
    /// A Python scalar (int, float, bool): it adopts the other operand's
    /// dtype where the kinds allow (NEP 50).
    weak: bool,
}

impl Fused {
    fn array_inputs(&self) -> usize {
        self.inputs
            .iter()
            .filter(|input| input.array_type().is_some())
            .count()
    }
}

/// The NumPy dtype of a scalar type.
fn scalar_dtype(ty: &Type) -> Option<Dtype> {
    ty.dtype()
}

/// `np.result_type` of two operands, with Python scalars weak.
fn result_dtype(a: (Dtype, bool), b: (Dtype, bool)) -> Dtype {
    let weak_into = |weak: Dtype, strong: Dtype| -> Dtype {
        match weak {
            Dtype::Bool => strong,
            Dtype::Int64 if strong == Dtype::Bool => Dtype::Int64,
            Dtype::Int64 => strong,
            // A Python complex keeps a complex array's precision and makes
            // float32 complex64 (NEP 50); anything else becomes complex128.
            Dtype::Complex128 if strong.is_complex() => strong,
            Dtype::Complex128 if strong == Dtype::Float32 => Dtype::Complex64,
            Dtype::Complex128 => Dtype::Complex128,
            _ if strong.is_float() || strong.is_complex() => strong,
            _ => Dtype::Float64,
        }
    };
    match (a, b) {
        ((weak, true), (strong, false)) => weak_into(weak, strong),
        ((strong, false), (weak, true)) => weak_into(weak, strong),
        ((x, _), (y, _)) => Dtype::promote(x, y),
    }
}

/// The float dtype NumPy computes a float function of `dtype` in, or
/// `None` where NumPy would use float16.
fn float_dtype(dtype: Dtype) -> Option<Dtype> {
    match dtype {
        Dtype::Float32 | Dtype::Float64 | Dtype::Complex64 | Dtype::Complex128 => Some(dtype),
        Dtype::Int16 | Dtype::UInt16 => Some(Dtype::Float32),
        Dtype::Int32 | Dtype::UInt32 | Dtype::Int64 | Dtype::UInt64 => Some(Dtype::Float64),
        Dtype::Bool | Dtype::Int8 | Dtype::UInt8 => None,
    }
}

/// Why a ufunc is refused on complex arrays (the end of a sentence), or
/// `None` when compiled code computes it.
fn complex_refusal(name: &str, ufunc: Ufunc) -> Option<&'static str> {
    match ufunc {
        Ufunc::Float(method) if library::COMPLEX_METHODS.contains(&method) => None,
        Ufunc::Rounding("round_ties_even") => Some("is not supported in compiled code"),
        Ufunc::Float("atan2" | "hypot" | "copysign" | "to_radians" | "to_degrees")
        | Ufunc::Rounding(_) => Some("is not defined in NumPy"),
        Ufunc::Abs if name == "fabs" => Some("is not defined in NumPy"),
        Ufunc::Float(_) | Ufunc::Sign | Ufunc::MinMax(_) | Ufunc::Clip => {
            Some("is not supported in compiled code")
        }
        Ufunc::Abs
        | Ufunc::Square
        | Ufunc::Where
        | Ufunc::Test(_)
        | Ufunc::Logical(_)
        | Ufunc::Part(_)
        | Ufunc::Binary(_) => None,
    }
}

fn elem_binary(op: BinaryOp, left: Elem, right: Elem, dtype: Dtype) -> Elem {
    Elem::new(
        ElemKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        dtype,
    )
}

fn elem_call(function: ElemFunction, args: Vec<Elem>, dtype: Dtype) -> Elem {
    Elem::new(ElemKind::Call { function, args }, dtype)
}

fn truthy(value: Elem) -> Elem {
    if value.dtype == Dtype::Bool {
        value
    } else {
        elem_call(ElemFunction::Truthy, vec![value], Dtype::Bool)
    }
}

impl<'m> Inference<'m> {
    /// Whether an operation on these operands is element-wise on arrays.
    pub(super) fn involves_array(operands: &[&Expr]) -> bool {
        operands.iter().any(|o| o.array_type().is_some())
    }

    fn fused(&mut self, cx: &mut Cx, expr: Expr, span: Span) -> Option<Fused> {
        if let Type::Array(array) = expr.ty {
            if let ExprKind::ElementWise { inputs, body } = expr.kind {
                return Some(Fused {
                    inputs,
                    body: *body,
                    weak: false,
                });
            }
            return Some(Fused {
                inputs: vec![expr],
                body: Elem::new(ElemKind::Input(0), array.dtype),
                weak: false,
            });
        }
        let Some(dtype) = scalar_dtype(&expr.ty) else {
            let ty = expr.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("{ty} cannot take part in an element-wise array operation"),
                )
                .with_hint("combine arrays with numbers or other arrays"),
            );
            return None;
        };
        let weak = matches!(
            expr.ty,
            Type::Int | Type::Float | Type::Bool | Type::Complex
        );
        if let ExprKind::Literal(literal) = expr.kind {
            return Some(Fused {
                inputs: Vec::new(),
                body: Elem::new(ElemKind::Literal(literal), dtype),
                weak,
            });
        }
        Some(Fused {
            inputs: vec![expr],
            body: Elem::new(ElemKind::Input(0), dtype),
            weak,
        })
    }

    /// A Python int meeting an array of a narrower integer dtype: NumPy 2
    /// converts it to that dtype and raises OverflowError when it does not
    /// fit (NEP 50). The check runs once, on the scalar, before the loop.
    fn narrow_weak_int(&mut self, operand: Fused, dtype: Dtype) -> Fused {
        if !operand.weak
            || operand.body.dtype != Dtype::Int64
            || !dtype.is_integer()
            || dtype == Dtype::Int64
        {
            return operand;
        }
        match operand.body.kind {
            ElemKind::Literal(Literal::Int(v)) if dtype.holds(v) => operand,
            ElemKind::Literal(Literal::Int(v)) => Fused {
                inputs: vec![Expr::int(v).cast_to(&Type::of_element(dtype))],
                body: Elem::new(ElemKind::Input(0), dtype),
                weak: false,
            },
            ElemKind::Input(0) if operand.inputs.len() == 1 => {
                let Fused { mut inputs, .. } = operand;
                let input = inputs.pop().map(|i| i.cast_to(&Type::of_element(dtype)));
                Fused {
                    inputs: input.into_iter().collect(),
                    body: Elem::new(ElemKind::Input(0), dtype),
                    weak: false,
                }
            }
            _ => operand,
        }
    }

    /// Joins operands into one loop: their inputs side by side (a variable
    /// read by both is one input), bodies renumbered. An operand whose
    /// arrays would take the loop past `MAX_FUSED_ARRAYS` is computed into
    /// a temporary array first.
    fn join(&mut self, operands: Vec<Fused>) -> (Vec<Expr>, Vec<Elem>) {
        let total: usize = operands.iter().map(Fused::array_inputs).sum();
        let mut inputs: Vec<Expr> = Vec::new();
        let mut bodies = Vec::new();
        for mut operand in operands {
            if total > MAX_FUSED_ARRAYS && operand.array_inputs() > 1 {
                let ty = Type::Array(ArrayType::new(
                    operand.body.dtype,
                    operand
                        .inputs
                        .iter()
                        .filter_map(|i| i.array_type().map(|a| a.ndim))
                        .max()
                        .unwrap_or(1),
                ));
                let dtype = operand.body.dtype;
                let whole = Expr::new(
                    ExprKind::ElementWise {
                        inputs: std::mem::take(&mut operand.inputs),
                        body: Box::new(operand.body),
                    },
                    ty,
                );
                operand = Fused {
                    inputs: vec![whole],
                    body: Elem::new(ElemKind::Input(0), dtype),
                    weak: false,
                };
            }
            let mut numbers = Vec::new();
            for input in operand.inputs {
                let shared = match &input.kind {
                    ExprKind::Local(name) => inputs
                        .iter()
                        .position(|i| matches!(&i.kind, ExprKind::Local(n) if n == name)),
                    _ => None,
                };
                numbers.push(shared.unwrap_or_else(|| {
                    inputs.push(input);
                    inputs.len() - 1
                }));
            }
            let mut body = operand.body;
            body.renumber(&|k| numbers[k]);
            bodies.push(body);
        }
        (inputs, bodies)
    }

    /// The element-wise expression of `inputs` computing `body`.
    fn element_wise(&self, inputs: Vec<Expr>, body: Elem) -> Expr {
        let ndim = inputs
            .iter()
            .filter_map(|i| i.array_type().map(|a| a.ndim))
            .max()
            .unwrap_or(1);
        let ty = Type::Array(ArrayType::new(body.dtype, ndim));
        Expr::new(
            ExprKind::ElementWise {
                inputs,
                body: Box::new(body),
            },
            ty,
        )
    }

    fn operator_error(&mut self, cx: &Cx, span: Span, message: String, hint: &str) -> Option<Expr> {
        self.error(
            cx,
            Diagnostic::error(codes::UNSUPPORTED_OPERAND, span, message).with_hint(hint),
        );
        None
    }

    /// `left op right` where at least one side is an array.
    pub(super) fn array_binary(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: Expr,
        right: Expr,
        span: Span,
    ) -> Option<Expr> {
        let left = self.fused(cx, left, span)?;
        let right = self.fused(cx, right, span)?;
        let (ld, rd) = ((left.body.dtype, left.weak), (right.body.dtype, right.weak));
        let mut dtype = result_dtype(ld, rd);
        // Division runs in floats: the Python int is not narrowed.
        let (left, right) = if op == BinaryOp::TrueDiv {
            (left, right)
        } else {
            (
                self.narrow_weak_int(left, dtype),
                self.narrow_weak_int(right, dtype),
            )
        };
        let (inputs, mut bodies) = self.join(vec![left, right]);
        let right_body = bodies.pop()?;
        let left_body = bodies.pop()?;
        let mut op = op;
        if dtype.is_complex()
            && matches!(
                op,
                BinaryOp::FloorDiv
                    | BinaryOp::Mod
                    | BinaryOp::BitAnd
                    | BinaryOp::BitOr
                    | BinaryOp::BitXor
                    | BinaryOp::LShift
                    | BinaryOp::RShift
            )
        {
            return self.operator_error(
                cx,
                span,
                format!("`{}` is not defined for complex arrays", op.symbol()),
                "NumPy has no floor division, remainder or bitwise operation of complex numbers",
            );
        }
        match op {
            BinaryOp::TrueDiv => {
                if !dtype.is_float() && !dtype.is_complex() {
                    dtype = Dtype::Float64;
                }
            }
            BinaryOp::Add | BinaryOp::Mul if dtype == Dtype::Bool => {
                // NumPy adds bools with `or` and multiplies them with `and`.
                op = if op == BinaryOp::Add {
                    BinaryOp::BitOr
                } else {
                    BinaryOp::BitAnd
                };
            }
            BinaryOp::Sub if dtype == Dtype::Bool => {
                return self.operator_error(
                    cx,
                    span,
                    "NumPy does not subtract bool arrays".into(),
                    "use `^` (logical xor), or convert with .astype(int) first",
                );
            }
            BinaryOp::FloorDiv | BinaryOp::Mod | BinaryOp::Pow if dtype == Dtype::Bool => {
                dtype = Dtype::Int8;
            }
            BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor if dtype.is_float() => {
                return self.operator_error(
                    cx,
                    span,
                    format!("`{}` is not defined for float arrays", op.symbol()),
                    "bitwise operators take integer or bool arrays",
                );
            }
            BinaryOp::LShift | BinaryOp::RShift if !dtype.is_integer() => {
                return self.operator_error(
                    cx,
                    span,
                    format!("`{}` takes integer arrays", op.symbol()),
                    "shift integers, not floats or bools",
                );
            }
            _ => {}
        }
        let (l, r) = (left_body.cast_to(dtype), right_body.cast_to(dtype));
        if op == BinaryOp::Pow && dtype.is_integer() && !exponent_checkable(&r) {
            return self.operator_error(
                cx,
                span,
                "an integer power needs an exponent that is a number or an array".into(),
                "compute the exponent into a variable first",
            );
        }
        Some(self.element_wise(inputs, elem_binary(op, l, r, dtype)))
    }

    pub(super) fn array_unary(
        &mut self,
        cx: &mut Cx,
        op: UnaryOp,
        operand: Expr,
        span: Span,
    ) -> Option<Expr> {
        let operand = self.fused(cx, operand, span)?;
        let dtype = operand.body.dtype;
        let (inputs, mut bodies) = self.join(vec![operand]);
        let body = bodies.pop()?;
        let body = match op {
            UnaryOp::Pos => body,
            UnaryOp::Neg if dtype == Dtype::Bool => {
                return self.operator_error(
                    cx,
                    span,
                    "NumPy does not negate bool arrays".into(),
                    "use `~` for logical not",
                )
            }
            UnaryOp::Neg => Elem::new(ElemKind::Neg(Box::new(body)), dtype),
            UnaryOp::Invert if dtype.is_float() || dtype.is_complex() => {
                return self.operator_error(
                    cx,
                    span,
                    format!("`~` is not defined for {dtype} arrays"),
                    "`~` takes integer or bool arrays",
                )
            }
            UnaryOp::Invert => Elem::new(ElemKind::Invert(Box::new(body)), dtype),
            UnaryOp::Not => {
                return self.operator_error(
                    cx,
                    span,
                    "the truth value of an array is ambiguous".into(),
                    "use np.logical_not(a) or `~a` for element-wise not, or a.any() / a.all()",
                )
            }
        };
        Some(self.element_wise(inputs, body))
    }

    /// `left op right` where at least one side is an array: a bool array.
    pub(super) fn array_compare(
        &mut self,
        cx: &mut Cx,
        op: CompareOp,
        left: Expr,
        right: Expr,
        span: Span,
    ) -> Option<Expr> {
        let left = self.fused(cx, left, span)?;
        let right = self.fused(cx, right, span)?;
        let mut dtype = result_dtype((left.body.dtype, left.weak), (right.body.dtype, right.weak));
        if dtype.is_complex() && !matches!(op, CompareOp::Eq | CompareOp::NotEq) {
            return self.operator_error(
                cx,
                span,
                "ordering comparisons of complex arrays are not supported in compiled code".into(),
                "compare magnitudes (np.abs(z) < r) or parts (z.real < x); NumPy's lexicographic order is not compiled",
            );
        }
        // A Python int compares by value with any integer array (NumPy
        // special-cases it): compared in 64 bits, `uint8 > -1` is true.
        if (left.weak || right.weak) && dtype.is_integer() && dtype != Dtype::UInt64 {
            dtype = Dtype::Int64;
        }
        let (inputs, mut bodies) = self.join(vec![left, right]);
        let r = bodies.pop()?.cast_to(dtype);
        let l = bodies.pop()?.cast_to(dtype);
        let body = Elem::new(
            ElemKind::Compare {
                op,
                left: Box::new(l),
                right: Box::new(r),
            },
            Dtype::Bool,
        );
        Some(self.element_wise(inputs, body))
    }

    /// A NumPy ufunc applied to arguments of which at least one is an array.
    pub(super) fn array_ufunc(
        &mut self,
        cx: &mut Cx,
        name: &str,
        ufunc: Ufunc,
        args: Vec<Expr>,
        span: Span,
    ) -> Option<Expr> {
        if args.len() != ufunc.arity() {
            self.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!(
                        "numpy.{name} takes {} argument(s), got {}",
                        ufunc.arity(),
                        args.len()
                    ),
                )
                .with_hint("check the call against NumPy's signature"),
            );
            return None;
        }
        if let Ufunc::Binary(op) = ufunc {
            let mut args = args.into_iter();
            let (a, b) = (args.next()?, args.next()?);
            return self.array_binary(cx, op, a, b, span);
        }
        let mut operands = Vec::new();
        for arg in args {
            operands.push(self.fused(cx, arg, span)?);
        }
        let dtypes: Vec<(Dtype, bool)> = operands.iter().map(|o| (o.body.dtype, o.weak)).collect();
        if let Ufunc::MinMax(_) | Ufunc::Clip = ufunc {
            // Python ints meet integer arrays as in arithmetic (NEP 50).
            let common = dtypes[1..]
                .iter()
                .fold(dtypes[0], |acc, &d| (result_dtype(acc, d), acc.1 && d.1))
                .0;
            operands = operands
                .into_iter()
                .map(|operand| self.narrow_weak_int(operand, common))
                .collect();
        }
        if dtypes.iter().any(|(dtype, _)| dtype.is_complex()) {
            if let Some(refusal) = complex_refusal(name, ufunc) {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("numpy.{name} of a complex array {refusal}"),
                    )
                    .with_hint(
                        "complex arrays take + - * / **, ==, !=, abs, angle, real, imag, conj, sqrt, exp, log, sin, cos, tan, sinh, cosh, tanh, square, isnan, isinf, isfinite and where",
                    ),
                );
                return None;
            }
        }
        let (inputs, bodies) = self.join(operands);
        let common = || {
            dtypes[1..]
                .iter()
                .fold(dtypes[0], |acc, &d| (result_dtype(acc, d), acc.1 && d.1))
                .0
        };
        let body = match ufunc {
            Ufunc::Float(method) => {
                let dtype = common();
                let Some(float) = float_dtype(dtype) else {
                    return self.float16_refusal(cx, name, dtype, span);
                };
                let args = bodies.into_iter().map(|b| b.cast_to(float)).collect();
                elem_call(ElemFunction::FloatMethod(method), args, float)
            }
            Ufunc::Rounding(method) => {
                let dtype = common();
                if float_dtype(dtype).is_none()
                    && (name == "rint"
                        || (dtype == Dtype::Bool
                            && name != "floor"
                            && name != "ceil"
                            && name != "trunc"))
                {
                    return self.float16_refusal(cx, name, dtype, span);
                }
                let arg = bodies.into_iter().next()?;
                if dtype.is_float() {
                    elem_call(ElemFunction::FloatMethod(method), vec![arg], dtype)
                } else if method == "round_ties_even" && name == "rint" {
                    let float = float_dtype(dtype).unwrap_or(Dtype::Float64);
                    arg.cast_to(float)
                } else {
                    arg
                }
            }
            Ufunc::Abs if dtypes[0].0.is_complex() => {
                // The modulus, in the float type of the parts.
                let arg = bodies.into_iter().next()?;
                let float = arg.dtype.component();
                elem_call(ElemFunction::Abs, vec![arg], float)
            }
            Ufunc::Part(part) => {
                let arg = bodies.into_iter().next()?;
                let dtype = arg.dtype;
                match part {
                    "real" | "imag" | "arg" if dtype.is_complex() => elem_call(
                        ElemFunction::FloatMethod(part),
                        vec![arg],
                        dtype.component(),
                    ),
                    "conj" if dtype.is_complex() => {
                        elem_call(ElemFunction::FloatMethod(part), vec![arg], dtype)
                    }
                    // Real numbers: their own real part and conjugate, no
                    // imaginary part, an angle of 0 or pi.
                    "real" | "conj" => arg,
                    "imag" => {
                        let _ = arg;
                        Elem::new(ElemKind::Literal(Literal::Int(0)), dtype)
                    }
                    _ => {
                        let Some(float) = float_dtype(dtype) else {
                            return self.float16_refusal(cx, name, dtype, span);
                        };
                        let zero = Elem::new(ElemKind::Literal(Literal::Int(0)), float);
                        elem_call(
                            ElemFunction::FloatMethod("atan2"),
                            vec![zero, arg.cast_to(float)],
                            float,
                        )
                    }
                }
            }
            Ufunc::Abs => {
                let arg = bodies.into_iter().next()?;
                let dtype = arg.dtype;
                if name == "fabs" && float_dtype(dtype).is_none() {
                    return self.float16_refusal(cx, name, dtype, span);
                }
                if name == "fabs" && !dtype.is_float() {
                    let float = float_dtype(dtype).unwrap_or(Dtype::Float64);
                    elem_call(ElemFunction::Abs, vec![arg.cast_to(float)], float)
                } else if dtype == Dtype::Bool || dtype.is_unsigned() {
                    arg
                } else {
                    elem_call(ElemFunction::Abs, vec![arg], dtype)
                }
            }
            Ufunc::Sign => {
                let arg = bodies.into_iter().next()?;
                if arg.dtype == Dtype::Bool {
                    return self.operator_error(
                        cx,
                        span,
                        "NumPy has no sign of bool arrays".into(),
                        "convert with .astype(int) first",
                    );
                }
                let dtype = arg.dtype;
                elem_call(ElemFunction::Sign, vec![arg], dtype)
            }
            Ufunc::Square => {
                let arg = bodies.into_iter().next()?;
                // NumPy squares bools as int8.
                let dtype = if arg.dtype == Dtype::Bool {
                    Dtype::Int8
                } else {
                    arg.dtype
                };
                let arg = arg.cast_to(dtype);
                elem_binary(BinaryOp::Mul, arg.clone(), arg, dtype)
            }
            Ufunc::MinMax(function) => {
                let dtype = common();
                let args = bodies.into_iter().map(|b| b.cast_to(dtype)).collect();
                elem_call(function, args, dtype)
            }
            Ufunc::Clip => {
                let dtype = common();
                let mut args = bodies.into_iter().map(|b| b.cast_to(dtype));
                let (x, low, high) = (args.next()?, args.next()?, args.next()?);
                let raised = elem_call(ElemFunction::Maximum, vec![x, low], dtype);
                elem_call(ElemFunction::Minimum, vec![raised, high], dtype)
            }
            Ufunc::Where => {
                let dtype = result_dtype(dtypes[1], dtypes[2]);
                let mut args = bodies.into_iter();
                let (condition, then, orelse) = (args.next()?, args.next()?, args.next()?);
                Elem::new(
                    ElemKind::Where {
                        condition: Box::new(truthy(condition)),
                        then: Box::new(then.cast_to(dtype)),
                        orelse: Box::new(orelse.cast_to(dtype)),
                    },
                    dtype,
                )
            }
            Ufunc::Test(function) => {
                let arg = bodies.into_iter().next()?;
                if arg.dtype.is_float() || arg.dtype.is_complex() {
                    elem_call(function, vec![arg], Dtype::Bool)
                } else {
                    // Integers are never nan or infinite.
                    let finite = function == ElemFunction::IsFinite;
                    let _ = arg;
                    Elem::new(ElemKind::Literal(Literal::Bool(finite)), Dtype::Bool)
                }
            }
            Ufunc::Logical(function) => {
                let args = bodies.into_iter().map(truthy).collect::<Vec<_>>();
                if function == ElemFunction::Truthy {
                    // logical_not
                    let arg = args.into_iter().next()?;
                    Elem::new(ElemKind::Invert(Box::new(arg)), Dtype::Bool)
                } else {
                    elem_call(function, args, Dtype::Bool)
                }
            }
            Ufunc::Binary(_) => return None,
        };
        if inputs.iter().all(|i| i.array_type().is_none()) {
            return None;
        }
        Some(self.element_wise(inputs, body))
    }

    /// A complex value stored into a real array: NumPy raises TypeError
    /// for a complex number and warns (dropping the imaginary part) for a
    /// complex array; compiled code refuses both.
    pub(super) fn complex_into_real<T>(
        &mut self,
        cx: &mut Cx,
        dtype: Dtype,
        span: Span,
    ) -> Option<T> {
        self.error(
            cx,
            Diagnostic::error(
                codes::INCOMPATIBLE_ASSIGNMENT,
                span,
                format!("cannot store complex numbers into a {dtype} array"),
            )
            .with_hint("store a part (z.real, abs(z)), or make the array complex"),
        );
        None
    }

    /// An operation on complex arrays that compiled code does not have.
    pub(super) fn complex_array_refusal(
        &mut self,
        cx: &mut Cx,
        what: &str,
        span: Span,
    ) -> Option<Expr> {
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                format!("{what} of a complex array is not supported in compiled code"),
            )
            .with_hint(
                "complex arrays support element-wise arithmetic, sum, prod, mean, copy, transpose, reshape, astype, conj, .real and .imag; NumPy orders complex numbers lexicographically, which compiled code does not",
            ),
        );
        None
    }

    /// A float function of an array NumPy computes in float16.
    fn float16_refusal(&mut self, cx: &Cx, name: &str, dtype: Dtype, span: Span) -> Option<Expr> {
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                format!(
                    "numpy.{name} of a {dtype} array is float16 in NumPy, which compiled code does not support"
                ),
            )
            .with_hint("convert first: a.astype(np.float32) or a.astype(np.float64)"),
        );
        None
    }

    /// `a.astype(dtype)` / `np.float32(a)`-style conversion of a whole array:
    /// a new array, converted as NumPy's unsafe casting does.
    pub(super) fn array_cast(&mut self, array: Expr, dtype: Dtype) -> Expr {
        let source = array.array_type().map_or(dtype, |a| a.dtype);
        let body = Elem::new(ElemKind::Input(0), source).cast_to(dtype);
        // A new array even when the dtype is the same: astype copies.
        self.element_wise(vec![array], body)
    }

    /// Basic indexing with slices, `...` or `None`: a view.
    pub(super) fn view(
        &mut self,
        cx: &mut Cx,
        base: Expr,
        array: ArrayType,
        indices: &[untyped::Expr],
        span: Span,
    ) -> Option<Expr> {
        let ellipses = indices
            .iter()
            .filter(|i| matches!(i.kind, untyped::ExprKind::Ellipsis))
            .count();
        if ellipses > 1 {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    "an index can only have a single ellipsis ('...')",
                )
                .with_hint("use `...` once"),
            );
            return None;
        }
        let is_new_axis = |e: &untyped::Expr| {
            matches!(&e.kind, untyped::ExprKind::None)
                || matches!(&e.kind, untyped::ExprKind::Qualified(q) if q == "numpy.newaxis")
        };
        let consuming = indices
            .iter()
            .filter(|i| !is_new_axis(i) && !matches!(i.kind, untyped::ExprKind::Ellipsis))
            .count();
        let ndim = array.ndim as usize;
        if consuming > ndim {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!(
                        "too many indices: the array has {ndim} dimensions, the index has {consuming}"
                    ),
                )
                .with_hint("use one index per dimension"),
            );
            return None;
        }
        let full = || ViewItem::Slice {
            start: None,
            stop: None,
            step: None,
        };
        let mut items = Vec::new();
        let mut ok = true;
        for index in indices {
            match &index.kind {
                untyped::ExprKind::Ellipsis => {
                    items.extend((0..ndim - consuming).map(|_| full()));
                }
                _ if is_new_axis(index) => items.push(ViewItem::NewAxis),
                untyped::ExprKind::Slice { start, stop, step } => {
                    let mut bound = |b: &Option<Box<untyped::Expr>>| -> Option<Option<Expr>> {
                        match b {
                            None => Some(None),
                            Some(b) => {
                                if matches!(b.kind, untyped::ExprKind::None) {
                                    return Some(None);
                                }
                                let value = self.expr(cx, b)?;
                                if !value.ty.is_integer_like() {
                                    let ty = value.ty.clone();
                                    self.error(
                                        cx,
                                        Diagnostic::error(
                                            codes::INVALID_INDEX,
                                            b.span,
                                            format!("slice bounds must be integers, not {ty}"),
                                        )
                                        .with_hint("convert with int(...)"),
                                    );
                                    return None;
                                }
                                Some(Some(value.cast_to(&Type::Int)))
                            }
                        }
                    };
                    let (start, stop, step) = (bound(start), bound(stop), bound(step));
                    match (start, stop, step) {
                        (Some(start), Some(stop), Some(step)) => {
                            items.push(ViewItem::Slice { start, stop, step })
                        }
                        _ => ok = false,
                    }
                }
                _ => match self.expr(cx, index) {
                    Some(value) if value.ty.is_integer_like() && value.ty != Type::Bool => {
                        items.push(ViewItem::Index(value.cast_to(&Type::Int)))
                    }
                    Some(value) => {
                        let ty = value.ty.clone();
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::INVALID_INDEX,
                                index.span,
                                format!("array indices must be integers or slices, not {ty}"),
                            )
                            .with_hint("index with an int, a slice `a:b:c`, `None` or `...`"),
                        );
                        ok = false;
                    }
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        let taken = items
            .iter()
            .filter(|i| !matches!(i, ViewItem::NewAxis))
            .count();
        items.extend((taken..ndim).map(|_| full()));
        let out_ndim = items
            .iter()
            .filter(|i| !matches!(i, ViewItem::Index(_)))
            .count();
        if out_ndim == 0 {
            // Every axis has an integer index: an element.
            let indices = items
                .into_iter()
                .filter_map(|i| match i {
                    ViewItem::Index(e) => Some(e),
                    _ => None,
                })
                .collect();
            return Some(Expr::new(
                ExprKind::Index {
                    array: Box::new(base),
                    indices,
                    span,
                },
                array.element(),
            ));
        }
        Some(Expr::new(
            ExprKind::View {
                array: Box::new(base),
                items,
                span,
            },
            Type::Array(ArrayType::new(array.dtype, out_ndim as u8)),
        ))
    }

    /// The axis an `axis=` literal of `numpy.{name}` names, counted from
    /// the front; an error when it is not an integer literal or out of
    /// bounds for `ndim` dimensions.
    fn axis_literal(
        &mut self,
        cx: &mut Cx,
        name: &str,
        value: &Expr,
        ndim: u8,
        span: Span,
    ) -> Option<usize> {
        let ExprKind::Literal(Literal::Int(v)) = value.kind else {
            self.keyword_error(cx, name, "axis", span, "axis= must be an integer literal");
            return None;
        };
        let ndim = i64::from(ndim);
        if v < -ndim || v >= ndim {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!("axis {v} is out of bounds for an array of dimension {ndim}"),
                )
                .with_hint(format!("use an axis from {} to {}", -ndim, ndim - 1)),
            );
            return None;
        }
        Some(if v < 0 { v + ndim } else { v } as usize)
    }

    /// `np.sum(a)`, `a.max(axis=1)`, ...: `name` is NumPy's.
    pub(super) fn reduction(
        &mut self,
        cx: &mut Cx,
        name: &str,
        array: Expr,
        keywords: &[(String, Expr, Span)],
        span: Span,
    ) -> Option<Expr> {
        let Some(array_type) = array.array_type() else {
            let ty = array.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("numpy.{name} of {ty} is not supported"),
                )
                .with_hint("reduce an array"),
            );
            return None;
        };
        if array_type.dtype.is_complex() && !matches!(name, "sum" | "prod" | "mean" | "average") {
            return self.complex_array_refusal(cx, &format!("numpy.{name}"), span);
        }
        let op = match name {
            "sum" => Reduction::Sum,
            "prod" | "product" => Reduction::Prod,
            "mean" | "average" => Reduction::Mean,
            "var" => Reduction::Var,
            "std" => Reduction::Std,
            "min" | "amin" => Reduction::Min,
            "max" | "amax" => Reduction::Max,
            "argmin" => Reduction::ArgMin,
            "argmax" => Reduction::ArgMax,
            "all" => Reduction::All,
            "any" => Reduction::Any,
            "cumsum" | "cumprod" => {
                let mut axis = None;
                for (keyword, value, kspan) in keywords {
                    if keyword != "axis" {
                        return self.keyword_error(
                            cx,
                            name,
                            keyword,
                            *kspan,
                            "cumsum and cumprod take an array and `axis=`",
                        );
                    }
                    axis = Some(self.axis_literal(cx, name, value, array_type.ndim, *kspan)?);
                }
                let total = library::accumulated_dtype(array_type.dtype);
                // NumPy flattens without an axis; along an axis the result
                // keeps the array's shape.
                let ndim = if axis.is_some() { array_type.ndim } else { 1 };
                return Some(Expr::new(
                    ExprKind::Cumulative {
                        product: name == "cumprod",
                        array: Box::new(array),
                        axis,
                    },
                    Type::Array(ArrayType::new(total, ndim)),
                ));
            }
            _ => return None,
        };
        let mut axis = None;
        let mut keepdims = false;
        let mut ddof = None;
        for (keyword, value, kspan) in keywords {
            match keyword.as_str() {
                "axis" => {
                    axis = Some(self.axis_literal(cx, name, value, array_type.ndim, *kspan)?);
                }
                "keepdims" => match value.kind {
                    ExprKind::Literal(Literal::Bool(b)) => keepdims = b,
                    _ => {
                        return self.keyword_error(
                            cx,
                            name,
                            keyword,
                            *kspan,
                            "keepdims= must be True or False",
                        )
                    }
                },
                "ddof" if matches!(op, Reduction::Var | Reduction::Std) => {
                    if !value.ty.is_integer_like() {
                        return self.keyword_error(
                            cx,
                            name,
                            keyword,
                            *kspan,
                            "ddof= must be an int",
                        );
                    }
                    ddof = Some(Box::new(value.clone().cast_to(&Type::Int)));
                }
                _ => {
                    return self.keyword_error(
                        cx,
                        name,
                        keyword,
                        *kspan,
                        "supported keywords: axis=, keepdims= (and ddof= for var and std)",
                    )
                }
            }
        }
        if keepdims && matches!(op, Reduction::ArgMin | Reduction::ArgMax) && axis.is_none() {
            return self.keyword_error(
                cx,
                name,
                "keepdims",
                span,
                "keepdims= of argmin/argmax needs axis=",
            );
        }
        let dtype = array_type.dtype;
        let result = match op {
            Reduction::Sum | Reduction::Prod => library::accumulated_dtype(dtype),
            Reduction::Mean | Reduction::Var | Reduction::Std => {
                if dtype.is_float() || dtype.is_complex() {
                    dtype
                } else {
                    Dtype::Float64
                }
            }
            Reduction::Min | Reduction::Max => dtype,
            Reduction::ArgMin | Reduction::ArgMax => Dtype::Int64,
            Reduction::All | Reduction::Any => Dtype::Bool,
        };
        // Reducing the only axis of a 1-D array gives a scalar, as NumPy.
        if array_type.ndim == 1 && !keepdims {
            axis = None;
        }
        let ty = match (axis, keepdims) {
            (None, false) => Type::of_element(result),
            (None, true) => Type::Array(ArrayType::new(result, array_type.ndim)),
            (Some(_), true) => Type::Array(ArrayType::new(result, array_type.ndim)),
            (Some(_), false) => Type::Array(ArrayType::new(result, array_type.ndim - 1)),
        };
        if keepdims && axis.is_none() {
            return self.keyword_error(
                cx,
                name,
                "keepdims",
                span,
                "keepdims=True needs axis= in compiled code",
            );
        }
        Some(Expr::new(
            ExprKind::Reduce {
                op,
                array: Box::new(array),
                axis,
                keepdims,
                ddof,
            },
            ty,
        ))
    }

    fn keyword_error(
        &mut self,
        cx: &Cx,
        function: &str,
        keyword: &str,
        span: Span,
        hint: &str,
    ) -> Option<Expr> {
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                format!("keyword `{keyword}` of numpy.{function} is not supported here"),
            )
            .with_hint(hint.to_string()),
        );
        None
    }

    /// Methods of arrays: reductions, `reshape`, `ravel`, `flatten`,
    /// `transpose`, `astype`, `copy`.
    pub(super) fn array_method(
        &mut self,
        cx: &mut Cx,
        receiver: Expr,
        method: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let array = receiver.array_type()?;
        if array.dtype.is_complex() {
            match method {
                "conj" | "conjugate" if args.is_empty() && keywords.is_empty() => {
                    return self.array_ufunc(cx, "conj", Ufunc::Part("conj"), vec![receiver], span);
                }
                "sum" | "prod" | "mean" | "copy" | "transpose" | "ravel" | "flatten"
                | "reshape" | "astype" => {}
                _ => return self.complex_array_refusal(cx, &format!("a.{method}()"), span),
            }
        }
        if library::is_reduction(method) {
            let mut typed_keywords = Vec::new();
            for keyword in keywords {
                let value = self.expr(cx, &keyword.value)?;
                typed_keywords.push((keyword.name.clone(), value, keyword.span));
            }
            // `a.sum(0)`: the first positional argument is the axis.
            if let [axis] = args {
                let value = self.expr(cx, axis)?;
                typed_keywords.insert(0, ("axis".to_string(), value, axis.span));
            } else if !args.is_empty() {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::WRONG_ARGUMENTS,
                        span,
                        format!("a.{method}() takes at most one positional argument (the axis)"),
                    )
                    .with_hint("pass other arguments by keyword"),
                );
                return None;
            }
            return self.reduction(cx, method, receiver, &typed_keywords, span);
        }
        if !keywords.is_empty() {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    keywords[0].span,
                    format!("keyword arguments of a.{method}() are not supported"),
                )
                .with_hint("pass the arguments positionally"),
            );
            return None;
        }
        match method {
            "sort" if args.is_empty() => Some(Expr::new(
                ExprKind::Runtime {
                    function: "sort_in_place",
                    args: vec![receiver],
                },
                Type::None,
            )),
            "argsort" | "nonzero" | "repeat" | "searchsorted" => {
                let typed_args = self.exprs(cx, args)?;
                let mut all = vec![receiver];
                all.extend(typed_args);
                self.joining_function(cx, method, &all, &[], span)?
            }
            "copy" if args.is_empty() => {
                let ty = receiver.ty.clone();
                Some(Expr::new(ExprKind::CopyArray(Box::new(receiver)), ty))
            }
            "transpose" if args.is_empty() => Some(self.transpose(receiver)),
            "ravel" | "flatten" if args.is_empty() => Some(Expr::new(
                ExprKind::Reshape {
                    array: Box::new(receiver),
                    shape: vec![Expr::int(-1)],
                    copy: method == "flatten",
                },
                Type::Array(ArrayType::new(array.dtype, 1)),
            )),
            "reshape" => {
                let shape = self.shape_arguments(cx, args, span)?;
                let ndim = shape.len() as u8;
                Some(Expr::new(
                    ExprKind::Reshape {
                        array: Box::new(receiver),
                        shape,
                        copy: false,
                    },
                    Type::Array(ArrayType::new(array.dtype, ndim)),
                ))
            }
            "astype" => {
                let [dtype] = args else {
                    self.error(
                        cx,
                        Diagnostic::error(codes::WRONG_ARGUMENTS, span, "a.astype() takes a dtype")
                            .with_hint("write a.astype(np.float32)"),
                    );
                    return None;
                };
                let dtype = self.dtype_argument(cx, dtype)?;
                if array.dtype.is_complex() && !dtype.is_complex() {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("a {} array converted to {dtype} drops the imaginary parts (NumPy warns with ComplexWarning); compiled code refuses it", array.dtype),
                        )
                        .with_hint("say which part: z.real.astype(...), or np.abs(z)"),
                    );
                    return None;
                }
                Some(self.array_cast(receiver, dtype))
            }
            _ => {
                let ty = receiver.ty.clone();
                let hint = match library::nearest_method(method) {
                    Some(near) => format!(
                        "did you mean a.{near}()? supported array methods: {}",
                        library::ARRAY_METHODS.join(", ")
                    ),
                    None => format!(
                        "supported array methods: {}",
                        library::ARRAY_METHODS.join(", ")
                    ),
                };
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("method `{method}` of {ty} is not supported"),
                    )
                    .with_hint(hint),
                );
                None
            }
        }
    }

    pub(super) fn transpose(&mut self, array: Expr) -> Expr {
        let ty = array.ty.clone();
        Expr::new(ExprKind::Transpose(Box::new(array)), ty)
    }

    /// `reshape(n, m)` or `reshape((n, m))`: the new dimensions as ints.
    fn shape_arguments(
        &mut self,
        cx: &mut Cx,
        args: &[untyped::Expr],
        span: Span,
    ) -> Option<Vec<Expr>> {
        let parts: Vec<untyped::Expr> = match args {
            [untyped::Expr {
                kind: untyped::ExprKind::Tuple(items),
                ..
            }] => items.clone(),
            _ => args.to_vec(),
        };
        if parts.is_empty() {
            self.error(
                cx,
                Diagnostic::error(codes::WRONG_ARGUMENTS, span, "reshape needs a shape")
                    .with_hint("write a.reshape(n, m) or a.reshape((n, -1))"),
            );
            return None;
        }
        let mut shape = Vec::new();
        for part in &parts {
            let value = self.expr(cx, part)?;
            if !value.ty.is_integer_like() {
                let ty = value.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::WRONG_ARGUMENTS,
                        part.span,
                        format!("a dimension must be an int, not {ty}"),
                    )
                    .with_hint("use ints, and -1 for the dimension to infer"),
                );
                return None;
            }
            shape.push(value.cast_to(&Type::Int));
        }
        Some(shape)
    }

    /// `a[...] = value`, `a[1:] = value`, `a += value` on arrays: a store
    /// into every element of `view`.
    pub(super) fn store_into_view(
        &mut self,
        cx: &mut Cx,
        view: Expr,
        value: Expr,
        span: Span,
    ) -> Option<(typed::Target, Expr)> {
        let Some(dest) = view.array_type() else {
            return None;
        };
        match &value.ty {
            Type::Array(source) if source.ndim > dest.ndim => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!(
                            "cannot store an array of {} dimensions into a view of {}",
                            source.ndim, dest.ndim
                        ),
                    )
                    .with_hint("the value must broadcast to the view's shape"),
                );
                return None;
            }
            Type::Array(source) if source.dtype.is_complex() && !dest.dtype.is_complex() => {
                return self.complex_into_real(cx, dest.dtype, span);
            }
            Type::Array(_) => {}
            ty if ty.is_numeric() => {}
            Type::Complex if dest.dtype.is_complex() => {}
            Type::Complex => return self.complex_into_real(cx, dest.dtype, span),
            ty => {
                let ty = ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("cannot store {ty} into an array"),
                    )
                    .with_hint("store numbers or arrays"),
                );
                return None;
            }
        }
        Some((typed::Target::View { view, span }, value))
    }

    /// `a op= value` on an array: NumPy's in-place operation, which keeps
    /// `a`'s dtype and refuses to turn floats into integers.
    pub(super) fn augmented_array(
        &mut self,
        cx: &mut Cx,
        view: Expr,
        op: BinaryOp,
        value: Expr,
        span: Span,
    ) -> Option<(typed::Target, Expr)> {
        let dest = view.array_type()?;
        let combined = self.array_binary(cx, op, view.clone(), value, span)?;
        let result = combined.array_type()?.dtype;
        // NumPy's 'same_kind' casting: bool < unsigned < signed < float.
        let kind = |d: Dtype| {
            if d == Dtype::Bool {
                0
            } else if d.is_unsigned() {
                1
            } else if d.is_signed() {
                2
            } else {
                3
            }
        };
        let allowed = kind(result) <= kind(dest.dtype);
        if !allowed {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INCOMPATIBLE_ASSIGNMENT,
                    span,
                    format!(
                        "`{}=` would store {result} results into a {} array, which NumPy refuses (casting rule 'same_kind')",
                        op.symbol(),
                        dest.dtype
                    ),
                )
                .with_hint("write `a = a OP b` to make a new array, or convert with .astype"),
            );
            return None;
        }
        if let ExprKind::Select { array, index } = view.kind {
            let ty = combined.ty.clone();
            let target = self.select_target(cx, *array, *index, &ty, span)?;
            return Some((target, combined));
        }
        // `t[i, :, k] += v`: through the index arrays, as the store would go.
        if let ExprKind::Runtime {
            function: "take_arrays",
            args,
        } = &view.kind
        {
            let parsed = match args.split_first().zip(args.split_last()) {
                Some(((view, rest), (front, _))) => {
                    let pairs = &rest[..rest.len().saturating_sub(1)];
                    let indices: Option<Vec<(usize, Expr)>> = pairs
                        .chunks(2)
                        .map(|pair| match pair {
                            [index, axis] => match axis.kind {
                                ExprKind::Literal(Literal::Int(axis)) => {
                                    usize::try_from(axis).ok().map(|axis| (axis, index.clone()))
                                }
                                _ => None,
                            },
                            _ => None,
                        })
                        .collect();
                    match (&front.kind, indices) {
                        (ExprKind::Literal(Literal::Bool(front)), Some(indices)) => {
                            Some((view.clone(), indices, *front))
                        }
                        _ => None,
                    }
                }
                None => None,
            };
            let (view, indices, front) = parsed?;
            let ty = combined.ty.clone();
            let target = self.several_target(cx, view, indices, front, &ty, span)?;
            return Some((target, combined));
        }
        // `m[idx, j] += v`: through the index array, as the store would go.
        if let ExprKind::Runtime {
            function: "take_along" | "take_masked_along" | "take_points",
            args,
        } = &view.kind
        {
            if let ("take_points", [array, rows, columns]) = (function_name(&view), args.as_slice())
            {
                let ty = combined.ty.clone();
                let target = self.points_target(
                    cx,
                    array.clone(),
                    rows.clone(),
                    columns.clone(),
                    &ty,
                    span,
                )?;
                return Some((target, combined));
            }
            let along = match args.as_slice() {
                [_, _, axis, front] => match (&axis.kind, &front.kind) {
                    (
                        ExprKind::Literal(Literal::Int(axis)),
                        ExprKind::Literal(Literal::Bool(front)),
                    ) => usize::try_from(*axis).ok().map(|axis| (axis, *front)),
                    _ => None,
                },
                _ => None,
            };
            let Some((axis, front)) = along else {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        span,
                        "this store through an index array is not supported",
                    )
                    .with_hint(
                        "store through one index array or mask beside ints and slices: \
                         `m[:, idx] += v`, `m[i, mask] += v`",
                    ),
                );
                return None;
            };
            let ty = combined.ty.clone();
            let mut args = args.clone();
            let index = args.swap_remove(1);
            let array = args.swap_remove(0);
            let target = self.select_along_target(cx, array, index, axis, front, &ty, span)?;
            return Some((target, combined));
        }
        self.store_into_view(cx, view, combined, span)
    }
}

/// The runtime function an expression calls, or "".
fn function_name(expr: &Expr) -> &'static str {
    match expr.kind {
        ExprKind::Runtime { function, .. } => function,
        _ => "",
    }
}

impl<'m> Inference<'m> {
    /// Creation (`arange`, `linspace`, `eye`, `identity`) and linear
    /// algebra (`dot`, `matmul` / `@`, `outer`, `trace`).
    pub(super) fn numpy_array_function(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let positional = self.exprs(cx, args)?;
        let complex_argument = positional
            .iter()
            .any(|arg| arg.array_type().is_some_and(|a| a.dtype.is_complex()));
        if complex_argument
            && matches!(
                name,
                "sort"
                    | "argsort"
                    | "unique"
                    | "searchsorted"
                    | "bincount"
                    | "count_nonzero"
                    | "nonzero"
                    | "median"
                    | "dot"
                    | "matmul"
                    | "outer"
                    | "trace"
                    | "linalg.norm"
                    | "diff"
            )
        {
            return self.complex_array_refusal(cx, &format!("numpy.{name}"), span);
        }
        let mut named: Vec<(String, Expr, Span, &untyped::Expr)> = Vec::new();
        let mut dtype = None;
        for keyword in keywords {
            if keyword.name == "dtype" {
                dtype = Some(self.dtype_argument(cx, &keyword.value)?);
                continue;
            }
            // `side="right"`: a string option, read where it is used.
            let value = if let untyped::ExprKind::Str(_) = keyword.value.kind {
                Expr::new(ExprKind::Literal(Literal::Bool(false)), Type::Bool)
            } else {
                self.expr(cx, &keyword.value)?
            };
            named.push((keyword.name.clone(), value, keyword.span, &keyword.value));
        }
        let allowed: &[&str] = match name {
            "linspace" => &["num", "endpoint"],
            "array" | "asarray" => &[],
            "eye" => &["M", "k"],
            "flip" | "concatenate" | "stack" | "roll" | "expand_dims" | "squeeze" | "sort"
            | "argsort" => &["axis"],
            "diff" => &["n", "axis"],
            "linalg.norm" => &["axis", "keepdims"],
            "searchsorted" => &["side"],
            "bincount" => &["minlength"],
            _ => &[],
        };
        if let Some((keyword, _, kspan, _)) =
            named.iter().find(|(k, ..)| !allowed.contains(&k.as_str()))
        {
            let (keyword, kspan) = (keyword.clone(), *kspan);
            return self.keyword_error(
                cx,
                name,
                &keyword,
                kspan,
                "pass it positionally, or leave it out",
            );
        }
        let keyword = |key: &str| {
            named
                .iter()
                .find(|(k, ..)| k == key)
                .map(|(_, v, ..)| v.clone())
        };
        let arity = |this: &mut Self, cx: &Cx, expected: &str| -> Option<Expr> {
            this.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!("numpy.{name} takes {expected}"),
                )
                .with_hint("check the call against NumPy's signature"),
            );
            None
        };
        let int_arg = |this: &mut Self, cx: &Cx, value: &Expr, what: &str| -> Option<Expr> {
            if value.ty.is_integer_like() {
                Some(value.clone().cast_to(&Type::Int))
            } else {
                let ty = value.ty.clone();
                this.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        span,
                        format!("{what} of numpy.{name} must be an int, not {ty}"),
                    )
                    .with_hint("pass an int"),
                );
                None
            }
        };
        let runtime = |function: &'static str, args: Vec<Expr>, ty: Type| {
            Expr::new(ExprKind::Runtime { function, args }, ty)
        };
        let with_dtype = |this: &mut Self, made: Expr| -> Expr {
            match (dtype, made.array_type()) {
                (Some(dtype), Some(array)) if array.dtype != dtype => this.array_cast(made, dtype),
                _ => made,
            }
        };
        if let Some(result) = self.joining_function(cx, name, &positional, &named, span) {
            // `np.array(..., dtype=...)` converts what it made.
            return match (result, dtype) {
                (Some(made), Some(dtype)) if matches!(name, "array" | "asarray") => {
                    match made.array_type() {
                        Some(array) if array.dtype != dtype => Some(self.array_cast(made, dtype)),
                        _ => Some(made),
                    }
                }
                (result, _) => result,
            };
        }
        match name {
            "arange" => {
                if positional.is_empty() || positional.len() > 3 {
                    return arity(self, cx, "1 to 3 numbers (start, stop, step)");
                }
                for value in &positional {
                    if !value.ty.is_numeric() {
                        return arity(self, cx, "numbers");
                    }
                }
                let float = positional.iter().any(|v| v.ty.is_float_like())
                    || dtype.is_some_and(Dtype::is_float);
                let scalar = if float { Type::Float } else { Type::Int };
                let mut values: Vec<Expr> =
                    positional.into_iter().map(|v| v.cast_to(&scalar)).collect();
                let zero = Expr::new(
                    ExprKind::Literal(if float {
                        Literal::Float(0.0)
                    } else {
                        Literal::Int(0)
                    }),
                    scalar.clone(),
                );
                let one = Expr::new(
                    ExprKind::Literal(if float {
                        Literal::Float(1.0)
                    } else {
                        Literal::Int(1)
                    }),
                    scalar.clone(),
                );
                match values.len() {
                    1 => {
                        values.insert(0, zero);
                        values.push(one);
                    }
                    2 => values.push(one),
                    _ => {}
                }
                let (function, element) = if float {
                    ("arange_float", Dtype::Float64)
                } else {
                    ("arange_int", Dtype::Int64)
                };
                let made = runtime(function, values, Type::Array(ArrayType::new(element, 1)));
                Some(with_dtype(self, made))
            }
            "linspace" => {
                if positional.len() < 2 || positional.len() > 3 {
                    return arity(self, cx, "start, stop and num");
                }
                let mut values: Vec<Expr> = Vec::new();
                for value in &positional[..2] {
                    if !value.ty.is_numeric() {
                        return arity(self, cx, "numbers for start and stop");
                    }
                    values.push(value.clone().cast_to(&Type::Float));
                }
                let num = match positional.get(2).cloned().or_else(|| keyword("num")) {
                    Some(num) => int_arg(self, cx, &num, "num")?,
                    None => Expr::int(50),
                };
                let endpoint = match keyword("endpoint") {
                    Some(value) if value.ty == Type::Bool => value,
                    Some(_) => return arity(self, cx, "endpoint=True or False"),
                    None => Expr::new(ExprKind::Literal(Literal::Bool(true)), Type::Bool),
                };
                values.push(num);
                values.push(endpoint);
                let made = runtime(
                    "linspace",
                    values,
                    Type::Array(ArrayType::new(Dtype::Float64, 1)),
                );
                Some(with_dtype(self, made))
            }
            "eye" | "identity" => {
                let element = dtype.unwrap_or(Dtype::Float64);
                let n = match positional.first() {
                    Some(n) => int_arg(self, cx, n, "the size")?,
                    None => return arity(self, cx, "the number of rows"),
                };
                if name == "identity" && (positional.len() > 1 || !named.is_empty()) {
                    return arity(self, cx, "one size");
                }
                let m = match positional.get(1).cloned().or_else(|| keyword("M")) {
                    Some(m) if !matches!(m.kind, ExprKind::Literal(_)) || m.ty != Type::None => {
                        int_arg(self, cx, &m, "M")?
                    }
                    _ => n.clone(),
                };
                let k = match positional.get(2).cloned().or_else(|| keyword("k")) {
                    Some(k) => int_arg(self, cx, &k, "k")?,
                    None => Expr::int(0),
                };
                if positional.len() > 3 {
                    return arity(self, cx, "N, M and k");
                }
                Some(runtime(
                    "eye",
                    vec![n, m, k],
                    Type::Array(ArrayType::new(element, 2)),
                ))
            }
            "trace" => {
                let [array] = positional.as_slice() else {
                    return arity(self, cx, "one array");
                };
                match array.array_type() {
                    Some(a) if a.ndim == 2 => {
                        let total = library::accumulated_dtype(a.dtype);
                        Some(runtime(
                            "trace",
                            vec![array.clone()],
                            Type::of_element(total),
                        ))
                    }
                    _ => arity(self, cx, "a 2-dimensional array"),
                }
            }
            "outer" => {
                let [a, b] = positional.as_slice() else {
                    return arity(self, cx, "two arrays");
                };
                let (Some(ta), Some(tb)) = (a.array_type(), b.array_type()) else {
                    return arity(self, cx, "two arrays");
                };
                let column = |x: Expr, t: ArrayType, items: Vec<ViewItem>| {
                    let flat = if t.ndim == 1 {
                        x
                    } else {
                        Expr::new(
                            ExprKind::Reshape {
                                array: Box::new(x),
                                shape: vec![Expr::int(-1)],
                                copy: false,
                            },
                            Type::Array(ArrayType::new(t.dtype, 1)),
                        )
                    };
                    Expr::new(
                        ExprKind::View {
                            array: Box::new(flat),
                            items,
                            span,
                        },
                        Type::Array(ArrayType::new(t.dtype, 2)),
                    )
                };
                let full = || ViewItem::Slice {
                    start: None,
                    stop: None,
                    step: None,
                };
                let left = column(a.clone(), ta, vec![full(), ViewItem::NewAxis]);
                let right = column(b.clone(), tb, vec![ViewItem::NewAxis, full()]);
                self.array_binary(cx, BinaryOp::Mul, left, right, span)
            }
            _ => {
                // dot, matmul
                let [a, b] = positional.as_slice() else {
                    return arity(self, cx, "two arrays");
                };
                let (Some(ta), Some(tb)) = (a.array_type(), b.array_type()) else {
                    if name == "dot" {
                        // A scalar times an array.
                        return self.array_binary(cx, BinaryOp::Mul, a.clone(), b.clone(), span);
                    }
                    return arity(
                        self,
                        cx,
                        "two arrays (matmul of scalars is an error in NumPy)",
                    );
                };
                if ta.ndim > 2 || tb.ndim > 2 {
                    return arity(self, cx, "arrays of 1 or 2 dimensions");
                }
                let dtype = Dtype::promote(ta.dtype, tb.dtype);
                if dtype == Dtype::Bool {
                    return arity(
                        self,
                        cx,
                        "numeric arrays (bool matrix products are not supported)",
                    );
                }
                let a = if ta.dtype == dtype {
                    a.clone()
                } else {
                    self.array_cast(a.clone(), dtype)
                };
                let b = if tb.dtype == dtype {
                    b.clone()
                } else {
                    self.array_cast(b.clone(), dtype)
                };
                if ta.ndim == 1 && tb.ndim == 1 {
                    return Some(runtime("dot_vec_vec", vec![a, b], Type::of_element(dtype)));
                }
                let ndim = ta.ndim + tb.ndim - 2;
                Some(runtime(
                    "matmul",
                    vec![a, b],
                    Type::Array(ArrayType::new(dtype, ndim)),
                ))
            }
        }
    }
}

impl<'m> Inference<'m> {
    /// `a[mask]` or `a[idx]`.
    pub(super) fn select(
        &mut self,
        cx: &mut Cx,
        array: Expr,
        index: Expr,
        span: Span,
    ) -> Option<Expr> {
        let (Some(a), Some(i)) = (array.array_type(), index.array_type()) else {
            return None;
        };
        let ty = if i.dtype == Dtype::Bool {
            if i.ndim != a.ndim {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        span,
                        format!(
                            "a boolean mask of {} dimensions indexes an array of {}",
                            i.ndim, a.ndim
                        ),
                    )
                    .with_hint("use a mask of the array's shape, such as `a > 0`"),
                );
                return None;
            }
            Type::Array(ArrayType::new(a.dtype, 1))
        } else if i.dtype.is_integer() && i.ndim == 1 {
            array.ty.clone()
        } else {
            let t = index.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!("arrays cannot be indexed by {t} in compiled code"),
                )
                .with_hint("index with a bool mask of the same shape or a 1-D integer array"),
            );
            return None;
        };
        Some(Expr::new(
            ExprKind::Select {
                array: Box::new(array),
                index: Box::new(index),
            },
            ty,
        ))
    }

    /// The target of `a[mask] = value` / `a[idx] = value`.
    pub(super) fn select_target(
        &mut self,
        cx: &mut Cx,
        array: Expr,
        index: Expr,
        value: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let selected = self.select(cx, array.clone(), index.clone(), span)?;
        let a = array.array_type()?;
        let i = index.array_type()?;
        if i.dtype != Dtype::Bool && a.ndim != 1 {
            // `m[idx] = rows`: along the first axis.
            return self.select_along_target(cx, array, index, 0, false, value, span);
        }
        let _ = selected;
        self.selection_value(cx, a.dtype, value, Selection::Listed, span)?;
        Some(typed::Target::Select {
            array,
            index,
            along: None,
            span,
        })
    }

    /// Checks a value stored through a mask or index arrays into an array
    /// of `dtype`: a number, or an array (complex only into complex) that
    /// fits the selection.
    fn selection_value(
        &mut self,
        cx: &mut Cx,
        dtype: Dtype,
        value: &Type,
        selection: Selection,
        span: Span,
    ) -> Option<()> {
        let fits = |ndim: u8| match selection {
            Selection::Listed => ndim == 1,
            Selection::Along(selected) | Selection::Several(selected) => {
                usize::from(ndim) <= selected
            }
        };
        let (through, hint) = match selection {
            Selection::Listed => (
                "a mask or index array",
                "store a number or a 1-D array of the selected length",
            ),
            Selection::Along(_) => (
                "a mask or index array",
                "store a number or an array that broadcasts to the selected shape",
            ),
            Selection::Several(_) => (
                "index arrays",
                "store a number or an array that broadcasts to the selected shape",
            ),
        };
        let too_many = match (value, selection) {
            (Type::Array(v), Selection::Along(selected)) => {
                Some((v.ndim, selected, "an index array"))
            }
            (Type::Array(v), Selection::Several(selected)) => {
                Some((v.ndim, selected, "index arrays"))
            }
            _ => None,
        };
        match value {
            Type::Array(v) if v.dtype.is_complex() && !dtype.is_complex() => {
                return self.complex_into_real(cx, dtype, span);
            }
            Type::Array(v) if fits(v.ndim) => {}
            ty if ty.is_numeric() => {}
            Type::Complex if dtype.is_complex() => {}
            Type::Complex => return self.complex_into_real(cx, dtype, span),
            ty => {
                let diagnostic = match too_many {
                    Some((ndim, selected, what)) => Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("cannot store a {ndim}-D array into the {selected}-D selection of {what}"),
                    )
                    .with_hint("store an array that broadcasts to the selected elements' shape"),
                    None => Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("cannot store {ty} through {through}"),
                    )
                    .with_hint(hint),
                };
                self.error(cx, diagnostic);
                return None;
            }
        }
        Some(())
    }

    /// The target of `m[:, idx] = value`, `m[i, mask] = value`,
    /// `t[..., idx] = value`, `m[idx] = rows`: `view` is the view the other
    /// index items make, `index` a 1-D integer array or mask selecting
    /// along its `axis` (first among the selected elements' axes with
    /// `front`). The value is a number or an array that broadcasts to the
    /// shape of the selected elements.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn select_along_target(
        &mut self,
        cx: &mut Cx,
        view: Expr,
        index: Expr,
        axis: usize,
        front: bool,
        value: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let a = view.array_type()?;
        let i = index.array_type()?;
        let usable = i.ndim == 1 && (i.dtype.is_integer() || i.dtype == Dtype::Bool);
        if !usable || axis >= a.ndim as usize {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!("cannot store through {} beside other indices", index.ty),
                )
                .with_hint("store through 1-D integer arrays or masks beside ints and slices"),
            );
            return None;
        }
        self.selection_value(cx, a.dtype, value, Selection::Along(a.ndim as usize), span)?;
        Some(typed::Target::Select {
            array: view,
            index,
            along: Some(typed::Along {
                axes: vec![axis],
                front,
            }),
            span,
        })
    }

    /// The target of `t[i, j, k] = value`, `t[i, :, k] = value`: `view` is
    /// the view the other index items make, `indices` the 1-D integer
    /// arrays and the axes of the view they select along (see
    /// `rt::put_arrays`). The value is a number or an array that broadcasts
    /// to the shape of the selected elements.
    pub(super) fn several_target(
        &mut self,
        cx: &mut Cx,
        view: Expr,
        indices: Vec<(usize, Expr)>,
        front: bool,
        value: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let a = view.array_type()?;
        let selected = (a.ndim as usize + 1).saturating_sub(indices.len());
        self.selection_value(cx, a.dtype, value, Selection::Several(selected), span)?;
        let (axes, arrays): (Vec<usize>, Vec<Expr>) = indices.into_iter().unzip();
        let ty = Type::Tuple(arrays.iter().map(|a| a.ty.clone()).collect());
        let index = Expr::new(ExprKind::Tuple(arrays), ty);
        Some(typed::Target::Select {
            array: view,
            index,
            along: Some(typed::Along { axes, front }),
            span,
        })
    }

    /// `np.round(a, decimals)` of an array, as NumPy computes it: for
    /// `decimals >= 0`, `rint(a * 10**decimals) / 10**decimals`, otherwise
    /// `rint(a / 10**-decimals) * 10**-decimals`, in the array's float type
    /// (so `np.round(2.675, 2)` is `2.67`, as in NumPy); an integer array
    /// rounded to `decimals >= 0` is a copy.
    pub(super) fn round_decimals(
        &mut self,
        cx: &mut Cx,
        name: &str,
        value: &untyped::Expr,
        decimals: &untyped::Expr,
        span: Span,
    ) -> Option<Expr> {
        let value = self.expr(cx, value)?;
        let digits = match decimals.kind {
            untyped::ExprKind::Int(d) => Some(d),
            untyped::ExprKind::Unary {
                op: UnaryOp::Neg,
                ref operand,
            } => match operand.kind {
                untyped::ExprKind::Int(d) => Some(-d),
                _ => None,
            },
            _ => None,
        };
        let array = value.array_type();
        let (Some(digits), Some(array)) = (digits, array) else {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("numpy.{name} with decimals takes an array and an int literal"),
                )
                .with_hint("write np.round(a, 2) of an array, or round(x, 2) of a float"),
            );
            return None;
        };
        if !array.dtype.is_float() {
            if digits >= 0 && !array.dtype.is_complex() {
                return Some(Expr::new(
                    ExprKind::CopyArray(Box::new(value)),
                    Type::Array(array),
                ));
            }
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!(
                        "numpy.{name} of a {} array to {digits} decimals is not supported",
                        array.dtype
                    ),
                )
                .with_hint("round float arrays, or integers to decimals >= 0"),
            );
            return None;
        }
        // NumPy's power_of_ten: exact up to 1e8, then repeated products.
        let mut power = 1.0f64;
        for k in 0..digits.unsigned_abs().min(400) {
            power = if k < 8 {
                10f64.powi(k as i32 + 1)
            } else {
                power * 10.0
            };
        }
        let factor = Expr::new(ExprKind::Literal(Literal::Float(power)), Type::Float);
        let (scale, unscale) = if digits >= 0 {
            (BinaryOp::Mul, BinaryOp::TrueDiv)
        } else {
            (BinaryOp::TrueDiv, BinaryOp::Mul)
        };
        let scaled = self.array_binary(cx, scale, value, factor.clone(), span)?;
        let rint = library::ufunc("rint")?;
        let rounded = self.array_ufunc(cx, "rint", rint, vec![scaled], span)?;
        self.array_binary(cx, unscale, rounded, factor, span)
    }

    /// The target of `m[rows, cols] = value` on a 2-D array: a select
    /// whose index is the pair of integer index arrays.
    pub(super) fn points_target(
        &mut self,
        cx: &mut Cx,
        array: Expr,
        rows: Expr,
        columns: Expr,
        value: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let a = array.array_type()?;
        match value {
            Type::Array(v) if v.dtype.is_complex() && !a.dtype.is_complex() => {
                return self.complex_into_real(cx, a.dtype, span);
            }
            Type::Array(v) if v.ndim == 1 => {}
            Type::Complex if a.dtype.is_complex() => {}
            Type::Complex => return self.complex_into_real(cx, a.dtype, span),
            ty if ty.is_numeric() => {}
            ty => {
                let ty = ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("cannot store {ty} through index arrays"),
                    )
                    .with_hint("store a number or a 1-D array of the selected length"),
                );
                return None;
            }
        }
        let ty = Type::Tuple(vec![rows.ty.clone(), columns.ty.clone()]);
        let index = Expr::new(ExprKind::Tuple(vec![rows, columns]), ty);
        Some(typed::Target::Select {
            array,
            index,
            along: None,
            span,
        })
    }
}

impl<'m> Inference<'m> {
    /// Joining, reordering and counting: `flip`, `diff`, `concatenate`,
    /// `stack`, `vstack`, `hstack`, `roll`, `sort`, `argsort`, `unique`,
    /// `searchsorted`, `bincount`, `count_nonzero`, `nonzero` (and
    /// one-argument `where`), `repeat`, `tile`. `None` for other names.
    fn joining_function(
        &mut self,
        cx: &mut Cx,
        name: &str,
        positional: &[Expr],
        named: &[(String, Expr, Span, &untyped::Expr)],
        span: Span,
    ) -> Option<Option<Expr>> {
        let keyword = |key: &str| {
            named
                .iter()
                .find(|(k, ..)| k == key)
                .map(|(_, v, ..)| v.clone())
        };
        let fail =
            |this: &mut Self, cx: &Cx, message: String, hint: &str| -> Option<Option<Expr>> {
                this.error(
                    cx,
                    Diagnostic::error(codes::WRONG_ARGUMENTS, span, message)
                        .with_hint(hint.to_string()),
                );
                Some(None)
            };
        let literal_int = |value: &Expr| match value.kind {
            ExprKind::Literal(Literal::Int(v)) => Some(v),
            ExprKind::Neg(ref inner) => match inner.kind {
                ExprKind::Literal(Literal::Int(v)) => Some(-v),
                _ => None,
            },
            _ => None,
        };
        let runtime = |function: &'static str, args: Vec<Expr>, ty: Type| {
            Expr::new(ExprKind::Runtime { function, args }, ty)
        };
        let full = || ViewItem::Slice {
            start: None,
            stop: None,
            step: None,
        };
        // The axis keyword (or `position`-th argument) as a literal within `ndim`.
        let axis_of = |this: &mut Self,
                       cx: &Cx,
                       value: Option<Expr>,
                       ndim: u8,
                       default: Option<i64>|
         -> Result<Option<usize>, ()> {
            let value = match value {
                Some(value) => match literal_int(&value) {
                    Some(v) => Some(v),
                    None => {
                        this.error(
                            cx,
                            Diagnostic::error(
                                codes::WRONG_ARGUMENTS,
                                span,
                                format!("the axis of numpy.{name} must be an integer literal"),
                            )
                            .with_hint("write axis=0"),
                        );
                        return Err(());
                    }
                },
                None => default,
            };
            let Some(v) = value else { return Ok(None) };
            let n = ndim as i64;
            if v < -n || v >= n {
                this.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        span,
                        format!("axis {v} is out of bounds for an array of dimension {n}"),
                    )
                    .with_hint(format!("use an axis from {} to {}", -n, n - 1)),
                );
                return Err(());
            }
            Ok(Some(if v < 0 { v + n } else { v } as usize))
        };
        let first = positional.first().cloned();
        let first_array = first.as_ref().and_then(Expr::array_type);
        match name {
            "linalg.norm" => {
                let along_axis = keyword("axis").is_some();
                let (Some(array), Some(t), 1, true) = (
                    first,
                    first_array,
                    positional.len(),
                    along_axis || named.is_empty(),
                ) else {
                    return fail(self, cx, "numpy.linalg.norm takes one array in compiled code, and `axis=` (an int) with `keepdims=` (the 2-norm, Frobenius for matrices)".into(), "leave out ord=, or write np.sqrt((a * a).sum(axis=...))");
                };
                // NumPy computes in the array's float type (float64 for
                // integers and bools): sqrt of the sum of squares.
                let float = if t.dtype.is_float() {
                    t.dtype
                } else {
                    Dtype::Float64
                };
                let array = if t.dtype == float {
                    array
                } else {
                    self.array_cast(array, float)
                };
                let squares = self.array_binary(cx, BinaryOp::Mul, array.clone(), array, span)?;
                let reduce: Vec<(String, Expr, Span)> = named
                    .iter()
                    .map(|(k, v, kspan, _)| (k.clone(), v.clone(), *kspan))
                    .collect();
                let total = self.reduction(cx, "sum", squares, &reduce, span)?;
                // Along an axis of a matrix: the square root of each sum.
                if total.array_type().is_some() {
                    let sqrt = library::ufunc("sqrt")?;
                    return Some(self.array_ufunc(cx, "sqrt", sqrt, vec![total], span));
                }
                let ty = total.ty.clone();
                Some(Some(Expr::new(
                    ExprKind::Intrinsic {
                        op: typed::Intrinsic::FloatMethod("sqrt"),
                        args: vec![total],
                    },
                    ty,
                )))
            }
            "array" | "asarray" => {
                let Some(value) = first else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes a list, a tuple or an array"),
                        "write np.array([1.0, 2.0])",
                    );
                };
                if let Some(t) = first_array {
                    // np.array copies; np.asarray of an array is the array.
                    return Some(Some(if name == "asarray" {
                        value
                    } else {
                        Expr::new(ExprKind::CopyArray(Box::new(value)), Type::Array(t))
                    }));
                }
                if let Type::List(_) = value.ty {
                    return Some(self.list_to_array(cx, value, span));
                }
                // Nested tuples of numbers: a 1-D or 2-D array.
                let mut shape = Vec::new();
                let mut elements = Vec::new();
                if !flatten_literal(value, 0, &mut shape, &mut elements) || shape.is_empty() {
                    return fail(
                        self,
                        cx,
                        format!(
                            "numpy.{name} takes a list (or list of equally long lists) of numbers"
                        ),
                        "write np.array([[1.0, 2.0], [3.0, 4.0]])",
                    );
                }
                let dtype = elements.iter().fold(None, |acc: Option<(Dtype, bool)>, e| {
                    let d = (
                        e.ty.dtype().unwrap_or(Dtype::Float64),
                        matches!(e.ty, Type::Int | Type::Float | Type::Bool | Type::Complex),
                    );
                    Some(match acc {
                        None => d,
                        Some(acc) if acc.1 && d.1 => (Dtype::promote(acc.0, d.0), true),
                        Some(acc) => (result_dtype(acc, d), false),
                    })
                });
                let dtype = dtype.map_or(Dtype::Float64, |d| d.0);
                let element = Type::of_element(dtype);
                let mut args: Vec<Expr> = shape.iter().map(|&d| Expr::int(d as i64)).collect();
                args.extend(elements.into_iter().map(|e| e.cast_to(&element)));
                Some(Some(runtime(
                    "array_literal",
                    args,
                    Type::Array(ArrayType::new(dtype, shape.len() as u8)),
                )))
            }
            "flip" | "fliplr" | "flipud" => {
                let (Some(array), Some(t)) = (first, first_array) else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes an array"),
                        "pass an array",
                    );
                };
                let axis = match name {
                    "flipud" => Some(0),
                    "fliplr" if t.ndim >= 2 => Some(1),
                    "fliplr" => {
                        return fail(
                            self,
                            cx,
                            "numpy.fliplr needs an array of 2 or more dimensions".into(),
                            "use np.flip for 1-D arrays",
                        )
                    }
                    _ => match axis_of(
                        self,
                        cx,
                        keyword("axis").or(positional.get(1).cloned()),
                        t.ndim,
                        None,
                    ) {
                        Ok(axis) => axis,
                        Err(()) => return Some(None),
                    },
                };
                let items = (0..t.ndim as usize)
                    .map(|a| {
                        if axis.is_none_or(|axis| axis == a) {
                            ViewItem::Slice {
                                start: None,
                                stop: None,
                                step: Some(Expr::int(-1)),
                            }
                        } else {
                            full()
                        }
                    })
                    .collect();
                Some(Some(Expr::new(
                    ExprKind::View {
                        array: Box::new(array),
                        items,
                        span,
                    },
                    Type::Array(t),
                )))
            }
            "expand_dims" | "squeeze" => {
                let (Some(array), Some(t)) = (first, first_array) else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes an array and an axis"),
                        "pass an array",
                    );
                };
                let expanding = name == "expand_dims";
                // expand_dims counts axes of the result, which has one more.
                let axes = if expanding { t.ndim + 1 } else { t.ndim };
                let axis = match axis_of(
                    self,
                    cx,
                    keyword("axis").or(positional.get(1).cloned()),
                    axes,
                    None,
                ) {
                    Ok(Some(axis)) => axis,
                    Ok(None) => {
                        // Which axes have length 1 is known only when the
                        // function runs, and the result's rank must be known
                        // when compiling.
                        return fail(
                            self,
                            cx,
                            format!("numpy.{name} needs the axis when compiled"),
                            "write np.squeeze(a, axis=0), or index the axis away: a[0]",
                        );
                    }
                    Err(()) => return Some(None),
                };
                let mut items: Vec<ViewItem> = (0..t.ndim).map(|_| full()).collect();
                let (base, out_ndim) = if expanding {
                    items.insert(axis, ViewItem::NewAxis);
                    (array, t.ndim + 1)
                } else {
                    items[axis] = ViewItem::Index(Expr::int(0));
                    // The array itself, once its axis is checked to be of
                    // length 1 (NumPy's ValueError otherwise).
                    let checked = runtime(
                        "squeezable",
                        vec![array, Expr::int(axis as i64)],
                        Type::Array(t),
                    );
                    (checked, t.ndim - 1)
                };
                Some(Some(Expr::new(
                    ExprKind::View {
                        array: Box::new(base),
                        items,
                        span,
                    },
                    Type::Array(ArrayType::new(t.dtype, out_ndim)),
                )))
            }
            "diff" => {
                let (Some(array), Some(t)) = (first, first_array) else {
                    return fail(
                        self,
                        cx,
                        "numpy.diff takes an array".into(),
                        "pass an array",
                    );
                };
                let n = match keyword("n").or(positional.get(1).cloned()) {
                    Some(n) => match literal_int(&n) {
                        Some(n) if n >= 0 => n,
                        _ => {
                            return fail(
                                self,
                                cx,
                                "n of numpy.diff must be a non-negative integer literal".into(),
                                "write np.diff(a, 2)",
                            )
                        }
                    },
                    None => 1,
                };
                let axis = match axis_of(
                    self,
                    cx,
                    keyword("axis").or(positional.get(2).cloned()),
                    t.ndim,
                    Some(-1),
                ) {
                    Ok(axis) => axis.unwrap_or(t.ndim as usize - 1),
                    Err(()) => return Some(None),
                };
                let mut value = array;
                for _ in 0..n {
                    let part = |start: Option<i64>, stop: Option<i64>, value: &Expr| {
                        let items = (0..t.ndim as usize)
                            .map(|a| {
                                if a == axis {
                                    ViewItem::Slice {
                                        start: start.map(Expr::int),
                                        stop: stop.map(Expr::int),
                                        step: None,
                                    }
                                } else {
                                    full()
                                }
                            })
                            .collect();
                        let ty = value.ty.clone();
                        Expr::new(
                            ExprKind::View {
                                array: Box::new(value.clone()),
                                items,
                                span,
                            },
                            ty,
                        )
                    };
                    let (later, earlier) =
                        (part(Some(1), None, &value), part(None, Some(-1), &value));
                    let op = if t.dtype == Dtype::Bool {
                        BinaryOp::BitXor
                    } else {
                        BinaryOp::Sub
                    };
                    value = self.array_binary(cx, op, later, earlier, span)?;
                }
                Some(Some(value))
            }
            "concatenate" | "stack" | "vstack" | "hstack" => {
                // A list of arrays, as rows are collected in a loop.
                if let Some(list) = first.clone().filter(|f| matches!(f.ty, Type::List(_))) {
                    let Type::List(item) = &list.ty else {
                        return Some(None);
                    };
                    let Type::Array(t) = **item else {
                        return fail(
                            self,
                            cx,
                            format!("numpy.{name} takes a list or a tuple of arrays"),
                            "make the list's elements arrays",
                        );
                    };
                    let axis_given = keyword("axis").or(positional.get(1).cloned());
                    let stacked = |function: &'static str, what: &str| {
                        runtime(
                            function,
                            vec![list.clone(), Expr::bool(what == "stack")],
                            Type::Array(ArrayType::new(t.dtype, 2)),
                        )
                    };
                    return Some(Some(match (name, t.ndim) {
                        ("vstack", 1) if axis_given.is_none() => {
                            stacked("stack_rows", "concatenate")
                        }
                        ("stack", 1) => match axis_of(self, cx, axis_given, 2, Some(0)) {
                            Ok(Some(0) | None) => stacked("stack_rows", "stack"),
                            Ok(Some(_)) => {
                                let rows = stacked("stack_rows", "stack");
                                self.transpose(rows)
                            }
                            Err(()) => return Some(None),
                        },
                        ("concatenate" | "hstack", _) | ("vstack", 2..) => {
                            let axis = match name {
                                "hstack" if t.ndim > 1 => 1,
                                "hstack" | "vstack" => 0,
                                _ => match axis_of(self, cx, axis_given, t.ndim, Some(0)) {
                                    Ok(axis) => axis.unwrap_or(0),
                                    Err(()) => return Some(None),
                                },
                            };
                            runtime(
                                "concatenate_list",
                                vec![list, Expr::int(axis as i64)],
                                Type::Array(t),
                            )
                        }
                        _ => return fail(
                            self,
                            cx,
                            format!(
                                "numpy.{name} of this list of {}-D arrays is not supported",
                                t.ndim
                            ),
                            "stack 1-D arrays into rows, or concatenate arrays of one dimension",
                        ),
                    }));
                }
                let Some(Expr {
                    kind: ExprKind::Tuple(items),
                    ..
                }) = first.clone()
                else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes a tuple of arrays"),
                        "write np.concatenate((a, b))",
                    );
                };
                let types: Vec<ArrayType> = items.iter().filter_map(Expr::array_type).collect();
                if types.len() != items.len() || types.is_empty() {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes a tuple of arrays"),
                        "write np.concatenate((a, b))",
                    );
                }
                let ndim = types[0].ndim;
                if types.iter().any(|t| t.ndim != ndim) {
                    return fail(self, cx, format!("the arrays given to numpy.{name} must have the same number of dimensions"), "reshape them first");
                }
                let dtype = types[1..]
                    .iter()
                    .fold(types[0].dtype, |acc, t| Dtype::promote(acc, t.dtype));
                let mut arrays: Vec<Expr> = items
                    .into_iter()
                    .map(|item| {
                        if item.array_type().is_some_and(|t| t.dtype == dtype) {
                            item
                        } else {
                            self.array_cast(item, dtype)
                        }
                    })
                    .collect();
                // stack and vstack of 1-D arrays add an axis first.
                let (new_axis, axis) = match name {
                    "stack" => {
                        let axis = match axis_of(
                            self,
                            cx,
                            keyword("axis").or(positional.get(1).cloned()),
                            ndim + 1,
                            Some(0),
                        ) {
                            Ok(axis) => axis.unwrap_or(0),
                            Err(()) => return Some(None),
                        };
                        (Some(axis), axis)
                    }
                    "vstack" if ndim == 1 => (Some(0), 0),
                    "vstack" => (None, 0),
                    "hstack" if ndim == 1 => (None, 0),
                    "hstack" => (None, 1),
                    _ => match axis_of(
                        self,
                        cx,
                        keyword("axis").or(positional.get(1).cloned()),
                        ndim,
                        Some(0),
                    ) {
                        Ok(axis) => (None, axis.unwrap_or(0)),
                        Err(()) => return Some(None),
                    },
                };
                let out_ndim = ndim + u8::from(new_axis.is_some());
                if let Some(position) = new_axis {
                    arrays = arrays
                        .into_iter()
                        .map(|array| {
                            let mut items: Vec<ViewItem> = (0..ndim).map(|_| full()).collect();
                            items.insert(position, ViewItem::NewAxis);
                            Expr::new(
                                ExprKind::View {
                                    array: Box::new(array),
                                    items,
                                    span,
                                },
                                Type::Array(ArrayType::new(dtype, out_ndim)),
                            )
                        })
                        .collect();
                }
                arrays.push(Expr::int(axis as i64));
                Some(Some(runtime(
                    "concatenate",
                    arrays,
                    Type::Array(ArrayType::new(dtype, out_ndim)),
                )))
            }
            "roll" => {
                let (Some(array), Some(t), Some(shift)) = (first, first_array, positional.get(1))
                else {
                    return fail(
                        self,
                        cx,
                        "numpy.roll takes an array and a shift".into(),
                        "write np.roll(a, 1)",
                    );
                };
                if !shift.ty.is_integer_like() {
                    return fail(
                        self,
                        cx,
                        "the shift of numpy.roll must be an int".into(),
                        "write np.roll(a, 1)",
                    );
                }
                let axis = match axis_of(
                    self,
                    cx,
                    keyword("axis").or(positional.get(2).cloned()),
                    t.ndim,
                    None,
                ) {
                    Ok(axis) => axis,
                    Err(()) => return Some(None),
                };
                let axis = Expr::new(
                    ExprKind::Literal(Literal::Int(axis.map_or(-1, |a| a as i64))),
                    Type::Int,
                );
                Some(Some(runtime(
                    "roll",
                    vec![array, shift.clone().cast_to(&Type::Int), axis],
                    Type::Array(t),
                )))
            }
            "sort" | "argsort" | "unique" | "count_nonzero" | "nonzero" | "median" => {
                let (Some(array), Some(t)) = (first, first_array) else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes an array"),
                        "pass an array",
                    );
                };
                if positional.len() > 1 {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes one array in compiled code"),
                        "leave out the other arguments",
                    );
                }
                // `np.sort(m, axis=0)`: along the last axis of the
                // transposed matrix, transposed back.
                if let Some(axis) = keyword("axis") {
                    let ndim = i64::from(t.ndim);
                    let along = match axis.kind {
                        ExprKind::Literal(Literal::Int(v)) if (-ndim..ndim).contains(&v) => {
                            Some(if v < 0 { v + ndim } else { v })
                        }
                        _ => None,
                    };
                    match along {
                        Some(v) if v == ndim - 1 => {}
                        Some(0) if t.ndim == 2 => {
                            let function = if name == "sort" { "sort" } else { "argsort_last" };
                            let ty = if name == "sort" {
                                Type::Array(t)
                            } else {
                                Type::Array(ArrayType::new(Dtype::Int64, 2))
                            };
                            let transposed = self.transpose(array);
                            let sorted = runtime(function, vec![transposed], ty);
                            return Some(Some(self.transpose(sorted)));
                        }
                        _ => {
                            return fail(
                                self,
                                cx,
                                format!(
                                    "numpy.{name} takes axis= as an int literal naming the last axis, or 0 of a 2-D array"
                                ),
                                "sort along the last axis, or transpose first",
                            )
                        }
                    }
                }
                Some(Some(match name {
                    "sort" => runtime("sort", vec![array], Type::Array(t)),
                    "argsort" if t.ndim > 1 => runtime(
                        "argsort_last",
                        vec![array],
                        Type::Array(ArrayType::new(Dtype::Int64, t.ndim)),
                    ),
                    "unique" => runtime(
                        "unique",
                        vec![array],
                        Type::Array(ArrayType::new(t.dtype, 1)),
                    ),
                    "count_nonzero" => runtime("count_nonzero", vec![array], Type::Int),
                    // Of all elements, in float64 (float32 arrays would
                    // give a float32 scalar, which compiled code reads as
                    // a Python float: refused).
                    "median" if t.dtype == Dtype::Float32 => {
                        return fail(
                            self,
                            cx,
                            format!("numpy.median of a {} array is not supported", t.dtype),
                            "convert with .astype(np.float64) first",
                        )
                    }
                    "median" => runtime("median", vec![array], Type::Float),
                    _ if t.ndim != 1 => {
                        return fail(
                            self,
                            cx,
                            format!("numpy.{name} needs a 1-D array in compiled code"),
                            "ravel the array first",
                        )
                    }
                    "argsort" => runtime(
                        "argsort",
                        vec![array],
                        Type::Array(ArrayType::new(Dtype::Int64, 1)),
                    ),
                    _ => runtime(
                        "nonzero",
                        vec![array],
                        Type::Tuple(vec![Type::Array(ArrayType::new(Dtype::Int64, 1))]),
                    ),
                }))
            }
            "searchsorted" => {
                let (Some(array), Some(t), Some(value)) = (first, first_array, positional.get(1))
                else {
                    return fail(
                        self,
                        cx,
                        "numpy.searchsorted takes a sorted array and values".into(),
                        "write np.searchsorted(a, v)",
                    );
                };
                if t.ndim != 1 {
                    return fail(
                        self,
                        cx,
                        "numpy.searchsorted needs a 1-D sorted array".into(),
                        "pass a 1-D array",
                    );
                }
                let right = match keyword("side") {
                    None => false,
                    Some(_) => {
                        let source = named.iter().find(|(k, ..)| k == "side").map(|(.., s)| *s);
                        match source.map(|s| &s.kind) {
                            Some(untyped::ExprKind::Str(side)) if side == "left" => false,
                            Some(untyped::ExprKind::Str(side)) if side == "right" => true,
                            _ => {
                                return fail(
                                    self,
                                    cx,
                                    "side= of numpy.searchsorted must be \"left\" or \"right\""
                                        .into(),
                                    "write side=\"right\"",
                                )
                            }
                        }
                    }
                };
                let right = Expr::new(ExprKind::Literal(Literal::Bool(right)), Type::Bool);
                match value.array_type() {
                    Some(v) => {
                        let values = if v.dtype == t.dtype {
                            value.clone()
                        } else {
                            self.array_cast(value.clone(), t.dtype)
                        };
                        Some(Some(runtime(
                            "searchsorted_all",
                            vec![array, values, right],
                            Type::Array(ArrayType::new(Dtype::Int64, v.ndim)),
                        )))
                    }
                    None if value.ty.is_numeric() => {
                        let value = value.clone().cast_to(&Type::of_element(t.dtype));
                        Some(Some(runtime(
                            "searchsorted",
                            vec![array, value, right],
                            Type::Int,
                        )))
                    }
                    None => fail(
                        self,
                        cx,
                        "numpy.searchsorted takes numbers to look for".into(),
                        "pass a number or an array",
                    ),
                }
            }
            "bincount" => {
                let (Some(array), Some(t)) = (first, first_array) else {
                    return fail(
                        self,
                        cx,
                        "numpy.bincount takes an array of non-negative ints".into(),
                        "pass an int array",
                    );
                };
                if t.ndim != 1 || !(t.dtype.is_integer() || t.dtype == Dtype::Bool) {
                    return fail(
                        self,
                        cx,
                        "numpy.bincount takes a 1-D integer array".into(),
                        "pass a 1-D int array",
                    );
                }
                let minlength = keyword("minlength")
                    .or(positional.get(1).cloned())
                    .unwrap_or(Expr::int(0));
                if !minlength.ty.is_integer_like() {
                    return fail(
                        self,
                        cx,
                        "minlength= of numpy.bincount must be an int".into(),
                        "pass an int",
                    );
                }
                Some(Some(runtime(
                    "bincount",
                    vec![array, minlength.cast_to(&Type::Int)],
                    Type::Array(ArrayType::new(Dtype::Int64, 1)),
                )))
            }
            "repeat" | "tile" => {
                let (Some(array), Some(t), Some(count)) = (first, first_array, positional.get(1))
                else {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes an array and a count"),
                        "write np.repeat(a, 3)",
                    );
                };
                if !count.ty.is_integer_like() || (name == "tile" && t.ndim != 1) {
                    return fail(
                        self,
                        cx,
                        format!("numpy.{name} takes an int count (and, for tile, a 1-D array)"),
                        "write np.tile(a, 3)",
                    );
                }
                Some(Some(runtime(
                    if name == "repeat" { "repeat" } else { "tile" },
                    vec![array, count.clone().cast_to(&Type::Int)],
                    Type::Array(ArrayType::new(t.dtype, 1)),
                )))
            }
            _ => None,
        }
    }
}

/// Flattens nested tuples of numbers in C order, recording the length at
/// each depth; false for ragged or non-numeric literals.
fn flatten_literal(value: Expr, depth: usize, shape: &mut Vec<usize>, out: &mut Vec<Expr>) -> bool {
    match value.kind {
        ExprKind::Tuple(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            } else if shape[depth] != items.len() {
                return false;
            }
            if items.is_empty() {
                return depth + 1 == shape.len();
            }
            items
                .into_iter()
                .all(|item| flatten_literal(item, depth + 1, shape, out))
        }
        _ if (value.ty.is_numeric() || value.ty == Type::Complex) && shape.len() == depth => {
            out.push(value);
            true
        }
        _ => false,
    }
}

/// Whether the exponent of an integer power can be checked for negative
/// values before the loop: a literal, or an input (maybe converted).
fn exponent_checkable(exponent: &Elem) -> bool {
    match &exponent.kind {
        ElemKind::Literal(Literal::Int(v)) => *v >= 0,
        ElemKind::Literal(Literal::Bool(_)) => true,
        ElemKind::Input(_) => true,
        ElemKind::Cast(inner) => {
            matches!(inner.kind, ElemKind::Input(_)) || exponent_checkable(inner)
        }
        _ => false,
    }
}

/// What selects the elements a value is stored into, for
/// `Inference::selection_value`.
#[derive(Clone, Copy)]
enum Selection {
    /// A mask or index array over a 1-D array, or a mask over the whole
    /// array: the value is a number or a 1-D array as long as the selection.
    Listed,
    /// One index array or mask along an axis, the selected elements having
    /// this many dimensions: the value broadcasts to them.
    Along(usize),
    /// Several index arrays, the selected elements having this many
    /// dimensions: the value broadcasts to them.
    Several(usize),
}
