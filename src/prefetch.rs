//! Prefetching the rows of a list of lists that a loop visits in the order
//! of another list, between inference and analysis.
//!
//! ```text
//! for u in frontier:            # lowering: u = iter[index]
//!     for v in adj[u]:          # adj: list[list[int]]
//! ```
//!
//! (or `u = queue[head]` in a loop that walks a queue itself)
//!
//! reads `adj`'s rows in an order the processor cannot foresee: each row's
//! header and elements are a cache miss, and the branches of the loop body
//! keep the processor from running far enough ahead to overlap them. Right
//! after the element read, this pass adds
//!
//! ```text
//! rt::list_prefetch_rows(&adj, &iter, index)
//! ```
//!
//! which asks for the rows a few steps ahead. Likewise a loop that looks
//! its element up in a set of ints larger than the cache
//!
//! ```text
//! for x in items:               # lowering: x = iter[index]
//!     if x not in seen:         # seen: set[int]
//!         seen.add(x)
//! ```
//!
//! waits at every step for the key's table slot and then for the entry the
//! slot names; `rt::list_prefetch_set_keys(&seen, &iter, index)` asks for
//! both a few keys ahead.
//!
//! A prefetch changes nothing the program sees and raises nothing, so any
//! such loop may have it; it is added where it pays: the walked list is a
//! list of ints, its element (not rebound in the loop) indexes a list of
//! lists or is looked up in a set of ints, and that list or set is one the
//! loop cannot rebind (a parameter, or a local that only statements of the
//! function's top level assign, one of them before the loop), so its name
//! is bound wherever the loop runs.

use std::collections::HashSet;

use crate::ir::typed::{self, ExprKind, Stmt, Target};
use crate::types::Type;

/// Adds the prefetches to every function.
pub fn insert(mut module: typed::Module) -> typed::Module {
    for function in &mut module.functions {
        let fixed = fixed_lists(function);
        let mut bound: HashSet<String> = function
            .params
            .iter()
            .filter(|param| fixed.contains(&param.name))
            .map(|param| param.name.clone())
            .collect();
        for stmt in &mut function.body {
            insert_in_block(std::slice::from_mut(stmt), &bound);
            let mut names = Vec::new();
            stmt.own_bound_locals(&mut names);
            bound.extend(names.into_iter().filter(|name| fixed.contains(name)));
        }
    }
    module
}

/// The lists of lists and sets of ints of `function` that only its
/// top-level statements bind (parameters bound by nothing else among them).
fn fixed_lists(function: &typed::Function) -> HashSet<String> {
    let rows = |ty: &Type| {
        matches!(ty, Type::List(item) if matches!(**item, Type::List(_)))
            || matches!(ty, Type::Set(key) if **key == Type::Int)
    };
    let mut names: HashSet<String> = function
        .params
        .iter()
        .filter(|param| rows(&param.ty))
        .map(|param| param.name.clone())
        .chain(
            function
                .locals
                .iter()
                .filter(|local| rows(&local.ty))
                .map(|local| local.name.clone()),
        )
        .collect();
    let mut nested = Vec::new();
    for stmt in &function.body {
        for body in stmt.nested() {
            typed::bound_locals(body, &mut nested);
        }
    }
    for name in nested {
        names.remove(&name);
    }
    names
}

fn insert_in_block(stmts: &mut [Stmt], bound: &HashSet<String>) {
    for stmt in stmts {
        for body in stmt.nested_mut() {
            insert_in_block(body, bound);
        }
        if let Stmt::ForRange { body, .. } | Stmt::While { body, .. } = stmt {
            insert_in_loop(body, bound);
        }
    }
}

/// Adds the prefetch to a loop body that reads an element of a list of
/// ints at its top level, `u = order[i]` (lowering's `u = iter[index]` of
/// `for u in order`, or a walk the loop makes itself, `u = queue[head]`),
/// when the body reads `rows[u]` of a bound list of lists after it and
/// does not rebind `u`.
fn insert_in_loop(body: &mut Vec<Stmt>, bound: &HashSet<String>) {
    let Some((at, element, order, index)) = body.iter().enumerate().find_map(|(at, stmt)| {
        let Stmt::Assign {
            target: Target::Local(element),
            value:
                typed::Expr {
                    kind:
                        ExprKind::Runtime {
                            function: "list_get",
                            args,
                        },
                    ty: Type::Int,
                },
        } = stmt
        else {
            return None;
        };
        match args.as_slice() {
            [order @ typed::Expr {
                kind: ExprKind::Local(_),
                ty: Type::List(_),
            }, index @ typed::Expr {
                kind: ExprKind::Local(_),
                ty: Type::Int,
            }] => Some((at, element.clone(), order.clone(), index.clone())),
            _ => None,
        }
    }) else {
        return;
    };
    // A loop that rebinds its element reads rows other than those the
    // order names.
    let mut rebound = Vec::new();
    typed::bound_locals(&body[at + 1..], &mut rebound);
    if rebound.contains(&element) {
        return;
    }
    let mut rows = None;
    let mut keys = None;
    for stmt in &body[at + 1..] {
        stmt.walk_exprs(&mut |expr| {
            let ExprKind::Runtime { function, args } = &expr.kind else {
                return;
            };
            let local = |arg: &typed::Expr| match &arg.kind {
                ExprKind::Local(name) => Some(name.clone()),
                _ => None,
            };
            // The container and the key of a lookup.
            let (container, key) = match (*function, args.as_slice()) {
                ("list_get", [list, key]) => (list, key),
                ("set_insert" | "set_add" | "set_discard" | "set_remove", [set, key])
                | ("set_contains", [key, set]) => (set, key),
                _ => return,
            };
            if local(key).as_ref() != Some(&element)
                || !local(container).is_some_and(|name| bound.contains(&name))
            {
                return;
            }
            match &container.ty {
                Type::List(_) if rows.is_none() => rows = Some(container.clone()),
                Type::Set(_) if keys.is_none() => keys = Some(container.clone()),
                _ => {}
            }
        });
    }
    let prefetches = [
        (rows, "list_prefetch_rows"),
        (keys, "list_prefetch_set_keys"),
    ];
    for (container, function) in prefetches.into_iter().rev() {
        if let Some(container) = container {
            let prefetch = typed::Expr::new(
                ExprKind::Runtime {
                    function,
                    args: vec![container, order.clone(), index.clone()],
                },
                Type::None,
            );
            body.insert(at + 1, Stmt::Expr(prefetch));
        }
    }
}
