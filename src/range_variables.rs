//! `range` objects stored in variables, read as the `range(...)` call they
//! hold: an AST rewrite that lowering runs before it reads a function body.
//!
//! A local assigned exactly once, by `r = range(a, b, c)`, becomes three
//! hidden locals evaluated where the assignment was (a zero step raises
//! there, as `range()` does), and every read of `r` becomes
//! `range(start, stop, step)` of them:
//!
//! ```text
//! r = range(2, n, 3)          __range_r_start = 2; __range_r_stop = n
//!                             __range_r_step = __range_step(3)
//! for i in r: ...        →    for i in range(__range_r_start, __range_r_stop, __range_r_step): ...
//! len(r) + r[-1]              len(range(...)) + range(...)[-1]
//! ```
//!
//! Lowering then compiles `for` over a range call as any other, and
//! `len(range(...))` and `range(...)[k]` as runtime calls. Any other use of
//! such a variable stays a `range(...)` call outside a loop, which lowering
//! reports.

use std::collections::{HashMap, HashSet};

use rustpython_parser::ast;
use rustpython_parser::ast::fold::Fold;
use rustpython_parser::text_size::TextRange;

/// The builtin lowering reads as "check that a range step is not zero".
pub const STEP_CHECK: &str = "__range_step";

/// `body` with its range variables rewritten, and their names, or `None`
/// when it has none (or `range` is not the builtin there).
pub fn rewrite(
    body: &[ast::Stmt],
    parameters: &HashSet<String>,
) -> Option<(Vec<ast::Stmt>, HashSet<String>)> {
    if parameters.contains("range") {
        return None;
    }
    let mut counts = HashMap::new();
    count_assignments(body, &mut counts);
    if counts.contains_key("range") {
        return None;
    }
    let mut variables = HashSet::new();
    find_range_assignments(body, &mut variables);
    variables.retain(|name| counts.get(name) == Some(&1) && !parameters.contains(name));
    if variables.is_empty() {
        return None;
    }
    let body = split_assignments(body.to_vec(), &variables);
    let mut reads = RangeReads {
        variables: &variables,
    };
    let body = body
        .into_iter()
        .map(|stmt| reads.fold_stmt(stmt).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((body, variables))
}

/// How many statements assign each name in `body` (loop targets included;
/// names bound by imports, nested definitions or `try` count twice).
pub fn assignment_counts(body: &[ast::Stmt]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    count_assignments(body, &mut counts);
    counts
}

/// How many statements assign each name (loop targets included).
fn count_assignments(stmts: &[ast::Stmt], counts: &mut HashMap<String, usize>) {
    fn targets(target: &ast::Expr, counts: &mut HashMap<String, usize>) {
        match target {
            ast::Expr::Name(name) => *counts.entry(name.id.to_string()).or_default() += 1,
            ast::Expr::Tuple(tuple) => tuple.elts.iter().for_each(|t| targets(t, counts)),
            ast::Expr::List(list) => list.elts.iter().for_each(|t| targets(t, counts)),
            ast::Expr::Starred(starred) => targets(&starred.value, counts),
            _ => {}
        }
    }
    for stmt in stmts {
        match stmt {
            ast::Stmt::Assign(assign) => assign.targets.iter().for_each(|t| targets(t, counts)),
            ast::Stmt::AnnAssign(assign) => targets(&assign.target, counts),
            ast::Stmt::AugAssign(assign) => targets(&assign.target, counts),
            ast::Stmt::Delete(delete) => delete.targets.iter().for_each(|t| targets(t, counts)),
            ast::Stmt::For(node) => {
                targets(&node.target, counts);
                count_assignments(&node.body, counts);
                count_assignments(&node.orelse, counts);
            }
            ast::Stmt::While(node) => {
                count_assignments(&node.body, counts);
                count_assignments(&node.orelse, counts);
            }
            ast::Stmt::If(node) => {
                count_assignments(&node.body, counts);
                count_assignments(&node.orelse, counts);
            }
            ast::Stmt::With(node) => {
                for item in &node.items {
                    if let Some(target) = &item.optional_vars {
                        targets(target, counts);
                    }
                }
                count_assignments(&node.body, counts);
            }
            // Any other binding (imports, nested definitions, `global`)
            // makes the name something else than a plain range variable.
            ast::Stmt::Import(_)
            | ast::Stmt::ImportFrom(_)
            | ast::Stmt::FunctionDef(_)
            | ast::Stmt::ClassDef(_)
            | ast::Stmt::Global(_)
            | ast::Stmt::Nonlocal(_)
            | ast::Stmt::Try(_) => {
                // Counted as two, so no name bound there is rewritten.
                let mut names = HashSet::new();
                bound_names(stmt, &mut names);
                for name in names {
                    *counts.entry(name).or_default() += 2;
                }
            }
            _ => {}
        }
    }
}

/// Names a statement other than an assignment may bind.
fn bound_names(stmt: &ast::Stmt, names: &mut HashSet<String>) {
    match stmt {
        ast::Stmt::Import(node) => names.extend(node.names.iter().map(|a| {
            a.asname
                .as_ref()
                .unwrap_or(&a.name)
                .as_str()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string()
        })),
        ast::Stmt::ImportFrom(node) => names.extend(
            node.names
                .iter()
                .map(|a| a.asname.as_ref().unwrap_or(&a.name).to_string()),
        ),
        ast::Stmt::FunctionDef(node) => {
            names.insert(node.name.to_string());
        }
        ast::Stmt::ClassDef(node) => {
            names.insert(node.name.to_string());
        }
        ast::Stmt::Global(node) => names.extend(node.names.iter().map(|n| n.to_string())),
        ast::Stmt::Nonlocal(node) => names.extend(node.names.iter().map(|n| n.to_string())),
        ast::Stmt::Try(node) => {
            let mut counts = HashMap::new();
            count_assignments(&node.body, &mut counts);
            count_assignments(&node.orelse, &mut counts);
            count_assignments(&node.finalbody, &mut counts);
            for handler in &node.handlers {
                let ast::ExceptHandler::ExceptHandler(handler) = handler;
                if let Some(name) = &handler.name {
                    names.insert(name.to_string());
                }
                count_assignments(&handler.body, &mut counts);
            }
            names.extend(counts.into_keys());
        }
        _ => {}
    }
}

/// The `range(...)` call of `r = range(...)`, with one to three positional
/// arguments.
fn range_assignment(stmt: &ast::Stmt) -> Option<(&str, &[ast::Expr])> {
    let ast::Stmt::Assign(assign) = stmt else {
        return None;
    };
    let [ast::Expr::Name(target)] = assign.targets.as_slice() else {
        return None;
    };
    let ast::Expr::Call(call) = assign.value.as_ref() else {
        return None;
    };
    let ast::Expr::Name(function) = call.func.as_ref() else {
        return None;
    };
    let is_range = function.id.as_str() == "range"
        && call.keywords.is_empty()
        && (1..=3).contains(&call.args.len())
        && !call.args.iter().any(|a| matches!(a, ast::Expr::Starred(_)));
    is_range.then_some((target.id.as_str(), call.args.as_slice()))
}

fn find_range_assignments(stmts: &[ast::Stmt], variables: &mut HashSet<String>) {
    for stmt in stmts {
        if let Some((name, _)) = range_assignment(stmt) {
            variables.insert(name.to_string());
        }
        for block in blocks(stmt) {
            find_range_assignments(block, variables);
        }
    }
}

/// The statement blocks nested in a statement that lowering reads.
fn blocks(stmt: &ast::Stmt) -> Vec<&[ast::Stmt]> {
    match stmt {
        ast::Stmt::For(node) => vec![&node.body, &node.orelse],
        ast::Stmt::While(node) => vec![&node.body, &node.orelse],
        ast::Stmt::If(node) => vec![&node.body, &node.orelse],
        ast::Stmt::With(node) => vec![&node.body],
        _ => Vec::new(),
    }
}

/// Replaces each `r = range(...)` by the assignments of its three parts.
fn split_assignments(stmts: Vec<ast::Stmt>, variables: &HashSet<String>) -> Vec<ast::Stmt> {
    let mut out = Vec::with_capacity(stmts.len());
    for stmt in stmts {
        if let Some((name, args)) = range_assignment(&stmt) {
            if variables.contains(name) {
                let range = stmt_range(&stmt);
                let zero = || int_constant(0, range);
                let one = || int_constant(1, range);
                let (start, stop, step) = match args {
                    [stop] => (zero(), stop.clone(), one()),
                    [start, stop] => (start.clone(), stop.clone(), one()),
                    [start, stop, step] => (start.clone(), stop.clone(), step.clone()),
                    _ => unreachable_range(range),
                };
                let step = ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(name_expr(STEP_CHECK, range, ast::ExprContext::Load)),
                    args: vec![step],
                    keywords: Vec::new(),
                });
                for (part, value) in [("start", start), ("stop", stop), ("step", step)] {
                    out.push(ast::Stmt::Assign(ast::StmtAssign {
                        range,
                        targets: vec![name_expr(
                            &part_name(name, part),
                            range,
                            ast::ExprContext::Store,
                        )],
                        value: Box::new(value),
                        type_comment: None,
                    }));
                }
                continue;
            }
        }
        out.push(match stmt {
            ast::Stmt::For(mut node) => {
                node.body = split_assignments(node.body, variables);
                node.orelse = split_assignments(node.orelse, variables);
                ast::Stmt::For(node)
            }
            ast::Stmt::While(mut node) => {
                node.body = split_assignments(node.body, variables);
                node.orelse = split_assignments(node.orelse, variables);
                ast::Stmt::While(node)
            }
            ast::Stmt::If(mut node) => {
                node.body = split_assignments(node.body, variables);
                node.orelse = split_assignments(node.orelse, variables);
                ast::Stmt::If(node)
            }
            ast::Stmt::With(mut node) => {
                node.body = split_assignments(node.body, variables);
                ast::Stmt::With(node)
            }
            other => other,
        });
    }
    out
}

/// `range_assignment` accepts one to three arguments, so this is never
/// reached; it gives the empty range rather than panicking.
fn unreachable_range(range: TextRange) -> (ast::Expr, ast::Expr, ast::Expr) {
    (
        int_constant(0, range),
        int_constant(0, range),
        int_constant(1, range),
    )
}

/// The hidden local holding one part of range variable `name`.
pub fn part_name(name: &str, part: &str) -> String {
    crate::lower::hidden(&format!("range_{name}_{part}"))
}

fn stmt_range(stmt: &ast::Stmt) -> TextRange {
    use rustpython_parser::ast::Ranged;
    stmt.range()
}

fn name_expr(name: &str, range: TextRange, ctx: ast::ExprContext) -> ast::Expr {
    ast::Expr::Name(ast::ExprName {
        range,
        id: ast::Identifier::new(name),
        ctx,
    })
}

fn int_constant(value: i32, range: TextRange) -> ast::Expr {
    ast::Expr::Constant(ast::ExprConstant {
        range,
        value: ast::Constant::Int(value.into()),
        kind: None,
    })
}

/// Replaces each read of a range variable by the `range(...)` call of its
/// parts, at the read's position.
struct RangeReads<'a> {
    variables: &'a HashSet<String>,
}

impl Fold<TextRange> for RangeReads<'_> {
    type TargetU = TextRange;
    type Error = std::convert::Infallible;
    type UserContext = ();

    fn will_map_user(&mut self, _user: &TextRange) -> Self::UserContext {}

    fn map_user(
        &mut self,
        user: TextRange,
        _context: Self::UserContext,
    ) -> Result<TextRange, Self::Error> {
        Ok(user)
    }

    fn fold_expr(&mut self, node: ast::Expr) -> Result<ast::Expr, Self::Error> {
        match node {
            ast::Expr::Name(name)
                if name.ctx == ast::ExprContext::Load
                    && self.variables.contains(name.id.as_str()) =>
            {
                let range = name.range;
                let part = |part: &str| {
                    name_expr(
                        &part_name(name.id.as_str(), part),
                        range,
                        ast::ExprContext::Load,
                    )
                };
                Ok(ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(name_expr("range", range, ast::ExprContext::Load)),
                    args: vec![part("start"), part("stop"), part("step")],
                    keywords: Vec::new(),
                }))
            }
            other => ast::fold::fold_expr(self, other),
        }
    }
}
