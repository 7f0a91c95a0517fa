//! `for ... else` and `while ... else`: an AST rewrite lowering runs before
//! it reads a function body, so the rest of the compiler sees plain loops.
//!
//! The `else` block runs when the loop ends without `break`. A loop with no
//! `break` of its own is followed by its `else` block; otherwise a hidden
//! flag, set before the loop and cleared by each of its `break`s, guards it:
//!
//! ```text
//! for i in range(n):              __loop_else_1 = True
//!     if a[i] < 0:                for i in range(n):
//!         break                       if a[i] < 0:
//! else:                       →           __loop_else_1 = False
//!     count += 1                          break
//!                                 if __loop_else_1:
//!                                     count += 1
//! ```
//!
//! Inner loops are rewritten first, so a `break` or `continue` in an inner
//! loop's `else` block (the "break out of both loops" idiom) lands in the
//! outer loop's body and belongs to it, as in Python.

use rustpython_parser::ast;
use rustpython_parser::ast::Ranged;
use rustpython_parser::text_size::TextRange;

/// `body` with every loop `else` block rewritten, or `None` when it has none.
pub fn rewrite(body: &[ast::Stmt]) -> Option<Vec<ast::Stmt>> {
    if !body.iter().any(has_loop_else) {
        return None;
    }
    let mut flags = 0;
    Some(rewrite_block(body.to_vec(), &mut flags))
}

/// The hidden local of the `number`th loop with an `else` block and a `break`.
pub fn flag_name(number: usize) -> String {
    crate::lower::hidden(&format!("loop_else_{number}"))
}

fn has_loop_else(stmt: &ast::Stmt) -> bool {
    match stmt {
        ast::Stmt::For(node) => !node.orelse.is_empty() || node.body.iter().any(has_loop_else),
        ast::Stmt::While(node) => !node.orelse.is_empty() || node.body.iter().any(has_loop_else),
        ast::Stmt::If(node) => {
            node.body.iter().any(has_loop_else) || node.orelse.iter().any(has_loop_else)
        }
        ast::Stmt::With(node) => node.body.iter().any(has_loop_else),
        _ => false,
    }
}

fn rewrite_block(stmts: Vec<ast::Stmt>, flags: &mut usize) -> Vec<ast::Stmt> {
    let mut out = Vec::with_capacity(stmts.len());
    for stmt in stmts {
        match stmt {
            ast::Stmt::For(mut node) => {
                let body = rewrite_block(std::mem::take(&mut node.body), flags);
                let orelse = rewrite_block(std::mem::take(&mut node.orelse), flags);
                let range = node.range;
                let rebuild = |body| {
                    node.body = body;
                    ast::Stmt::For(node)
                };
                loop_with_else(body, rebuild, orelse, range, flags, &mut out);
            }
            ast::Stmt::While(mut node) => {
                let body = rewrite_block(std::mem::take(&mut node.body), flags);
                let orelse = rewrite_block(std::mem::take(&mut node.orelse), flags);
                let range = node.range;
                let rebuild = |body| {
                    node.body = body;
                    ast::Stmt::While(node)
                };
                loop_with_else(body, rebuild, orelse, range, flags, &mut out);
            }
            ast::Stmt::If(mut node) => {
                node.body = rewrite_block(node.body, flags);
                node.orelse = rewrite_block(node.orelse, flags);
                out.push(ast::Stmt::If(node));
            }
            ast::Stmt::With(mut node) => {
                node.body = rewrite_block(node.body, flags);
                out.push(ast::Stmt::With(node));
            }
            other => out.push(other),
        }
    }
    out
}

/// Pushes a loop (`rebuild` puts its rewritten body back into it) and its
/// `else` block.
fn loop_with_else(
    body: Vec<ast::Stmt>,
    rebuild: impl FnOnce(Vec<ast::Stmt>) -> ast::Stmt,
    orelse: Vec<ast::Stmt>,
    range: TextRange,
    flags: &mut usize,
    out: &mut Vec<ast::Stmt>,
) {
    if orelse.is_empty() {
        out.push(rebuild(body));
        return;
    }
    if !body.iter().any(breaks) {
        out.push(rebuild(body));
        out.extend(orelse);
        return;
    }
    *flags += 1;
    let flag = flag_name(*flags);
    out.push(assign_flag(&flag, true, range));
    out.push(rebuild(mark_breaks(body, &flag)));
    out.push(ast::Stmt::If(ast::StmtIf {
        range,
        test: Box::new(name(&flag, range, ast::ExprContext::Load)),
        body: orelse,
        orelse: Vec::new(),
    }));
}

/// Whether a `break` in `stmt` belongs to the loop around it (nested loops
/// own theirs).
fn breaks(stmt: &ast::Stmt) -> bool {
    match stmt {
        ast::Stmt::Break(_) => true,
        ast::Stmt::If(node) => node.body.iter().any(breaks) || node.orelse.iter().any(breaks),
        ast::Stmt::With(node) => node.body.iter().any(breaks),
        _ => false,
    }
}

/// Each `break` of the loop (not of nested loops) preceded by clearing `flag`.
fn mark_breaks(stmts: Vec<ast::Stmt>, flag: &str) -> Vec<ast::Stmt> {
    let mut out = Vec::with_capacity(stmts.len());
    for stmt in stmts {
        match stmt {
            ast::Stmt::Break(node) => {
                out.push(assign_flag(flag, false, node.range()));
                out.push(ast::Stmt::Break(node));
            }
            ast::Stmt::If(mut node) => {
                node.body = mark_breaks(node.body, flag);
                node.orelse = mark_breaks(node.orelse, flag);
                out.push(ast::Stmt::If(node));
            }
            ast::Stmt::With(mut node) => {
                node.body = mark_breaks(node.body, flag);
                out.push(ast::Stmt::With(node));
            }
            other => out.push(other),
        }
    }
    out
}

fn assign_flag(flag: &str, value: bool, range: TextRange) -> ast::Stmt {
    ast::Stmt::Assign(ast::StmtAssign {
        range,
        targets: vec![name(flag, range, ast::ExprContext::Store)],
        value: Box::new(ast::Expr::Constant(ast::ExprConstant {
            range,
            value: ast::Constant::Bool(value),
            kind: None,
        })),
        type_comment: None,
    })
}

fn name(id: &str, range: TextRange, ctx: ast::ExprContext) -> ast::Expr {
    ast::Expr::Name(ast::ExprName {
        range,
        id: ast::Identifier::new(id),
        ctx,
    })
}
