//! Which arrays a function stores into directly (`a[i] = x`, `a[i][j] = x`,
//! `a[i] += x`), by variable name, sorted. Stores made by a called helper
//! are the helper's own facts.

use crate::ir::typed::{self, ExprKind, Stmt, Target};

pub fn written_arrays(function: &typed::Function) -> Vec<String> {
    let mut names = Vec::new();
    collect(&function.body, &mut names);
    names.sort();
    names.dedup();
    names
}

fn collect(stmts: &[Stmt], names: &mut Vec<String>) {
    for stmt in stmts {
        if let Stmt::Assign { target, .. } = stmt {
            target_arrays(target, names);
        }
        for body in stmt.nested() {
            collect(body, names);
        }
    }
}

fn target_arrays(target: &Target, names: &mut Vec<String>) {
    match target {
        Target::Index { array, .. } => {
            if let Some(name) = root_variable(array) {
                names.push(name.to_string());
            }
        }
        Target::View { view, .. } | Target::Select { array: view, .. } => {
            if let Some(name) = root_variable(view) {
                names.push(name.to_string());
            }
        }
        Target::Tuple(items) => items.iter().for_each(|t| target_arrays(t, names)),
        Target::Local(_) | Target::Item { .. } => {}
    }
}

/// The variable a view expression (`a`, `a[i]`, `a[i][j]`) is taken from.
pub fn root_variable(expr: &typed::Expr) -> Option<&str> {
    match &expr.kind {
        ExprKind::Local(name) => Some(name),
        ExprKind::SubArray { array, .. }
        | ExprKind::View { array, .. }
        | ExprKind::Transpose(array)
        | ExprKind::Reshape {
            array, copy: false, ..
        } => root_variable(array),
        _ => None,
    }
}
