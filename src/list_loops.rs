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
//! iterator sees the stores into `xs` as well as its length.

use crate::ir::typed::{self, ExprKind, Literal, Stmt};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::Type;

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
        rewrite_block(&mut function.body, prefix, &mut added);
        for name in added {
            function.locals.push(typed::Local {
                name,
                ty: Type::Int,
            });
        }
    }
    module
}

fn rewrite_block(stmts: &mut Vec<Stmt>, prefix: &str, added: &mut Vec<String>) {
    let mut out = Vec::with_capacity(stmts.len());
    for mut stmt in std::mem::take(stmts) {
        for nested in stmt.nested_mut() {
            rewrite_block(nested, prefix, added);
        }
        // A loop over a list made for it (`reversed(xs)`, `sorted(xs)`,
        // `d.keys()`, a slice) walks a list nothing else holds.
        let fresh = match out.last() {
            Some(Stmt::Assign {
                target: typed::Target::Local(_),
                value,
            }) => makes_new_list(value),
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
        match growing_list_loop(stmt, prefix) {
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
fn growing_list_loop(stmt: Stmt, prefix: &str) -> Result<(String, Vec<Stmt>), Box<Stmt>> {
    let Some(length) = walked_length(&stmt, prefix).filter(|_| body_changes_lengths(&stmt)) else {
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
    let local = |name: &str| typed::Expr::new(ExprKind::Local(name.to_string()), Type::Int);
    let test = typed::Expr::new(
        ExprKind::Compare {
            operands: vec![local(&next), length],
            ops: vec![CompareOp::Lt],
            operand_types: vec![Type::Int],
        },
        Type::Bool,
    );
    let mut steps = vec![
        Stmt::Assign {
            target: typed::Target::Local(index.clone()),
            value: local(&next),
        },
        Stmt::Assign {
            target: typed::Target::Local(next.clone()),
            value: typed::Expr::new(
                ExprKind::Binary {
                    op: BinaryOp::Add,
                    left: Box::new(local(&next)),
                    right: Box::new(typed::Expr::int(1)),
                },
                Type::Int,
            ),
        },
    ];
    steps.extend(body);
    let replacement = vec![
        Stmt::Assign {
            target: typed::Target::Local(next.clone()),
            value: typed::Expr::int(0),
        },
        Stmt::While { test, body: steps },
    ];
    Ok((next, replacement))
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
    let walked = match &stop.kind {
        ExprKind::Runtime {
            function: "list_len",
            args,
        } => match args.as_slice() {
            [typed::Expr {
                kind: ExprKind::Local(walked),
                ..
            }] => Some(walked.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut counted = false;
    for stmt in &mut body {
        counted |= count_steps(stmt, &index, walked.as_deref(), &first);
    }
    let local = |name: &str| typed::Expr::new(ExprKind::Local(name.to_string()), Type::Int);
    let int_op = |op: BinaryOp, left: typed::Expr, right: typed::Expr| {
        typed::Expr::new(
            ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            Type::Int,
        )
    };
    let compare = |left: typed::Expr, op: CompareOp, right: typed::Expr| {
        typed::Expr::new(
            ExprKind::Compare {
                operands: vec![left, right],
                ops: vec![op],
                operand_types: vec![Type::Int],
            },
            Type::Bool,
        )
    };
    let test = typed::Expr::new(
        ExprKind::BoolOp {
            op: crate::ir::BoolOp::And,
            values: vec![
                compare(local(&next), CompareOp::GtE, typed::Expr::int(0)),
                compare(local(&next), CompareOp::Lt, stop.clone()),
            ],
        },
        Type::Bool,
    );
    let mut steps = vec![
        Stmt::Assign {
            target: typed::Target::Local(index.clone()),
            value: local(&next),
        },
        Stmt::Assign {
            target: typed::Target::Local(next.clone()),
            value: int_op(BinaryOp::Sub, local(&next), typed::Expr::int(1)),
        },
    ];
    steps.extend(body);
    let start = int_op(BinaryOp::Sub, stop, typed::Expr::int(1));
    if !counted {
        let replacement = vec![
            Stmt::Assign {
                target: typed::Target::Local(next.clone()),
                value: start,
            },
            Stmt::While { test, body: steps },
        ];
        return (vec![next], replacement);
    }
    let replacement = vec![
        Stmt::Assign {
            target: typed::Target::Local(first.clone()),
            value: start,
        },
        Stmt::Assign {
            target: typed::Target::Local(next.clone()),
            value: local(&first),
        },
        Stmt::While { test, body: steps },
    ];
    (vec![next, first], replacement)
}

/// Replaces, in `stmt` and the statements nested in it, every read of
/// `index` but the element reads `walked[index]` with `first - index`;
/// whether there was any.
fn count_steps(stmt: &mut Stmt, index: &str, walked: Option<&str>, first: &str) -> bool {
    let mut counted = false;
    stmt.for_each_expr_mut(&mut |expr| count_steps_in(expr, index, walked, first, &mut counted));
    for nested in stmt.nested_mut() {
        for stmt in nested {
            counted |= count_steps(stmt, index, walked, first);
        }
    }
    counted
}

fn count_steps_in(
    expr: &mut typed::Expr,
    index: &str,
    walked: Option<&str>,
    first: &str,
    counted: &mut bool,
) {
    let local = |name: &str| typed::Expr::new(ExprKind::Local(name.to_string()), Type::Int);
    match &expr.kind {
        ExprKind::Local(name) if name == index => {
            *counted = true;
            *expr = typed::Expr::new(
                ExprKind::Binary {
                    op: BinaryOp::Sub,
                    left: Box::new(local(first)),
                    right: Box::new(local(index)),
                },
                Type::Int,
            );
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

/// Whether the body of the loop `stmt` may change the length of a list.
fn body_changes_lengths(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::ForRange { body, .. } if changes_lengths(body))
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

/// Whether running `stmts` may change the length of some list.
fn changes_lengths(stmts: &[Stmt]) -> bool {
    let mut found = false;
    for stmt in stmts {
        stmt.walk_exprs(&mut |e| {
            found |= match &e.kind {
                ExprKind::Runtime { function, .. } => LENGTH_CHANGING.contains(function),
                ExprKind::Call { args, .. } | ExprKind::CallValue { args, .. } => {
                    args.iter().any(|a| a.ty.has_container())
                }
                _ => false,
            };
        });
    }
    found
}
