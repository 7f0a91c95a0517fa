//! Arrays made by `np.empty` or `np.zeros` whose every element is stored
//! before anything reads them: their zeros are never observed, so they may
//! be allocated without writing them, saving a pass over the memory (most of
//! the time of a loop such as a prefix sum into a new array).
//!
//! The proof is syntactic, over the top-level statements of a function:
//! `out = np.empty(shape)` binds a local that nothing else binds; the
//! statements after it do not mention `out` until a nest of `for` loops, one
//! per axis, each `for v in range(shape[axis])` (from 0, step 1, the bound
//! the same expression as the shape's, none of whose variables the function
//! assigns after the array is made), directly nested; the innermost body
//! stores `out[v0, v1, …] = value` at its top level, and nothing else in
//! the nest mentions `out`. Nothing in the nest leaves it early (`break`,
//! `continue`, `return`): when the nest ends normally every element has
//! been stored once, and when it raises the array is dropped unread.

use std::collections::HashSet;

use crate::ir::typed::{self, ExprKind, Stmt, Target};

/// The addresses of the array-making expressions (`NewArray`) whose
/// elements are all stored before any is read.
pub fn overwritten_arrays(function: &typed::Function) -> HashSet<usize> {
    let mut found = HashSet::new();
    let body = &function.body;
    for (position, stmt) in body.iter().enumerate() {
        let Stmt::Assign {
            target: Target::Local(name),
            value,
        } = stmt
        else {
            continue;
        };
        let ExprKind::NewArray {
            fill: typed::ArrayFill::Zeros,
            shape,
            ..
        } = &value.kind
        else {
            continue;
        };
        if function.is_parameter(name)
            || assignments(body, name) != 1
            || shape.iter().any(|s| !s.is_effect_free())
        {
            continue;
        }
        let rest = &body[position + 1..];
        let Some(nest) = rest.iter().position(|s| mentions(s, name)) else {
            continue;
        };
        // The shape's variables keep their values from the array's making
        // to the end of the nest.
        let mut shape_vars = HashSet::new();
        for dim in shape {
            dim.walk(&mut |e| {
                if let ExprKind::Local(var) = &e.kind {
                    shape_vars.insert(var.clone());
                }
            });
        }
        if shape_vars
            .iter()
            .any(|var| rest[..=nest].iter().any(|s| assigns(s, var)))
        {
            continue;
        }
        if fills(&rest[nest], name, shape, &mut Vec::new()) {
            found.insert(std::ptr::from_ref(value) as usize);
        }
    }
    found
}

/// Whether `stmt` is a loop nest over the axes `shape[vars.len()..]` whose
/// innermost body stores `name[vars…, …]` once per iteration, as described
/// in the module comment.
fn fills(stmt: &Stmt, name: &str, shape: &[typed::Expr], vars: &mut Vec<String>) -> bool {
    let Some(axis_bound) = shape.get(vars.len()) else {
        return false;
    };
    let Stmt::ForRange {
        var: Some(var),
        start,
        stop,
        step: None,
        body,
        ..
    } = stmt
    else {
        return false;
    };
    if !matches!(start.kind, ExprKind::Literal(typed::Literal::Int(0)))
        || stop != axis_bound
        || body.iter().any(|s| assigns(s, var) || leaves_early(s))
    {
        return false;
    }
    vars.push(var.clone());
    let mut mentioning = body.iter().filter(|s| mentions(s, name));
    let (Some(only), None) = (mentioning.next(), mentioning.next()) else {
        return false;
    };
    if vars.len() < shape.len() {
        return fills(only, name, shape, vars);
    }
    let Stmt::Assign {
        target: Target::Index { array, indices, .. },
        value,
    } = only
    else {
        return false;
    };
    let is_var = |e: &typed::Expr, v: &String| matches!(&e.kind, ExprKind::Local(n) if n == v);
    matches!(&array.kind, ExprKind::Local(a) if a == name)
        && indices.len() == vars.len()
        && indices.iter().zip(vars.iter()).all(|(i, v)| is_var(i, v))
        && !reads(value, name)
}

fn reads(expr: &typed::Expr, name: &str) -> bool {
    let mut found = false;
    expr.walk(&mut |e| found |= matches!(&e.kind, ExprKind::Local(n) if n == name));
    found
}

/// Whether the statement, or one nested in it, mentions the variable.
fn mentions(stmt: &Stmt, name: &str) -> bool {
    let mut found = assigns(stmt, name);
    stmt.for_each_expr(&mut |e| found |= reads(e, name));
    found
        || stmt
            .nested()
            .iter()
            .any(|b| b.iter().any(|s| mentions(s, name)))
}

/// Whether the statement, or one nested in it, assigns the variable.
fn assigns(stmt: &Stmt, name: &str) -> bool {
    binds(stmt, name)
        || stmt
            .nested()
            .iter()
            .any(|b| b.iter().any(|s| assigns(s, name)))
}

/// Whether the statement itself (not one nested in it) binds the variable.
fn binds(stmt: &Stmt, name: &str) -> bool {
    fn target(t: &Target, name: &str) -> bool {
        match t {
            Target::Local(n) => n == name,
            Target::Tuple(items) => items.iter().any(|t| target(t, name)),
            Target::Index { .. }
            | Target::View { .. }
            | Target::Select { .. }
            | Target::Item { .. } => false,
        }
    }
    match stmt {
        Stmt::Assign { target: t, .. } => target(t, name),
        Stmt::ForRange { var: Some(v), .. } => v == name,
        _ => false,
    }
}

/// How many statements, here or nested, bind the variable.
fn assignments(stmts: &[Stmt], name: &str) -> usize {
    stmts
        .iter()
        .map(|s| {
            usize::from(binds(s, name))
                + s.nested()
                    .iter()
                    .map(|b| assignments(b, name))
                    .sum::<usize>()
        })
        .sum()
}

/// Whether the statement, or one nested in it, is `break`, `continue` or
/// `return`.
fn leaves_early(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Break | Stmt::Continue | Stmt::Return(_))
        || stmt.nested().iter().any(|b| b.iter().any(leaves_early))
}
