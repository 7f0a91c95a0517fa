//! Loops whose float minimum and maximum accumulators may run in lanes.
//!
//! `if v < lo: lo = v` in a loop is a chain: each iteration's compare waits
//! for the previous one's result, so the loop runs at the latency of a
//! compare and a select per element, and LLVM will not vectorise a float
//! min or max on its own (it would need to know that no NaN occurs). Kept in
//! several lanes (iteration `k` updates lane `k % LANES`, the lanes folded
//! with the same compare when the loop ends), the chains are independent
//! and become vector instructions.
//!
//! Folding lanes changes only which of several *equal* values the
//! accumulator ends with, never the value, when the accumulator keeps its
//! value on ties and on NaN, as these forms do:
//!
//! - `if e < acc: acc = e` or `if acc > e: acc = e` (a minimum), and
//!   `if e > acc: acc = e` or `if acc < e: acc = e` (a maximum);
//! - `acc = min(acc, e)` and `acc = max(acc, e)`, which return `acc` unless
//!   `e` is smaller (larger).
//!
//! A NaN `e` is skipped by every lane; a NaN accumulator stays NaN in every
//! lane. Equal floats that differ in their bits are `0.0` and `-0.0` only,
//! so when no `e` can be `-0.0` (the fact below) every lane that reaches
//! zero holds `0.0`, unless the accumulator started at zero, in which case
//! every lane keeps that start, as the single accumulator does. The result
//! is then bit for bit the serial loop's.
//!
//! `e` is never `-0.0` (`never_negative_zero`) when it is an integer
//! converted to float, `abs(x)`, `x * x`, an exponential, a square root of
//! such a value, a sum with such an operand, a difference whose left
//! operand is such a value, a literal other than `-0.0`, or a variable every
//! assignment of which is such a value.
//!
//! The loop must be innermost, a `range` with step 1, without `break`,
//! `continue` or `return`, and store into no array (see `straight`); the
//! iterations still run one after another, in order, so its calls and
//! exceptions are unchanged. Each
//! accumulator is a local of type float mentioned in the loop only by its
//! reduction statements, all of one kind (minimum or maximum), and no other
//! float is carried from one iteration to the next (a sum would keep the
//! loop at the pace of its own chain).

use std::collections::HashSet;

use crate::diagnostics::Span;
use crate::ir::typed::{self, ExprKind, Intrinsic, Literal, Stmt, Target};
use crate::ir::CompareOp;
use crate::types::{Dtype, Type};

/// Lanes per accumulator: `rt::lanes::WIDTH` of the runtime.
pub const WIDTH: usize = 8;

/// A loop whose accumulators run in lanes.
#[derive(Debug, Clone)]
pub struct LaneLoop {
    /// The address of the loop statement in the analysed module.
    pub key: usize,
    /// The loop header, for the report.
    pub span: Span,
    /// Sorted by name.
    pub accumulators: Vec<Accumulator>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accumulator {
    pub name: String,
    pub extreme: Extreme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    Min,
    Max,
}

/// Every loop of the function whose accumulators may run in lanes.
pub fn lane_loops(function: &typed::Function) -> Vec<LaneLoop> {
    let mut found = Vec::new();
    visit(&function.body, function, &mut found);
    found
}

fn visit(stmts: &[Stmt], function: &typed::Function, found: &mut Vec<LaneLoop>) {
    for stmt in stmts {
        if let Stmt::ForRange {
            var,
            step,
            body,
            span,
            ..
        } = stmt
        {
            let unit_step = match step {
                None => true,
                Some(step) => matches!(step.kind, ExprKind::Literal(Literal::Int(1))),
            };
            if unit_step && straight(body) {
                let accumulators = accumulators(body, var.as_deref(), function);
                if !accumulators.is_empty() {
                    found.push(LaneLoop {
                        key: std::ptr::from_ref(stmt) as usize,
                        span: *span,
                        accumulators,
                    });
                }
            }
        }
        for nested in stmt.nested() {
            visit(nested, function, found);
        }
    }
}

/// No loop inside, nothing that leaves an iteration early, and no store
/// into an array or list: LLVM cannot move the loads of one iteration
/// above the stores of the one before when the memory may overlap, so
/// lanes of such a loop stay scalar, and only cost registers.
fn straight(stmts: &[Stmt]) -> bool {
    stmts.iter().all(|stmt| match stmt {
        Stmt::ForRange { .. }
        | Stmt::While { .. }
        | Stmt::Break
        | Stmt::Continue
        | Stmt::Return(_) => false,
        Stmt::Assign { target, .. } => stores_nothing(target),
        Stmt::If { body, orelse, .. } => straight(body) && straight(orelse),
        _ => true,
    })
}

fn stores_nothing(target: &Target) -> bool {
    match target {
        Target::Local(_) => true,
        Target::Tuple(items) => items.iter().all(stores_nothing),
        Target::Index { .. }
        | Target::View { .. }
        | Target::Item { .. }
        | Target::Select { .. } => false,
    }
}

/// The reduction statements of the body, by accumulator, and which of
/// those accumulators are mentioned nowhere else.
fn accumulators(
    body: &[Stmt],
    loop_var: Option<&str>,
    function: &typed::Function,
) -> Vec<Accumulator> {
    let mut reductions: Vec<(String, Extreme)> = Vec::new();
    collect_reductions(body, function, &mut reductions);
    let mut names: Vec<&str> = reductions.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let mine: Vec<Extreme> = reductions
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, e)| *e)
            .collect();
        let extreme = mine[0];
        // Each reduction statement reads the accumulator once and assigns
        // it once; any other mention would see a lane, not the whole.
        if Some(name) == loop_var
            || mine.iter().any(|e| *e != extreme)
            || reads(body, name) != mine.len()
            || assignments(body, name) != mine.len()
        {
            continue;
        }
        out.push(Accumulator {
            name: name.to_string(),
            extreme,
        });
    }
    // Another float carried from one iteration to the next keeps its
    // chain, and the loop runs at its pace whatever the lanes do.
    let mut assigned = Vec::new();
    for stmt in body {
        collect_assigned(stmt, &mut assigned);
    }
    let other_chain = assigned.iter().any(|name| {
        let float = function
            .locals
            .iter()
            .map(|l| (&l.name, &l.ty))
            .chain(function.params.iter().map(|p| (&p.name, &p.ty)))
            .any(|(n, ty)| n == name && ty.is_float_like());
        float && !out.iter().any(|a| &a.name == name) && carried(body, name)
    });
    if other_chain {
        return Vec::new();
    }
    out
}

fn collect_assigned(stmt: &Stmt, out: &mut Vec<String>) {
    fn in_target(target: &Target, out: &mut Vec<String>) {
        match target {
            Target::Local(n) if !out.contains(n) => out.push(n.clone()),
            Target::Tuple(items) => items.iter().for_each(|t| in_target(t, out)),
            _ => {}
        }
    }
    if let Stmt::Assign { target, .. } = stmt {
        in_target(target, out);
    }
    for nested in stmt.nested() {
        nested.iter().for_each(|s| collect_assigned(s, out));
    }
}

/// Whether an iteration may read the value of `name` an earlier one left:
/// unless the first top-level statement that mentions it assigns it a
/// value that does not read it.
fn carried(body: &[Stmt], name: &str) -> bool {
    for stmt in body {
        let mut read = false;
        stmt.walk_exprs(&mut |e| read |= matches!(&e.kind, ExprKind::Local(n) if n == name));
        match stmt {
            Stmt::Assign {
                target: Target::Local(n),
                ..
            } if n == name => return read,
            _ if read || assignments(std::slice::from_ref(stmt), name) > 0 => return true,
            _ => {}
        }
    }
    false
}

fn collect_reductions(
    stmts: &[Stmt],
    function: &typed::Function,
    out: &mut Vec<(String, Extreme)>,
) {
    for stmt in stmts {
        if let Some(found) = reduction(stmt, function) {
            out.push(found);
        } else if let Stmt::If { body, orelse, .. } = stmt {
            collect_reductions(body, function, out);
            collect_reductions(orelse, function, out);
        }
    }
}

/// `stmt` as one of the forms of the module comment: the accumulator and
/// whether it keeps the minimum or the maximum.
fn reduction(stmt: &Stmt, function: &typed::Function) -> Option<(String, Extreme)> {
    let (acc, value, extreme) = match stmt {
        Stmt::If { .. } => if_update(stmt)?,
        Stmt::Assign {
            target: Target::Local(acc),
            value,
        } => {
            let ExprKind::Intrinsic { op, args } = &value.kind else {
                return None;
            };
            let extreme = match op {
                Intrinsic::Min => Extreme::Min,
                Intrinsic::Max => Extreme::Max,
                _ => return None,
            };
            let [first, second] = args.as_slice() else {
                return None;
            };
            if !matches!(&first.kind, ExprKind::Local(n) if n == acc) || first.ty != second.ty {
                return None;
            }
            (acc, second, extreme)
        }
        _ => return None,
    };
    let float = matches!(value.ty, Type::Float | Type::Scalar(Dtype::Float32));
    let acc_type = function
        .locals
        .iter()
        .find(|l| &l.name == acc)
        .map(|l| &l.ty);
    if !float
        || acc_type != Some(&value.ty)
        || function.is_parameter(acc)
        || mentions(value, acc)
        || !never_negative_zero(value, function, &mut HashSet::new())
    {
        return None;
    }
    Some((acc.clone(), extreme))
}

/// `if e < acc: acc = e` and the other `if` forms of the module comment:
/// the accumulator, `e` and the extreme kept, whatever their types.
pub fn if_update(stmt: &Stmt) -> Option<(&String, &typed::Expr, Extreme)> {
    let Stmt::If { test, body, orelse } = stmt else {
        return None;
    };
    if !orelse.is_empty() || body.len() != 1 {
        return None;
    }
    let Stmt::Assign {
        target: Target::Local(acc),
        value,
    } = &body[0]
    else {
        return None;
    };
    let ExprKind::Compare {
        operands,
        ops,
        operand_types,
    } = &test.kind
    else {
        return None;
    };
    let ([left, right], [op], [compared]) = (
        operands.as_slice(),
        ops.as_slice(),
        operand_types.as_slice(),
    ) else {
        return None;
    };
    if compared != &value.ty {
        return None;
    }
    let is_acc = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == acc);
    let extreme = match op {
        CompareOp::Lt if is_acc(right) && same(left, value) => Extreme::Min,
        CompareOp::Gt if is_acc(left) && same(right, value) => Extreme::Min,
        CompareOp::Gt if is_acc(right) && same(left, value) => Extreme::Max,
        CompareOp::Lt if is_acc(left) && same(right, value) => Extreme::Max,
        _ => return None,
    };
    Some((acc, value, extreme))
}

/// The same expression, written twice (`if x[i] < lo: lo = x[i]`), and
/// one that gives the same value twice: no calls, nothing `render` does
/// not spell out.
fn same(a: &typed::Expr, b: &typed::Expr) -> bool {
    let text = super::render(a);
    a.ty == b.ty && !calls(a) && !text.contains('…') && text == super::render(b)
}

fn mentions(expr: &typed::Expr, name: &str) -> bool {
    let mut found = false;
    expr.walk(&mut |e| found |= matches!(&e.kind, ExprKind::Local(n) if n == name));
    found
}

/// Whether `expr` calls a function, which may return a different value
/// each time.
fn calls(expr: &typed::Expr) -> bool {
    let mut found = false;
    expr.walk(&mut |e| {
        found |= matches!(e.kind, ExprKind::Call { .. } | ExprKind::CallValue { .. })
    });
    found
}

/// How many times the statements read `name`.
fn reads(stmts: &[Stmt], name: &str) -> usize {
    let mut count = 0;
    for stmt in stmts {
        stmt.walk_exprs(&mut |e| {
            if matches!(&e.kind, ExprKind::Local(n) if n == name) {
                count += 1;
            }
        });
    }
    count
}

/// How many statements assign `name` (tuple targets count as many).
fn assignments(stmts: &[Stmt], name: &str) -> usize {
    fn in_target(target: &Target, name: &str) -> usize {
        match target {
            Target::Local(n) => usize::from(n == name),
            Target::Tuple(items) => items.iter().map(|t| in_target(t, name)).sum(),
            _ => 0,
        }
    }
    let mut count = 0;
    for stmt in stmts {
        match stmt {
            Stmt::Assign { target, .. } => count += in_target(target, name),
            Stmt::ForRange { var, .. } if var.as_deref() == Some(name) => count += 1,
            _ => {}
        }
        for nested in stmt.nested() {
            count += assignments(nested, name);
        }
    }
    count
}

/// Whether `expr` can never evaluate to `-0.0` (see the module comment).
/// `assuming` holds the variables whose assignments are being checked: a
/// variable that reads itself is assumed to hold the invariant, which the
/// assignments then establish by induction over the execution.
pub fn never_negative_zero(
    expr: &typed::Expr,
    function: &typed::Function,
    assuming: &mut HashSet<String>,
) -> bool {
    let mut check = |e: &typed::Expr| never_negative_zero(e, function, assuming);
    match &expr.kind {
        ExprKind::Literal(Literal::Float(v)) => !(*v == 0.0 && v.is_sign_negative()),
        ExprKind::Literal(Literal::Int(_) | Literal::Bool(_)) => true,
        ExprKind::Cast(inner) => inner.ty.is_integer_like() || check(inner),
        ExprKind::Intrinsic { op, args } => match op {
            Intrinsic::AbsFloat => true,
            Intrinsic::Math("exp" | "exp2" | "hypot")
            | Intrinsic::FloatMethod("exp" | "exp2" | "hypot") => true,
            Intrinsic::Math("sqrt") | Intrinsic::FloatMethod("sqrt") => args.iter().all(&mut check),
            _ => false,
        },
        // In round-to-nearest, `a + b` is -0.0 only when both are, and
        // `a - b` only when `a` is -0.0 and `b` is 0.0.
        ExprKind::Binary { op, left, right } => match op {
            crate::ir::BinaryOp::Add => check(left) || check(right),
            crate::ir::BinaryOp::Sub => check(left),
            crate::ir::BinaryOp::Mul => same(left, right),
            _ => false,
        },
        ExprKind::IfExp { body, orelse, .. } => check(body) && check(orelse),
        ExprKind::Local(name) => {
            if function.is_parameter(name) {
                return false;
            }
            if !assuming.insert(name.clone()) {
                return true;
            }
            let mut values = Vec::new();
            if !assigned_values(&function.body, name, &mut values) {
                return false;
            }
            values
                .into_iter()
                .all(|value| never_negative_zero(value, function, assuming))
        }
        _ => false,
    }
}

/// Every value assigned to `name`; false when it is assigned in a way
/// other than `name = value` (a tuple target, a loop variable).
fn assigned_values<'f>(stmts: &'f [Stmt], name: &str, out: &mut Vec<&'f typed::Expr>) -> bool {
    for stmt in stmts {
        match stmt {
            Stmt::Assign {
                target: Target::Local(n),
                value,
            } if n == name => out.push(value),
            Stmt::Assign {
                target: Target::Tuple(_),
                ..
            } if assignments(std::slice::from_ref(stmt), name) > 0 => return false,
            Stmt::ForRange { var, .. } if var.as_deref() == Some(name) => return false,
            _ => {}
        }
        for nested in stmt.nested() {
            if !assigned_values(nested, name, out) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per loop of the first function of `source` whose accumulators run
    /// in lanes: those accumulators.
    fn lanes(source: &str) -> Vec<Vec<(String, Extreme)>> {
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        lane_loops(&typed.functions[0])
            .into_iter()
            .map(|l| {
                l.accumulators
                    .into_iter()
                    .map(|a| (a.name, a.extreme))
                    .collect()
            })
            .collect()
    }

    fn acc(name: &str, extreme: Extreme) -> (String, Extreme) {
        (name.to_string(), extreme)
    }

    const HEADER: &str =
        "def f(img: \"uint8[:, :]\", x: \"float64[:]\", k: \"int64[:]\") -> float:\n";

    fn body(lines: &str) -> String {
        let mut text = HEADER.to_string();
        for line in lines.lines() {
            text.push_str("    ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_runtime_has_the_same_width() {
        let runtime = include_str!("../../templates/rt.rs");
        assert!(runtime.contains(&format!("pub const WIDTH: usize = {WIDTH};")));
    }

    #[test]
    fn extremes_of_converted_integers_run_in_lanes() {
        let source = body(
            "lo = float(img[0, 0])\nhi = lo\nfor i in range(img.shape[0]):\n    for j in range(img.shape[1]):\n        v = float(img[i, j])\n        if v < lo:\n            lo = v\n        if hi < v:\n            hi = v\nreturn hi - lo",
        );
        assert_eq!(
            lanes(&source),
            vec![vec![acc("hi", Extreme::Max), acc("lo", Extreme::Min)]]
        );
    }

    #[test]
    fn min_and_max_calls_with_the_accumulator_first() {
        let source = body(
            "lo = 1e300\nhi = -1e300\nfor i in range(len(x)):\n    lo = min(lo, abs(x[i]))\n    hi = max(hi, x[i] * x[i])\nreturn hi - lo",
        );
        assert_eq!(
            lanes(&source),
            vec![vec![acc("hi", Extreme::Max), acc("lo", Extreme::Min)]]
        );
        // `min(e, acc)` returns `e` on ties and on a NaN accumulator.
        let swapped =
            body("lo = 1e300\nfor i in range(len(x)):\n    lo = min(abs(x[i]), lo)\nreturn lo");
        assert!(lanes(&swapped).is_empty());
    }

    #[test]
    fn values_that_may_be_negative_zero_stay_serial() {
        for value in ["x[i]", "-float(k[i])", "x[i] * 2.0", "x[i] - 1.0", "-0.0"] {
            let source = body(&format!(
                "lo = 1e300\nfor i in range(len(x)):\n    v = {value}\n    if v < lo:\n        lo = v\nreturn lo"
            ));
            assert!(lanes(&source).is_empty(), "{value}");
        }
        for value in [
            "1.0 + x[i]",
            "float(k[i]) - x[i]",
            "math.sqrt(abs(x[i]))",
            "0.0",
        ] {
            let source = format!(
                "import math\n{}",
                body(&format!(
                    "lo = 1e300\nfor i in range(len(x)):\n    v = {value}\n    if v < lo:\n        lo = v\nreturn lo"
                ))
            );
            assert_eq!(
                lanes(&source),
                vec![vec![acc("lo", Extreme::Min)]],
                "{value}"
            );
        }
    }

    #[test]
    fn other_mentions_early_exits_and_mixed_kinds_stay_serial() {
        for loop_body in [
            // read elsewhere
            "v = abs(x[i])\nif v < lo:\n    lo = v\nk[i] = int(lo)",
            // ties replace
            "v = abs(x[i])\nif v <= lo:\n    lo = v",
            // an else branch
            "v = abs(x[i])\nif v < lo:\n    lo = v\nelse:\n    lo = lo + 1.0",
            // both extremes in one accumulator
            "v = abs(x[i])\nif v < lo:\n    lo = v\nif v > lo:\n    lo = v",
            // leaves early
            "v = abs(x[i])\nif v < lo:\n    lo = v\nif v > 5.0:\n    break",
            // stores
            "v = abs(x[i])\nx[i] = v\nif v < lo:\n    lo = v",
            // another float chain
            "v = abs(x[i])\nif v < lo:\n    lo = v\ntotal += v",
            "v = abs(x[i])\nif v < lo:\n    lo = v\nif x[i] < first:\n    first = x[i]",
        ] {
            let indented: String = loop_body.lines().map(|l| format!("    {l}\n")).collect();
            let source = body(&format!(
                "lo = 1e300\ntotal = 0.0\nfirst = 1e300\nfor i in range(len(x)):\n{indented}\
                 return lo + total + first"
            ));
            assert!(lanes(&source).is_empty(), "{loop_body}");
        }
        // Only the innermost of two loops.
        let source = body("lo = 1e300\nfor i in range(len(x)):\n    for j in range(i):\n        v = abs(x[j])\n        if v < lo:\n            lo = v\nreturn lo");
        assert_eq!(lanes(&source), vec![vec![acc("lo", Extreme::Min)]]);
        // A step other than 1.
        let source = body("lo = 1e300\nfor i in range(0, len(x), 2):\n    v = abs(x[i])\n    if v < lo:\n        lo = v\nreturn lo");
        assert!(lanes(&source).is_empty());
    }
}
