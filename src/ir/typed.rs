//! The typed IR: every expression has a concrete type and every operation is
//! resolved. This is the only input codegen and the stub writer see.

use crate::diagnostics::Span;
use crate::ir::{BinaryOp, CompareOp};
use crate::types::{ArrayType, Dtype, Type};

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    pub constants: Vec<Constant>,
    /// Every compiled function instance, exports first in source order, then
    /// helper specialisations in the order they were discovered.
    pub functions: Vec<Function>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    pub name: String,
    pub ty: Type,
    pub value: Literal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string literal, of type `Type::Str`.
    Str(String),
    /// `None`, of type `Type::None`: the argument of a parameter in the
    /// instance where it is None (`untyped::NoneVariant`).
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// The Python name.
    pub name: String,
    /// The Rust name; differs from `name` for specialised helpers.
    pub rust_name: String,
    /// `Some` for functions callable from Python.
    pub export: Option<Export>,
    pub params: Vec<Param>,
    /// Variables other than parameters, with their types, in first-assignment order.
    pub locals: Vec<Local>,
    pub return_type: Type,
    pub body: Vec<Stmt>,
    /// Whether control can reach the end of the body without a `return`.
    pub falls_through: bool,
    /// The parameters read as one block of rows and the locals holding
    /// them or their rows (`read_only_rows`); empty for most functions.
    pub rows: std::collections::BTreeMap<String, RowsRole>,
    /// The set locals kept without Python's order (`unordered_sets`).
    pub unordered_sets: std::collections::BTreeSet<String>,
}

/// What a variable of a read-only list of lists holds (`read_only_rows`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowsRole {
    /// The whole list, as `rt::Rows<T>`.
    Rows,
    /// One of its rows, as `rt::Row<T>`.
    Row,
}

impl Function {
    /// Whether `name` is a parameter holding a value: in the instance where
    /// a parameter that may be None is None, its name is an ordinary local.
    pub fn is_parameter(&self, name: &str) -> bool {
        self.params
            .iter()
            .any(|p| p.name == name && p.ty != crate::types::Type::None)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub docstring: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    /// Assigned in the body, so the Rust parameter is `mut`.
    pub reassigned: bool,
    /// The default value, already of the parameter's type.
    pub default: Option<Literal>,
    /// Callers must pass it by keyword (declared after `*`).
    pub keyword_only: bool,
    /// May be None (`n=None`, `int | None`): the function has an instance
    /// where this parameter is None (of type `Type::None`, passed as `()`)
    /// besides this one.
    pub nullable: bool,
    /// Its default is None: left out, the None instance is called.
    pub none_default: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Local {
    pub name: String,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Assign {
        target: Target,
        value: Expr,
    },
    If {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    ForRange {
        /// `None` for `_`.
        var: Option<String>,
        start: Expr,
        stop: Expr,
        step: Option<Expr>,
        body: Vec<Stmt>,
        /// Written with `prange`: the user asks for a parallel loop.
        parallel: bool,
        /// The loop header, `for i in range(...)`, for diagnostics.
        span: Span,
    },
    While {
        test: Expr,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// `assert test, message`: AssertionError when `test` is false.
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
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Local(String),
    /// Element store `array[i, j] = value`; `indices` has one entry per dimension.
    Index {
        array: Expr,
        indices: Vec<Expr>,
        /// Where the store is written, for diagnostics about it.
        span: Span,
    },
    Tuple(Vec<Target>),
    /// `a[1:-1] = value`, `a[:] = 0`, `a[i, :] = row`: a store into every
    /// element of a view (`view` has an array type), broadcasting `value`.
    View {
        view: Expr,
        span: Span,
    },
    /// `xs[i] = value` on a list: `value` has the element type.
    Item {
        list: Expr,
        index: Expr,
        span: Span,
    },
    /// `a[mask] = value` (a bool array of `a`'s shape) or `a[idx] = value`
    /// (a 1-D integer array into a 1-D array): `value` is a scalar or a 1-D
    /// array of the selected length. With `along`, `array` is the view the
    /// other index items make and `index` a 1-D integer array or mask that
    /// selects along one of its axes (`m[:, idx] = v`, `m[i, mask] += 1`),
    /// or a tuple of 1-D integer arrays, one per axis (`t[i, :, k] = v`):
    /// `value` broadcasts to the shape of the elements read by the same
    /// index (see [`Along`]).
    Select {
        array: Expr,
        index: Expr,
        along: Option<Along>,
        span: Span,
    },
}

/// The axes a store through index arrays selects along (the taken axes of
/// `rt::take_along` or `rt::take_arrays`): one axis of the view per index
/// array (`index` is one array, or a tuple of several), which broadcast
/// into one axis of the selection, first among its axes with `front`
/// (NumPy's order when advanced indices are not side by side).
#[derive(Clone, Debug, PartialEq)]
pub struct Along {
    pub axes: Vec<usize>,
    pub front: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Local(String),
    Constant(String),
    /// Numeric conversion of the operand to `Expr::ty` (Python's implicit
    /// int → float promotion, or an explicit `float(x)`).
    Cast(Box<Expr>),
    /// Both operands already have the operation's type.
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Invert(Box<Expr>),
    /// Python truthiness of a numeric value.
    Truthy(Box<Expr>),
    /// `a < b < c`: each operand is evaluated once; `operand_types[k]` is the
    /// common type operands k and k+1 are compared in.
    Compare {
        operands: Vec<Expr>,
        ops: Vec<CompareOp>,
        operand_types: Vec<Type>,
    },
    /// `and`/`or`: all values already have the result type; for `bool` this
    /// is `&&`/`||`, otherwise Python's value-returning semantics.
    BoolOp {
        op: crate::ir::BoolOp,
        values: Vec<Expr>,
    },
    IfExp {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    /// A call to a compiled function, by Rust name.
    Call {
        function: String,
        args: Vec<Expr>,
    },
    /// A call to a function held by a `Callable` parameter.
    CallValue {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// A function passed to a `Callable` parameter.
    FunctionRef(FunctionRef),
    Intrinsic {
        op: Intrinsic,
        args: Vec<Expr>,
    },
    /// A scalar element: one index per dimension.
    Index {
        array: Box<Expr>,
        indices: Vec<Expr>,
        /// Where the access is written, for diagnostics about it.
        span: Span,
    },
    /// `a[i]` on an array of two or more dimensions: a view of one fewer.
    SubArray {
        array: Box<Expr>,
        index: Box<Expr>,
    },
    NewArray {
        array: ArrayType,
        fill: ArrayFill,
        shape: Vec<Expr>,
    },
    CopyArray(Box<Expr>),
    /// `a.shape[axis]` and `len(a)` (axis 0).
    Dim {
        array: Box<Expr>,
        axis: usize,
    },
    /// `a.shape` as a tuple.
    Shape(Box<Expr>),
    Size(Box<Expr>),
    Tuple(Vec<Expr>),
    TupleGet {
        tuple: Box<Expr>,
        index: usize,
    },
    /// Basic indexing with at least one slice or `None`: `a[1:-1]`,
    /// `a[:, j]`, `a[i, ::2]`, `a[None, :]`. A view sharing `array`'s memory;
    /// `items` has one entry per axis of `array` (`...` expanded), plus the
    /// `None`s.
    View {
        array: Box<Expr>,
        items: Vec<ViewItem>,
        span: Span,
    },
    /// `a.T` / `np.transpose(a)`: the axes reversed, sharing memory.
    Transpose(Box<Expr>),
    /// `a.reshape(shape)`, `a.ravel()` (a view when contiguous, else a
    /// copy), `a.flatten()` (always a copy).
    Reshape {
        array: Box<Expr>,
        shape: Vec<Expr>,
        copy: bool,
    },
    /// A whole-array expression: one loop over the broadcast shape of the
    /// array `inputs`, computing `body` per element into a new array. Scalar
    /// inputs are evaluated once, before the loop.
    ElementWise {
        inputs: Vec<Expr>,
        body: Box<Elem>,
    },
    /// `np.sum(a)`, `a.max(axis=0)`, `np.var(a, ddof=1)`: a scalar, or an
    /// array of the other axes when `axis` is given.
    Reduce {
        op: Reduction,
        array: Box<Expr>,
        axis: Option<usize>,
        keepdims: bool,
        /// `ddof` of `var` and `std`.
        ddof: Option<Box<Expr>>,
    },
    /// `np.cumsum(a)` / `np.cumprod(a)`: running totals in C order, 1-D;
    /// with `axis`, running totals along that axis, in `a`'s shape.
    Cumulative {
        product: bool,
        array: Box<Expr>,
        axis: Option<usize>,
    },
    /// `a[mask]` (a bool array of `a`'s shape: the selected elements, 1-D)
    /// or `a[idx]` (a 1-D integer array: the selected rows); a new array.
    Select {
        array: Box<Expr>,
        index: Box<Expr>,
    },
    /// A runtime function that makes or combines arrays, `rt::NAME(args)?`
    /// (arrays passed by reference): `arange_int`, `arange_float`,
    /// `linspace`, `eye`, `dot_vec_vec`, `matmul`, `trace`.
    Runtime {
        function: &'static str,
        args: Vec<Expr>,
    },
    /// A list display `[a, b]`: a new list; the items already have the
    /// element type.
    List(Vec<Expr>),
    /// `xs[start:stop:step]` of a list: a new list; each bound may be left out.
    ListSlice {
        list: Box<Expr>,
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
}

/// One item of a basic index.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewItem {
    /// An integer index: drops the axis.
    Index(Expr),
    /// `start:stop:step`, each an `int` or left out.
    Slice {
        start: Option<Expr>,
        stop: Option<Expr>,
        step: Option<Expr>,
    },
    /// `None` / `np.newaxis`: a new axis of length 1.
    NewAxis,
}

impl ViewItem {
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            ViewItem::Index(index) => vec![index],
            ViewItem::Slice { start, stop, step } => {
                [start, stop, step].into_iter().flatten().collect()
            }
            ViewItem::NewAxis => Vec::new(),
        }
    }

    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            ViewItem::Index(index) => vec![index],
            ViewItem::Slice { start, stop, step } => {
                [start, stop, step].into_iter().flatten().collect()
            }
            ViewItem::NewAxis => Vec::new(),
        }
    }
}

/// The reductions of `ExprKind::Reduce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    Prod,
    Mean,
    Var,
    Std,
    Min,
    Max,
    ArgMin,
    ArgMax,
    All,
    Any,
}

impl Reduction {
    /// The function of `rt::lane` that computes it.
    pub fn lane_function(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::Prod => "prod",
            Reduction::Mean => "mean",
            Reduction::Var => "var",
            Reduction::Std => "std",
            Reduction::Min => "min",
            Reduction::Max => "max",
            Reduction::ArgMin => "argmin",
            Reduction::ArgMax => "argmax",
            Reduction::All => "all",
            Reduction::Any => "any",
        }
    }
}

/// The per-element computation of a whole-array expression, with NumPy's
/// rules: every node has a dtype, integers wrap, and division by zero gives
/// inf, nan or 0 instead of raising.
#[derive(Clone, Debug, PartialEq)]
pub struct Elem {
    pub kind: ElemKind,
    pub dtype: Dtype,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ElemKind {
    /// The element of input `k` (the value itself for a scalar input).
    Input(usize),
    Literal(Literal),
    Cast(Box<Elem>),
    /// Both operands already have the operation's dtype.
    Binary {
        op: BinaryOp,
        left: Box<Elem>,
        right: Box<Elem>,
    },
    Neg(Box<Elem>),
    /// `~x`: bitwise for integers, logical for bools.
    Invert(Box<Elem>),
    /// Both operands have the same dtype; the result is bool.
    Compare {
        op: CompareOp,
        left: Box<Elem>,
        right: Box<Elem>,
    },
    Call {
        function: ElemFunction,
        args: Vec<Elem>,
    },
    /// `np.where(condition, x, y)`.
    Where {
        condition: Box<Elem>,
        then: Box<Elem>,
        orelse: Box<Elem>,
    },
}

/// Element functions of NumPy's ufuncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemFunction {
    /// A method of `f32`/`f64` with IEEE semantics: `x.sqrt()`, `y.atan2(x)`.
    FloatMethod(&'static str),
    Abs,
    Sign,
    Minimum,
    Maximum,
    IsNan,
    IsInf,
    IsFinite,
    /// Truth of a number (`x != 0`).
    Truthy,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
}

impl Elem {
    pub fn new(kind: ElemKind, dtype: Dtype) -> Elem {
        Elem { kind, dtype }
    }

    pub fn cast_to(self, dtype: Dtype) -> Elem {
        if self.dtype == dtype {
            self
        } else {
            Elem::new(ElemKind::Cast(Box::new(self)), dtype)
        }
    }

    /// Calls `visit` on this node and every node inside it.
    pub fn walk(&self, visit: &mut dyn FnMut(&Elem)) {
        visit(self);
        self.for_each_child(&mut |child| child.walk(visit));
    }

    /// Calls `visit` on each operand of this node, left to right.
    pub fn for_each_child(&self, visit: &mut dyn FnMut(&Elem)) {
        match &self.kind {
            ElemKind::Input(_) | ElemKind::Literal(_) => {}
            ElemKind::Cast(inner) | ElemKind::Neg(inner) | ElemKind::Invert(inner) => visit(inner),
            ElemKind::Binary { left, right, .. } | ElemKind::Compare { left, right, .. } => {
                visit(left);
                visit(right);
            }
            ElemKind::Call { args, .. } => args.iter().for_each(|a| visit(a)),
            ElemKind::Where {
                condition,
                then,
                orelse,
            } => {
                visit(condition);
                visit(then);
                visit(orelse);
            }
        }
    }

    /// Renumbers inputs: `Input(k)` becomes `Input(map(k))`.
    pub fn renumber(&mut self, map: &dyn Fn(usize) -> usize) {
        match &mut self.kind {
            ElemKind::Input(k) => *k = map(*k),
            ElemKind::Literal(_) => {}
            ElemKind::Cast(inner) | ElemKind::Neg(inner) | ElemKind::Invert(inner) => {
                inner.renumber(map)
            }
            ElemKind::Binary { left, right, .. } | ElemKind::Compare { left, right, .. } => {
                left.renumber(map);
                right.renumber(map);
            }
            ElemKind::Call { args, .. } => args.iter_mut().for_each(|a| a.renumber(map)),
            ElemKind::Where {
                condition,
                then,
                orelse,
            } => {
                condition.renumber(map);
                then.renumber(map);
                orelse.renumber(map);
            }
        }
    }
}

/// A function used as a value: what a `Callable` argument refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum FunctionRef {
    /// A `math` function with CPython's error behaviour (`rt::math::NAME`).
    Math(&'static str),
    /// A NumPy scalar function: the float method NAME, IEEE semantics.
    FloatMethod(&'static str),
    /// A compiled function of this module, by Rust name.
    Compiled(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrayFill {
    Zeros,
    Ones,
    Value(Box<Expr>),
}

/// Builtin, `math` and NumPy scalar operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intrinsic {
    /// `abs` of an integer (wrapping at i64::MIN, as NumPy).
    AbsInt,
    /// `abs`/`math.fabs`/`np.abs` of a float.
    AbsFloat,
    /// Python's two-argument `min`/`max`.
    Min,
    Max,
    /// `round(x)` → int.
    RoundToInt,
    /// `int(x)` of a float.
    FloatToInt,
    /// A `math` function with CPython's error behaviour: `rt::math::NAME(args)?`.
    Math(&'static str),
    /// A `math` function returning int (floor, ceil, trunc).
    MathToInt(&'static str),
    /// An IEEE float method without error checks (NumPy's scalar functions):
    /// `x.NAME(args)`.
    FloatMethod(&'static str),
    IsNan,
    IsInf,
    IsFinite,
}

impl Expr {
    pub fn new(kind: ExprKind, ty: Type) -> Expr {
        Expr { kind, ty }
    }

    pub fn bool(value: bool) -> Expr {
        Expr::new(ExprKind::Literal(Literal::Bool(value)), Type::Bool)
    }

    pub fn int(value: i64) -> Expr {
        Expr::new(ExprKind::Literal(Literal::Int(value)), Type::Int)
    }

    /// Converts to `ty` if needed, inserting a `Cast` node.
    pub fn cast_to(self, ty: &Type) -> Expr {
        if &self.ty == ty {
            return self;
        }
        // Converting a literal is done now, so `acc = 0` in a float variable
        // reads `0.0` rather than `0 as f64`.
        match (&self.kind, ty) {
            (ExprKind::Literal(Literal::Int(v)), Type::Float) if v.unsigned_abs() < (1 << 53) => {
                Expr::new(ExprKind::Literal(Literal::Float(*v as f64)), Type::Float)
            }
            (ExprKind::Literal(Literal::Bool(v)), Type::Int) => Expr::int(i64::from(*v)),
            // A list display is made in the element type it is stored as.
            (ExprKind::List(_), Type::List(item)) => {
                let ExprKind::List(items) = self.kind else {
                    unreachable!("matched a list display above")
                };
                let items = items.into_iter().map(|i| i.cast_to(item)).collect();
                Expr::new(ExprKind::List(items), ty.clone())
            }
            _ => Expr::new(ExprKind::Cast(Box::new(self)), ty.clone()),
        }
    }

    pub fn array_type(&self) -> Option<ArrayType> {
        match &self.ty {
            Type::Array(array) => Some(*array),
            _ => None,
        }
    }
}

impl ArrayType {
    pub fn element(self) -> Type {
        Type::of_element(self.dtype)
    }

    pub fn with_ndim(self, ndim: u8) -> ArrayType {
        ArrayType {
            dtype: self.dtype,
            ndim,
        }
    }

    pub fn new(dtype: Dtype, ndim: u8) -> ArrayType {
        ArrayType { dtype, ndim }
    }
}

impl Expr {
    /// Calls `visit` on each direct sub-expression, in evaluation order.
    pub fn for_each_child<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        match &self.kind {
            ExprKind::Literal(_)
            | ExprKind::Local(_)
            | ExprKind::Constant(_)
            | ExprKind::FunctionRef(_) => {}
            ExprKind::Cast(inner)
            | ExprKind::Neg(inner)
            | ExprKind::Not(inner)
            | ExprKind::Invert(inner)
            | ExprKind::Truthy(inner)
            | ExprKind::CopyArray(inner)
            | ExprKind::Shape(inner)
            | ExprKind::Size(inner) => visit(inner),
            ExprKind::Binary { left, right, .. } => {
                visit(left);
                visit(right);
            }
            ExprKind::Compare {
                operands: values, ..
            }
            | ExprKind::BoolOp { values, .. }
            | ExprKind::Tuple(values)
            | ExprKind::Call { args: values, .. }
            | ExprKind::Intrinsic { args: values, .. } => values.iter().for_each(visit),
            ExprKind::CallValue { callee, args } => {
                visit(callee);
                args.iter().for_each(visit);
            }
            ExprKind::IfExp { test, body, orelse } => {
                visit(test);
                visit(body);
                visit(orelse);
            }
            ExprKind::Index { array, indices, .. } => {
                visit(array);
                indices.iter().for_each(visit);
            }
            ExprKind::SubArray { array, index } | ExprKind::Select { array, index } => {
                visit(array);
                visit(index);
            }
            ExprKind::NewArray { fill, shape, .. } => {
                if let ArrayFill::Value(value) = fill {
                    visit(value);
                }
                shape.iter().for_each(visit);
            }
            ExprKind::Dim { array, .. } => visit(array),
            ExprKind::TupleGet { tuple, .. } => visit(tuple),
            ExprKind::View { array, items, .. } => {
                visit(array);
                items.iter().flat_map(ViewItem::exprs).for_each(visit);
            }
            ExprKind::Transpose(array) | ExprKind::Cumulative { array, .. } => visit(array),
            ExprKind::Reshape { array, shape, .. } => {
                visit(array);
                shape.iter().for_each(visit);
            }
            ExprKind::ElementWise { inputs, .. }
            | ExprKind::Runtime { args: inputs, .. }
            | ExprKind::List(inputs) => inputs.iter().for_each(visit),
            ExprKind::Reduce { array, ddof, .. } => {
                visit(array);
                if let Some(ddof) = ddof {
                    visit(ddof);
                }
            }
            ExprKind::ListSlice {
                list,
                start,
                stop,
                step,
            } => {
                visit(list);
                [start, stop, step]
                    .into_iter()
                    .flatten()
                    .for_each(|bound| visit(bound));
            }
        }
    }

    /// `for_each_child` for rewriting passes.
    pub fn for_each_child_mut(&mut self, visit: &mut dyn FnMut(&mut Expr)) {
        match &mut self.kind {
            ExprKind::Literal(_)
            | ExprKind::Local(_)
            | ExprKind::Constant(_)
            | ExprKind::FunctionRef(_) => {}
            ExprKind::Cast(inner)
            | ExprKind::Neg(inner)
            | ExprKind::Not(inner)
            | ExprKind::Invert(inner)
            | ExprKind::Truthy(inner)
            | ExprKind::CopyArray(inner)
            | ExprKind::Shape(inner)
            | ExprKind::Size(inner) => visit(inner),
            ExprKind::Binary { left, right, .. } => {
                visit(left);
                visit(right);
            }
            ExprKind::Compare {
                operands: values, ..
            }
            | ExprKind::BoolOp { values, .. }
            | ExprKind::Tuple(values)
            | ExprKind::Call { args: values, .. }
            | ExprKind::Intrinsic { args: values, .. } => values.iter_mut().for_each(visit),
            ExprKind::CallValue { callee, args } => {
                visit(callee);
                args.iter_mut().for_each(visit);
            }
            ExprKind::IfExp { test, body, orelse } => {
                visit(test);
                visit(body);
                visit(orelse);
            }
            ExprKind::Index { array, indices, .. } => {
                visit(array);
                indices.iter_mut().for_each(visit);
            }
            ExprKind::SubArray { array, index } | ExprKind::Select { array, index } => {
                visit(array);
                visit(index);
            }
            ExprKind::NewArray { fill, shape, .. } => {
                if let ArrayFill::Value(value) = fill {
                    visit(value);
                }
                shape.iter_mut().for_each(visit);
            }
            ExprKind::Dim { array, .. } => visit(array),
            ExprKind::TupleGet { tuple, .. } => visit(tuple),
            ExprKind::View { array, items, .. } => {
                visit(array);
                items
                    .iter_mut()
                    .flat_map(ViewItem::exprs_mut)
                    .for_each(visit);
            }
            ExprKind::Transpose(array) | ExprKind::Cumulative { array, .. } => visit(array),
            ExprKind::Reshape { array, shape, .. } => {
                visit(array);
                shape.iter_mut().for_each(visit);
            }
            ExprKind::ElementWise { inputs, .. }
            | ExprKind::Runtime { args: inputs, .. }
            | ExprKind::List(inputs) => inputs.iter_mut().for_each(visit),
            ExprKind::Reduce { array, ddof, .. } => {
                visit(array);
                if let Some(ddof) = ddof {
                    visit(ddof);
                }
            }
            ExprKind::ListSlice {
                list,
                start,
                stop,
                step,
            } => {
                visit(list);
                [start, stop, step]
                    .into_iter()
                    .flatten()
                    .for_each(|bound| visit(bound));
            }
        }
    }

    /// Calls `visit` on this expression and every expression inside it.
    pub fn walk<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        visit(self);
        self.for_each_child(&mut |child| child.walk(visit));
    }

    /// Whether evaluating the expression can neither raise nor have a side
    /// effect, so evaluating it earlier or later than Python would cannot be
    /// observed. Reads of locals count as free here; a read that may raise
    /// UnboundLocalError is codegen's to know.
    pub fn is_effect_free(&self) -> bool {
        let mut free = true;
        self.walk(&mut |e| {
            free &= match &e.kind {
                ExprKind::Call { .. }
                | ExprKind::CallValue { .. }
                | ExprKind::Index { .. }
                | ExprKind::SubArray { .. }
                | ExprKind::NewArray { .. }
                | ExprKind::View { .. }
                | ExprKind::Reshape { .. }
                | ExprKind::ElementWise { .. }
                | ExprKind::Reduce { .. }
                | ExprKind::Cumulative { .. }
                | ExprKind::Runtime { .. }
                | ExprKind::ListSlice { .. }
                | ExprKind::Select { .. } => false,
                ExprKind::Binary { op, .. } => !matches!(
                    op,
                    BinaryOp::TrueDiv | BinaryOp::FloorDiv | BinaryOp::Mod | BinaryOp::Pow
                ),
                ExprKind::Intrinsic { op, .. } => !matches!(
                    op,
                    Intrinsic::RoundToInt
                        | Intrinsic::FloatToInt
                        | Intrinsic::Math(_)
                        | Intrinsic::MathToInt(_)
                ),
                _ => true,
            };
        });
        free
    }

    /// Whether the expression reads the local `name`.
    pub fn reads(&self, name: &str) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(&e.kind, ExprKind::Local(n) if n == name));
        found
    }
}

impl Target {
    /// The locals the store binds (both of `a, b = ...`); an element store
    /// binds none.
    pub fn bound_locals(&self, out: &mut Vec<String>) {
        match self {
            Target::Local(name) => out.push(name.clone()),
            Target::Tuple(items) => items.iter().for_each(|item| item.bound_locals(out)),
            Target::Index { .. }
            | Target::View { .. }
            | Target::Select { .. }
            | Target::Item { .. } => {}
        }
    }

    /// The expressions a store evaluates: the array and indices of an
    /// element store.
    pub fn for_each_expr<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        match self {
            Target::Local(_) => {}
            Target::Index { array, indices, .. } => {
                visit(array);
                indices.iter().for_each(visit);
            }
            Target::Tuple(items) => items.iter().for_each(|t| t.for_each_expr(visit)),
            Target::View { view, .. } => visit(view),
            Target::Select { array, index, .. }
            | Target::Item {
                list: array, index, ..
            } => {
                visit(array);
                visit(index);
            }
        }
    }

    pub fn for_each_expr_mut(&mut self, visit: &mut dyn FnMut(&mut Expr)) {
        match self {
            Target::Local(_) => {}
            Target::Index { array, indices, .. } => {
                visit(array);
                indices.iter_mut().for_each(visit);
            }
            Target::Tuple(items) => items.iter_mut().for_each(|t| t.for_each_expr_mut(visit)),
            Target::View { view, .. } => visit(view),
            Target::Select { array, index, .. }
            | Target::Item {
                list: array, index, ..
            } => {
                visit(array);
                visit(index);
            }
        }
    }
}

impl Stmt {
    /// Calls `visit` on the statement's own expressions (not those of nested
    /// statements), in evaluation order.
    pub fn for_each_expr<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        match self {
            Stmt::Assign { target, value } => {
                visit(value);
                target.for_each_expr(visit);
            }
            Stmt::If { test, .. } | Stmt::While { test, .. } => visit(test),
            Stmt::ForRange {
                start, stop, step, ..
            } => {
                visit(start);
                visit(stop);
                if let Some(step) = step {
                    visit(step);
                }
            }
            Stmt::Return(Some(value)) | Stmt::Expr(value) | Stmt::Assert { test: value, .. } => {
                visit(value)
            }
            Stmt::Return(None) | Stmt::Break | Stmt::Continue | Stmt::Raise { .. } => {}
        }
    }

    pub fn for_each_expr_mut(&mut self, visit: &mut dyn FnMut(&mut Expr)) {
        match self {
            Stmt::Assign { target, value } => {
                visit(value);
                target.for_each_expr_mut(visit);
            }
            Stmt::If { test, .. } | Stmt::While { test, .. } => visit(test),
            Stmt::ForRange {
                start, stop, step, ..
            } => {
                visit(start);
                visit(stop);
                if let Some(step) = step {
                    visit(step);
                }
            }
            Stmt::Return(Some(value)) | Stmt::Expr(value) | Stmt::Assert { test: value, .. } => {
                visit(value)
            }
            Stmt::Return(None) | Stmt::Break | Stmt::Continue | Stmt::Raise { .. } => {}
        }
    }

    /// The locals the statement itself binds (an assignment's targets, a
    /// `for` loop's variable), not those of statements nested in it.
    pub fn own_bound_locals(&self, out: &mut Vec<String>) {
        match self {
            Stmt::Assign { target, .. } => target.bound_locals(out),
            Stmt::ForRange { var: Some(var), .. } => out.push(var.clone()),
            _ => {}
        }
    }

    /// The statements directly nested in this one (bodies and branches).
    pub fn nested(&self) -> Vec<&[Stmt]> {
        match self {
            Stmt::If { body, orelse, .. } => vec![body, orelse],
            Stmt::ForRange { body, .. } | Stmt::While { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }

    pub fn nested_mut(&mut self) -> Vec<&mut Vec<Stmt>> {
        match self {
            Stmt::If { body, orelse, .. } => vec![body, orelse],
            Stmt::ForRange { body, .. } | Stmt::While { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }

    /// Calls `visit` on the statement's own expressions and on those of
    /// every statement nested in it (each a whole expression, which
    /// `visit` may rewrite).
    pub fn for_each_expr_in_tree_mut(&mut self, visit: &mut dyn FnMut(&mut Expr)) {
        self.for_each_expr_mut(visit);
        for body in self.nested_mut() {
            for stmt in body.iter_mut() {
                stmt.for_each_expr_in_tree_mut(visit);
            }
        }
    }

    /// Calls `visit` on every expression in this statement and the
    /// statements nested in it.
    pub fn walk_exprs<'e>(&'e self, visit: &mut dyn FnMut(&'e Expr)) {
        self.for_each_expr(&mut |e| e.walk(visit));
        for body in self.nested() {
            body.iter().for_each(|s| s.walk_exprs(visit));
        }
    }

    /// Calls `visit` with the Rust name and the arguments of every call of
    /// a compiled function in this statement and the statements nested in
    /// it.
    pub fn walk_calls<'e>(&'e self, visit: &mut dyn FnMut(&'e str, &'e [Expr])) {
        self.walk_exprs(&mut |e| {
            if let ExprKind::Call { function, args } = &e.kind {
                visit(function, args);
            }
        });
    }
}

/// Every local that a statement of `stmts`, or one nested in them, binds,
/// in order, repeated as often as it is bound.
pub fn bound_locals(stmts: &[Stmt], out: &mut Vec<String>) {
    for stmt in stmts {
        stmt.own_bound_locals(out);
        for body in stmt.nested() {
            bound_locals(body, out);
        }
    }
}
