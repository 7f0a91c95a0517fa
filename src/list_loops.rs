//! `for x in xs` over a list whose length may change in the loop, between
//! inference and analysis.
//!
//! Lowering turns `for x in xs` into a loop over `range(len(xs))` that
//! reads `xs[index]`, which is Python's iteration as long as the length
//! stays: a list iterator reads the length again before every step, so an
//! element appended in the loop is visited too, and a `pop` ends the loop
//! early. When the body of such a loop over a list may change the length of
//! a list (`append`, `extend`, `insert`, `pop`, `remove`, `clear`, the heap
//! functions, slice assignment, or a call of a compiled function given a
//! container, any of which may be this list under another name), this
//! pass makes it
//!
//! ```text
//! next = 0
//! while next < len(xs):
//!     index = next
//!     next = next + 1
//!     ... the body, which reads xs[index] first
//! ```
//!
//! `continue` then goes on with the next element, as in Python. Loops that
//! change no list keep their range, which the analyses can reason about,
//! and so do loops over a list made for the loop (a slice, `d.keys()`),
//! which nothing else holds. `for x in reversed(xs)` of a list walks `xs`
//! itself, counting down, whatever its body does: Python's reversed
//! iterator sees the stores into `xs` as well as its length; so does a
//! `reversed(xs)` among the lists `zip` walks (`reversed_zip_loop`).

use crate::ir::typed::{self, ExprKind, Literal, Stmt};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::Type;
use std::collections::HashSet;

/// Runtime functions that change the length of the list they are given.
const LENGTH_CHANGING: &[&str] = &[
    "list_append",
    "list_clear",
    "list_extend",
    "list_heappop",
    "list_heappush",
    "list_insert",
    "list_insort_left",
    "list_insort_left_exact",
    "list_insort_right",
    "list_insort_right_exact",
    "list_pop",
    "list_pop_last",
    "list_remove",
    "list_remove_exact",
    "list_repeat_in_place",
    "list_replace",
];

/// Rewrites the loops of every function; `prefix` is the one lowering gave
/// the names it invents (`lower::hidden_prefix`), which no name of the
/// file starts with.
pub fn rewrite(mut module: typed::Module, prefix: &str) -> typed::Module {
    for function in &mut module.functions {
        let mut added = Vec::new();
        let private = private_lists(function);
        rewrite_block(&mut function.body, prefix, &private, &mut added);
        reserve_appended(&mut function.body, &private);
        for name in added {
            function.locals.push(typed::Local {
                name,
                ty: Type::Int,
            });
        }
    }
    module
}

fn rewrite_block(
    stmts: &mut Vec<Stmt>,
    prefix: &str,
    private: &HashSet<String>,
    added: &mut Vec<String>,
) {
    let mut out = Vec::with_capacity(stmts.len());
    for mut stmt in std::mem::take(stmts) {
        for nested in stmt.nested_mut() {
            rewrite_block(nested, prefix, private, added);
        }
        // A loop over a list made for it (`reversed(xs)`, `sorted(xs)`,
        // `d.keys()`, a slice) walks a list nothing else holds. (`zip`
        // walks several, which the loops below handle.)
        let fresh = match out.last() {
            Some(Stmt::Assign {
                target: typed::Target::Local(_),
                value,
            }) => makes_new_list(value) && walked_list_length(&stmt, prefix).is_some(),
            _ => false,
        };
        if fresh {
            // `for x in reversed(xs)` walks `xs` itself, as Python's
            // reversed iterator does: the body may store into `xs` or
            // change its length, and the walk sees both (and copies nothing).
            if let (Some(Stmt::Assign { value, .. }), Some(_)) =
                (out.last_mut(), walked_list_length(&stmt, prefix))
            {
                if let ExprKind::Runtime {
                    function: "list_reversed",
                    args,
                } = &value.kind
                {
                    // `reversed(adj[u])` too: the list is read once, as
                    // Python reads it, and walked without a copy.
                    if let [source @ typed::Expr {
                        ty: Type::List(_), ..
                    }] = args.as_slice()
                    {
                        *value = source.clone();
                        let (counters, replacement) = reversed_loop(stmt);
                        added.extend(counters);
                        out.extend(replacement);
                        continue;
                    }
                }
            }
            out.push(stmt);
            continue;
        }
        let stmt = match reversed_zip_loop(&mut out, stmt, prefix) {
            Ok((counters, replacement)) => {
                added.extend(counters);
                out.extend(replacement);
                continue;
            }
            Err(stmt) => *stmt,
        };
        match growing_list_loop(stmt, prefix, private) {
            Ok((next, replacement)) => {
                added.push(next);
                out.extend(replacement);
            }
            Err(stmt) => out.push(*stmt),
        }
    }
    *stmts = out;
}

/// `stmt` as the `while` loop of the module comment, with the new counter's
/// name; the statement itself when it is no such loop.
fn growing_list_loop(
    stmt: Stmt,
    prefix: &str,
    private: &HashSet<String>,
) -> Result<(String, Vec<Stmt>), Box<Stmt>> {
    let Some(length) =
        walked_length(&stmt, prefix).filter(|_| body_changes_lengths(&stmt, private))
    else {
        return Err(Box::new(stmt));
    };
    let Stmt::ForRange {
        var: Some(index),
        body,
        ..
    } = stmt
    else {
        return Err(Box::new(stmt));
    };
    let next = format!("{index}_next");
    let test = int_compare(int_local(&next), CompareOp::Lt, length);
    let replacement = stepped_while(
        &index,
        &next,
        typed::Expr::int(0),
        BinaryOp::Add,
        test,
        body,
    );
    Ok((next, replacement))
}

/// `zip(reversed(xs), ...)`: the reversed member walks `xs` itself, as
/// Python's reversed iterator does, so stores into `xs` made by the loop are
/// seen and a length that changes ends the walk where Python's does:
///
/// ```text
/// iter = xs                      (was: iter = reversed copy of xs)
/// first = len(iter) - 1
/// ...                            (the other members' lists)
/// next = 0
/// while first - next >= 0 and first - next < len(iter) and next < len(other) ...:
///     index = next
///     next = next + 1
///     ... the body, reading iter[first - index] for the reversed member
/// ```
///
/// `out` holds the statements before the loop, among them the assignments
/// of the members' lists, which are changed in place. The statement back
/// when the loop has no reversed member.
fn reversed_zip_loop(
    out: &mut Vec<Stmt>,
    stmt: Stmt,
    prefix: &str,
) -> Result<(Vec<String>, Vec<Stmt>), Box<Stmt>> {
    let Some(ExprKind::Intrinsic {
        op: typed::Intrinsic::Min,
        args: terms,
    }) = walked_length(&stmt, prefix).map(|stop| stop.kind)
    else {
        return Err(Box::new(stmt));
    };
    // The members' lists, assigned by the statements right before the loop.
    let members: Vec<String> = terms.iter().filter_map(length_of_local).collect();
    let mut reversed = Vec::new();
    for (position, earlier) in out.iter().enumerate().rev() {
        let Stmt::Assign {
            target: typed::Target::Local(name),
            value,
        } = earlier
        else {
            break;
        };
        if !members.contains(name) {
            break;
        }
        if let ExprKind::Runtime {
            function: "list_reversed",
            args,
        } = &value.kind
        {
            if matches!(
                args.as_slice(),
                [typed::Expr {
                    ty: Type::List(_),
                    ..
                }]
            ) {
                reversed.push((position, name.clone()));
            }
        }
    }
    if reversed.is_empty() {
        return Err(Box::new(stmt));
    }
    let Stmt::ForRange {
        var: Some(index),
        body: mut steps_body,
        ..
    } = stmt
    else {
        return Err(Box::new(stmt));
    };
    let list_len = |name: &str, ty: &Type| {
        typed::Expr::new(
            ExprKind::Runtime {
                function: "list_len",
                args: vec![typed::Expr::new(
                    ExprKind::Local(name.to_string()),
                    ty.clone(),
                )],
            },
            Type::Int,
        )
    };
    let next = format!("{index}_next");
    let mut counters = vec![next.clone()];
    let mut firsts = Vec::new();
    // Positions counted from the end, so inserting after one keeps the
    // others valid.
    for (position, name) in reversed {
        let first = format!("{name}_first");
        let Stmt::Assign { value, .. } = &mut out[position] else {
            continue;
        };
        let ExprKind::Runtime { args, .. } = &mut value.kind else {
            continue;
        };
        let Some(source) = args.pop() else {
            continue;
        };
        let ty = source.ty.clone();
        *value = source;
        out.insert(
            position + 1,
            Stmt::Assign {
                target: typed::Target::Local(first.clone()),
                value: int_op(BinaryOp::Sub, list_len(&name, &ty), typed::Expr::int(1)),
            },
        );
        for stmt in &mut steps_body {
            read_from_end_in(stmt, &name, &index, &first);
        }
        firsts.push((name, first.clone(), ty));
        counters.push(first);
    }
    let mut tests = Vec::new();
    for term in terms {
        let reversed = length_of_local(&term)
            .and_then(|name| firsts.iter().find(|(member, ..)| *member == name).cloned());
        match reversed {
            Some((name, first, ty)) => {
                let at = || int_op(BinaryOp::Sub, int_local(&first), int_local(&next));
                tests.push(int_compare(at(), CompareOp::GtE, typed::Expr::int(0)));
                tests.push(int_compare(at(), CompareOp::Lt, list_len(&name, &ty)));
            }
            None => tests.push(int_compare(int_local(&next), CompareOp::Lt, term)),
        }
    }
    let test = typed::Expr::new(
        ExprKind::BoolOp {
            op: crate::ir::BoolOp::And,
            values: tests,
        },
        Type::Bool,
    );
    let replacement = stepped_while(
        &index,
        &next,
        typed::Expr::int(0),
        BinaryOp::Add,
        test,
        steps_body,
    );
    Ok((counters, replacement))
}

/// `read_from_end` in `stmt` and the statements nested in it.
fn read_from_end_in(stmt: &mut Stmt, list: &str, index: &str, first: &str) {
    stmt.for_each_expr_in_tree_mut(&mut |e| read_from_end(e, list, index, first));
}

/// Rewrites the element reads `list[index]` in `expr` to `list[first - index]`.
fn read_from_end(expr: &mut typed::Expr, list: &str, index: &str, first: &str) {
    if let ExprKind::Runtime {
        function: "list_get",
        args,
    } = &mut expr.kind
    {
        let reads = matches!(
            args.as_slice(),
            [typed::Expr { kind: ExprKind::Local(read), .. }, typed::Expr { kind: ExprKind::Local(position), .. }]
                if read == list && position == index
        );
        if reads {
            args[1] = int_op(BinaryOp::Sub, int_local(first), int_local(index));
            return;
        }
    }
    expr.for_each_child_mut(&mut |child| read_from_end(child, list, index, first));
}

/// `for index in range(len(iter))` over a list walked backwards, as
/// Python's reversed iterator walks it: from the last position the list
/// had when the loop started, down to 0, ending when the position is past
/// the list's end.
///
/// ```text
/// next = len(iter) - 1
/// while next >= 0 and next < len(iter):
///     index = next
///     next = next - 1
///     ... the body, which reads iter[index] first
/// ```
///
/// The body reads `iter[index]` counting up from 0 in the loop it is given,
/// over the reversed copy; here `iter` is the list itself, and `index`
/// counts down. Every other use of `index` in the body (the count of
/// `enumerate(reversed(xs))`) becomes the number of steps taken,
/// `first - index`, where `first` is the position the walk started from.
fn reversed_loop(stmt: Stmt) -> (Vec<String>, Vec<Stmt>) {
    let Stmt::ForRange {
        var: Some(index),
        stop,
        mut body,
        ..
    } = stmt
    else {
        return (Vec::new(), vec![stmt]);
    };
    let next = format!("{index}_next");
    let first = format!("{index}_first");
    let walked = length_of_local(&stop);
    let mut counted = false;
    for stmt in &mut body {
        counted |= count_steps(stmt, &index, walked.as_deref(), &first);
    }
    let test = typed::Expr::new(
        ExprKind::BoolOp {
            op: crate::ir::BoolOp::And,
            values: vec![
                int_compare(int_local(&next), CompareOp::GtE, typed::Expr::int(0)),
                int_compare(int_local(&next), CompareOp::Lt, stop.clone()),
            ],
        },
        Type::Bool,
    );
    let start = int_op(BinaryOp::Sub, stop, typed::Expr::int(1));
    if !counted {
        let replacement = stepped_while(&index, &next, start, BinaryOp::Sub, test, body);
        return (vec![next], replacement);
    }
    let mut replacement = vec![Stmt::Assign {
        target: typed::Target::Local(first.clone()),
        value: start,
    }];
    replacement.extend(stepped_while(
        &index,
        &next,
        int_local(&first),
        BinaryOp::Sub,
        test,
        body,
    ));
    (vec![next, first], replacement)
}

/// Replaces, in `stmt` and the statements nested in it, every read of
/// `index` but the element reads `walked[index]` with `first - index`;
/// whether there was any.
fn count_steps(stmt: &mut Stmt, index: &str, walked: Option<&str>, first: &str) -> bool {
    let mut counted = false;
    stmt.for_each_expr_in_tree_mut(&mut |expr| {
        count_steps_in(expr, index, walked, first, &mut counted)
    });
    counted
}

fn count_steps_in(
    expr: &mut typed::Expr,
    index: &str,
    walked: Option<&str>,
    first: &str,
    counted: &mut bool,
) {
    match &expr.kind {
        ExprKind::Local(name) if name == index => {
            *counted = true;
            *expr = int_op(BinaryOp::Sub, int_local(first), int_local(index));
        }
        ExprKind::Runtime {
            function: "list_get",
            args,
        } if matches!(
            args.as_slice(),
            [typed::Expr { kind: ExprKind::Local(list), .. }, typed::Expr { kind: ExprKind::Local(at), .. }]
                if Some(list.as_str()) == walked && at == index
        ) => {}
        _ => expr
            .for_each_child_mut(&mut |child| count_steps_in(child, index, walked, first, counted)),
    }
}

/// The length of the one list a loop of lowering's walks: `for index in
/// range(len(iter))` with lowering's names.
fn walked_list_length(stmt: &Stmt, prefix: &str) -> Option<typed::Expr> {
    walked_length(stmt, prefix).filter(|length| {
        matches!(
            &length.kind,
            ExprKind::Runtime {
                function: "list_len",
                ..
            }
        )
    })
}

/// Whether the body of the loop `stmt` may change the length of a list
/// other than the `private` ones.
fn body_changes_lengths(stmt: &Stmt, private: &HashSet<String>) -> bool {
    matches!(stmt, Stmt::ForRange { body, .. } if changes_lengths(body, private))
}

/// The length a loop of lowering's walks, read again before each step when
/// the loop is one to rewrite: `for index in range(len(iter))` with
/// lowering's names, over a list, or `range(min(len(a), len(b), ...))` over
/// the lists (and ranges) `zip` walks together.
fn walked_length(stmt: &Stmt, prefix: &str) -> Option<typed::Expr> {
    let Stmt::ForRange {
        var: Some(index),
        start,
        stop,
        step: None,
        parallel: false,
        ..
    } = stmt
    else {
        return None;
    };
    let lowered = |name: &str, what: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(what))
    };
    fn lengths(expr: &typed::Expr, lowered: &dyn Fn(&str, &str) -> bool) -> bool {
        match &expr.kind {
            ExprKind::Runtime {
                function: "list_len",
                args,
            } => matches!(
                args.as_slice(),
                [typed::Expr {
                    kind: ExprKind::Local(name),
                    ty: Type::List(_),
                }] if lowered(name, "iter_")
            ),
            // A `range(...)` that `zip` walks beside the lists.
            ExprKind::Runtime {
                function: "range_len",
                args,
            } => args
                .iter()
                .all(|arg| matches!(&arg.kind, ExprKind::Local(name) if lowered(name, "iter_"))),
            ExprKind::Intrinsic {
                op: typed::Intrinsic::Min,
                args,
            } => !args.is_empty() && args.iter().all(|arg| lengths(arg, lowered)),
            _ => false,
        }
    }
    let zero = matches!(start.kind, ExprKind::Literal(Literal::Int(0)));
    (zero && lengths(stop, &lowered) && lowered(index, "index_")).then(|| stop.clone())
}

/// Whether `value` is a new list, which only the name it is bound to holds.
fn makes_new_list(value: &typed::Expr) -> bool {
    match &value.kind {
        ExprKind::List(_) | ExprKind::ListSlice { .. } => true,
        ExprKind::Runtime { function, .. } => matches!(
            *function,
            "list_reversed"
                | "list_sorted"
                | "list_copy"
                | "list_concat"
                | "list_repeat"
                | "list_repeat_left"
                | "dict_keys"
                | "dict_values"
                | "dict_items"
        ),
        _ => false,
    }
}

/// Whether running `stmts` may change the length of some list other than
/// the `private` ones (a comprehension's result, which no loop walks).
fn changes_lengths(stmts: &[Stmt], private: &HashSet<String>) -> bool {
    let mut found = false;
    for stmt in stmts {
        stmt.walk_exprs(&mut |e| {
            found |= match &e.kind {
                ExprKind::Runtime { function, args } => {
                    LENGTH_CHANGING.contains(function)
                        && !matches!(
                            args.first().map(|list| &list.kind),
                            Some(ExprKind::Local(name)) if private.contains(name)
                        )
                }
                ExprKind::Call { args, .. } | ExprKind::CallValue { args, .. } => {
                    args.iter().any(|a| a.ty.has_container())
                }
                _ => false,
            };
        });
    }
    found
}

/// Runtime functions whose first argument is the list they work on, which
/// keep no reference to it: the length-changing ones and these reads.
const LIST_READS: &[&str] = &["list_len", "list_get", "list_truthy"];

/// The list locals of `function` that no loop can walk under another name:
/// every value they are given is a list made for them (`[]`, a copy, a
/// slice), and they are read only as the list of a runtime operation that
/// keeps no reference to it (`out.append(x)`, `len(out)`, `out[i]`) or as
/// the value returned. No other name, container or call reaches them, so a
/// change to their length changes no list another loop walks: the result of
/// a comprehension, which it appends to.
fn private_lists(function: &typed::Function) -> HashSet<String> {
    let mut private: HashSet<String> = function
        .locals
        .iter()
        .filter(|local| matches!(local.ty, Type::List(_)))
        .map(|local| local.name.clone())
        .collect();
    for param in &function.params {
        private.remove(&param.name);
    }
    let mut shared = HashSet::new();
    collect_shared(&function.body, &mut shared);
    private.retain(|name| !shared.contains(name));
    private
}

/// The locals in `stmts` given something but a new list, or read other than
/// as `private_lists` allows.
fn collect_shared(stmts: &[Stmt], shared: &mut HashSet<String>) {
    for stmt in stmts {
        match stmt {
            Stmt::Assign {
                target: typed::Target::Local(name),
                value,
            } => {
                if !makes_new_list(value) {
                    shared.insert(name.clone());
                }
                shared_reads(value, shared);
            }
            Stmt::Return(Some(typed::Expr {
                kind: ExprKind::Local(_),
                ..
            })) => {}
            _ => {
                stmt.for_each_expr(&mut |e| shared_reads(e, shared));
                if let Stmt::Assign { target, .. } = stmt {
                    target_locals(target, shared);
                }
            }
        }
        for body in stmt.nested() {
            collect_shared(body, shared);
        }
    }
}

fn target_locals(target: &typed::Target, shared: &mut HashSet<String>) {
    match target {
        typed::Target::Local(name) => {
            shared.insert(name.clone());
        }
        typed::Target::Tuple(items) => items.iter().for_each(|t| target_locals(t, shared)),
        _ => {}
    }
}

fn shared_reads(expr: &typed::Expr, shared: &mut HashSet<String>) {
    match &expr.kind {
        ExprKind::Local(name) => {
            shared.insert(name.clone());
        }
        ExprKind::Runtime { function, args }
            if LENGTH_CHANGING.contains(function) || LIST_READS.contains(function) =>
        {
            for (position, arg) in args.iter().enumerate() {
                if position == 0 && matches!(arg.kind, ExprKind::Local(_)) {
                    continue;
                }
                shared_reads(arg, shared);
            }
        }
        _ => expr.for_each_child(&mut |child| shared_reads(child, shared)),
    }
}

/// Before a counted loop (`for` over a range or a list) whose body appends
/// to a private list once on every iteration, at its top level and nowhere
/// else (`[f(x) for x in xs]`): `rt::list_reserve`, so the list's vector
/// grows once instead of doubling as it fills.
fn reserve_appended(stmts: &mut Vec<Stmt>, private: &HashSet<String>) {
    let mut out = Vec::with_capacity(stmts.len());
    for mut stmt in std::mem::take(stmts) {
        for nested in stmt.nested_mut() {
            reserve_appended(nested, private);
        }
        if let Stmt::ForRange {
            start,
            stop,
            step: None,
            body,
            ..
        } = &stmt
        {
            if let (Some(list), true) = (
                appended_once(body, private),
                evaluated_again_freely(start) && evaluated_again_freely(stop),
            ) {
                out.push(Stmt::Expr(typed::Expr::new(
                    ExprKind::Runtime {
                        function: "list_reserve",
                        args: vec![list, start.clone(), stop.clone()],
                    },
                    Type::None,
                )));
            }
        }
        out.push(stmt);
    }
    *stmts = out;
}

/// The private list `body` appends to with one top-level statement and
/// mentions nowhere else, when there is one.
fn appended_once(body: &[Stmt], private: &HashSet<String>) -> Option<typed::Expr> {
    let mut appended = None;
    for stmt in body {
        if let Stmt::Expr(typed::Expr {
            kind:
                ExprKind::Runtime {
                    function: "list_append",
                    args,
                },
            ..
        }) = stmt
        {
            if let [list @ typed::Expr {
                kind: ExprKind::Local(name),
                ..
            }, _] = args.as_slice()
            {
                if private.contains(name) {
                    if appended.is_some() {
                        return None;
                    }
                    appended = Some(list.clone());
                }
            }
        }
    }
    let list = appended?;
    let ExprKind::Local(name) = &list.kind else {
        return None;
    };
    let mut mentions = 0;
    for stmt in body {
        stmt.walk_exprs(&mut |e| {
            if matches!(&e.kind, ExprKind::Local(n) if n == name) {
                mentions += 1;
            }
        });
    }
    (mentions == 1).then_some(list)
}

/// Whether evaluating `expr` once more, right before the loop that
/// evaluates it, changes nothing: locals, literals, lengths and arithmetic
/// of them (an OverflowError it raises, the loop's header raises next).
fn evaluated_again_freely(expr: &typed::Expr) -> bool {
    match &expr.kind {
        ExprKind::Local(_) | ExprKind::Literal(_) => true,
        ExprKind::Runtime {
            function: "list_len" | "range_len" | "iter_steps",
            args,
        } => args.iter().all(evaluated_again_freely),
        ExprKind::Intrinsic {
            op: typed::Intrinsic::Min | typed::Intrinsic::Max,
            args,
        } => args.iter().all(evaluated_again_freely),
        ExprKind::Binary { left, right, .. } => {
            evaluated_again_freely(left) && evaluated_again_freely(right)
        }
        _ => false,
    }
}

/// The `int` local `name`.
fn int_local(name: &str) -> typed::Expr {
    typed::Expr::new(ExprKind::Local(name.to_string()), Type::Int)
}

/// `left op right` of ints.
fn int_op(op: BinaryOp, left: typed::Expr, right: typed::Expr) -> typed::Expr {
    typed::Expr::new(
        ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        Type::Int,
    )
}

/// `left op right`, a comparison of ints.
fn int_compare(left: typed::Expr, op: CompareOp, right: typed::Expr) -> typed::Expr {
    typed::Expr::new(
        ExprKind::Compare {
            operands: vec![left, right],
            ops: vec![op],
            operand_types: vec![Type::Int],
        },
        Type::Bool,
    )
}

/// `next = start`, then `while test:` of `index = next`, `next = next op 1`
/// and `body`: a loop that reads its counter's bound before every step.
fn stepped_while(
    index: &str,
    next: &str,
    start: typed::Expr,
    op: BinaryOp,
    test: typed::Expr,
    body: Vec<Stmt>,
) -> Vec<Stmt> {
    let mut steps = vec![
        Stmt::Assign {
            target: typed::Target::Local(index.to_string()),
            value: int_local(next),
        },
        Stmt::Assign {
            target: typed::Target::Local(next.to_string()),
            value: int_op(op, int_local(next), typed::Expr::int(1)),
        },
    ];
    steps.extend(body);
    vec![
        Stmt::Assign {
            target: typed::Target::Local(next.to_string()),
            value: start,
        },
        Stmt::While { test, body: steps },
    ]
}

/// `xs` of `len(xs)` of a local list.
fn length_of_local(expr: &typed::Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Runtime {
            function: "list_len",
            args,
        } => match args.as_slice() {
            [typed::Expr {
                kind: ExprKind::Local(name),
                ..
            }] => Some(name.clone()),
            _ => None,
        },
        _ => None,
    }
}
