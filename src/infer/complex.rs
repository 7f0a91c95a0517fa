//! Inference of complex numbers: literals, `complex(a, b)`, arithmetic with
//! Python's promotion (an int or float operand becomes complex), `==` and
//! `!=` (ordering is an error, as it is a TypeError in Python), `abs`,
//! `.real`, `.imag`, `.conjugate()`, `cmath` and NumPy's scalar functions.
//! Every operation is an `rt::complex_*`/`rt::cmath_*` call, with CPython's
//! algorithms and exceptions.

use super::lists::runtime;
use super::{Cx, Inference};
use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{Expr, ExprKind, Literal};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::Type;

fn complex(value: Expr) -> Expr {
    value.cast_to(&Type::Complex)
}

impl Inference<'_> {
    /// `2j`, `1.5 + 2j` (the literal part).
    pub(super) fn complex_literal(&mut self, re: f64, im: f64) -> Expr {
        let part = |v: f64| Expr::new(ExprKind::Literal(Literal::Float(v)), Type::Float);
        runtime("complex_new", vec![part(re), part(im)], Type::Complex)
    }

    fn not_for_complex(&mut self, cx: &mut Cx, what: String, span: Span) -> Option<Expr> {
        self.error(
            cx,
            Diagnostic::error(codes::UNSUPPORTED_OPERAND, span, what).with_hint(
                "complex numbers support + - * / **, == and !=, abs(), .real, .imag and cmath",
            ),
        );
        None
    }

    /// Arithmetic with a complex operand; `None` when neither operand is
    /// complex.
    pub(super) fn complex_binary(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        if left.ty != Type::Complex && right.ty != Type::Complex {
            return None;
        }
        let numeric = |t: &Type| t.is_numeric() || *t == Type::Complex;
        if !numeric(&left.ty) || !numeric(&right.ty) {
            let (a, b) = (left.ty.clone(), right.ty.clone());
            return Some(self.not_for_complex(
                cx,
                format!("unsupported operand types for {}: {a} and {b}", op.symbol()),
                span,
            ));
        }
        let function = match op {
            BinaryOp::Add => "complex_add",
            BinaryOp::Sub => "complex_sub",
            BinaryOp::Mul => "complex_mul",
            BinaryOp::TrueDiv => "complex_div",
            BinaryOp::Pow => "complex_pow",
            BinaryOp::FloorDiv | BinaryOp::Mod => {
                return Some(self.not_for_complex(
                    cx,
                    format!(
                        "can't take floor or mod of complex number (`{}`)",
                        op.symbol()
                    ),
                    span,
                ))
            }
            _ => {
                let (a, b) = (left.ty.clone(), right.ty.clone());
                return Some(self.not_for_complex(
                    cx,
                    format!("unsupported operand types for {}: {a} and {b}", op.symbol()),
                    span,
                ));
            }
        };
        let args = vec![complex(left.clone()), complex(right.clone())];
        Some(Some(runtime(function, args, Type::Complex)))
    }

    pub(super) fn not_complex_operand(&mut self, cx: &mut Cx, span: Span) -> Option<Expr> {
        self.not_for_complex(cx, "bad operand type for unary ~: 'complex'".into(), span)
    }

    /// `-z`, `+z`.
    pub(super) fn complex_negate(&mut self, value: Expr) -> Expr {
        runtime("complex_neg", vec![value], Type::Complex)
    }

    /// `a == b` and `a != b` with a complex operand; ordering is an error.
    pub(super) fn complex_compare(
        &mut self,
        cx: &mut Cx,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        if left.ty != Type::Complex && right.ty != Type::Complex {
            return None;
        }
        let numeric = |t: &Type| t.is_numeric() || *t == Type::Complex;
        let function = match op {
            CompareOp::Eq if numeric(&left.ty) && numeric(&right.ty) => "complex_eq",
            CompareOp::NotEq if numeric(&left.ty) && numeric(&right.ty) => "complex_ne",
            _ => {
                let (a, b) = (left.ty.clone(), right.ty.clone());
                let symbol = super::compare_symbol(op);
                return Some(self.not_for_complex(
                    cx,
                    format!(
                        "`{symbol}` is not supported between {a} and {b} (a TypeError in Python)"
                    ),
                    span,
                ));
            }
        };
        // An int beside a complex number compares with its real part
        // exactly, as CPython compares it (`complex(2.0**53) == 2**53 + 1`
        // is False); converting it would round it.
        let exact = |e: &Expr| super::lists::inexact_conversion(e, &Type::Float);
        let function = match (function, &left.ty, &right.ty) {
            ("complex_eq", Type::Complex, _) if exact(right) => "complex_eq_int",
            ("complex_ne", Type::Complex, _) if exact(right) => "complex_ne_int",
            ("complex_eq", _, Type::Complex) if exact(left) => "int_eq_complex",
            ("complex_ne", _, Type::Complex) if exact(left) => "int_ne_complex",
            _ => {
                let args = vec![complex(left.clone()), complex(right.clone())];
                return Some(Some(runtime(function, args, Type::Bool)));
            }
        };
        let args = vec![left.clone(), right.clone()];
        Some(Some(runtime(function, args, Type::Bool)))
    }

    /// `z.real`, `z.imag`.
    pub(super) fn complex_attribute(
        &mut self,
        cx: &mut Cx,
        value: Expr,
        attr: &str,
        span: Span,
    ) -> Option<Expr> {
        match attr {
            "real" => Some(runtime("complex_real", vec![value], Type::Float)),
            "imag" => Some(runtime("complex_imag", vec![value], Type::Float)),
            _ => self.not_for_complex(
                cx,
                format!("complex has no attribute `{attr}` in compiled code"),
                span,
            ),
        }
    }

    /// `z.conjugate()`.
    pub(super) fn complex_method(
        &mut self,
        cx: &mut Cx,
        value: Expr,
        method: &str,
        args: usize,
        span: Span,
    ) -> Option<Expr> {
        match (method, args) {
            ("conjugate", 0) => Some(runtime("complex_conj", vec![value], Type::Complex)),
            _ => self.not_for_complex(
                cx,
                format!("complex method `{method}` is not supported"),
                span,
            ),
        }
    }

    /// `abs(z)`, `complex(a[, b])`; `None` when not about complex numbers.
    pub(super) fn complex_builtin(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<Expr>> {
        let numeric = |t: &Type| t.is_numeric();
        match (name, args) {
            ("abs", [z]) if z.ty == Type::Complex => {
                Some(Some(runtime("complex_abs", vec![z.clone()], Type::Float)))
            }
            ("complex", []) => Some(Some(self.complex_literal(0.0, 0.0))),
            ("complex", [z]) if z.ty == Type::Complex => Some(Some(z.clone())),
            ("complex", [re]) if numeric(&re.ty) => Some(Some(complex(re.clone()))),
            ("complex", [re, im]) if numeric(&re.ty) && numeric(&im.ty) => Some(Some(runtime(
                "complex_new",
                vec![
                    re.clone().cast_to(&Type::Float),
                    im.clone().cast_to(&Type::Float),
                ],
                Type::Complex,
            ))),
            ("complex", [re, im]) if re.ty == Type::Complex || im.ty == Type::Complex => {
                // complex(a, b) is a + b*1j.
                let j = self.complex_literal(0.0, 1.0);
                let scaled = runtime("complex_mul", vec![complex(im.clone()), j], Type::Complex);
                Some(Some(runtime(
                    "complex_add",
                    vec![complex(re.clone()), scaled],
                    Type::Complex,
                )))
            }
            ("complex", _) => Some(self.not_for_complex(
                cx,
                "complex() takes one or two numbers in compiled code".into(),
                span,
            )),
            ("float" | "int" | "round", [z]) if z.ty == Type::Complex => {
                Some(self.not_for_complex(
                    cx,
                    format!("{name}() of a complex number is a TypeError"),
                    span,
                ))
            }
            _ => None,
        }
    }

    /// `cmath.f(...)`.
    pub(super) fn cmath(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: Vec<Expr>,
        span: Span,
    ) -> Option<Expr> {
        let numeric = |t: &Type| t.is_numeric() || *t == Type::Complex;
        if !args.iter().all(|a| numeric(&a.ty)) {
            return self.not_for_complex(cx, format!("cmath.{name} takes numbers"), span);
        }
        let mut args = args.into_iter();
        let (first, second, third) = (args.next(), args.next(), args.next());
        if third.is_some() {
            return self.not_for_complex(
                cx,
                format!("cmath.{name} takes at most two arguments"),
                span,
            );
        }
        let c = Type::Complex;
        let (function, ty, args) = match (name, first, second) {
            ("sqrt" | "exp" | "sin" | "cos" | "sinh" | "cosh" | "log10", Some(z), None) => {
                let function = match name {
                    "sqrt" => "cmath_sqrt",
                    "exp" => "cmath_exp",
                    "sin" => "cmath_sin",
                    "cos" => "cmath_cos",
                    "sinh" => "cmath_sinh",
                    "cosh" => "cmath_cosh",
                    _ => "cmath_log10",
                };
                (function, c, vec![complex(z)])
            }
            ("log", Some(z), None) => ("cmath_log", c, vec![complex(z)]),
            ("log", Some(z), Some(base)) => ("cmath_log_base", c, vec![complex(z), complex(base)]),
            ("phase", Some(z), None) => ("cmath_phase", Type::Float, vec![complex(z)]),
            ("polar", Some(z), None) => (
                "cmath_polar",
                Type::Tuple(vec![Type::Float, Type::Float]),
                vec![complex(z)],
            ),
            ("rect", Some(r), Some(phi)) if r.ty != c && phi.ty != c => (
                "cmath_rect",
                c,
                vec![r.cast_to(&Type::Float), phi.cast_to(&Type::Float)],
            ),
            ("isnan" | "isinf" | "isfinite", Some(z), None) => {
                let function = match name {
                    "isnan" => "cmath_isnan",
                    "isinf" => "cmath_isinf",
                    _ => "cmath_isfinite",
                };
                (function, Type::Bool, vec![complex(z)])
            }
            _ => {
                return self.not_for_complex(
                    cx,
                    format!("cmath.{name} with these arguments is not supported in compiled code"),
                    span,
                )
            }
        };
        Some(runtime(function, args, ty))
    }

    /// NumPy's scalar functions of a complex number: `np.abs`, `np.angle`,
    /// `np.conj`, `np.real`, `np.imag`, `np.sqrt`, `np.exp`, `np.log`.
    /// `None` when the argument is not complex.
    pub(super) fn numpy_complex(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<Expr>> {
        let [z] = args else {
            return None;
        };
        if z.ty != Type::Complex {
            if matches!(name, "real" | "conj" | "conjugate") && z.ty.is_numeric() {
                return Some(Some(z.clone()));
            }
            return None;
        }
        let z = z.clone();
        Some(match name {
            "abs" | "absolute" => Some(runtime("complex_abs", vec![z], Type::Float)),
            "angle" => Some(runtime("complex_angle", vec![z], Type::Float)),
            "conj" | "conjugate" => Some(runtime("complex_conj", vec![z], Type::Complex)),
            "real" => Some(runtime("complex_real", vec![z], Type::Float)),
            "imag" => Some(runtime("complex_imag", vec![z], Type::Float)),
            "sqrt" | "exp" | "log" => self.cmath(cx, name, vec![z], span),
            _ => self.not_for_complex(
                cx,
                format!("numpy.{name} of a complex number is not supported yet"),
                span,
            ),
        })
    }
}
