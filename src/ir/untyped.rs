//! The untyped IR: the supported Python subset with names resolved.

use crate::diagnostics::{Diagnostic, Span};
use crate::ir::{BinaryOp, BoolOp, CompareOp, UnaryOp};
use crate::types::{Dtype, Type};

#[derive(Clone, Debug)]
pub struct Module {
    pub constants: Vec<Constant>,
    pub functions: Vec<FunctionSlot>,
    /// The module name the source asks for (`CC("name")` of `numba.pycc`),
    /// instead of the file's.
    pub module_name: Option<String>,
    /// Warnings: options of other compilers that ferropy ignores.
    pub warnings: Vec<Diagnostic>,
    /// When no function is exported: why each top-level function is not
    /// (FP0206), reported with inference's errors, so that a file never
    /// builds into an empty module.
    pub unexported: Vec<Diagnostic>,
}

/// A top-level function. Lowering errors are kept with the function and only
/// reported if the function is compiled (exported or called from an export),
/// so an unrelated pure-Python helper in the same file does not block a build.
#[derive(Clone, Debug)]
pub struct FunctionSlot {
    pub name: String,
    pub span: Span,
    /// Exported functions are compiled whether or not anything calls them.
    pub exported: bool,
    pub lowered: Result<Function, Vec<Diagnostic>>,
}

/// A module-level constant, folded to its value at compile time.
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    pub name: String,
    pub value: ConstValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string; only as the default of a `str` parameter.
    Str(String),
    /// `None`; only as the default of a parameter (which makes it nullable).
    None,
}

#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    /// The span of the function name in the `def` line.
    pub span: Span,
    pub params: Vec<Param>,
    /// The declared return type; `None` when the function has no annotation.
    pub returns: Option<Type>,
    /// Exported functions get a Python entry point.
    pub exported: bool,
    pub docstring: Option<String>,
    pub body: Vec<Stmt>,
    /// Parameter types of the second and later `#pythran export` lines of
    /// the function: each is one more exported signature (an overload,
    /// dispatched on the arguments' types at call time).
    pub overloads: Vec<Vec<Option<ParamType>>>,
    /// Directives of other compilers accepted while ferropy keeps its own
    /// semantics (`@cython.boundscheck(False)`), and what it does instead,
    /// for `explain`.
    pub notes: Vec<(Span, String)>,
    /// The function as compiled for each combination of its nullable
    /// parameters being None or not (`none_params`, empty until that stage
    /// runs), its tests of them folded and dead branches pruned.
    pub none_variants: Vec<NoneVariant>,
}

/// One instance of a function with nullable parameters: which of them are
/// None (by position), and the body with `x is None` folded for every
/// nullable parameter. `errors` are the reads of a parameter while it is
/// None, reported if the instance is compiled.
#[derive(Clone, Debug)]
pub struct NoneVariant {
    pub none: Vec<bool>,
    pub function: Function,
    pub errors: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub span: Span,
    pub annotation: Option<ParamType>,
    /// The default value, folded to a constant.
    pub default: Option<ConstValue>,
    /// Declared after `*`: callers must pass it by keyword.
    pub keyword_only: bool,
    /// May be None (a `None` default, `T | None`, Pythran's `T or None`):
    /// the function gets an instance where it is None.
    pub nullable: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamType {
    Known(Type),
    /// `NDArray[np.float64]` or `np.ndarray`: the number of dimensions is
    /// inferred from how the body indexes the parameter.
    ArrayOfUnknownRank(Option<Dtype>),
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Assign {
        target: Target,
        value: Expr,
        /// From `x: float = ...`.
        annotation: Option<Type>,
    },
    /// `x: float` without a value: declares the variable's type.
    Declare {
        name: String,
        annotation: Type,
    },
    AugAssign {
        target: Target,
        op: BinaryOp,
        value: Expr,
    },
    If {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    /// `for var in range(start, stop, step)`; `var` is `None` for `_`.
    ForRange {
        var: Option<(String, Span)>,
        start: Expr,
        stop: Expr,
        step: Option<Expr>,
        body: Vec<Stmt>,
        /// Written as `prange`: the user asks for a parallel loop.
        parallel: bool,
    },
    While {
        test: Expr,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// `assert test, "message"` (the message a string literal, or none).
    Assert {
        test: Expr,
        message: Option<String>,
    },
    /// `raise ValueError("message")`: a class of
    /// `lower::RAISABLE_EXCEPTIONS`, the message a string literal or none.
    Raise {
        class: String,
        message: Option<String>,
    },
    Pass,
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub enum Target {
    Name(String, Span),
    Index {
        value: Expr,
        indices: Vec<Expr>,
        span: Span,
    },
    Tuple(Vec<Target>, Span),
}

impl Target {
    pub fn span(&self) -> Span {
        match self {
            Target::Name(_, span) => *span,
            Target::Index { span, .. } => *span,
            Target::Tuple(_, span) => *span,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// A string literal; only meaningful as a dtype name (`dtype="float64"`).
    Str(String),
    /// A local variable or parameter.
    Local(String),
    /// `name is None` (`negated`: `name is not None`).
    IsNone {
        name: String,
        negated: bool,
    },
    /// A module-level constant.
    Constant(String),
    /// A dotted name from an import, such as `numpy.float64` or `math.pi`,
    /// used as a value rather than called.
    Qualified(String),
    /// A builtin used as a value (`dtype=float`).
    BuiltinRef(String),
    /// A function of this module used as a value (passed as an argument).
    FunctionRef(String),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Compare {
        left: Box<Expr>,
        rest: Vec<(CompareOp, Expr)>,
    },
    BoolOp {
        op: BoolOp,
        values: Vec<Expr>,
    },
    IfExp {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    Call {
        callee: Callee,
        args: Vec<Expr>,
        keywords: Vec<Keyword>,
    },
    /// `value.attr` where `value` is not a module: `.shape`, `.size`, `.ndim`.
    Attribute {
        value: Box<Expr>,
        attr: String,
    },
    /// `value.method(args)`: `.copy()`.
    Method {
        receiver: Box<Expr>,
        method: String,
        args: Vec<Expr>,
        keywords: Vec<Keyword>,
    },
    Index {
        value: Box<Expr>,
        indices: Vec<Expr>,
    },
    Tuple(Vec<Expr>),
    /// A complex literal: `2j` is `Complex(0.0, 2.0)`.
    Complex(f64, f64),
    /// A list display `[a, b, c]`.
    List(Vec<Expr>),
    /// A dict display `{k: v, ...}`.
    Dict(Vec<(Expr, Expr)>),
    /// A set display `{a, b}`.
    Set(Vec<Expr>),
    /// `start:stop:step` inside an index; each bound may be left out.
    Slice {
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    /// `...` inside an index.
    Ellipsis,
}

#[derive(Clone, Debug)]
pub struct Keyword {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// A function defined in this module.
    Function(String),
    /// A parameter holding a function (`f: Callable[[float], float]`).
    Local(String),
    /// A Python builtin: `abs`, `min`, `max`, `round`, `int`, `float`, `bool`, `len`.
    Builtin(String),
    /// An imported function, by its qualified name: `math.sqrt`, `numpy.zeros`.
    Qualified(String),
}
