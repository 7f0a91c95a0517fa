//! Which array element accesses are proven in bounds.
//!
//! An access `a[e0, e1, ...]` needs no index check when, for every axis,
//! `0 <= e_k < a.shape[k]` holds on every execution. The proof uses three
//! kinds of facts, each valid only where the values involved cannot change:
//!
//! - *Stable arrays*: a parameter never rebound, or a local bound exactly
//!   once by a statement at the top level of the function body (so it runs
//!   at most once). Their dimensions are atoms; a stable local made by
//!   `np.zeros((n, m))`, `np.*_like(b)` or `b.copy()` has the dimensions of
//!   its shape, as forms.
//! - *Definitions*: an int local bound exactly once at the top level to an
//!   affine form (`n = len(a) - 1`, `h, w = img.shape`) stands for it.
//! - *Loop ranges*: inside `for i in range(lo, hi)` or `range(lo, hi, k)`
//!   with a constant `k > 0`, where the body never assigns `i`, `i` lies in
//!   `lo ..= hi - 1` (the body runs only when `lo < hi`); `lo` and `hi` are
//!   forms over stable dimensions and enclosing loop variables, evaluated
//!   once when the loop starts.
//!
//! - *Down-counters*: inside a `for` loop's body, an int local set once by
//!   an affine form (`j = i - 1`) and otherwise only decremented by one, each
//!   time at the top of a `while` body whose test starts with `j >= c`
//!   (before anything else there assigns it), stays between that form and
//!   the smallest of its start and `c - 1`, for the rest of the body.
//! - *Guards*: after a conjunct `v >= c` (or `v > c`) of a `while` or `if`
//!   test, for a variable with a range here, `v >= c` holds in the later
//!   conjuncts and in the body up to the first statement assigning `v`.
//!
//! The smallest and largest value of an index form follow by replacing
//! each loop variable with the end of its range that minimises or maximises
//! the form, innermost first. What cannot be stated in those facts (a
//! parameter `n`, an index read from another array, a `while` loop) keeps
//! its check. The forms' size caps (`linear.rs`) and the runtime's
//! `MAX_DIMENSION` make every form's value fit in an `i64`, so the
//! generated code's wrapping arithmetic computes exactly these values.

use std::cell::Cell;
use std::collections::HashMap;

use super::flow::{extreme_of, Bounds, FloatFact, FloatTerm, Flow};
use super::linear::{Atom, Linear};
use super::ranges::{always_leaves, negated};
use super::{Access, AccessKind, Decision};
use crate::ir::typed::{self, ExprKind, Intrinsic, Stmt, Target};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::Type;

/// The accesses of one function, in evaluation order of their statements.
pub fn accesses(function: &typed::Function, intervals: &super::ranges::Intervals) -> Vec<Access> {
    let mut facts = FunctionFacts::new(function, intervals);
    facts.collect_definitions(&function.body);
    facts.collect_shaped(&function.body);
    let mut out = Vec::new();
    let mut flow = Flow::default();
    for (position, stmt) in function.body.iter().enumerate() {
        facts.top_now.set(position);
        flow = facts.step(stmt, position, &mut Vec::new(), &mut out, &flow);
    }
    out
}

/// What a loop variable ranges over inside its loop's body.
#[derive(Clone, Debug)]
struct LoopRange {
    var: String,
    lo: Linear,
    hi: Linear,
    /// The loop as the user wrote it, for the proof text.
    source: String,
    /// The address of the loop statement: the key of its version check.
    key: usize,
    /// The position, in the function body, of the top-level statement that
    /// holds the loop.
    top: usize,
    /// Conditions over dimensions (`form <= 0`) the range holds under
    /// (see `flow.rs`); empty for loops.
    assumptions: Vec<Linear>,
}

struct FunctionFacts<'f> {
    function: &'f typed::Function,
    /// How many statements assign each variable (loop headers included).
    assignments: HashMap<String, usize>,
    /// Stable int locals and the forms they stand for.
    definitions: HashMap<String, Linear>,
    /// Stable array variables; for locals made with a known shape, the
    /// forms of their dimensions.
    stable_arrays: HashMap<String, Option<Vec<Linear>>>,
    /// Array locals bound more than once (`u, v = v, u` between sweeps) to
    /// arrays that all have the same shape, as forms over stable values.
    shaped: HashMap<String, Vec<Linear>>,
    /// Array locals only ever bound to arrays made in this function (by
    /// `np.zeros`, `np.empty_like`, `.copy()`, ...): C-contiguous and
    /// writable, whatever the caller passed.
    fresh: Vec<String>,
    /// For stable array locals, the position of the top-level statement that
    /// binds them: a version check may read their shape only after it.
    bound_at: HashMap<String, usize>,
    /// Int variables never rebound that gave a stable array its shape
    /// (`counts = np.zeros(nbins)`): after the top-level statement at the
    /// position given, the variable equals that dimension.
    aliases: HashMap<String, (Linear, usize)>,
    /// Float locals bound exactly once, by a top-level statement, to an
    /// expression over variables never rebound: at any later point the
    /// local equals its expression evaluated there.
    float_definitions: HashMap<String, &'f typed::Expr>,
    /// The position of the top-level statement being analysed.
    top_now: Cell<usize>,
    /// The value ranges' intervals of the int variables, valid anywhere a
    /// variable holds a value: the side of a flow bound the statements
    /// before do not give (`i` only ever counts up from 0).
    intervals: &'f super::ranges::Intervals,
    /// The int locals, in order, for the ranges the intervals alone give.
    int_locals: Vec<String>,
}

impl<'f> FunctionFacts<'f> {
    fn new(function: &'f typed::Function, intervals: &'f super::ranges::Intervals) -> Self {
        let mut assignments = HashMap::new();
        count_assignments(&function.body, &mut assignments);
        let mut stable_arrays = HashMap::new();
        for param in &function.params {
            if matches!(param.ty, Type::Array(_))
                && !param.reassigned
                && !assignments.contains_key(&param.name)
            {
                stable_arrays.insert(param.name.clone(), None);
            }
        }
        FunctionFacts {
            function,
            assignments,
            definitions: HashMap::new(),
            stable_arrays,
            shaped: HashMap::new(),
            fresh: Vec::new(),
            bound_at: HashMap::new(),
            aliases: HashMap::new(),
            float_definitions: HashMap::new(),
            top_now: Cell::new(0),
            intervals,
            int_locals: function
                .locals
                .iter()
                .filter(|local| local.ty == Type::Int && !function.is_parameter(&local.name))
                .map(|local| local.name.clone())
                .collect(),
        }
    }

    /// Whether `name` keeps one value from its first binding on: a
    /// parameter never rebound, or a local bound by one statement.
    fn never_rebound(&self, name: &str) -> bool {
        if self.function.is_parameter(name) {
            let rebound = self
                .function
                .params
                .iter()
                .any(|p| p.name == name && p.reassigned);
            !rebound && !self.assignments.contains_key(name)
        } else {
            self.assignments.get(name) == Some(&1)
        }
    }

    fn assigned_once(&self, name: &str) -> bool {
        self.assignments.get(name) == Some(&1) && !self.function.is_parameter(name)
    }

    /// Definitions and stable arrays from the top-level statements, in
    /// order, so that each may use the ones before it.
    fn collect_definitions(&mut self, body: &'f [Stmt]) {
        for (position, stmt) in body.iter().enumerate() {
            self.top_now.set(position);
            let Stmt::Assign { target, value } = stmt else {
                continue;
            };
            match target {
                Target::Local(name) => self.define(name, value, position),
                Target::Tuple(targets) => {
                    let parts: Vec<&typed::Expr> = match &value.kind {
                        ExprKind::Tuple(items) => items.iter().collect(),
                        _ => continue,
                    };
                    if parts.len() != targets.len() {
                        continue;
                    }
                    for (target, part) in targets.iter().zip(parts) {
                        if let Target::Local(name) = target {
                            self.define(name, part, position);
                        }
                    }
                }
                Target::Index { .. }
                | Target::View { .. }
                | Target::Select { .. }
                | Target::Item { .. } => {}
            }
        }
        self.top_now.set(0);
    }

    fn define(&mut self, name: &str, value: &'f typed::Expr, position: usize) {
        if !self.assigned_once(name) {
            return;
        }
        match &value.ty {
            Type::Int => {
                if let Some(form) = self.form(value, &[]) {
                    if !form.mentions_loop_var() {
                        self.definitions.insert(name.to_string(), form);
                    }
                }
            }
            Type::Array(_) => {
                let dims = self.array_dims(value);
                if let (None, ExprKind::NewArray { shape, .. }) = (&dims, &value.kind) {
                    for (axis, size) in shape.iter().enumerate() {
                        let ExprKind::Local(size) = &size.kind else {
                            continue;
                        };
                        if self.never_rebound(size)
                            && !self.definitions.contains_key(size)
                            && !self.aliases.contains_key(size)
                        {
                            let dim = Linear::atom(Atom::Dim(name.to_string(), axis));
                            self.aliases.insert(size.clone(), (dim, position));
                        }
                    }
                }
                self.stable_arrays.insert(name.to_string(), dims);
                self.bound_at.insert(name.to_string(), position);
            }
            Type::Float => {
                let mut stable = true;
                value.walk(&mut |e| {
                    if let ExprKind::Local(used) = &e.kind {
                        stable &= self.never_rebound(used);
                    }
                });
                if stable {
                    self.float_definitions.insert(name.to_string(), value);
                }
            }
            _ => {}
        }
    }

    /// The dimensions of a freshly made array, as forms, when known.
    fn array_dims(&self, value: &typed::Expr) -> Option<Vec<Linear>> {
        match &value.kind {
            ExprKind::NewArray { shape, .. } => shape.iter().map(|s| self.form(s, &[])).collect(),
            ExprKind::CopyArray(inner) => {
                let ExprKind::Local(source) = &inner.kind else {
                    return None;
                };
                let ndim = inner.array_type()?.ndim as usize;
                (0..ndim).map(|axis| self.dim(source, axis)).collect()
            }
            ExprKind::Local(source) => {
                let ndim = value.array_type()?.ndim as usize;
                (0..ndim).map(|axis| self.dim(source, axis)).collect()
            }
            _ => None,
        }
    }

    /// `a.shape[axis]` as a form, for a stable or shaped array.
    fn dim(&self, array: &str, axis: usize) -> Option<Linear> {
        if let Some(dims) = self.shaped.get(array) {
            return dims.get(axis).cloned();
        }
        match self.stable_arrays.get(array)? {
            Some(dims) => dims.get(axis).cloned(),
            None => Some(Linear::atom(Atom::Dim(array.to_string(), axis))),
        }
    }

    /// The shape of an array value as forms, if known: a new array's shape,
    /// or the shape of the stable or shaped variable it copies or aliases.
    fn value_dims(&self, value: &typed::Expr) -> Option<Vec<Linear>> {
        let ndim = value.array_type()?.ndim as usize;
        match &value.kind {
            ExprKind::NewArray { shape, .. } => shape.iter().map(|s| self.form(s, &[])).collect(),
            ExprKind::CopyArray(inner) => match &inner.kind {
                ExprKind::Local(source) => (0..ndim).map(|axis| self.dim(source, axis)).collect(),
                _ => None,
            },
            ExprKind::Local(source) => (0..ndim).map(|axis| self.dim(source, axis)).collect(),
            _ => None,
        }
    }

    /// Array locals whose every value is a new array or another such local.
    /// Found by removing, until none is left to remove, the candidates with
    /// a value of any other kind.
    fn collect_fresh(&mut self, values: &HashMap<String, Vec<Option<typed::Expr>>>) {
        let mut fresh: Vec<String> = values
            .keys()
            .filter(|name| !self.function.is_parameter(name))
            .cloned()
            .collect();
        fresh.sort();
        loop {
            let before = fresh.len();
            let current = fresh.clone();
            fresh.retain(|name| {
                values[name]
                    .iter()
                    .all(|value| match value.as_ref().map(|v| &v.kind) {
                        Some(ExprKind::NewArray { .. } | ExprKind::CopyArray(_)) => true,
                        Some(ExprKind::Local(source)) => current.contains(source),
                        _ => false,
                    })
            });
            if fresh.len() == before {
                break;
            }
        }
        self.fresh = fresh;
    }

    /// Array locals that are not stable but keep one shape: every value
    /// bound to them, anywhere in the function, has the same shape forms.
    /// Found optimistically (a swap `u, v = v, u` makes each variable's
    /// shape depend on the other's) and then verified against every value.
    fn collect_shaped(&mut self, body: &[Stmt]) {
        let mut values: HashMap<String, Vec<Option<typed::Expr>>> = HashMap::new();
        collect_bindings(body, &mut values);
        self.collect_fresh(&values);
        let mut names: Vec<String> = values
            .keys()
            .filter(|name| {
                !self.stable_arrays.contains_key(*name) && !self.function.is_parameter(name)
            })
            .cloned()
            .collect();
        names.sort();
        let pending = |value: &typed::Expr, shaped: &HashMap<String, Vec<Linear>>| {
            let source = match &value.kind {
                ExprKind::Local(source) => source,
                ExprKind::CopyArray(inner) => match &inner.kind {
                    ExprKind::Local(source) => source,
                    _ => return false,
                },
                _ => return false,
            };
            names.contains(source) && !shaped.contains_key(source)
        };
        loop {
            let mut changed = false;
            for name in &names {
                if self.shaped.contains_key(name) {
                    continue;
                }
                let mut candidate: Option<Vec<Linear>> = None;
                let mut consistent = true;
                for value in &values[name] {
                    let Some(value) = value else {
                        consistent = false;
                        break;
                    };
                    match self.value_dims(value) {
                        Some(dims) => match &candidate {
                            None => candidate = Some(dims),
                            Some(known) => consistent &= *known == dims,
                        },
                        None => consistent &= pending(value, &self.shaped),
                    }
                }
                if let (true, Some(dims)) = (consistent, candidate) {
                    self.shaped.insert(name.clone(), dims);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // Every value must now have exactly the assumed shape.
        loop {
            let wrong = self.shaped.keys().find(|name| {
                values[*name].iter().any(|value| {
                    value.as_ref().and_then(|v| self.value_dims(v)).as_ref()
                        != self.shaped.get(*name)
                })
            });
            match wrong.cloned() {
                Some(name) => {
                    self.shaped.remove(&name);
                }
                None => break,
            }
        }
    }

    /// The affine form of an int expression, if it has one.
    fn form(&self, expr: &typed::Expr, loops: &[LoopRange]) -> Option<Linear> {
        match &expr.kind {
            ExprKind::Literal(typed::Literal::Int(v)) => Linear::constant(*v),
            ExprKind::Local(name) => {
                if loops.iter().any(|l| l.var == *name) {
                    Some(Linear::atom(Atom::LoopVar(name.clone())))
                } else if let Some(form) = self.definitions.get(name) {
                    Some(form.clone())
                } else {
                    let (dim, position) = self.aliases.get(name)?;
                    (self.top_now.get() > *position).then(|| dim.clone())
                }
            }
            ExprKind::Dim { array, axis } => match &array.kind {
                ExprKind::Local(name) => self.dim(name, *axis),
                _ => None,
            },
            ExprKind::TupleGet { tuple, index } => match &tuple.kind {
                ExprKind::Tuple(items) => self.form(items.get(*index)?, loops),
                _ => None,
            },
            ExprKind::Neg(inner) if expr.ty == Type::Int => self.form(inner, loops)?.scaled(-1),
            ExprKind::Binary { op, left, right } if expr.ty == Type::Int => {
                let l = self.form(left, loops);
                let r = self.form(right, loops);
                match op {
                    BinaryOp::Add => l?.add_scaled(&r?, 1),
                    BinaryOp::Sub => l?.add_scaled(&r?, -1),
                    BinaryOp::Mul => {
                        let (l, r) = (l?, r?);
                        if l.terms.is_empty() {
                            r.scaled(l.constant)
                        } else if r.terms.is_empty() {
                            l.scaled(r.constant)
                        } else {
                            None
                        }
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn block(
        &self,
        stmts: &[Stmt],
        top: usize,
        loops: &mut Vec<LoopRange>,
        out: &mut Vec<Access>,
        flow: Flow,
    ) -> Flow {
        let mut flow = flow;
        let mut counters = 0;
        for (position, stmt) in stmts.iter().enumerate() {
            flow = self.step(stmt, top, loops, out, &flow);
            if let Some(range) = self.down_counter(stmt, &stmts[position + 1..], top, loops) {
                loops.push(range);
                counters += 1;
            }
        }
        loops.truncate(loops.len() - counters);
        flow
    }

    /// One statement, with the ranges `flow` gives the int variables it
    /// does not assign; the flow after it.
    fn step(
        &self,
        stmt: &Stmt,
        top: usize,
        loops: &mut Vec<LoopRange>,
        out: &mut Vec<Access>,
        flow: &Flow,
    ) -> Flow {
        let mut assigned = HashMap::new();
        count_assignments(std::slice::from_ref(stmt), &mut assigned);
        let ranges = self.flow_ranges(flow, loops, top, |var| assigned.contains_key(var));
        let before = loops.len();
        loops.extend(ranges);
        let after = self.stmt(stmt, &assigned, top, loops, out, flow);
        loops.truncate(before);
        after
    }

    /// Whether `var` is a loop variable here, a definition or an alias: its
    /// form states it better than a range.
    fn has_own_form(&self, var: &str, loops: &[LoopRange]) -> bool {
        loops.iter().any(|l| l.key != 0 && l.var == var)
            || self.definitions.contains_key(var)
            || self
                .aliases
                .get(var)
                .is_some_and(|(_, position)| self.top_now.get() > *position)
    }

    /// The ranges `flow` gives the int variables `skip` does not exclude:
    /// each int local with a bound on both sides, from the flow, with a
    /// missing side from its interval.
    fn flow_ranges(
        &self,
        flow: &Flow,
        loops: &[LoopRange],
        top: usize,
        skip: impl Fn(&str) -> bool,
    ) -> Vec<LoopRange> {
        let mut known: Vec<(&String, Bounds)> = Vec::new();
        for var in &self.int_locals {
            let from_flow = flow.ints.get(var).cloned().unwrap_or_default();
            let (low, high) = self.intervals.variable_bounds(var);
            let bounds = Bounds {
                lo: from_flow.lo.or_else(|| low.and_then(Linear::constant)),
                hi: from_flow.hi.or_else(|| high.and_then(Linear::constant)),
                assumptions: from_flow.assumptions,
            };
            known.push((var, bounds));
        }
        for (var, bounds) in flow
            .ints
            .iter()
            .filter(|(var, _)| !self.int_locals.contains(var))
        {
            known.push((var, bounds.clone()));
        }
        let mut ranges = Vec::new();
        for (var, bounds) in &known {
            let var = *var;
            // A variable with a form of its own (a definition, a loop
            // variable) is better stated by it.
            if skip(var)
                || !bounds.assumptions.iter().all(only_dimensions)
                || self.has_own_form(var, loops)
            {
                continue;
            }
            let (Some(lo), Some(hi)) = (&bounds.lo, &bounds.hi) else {
                continue;
            };
            let Some(stop) = Linear::constant(1).and_then(|one| hi.add_scaled(&one, 1)) else {
                continue;
            };
            // Stated over dimensions where the loop ranges allow it.
            let (shown_lo, shown_hi) = match (extreme(lo, loops, false), extreme(hi, loops, true)) {
                (Some(l), Some(h)) => (l, h),
                _ => (lo.clone(), hi.clone()),
            };
            let source = if shown_lo == shown_hi {
                format!("{var} is {shown_lo} here (by the statements before)")
            } else {
                format!(
                    "{var} is between {shown_lo} and {shown_hi} here (by the statements before)"
                )
            };
            ranges.push(LoopRange {
                var: var.clone(),
                lo: lo.clone(),
                hi: stop,
                source,
                key: 0,
                top,
                assumptions: bounds.assumptions.clone(),
            });
        }
        ranges
    }

    /// The range of a down-counter (see the module comment) that `stmt`
    /// starts, valid in the statements after it, `rest`.
    fn down_counter(
        &self,
        stmt: &Stmt,
        rest: &[Stmt],
        top: usize,
        loops: &[LoopRange],
    ) -> Option<LoopRange> {
        let Stmt::Assign {
            target: Target::Local(var),
            value,
        } = stmt
        else {
            return None;
        };
        let is_int_local = self
            .function
            .locals
            .iter()
            .any(|l| l.name == *var && l.ty == Type::Int);
        if loops.is_empty() || !is_int_local || !self.assigned_once_more_than(var, rest) {
            return None;
        }
        let start = self.form(value, loops)?;
        // A start bounded only under assumptions would lose them here.
        if !assumptions_behind(std::slice::from_ref(&start), loops).is_empty() {
            return None;
        }
        let start_low = extreme(&start, loops, false)?;
        if !start_low.terms.is_empty() {
            return None;
        }
        let mut guards = Vec::new();
        if !decrements_guarded(rest, var, &mut guards) || guards.is_empty() {
            return None;
        }
        let low = guards
            .iter()
            .fold(start_low.constant, |low, guard| low.min(guard - 1));
        Some(LoopRange {
            var: var.clone(),
            lo: Linear::constant(low)?,
            hi: start.add_scaled(&Linear::constant(1)?, 1)?,
            source: format!("{var} counts down by one from {start} to at least {low}"),
            key: 0,
            top,
            assumptions: Vec::new(),
        })
    }

    /// Whether every assignment to `var` in the function is the one just
    /// made or one in `rest`.
    fn assigned_once_more_than(&self, var: &str, rest: &[Stmt]) -> bool {
        let mut later = HashMap::new();
        count_assignments(rest, &mut later);
        self.assignments.get(var).copied() == Some(1 + later.get(var).copied().unwrap_or(0))
            && !self.function.is_parameter(var)
    }

    /// The accesses of a `while` or `if` test, and its body with the test's
    /// guards (see the module comment), starting with `flow`; the flow at
    /// the end of the body.
    fn guarded(
        &self,
        test: &typed::Expr,
        test_flow: &Flow,
        body: &[Stmt],
        top: usize,
        loops: &mut Vec<LoopRange>,
        out: &mut Vec<Access>,
        flow: Flow,
    ) -> Flow {
        let conjuncts: Vec<&typed::Expr> = match &test.kind {
            ExprKind::BoolOp {
                op: crate::ir::BoolOp::And,
                values,
            } => values.iter().collect(),
            _ => vec![test],
        };
        let before = loops.len();
        // Each conjunct runs with the ranges of the flow where the test is
        // evaluated, narrowed by the conjuncts before it (`while i < n and
        // x[i] > 0`).
        let mut test_flow = test_flow.clone();
        for conjunct in conjuncts {
            let ranges = self.flow_ranges(&test_flow, loops, top, |_| false);
            let pushed = ranges.len();
            loops.extend(ranges);
            self.reads(conjunct, loops, out);
            loops.truncate(loops.len() - pushed);
            test_flow = self.narrowed_flow(&test_flow, conjunct, true, loops);
            if let Some(range) = guard(conjunct).and_then(|(var, low)| narrowed(loops, var, low)) {
                loops.push(range);
            }
        }
        let guards: Vec<LoopRange> = loops.drain(before..).collect();
        let mut active = guards;
        let mut flow = flow;
        for stmt in body {
            let mut assigned = HashMap::new();
            count_assignments(std::slice::from_ref(stmt), &mut assigned);
            active.retain(|range| !assigned.contains_key(&range.var));
            let pushed = active.len();
            loops.extend(active.iter().cloned());
            flow = self.step(stmt, top, loops, out, &flow);
            loops.truncate(loops.len() - pushed);
        }
        flow
    }

    fn reads(&self, expr: &typed::Expr, loops: &[LoopRange], out: &mut Vec<Access>) {
        expr.walk(&mut |e| {
            if let ExprKind::Index { array, indices, .. } = &e.kind {
                out.push(self.access(array, indices, AccessKind::Read, loops));
            }
        })
    }

    /// `stmt`'s accesses and the flow after it; `assigned` counts the
    /// variables it assigns.
    fn stmt(
        &self,
        stmt: &Stmt,
        assigned: &HashMap<String, usize>,
        top: usize,
        loops: &mut Vec<LoopRange>,
        out: &mut Vec<Access>,
        flow: &Flow,
    ) -> Flow {
        let unchanged = flow.without(assigned.keys().map(String::as_str));
        if let Stmt::While { test, body } = stmt {
            let inside = self.narrowed_flow(&unchanged, test, true, loops);
            self.guarded(test, &unchanged, body, top, loops, out, inside);
            return unchanged;
        }
        if let Stmt::If { test, body, orelse } = stmt {
            let then_flow = self.narrowed_flow(flow, test, true, loops);
            let else_flow = self.narrowed_flow(flow, test, false, loops);
            let then_end = self.guarded(test, flow, body, top, loops, out, then_flow);
            let else_end = self.block(orelse, top, loops, out, else_flow);
            return match (always_leaves(body), always_leaves(orelse)) {
                (true, true) => unchanged,
                (true, false) => else_end,
                (false, true) => then_end,
                (false, false) => then_end.join(&else_end),
            };
        }
        stmt.for_each_expr(&mut |expr| self.reads(expr, loops, out));
        if let Stmt::Assign {
            target: target @ (Target::Index { .. } | Target::Tuple(_)),
            ..
        } = stmt
        {
            self.stores(target, loops, out);
        }
        match stmt {
            Stmt::ForRange {
                var,
                start,
                stop,
                step,
                body,
                ..
            } => {
                let key = std::ptr::from_ref(stmt) as usize;
                let range = var.as_ref().and_then(|var| {
                    self.loop_range(var, start, stop, step.as_ref(), body, loops, key)
                });
                let range = range.map(|range| LoopRange { key, top, ..range });
                let pushed = range.is_some();
                loops.extend(range);
                self.block(body, top, loops, out, unchanged.clone());
                if pushed {
                    loops.pop();
                }
                unchanged
            }
            Stmt::Assign {
                target: Target::Local(var),
                value,
            } if value.ty == Type::Int => {
                let mut after = unchanged;
                if let Some(bounds) = self.int_bounds(value, flow, loops) {
                    after.ints.insert(var.clone(), bounds);
                }
                after
            }
            Stmt::Assign {
                target: Target::Local(var),
                value,
            } if value.ty == Type::Float => {
                let mut after = unchanged;
                let real = real_loops(loops);
                if self.float_non_negative(value, flow, &real, 0) {
                    after.floats.push(FloatFact {
                        left: FloatTerm::Var(var.clone()),
                        right: FloatTerm::Const(0.0),
                    });
                }
                after
            }
            Stmt::Assert { test, .. } => self.narrowed_flow(&unchanged, test, true, loops),
            other => {
                for body in other.nested() {
                    self.block(body, top, loops, out, unchanged.clone());
                }
                unchanged
            }
        }
    }

    /// Bounds of the int expression `value` from `flow` and the loop ranges
    /// (see `flow.rs`), in forms over dimensions and loop variables only.
    fn int_bounds(&self, value: &typed::Expr, flow: &Flow, loops: &[LoopRange]) -> Option<Bounds> {
        let real = real_loops(loops);
        let bounds = self.int_bounds_in(value, flow, &real, 0)?;
        (!bounds.is_empty()).then_some(bounds)
    }

    fn int_bounds_in(
        &self,
        e: &typed::Expr,
        flow: &Flow,
        real: &[LoopRange],
        depth: usize,
    ) -> Option<Bounds> {
        if depth > MAX_DEPTH || e.ty != Type::Int {
            return None;
        }
        if let ExprKind::Local(name) = &e.kind {
            if let Some(bounds) = flow.ints.get(name) {
                return Some(bounds.clone());
            }
        }
        if let Some(form) = self.form(e, real) {
            return Some(Bounds::exactly(form));
        }
        let rec = |e: &typed::Expr| self.int_bounds_in(e, flow, real, depth + 1);
        let union = |a: &Bounds, b: &Bounds| {
            let mut all = a.assumptions.clone();
            all.extend(
                b.assumptions
                    .iter()
                    .filter(|x| !a.assumptions.contains(x))
                    .cloned(),
            );
            all
        };
        match &e.kind {
            ExprKind::Binary {
                op: op @ (BinaryOp::Add | BinaryOp::Sub),
                left,
                right,
            } => {
                let (l, r) = (rec(left)?, rec(right)?);
                let sign = if *op == BinaryOp::Add { 1 } else { -1 };
                let (r_lo, r_hi) = if sign == 1 {
                    (&r.lo, &r.hi)
                } else {
                    (&r.hi, &r.lo)
                };
                let add = |a: &Option<Linear>, b: &Option<Linear>| {
                    a.as_ref()?.add_scaled(b.as_ref()?, sign)
                };
                Some(Bounds {
                    lo: add(&l.lo, r_lo),
                    hi: add(&l.hi, r_hi),
                    assumptions: union(&l, &r),
                })
            }
            ExprKind::Intrinsic {
                op: Intrinsic::FloatToInt | Intrinsic::RoundToInt | Intrinsic::MathToInt(_),
                args,
            } if args.len() == 1 && self.float_non_negative(&args[0], flow, real, depth + 1) => {
                Some(Bounds {
                    lo: Linear::constant(0),
                    hi: None,
                    assumptions: Vec::new(),
                })
            }
            ExprKind::Intrinsic {
                op: op @ (Intrinsic::Min | Intrinsic::Max),
                args,
            } if args.len() == 2 => {
                let a = rec(&args[0]).unwrap_or_default();
                let b = rec(&args[1]).unwrap_or_default();
                let mut assumptions = union(&a, &b);
                // min(a, b) is at most either's upper bound and at least the
                // smaller lower bound; max the other way round.
                let largest = *op == Intrinsic::Max;
                let (either_a, either_b, both_a, both_b) = if largest {
                    (&a.lo, &b.lo, &a.hi, &b.hi)
                } else {
                    (&a.hi, &b.hi, &a.lo, &b.lo)
                };
                let either = match (either_a, either_b) {
                    (Some(x), Some(y)) => {
                        let d = x.add_scaled(y, -1);
                        let x_tighter = d.is_some_and(|d| {
                            if largest {
                                d.provably_non_negative()
                            } else {
                                d.provably_non_positive()
                            }
                        });
                        Some(if x_tighter { x.clone() } else { y.clone() })
                    }
                    (x, y) => x.clone().or_else(|| y.clone()),
                };
                let both = match (both_a, both_b) {
                    (Some(x), Some(y)) => extreme_of(x, y, largest, &mut assumptions),
                    _ => None,
                };
                let (lo, hi) = if largest {
                    (either, both)
                } else {
                    (both, either)
                };
                Some(Bounds {
                    lo,
                    hi,
                    assumptions,
                })
            }
            ExprKind::IfExp { body, orelse, .. } => Some(rec(body)?.join(&rec(orelse)?)),
            _ => None,
        }
    }

    /// Whether the float expression `e` is never below zero (it may be NaN
    /// or -0.0), by `flow`'s comparisons, the definitions of float locals
    /// and the bounds of ints: sums, products and quotients of such values,
    /// `a - b` where `a >= b` is known, `abs`, `math.sqrt`, `math.exp`.
    fn float_non_negative(
        &self,
        e: &typed::Expr,
        flow: &Flow,
        real: &[LoopRange],
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let rec = |e: &typed::Expr| self.float_non_negative(e, flow, real, depth + 1);
        match &e.kind {
            ExprKind::Literal(typed::Literal::Float(v)) => *v >= 0.0,
            ExprKind::Literal(typed::Literal::Int(v)) => *v >= 0,
            ExprKind::Literal(typed::Literal::Bool(_)) => true,
            ExprKind::Cast(inner) => match inner.ty {
                Type::Bool => true,
                Type::Float => rec(inner),
                // Only a bound that holds unconditionally: a float fact
                // keeps no assumptions.
                Type::Int => self
                    .int_bounds_in(inner, flow, real, depth + 1)
                    .filter(|b| b.assumptions.is_empty())
                    .and_then(|b| b.lo)
                    .and_then(|lo| extreme(&lo, real, false))
                    .is_some_and(|lo| lo.provably_non_negative()),
                _ => false,
            },
            ExprKind::Binary {
                op: BinaryOp::Add | BinaryOp::Mul | BinaryOp::TrueDiv,
                left,
                right,
            } if e.ty == Type::Float => rec(left) && rec(right),
            ExprKind::Binary {
                op: BinaryOp::Sub,
                left,
                right,
            } if e.ty == Type::Float => match (float_term(left), float_term(right)) {
                (Some(a), Some(b)) => flow.float_at_least(&a, &b),
                _ => false,
            },
            ExprKind::Local(name) if e.ty == Type::Float => {
                flow.float_at_least(&FloatTerm::Var(name.clone()), &FloatTerm::Const(0.0))
                    || self.float_definitions.get(name).is_some_and(|d| rec(d))
            }
            ExprKind::Intrinsic {
                op: Intrinsic::AbsFloat | Intrinsic::Math("sqrt" | "exp" | "fabs" | "hypot"),
                ..
            } => true,
            ExprKind::IfExp { body, orelse, .. } => rec(body) && rec(orelse),
            _ => false,
        }
    }

    /// `flow` with what `test` having the value `outcome` tells: bounds of
    /// int variables compared with forms, and float comparisons (only from a
    /// true test: a false float comparison may be a NaN).
    fn narrowed_flow(
        &self,
        flow: &Flow,
        test: &typed::Expr,
        outcome: bool,
        loops: &[LoopRange],
    ) -> Flow {
        let mut flow = flow.clone();
        let real = real_loops(loops);
        self.narrow_by(&mut flow, test, outcome, &real);
        flow
    }

    fn narrow_by(&self, flow: &mut Flow, test: &typed::Expr, outcome: bool, real: &[LoopRange]) {
        match &test.kind {
            ExprKind::BoolOp { op, values } if (*op == crate::ir::BoolOp::And) == outcome => {
                for value in values {
                    self.narrow_by(flow, value, outcome, real);
                }
            }
            ExprKind::Not(inner) => self.narrow_by(flow, inner, !outcome, real),
            ExprKind::Compare {
                operands,
                ops,
                operand_types,
            } => {
                if !outcome && ops.len() != 1 {
                    return;
                }
                for (k, op) in ops.iter().enumerate() {
                    let (left, right) = (&operands[k], &operands[k + 1]);
                    match operand_types.get(k) {
                        Some(Type::Int) => {
                            let op = if outcome { *op } else { negated(*op) };
                            self.narrow_int(flow, left, op, right, real);
                            self.narrow_int(flow, right, op.swapped(), left, real);
                        }
                        Some(Type::Float) if outcome => {
                            let (Some(l), Some(r)) = (float_term(left), float_term(right)) else {
                                continue;
                            };
                            let facts: &[(FloatTerm, FloatTerm)] = match op {
                                CompareOp::GtE | CompareOp::Gt => &[(l, r)],
                                CompareOp::LtE | CompareOp::Lt => &[(r, l)],
                                CompareOp::Eq => &[(l.clone(), r.clone()), (r, l)],
                                CompareOp::NotEq => &[],
                            };
                            for (left, right) in facts {
                                let fact = FloatFact {
                                    left: left.clone(),
                                    right: right.clone(),
                                };
                                if !flow.floats.contains(&fact) {
                                    flow.floats.push(fact);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// Records `var op other` for an int variable `var` and a form `other`.
    fn narrow_int(
        &self,
        flow: &mut Flow,
        var: &typed::Expr,
        op: CompareOp,
        other: &typed::Expr,
        real: &[LoopRange],
    ) {
        let ExprKind::Local(name) = &var.kind else {
            return;
        };
        let Some(form) = self.form(other, real) else {
            return;
        };
        let shifted = |by: i64| Linear::constant(by).and_then(|c| form.add_scaled(&c, 1));
        let (lower, upper) = match op {
            CompareOp::GtE => (Some(form.clone()), None),
            CompareOp::Gt => (shifted(1), None),
            CompareOp::LtE => (None, Some(form.clone())),
            CompareOp::Lt => (None, shifted(-1)),
            CompareOp::Eq => (Some(form.clone()), Some(form.clone())),
            CompareOp::NotEq => (None, None),
        };
        if let Some(lower) = lower {
            flow.narrow(name, lower, true);
        }
        if let Some(upper) = upper {
            flow.narrow(name, upper, false);
        }
    }

    fn stores(&self, target: &Target, loops: &[LoopRange], out: &mut Vec<Access>) {
        match target {
            Target::Index { array, indices, .. } => {
                out.push(self.access(array, indices, AccessKind::Write, loops));
            }
            Target::Tuple(items) => items.iter().for_each(|t| self.stores(t, loops, out)),
            Target::Local(_)
            | Target::View { .. }
            | Target::Select { .. }
            | Target::Item { .. } => {}
        }
    }

    fn loop_range(
        &self,
        var: &str,
        start: &typed::Expr,
        stop: &typed::Expr,
        step: Option<&typed::Expr>,
        body: &[Stmt],
        loops: &[LoopRange],
        key: usize,
    ) -> Option<LoopRange> {
        let step_value = match step.map(|s| &s.kind) {
            None => 1,
            Some(ExprKind::Literal(typed::Literal::Int(k))) => *k,
            Some(_) => return None,
        };
        let mut assigned_in_body = HashMap::new();
        count_assignments(body, &mut assigned_in_body);
        if step_value == 0 || assigned_in_body.contains_key(var) {
            return None;
        }
        // A bound that is no form (a value read from an array) stands for
        // itself: conditions on it are tested when the loop starts.
        let bound = |side: u8, expr: &typed::Expr| {
            self.form(expr, loops).or_else(|| {
                (expr.ty == Type::Int).then(|| {
                    Linear::atom(Atom::Bound {
                        loop_key: key,
                        side,
                        text: super::render(expr),
                    })
                })
            })
        };
        // A negative step counts down from `start` to just above `stop`:
        // the values lie in `stop + 1 ..= start`.
        let (first, end) = (bound(0, start)?, bound(1, stop)?);
        let mut source = format!("{var} in range({first}, {end}");
        let (lo, hi) = if step_value > 0 {
            (first, end)
        } else {
            let one = Linear::constant(1)?;
            (end.add_scaled(&one, 1)?, first.add_scaled(&one, 1)?)
        };
        if let Some(ExprKind::Literal(typed::Literal::Int(k))) = step.map(|s| &s.kind) {
            source.push_str(&format!(", {k}"));
        }
        source.push(')');
        Some(LoopRange {
            var: var.to_string(),
            lo,
            hi,
            source,
            key: 0,
            top: 0,
            assumptions: Vec::new(),
        })
    }

    fn access(
        &self,
        array: &typed::Expr,
        indices: &[typed::Expr],
        kind: AccessKind,
        loops: &[LoopRange],
    ) -> Access {
        let text = format!(
            "{}[{}]",
            super::render(array),
            indices
                .iter()
                .map(super::render)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let decision = self.prove(array, indices, loops);
        let array_name = match &array.kind {
            ExprKind::Local(name) => name.clone(),
            _ => String::new(),
        };
        let fresh = self.fresh.contains(&array_name);
        // A parameter never rebound keeps its layout for the whole call, so
        // one test before the outermost loop covers every iteration.
        let is_param =
            self.function.is_parameter(&array_name) && self.stable_arrays.contains_key(&array_name);
        // A checked access gains from the test too: with unit stride its
        // offset needs no multiply by the last stride.
        let layout_loop = match (&decision, loops.iter().find(|l| l.key != 0)) {
            (Decision::ProvenIf { loop_key, .. }, _) if is_param && !fresh => Some(*loop_key),
            (_, Some(outer)) if is_param && !fresh => Some(outer.key),
            _ => None,
        };
        Access {
            array: std::ptr::from_ref(array) as usize,
            text,
            array_name,
            kind,
            decision,
            fresh,
            layout_loop,
        }
    }

    fn prove(&self, array: &typed::Expr, indices: &[typed::Expr], loops: &[LoopRange]) -> Decision {
        let ExprKind::Local(name) = &array.kind else {
            return Decision::Checked("the array is not a plain variable".into());
        };
        if !self.stable_arrays.contains_key(name) && !self.shaped.contains_key(name) {
            return Decision::Checked(format!(
                "`{name}` may be bound to arrays of different shapes during the call"
            ));
        }
        let mut used_loops: Vec<&LoopRange> = Vec::new();
        // Requirements `form <= 0` that the facts do not settle; tested once
        // before the outermost loop instead.
        let mut conditions: Vec<Linear> = Vec::new();
        let mut unproven: Vec<String> = Vec::new();
        let mut forms: Vec<Linear> = Vec::new();
        for (axis, index) in indices.iter().enumerate() {
            let shown = super::render(index);
            let Some(form) = self.form(index, loops) else {
                return Decision::Checked(format!(
                    "`{shown}` is not an affine function of loop variables and dimensions"
                ));
            };
            forms.push(form.clone());
            let Some(dim) = self.dim(name, axis) else {
                return Decision::Checked(format!("the shape of `{name}` is not known"));
            };
            let (Some(low), Some(high)) =
                (extreme(&form, loops, false), extreme(&form, loops, true))
            else {
                return Decision::Checked(format!("cannot bound `{shown}`"));
            };
            let bound = if axis == 0 {
                format!("len({name})")
            } else {
                format!("{name}.shape[{axis}]")
            };
            // low >= 0, i.e. -low <= 0; and high <= dim - 1, i.e.
            // high - dim + 1 <= 0.
            let requirements = [
                (low.scaled(-1), format!("{shown} >= 0")),
                (
                    high.add_scaled(&dim, -1)
                        .and_then(|f| f.add_scaled(&Linear::constant(1)?, 1)),
                    format!("{shown} < {bound}"),
                ),
            ];
            for (requirement, text) in requirements {
                let Some(requirement) = requirement else {
                    return Decision::Checked(format!("cannot prove `{text}`"));
                };
                if requirement.provably_non_positive() {
                    continue;
                }
                if requirement.terms.is_empty() {
                    // A positive constant: the access fails whenever it
                    // runs, so it keeps its check to raise.
                    return Decision::Checked(format!("cannot prove `{text}`"));
                }
                conditions.push(requirement);
                unproven.push(text);
            }
            for l in loops
                .iter()
                .filter(|l| form.terms.contains_key(&Atom::LoopVar(l.var.clone())))
            {
                // The innermost range of a variable is the one used.
                match used_loops.iter_mut().find(|u| u.var == l.var) {
                    Some(used) => *used = l,
                    None => used_loops.push(l),
                }
            }
        }
        // Ranges from the flow facts may hold only under assumptions on
        // dimensions, also when the proof reaches them through another
        // range (`for i in range(b)` over a flow variable `b`): tested like
        // the other conditions.
        for assumption in assumptions_behind(&forms, loops) {
            if !conditions.contains(&assumption) {
                conditions.push(assumption);
            }
        }
        let reasons: Vec<&str> = used_loops.iter().map(|l| l.source.as_str()).collect();
        let reason = if reasons.is_empty() {
            "constant indices within the array's known shape".to_string()
        } else {
            reasons.join(", ")
        };
        if conditions.is_empty() {
            return Decision::Proven(reason);
        }
        // What the tested conditions stand for, in the reason.
        let provided = if unproven.is_empty() {
            String::new()
        } else {
            format!(", and `{}`", unproven.join("` and `"))
        };
        let cannot = if unproven.is_empty() {
            let tests: Vec<String> = conditions.iter().map(Linear::as_inequality).collect();
            format!("cannot test `{}` before the loop", tests.join(" and "))
        } else {
            format!("cannot prove `{}`", unproven.join("` and `"))
        };
        let Some(outer) = loops.iter().find(|l| l.key != 0) else {
            return Decision::Checked(cannot.clone());
        };
        // Conditions on a loop's own bounds are tested when that loop
        // starts, where the variables of the loops around it are fixed.
        let mut bound_loops: Vec<usize> = conditions.iter().flat_map(Linear::bound_loops).collect();
        bound_loops.dedup();
        if let Some(&key) = bound_loops.first() {
            let Some(position) = loops.iter().position(|l| l.key == key) else {
                return Decision::Checked(cannot.clone());
            };
            let readable = bound_loops.iter().all(|&k| k == key)
                && conditions
                    .iter()
                    .flat_map(|c| c.terms.keys())
                    .all(|atom| match atom {
                        Atom::Dim(array, _) => {
                            self.bound_at.get(array).is_none_or(|&at| at < outer.top)
                        }
                        Atom::LoopVar(var) => loops[..position].iter().any(|l| l.var == *var),
                        Atom::Bound { loop_key, .. } => *loop_key == key,
                    });
            if !readable {
                return Decision::Checked(cannot.clone());
            }
            let tests: Vec<String> = conditions.iter().map(Linear::as_inequality).collect();
            return Decision::ProvenIf {
                loop_key: key,
                reason: format!(
                    "{reason}{provided} when `{}` (tested when the loop starts)",
                    tests.join(" and ")
                ),
                conditions,
            };
        }
        // The conditions mention only dimensions. They can be tested before
        // the outermost loop with a range if every array they read is bound
        // by then.
        let readable = conditions
            .iter()
            .flat_map(|c| c.terms.keys())
            .all(|atom| match atom {
                Atom::Dim(array, _) => self.bound_at.get(array).is_none_or(|&at| at < outer.top),
                Atom::LoopVar(_) | Atom::Bound { .. } => false,
            });
        if !readable {
            return Decision::Checked(cannot.clone());
        }
        let tests: Vec<String> = conditions.iter().map(Linear::as_inequality).collect();
        Decision::ProvenIf {
            loop_key: outer.key,
            reason: format!(
                "{reason}{provided} when `{}` (tested before the loop)",
                tests.join(" and ")
            ),
            conditions,
        }
    }
}

/// The assumptions of every range `forms` may be bounded through: the
/// ranges of the loop variables they mention, then those of the variables
/// in those ranges' ends, and so on (a superset of what `extreme` uses).
fn assumptions_behind(forms: &[Linear], loops: &[LoopRange]) -> Vec<Linear> {
    let mut vars: Vec<String> = Vec::new();
    let mention = |form: &Linear, vars: &mut Vec<String>| {
        for atom in form.terms.keys() {
            if let Atom::LoopVar(var) = atom {
                if !vars.contains(var) {
                    vars.push(var.clone());
                }
            }
        }
    };
    for form in forms {
        mention(form, &mut vars);
    }
    let mut assumptions: Vec<Linear> = Vec::new();
    let mut next = 0;
    while next < vars.len() {
        let var = vars[next].clone();
        next += 1;
        for range in loops.iter().filter(|range| range.var == var) {
            mention(&range.lo, &mut vars);
            mention(&range.hi, &mut vars);
            for assumption in &range.assumptions {
                if !assumptions.contains(assumption) {
                    assumptions.push(assumption.clone());
                }
            }
        }
    }
    assumptions
}

/// The ranges of `for` loops among `loops` (narrowed by guards or not),
/// without the ranges of flow facts and down-counters (key 0): forms built
/// over them stay valid wherever those loops' variables are unchanged.
fn real_loops(loops: &[LoopRange]) -> Vec<LoopRange> {
    loops.iter().filter(|l| l.key != 0).cloned().collect()
}

/// How deep the flow facts look through expressions and definitions.
const MAX_DEPTH: usize = 8;

/// Whether a form mentions array dimensions only (and constants).
fn only_dimensions(form: &Linear) -> bool {
    form.terms.keys().all(|atom| matches!(atom, Atom::Dim(..)))
}

/// A float local or a numeric literal, as one side of a float comparison.
fn float_term(e: &typed::Expr) -> Option<FloatTerm> {
    match &e.kind {
        ExprKind::Local(name) if e.ty == Type::Float => Some(FloatTerm::Var(name.clone())),
        ExprKind::Literal(typed::Literal::Float(v)) => Some(FloatTerm::Const(*v)),
        ExprKind::Literal(typed::Literal::Int(v)) if v.unsigned_abs() < (1 << 53) => {
            Some(FloatTerm::Const(*v as f64))
        }
        ExprKind::Cast(inner) => match &inner.kind {
            ExprKind::Literal(typed::Literal::Int(v)) if v.unsigned_abs() < (1 << 53) => {
                Some(FloatTerm::Const(*v as f64))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `(v, c)` for a test `v >= c`, `v > c - 1`, `c <= v` or `c - 1 < v` of
/// an int variable and a constant.
fn guard(test: &typed::Expr) -> Option<(&str, i64)> {
    let ExprKind::Compare { operands, ops, .. } = &test.kind else {
        return None;
    };
    let ([left, right], [op]) = (operands.as_slice(), ops.as_slice()) else {
        return None;
    };
    fn local(e: &typed::Expr) -> Option<&str> {
        match &e.kind {
            ExprKind::Local(name) if e.ty == Type::Int => Some(name.as_str()),
            _ => None,
        }
    }
    let constant = |e: &typed::Expr| match &e.kind {
        ExprKind::Literal(typed::Literal::Int(v)) => Some(*v),
        _ => None,
    };
    match op {
        CompareOp::GtE => Some((local(left)?, constant(right)?)),
        CompareOp::Gt => Some((local(left)?, constant(right)?.checked_add(1)?)),
        CompareOp::LtE => Some((local(right)?, constant(left)?)),
        CompareOp::Lt => Some((local(right)?, constant(left)?.checked_add(1)?)),
        _ => None,
    }
}

/// `var`'s innermost range in `loops` with its lower end raised to `low`,
/// when that end is a constant below it.
fn narrowed(loops: &[LoopRange], var: &str, low: i64) -> Option<LoopRange> {
    let range = loops.iter().rev().find(|range| range.var == var)?;
    if !range.lo.terms.is_empty() || range.lo.constant >= low {
        return None;
    }
    Some(LoopRange {
        lo: Linear::constant(low)?,
        source: format!("{} (and {var} >= {low} here)", range.source),
        ..range.clone()
    })
}

/// Whether every assignment to `var` in `stmts` is `var = var - 1` at the
/// top of the body of a `while` whose test has a guard `var >= c`, before
/// any other statement of that body assigns `var`; collects each such `c`.
fn decrements_guarded(stmts: &[Stmt], var: &str, guards: &mut Vec<i64>) -> bool {
    for stmt in stmts {
        match stmt {
            Stmt::While { test, body } => {
                let conjuncts: Vec<&typed::Expr> = match &test.kind {
                    ExprKind::BoolOp {
                        op: crate::ir::BoolOp::And,
                        values,
                    } => values.iter().collect(),
                    _ => vec![test],
                };
                let low = conjuncts
                    .iter()
                    .filter_map(|c| guard(c))
                    .filter(|(name, _)| *name == var)
                    .map(|(_, low)| low)
                    .max();
                let mut seen_assignment = false;
                for inner in body {
                    let mut assigned = HashMap::new();
                    count_assignments(std::slice::from_ref(inner), &mut assigned);
                    if !assigned.contains_key(var) {
                        continue;
                    }
                    match (seen_assignment, low, is_decrement(inner, var)) {
                        (false, Some(low), true) => guards.push(low),
                        _ => {
                            if !decrements_guarded(std::slice::from_ref(inner), var, guards) {
                                return false;
                            }
                        }
                    }
                    seen_assignment = true;
                }
            }
            Stmt::Assign { .. } => {
                let mut assigned = HashMap::new();
                count_assignments(std::slice::from_ref(stmt), &mut assigned);
                if assigned.contains_key(var) {
                    return false;
                }
            }
            other => {
                if let Stmt::ForRange { var: Some(v), .. } = other {
                    if v == var {
                        return false;
                    }
                }
                for body in other.nested() {
                    if !decrements_guarded(body, var, guards) {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Whether `stmt` is `var = var - 1`.
fn is_decrement(stmt: &Stmt, var: &str) -> bool {
    let Stmt::Assign {
        target: Target::Local(name),
        value,
    } = stmt
    else {
        return false;
    };
    matches!(&value.kind, ExprKind::Binary { op: BinaryOp::Sub, left, right }
        if name == var
            && matches!(&left.kind, ExprKind::Local(l) if l == var)
            && matches!(right.kind, ExprKind::Literal(typed::Literal::Int(1))))
}

/// The smallest (or largest) value of `form` over the loop ranges: each loop
/// variable, innermost first, replaced by the end of its range that
/// minimises (maximises) the form. `None` if a loop variable has no range.
fn extreme(form: &Linear, loops: &[LoopRange], largest: bool) -> Option<Linear> {
    let mut form = form.clone();
    for range in loops.iter().rev() {
        let atom = Atom::LoopVar(range.var.clone());
        let Some(&coefficient) = form.terms.get(&atom) else {
            continue;
        };
        form.terms.remove(&atom);
        let upper = range.hi.add_scaled(&Linear::constant(-1)?, 1)?;
        let end = if (coefficient > 0) == largest {
            upper
        } else {
            range.lo.clone()
        };
        form = form.add_scaled(&end, coefficient)?;
    }
    (!form.mentions_loop_var()).then_some(form)
}

/// Every value bound to each local anywhere in `stmts`; `None` for a part of
/// a tuple unpacked from an expression other than a tuple display.
fn collect_bindings(stmts: &[Stmt], values: &mut HashMap<String, Vec<Option<typed::Expr>>>) {
    fn bind(
        target: &Target,
        value: Option<&typed::Expr>,
        values: &mut HashMap<String, Vec<Option<typed::Expr>>>,
    ) {
        match target {
            Target::Local(name) => values.entry(name.clone()).or_default().push(value.cloned()),
            Target::Tuple(targets) => {
                let parts = match value.map(|v| &v.kind) {
                    Some(ExprKind::Tuple(items)) if items.len() == targets.len() => {
                        items.iter().map(Some).collect()
                    }
                    _ => vec![None; targets.len()],
                };
                for (target, part) in targets.iter().zip(parts) {
                    bind(target, part, values);
                }
            }
            Target::Index { .. }
            | Target::View { .. }
            | Target::Select { .. }
            | Target::Item { .. } => {}
        }
    }
    for stmt in stmts {
        if let Stmt::Assign { target, value } = stmt {
            bind(target, Some(value), values);
        }
        for body in stmt.nested() {
            collect_bindings(body, values);
        }
    }
}

/// Counts, per variable, the statements that assign it (loop headers too).
fn count_assignments(stmts: &[Stmt], counts: &mut HashMap<String, usize>) {
    fn target(t: &Target, counts: &mut HashMap<String, usize>) {
        match t {
            Target::Local(name) => *counts.entry(name.clone()).or_insert(0) += 1,
            Target::Tuple(items) => items.iter().for_each(|t| target(t, counts)),
            Target::Index { .. }
            | Target::View { .. }
            | Target::Select { .. }
            | Target::Item { .. } => {}
        }
    }
    for stmt in stmts {
        match stmt {
            Stmt::Assign { target: t, .. } => target(t, counts),
            Stmt::ForRange { var: Some(var), .. } => *counts.entry(var.clone()).or_insert(0) += 1,
            _ => {}
        }
        for body in stmt.nested() {
            count_assignments(body, counts);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{analyse, Decision};
    use crate::diagnostics::SourceFile;

    /// Each access of the first function of `source`, as "text: proven" or
    /// "text: checked".
    fn decisions(source: &str) -> Vec<String> {
        let file = SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        let facts = analyse(&typed);
        let first = &typed.functions[0].rust_name;
        facts
            .function(first)
            .expect("facts for the function")
            .accesses
            .iter()
            .map(|a| {
                let verdict = match a.decision {
                    Decision::Proven(_) => "proven",
                    Decision::ProvenIf { .. } => "proven if",
                    Decision::Checked(_) => "checked",
                };
                format!("{}: {verdict}", a.text)
            })
            .collect()
    }

    #[test]
    fn stencil_neighbours_inside_the_range_are_proven() {
        let found = decisions(
            "def f(a: \"float64[:]\") -> float:\n    n = len(a)\n    s = 0.0\n    \
             for i in range(1, n - 1):\n        s += a[i - 1] + a[i + 1]\n    return s\n",
        );
        assert_eq!(found, ["a[i - 1]: proven", "a[i + 1]: proven"]);
    }

    #[test]
    fn a_down_counter_guarded_by_its_while_test_is_proven() {
        let found = decisions(
            "def f(a: \"int64[:]\") -> None:\n    for i in range(1, len(a)):\n        \
             key = a[i]\n        j = i - 1\n        while j >= 0 and a[j] > key:\n            \
             a[j + 1] = a[j]\n            j -= 1\n        a[j + 1] = key\n        \
             a[j] = key\n",
        );
        assert_eq!(
            found,
            [
                "a[i]: proven",
                "a[j]: proven",
                "a[j]: proven",
                "a[j + 1]: proven",
                "a[j + 1]: proven",
                // After the loop `j` may be -1.
                "a[j]: checked",
            ]
        );
    }

    #[test]
    fn a_decrement_outside_the_guarded_body_start_proves_nothing() {
        let found = decisions(
            "def f(a: \"int64[:]\") -> None:\n    for i in range(1, len(a)):\n        \
             j = i - 1\n        while j >= 0:\n            a[j] = 0\n            j -= 1\n            \
             j -= 1\n        if j >= 0:\n            a[j] = 1\n",
        );
        assert_eq!(found, ["a[j]: checked", "a[j]: checked"]);
    }

    #[test]
    fn one_past_the_end_and_negative_indices_stay_checked() {
        let found = decisions(
            "def f(a: \"float64[:]\") -> float:\n    s = 0.0\n    \
             for i in range(len(a)):\n        s += a[i + 1] + a[i - 1] + a[i]\n    return s\n",
        );
        assert_eq!(
            found,
            ["a[i + 1]: checked", "a[i - 1]: checked", "a[i]: proven"]
        );
    }

    #[test]
    fn another_arrays_length_and_a_parameter_bound_are_version_conditions() {
        let found = decisions(
            "def f(a: \"float64[:]\", b: \"float64[:]\", n: int) -> float:\n    s = 0.0\n    \
             for i in range(len(a)):\n        s += b[i]\n    \
             for j in range(n):\n        s += a[j]\n    return s\n",
        );
        // `b[i]` is tested before the first loop; `a[j]` when the second
        // starts, once `n` is read: `n <= len(a)`.
        assert_eq!(found, ["b[i]: proven if", "a[j]: proven if"]);
    }

    #[test]
    fn an_array_bound_after_the_loop_cannot_be_tested_before_it() {
        let found = decisions(
            "import numpy as np\n\ndef f(a: \"float64[:]\", n: int) -> float:\n    s = 0.0\n    \
             for i in range(len(a)):\n        s += a[i]\n    \
             for j in range(len(a)):\n        s += c[j]\n    c = np.zeros(n)\n    return s\n",
        );
        assert_eq!(found, ["a[i]: proven", "c[j]: checked"]);
    }

    #[test]
    fn a_rebound_array_or_loop_variable_stays_checked() {
        let found = decisions(
            "import numpy as np\n\ndef f(a: \"float64[:]\") -> float:\n    s = 0.0\n    \
             b = np.zeros(3)\n    for i in range(len(a)):\n        s += a[i] + b[i]\n        \
             b = np.zeros(1)\n    for j in range(len(a)):\n        j = j + 1\n        \
             s += a[j]\n    return s\n",
        );
        assert_eq!(found, ["a[i]: proven", "b[i]: checked", "a[j]: checked"]);
    }

    #[test]
    fn swapped_buffers_of_one_shape_are_proven_and_of_two_shapes_are_not() {
        let found = decisions(
            "import numpy as np\n\ndef f(a: \"float64[:]\", k: int) -> float:\n    \
             u = a.copy()\n    v = np.empty_like(u)\n    w = np.zeros(len(a) + 1)\n    \
             for t in range(k):\n        for i in range(1, len(a) - 1):\n            \
             v[i] = u[i - 1] + u[i + 1] + w[i]\n        u, v = v, u\n        \
             w, x = np.zeros(3), w\n    return u[0]\n",
        );
        assert_eq!(
            found,
            [
                "u[i - 1]: proven",
                "u[i + 1]: proven",
                "w[i]: checked",
                "v[i]: proven",
                "u[0]: checked"
            ]
        );
    }

    #[test]
    fn shapes_of_new_arrays_and_triangular_loops_are_used() {
        let found = decisions(
            "import numpy as np\n\ndef f(a: \"float64[:, :]\") -> \"float64[:, :]\":\n    \
             h, w = a.shape\n    out = np.zeros((w, h))\n    \
             for i in range(h):\n        for j in range(i + 1, w):\n            \
             out[j, i] = a[i, j]\n    return out\n",
        );
        assert_eq!(found, ["a[i, j]: proven", "out[j, i]: proven"]);
    }

    #[test]
    fn a_histogram_bin_clamped_below_the_length_is_proven_if_the_length_is_positive() {
        let found = decisions(
            "import numpy as np\n\ndef f(x: \"float64[:]\", lo: float, hi: float, nbins: int) -> \"int64[:]\":\n    \
             counts = np.zeros(nbins, dtype=np.int64)\n    scale = nbins / (hi - lo)\n    \
             for i in range(len(x)):\n        v = x[i]\n        if v >= lo and v < hi:\n            \
             b = int((v - lo) * scale)\n            if b >= nbins:\n                b = nbins - 1\n            \
             counts[b] += 1\n    return counts\n",
        );
        assert_eq!(
            found,
            [
                "x[i]: proven",
                "counts[b]: proven if",
                "counts[b]: proven if"
            ]
        );
    }

    #[test]
    fn without_the_sample_test_the_bin_may_be_negative() {
        // `v - lo` may be negative, and so may `scale`: both keep checks.
        let found = decisions(
            "import numpy as np\n\ndef f(x: \"float64[:]\", lo: float, hi: float, nbins: int) -> \"int64[:]\":\n    \
             counts = np.zeros(nbins, dtype=np.int64)\n    scale = nbins / (hi - lo)\n    \
             for i in range(len(x)):\n        v = x[i]\n        if v >= lo:\n            \
             b = int((v - lo) * scale)\n            b = min(b, nbins - 1)\n            \
             counts[b] += 1\n        if not (v < lo):\n            \
             c = int((v - lo) * 2.0)\n            c = min(c, nbins - 1)\n            \
             counts[c] += 1\n    return counts\n",
        );
        assert_eq!(
            found,
            [
                "x[i]: proven",
                "counts[b]: checked",
                "counts[b]: checked",
                "counts[c]: checked",
                "counts[c]: checked"
            ]
        );
    }

    #[test]
    fn a_clamp_on_both_sides_and_min_max_bound_an_index() {
        let found = decisions(
            "def f(a: \"float64[:]\", x: float) -> float:\n    n = len(a)\n    \
             i = int(x)\n    if i < 0:\n        i = 0\n    elif i > n - 2:\n        i = n - 2\n    \
             s = 0.0\n    for k in range(3):\n        s += a[i] + a[i + 1]\n    \
             j = max(0, min(int(x), n - 1))\n    for k in range(3):\n        s += a[j]\n    \
             return s\n",
        );
        assert_eq!(
            found,
            ["a[i]: proven if", "a[i + 1]: proven if", "a[j]: proven if"]
        );
    }

    #[test]
    fn a_bound_is_forgotten_when_its_variable_or_the_compared_float_changes() {
        let found = decisions(
            "def f(a: \"float64[:]\", x: float, lo: float) -> float:\n    n = len(a)\n    s = 0.0\n    \
             for k in range(3):\n        v = x + k\n        if v >= lo:\n            \
             v = lo - 1.0\n            b = min(int(v - lo), n - 1)\n            s += a[b]\n        \
             i = min(max(int(x), 0), n - 1)\n        i = i - 1\n        s += a[i]\n        \
             if i >= 0:\n            s += a[i]\n        else:\n            continue\n        \
             s += a[i]\n    return s\n",
        );
        assert_eq!(
            found,
            [
                "a[b]: checked",
                "a[i]: checked",
                "a[i]: proven if",
                // `else: continue` leaves the `i >= 0` branch's bounds.
                "a[i]: proven if"
            ]
        );
    }

    #[test]
    fn assumptions_behind_a_bound_are_kept_through_floats_and_loop_ranges() {
        // `c >= 0` holds only when `a` is not empty, and `b <= len(a)`
        // only when len(a) >= 3: through a float the bin keeps its check,
        // and a loop up to `b` tests the length first.
        let found = decisions(
            "import numpy as np\n\ndef f(a: \"float64[:]\", x: float) -> float:\n    n = len(a)\n    \
             if x > 0.0:\n        c = 0\n        b = n\n    else:\n        c = n - 1\n        b = 3\n    \
             t = np.zeros(10)\n    s = 0.0\n    for k in range(2):\n        \
             d = min(int(float(c)), 9)\n        s += t[d]\n    \
             for i in range(b):\n        j = i\n        s += a[i] + a[j]\n    return s\n",
        );
        assert_eq!(
            found,
            ["t[d]: checked", "a[i]: proven if", "a[j]: proven if"]
        );
    }
}
