//! Specialisation on None: a function whose parameters may be None (`n=None`,
//! `int | None`, Pythran's `int or None`) is compiled once per combination
//! of them being None or not, as Numba compiles a separate specialisation
//! for a `none` argument. This stage, between lowering and inference, makes
//! each combination's body (`untyped::NoneVariant`): every `x is None` on a
//! nullable parameter folds to a constant (flow-sensitively, since
//! `if x is None: x = len(a)` makes `x` an ordinary local from then on), and
//! the branches those constants make dead are pruned (Numba's
//! `dead_branch_prune`), so inference never sees a value that may be None.
//! A read of a parameter while it is (or may still be) None is an error of
//! that instance, reported if the instance is compiled; passed straight on
//! as an argument of a module function, it is the literal `None`, which
//! picks that function's None instance.

use std::collections::BTreeMap;

use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::untyped::{
    Callee, Expr, ExprKind, Function, Module, NoneVariant, Stmt, StmtKind, Target,
};
use crate::ir::{BoolOp, UnaryOp};

/// Fills `none_variants` of every function with nullable parameters (at
/// most `lower::MAX_NULLABLE_PARAMETERS` of them; lowering reports more).
pub fn specialise(mut module: Module) -> Module {
    for slot in &mut module.functions {
        let Ok(function) = &mut slot.lowered else {
            continue;
        };
        let nullable: Vec<usize> = function
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.nullable)
            .map(|(k, _)| k)
            .collect();
        if nullable.is_empty() || nullable.len() > crate::lower::MAX_NULLABLE_PARAMETERS {
            continue;
        }
        let mut variants = Vec::new();
        for mask in 0..1usize << nullable.len() {
            let mut none = vec![false; function.params.len()];
            for (bit, &position) in nullable.iter().enumerate() {
                none[position] = mask & (1 << bit) != 0;
            }
            variants.push(variant(function, none));
        }
        function.none_variants = variants;
    }
    module
}

/// What is known of a nullable parameter at a point of the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    None,
    NotNone,
    Maybe,
}

impl Known {
    fn join(self, other: Known) -> Known {
        if self == other {
            self
        } else {
            Known::Maybe
        }
    }
}

/// The nullable parameters' states; `None` where no path arrives.
type State = Option<BTreeMap<String, Known>>;

fn join(a: State, b: State) -> State {
    match (a, b) {
        (None, other) | (other, None) => other,
        (Some(a), Some(b)) => Some(
            a.into_iter()
                .map(|(name, known)| {
                    let other = b.get(&name).copied().unwrap_or(known);
                    (name, known.join(other))
                })
                .collect(),
        ),
    }
}

fn variant(function: &Function, none: Vec<bool>) -> NoneVariant {
    let mut state = BTreeMap::new();
    for (param, is_none) in function.params.iter().zip(&none) {
        if param.nullable {
            let known = if *is_none {
                Known::None
            } else {
                Known::NotNone
            };
            state.insert(param.name.clone(), known);
        }
    }
    let mut folder = Folder {
        none_params: function
            .params
            .iter()
            .zip(&none)
            .filter(|(_, n)| **n)
            .map(|(p, _)| p.name.clone())
            .collect(),
        report: true,
        errors: Vec::new(),
        reported: Default::default(),
        loops: Vec::new(),
    };
    let mut state = Some(state);
    let body = folder.block(&function.body, &mut state);
    let mut errors = folder.errors;
    errors.sort_by_key(|d| (d.span.start, d.span.end));
    errors.dedup();
    NoneVariant {
        none,
        function: Function {
            body,
            none_variants: Vec::new(),
            ..function.clone()
        },
        errors,
    }
}

struct Folder {
    /// The parameters that are None in this instance, for messages.
    none_params: Vec<String>,
    /// Errors are recorded only in the final walk of a loop body, not in
    /// the walks that find the state at its head.
    report: bool,
    errors: Vec<Diagnostic>,
    /// Parameters with an error reported: one per parameter and instance,
    /// the first on the way through the function, says what to change.
    reported: std::collections::HashSet<String>,
    /// Per enclosing loop: the states at its `break`s and `continue`s.
    loops: Vec<(State, State)>,
}

impl Folder {
    fn which_instance(&self, name: &str) -> String {
        if self.none_params.iter().any(|p| p == name) {
            format!("when `{name}` is None (left out or passed as None)")
        } else {
            format!("when `{name}` is not None")
        }
    }

    fn read_error(&mut self, name: &str, known: Known, span: Span) {
        if !self.report || !self.reported.insert(name.to_string()) {
            return;
        }
        let (message, label) = match known {
            Known::None => (
                format!("`{name}` is read while it is None"),
                "None here".to_string(),
            ),
            _ => (
                format!("`{name}` is read where it may still be None"),
                "None on some paths here".to_string(),
            ),
        };
        self.errors.push(
            Diagnostic::error(codes::UNSUPPORTED_EXPRESSION, span, message)
                .with_label(label)
                .with_hint(format!(
                    "compiled code has no None values: in the instance {}, assign `{name}` a \
                     value first (`if {name} is None: {name} = ...`) on every path that reaches \
                     this read",
                    self.which_instance(name)
                )),
        );
    }

    fn block(&mut self, stmts: &[Stmt], state: &mut State) -> Vec<Stmt> {
        let mut out = Vec::new();
        for stmt in stmts {
            if state.is_none() {
                // Unreachable, as after `if n is None: return ...` in the
                // instance where `n` is None: pruned too.
                break;
            }
            self.stmt(stmt, state, &mut out);
        }
        out
    }

    fn stmt(&mut self, stmt: &Stmt, state: &mut State, out: &mut Vec<Stmt>) {
        let span = stmt.span;
        let kind = match &stmt.kind {
            StmtKind::Assign {
                target,
                value,
                annotation,
            } => {
                let value = self.expr(value, state);
                let target = self.target(target, state);
                assign_target(&target, state);
                StmtKind::Assign {
                    target,
                    value,
                    annotation: annotation.clone(),
                }
            }
            StmtKind::AugAssign { target, op, value } => {
                let value = self.expr(value, state);
                if let Target::Name(name, name_span) = target {
                    self.read(name, *name_span, state);
                }
                let target = self.target(target, state);
                StmtKind::AugAssign {
                    target,
                    op: *op,
                    value,
                }
            }
            StmtKind::If { test, body, orelse } => {
                let test = self.expr(test, state);
                match test.kind {
                    ExprKind::Bool(true) => {
                        out.extend(self.block(body, state));
                        return;
                    }
                    ExprKind::Bool(false) => {
                        out.extend(self.block(orelse, state));
                        return;
                    }
                    _ => {}
                }
                let mut else_state = state.clone();
                let body = self.block(body, state);
                let orelse = self.block(orelse, &mut else_state);
                *state = join(state.take(), else_state);
                StmtKind::If { test, body, orelse }
            }
            StmtKind::ForRange {
                var,
                start,
                stop,
                step,
                body,
                parallel,
            } => {
                let start = self.expr(start, state);
                let stop = self.expr(stop, state);
                let step = step.as_ref().map(|s| self.expr(s, state));
                let body = self.loop_body(state, |folder, state| {
                    if let (Some((name, _)), Some(known)) = (var, state.as_mut()) {
                        if let Some(k) = known.get_mut(name) {
                            *k = Known::NotNone;
                        }
                    }
                    folder.block(body, state)
                });
                StmtKind::ForRange {
                    var: var.clone(),
                    start,
                    stop,
                    step,
                    body,
                    parallel: *parallel,
                }
            }
            StmtKind::While { test, body } => {
                let mut test_out = test.clone();
                let body = self.loop_body(state, |folder, state| {
                    test_out = folder.expr(test, state);
                    if matches!(test_out.kind, ExprKind::Bool(false)) {
                        *state = None;
                        return Vec::new();
                    }
                    folder.block(body, state)
                });
                if matches!(test_out.kind, ExprKind::Bool(false)) {
                    return;
                }
                StmtKind::While {
                    test: test_out,
                    body,
                }
            }
            StmtKind::Break => {
                if let Some((breaks, _)) = self.loops.last_mut() {
                    *breaks = join(breaks.take(), state.take());
                }
                *state = None;
                StmtKind::Break
            }
            StmtKind::Continue => {
                if let Some((_, continues)) = self.loops.last_mut() {
                    *continues = join(continues.take(), state.take());
                }
                *state = None;
                StmtKind::Continue
            }
            StmtKind::Return(value) => {
                let value = value.as_ref().map(|v| self.expr(v, state));
                *state = None;
                StmtKind::Return(value)
            }
            StmtKind::Assert { test, message } => StmtKind::Assert {
                test: self.expr(test, state),
                message: message.clone(),
            },
            StmtKind::Raise { .. } => {
                *state = None;
                stmt.kind.clone()
            }
            StmtKind::Expr(value) => StmtKind::Expr(self.expr(value, state)),
            StmtKind::Declare { .. } | StmtKind::Pass => stmt.kind.clone(),
        };
        out.push(Stmt { kind, span });
    }

    /// Folds a loop body: first (without reporting) until the state at the
    /// loop's head stops changing, then once more for the result. The state
    /// after the loop joins its head (the body may run zero more times) and
    /// its `break`s.
    fn loop_body(
        &mut self,
        state: &mut State,
        mut walk: impl FnMut(&mut Folder, &mut State) -> Vec<Stmt>,
    ) -> Vec<Stmt> {
        let report = self.report;
        let mut head = state.clone();
        self.report = false;
        for _ in 0..4 {
            self.loops.push((None, None));
            let mut end = head.clone();
            walk(self, &mut end);
            let (_, continues) = self.loops.pop().unwrap_or((None, None));
            let next = join(head.clone(), join(end, continues));
            if next == head {
                break;
            }
            head = next;
        }
        self.report = report;
        self.loops.push((None, None));
        let mut end = head.clone();
        let body = walk(self, &mut end);
        let (breaks, _) = self.loops.pop().unwrap_or((None, None));
        *state = join(head, breaks);
        body
    }

    fn target(&mut self, target: &Target, state: &mut State) -> Target {
        match target {
            Target::Name(..) => target.clone(),
            Target::Index {
                value,
                indices,
                span,
            } => Target::Index {
                value: self.expr(value, state),
                indices: indices.iter().map(|i| self.expr(i, state)).collect(),
                span: *span,
            },
            Target::Tuple(items, span) => {
                Target::Tuple(items.iter().map(|t| self.target(t, state)).collect(), *span)
            }
        }
    }

    fn known(&self, name: &str, state: &State) -> Option<Known> {
        state.as_ref().and_then(|s| s.get(name)).copied()
    }

    fn read(&mut self, name: &str, span: Span, state: &State) {
        match self.known(name, state) {
            Some(known @ (Known::None | Known::Maybe)) => self.read_error(name, known, span),
            _ => {}
        }
    }

    fn expr(&mut self, expr: &Expr, state: &State) -> Expr {
        let span = expr.span;
        let at = |kind| Expr { kind, span };
        match &expr.kind {
            ExprKind::IsNone { name, negated } => match self.known(name, state) {
                Some(Known::None) => at(ExprKind::Bool(!negated)),
                Some(Known::NotNone) => at(ExprKind::Bool(*negated)),
                Some(Known::Maybe) => {
                    if self.report && self.reported.insert(name.clone()) {
                        self.errors.push(
                            Diagnostic::error(
                                codes::UNSUPPORTED_EXPRESSION,
                                span,
                                format!("`{name}` may or may not be None here"),
                            )
                            .with_label("None on some paths only")
                            .with_hint(format!(
                                "ferropy decides `{name} is None` when compiling: test it \
                                 before assigning `{name}` on some paths only, as in `if \
                                 {name} is None: {name} = ...`"
                            )),
                        );
                    }
                    expr.clone()
                }
                None => expr.clone(),
            },
            ExprKind::Local(name) => {
                self.read(name, span, state);
                expr.clone()
            }
            ExprKind::BoolOp { op, values } => self.bool_op(*op, values, span, state),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => {
                let operand = self.expr(operand, state);
                match operand.kind {
                    ExprKind::Bool(b) => at(ExprKind::Bool(!b)),
                    _ => at(ExprKind::Unary {
                        op: UnaryOp::Not,
                        operand: Box::new(operand),
                    }),
                }
            }
            ExprKind::IfExp { test, body, orelse } => {
                let test = self.expr(test, state);
                match test.kind {
                    ExprKind::Bool(true) => self.expr(body, state),
                    ExprKind::Bool(false) => self.expr(orelse, state),
                    _ => at(ExprKind::IfExp {
                        test: Box::new(test),
                        body: Box::new(self.expr(body, state)),
                        orelse: Box::new(self.expr(orelse, state)),
                    }),
                }
            }
            ExprKind::Call {
                callee,
                args,
                keywords,
            } => {
                let passes_on = matches!(callee, Callee::Function(_));
                let argument = |folder: &mut Folder, arg: &Expr| match &arg.kind {
                    ExprKind::Local(name)
                        if passes_on && folder.known(name, state) == Some(Known::None) =>
                    {
                        Expr {
                            kind: ExprKind::None,
                            span: arg.span,
                        }
                    }
                    _ => folder.expr(arg, state),
                };
                let args = args.iter().map(|a| argument(self, a)).collect();
                let keywords = keywords
                    .iter()
                    .map(|k| crate::ir::untyped::Keyword {
                        value: argument(self, &k.value),
                        ..k.clone()
                    })
                    .collect();
                at(ExprKind::Call {
                    callee: callee.clone(),
                    args,
                    keywords,
                })
            }
            _ => {
                let mut copy = expr.clone();
                self.children(&mut copy, state);
                copy
            }
        }
    }

    /// `a and b`, `a or b` with constant operands folded where that keeps
    /// Python's value: a leading `True and`/`False or` drops, a leading
    /// `False and`/`True or` is the whole value, and nothing after an
    /// operand that short-circuits is evaluated.
    fn bool_op(&mut self, op: BoolOp, values: &[Expr], span: Span, state: &State) -> Expr {
        let stops = |e: &Expr| match (op, &e.kind) {
            (BoolOp::And, ExprKind::Bool(b)) => Some(!*b),
            (BoolOp::Or, ExprKind::Bool(b)) => Some(*b),
            _ => None,
        };
        let mut kept: Vec<Expr> = Vec::new();
        for value in values {
            let value = self.expr(value, state);
            match stops(&value) {
                Some(true) => {
                    kept.push(value);
                    break;
                }
                Some(false) if kept.is_empty() => continue,
                _ => kept.push(value),
            }
        }
        match kept.len() {
            // Every operand was a constant that does not stop: the last one.
            0 => Expr {
                kind: ExprKind::Bool(matches!(op, BoolOp::And)),
                span,
            },
            1 => kept.remove(0),
            _ => Expr {
                kind: ExprKind::BoolOp { op, values: kept },
                span,
            },
        }
    }

    fn children(&mut self, expr: &mut Expr, state: &State) {
        let mut visit = |e: &mut Expr| *e = self.expr(e, state);
        match &mut expr.kind {
            ExprKind::Binary { left, right, .. } => {
                visit(left);
                visit(right);
            }
            ExprKind::Unary { operand, .. } => visit(operand),
            ExprKind::Compare { left, rest } => {
                visit(left);
                rest.iter_mut().for_each(|(_, r)| visit(r));
            }
            ExprKind::BoolOp { values, .. }
            | ExprKind::Tuple(values)
            | ExprKind::List(values)
            | ExprKind::Set(values) => values.iter_mut().for_each(visit),
            ExprKind::Dict(items) => items.iter_mut().for_each(|(k, v)| {
                visit(k);
                visit(v);
            }),
            ExprKind::IfExp { test, body, orelse } => {
                visit(test);
                visit(body);
                visit(orelse);
            }
            ExprKind::Call { args, keywords, .. } => {
                args.iter_mut().for_each(&mut visit);
                keywords.iter_mut().for_each(|k| visit(&mut k.value));
            }
            ExprKind::Method {
                receiver,
                args,
                keywords,
                ..
            } => {
                visit(receiver);
                args.iter_mut().for_each(&mut visit);
                keywords.iter_mut().for_each(|k| visit(&mut k.value));
            }
            ExprKind::Attribute { value, .. } => visit(value),
            ExprKind::Index { value, indices } => {
                visit(value);
                indices.iter_mut().for_each(visit);
            }
            ExprKind::Slice { start, stop, step } => {
                for bound in [start, stop, step].into_iter().flatten() {
                    visit(bound);
                }
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Str(_)
            | ExprKind::Local(_)
            | ExprKind::IsNone { .. }
            | ExprKind::Constant(_)
            | ExprKind::Qualified(_)
            | ExprKind::BuiltinRef(_)
            | ExprKind::FunctionRef(_)
            | ExprKind::Complex(..)
            | ExprKind::Ellipsis => {}
        }
    }
}

/// A name assigned a value is not None from then on.
fn assign_target(target: &Target, state: &mut State) {
    match target {
        Target::Name(name, _) => {
            if let Some(known) = state.as_mut().and_then(|s| s.get_mut(name)) {
                *known = Known::NotNone;
            }
        }
        Target::Tuple(items, _) => items.iter().for_each(|t| assign_target(t, state)),
        Target::Index { .. } => {}
    }
}
