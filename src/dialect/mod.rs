//! Other compilers' markers read as ferropy's, so a file written for one of
//! them compiles unchanged: Numba's `@njit`/`@jit` and their signatures,
//! `numba.pycc`'s `cc.export`, and Cython's pure-Python decorators.
//!
//! Lowering asks this module what a function's decorators say: the
//! signatures to export (each one more overload), the export names, which
//! options ferropy ignores (warnings) and which it accepts while keeping
//! its own semantics (notes for `explain`).

pub mod cython;
pub mod numba;

use std::collections::HashSet;

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostics::{codes, Diagnostic, Severity, SourceFile, Span};
use crate::ir::untyped::ParamType;
use crate::types::Type;

/// What a dialect reader needs from the module around a function.
pub struct Context<'a> {
    pub file: &'a SourceFile,
    /// The qualified name of a dotted expression through the imports.
    pub qualify: &'a dyn Fn(&ast::Expr) -> Option<String>,
    /// Module-level names bound to `numba.pycc.CC(...)`.
    pub pycc_modules: &'a HashSet<String>,
}

/// One exported signature of a function: a `#pythran export` line, a
/// Numba signature, or a `cc.export`.
#[derive(Clone, Debug)]
pub struct Signature {
    pub params: Vec<ParamType>,
    /// The declared result; `None` leaves it to inference.
    pub returns: Option<Type>,
    pub span: Span,
    /// Per argument: `int?` in a Pythran export, which the caller may leave
    /// out (the parameter's default is used).
    pub optional: Vec<bool>,
    /// Per argument: Numba's `optional(int64)`, which may also be None.
    pub nullable: Vec<bool>,
    /// The code of diagnostics about this signature.
    pub code: &'static str,
}

/// `@cc.export("name", "f8(f8[:])")`: export the function as `name`.
#[derive(Clone, Debug)]
pub struct PyccExport {
    pub name: String,
    pub signature: Signature,
}

/// What the decorators of one function say.
#[derive(Default)]
pub struct Decorations {
    /// Numba signatures (`@njit("f8(f8[:])")`, or a list of them).
    pub signatures: Vec<Signature>,
    pub pycc_exports: Vec<PyccExport>,
    /// A Numba `@njit`/`@jit` decorator, with or without signatures.
    pub jit: Option<Span>,
    /// `parallel=True` on the Numba decorator: without it, Numba runs
    /// `prange` loops as `range`, and so does ferropy.
    pub jit_parallel: bool,
    /// Whether a decorator tried to give a signature of the function's own
    /// (even one that failed to read): such a function is meant to be
    /// exported, and its errors are reported.
    pub signature_given: bool,
    /// `@cython.cfunc`: a helper, not visible from Python.
    pub c_only: Option<Span>,
    /// Decorators ferropy does not know, with their qualified names.
    pub unknown: Vec<(Span, String)>,
    /// `@cython.locals(a=cython.double)` types, by name.
    pub locals: Vec<(String, ast::Expr)>,
    /// `@cython.returns(cython.double)`.
    pub returns: Option<ast::Expr>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// What ferropy does instead of an accepted directive, for `explain`.
    pub notes: Vec<(Span, String)>,
}

/// Reads the decorators of `def`.
pub fn decorations(def: &ast::StmtFunctionDef, cx: &Context<'_>) -> Decorations {
    let mut found = Decorations::default();
    for decorator in &def.decorator_list {
        let (target, call) = match decorator {
            ast::Expr::Call(call) => (call.func.as_ref(), Some(call)),
            other => (other, None),
        };
        let span: Span = decorator.range().into();
        let name = (cx.qualify)(target).unwrap_or_default();
        let root = name.split('.').next().unwrap_or("");
        if let Some((object, "export")) = name.rsplit_once('.') {
            if cx.pycc_modules.contains(object) {
                pycc_export(call, span, cx, &mut found);
                continue;
            }
        }
        match name.as_str() {
            "numba.njit"
            | "numba.jit"
            | "numba.core.decorators.njit"
            | "numba.core.decorators.jit" => {
                found.jit = Some(span);
                if let Some(call) = call {
                    jit_call(call, cx, &mut found);
                }
            }
            // `@vectorize(["f8(f8)"])`, `@stencil`, `@cfunc(...)`: meant to
            // be compiled, so their errors are reported.
            _ if root == "numba" => {
                found.signature_given = true;
                found.unknown.push((span, name));
            }
            _ if root == "cython" => cython_decorator(&name, call, span, &mut found),
            // Pythran's own markers, and other `jit` decorators (of libraries
            // that mirror Numba's), change nothing here.
            _ if root == "pythran" || name.ends_with("jit") => {}
            _ => found.unknown.push((span, name)),
        }
    }
    found
}

fn jit_call(call: &ast::ExprCall, cx: &Context<'_>, found: &mut Decorations) {
    let mut signature_exprs: Vec<&ast::Expr> = Vec::new();
    for arg in &call.args {
        match arg {
            ast::Expr::List(list) => signature_exprs.extend(&list.elts),
            ast::Expr::Tuple(tuple) => signature_exprs.extend(&tuple.elts),
            other => signature_exprs.push(other),
        }
    }
    for keyword in &call.keywords {
        match keyword.arg.as_deref() {
            Some("signature_or_function") => signature_exprs.push(&keyword.value),
            Some(option) => {
                if option == "parallel" {
                    found.jit_parallel = !matches!(&keyword.value, ast::Expr::Constant(constant)
                        if matches!(constant.value, ast::Constant::Bool(false) | ast::Constant::None));
                }
                found.warnings.extend(numba::option(keyword, option));
            }
            None => found.errors.push(
                Diagnostic::error(
                    codes::BAD_SIGNATURE,
                    keyword.range.into(),
                    "`**options` in a decorator cannot be read",
                )
                .with_hint("write each option as a keyword: `@njit(cache=True)`"),
            ),
        }
    }
    if call.args.len() > 1 {
        found.signature_given = true;
        found.errors.push(
            Diagnostic::error(
                codes::BAD_SIGNATURE,
                call.range.into(),
                "a Numba decorator takes one signature or a list of signatures",
            )
            .with_hint("write `@njit([\"f8(f8[:])\", \"f4(f4[:])\"])` for several signatures"),
        );
        return;
    }
    for expr in signature_exprs {
        found.signature_given = true;
        match numba::signature(expr, cx) {
            Ok(signature) => found.signatures.push(signature),
            Err(diagnostic) => found.errors.push(diagnostic),
        }
    }
}

fn pycc_export(
    call: Option<&ast::ExprCall>,
    span: Span,
    cx: &Context<'_>,
    found: &mut Decorations,
) {
    match read_pycc_export(call, span, cx) {
        Ok(export) => found.pycc_exports.push(export),
        Err(diagnostic) => {
            // Reported with the function's own errors.
            found.signature_given = true;
            found.errors.push(diagnostic);
        }
    }
}

fn read_pycc_export(
    call: Option<&ast::ExprCall>,
    span: Span,
    cx: &Context<'_>,
) -> Result<PyccExport, Diagnostic> {
    let bad = |span: Span| {
        Diagnostic::error(
            codes::BAD_SIGNATURE,
            span,
            "cannot read this `cc.export` decorator",
        )
        .with_label("expected `cc.export(\"name\", \"signature\")`")
        .with_hint("write `@cc.export(\"mean\", \"f8(f8[:])\")`")
    };
    let Some(call) = call else {
        return Err(bad(span));
    };
    let ([name, signature], []) = (call.args.as_slice(), call.keywords.as_slice()) else {
        return Err(bad(span));
    };
    let ast::Expr::Constant(ast::ExprConstant {
        value: ast::Constant::Str(name_text),
        ..
    }) = name
    else {
        return Err(bad(name.range().into()));
    };
    if !crate::codegen::kernels::is_identifier(name_text) {
        return Err(Diagnostic::error(
            codes::BAD_SIGNATURE,
            name.range().into(),
            format!("`{name_text}` is not a valid Python name"),
        )
        .with_hint("export the function under a Python identifier"));
    }
    Ok(PyccExport {
        name: name_text.clone(),
        signature: numba::signature(signature, cx)?,
    })
}

fn cython_decorator(name: &str, call: Option<&ast::ExprCall>, span: Span, found: &mut Decorations) {
    let short = name.strip_prefix("cython.").unwrap_or(name);
    let argument = call.and_then(|call| match call.args.first() {
        Some(ast::Expr::Constant(constant)) => match constant.value {
            ast::Constant::Bool(value) => Some(value),
            _ => None,
        },
        _ => None,
    });
    match cython::decorator(short, argument) {
        cython::Decorator::CFunction => found.c_only = Some(span),
        cython::Decorator::Returns => match call.map(|call| call.args.as_slice()) {
            Some([ty]) => found.returns = Some(ty.clone()),
            _ => found.errors.push(
                Diagnostic::error(
                    codes::BAD_SIGNATURE,
                    span,
                    "`@cython.returns` takes one type",
                )
                .with_hint("write `@cython.returns(cython.double)`"),
            ),
        },
        cython::Decorator::Locals => match call {
            Some(call) if call.args.is_empty() => {
                for keyword in &call.keywords {
                    match &keyword.arg {
                        Some(local) => found
                            .locals
                            .push((local.to_string(), keyword.value.clone())),
                        None => found.errors.push(
                            Diagnostic::error(
                                codes::BAD_SIGNATURE,
                                keyword.range.into(),
                                "`**` in `@cython.locals` cannot be read",
                            )
                            .with_hint("write `@cython.locals(i=cython.Py_ssize_t)`"),
                        ),
                    }
                }
            }
            _ => found.errors.push(
                Diagnostic::error(
                    codes::BAD_SIGNATURE,
                    span,
                    "`@cython.locals` takes keyword arguments only",
                )
                .with_hint("write `@cython.locals(i=cython.Py_ssize_t, total=cython.double)`"),
            ),
        },
        cython::Decorator::Accepted(note) => {
            if let Some(note) = note {
                found.notes.push((span, note.to_string()));
            }
        }
        cython::Decorator::Unknown => found.warnings.push(Diagnostic {
            code: codes::IGNORED_OPTION,
            severity: Severity::Warning,
            message: format!("the Cython decorator `@{name}` is ignored"),
            span,
            label: "ignored".into(),
            secondary: Vec::new(),
            hint: Some(
                "ferropy does not know this directive and compiles the function with Python's \
                 semantics; remove it to silence this warning"
                    .into(),
            ),
        }),
    }
}
