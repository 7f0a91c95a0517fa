//! `sorted(xs)` read at a few places only, between inference and analysis.
//!
//! ```text
//! ordered = sorted(xs)                 ordered = list_copy(xs)
//! median = ordered[n // 2]      →      median = list_order_statistic(ordered, n // 2, False)
//! ```
//!
//! The median and percentile idiom sorts a whole list to read one or two
//! of its elements. When a local holds `sorted(xs)` of ints, floats or
//! bools (`reverse` a constant, no `key`), is bound by that statement
//! alone, and is used afterwards only by at most `MAX_READS` element reads
//! and by `len`, none of them in a loop inside the statement's block, the
//! local holds the unsorted copy instead and each read selects its element
//! (`rt::list_order_statistic`): a pass over the list instead of a sort.
//! The reads give what they would give from the sorted list, and nothing
//! else sees the list.

use crate::ir::typed::{self, ExprKind, Literal, Stmt, Target};
use crate::types::Type;

/// Reads beyond this many keep the sort, which they then share.
const MAX_READS: usize = 4;

pub fn rewrite(mut module: typed::Module) -> typed::Module {
    for function in &mut module.functions {
        let candidates = sorted_locals(&function.body);
        for (name, reverse) in candidates {
            if bindings(&function.body, &name) == 1 {
                rewrite_block(&mut function.body, &name, reverse);
            }
        }
    }
    module
}

/// The locals assigned `sorted(xs)` of a list of plain scalars with a
/// constant `reverse`, with that constant.
fn sorted_locals(stmts: &[Stmt]) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for stmt in stmts {
        if let Some(candidate) = sorted_assignment(stmt) {
            found.push(candidate);
        }
        for body in stmt.nested() {
            found.extend(sorted_locals(body));
        }
    }
    found
}

fn sorted_assignment(stmt: &Stmt) -> Option<(String, bool)> {
    let Stmt::Assign {
        target: Target::Local(name),
        value:
            typed::Expr {
                kind:
                    ExprKind::Runtime {
                        function: "list_sorted",
                        args,
                    },
                ty: Type::List(item),
            },
    } = stmt
    else {
        return None;
    };
    if !matches!(**item, Type::Int | Type::Float | Type::Bool) {
        return None;
    }
    match args.as_slice() {
        [_, typed::Expr {
            kind: ExprKind::Literal(Literal::Bool(reverse)),
            ..
        }] => Some((name.clone(), *reverse)),
        _ => None,
    }
}

/// How many times the statements bind `name`.
fn bindings(stmts: &[Stmt], name: &str) -> usize {
    let mut bound = Vec::new();
    typed::bound_locals(stmts, &mut bound);
    bound.iter().filter(|local| *local == name).count()
}

/// Finds the block holding the assignment of `name` and rewrites it there
/// when every use of `name` in the function is an allowed one after it.
fn rewrite_block(stmts: &mut [Stmt], name: &str, reverse: bool) -> bool {
    let at = stmts
        .iter()
        .position(|stmt| matches!(sorted_assignment(stmt), Some((n, _)) if n == name));
    let Some(at) = at else {
        return stmts.iter_mut().any(|stmt| {
            stmt.nested_mut()
                .into_iter()
                .any(|body| rewrite_block(body, name, reverse))
        });
    };
    // Every use is after the assignment, in this block.
    let mut reads = 0;
    let mut allowed = true;
    for stmt in &stmts[at + 1..] {
        count_uses(stmt, name, false, &mut reads, &mut allowed);
    }
    if !allowed || reads > MAX_READS || stmts[..at].iter().any(|stmt| mentions(stmt, name)) {
        return true;
    }
    if let Stmt::Assign { value, .. } = &mut stmts[at] {
        if let ExprKind::Runtime { function, args } = &mut value.kind {
            *function = "list_copy";
            args.truncate(1);
        }
    }
    for stmt in &mut stmts[at + 1..] {
        stmt.for_each_expr_in_tree_mut(&mut |expr| select_reads(expr, name, reverse));
    }
    true
}

/// Whether the statement, or one nested in it, reads `name`.
fn mentions(stmt: &Stmt, name: &str) -> bool {
    let mut found = false;
    stmt.walk_exprs(&mut |expr| found |= matches!(&expr.kind, ExprKind::Local(n) if n == name));
    found
}

/// Counts the element reads of `name` in `stmt` and clears `allowed` at a
/// use that is neither such a read nor `len`, or a read inside a loop.
fn count_uses(stmt: &Stmt, name: &str, in_loop: bool, reads: &mut usize, allowed: &mut bool) {
    // A `while` test runs as often as the body; a `for` header once.
    let test_repeats = in_loop || matches!(stmt, Stmt::While { .. });
    stmt.for_each_expr(&mut |expr| uses_in(expr, name, test_repeats, reads, allowed));
    let in_loop = in_loop || matches!(stmt, Stmt::ForRange { .. } | Stmt::While { .. });
    for body in stmt.nested() {
        for nested in body {
            count_uses(nested, name, in_loop, reads, allowed);
        }
    }
}

fn uses_in(expr: &typed::Expr, name: &str, in_loop: bool, reads: &mut usize, allowed: &mut bool) {
    let is_name = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == name);
    match &expr.kind {
        ExprKind::Runtime {
            function: "list_get",
            args,
        } if args.first().is_some_and(is_name) => {
            *reads += 1;
            if in_loop {
                *allowed = false;
            }
            for arg in &args[1..] {
                uses_in(arg, name, in_loop, reads, allowed);
            }
        }
        ExprKind::Runtime {
            function: "list_len" | "list_truthy",
            args,
        } if args.len() == 1 && is_name(&args[0]) => {}
        ExprKind::Local(n) if n == name => *allowed = false,
        _ => expr.for_each_child(&mut |child| uses_in(child, name, in_loop, reads, allowed)),
    }
}

/// `list_get(name, i)` becomes `list_order_statistic(name, i, reverse)`.
fn select_reads(expr: &mut typed::Expr, name: &str, reverse: bool) {
    expr.for_each_child_mut(&mut |child| select_reads(child, name, reverse));
    if let ExprKind::Runtime { function, args } = &mut expr.kind {
        if *function == "list_get"
            && matches!(args.first(), Some(typed::Expr { kind: ExprKind::Local(n), .. }) if n == name)
        {
            *function = "list_order_statistic";
            args.push(typed::Expr::bool(reverse));
        }
    }
}
