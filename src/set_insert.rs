//! One search of a set where the program tests for a key and then adds it,
//! between inference and analysis.
//!
//! The usual way to keep the first of each value searches the set twice:
//!
//! ```python
//! if x not in seen:          if rt::set_insert(&seen, x) {
//!     seen.add(x)       →        out.append(x)
//!     out.append(x)          }
//! ```
//!
//! `rt::set_insert` adds the key and says whether it was absent, which is
//! the test's answer: when the key is present, adding it changes nothing,
//! and when it is absent, the branch adds it first thing. So the rewrite
//! applies where the `add` is the first statement of the branch that runs
//! when the key is absent (the `if` of `not in`, the `else` of `in`), or
//! the statement right after an `if x in seen:` whose branch always leaves
//! (`continue`, `break`, `return`, `raise`). The key and the set must be the
//! same variable (or constant) in the test and in the `add`, so both see one
//! value; a set's hashing runs no user code, so nothing observable moves.

use crate::ir::typed::{self, Expr, ExprKind, Stmt};
use crate::types::Type;

/// The module with every test-then-add of a set made one search.
pub fn fuse(mut module: typed::Module) -> typed::Module {
    for function in &mut module.functions {
        rewrite(&mut function.body);
    }
    module
}

fn rewrite(stmts: &mut Vec<Stmt>) {
    for stmt in stmts.iter_mut() {
        for nested in stmt.nested_mut() {
            rewrite(nested);
        }
    }
    let mut out = Vec::with_capacity(stmts.len());
    let mut rest = std::mem::take(stmts).into_iter().peekable();
    while let Some(stmt) = rest.next() {
        let Stmt::If {
            test,
            mut body,
            mut orelse,
        } = stmt
        else {
            out.push(stmt);
            continue;
        };
        let fused = match membership(&test) {
            // `if x not in s: s.add(x); ...`
            Some((false, key, set)) if adds(body.first(), key, set) => {
                body.remove(0);
                Some(insert(set, key))
            }
            // `if x in s: ... else: s.add(x); ...`
            Some((true, key, set)) if adds(orelse.first(), key, set) => {
                orelse.remove(0);
                Some(not(insert(set, key)))
            }
            // `if x in s: continue` then `s.add(x)`
            Some((true, key, set))
                if orelse.is_empty() && always_leaves(&body) && adds(rest.peek(), key, set) =>
            {
                rest.next();
                Some(not(insert(set, key)))
            }
            _ => None,
        };
        out.push(Stmt::If {
            test: fused.unwrap_or(test),
            body,
            orelse,
        });
    }
    *stmts = out;
}

/// `key in set` (true) or `key not in set` (false), with the key a
/// variable or a constant and the set a variable.
fn membership(test: &Expr) -> Option<(bool, &Expr, &Expr)> {
    let (present, contains) = match &test.kind {
        ExprKind::Not(inner) => (false, &**inner),
        _ => (true, test),
    };
    let ExprKind::Runtime {
        function: "set_contains",
        args,
    } = &contains.kind
    else {
        return None;
    };
    let [key, set] = args.as_slice() else {
        return None;
    };
    (steady(key) && matches!(set.kind, ExprKind::Local(_))).then_some((present, key, set))
}

/// Whether `stmt` is `set.add(key)` of this set and key.
fn adds(stmt: Option<&Stmt>, key: &Expr, set: &Expr) -> bool {
    matches!(stmt, Some(Stmt::Expr(Expr {
        kind: ExprKind::Runtime { function: "set_add", args },
        ..
    })) if matches!(args.as_slice(), [s, k] if s == set && k == key))
}

/// A key that reads the same value wherever it is evaluated in one
/// statement and the next: a variable or a literal, possibly converted.
fn steady(key: &Expr) -> bool {
    match &key.kind {
        ExprKind::Local(_) | ExprKind::Literal(_) => true,
        ExprKind::Cast(inner) => steady(inner),
        ExprKind::Tuple(items) => items.iter().all(steady),
        _ => false,
    }
}

/// Whether running `stmts` to their end always leaves the enclosing block.
fn always_leaves(stmts: &[Stmt]) -> bool {
    match stmts.last() {
        Some(Stmt::Continue | Stmt::Break | Stmt::Return(_) | Stmt::Raise { .. }) => true,
        Some(Stmt::If { body, orelse, .. }) => always_leaves(body) && always_leaves(orelse),
        _ => false,
    }
}

fn insert(set: &Expr, key: &Expr) -> Expr {
    Expr::new(
        ExprKind::Runtime {
            function: "set_insert",
            args: vec![set.clone(), key.clone()],
        },
        Type::Bool,
    )
}

fn not(value: Expr) -> Expr {
    Expr::new(ExprKind::Not(Box::new(value)), Type::Bool)
}
