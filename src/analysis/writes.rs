//! Which arrays a function stores into directly (`a[i] = x`, `a[i][j] = x`,
//! `a[i] += x`), by variable name, sorted. A store into a view held by a
//! local (`row = a[i]` then `row[j] = x`) stores into the array it was
//! taken from too. Stores made by a called helper are the helper's own
//! facts.

use crate::ir::typed::{self, ExprKind, Stmt, Target};
use crate::types::Type;

pub fn written_arrays(function: &typed::Function) -> Vec<String> {
    let mut names = Vec::new();
    collect(&function.body, &mut names);
    with_viewed(function, names)
}

/// `names` and every array a local in it may be a view of, sorted.
pub fn with_viewed(function: &typed::Function, mut names: Vec<String>) -> Vec<String> {
    let mut edges = Vec::new();
    view_edges(&function.body, &mut edges);
    loop {
        let before = names.len();
        for (view, source) in &edges {
            if names.contains(view) && !names.contains(source) {
                names.push(source.clone());
            }
        }
        if names.len() == before {
            break;
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `(local, array)` for every assignment of a view of `array` (or of
/// `array` itself) to an array local, in any branch.
fn view_edges(stmts: &[Stmt], edges: &mut Vec<(String, String)>) {
    for stmt in stmts {
        if let Stmt::Assign { target, value } = stmt {
            assigned_views(target, value, edges);
        }
        for body in stmt.nested() {
            view_edges(body, edges);
        }
    }
}

fn assigned_views(target: &Target, value: &typed::Expr, edges: &mut Vec<(String, String)>) {
    match (target, &value.kind) {
        (Target::Local(name), _) if matches!(value.ty, Type::Array(_)) => {
            if let Some(source) = root_variable(value) {
                if source != name {
                    edges.push((name.clone(), source.to_string()));
                }
            }
        }
        (Target::Tuple(targets), ExprKind::Tuple(values)) if targets.len() == values.len() => {
            for (target, value) in targets.iter().zip(values) {
                assigned_views(target, value, edges);
            }
        }
        _ => {}
    }
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
