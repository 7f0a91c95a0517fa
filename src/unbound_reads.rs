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

use crate::ir::typed::{self, ExprKind};

/// The local variables of `function` with at least one read that some path
/// reaches before any assignment.
pub fn variables(function: &typed::Function) -> HashSet<String> {
    let locals: HashSet<&str> = function.locals.iter().map(|l| l.name.as_str()).collect();
    // A parameter in the instance where it is None starts unassigned.
    let params: HashSet<&str> = function
        .params
        .iter()
        .filter(|p| p.ty != crate::types::Type::None)
        .map(|p| p.name.as_str())
        .collect();
    let mut analysis = Analysis {
        locals: locals.difference(&params).copied().collect(),
        found: HashSet::new(),
    };
    let mut assigned: Option<HashSet<String>> = Some(HashSet::new());
    analysis.block(&function.body, &mut assigned);
    analysis.found
}

/// The variables among `names` that some path through `body`, run from its
/// start with none of them assigned, reads before assigning: for a parallel
/// loop body, the variables whose value would flow from one iteration into
/// another.
pub fn read_before_assigned(body: &[typed::Stmt], names: &HashSet<&str>) -> HashSet<String> {
    let mut analysis = Analysis {
        locals: names.clone(),
        found: HashSet::new(),
    };
    let mut assigned: Option<HashSet<String>> = Some(HashSet::new());
    analysis.block(body, &mut assigned);
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
                ..
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
            typed::Stmt::Break | typed::Stmt::Continue | typed::Stmt::Raise { .. } => *state = None,
            typed::Stmt::Expr(value) | typed::Stmt::Assert { test: value, .. } => {
                self.reads(value, state)
            }
        }
    }

    fn target_reads(&mut self, target: &typed::Target, state: &State) {
        match target {
            typed::Target::Local(_) => {}
            typed::Target::Index { array, indices, .. } => {
                self.reads(array, state);
                indices.iter().for_each(|i| self.reads(i, state));
            }
            typed::Target::Tuple(items) => items.iter().for_each(|t| self.target_reads(t, state)),
            typed::Target::View { view, .. } => self.reads(view, state),
            typed::Target::Select { array, index, .. }
            | typed::Target::Item {
                list: array, index, ..
            } => {
                self.reads(array, state);
                self.reads(index, state);
            }
        }
    }

    fn reads(&mut self, expr: &typed::Expr, state: &State) {
        let Some(assigned) = state else {
            return;
        };
        // `and`/`or` may skip later operands; a read there is still a read
        // on the paths that evaluate it, so it counts.
        expr.walk(&mut |e| {
            if let ExprKind::Local(name) = &e.kind {
                if self.locals.contains(name.as_str()) && !assigned.contains(name) {
                    self.found.insert(name.clone());
                }
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
        typed::Target::Index { .. }
        | typed::Target::View { .. }
        | typed::Target::Select { .. }
        | typed::Target::Item { .. } => {}
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
