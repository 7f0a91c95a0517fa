//! Lowering: the Python AST to the untyped IR.
//!
//! This is where the supported subset is enforced. Every construct outside it
//! becomes a diagnostic with a hint, and lowering carries on so that all
//! problems of a file are reported in one run. Names are resolved here:
//! locals and parameters, module constants (folded to values), imports
//! (`np.zeros` → `numpy.zeros`), builtins and the module's own functions.

use std::collections::{HashMap, HashSet};

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostics::{codes, Diagnostic, SourceFile, Span};
use crate::ir::untyped::{
    Callee, ConstValue, Constant, Expr, ExprKind, Function, FunctionSlot, Keyword, Module, Param,
    ParamType, Stmt, StmtKind, Target,
};
use crate::ir::{BinaryOp, BoolOp, CompareOp, UnaryOp};
use crate::parse::{Parsed, PythranExport};
use crate::signature;

/// Builtins a compiled function may call.
const BUILTIN_FUNCTIONS: &[&str] = &[
    "abs", "min", "max", "round", "int", "float", "bool", "len", "sum", "any", "all", "sorted",
    "list", "set", "dict", "complex",
];

/// Python's other builtin functions: calling one is unsupported, not undefined.
const PYTHON_BUILTINS: &[&str] = &[
    "reversed",
    "enumerate",
    "zip",
    "map",
    "filter",
    "tuple",
    "str",
    "repr",
    "divmod",
    "pow",
    "isinstance",
    "type",
    "input",
    "open",
    "iter",
    "next",
    "hash",
    "id",
    "ord",
    "chr",
    "hex",
    "bin",
    "oct",
    "format",
    "getattr",
    "setattr",
    "hasattr",
    "vars",
    "dir",
    "callable",
    "slice",
    "object",
    "super",
    "bytes",
    "bytearray",
    "frozenset",
    "memoryview",
    "eval",
    "exec",
    "compile",
    "globals",
    "locals",
];

/// The deepest expression nesting compiled; every later stage recurses over
/// expressions, so this bounds their stack use. CPython's own parser refuses
/// far shallower nesting of parentheses.
const MAX_EXPRESSION_DEPTH: usize = 400;

/// Keyword arguments of Cython's `prange`, accepted and ignored: ferropy's
/// runtime chooses the schedule, and the thread count is
/// `set_num_threads`'s.
const CYTHON_PRANGE_OPTIONS: &[&str] = &[
    "nogil",
    "schedule",
    "chunksize",
    "num_threads",
    "use_threads_if",
];

/// Qualified names of `prange`, which asks for a parallel loop.
const PRANGE_NAMES: &[&str] = &["numba.prange", "cython.parallel.prange", "prange"];

pub fn lower(parsed: &Parsed<'_>) -> Result<Module, Vec<Diagnostic>> {
    let mut scope = ModuleScope::collect(parsed);
    let mut diagnostics = std::mem::take(&mut scope.diagnostics);
    let mut functions = Vec::new();
    for stmt in &parsed.body {
        if let ast::Stmt::FunctionDef(def) = stmt {
            let mut exports = parsed
                .exports
                .iter()
                .filter(|e| e.function == def.name.as_str());
            let export = exports.next();
            let overloads: Vec<&PythranExport> = exports.collect();
            let lowered = FunctionLowering::new(&scope, parsed.file)
                .function(def, export)
                .and_then(|function| {
                    overload_types(&scope, parsed.file, def, function, &overloads)
                });
            functions.push(FunctionSlot {
                name: def.name.to_string(),
                span: name_span(parsed.file, def),
                exported: is_exported(def, export),
                lowered,
            });
            for helper in scope.helpers.borrow_mut().drain(..) {
                functions.push(FunctionSlot {
                    name: helper.name.clone(),
                    span: helper.span,
                    exported: false,
                    lowered: Ok(helper),
                });
            }
        }
    }
    for export in &parsed.exports {
        if !functions.iter().any(|f| f.name == export.function) {
            diagnostics.push(
                Diagnostic::error(
                    codes::BAD_PYTHRAN_EXPORT,
                    export.span,
                    format!("no function named `{}` in this file", export.function),
                )
                .with_hint("the name after `#pythran export` must be a top-level function"),
            );
        }
    }
    if diagnostics.is_empty() {
        Ok(Module {
            constants: scope.constants,
            functions,
        })
    } else {
        Err(diagnostics)
    }
}

/// The span of the name in `def name(`, so diagnostics about a function point at it.
fn name_span(file: &SourceFile, def: &ast::StmtFunctionDef) -> Span {
    let start: u32 = def.range.start().into();
    let text = file.text.get(start as usize..).unwrap_or("");
    match text.find(def.name.as_str()) {
        Some(at) if at < 200 => {
            let begin = start + at as u32;
            Span::new(begin, begin + def.name.len() as u32)
        }
        _ => Span::new(start, start + 3),
    }
}

/// What the module's top level defines: imports, constants and functions.
struct ModuleScope {
    /// Local alias → qualified name (`np` → `numpy`, `sqrt` → `math.sqrt`).
    imports: HashMap<String, String>,
    constants: Vec<Constant>,
    /// Module-level names that are not compile-time constants, with why.
    dynamic_globals: HashMap<String, Span>,
    functions: HashSet<String>,
    classes: HashSet<String>,
    diagnostics: Vec<Diagnostic>,
    /// Functions made by lowering: each comprehension and generator
    /// expression becomes a helper function of its free variables.
    helpers: std::cell::RefCell<Vec<Function>>,
}

impl ModuleScope {
    fn collect(parsed: &Parsed<'_>) -> ModuleScope {
        let mut scope = ModuleScope {
            imports: HashMap::new(),
            constants: Vec::new(),
            dynamic_globals: HashMap::new(),
            functions: HashSet::new(),
            classes: HashSet::new(),
            diagnostics: Vec::new(),
            helpers: std::cell::RefCell::new(Vec::new()),
        };
        for stmt in &parsed.body {
            match stmt {
                ast::Stmt::Import(import) => {
                    for alias in &import.names {
                        let full = alias.name.to_string();
                        match &alias.asname {
                            Some(asname) => {
                                scope.imports.insert(asname.to_string(), full);
                            }
                            None => {
                                // `import numpy.typing` binds `numpy`.
                                let first = full.split('.').next().unwrap_or(&full).to_string();
                                scope.imports.insert(first.clone(), first);
                            }
                        }
                    }
                }
                ast::Stmt::ImportFrom(import) => {
                    let module = import
                        .module
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    for alias in &import.names {
                        let local = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                        scope
                            .imports
                            .insert(local, format!("{module}.{}", alias.name));
                    }
                }
                ast::Stmt::FunctionDef(def) => {
                    scope.functions.insert(def.name.to_string());
                }
                ast::Stmt::ClassDef(class) => {
                    scope.classes.insert(class.name.to_string());
                }
                ast::Stmt::Assign(assign) => {
                    for target in &assign.targets {
                        scope.module_assign(target, &assign.value);
                    }
                }
                ast::Stmt::AnnAssign(assign) => {
                    if let Some(value) = &assign.value {
                        scope.module_assign(&assign.target, value);
                    }
                }
                // Other top-level statements (docstrings, `if __name__ ==
                // "__main__":` blocks, setup code) run only under CPython; the
                // compiled module holds the functions and constants.
                _ => {}
            }
        }
        scope
    }

    fn module_assign(&mut self, target: &ast::Expr, value: &ast::Expr) {
        let ast::Expr::Name(name) = target else {
            return;
        };
        let name = name.id.to_string();
        // `prange = range` makes plain `range` loops parallel when compiled.
        if let ast::Expr::Name(value_name) = value {
            if value_name.id.as_str() == "range" && name == "prange" {
                self.imports.insert(name, "prange".into());
                return;
            }
        }
        match self.fold(value) {
            Some(folded) => {
                self.dynamic_globals.remove(&name);
                self.constants.retain(|c| c.name != name);
                self.constants.push(Constant {
                    name,
                    value: folded,
                    span: value.range().into(),
                });
            }
            None => {
                self.constants.retain(|c| c.name != name);
                self.dynamic_globals.insert(name, target.range().into());
            }
        }
    }

    fn qualify(&self, expr: &ast::Expr) -> Option<String> {
        match expr {
            ast::Expr::Name(name) => Some(
                self.imports
                    .get(name.id.as_str())
                    .cloned()
                    .unwrap_or_else(|| name.id.to_string()),
            ),
            ast::Expr::Attribute(attribute) => {
                let base = self.qualify(&attribute.value)?;
                Some(format!("{base}.{}", attribute.attr))
            }
            _ => None,
        }
    }

    /// Whether `expr` names an imported module (so `x.attr` is a module member).
    fn is_module_path(&self, expr: &ast::Expr) -> bool {
        match expr {
            ast::Expr::Name(name) => self
                .imports
                .get(name.id.as_str())
                .is_some_and(|full| is_known_module(full)),
            ast::Expr::Attribute(attribute) => self.is_module_path(&attribute.value),
            _ => false,
        }
    }

    fn constant(&self, name: &str) -> Option<&Constant> {
        self.constants.iter().find(|c| c.name == name)
    }

    /// Evaluates a module-level constant expression with Python's semantics,
    /// or `None` if it is not a compile-time constant.
    fn fold(&self, expr: &ast::Expr) -> Option<ConstValue> {
        match expr {
            ast::Expr::Constant(constant) => match &constant.value {
                ast::Constant::Int(value) => value.to_string().parse().ok().map(ConstValue::Int),
                ast::Constant::Float(value) => Some(ConstValue::Float(*value)),
                ast::Constant::Bool(value) => Some(ConstValue::Bool(*value)),
                _ => None,
            },
            ast::Expr::Name(name) => {
                if let Some(constant) = self.constant(name.id.as_str()) {
                    return Some(constant.value);
                }
                math_constant(&self.qualify(expr)?).map(ConstValue::Float)
            }
            ast::Expr::Attribute(_) => math_constant(&self.qualify(expr)?).map(ConstValue::Float),
            ast::Expr::UnaryOp(unary) => {
                let operand = self.fold(&unary.operand)?;
                match (unary.op, operand) {
                    (ast::UnaryOp::USub, ConstValue::Int(v)) => {
                        v.checked_neg().map(ConstValue::Int)
                    }
                    (ast::UnaryOp::USub, ConstValue::Float(v)) => Some(ConstValue::Float(-v)),
                    (ast::UnaryOp::UAdd, value @ (ConstValue::Int(_) | ConstValue::Float(_))) => {
                        Some(value)
                    }
                    (ast::UnaryOp::Not, ConstValue::Bool(v)) => Some(ConstValue::Bool(!v)),
                    _ => None,
                }
            }
            ast::Expr::BinOp(binary) => {
                let left = self.fold(&binary.left)?;
                let right = self.fold(&binary.right)?;
                fold_binary(binary.op, left, right)
            }
            _ => None,
        }
    }
}

fn is_known_module(full: &str) -> bool {
    let root = full.split('.').next().unwrap_or(full);
    matches!(
        root,
        "math" | "cmath" | "numpy" | "numba" | "cython" | "typing" | "collections"
    )
}

/// `math.pi`, `numpy.inf` and friends.
pub fn math_constant(qualified: &str) -> Option<f64> {
    Some(match qualified {
        "math.pi" | "numpy.pi" | "cmath.pi" => std::f64::consts::PI,
        "math.e" | "numpy.e" | "cmath.e" => std::f64::consts::E,
        "math.tau" | "cmath.tau" => std::f64::consts::TAU,
        "math.inf" | "numpy.inf" | "cmath.inf" => f64::INFINITY,
        "math.nan" | "numpy.nan" | "cmath.nan" => f64::NAN,
        _ => return None,
    })
}

fn fold_binary(op: ast::Operator, left: ConstValue, right: ConstValue) -> Option<ConstValue> {
    use ConstValue::{Float, Int};
    let as_float = |v: ConstValue| match v {
        Int(i) => Some(i as f64),
        Float(f) => Some(f),
        ConstValue::Bool(_) => None,
    };
    match (left, right) {
        (Int(a), Int(b)) => match op {
            ast::Operator::Add => a.checked_add(b).map(Int),
            ast::Operator::Sub => a.checked_sub(b).map(Int),
            ast::Operator::Mult => a.checked_mul(b).map(Int),
            ast::Operator::Div if b != 0 => Some(Float(a as f64 / b as f64)),
            ast::Operator::FloorDiv if b != 0 => Some(Int(
                a.div_euclid(b) - i64::from(a.rem_euclid(b) != 0 && b < 0)
            )),
            ast::Operator::Mod if b != 0 => {
                let r = a.rem_euclid(b);
                Some(Int(if r != 0 && b < 0 { r + b } else { r }))
            }
            ast::Operator::Pow if b >= 0 => u32::try_from(b)
                .ok()
                .and_then(|b| a.checked_pow(b))
                .map(Int),
            ast::Operator::Pow => Some(Float((a as f64).powf(b as f64))),
            _ => None,
        },
        (a, b) => {
            let (a, b) = (as_float(a)?, as_float(b)?);
            match op {
                ast::Operator::Add => Some(Float(a + b)),
                ast::Operator::Sub => Some(Float(a - b)),
                ast::Operator::Mult => Some(Float(a * b)),
                ast::Operator::Div if b != 0.0 => Some(Float(a / b)),
                ast::Operator::Pow if a > 0.0 => Some(Float(a.powf(b))),
                _ => None,
            }
        }
    }
}

/// Lowers one function. Diagnostics accumulate; the function is returned
/// only if there were none.
struct FunctionLowering<'a> {
    scope: &'a ModuleScope,
    file: &'a SourceFile,
    locals: HashSet<String>,
    diagnostics: Vec<Diagnostic>,
    loop_depth: usize,
    /// How deeply the expression being lowered is nested.
    expr_depth: usize,
}

impl<'a> FunctionLowering<'a> {
    fn new(scope: &'a ModuleScope, file: &'a SourceFile) -> Self {
        FunctionLowering {
            scope,
            file,
            locals: HashSet::new(),
            diagnostics: Vec::new(),
            loop_depth: 0,
            expr_depth: 0,
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        label: &str,
        hint: &str,
    ) {
        self.diagnostics.push(
            Diagnostic::error(code, span, message)
                .with_label(label)
                .with_hint(hint),
        );
    }

    fn function(
        mut self,
        def: &ast::StmtFunctionDef,
        export: Option<&PythranExport>,
    ) -> Result<Function, Vec<Diagnostic>> {
        let span = name_span(self.file, def);
        for decorator in &def.decorator_list {
            let name = self
                .scope
                .qualify(call_target(decorator))
                .unwrap_or_default();
            let root = name.split('.').next().unwrap_or("");
            if !matches!(root, "numba" | "cython" | "pythran") && !name.ends_with("jit") {
                self.error(codes::UNSUPPORTED_DEFINITION,
                    decorator.range().into(),
                    "unsupported decorator",
                    "ferropy does not know what this decorator does",
                    "remove it; Numba's @njit/@jit and Cython's decorators are accepted and ignored",
                );
            }
        }
        let args = &def.args;
        if let Some(vararg) = &args.vararg {
            self.error(
                codes::UNSUPPORTED_PARAMETER,
                vararg.range.into(),
                "`*args` is not supported",
                "variable positional arguments",
                "give each parameter a name and a type",
            );
        }
        if let Some(kwarg) = &args.kwarg {
            self.error(
                codes::UNSUPPORTED_PARAMETER,
                kwarg.range.into(),
                "`**kwargs` is not supported",
                "variable keyword arguments",
                "give each parameter a name and a type",
            );
        }
        let all_args: Vec<&ast::ArgWithDefault> = args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs)
            .collect();
        let mut defaults = Vec::new();
        for arg in &all_args {
            let default = match &arg.default {
                Some(default) => match self.scope.fold(default) {
                    Some(value) => Some(value),
                    None => {
                        self.error(
                            codes::UNSUPPORTED_PARAMETER,
                            default.range().into(),
                            "default values must be int, float or bool constants",
                            "not a compile-time constant",
                            "use a literal such as 1000 or 0.5, or a module-level constant",
                        );
                        None
                    }
                },
                None => None,
            };
            defaults.push(default);
        }
        let keyword_only_from = args.posonlyargs.len() + args.args.len();
        let qualify = |e: &ast::Expr| self.scope.qualify(e);
        let mut params = Vec::new();
        let mut annotation_errors = Vec::new();
        if let Some(export) = export {
            if export.arg_types.len() != all_args.len() {
                annotation_errors.push(
                    Diagnostic::error(
                        codes::BAD_PYTHRAN_EXPORT,
                        export.span,
                        format!(
                            "`#pythran export` gives {} argument types but `{}` has {} parameters",
                            export.arg_types.len(),
                            def.name,
                            all_args.len()
                        ),
                    )
                    .with_secondary(span, "defined here")
                    .with_hint("list one type per parameter"),
                );
            }
        }
        for (position, arg) in all_args.iter().enumerate() {
            let annotation_expr = arg
                .def
                .annotation
                .as_deref()
                .or_else(|| export.and_then(|e| e.arg_types.get(position)));
            let annotation = match annotation_expr {
                Some(expr) => match signature::annotation(expr, self.file, &qualify) {
                    Ok(ty) => Some(ty),
                    Err(diagnostic) => {
                        annotation_errors.push(diagnostic);
                        None
                    }
                },
                None => None,
            };
            params.push(Param {
                name: arg.def.arg.to_string(),
                span: arg.def.range.into(),
                annotation,
                default: defaults.get(position).copied().flatten(),
                keyword_only: position >= keyword_only_from,
            });
        }
        let returns = match &def.returns {
            Some(expr) => match signature::return_annotation(expr, self.file, &qualify) {
                Ok(ty) => ty,
                Err(diagnostic) => {
                    annotation_errors.push(diagnostic);
                    None
                }
            },
            None => None,
        };
        self.diagnostics.extend(annotation_errors);
        let exported = is_exported(def, export);

        for param in &params {
            self.locals.insert(param.name.clone());
        }
        collect_assigned_names(&def.body, &mut self.locals);
        let mut invalid: Vec<&str> = std::iter::once(def.name.as_str())
            .chain(self.locals.iter().map(String::as_str))
            .filter(|name| !crate::codegen::is_identifier(name))
            .collect();
        invalid.sort();
        for name in invalid {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::INVALID_SYNTAX,
                    span,
                    format!("invalid character in identifier `{name}`"),
                )
                .with_label("not a Python identifier")
                .with_hint("use letters, digits and underscores; CPython rejects this name too"),
            );
        }

        let (docstring, body) = split_docstring(&def.body);
        let body = self.block(body);
        if self.diagnostics.is_empty() {
            Ok(Function {
                name: def.name.to_string(),
                span,
                params,
                returns,
                exported,
                docstring,
                body,
                overloads: Vec::new(),
            })
        } else {
            Err(self.diagnostics)
        }
    }

    fn block(&mut self, stmts: &[ast::Stmt]) -> Vec<Stmt> {
        stmts.iter().filter_map(|stmt| self.stmt(stmt)).collect()
    }

    fn stmt(&mut self, stmt: &ast::Stmt) -> Option<Stmt> {
        let span: Span = stmt.range().into();
        let kind = match stmt {
            ast::Stmt::Assign(assign) => {
                let value = self.expr(&assign.value)?;
                let mut targets: Vec<Target> = Vec::new();
                for target in &assign.targets {
                    targets.push(self.target(target)?);
                }
                if targets.len() == 1 {
                    let target = targets.pop()?;
                    StmtKind::Assign {
                        target,
                        value,
                        annotation: None,
                    }
                } else {
                    // `a = b = value`: evaluate once into the first target, then copy.
                    let first = targets.remove(0);
                    let Target::Name(first_name, first_span) = &first else {
                        self.error(
                            codes::UNSUPPORTED_TARGET,
                            span,
                            "chained assignment must start with a plain name",
                            "chained assignment",
                            "split it into separate assignments",
                        );
                        return None;
                    };
                    let copy = Expr {
                        kind: ExprKind::Local(first_name.clone()),
                        span: *first_span,
                    };
                    let mut stmts = vec![Stmt {
                        kind: StmtKind::Assign {
                            target: first.clone(),
                            value,
                            annotation: None,
                        },
                        span,
                    }];
                    for target in targets {
                        stmts.push(Stmt {
                            kind: StmtKind::Assign {
                                target,
                                value: copy.clone(),
                                annotation: None,
                            },
                            span,
                        });
                    }
                    // Represent the sequence as an `if True:` block-free list by
                    // wrapping in an always-true `If` would obscure codegen; instead
                    // return the statements flattened through `If` with no else.
                    return Some(Stmt {
                        kind: StmtKind::If {
                            test: Expr {
                                kind: ExprKind::Bool(true),
                                span,
                            },
                            body: stmts,
                            orelse: Vec::new(),
                        },
                        span,
                    });
                }
            }
            ast::Stmt::AnnAssign(assign) => {
                let qualify = |e: &ast::Expr| self.scope.qualify(e);
                let annotation =
                    match signature::annotation(&assign.annotation, self.file, &qualify) {
                        Ok(ParamType::Known(ty)) => ty,
                        Ok(ParamType::ArrayOfUnknownRank(_)) => {
                            self.error(
                                codes::UNKNOWN_RANK,
                                assign.annotation.range().into(),
                                "a local array annotation needs a rank",
                                "NDArray without a rank",
                                "write \"float64[:]\" or leave the variable unannotated",
                            );
                            return None;
                        }
                        Err(diagnostic) => {
                            self.diagnostics.push(diagnostic);
                            return None;
                        }
                    };
                let target = self.target(&assign.target)?;
                match &assign.value {
                    Some(value) => StmtKind::Assign {
                        target,
                        value: self.expr(value)?,
                        annotation: Some(annotation),
                    },
                    None => match target {
                        Target::Name(name, _) => StmtKind::Declare { name, annotation },
                        _ => return None,
                    },
                }
            }
            ast::Stmt::AugAssign(assign) => {
                let op = self.binary_op(assign.op, span)?;
                let target = self.target(&assign.target);
                let value = self.expr(&assign.value);
                StmtKind::AugAssign {
                    target: target?,
                    op,
                    value: value?,
                }
            }
            ast::Stmt::If(if_stmt) => {
                let test = self.expr(&if_stmt.test);
                let body = self.block(&if_stmt.body);
                let orelse = self.block(&if_stmt.orelse);
                StmtKind::If {
                    test: test?,
                    body,
                    orelse,
                }
            }
            ast::Stmt::For(for_stmt) => return self.for_stmt(for_stmt, span),
            ast::Stmt::While(while_stmt) => {
                if !while_stmt.orelse.is_empty() {
                    self.error(
                        codes::UNSUPPORTED_STATEMENT,
                        span,
                        "`while ... else` is not supported",
                        "loop with an else clause",
                        "use a flag variable set before `break`",
                    );
                }
                let test = self.expr(&while_stmt.test);
                self.loop_depth += 1;
                let body = self.block(&while_stmt.body);
                self.loop_depth -= 1;
                StmtKind::While { test: test?, body }
            }
            ast::Stmt::Break(_) => StmtKind::Break,
            ast::Stmt::Continue(_) => StmtKind::Continue,
            ast::Stmt::Pass(_) => StmtKind::Pass,
            ast::Stmt::Return(ret) => match &ret.value {
                Some(value) => StmtKind::Return(Some(self.expr(value)?)),
                None => StmtKind::Return(None),
            },
            ast::Stmt::Expr(expr_stmt) => {
                // A bare string is a comment (or a docstring); it does nothing.
                if let ast::Expr::Constant(c) = expr_stmt.value.as_ref() {
                    if matches!(c.value, ast::Constant::Str(_) | ast::Constant::Ellipsis) {
                        return None;
                    }
                }
                StmtKind::Expr(self.expr(&expr_stmt.value)?)
            }
            ast::Stmt::FunctionDef(_) | ast::Stmt::AsyncFunctionDef(_) => {
                self.error(codes::UNSUPPORTED_DEFINITION, span, "nested functions are not supported", "function defined inside a function", "move the function to the top level of the module and pass what it needs as arguments");
                return None;
            }
            ast::Stmt::ClassDef(_) => {
                self.error(codes::UNSUPPORTED_DEFINITION, span, "classes are not supported", "class definition", "use functions and NumPy arrays; keep classes in the Python code that calls the kernels");
                return None;
            }
            ast::Stmt::Try(_) | ast::Stmt::TryStar(_) => {
                self.error(codes::UNSUPPORTED_STATEMENT, span, "`try`/`except` is not supported", "exception handling", "check the condition with `if` before the operation, or handle the exception in the Python caller");
                return None;
            }
            ast::Stmt::With(_) | ast::Stmt::AsyncWith(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "`with` blocks are not supported",
                    "context manager",
                    "move the `with` block into the Python code that calls the kernel",
                );
                return None;
            }
            ast::Stmt::Raise(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "`raise` is not supported yet",
                    "raise statement",
                    "return a status value, or validate the inputs in the Python caller",
                );
                return None;
            }
            ast::Stmt::Assert(assert) => {
                let test = self.expr(&assert.test);
                let message = match assert.msg.as_deref() {
                    None => None,
                    Some(ast::Expr::Constant(ast::ExprConstant {
                        value: ast::Constant::Str(text),
                        ..
                    })) => Some(text.clone()),
                    Some(other) => {
                        self.error(
                            codes::UNSUPPORTED_STATEMENT,
                            other.range().into(),
                            "the message of an `assert` must be a string literal",
                            "not a string literal",
                            "write the message as a literal: `assert n > 0, \"n must be positive\"`",
                        );
                        return None;
                    }
                };
                StmtKind::Assert {
                    test: test?,
                    message,
                }
            }
            ast::Stmt::Delete(delete)
                if delete
                    .targets
                    .iter()
                    .all(|t| matches!(t, ast::Expr::Subscript(_))) =>
            {
                // `del d[k]`, `del xs[i]`: one statement per target, in order.
                let mut stmts = Vec::new();
                for target in &delete.targets {
                    let ast::Expr::Subscript(subscript) = target else {
                        continue;
                    };
                    let receiver = self.expr(&subscript.value)?;
                    let key = self.expr(&subscript.slice)?;
                    stmts.push(Stmt {
                        kind: StmtKind::Expr(Expr {
                            kind: ExprKind::Method {
                                receiver: Box::new(receiver),
                                method: "__delitem__".into(),
                                args: vec![key],
                                keywords: Vec::new(),
                            },
                            span: target.range().into(),
                        }),
                        span,
                    });
                }
                StmtKind::If {
                    test: Expr {
                        kind: ExprKind::Bool(true),
                        span,
                    },
                    body: stmts,
                    orelse: Vec::new(),
                }
            }
            ast::Stmt::Delete(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "`del` is not supported",
                    "del statement",
                    "let the variable go out of scope instead",
                );
                return None;
            }
            ast::Stmt::Global(_) | ast::Stmt::Nonlocal(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "`global` and `nonlocal` are not supported",
                    "rebinding an outer variable",
                    "pass the value in as a parameter and return the new value",
                );
                return None;
            }
            ast::Stmt::Import(_) | ast::Stmt::ImportFrom(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "imports inside functions are not supported",
                    "import inside a function",
                    "move the import to the top of the module",
                );
                return None;
            }
            ast::Stmt::Match(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "`match` is not supported",
                    "match statement",
                    "use `if`/`elif` chains",
                );
                return None;
            }
            ast::Stmt::AsyncFor(_) => {
                self.error(
                    codes::UNSUPPORTED_LOOP,
                    span,
                    "`async for` is not supported",
                    "asynchronous loop",
                    "use a plain `for i in range(n)` loop",
                );
                return None;
            }
            ast::Stmt::TypeAlias(_) => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    span,
                    "type aliases are not supported",
                    "type alias",
                    "write the type in the annotation",
                );
                return None;
            }
        };
        Some(Stmt { kind, span })
    }

    /// `for x in a`, `for i, x in enumerate(a)`, `for x, y in zip(a, b)`
    /// over arrays (rows of 2-D ones): a loop over indices that reads the
    /// element (or row) of each iterable, evaluated once, before the loop.
    fn for_each_element(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Stmt> {
        let iter_span: Span = for_stmt.iter.range().into();
        let at = |kind: ExprKind| Expr {
            kind,
            span: iter_span,
        };
        let call_parts = match for_stmt.iter.as_ref() {
            ast::Expr::Call(call)
                if call
                    .keywords
                    .iter()
                    .all(|k| k.arg.as_deref() == Some("start")) =>
            {
                let is_local = matches!(call.func.as_ref(), ast::Expr::Name(n) if self.locals.contains(n.id.as_str()));
                match self.scope.qualify(&call.func).as_deref() {
                    Some(name @ ("enumerate" | "zip")) if !is_local => {
                        Some((name.to_string(), call))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let id = span.start;
        let index = format!("__index_{id}");
        let mut prelude = Vec::new();
        let mut bind = |this: &mut Self, expr: &ast::Expr, k: usize| -> Option<String> {
            let name = format!("__iter_{id}_{k}");
            let value = this.expr(expr)?;
            // A dict or set is iterated through a list of its keys.
            let value = Expr {
                span: value.span,
                kind: ExprKind::Call {
                    callee: Callee::Builtin("__iter_source__".into()),
                    args: vec![value],
                    keywords: Vec::new(),
                },
            };
            prelude.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name.clone(), iter_span),
                    value,
                    annotation: None,
                },
                span: iter_span,
            });
            Some(name)
        };
        // (iterables, leading counter start for enumerate)
        let (iterables, counter): (Vec<String>, Option<Expr>) = match &call_parts {
            Some((name, call)) if name == "enumerate" => {
                if call.args.len() != 1 && !(call.args.len() == 2 && call.keywords.is_empty()) {
                    self.error(
                        codes::UNSUPPORTED_LOOP,
                        call.range.into(),
                        "`enumerate` takes an array and an optional start",
                        "unsupported enumerate call",
                        "write `for i, x in enumerate(a):`",
                    );
                    return None;
                }
                let iterable = bind(self, &call.args[0], 0)?;
                let start = match (call.args.get(1), call.keywords.first()) {
                    (Some(start), _) => self.expr(start)?,
                    (None, Some(keyword)) => self.expr(&keyword.value)?,
                    (None, None) => at(ExprKind::Int(0)),
                };
                (vec![iterable], Some(start))
            }
            Some((_, call)) => {
                if call.args.is_empty() || !call.keywords.is_empty() {
                    self.error(
                        codes::UNSUPPORTED_LOOP,
                        call.range.into(),
                        "`zip` takes one or more arrays",
                        "unsupported zip call",
                        "write `for x, y in zip(a, b):`",
                    );
                    return None;
                }
                let mut names = Vec::new();
                for (k, arg) in call.args.iter().enumerate() {
                    names.push(bind(self, arg, k)?);
                }
                (names, None)
            }
            None => (vec![bind(self, &for_stmt.iter, 0)?], None),
        };
        // `for a, b in pairs`: each element is unpacked like an assignment.
        if let (ast::Expr::Tuple(_) | ast::Expr::List(_), [iterable], None) =
            (for_stmt.target.as_ref(), iterables.as_slice(), &counter)
        {
            let target = self.target(&for_stmt.target)?;
            let read = Stmt {
                kind: StmtKind::Assign {
                    target,
                    value: at(ExprKind::Index {
                        value: Box::new(at(ExprKind::Local(iterable.clone()))),
                        indices: vec![at(ExprKind::Local(index.clone()))],
                    }),
                    annotation: None,
                },
                span: iter_span,
            };
            self.loop_depth += 1;
            let body = self.block(&for_stmt.body);
            self.loop_depth -= 1;
            let mut reads = vec![read];
            reads.extend(body);
            prelude.push(Stmt {
                kind: StmtKind::ForRange {
                    var: Some((index, iter_span)),
                    start: at(ExprKind::Int(0)),
                    stop: at(ExprKind::Call {
                        callee: Callee::Builtin("len".into()),
                        args: vec![at(ExprKind::Local(iterable.clone()))],
                        keywords: Vec::new(),
                    }),
                    step: None,
                    body: reads,
                    parallel: false,
                },
                span,
            });
            return Some(Stmt {
                kind: StmtKind::If {
                    test: at(ExprKind::Bool(true)),
                    body: prelude,
                    orelse: Vec::new(),
                },
                span,
            });
        }
        let targets: Vec<&ast::Expr> = match (
            for_stmt.target.as_ref(),
            iterables.len() + usize::from(counter.is_some()),
        ) {
            (ast::Expr::Name(_), 1) => vec![for_stmt.target.as_ref()],
            (ast::Expr::Tuple(tuple), n) if tuple.elts.len() == n => tuple.elts.iter().collect(),
            (other, _) => {
                self.error(
                    codes::UNSUPPORTED_LOOP,
                    other.range().into(),
                    "the loop target does not match what the loop yields",
                    "unsupported loop target",
                    "write `for x in a`, `for i, x in enumerate(a)` or `for x, y in zip(a, b)`",
                );
                return None;
            }
        };
        let mut names = Vec::new();
        for target in &targets {
            match target {
                ast::Expr::Name(name) => names.push((name.id.to_string(), Span::from(name.range))),
                other => {
                    self.error(
                        codes::UNSUPPORTED_LOOP,
                        other.range().into(),
                        "each loop target must be a name",
                        "unsupported loop target",
                        "unpack inside the loop",
                    );
                    return None;
                }
            }
        }
        let len = |name: &str| {
            at(ExprKind::Call {
                callee: Callee::Builtin("len".into()),
                args: vec![at(ExprKind::Local(name.to_string()))],
                keywords: Vec::new(),
            })
        };
        let stop = if iterables.len() == 1 {
            len(&iterables[0])
        } else {
            at(ExprKind::Call {
                callee: Callee::Builtin("min".into()),
                args: iterables.iter().map(|n| len(n)).collect(),
                keywords: Vec::new(),
            })
        };
        let mut reads = Vec::new();
        let mut names = names.into_iter();
        if let Some(start) = counter {
            let (name, name_span) = names.next()?;
            reads.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name, name_span),
                    value: at(ExprKind::Binary {
                        op: BinaryOp::Add,
                        left: Box::new(start),
                        right: Box::new(at(ExprKind::Local(index.clone()))),
                    }),
                    annotation: None,
                },
                span: iter_span,
            });
        }
        for ((name, name_span), iterable) in names.zip(&iterables) {
            if name == "_" {
                continue;
            }
            reads.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name, name_span),
                    value: at(ExprKind::Index {
                        value: Box::new(at(ExprKind::Local(iterable.clone()))),
                        indices: vec![at(ExprKind::Local(index.clone()))],
                    }),
                    annotation: None,
                },
                span: iter_span,
            });
        }
        self.loop_depth += 1;
        let body = self.block(&for_stmt.body);
        self.loop_depth -= 1;
        reads.extend(body);
        prelude.push(Stmt {
            kind: StmtKind::ForRange {
                var: Some((index, iter_span)),
                start: at(ExprKind::Int(0)),
                stop,
                step: None,
                body: reads,
                parallel: false,
            },
            span,
        });
        Some(Stmt {
            kind: StmtKind::If {
                test: at(ExprKind::Bool(true)),
                body: prelude,
                orelse: Vec::new(),
            },
            span,
        })
    }

    fn for_stmt(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Stmt> {
        if !for_stmt.orelse.is_empty() {
            self.error(
                codes::UNSUPPORTED_STATEMENT,
                span,
                "`for ... else` is not supported",
                "loop with an else clause",
                "use a flag variable set before `break`",
            );
        }
        if !is_range_call(self, for_stmt.iter.as_ref()) {
            return self.for_each_element(for_stmt, span);
        }
        let var = match for_stmt.target.as_ref() {
            ast::Expr::Name(name) if name.id.as_str() == "_" => None,
            ast::Expr::Name(name) => Some((name.id.to_string(), name.range.into())),
            other => {
                self.error(
                    codes::UNSUPPORTED_LOOP,
                    other.range().into(),
                    "the loop variable must be a single name",
                    "unsupported loop target",
                    "write `for i in range(n):` and unpack inside the loop",
                );
                None
            }
        };
        let range_call = match for_stmt.iter.as_ref() {
            ast::Expr::Call(call) => {
                let name = self.scope.qualify(&call.func);
                let is_local = matches!(call.func.as_ref(), ast::Expr::Name(n) if self.locals.contains(n.id.as_str()));
                match name.as_deref() {
                    Some("range") if !is_local => Some((call, false)),
                    Some(n) if PRANGE_NAMES.contains(&n) && !is_local => Some((call, true)),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((call, parallel)) = range_call else {
            self.error(
                codes::UNSUPPORTED_LOOP,
                for_stmt.iter.range().into(),
                "only `for` loops over `range(...)` are supported",
                "not a range",
                "loop over indices: `for i in range(len(a)):` and read `a[i]`",
            );
            return None;
        };
        // Cython's prange options (`nogil=True`, `schedule="static"`, ...)
        // tune how its loop runs; ferropy schedules its own way.
        let unknown_keyword = call.keywords.iter().any(|k| {
            !parallel
                || !k
                    .arg
                    .as_ref()
                    .is_some_and(|a| CYTHON_PRANGE_OPTIONS.contains(&a.as_str()))
        });
        if unknown_keyword || call.args.is_empty() || call.args.len() > 3 {
            self.error(
                codes::UNSUPPORTED_LOOP,
                call.range.into(),
                "`range` takes 1 to 3 positional arguments",
                "unsupported range call",
                "write range(stop), range(start, stop) or range(start, stop, step)",
            );
            return None;
        }
        let args: Vec<Option<Expr>> = call.args.iter().map(|a| self.expr(a)).collect();
        self.loop_depth += 1;
        let body = self.block(&for_stmt.body);
        self.loop_depth -= 1;
        let mut args: Vec<Expr> = args.into_iter().collect::<Option<_>>()?;
        let (start, stop, step) = match args.len() {
            1 => (
                Expr {
                    kind: ExprKind::Int(0),
                    span: call.range.into(),
                },
                args.pop()?,
                None,
            ),
            2 => {
                let stop = args.pop()?;
                (args.pop()?, stop, None)
            }
            _ => {
                let step = args.pop()?;
                let stop = args.pop()?;
                (args.pop()?, stop, Some(step))
            }
        };
        Some(Stmt {
            kind: StmtKind::ForRange {
                var,
                start,
                stop,
                step,
                body,
                parallel,
            },
            span,
        })
    }

    fn target(&mut self, target: &ast::Expr) -> Option<Target> {
        match target {
            ast::Expr::Name(name) => Some(Target::Name(name.id.to_string(), name.range.into())),
            ast::Expr::Subscript(subscript) => {
                let value = self.expr(&subscript.value);
                let indices = self.indices(&subscript.slice);
                Some(Target::Index {
                    value: value?,
                    indices: indices?,
                    span: subscript.range.into(),
                })
            }
            ast::Expr::Tuple(tuple) => {
                let items: Vec<Option<Target>> =
                    tuple.elts.iter().map(|t| self.target(t)).collect();
                Some(Target::Tuple(
                    items.into_iter().collect::<Option<_>>()?,
                    tuple.range.into(),
                ))
            }
            ast::Expr::List(list) => {
                let items: Vec<Option<Target>> = list.elts.iter().map(|t| self.target(t)).collect();
                Some(Target::Tuple(
                    items.into_iter().collect::<Option<_>>()?,
                    list.range.into(),
                ))
            }
            ast::Expr::Attribute(_) => {
                self.error(
                    codes::UNSUPPORTED_TARGET,
                    target.range().into(),
                    "assigning to an attribute is not supported",
                    "attribute assignment",
                    "assign to array elements (`a[i] = x`) or local variables",
                );
                None
            }
            ast::Expr::Starred(_) => {
                self.error(
                    codes::UNSUPPORTED_TARGET,
                    target.range().into(),
                    "starred assignment is not supported",
                    "starred target",
                    "unpack a fixed number of values",
                );
                None
            }
            _ => {
                self.error(
                    codes::UNSUPPORTED_TARGET,
                    target.range().into(),
                    "cannot assign to this expression",
                    "invalid target",
                    "assign to a name or an array element",
                );
                None
            }
        }
    }

    fn indices(&mut self, slice: &ast::Expr) -> Option<Vec<Expr>> {
        let parts: Vec<&ast::Expr> = match slice {
            ast::Expr::Tuple(tuple) => tuple.elts.iter().collect(),
            single => vec![single],
        };
        let mut indices = Vec::new();
        let mut ok = true;
        for part in parts {
            let span: Span = part.range().into();
            let index = match part {
                ast::Expr::Slice(slice) => {
                    let mut bound = |bound: &Option<Box<ast::Expr>>| -> Option<Option<Box<Expr>>> {
                        match bound {
                            None => Some(None),
                            Some(bound) => self.expr(bound).map(|b| Some(Box::new(b))),
                        }
                    };
                    let (start, stop, step) =
                        (bound(&slice.lower), bound(&slice.upper), bound(&slice.step));
                    match (start, stop, step) {
                        (Some(start), Some(stop), Some(step)) => Some(Expr {
                            kind: ExprKind::Slice { start, stop, step },
                            span,
                        }),
                        _ => None,
                    }
                }
                ast::Expr::Constant(constant)
                    if matches!(constant.value, ast::Constant::Ellipsis) =>
                {
                    Some(Expr {
                        kind: ExprKind::Ellipsis,
                        span,
                    })
                }
                _ => self.expr(part),
            };
            match index {
                Some(index) => indices.push(index),
                None => ok = false,
            }
        }
        ok.then_some(indices)
    }

    fn binary_op(&mut self, op: ast::Operator, span: Span) -> Option<BinaryOp> {
        Some(match op {
            ast::Operator::Add => BinaryOp::Add,
            ast::Operator::Sub => BinaryOp::Sub,
            ast::Operator::Mult => BinaryOp::Mul,
            ast::Operator::Div => BinaryOp::TrueDiv,
            ast::Operator::FloorDiv => BinaryOp::FloorDiv,
            ast::Operator::Mod => BinaryOp::Mod,
            ast::Operator::Pow => BinaryOp::Pow,
            ast::Operator::BitAnd => BinaryOp::BitAnd,
            ast::Operator::BitOr => BinaryOp::BitOr,
            ast::Operator::BitXor => BinaryOp::BitXor,
            ast::Operator::LShift => BinaryOp::LShift,
            ast::Operator::RShift => BinaryOp::RShift,
            ast::Operator::MatMult => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "`@=` is not supported",
                    "in-place matrix multiplication",
                    "write `a = a @ b`",
                );
                return None;
            }
        })
    }

    fn expr(&mut self, expr: &ast::Expr) -> Option<Expr> {
        if self.expr_depth >= MAX_EXPRESSION_DEPTH {
            self.error(
                codes::UNSUPPORTED_EXPRESSION,
                expr.range().into(),
                "expression nested too deeply",
                "too deeply nested",
                "split the expression into several assignments",
            );
            return None;
        }
        self.expr_depth += 1;
        let lowered = self.expr_inner(expr);
        self.expr_depth -= 1;
        lowered
    }

    fn expr_inner(&mut self, expr: &ast::Expr) -> Option<Expr> {
        let span: Span = expr.range().into();
        let kind = match expr {
            ast::Expr::Constant(constant) => {
                match &constant.value {
                    ast::Constant::Int(value) => match value.to_string().parse::<i64>() {
                        Ok(v) => ExprKind::Int(v),
                        Err(_) => {
                            self.error(codes::INTEGER_TOO_LARGE, span, "integer literal does not fit in 64 bits", "too large", "ferropy's int is a 64-bit integer; use a float for larger magnitudes");
                            return None;
                        }
                    },
                    ast::Constant::Float(value) => ExprKind::Float(*value),
                    ast::Constant::Bool(value) => ExprKind::Bool(*value),
                    ast::Constant::None => ExprKind::None,
                    ast::Constant::Str(text) => ExprKind::Str(text.clone()),
                    ast::Constant::Complex { real, imag } => ExprKind::Complex(*real, *imag),
                    _ => {
                        self.error(
                            codes::UNSUPPORTED_EXPRESSION,
                            span,
                            "this literal is not supported",
                            "unsupported literal",
                            "use int, float or bool values",
                        );
                        return None;
                    }
                }
            }
            ast::Expr::Name(name) => return self.name(name.id.as_str(), span),
            ast::Expr::Attribute(attribute) => {
                if self.scope.is_module_path(&attribute.value) {
                    let qualified = self.scope.qualify(expr)?;
                    if let Some(value) = math_constant(&qualified) {
                        ExprKind::Float(value)
                    } else {
                        ExprKind::Qualified(qualified)
                    }
                } else {
                    let value = self.expr(&attribute.value)?;
                    ExprKind::Attribute {
                        value: Box::new(value),
                        attr: attribute.attr.to_string(),
                    }
                }
            }
            ast::Expr::Subscript(subscript) => {
                let value = self.expr(&subscript.value);
                let indices = self.indices(&subscript.slice);
                ExprKind::Index {
                    value: Box::new(value?),
                    indices: indices?,
                }
            }
            ast::Expr::BinOp(binary) if matches!(binary.op, ast::Operator::MatMult) => {
                // `a @ b` is `np.matmul(a, b)`.
                let left = self.expr(&binary.left);
                let right = self.expr(&binary.right);
                ExprKind::Call {
                    callee: Callee::Qualified("numpy.matmul".into()),
                    args: vec![left?, right?],
                    keywords: Vec::new(),
                }
            }
            ast::Expr::BinOp(binary) => {
                let op = self.binary_op(binary.op, span);
                let left = self.expr(&binary.left);
                let right = self.expr(&binary.right);
                ExprKind::Binary {
                    op: op?,
                    left: Box::new(left?),
                    right: Box::new(right?),
                }
            }
            ast::Expr::UnaryOp(unary) => {
                let op = match unary.op {
                    ast::UnaryOp::USub => UnaryOp::Neg,
                    ast::UnaryOp::UAdd => UnaryOp::Pos,
                    ast::UnaryOp::Not => UnaryOp::Not,
                    ast::UnaryOp::Invert => UnaryOp::Invert,
                };
                ExprKind::Unary {
                    op,
                    operand: Box::new(self.expr(&unary.operand)?),
                }
            }
            ast::Expr::BoolOp(bool_op) => {
                let op = match bool_op.op {
                    ast::BoolOp::And => BoolOp::And,
                    ast::BoolOp::Or => BoolOp::Or,
                };
                let values: Vec<Option<Expr>> =
                    bool_op.values.iter().map(|v| self.expr(v)).collect();
                ExprKind::BoolOp {
                    op,
                    values: values.into_iter().collect::<Option<_>>()?,
                }
            }
            ast::Expr::Compare(compare)
                if compare.ops.len() == 1
                    && matches!(compare.ops[0], ast::CmpOp::In | ast::CmpOp::NotIn) =>
            {
                // `x in xs`: x is evaluated first, as in Python.
                let value = self.expr(&compare.left);
                let container = self.expr(&compare.comparators[0]);
                let contains = Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin("__contains__".into()),
                        args: vec![value?, container?],
                        keywords: Vec::new(),
                    },
                    span,
                };
                if matches!(compare.ops[0], ast::CmpOp::NotIn) {
                    ExprKind::Unary {
                        op: UnaryOp::Not,
                        operand: Box::new(contains),
                    }
                } else {
                    return Some(contains);
                }
            }
            ast::Expr::Compare(compare) => {
                let left = self.expr(&compare.left);
                let mut rest = Vec::new();
                let mut ok = true;
                for (op, comparator) in compare.ops.iter().zip(&compare.comparators) {
                    let op = match op {
                        ast::CmpOp::Eq => CompareOp::Eq,
                        ast::CmpOp::NotEq => CompareOp::NotEq,
                        ast::CmpOp::Lt => CompareOp::Lt,
                        ast::CmpOp::LtE => CompareOp::LtE,
                        ast::CmpOp::Gt => CompareOp::Gt,
                        ast::CmpOp::GtE => CompareOp::GtE,
                        ast::CmpOp::Is | ast::CmpOp::IsNot => {
                            self.error(
                                codes::UNSUPPORTED_EXPRESSION,
                                span,
                                "`is` comparisons are not supported",
                                "identity comparison",
                                "compare values with `==` or `!=`",
                            );
                            ok = false;
                            continue;
                        }
                        ast::CmpOp::In | ast::CmpOp::NotIn => {
                            self.error(
                                codes::UNSUPPORTED_EXPRESSION,
                                span,
                                "`in` is only supported as a single comparison",
                                "membership test in a chain",
                                "write `x in xs` on its own, combined with `and`",
                            );
                            ok = false;
                            continue;
                        }
                    };
                    match self.expr(comparator) {
                        Some(c) => rest.push((op, c)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                ExprKind::Compare {
                    left: Box::new(left?),
                    rest,
                }
            }
            ast::Expr::IfExp(if_exp) => {
                let test = self.expr(&if_exp.test);
                let body = self.expr(&if_exp.body);
                let orelse = self.expr(&if_exp.orelse);
                ExprKind::IfExp {
                    test: Box::new(test?),
                    body: Box::new(body?),
                    orelse: Box::new(orelse?),
                }
            }
            ast::Expr::Call(call) => return self.call(call, span),
            ast::Expr::Tuple(tuple) => {
                let items: Vec<Option<Expr>> = tuple.elts.iter().map(|e| self.expr(e)).collect();
                ExprKind::Tuple(items.into_iter().collect::<Option<_>>()?)
            }
            ast::Expr::Lambda(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "lambda expressions are not supported",
                    "lambda",
                    "define a top-level function and call it",
                );
                return None;
            }
            ast::Expr::List(list) => {
                let items: Vec<Option<Expr>> = list.elts.iter().map(|e| self.expr(e)).collect();
                ExprKind::List(items.into_iter().collect::<Option<_>>()?)
            }
            ast::Expr::ListComp(comp) => {
                self.comprehension(Comprehension::List, &comp.elt, &comp.generators, span)?
            }
            ast::Expr::Dict(dict) => {
                let mut pairs = Vec::new();
                for (key, value) in dict.keys.iter().zip(&dict.values) {
                    let Some(key) = key else {
                        self.error(
                            codes::UNSUPPORTED_CONTAINER,
                            span,
                            "`**` unpacking in a dict display is not supported",
                            "dict unpacking",
                            "copy the dict and update it: `d = a.copy(); d.update(b)`",
                        );
                        return None;
                    };
                    let key = self.expr(key);
                    let value = self.expr(value);
                    pairs.push((key?, value?));
                }
                ExprKind::Dict(pairs)
            }
            ast::Expr::Set(set) => {
                let items: Vec<Option<Expr>> = set.elts.iter().map(|e| self.expr(e)).collect();
                ExprKind::Set(items.into_iter().collect::<Option<_>>()?)
            }
            ast::Expr::DictComp(comp) => {
                let pair = ast::Expr::Tuple(ast::ExprTuple {
                    range: comp.range,
                    elts: vec![(*comp.key).clone(), (*comp.value).clone()],
                    ctx: ast::ExprContext::Load,
                });
                self.comprehension(Comprehension::Dict, &pair, &comp.generators, span)?
            }
            ast::Expr::SetComp(comp) => {
                self.comprehension(Comprehension::Set, &comp.elt, &comp.generators, span)?
            }
            ast::Expr::GeneratorExp(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "a generator expression is only supported as the argument of sum, min, max, any, all, sorted or list",
                    "generator",
                    "use a list comprehension `[... for ...]`, or write the loop out",
                );
                return None;
            }
            ast::Expr::Yield(_) | ast::Expr::YieldFrom(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "generators are not supported",
                    "generator",
                    "write an explicit loop that accumulates into a variable or a list",
                );
                return None;
            }
            ast::Expr::JoinedStr(_) | ast::Expr::FormattedValue(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "strings are not supported in compiled code",
                    "f-string",
                    "format strings in the Python caller",
                );
                return None;
            }
            ast::Expr::NamedExpr(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "the walrus operator is not supported",
                    "assignment expression",
                    "assign to the variable in a separate statement",
                );
                return None;
            }
            ast::Expr::Await(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "`await` is not supported",
                    "await",
                    "keep asynchronous code in Python",
                );
                return None;
            }
            ast::Expr::Starred(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "starred expressions are not supported",
                    "unpacking",
                    "pass each argument explicitly",
                );
                return None;
            }
            ast::Expr::Slice(_) => {
                self.error(
                    codes::UNSUPPORTED_SLICE,
                    span,
                    "a slice is only allowed inside an index",
                    "slice",
                    "write it inside brackets: `a[1:-1]`",
                );
                return None;
            }
        };
        Some(Expr { kind, span })
    }

    fn name(&mut self, name: &str, span: Span) -> Option<Expr> {
        let kind = if self.locals.contains(name) {
            ExprKind::Local(name.to_string())
        } else if self.scope.constant(name).is_some() {
            ExprKind::Constant(name.to_string())
        } else if let Some(qualified) = self.scope.imports.get(name) {
            match math_constant(qualified) {
                Some(value) => ExprKind::Float(value),
                None => ExprKind::Qualified(qualified.clone()),
            }
        } else if matches!(name, "int" | "float" | "bool") {
            ExprKind::BuiltinRef(name.to_string())
        } else if self.scope.functions.contains(name) {
            ExprKind::FunctionRef(name.to_string())
        } else if let Some(defined) = self.scope.dynamic_globals.get(name) {
            self.diagnostics.push(
                Diagnostic::error(codes::NOT_A_CONSTANT, span, format!("`{name}` is not a compile-time constant"))
                    .with_label("module-level variable used here")
                    .with_secondary(*defined, "assigned here")
                    .with_hint("module-level values used by compiled code must be int, float or bool constants; pass other values as parameters"),
            );
            return None;
        } else {
            self.error(
                codes::UNDEFINED_NAME,
                span,
                format!("name `{name}` is not defined"),
                "undefined name",
                "define it as a local variable, a parameter or a module-level constant",
            );
            return None;
        };
        Some(Expr { kind, span })
    }

    /// `[e for x in xs if c]` (and the generator expressions that `sum`,
    /// `any` and `all` consume) as a call of a helper function made for it:
    /// its parameters are the enclosing function's variables it reads, its
    /// body the loops written out. The helper has the comprehension's own
    /// scope, as in Python 3, and is typed per call like any helper.
    fn comprehension(
        &mut self,
        kind: Comprehension,
        elt: &ast::Expr,
        generators: &[ast::Comprehension],
        span: Span,
    ) -> Option<ExprKind> {
        let range = elt.range();
        let mut bound = Vec::new();
        for generator in generators {
            if generator.is_async {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "asynchronous comprehensions are not supported",
                    "async for",
                    "use a plain `for`",
                );
                return None;
            }
            target_names_of(&generator.target, &mut bound);
        }
        let text = self
            .file
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let free: Vec<String> = identifiers_in(text)
            .into_iter()
            .filter(|name| self.locals.contains(name) && !bound.contains(name))
            .collect();
        let name = format!("__{}_{}", kind.name(), span.start);
        let result = "__result";
        let load = ast::ExprContext::Load;
        // The innermost statement, then the `if`s and `for`s around it.
        let call_method = |method: &str, args: Vec<ast::Expr>| {
            ast::Stmt::Expr(ast::StmtExpr {
                range,
                value: Box::new(ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(ast::Expr::Attribute(ast::ExprAttribute {
                        range,
                        value: Box::new(synthetic_name(result, range, load)),
                        attr: ast::Identifier::new(method),
                        ctx: load,
                    })),
                    args,
                    keywords: Vec::new(),
                })),
            })
        };
        let mut body: Vec<ast::Stmt> = vec![match kind {
            Comprehension::List => call_method("append", vec![elt.clone()]),
            Comprehension::Set => call_method("add", vec![elt.clone()]),
            Comprehension::Dict => {
                let ast::Expr::Tuple(pair) = elt else {
                    return None;
                };
                ast::Stmt::Assign(ast::StmtAssign {
                    range,
                    targets: vec![ast::Expr::Subscript(ast::ExprSubscript {
                        range,
                        value: Box::new(synthetic_name(result, range, load)),
                        slice: Box::new(pair.elts[0].clone()),
                        ctx: ast::ExprContext::Store,
                    })],
                    value: Box::new(pair.elts[1].clone()),
                    type_comment: None,
                })
            }
            Comprehension::Sum => ast::Stmt::AugAssign(ast::StmtAugAssign {
                range,
                target: Box::new(synthetic_name(result, range, ast::ExprContext::Store)),
                op: ast::Operator::Add,
                value: Box::new(elt.clone()),
            }),
            Comprehension::Any | Comprehension::All => {
                let any = kind == Comprehension::Any;
                let test = if any {
                    elt.clone()
                } else {
                    ast::Expr::UnaryOp(ast::ExprUnaryOp {
                        range,
                        op: ast::UnaryOp::Not,
                        operand: Box::new(elt.clone()),
                    })
                };
                ast::Stmt::If(ast::StmtIf {
                    range,
                    test: Box::new(test),
                    body: vec![ast::Stmt::Return(ast::StmtReturn {
                        range,
                        value: Some(Box::new(ast::Expr::Constant(ast::ExprConstant {
                            range,
                            value: ast::Constant::Bool(any),
                            kind: None,
                        }))),
                    })],
                    orelse: Vec::new(),
                })
            }
        }];
        for generator in generators.iter().rev() {
            for test in generator.ifs.iter().rev() {
                body = vec![ast::Stmt::If(ast::StmtIf {
                    range: test.range(),
                    test: Box::new(test.clone()),
                    body,
                    orelse: Vec::new(),
                })];
            }
            body = vec![ast::Stmt::For(ast::StmtFor {
                range: generator.iter.range(),
                target: Box::new(generator.target.clone()),
                iter: Box::new(generator.iter.clone()),
                body,
                orelse: Vec::new(),
                type_comment: None,
            })];
        }
        let mut inner = FunctionLowering::new(self.scope, self.file);
        inner.locals.extend(free.iter().cloned());
        inner.locals.extend(bound.iter().cloned());
        inner.locals.insert(result.to_string());
        let at = |kind: ExprKind| Expr { kind, span };
        let mut stmts = Vec::new();
        let initial = match kind {
            Comprehension::List => Some(ExprKind::List(Vec::new())),
            Comprehension::Dict => Some(ExprKind::Dict(Vec::new())),
            Comprehension::Set => Some(ExprKind::Set(Vec::new())),
            Comprehension::Sum => Some(ExprKind::Int(0)),
            Comprehension::Any | Comprehension::All => None,
        };
        if let Some(initial) = initial {
            stmts.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(result.to_string(), span),
                    value: at(initial),
                    annotation: None,
                },
                span,
            });
        }
        stmts.extend(inner.block(&body));
        let returned = match kind {
            Comprehension::List | Comprehension::Sum | Comprehension::Dict | Comprehension::Set => {
                ExprKind::Local(result.to_string())
            }
            Comprehension::Any => ExprKind::Bool(false),
            Comprehension::All => ExprKind::Bool(true),
        };
        stmts.push(Stmt {
            kind: StmtKind::Return(Some(at(returned))),
            span,
        });
        if !inner.diagnostics.is_empty() {
            self.diagnostics.append(&mut inner.diagnostics);
            return None;
        }
        let params = free
            .iter()
            .map(|name| Param {
                name: name.clone(),
                span,
                annotation: None,
                default: None,
                keyword_only: false,
            })
            .collect();
        let args = free
            .iter()
            .map(|name| at(ExprKind::Local(name.clone())))
            .collect();
        self.scope.helpers.borrow_mut().push(Function {
            name: name.clone(),
            span,
            params,
            returns: None,
            exported: false,
            docstring: None,
            body: stmts,
            overloads: Vec::new(),
        });
        Some(ExprKind::Call {
            callee: Callee::Function(name),
            args,
            keywords: Vec::new(),
        })
    }

    /// `sum(e for ...)`, `any(...)`, `all(...)` consume the generator as it
    /// runs; `min`, `max`, `sorted` and `list` take it as a list.
    fn consumed_generator(&mut self, call: &ast::ExprCall, span: Span) -> Option<Option<Expr>> {
        // `list(range(...))` is `[i for i in range(...)]`.
        if let (ast::Expr::Name(function), [range_call @ ast::Expr::Call(_)]) =
            (call.func.as_ref(), call.args.as_slice())
        {
            if function.id.as_str() == "list"
                && call.keywords.is_empty()
                && !self.locals.contains("list")
                && is_range_call(self, range_call)
            {
                let range = range_call.range();
                let item = "__item";
                let generator = ast::Comprehension {
                    range: Default::default(),
                    target: synthetic_name(item, range, ast::ExprContext::Store),
                    iter: range_call.clone(),
                    ifs: Vec::new(),
                    is_async: false,
                };
                let elt = synthetic_name(item, range, ast::ExprContext::Load);
                let kind = self.comprehension(Comprehension::List, &elt, &[generator], span);
                return Some(kind.map(|kind| Expr { kind, span }));
            }
        }
        let [ast::Expr::GeneratorExp(generator)] = call.args.as_slice() else {
            return None;
        };
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        if self.locals.contains(id) || self.scope.functions.contains(id) {
            return None;
        }
        let generator_span: Span = generator.range.into();
        let kind = match id {
            "sum" if call.keywords.is_empty() => Comprehension::Sum,
            "any" if call.keywords.is_empty() => Comprehension::Any,
            "all" if call.keywords.is_empty() => Comprehension::All,
            "min" | "max" | "sorted" | "list" => {
                let list = self.comprehension(
                    Comprehension::List,
                    &generator.elt,
                    &generator.generators,
                    generator_span,
                );
                let Some(list) = list else {
                    return Some(None);
                };
                let mut keywords = Vec::new();
                for keyword in &call.keywords {
                    let (Some(name), Some(value)) = (&keyword.arg, self.expr(&keyword.value))
                    else {
                        return Some(None);
                    };
                    keywords.push(Keyword {
                        name: name.to_string(),
                        value,
                        span: keyword.range.into(),
                    });
                }
                return Some(Some(Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin(id.to_string()),
                        args: vec![Expr {
                            kind: list,
                            span: generator_span,
                        }],
                        keywords,
                    },
                    span,
                }));
            }
            _ => return None,
        };
        let kind = self.comprehension(kind, &generator.elt, &generator.generators, span);
        Some(kind.map(|kind| Expr { kind, span }))
    }

    /// A (nested) list literal as nested tuples; anything else as usual.
    fn list_literal(&mut self, expr: &ast::Expr) -> Option<Expr> {
        match expr {
            ast::Expr::List(list) => {
                let items: Vec<Option<Expr>> =
                    list.elts.iter().map(|e| self.list_literal(e)).collect();
                Some(Expr {
                    kind: ExprKind::Tuple(items.into_iter().collect::<Option<_>>()?),
                    span: list.range.into(),
                })
            }
            other => self.expr(other),
        }
    }

    fn call(&mut self, call: &ast::ExprCall, span: Span) -> Option<Expr> {
        if let Some(consumed) = self.consumed_generator(call, span) {
            return consumed;
        }
        let mut ok = true;
        // `np.array([[1, 2], [3, 4]])`: the list literal is read as nested
        // tuples, which the array constructor turns into an array.
        let makes_array = matches!(
            self.scope.qualify(&call.func).as_deref(),
            Some("numpy.array" | "numpy.asarray")
        );
        let args: Vec<Option<Expr>> = call
            .args
            .iter()
            .map(|a| {
                if makes_array {
                    self.list_literal(a)
                } else {
                    self.expr(a)
                }
            })
            .collect();
        let mut keywords = Vec::new();
        for keyword in &call.keywords {
            match &keyword.arg {
                Some(name) => match self.expr(&keyword.value) {
                    Some(value) => keywords.push(Keyword {
                        name: name.to_string(),
                        value,
                        span: keyword.range.into(),
                    }),
                    None => ok = false,
                },
                None => {
                    self.error(
                        codes::UNSUPPORTED_EXPRESSION,
                        keyword.range.into(),
                        "`**kwargs` in calls is not supported",
                        "keyword unpacking",
                        "pass each keyword argument explicitly",
                    );
                    ok = false;
                }
            }
        }
        let args: Option<Vec<Expr>> = args.into_iter().collect();
        let callee = match call.func.as_ref() {
            ast::Expr::Name(name) if !self.locals.contains(name.id.as_str()) => {
                let id = name.id.as_str();
                if self.scope.functions.contains(id) {
                    Callee::Function(id.to_string())
                } else if let Some(qualified) = self.scope.imports.get(id) {
                    Callee::Qualified(qualified.clone())
                } else if BUILTIN_FUNCTIONS.contains(&id) {
                    Callee::Builtin(id.to_string())
                } else if self.scope.classes.contains(id) {
                    self.error(
                        codes::UNSUPPORTED_DEFINITION,
                        span,
                        format!("`{id}` is a class; classes are not supported in compiled code"),
                        "class instantiation",
                        "pass the fields as separate parameters or as NumPy arrays",
                    );
                    return None;
                } else if id == "range" {
                    self.error(
                        codes::UNSUPPORTED_LOOP,
                        span,
                        "`range` is only supported as the iterable of a `for` loop",
                        "range outside a for loop",
                        "write `for i in range(n):`",
                    );
                    return None;
                } else if id == "print" {
                    self.error(
                        codes::UNSUPPORTED_IO,
                        span,
                        "`print` is not supported in compiled code",
                        "print call",
                        "return the values and print them in the Python caller",
                    );
                    return None;
                } else if PYTHON_BUILTINS.contains(&id) {
                    self.error(codes::UNSUPPORTED_FUNCTION, span, format!("the builtin `{id}` is not supported in compiled code"), "unsupported builtin", "write the loop out; supported builtins are abs, min, max, round, int, float, bool and len");
                    return None;
                } else {
                    self.error(codes::UNDEFINED_NAME, span, format!("unknown function `{id}`"), "not defined in this module or supported as a builtin", "define the function in this file, or use a supported builtin (abs, min, max, round, int, float, bool, len)");
                    return None;
                }
            }
            ast::Expr::Name(name) => Callee::Local(name.id.to_string()),
            ast::Expr::Attribute(attribute) if self.scope.is_module_path(&attribute.value) => {
                Callee::Qualified(self.scope.qualify(&call.func)?)
            }
            ast::Expr::Attribute(attribute) => {
                let receiver = self.expr(&attribute.value)?;
                if !ok {
                    return None;
                }
                return Some(Expr {
                    kind: ExprKind::Method {
                        receiver: Box::new(receiver),
                        method: attribute.attr.to_string(),
                        args: args?,
                        keywords,
                    },
                    span,
                });
            }
            _ => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    call.func.range().into(),
                    "only named functions can be called",
                    "unsupported call target",
                    "call a function of this module, a builtin, or a math/numpy function",
                );
                return None;
            }
        };
        if !ok {
            return None;
        }
        Some(Expr {
            kind: ExprKind::Call {
                callee,
                args: args?,
                keywords,
            },
            span,
        })
    }
}

/// What a comprehension's helper function does with each element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Comprehension {
    /// `[e for ...]`: appends it to a new list.
    List,
    /// `sum(e for ...)`: adds it to a total starting at 0.
    Sum,
    /// `any(e for ...)`: returns True at the first true one.
    Any,
    /// `all(e for ...)`: returns False at the first false one.
    All,
    /// `{k: v for ...}`: stores `v` at `k` (the element is the pair).
    Dict,
    /// `{e for ...}`: adds it to a new set.
    Set,
}

impl Comprehension {
    fn name(self) -> &'static str {
        match self {
            Comprehension::List => "listcomp",
            Comprehension::Sum => "sum",
            Comprehension::Any => "any",
            Comprehension::All => "all",
            Comprehension::Dict => "dictcomp",
            Comprehension::Set => "setcomp",
        }
    }
}

/// The identifiers written in `text` (not attribute names after a `.`, not
/// inside string literals), in order of first appearance.
fn identifiers_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
            let word: String = chars[start..i].iter().collect();
            if before != Some(&'.') && !out.contains(&word) {
                out.push(word);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Names a comprehension target binds (`x`, `i, x`).
fn target_names_of(target: &ast::Expr, out: &mut Vec<String>) {
    match target {
        ast::Expr::Name(name) => out.push(name.id.to_string()),
        ast::Expr::Tuple(tuple) => tuple.elts.iter().for_each(|e| target_names_of(e, out)),
        ast::Expr::List(list) => list.elts.iter().for_each(|e| target_names_of(e, out)),
        _ => {}
    }
}

fn synthetic_name(
    name: &str,
    range: rustpython_parser::text_size::TextRange,
    ctx: ast::ExprContext,
) -> ast::Expr {
    ast::Expr::Name(ast::ExprName {
        range,
        id: ast::Identifier::new(name),
        ctx,
    })
}

/// Exported functions are those with a `#pythran export` line or annotations
/// on every parameter (a function without parameters needs a return annotation).
fn is_exported(def: &ast::StmtFunctionDef, export: Option<&PythranExport>) -> bool {
    let args = &def.args;
    let mut all = args
        .posonlyargs
        .iter()
        .chain(&args.args)
        .chain(&args.kwonlyargs)
        .peekable();
    let has_params = all.peek().is_some();
    let all_annotated = all.all(|a| a.def.annotation.is_some());
    export.is_some() || (all_annotated && (has_params || def.returns.is_some()))
}

/// The callee of a decorator such as `@njit(cache=True)`, or the decorator itself.
fn call_target(expr: &ast::Expr) -> &ast::Expr {
    match expr {
        ast::Expr::Call(call) => &call.func,
        other => other,
    }
}

fn split_docstring(body: &[ast::Stmt]) -> (Option<String>, &[ast::Stmt]) {
    if let Some(ast::Stmt::Expr(first)) = body.first() {
        if let ast::Expr::Constant(constant) = first.value.as_ref() {
            if let ast::Constant::Str(text) = &constant.value {
                return (Some(text.clone()), &body[1..]);
            }
        }
    }
    (None, body)
}

/// Adds every name the statements assign (targets, loop variables) to `names`:
/// as in Python, assigning anywhere in a function makes the name local.
fn collect_assigned_names(stmts: &[ast::Stmt], names: &mut HashSet<String>) {
    fn target_names(target: &ast::Expr, names: &mut HashSet<String>) {
        match target {
            ast::Expr::Name(name) => {
                names.insert(name.id.to_string());
            }
            ast::Expr::Tuple(tuple) => tuple.elts.iter().for_each(|t| target_names(t, names)),
            ast::Expr::List(list) => list.elts.iter().for_each(|t| target_names(t, names)),
            _ => {}
        }
    }
    for stmt in stmts {
        match stmt {
            ast::Stmt::Assign(assign) => assign.targets.iter().for_each(|t| target_names(t, names)),
            ast::Stmt::AnnAssign(assign) => target_names(&assign.target, names),
            ast::Stmt::AugAssign(assign) => target_names(&assign.target, names),
            ast::Stmt::For(for_stmt) => {
                target_names(&for_stmt.target, names);
                collect_assigned_names(&for_stmt.body, names);
                collect_assigned_names(&for_stmt.orelse, names);
            }
            ast::Stmt::While(while_stmt) => {
                collect_assigned_names(&while_stmt.body, names);
                collect_assigned_names(&while_stmt.orelse, names);
            }
            ast::Stmt::If(if_stmt) => {
                collect_assigned_names(&if_stmt.body, names);
                collect_assigned_names(&if_stmt.orelse, names);
            }
            _ => {}
        }
    }
}

/// The parameter types of the further `#pythran export` lines of `def`.
fn overload_types(
    scope: &ModuleScope,
    file: &SourceFile,
    def: &ast::StmtFunctionDef,
    mut function: Function,
    overloads: &[&PythranExport],
) -> Result<Function, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let qualify = |e: &ast::Expr| scope.qualify(e);
    for export in overloads {
        if export.arg_types.len() != function.params.len() {
            diagnostics.push(
                Diagnostic::error(
                    codes::BAD_PYTHRAN_EXPORT,
                    export.span,
                    format!(
                        "`#pythran export` gives {} argument types but `{}` has {} parameters",
                        export.arg_types.len(),
                        def.name,
                        function.params.len()
                    ),
                )
                .with_secondary(function.span, "defined here")
                .with_hint("list one type per parameter"),
            );
            continue;
        }
        let mut types = Vec::new();
        for expr in &export.arg_types {
            match signature::annotation(expr, file, &qualify) {
                Ok(ty) => types.push(Some(ty)),
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        if types.len() == function.params.len() {
            function.overloads.push(types);
        }
    }
    if diagnostics.is_empty() {
        Ok(function)
    } else {
        Err(diagnostics)
    }
}

/// Whether a loop's iterable is a call of `range` or a `prange`.
fn is_range_call(lowering: &FunctionLowering<'_>, iter: &ast::Expr) -> bool {
    let ast::Expr::Call(call) = iter else {
        return false;
    };
    let is_local =
        matches!(call.func.as_ref(), ast::Expr::Name(n) if lowering.locals.contains(n.id.as_str()));
    !is_local
        && matches!(lowering.scope.qualify(&call.func).as_deref(),
            Some(name) if name == "range" || PRANGE_NAMES.contains(&name))
}
