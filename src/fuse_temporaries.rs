//! Fusing array temporaries used once, between inference and analysis.
//!
//! NumPy code names its intermediate arrays:
//!
//! ```python
//! shifted = x - x.max(axis=1, keepdims=True)
//! e = np.exp(shifted)
//! ```
//!
//! Inference fuses each whole-array expression into one loop, but a name
//! ends the expression: `shifted` is a new array, written by one loop and
//! read by the next. When a local is assigned an element-wise expression
//! once, and the statement right after it is the only one that reads it,
//! reading it once as an input of its element-wise expression or as the
//! array of its reduction, this pass puts the expression in place of the
//! name: one loop, and no array for `shifted`. The per-element operations
//! and their order stay the same, so results are bit-identical.
//!
//! The expression then runs where the name was read, so the pass only
//! fuses where nothing observable happens in between: the consumer is the
//! next statement, and what it evaluates around the fused expression is
//! variables and constants. The fused expression's own inputs are
//! evaluated first, as they were in the statement that assigned the name;
//! a shape mismatch among them still raises NumPy's ValueError.
//!
//! First, an element-wise expression that is an input of another (the
//! `astype` of an expression) merges into it, inputs in the same order.
//! Either merge is left out where the merged element would be computed
//! more than once per element and costs more than a few operations.

use std::collections::HashMap;

use crate::infer::arrays::MAX_FUSED_ARRAYS;
use crate::ir::typed::{self, Elem, ElemKind, Expr, ExprKind, Stmt, Target};

/// The module with every fusable temporary of every function fused.
pub fn fuse(mut module: typed::Module) -> typed::Module {
    for function in &mut module.functions {
        let mut reads: HashMap<String, usize> = HashMap::new();
        let mut assignments: HashMap<String, usize> = HashMap::new();
        count(&function.body, &mut reads, &mut assignments);
        for param in &function.params {
            // A parameter is bound once more, by the call.
            *assignments.entry(param.name.clone()).or_insert(0) += 1;
        }
        let single = |name: &str| reads.get(name) == Some(&1) && assignments.get(name) == Some(&1);
        flatten_block(&mut function.body);
        fuse_block(&mut function.body, &single);
    }
    module
}

/// How often each local is read and assigned in `stmts`.
fn count(
    stmts: &[Stmt],
    reads: &mut HashMap<String, usize>,
    assignments: &mut HashMap<String, usize>,
) {
    fn target(t: &Target, assignments: &mut HashMap<String, usize>) {
        match t {
            Target::Local(name) => *assignments.entry(name.clone()).or_insert(0) += 1,
            Target::Tuple(targets) => targets.iter().for_each(|t| target(t, assignments)),
            _ => {}
        }
    }
    for stmt in stmts {
        stmt.for_each_expr(&mut |expr| {
            expr.walk(&mut |e| {
                if let ExprKind::Local(name) = &e.kind {
                    *reads.entry(name.clone()).or_insert(0) += 1;
                }
            })
        });
        match stmt {
            Stmt::Assign { target: t, .. } => target(t, assignments),
            Stmt::ForRange { var: Some(var), .. } => {
                *assignments.entry(var.clone()).or_insert(0) += 1
            }
            _ => {}
        }
        for body in stmt.nested() {
            count(body, reads, assignments);
        }
    }
}

fn flatten_block(stmts: &mut [Stmt]) {
    for stmt in stmts {
        stmt.for_each_expr_mut(&mut flatten);
        nested_mut(stmt)
            .into_iter()
            .for_each(|body| flatten_block(body));
    }
}

fn fuse_block(stmts: &mut Vec<Stmt>, single: &dyn Fn(&str) -> bool) {
    let mut i = 0;
    while i < stmts.len() {
        if i + 1 < stmts.len() {
            if let Some(fused) = fused_pair(&stmts[i], &stmts[i + 1], single) {
                // The consumer takes the definition's place; it may itself
                // be the definition of the statement after it.
                stmts.remove(i);
                stmts[i] = fused;
                continue;
            }
        }
        nested_mut(&mut stmts[i])
            .into_iter()
            .for_each(|body| fuse_block(body, single));
        i += 1;
    }
}

fn nested_mut(stmt: &mut Stmt) -> Vec<&mut Vec<Stmt>> {
    match stmt {
        Stmt::If { body, orelse, .. } => vec![body, orelse],
        Stmt::ForRange { body, .. } | Stmt::While { body, .. } => vec![body],
        _ => Vec::new(),
    }
}

/// `consumer` with the element-wise expression `definition` assigns in
/// place of the one read of its name, if that fusion is allowed.
fn fused_pair(definition: &Stmt, consumer: &Stmt, single: &dyn Fn(&str) -> bool) -> Option<Stmt> {
    let Stmt::Assign {
        target: Target::Local(name),
        value,
    } = definition
    else {
        return None;
    };
    if !matches!(value.kind, ExprKind::ElementWise { .. }) || !single(name) {
        return None;
    }
    let mut consumer = consumer.clone();
    let fused = match &mut consumer {
        Stmt::Assign {
            target: Target::Local(_) | Target::View { .. },
            value: consumer_value,
        } => fuse_into(consumer_value, name, value),
        Stmt::Return(Some(consumer_value)) => fuse_into(consumer_value, name, value),
        _ => false,
    };
    fused.then_some(consumer)
}

/// Whether evaluating `expr` cannot raise or be observed: a variable or a
/// constant, or one converted to another number type (`n` as a float).
fn inert(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Local(_) | ExprKind::Literal(_) | ExprKind::Constant(_) => true,
        ExprKind::Cast(inner) => inert(inner) && inner.array_type().is_none(),
        _ => false,
    }
}

/// Puts `definition` in place of the read of `name` in `value`, where that
/// read is an input of an element-wise expression or the array of a
/// reduction, and everything `value` evaluates besides is variables and
/// constants: so `np.exp(t)`, `np.sum(t)`, `np.sqrt(np.sum(t) / n)`.
fn fuse_into(value: &mut Expr, name: &str, definition: &Expr) -> bool {
    match &mut value.kind {
        ExprKind::Reduce { array, ddof, .. } => {
            if ddof.as_deref().is_some_and(|d| !inert(d)) {
                return false;
            }
            if matches!(&array.kind, ExprKind::Local(n) if n == name) {
                **array = definition.clone();
                return true;
            }
            fuse_into(array, name, definition)
        }
        ExprKind::ElementWise { inputs, .. } => {
            let position = inputs
                .iter()
                .position(|i| matches!(&i.kind, ExprKind::Local(n) if n == name));
            if let Some(k) = position {
                return merge_input(value, k, definition);
            }
            fuse_into_only_child(value, name, definition)
        }
        ExprKind::Binary { .. }
        | ExprKind::Intrinsic { .. }
        | ExprKind::Neg(_)
        | ExprKind::Cast(_) => fuse_into_only_child(value, name, definition),
        _ => false,
    }
}

/// [`fuse_into`] the one child of `value` that is not inert, if it reads
/// `name`.
fn fuse_into_only_child(value: &mut Expr, name: &str, definition: &Expr) -> bool {
    let mut busy = 0;
    value.for_each_child_mut(&mut |child| busy += usize::from(!inert(child)));
    if busy != 1 {
        return false;
    }
    let mut fused = false;
    value.for_each_child_mut(&mut |child| {
        if !inert(child) && child.reads(name) {
            fused = fuse_into(child, name, definition);
        }
    });
    fused
}

/// Merges the element-wise `definition` into the element-wise `value` in
/// place of its input `k`: the definition's inputs come first, so they are
/// evaluated first, as before; `value`'s other inputs must be inert. Not
/// done when the element of input `k` is used more than once and computing
/// the definition's element twice would cost more than reading it.
fn merge_input(value: &mut Expr, k: usize, definition: &Expr) -> bool {
    let ExprKind::ElementWise {
        inputs: def_inputs,
        body: def_body,
    } = &definition.kind
    else {
        return false;
    };
    let ExprKind::ElementWise { inputs, body } = &mut value.kind else {
        return false;
    };
    if inputs.iter().enumerate().any(|(j, i)| j != k && !inert(i)) {
        return false;
    }
    let mut uses = 0;
    body.walk(&mut |e| uses += usize::from(matches!(e.kind, ElemKind::Input(j) if j == k)));
    if uses > 1 && !cheap(def_body) || too_many_arrays(inputs, k, def_inputs) {
        return false;
    }
    let shift = def_inputs.len();
    // The other inputs after the definition's; the element of input `k`
    // is marked for replacement.
    const FUSED: usize = usize::MAX;
    body.renumber(&|m| match m.cmp(&k) {
        std::cmp::Ordering::Less => shift + m,
        std::cmp::Ordering::Equal => FUSED,
        std::cmp::Ordering::Greater => shift + m - 1,
    });
    replace_input(body, FUSED, def_body);
    let mut merged = def_inputs.clone();
    inputs.remove(k);
    merged.append(inputs);
    *inputs = merged;
    one_input_per_local(inputs, body);
    true
}

/// A local read by both merged expressions becomes one input, as when
/// inference joins operands: one stream of elements, not two.
fn one_input_per_local(inputs: &mut Vec<Expr>, body: &mut Elem) {
    let mut j = 1;
    while j < inputs.len() {
        let first = match &inputs[j].kind {
            ExprKind::Local(name) => inputs[..j].iter().position(|i| {
                matches!(&i.kind, ExprKind::Local(n) if n == name) && i.ty == inputs[j].ty
            }),
            _ => None,
        };
        let Some(first) = first else {
            j += 1;
            continue;
        };
        body.renumber(&|m| match m.cmp(&j) {
            std::cmp::Ordering::Less => m,
            std::cmp::Ordering::Equal => first,
            std::cmp::Ordering::Greater => m - 1,
        });
        inputs.remove(j);
    }
}

/// Whether putting `merged`'s inputs in place of input `k` of `inputs` would
/// make one loop read more arrays than the runtime's widest fused loop.
fn too_many_arrays(inputs: &[Expr], k: usize, merged: &[Expr]) -> bool {
    let arrays = |inputs: &[Expr]| inputs.iter().filter(|i| i.array_type().is_some()).count();
    let replaced = usize::from(inputs[k].array_type().is_some());
    arrays(inputs) - replaced + arrays(merged) > MAX_FUSED_ARRAYS
}

/// Whether an element costs about as little to compute as to load: a few
/// arithmetic operations, no function calls.
fn cheap(elem: &Elem) -> bool {
    let mut nodes = 0;
    let mut calls = false;
    elem.walk(&mut |e| {
        nodes += 1;
        calls |= matches!(e.kind, ElemKind::Call { .. } | ElemKind::Where { .. });
    });
    nodes <= 5 && !calls
}

/// Element-wise expressions among the inputs of element-wise expressions,
/// which would each make an array the outer loop reads (`np.floor(y +
/// 0.5).astype(np.uint8)`), merged into the outer expression: one loop.
fn flatten(expr: &mut Expr) {
    expr.for_each_child_mut(&mut flatten);
    loop {
        let ExprKind::ElementWise { inputs, .. } = &expr.kind else {
            return;
        };
        let nested = inputs
            .iter()
            .position(|i| matches!(i.kind, ExprKind::ElementWise { .. }));
        let Some(k) = nested else {
            return;
        };
        let inner = inputs[k].clone();
        if !merge_nested(expr, k, &inner) {
            return;
        }
    }
}

/// [`merge_input`] for a nested input, whose siblings need not be inert:
/// the order of evaluation of the inputs does not change.
fn merge_nested(value: &mut Expr, k: usize, inner: &Expr) -> bool {
    let ExprKind::ElementWise {
        inputs: inner_inputs,
        body: inner_body,
    } = &inner.kind
    else {
        return false;
    };
    let ExprKind::ElementWise { inputs, body } = &mut value.kind else {
        return false;
    };
    let mut uses = 0;
    body.walk(&mut |e| uses += usize::from(matches!(e.kind, ElemKind::Input(j) if j == k)));
    if uses > 1 && !cheap(inner_body) || too_many_arrays(inputs, k, inner_inputs) {
        return false;
    }
    // The inner inputs take the place of input `k`, in their order.
    let count = inner_inputs.len();
    const FUSED: usize = usize::MAX;
    body.renumber(&|m| match m.cmp(&k) {
        std::cmp::Ordering::Less => m,
        std::cmp::Ordering::Equal => FUSED,
        std::cmp::Ordering::Greater => m + count - 1,
    });
    let mut placed = inner_body.as_ref().clone();
    placed.renumber(&|m| m + k);
    replace_input(body, FUSED, &placed);
    inputs.splice(k..=k, inner_inputs.iter().cloned());
    one_input_per_local(inputs, body);
    true
}

/// Replaces every `Input(k)` in `elem` by `with`.
fn replace_input(elem: &mut Elem, k: usize, with: &Elem) {
    match &mut elem.kind {
        ElemKind::Input(j) if *j == k => *elem = with.clone(),
        ElemKind::Input(_) | ElemKind::Literal(_) => {}
        ElemKind::Cast(inner) | ElemKind::Neg(inner) | ElemKind::Invert(inner) => {
            replace_input(inner, k, with)
        }
        ElemKind::Binary { left, right, .. } | ElemKind::Compare { left, right, .. } => {
            replace_input(left, k, with);
            replace_input(right, k, with);
        }
        ElemKind::Call { args, .. } => args.iter_mut().for_each(|a| replace_input(a, k, with)),
        ElemKind::Where {
            condition,
            then,
            orelse,
        } => {
            replace_input(condition, k, with);
            replace_input(then, k, with);
            replace_input(orelse, k, with);
        }
    }
}
