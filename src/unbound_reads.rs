//! Finds variables that may be read before any value is assigned to them.
//!
//! Python raises `UnboundLocalError` for such a read, but only on the paths
//! that reach it; `if x > 0: y = x` followed by `return y` is fine for
//! positive `x`. A compile error would reject valid programs, and a default
//! value would return a wrong answer, so codegen tracks an "assigned" flag
//! for exactly the variables this analysis reports and checks them on read.
//!
//! The analysis is the classic definite-assignment dataflow over the
//! structured typed IR: the assigned set flows forward, `if` branches meet
//! in their intersection, a loop body may run zero times, and `return`,
//! `break` and `continue` end a path.

use std::collections::HashSet;

use crate::ir::typed::{self, ArrayFill, ExprKind};

/// The local variables of `function` with at least one read that some path
/// reaches before any assignment.
pub fn variables(function: &typed::Function) -> HashSet<String> {
    let locals: HashSet<&str> = function.locals.iter().map(|l| l.name.as_str()).collect();
    let params: HashSet<&str> = function.params.iter().map(|p| p.name.as_str()).collect();
    let mut analysis = Analysis {
        locals: locals.difference(&params).copied().collect(),
        found: HashSet::new(),
    };
    let mut assigned: Option<HashSet<String>> = Some(HashSet::new());
    analysis.block(&function.body, &mut assigned);
    analysis.found
}

struct Analysis<'f> {
    /// Variables that start unassigned (locals that are not parameters).
    locals: HashSet<&'f str>,
    found: HashSet<String>,
}

/// The assigned set at a program point; `None` where no path arrives.
type State = Option<HashSet<String>>;

impl Analysis<'_> {
    fn block(&mut self, stmts: &[typed::Stmt], state: &mut State) {
        for stmt in stmts {
            self.stmt(stmt, state);
        }
    }

    fn stmt(&mut self, stmt: &typed::Stmt, state: &mut State) {
        match stmt {
            typed::Stmt::Assign { target, value } => {
                self.reads(value, state);
                self.target_reads(target, state);
                if let Some(assigned) = state {
                    target_names(target, assigned);
                }
            }
            typed::Stmt::If { test, body, orelse } => {
                self.reads(test, state);
                let mut then_state = state.clone();
                let mut else_state = state.clone();
                self.block(body, &mut then_state);
                self.block(orelse, &mut else_state);
                *state = meet(then_state, else_state);
            }
            typed::Stmt::ForRange {
                var,
                start,
                stop,
                step,
                body,
            } => {
                self.reads(start, state);
                self.reads(stop, state);
                if let Some(step) = step {
                    self.reads(step, state);
                }
                let mut body_state = state.clone();
                if let (Some(assigned), Some(var)) = (&mut body_state, var) {
                    assigned.insert(var.clone());
                }
                self.block(body, &mut body_state);
                // The body may run zero times: after the loop, only what was
                // assigned before it is certain.
            }
            typed::Stmt::While { test, body } => {
                self.reads(test, state);
                let mut body_state = state.clone();
                self.block(body, &mut body_state);
                let endless = test.kind == ExprKind::Literal(typed::Literal::Bool(true));
                if endless && !has_break(body) {
                    *state = None;
                }
            }
            typed::Stmt::Return(value) => {
                if let Some(value) = value {
                    self.reads(value, state);
                }
                *state = None;
            }
            typed::Stmt::Break | typed::Stmt::Continue => *state = None,
            typed::Stmt::Expr(value) => self.reads(value, state),
        }
    }

    fn target_reads(&mut self, target: &typed::Target, state: &State) {
        match target {
            typed::Target::Local(_) => {}
            typed::Target::Index { array, indices } => {
                self.reads(array, state);
                indices.iter().for_each(|i| self.reads(i, state));
            }
            typed::Target::Tuple(items) => items.iter().for_each(|t| self.target_reads(t, state)),
        }
    }

    fn reads(&mut self, expr: &typed::Expr, state: &State) {
        let Some(assigned) = state else {
            return;
        };
        visit_locals(expr, &mut |name| {
            if self.locals.contains(name) && !assigned.contains(name) {
                self.found.insert(name.to_string());
            }
        });
    }
}

fn meet(a: State, b: State) -> State {
    match (a, b) {
        (None, other) | (other, None) => other,
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
    }
}

fn target_names(target: &typed::Target, out: &mut HashSet<String>) {
    match target {
        typed::Target::Local(name) => {
            out.insert(name.clone());
        }
        typed::Target::Index { .. } => {}
        typed::Target::Tuple(items) => items.iter().for_each(|t| target_names(t, out)),
    }
}

fn has_break(stmts: &[typed::Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Break => true,
        typed::Stmt::If { body, orelse, .. } => has_break(body) || has_break(orelse),
        _ => false,
    })
}

/// Calls `visit` with the name of every local the expression reads.
fn visit_locals(expr: &typed::Expr, visit: &mut dyn FnMut(&str)) {
    match &expr.kind {
        ExprKind::Local(name) => visit(name),
        ExprKind::Literal(_) | ExprKind::Constant(_) | ExprKind::FunctionRef(_) => {}
        ExprKind::Cast(inner)
        | ExprKind::Neg(inner)
        | ExprKind::Not(inner)
        | ExprKind::Invert(inner)
        | ExprKind::Truthy(inner)
        | ExprKind::CopyArray(inner)
        | ExprKind::Shape(inner)
        | ExprKind::Size(inner) => visit_locals(inner, visit),
        ExprKind::Binary { left, right, .. } => {
            visit_locals(left, visit);
            visit_locals(right, visit);
        }
        ExprKind::CallValue { callee, args } => {
            visit_locals(callee, visit);
            args.iter().for_each(|a| visit_locals(a, visit));
        }
        ExprKind::Compare {
            operands: values, ..
        }
        | ExprKind::Tuple(values)
        | ExprKind::Call { args: values, .. }
        | ExprKind::Intrinsic { args: values, .. } => {
            values.iter().for_each(|v| visit_locals(v, visit))
        }
        // `and`/`or` may skip later operands; a read there is still a read
        // on the paths that evaluate it, so it counts.
        ExprKind::BoolOp { values, .. } => values.iter().for_each(|v| visit_locals(v, visit)),
        ExprKind::IfExp { test, body, orelse } => {
            visit_locals(test, visit);
            visit_locals(body, visit);
            visit_locals(orelse, visit);
        }
        ExprKind::Index { array, indices } => {
            visit_locals(array, visit);
            indices.iter().for_each(|i| visit_locals(i, visit));
        }
        ExprKind::SubArray { array, index } => {
            visit_locals(array, visit);
            visit_locals(index, visit);
        }
        ExprKind::NewArray { fill, shape, .. } => {
            if let ArrayFill::Value(value) = fill {
                visit_locals(value, visit);
            }
            shape.iter().for_each(|s| visit_locals(s, visit));
        }
        ExprKind::Dim { array, .. } => visit_locals(array, visit),
        ExprKind::TupleGet { tuple, .. } => visit_locals(tuple, visit),
    }
}
