//! Sets that only answer membership, kept without Python's order, after
//! `read_only_rows`.
//!
//! A compiled set reproduces CPython's table (its slots, probes and
//! resizes), so that iterating it, or the Python set it becomes, shows
//! CPython's order. A set that is never iterated and never leaves the
//! function has no order anyone sees:
//!
//! ```text
//! seen = set()                 # rt::unordered_set_new()   : rt::UnorderedSet<i64>
//! for x in items:
//!     if x not in seen:        # rt::unordered_set_insert(&seen, x)
//!         seen.add(x)
//! ```
//!
//! Such a local (not a parameter) is an `rt::UnorderedSet<K>`, a plain hash
//! set. It qualifies when every assignment to it is an empty `set()` or
//! display and every use is one of `UNORDERED`: adding,
//! discarding, removing (KeyError as Python raises it), `in`, `len`, truth,
//! `clear`. Anything else, even once, keeps the set a set.

use std::collections::BTreeSet;

use crate::ir::typed::{self, ExprKind, Stmt, Target};
use crate::types::Type;

/// The set operations an unordered set answers, which argument is the set,
/// and what each becomes.
const UNORDERED: &[(&str, usize, &str)] = &[
    ("set_insert", 0, "unordered_set_insert"),
    ("set_add", 0, "unordered_set_add"),
    ("set_discard", 0, "unordered_set_discard"),
    ("set_discard_exact", 0, "unordered_set_discard_exact"),
    ("set_remove", 0, "unordered_set_remove"),
    ("set_remove_exact", 0, "unordered_set_remove_exact"),
    ("set_contains", 1, "unordered_set_contains"),
    ("set_contains_exact", 1, "unordered_set_contains_exact"),
    ("set_len", 0, "unordered_set_len"),
    ("set_truthy", 0, "unordered_set_truthy"),
    ("set_clear", 0, "unordered_set_clear"),
    ("list_prefetch_set_keys", 0, "unordered_set_prefetch"),
];

/// Plans and rewrites the unordered sets of every function.
pub fn plan(mut module: typed::Module) -> typed::Module {
    for function in &mut module.functions {
        let sets = unordered(function);
        if sets.is_empty() {
            continue;
        }
        for stmt in &mut function.body {
            stmt.for_each_expr_in_tree_mut(&mut |e| rename(e, &sets));
        }
        rename_displays(&mut function.body, &sets);
        function.unordered_sets = sets;
    }
    module
}

/// The set locals of `function` that only answer membership.
fn unordered(function: &typed::Function) -> BTreeSet<String> {
    let mut sets: BTreeSet<String> = function
        .locals
        .iter()
        .filter(|l| matches!(l.ty, Type::Set(_)) && !function.is_parameter(&l.name))
        .map(|l| l.name.clone())
        .collect();
    if sets.is_empty() {
        return sets;
    }
    let mut misfits = BTreeSet::new();
    for stmt in &function.body {
        check_stmt(stmt, &sets, &mut misfits);
    }
    sets.retain(|name| !misfits.contains(name));
    sets
}

/// Whether `expr` is an empty set display, as `set()` is lowered (cast to
/// the type it is stored as).
fn empty_set(expr: &typed::Expr) -> bool {
    match &expr.kind {
        ExprKind::Cast(inner) => empty_set(inner),
        ExprKind::Runtime {
            function: "set_display",
            args,
        } => args.is_empty(),
        _ => false,
    }
}

fn check_stmt(stmt: &Stmt, sets: &BTreeSet<String>, misfits: &mut BTreeSet<String>) {
    match stmt {
        Stmt::Assign {
            target: Target::Local(name),
            value,
        } if sets.contains(name) => {
            if !empty_set(value) {
                misfits.insert(name.clone());
                check_expr(value, sets, misfits);
            }
        }
        _ => {
            let mut bound = Vec::new();
            stmt.own_bound_locals(&mut bound);
            misfits.extend(bound.into_iter().filter(|b| sets.contains(b)));
            stmt.for_each_expr(&mut |e| check_expr(e, sets, misfits));
            for body in stmt.nested() {
                for stmt in body {
                    check_stmt(stmt, sets, misfits);
                }
            }
        }
    }
}

/// Marks every candidate `expr` uses other than as the set of an
/// `UNORDERED` operation.
fn check_expr(expr: &typed::Expr, sets: &BTreeSet<String>, misfits: &mut BTreeSet<String>) {
    match &expr.kind {
        ExprKind::Local(name) => {
            if sets.contains(name) {
                misfits.insert(name.clone());
            }
        }
        ExprKind::Runtime { function, args } => {
            let operand = UNORDERED
                .iter()
                .find(|(name, ..)| name == function)
                .map(|(_, operand, _)| *operand);
            for (k, arg) in args.iter().enumerate() {
                let is_set = matches!(&arg.kind, ExprKind::Local(name) if sets.contains(name));
                if Some(k) != operand || !is_set {
                    check_expr(arg, sets, misfits);
                }
            }
        }
        _ => expr.for_each_child(&mut |child| check_expr(child, sets, misfits)),
    }
}

/// The operations on an unordered set, and its empty display, renamed.
fn rename(expr: &mut typed::Expr, sets: &BTreeSet<String>) {
    expr.for_each_child_mut(&mut |child| rename(child, sets));
    let ExprKind::Runtime { function, args } = &mut expr.kind else {
        return;
    };
    let Some((_, operand, renamed)) = UNORDERED.iter().find(|(name, ..)| name == function) else {
        return;
    };
    if matches!(args.get(*operand).map(|a| &a.kind), Some(ExprKind::Local(name)) if sets.contains(name))
    {
        *function = renamed;
    }
}

/// The empty displays assigned to the unordered sets, made unordered sets.
fn rename_displays(stmts: &mut [Stmt], sets: &BTreeSet<String>) {
    for stmt in stmts {
        if let Stmt::Assign {
            target: Target::Local(name),
            value,
        } = stmt
        {
            if sets.contains(name) {
                new_unordered(value);
            }
        }
        for body in stmt.nested_mut() {
            rename_displays(body, sets);
        }
    }
}

fn new_unordered(expr: &mut typed::Expr) {
    match &mut expr.kind {
        ExprKind::Cast(inner) => new_unordered(inner),
        ExprKind::Runtime { function, .. } if *function == "set_display" => {
            *function = "unordered_set_new";
        }
        _ => {}
    }
}
