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
use crate::dialect::{self, Signature};
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
    "list", "set", "dict", "complex", "divmod", "pow", "reversed",
];

/// Python's other builtin functions: calling one is unsupported, not undefined.
const PYTHON_BUILTINS: &[&str] = &[
    "enumerate",
    "zip",
    "map",
    "filter",
    "tuple",
    "str",
    "repr",
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

/// The built-in exception classes a `raise` statement may name.
pub const RAISABLE_EXCEPTIONS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "Exception",
    "FloatingPointError",
    "IndexError",
    "KeyError",
    "LookupError",
    "MemoryError",
    "NotImplementedError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
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

thread_local! {
    /// The prefix of the names lowering invents (comprehension helpers,
    /// hidden locals) for the file being lowered: see `hidden_prefix`.
    static HIDDEN_PREFIX: std::cell::RefCell<String> = std::cell::RefCell::new("__".to_string());
}

/// A name lowering invents: the file's hidden prefix, then `rest` (which
/// starts with a letter and does not end with `__`).
pub(crate) fn hidden(rest: &str) -> String {
    HIDDEN_PREFIX.with(|prefix| format!("{}{rest}", prefix.borrow()))
}

/// `hidden(&format!(...))`.
macro_rules! hidden_format {
    ($($arg:tt)*) => {
        hidden(&format!($($arg)*))
    };
}

/// The prefix of the names lowering invents in a file: `__` unless a name
/// of the file itself starts with `__` and a letter (a user's `__result`
/// or `__listcomp_3`), then as many underscores as no name of the file
/// starts with before a letter. Names that end with `__` (`__name__`) never
/// meet an invented one, which does not end so. The text is scanned
/// whole, strings and comments too: that only lengthens the prefix.
pub(crate) fn hidden_prefix(text: &str) -> String {
    let mut taken: HashSet<usize> = HashSet::new();
    let mut words = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("__") && !w.ends_with("__"));
    for word in &mut words {
        let underscores = word.len() - word.trim_start_matches('_').len();
        taken.insert(underscores);
    }
    let count = (2..).find(|k| !taken.contains(k)).unwrap_or(2);
    "_".repeat(count)
}

/// Qualified names of `prange`, which asks for a parallel loop.
const PRANGE_NAMES: &[&str] = &["numba.prange", "cython.parallel.prange", "prange"];

pub fn lower(parsed: &Parsed<'_>) -> Result<Module, Vec<Diagnostic>> {
    let prefix = hidden_prefix(&parsed.file.text);
    HIDDEN_PREFIX.with(|hidden| *hidden.borrow_mut() = prefix);
    let mut scope = ModuleScope::collect(parsed);
    let mut diagnostics = std::mem::take(&mut scope.diagnostics);
    let mut warnings = std::mem::take(&mut scope.warnings);
    let mut functions = Vec::new();
    let mut not_exported = Vec::new();
    let qualify = |e: &ast::Expr| scope.qualify(e);
    let cx = dialect::Context {
        file: parsed.file,
        qualify: &qualify,
        pycc_modules: &scope.pycc_modules,
    };
    for stmt in &parsed.body {
        let ast::Stmt::FunctionDef(def) = stmt else {
            continue;
        };
        let mut decorations = dialect::decorations(def, &cx);
        warnings.append(&mut decorations.warnings);
        let mut pythran_errors = Vec::new();
        let mut signatures: Vec<Signature> = parsed
            .exports
            .iter()
            .filter(|e| e.function == def.name.as_str())
            .flat_map(|export| match pythran_signature(export, &cx) {
                Ok(signatures) => signatures,
                Err(diagnostic) => {
                    pythran_errors.push(diagnostic);
                    Vec::new()
                }
            })
            .collect();
        let pythran_given = !pythran_errors.is_empty() || !signatures.is_empty();
        signatures.extend(decorations.signatures.iter().cloned());
        // `cc.export` under the function's own name adds a signature; under
        // another name it is a function of its own with the same body.
        let mut aliases: Vec<(String, Vec<Signature>)> = Vec::new();
        for export in &decorations.pycc_exports {
            if export.name == def.name.as_str() {
                signatures.push(export.signature.clone());
            } else if let Some((_, group)) = aliases.iter_mut().find(|(n, _)| *n == export.name) {
                group.push(export.signature.clone());
            } else {
                aliases.push((export.name.clone(), vec![export.signature.clone()]));
            }
        }
        let reason = not_exported_reason(def, &decorations, pythran_given);
        let exported = decorations.c_only.is_none()
            && (reason.is_none() || !signatures.is_empty() || decorations.signature_given);
        let span = name_span(parsed.file, def);
        let mut extra = pythran_errors;
        extra.append(&mut decorations.errors);
        let lowered = |name: &str, signatures: &[Signature], extra: &[Diagnostic], exported| {
            let lowered = FunctionLowering::new(&scope, parsed.file).function(
                def,
                name,
                signatures,
                &decorations,
                exported,
            );
            match (lowered, extra.is_empty()) {
                (Ok(function), true) => Ok(function),
                (Ok(_), false) => Err(extra.to_vec()),
                (Err(mut found), _) => {
                    found.splice(0..0, extra.iter().cloned());
                    Err(found)
                }
            }
        };
        functions.push(FunctionSlot {
            name: def.name.to_string(),
            span,
            exported,
            lowered: lowered(def.name.as_str(), &signatures, &extra, exported),
        });
        if !exported {
            if let Some(reason) = reason {
                not_exported.push((span, def.name.to_string(), reason));
            }
        }
        // The helpers of its comprehensions (lowered once, also for an
        // alias that lowers the same body again).
        let add_helpers = |functions: &mut Vec<FunctionSlot>| {
            for helper in scope.helpers.borrow_mut().drain(..) {
                if functions.iter().any(|f| f.name == helper.name) {
                    continue;
                }
                functions.push(FunctionSlot {
                    name: helper.name.clone(),
                    span: helper.span,
                    exported: false,
                    lowered: Ok(helper),
                });
            }
        };
        add_helpers(&mut functions);
        for (alias, group) in aliases {
            if scope.functions.contains(&alias) {
                diagnostics.push(
                    Diagnostic::error(
                        codes::BAD_SIGNATURE,
                        span,
                        format!(
                            "`cc.export` exports this function as `{alias}`, the name of another \
                             function of this file"
                        ),
                    )
                    .with_label("exported under another function's name")
                    .with_hint("export the function under a name no other function has"),
                );
                continue;
            }
            functions.push(FunctionSlot {
                name: alias.clone(),
                span,
                exported: true,
                lowered: lowered(&alias, &group, &extra, true),
            });
            add_helpers(&mut functions);
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
    // A partly annotated function looks meant to be exported: inference
    // reports its missing types (FP0204) when nothing calls it.
    let partly_annotated = not_exported
        .iter()
        .any(|(_, _, reason)| matches!(reason, NotExported::PartlyAnnotated(_)));
    not_exported.retain(|(_, _, reason)| !matches!(reason, NotExported::PartlyAnnotated(_)));
    let unexported =
        if functions.iter().any(|f| f.exported) || (partly_annotated && not_exported.is_empty()) {
            Vec::new()
        } else {
            nothing_exported(not_exported)
        };
    if diagnostics.is_empty() {
        Ok(Module {
            constants: scope.constants,
            functions,
            module_name: scope.pycc_name,
            warnings,
            unexported,
        })
    } else {
        diagnostics.extend(warnings);
        Err(diagnostics)
    }
}

/// A `#pythran export` line as signatures: one, or one per combination of
/// its `T or None` arguments being `T` or None.
fn pythran_signature(
    export: &PythranExport,
    cx: &dialect::Context<'_>,
) -> Result<Vec<Signature>, Diagnostic> {
    let params = export
        .arg_types
        .iter()
        .map(|expr| signature::nullable_parameter_annotation(expr, cx.file, cx.qualify))
        .collect::<Result<Vec<_>, _>>()?;
    let mut signatures = vec![Vec::new()];
    for (ty, nullable) in params {
        // Past the cap the function reports too many nullable parameters.
        let choices = if nullable && signatures.len() <= 1 << MAX_NULLABLE_PARAMETERS {
            vec![ty, ParamType::Known(crate::types::Type::None)]
        } else {
            vec![ty]
        };
        signatures = signatures
            .into_iter()
            .flat_map(|params| {
                choices.iter().map(move |choice| {
                    let mut params = params.clone();
                    params.push(choice.clone());
                    params
                })
            })
            .collect();
    }
    Ok(signatures
        .into_iter()
        .map(|params| Signature {
            params,
            returns: None,
            span: export.span,
            optional: export.optional.clone(),
            nullable: Vec::new(),
            code: codes::BAD_PYTHRAN_EXPORT,
        })
        .collect())
}

/// The most parameters of one function that may be None: each doubles the
/// instances of an exported function.
pub const MAX_NULLABLE_PARAMETERS: usize = 3;

/// Why `def` is not exported by its annotations, or `None` if it is.
fn not_exported_reason(
    def: &ast::StmtFunctionDef,
    decorations: &dialect::Decorations,
    pythran_given: bool,
) -> Option<NotExported> {
    if let Some(span) = decorations.c_only {
        return Some(NotExported::CFunction(span));
    }
    if pythran_given || decorations.signature_given {
        return None;
    }
    let args = &def.args;
    let all: Vec<&ast::ArgWithDefault> = args
        .posonlyargs
        .iter()
        .chain(&args.args)
        .chain(&args.kwonlyargs)
        .collect();
    let annotated = |a: &&ast::ArgWithDefault| {
        a.def.annotation.is_some()
            || decorations
                .locals
                .iter()
                .any(|(name, _)| name == a.def.arg.as_str())
    };
    let unannotated: Vec<String> = all
        .iter()
        .filter(|a| !annotated(a))
        .map(|a| a.def.arg.to_string())
        .collect();
    if all.is_empty() && def.returns.is_none() && decorations.returns.is_none() {
        return Some(NotExported::NoParameters);
    }
    if unannotated.is_empty() {
        return None;
    }
    if let Some((span, name)) = decorations.unknown.first() {
        return Some(NotExported::UnknownDecorator(*span, name.clone()));
    }
    if let Some(span) = decorations.jit {
        return Some(NotExported::JitWithoutSignature(span));
    }
    if unannotated.len() < all.len() {
        return Some(NotExported::PartlyAnnotated(unannotated));
    }
    Some(NotExported::NoAnnotations)
}

/// Why a top-level function is not exported.
enum NotExported {
    NoAnnotations,
    PartlyAnnotated(Vec<String>),
    NoParameters,
    JitWithoutSignature(Span),
    UnknownDecorator(Span, String),
    CFunction(Span),
}

/// The error for a file that exports nothing: one diagnostic per top-level
/// function saying why it is not exported and how to export it.
fn nothing_exported(functions: Vec<(Span, String, NotExported)>) -> Vec<Diagnostic> {
    if functions.is_empty() {
        return vec![Diagnostic::error(
            codes::NOTHING_EXPORTED,
            Span::new(0, 0),
            "nothing to export: this file defines no top-level function",
        )
        .with_label("in this file")
        .with_hint(
            "ferropy compiles top-level functions with annotated parameters, such as \
             `def mean(a: \"float64[:]\") -> float:`",
        )];
    }
    functions
        .into_iter()
        .map(|(span, name, reason)| {
            let example = format!(
                "annotate every parameter (`def {name}(a: \"float64[:]\", n: int)`), or add a \
                 line `#pythran export {name}(float64[:], int)`"
            );
            let (message, label, hint, secondary) = match reason {
                NotExported::NoAnnotations => (
                    "its parameters have no annotations".to_string(),
                    "not exported".to_string(),
                    example,
                    None,
                ),
                NotExported::PartlyAnnotated(missing) => (
                    format!(
                        "{} not annotated",
                        missing
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                            + if missing.len() == 1 { " is" } else { " are" }
                    ),
                    "not exported".to_string(),
                    "annotate every parameter of a function to export it".to_string(),
                    None,
                ),
                NotExported::NoParameters => (
                    "it has no parameters and no return annotation".to_string(),
                    "not exported".to_string(),
                    format!("add a return annotation: `def {name}() -> float:`"),
                    None,
                ),
                NotExported::JitWithoutSignature(decorator) => (
                    "its Numba decorator gives no signature and its parameters have no \
                     annotations"
                        .to_string(),
                    "not exported".to_string(),
                    format!(
                        "give the decorator a signature, such as `@njit(\"f8(f8[:], i8)\")`, \
                         or annotate every parameter of `{name}`"
                    ),
                    Some((decorator, "no signature")),
                ),
                NotExported::UnknownDecorator(decorator, decorator_name) => (
                    format!(
                        "its parameters have no annotations, and ferropy does not know the \
                         decorator `@{decorator_name}`"
                    ),
                    "not exported".to_string(),
                    example,
                    Some((decorator, "unrecognised decorator")),
                ),
                NotExported::CFunction(decorator) => (
                    "`@cython.cfunc` functions are not visible from Python".to_string(),
                    "compiled only when an exported function calls it".to_string(),
                    "use `@cython.ccall` to call the function from Python as well".to_string(),
                    Some((decorator, "C-only function")),
                ),
            };
            let mut diagnostic = Diagnostic::error(
                codes::NOTHING_EXPORTED,
                span,
                format!("nothing to export: `{name}` is not exported: {message}"),
            )
            .with_label(label)
            .with_hint(hint);
            if let Some((decorator, text)) = secondary {
                diagnostic = diagnostic.with_secondary(decorator, text);
            }
            diagnostic
        })
        .collect()
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

/// An item of a module-level tuple constant.
#[derive(Clone, Debug)]
enum TupleItem {
    Value(ConstValue),
    Tuple(Vec<TupleItem>),
}

impl TupleItem {
    /// The item as the expression a read of the constant gives.
    fn expr(&self, span: Span) -> Expr {
        let kind = match self {
            TupleItem::Value(ConstValue::Int(v)) => ExprKind::Int(*v),
            TupleItem::Value(ConstValue::Float(v)) => ExprKind::Float(*v),
            TupleItem::Value(ConstValue::Bool(v)) => ExprKind::Bool(*v),
            TupleItem::Value(_) => ExprKind::None,
            TupleItem::Tuple(items) => {
                ExprKind::Tuple(items.iter().map(|item| item.expr(span)).collect())
            }
        };
        Expr { kind, span }
    }
}

/// What the module's top level defines: imports, constants and functions.
struct ModuleScope {
    /// Local alias → qualified name (`np` → `numpy`, `sqrt` → `math.sqrt`).
    imports: HashMap<String, String>,
    constants: Vec<Constant>,
    /// Module-level names that are not compile-time constants, with why.
    dynamic_globals: HashMap<String, Span>,
    /// Module-level tuples of int, float and bool constants, also nested
    /// (`WEIGHTS = (0.25, 0.5, 0.25)`, `OFFSETS = ((0, 1), (1, 0))`): each
    /// read is the tuple display.
    tuple_constants: HashMap<String, Vec<TupleItem>>,
    functions: HashSet<String>,
    classes: HashSet<String>,
    /// Names bound to `numba.pycc.CC(...)`.
    pycc_modules: HashSet<String>,
    /// The module name given to `CC(...)`, which the built module takes.
    pycc_name: Option<String>,
    diagnostics: Vec<Diagnostic>,
    /// Functions made by lowering: each comprehension and generator
    /// expression becomes a helper function of its free variables.
    helpers: std::cell::RefCell<Vec<Function>>,
    /// Names given to helpers so far, so that two made from one span (the
    /// two comprehensions of a `key=` sort) differ.
    helper_names: std::cell::RefCell<HashSet<String>>,
    warnings: Vec<Diagnostic>,
}

impl ModuleScope {
    fn collect(parsed: &Parsed<'_>) -> ModuleScope {
        let mut scope = ModuleScope {
            imports: HashMap::new(),
            constants: Vec::new(),
            dynamic_globals: HashMap::new(),
            tuple_constants: HashMap::new(),
            functions: HashSet::new(),
            classes: HashSet::new(),
            pycc_modules: HashSet::new(),
            pycc_name: None,
            diagnostics: Vec::new(),
            helpers: std::cell::RefCell::new(Vec::new()),
            helper_names: std::cell::RefCell::new(HashSet::new()),
            warnings: Vec::new(),
        };
        for stmt in &parsed.body {
            match stmt {
                ast::Stmt::Import(_) | ast::Stmt::ImportFrom(_) => {
                    scope.imports.extend(import_bindings(stmt));
                }
                ast::Stmt::FunctionDef(def) => {
                    scope.functions.insert(def.name.to_string());
                }
                ast::Stmt::ClassDef(class) => {
                    scope.classes.insert(class.name.to_string());
                }
                ast::Stmt::Assign(assign) => {
                    if scope.pycc_module(assign) {
                        continue;
                    }
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

    /// `cc = CC("name")` from `numba.pycc`, and settings of such an object
    /// (`cc.verbose = True`); true when `assign` is one of them.
    fn pycc_module(&mut self, assign: &ast::StmtAssign) -> bool {
        if let [ast::Expr::Attribute(attribute)] = assign.targets.as_slice() {
            let ast::Expr::Name(object) = attribute.value.as_ref() else {
                return false;
            };
            if !self.pycc_modules.contains(object.id.as_str()) {
                return false;
            }
            if attribute.attr.as_str() != "verbose" {
                self.warnings.push(
                    Diagnostic::warning(
                        codes::IGNORED_OPTION,
                        assign.range.into(),
                        format!("the `numba.pycc` setting `{}` is ignored", attribute.attr),
                    )
                    .with_label("ignored")
                    .with_hint(format!(
                        "{}; remove the setting to silence this warning",
                        match attribute.attr.as_str() {
                            "output_dir" | "output_file" => {
                                "ferropy writes `<module><EXT_SUFFIX>` beside the source, or \
                                 into the directory of `ferropy build -o DIR`"
                            }
                            "target_cpu" => {
                                "ferropy builds for this machine's processor, or for the \
                                 architecture's baseline with `ferropy build --portable`"
                            }
                            _ => "ferropy has no such setting",
                        }
                    )),
                );
            }
            return true;
        }
        let ast::Expr::Call(call) = assign.value.as_ref() else {
            return false;
        };
        if self.qualify(&call.func).as_deref() != Some("numba.pycc.CC") {
            return false;
        }
        for target in &assign.targets {
            if let ast::Expr::Name(name) = target {
                self.pycc_modules.insert(name.id.to_string());
            }
        }
        match call.args.first() {
            Some(ast::Expr::Constant(ast::ExprConstant {
                value: ast::Constant::Str(name),
                range,
                ..
            })) if crate::codegen::kernels::is_identifier(name) => {
                if self.pycc_name.as_ref().is_some_and(|first| first != name) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::BAD_SIGNATURE,
                            Span::from(*range),
                            "a second `numba.pycc` module in one file",
                        )
                        .with_hint("ferropy builds one module per file; split the file"),
                    );
                }
                self.pycc_name = Some(name.clone());
            }
            _ => self.diagnostics.push(
                Diagnostic::error(
                    codes::BAD_SIGNATURE,
                    call.range.into(),
                    "`CC` needs the module name as a string literal",
                )
                .with_label("expected `CC(\"name\")`")
                .with_hint("write `cc = CC(\"kernels\")` with a Python identifier"),
            ),
        }
        true
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
        self.tuple_constants.remove(&name);
        if let ast::Expr::Tuple(_) = value {
            if let Some(TupleItem::Tuple(items)) = self.fold_tuple_item(value) {
                self.dynamic_globals.remove(&name);
                self.constants.retain(|c| c.name != name);
                self.tuple_constants.insert(name, items);
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
        qualify_with(expr, &|name| self.imports.get(name))
    }

    /// An int, float or bool constant, or a tuple of such items.
    fn fold_tuple_item(&self, expr: &ast::Expr) -> Option<TupleItem> {
        match expr {
            ast::Expr::Tuple(tuple) => tuple
                .elts
                .iter()
                .map(|item| self.fold_tuple_item(item))
                .collect::<Option<Vec<_>>>()
                .map(TupleItem::Tuple),
            _ => self
                .fold(expr)
                .filter(|v| {
                    matches!(
                        v,
                        ConstValue::Int(_) | ConstValue::Float(_) | ConstValue::Bool(_)
                    )
                })
                .map(TupleItem::Value),
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
                    return Some(constant.value.clone());
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
            // `INF = float("inf")`.
            ast::Expr::Call(call)
                if !self.functions.contains("float")
                    && matches!(call.func.as_ref(), ast::Expr::Name(f) if f.id.as_str() == "float") =>
            {
                float_of_string_call(call).map(ConstValue::Float)
            }
            // `N = cython.declare(cython.int, 100)`.
            ast::Expr::Call(call)
                if call.keywords.is_empty()
                    && self.qualify(&call.func).as_deref() == Some("cython.declare") =>
            {
                match call.args.as_slice() {
                    [_, value] => self.fold(value),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn is_known_module(full: &str) -> bool {
    let root = full.split('.').next().unwrap_or(full);
    matches!(
        root,
        "math"
            | "cmath"
            | "numpy"
            | "numba"
            | "cython"
            | "typing"
            | "collections"
            | "heapq"
            | "bisect"
    )
}

/// The value of `float("inf")`, `float("-nan")`, `float("1.5")`: a call of
/// `float` on one string literal that Python's `float` accepts.
fn float_of_string_call(call: &ast::ExprCall) -> Option<f64> {
    let ([text], []) = (call.args.as_slice(), call.keywords.as_slice()) else {
        return None;
    };
    let ast::Expr::Constant(ast::ExprConstant {
        value: ast::Constant::Str(text),
        ..
    }) = text
    else {
        return None;
    };
    crate::infer::python_float_literal(text)
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
        ConstValue::Bool(_) | ConstValue::Str(_) | ConstValue::None => None,
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
    /// `prange` runs as `range`: a Numba function without `parallel=True`.
    serial_prange: bool,
    /// What `explain` should say about how the function was read.
    notes: Vec<(Span, String)>,
    /// Names bound by `import` statements inside the function, which
    /// shadow the module's.
    local_imports: HashMap<String, String>,
    /// Locals holding a `range` object (`range_variables`), read as the
    /// `range(...)` call of their hidden parts.
    range_variables: HashSet<String>,
    /// Locals assigned once by `f = lambda ...`: each call `f(...)` calls
    /// a helper function made from the lambda (its name once made).
    lambdas: HashMap<String, (ast::ExprLambda, Option<String>)>,
    /// Locals assigned once, at the function's top level, to a tuple of
    /// constants (`offsets = ((0, 1), (1, 0))`), with where that assignment
    /// ends: a loop over one after it is a loop over the display.
    tuple_locals: HashMap<String, (Vec<TupleItem>, u32)>,
    /// Parameters annotated as tuples of a fixed length (`t: tuple[int,
    /// int]`) that the function never assigns, with that length.
    tuple_params: HashMap<String, usize>,
}

impl<'a> FunctionLowering<'a> {
    /// A name for a helper function lowering makes (a comprehension's, a
    /// lambda's, a tuple item's): `base`, or `base_2`, `base_3`, ... when
    /// another helper of the module already has it.
    fn reserve_helper_name(&self, base: String) -> String {
        let mut taken = self.scope.helper_names.borrow_mut();
        let mut name = base.clone();
        let mut k = 1;
        while !taken.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }

    fn new(scope: &'a ModuleScope, file: &'a SourceFile) -> Self {
        FunctionLowering {
            scope,
            file,
            locals: HashSet::new(),
            diagnostics: Vec::new(),
            loop_depth: 0,
            expr_depth: 0,
            serial_prange: false,
            notes: Vec::new(),
            local_imports: HashMap::new(),
            range_variables: HashSet::new(),
            lambdas: HashMap::new(),
            tuple_locals: HashMap::new(),
            tuple_params: HashMap::new(),
        }
    }

    /// The qualified name an imported name stands for.
    fn import_of(&self, name: &str) -> Option<&String> {
        self.local_imports
            .get(name)
            .or_else(|| self.scope.imports.get(name))
    }

    /// `np.linalg.norm` as `numpy.linalg.norm`, through the imports of the
    /// function and of the module.
    fn qualify(&self, expr: &ast::Expr) -> Option<String> {
        qualify_with(expr, &|name| self.import_of(name))
    }

    /// Whether `expr` names an imported module (so `x.attr` is a module
    /// member), through the imports of the function and of the module.
    fn is_module_path(&self, expr: &ast::Expr) -> bool {
        match expr {
            ast::Expr::Name(name) => self
                .import_of(name.id.as_str())
                .is_some_and(|full| is_known_module(full)),
            ast::Expr::Attribute(attribute) => self.is_module_path(&attribute.value),
            _ => false,
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
        name: &str,
        signatures: &[Signature],
        decorations: &dialect::Decorations,
        exported: bool,
    ) -> Result<Function, Vec<Diagnostic>> {
        let span = name_span(self.file, def);
        self.serial_prange = decorations.jit.is_some() && !decorations.jit_parallel;
        for (decorator, decorator_name) in &decorations.unknown {
            self.error(
                codes::UNSUPPORTED_DEFINITION,
                *decorator,
                format!("unsupported decorator `@{decorator_name}`"),
                "ferropy does not know what this decorator does",
                if decorator_name.starts_with("numba.") {
                    "ferropy reads Numba's @njit and @jit (with signatures) and `cc.export`; write \
                     the loop over the array in a function with one of those, or annotated \
                     parameters"
                } else {
                    "remove it; Numba's @njit/@jit, `cc.export` and Cython's decorators are \
                     accepted"
                },
            );
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
            let default = match arg.default.as_deref() {
                Some(ast::Expr::Constant(ast::ExprConstant {
                    value: ast::Constant::Str(text),
                    ..
                })) => Some(ConstValue::Str(text.clone())),
                Some(ast::Expr::Constant(ast::ExprConstant {
                    value: ast::Constant::None,
                    ..
                })) => Some(ConstValue::None),
                Some(default) => match self.scope.fold(default) {
                    Some(value) => Some(value),
                    None => {
                        self.error(
                            codes::UNSUPPORTED_PARAMETER,
                            default.range().into(),
                            "default values must be int, float, bool or None constants",
                            "not a compile-time constant",
                            "use a literal such as 1000, 0.5 or None, or a module-level constant",
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
        let mut annotation_errors = Vec::new();
        // Each signature's parameter types, completed from the defaults of
        // the parameters it leaves out.
        let mut signature_params: Vec<Vec<Option<ParamType>>> = Vec::new();
        for signature in signatures {
            match signature_parameters(signature, def, &all_args, &defaults, span) {
                Ok(types) => signature_params.push(types),
                Err(diagnostic) => annotation_errors.push(diagnostic),
            }
        }
        let mut params = Vec::new();
        for (position, arg) in all_args.iter().enumerate() {
            let local_type = decorations
                .locals
                .iter()
                .find(|(local, _)| local == arg.def.arg.as_str())
                .map(|(_, ty)| ty);
            let mut nullable = matches!(defaults.get(position), Some(Some(ConstValue::None)))
                || signatures
                    .iter()
                    .any(|s| s.nullable.get(position).copied().unwrap_or(false))
                || signature_params.iter().any(|types| {
                    matches!(
                        types.get(position),
                        Some(Some(ParamType::Known(crate::types::Type::None)))
                    )
                });
            let annotation = match arg.def.annotation.as_deref().or(local_type) {
                Some(expr) => {
                    match signature::nullable_parameter_annotation(expr, self.file, &qualify) {
                        Ok((ty, or_none)) => {
                            nullable |= or_none;
                            Some(ty)
                        }
                        Err(diagnostic) => {
                            annotation_errors.push(diagnostic);
                            None
                        }
                    }
                }
                None => signature_params
                    .first()
                    .and_then(|types| types.get(position).cloned().flatten()),
            };
            if annotation == Some(ParamType::Known(crate::types::Type::None)) && !nullable {
                self.error(
                    codes::UNSUPPORTED_ANNOTATION,
                    arg.def.range.into(),
                    format!("parameter `{}` has the type None", arg.def.arg),
                    "a parameter that can only be None",
                    "drop the parameter, or give it a number or array type",
                );
            }
            params.push(Param {
                name: arg.def.arg.to_string(),
                span: arg.def.range.into(),
                annotation,
                default: defaults.get(position).cloned().flatten(),
                keyword_only: position >= keyword_only_from,
                nullable,
            });
        }
        let nullable: Vec<&Param> = params.iter().filter(|p| p.nullable).collect();
        if nullable.len() > MAX_NULLABLE_PARAMETERS {
            let mut diagnostic = Diagnostic::error(
                codes::UNSUPPORTED_PARAMETER,
                span,
                format!(
                    "`{}` has {} parameters that may be None; at most {MAX_NULLABLE_PARAMETERS} \
                     are supported",
                    def.name,
                    nullable.len()
                ),
            )
            .with_label("compiled once per combination of None and not None");
            for param in &nullable {
                diagnostic = diagnostic.with_secondary(param.span, "may be None");
            }
            self.diagnostics.push(diagnostic.with_hint(
                "give some of these parameters a value default (-1, nan) instead of None, or \
                 split the function",
            ));
        }
        let declared_return = def.returns.as_deref().or(decorations.returns.as_ref());
        let returns = match declared_return {
            Some(expr) => match signature::return_annotation(expr, self.file, &qualify) {
                Ok(ty) => ty,
                Err(diagnostic) => {
                    annotation_errors.push(diagnostic);
                    None
                }
            },
            // The signatures' result when they agree on one; else inferred
            // per instance.
            None => {
                let mut results = signatures.iter().map(|s| s.returns.clone());
                let first = results.next().flatten();
                if results.all(|other| other == first) {
                    first
                } else {
                    None
                }
            }
        };
        self.diagnostics.extend(annotation_errors);
        let overloads = signature_params.into_iter().skip(1).collect();
        for param in &params {
            self.locals.insert(param.name.clone());
        }
        let parameter_names: HashSet<String> = params.iter().map(|p| p.name.clone()).collect();
        let without_loop_else = crate::loop_else::rewrite(&def.body);
        let def_body: &[ast::Stmt] = without_loop_else.as_deref().unwrap_or(&def.body);
        let rewritten = crate::range_variables::rewrite(def_body, &parameter_names);
        let def_body: &[ast::Stmt] = match &rewritten {
            Some((body, variables)) => {
                self.range_variables = variables.clone();
                body
            }
            None => def_body,
        };
        collect_assigned_names(def_body, &mut self.locals);
        self.lambdas = lambda_variables(def_body, &parameter_names);
        self.tuple_locals = self.constant_tuple_locals(def_body, &parameter_names);
        let assigned = crate::range_variables::assignment_counts(def_body);
        self.tuple_params = params
            .iter()
            .filter(|param| !assigned.contains_key(&param.name))
            .filter_map(|param| match &param.annotation {
                Some(ParamType::Known(crate::types::Type::Tuple(items))) if !param.nullable => {
                    Some((param.name.clone(), items.len()))
                }
                _ => None,
            })
            .collect();
        let mut invalid: Vec<&str> = std::iter::once(def.name.as_str())
            .chain(self.locals.iter().map(String::as_str))
            .filter(|name| !crate::codegen::kernels::is_identifier(name))
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

        let (docstring, body_statements) = split_docstring(def_body);
        let mut body = self.locals_declarations(&decorations.locals, &params);
        body.extend(self.block(body_statements));
        let mut notes = decorations.notes.clone();
        notes.append(&mut self.notes);
        if self.diagnostics.is_empty() {
            Ok(Function {
                name: name.to_string(),
                span,
                params,
                returns,
                exported,
                docstring,
                body,
                overloads,
                notes,
                none_variants: Vec::new(),
            })
        } else {
            Err(self.diagnostics)
        }
    }

    /// `@cython.locals(total=cython.double)` for names that are not
    /// parameters: declarations at the top of the body.
    fn locals_declarations(
        &mut self,
        locals: &[(String, ast::Expr)],
        params: &[Param],
    ) -> Vec<Stmt> {
        let mut declarations = Vec::new();
        for (name, ty) in locals {
            if params.iter().any(|p| &p.name == name) {
                continue;
            }
            let span: Span = ty.range().into();
            if let Some(annotation) = self.local_type(ty) {
                self.locals.insert(name.clone());
                declarations.push(Stmt {
                    kind: StmtKind::Declare {
                        name: name.clone(),
                        annotation,
                    },
                    span,
                });
            }
        }
        declarations
    }

    /// The type of a local variable's annotation or declaration.
    fn local_type(&mut self, expr: &ast::Expr) -> Option<crate::types::Type> {
        let qualify = |e: &ast::Expr| self.qualify(e);
        match signature::annotation(expr, self.file, &qualify) {
            Ok(ParamType::Known(ty)) => Some(ty),
            Ok(ParamType::ArrayOfUnknownRank(_)) => {
                self.error(
                    codes::UNKNOWN_RANK,
                    expr.range().into(),
                    "a local array annotation needs a rank",
                    "NDArray without a rank",
                    "write \"float64[:]\" or leave the variable unannotated",
                );
                None
            }
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    /// Whether `expr` is a call of `cython.declare`.
    fn is_cython_declare(&self, expr: &ast::Expr) -> bool {
        matches!(expr, ast::Expr::Call(call)
            if self.qualify(&call.func).as_deref() == Some("cython.declare"))
    }

    /// `x = cython.declare(T)` and `x = cython.declare(T, value)`.
    fn cython_declare_assign(&mut self, assign: &ast::StmtAssign, span: Span) -> Option<StmtKind> {
        let ast::Expr::Call(call) = assign.value.as_ref() else {
            return None;
        };
        let ([ast::Expr::Name(target)], [ty, rest @ ..], []) = (
            assign.targets.as_slice(),
            call.args.as_slice(),
            call.keywords.as_slice(),
        ) else {
            self.error(
                codes::BAD_SIGNATURE,
                span,
                "cannot read this `cython.declare`",
                "unsupported declaration",
                "write `x = cython.declare(cython.double, 0.0)` or `cython.declare(x=cython.double)`",
            );
            return None;
        };
        let annotation = self.local_type(ty)?;
        let name = target.id.to_string();
        match rest {
            [] => Some(StmtKind::Declare { name, annotation }),
            [value] => Some(StmtKind::Assign {
                target: Target::Name(name, target.range.into()),
                value: self.expr(value)?,
                annotation: Some(annotation),
            }),
            _ => {
                self.error(
                    codes::BAD_SIGNATURE,
                    span,
                    "`cython.declare` takes a type and an optional value",
                    "too many arguments",
                    "write `x = cython.declare(cython.double, 0.0)`",
                );
                None
            }
        }
    }

    /// `cython.declare(x=T, y=T)`: declarations of each name.
    fn cython_declare_names(&mut self, call: &ast::ExprCall, span: Span) -> Option<Stmt> {
        if !call.args.is_empty() {
            self.error(
                codes::BAD_SIGNATURE,
                span,
                "a bare `cython.declare` takes keyword arguments only",
                "unsupported declaration",
                "write `cython.declare(i=cython.Py_ssize_t, total=cython.double)`",
            );
            return None;
        }
        let mut declarations = Vec::new();
        for keyword in &call.keywords {
            let Some(name) = &keyword.arg else {
                continue;
            };
            let annotation = self.local_type(&keyword.value)?;
            declarations.push(Stmt {
                kind: StmtKind::Declare {
                    name: name.to_string(),
                    annotation,
                },
                span: keyword.range.into(),
            });
        }
        Some(always(declarations, span))
    }

    /// `cython.cast(cython.int, x)`: the conversion Python's `int`, `float`
    /// or `bool` makes, as for a C cast between numbers (towards zero).
    fn cython_cast(&mut self, call: &ast::ExprCall, span: Span) -> Option<Expr> {
        let builtin = match (call.args.as_slice(), call.keywords.is_empty()) {
            ([ty, _], true) => match self.qualify(ty).as_deref() {
                Some(name) => match crate::dialect::cython::scalar_type(name) {
                    Some(crate::types::Type::Int) => Some("int"),
                    Some(crate::types::Type::Float) => Some("float"),
                    Some(crate::types::Type::Bool) => Some("bool"),
                    _ => None,
                },
                None => None,
            },
            _ => None,
        };
        let Some(builtin) = builtin else {
            self.error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                "only casts between Cython's number types are supported",
                "unsupported cast",
                "write `cython.cast(cython.int, x)`, `cython.cast(cython.double, x)` or \
                 `cython.cast(cython.bint, x)`",
            );
            return None;
        };
        let value = self.expr(&call.args[1])?;
        Some(Expr {
            kind: ExprKind::Call {
                callee: Callee::Builtin(builtin.to_string()),
                args: vec![value],
                keywords: Vec::new(),
            },
            span,
        })
    }

    /// `with cython.nogil:` (or `cython.gil`): the body runs as written;
    /// compiled code runs without the GIL anyway.
    fn is_gil_block(&self, with: &ast::StmtWith) -> bool {
        with.items.iter().all(|item| {
            let context = match &item.context_expr {
                ast::Expr::Call(call) => call.func.as_ref(),
                other => other,
            };
            item.optional_vars.is_none()
                && matches!(
                    self.qualify(context).as_deref(),
                    Some("cython.nogil" | "cython.gil")
                )
        })
    }

    fn block(&mut self, stmts: &[ast::Stmt]) -> Vec<Stmt> {
        stmts.iter().filter_map(|stmt| self.stmt(stmt)).collect()
    }

    fn stmt(&mut self, stmt: &ast::Stmt) -> Option<Stmt> {
        let span: Span = stmt.range().into();
        let kind = match stmt {
            ast::Stmt::Assign(assign) if self.is_cython_declare(&assign.value) => {
                self.cython_declare_assign(assign, span)?
            }
            ast::Stmt::Expr(expr_stmt) if self.is_cython_declare(&expr_stmt.value) => {
                let ast::Expr::Call(call) = expr_stmt.value.as_ref() else {
                    return None;
                };
                return self.cython_declare_names(call, span);
            }
            ast::Stmt::With(with) if self.is_gil_block(with) => {
                let body = self.block(&with.body);
                return Some(always(body, span));
            }
            // `f = lambda ...`: nothing to run; calls of `f` call a helper.
            ast::Stmt::Assign(assign)
                if matches!(assign.targets.as_slice(), [ast::Expr::Name(target)]
                    if self.lambdas.contains_key(target.id.as_str()))
                    && matches!(assign.value.as_ref(), ast::Expr::Lambda(_)) =>
            {
                StmtKind::Pass
            }
            ast::Stmt::Assign(assign)
                if matches!(
                    assign.targets.as_slice(),
                    [ast::Expr::Tuple(_) | ast::Expr::List(_)]
                ) && starred_target(&assign.targets[0]).is_some() =>
            {
                return self.starred_assignment(assign, span);
            }
            ast::Stmt::Assign(assign) => {
                // `xs, ys = zip(*pairs)`: the zip's tuples, unpacked.
                let unzipped = match (assign.targets.as_slice(), assign.value.as_ref()) {
                    ([ast::Expr::Tuple(_) | ast::Expr::List(_)], ast::Expr::Call(call)) => {
                        self.zip_of_rows(call)
                    }
                    _ => None,
                };
                let value = self.expr(unzipped.as_ref().unwrap_or(&assign.value))?;
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
                    // `a = b = value`: evaluate once into the first target,
                    // then copy it into the others, left to right as Python
                    // assigns them. When the first target is not a plain
                    // name (`lo[i] = hi[i] = x`), the value goes into a
                    // hidden local first.
                    let mut stmts = Vec::new();
                    let first_name = match &targets[0] {
                        Target::Name(name, name_span) => Some((name.clone(), *name_span)),
                        _ => None,
                    };
                    let (first_name, first_span) = match first_name {
                        Some(name) => {
                            let first = targets.remove(0);
                            stmts.push(Stmt {
                                kind: StmtKind::Assign {
                                    target: first,
                                    value,
                                    annotation: None,
                                },
                                span,
                            });
                            name
                        }
                        _ => {
                            let hidden = hidden_format!("chained_{}", span.start);
                            stmts.push(Stmt {
                                kind: StmtKind::Assign {
                                    target: Target::Name(hidden.clone(), span),
                                    value,
                                    annotation: None,
                                },
                                span,
                            });
                            (hidden, span)
                        }
                    };
                    let copy = Expr {
                        kind: ExprKind::Local(first_name),
                        span: first_span,
                    };
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
                let qualify = |e: &ast::Expr| self.qualify(e);
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
                if let Some(hoisted) = self.hoisted_aug_index(assign, span) {
                    return hoisted;
                }
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
                // `a.fill(v)` (only arrays have `fill`) is `a[...] = v`.
                if let ast::Expr::Call(call) = expr_stmt.value.as_ref() {
                    if let (ast::Expr::Attribute(attribute), [value], []) = (
                        call.func.as_ref(),
                        call.args.as_slice(),
                        call.keywords.as_slice(),
                    ) {
                        if attribute.attr.as_str() == "fill"
                            && !self.is_module_path(&attribute.value)
                        {
                            let range = call.range;
                            let target = ast::Expr::Subscript(ast::ExprSubscript {
                                range,
                                value: attribute.value.clone(),
                                slice: Box::new(ast::Expr::Constant(ast::ExprConstant {
                                    range,
                                    value: ast::Constant::Ellipsis,
                                    kind: None,
                                })),
                                ctx: ast::ExprContext::Store,
                            });
                            return self.stmt(&ast::Stmt::Assign(ast::StmtAssign {
                                range,
                                targets: vec![target],
                                value: Box::new(value.clone()),
                                type_comment: None,
                            }));
                        }
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
            ast::Stmt::Raise(raise) => return self.raise_stmt(raise, span),
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
                    // `del xs[a:b:c]`: the bounds, None where left out.
                    let (method, args) = match subscript.slice.as_ref() {
                        ast::Expr::Slice(slice) => {
                            let at = Span::from(slice.range);
                            let mut bounds = Vec::new();
                            for bound in [&slice.lower, &slice.upper, &slice.step] {
                                bounds.push(match bound {
                                    Some(bound) => self.expr(bound)?,
                                    None => Expr {
                                        kind: ExprKind::None,
                                        span: at,
                                    },
                                });
                            }
                            ("__delslice__", bounds)
                        }
                        key => ("__delitem__", vec![self.expr(key)?]),
                    };
                    stmts.push(Stmt {
                        kind: StmtKind::Expr(Expr {
                            kind: ExprKind::Method {
                                receiver: Box::new(receiver),
                                method: method.into(),
                                args,
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
                // Modules are resolved when compiling: an import binds names
                // for the rest of the function and runs nothing.
                self.local_imports.extend(import_bindings(stmt));
                StmtKind::Pass
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
    /// `for dx, dy in ((0, 1), (1, 0), (0, -1)):` and `for w in WEIGHTS:` (a
    /// module-level tuple constant): the tuple's items are evaluated into
    /// hidden locals before the loop, as Python evaluates the display, and
    /// a range loop over their positions assigns the target from the one
    /// its counter names, so the items may differ in type as long as the
    /// target's uses accept their join. `None` when the iterable is no
    /// tuple display or tuple constant; `Some(None)` after an error.
    fn tuple_loop(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Option<Stmt>> {
        let iter_span: Span = for_stmt.iter.range().into();
        let items: Vec<Expr> = match for_stmt.iter.as_ref() {
            ast::Expr::Tuple(tuple) if !tuple.elts.is_empty() => {
                let mut items = Vec::new();
                for item in &tuple.elts {
                    match self.expr(item) {
                        Some(item) => items.push(item),
                        None => return Some(None),
                    }
                }
                items
            }
            ast::Expr::Name(name)
                if self
                    .tuple_locals
                    .get(name.id.as_str())
                    .is_some_and(|(items, end)| !items.is_empty() && *end <= span.start) =>
            {
                self.tuple_locals[name.id.as_str()]
                    .0
                    .iter()
                    .map(|item| item.expr(iter_span))
                    .collect()
            }
            ast::Expr::Name(name)
                if !self.locals.contains(name.id.as_str())
                    && self
                        .scope
                        .tuple_constants
                        .get(name.id.as_str())
                        .is_some_and(|items| !items.is_empty()) =>
            {
                match self.name(name.id.as_str(), iter_span) {
                    Some(Expr {
                        kind: ExprKind::Tuple(items),
                        ..
                    }) => items,
                    _ => return Some(None),
                }
            }
            _ => return None,
        };
        let target = match self.target(&for_stmt.target) {
            Some(target) => target,
            None => return Some(None),
        };
        let at = |kind: ExprKind| Expr {
            kind,
            span: iter_span,
        };
        let id = span.start;
        let counter = hidden_format!("tuple_index_{id}");
        let mut prelude = Vec::new();
        let mut names = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            let name = hidden_format!("tuple_item_{id}_{k}");
            prelude.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name.clone(), iter_span),
                    value: item,
                    annotation: None,
                },
                span: iter_span,
            });
            names.push(name);
        }
        let count = names.len();
        // if counter == 0: target = item_0  elif ... else: target = item_last
        let assign = |name: &String| Stmt {
            kind: StmtKind::Assign {
                target: target.clone(),
                value: at(ExprKind::Local(name.clone())),
                annotation: None,
            },
            span: iter_span,
        };
        let mut chain = vec![assign(&names[count - 1])];
        for (k, name) in names.iter().enumerate().take(count - 1).rev() {
            chain = vec![Stmt {
                kind: StmtKind::If {
                    test: at(ExprKind::Compare {
                        left: Box::new(at(ExprKind::Local(counter.clone()))),
                        rest: vec![(CompareOp::Eq, at(ExprKind::Int(k as i64)))],
                    }),
                    body: vec![assign(name)],
                    orelse: chain,
                },
                span: iter_span,
            }];
        }
        self.loop_depth += 1;
        let body = self.block(&for_stmt.body);
        self.loop_depth -= 1;
        chain.extend(body);
        prelude.push(Stmt {
            kind: StmtKind::ForRange {
                var: Some((counter, iter_span)),
                start: at(ExprKind::Int(0)),
                stop: at(ExprKind::Int(count as i64)),
                step: None,
                body: chain,
                parallel: false,
            },
            span,
        });
        Some(Some(always(prelude, span)))
    }

    /// The locals of `body` assigned exactly once, by `name = (...)` of
    /// constants at the top level of the function (so any statement after
    /// it runs after it), with where that assignment ends; parameters
    /// excluded.
    fn constant_tuple_locals(
        &self,
        body: &[ast::Stmt],
        parameters: &HashSet<String>,
    ) -> HashMap<String, (Vec<TupleItem>, u32)> {
        let counts = crate::range_variables::assignment_counts(body);
        body.iter()
            .filter_map(|stmt| match stmt {
                ast::Stmt::Assign(assign) => match (assign.targets.as_slice(), &*assign.value) {
                    ([ast::Expr::Name(target)], value @ ast::Expr::Tuple(_)) => {
                        let end = Span::from(assign.range).end;
                        Some((target.id.to_string(), value, end))
                    }
                    _ => None,
                },
                _ => None,
            })
            .filter(|(name, _, _)| counts.get(name) == Some(&1) && !parameters.contains(name))
            .filter_map(
                |(name, value, end)| match self.scope.fold_tuple_item(value) {
                    Some(TupleItem::Tuple(items)) => Some((name, (items, end))),
                    _ => None,
                },
            )
            .collect()
    }

    fn for_each_element(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Stmt> {
        let iter_span: Span = for_stmt.iter.range().into();
        // A loop walks `zip(*rows)` as the rows change under it; the list of
        // its tuples, made first, is what compiles.
        if let ast::Expr::Call(call) = for_stmt.iter.as_ref() {
            if self.zip_of_rows(call).is_some() {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    iter_span,
                    "a loop over `zip(*rows)` is not supported in compiled code",
                    "zip of unpacked rows",
                    "walk the list of its tuples, made first: `for column in list(zip(*rows)):`",
                );
                return None;
            }
        }
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
                match self.qualify(&call.func).as_deref() {
                    Some(name @ ("enumerate" | "zip")) if !is_local => {
                        Some((name.to_string(), call))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let id = span.start;
        let index = hidden_format!("index_{id}");
        let mut prelude = Vec::new();
        let mut bind = |this: &mut Self, expr: &ast::Expr, k: usize| -> Option<Iterable> {
            let name = hidden_format!("iter_{id}_{k}");
            if is_range_call(this, expr) {
                // `zip(xs, range(a, b))`: the range's start, stop and step,
                // evaluated once and in order (a zero step raises here, as
                // `range()` does); the loop reads its length and elements.
                let parts = this.range_parts(expr)?;
                let names = ["start", "stop", "step"].map(|part| format!("{name}_{part}"));
                for (part, (value, name)) in parts.into_iter().zip(&names).enumerate() {
                    let value = if part == 2 {
                        Expr {
                            span: value.span,
                            kind: ExprKind::Call {
                                callee: Callee::Builtin("__range_step".into()),
                                args: vec![value],
                                keywords: Vec::new(),
                            },
                        }
                    } else {
                        value
                    };
                    prelude.push(hidden_assignment(name, value, iter_span));
                }
                return Some(Iterable::Range(names));
            }
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
            prelude.push(hidden_assignment(&name, value, iter_span));
            Some(Iterable::Local(name))
        };
        // (iterables, leading counter start for enumerate)
        let (iterables, counter): (Vec<Iterable>, Option<Expr>) = match &call_parts {
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
        if let (ast::Expr::Tuple(_) | ast::Expr::List(_), [Iterable::Local(iterable)], None) =
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
        let local = |name: &String| at(ExprKind::Local(name.clone()));
        let len = |iterable: &Iterable| match iterable {
            Iterable::Local(name) => at(ExprKind::Call {
                callee: Callee::Builtin("len".into()),
                args: vec![local(name)],
                keywords: Vec::new(),
            }),
            Iterable::Range(parts) => at(ExprKind::Call {
                callee: Callee::Builtin("__range_len".into()),
                args: parts.iter().map(local).collect(),
                keywords: Vec::new(),
            }),
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
            let value = match iterable {
                Iterable::Local(iterable) => ExprKind::Index {
                    value: Box::new(local(iterable)),
                    indices: vec![local(&index)],
                },
                Iterable::Range(parts) => ExprKind::Call {
                    callee: Callee::Builtin("__range_get".into()),
                    args: parts.iter().chain([&index]).map(local).collect(),
                    keywords: Vec::new(),
                },
            };
            reads.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name, name_span),
                    value: at(value),
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

    /// `for i in reversed(range(a, b))` as `for i in range(b - 1, a - 1, -1)`
    /// (also with a step of 1 or -1), when `a` is a name or a constant, so
    /// evaluating `b` first is unobservable.
    /// `for i, j in np.ndindex(a.shape):` (or `np.ndindex(n, m)`) as nested
    /// range loops: the dimensions are read once, into temporaries (the
    /// shape unpacked into as many as the target names, so a shape of
    /// another length is a compile-time error), then one loop per name.
    /// `None` when the loop is not over `np.ndindex`.
    fn ndindex_loop(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Option<Stmt>> {
        let ast::Expr::Call(call) = for_stmt.iter.as_ref() else {
            return None;
        };
        let is_local =
            matches!(call.func.as_ref(), ast::Expr::Name(n) if self.locals.contains(n.id.as_str()));
        if is_local || self.qualify(&call.func).as_deref() != Some("numpy.ndindex") {
            return None;
        }
        let names: Vec<&ast::Expr> = match for_stmt.target.as_ref() {
            ast::Expr::Tuple(ast::ExprTuple { elts, .. })
            | ast::Expr::List(ast::ExprList { elts, .. })
                if elts.iter().all(|e| matches!(e, ast::Expr::Name(_))) =>
            {
                elts.iter().collect()
            }
            other => {
                self.error(
                    codes::UNSUPPORTED_LOOP,
                    other.range().into(),
                    "the index of an np.ndindex loop must be unpacked into names",
                    "a tuple of unknown length",
                    "write `for i, j in np.ndindex(a.shape):`, one name per axis",
                );
                return Some(None);
            }
        };
        if !call.keywords.is_empty() || call.args.is_empty() {
            self.error(
                codes::WRONG_ARGUMENTS,
                call.range.into(),
                "np.ndindex takes a shape",
                "expected a shape",
                "write np.ndindex(a.shape) or np.ndindex(n, m)",
            );
            return Some(None);
        }
        if let Some(at) = break_out_of(&for_stmt.body) {
            self.error(
                codes::UNSUPPORTED_STATEMENT,
                at,
                "`break` out of an np.ndindex loop is not supported",
                "leaves the np.ndindex loop",
                "loop with nested `for i in range(n):` loops, or use a flag",
            );
            return Some(None);
        }
        let range = call.range;
        let temps: Vec<String> = (0..names.len())
            .map(|axis| hidden_format!("ndindex_{}_{axis}", span.start))
            .collect();
        let store = |name: &str| synthetic_name(name, range, ast::ExprContext::Store);
        let load = |name: &str| synthetic_name(name, range, ast::ExprContext::Load);
        // A single argument is the shape, except that one name may also
        // take a plain length: np.ndindex(n).
        let unpacks_shape = match call.args.as_slice() {
            [single] => {
                names.len() > 1
                    || matches!(single, ast::Expr::Tuple(_))
                    || matches!(single, ast::Expr::Attribute(a) if a.attr.as_str() == "shape")
            }
            _ => false,
        };
        let assign = |targets: ast::Expr, value: ast::Expr| {
            ast::Stmt::Assign(ast::StmtAssign {
                range,
                targets: vec![targets],
                value: Box::new(value),
                type_comment: None,
            })
        };
        let mut prelude: Vec<ast::Stmt> = Vec::new();
        if unpacks_shape {
            let targets = ast::Expr::Tuple(ast::ExprTuple {
                range,
                elts: temps.iter().map(|t| store(t)).collect(),
                ctx: ast::ExprContext::Store,
            });
            prelude.push(assign(targets, call.args[0].clone()));
        } else if call.args.len() == names.len() {
            for (temp, arg) in temps.iter().zip(&call.args) {
                prelude.push(assign(store(temp), arg.clone()));
            }
        } else {
            self.error(
                codes::WRONG_ARGUMENTS,
                call.range.into(),
                format!(
                    "np.ndindex is given {} lengths for {} names",
                    call.args.len(),
                    names.len()
                ),
                "one length per name",
                "unpack one name per axis: `for i, j in np.ndindex(n, m):`",
            );
            return Some(None);
        }
        let mut body = for_stmt.body.clone();
        for (name, temp) in names.iter().zip(&temps).rev() {
            let range_call = ast::Expr::Call(ast::ExprCall {
                range,
                func: Box::new(load("range")),
                args: vec![load(temp)],
                keywords: Vec::new(),
            });
            body = vec![ast::Stmt::For(ast::StmtFor {
                range: for_stmt.range,
                target: Box::new((*name).clone()),
                iter: Box::new(range_call),
                body,
                orelse: Vec::new(),
                type_comment: None,
            })];
        }
        prelude.extend(body);
        for name in &temps {
            self.locals.insert(name.clone());
        }
        let stmts = self.block(&prelude);
        Some(Some(always(stmts, span)))
    }

    /// Whether `name` is Python's builtin here: no local, function of the
    /// module or import takes the name.
    fn is_builtin(&self, name: &str) -> bool {
        !self.locals.contains(name)
            && !self.scope.functions.contains(name)
            && self.import_of(name).is_none()
    }

    /// `for i, (a, b) in enumerate(zip(xs, ys), start)` as
    /// `for i, a, b in zip(range(start, start + 2**62), xs, ys)`: the count
    /// as one more zipped range, which no list outlasts. The start must be
    /// an int literal (or absent), so that nothing is evaluated out of
    /// order. A single name for the zipped items (`for i, pair in ...`) is
    /// packed first thing in the body.
    fn enumerated_zip(&mut self, for_stmt: &ast::StmtFor) -> Option<ast::StmtFor> {
        let ast::Expr::Call(outer) = for_stmt.iter.as_ref() else {
            return None;
        };
        let builtin = |this: &Self, func: &ast::Expr, name: &str| matches!(func, ast::Expr::Name(n) if n.id.as_str() == name && this.is_builtin(name));
        if !builtin(self, &outer.func, "enumerate") || self.locals.contains("range") {
            return None;
        }
        let (zipped, start) = match (outer.args.as_slice(), outer.keywords.as_slice()) {
            ([zipped], []) => (zipped, None),
            ([zipped, start], []) => (zipped, Some(start)),
            ([zipped], [keyword]) if keyword.arg.as_deref() == Some("start") => {
                (zipped, Some(&keyword.value))
            }
            _ => return None,
        };
        let start: i64 = match start {
            None => 0,
            Some(ast::Expr::Constant(c)) => match &c.value {
                ast::Constant::Int(v) => v.to_string().parse().ok()?,
                _ => return None,
            },
            Some(ast::Expr::UnaryOp(u)) if matches!(u.op, ast::UnaryOp::USub) => {
                match u.operand.as_ref() {
                    ast::Expr::Constant(c) => match &c.value {
                        ast::Constant::Int(v) => -v.to_string().parse::<i64>().ok()?,
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            _ => return None,
        };
        let stop = start.checked_add(1 << 62)?;
        let ast::Expr::Call(zip) = zipped else {
            return None;
        };
        if !builtin(self, &zip.func, "zip") || zip.args.is_empty() || !zip.keywords.is_empty() {
            return None;
        }
        let ast::Expr::Tuple(target) = for_stmt.target.as_ref() else {
            return None;
        };
        let [count, items] = target.elts.as_slice() else {
            return None;
        };
        let range = zipped.range();
        let int = |value: i64| int_literal(value, range);
        let counter = ast::Expr::Call(ast::ExprCall {
            range,
            func: Box::new(synthetic_name("range", range, ast::ExprContext::Load)),
            args: vec![int(start), int(stop)],
            keywords: Vec::new(),
        });
        let mut body = Vec::new();
        let mut targets = vec![count.clone()];
        match items {
            ast::Expr::Tuple(ast::ExprTuple { elts, .. })
            | ast::Expr::List(ast::ExprList { elts, .. }) => {
                if elts.len() != zip.args.len() {
                    return None;
                }
                targets.extend(elts.iter().cloned());
            }
            single => {
                let at = single.range();
                let names: Vec<String> = (0..zip.args.len())
                    .map(|k| hidden(&format!("zipped_{}_{k}", u32::from(at.start()))))
                    .collect();
                for name in &names {
                    self.locals.insert(name.clone());
                    targets.push(synthetic_name(name, at, ast::ExprContext::Store));
                }
                let packed = ast::Expr::Tuple(ast::ExprTuple {
                    range: at,
                    elts: names
                        .iter()
                        .map(|name| synthetic_name(name, at, ast::ExprContext::Load))
                        .collect(),
                    ctx: ast::ExprContext::Load,
                });
                body.push(ast::Stmt::Assign(ast::StmtAssign {
                    range: at,
                    targets: vec![single.clone()],
                    value: Box::new(packed),
                    type_comment: None,
                }));
            }
        }
        body.extend(for_stmt.body.iter().cloned());
        let mut args = vec![counter];
        args.extend(zip.args.iter().cloned());
        let mut rewritten = for_stmt.clone();
        rewritten.target = Box::new(ast::Expr::Tuple(ast::ExprTuple {
            range: target.range,
            elts: targets,
            ctx: ast::ExprContext::Store,
        }));
        rewritten.iter = Box::new(ast::Expr::Call(ast::ExprCall {
            range: outer.range,
            func: zip.func.clone(),
            args,
            keywords: Vec::new(),
        }));
        rewritten.body = body;
        Some(rewritten)
    }

    /// `for i, (a, b) in enumerate(pairs)`: each nested target becomes a
    /// hidden name that the body unpacks first (`(a, b) = __target_12`),
    /// assigning the names in Python's order.
    fn nested_loop_target(&mut self, for_stmt: &ast::StmtFor) -> Option<ast::StmtFor> {
        let ast::Expr::Tuple(tuple) = for_stmt.target.as_ref() else {
            return None;
        };
        let nested = |e: &ast::Expr| matches!(e, ast::Expr::Tuple(_) | ast::Expr::List(_));
        if !tuple.elts.iter().any(nested) {
            return None;
        }
        let mut elts = Vec::new();
        let mut body = Vec::new();
        for elt in &tuple.elts {
            if !nested(elt) {
                elts.push(elt.clone());
                continue;
            }
            let range = elt.range();
            let name = hidden(&format!("target_{}", u32::from(range.start())));
            self.locals.insert(name.clone());
            elts.push(synthetic_name(&name, range, ast::ExprContext::Store));
            body.push(ast::Stmt::Assign(ast::StmtAssign {
                range,
                targets: vec![elt.clone()],
                value: Box::new(synthetic_name(&name, range, ast::ExprContext::Load)),
                type_comment: None,
            }));
        }
        body.extend(for_stmt.body.iter().cloned());
        let mut flat = for_stmt.clone();
        flat.target = Box::new(ast::Expr::Tuple(ast::ExprTuple {
            range: tuple.range,
            elts,
            ctx: ast::ExprContext::Store,
        }));
        flat.body = body;
        Some(flat)
    }

    fn reversed_range(&self, for_stmt: &ast::StmtFor) -> Option<ast::StmtFor> {
        let ast::Expr::Call(outer) = for_stmt.iter.as_ref() else {
            return None;
        };
        let is_local = matches!(outer.func.as_ref(), ast::Expr::Name(n) if self.locals.contains(n.id.as_str()));
        if is_local
            || self.qualify(&outer.func).as_deref() != Some("reversed")
            || !outer.keywords.is_empty()
        {
            return None;
        }
        let [inner @ ast::Expr::Call(call)] = outer.args.as_slice() else {
            return None;
        };
        let is_range = matches!(call.func.as_ref(), ast::Expr::Name(n) if n.id.as_str() == "range" && !self.locals.contains("range"));
        if !is_range || !call.keywords.is_empty() {
            return None;
        }
        let range = inner.range();
        let int = |value: i64| {
            ast::Expr::Constant(ast::ExprConstant {
                range,
                value: ast::Constant::Int(value.into()),
                kind: None,
            })
        };
        let plus = |expr: &ast::Expr, delta: i64| {
            ast::Expr::BinOp(ast::ExprBinOp {
                range: expr.range(),
                left: Box::new(expr.clone()),
                op: if delta < 0 {
                    ast::Operator::Sub
                } else {
                    ast::Operator::Add
                },
                right: Box::new(int(delta.abs())),
            })
        };
        // The same loop over `range(args)`.
        let loop_over = |args: Vec<ast::Expr>| ast::StmtFor {
            range: for_stmt.range,
            target: for_stmt.target.clone(),
            iter: Box::new(ast::Expr::Call(ast::ExprCall {
                range,
                func: call.func.clone(),
                args,
                keywords: Vec::new(),
            })),
            body: for_stmt.body.clone(),
            orelse: for_stmt.orelse.clone(),
            type_comment: None,
        };
        // An argument evaluated more than once below: one without effects,
        // so evaluating it again gives the same value (or raises the same
        // exception the first evaluation raises).
        fn simple(e: &ast::Expr) -> bool {
            match e {
                ast::Expr::Name(_) | ast::Expr::Constant(_) => true,
                ast::Expr::UnaryOp(u) => simple(&u.operand),
                ast::Expr::BinOp(b) => simple(&b.left) && simple(&b.right),
                ast::Expr::Attribute(a) => simple(&a.value),
                ast::Expr::Subscript(s) => simple(&s.value) && simple(&s.slice),
                ast::Expr::Call(c) => {
                    matches!(c.func.as_ref(), ast::Expr::Name(n) if n.id.as_str() == "len")
                        && c.keywords.is_empty()
                        && c.args.iter().all(simple)
                }
                _ => false,
            }
        }
        let literal_step = |e: &ast::Expr| match e {
            ast::Expr::Constant(c) => match &c.value {
                ast::Constant::Int(v) => v.to_string().parse::<i64>().ok(),
                _ => None,
            },
            ast::Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => match u.operand.as_ref()
            {
                ast::Expr::Constant(c) => match &c.value {
                    ast::Constant::Int(v) => v.to_string().parse::<i64>().ok().map(|v| -v),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let (start, stop, step) = match call.args.as_slice() {
            // Any step, when every argument is a name or a constant (a
            // range variable's parts): range(a, b, c) reversed is
            // range(a + (len - 1) * c, a - c, -c), empty when len is 0.
            [start, stop, step]
                if simple(start)
                    && simple(stop)
                    && simple(step)
                    && !matches!(literal_step(step), Some(1 | -1)) =>
            {
                let binary = |left: ast::Expr, op, right: ast::Expr| {
                    ast::Expr::BinOp(ast::ExprBinOp {
                        range,
                        left: Box::new(left),
                        op,
                        right: Box::new(right),
                    })
                };
                let length = ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(synthetic_name("len", range, ast::ExprContext::Load)),
                    args: vec![inner.clone()],
                    keywords: Vec::new(),
                });
                let first = binary(
                    start.clone(),
                    ast::Operator::Add,
                    binary(plus(&length, -1), ast::Operator::Mult, step.clone()),
                );
                let last = binary(start.clone(), ast::Operator::Sub, step.clone());
                let new_step = ast::Expr::UnaryOp(ast::ExprUnaryOp {
                    range,
                    op: ast::UnaryOp::USub,
                    operand: Box::new(step.clone()),
                });
                return Some(loop_over(vec![first, last, new_step]));
            }
            [stop] => (int(0), stop.clone(), 1),
            [start, stop] if simple(start) => (start.clone(), stop.clone(), 1),
            [start, stop, step] if simple(start) => {
                (start.clone(), stop.clone(), literal_step(step)?)
            }
            _ => return None,
        };
        // range(a, b, 1) reversed is range(b - 1, a - 1, -1); range(a, b, -1)
        // reversed is range(b + 1, a + 1, 1).
        let (first, last, new_step) = match step {
            1 => (plus(&stop, -1), plus(&start, -1), -1),
            -1 => (plus(&stop, 1), plus(&start, 1), 1),
            _ => return None,
        };
        let new_step = if new_step < 0 {
            ast::Expr::UnaryOp(ast::ExprUnaryOp {
                range,
                op: ast::UnaryOp::USub,
                operand: Box::new(int(1)),
            })
        } else {
            int(1)
        };
        Some(loop_over(vec![first, last, new_step]))
    }

    /// `raise ValueError`, `raise ValueError("message")`: a built-in
    /// exception class of `RAISABLE_EXCEPTIONS` with no argument or a
    /// string literal.
    fn raise_stmt(&mut self, raise: &ast::StmtRaise, span: Span) -> Option<Stmt> {
        let Some(exc) = raise.exc.as_deref() else {
            self.error(
                codes::UNSUPPORTED_STATEMENT,
                span,
                "a bare `raise` is not supported",
                "re-raises the exception being handled",
                "compiled code handles no exceptions: raise a new one, `raise ValueError(\"...\")`",
            );
            return None;
        };
        if let Some(cause) = raise.cause.as_deref() {
            self.error(
                codes::UNSUPPORTED_STATEMENT,
                cause.range().into(),
                "`raise ... from ...` is not supported",
                "exception cause",
                "drop the `from` clause: `raise ValueError(\"...\")`",
            );
            return None;
        }
        let (class_expr, args, has_keywords) = match exc {
            ast::Expr::Call(call) => (
                call.func.as_ref(),
                &call.args[..],
                !call.keywords.is_empty(),
            ),
            other => (other, &[][..], false),
        };
        let class = match class_expr {
            ast::Expr::Name(name)
                if !self.locals.contains(name.id.as_str())
                    && self.qualify(class_expr).as_deref() == Some(name.id.as_str()) =>
            {
                RAISABLE_EXCEPTIONS
                    .iter()
                    .find(|class| **class == name.id.as_str())
            }
            _ => None,
        };
        let Some(class) = class else {
            self.error(
                codes::UNSUPPORTED_STATEMENT,
                class_expr.range().into(),
                "only built-in exception classes can be raised",
                "not a supported exception class",
                &format!("raise one of {}", RAISABLE_EXCEPTIONS.join(", ")),
            );
            return None;
        };
        let message = match (args, has_keywords) {
            ([], false) => None,
            (
                [ast::Expr::Constant(ast::ExprConstant {
                    value: ast::Constant::Str(text),
                    ..
                })],
                false,
            ) => Some(text.clone()),
            _ => {
                self.error(
                    codes::UNSUPPORTED_STATEMENT,
                    exc.range().into(),
                    "the argument of a raised exception must be one string literal",
                    "not a single string literal",
                    "write the message as a literal, `raise ValueError(\"n must be positive\")`; \
                     compiled code does not format values into messages",
                );
                return None;
            }
        };
        Some(Stmt {
            kind: StmtKind::Raise {
                class: (*class).to_string(),
                message,
            },
            span,
        })
    }

    /// `for v in map(f, a, b)` and `for v in filter(f, xs)`: a loop over
    /// the iterables (zipped when there are several) that calls `f` at the
    /// top of each step, as the lazy `map` and `filter` do:
    ///
    /// ```text
    /// for v in map(f, a, b):     for item0, item1 in zip(a, b):
    ///     body               →       v = f(item0, item1)
    ///                                body
    /// for v in filter(f, xs):    for item0 in xs:
    ///     body               →       if not f(item0):
    ///                                    continue
    ///                                v = item0
    ///                                body
    /// ```
    ///
    /// A lambda `f` becomes a lambda variable of the function, called as
    /// one (it reads the function's variables when called, as a closure).
    /// `filter(None, xs)` tests the item itself. `None` when the loop is
    /// over anything else.
    fn map_loop(&mut self, for_stmt: &ast::StmtFor) -> Option<ast::StmtFor> {
        let ast::Expr::Call(call) = for_stmt.iter.as_ref() else {
            return None;
        };
        let ast::Expr::Name(source) = call.func.as_ref() else {
            return None;
        };
        let filter = match source.id.as_str() {
            "map" => false,
            "filter" => true,
            _ => return None,
        };
        let [function, iterables @ ..] = call.args.as_slice() else {
            return None;
        };
        if !self.is_builtin(source.id.as_str())
            || !call.keywords.is_empty()
            || iterables.is_empty()
            || (filter && iterables.len() != 1)
            || (iterables.len() > 1 && !self.is_builtin("zip"))
            || iterables.iter().any(|a| matches!(a, ast::Expr::Starred(_)))
        {
            return None;
        }
        let range = call.range;
        let load = ast::ExprContext::Load;
        let names: Vec<String> = (0..iterables.len())
            .map(|k| hidden_format!("map_item{}_{k}", u32::from(range.start())))
            .collect();
        self.locals.extend(names.iter().cloned());
        let function = match function {
            ast::Expr::Lambda(lambda) => {
                let name = hidden_format!("map_function_{}", u32::from(range.start()));
                self.lambdas.insert(name.clone(), (lambda.clone(), None));
                Some(synthetic_name(&name, range, load))
            }
            ast::Expr::Constant(constant) if filter && constant.value.is_none() => None,
            other => Some(other.clone()),
        };
        let items: Vec<ast::Expr> = names
            .iter()
            .map(|n| synthetic_name(n, range, load))
            .collect();
        let applied = function.map(|function| {
            ast::Expr::Call(ast::ExprCall {
                range,
                func: Box::new(function),
                args: items.clone(),
                keywords: Vec::new(),
            })
        });
        let assign = |value: ast::Expr| {
            ast::Stmt::Assign(ast::StmtAssign {
                range,
                targets: vec![for_stmt.target.as_ref().clone()],
                value: Box::new(value),
                type_comment: None,
            })
        };
        let mut body = Vec::new();
        if filter {
            let item = items.first()?.clone();
            body.push(ast::Stmt::If(ast::StmtIf {
                range,
                test: Box::new(ast::Expr::UnaryOp(ast::ExprUnaryOp {
                    range,
                    op: ast::UnaryOp::Not,
                    operand: Box::new(applied.unwrap_or_else(|| item.clone())),
                })),
                body: vec![ast::Stmt::Continue(ast::StmtContinue { range })],
                orelse: Vec::new(),
            }));
            body.push(assign(item));
        } else {
            body.push(assign(applied?));
        }
        body.extend(for_stmt.body.iter().cloned());
        let (target, iter) = map_walk(&names, iterables, range);
        Some(ast::StmtFor {
            range: for_stmt.range,
            target: Box::new(target),
            iter: Box::new(iter),
            body,
            orelse: for_stmt.orelse.clone(),
            type_comment: None,
        })
    }

    fn for_stmt(&mut self, for_stmt: &ast::StmtFor, span: Span) -> Option<Stmt> {
        if let Some(plain) = self.map_loop(for_stmt) {
            return self.for_stmt(&plain, span);
        }
        if let Some(zipped) = self.enumerated_zip(for_stmt) {
            return self.for_stmt(&zipped, span);
        }
        if let Some(flat) = self.nested_loop_target(for_stmt) {
            return self.for_stmt(&flat, span);
        }
        if let Some(reversed) = self.reversed_range(for_stmt) {
            return self.for_stmt(&reversed, span);
        }
        if let Some(lowered) = self.ndindex_loop(for_stmt, span) {
            return lowered;
        }
        if let Some(lowered) = self.tuple_loop(for_stmt, span) {
            return lowered;
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
                let name = self.qualify(&call.func);
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
        if parallel && self.serial_prange {
            self.notes.push((
                call.range.into(),
                "prange runs as range: the Numba decorator has no parallel=True".to_string(),
            ));
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
                parallel: parallel && !self.serial_prange,
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
            // `d[(k,)]` and `d[k,]` look a dict up by the tuple `(k,)`, not
            // by `k`, and `d[()]` by `()`: a tuple of one item or none stays
            // whole here, and inference indexes an array with its items, as
            // NumPy does (`a[i,]`, `a[()]`).
            ast::Expr::Tuple(tuple)
                if matches!(tuple.elts.as_slice(), [] | [_])
                    && !tuple.elts.iter().any(|item| {
                        matches!(item, ast::Expr::Slice(_) | ast::Expr::Starred(_))
                            || is_ellipsis(item)
                    }) =>
            {
                vec![slice]
            }
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
                if self.is_module_path(&attribute.value) {
                    let qualified = self.qualify(expr)?;
                    if let Some(value) = math_constant(&qualified) {
                        ExprKind::Float(value)
                    } else if qualified == "cython.compiled" {
                        // False under CPython, whose semantics ferropy keeps.
                        ExprKind::Bool(false)
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
            ast::Expr::Subscript(subscript)
                if is_range_call(self, &subscript.value)
                    && !matches!(
                        subscript.slice.as_ref(),
                        ast::Expr::Slice(_) | ast::Expr::Tuple(_)
                    ) =>
            {
                // `range(...)[k]`, as a range variable's `r[k]` reads.
                let parts = self.range_parts(&subscript.value);
                let index = self.expr(&subscript.slice);
                let mut args = parts?;
                args.push(index?);
                ExprKind::Call {
                    callee: Callee::Builtin("__range_get".into()),
                    args,
                    keywords: Vec::new(),
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
            // `a is b` (not of None): whether two containers are one object.
            ast::Expr::Compare(compare)
                if compare.ops.len() == 1
                    && matches!(compare.ops[0], ast::CmpOp::Is | ast::CmpOp::IsNot)
                    && !is_none_test(compare) =>
            {
                let left = self.expr(&compare.left);
                let right = self.expr(&compare.comparators[0]);
                let same = Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin("__is__".into()),
                        args: vec![left?, right?],
                        keywords: Vec::new(),
                    },
                    span,
                };
                if matches!(compare.ops[0], ast::CmpOp::IsNot) {
                    ExprKind::Unary {
                        op: UnaryOp::Not,
                        operand: Box::new(same),
                    }
                } else {
                    return Some(same);
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
            ast::Expr::Compare(compare) if is_none_test(compare) => {
                let negated = matches!(compare.ops[0], ast::CmpOp::IsNot);
                match self.expr(&compare.left)?.kind {
                    ExprKind::Local(name) => ExprKind::IsNone { name, negated },
                    _ => {
                        self.error(
                            codes::UNSUPPORTED_EXPRESSION,
                            span,
                            "`is None` is only supported on a parameter or a local variable",
                            "a test for None",
                            "compiled values other than parameters that may be None (`n=None`, \
                             `int | None`) are never None: instead of `d.get(k) is None`, test \
                             `k in d` or pass a default, `d.get(k, -1)`",
                        );
                        return None;
                    }
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
                        ast::CmpOp::Is | ast::CmpOp::IsNot
                            if matches!(
                                comparator,
                                ast::Expr::Constant(ast::ExprConstant {
                                    value: ast::Constant::None,
                                    ..
                                })
                            ) =>
                        {
                            self.error(
                                codes::UNSUPPORTED_EXPRESSION,
                                span,
                                "`is None` is only supported as a comparison of its own",
                                "a test for None in a chain",
                                "write `x is None` on its own, combined with `and`/`or`; \
                                 compiled values other than parameters that may be None are \
                                 never None",
                            );
                            ok = false;
                            continue;
                        }
                        ast::CmpOp::Is | ast::CmpOp::IsNot => {
                            self.error(
                                codes::UNSUPPORTED_EXPRESSION,
                                span,
                                "`is` is only supported as a comparison of its own",
                                "identity comparison in a chain",
                                "write `a is b` on its own (of two lists, dicts or sets), or \
                                 compare values with `==` or `!=`",
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
            ast::Expr::Tuple(tuple)
                if tuple
                    .elts
                    .iter()
                    .any(|e| matches!(e, ast::Expr::Starred(_))) =>
            {
                return self.starred_display(&tuple.elts, false, span);
            }
            ast::Expr::List(list)
                if list.elts.iter().any(|e| matches!(e, ast::Expr::Starred(_))) =>
            {
                return self.starred_display(&list.elts, true, span);
            }
            ast::Expr::Tuple(tuple) => {
                let items: Vec<Option<Expr>> = tuple.elts.iter().map(|e| self.expr(e)).collect();
                ExprKind::Tuple(items.into_iter().collect::<Option<_>>()?)
            }
            ast::Expr::Lambda(_) => {
                self.error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    "this lambda expression is not supported",
                    "lambda",
                    "a lambda with positional parameters assigned once to a local name and called \
                     (`sq = lambda x: x * x` then `sq(3.0)`) or given as key= compiles; \
                     otherwise define a top-level function and call it",
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
                // `{**a, k: v, **b}`: `dict(a) | {k: v} | b`, each part
                // evaluated in the order written, later keys winning.
                let mut merged: Option<Expr> = None;
                let mut pairs = Vec::new();
                let mut ok = true;
                let join = |merged: Option<Expr>, part: Expr| match merged {
                    None => part,
                    Some(left) => Expr {
                        kind: ExprKind::Binary {
                            op: BinaryOp::BitOr,
                            left: Box::new(left),
                            right: Box::new(part),
                        },
                        span,
                    },
                };
                for (key, value) in dict.keys.iter().zip(&dict.values) {
                    let Some(key) = key else {
                        if !pairs.is_empty() {
                            let display = Expr {
                                kind: ExprKind::Dict(std::mem::take(&mut pairs)),
                                span,
                            };
                            merged = Some(join(merged, display));
                        }
                        let Some(unpacked) = self.expr(value) else {
                            ok = false;
                            continue;
                        };
                        let part = if merged.is_none() {
                            // The first part is copied, as the display is a
                            // new dict.
                            Expr {
                                kind: ExprKind::Call {
                                    callee: Callee::Builtin("dict".into()),
                                    args: vec![unpacked],
                                    keywords: Vec::new(),
                                },
                                span,
                            }
                        } else {
                            unpacked
                        };
                        merged = Some(join(merged, part));
                        continue;
                    };
                    let key = self.expr(key);
                    let value = self.expr(value);
                    match (key, value) {
                        (Some(key), Some(value)) => pairs.push((key, value)),
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                match merged {
                    None => ExprKind::Dict(pairs),
                    Some(merged) if pairs.is_empty() => return Some(merged),
                    Some(merged) => {
                        let display = Expr {
                            kind: ExprKind::Dict(pairs),
                            span,
                        };
                        return Some(join(Some(merged), display));
                    }
                }
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
                    "a generator expression is only supported as the argument of sum, min, max, any, all, sorted, list, set or dict",
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
        if self.lambdas.contains_key(name) {
            self.error(
                codes::UNSUPPORTED_EXPRESSION,
                span,
                format!("the lambda `{name}` can only be called here"),
                "a lambda used as a value",
                "call it (`f(x)`), or define a top-level function to pass it to another function",
            );
            return None;
        }
        let kind = if self.locals.contains(name) {
            ExprKind::Local(name.to_string())
        } else if self.scope.constant(name).is_some() {
            ExprKind::Constant(name.to_string())
        } else if let Some(items) = self.scope.tuple_constants.get(name) {
            ExprKind::Tuple(items.iter().map(|item| item.expr(span)).collect())
        } else if let Some(qualified) = self.import_of(name) {
            match math_constant(qualified) {
                Some(value) => ExprKind::Float(value),
                None => ExprKind::Qualified(qualified.clone()),
            }
        } else if matches!(name, "int" | "float" | "bool" | "complex") {
            ExprKind::BuiltinRef(name.to_string())
        } else if self.scope.functions.contains(name) {
            ExprKind::FunctionRef(name.to_string())
        } else if let Some(defined) = self.scope.dynamic_globals.get(name) {
            self.diagnostics.push(
                Diagnostic::error(codes::NOT_A_CONSTANT, span, format!("`{name}` is not a compile-time constant"))
                    .with_label("module-level variable used here")
                    .with_secondary(*defined, "assigned here")
                    .with_hint("module-level values used by compiled code must be int, float or bool constants or tuples of them; pass other values as parameters"),
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
        // `[sum(c) for c in zip(*rows)]`: when nothing in the comprehension
        // can change a list, the rows stay as they were while Python's lazy
        // zip walks them, and the list of its tuples, made first, is the
        // same walk.
        let unzipped;
        let builtin = |name: &str| self.is_builtin(name);
        let generators = match generators {
            [generator]
                if !generator.is_async
                    && changes_no_list(elt, &builtin)
                    && generator
                        .ifs
                        .iter()
                        .all(|test| changes_no_list(test, &builtin)) =>
            {
                match &generator.iter {
                    ast::Expr::Call(call) => match self.zip_of_rows(call) {
                        Some(columns) => {
                            let mut generator = generator.clone();
                            generator.iter = columns;
                            unzipped = [generator];
                            &unzipped[..]
                        }
                        None => generators,
                    },
                    _ => generators,
                }
            }
            _ => generators,
        };
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
        let mut read = Vec::new();
        comprehension_names_read(&[elt], generators, &[], &mut read);
        let free: Vec<String> = self
            .free_among(read)
            .into_iter()
            .filter(|name| !bound.contains(name))
            .collect();
        let name = self.reserve_helper_name(hidden_format!("{}_{}", kind.name(), span.start));
        let result = &*hidden("result");
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
        // Python evaluates a dict comprehension's key before its value (an
        // assignment `d[k] = v` evaluates `v` first): a key that is more
        // than a name or a constant goes into a hidden local first.
        let mut key_first = None;
        let mut body: Vec<ast::Stmt> = vec![match kind {
            Comprehension::List => call_method("append", vec![elt.clone()]),
            Comprehension::Set => call_method("add", vec![elt.clone()]),
            Comprehension::Dict => {
                let ast::Expr::Tuple(pair) = elt else {
                    return None;
                };
                let key = match &pair.elts[0] {
                    key @ (ast::Expr::Name(_) | ast::Expr::Constant(_)) => key.clone(),
                    key => {
                        let name = &*hidden("key");
                        key_first = Some(ast::Stmt::Assign(ast::StmtAssign {
                            range,
                            targets: vec![synthetic_name(name, range, ast::ExprContext::Store)],
                            value: Box::new(key.clone()),
                            type_comment: None,
                        }));
                        synthetic_name(name, range, load)
                    }
                };
                ast::Stmt::Assign(ast::StmtAssign {
                    range,
                    targets: vec![ast::Expr::Subscript(ast::ExprSubscript {
                        range,
                        value: Box::new(synthetic_name(result, range, load)),
                        slice: Box::new(key),
                        ctx: ast::ExprContext::Store,
                    })],
                    value: Box::new(pair.elts[1].clone()),
                    type_comment: None,
                })
            }
            Comprehension::Sum { .. } => ast::Stmt::AugAssign(ast::StmtAugAssign {
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
        let key_local = key_first.is_some();
        if let Some(key) = key_first {
            body.insert(0, key);
        }
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
        inner.local_imports = self.local_imports.clone();
        inner.locals.extend(free.iter().cloned());
        inner.locals.extend(bound.iter().cloned());
        inner.locals.insert(result.to_string());
        if key_local {
            inner.locals.insert(hidden("key"));
        }
        // Lambda variables the comprehension calls (a loop variable of the
        // same name hides one).
        inner.lambdas = self.lambdas.clone();
        inner.lambdas.retain(|name, _| !bound.contains(name));
        let at = |kind: ExprKind| Expr { kind, span };
        let mut stmts = Vec::new();
        let initial = match kind {
            Comprehension::List => Some(ExprKind::List(Vec::new())),
            Comprehension::Dict => Some(ExprKind::Dict(Vec::new())),
            Comprehension::Set => Some(ExprKind::Set(Vec::new())),
            Comprehension::Sum { start } => Some(match start {
                SumStart::Int(value) => ExprKind::Int(value),
                SumStart::Float(bits) => ExprKind::Float(f64::from_bits(bits)),
            }),
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
        for (other, (_, made)) in &inner.lambdas {
            if let (Some(made), Some(entry)) = (made, self.lambdas.get_mut(other)) {
                entry.1.get_or_insert_with(|| made.clone());
            }
        }
        let returned = match kind {
            Comprehension::List
            | Comprehension::Sum { .. }
            | Comprehension::Dict
            | Comprehension::Set => ExprKind::Local(result.to_string()),
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
                nullable: false,
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
            notes: Vec::new(),
            none_variants: Vec::new(),
        });
        Some(ExprKind::Call {
            callee: Callee::Function(name),
            args,
            keywords: Vec::new(),
        })
    }

    /// `sorted(xs, key=f)`, `min(xs, key=f)`, `max(xs, key=f)` and
    /// `xs.sort(key=f)` (with `f` a lambda or a function of this module) by
    /// decorating: each element is paired with its key and its position,
    ///
    /// ```text
    /// sorted(xs, key=lambda t: e)  →  [x for k, i, x in sorted([(e, i, t) for i, t in enumerate(xs)])]
    /// ```
    ///
    /// so the key is computed once per element, in order, equal keys keep
    /// their order (the position is negated for `max` and `reverse=True`,
    /// so the first of equal elements still wins) and elements are never
    /// compared themselves.
    /// `sum(range(n))`, `min(range(n), key=f)`, `sorted(range(n), ...)`,
    /// `set(range(n))` and the like: the call with the range written as a
    /// generator expression (for `sum`, `any` and `all`, which consume it
    /// as it runs) or a list comprehension over it. `None` when the call
    /// is not of a builtin that consumes an iterable, or its argument is
    /// not a `range(...)` call.
    fn range_consumed(&self, call: &ast::ExprCall) -> Option<ast::ExprCall> {
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        let lazy = match id {
            "sum" | "any" | "all" => true,
            "min" | "max" | "sorted" | "set" => false,
            _ => return None,
        };
        if self.locals.contains(id) || self.scope.functions.contains(id) {
            return None;
        }
        let [range_call, ..] = call.args.as_slice() else {
            return None;
        };
        if !is_range_call(self, range_call) {
            return None;
        }
        let range = range_call.range();
        let item = &*hidden("range_item");
        let generators = vec![ast::Comprehension {
            range: Default::default(),
            target: synthetic_name(item, range, ast::ExprContext::Store),
            iter: range_call.clone(),
            ifs: Vec::new(),
            is_async: false,
        }];
        let elt = Box::new(synthetic_name(item, range, ast::ExprContext::Load));
        Some(consumed_as_comprehension(
            call, lazy, range, elt, generators,
        ))
    }

    /// `list(map(f, xs))`, `sum(map(f, xs, ys))`, `sorted(filter(f, xs))`
    /// and the like: the call with the `map` or `filter` written as a
    /// comprehension over its iterables (zipped when there are several), a
    /// generator for `sum`, `any` and `all`, which consume it as it runs:
    ///
    /// ```text
    /// list(map(lambda x: x * 2, xs))  →  list([x * 2 for x in xs])
    /// sum(map(f, xs, ys))             →  sum(f(a0, a1) for a0, a1 in zip(xs, ys))
    /// list(filter(None, xs))          →  list([a0 for a0 in xs if a0])
    /// ```
    ///
    /// A lambda's parameters are the loop's targets and its body the
    /// element (or the test). `None` when the call is not of such a builtin,
    /// its argument is not a `map` or `filter` call, or a lambda's
    /// parameters do not match the iterables.
    fn map_consumed(&self, call: &ast::ExprCall) -> Option<ast::ExprCall> {
        let builtin =
            |name: &str| !self.locals.contains(name) && !self.scope.functions.contains(name);
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        let lazy = match id {
            "sum" | "any" | "all" => true,
            "list" | "sorted" | "set" | "min" | "max" => false,
            _ => return None,
        };
        let [ast::Expr::Call(inner), ..] = call.args.as_slice() else {
            return None;
        };
        let ast::Expr::Name(source) = inner.func.as_ref() else {
            return None;
        };
        let filter = match source.id.as_str() {
            "map" => false,
            "filter" => true,
            _ => return None,
        };
        let [function_arg, iterables @ ..] = inner.args.as_slice() else {
            return None;
        };
        if !builtin(id)
            || !builtin(source.id.as_str())
            || !inner.keywords.is_empty()
            || iterables.is_empty()
            || (filter && iterables.len() != 1)
            || (iterables.len() > 1 && !builtin("zip"))
            || iterables.iter().any(|a| matches!(a, ast::Expr::Starred(_)))
        {
            return None;
        }
        let range = inner.range;
        let load = ast::ExprContext::Load;
        // The loop's targets, and the element (`map`) or test (`filter`).
        let (names, applied): (Vec<String>, Option<ast::Expr>) = match function_arg {
            ast::Expr::Lambda(lambda) => {
                let params = &lambda.args;
                if !params.posonlyargs.is_empty()
                    || !params.kwonlyargs.is_empty()
                    || params.vararg.is_some()
                    || params.kwarg.is_some()
                    || params.args.iter().any(|a| a.default.is_some())
                    || params.args.len() != iterables.len()
                {
                    return None;
                }
                let names = params.args.iter().map(|a| a.def.arg.to_string()).collect();
                (names, Some(lambda.body.as_ref().clone()))
            }
            ast::Expr::Constant(constant) if filter && constant.value.is_none() => {
                (vec![hidden("map_item0")], None)
            }
            _ => {
                let names: Vec<String> = (0..iterables.len())
                    .map(|k| hidden_format!("map_item{k}"))
                    .collect();
                let call = ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(function_arg.clone()),
                    args: names
                        .iter()
                        .map(|n| synthetic_name(n, range, load))
                        .collect(),
                    keywords: Vec::new(),
                });
                (names, Some(call))
            }
        };
        let (target, iter) = map_walk(&names, iterables, range);
        let item = || synthetic_name(&names[0], range, load);
        let (elt, ifs) = match (filter, applied) {
            (false, Some(applied)) => (applied, Vec::new()),
            (true, Some(test)) => (item(), vec![test]),
            (_, None) => (item(), vec![item()]),
        };
        let generators = vec![ast::Comprehension {
            range: Default::default(),
            target,
            iter,
            ifs,
            is_async: false,
        }];
        let elt = Box::new(elt);
        Some(consumed_as_comprehension(
            call, lazy, range, elt, generators,
        ))
    }

    /// `zip(*rows)` of a variable (`list(zip(*matrix))`, the transpose; `xs,
    /// ys = zip(*pairs)`, the unzip): the list of its tuples, one per
    /// column up to the shortest row, each the tuple of that column's
    /// elements, `[tuple([r[j] for r in rows]) for j in range(min([len(r)
    /// for r in rows], default=0))]`. Rows of no elements give no tuples,
    /// as `zip()` of none does. `None` for any other call.
    fn zip_of_rows(&self, call: &ast::ExprCall) -> Option<ast::Expr> {
        let [ast::Expr::Starred(starred)] = call.args.as_slice() else {
            return None;
        };
        let ast::Expr::Name(rows) = starred.value.as_ref() else {
            return None;
        };
        let is_zip = matches!(call.func.as_ref(), ast::Expr::Name(n) if n.id.as_str() == "zip" && self.is_builtin("zip"));
        if !call.keywords.is_empty() || !is_zip {
            return None;
        }
        let range = call.range;
        let load = ast::ExprContext::Load;
        let (row, column) = (hidden("zip_row"), hidden("zip_column"));
        let rows = ast::Expr::Name(rows.clone());
        let comprehension = |elt: ast::Expr, target: &str, iter: ast::Expr| {
            ast::Expr::ListComp(ast::ExprListComp {
                range,
                elt: Box::new(elt),
                generators: vec![ast::Comprehension {
                    range: Default::default(),
                    target: synthetic_name(target, range, ast::ExprContext::Store),
                    iter,
                    ifs: Vec::new(),
                    is_async: false,
                }],
            })
        };
        let call_of = |name: &str, args, keywords| synthetic_call(name, args, keywords, range);
        let lengths = comprehension(
            call_of("len", vec![synthetic_name(&row, range, load)], Vec::new()),
            &row,
            rows.clone(),
        );
        let shortest = call_of(
            "min",
            vec![lengths],
            vec![ast::Keyword {
                range,
                arg: Some(ast::Identifier::new("default")),
                value: ast::Expr::Constant(ast::ExprConstant {
                    range,
                    value: ast::Constant::Int(0.into()),
                    kind: None,
                }),
            }],
        );
        let element = ast::Expr::Subscript(ast::ExprSubscript {
            range,
            value: Box::new(synthetic_name(&row, range, load)),
            slice: Box::new(synthetic_name(&column, range, load)),
            ctx: load,
        });
        let tuple = call_of(
            "tuple",
            vec![comprehension(element, &row, rows)],
            Vec::new(),
        );
        Some(comprehension(
            tuple,
            &column,
            call_of("range", vec![shortest], Vec::new()),
        ))
    }

    /// `list(zip(a, b))`, `dict(zip(keys, values))`, `sorted(enumerate(xs))`
    /// and the like: the call with the `zip` or `enumerate` written as the
    /// list comprehension of its tuples, `[(x0, x1) for x0, x1 in zip(a, b)]`.
    /// `None` when the call is not of a builtin that consumes an iterable,
    /// or its first argument is not such a call.
    fn pairs_consumed(&self, call: &ast::ExprCall) -> Option<ast::ExprCall> {
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        if !matches!(
            id,
            "list" | "sorted" | "dict" | "set" | "min" | "max" | "sum" | "any" | "all"
        ) || self.locals.contains(id)
            || self.scope.functions.contains(id)
        {
            return None;
        }
        let [ast::Expr::Call(inner), rest @ ..] = call.args.as_slice() else {
            return None;
        };
        let ast::Expr::Name(source) = inner.func.as_ref() else {
            return None;
        };
        let source_id = source.id.as_str();
        if let Some(columns) = self.zip_of_rows(inner) {
            let mut rewritten = call.clone();
            rewritten.args = std::iter::once(columns)
                .chain(rest.iter().cloned())
                .collect();
            return Some(rewritten);
        }
        let width = match source_id {
            "zip" => inner.args.len(),
            "enumerate" => 2,
            _ => return None,
        };
        if width < 2
            || self.locals.contains(source_id)
            || self.scope.functions.contains(source_id)
            || inner
                .args
                .iter()
                .any(|a| matches!(a, ast::Expr::Starred(_)))
        {
            return None;
        }
        let range = inner.range;
        let names: Vec<String> = (0..width).map(|k| hidden_format!("pair_item{k}")).collect();
        let tuple = |ctx: ast::ExprContext| {
            ast::Expr::Tuple(ast::ExprTuple {
                range,
                elts: names
                    .iter()
                    .map(|n| synthetic_name(n, range, ctx))
                    .collect(),
                ctx,
            })
        };
        let comprehension = ast::Expr::ListComp(ast::ExprListComp {
            range,
            elt: Box::new(tuple(ast::ExprContext::Load)),
            generators: vec![ast::Comprehension {
                range: Default::default(),
                target: tuple(ast::ExprContext::Store),
                iter: ast::Expr::Call(inner.clone()),
                ifs: Vec::new(),
                is_async: false,
            }],
        });
        let mut rewritten = call.clone();
        rewritten.args = std::iter::once(comprehension)
            .chain(rest.iter().cloned())
            .collect();
        Some(rewritten)
    }

    /// `xs[i] op= v` evaluates `i` once, before `v`, and stores where it
    /// read: an index that has effects, or that reads what `v` may change
    /// (`xs[len(xs) - 1] += xs.pop(0)`), is evaluated into a hidden local
    /// first. `None` when no index needs it.
    fn hoisted_aug_index(
        &mut self,
        assign: &ast::StmtAugAssign,
        span: Span,
    ) -> Option<Option<Stmt>> {
        let ast::Expr::Subscript(subscript) = assign.target.as_ref() else {
            return None;
        };
        let indices: Vec<&ast::Expr> = match subscript.slice.as_ref() {
            ast::Expr::Tuple(tuple) => tuple.elts.iter().collect(),
            single => vec![single],
        };
        let value_free = effect_free(&assign.value);
        let hoist = |index: &ast::Expr| {
            !matches!(index, ast::Expr::Slice(_))
                && (!effect_free(index) || (!value_free && reads_beyond_locals(index)))
        };
        let hoist_index = indices.iter().any(|index| hoist(index));
        // A container with effects, or one such as `g[c[0]]` or `rows[1]`
        // that a hoisted index could change, is evaluated first, as Python
        // evaluates it.
        let hoist_container = !effect_free(&subscript.value)
            || (hoist_index && reads_beyond_locals(&subscript.value));
        if !hoist_container && !hoist_index {
            return None;
        }
        let range = subscript.range;
        let mut prelude = Vec::new();
        // `name = value` ahead of the statement; `name` read in its place.
        let mut hoisted = |this: &mut Self, name: String, value: &ast::Expr| {
            this.locals.insert(name.clone());
            let value = this.expr(value)?;
            prelude.push(Stmt {
                kind: StmtKind::Assign {
                    target: Target::Name(name.clone(), span),
                    value,
                    annotation: None,
                },
                span,
            });
            Some(synthetic_name(&name, range, ast::ExprContext::Load))
        };
        // The container first (`g[ks.pop()][ks.pop()] += 1`), as Python
        // evaluates it.
        let container = if hoist_container {
            let name = hidden_format!("aug_container_{}", span.start);
            Box::new(hoisted(self, name, &subscript.value)?)
        } else {
            subscript.value.clone()
        };
        let mut new_indices = Vec::new();
        for (k, index) in indices.iter().enumerate() {
            if hoist(index) {
                let name = hidden_format!("aug_index_{}_{k}", span.start);
                new_indices.push(hoisted(self, name, index)?);
            } else {
                new_indices.push((*index).clone());
            }
        }
        let slice = match subscript.slice.as_ref() {
            ast::Expr::Tuple(tuple) => ast::Expr::Tuple(ast::ExprTuple {
                range: tuple.range,
                elts: new_indices,
                ctx: ast::ExprContext::Load,
            }),
            _ => new_indices.pop()?,
        };
        let mut rewritten = assign.clone();
        rewritten.target = Box::new(ast::Expr::Subscript(ast::ExprSubscript {
            range,
            value: container,
            slice: Box::new(slice),
            ctx: ast::ExprContext::Store,
        }));
        prelude.push(self.stmt(&ast::Stmt::AugAssign(rewritten))?);
        Some(Some(always(prelude, span)))
    }

    /// `first, *rest = xs` (and `*init, last = xs`, `a, *mid, z = xs`):
    /// the value once into a hidden local, a ValueError when it has fewer
    /// items than the plain targets, then each plain target its item and
    /// the starred one a list of the items between, as Python unpacks.
    fn starred_assignment(&mut self, assign: &ast::StmtAssign, span: Span) -> Option<Stmt> {
        let (elts, star) = starred_target(&assign.targets[0])?;
        let range = assign.range;
        let source = hidden_format!("star_{}", span.start);
        self.locals.insert(source.clone());
        let name = |ctx| synthetic_name(&source, range, ctx);
        let int = |value: i64| int_literal(value, range);
        let call = |function: &str, arg: ast::Expr| {
            ast::Expr::Call(ast::ExprCall {
                range,
                func: Box::new(synthetic_name(function, range, ast::ExprContext::Load)),
                args: vec![arg],
                keywords: Vec::new(),
            })
        };
        let item = |index: ast::Expr| {
            ast::Expr::Subscript(ast::ExprSubscript {
                range,
                value: Box::new(name(ast::ExprContext::Load)),
                slice: Box::new(index),
                ctx: ast::ExprContext::Load,
            })
        };
        let assign_to = |target: &ast::Expr, value: ast::Expr| {
            ast::Stmt::Assign(ast::StmtAssign {
                range,
                targets: vec![target.clone()],
                value: Box::new(value),
                type_comment: None,
            })
        };
        let before = star as i64;
        let after = (elts.len() - star - 1) as i64;
        let mut stmts = vec![self.stmt(&assign_to(
            &name(ast::ExprContext::Store),
            (*assign.value).clone(),
        ))?];
        let mut program = Vec::new();
        // `if len(source) < before + after: raise ValueError(...)`.
        let short = Expr {
            kind: ExprKind::Compare {
                left: Box::new(self.expr(&call("len", name(ast::ExprContext::Load)))?),
                rest: vec![(
                    CompareOp::Lt,
                    Expr {
                        kind: ExprKind::Int(before + after),
                        span,
                    },
                )],
            },
            span,
        };
        stmts.push(Stmt {
            kind: StmtKind::If {
                test: short,
                body: vec![Stmt {
                    kind: StmtKind::Raise {
                        class: "ValueError".into(),
                        message: Some(format!(
                            "not enough values to unpack (expected at least {})",
                            before + after
                        )),
                    },
                    span,
                }],
                orelse: Vec::new(),
            },
            span,
        });
        for (k, target) in elts.iter().enumerate() {
            let k = k as i64;
            let value = if k < before {
                item(int(k))
            } else if k == before {
                let ast::Expr::Starred(starred) = target else {
                    return None;
                };
                let slice = ast::Expr::Slice(ast::ExprSlice {
                    range,
                    lower: Some(Box::new(int(before))),
                    upper: (after > 0).then(|| Box::new(int(-after))),
                    step: None,
                });
                // `list(source)[a:b]`: a new list, also of a tuple (which
                // compiled code slices only as a list).
                let items = ast::Expr::Subscript(ast::ExprSubscript {
                    range,
                    value: Box::new(call("list", name(ast::ExprContext::Load))),
                    slice: Box::new(slice),
                    ctx: ast::ExprContext::Load,
                });
                program.push(assign_to(&starred.value, items));
                continue;
            } else {
                item(int(k - before - 1 - after))
            };
            program.push(assign_to(target, value));
        }
        for stmt in &program {
            stmts.push(self.stmt(stmt)?);
        }
        Some(always(stmts, span))
    }

    /// `[*a, x, *b]` as `list(a) + [x] + list(b)`, and `(*t, x)` of tuples
    /// as `t + (x,)`: the parts evaluated in the order written, each
    /// starred one taken whole (a tuple's length is its type's, so only
    /// tuples unpack into a tuple display).
    fn starred_display(&mut self, elts: &[ast::Expr], list: bool, span: Span) -> Option<Expr> {
        let mut parts: Vec<Expr> = Vec::new();
        let mut run: Vec<Expr> = Vec::new();
        let mut ok = true;
        let display = |items: Vec<Expr>| Expr {
            kind: if list {
                ExprKind::List(items)
            } else {
                ExprKind::Tuple(items)
            },
            span,
        };
        for elt in elts {
            match elt {
                ast::Expr::Starred(starred) => {
                    if !run.is_empty() {
                        parts.push(display(std::mem::take(&mut run)));
                    }
                    // `list(x)` as a call of the builtin, which takes
                    // ranges and generators as well.
                    let list_of = ast::Expr::Call(ast::ExprCall {
                        range: starred.range,
                        func: Box::new(synthetic_name(
                            "list",
                            starred.range,
                            ast::ExprContext::Load,
                        )),
                        args: vec![(*starred.value).clone()],
                        keywords: Vec::new(),
                    });
                    let shadowed =
                        self.locals.contains("list") || self.scope.functions.contains("list");
                    let part = if list && !shadowed {
                        self.expr(&list_of)
                    } else {
                        self.expr(&starred.value).map(|value| {
                            if list {
                                Expr {
                                    kind: ExprKind::Call {
                                        callee: Callee::Builtin("list".into()),
                                        args: vec![value],
                                        keywords: Vec::new(),
                                    },
                                    span,
                                }
                            } else {
                                value
                            }
                        })
                    };
                    match part {
                        Some(part) => parts.push(part),
                        None => ok = false,
                    }
                }
                other => match self.expr(other) {
                    Some(item) => run.push(item),
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        if !run.is_empty() {
            parts.push(display(run));
        }
        parts.into_iter().reduce(|left, right| Expr {
            kind: ExprKind::Binary {
                op: BinaryOp::Add,
                left: Box::new(left),
                right: Box::new(right),
            },
            span,
        })
    }

    fn keyed_call(&mut self, call: &ast::ExprCall, span: Span) -> Option<Option<Expr>> {
        let key = call
            .keywords
            .iter()
            .find(|k| k.arg.as_deref() == Some("key"))?;
        if self
            .qualify(&call.func)
            .is_some_and(|name| name.starts_with("bisect."))
        {
            self.error(
                codes::UNSUPPORTED_FUNCTION,
                Span::from(key.range),
                "bisect with key= is not supported in compiled code",
                "key",
                "search a sorted list of the keys themselves",
            );
            return Some(None);
        }
        let (kind, iter): (&str, ast::Expr) = match call.func.as_ref() {
            ast::Expr::Name(name)
                if matches!(name.id.as_str(), "sorted" | "min" | "max")
                    && !self.locals.contains(name.id.as_str())
                    && !self.scope.functions.contains(name.id.as_str()) =>
            {
                let [iter] = call.args.as_slice() else {
                    return None;
                };
                // `min((f(x) for x in xs), key=g)`: the items as a list.
                let iter = match iter {
                    ast::Expr::GeneratorExp(generator) => ast::Expr::ListComp(ast::ExprListComp {
                        range: generator.range,
                        elt: generator.elt.clone(),
                        generators: generator.generators.clone(),
                    }),
                    other => other.clone(),
                };
                (name.id.as_str(), iter)
            }
            ast::Expr::Attribute(attribute)
                if attribute.attr.as_str() == "sort"
                    && call.args.is_empty()
                    && !self.is_module_path(&attribute.value) =>
            {
                ("sort", (*attribute.value).clone())
            }
            _ => return None,
        };
        let range = call.range;
        let bad = |this: &mut Self, message: &str| {
            this.error(
                codes::UNSUPPORTED_EXPRESSION,
                span,
                message,
                "unsupported key",
                "write key=lambda x: ... or key=a_function_of_this_module",
            );
            Some(None)
        };
        let mut reverse = false;
        // A `reverse=` known only at run time: a variable or a constant
        // other than True and False. Python evaluates it before the keys;
        // reading it cannot raise or change anything, so reading it with
        // each position gives the same result.
        let mut reverse_at_run_time = None;
        let mut default = None;
        for keyword in &call.keywords {
            match keyword.arg.as_deref() {
                Some("key") => {}
                Some("reverse") if matches!(kind, "sorted" | "sort") => match &keyword.value {
                    ast::Expr::Constant(ast::ExprConstant {
                        value: ast::Constant::Bool(b),
                        ..
                    }) => reverse = *b,
                    value if inert(value) && !matches!(value, ast::Expr::Tuple(_)) => {
                        reverse_at_run_time = Some(value.clone())
                    }
                    _ => {
                        self.error(
                            codes::UNSUPPORTED_EXPRESSION,
                            span,
                            "with key=, reverse= takes True, False or a variable",
                            "key= and reverse=",
                            "name the flag first (`descending = ...`, then `reverse=descending`)",
                        );
                        return Some(None);
                    }
                },
                // Python evaluates the default before it walks the items;
                // one that cannot raise or change anything may come after.
                Some("default") if matches!(kind, "min" | "max") => match &keyword.value {
                    value if inert(value) => default = Some(value.clone()),
                    _ => {
                        self.error(
                            codes::UNSUPPORTED_EXPRESSION,
                            span,
                            format!("`{kind}` with key= takes a constant, a variable or a tuple of them as default="),
                            "key= and default=",
                            &format!(
                                "name the default first (`d = ...`, then `{kind}(xs, key=f, default=d)`), or test for emptiness: `{kind}(xs, key=f) if xs else ...`"
                            ),
                        );
                        return Some(None);
                    }
                },
                _ => return bad(self, "only key= and reverse= are supported here"),
            }
        }
        let load = ast::ExprContext::Load;
        let store = ast::ExprContext::Store;
        let called_key = match &key.value {
            ast::Expr::Attribute(attribute) => {
                matches!(attribute.value.as_ref(), ast::Expr::Name(_))
            }
            ast::Expr::Name(function) => {
                let id = function.id.as_str();
                self.scope.functions.contains(id)
                    || self.lambdas.contains_key(id)
                    || (matches!(id, "len" | "abs" | "sum" | "min" | "max") && self.is_builtin(id))
            }
            _ => false,
        };
        // The key as a parameter name and a body in terms of it.
        let (param, body) = match &key.value {
            ast::Expr::Lambda(lambda)
                if lambda.args.args.len() == 1
                    && lambda.args.posonlyargs.is_empty()
                    && lambda.args.kwonlyargs.is_empty()
                    && lambda.args.vararg.is_none()
                    && lambda.args.kwarg.is_none() =>
            {
                (
                    lambda.args.args[0].def.arg.to_string(),
                    (*lambda.body).clone(),
                )
            }
            // `max(counts, key=counts.get)`: the items are the dict's own
            // keys, so each is found; the key is `counts[k]`.
            ast::Expr::Attribute(attribute)
                if attribute.attr.as_str() == "get"
                    && matches!(
                        (attribute.value.as_ref(), &iter),
                        (ast::Expr::Name(dict), ast::Expr::Name(items)) if dict.id == items.id
                    ) =>
            {
                let param = hidden("key_item");
                let body = ast::Expr::Subscript(ast::ExprSubscript {
                    range,
                    value: attribute.value.clone(),
                    slice: Box::new(synthetic_name(&param, range, load)),
                    ctx: load,
                });
                (param, body)
            }
            // Called with the item: a method of a variable or a function
            // of a module (`key=xs.count`, `key=math.fabs`), a function of
            // the module, a lambda stored in a local, or a builtin of one
            // argument (`key=len`, `key=abs`).
            _ if called_key => {
                let param = hidden("key_item");
                let body = ast::Expr::Call(ast::ExprCall {
                    range,
                    func: Box::new(key.value.clone()),
                    args: vec![synthetic_name(&param, range, load)],
                    keywords: Vec::new(),
                });
                (param, body)
            }
            _ => {
                return bad(
                    self,
                    "key= takes a one-argument lambda, a function of this module or a method such as `xs.count`",
                )
            }
        };
        let negate_position = reverse || kind == "max";
        let position = synthetic_name(&hidden("position"), range, load);
        let negated = ast::Expr::UnaryOp(ast::ExprUnaryOp {
            range,
            op: ast::UnaryOp::USub,
            operand: Box::new(position.clone()),
        });
        // Equal keys keep their order both ways: a reversed sort orders
        // them by their negated positions.
        let position = match &reverse_at_run_time {
            Some(flag) => ast::Expr::IfExp(ast::ExprIfExp {
                range,
                test: Box::new(flag.clone()),
                body: Box::new(negated),
                orelse: Box::new(position),
            }),
            None if negate_position => negated,
            None => position,
        };
        let tuple =
            |elts: Vec<ast::Expr>, ctx| ast::Expr::Tuple(ast::ExprTuple { range, elts, ctx });
        let generator = |target: ast::Expr, iter: ast::Expr| ast::Comprehension {
            range: Default::default(),
            target,
            iter,
            ifs: Vec::new(),
            is_async: false,
        };
        let call_of = |name: &str, args, keywords| synthetic_call(name, args, keywords, range);
        // [(key, ±position, item) for position, item in enumerate(iter)]
        let decorated = ast::Expr::ListComp(ast::ExprListComp {
            range,
            elt: Box::new(tuple(
                vec![body, position, synthetic_name(&param, range, load)],
                load,
            )),
            generators: vec![generator(
                tuple(
                    vec![
                        synthetic_name(&hidden("position"), range, store),
                        synthetic_name(&param, range, store),
                    ],
                    store,
                ),
                call_of("enumerate", vec![iter.clone()], Vec::new()),
            )],
        });
        let reverse_keyword = || ast::Keyword {
            range,
            arg: Some(ast::Identifier::new("reverse")),
            value: ast::Expr::Constant(ast::ExprConstant {
                range,
                value: ast::Constant::Bool(true),
                kind: None,
            }),
        };
        let lowered = match (kind, default) {
            // `min(xs, key=f, default=d)`: the item, or `d` when there is none.
            ("min" | "max", Some(default)) => call_of(
                &hidden(&format!("{kind}_or_by_key")),
                vec![decorated, default],
                Vec::new(),
            ),
            ("min" | "max", None) => {
                let best = call_of(
                    &hidden(&format!("{kind}_by_key")),
                    vec![decorated],
                    Vec::new(),
                );
                ast::Expr::Subscript(ast::ExprSubscript {
                    range,
                    value: Box::new(best),
                    slice: Box::new(ast::Expr::Constant(ast::ExprConstant {
                        range,
                        value: ast::Constant::Int(2.into()),
                        kind: None,
                    })),
                    ctx: load,
                })
            }
            _ => {
                let keywords = match reverse_at_run_time {
                    Some(flag) => vec![ast::Keyword {
                        range,
                        arg: Some(ast::Identifier::new("reverse")),
                        value: flag,
                    }],
                    None if reverse => vec![reverse_keyword()],
                    None => Vec::new(),
                };
                let ordered = call_of(&hidden("sorted_by_key"), vec![decorated], keywords);
                let sorted_items = ast::Expr::ListComp(ast::ExprListComp {
                    range,
                    elt: Box::new(synthetic_name(&hidden("item"), range, load)),
                    generators: vec![generator(
                        tuple(
                            vec![
                                synthetic_name(&hidden("key"), range, store),
                                synthetic_name(&hidden("position"), range, store),
                                synthetic_name(&hidden("item"), range, store),
                            ],
                            store,
                        ),
                        ordered,
                    )],
                });
                if kind == "sorted" {
                    sorted_items
                } else {
                    // `xs.sort(key=f)` replaces the list's elements in place.
                    ast::Expr::Call(ast::ExprCall {
                        range,
                        func: Box::new(ast::Expr::Attribute(ast::ExprAttribute {
                            range,
                            value: Box::new(iter),
                            attr: ast::Identifier::new("__replace__"),
                            ctx: load,
                        })),
                        args: vec![sorted_items],
                        keywords: Vec::new(),
                    })
                }
            }
        };
        Some(self.expr(&lowered))
    }

    /// The locals a piece of code (a comprehension or a lambda) reads, in
    /// order of appearance: a range variable through its parts, a lambda
    /// variable through the locals it reads.
    /// The variables of this function among `names`, the names a
    /// comprehension or generator expression reads (`names_read`), with
    /// those of the lambdas it calls.
    fn free_among(&self, names: Vec<String>) -> Vec<String> {
        let mut free = Vec::new();
        let mut seen = HashSet::new();
        self.collect_free(names, &mut seen, &mut free);
        free
    }

    fn collect_free(&self, names: Vec<String>, seen: &mut HashSet<String>, free: &mut Vec<String>) {
        for name in names {
            if !seen.insert(name.clone()) {
                continue;
            }
            if self.range_variables.contains(&name) {
                for part in ["start", "stop", "step"] {
                    let part = crate::range_variables::part_name(&name, part);
                    if self.locals.contains(&part) && !free.contains(&part) {
                        free.push(part);
                    }
                }
            } else if let Some((lambda, _)) = self.lambdas.get(&name) {
                let span: Span = lambda.range.into();
                let params: HashSet<String> = lambda
                    .args
                    .args
                    .iter()
                    .map(|a| a.def.arg.to_string())
                    .collect();
                let mut inner_seen = seen.clone();
                inner_seen.extend(params);
                let lambda_text = self
                    .file
                    .text
                    .get(span.start as usize..span.end as usize)
                    .unwrap_or("");
                self.collect_free(identifiers_in(lambda_text), &mut inner_seen, free);
            } else if self.locals.contains(&name) && !free.contains(&name) {
                free.push(name);
            }
        }
    }

    /// `f(args)` of a local `f = lambda params: body`: a call of the
    /// helper `def __lambda_N(params, free): return body`, where `free` are
    /// the enclosing function's locals the body reads, passed at each call,
    /// so the lambda sees their values at the time of the call, as a
    /// Python closure does (it cannot assign them).
    fn lambda_call(&mut self, name: &str, call: &ast::ExprCall, span: Span) -> Option<Expr> {
        let (lambda, helper) = self.lambdas.get(name)?.clone();
        let params: Vec<String> = lambda
            .args
            .args
            .iter()
            .map(|a| a.def.arg.to_string())
            .collect();
        let lambda_span: Span = lambda.range.into();
        let text = self
            .file
            .text
            .get(lambda_span.start as usize..lambda_span.end as usize)
            .unwrap_or("");
        let mut seen: HashSet<String> = params.iter().cloned().collect();
        seen.insert(name.to_string());
        let mut free = Vec::new();
        self.collect_free(identifiers_in(text), &mut seen, &mut free);
        if !call.keywords.is_empty() || call.args.len() != params.len() {
            self.error(
                codes::WRONG_ARGUMENTS,
                span,
                format!(
                    "the lambda `{name}` takes {} positional argument{}",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" }
                ),
                "this call",
                "pass one positional argument per parameter of the lambda",
            );
            return None;
        }
        let helper = match helper {
            Some(helper) => helper,
            None => {
                let helper =
                    self.reserve_helper_name(hidden_format!("lambda_{}", lambda_span.start));
                let mut inner = FunctionLowering::new(self.scope, self.file);
                inner.locals.extend(params.iter().cloned());
                inner.locals.extend(free.iter().cloned());
                inner.range_variables = self.range_variables.clone();
                // Other lambdas it calls, but not itself: a lambda's name
                // is bound only once the lambda exists.
                inner.lambdas = self.lambdas.clone();
                inner.lambdas.remove(name);
                let body = inner.expr(&lambda.body);
                for (other, (_, made)) in &inner.lambdas {
                    if let (Some(made), Some(entry)) = (made, self.lambdas.get_mut(other)) {
                        entry.1.get_or_insert_with(|| made.clone());
                    }
                }
                if !inner.diagnostics.is_empty() {
                    self.diagnostics.append(&mut inner.diagnostics);
                    return None;
                }
                let body = body?;
                let param = |name: &String| Param {
                    name: name.clone(),
                    span: lambda_span,
                    annotation: None,
                    default: None,
                    keyword_only: false,
                    nullable: false,
                };
                self.scope.helpers.borrow_mut().push(Function {
                    name: helper.clone(),
                    span: lambda_span,
                    params: params.iter().chain(&free).map(param).collect(),
                    returns: None,
                    exported: false,
                    docstring: None,
                    body: vec![Stmt {
                        kind: StmtKind::Return(Some(body)),
                        span: lambda_span,
                    }],
                    overloads: Vec::new(),
                    notes: Vec::new(),
                    none_variants: Vec::new(),
                });
                if let Some(entry) = self.lambdas.get_mut(name) {
                    entry.1 = Some(helper.clone());
                }
                helper
            }
        };
        let args: Vec<Option<Expr>> = call.args.iter().map(|a| self.expr(a)).collect();
        let mut args: Vec<Expr> = args.into_iter().collect::<Option<_>>()?;
        args.extend(free.iter().map(|n| Expr {
            kind: ExprKind::Local(n.clone()),
            span,
        }));
        Some(Expr {
            kind: ExprKind::Call {
                callee: Callee::Function(helper),
                args,
                keywords: Vec::new(),
            },
            span,
        })
    }

    /// `len(range(...))` and the zero-step check of a range variable
    /// (`range_variables`), as builtins of the range's start, stop and step.
    fn range_call_use(&mut self, call: &ast::ExprCall, span: Span) -> Option<Option<Expr>> {
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        if self.locals.contains(id)
            || self.scope.functions.contains(id)
            || !call.keywords.is_empty()
        {
            return None;
        }
        match (id, call.args.as_slice()) {
            (crate::range_variables::STEP_CHECK, [step]) => {
                let step = self.expr(step);
                Some(step.map(|step| Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin("__range_step".into()),
                        args: vec![step],
                        keywords: Vec::new(),
                    },
                    span,
                }))
            }
            ("len", [range_call]) if is_range_call(self, range_call) => {
                let parts = self.range_parts(range_call);
                Some(parts.map(|parts| Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin("__range_len".into()),
                        args: parts,
                        keywords: Vec::new(),
                    },
                    span,
                }))
            }
            _ => None,
        }
    }

    /// The start, stop and step of a `range(...)` call, with the defaults
    /// filled in.
    fn range_parts(&mut self, range_call: &ast::Expr) -> Option<Vec<Expr>> {
        let ast::Expr::Call(call) = range_call else {
            return None;
        };
        let span: Span = call.range.into();
        let constant = |value| Expr {
            kind: ExprKind::Int(value),
            span,
        };
        let args: Vec<Option<Expr>> = call.args.iter().map(|a| self.expr(a)).collect();
        let args: Vec<Expr> = args.into_iter().collect::<Option<_>>()?;
        match args.len() {
            1 => {
                let stop = args.into_iter().next()?;
                Some(vec![constant(0), stop, constant(1)])
            }
            2 => {
                let mut args = args.into_iter();
                Some(vec![args.next()?, args.next()?, constant(1)])
            }
            3 => Some(args),
            _ => {
                self.error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    "range() takes one to three arguments",
                    "range call",
                    "write range(stop), range(start, stop) or range(start, stop, step)",
                );
                None
            }
        }
    }

    /// `sum(e for ...)`, `any(...)`, `all(...)` consume the generator as it
    /// runs; `min`, `max`, `sorted` and `list` take it as a list.
    fn consumed_generator(&mut self, call: &ast::ExprCall, span: Span) -> Option<Option<Expr>> {
        // `list(range(...))` is made at its length at once, as CPython's
        // `list` asks the range for it (`rt::range_list`).
        if let (ast::Expr::Name(function), [range_call @ ast::Expr::Call(_)]) =
            (call.func.as_ref(), call.args.as_slice())
        {
            // And `reversed(range(...))` as a value (`list(...)`, `sum(...)`
            // of it; a `for` loop walks it as a range counting down): that
            // list, reversed.
            let name = function.id.as_str();
            let builtin = match name {
                "list" => !self.locals.contains("list"),
                "reversed" => {
                    !self.locals.contains("reversed") && !self.scope.functions.contains("reversed")
                }
                _ => false,
            };
            if builtin && call.keywords.is_empty() && is_range_call(self, range_call) {
                let call_of = |callee: &str, args| Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin(callee.into()),
                        args,
                        keywords: Vec::new(),
                    },
                    span,
                };
                return Some(self.range_parts(range_call).map(|parts| {
                    let numbers = call_of("__range_list", parts);
                    match name {
                        "reversed" => call_of("reversed", vec![numbers]),
                        _ => numbers,
                    }
                }));
            }
        }
        // `math.fsum(e for ...)` and `math.prod(e for ...)`: the items as a
        // list, which both read once, in order.
        if let [ast::Expr::GeneratorExp(generator)] = call.args.as_slice() {
            if matches!(
                self.qualify(&call.func).as_deref(),
                Some("math.fsum" | "math.prod")
            ) {
                let mut rewritten = call.clone();
                rewritten.args[0] = ast::Expr::ListComp(ast::ExprListComp {
                    range: generator.range,
                    elt: generator.elt.clone(),
                    generators: generator.generators.clone(),
                });
                return Some(self.call(&rewritten, span));
            }
        }
        let (generator, start) = match call.args.as_slice() {
            [ast::Expr::GeneratorExp(generator)] => (generator, SumStart::Int(0)),
            // `sum(e for ..., 0.0)`: a literal start.
            [ast::Expr::GeneratorExp(generator), start] => (generator, sum_start(start)?),
            _ => return None,
        };
        let ast::Expr::Name(function) = call.func.as_ref() else {
            return None;
        };
        let id = function.id.as_str();
        if self.locals.contains(id) || self.scope.functions.contains(id) {
            return None;
        }
        if call.args.len() == 2 && id != "sum" {
            return None;
        }
        let generator_span: Span = generator.range.into();
        let kind = match id {
            "sum" if call.keywords.is_empty() => Comprehension::Sum { start },
            "any" if call.keywords.is_empty() => Comprehension::Any,
            "all" if call.keywords.is_empty() => Comprehension::All,
            // `set(e for ...)` is `{e for ...}`.
            "set" if call.keywords.is_empty() => Comprehension::Set,
            // `dict((k, v) for ...)`: `dict` of the list of pairs.
            "min" | "max" | "sorted" | "list" | "dict" => {
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

    /// `tuple(e for x in t)` and `tuple([e for x in t])`, one `for` and no
    /// `if`, over a tuple whose length is known here: a display of names
    /// and number literals, a tuple constant (of the module, or a local
    /// assigned once at the top of the function), or a parameter annotated
    /// with a fixed-length tuple type that the function never assigns. The
    /// result is the tuple display `(h0(t[0]), h1(t[1]), ...)`, each `hk` a
    /// helper function that binds the target to its argument and returns
    /// `e`, so every item gets the type of its own `e` (`x * 2` over `(1,
    /// 2.5)` is `(2, 5.0)`), as in Python. Reading an item of `t` (a name, a
    /// number, a constant index into a tuple) has no effect, so reading each
    /// just before its `e` runs shows only in which error comes first when
    /// a name of the display is unbound and an earlier `e` raises. `None`
    /// when the call is not of that form.
    /// The length of the tuple the name `id` holds at `span`, when it is a
    /// tuple of a fixed length of at least one: a tuple local assigned
    /// before, a tuple parameter, or a tuple constant of the module.
    fn tuple_length(&self, id: &str, span: Span) -> Option<usize> {
        let length = if let Some((items, end)) = self.tuple_locals.get(id) {
            (*end <= span.start).then_some(items.len())
        } else if let Some(&length) = self.tuple_params.get(id) {
            Some(length)
        } else if !self.locals.contains(id) {
            self.scope.tuple_constants.get(id).map(Vec::len)
        } else {
            None
        };
        length.filter(|&length| length > 0)
    }

    fn tuple_of_fixed_length(&mut self, call: &ast::ExprCall, span: Span) -> Option<Option<Expr>> {
        if !call.keywords.is_empty() {
            return None;
        }
        // `tuple([a, b])`, `tuple((a, b))` and `tuple(t)` of a tuple `t`: the
        // tuple itself, its items evaluated in order.
        match call.args.as_slice() {
            [ast::Expr::List(list)] if !list.elts.is_empty() => {
                return Some(self.expr(&ast::Expr::Tuple(ast::ExprTuple {
                    range: list.range,
                    elts: list.elts.clone(),
                    ctx: ast::ExprContext::Load,
                })));
            }
            [tuple @ ast::Expr::Tuple(_)] => return Some(self.expr(tuple)),
            [name @ ast::Expr::Name(id)] if self.tuple_length(id.id.as_str(), span).is_some() => {
                return Some(self.expr(name));
            }
            _ => {}
        }
        let (elt, generators) = match call.args.as_slice() {
            [ast::Expr::GeneratorExp(generator)] => (&*generator.elt, &generator.generators),
            [ast::Expr::ListComp(comp)] => (&*comp.elt, &comp.generators),
            _ => return None,
        };
        let [generator] = generators.as_slice() else {
            return None;
        };
        if !generator.ifs.is_empty() || generator.is_async {
            return None;
        }
        let iter_span: Span = generator.iter.range().into();
        let at = |kind: ExprKind| Expr {
            kind,
            span: iter_span,
        };
        // The items of the tuple, each an expression without effects.
        let sources: Vec<Expr> = match &generator.iter {
            ast::Expr::Tuple(ast::ExprTuple { elts, .. })
            | ast::Expr::List(ast::ExprList { elts, .. })
                if !elts.is_empty() && elts.iter().all(is_plain_item) =>
            {
                let mut sources = Vec::new();
                for item in elts {
                    match self.expr(item) {
                        Some(item) => sources.push(item),
                        None => return Some(None),
                    }
                }
                sources
            }
            ast::Expr::Name(name) => {
                let length = self.tuple_length(name.id.as_str(), span)?;
                let Some(tuple) = self.expr(&generator.iter) else {
                    return Some(None);
                };
                (0..length)
                    .map(|k| {
                        at(ExprKind::Index {
                            value: Box::new(tuple.clone()),
                            indices: vec![at(ExprKind::Int(k as i64))],
                        })
                    })
                    .collect()
            }
            ast::Expr::Call(range_call)
                if matches!(range_call.func.as_ref(), ast::Expr::Name(name)
                    if name.id.as_str() == "range" && self.is_builtin("range")) =>
            {
                literal_range(range_call)?
                    .into_iter()
                    .map(|k| at(ExprKind::Int(k)))
                    .collect()
            }
            _ => return None,
        };
        let mut bound = Vec::new();
        target_names_of(&generator.target, &mut bound);
        let mut read = Vec::new();
        names_read(elt, &[], &mut read);
        let free: Vec<String> = self
            .free_among(read)
            .into_iter()
            .filter(|name| !bound.contains(name))
            .collect();
        let source = "__tuple_source";
        let range = elt.range();
        let body = vec![
            ast::Stmt::Assign(ast::StmtAssign {
                range: generator.target.range(),
                targets: vec![generator.target.clone()],
                value: Box::new(synthetic_name(source, range, ast::ExprContext::Load)),
                type_comment: None,
            }),
            ast::Stmt::Return(ast::StmtReturn {
                range,
                value: Some(Box::new(elt.clone())),
            }),
        ];
        let mut items = Vec::new();
        for (k, source_item) in sources.into_iter().enumerate() {
            let name = self.reserve_helper_name(hidden_format!("tuple_{}_{k}", span.start));
            let mut inner = FunctionLowering::new(self.scope, self.file);
            inner.local_imports = self.local_imports.clone();
            inner.locals.extend(free.iter().cloned());
            inner.locals.extend(bound.iter().cloned());
            inner.locals.insert(source.to_string());
            inner.lambdas = self.lambdas.clone();
            inner.lambdas.retain(|name, _| !bound.contains(name));
            let stmts = inner.block(&body);
            for (other, (_, made)) in &inner.lambdas {
                if let (Some(made), Some(entry)) = (made, self.lambdas.get_mut(other)) {
                    entry.1.get_or_insert_with(|| made.clone());
                }
            }
            if !inner.diagnostics.is_empty() {
                self.diagnostics.append(&mut inner.diagnostics);
                return Some(None);
            }
            let params = free
                .iter()
                .chain(std::iter::once(&source.to_string()))
                .map(|name| Param {
                    name: name.clone(),
                    span,
                    annotation: None,
                    default: None,
                    keyword_only: false,
                    nullable: false,
                })
                .collect();
            let args = free
                .iter()
                .map(|name| Expr {
                    kind: ExprKind::Local(name.clone()),
                    span,
                })
                .chain(std::iter::once(source_item))
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
                notes: Vec::new(),
                none_variants: Vec::new(),
            });
            items.push(Expr {
                kind: ExprKind::Call {
                    callee: Callee::Function(name),
                    args,
                    keywords: Vec::new(),
                },
                span,
            });
        }
        Some(Some(Expr {
            kind: ExprKind::Tuple(items),
            span,
        }))
    }

    fn call(&mut self, call: &ast::ExprCall, span: Span) -> Option<Expr> {
        // Numba's typed containers are Python's own under the interpreter
        // (NUMBA_DISABLE_JIT): `List()` and `List.empty_list(t)` are `[]`,
        // `List(xs)` is `list(xs)`, `Dict()` and `Dict.empty(k, v)` are
        // `{}`; what the program stores settles their types.
        if let Some(typed) = self
            .qualify(&call.func)
            .as_deref()
            .and_then(|name| name.strip_prefix("numba.typed.").map(str::to_string))
        {
            let range = call.range;
            let empty_list = || {
                ast::Expr::List(ast::ExprList {
                    range,
                    elts: Vec::new(),
                    ctx: ast::ExprContext::Load,
                })
            };
            let rewritten = match (typed.as_str(), call.args.as_slice()) {
                ("List", []) | ("List.empty_list", _) => Some(empty_list()),
                ("List", [items]) if call.keywords.is_empty() => {
                    Some(ast::Expr::Call(ast::ExprCall {
                        range,
                        func: Box::new(synthetic_name("list", range, ast::ExprContext::Load)),
                        args: vec![items.clone()],
                        keywords: Vec::new(),
                    }))
                }
                ("Dict", []) | ("Dict.empty", _) => Some(ast::Expr::Dict(ast::ExprDict {
                    range,
                    keys: Vec::new(),
                    values: Vec::new(),
                })),
                _ => None,
            };
            if let Some(rewritten) = rewritten {
                return self.expr(&rewritten);
            }
        }
        // `list()`, `tuple()` and `dict()` are the literals `[]`, `()` and
        // `{}`, so that later appends and stores settle their types in the
        // same way.
        if let ast::Expr::Name(function) = call.func.as_ref() {
            let id = function.id.as_str();
            if self.is_builtin(id) && call.args.is_empty() && call.keywords.is_empty() {
                let range = call.range;
                match id {
                    "list" => {
                        let ctx = ast::ExprContext::Load;
                        let elts = Vec::new();
                        return self.expr(&ast::Expr::List(ast::ExprList { range, elts, ctx }));
                    }
                    "tuple" => {
                        let ctx = ast::ExprContext::Load;
                        let elts = Vec::new();
                        return self.expr(&ast::Expr::Tuple(ast::ExprTuple { range, elts, ctx }));
                    }
                    "dict" => {
                        let (keys, values) = (Vec::new(), Vec::new());
                        return self.expr(&ast::Expr::Dict(ast::ExprDict {
                            range,
                            keys,
                            values,
                        }));
                    }
                    _ => {}
                }
            }
        }
        if let Some(rewritten) = self.range_consumed(call) {
            return self.call(&rewritten, span);
        }
        if let Some(rewritten) = self.pairs_consumed(call) {
            return self.call(&rewritten, span);
        }
        if let Some(rewritten) = self.map_consumed(call) {
            return self.call(&rewritten, span);
        }
        // `sum(xs, 0.0)`: the items of `xs` as a generator with that start.
        if let (ast::Expr::Name(function), [items, start]) =
            (call.func.as_ref(), call.args.as_slice())
        {
            if function.id.as_str() == "sum"
                && !self.locals.contains("sum")
                && !self.scope.functions.contains("sum")
                && !matches!(items, ast::Expr::GeneratorExp(_))
                && sum_start(start).is_some()
            {
                let range = items.range();
                let item = &*hidden("sum_item");
                let mut rewritten = call.clone();
                rewritten.args[0] = ast::Expr::GeneratorExp(ast::ExprGeneratorExp {
                    range,
                    elt: Box::new(synthetic_name(item, range, ast::ExprContext::Load)),
                    generators: vec![ast::Comprehension {
                        range: Default::default(),
                        target: synthetic_name(item, range, ast::ExprContext::Store),
                        iter: items.clone(),
                        ifs: Vec::new(),
                        is_async: false,
                    }],
                });
                return self.call(&rewritten, span);
            }
        }
        if let Some(keyed) = self.keyed_call(call, span) {
            return keyed;
        }
        if let Some(consumed) = self.consumed_generator(call, span) {
            return consumed;
        }
        if self.qualify(&call.func).as_deref() == Some("cython.cast") {
            return self.cython_cast(call, span);
        }
        if let Some(range_call) = self.range_call_use(call, span) {
            return range_call;
        }
        if let ast::Expr::Name(function) = call.func.as_ref() {
            if self.lambdas.contains_key(function.id.as_str()) {
                return self.lambda_call(function.id.as_str(), call, span);
            }
        }
        if matches!(call.func.as_ref(), ast::Expr::Name(name) if name.id.as_str() == "float"
            && !self.locals.contains("float")
            && !self.scope.functions.contains("float"))
        {
            if let Some(value) = float_of_string_call(call) {
                return Some(Expr {
                    kind: ExprKind::Float(value),
                    span,
                });
            }
            if let [ast::Expr::Constant(ast::ExprConstant {
                value: ast::Constant::Str(text),
                ..
            })] = call.args.as_slice()
            {
                self.error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("`float` of the string {text:?} is not supported"),
                    "not a number literal ferropy reads",
                    "write the number as a float literal, or use float(\"inf\"), float(\"-inf\") \
                     or float(\"nan\")",
                );
                return None;
            }
        }
        if matches!(call.func.as_ref(), ast::Expr::Name(name) if name.id.as_str() == "tuple"
            && !self.locals.contains("tuple")
            && !self.scope.functions.contains("tuple"))
        {
            if let Some(made) = self.tuple_of_fixed_length(call, span) {
                return made;
            }
            // `tuple(xs)` of a list, a generator or another iterable whose
            // length is known only when it runs: a tuple of any length
            // (`tuple[int, ...]`), made from `list(xs)`.
            if let [iterable] = call.args.as_slice() {
                if call.keywords.is_empty() && self.is_builtin("list") {
                    if let ast::Expr::List(list) = iterable {
                        if list.elts.is_empty() {
                            let (range, elts, ctx) =
                                (call.range, Vec::new(), ast::ExprContext::Load);
                            return self.expr(&ast::Expr::Tuple(ast::ExprTuple {
                                range,
                                elts,
                                ctx,
                            }));
                        }
                    }
                    let as_list = ast::Expr::Call(ast::ExprCall {
                        range: call.range,
                        func: Box::new(synthetic_name("list", call.range, ast::ExprContext::Load)),
                        args: vec![iterable.clone()],
                        keywords: Vec::new(),
                    });
                    let list = self.expr(&as_list)?;
                    return Some(Expr {
                        span,
                        kind: ExprKind::Call {
                            callee: Callee::Builtin("__var_tuple__".into()),
                            args: vec![list],
                            keywords: Vec::new(),
                        },
                    });
                }
            }
            // A compiled tuple has a length and item types fixed at compile
            // time; `tuple(xs)` has the length of a list or generator, known
            // only when it runs.
            self.error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                "this form of `tuple(...)` is not supported",
                "not one iterable",
                "write `tuple(xs)` with one iterable and no keyword (with `list` not redefined), \
                 or write the items out, as in `(f(a), f(b), f(c))`",
            );
            return None;
        }
        let mut ok = true;
        // `np.array([[1, 2], [3, 4]])`: the list literal is read as nested
        // tuples, which the array constructor turns into an array.
        let makes_array = matches!(
            self.qualify(&call.func).as_deref(),
            Some("numpy.array" | "numpy.asarray")
        );
        // `map` and `filter` compile where `map_consumed` and `map_loop`
        // rewrite them.
        if let ast::Expr::Name(name) = call.func.as_ref() {
            let id = name.id.as_str();
            if matches!(id, "map" | "filter") && self.is_builtin(id) {
                self.error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("`{id}` is only supported as the argument of list, sorted, set, sum, min, max, any or all, or as what a `for` loop or a comprehension walks"),
                    "unsupported use",
                    &format!("write `list({id}(...))`, or a comprehension such as `[f(x) for x in xs]`"),
                );
                return None;
            }
        }
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
                } else if let Some(qualified) = self.import_of(id) {
                    Callee::Qualified(qualified.clone())
                } else if BUILTIN_FUNCTIONS.contains(&id) {
                    Callee::Builtin(id.to_string())
                } else if let Some(by_key) = ["sorted", "min", "max", "min_or", "max_or"]
                    .into_iter()
                    .find(|b| id == hidden(&format!("{b}_by_key")))
                {
                    // What `keyed_call` writes: the decorated list sorted
                    // (or its extreme found) by keys and positions alone.
                    Callee::Builtin(format!("__{by_key}_by_key__"))
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
                        "a `range` is only supported as the iterable of a `for` loop, in `len(...)` and indexed",
                        "range used another way",
                        "write `for i in range(n):`, `len(r)` or `r[i]` (a range stored in a \
                         variable assigned once works the same); for a list of the numbers, \
                         write `list(range(n))`",
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
                } else if matches!(id, "enumerate" | "zip" | "map" | "filter") {
                    // Reached when the iterator is used as a value: passed
                    // on, stored, or given to a function that does not
                    // consume it.
                    self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("`{id}(...)` is only supported where it is walked or consumed"),
                        "an iterator used as a value",
                        &format!(
                            "walk it with a `for` loop or a comprehension, or consume it with \
                             `list`, `sorted`, `set`, `dict`, `sum`, `min`, `max`, `any` or `all` \
                             (`list({id}(...))` for a list to pass on)"
                        ),
                    );
                    return None;
                } else if PYTHON_BUILTINS.contains(&id) {
                    self.error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("the builtin `{id}` is not supported in compiled code"),
                        "unsupported builtin",
                        "write the loop out, or call it in the Python caller; the builtins \
                         compiled code supports are listed in docs/semantics.md",
                    );
                    return None;
                } else {
                    self.error(
                        codes::UNDEFINED_NAME,
                        span,
                        format!("unknown function `{id}`"),
                        "not defined in this module or supported as a builtin",
                        "define the function in this file, import it from a module ferropy \
                         knows (math, cmath, numpy, bisect, heapq), or use a supported builtin",
                    );
                    return None;
                }
            }
            ast::Expr::Name(name) => Callee::Local(name.id.to_string()),
            ast::Expr::Attribute(attribute) if self.is_module_path(&attribute.value) => {
                Callee::Qualified(self.qualify(&call.func)?)
            }
            // `dict.fromkeys(keys, value)`, a class method of the builtin.
            ast::Expr::Attribute(attribute)
                if attribute.attr.as_str() == "fromkeys"
                    && matches!(attribute.value.as_ref(), ast::Expr::Name(name)
                        if name.id.as_str() == "dict" && !self.locals.contains(name.id.as_str())) =>
            {
                Callee::Builtin("__dict_fromkeys__".into())
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

/// The start of `sum(..., start)` when it is a number literal (`0.0`,
/// `-1`, `0`).
/// The longest tuple `tuple(e for x in range(...))` makes: as long as the
/// longest tuple a compiled function returns to Python.
const LONGEST_RANGE_TUPLE: i64 = 16;

/// The values of `range(...)` whose arguments are int literals, when there
/// are from 1 to `LONGEST_RANGE_TUPLE` of them.
fn literal_range(call: &ast::ExprCall) -> Option<Vec<i64>> {
    if !call.keywords.is_empty() {
        return None;
    }
    let arguments = call
        .args
        .iter()
        .map(|argument| match sum_start(argument)? {
            SumStart::Int(value) => Some(value),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()?;
    let (start, stop, step) = match arguments.as_slice() {
        [stop] => (0, *stop, 1),
        [start, stop] => (*start, *stop, 1),
        [start, stop, step] if *step != 0 => (*start, *stop, *step),
        _ => return None,
    };
    let mut values = Vec::new();
    let mut value = start;
    while (step > 0 && value < stop) || (step < 0 && value > stop) {
        if values.len() as i64 == LONGEST_RANGE_TUPLE {
            return None;
        }
        values.push(value);
        value = value.checked_add(step)?;
    }
    (!values.is_empty()).then_some(values)
}

fn sum_start(start: &ast::Expr) -> Option<SumStart> {
    let (negate, literal) = match start {
        ast::Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::USub => (true, &*unary.operand),
        other => (false, other),
    };
    let ast::Expr::Constant(constant) = literal else {
        return None;
    };
    match &constant.value {
        ast::Constant::Int(value) => {
            let value: i64 = value.to_string().parse().ok()?;
            Some(SumStart::Int(if negate {
                value.checked_neg()?
            } else {
                value
            }))
        }
        ast::Constant::Float(value) => Some(SumStart::Float(
            (if negate { -value } else { *value }).to_bits(),
        )),
        _ => None,
    }
}

/// The first value of a sum's total: an int or a float (as its bits, so
/// the comprehension kinds compare with `==`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SumStart {
    Int(i64),
    Float(u64),
}

/// What a comprehension's helper function does with each element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Comprehension {
    /// `[e for ...]`: appends it to a new list.
    List,
    /// `sum(e for ...)`: adds it to a total starting at 0 (or at the
    /// literal `start` of `sum(e for ..., start)`).
    Sum { start: SumStart },
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
            Comprehension::Sum { .. } => "sum",
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
        if c.is_ascii_digit() {
            // A number literal, suffix and all: `0.9j`, `1e5`, `0x1f`.
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.')) {
                i += 1;
            }
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
/// An item of a tuple display that reading cannot change anything or
/// raise: a name or a number literal (negated too).
fn is_plain_item(item: &ast::Expr) -> bool {
    match item {
        ast::Expr::Name(_) => true,
        ast::Expr::Constant(constant) => matches!(
            constant.value,
            ast::Constant::Int(_) | ast::Constant::Float(_) | ast::Constant::Bool(_)
        ),
        ast::Expr::UnaryOp(unary) => {
            matches!(unary.op, ast::UnaryOp::USub | ast::UnaryOp::UAdd)
                && matches!(&*unary.operand, ast::Expr::Constant(_))
                && is_plain_item(&unary.operand)
        }
        _ => false,
    }
}

/// The names `expr` reads, in the order they first appear, leaving out
/// those in `bound` and those a comprehension or lambda inside `expr`
/// binds for itself: `[-x for x in xs]` reads `xs` only, as in Python,
/// where a comprehension is a scope of its own.
fn names_read(expr: &ast::Expr, bound: &[String], out: &mut Vec<String>) {
    let mut read = |e: &ast::Expr| names_read(e, bound, out);
    match expr {
        ast::Expr::Name(name) => {
            let id = name.id.to_string();
            if !bound.contains(&id) && !out.contains(&id) {
                out.push(id);
            }
        }
        ast::Expr::Lambda(lambda) => {
            let params = &lambda.args;
            for default in params
                .posonlyargs
                .iter()
                .chain(&params.args)
                .chain(&params.kwonlyargs)
                .filter_map(|a| a.default.as_deref())
            {
                read(default);
            }
            let mut inner = bound.to_vec();
            inner.extend(
                params
                    .posonlyargs
                    .iter()
                    .chain(&params.args)
                    .chain(&params.kwonlyargs)
                    .map(|a| a.def.arg.to_string()),
            );
            inner.extend(
                params
                    .vararg
                    .iter()
                    .chain(&params.kwarg)
                    .map(|a| a.arg.to_string()),
            );
            names_read(&lambda.body, &inner, out);
        }
        ast::Expr::ListComp(comp) => {
            comprehension_names_read(&[&comp.elt], &comp.generators, bound, out)
        }
        ast::Expr::SetComp(comp) => {
            comprehension_names_read(&[&comp.elt], &comp.generators, bound, out)
        }
        ast::Expr::GeneratorExp(comp) => {
            comprehension_names_read(&[&comp.elt], &comp.generators, bound, out)
        }
        ast::Expr::DictComp(comp) => {
            comprehension_names_read(&[&comp.key, &comp.value], &comp.generators, bound, out)
        }
        ast::Expr::BoolOp(e) => e.values.iter().for_each(read),
        ast::Expr::NamedExpr(e) => {
            read(&e.value);
            read(&e.target);
        }
        ast::Expr::BinOp(e) => {
            read(&e.left);
            read(&e.right);
        }
        ast::Expr::UnaryOp(e) => read(&e.operand),
        ast::Expr::IfExp(e) => {
            read(&e.test);
            read(&e.body);
            read(&e.orelse);
        }
        ast::Expr::Dict(e) => {
            for (key, value) in e.keys.iter().zip(&e.values) {
                if let Some(key) = key {
                    read(key);
                }
                read(value);
            }
        }
        ast::Expr::Set(e) => e.elts.iter().for_each(read),
        ast::Expr::List(e) => e.elts.iter().for_each(read),
        ast::Expr::Tuple(e) => e.elts.iter().for_each(read),
        ast::Expr::Await(e) => read(&e.value),
        ast::Expr::Yield(e) => e.value.iter().for_each(|v| read(v)),
        ast::Expr::YieldFrom(e) => read(&e.value),
        ast::Expr::Compare(e) => {
            read(&e.left);
            e.comparators.iter().for_each(read);
        }
        ast::Expr::Call(e) => {
            read(&e.func);
            e.args.iter().for_each(&mut read);
            e.keywords.iter().for_each(|k| read(&k.value));
        }
        ast::Expr::FormattedValue(e) => {
            read(&e.value);
            e.format_spec.iter().for_each(|v| read(v));
        }
        ast::Expr::JoinedStr(e) => e.values.iter().for_each(read),
        ast::Expr::Attribute(e) => read(&e.value),
        ast::Expr::Subscript(e) => {
            read(&e.value);
            read(&e.slice);
        }
        ast::Expr::Starred(e) => read(&e.value),
        ast::Expr::Slice(e) => {
            for part in [&e.lower, &e.upper, &e.step].into_iter().flatten() {
                read(part);
            }
        }
        ast::Expr::Constant(_) => {}
    }
}

/// `names_read` of a comprehension: its first iterable is read where the
/// comprehension is; every later part sees the targets bound before it.
fn comprehension_names_read(
    elts: &[&ast::Expr],
    generators: &[ast::Comprehension],
    bound: &[String],
    out: &mut Vec<String>,
) {
    let mut inner = bound.to_vec();
    for (k, generator) in generators.iter().enumerate() {
        names_read(&generator.iter, if k == 0 { bound } else { &inner }, out);
        target_names_of(&generator.target, &mut inner);
        for test in &generator.ifs {
            names_read(test, &inner, out);
        }
    }
    for elt in elts {
        names_read(elt, &inner, out);
    }
}

fn target_names_of(target: &ast::Expr, out: &mut Vec<String>) {
    match target {
        ast::Expr::Name(name) => out.push(name.id.to_string()),
        ast::Expr::Tuple(tuple) => tuple.elts.iter().for_each(|e| target_names_of(e, out)),
        ast::Expr::List(list) => list.elts.iter().for_each(|e| target_names_of(e, out)),
        ast::Expr::Starred(starred) => target_names_of(&starred.value, out),
        _ => {}
    }
}

/// The int literal `value` as Python source writes it (`-3` is `-` of `3`).
fn int_literal(value: i64, range: rustpython_parser::text_size::TextRange) -> ast::Expr {
    let literal = ast::Expr::Constant(ast::ExprConstant {
        range,
        value: ast::Constant::Int(value.unsigned_abs().into()),
        kind: None,
    });
    if value < 0 {
        ast::Expr::UnaryOp(ast::ExprUnaryOp {
            range,
            op: ast::UnaryOp::USub,
            operand: Box::new(literal),
        })
    } else {
        literal
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

/// A call of `name` that lowering writes itself.
fn synthetic_call(
    name: &str,
    args: Vec<ast::Expr>,
    keywords: Vec<ast::Keyword>,
    range: rustpython_parser::text_size::TextRange,
) -> ast::Expr {
    ast::Expr::Call(ast::ExprCall {
        range,
        func: Box::new(synthetic_name(name, range, ast::ExprContext::Load)),
        args,
        keywords,
    })
}

/// Statements run in order, as one statement (an `if True:` block).
/// Whether evaluating `expr` changes nothing (so evaluating it twice, or
/// after something else, is unobservable): names, constants, operators,
/// element and attribute reads, and calls of `len`, `abs`, `min`, `max`,
/// `int`, `float`, `round` and of module functions (`math.sqrt`).
/// Whether evaluating `expr` cannot change any list, dict or set: it
/// reads names, constants, elements and attributes, computes, and calls
/// only builtins that change nothing (`sum`, `len`, `min`, ...), also in
/// comprehensions of its own. Conservative: anything else may.
fn changes_no_list(expr: &ast::Expr, builtin: &dyn Fn(&str) -> bool) -> bool {
    let one = |expr: &ast::Expr| changes_no_list(expr, builtin);
    let all = |exprs: &[ast::Expr]| exprs.iter().all(|e| changes_no_list(e, builtin));
    match expr {
        ast::Expr::Name(_) | ast::Expr::Constant(_) => true,
        ast::Expr::BinOp(e) => one(&e.left) && one(&e.right),
        ast::Expr::UnaryOp(e) => one(&e.operand),
        ast::Expr::BoolOp(e) => all(&e.values),
        ast::Expr::Compare(e) => one(&e.left) && all(&e.comparators),
        ast::Expr::IfExp(e) => one(&e.test) && one(&e.body) && one(&e.orelse),
        ast::Expr::Tuple(e) => all(&e.elts),
        ast::Expr::List(e) => all(&e.elts),
        ast::Expr::Subscript(e) => one(&e.value) && one(&e.slice),
        ast::Expr::Slice(e) => [&e.lower, &e.upper, &e.step]
            .into_iter()
            .all(|part| part.as_deref().is_none_or(|e| one(e))),
        ast::Expr::Attribute(e) => one(&e.value),
        ast::Expr::Call(call) => {
            matches!(
                call.func.as_ref(),
                ast::Expr::Name(name) if matches!(
                    name.id.as_str(),
                    "sum" | "len" | "min" | "max" | "abs" | "int" | "float" | "round" | "sorted"
                        | "tuple" | "list" | "set" | "any" | "all" | "bool"
                ) && builtin(name.id.as_str())
            ) && all(&call.args)
                && call.keywords.iter().all(|k| one(&k.value))
        }
        ast::Expr::GeneratorExp(e) => {
            one(&e.elt)
                && e.generators
                    .iter()
                    .all(|g| one(&g.iter) && g.ifs.iter().all(|e| one(e)))
        }
        ast::Expr::ListComp(e) => {
            one(&e.elt)
                && e.generators
                    .iter()
                    .all(|g| one(&g.iter) && g.ifs.iter().all(|e| one(e)))
        }
        _ => false,
    }
}

fn effect_free(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::Name(_) | ast::Expr::Constant(_) => true,
        ast::Expr::BinOp(e) => effect_free(&e.left) && effect_free(&e.right),
        ast::Expr::UnaryOp(e) => effect_free(&e.operand),
        ast::Expr::BoolOp(e) => e.values.iter().all(effect_free),
        ast::Expr::Compare(e) => effect_free(&e.left) && e.comparators.iter().all(effect_free),
        ast::Expr::IfExp(e) => {
            effect_free(&e.test) && effect_free(&e.body) && effect_free(&e.orelse)
        }
        ast::Expr::Tuple(e) => e.elts.iter().all(effect_free),
        ast::Expr::Subscript(e) => effect_free(&e.value) && effect_free(&e.slice),
        ast::Expr::Slice(e) => [&e.lower, &e.upper, &e.step]
            .into_iter()
            .all(|part| part.as_deref().is_none_or(effect_free)),
        ast::Expr::Attribute(e) => effect_free(&e.value),
        ast::Expr::Call(call) => {
            let pure_function = match call.func.as_ref() {
                ast::Expr::Name(name) => matches!(
                    name.id.as_str(),
                    "len" | "abs" | "min" | "max" | "int" | "float" | "round"
                ),
                ast::Expr::Attribute(attribute) => matches!(
                    attribute.value.as_ref(),
                    ast::Expr::Name(module) if matches!(module.id.as_str(), "math" | "np" | "numpy")
                ),
                _ => false,
            };
            pure_function && call.keywords.is_empty() && call.args.iter().all(effect_free)
        }
        _ => false,
    }
}

/// Whether `expr` reads anything but local names and constants (an element,
/// an attribute, a length), which code run in between could change.
fn reads_beyond_locals(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::Name(_) | ast::Expr::Constant(_) => false,
        ast::Expr::BinOp(e) => reads_beyond_locals(&e.left) || reads_beyond_locals(&e.right),
        ast::Expr::UnaryOp(e) => reads_beyond_locals(&e.operand),
        _ => true,
    }
}

fn always(body: Vec<Stmt>, span: Span) -> Stmt {
    Stmt {
        kind: StmtKind::If {
            test: Expr {
                kind: ExprKind::Bool(true),
                span,
            },
            body,
            orelse: Vec::new(),
        },
        span,
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
/// Locals assigned exactly once, by `f = lambda params: body` with plain
/// positional parameters (and not parameters of the function).
fn lambda_variables(
    body: &[ast::Stmt],
    parameters: &HashSet<String>,
) -> HashMap<String, (ast::ExprLambda, Option<String>)> {
    fn find(stmts: &[ast::Stmt], out: &mut Vec<(String, ast::ExprLambda)>) {
        for stmt in stmts {
            match stmt {
                ast::Stmt::Assign(assign) => {
                    if let ([ast::Expr::Name(target)], ast::Expr::Lambda(lambda)) =
                        (assign.targets.as_slice(), assign.value.as_ref())
                    {
                        let args = &lambda.args;
                        let plain = args.posonlyargs.is_empty()
                            && args.kwonlyargs.is_empty()
                            && args.vararg.is_none()
                            && args.kwarg.is_none()
                            && args.args.iter().all(|a| a.default.is_none());
                        if plain {
                            out.push((target.id.to_string(), lambda.clone()));
                        }
                    }
                }
                ast::Stmt::For(node) => {
                    find(&node.body, out);
                    find(&node.orelse, out);
                }
                ast::Stmt::While(node) => {
                    find(&node.body, out);
                    find(&node.orelse, out);
                }
                ast::Stmt::If(node) => {
                    find(&node.body, out);
                    find(&node.orelse, out);
                }
                ast::Stmt::With(node) => find(&node.body, out),
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    find(body, &mut found);
    let counts = crate::range_variables::assignment_counts(body);
    found
        .into_iter()
        .filter(|(name, _)| counts.get(name) == Some(&1) && !parameters.contains(name))
        .map(|(name, lambda)| (name, (lambda, None)))
        .collect()
}

fn collect_assigned_names(stmts: &[ast::Stmt], names: &mut HashSet<String>) {
    fn target_names(target: &ast::Expr, names: &mut HashSet<String>) {
        match target {
            ast::Expr::Name(name) => {
                names.insert(name.id.to_string());
            }
            ast::Expr::Tuple(tuple) => tuple.elts.iter().for_each(|t| target_names(t, names)),
            ast::Expr::List(list) => list.elts.iter().for_each(|t| target_names(t, names)),
            ast::Expr::Starred(starred) => target_names(&starred.value, names),
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

/// The parameter types a signature gives `def`, one per parameter: those
/// it leaves out (Pythran's trailing optional arguments) take the type of
/// their default value.
fn signature_parameters(
    signature: &Signature,
    def: &ast::StmtFunctionDef,
    all_args: &[&ast::ArgWithDefault],
    defaults: &[Option<ConstValue>],
    function_span: Span,
) -> Result<Vec<Option<ParamType>>, Diagnostic> {
    let given = signature.params.len();
    let mismatch = || {
        let what = if signature.code == codes::BAD_PYTHRAN_EXPORT {
            "`#pythran export`"
        } else {
            "the signature"
        };
        Diagnostic::error(
            signature.code,
            signature.span,
            format!(
                "{what} gives {given} argument type{} but `{}` has {} parameters",
                if given == 1 { "" } else { "s" },
                def.name,
                all_args.len()
            ),
        )
        .with_secondary(function_span, "defined here")
        .with_hint("list one type per parameter")
    };
    if given > all_args.len() {
        return Err(mismatch());
    }
    let mut types = Vec::new();
    for (position, arg) in all_args.iter().enumerate() {
        let default = defaults.get(position).cloned().flatten();
        let optional = signature.optional.get(position).copied().unwrap_or(false);
        if optional && arg.default.is_none() {
            return Err(Diagnostic::error(
                signature.code,
                signature.span,
                format!(
                    "argument {} is optional (`?`) but `{}` has no default",
                    position + 1,
                    arg.def.arg
                ),
            )
            .with_secondary(arg.def.range.into(), "no default value")
            .with_hint("give the parameter a default value, or drop the `?`"));
        }
        match signature.params.get(position) {
            Some(ty) => types.push(Some(ty.clone())),
            None => match default {
                Some(value) => types.push(Some(ParamType::Known(match value {
                    ConstValue::Int(_) => crate::types::Type::Int,
                    ConstValue::Float(_) => crate::types::Type::Float,
                    ConstValue::Bool(_) => crate::types::Type::Bool,
                    ConstValue::Str(_) => crate::types::Type::Str,
                    ConstValue::None => crate::types::Type::None,
                }))),
                None if arg.default.is_some() => types.push(None),
                None => return Err(mismatch()),
            },
        }
    }
    Ok(types)
}

/// `x is None` or `x is not None`, one comparison.
fn is_none_test(compare: &ast::ExprCompare) -> bool {
    matches!(compare.ops.as_slice(), [ast::CmpOp::Is | ast::CmpOp::IsNot])
        && matches!(
            compare.comparators.as_slice(),
            [ast::Expr::Constant(ast::ExprConstant {
                value: ast::Constant::None,
                ..
            })]
        )
}

/// Whether a loop's iterable is a call of `range` or a `prange`.
/// `name = value`, a hidden local that lowering made.
fn hidden_assignment(name: &str, value: Expr, span: Span) -> Stmt {
    Stmt {
        kind: StmtKind::Assign {
            target: Target::Name(name.to_string(), span),
            value,
            annotation: None,
        },
        span,
    }
}

/// What a `for` over `zip(...)` or `enumerate(...)` walks, per argument:
/// a hidden local holding the list, array, tuple or keys, or the hidden
/// start, stop and step of a `range(...)` argument.
enum Iterable {
    Local(String),
    Range([String; 3]),
}

fn is_range_call(lowering: &FunctionLowering<'_>, iter: &ast::Expr) -> bool {
    let ast::Expr::Call(call) = iter else {
        return false;
    };
    let is_local =
        matches!(call.func.as_ref(), ast::Expr::Name(n) if lowering.locals.contains(n.id.as_str()));
    !is_local
        && matches!(lowering.qualify(&call.func).as_deref(),
            Some(name) if name == "range" || PRANGE_NAMES.contains(&name))
}

/// The names an `import` or `from ... import` statement binds, each with
/// the qualified name it stands for: `import numpy as np` binds `np` to
/// `numpy`, `import numpy.typing` binds `numpy`, `from math import sqrt`
/// binds `sqrt` to `math.sqrt`.
fn import_bindings(stmt: &ast::Stmt) -> Vec<(String, String)> {
    match stmt {
        ast::Stmt::Import(import) => import
            .names
            .iter()
            .map(|alias| {
                let full = alias.name.to_string();
                match &alias.asname {
                    Some(asname) => (asname.to_string(), full),
                    None => {
                        let first = full.split('.').next().unwrap_or(&full).to_string();
                        (first.clone(), first)
                    }
                }
            })
            .collect(),
        ast::Stmt::ImportFrom(import) => {
            let module = import
                .module
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            import
                .names
                .iter()
                .map(|alias| {
                    let local = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                    (local, format!("{module}.{}", alias.name))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// `np.linalg.norm` as `numpy.linalg.norm`: the first name replaced by what
/// `import_of` says it was imported as.
fn qualify_with<'a>(
    expr: &ast::Expr,
    import_of: &dyn Fn(&str) -> Option<&'a String>,
) -> Option<String> {
    match expr {
        ast::Expr::Name(name) => Some(
            import_of(name.id.as_str())
                .cloned()
                .unwrap_or_else(|| name.id.to_string()),
        ),
        ast::Expr::Attribute(attribute) => {
            let base = qualify_with(&attribute.value, import_of)?;
            Some(format!("{base}.{}", attribute.attr))
        }
        _ => None,
    }
}

/// The first `break` that leaves the loop whose body this is (one outside
/// any loop nested in it).
fn break_out_of(body: &[ast::Stmt]) -> Option<Span> {
    body.iter().find_map(|stmt| match stmt {
        ast::Stmt::Break(b) => Some(b.range.into()),
        ast::Stmt::If(s) => break_out_of(&s.body).or_else(|| break_out_of(&s.orelse)),
        ast::Stmt::With(s) => break_out_of(&s.body),
        ast::Stmt::For(s) => break_out_of(&s.orelse),
        ast::Stmt::While(s) => break_out_of(&s.orelse),
        _ => None,
    })
}

/// `call` (a builtin consuming an iterable: `sum(...)`, `sorted(...)`)
/// with its first argument replaced by the comprehension of `elt` over
/// `generators`: a generator expression when `lazy` (`sum`, `any`, `all`,
/// which consume it as it runs) and the call has no other arguments, a
/// list comprehension otherwise.
fn consumed_as_comprehension(
    call: &ast::ExprCall,
    lazy: bool,
    range: rustpython_parser::text_size::TextRange,
    elt: Box<ast::Expr>,
    generators: Vec<ast::Comprehension>,
) -> ast::ExprCall {
    let iterable = if lazy && call.args.len() == 1 && call.keywords.is_empty() {
        ast::Expr::GeneratorExp(ast::ExprGeneratorExp {
            range,
            elt,
            generators,
        })
    } else {
        ast::Expr::ListComp(ast::ExprListComp {
            range,
            elt,
            generators,
        })
    };
    let mut rewritten = call.clone();
    if let Some(first) = rewritten.args.first_mut() {
        *first = iterable;
    }
    rewritten
}

/// What `map`/`filter` over `iterables` walks, for `map_consumed` and
/// `map_loop`: the loop target of the item `names` (a tuple of them for
/// several iterables) and the iterable (several zipped).
fn map_walk(
    names: &[String],
    iterables: &[ast::Expr],
    range: rustpython_parser::text_size::TextRange,
) -> (ast::Expr, ast::Expr) {
    let store = ast::ExprContext::Store;
    let target = match names {
        [name] => synthetic_name(name, range, store),
        _ => ast::Expr::Tuple(ast::ExprTuple {
            range,
            elts: names
                .iter()
                .map(|n| synthetic_name(n, range, store))
                .collect(),
            ctx: store,
        }),
    };
    let iter = match iterables {
        [iterable] => iterable.clone(),
        _ => ast::Expr::Call(ast::ExprCall {
            range,
            func: Box::new(synthetic_name("zip", range, ast::ExprContext::Load)),
            args: iterables.to_vec(),
            keywords: Vec::new(),
        }),
    };
    (target, iter)
}

/// The items of an assignment target with exactly one starred item at its
/// top level (`a, *rest`), and that item's position.
fn starred_target(target: &ast::Expr) -> Option<(&[ast::Expr], usize)> {
    let elts = match target {
        ast::Expr::Tuple(tuple) => &tuple.elts,
        ast::Expr::List(list) => &list.elts,
        _ => return None,
    };
    let mut starred = elts
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, ast::Expr::Starred(_)))
        .map(|(k, _)| k);
    let star = starred.next()?;
    starred.next().is_none().then_some((elts.as_slice(), star))
}

/// Whether `expr` is the literal `...`.
fn is_ellipsis(expr: &ast::Expr) -> bool {
    matches!(expr, ast::Expr::Constant(constant) if matches!(constant.value, ast::Constant::Ellipsis))
}

/// Whether evaluating `expr` can neither raise nor change anything: a
/// constant, a signed constant, a variable, or a tuple of such.
fn inert(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::Constant(_) | ast::Expr::Name(_) => true,
        ast::Expr::UnaryOp(signed) => {
            matches!(signed.op, ast::UnaryOp::USub | ast::UnaryOp::UAdd)
                && matches!(signed.operand.as_ref(), ast::Expr::Constant(_))
        }
        ast::Expr::Tuple(tuple) => tuple.elts.iter().all(inert),
        _ => false,
    }
}
