//! Type inference: the untyped IR to the typed IR.
//!
//! Every exported function starts as one instance with its declared parameter
//! types. Calls to unannotated helpers create one instance per distinct tuple
//! of argument types (monomorphisation, as Pythran and Numba do). A variable's
//! type is the join of every value assigned to it (`acc = 0` then `acc += 0.5`
//! makes `acc` a float), so each instance is typed to a fixpoint; instances
//! are re-typed until no return type changes, which makes recursion work.
//! Only the final pass reports diagnostics and builds the typed IR.

/// The most values a tuple may hold (the runtime converts tuples of up to
/// 16 values to Python).
const MAX_TUPLE: usize = 16;

pub(crate) mod arrays;
mod complex;
mod dicts;
mod lists;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{self, ArrayFill, Intrinsic, Literal};
use crate::ir::untyped::{self, Callee, ConstValue, ParamType};
use crate::ir::{BinaryOp, BoolOp, CompareOp, UnaryOp};
use crate::types::{promote_values, ArrayType, CallableType, Dtype, Type};

/// The most rounds of re-typing before giving up on a recursive definition.
const MAX_ROUNDS: usize = 64;

pub fn infer(module: &untyped::Module) -> Result<typed::Module, Vec<Diagnostic>> {
    let mut inference = Inference::new(module);
    inference.seed_exports();
    let roots = inference.instances.len();
    inference.solve();
    let functions = inference.finish(roots);
    inference.report_uncompiled();
    inference.report_dropped();
    if inference.diagnostics.is_empty() {
        Ok(typed::Module {
            constants: inference.typed_constants(),
            functions,
        })
    } else {
        inference
            .diagnostics
            .sort_by_key(|d| (d.span.start, d.span.end));
        inference.diagnostics.dedup();
        Err(inference.diagnostics)
    }
}

struct Inference<'m> {
    module: &'m untyped::Module,
    constants: HashMap<&'m str, ConstValue>,
    instances: Vec<Instance<'m>>,
    by_key: HashMap<(String, Vec<Type>), usize>,
    diagnostics: Vec<Diagnostic>,
    /// Functions whose lowering errors have been reported already.
    reported: HashSet<String>,
    /// Statements the final pass typed to nothing without a diagnostic in
    /// their function (see `check_kept`).
    dropped: Vec<Span>,
    /// Instances whose failure a call site has reported.
    failed_callees: HashSet<usize>,
    /// Instances called from functions typed in the final pass.
    report_calls: Vec<usize>,
}

struct Instance<'m> {
    function: &'m untyped::Function,
    params: Vec<Type>,
    /// The current approximation; `None` while unknown.
    return_type: Option<Type>,
    /// Its `none_params` variant reported reads of None parameters, so
    /// reading them reports nothing more.
    none_errors: bool,
    /// The container types its body settles for parameters it was given
    /// with unknown parts (`def fill(rows): rows[0].append(1.5)` called
    /// with `[[] for _ in r]`), which its callers take for the variables
    /// they passed; `None` for the others.
    settled_params: Vec<Option<Type>>,
}

/// Per-instance state while walking a body.
struct Cx {
    instance: usize,
    /// Variable types so far (parameters included).
    env: BTreeMap<String, Type>,
    /// Variables in first-assignment order.
    order: Vec<String>,
    /// Variables with an annotation: their type does not widen.
    fixed: HashMap<String, Type>,
    /// The declared or inferred return type, in the final pass.
    return_type: Option<Type>,
    returns: Vec<Type>,
    report: bool,
    assigned_params: HashSet<String>,
    /// Where each variable first got its type, for messages naming both sides.
    origins: HashMap<String, Span>,
    /// Variables whose assignment already failed with a diagnostic; reading
    /// them reports nothing more.
    poisoned: HashSet<String>,
    /// How many diagnostics there were when the final pass began.
    reported_before: usize,
    /// The hidden locals holding the keys a loop over a dict or set walks
    /// (`iteration_view`).
    iter_views: HashMap<String, IterView>,
    /// Variables assigned an element of a container (`inner = out[k]`):
    /// the element read, so that what refines the variable's type (a store
    /// into `inner`) refines the container's element type too, the two
    /// being one object.
    element_of: HashMap<String, untyped::Expr>,
}

/// A loop over a dict or set held by a local: the local the container is
/// kept in for the loop, and what each step yields.
#[derive(Clone)]
struct IterView {
    container: String,
    yields: Yields,
}

#[derive(Clone, Copy, PartialEq)]
enum Yields {
    Keys,
    Items,
    Values,
}

impl<'m> Inference<'m> {
    fn new(module: &'m untyped::Module) -> Self {
        Inference {
            module,
            constants: module
                .constants
                .iter()
                .map(|c| (c.name.as_str(), c.value.clone()))
                .collect(),
            instances: Vec::new(),
            by_key: HashMap::new(),
            diagnostics: Vec::new(),
            reported: HashSet::new(),
            dropped: Vec::new(),
            failed_callees: HashSet::new(),
            report_calls: Vec::new(),
        }
    }

    fn slot(&self, name: &str) -> Option<&'m untyped::FunctionSlot> {
        self.module.functions.iter().find(|f| f.name == name)
    }

    /// Creates the instance of every exported function, reporting lowering
    /// errors of exported functions.
    fn seed_exports(&mut self) {
        for slot in &self.module.functions {
            if !slot.exported {
                continue;
            }
            let function = match &slot.lowered {
                Ok(function) => function,
                Err(diagnostics) => {
                    self.reported.insert(slot.name.clone());
                    self.diagnostics.extend(diagnostics.iter().cloned());
                    continue;
                }
            };
            let mut params = Vec::new();
            for param in &function.params {
                match self.declared_param_type(function, param) {
                    Some(ty) => params.push(ty),
                    None => break,
                }
            }
            if params.len() == function.params.len() {
                self.seed_nullable(function, params);
            }
            for overload in &function.overloads {
                let mut params = Vec::new();
                for (param, annotation) in function.params.iter().zip(overload) {
                    let declared = untyped::Param {
                        annotation: annotation.clone(),
                        ..param.clone()
                    };
                    match self.declared_param_type(function, &declared) {
                        Some(ty) => params.push(ty),
                        None => break,
                    }
                }
                if params.len() == function.params.len() {
                    self.seed_nullable(function, params);
                }
            }
        }
    }

    /// Creates the instances of an exported signature: with each nullable
    /// parameter of its declared type, and None, in every combination (the
    /// declared types first).
    fn seed_nullable(&mut self, function: &'m untyped::Function, params: Vec<Type>) {
        let mut combinations = vec![params];
        for (k, param) in function.params.iter().enumerate() {
            if !param.nullable {
                continue;
            }
            combinations = combinations
                .into_iter()
                .flat_map(|params| {
                    let mut none = params.clone();
                    none[k] = Type::None;
                    [params, none]
                })
                .collect();
            combinations.sort_by_key(|params| {
                params
                    .iter()
                    .zip(&function.params)
                    .filter(|(ty, p)| p.nullable && **ty == Type::None)
                    .count()
            });
        }
        for params in combinations {
            self.instance(function, params);
        }
    }

    fn declared_param_type(
        &mut self,
        function: &untyped::Function,
        param: &untyped::Param,
    ) -> Option<Type> {
        match &param.annotation {
            Some(ParamType::Known(ty)) => Some(ty.clone()),
            Some(ParamType::ArrayOfUnknownRank(dtype)) => {
                let dtype = (*dtype)?;
                match array_rank_from_use(&param.name, &function.body) {
                    Some(ndim) => Some(Type::Array(ArrayType { dtype, ndim })),
                    None => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                codes::UNKNOWN_RANK,
                                param.span,
                                format!(
                                    "cannot infer the number of dimensions of `{}`",
                                    param.name
                                ),
                            )
                            .with_label("the body never indexes this array")
                            .with_hint(format!(
                                "annotate it with the rank, e.g. \"{}[:, :]\"",
                                dtype
                            )),
                        );
                        None
                    }
                }
            }
            None => {
                self.diagnostics.push(
                    Diagnostic::error(codes::MISSING_PARAMETER_TYPE, param.span, format!("parameter `{}` has no type", param.name))
                        .with_label("missing annotation")
                        .with_hint("annotate every parameter of an exported function, e.g. `n: int` or `a: \"float64[:]\"`"),
                );
                None
            }
        }
    }

    fn instance(&mut self, function: &'m untyped::Function, params: Vec<Type>) -> usize {
        let key = (function.name.clone(), params.clone());
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        let id = self.instances.len();
        let (function, none_errors) = self.none_variant(function, &params);
        let settled_params = vec![None; params.len()];
        self.instances.push(Instance {
            function,
            params,
            return_type: function.returns.clone(),
            none_errors,
            settled_params,
        });
        self.by_key.insert(key, id);
        id
    }

    /// The body of `function` for parameters of types `params`: the
    /// `none_params` variant where the nullable parameters of type None are
    /// None, whose errors (reads of them while None) are reported here.
    fn none_variant(
        &mut self,
        function: &'m untyped::Function,
        params: &[Type],
    ) -> (&'m untyped::Function, bool) {
        let none: Vec<bool> = function
            .params
            .iter()
            .zip(params)
            .map(|(param, ty)| param.nullable && *ty == Type::None)
            .collect();
        let Some(variant) = function.none_variants.iter().find(|v| v.none == none) else {
            return (function, false);
        };
        self.diagnostics.extend(variant.errors.iter().cloned());
        (&variant.function, !variant.errors.is_empty())
    }

    /// Re-types every instance until no return type changes.
    fn solve(&mut self) {
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            let mut id = 0;
            while id < self.instances.len() {
                let count_before = self.instances.len();
                let settled_before = self.instances[id].settled_params.clone();
                let (_, return_type) = self.function(id, false);
                if self.instances[id].return_type != return_type && return_type.is_some() {
                    self.instances[id].return_type = return_type;
                    changed = true;
                }
                changed |= self.instances[id].settled_params != settled_before;
                changed |= self.instances.len() != count_before;
                id += 1;
            }
            if !changed {
                return;
            }
        }
    }

    /// Types, reporting diagnostics, the exports (the first `roots`
    /// instances) and the instances their final typing calls. An instance
    /// made only while types were still settling (a helper called with a
    /// list whose element type was not known yet) is left out.
    fn finish(&mut self, roots: usize) -> Vec<typed::Function> {
        let mut typed: std::collections::BTreeMap<usize, typed::Function> =
            std::collections::BTreeMap::new();
        let mut reached: HashSet<usize> = HashSet::new();
        let mut queue: Vec<usize> = (0..roots).rev().collect();
        while let Some(id) = queue.pop() {
            if !reached.insert(id) {
                continue;
            }
            let (function, _) = self.function(id, true);
            if let Some(function) = function {
                let mut callees = Vec::new();
                for stmt in &function.body {
                    stmt.walk_exprs(&mut |e| {
                        let name = match &e.kind {
                            typed::ExprKind::Call { function, .. } => Some(function),
                            typed::ExprKind::FunctionRef(typed::FunctionRef::Compiled(name)) => {
                                Some(name)
                            }
                            _ => None,
                        };
                        if let Some(id) = name
                            .and_then(|n| n.strip_prefix('#'))
                            .and_then(|n| n.parse::<usize>().ok())
                        {
                            callees.push(id);
                        }
                    });
                }
                queue.extend(callees.into_iter().rev());
                typed.insert(id, function);
            }
        }
        // A callee reached only from statements the final pass dropped (the
        // comprehension inside a failing `max(xs, key=...)`) is typed for its
        // diagnostics alone, which say why.
        while let Some(id) = self.report_calls.pop() {
            if reached.insert(id) {
                self.function(id, true);
            }
        }
        let mut functions: Vec<(usize, typed::Function)> = typed.into_iter().collect();
        assign_rust_names(&mut functions, &self.instances);
        functions.into_iter().map(|(_, f)| f).collect()
    }

    /// A function with some annotations looks meant to be exported; if it is
    /// neither exported nor called, say which parameters keep it out rather
    /// than leave it out of the module silently.
    fn report_uncompiled(&mut self) {
        for slot in &self.module.functions {
            let Ok(function) = &slot.lowered else {
                continue;
            };
            let annotated = function.params.iter().any(|p| p.annotation.is_some());
            let compiled = self
                .instances
                .iter()
                .any(|i| i.function.name == function.name);
            if slot.exported || compiled || !annotated {
                continue;
            }
            for param in function.params.iter().filter(|p| p.annotation.is_none()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::MISSING_PARAMETER_TYPE,
                        param.span,
                        format!(
                            "parameter `{}` of `{}` has no type, so the function is not compiled",
                            param.name, function.name
                        ),
                    )
                    .with_label("missing annotation")
                    .with_secondary(function.span, "defined here")
                    .with_hint(
                        "annotate every parameter to export the function, e.g. `factor: float`",
                    ),
                );
            }
        }
    }

    fn typed_constants(&self) -> Vec<typed::Constant> {
        self.module
            .constants
            .iter()
            .map(|c| {
                let (ty, value) = constant_literal(c.value.clone());
                typed::Constant {
                    name: c.name.clone(),
                    ty,
                    value,
                }
            })
            .collect()
    }

    fn error(&mut self, cx: &Cx, diagnostic: Diagnostic) {
        if cx.report {
            self.diagnostics.push(diagnostic);
        }
    }

    /// Types one instance: the variable types to a fixpoint, then (when
    /// `report`) the typed function. Returns the inferred return type.
    fn function(&mut self, id: usize, report: bool) -> (Option<typed::Function>, Option<Type>) {
        let function = self.instances[id].function;
        let params = self.instances[id].params.clone();
        let mut cx = Cx {
            instance: id,
            env: BTreeMap::new(),
            order: Vec::new(),
            fixed: HashMap::new(),
            return_type: function.returns.clone(),
            returns: Vec::new(),
            report: false,
            assigned_params: HashSet::new(),
            origins: HashMap::new(),
            poisoned: HashSet::new(),
            reported_before: 0,
            iter_views: HashMap::new(),
            element_of: HashMap::new(),
        };
        for (param, ty) in function.params.iter().zip(&params) {
            // A parameter that is None is no value: the body (folded by
            // `none_params`) only assigns it, making it an ordinary local.
            if *ty != Type::None {
                cx.env.insert(param.name.clone(), ty.clone());
            } else if self.instances[id].none_errors {
                cx.poisoned.insert(param.name.clone());
            }
            cx.origins.insert(param.name.clone(), param.span);
        }
        for _ in 0..MAX_ROUNDS {
            let before = cx.env.clone();
            cx.returns.clear();
            self.block(&mut cx, &function.body);
            if cx.env == before {
                break;
            }
        }
        if !report {
            let settled = function
                .params
                .iter()
                .zip(&params)
                .map(|(param, given)| {
                    let now = cx.env.get(&param.name)?;
                    // A container whose element type the callee settles
                    // (`[]` given, appended to), or whose numbers it widens
                    // (ints given, floats stored into them).
                    let settles = (given.has_unknown()
                        || (given.has_container() && numeric_widening(given, now)))
                        && now != given
                        && !cx.assigned_params.contains(&param.name)
                        && Type::join(given, now).as_ref() == Some(now);
                    settles.then(|| now.clone())
                })
                .collect();
            self.instances[id].settled_params = settled;
        }
        let inferred = self.return_type(&cx, function);
        if !report {
            return (None, inferred);
        }
        cx.report = true;
        cx.reported_before = self.diagnostics.len();
        cx.returns.clear();
        cx.return_type = inferred
            .clone()
            .or_else(|| self.instances[id].return_type.clone());
        let body = self.block(&mut cx, &function.body);
        let Some(return_type) = cx.return_type.clone() else {
            // An error in the body (an expression that could not be typed)
            // is the reason; a second error on the whole function would
            // only hide it.
            let body_failed = self.diagnostics[cx.reported_before..]
                .iter()
                .any(|d| d.severity == crate::diagnostics::Severity::Error);
            if body_failed {
                return (None, inferred);
            }
            self.diagnostics.push(
                Diagnostic::error(
                    codes::RETURN_TYPE_MISMATCH,
                    function.span,
                    format!("cannot infer the return type of `{}`", function.name),
                )
                .with_label("no return value has a known type")
                .with_hint("annotate the return type, e.g. `-> float`"),
            );
            return (None, inferred);
        };
        if let Some(mixed) = self.mixed_return(&cx, function) {
            self.diagnostics.push(mixed);
        }
        let falls_through = !always_returns(&body);
        if falls_through && return_type != Type::None && function.returns.is_some() {
            // Python would return None here; the compiled function raises instead.
        }
        let param_names: HashSet<&str> = function.params.iter().map(|p| p.name.as_str()).collect();
        let mut locals = Vec::new();
        for name in &cx.order {
            if param_names.contains(name.as_str()) {
                continue;
            }
            if let Some(ty) = cx.env.get(name) {
                if ty.has_container() && ty.has_str() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED_CONTAINER,
                            function.span,
                            format!("`{name}` in `{}` is a {ty}", function.name),
                        )
                        .with_label("in this function")
                        .with_hint(
                            "compiled lists, dicts and sets hold numbers, tuples, lists and \
                             arrays; strings are only compared and passed on",
                        ),
                    );
                }
                locals.push(typed::Local {
                    name: name.clone(),
                    ty: ty.clone(),
                });
            }
        }
        // A parameter assigned a wider type (an int parameter later holding a
        // float) becomes a local of the wider type that shadows the parameter.
        for (param, ty) in function.params.iter().zip(&params) {
            if let Some(var_ty) = cx.env.get(&param.name) {
                if var_ty != ty || *ty == Type::None {
                    locals.insert(
                        0,
                        typed::Local {
                            name: param.name.clone(),
                            ty: var_ty.clone(),
                        },
                    );
                }
            }
        }
        for (param, ty) in function.params.iter().zip(&params) {
            let string_default = matches!(param.default, Some(ConstValue::Str(_)));
            if param.default.is_some() && string_default != (*ty == Type::Str) {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::UNSUPPORTED_PARAMETER,
                        param.span,
                        format!(
                            "parameter `{}` is {ty} but its default is {}",
                            param.name,
                            if string_default {
                                "a string"
                            } else {
                                "not a string"
                            }
                        ),
                    )
                    .with_label("this parameter")
                    .with_hint("give the parameter a default of its own type"),
                );
            }
        }
        let typed_params = function
            .params
            .iter()
            .zip(&params)
            .map(|(param, ty)| typed::Param {
                name: param.name.clone(),
                ty: ty.clone(),
                reassigned: cx.assigned_params.contains(&param.name),
                // A None default belongs to the instance where the parameter
                // is None; in the others it must be passed.
                default: match param.default.clone() {
                    Some(ConstValue::None) if *ty != Type::None => None,
                    Some(ConstValue::None) => Some(Literal::None),
                    // Another default is the other instance's.
                    Some(_) if *ty == Type::None => None,
                    value => value.map(|value| default_literal(value, ty)),
                },
                keyword_only: param.keyword_only,
                nullable: param.nullable,
                none_default: param.default == Some(ConstValue::None),
            })
            .collect();
        let typed_function = typed::Function {
            name: function.name.clone(),
            rust_name: function.name.clone(),
            export: self
                .module
                .functions
                .iter()
                .find(|s| s.name == function.name && s.exported)
                .map(|_| typed::Export {
                    docstring: function.docstring.clone(),
                }),
            params: typed_params,
            locals,
            return_type,
            body,
            falls_through,
            rows: Default::default(),
            unordered_sets: Default::default(),
        };
        (Some(typed_function), inferred)
    }

    fn return_type(&self, cx: &Cx, function: &untyped::Function) -> Option<Type> {
        if let Some(declared) = &function.returns {
            return Some(declared.clone());
        }
        let mut values = cx.returns.iter().filter(|t| **t != Type::None);
        let Some(first) = values.next() else {
            // Only bare `return`s (or none at all): the function returns None,
            // unless some returns are still unknown (recursion in progress).
            return if cx.returns.is_empty() && !body_has_value_return(&function.body) {
                Some(Type::None)
            } else if cx.returns.iter().all(|t| *t == Type::None)
                && !body_has_value_return(&function.body)
            {
                Some(Type::None)
            } else {
                None
            };
        };
        let mut joined = first.clone();
        for ty in values {
            joined = Type::join(&joined, ty).unwrap_or(joined);
        }
        Some(joined)
    }

    fn mixed_return(&self, cx: &Cx, function: &untyped::Function) -> Option<Diagnostic> {
        if function.returns.is_some() {
            return None;
        }
        let has_none = cx.returns.iter().any(|t| *t == Type::None)
            || (!always_returns_untyped(&function.body) && body_has_value_return(&function.body));
        let has_value = cx.returns.iter().any(|t| *t != Type::None);
        (has_none && has_value).then(|| {
            Diagnostic::error(
                codes::RETURN_TYPE_MISMATCH,
                function.span,
                format!(
                    "`{}` returns a value on some paths and None on others",
                    function.name
                ),
            )
            .with_label("mixed return values")
            .with_hint("return a value on every path (for example a sentinel such as -1)")
        })
    }

    fn block(&mut self, cx: &mut Cx, stmts: &[untyped::Stmt]) -> Vec<typed::Stmt> {
        let mut out = Vec::new();
        for stmt in stmts {
            self.stmt(cx, stmt, &mut out);
        }
        out
    }

    fn stmt(&mut self, cx: &mut Cx, stmt: &untyped::Stmt, out: &mut Vec<typed::Stmt>) {
        let emitted = out.len();
        self.stmt_kind(cx, stmt, out);
        self.check_kept(cx, stmt, out.len() > emitted);
    }

    /// A statement that typed to nothing must have said why: one dropped
    /// while its function has no diagnostic is remembered, and fails the
    /// build (`report_dropped`) unless another error fails it anyway.
    fn check_kept(&mut self, cx: &Cx, stmt: &untyped::Stmt, kept: bool) {
        if cx.report && !kept && !vanishes(stmt) && self.diagnostics.len() == cx.reported_before {
            self.dropped.push(stmt.span);
        }
    }

    /// An internal error for each statement left out of a module that would
    /// otherwise compile: a build without it would be wrong code.
    fn report_dropped(&mut self) {
        if !self.diagnostics.is_empty() || !self.module.unexported.is_empty() {
            return;
        }
        for span in std::mem::take(&mut self.dropped) {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::INTERNAL_ERROR,
                    span,
                    "the compiler could not type this statement and gave no reason",
                )
                .with_label("not compiled")
                .with_hint(
                    "this is a bug in ferropy; please report it with this file. Writing \
                     the statement in simpler steps may avoid it",
                ),
            );
        }
    }

    fn stmt_kind(&mut self, cx: &mut Cx, stmt: &untyped::Stmt, out: &mut Vec<typed::Stmt>) {
        use untyped::StmtKind;
        match &stmt.kind {
            StmtKind::Assign {
                target,
                value,
                annotation,
            } => {
                if let (Some(annotation), untyped::Target::Name(name, _)) = (annotation, target) {
                    self.declare(cx, name, annotation.clone());
                }
                if let (
                    untyped::Target::Name(name, _),
                    untyped::ExprKind::Call {
                        callee: Callee::Builtin(builtin),
                        args,
                        ..
                    },
                ) = (target, &value.kind)
                {
                    if let ("__iter_source__", [source]) = (builtin.as_str(), args.as_slice()) {
                        if self.iteration_view(cx, name, source, stmt.span, out) {
                            return;
                        }
                    }
                }
                if let untyped::Target::Name(name, _) = target {
                    let container = match &value.kind {
                        untyped::ExprKind::Index { value, .. } => Some(value),
                        untyped::ExprKind::Method {
                            receiver, method, ..
                        } if method == "setdefault" => Some(receiver),
                        _ => None,
                    };
                    if container.is_some_and(|container| {
                        !matches!(&container.kind, untyped::ExprKind::Local(of) if of == name)
                    }) {
                        cx.element_of.insert(name.clone(), value.clone());
                    }
                }
                let value = self.expr(cx, value);
                let assigned = value.and_then(|value| self.assign(cx, target, value, stmt.span));
                match assigned {
                    Some(assign) => out.push(assign),
                    None => poison(cx, target),
                }
            }
            StmtKind::Declare { name, annotation } => {
                self.declare(cx, name, annotation.clone());
            }
            StmtKind::AugAssign { target, op, value } => {
                let read = match target {
                    untyped::Target::Name(name, span) => untyped::Expr {
                        kind: untyped::ExprKind::Local(name.clone()),
                        span: *span,
                    },
                    untyped::Target::Index {
                        value: array,
                        indices,
                        span,
                    } => untyped::Expr {
                        kind: untyped::ExprKind::Index {
                            value: Box::new(array.clone()),
                            indices: indices.clone(),
                        },
                        span: *span,
                    },
                    untyped::Target::Tuple(_, span) => {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_TARGET,
                                *span,
                                "augmented assignment to a tuple is not valid Python",
                            )
                            .with_hint("assign each element separately"),
                        );
                        return;
                    }
                };
                let left = self.expr(cx, &read);
                let right = self.expr(cx, value);
                let in_place = left
                    .as_ref()
                    .and_then(|left| in_place_method(&left.ty, *op));
                let assigned = match (left, right, in_place) {
                    // NumPy updates an array in place: `a += b` stores into
                    // `a`'s elements, visible through every view of them.
                    (Some(left), Some(right), _) if left.array_type().is_some() => self
                        .augmented_array(cx, left, *op, right, stmt.span)
                        .map(|(target, value)| typed::Stmt::Assign { target, value }),
                    // `xs += ys` extends the list in place; `s |= t`,
                    // `s -= t`, `s &= t` and `s ^= t` update the set.
                    (Some(_), Some(_), Some(name)) => {
                        let method = untyped::ExprKind::Method {
                            receiver: Box::new(read.clone()),
                            method: name.into(),
                            args: vec![value.clone()],
                            keywords: Vec::new(),
                        };
                        self.expr(
                            cx,
                            &untyped::Expr {
                                kind: method,
                                span: stmt.span,
                            },
                        )
                        .map(typed::Stmt::Expr)
                    }
                    (Some(left), Some(right), None) => self
                        .binary(cx, *op, left, right, value, stmt.span)
                        .and_then(|value| self.assign(cx, target, value, stmt.span)),
                    _ => None,
                };
                match assigned {
                    Some(assign) => out.push(assign),
                    None => poison(cx, target),
                }
            }
            StmtKind::If { test, body, orelse } => {
                let test = self.condition(cx, test);
                let body = self.block(cx, body);
                let orelse = self.block(cx, orelse);
                // `a = b = x` lowers to `if True:`; keep the statements flat.
                if let Some(test) = test {
                    if test.kind == typed::ExprKind::Literal(Literal::Bool(true))
                        && orelse.is_empty()
                    {
                        out.extend(body);
                    } else {
                        out.push(typed::Stmt::If { test, body, orelse });
                    }
                }
            }
            StmtKind::ForRange {
                var,
                start,
                stop,
                step,
                body,
                parallel,
            } => {
                let header_end = step.as_ref().unwrap_or(stop).span.end;
                let span = Span {
                    start: stmt.span.start,
                    end: header_end.max(stmt.span.start),
                };
                let start = self.range_bound(cx, start);
                let stop_source = stop;
                let stop = self.range_bound(cx, stop);
                let step = step.as_ref().map(|s| self.range_bound(cx, s));
                if let Some((name, span)) = var {
                    self.bind(cx, name, &Type::Int, *span);
                }
                let body = self.block(cx, body);
                let step = match step {
                    Some(None) => return,
                    Some(Some(step)) => Some(step),
                    None => None,
                };
                let (stop, body) = match (stop, var) {
                    (Some(stop), Some((index, _))) => {
                        self.checked_iteration(cx, stop_source, stop, index, body)
                    }
                    (stop, _) => (stop, body),
                };
                if let (Some(start), Some(stop)) = (start, stop) {
                    out.push(typed::Stmt::ForRange {
                        var: var.as_ref().map(|(name, _)| name.clone()),
                        start,
                        stop,
                        step,
                        body,
                        parallel: *parallel,
                        span,
                    });
                }
            }
            StmtKind::While { test, body } => {
                let test = self.condition(cx, test);
                let body = self.block(cx, body);
                if let Some(test) = test {
                    out.push(typed::Stmt::While { test, body });
                }
            }
            StmtKind::Raise { class, message } => out.push(typed::Stmt::Raise {
                class: class.clone(),
                message: message.clone(),
            }),
            StmtKind::Break => out.push(typed::Stmt::Break),
            StmtKind::Continue => out.push(typed::Stmt::Continue),
            StmtKind::Pass => {}
            StmtKind::Assert { test, message } => {
                if let Some(test) = self.condition(cx, test) {
                    out.push(typed::Stmt::Assert {
                        test,
                        message: message.clone(),
                    });
                }
            }
            StmtKind::Return(None) => {
                cx.returns.push(Type::None);
                if cx.report {
                    if let Some(expected) = cx.return_type.clone() {
                        if expected != Type::None {
                            self.diagnostics.push(
                                Diagnostic::error(codes::RETURN_TYPE_MISMATCH, stmt.span, format!("this function returns {expected}, but this `return` has no value"))
                                    .with_hint("return a value of the declared type"),
                            );
                        }
                    }
                }
                out.push(typed::Stmt::Return(None));
            }
            StmtKind::Return(Some(value)) => {
                if matches!(value.kind, untyped::ExprKind::None) {
                    cx.returns.push(Type::None);
                    out.push(typed::Stmt::Return(None));
                    return;
                }
                let Some(value) = self.expr(cx, value) else {
                    return;
                };
                if value.ty.has_str() {
                    let given = value.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::RETURN_TYPE_MISMATCH,
                            stmt.span,
                            format!("a compiled function cannot return {given}"),
                        )
                        .with_label("a string")
                        .with_hint(
                            "strings are only compared and passed on in compiled code; \
                             return a number (such as the index of the choice) and map it \
                             back to a string in the Python caller",
                        ),
                    );
                    return;
                }
                cx.returns.push(value.ty.clone());
                if cx.report {
                    if let Some(expected) = cx.return_type.clone() {
                        match self.convert(value, &expected) {
                            Ok(value) => match self.unconvertible_return(cx, &value, stmt.span) {
                                Some(diagnostic) => self.diagnostics.push(diagnostic),
                                None => out.push(typed::Stmt::Return(Some(value))),
                            },
                            Err(given) => self.diagnostics.push(
                                Diagnostic::error(codes::RETURN_TYPE_MISMATCH, stmt.span, format!("this function returns {expected}, but this value is {given}"))
                                    .with_label(format!("{given}"))
                                    .with_hint("return a value of the declared type, or change the annotation"),
                            ),
                        }
                    }
                }
            }
            StmtKind::Expr(expr) if discard_key(expr).is_some() => {
                if let Some(expr) = discard_key(expr).and_then(|discard| self.expr(cx, &discard)) {
                    out.push(typed::Stmt::Expr(expr));
                }
            }
            StmtKind::Expr(expr) => {
                if let Some(expr) = self.expr(cx, expr) {
                    out.push(typed::Stmt::Expr(expr));
                }
            }
        }
    }

    /// Why a returned value cannot be converted to the declared result
    /// type, when it converts a container a local holds
    /// (`converted_locals`): the conversion takes the container over, so
    /// the same `return` cannot read it again (`return xs, len(xs)`), and a
    /// parameter's container is the caller's, which Python returns as it
    /// is.
    fn unconvertible_return(&self, cx: &Cx, value: &typed::Expr, span: Span) -> Option<Diagnostic> {
        let function = self.instances[cx.instance].function;
        converted_locals(value).into_iter().find_map(|(name, given, ty)| {
            if function.params.iter().any(|p| p.name == name) && !cx.assigned_params.contains(&name) {
                return Some(
                    Diagnostic::error(
                        codes::RETURN_TYPE_MISMATCH,
                        span,
                        format!("the parameter `{name}` is {given}, but it is returned as {ty}"),
                    )
                    .with_hint(format!(
                        "a container is shared, not converted: annotate the parameter `{name}: {ty}`, or return a new {ty} made from it"
                    )),
                );
            }
            let mut reads = 0;
            value.walk(&mut |e| reads += usize::from(matches!(&e.kind, typed::ExprKind::Local(n) if n == &name)));
            (reads > 1).then(|| {
                Diagnostic::error(
                    codes::RETURN_TYPE_MISMATCH,
                    span,
                    format!("`{name}` is converted from {given} to {ty} here, but this `return` reads it again"),
                )
                .with_hint(format!("give `{name}` the result's type where it is made (`{name}: {ty} = ...`), so nothing needs converting"))
            })
        })
    }

    /// `for k in d`, `for k in d.keys()`, `for k, v in d.items()`,
    /// `for v in d.values()` and `for x in s` over a dict or set held by a
    /// local: the loop keeps the container in a hidden local of its own
    /// (`name_of`; rebinding the name in the body does not change what is
    /// walked, as in Python) and walks a snapshot of its keys (`name`),
    /// with the checks of CPython's iterators (`checked_iteration`) and
    /// each value read as it is when its key is reached (`iteration_read`).
    /// False when the source is anything else, which `__iter_source__`
    /// iterates as before.
    fn iteration_view(
        &mut self,
        cx: &mut Cx,
        name: &str,
        source: &untyped::Expr,
        span: Span,
        out: &mut Vec<typed::Stmt>,
    ) -> bool {
        let (container, yields) = match &source.kind {
            untyped::ExprKind::Method {
                receiver,
                method,
                args,
                keywords,
            } if args.is_empty() && keywords.is_empty() => {
                let yields = match method.as_str() {
                    "keys" => Yields::Keys,
                    "items" => Yields::Items,
                    "values" => Yields::Values,
                    _ => return false,
                };
                (receiver.as_ref(), yields)
            }
            _ => (source, Yields::Keys),
        };
        let untyped::ExprKind::Local(local) = &container.kind else {
            return false;
        };
        // The snapshot of the kept container, which `keys` below assigns.
        if cx
            .iter_views
            .get(name)
            .is_some_and(|view| view.container == *local)
        {
            return false;
        }
        match cx.env.get(local) {
            Some(ty @ Type::Dict(..)) if !ty.has_unknown() => {}
            Some(ty @ Type::Set(_))
                if !ty.has_unknown()
                    && yields == Yields::Keys
                    && matches!(source.kind, untyped::ExprKind::Local(_)) => {}
            _ => return false,
        }
        let held = format!("{name}_of");
        let at = |kind| untyped::Expr {
            kind,
            span: source.span,
        };
        let keep = untyped::Stmt {
            kind: untyped::StmtKind::Assign {
                target: untyped::Target::Name(held.clone(), source.span),
                value: container.clone(),
                annotation: None,
            },
            span,
        };
        let keys = untyped::Stmt {
            kind: untyped::StmtKind::Assign {
                target: untyped::Target::Name(name.to_string(), source.span),
                value: at(untyped::ExprKind::Call {
                    callee: Callee::Builtin("__iter_source__".into()),
                    args: vec![at(untyped::ExprKind::Local(held.clone()))],
                    keywords: Vec::new(),
                }),
                annotation: None,
            },
            span,
        };
        cx.iter_views.insert(
            name.to_string(),
            IterView {
                container: held,
                yields,
            },
        );
        self.stmt_kind(cx, &keep, out);
        self.stmt_kind(cx, &keys, out);
        true
    }

    /// The loop over the keys of an `iteration_view`, `for index in
    /// range(len(keys))`, takes one step more than there are keys, and each
    /// step first checks the container's size: RuntimeError when the body
    /// added or deleted a key, as CPython raises at the next step (also
    /// after the last key), and the end of the loop at the extra step.
    fn checked_iteration(
        &mut self,
        cx: &mut Cx,
        stop_source: &untyped::Expr,
        stop: typed::Expr,
        index: &str,
        mut body: Vec<typed::Stmt>,
    ) -> (Option<typed::Expr>, Vec<typed::Stmt>) {
        let keys_read = match &stop_source.kind {
            untyped::ExprKind::Call {
                callee: Callee::Builtin(builtin),
                args,
                ..
            } if builtin == "len" => match args.as_slice() {
                [keys @ untyped::Expr {
                    kind: untyped::ExprKind::Local(_),
                    span,
                }] => Some((keys, *span)),
                _ => None,
            },
            _ => None,
        };
        let view = keys_read.and_then(|(keys, _)| match &keys.kind {
            untyped::ExprKind::Local(name) => cx.iter_views.get(name).cloned(),
            _ => None,
        });
        let (Some((keys, span)), Some(view)) = (keys_read, view) else {
            return (Some(stop), body);
        };
        let local = |name: &str| untyped::Expr {
            kind: untyped::ExprKind::Local(name.to_string()),
            span,
        };
        let (Some(container), Some(keys), Some(index)) = (
            self.expr(cx, &local(&view.container)),
            self.expr(cx, keys),
            self.expr(cx, &local(index)),
        ) else {
            return (Some(stop), body);
        };
        let end = match container.ty {
            Type::Dict(..) => "dict_iter_end",
            _ => "set_iter_end",
        };
        let steps = lists::runtime("iter_steps", vec![keys.clone()], Type::Int);
        let test = lists::runtime(end, vec![container, keys, index], Type::Bool);
        body.insert(
            0,
            typed::Stmt::If {
                test,
                body: vec![typed::Stmt::Break],
                orelse: Vec::new(),
            },
        );
        (Some(steps), body)
    }

    /// `keys[index]` in a loop over `d.items()` or `d.values()` of an
    /// `iteration_view`: the key with its value as it is now (or the
    /// value). `None` when `expr` is any other subscript.
    fn iteration_read(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<Option<typed::Expr>> {
        let untyped::ExprKind::Index { value, indices } = &expr.kind else {
            return None;
        };
        let (untyped::ExprKind::Local(keys), [index]) = (&value.kind, indices.as_slice()) else {
            return None;
        };
        let view = cx.iter_views.get(keys)?.clone();
        if view.yields == Yields::Keys {
            return None;
        }
        let container = self.expr(
            cx,
            &untyped::Expr {
                kind: untyped::ExprKind::Local(view.container.clone()),
                span: value.span,
            },
        );
        let keys = self.expr(cx, value);
        let index = self.expr(cx, index);
        let (Some(container), Some(keys), Some(index)) = (container, keys, index) else {
            return Some(None);
        };
        let Type::Dict(key, item) = container.ty.clone() else {
            return None;
        };
        Some(Some(if view.yields == Yields::Items {
            lists::runtime(
                "dict_iter_item",
                vec![container, keys, index],
                Type::Tuple(vec![*key, *item]),
            )
        } else {
            lists::runtime("dict_iter_value", vec![container, keys, index], *item)
        }))
    }

    fn declare(&mut self, cx: &mut Cx, name: &str, ty: Type) {
        cx.fixed.insert(name.to_string(), ty.clone());
        if !cx.env.contains_key(name) {
            cx.order.push(name.to_string());
        }
        cx.env.insert(name.to_string(), ty);
    }

    /// Joins `ty` into the variable's type; reports incompatible assignments.
    fn bind(&mut self, cx: &mut Cx, name: &str, ty: &Type, span: Span) {
        if cx.instance < self.instances.len()
            && self.instances[cx.instance]
                .function
                .params
                .iter()
                .any(|p| p.name == name)
        {
            cx.assigned_params.insert(name.to_string());
        }
        if let Some(fixed) = cx.fixed.get(name) {
            if convertible(ty, fixed) {
                return;
            }
            let fixed = fixed.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::INCOMPATIBLE_ASSIGNMENT,
                    span,
                    format!("`{name}` is declared {fixed} but assigned {ty} here"),
                )
                .with_hint("convert the value explicitly, or change the annotation"),
            );
            return;
        }
        match cx.env.get(name) {
            None => {
                cx.order.push(name.to_string());
                cx.env.insert(name.to_string(), ty.clone());
                cx.origins.insert(name.to_string(), span);
            }
            Some(existing) => match Type::join(existing, ty) {
                Some(joined) => {
                    cx.env.insert(name.to_string(), joined);
                }
                None => {
                    let existing = existing.clone();
                    let mut diagnostic = Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("`{name}` is {existing} in one place but {ty} in another"),
                    )
                    .with_label(format!("{ty} here"))
                    .with_hint("a variable keeps one type in compiled code; use a second variable for the other value");
                    if let Some(origin) = cx.origins.get(name) {
                        diagnostic = diagnostic.with_secondary(*origin, format!("{existing} here"));
                    }
                    self.error(cx, diagnostic);
                }
            },
        }
    }

    fn assign(
        &mut self,
        cx: &mut Cx,
        target: &untyped::Target,
        value: typed::Expr,
        span: Span,
    ) -> Option<typed::Stmt> {
        // `xs[a:b:c] = ys` of a list.
        if let untyped::Target::Index {
            value: container,
            indices,
            span: at,
        } = target
        {
            if let [untyped::Expr {
                kind: untyped::ExprKind::Slice { start, stop, step },
                ..
            }] = indices.as_slice()
            {
                if matches!(self.static_type(cx, container), Some(Type::List(_))) {
                    let bounds = [start, stop, step];
                    return self.list_slice_store(cx, container, bounds, value, *at);
                }
            }
        }
        // `a, b = xs` of a list or a tuple of any length: its items, after
        // a check of its length (ValueError, as Python raises it).
        let value = match (target, &value.ty) {
            (untyped::Target::Tuple(targets, _), Type::List(item) | Type::TupleOf(item))
                if !item.has_unknown() && targets.len() <= MAX_TUPLE =>
            {
                let function = if matches!(value.ty, Type::List(_)) {
                    "list_unpack"
                } else {
                    "var_tuple_unpack"
                };
                let ty = Type::Tuple(vec![(**item).clone(); targets.len()]);
                lists::runtime(function, vec![value], ty)
            }
            _ => value,
        };
        let target = self.assign_target(cx, target, &value.ty, span)?;
        let value = if let typed::Target::Local(name) = &target {
            let ty = cx.env.get(name).cloned().unwrap_or(value.ty.clone());
            // A list a compiled function (or a comprehension) returns is
            // new: when the program stores floats into a list of ints it
            // made that way (`d = [[0 for j in ...] for i in ...]`, then
            // `d[i][j] = 0.5`), it is converted once, its ints read back as
            // floats as those of `[0] * n` do. The runtime's `retype`
            // refuses it (a TypeError) if something else holds it after all.
            let widened_result = match &value.kind {
                typed::ExprKind::Call { function, .. } => function
                    .strip_prefix('#')
                    .and_then(|id| id.parse::<usize>().ok())
                    .and_then(|id| self.instances.get(id))
                    .is_some_and(|callee| returns_new_list(callee.function)),
                _ => false,
            } && numeric_widening(&value.ty, &ty);
            if value.ty != ty
                && matches!(value.ty, Type::List(_))
                && !matches!(value.kind, typed::ExprKind::List(_))
                && !ty.has_unknown()
                && !value.ty.has_unknown()
                && !widened_result
            {
                let given = value.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("`{name}` is {ty} elsewhere, but this list is {given}"),
                    )
                    .with_hint("a list is shared, not copied: build a new list of the other type, e.g. [float(x) for x in xs]"),
                );
                return None;
            }
            self.link_stored(cx, &value, &ty);
            if let Some((given, wanted)) = lists::shared_mismatch(&value, &ty) {
                self.shared_mismatch_error(cx, &given, &wanted, span);
                return None;
            }
            value.cast_to(&ty)
        } else if let typed::Target::Index { array, .. } = &target {
            let element = array
                .array_type()
                .map(|a| a.element())
                .unwrap_or(value.ty.clone());
            value.cast_to(&element)
        } else if let typed::Target::View { view, span } = &target {
            let (_, value) = self.store_into_view(cx, view.clone(), value, *span)?;
            value
        } else if let typed::Target::Item { list, span, .. } = &target {
            let (list, span) = (list.clone(), *span);
            self.list_store_value(cx, &list, value, span)?
        } else {
            value
        };
        Some(typed::Stmt::Assign { target, value })
    }

    /// Types an assignment target given the type of the value stored into it.
    fn assign_target(
        &mut self,
        cx: &mut Cx,
        target: &untyped::Target,
        ty: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        match target {
            untyped::Target::Name(name, name_span) => {
                if *ty == Type::None {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::RETURN_TYPE_MISMATCH,
                            span,
                            "this function call returns nothing",
                        )
                        .with_label("no value to assign")
                        .with_hint("call it as a statement"),
                    );
                    return None;
                }
                self.bind(cx, name, ty, *name_span);
                Some(typed::Target::Local(name.clone()))
            }
            untyped::Target::Index {
                value,
                indices,
                span,
            } => {
                if self.is_list_source(cx, value) && !indices.is_empty() {
                    // `d[i, j] = v` stores at the key `(i, j)`.
                    let index = match indices.as_slice() {
                        [index] => index.clone(),
                        many => untyped::Expr {
                            kind: untyped::ExprKind::Tuple(many.to_vec()),
                            span: *span,
                        },
                    };
                    return self.list_store_target(cx, value, &index, ty, *span);
                }
                // An array's element (or view): `a[i,] = x` is `a[i] = x`.
                let indices = array_indices(indices);
                // `a[i][j] = x` stores into the same element as `a[i, j] = x`.
                let mut root = value;
                let mut chain: Vec<untyped::Expr> = indices.to_vec();
                let mut groups = vec![indices.len()];
                while let untyped::ExprKind::Index {
                    value: inner,
                    indices: inner_indices,
                } = &root.kind
                {
                    let inner_indices = array_indices(inner_indices);
                    chain.splice(0..0, inner_indices.iter().cloned());
                    groups.insert(0, inner_indices.len());
                    root = inner;
                }
                if let ([index], untyped::ExprKind::Local(_) | untyped::ExprKind::Index { .. }) =
                    (indices, &value.kind)
                {
                    if groups.len() == 1 && might_be_array(index, cx) {
                        let array = self.expr(cx, value)?;
                        let index = self.expr(cx, index)?;
                        if index.array_type().is_some() && array.array_type().is_some() {
                            return self.select_target(cx, array, index, ty, *span);
                        }
                    }
                }
                if groups.len() == 1
                    && indices.len() > 1
                    && indices.iter().any(|i| might_be_array(i, cx))
                {
                    let array = self.expr(cx, value)?;
                    if let Some(array_type) = array.array_type() {
                        match self.advanced_parts(cx, &array, array_type, indices, *span) {
                            None => {}
                            Some(None) => return None,
                            Some(Some(Advanced::Along {
                                view,
                                index,
                                axis,
                                front,
                            })) => {
                                return self
                                    .select_along_target(cx, view, index, axis, front, ty, *span);
                            }
                            Some(Some(Advanced::Points { rows, columns })) => {
                                return self.points_target(cx, array, rows, columns, ty, *span);
                            }
                            Some(Some(Advanced::Several {
                                view,
                                indices,
                                front,
                            })) => {
                                return self.several_target(cx, view, indices, front, ty, *span);
                            }
                        }
                    }
                }
                if chain.iter().any(is_slice_like) || matches!(ty, Type::Array(_)) {
                    return self.view_target(cx, value, indices, ty, *span);
                }
                let (value, indices) = (root, &chain);
                let array = self.expr(cx, value)?;
                let Some(array_type) = array.array_type() else {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INVALID_INDEX,
                            *span,
                            format!("cannot assign to an element of {}", array.ty),
                        )
                        .with_hint(
                            if matches!(array.ty, Type::TupleOf(_) | Type::Tuple(_)) {
                                "a tuple cannot change (Python raises TypeError): build a new \
                             tuple, or keep a list (`list(t)`)"
                            } else {
                                "only array elements can be assigned: `a[i] = x`"
                            },
                        ),
                    );
                    return None;
                };
                if indices.len() < array_type.ndim as usize {
                    return self.view_target(cx, value, indices, ty, *span);
                }
                let complex_into_complex = *ty == Type::Complex && array_type.dtype.is_complex();
                if !ty.is_numeric() && !complex_into_complex {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INVALID_INDEX,
                            *span,
                            format!("cannot store {ty} in an array of {}", array_type.dtype),
                        )
                        .with_hint("store a number"),
                    );
                    return None;
                }
                let indices = self.indices(cx, indices)?;
                let (array, indices) = index_chain(array, indices, &groups);
                Some(typed::Target::Index {
                    array,
                    indices,
                    span: *span,
                })
            }
            untyped::Target::Tuple(targets, tuple_span) => {
                let Type::Tuple(items) = ty else {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNPACK_MISMATCH,
                            *tuple_span,
                            format!("cannot unpack {ty}"),
                        )
                        .with_hint(if matches!(ty, Type::TupleOf(_)) {
                            "its length is known only at run time: read its items by index \
                             (`t[0]`, `t[1]`), or unpack a list, as in `a, *rest = xs`"
                        } else {
                            "unpack a tuple of the same length"
                        }),
                    );
                    return None;
                };
                if items.len() != targets.len() {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNPACK_MISMATCH,
                            *tuple_span,
                            format!(
                                "cannot unpack {} values into {} names",
                                items.len(),
                                targets.len()
                            ),
                        )
                        .with_hint("use as many names as the tuple has values"),
                    );
                    return None;
                }
                let mut typed_targets = Vec::new();
                for (target, item) in targets.iter().zip(items) {
                    typed_targets.push(self.assign_target(cx, target, item, span)?);
                }
                Some(typed::Target::Tuple(typed_targets))
            }
        }
    }

    /// The target of `a[1:-1] = value` (or of `a[i] = row` on a 2-D array):
    /// the view it stores into.
    fn view_target(
        &mut self,
        cx: &mut Cx,
        array: &untyped::Expr,
        indices: &[untyped::Expr],
        ty: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let read = untyped::Expr {
            kind: untyped::ExprKind::Index {
                value: Box::new(array.clone()),
                indices: indices.to_vec(),
            },
            span,
        };
        let view = self.expr(cx, &read)?;
        if view.array_type().is_none() {
            if ty.is_numeric() || (*ty == Type::Complex && view.ty == Type::Complex) {
                // Every index was an integer after all: an element store.
                if let typed::ExprKind::Index {
                    array,
                    indices,
                    span,
                } = view.kind
                {
                    return Some(typed::Target::Index {
                        array: *array,
                        indices,
                        span,
                    });
                }
            }
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!("cannot store {ty} into an element"),
                )
                .with_hint("store a number into an element, or an array into a slice"),
            );
            return None;
        }
        Some(typed::Target::View { view, span })
    }

    /// `a and b`, `a or b`: booleans, or numbers of one joined type (the
    /// value of the operand that decides, as in Python).
    fn bool_op(
        &mut self,
        cx: &mut Cx,
        op: BoolOp,
        values: Vec<typed::Expr>,
        span: Span,
    ) -> Option<typed::Expr> {
        if values.iter().all(|v| v.ty == Type::Bool) {
            return Some(typed::Expr::new(
                typed::ExprKind::BoolOp { op, values },
                Type::Bool,
            ));
        }
        let mut joined = values[0].ty.clone();
        for value in &values[1..] {
            match Type::join(&joined, &value.ty) {
                Some(ty) if ty.is_numeric() => joined = ty,
                _ => {
                    let given = value.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            format!(
                                "`{}` mixes {joined} and {given}",
                                if op == BoolOp::And { "and" } else { "or" }
                            ),
                        )
                        .with_hint("use values of one numeric type, or compare to get booleans"),
                    );
                    return None;
                }
            }
        }
        let values = values.into_iter().map(|v| v.cast_to(&joined)).collect();
        Some(typed::Expr::new(
            typed::ExprKind::BoolOp { op, values },
            joined,
        ))
    }

    fn condition(&mut self, cx: &mut Cx, test: &untyped::Expr) -> Option<typed::Expr> {
        let span = test.span;
        // `if out and out[-1] > x:`: only the truth of each operand matters,
        // so a list, dict or set operand is tested for emptiness.
        if let untyped::ExprKind::BoolOp { op, values } = &test.kind {
            let typed: Vec<Option<typed::Expr>> = values.iter().map(|v| self.expr(cx, v)).collect();
            let typed: Vec<typed::Expr> = typed.into_iter().collect::<Option<_>>()?;
            if typed
                .iter()
                .any(|v| v.ty.has_container() || matches!(v.ty, Type::TupleOf(_)))
            {
                let truths: Vec<Option<typed::Expr>> = typed
                    .into_iter()
                    .zip(values)
                    .map(|(value, source)| self.truthy(cx, value, source.span))
                    .collect();
                let values = truths.into_iter().collect::<Option<Vec<_>>>()?;
                return Some(typed::Expr::new(
                    typed::ExprKind::BoolOp { op: *op, values },
                    Type::Bool,
                ));
            }
            let test = self.bool_op(cx, *op, typed, span)?;
            return self.truthy(cx, test, span);
        }
        // `while not (queue and done):`: the truth of the inner condition.
        if let untyped::ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } = &test.kind
        {
            if matches!(operand.kind, untyped::ExprKind::BoolOp { .. }) {
                let inner = self.condition(cx, operand)?;
                return self.unary(cx, UnaryOp::Not, inner, span);
            }
        }
        let test = self.expr(cx, test)?;
        self.truthy(cx, test, span)
    }

    /// `==` and `!=` between strings (a `str` parameter and literals);
    /// anything else involving a string is a diagnostic.
    fn str_compare(
        &mut self,
        cx: &mut Cx,
        operands: Vec<typed::Expr>,
        ops: Vec<CompareOp>,
        span: Span,
    ) -> Option<typed::Expr> {
        for (pair, op) in operands.windows(2).zip(&ops) {
            let (a, b) = (&pair[0].ty, &pair[1].ty);
            if *a != Type::Str || *b != Type::Str {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("cannot compare {a} with {b}"),
                    )
                    .with_hint("compare a string with another string, such as `mode == \"sum\"`"),
                );
                return None;
            }
            if !matches!(op, CompareOp::Eq | CompareOp::NotEq) {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!(
                            "strings are compared only with `==` and `!=`, not `{}`",
                            compare_symbol(*op)
                        ),
                    )
                    .with_hint("test a string parameter for equality with each choice"),
                );
                return None;
            }
        }
        let operand_types = vec![Type::Str; ops.len()];
        Some(typed::Expr::new(
            typed::ExprKind::Compare {
                operands,
                ops,
                operand_types,
            },
            Type::Bool,
        ))
    }

    /// `s in ("a", "b")` for a string `s`: `s == "a" or s == "b"`, with
    /// `s` read once per item (a string expression cannot have an effect:
    /// it is a literal, a variable or a choice between them).
    fn str_in_tuple(
        &mut self,
        cx: &mut Cx,
        value: typed::Expr,
        container: typed::Expr,
        span: Span,
    ) -> Option<typed::Expr> {
        let items = match container.kind {
            typed::ExprKind::Tuple(items)
                if items
                    .iter()
                    .all(|item| item.ty == Type::Str && item.is_effect_free())
                    && value.is_effect_free() =>
            {
                items
            }
            _ => {
                let ty = container.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("`in` with a string needs a tuple of strings, not {ty}"),
                    )
                    .with_hint("write the choices out: `mode in (\"sum\", \"mean\")`"),
                );
                return None;
            }
        };
        let compares: Vec<typed::Expr> = items
            .into_iter()
            .map(|item| {
                typed::Expr::new(
                    typed::ExprKind::Compare {
                        operands: vec![value.clone(), item],
                        ops: vec![CompareOp::Eq],
                        operand_types: vec![Type::Str],
                    },
                    Type::Bool,
                )
            })
            .collect();
        Some(match compares.len() {
            0 => typed::Expr::new(typed::ExprKind::Literal(Literal::Bool(false)), Type::Bool),
            1 => compares.into_iter().next()?,
            _ => typed::Expr::new(
                typed::ExprKind::BoolOp {
                    op: BoolOp::Or,
                    values: compares,
                },
                Type::Bool,
            ),
        })
    }

    fn truthy(&mut self, cx: &mut Cx, value: typed::Expr, span: Span) -> Option<typed::Expr> {
        match &value.ty {
            Type::Bool => Some(value),
            ty if ty.is_numeric() => Some(typed::Expr::new(
                typed::ExprKind::Truthy(Box::new(value)),
                Type::Bool,
            )),
            // A tuple of a fixed length is true when it has items; it is
            // still evaluated, for the calls it may make.
            Type::Tuple(items) => {
                let nonempty = typed::Expr::bool(!items.is_empty());
                Some(typed::Expr::new(
                    typed::ExprKind::Runtime {
                        function: "fixed_tuple_known",
                        args: vec![value, nonempty],
                    },
                    Type::Bool,
                ))
            }
            Type::List(_) | Type::Dict(..) | Type::Set(_) | Type::Complex | Type::TupleOf(_) => {
                let function = match value.ty {
                    Type::List(_) => "list_truthy",
                    Type::TupleOf(_) => "var_tuple_truthy",
                    Type::Dict(..) => "dict_truthy",
                    Type::Complex => "complex_truthy",
                    _ => "set_truthy",
                };
                Some(typed::Expr::new(
                    typed::ExprKind::Runtime {
                        function,
                        args: vec![value],
                    },
                    Type::Bool,
                ))
            }
            ty => {
                let ty = ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("the truth value of {ty} is not supported"),
                    )
                    .with_hint("compare explicitly, e.g. `len(a) > 0`"),
                );
                None
            }
        }
    }

    fn range_bound(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<typed::Expr> {
        let value = self.expr(cx, expr)?;
        if value.ty.is_integer_like() {
            Some(value.cast_to(&Type::Int))
        } else {
            let ty = value.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    expr.span,
                    format!("range() arguments must be integers, not {ty}"),
                )
                .with_label(ty.to_string())
                .with_hint("convert with int(...)"),
            );
            None
        }
    }

    fn indices(&mut self, cx: &mut Cx, indices: &[untyped::Expr]) -> Option<Vec<typed::Expr>> {
        let mut out = Vec::new();
        for index in indices {
            let value = self.expr(cx, index)?;
            if !value.ty.is_integer_like() {
                let ty = value.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        index.span,
                        format!("array indices must be integers, not {ty}"),
                    )
                    .with_label(ty.to_string())
                    .with_hint("convert with int(...)"),
                );
                return None;
            }
            out.push(value.cast_to(&Type::Int));
        }
        Some(out)
    }

    /// Converts a value to `expected` where Python code would accept it
    /// (int → float, a narrower NumPy scalar to a wider one); `Err` names the
    /// given type otherwise.
    fn convert(&self, value: typed::Expr, expected: &Type) -> Result<typed::Expr, Type> {
        if &value.ty == expected {
            return Ok(value);
        }
        if convertible(&value.ty, expected) {
            if let (Type::Tuple(items), typed::ExprKind::Tuple(values)) = (expected, &value.kind) {
                let mut converted = Vec::new();
                for (item, v) in items.iter().zip(values.clone()) {
                    converted.push(self.convert(v, item)?);
                }
                return Ok(typed::Expr::new(
                    typed::ExprKind::Tuple(converted),
                    expected.clone(),
                ));
            }
            if matches!(expected, Type::Tuple(_)) {
                return Err(value.ty);
            }
            return Ok(value.cast_to(expected));
        }
        Err(value.ty)
    }

    fn expr(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<typed::Expr> {
        use untyped::ExprKind;
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(v) => Some(typed::Expr::new(
                typed::ExprKind::Literal(Literal::Int(*v)),
                Type::Int,
            )),
            ExprKind::Float(v) => Some(typed::Expr::new(
                typed::ExprKind::Literal(Literal::Float(*v)),
                Type::Float,
            )),
            ExprKind::Bool(v) => Some(typed::Expr::new(
                typed::ExprKind::Literal(Literal::Bool(*v)),
                Type::Bool,
            )),
            // What `none_params` left: a variable that is never None.
            ExprKind::IsNone { negated, .. } => Some(typed::Expr::new(
                typed::ExprKind::Literal(Literal::Bool(*negated)),
                Type::Bool,
            )),
            ExprKind::None => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_EXPRESSION,
                        span,
                        "None is only supported as a return value",
                    )
                    .with_hint("use a sentinel value such as -1 or nan"),
                );
                None
            }
            // A string is a value only to compare a `str` parameter with or
            // to pass on; every other use of a `str` is a diagnostic where
            // it is used.
            ExprKind::Str(text) => Some(typed::Expr::new(
                typed::ExprKind::Literal(Literal::Str(text.clone())),
                Type::Str,
            )),
            ExprKind::Local(name) => match cx.env.get(name) {
                Some(ty) => Some(typed::Expr::new(
                    typed::ExprKind::Local(name.clone()),
                    ty.clone(),
                )),
                None if cx.poisoned.contains(name) => None,
                None => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::USED_BEFORE_ASSIGNMENT,
                            span,
                            format!("`{name}` is used before it is assigned"),
                        )
                        .with_label("no value yet")
                        .with_hint("assign the variable before this point on every path"),
                    );
                    None
                }
            },
            ExprKind::Constant(name) => {
                let value = self.constants.get(name.as_str())?.clone();
                let (ty, _) = constant_literal(value);
                Some(typed::Expr::new(
                    typed::ExprKind::Constant(name.clone()),
                    ty,
                ))
            }
            ExprKind::FunctionRef(name) => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::NOT_A_VALUE,
                        span,
                        format!("function `{name}` can only be passed to a Callable parameter"),
                    )
                    .with_hint("call it, or pass it where a Callable[[...], ...] is expected"),
                );
                None
            }
            ExprKind::Qualified(name) | ExprKind::BuiltinRef(name) => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::NOT_A_VALUE,
                        span,
                        format!("`{name}` cannot be used as a value here"),
                    )
                    .with_hint("call it, or pass it as dtype= to an array constructor"),
                );
                None
            }
            ExprKind::Binary { op, left, right } => {
                let left_typed = self.expr(cx, left);
                let right_typed = self.expr(cx, right);
                self.binary(cx, *op, left_typed?, right_typed?, right, span)
            }
            ExprKind::Unary { op, operand } => {
                let operand = self.expr(cx, operand)?;
                self.unary(cx, *op, operand, span)
            }
            ExprKind::Compare { left, rest } => {
                if let [(op @ (CompareOp::Eq | CompareOp::NotEq), right)] = rest.as_slice() {
                    if let Some(folded) = self.dtype_comparison(cx, left, *op, right) {
                        return folded;
                    }
                }
                let mut operands = vec![self.expr(cx, left)];
                let mut ops = Vec::new();
                for (op, value) in rest {
                    ops.push(*op);
                    operands.push(self.expr(cx, value));
                }
                let operands: Vec<typed::Expr> = operands.into_iter().collect::<Option<_>>()?;
                if operands.iter().any(|o| o.array_type().is_some()) {
                    if let ([left, right], [op]) = (operands.as_slice(), ops.as_slice()) {
                        return self.array_compare(cx, *op, left.clone(), right.clone(), span);
                    }
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            "a chained comparison of arrays needs the truth value of an array, which is ambiguous",
                        )
                        .with_hint("compare two at a time and combine with `&`: (a < b) & (b < c)"),
                    );
                    return None;
                }
                if operands.iter().any(|o| o.ty == Type::Str) {
                    return self.str_compare(cx, operands, ops, span);
                }
                if let ([left, right], [op]) = (operands.as_slice(), ops.as_slice()) {
                    if let Some(result) = self.complex_compare(cx, *op, left, right, span) {
                        return result;
                    }
                    let (left, right) = &settle_unknown_operand(left, right);
                    if let Some(result) = self.dict_compare(cx, *op, left, right, span) {
                        return result;
                    }
                    if let Some(result) = self.set_compare(cx, *op, left, right, span) {
                        return result;
                    }
                    if let Some(result) = self.sequence_compare(cx, *op, left, right, span) {
                        return result;
                    }
                }
                let mut operand_types = Vec::new();
                for pair in operands.windows(2) {
                    let (a, b) = (&pair[0].ty, &pair[1].ty);
                    if a.is_numeric() && b.is_numeric() {
                        operand_types.push(comparison_type(&pair[0], &pair[1]));
                    } else {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_OPERAND,
                                span,
                                format!("cannot compare {a} with {b}"),
                            )
                            .with_hint("compare numbers"),
                        );
                        return None;
                    }
                }
                Some(typed::Expr::new(
                    typed::ExprKind::Compare {
                        operands,
                        ops,
                        operand_types,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::BoolOp { op, values } => {
                let values = self.exprs(cx, values)?;
                self.bool_op(cx, *op, values, span)
            }
            ExprKind::IfExp { test, body, orelse } => {
                let test = self.condition(cx, test);
                let body = self.expr(cx, body);
                let orelse = self.expr(cx, orelse);
                let (test, body, orelse) = (test?, body?, orelse?);
                let Some(ty) = Type::join(&body.ty, &orelse.ty) else {
                    let (a, b) = (body.ty.clone(), orelse.ty.clone());
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            format!("the branches of this conditional expression are {a} and {b}"),
                        )
                        .with_hint("make both branches the same type"),
                    );
                    return None;
                };
                let (body, orelse) = (body.cast_to(&ty), orelse.cast_to(&ty));
                Some(typed::Expr::new(
                    typed::ExprKind::IfExp {
                        test: Box::new(test),
                        body: Box::new(body),
                        orelse: Box::new(orelse),
                    },
                    ty,
                ))
            }
            ExprKind::Call {
                callee,
                args,
                keywords,
            } => self.call(cx, callee, args, keywords, span),
            ExprKind::Attribute { value, attr } => {
                let value = self.expr(cx, value)?;
                if value.ty == Type::Complex {
                    return self.complex_attribute(cx, value, attr, span);
                }
                let Some(array) = value.array_type() else {
                    let ty = value.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("{ty} has no attribute `{attr}` in compiled code"),
                        )
                        .with_hint("arrays support .shape, .size and .ndim"),
                    );
                    return None;
                };
                match attr.as_str() {
                    "shape" => {
                        let ty = Type::Tuple(vec![Type::Int; array.ndim as usize]);
                        // The shape of a variable is a tuple of its dimensions,
                        // so `h, w = a.shape` unpacks without a temporary.
                        if let typed::ExprKind::Local(_) = value.kind {
                            let dims = (0..array.ndim as usize)
                                .map(|axis| {
                                    typed::Expr::new(
                                        typed::ExprKind::Dim {
                                            array: Box::new(value.clone()),
                                            axis,
                                        },
                                        Type::Int,
                                    )
                                })
                                .collect();
                            return Some(typed::Expr::new(typed::ExprKind::Tuple(dims), ty));
                        }
                        Some(typed::Expr::new(
                            typed::ExprKind::Shape(Box::new(value)),
                            ty,
                        ))
                    }
                    "size" => Some(typed::Expr::new(
                        typed::ExprKind::Size(Box::new(value)),
                        Type::Int,
                    )),
                    "ndim" => Some(typed::Expr::int(array.ndim as i64)),
                    "itemsize" => Some(typed::Expr::int(array.dtype.itemsize())),
                    "nbytes" => Some(typed::Expr::new(
                        typed::ExprKind::Binary {
                            op: BinaryOp::Mul,
                            left: Box::new(typed::Expr::new(
                                typed::ExprKind::Size(Box::new(value)),
                                Type::Int,
                            )),
                            right: Box::new(typed::Expr::int(array.dtype.itemsize())),
                        },
                        Type::Int,
                    )),
                    "T" => Some(self.transpose(value)),
                    // A new array of the parts, not a view: reading works as
                    // in NumPy, stores into it are refused where they are
                    // written (`Target::Index` of a non-variable).
                    "real" | "imag" => self.array_ufunc(
                        cx,
                        attr,
                        crate::library::numpy::Ufunc::Part(if attr == "real" {
                            "real"
                        } else {
                            "imag"
                        }),
                        vec![value],
                        span,
                    ),
                    "dtype" => {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                span,
                                "an array's `dtype` is known when compiling; it is not a value",
                            )
                            .with_hint(
                                "compare it (`a.dtype == np.float64`) or pass it on (`dtype=a.dtype`)",
                            ),
                        );
                        None
                    }
                    _ => {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                span,
                                format!("array attribute `{attr}` is not supported yet"),
                            )
                            .with_hint("arrays support .shape, .size, .ndim and .copy()"),
                        );
                        None
                    }
                }
            }
            ExprKind::Method {
                receiver,
                method,
                args,
                keywords,
            } => {
                let source = receiver;
                let receiver = self.expr(cx, receiver)?;
                if let Type::List(_) = receiver.ty {
                    return self.list_method(cx, source, receiver, method, args, keywords, span);
                }
                // `t.count(x)`, `t.index(x)` of a tuple of any length, with
                // the tuple's messages; other forms (an int among floats,
                // `index(x, start)`) are those of the list of its items.
                if let (Type::TupleOf(item), "count" | "index", [value], true) = (
                    &receiver.ty,
                    method.as_str(),
                    args.as_slice(),
                    keywords.is_empty(),
                ) {
                    let item = (**item).clone();
                    let value = self.expr(cx, value)?;
                    if !lists::inexact_conversion(&value, &item) {
                        let value = self.list_item(cx, &item, value, span)?;
                        let (function, ty) = if method == "count" {
                            ("var_tuple_count", Type::Int)
                        } else {
                            ("var_tuple_index", Type::Int)
                        };
                        return Some(lists::runtime(function, vec![value, receiver], ty));
                    }
                }
                if let (Type::TupleOf(item), "count" | "index") = (&receiver.ty, method.as_str()) {
                    let ty = Type::List(item.clone());
                    let list = lists::runtime("var_tuple_to_list", vec![receiver], ty);
                    return self.list_method(cx, source, list, method, args, keywords, span);
                }
                if method == "__delslice__" {
                    let ty = receiver.ty.clone();
                    let hint = if receiver.array_type().is_some() {
                        "an array's size is fixed: build a new array, such as \
                         np.concatenate((a[:i], a[j:]))"
                    } else {
                        "only lists delete a slice of their elements"
                    };
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_SLICE,
                            span,
                            format!("`del` of a slice of {ty} is not supported"),
                        )
                        .with_hint(hint),
                    );
                    return None;
                }
                if receiver.ty == Type::Complex {
                    return self.complex_method(cx, receiver, method, args.len(), span);
                }
                // `t.count(x)`, `t.index(x)` of a tuple whose items share a
                // type: those of the list of its items.
                if matches!(receiver.ty, Type::Tuple(_))
                    && matches!(method.as_str(), "count" | "index")
                {
                    if let Some(list) = lists::tuple_as_list(&receiver) {
                        return self.list_method(cx, source, list, method, args, keywords, span);
                    }
                }
                if let Type::Dict(..) | Type::Set(_) = receiver.ty {
                    return self
                        .container_method(cx, source, receiver, method, args, keywords, span);
                }
                match receiver.array_type() {
                    // `m.tolist()` of a matrix: a list of row lists.
                    Some(array) if method == "tolist" && args.is_empty() && array.ndim == 2 => {
                        let row = Type::List(Box::new(Type::of_element(array.dtype)));
                        Some(typed::Expr::new(
                            typed::ExprKind::Runtime {
                                function: "array2_to_list",
                                args: vec![receiver],
                            },
                            Type::List(Box::new(row)),
                        ))
                    }
                    Some(_) if method == "tolist" && args.is_empty() => {
                        self.builtin(cx, "list", vec![receiver], span)
                    }
                    // `a.clip(lo, hi)`, `a.round(2)`, `a.dot(b)`: NumPy's
                    // functions of the array and the arguments.
                    Some(_) if matches!(method.as_str(), "clip" | "round" | "dot") => {
                        let mut all = vec![(**source).clone()];
                        all.extend(args.iter().cloned());
                        self.numpy(cx, method, &all, keywords, span)
                    }
                    Some(_) => self.array_method(cx, receiver, method, args, keywords, span),
                    // `n.bit_length()`, `n.bit_count()`, `x.is_integer()`.
                    None if args.is_empty()
                        && keywords.is_empty()
                        && receiver.ty.is_integer_like()
                        && matches!(method.as_str(), "bit_length" | "bit_count") =>
                    {
                        let op = if method == "bit_length" {
                            "int_bit_length"
                        } else {
                            "int_bit_count"
                        };
                        Some(intrinsic(
                            Intrinsic::MathToInt(op),
                            vec![receiver.cast_to(&Type::Int)],
                            Type::Int,
                        ))
                    }
                    None if args.is_empty()
                        && keywords.is_empty()
                        && receiver.ty.is_float_like()
                        && method == "is_integer" =>
                    {
                        Some(intrinsic(
                            Intrinsic::Math("float_is_integer"),
                            vec![receiver.cast_to(&Type::Float)],
                            Type::Bool,
                        ))
                    }
                    _ => {
                        let ty = receiver.ty.clone();
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                span,
                                format!("method `{method}` of {ty} is not supported"),
                            )
                            .with_hint(if matches!(ty, Type::TupleOf(_) | Type::Tuple(_)) {
                                "tuples have .count() and .index() and cannot change: keep a \
                                 list (`list(t)`) to append to"
                            } else {
                                "arrays support .copy(), ints .bit_length() and .bit_count(), floats .is_integer(); write other operations as loops"
                            }),
                        );
                        None
                    }
                }
            }
            ExprKind::Index { .. } => self.index(cx, expr),
            ExprKind::Slice { .. } | ExprKind::Ellipsis => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_SLICE,
                        span,
                        "a slice or `...` is only allowed inside an index",
                    )
                    .with_hint("write it inside brackets: `a[1:-1]`, `a[...]`"),
                );
                None
            }
            ExprKind::Complex(re, im) => Some(self.complex_literal(*re, *im)),
            ExprKind::List(items) => self.list_display(cx, items, span),
            ExprKind::Dict(pairs) => self.dict_display(cx, pairs, span),
            ExprKind::Set(items) => self.set_display(cx, items, span),
            ExprKind::Tuple(items) => {
                if items.is_empty() {
                    // A tuple of any length, whose item type what is added
                    // to it settles (`t = ()` then `t = t + (x,)`).
                    return Some(lists::runtime(
                        "var_tuple_empty",
                        Vec::new(),
                        Type::TupleOf(Box::new(Type::Unknown)),
                    ));
                }
                if items.len() > MAX_TUPLE {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_EXPRESSION,
                            span,
                            format!(
                                "a tuple of {} values; compiled code supports up to {MAX_TUPLE}",
                                items.len()
                            ),
                        )
                        .with_hint("return an array, or split the values into two tuples"),
                    );
                    return None;
                }
                let items = self.exprs(cx, items)?;
                let ty = Type::Tuple(items.iter().map(|i| i.ty.clone()).collect());
                Some(typed::Expr::new(typed::ExprKind::Tuple(items), ty))
            }
        }
    }

    fn index(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<typed::Expr> {
        if let Some(read) = self.iteration_read(cx, expr) {
            return read;
        }
        // `a[i][j]` indexes the same element as `a[i, j]`: gather the chain so
        // the common form compiles to one bounds-checked access, not a view.
        let mut chain: Vec<&[untyped::Expr]> = Vec::new();
        let mut root = expr;
        while let untyped::ExprKind::Index { value, indices } = &root.kind {
            chain.push(indices);
            root = value;
        }
        chain.reverse();
        let mut base = self.expr(cx, root)?;
        // A list takes its subscripts one at a time; what a list holds
        // (an array, a tuple) takes the rest of the chain.
        // `t[a:b]` of a tuple of a fixed length whose items share a type:
        // a tuple of any length, sliced when the function runs.
        if let (Type::Tuple(items), Some([index])) = (&base.ty, chain.first()) {
            if matches!(index.kind, untyped::ExprKind::Slice { .. })
                && items.first().is_some_and(|first| {
                    crate::signature::hashable(first) && items.iter().all(|item| item == first)
                })
            {
                let ty = Type::TupleOf(Box::new(items[0].clone()));
                base = base.cast_to(&ty);
            }
        }
        while let (Type::List(_) | Type::Dict(..) | Type::TupleOf(_), Some(group)) =
            (&base.ty, chain.first())
        {
            base = if let Type::Dict(..) = base.ty {
                self.dict_subscript(cx, base, group, expr.span)?
            } else {
                self.list_subscript(cx, base, group, expr.span)?
            };
            chain.remove(0);
        }
        if chain.is_empty() {
            return Some(base);
        }
        if base.array_type().is_some() {
            for group in chain.iter_mut() {
                *group = array_indices(group);
            }
        }
        if let ([group], Some(array)) = (chain.as_slice(), base.array_type()) {
            if group.len() > 1 && group.iter().any(|i| might_be_array(i, cx)) {
                if let Some(taken) = self.advanced_index(cx, &base, array, group, expr.span) {
                    return taken;
                }
            }
        }
        if let ([[index]], Some(_)) = (chain.as_slice(), base.array_type()) {
            if might_be_array(index, cx) {
                let index = self.expr(cx, index)?;
                if index.array_type().is_some() {
                    return self.select(cx, base, index, expr.span);
                }
            }
        }
        if chain.iter().any(|group| group.iter().any(is_slice_like)) {
            return self.index_with_views(cx, base, &chain, expr.span);
        }
        match &base.ty {
            Type::Array(array) => {
                let all: Vec<untyped::Expr> =
                    chain.iter().flat_map(|c| c.iter().cloned()).collect();
                if all.len() > array.ndim as usize {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INVALID_INDEX,
                            expr.span,
                            format!(
                                "too many indices: the array has {} dimensions, the index has {}",
                                array.ndim,
                                all.len()
                            ),
                        )
                        .with_hint("use one index per dimension"),
                    );
                    return None;
                }
                let indices = self.indices(cx, &all)?;
                let groups = chain.iter().map(|c| c.len()).collect::<Vec<_>>();
                let full = indices.len() == array.ndim as usize;
                let element = array.element();
                let (view, indices) = index_chain(base, indices, &groups);
                if full {
                    return Some(typed::Expr::new(
                        typed::ExprKind::Index {
                            array: Box::new(view),
                            indices,
                            span: expr.span,
                        },
                        element,
                    ));
                }
                Some(sub_arrays(view, indices))
            }
            Type::Tuple(_) => {
                let mut value = base;
                for indices in chain {
                    let [index] = indices else {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::INVALID_INDEX,
                                expr.span,
                                "a tuple takes a single index",
                            )
                            .with_hint("write t[0]"),
                        );
                        return None;
                    };
                    value = self.tuple_get(cx, value, index)?;
                }
                Some(value)
            }
            other => {
                let other = other.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        expr.span,
                        format!("{other} cannot be indexed"),
                    )
                    .with_hint("only arrays and tuples can be indexed"),
                );
                None
            }
        }
    }

    /// `a[idx, j]`, `a[:, idx]`, `a[mask, 1]`: NumPy's advanced indexing by
    /// one 1-D integer array (or 1-D bool mask) among ints and slices,
    /// which takes the elements along that array's axis of the view the
    /// rest makes; and `m[rows, cols]` on a 2-D array, the elements at those
    /// pairs. `None` when no index is an array.
    fn advanced_index(
        &mut self,
        cx: &mut Cx,
        base: &typed::Expr,
        array: ArrayType,
        group: &[untyped::Expr],
        span: Span,
    ) -> Option<Option<typed::Expr>> {
        let parts = match self.advanced_parts(cx, base, array, group, span)? {
            Some(parts) => parts,
            None => return Some(None),
        };
        let take = |function: &'static str, args: Vec<typed::Expr>, ndim: u8| {
            typed::Expr::new(
                typed::ExprKind::Runtime { function, args },
                Type::Array(ArrayType::new(array.dtype, ndim)),
            )
        };
        let flag = |value: bool| {
            typed::Expr::new(
                typed::ExprKind::Literal(typed::Literal::Bool(value)),
                Type::Bool,
            )
        };
        Some(Some(match parts {
            Advanced::Along {
                view,
                index,
                axis,
                front,
            } => {
                let ndim = view.array_type()?.ndim;
                let mask = index.array_type().is_some_and(|i| i.dtype == Dtype::Bool);
                take(
                    if mask {
                        "take_masked_along"
                    } else {
                        "take_along"
                    },
                    vec![view, index, typed::Expr::int(axis as i64), flag(front)],
                    ndim,
                )
            }
            Advanced::Points { rows, columns } => {
                take("take_points", vec![base.clone(), rows, columns], 1)
            }
            Advanced::Several {
                view,
                indices,
                front,
            } => {
                let ndim = view.array_type()?.ndim + 1 - indices.len() as u8;
                let mut args = vec![view];
                for (axis, index) in indices {
                    args.push(index);
                    args.push(typed::Expr::int(axis as i64));
                }
                args.push(flag(front));
                take("take_arrays", args, ndim)
            }
        }))
    }

    /// The parts of an advanced index (see `advanced_index`): `None` when
    /// no index is an array, `Some(None)` after an error.
    fn advanced_parts(
        &mut self,
        cx: &mut Cx,
        base: &typed::Expr,
        array: ArrayType,
        group: &[untyped::Expr],
        span: Span,
    ) -> Option<Option<Advanced>> {
        let mut arrays: Vec<(usize, typed::Expr)> = Vec::new();
        for (position, item) in group.iter().enumerate() {
            if !might_be_array(item, cx) {
                continue;
            }
            let Some(typed) = self.expr(cx, item) else {
                return Some(None);
            };
            if let Some(index) = typed.array_type() {
                let usable =
                    index.ndim == 1 && (index.dtype.is_integer() || index.dtype == Dtype::Bool);
                if !usable {
                    let ty = typed.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INVALID_INDEX,
                            item.span,
                            format!("{ty} cannot index beside other indices in compiled code"),
                        )
                        .with_hint(
                            "index with 1-D integer arrays or masks beside ints and slices, or \
                             with a bool mask of the whole array's shape alone",
                        ),
                    );
                    return Some(None);
                }
                arrays.push((position, typed));
            }
        }
        if arrays.is_empty() {
            return None;
        }
        if let [(_, rows), (_, columns)] = arrays.as_slice() {
            let integers = [rows, columns]
                .iter()
                .all(|a| a.array_type().is_some_and(|t| t.dtype != Dtype::Bool));
            if array.ndim == 2 && group.len() == 2 && integers {
                let columns = arrays.remove(1).1;
                let rows = arrays.remove(0).1;
                return Some(Some(Advanced::Points { rows, columns }));
            }
        }
        if arrays.len() > 1 {
            if let Some((position, _)) = arrays
                .iter()
                .find(|(_, a)| a.array_type().is_some_and(|t| t.dtype == Dtype::Bool))
            {
                let span = group[*position].span;
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        span,
                        "a mask beside another index array is not supported",
                    )
                    .with_hint("index with the mask's positions instead: `np.nonzero(mask)[0]`"),
                );
                return Some(None);
            }
        }
        // The axis that each index array's position becomes in the view
        // made by the other items, where it is a full slice.
        let consuming = group.iter().filter(|i| !is_new_axis_or_ellipsis(i)).count();
        let is_array = |k: usize| arrays.iter().any(|(p, _)| *p == k);
        let axis_of = |position: usize| -> usize {
            group[..position]
                .iter()
                .enumerate()
                .map(|(k, item)| match &item.kind {
                    untyped::ExprKind::Ellipsis => (array.ndim as usize).saturating_sub(consuming),
                    _ if is_slice_like(item) || is_array(k) => 1,
                    _ => 0,
                })
                .sum()
        };
        let axes: Vec<usize> = arrays.iter().map(|(p, _)| axis_of(*p)).collect();
        // The int indices are advanced too: when they and the arrays are
        // not side by side, NumPy puts the taken axis first.
        let advanced: Vec<usize> = (0..group.len())
            .filter(|&k| is_array(k) || !is_slice_like(&group[k]))
            .collect();
        let adjacent = advanced.windows(2).all(|pair| pair[1] == pair[0] + 1);
        let mut items = group.to_vec();
        for (position, _) in &arrays {
            items[*position] = untyped::Expr {
                kind: untyped::ExprKind::Slice {
                    start: None,
                    stop: None,
                    step: None,
                },
                span: group[*position].span,
            };
        }
        let view = self.view(cx, base.clone(), array, &items, span)?;
        if arrays.len() == 1 {
            let (_, index) = arrays.remove(0);
            return Some(Some(Advanced::Along {
                view,
                index,
                axis: axes[0],
                front: !adjacent,
            }));
        }
        let indices = axes
            .into_iter()
            .zip(arrays.into_iter().map(|(_, index)| index))
            .collect();
        Some(Some(Advanced::Several {
            view,
            indices,
            front: !adjacent,
        }))
    }

    /// An index chain with slices: each group applied in turn, a view for
    /// groups with slices, an element or row for plain ones.
    fn index_with_views(
        &mut self,
        cx: &mut Cx,
        base: typed::Expr,
        chain: &[&[untyped::Expr]],
        span: Span,
    ) -> Option<typed::Expr> {
        let mut value = base;
        for group in chain {
            let Some(array) = value.array_type() else {
                let ty = value.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_SLICE,
                        span,
                        format!("{ty} cannot be sliced in compiled code"),
                    )
                    .with_hint("arrays, lists and tuples of items of one type can be sliced; index a tuple of mixed items with constants, t[0]"),
                );
                return None;
            };
            if group.iter().any(is_slice_like) {
                value = self.view(cx, value, array, group, span)?;
                continue;
            }
            if let [index] = group {
                if might_be_array(index, cx) {
                    let typed_index = self.expr(cx, index)?;
                    if typed_index.array_type().is_some() {
                        value = self.select(cx, value, typed_index, span)?;
                        continue;
                    }
                }
            }
            if group.len() > array.ndim as usize {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        span,
                        format!(
                            "too many indices: the array has {} dimensions, the index has {}",
                            array.ndim,
                            group.len()
                        ),
                    )
                    .with_hint("use one index per dimension"),
                );
                return None;
            }
            let indices = self.indices(cx, group)?;
            value = if indices.len() == array.ndim as usize {
                typed::Expr::new(
                    typed::ExprKind::Index {
                        array: Box::new(value),
                        indices,
                        span,
                    },
                    array.element(),
                )
            } else {
                sub_arrays(value, indices)
            };
        }
        Some(value)
    }

    /// `t[k]` with an index known only when running, for a tuple of
    /// numbers of one type that can be read again without effect:
    /// `t[0] if k' == 0 else t[1] if k' == 1 else ...`, with `k'` the index
    /// checked and made non-negative by `rt::tuple_index` (IndexError as
    /// Python's when out of range). `None` when that does not apply;
    /// `Some(None)` after an error.
    fn tuple_read_at(
        &mut self,
        cx: &mut Cx,
        tuple: &typed::Expr,
        index: &untyped::Expr,
    ) -> Option<Option<typed::Expr>> {
        let Type::Tuple(items) = &tuple.ty else {
            return None;
        };
        if items.is_empty() || !items.iter().all(Type::is_numeric) || !tuple.is_effect_free() {
            return None;
        }
        // Items of one type: with an int and a float, the item read would
        // be either, which one type cannot say.
        let joined = items[0].clone();
        if joined == Type::Complex || items.iter().any(|ty| *ty != joined) {
            return None;
        }
        let k = self.expr(cx, index);
        let Some(k) = k else {
            return Some(None);
        };
        if !k.ty.is_integer_like() || !k.is_effect_free() {
            return None;
        }
        let count = items.len();
        let position = typed::Expr::new(
            typed::ExprKind::Runtime {
                function: "tuple_index",
                args: vec![k.cast_to(&Type::Int), typed::Expr::int(count as i64)],
            },
            Type::Int,
        );
        let item = |i: usize| -> typed::Expr {
            let value = match &tuple.kind {
                typed::ExprKind::Tuple(values) => values[i].clone(),
                _ => typed::Expr::new(
                    typed::ExprKind::TupleGet {
                        tuple: Box::new(tuple.clone()),
                        index: i,
                    },
                    items[i].clone(),
                ),
            };
            value.cast_to(&joined)
        };
        // The last item is read when the index names no earlier one; the
        // check of the first comparison has raised for an index outside.
        let mut read = item(count - 1);
        for i in (0..count - 1).rev() {
            let test = typed::Expr::new(
                typed::ExprKind::Compare {
                    operands: vec![position.clone(), typed::Expr::int(i as i64)],
                    ops: vec![CompareOp::Eq],
                    operand_types: vec![Type::Int, Type::Int],
                },
                Type::Bool,
            );
            read = typed::Expr::new(
                typed::ExprKind::IfExp {
                    test: Box::new(test),
                    body: Box::new(item(i)),
                    orelse: Box::new(read),
                },
                joined.clone(),
            );
        }
        if count == 1 {
            // One item: the check still runs before it is read.
            let test = typed::Expr::new(
                typed::ExprKind::Compare {
                    operands: vec![position, typed::Expr::int(0)],
                    ops: vec![CompareOp::Eq],
                    operand_types: vec![Type::Int, Type::Int],
                },
                Type::Bool,
            );
            read = typed::Expr::new(
                typed::ExprKind::IfExp {
                    test: Box::new(test),
                    body: Box::new(read.clone()),
                    orelse: Box::new(read),
                },
                joined.clone(),
            );
        }
        Some(Some(read))
    }

    fn tuple_get(
        &mut self,
        cx: &mut Cx,
        tuple: typed::Expr,
        index: &untyped::Expr,
    ) -> Option<typed::Expr> {
        let Type::Tuple(items) = &tuple.ty else {
            let ty = tuple.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    index.span,
                    format!("{ty} cannot be indexed"),
                )
                .with_hint("only arrays and tuples can be indexed"),
            );
            return None;
        };
        let len = items.len() as i64;
        let position = match constant_int(index) {
            Some(i) if i >= -len && i < len => (if i < 0 { i + len } else { i }) as usize,
            // Past the end: Python's IndexError when the read runs, so a
            // branch that does not run for this tuple's length (`if len(t) >
            // 2: t[2]`, `if x.ndim == 2: x.shape[1]` in a helper given
            // several) compiles. The read has the first item's type.
            Some(_) if (1..=MAX_FIXED_TUPLE_INDEXED).contains(&items.len()) => {
                let ty = items[0].clone();
                return Some(lists::runtime("fixed_tuple_index_error", vec![tuple], ty));
            }
            Some(i) => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        index.span,
                        format!("tuple index {i} is out of range for a tuple of {len} values"),
                    )
                    .with_hint("index within the tuple's length"),
                );
                return None;
            }
            None => {
                if let Some(read) = self.tuple_read_at(cx, &tuple, index) {
                    return read;
                }
                // Items of one type a tuple of any length holds (numbers,
                // tuples of them), read at an index with effects (a call):
                // that tuple, read when the function runs.
                let shared = items.first().filter(|first| {
                    crate::signature::hashable(first) && items.iter().all(|item| item == *first)
                });
                if let Some(item) = shared.cloned() {
                    let k = self.int_value(cx, index)?;
                    let tuple = tuple.cast_to(&Type::TupleOf(Box::new(item.clone())));
                    return Some(lists::runtime("var_tuple_get", vec![tuple, k], item));
                }
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INVALID_INDEX,
                        index.span,
                        "tuple indices must be integer constants",
                    )
                    .with_hint(
                        "index with a literal such as t[0]; a variable index needs a tuple of \
                         numbers of one type, read without side effects",
                    ),
                );
                return None;
            }
        };
        let ty = items[position].clone();
        if let typed::ExprKind::Shape(array) = tuple.kind {
            return Some(typed::Expr::new(
                typed::ExprKind::Dim {
                    array,
                    axis: position,
                },
                Type::Int,
            ));
        }
        if let typed::ExprKind::Tuple(mut values) = tuple.kind {
            return Some(values.swap_remove(position));
        }
        Some(typed::Expr::new(
            typed::ExprKind::TupleGet {
                tuple: Box::new(tuple),
                index: position,
            },
            ty,
        ))
    }

    fn unary(
        &mut self,
        cx: &mut Cx,
        op: UnaryOp,
        operand: typed::Expr,
        span: Span,
    ) -> Option<typed::Expr> {
        if operand.array_type().is_some() {
            return self.array_unary(cx, op, operand, span);
        }
        if op == UnaryOp::Not
            && (operand.ty.has_container()
                || operand.ty == Type::Complex
                || matches!(operand.ty, Type::TupleOf(_) | Type::Tuple(_)))
        {
            let test = self.truthy(cx, operand, span)?;
            return Some(typed::Expr::new(
                typed::ExprKind::Not(Box::new(test)),
                Type::Bool,
            ));
        }
        if operand.ty == Type::Complex {
            return match op {
                UnaryOp::Neg => Some(self.complex_negate(operand)),
                UnaryOp::Pos => Some(operand),
                _ => self.not_complex_operand(cx, span),
            };
        }
        if !operand.ty.is_numeric() {
            let ty = operand.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("unary operator on {ty} is not supported"),
                )
                .with_hint("apply it to a number"),
            );
            return None;
        }
        match op {
            UnaryOp::Not => {
                let test = self.truthy(cx, operand, span)?;
                Some(typed::Expr::new(
                    typed::ExprKind::Not(Box::new(test)),
                    Type::Bool,
                ))
            }
            UnaryOp::Neg | UnaryOp::Pos => {
                let operand = if operand.ty == Type::Bool {
                    operand.cast_to(&Type::Int)
                } else {
                    operand
                };
                if op == UnaryOp::Pos {
                    return Some(operand);
                }
                if let typed::ExprKind::Literal(Literal::Int(v)) = operand.kind {
                    return Some(typed::Expr::int(v.wrapping_neg()));
                }
                if let typed::ExprKind::Literal(Literal::Float(v)) = operand.kind {
                    return Some(typed::Expr::new(
                        typed::ExprKind::Literal(Literal::Float(-v)),
                        Type::Float,
                    ));
                }
                let ty = operand.ty.clone();
                Some(typed::Expr::new(
                    typed::ExprKind::Neg(Box::new(operand)),
                    ty,
                ))
            }
            UnaryOp::Invert => {
                if operand.ty.is_float_like() {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            "bitwise inversion of a float",
                        )
                        .with_hint("`~` applies to integers"),
                    );
                    return None;
                }
                let operand = if operand.ty == Type::Bool {
                    operand.cast_to(&Type::Int)
                } else {
                    operand
                };
                let ty = operand.ty.clone();
                Some(typed::Expr::new(
                    typed::ExprKind::Invert(Box::new(operand)),
                    ty,
                ))
            }
        }
    }

    fn binary(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: typed::Expr,
        right: typed::Expr,
        right_source: &untyped::Expr,
        span: Span,
    ) -> Option<typed::Expr> {
        if Self::involves_array(&[&left, &right]) {
            return self.array_binary(cx, op, left, right, span);
        }
        if let Some(result) = self.var_tuple_binary(cx, op, &left, &right, span) {
            return result;
        }
        if let Some(result) = self.list_binary(cx, op, &left, &right, span) {
            return result;
        }
        if let Some(result) = self.set_binary(cx, op, &left, &right, span) {
            return result;
        }
        if let Some(result) = self.dict_binary(cx, op, &left, &right, span) {
            return result;
        }
        if let Some(result) = self.complex_binary(cx, op, &left, &right, span) {
            return result;
        }
        let (lt, rt) = (left.ty.clone(), right.ty.clone());
        if !lt.is_numeric() || !rt.is_numeric() {
            if let (BinaryOp::Add, Type::Tuple(a), Type::Tuple(b)) = (op, &lt, &rt) {
                let mut items = Vec::new();
                for (i, _) in a.iter().enumerate() {
                    items.push(typed::Expr::new(
                        typed::ExprKind::TupleGet {
                            tuple: Box::new(left.clone()),
                            index: i,
                        },
                        a[i].clone(),
                    ));
                }
                for (i, _) in b.iter().enumerate() {
                    items.push(typed::Expr::new(
                        typed::ExprKind::TupleGet {
                            tuple: Box::new(right.clone()),
                            index: i,
                        },
                        b[i].clone(),
                    ));
                }
                let ty = Type::Tuple(a.iter().chain(b).cloned().collect());
                return Some(typed::Expr::new(typed::ExprKind::Tuple(items), ty));
            }
            let hint = if matches!(lt, Type::Array(_)) || matches!(rt, Type::Array(_)) {
                "whole-array arithmetic is not supported yet; write a loop over the elements"
            } else {
                "use numbers on both sides"
            };
            self.operand_error(cx, op, &left, &right, span, hint);
            return None;
        }
        let common = promote_values(&lt, &rt);
        let result = match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::FloorDiv | BinaryOp::Mod => {
                common
            }
            BinaryOp::TrueDiv => {
                if common.is_float_like() {
                    common
                } else {
                    Type::Float
                }
            }
            BinaryOp::Pow => {
                if common.is_integer_like() && constant_int(right_source).is_some_and(|e| e < 0) {
                    // `2 ** -1` is 0.5 in Python: a negative literal exponent makes a float.
                    Type::Float
                } else {
                    common
                }
            }
            BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => {
                if lt == Type::Bool && rt == Type::Bool {
                    Type::Bool
                } else if common.is_integer_like() {
                    common
                } else {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            format!("bitwise {} needs integers, not {lt} and {rt}", op.symbol()),
                        )
                        .with_hint("convert with int(...)"),
                    );
                    return None;
                }
            }
            BinaryOp::LShift | BinaryOp::RShift => {
                if !common.is_integer_like() {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_OPERAND,
                            span,
                            format!("shift needs integers, not {lt} and {rt}"),
                        )
                        .with_hint("convert with int(...)"),
                    );
                    return None;
                }
                common
            }
        };
        let result = if result == Type::Bool
            && !matches!(op, BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor)
        {
            Type::Int
        } else {
            result
        };
        if op == BinaryOp::TrueDiv && left.ty == Type::Int && right.ty == Type::Int {
            // Kept as explicit conversions, literals too, so that codegen sees
            // an int / int and divides exactly (`rt::truediv_int`).
            let to_float =
                |e: typed::Expr| typed::Expr::new(typed::ExprKind::Cast(Box::new(e)), Type::Float);
            return Some(typed::Expr::new(
                typed::ExprKind::Binary {
                    op,
                    left: Box::new(to_float(left)),
                    right: Box::new(to_float(right)),
                },
                Type::Float,
            ));
        }
        let left = left.cast_to(&result);
        let right = right.cast_to(&result);
        Some(typed::Expr::new(
            typed::ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            result,
        ))
    }

    fn call(
        &mut self,
        cx: &mut Cx,
        callee: &Callee,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        match callee {
            Callee::Function(name) => self.call_function(cx, name, args, keywords, span),
            Callee::Local(name) => self.call_value(cx, name, args, keywords, span),
            Callee::Builtin(name) if name == "sorted" => self.sorted(cx, args, keywords, span),
            Callee::Builtin(name)
                if matches!(
                    name.as_str(),
                    "__sorted_by_key__"
                        | "__min_by_key__"
                        | "__max_by_key__"
                        | "__min_or_by_key__"
                        | "__max_or_by_key__"
                ) =>
            {
                self.by_key(cx, name, args, keywords, span)
            }
            Callee::Builtin(name)
                if matches!(name.as_str(), "min" | "max")
                    && matches!(keywords, [k] if k.name == "default") =>
            {
                self.min_max_default(cx, name, args, &keywords[0], span)
            }
            Callee::Builtin(name) => {
                let typed_args = self.positional_args(cx, &format!("`{name}`"), args, keywords)?;
                if let ("__contains__", [value, container], [_, source]) =
                    (name.as_str(), typed_args.as_slice(), args)
                {
                    // `x in v` where `v = set()` is settled by nothing else.
                    self.refine_searched(cx, source, &container.ty, &value.ty);
                }
                self.builtin(cx, name, typed_args, span)
            }
            Callee::Qualified(name) => {
                if let Some(module_fn) = name.strip_prefix("math.") {
                    if matches!(module_fn, "fsum" | "prod" | "dist" | "isclose") {
                        return self.math_of_values(cx, module_fn, args, keywords, span);
                    }
                    let args =
                        self.positional_args(cx, &format!("math.{module_fn}"), args, keywords)?;
                    return self.math(cx, module_fn, args, span);
                }
                if let Some(numpy_fn) = name.strip_prefix("numpy.") {
                    return self.numpy(cx, numpy_fn, args, keywords, span);
                }
                if let Some(heapq_fn) = name.strip_prefix("heapq.") {
                    return self.heapq(cx, heapq_fn, args, keywords, span);
                }
                if let Some(bisect_fn) = name.strip_prefix("bisect.") {
                    return self.bisect(cx, bisect_fn, args, keywords, span);
                }
                if let Some(cmath_fn) = name.strip_prefix("cmath.") {
                    let args =
                        self.positional_args(cx, &format!("cmath.{cmath_fn}"), args, keywords)?;
                    return self.cmath(cx, cmath_fn, args, span);
                }
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("`{name}` is not supported in compiled code"),
                    )
                    .with_hint(
                        "call functions of this module, builtins, math.* or numpy scalar functions",
                    ),
                );
                None
            }
        }
    }

    fn call_function(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        let slot = self.slot(name)?;
        let function = match &slot.lowered {
            Ok(function) => function,
            Err(diagnostics) => {
                if cx.report && self.reported.insert(name.to_string()) {
                    self.diagnostics.extend(diagnostics.iter().cloned());
                }
                return None;
            }
        };
        // Match positional and keyword arguments to parameters.
        let mut ordered: Vec<Option<&untyped::Expr>> = vec![None; function.params.len()];
        let positional = function.params.iter().filter(|p| !p.keyword_only).count();
        if args.len() > positional {
            self.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!(
                        "`{name}` takes {} but {} were given",
                        plural(positional, "positional argument"),
                        args.len()
                    ),
                )
                .with_secondary(slot.span, "defined here")
                .with_hint("pass keyword-only parameters by name"),
            );
            return None;
        }
        for (i, arg) in args.iter().enumerate() {
            ordered[i] = Some(arg);
        }
        for keyword in keywords {
            match function.params.iter().position(|p| p.name == keyword.name) {
                Some(i) if ordered[i].is_none() => ordered[i] = Some(&keyword.value),
                Some(_) => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::WRONG_ARGUMENTS,
                            keyword.span,
                            format!("`{name}` got multiple values for `{}`", keyword.name),
                        )
                        .with_hint("pass each argument once"),
                    );
                    return None;
                }
                None => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::WRONG_ARGUMENTS,
                            keyword.span,
                            format!("`{name}` has no parameter `{}`", keyword.name),
                        )
                        .with_secondary(slot.span, "defined here")
                        .with_hint("use one of the parameter names"),
                    );
                    return None;
                }
            }
        }
        let mut typed_args = Vec::new();
        for (param, arg) in function.params.iter().zip(&ordered) {
            let callable = match &param.annotation {
                Some(ParamType::Known(Type::Callable(callable))) => Some(callable),
                _ => None,
            };
            let typed = match (arg, callable) {
                (Some(arg), _) if matches!(arg.kind, untyped::ExprKind::None) => {
                    if !param.nullable {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::ARGUMENT_TYPE_MISMATCH,
                                arg.span,
                                format!("`{name}` does not take None for `{}`", param.name),
                            )
                            .with_label("None")
                            .with_secondary(param.span, "declared here")
                            .with_hint(
                                "give the parameter a None default (`x=None`) or a `T | None` \
                                 annotation, or pass a value",
                            ),
                        );
                        return None;
                    }
                    Some(typed::Expr::new(
                        typed::ExprKind::Literal(Literal::None),
                        Type::None,
                    ))
                }
                (Some(arg), Some(callable)) => self.callable_argument(cx, arg, callable),
                (Some(arg), None) => self.expr(cx, arg),
                (None, _) => match param.default.clone() {
                    Some(value) => {
                        let (ty, literal) = constant_literal(value);
                        Some(typed::Expr::new(typed::ExprKind::Literal(literal), ty))
                    }
                    None => {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::WRONG_ARGUMENTS,
                                span,
                                format!("`{name}` is missing the argument `{}`", param.name),
                            )
                            .with_secondary(slot.span, "defined here")
                            .with_hint("pass one argument per parameter"),
                        );
                        return None;
                    }
                },
            };
            typed_args.push(typed);
        }
        let typed_args: Vec<typed::Expr> = typed_args.into_iter().collect::<Option<_>>()?;
        let mut params = Vec::new();
        let mut converted = Vec::new();
        for ((param, arg), source) in function.params.iter().zip(typed_args).zip(&ordered) {
            if arg.ty == Type::None && param.nullable {
                params.push(Type::None);
                converted.push(arg);
                continue;
            }
            let declared = match &param.annotation {
                Some(ParamType::Known(ty)) => Some(ty.clone()),
                Some(ParamType::ArrayOfUnknownRank(dtype)) => match (&arg.ty, dtype) {
                    (Type::Array(a), Some(d)) if a.dtype == *d => Some(arg.ty.clone()),
                    _ => Some(Type::Array(ArrayType {
                        dtype: dtype.unwrap_or(Dtype::Float64),
                        ndim: array_rank_from_use(&param.name, &function.body).unwrap_or(1),
                    })),
                },
                None => None,
            };
            match declared {
                Some(declared) => match self.convert(arg, &declared) {
                    Ok(arg) => {
                        converted.push(arg);
                        params.push(declared);
                    }
                    Err(given) => {
                        let arg_span = source.map(|s| s.span).unwrap_or(span);
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::ARGUMENT_TYPE_MISMATCH,
                                arg_span,
                                format!(
                                    "argument `{}` of `{name}` must be {declared}, not {given}",
                                    param.name
                                ),
                            )
                            .with_label(given.to_string())
                            .with_secondary(param.span, "declared here")
                            .with_hint("pass a value of the declared type"),
                        );
                        return None;
                    }
                },
                None => {
                    params.push(arg.ty.clone());
                    converted.push(arg);
                }
            }
        }
        let id = self.instance(function, params);
        if cx.report {
            self.report_calls.push(id);
        }
        // The variables passed where the callee settles a container's
        // element type take that type, as the container is one object.
        let settled = self.instances[id].settled_params.clone();
        for (source, settled) in ordered.iter().zip(settled) {
            if let (Some(source), Some(settled)) = (source, settled) {
                self.refine_passed(cx, source, settled);
            }
        }
        let Some(return_type) = self.instances[id].return_type.clone() else {
            if cx.report {
                self.report_failed_callee(id, name, span);
            }
            return None;
        };
        Some(typed::Expr::new(
            typed::ExprKind::Call {
                function: format!("#{id}"),
                args: converted,
            },
            return_type,
        ))
    }

    /// A call whose callee has no return type for these arguments: this
    /// call site, once per instance. The callee's own errors come from
    /// typing it for its diagnostics (`report_calls`, in `finish`).
    fn report_failed_callee(&mut self, id: usize, name: &str, span: Span) {
        if !self.failed_callees.insert(id) {
            return;
        }
        let args: Vec<String> = self.instances[id]
            .params
            .iter()
            .map(|t| t.to_string())
            .collect();
        let callee = self.instances[id].function.span;
        self.diagnostics.push(
            Diagnostic::error(
                codes::ARGUMENT_TYPE_MISMATCH,
                span,
                format!(
                    "`{name}` cannot be compiled for the arguments ({})",
                    args.join(", ")
                ),
            )
            .with_label("called here")
            .with_secondary(callee, "the function")
            .with_hint(format!(
                "see the errors inside `{name}`, or pass arguments of the types it handles"
            )),
        );
    }

    /// The typed arguments of a library call that takes no keywords.
    fn positional_args(
        &mut self,
        cx: &mut Cx,
        function: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
    ) -> Option<Vec<typed::Expr>> {
        if let Some(keyword) = keywords.first() {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    keyword.span,
                    format!("{function} takes no keyword arguments in compiled code"),
                )
                .with_hint("pass the arguments positionally"),
            );
            return None;
        }
        self.exprs(cx, args)
    }

    /// Types every expression (so each reports its own errors), then gives
    /// all of them or nothing.
    fn exprs(&mut self, cx: &mut Cx, exprs: &[untyped::Expr]) -> Option<Vec<typed::Expr>> {
        let typed: Vec<Option<typed::Expr>> = exprs.iter().map(|e| self.expr(cx, e)).collect();
        typed.into_iter().collect()
    }

    /// A call through a `Callable` parameter: `f(x)`.
    fn call_value(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        let Some(callee_type) = cx.env.get(name).cloned() else {
            if !cx.poisoned.contains(name) {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::USED_BEFORE_ASSIGNMENT,
                        span,
                        format!("`{name}` is called before it has a value"),
                    )
                    .with_hint("assign it before this call, or call a function of the module"),
                );
            }
            return None;
        };
        let Type::Callable(callable) = &callee_type else {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("`{name}` is {callee_type}, which cannot be called"),
                )
                .with_hint("only parameters annotated Callable[[...], ...] can be called"),
            );
            return None;
        };
        if !keywords.is_empty() || args.len() != callable.params.len() {
            self.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!(
                        "`{name}` takes {} positionally",
                        plural(callable.params.len(), "argument")
                    ),
                )
                .with_hint(format!("its type is {callee_type}")),
            );
            return None;
        }
        let mut converted = Vec::new();
        for (arg, expected) in args.iter().zip(&callable.params) {
            let value = self.expr(cx, arg)?;
            match self.convert(value, expected) {
                Ok(value) => converted.push(value),
                Err(given) => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::ARGUMENT_TYPE_MISMATCH,
                            arg.span,
                            format!("`{name}` takes {expected} here, not {given}"),
                        )
                        .with_hint(format!("its type is {callee_type}")),
                    );
                    return None;
                }
            }
        }
        let callee = typed::Expr::new(
            typed::ExprKind::Local(name.to_string()),
            callee_type.clone(),
        );
        Some(typed::Expr::new(
            typed::ExprKind::CallValue {
                callee: Box::new(callee),
                args: converted,
            },
            (*callable.ret).clone(),
        ))
    }

    /// An argument passed to a `Callable` parameter: a `math` or NumPy
    /// function, a function of this module, or another `Callable` parameter.
    fn callable_argument(
        &mut self,
        cx: &mut Cx,
        arg: &untyped::Expr,
        callable: &CallableType,
    ) -> Option<typed::Expr> {
        let ty = Type::Callable(callable.clone());
        let all_float =
            callable.params.iter().all(|p| *p == Type::Float) && *callable.ret == Type::Float;
        let reference = match &arg.kind {
            untyped::ExprKind::Qualified(path) if all_float => {
                native_function(path, callable.params.len())
            }
            untyped::ExprKind::FunctionRef(name) => {
                let slot = self.slot(name)?;
                let Ok(function) = &slot.lowered else {
                    // Report the function's own lowering errors once.
                    return self.call_function(cx, name, &[], &[], arg.span).and(None);
                };
                let declared_match = function.params.len() == callable.params.len()
                    && function.params.iter().zip(&callable.params).all(|(p, t)| {
                        match &p.annotation {
                            Some(ParamType::Known(declared)) => declared == t,
                            Some(ParamType::ArrayOfUnknownRank(_)) => false,
                            None => true,
                        }
                    });
                if declared_match {
                    let id = self.instance(function, callable.params.clone());
                    match &self.instances[id].return_type {
                        Some(ret) if ret == callable.ret.as_ref() => {
                            Some(typed::FunctionRef::Compiled(format!("#{id}")))
                        }
                        Some(_) => None,
                        // The return type is still being inferred.
                        None => return None,
                    }
                } else {
                    None
                }
            }
            untyped::ExprKind::Local(name) => {
                return match cx.env.get(name) {
                    Some(found) if *found == ty => {
                        Some(typed::Expr::new(typed::ExprKind::Local(name.clone()), ty))
                    }
                    Some(found) => {
                        let found = found.clone();
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::ARGUMENT_TYPE_MISMATCH,
                                arg.span,
                                format!("expected a function of type {ty}, got {found}"),
                            )
                            .with_hint("pass a function with exactly this signature"),
                        );
                        None
                    }
                    None => None,
                };
            }
            _ => None,
        };
        match reference {
            Some(reference) => Some(typed::Expr::new(
                typed::ExprKind::FunctionRef(reference),
                ty,
            )),
            None => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        arg.span,
                        format!("this argument must be a function of type {ty}"),
                    )
                    .with_label("not a compatible function")
                    .with_hint("pass a math or NumPy function (math.cos, np.exp), or a function of this module with exactly this signature"),
                );
                None
            }
        }
    }

    fn builtin(
        &mut self,
        cx: &mut Cx,
        name: &str,
        mut args: Vec<typed::Expr>,
        span: Span,
    ) -> Option<typed::Expr> {
        let arity_error = |this: &mut Self, cx: &Cx, expected: &str| {
            this.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!("`{name}` takes {expected} in compiled code"),
                )
                .with_hint("see the supported forms in the documentation"),
            );
            None
        };
        // The builtins of one iterable (`list()`, `set()`, `dict()` and
        // `tuple()` of none are their literals, made in lowering).
        let one = match name {
            "list" | "set" | "tuple" | "dict" => args.len() > 1,
            "sorted" | "reversed" | "any" | "all" | "len" => args.len() != 1,
            _ => false,
        };
        if one {
            return arity_error(self, cx, "one argument");
        }
        if let Some(result) = self.var_tuple_builtin(cx, name, &mut args, span) {
            return result;
        }
        // A tuple given to a builtin that takes any sequence is the list
        // of its items: `sum(t)`, `max(t)`. (`list`, `set` and `sorted`
        // take it through `as_list`.)
        if let ("sum" | "min" | "max" | "any" | "all" | "reversed", [value]) =
            (name, args.as_slice())
        {
            if let Some(list) = lists::tuple_as_list(value) {
                args[0] = list;
            }
        }
        if let Some(result) = self.complex_builtin(cx, name, &args, span) {
            return result;
        }
        if let Some((function, ty)) = match name {
            "__range_len" => Some(("range_len", Type::Int)),
            "__range_get" => Some(("range_get", Type::Int)),
            "__range_step" => Some(("range_step", Type::Int)),
            "__range_list" => Some(("range_list", Type::List(Box::new(Type::Int)))),
            _ => None,
        } {
            // The parts of a range object (`range_variables`) and
            // `list(range(...))`: ints, as `range()` requires.
            if let Some(bad) = args.iter().find(|a| !a.ty.is_integer_like()) {
                let ty = bad.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("range arguments and indices must be integers, not {ty}"),
                    )
                    .with_hint("convert with int(...)"),
                );
                return None;
            }
            let args = args.into_iter().map(|a| a.cast_to(&Type::Int)).collect();
            return Some(typed::Expr::new(
                typed::ExprKind::Runtime { function, args },
                ty,
            ));
        }
        match (name, args.as_slice()) {
            ("divmod", [a, b]) if a.ty.is_numeric() && b.ty.is_numeric() => {
                let (function, ty) = if a.ty.is_integer_like() && b.ty.is_integer_like() {
                    ("divmod_int", Type::Int)
                } else {
                    ("divmod_float", Type::Float)
                };
                let args = vec![args[0].clone().cast_to(&ty), args[1].clone().cast_to(&ty)];
                return Some(typed::Expr::new(
                    typed::ExprKind::Runtime { function, args },
                    Type::Tuple(vec![ty.clone(), ty]),
                ));
            }
            ("pow", [base, exp, modulus])
                if base.ty.is_integer_like()
                    && exp.ty.is_integer_like()
                    && modulus.ty.is_integer_like() =>
            {
                let args = args.iter().map(|a| a.clone().cast_to(&Type::Int)).collect();
                return Some(typed::Expr::new(
                    typed::ExprKind::Runtime {
                        function: "pow_mod",
                        args,
                    },
                    Type::Int,
                ));
            }
            ("pow", [_, _]) => {
                let source = untyped::Expr {
                    kind: untyped::ExprKind::Int(1),
                    span,
                };
                let right = args.pop()?;
                let left = args.pop()?;
                return self.binary(cx, BinaryOp::Pow, left, right, &source, span);
            }
            ("reversed", [list]) if matches!(list.ty, Type::List(_)) => {
                let ty = list.ty.clone();
                return Some(typed::Expr::new(
                    typed::ExprKind::Runtime {
                        function: "list_reversed",
                        args,
                    },
                    ty,
                ));
            }
            ("divmod" | "pow" | "reversed", _) => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::WRONG_ARGUMENTS,
                        span,
                        format!("`{name}` with these arguments is not supported in compiled code"),
                    )
                    .with_hint(
                        "divmod takes two numbers, pow two numbers or three ints, reversed a list \
                         (or a range, in a for loop)",
                    ),
                );
                return None;
            }
            ("__contains__", [value, _]) if value.ty == Type::Str => {
                let mut args = args.into_iter();
                let (value, container) = (args.next()?, args.next()?);
                return self.str_in_tuple(cx, value, container, span);
            }
            ("__contains__", [_, container]) if matches!(container.ty, Type::Tuple(_)) => {
                let mut args = args.into_iter();
                let (value, container) = (args.next()?, args.next()?);
                return self.tuple_contains(cx, value, container, span);
            }
            _ => {}
        }
        if let Some(result) = self.container_builtin(cx, name, &args, span) {
            return result;
        }
        if let Some(result) = self.list_builtin(cx, name, &args, span) {
            return result;
        }
        if let [array] = args.as_slice() {
            if let Some(array_type) = array.array_type() {
                let array = array.clone();
                match name {
                    "abs" => {
                        let ufunc = crate::library::numpy::ufunc("absolute")?;
                        return self.array_ufunc(cx, "absolute", ufunc, vec![array], span);
                    }
                    // Python iterates the first axis: over a 1-D array these
                    // are NumPy's reductions (ValueError when empty, as
                    // Python's); `sum` of a 2-D array adds its rows.
                    "min" | "max" | "sum" if array_type.ndim == 1 || name == "sum" => {
                        let axis = if array_type.ndim == 1 {
                            Vec::new()
                        } else {
                            vec![("axis".to_string(), typed::Expr::int(0), span)]
                        };
                        let reduced = self.reduction(cx, name, array, &axis, span)?;
                        // Python's sum adds the elements (rows) to 0 one by
                        // one: integers keep the array's dtype and wrap.
                        let dtype = array_type.dtype;
                        if name != "sum" || !dtype.is_integer() || dtype == Dtype::Int64 {
                            return Some(reduced);
                        }
                        return Some(match reduced.array_type() {
                            Some(_) => self.array_cast(reduced, dtype),
                            None => reduced.cast_to(&Type::of_element(dtype)),
                        });
                    }
                    "any" | "all" if array_type.ndim == 1 => {
                        return self.reduction(cx, name, array, &[], span);
                    }
                    _ => {}
                }
            }
        }
        match name {
            "abs" => {
                if args.len() != 1 {
                    return arity_error(self, cx, "one argument");
                }
                let x = args.pop()?;
                let numeric = self.numeric(cx, &x, span)?;
                let (op, x) = if numeric.is_float_like() {
                    (Intrinsic::AbsFloat, x)
                } else if x.ty == Type::Bool {
                    (Intrinsic::AbsInt, x.cast_to(&Type::Int))
                } else {
                    (Intrinsic::AbsInt, x)
                };
                let ty = x.ty.clone();
                Some(intrinsic(op, vec![x], ty))
            }
            "min" | "max" => {
                if args.len() < 2 {
                    return arity_error(self, cx, "two or more numbers");
                }
                let mut ty = args[0].ty.clone();
                for arg in &args {
                    self.numeric(cx, arg, span)?;
                    ty = Type::join(&ty, &arg.ty)?;
                }
                let op = if name == "min" {
                    Intrinsic::Min
                } else {
                    Intrinsic::Max
                };
                let mut values = args.into_iter().map(|a| a.cast_to(&ty));
                let mut folded = values.next()?;
                for value in values {
                    folded = intrinsic(op, vec![folded, value], ty.clone());
                }
                Some(folded)
            }
            "round" => {
                if args.len() == 2 {
                    // `round(x, ndigits)`: a float for a float (correctly
                    // rounded, half to even, as CPython), an int for an int.
                    let ndigits = args.pop()?;
                    let x = args.pop()?;
                    self.numeric(cx, &x, span)?;
                    if !ndigits.ty.is_integer_like() {
                        let ty = ndigits.ty.clone();
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::ARGUMENT_TYPE_MISMATCH,
                                span,
                                format!("round() takes an int for ndigits, got {ty}"),
                            )
                            .with_hint("CPython raises TypeError here; pass an int"),
                        );
                        return None;
                    }
                    let ndigits = ndigits.cast_to(&Type::Int);
                    if x.ty.is_integer_like() {
                        let x = x.cast_to(&Type::Int);
                        return Some(intrinsic(
                            Intrinsic::MathToInt("round_int_digits"),
                            vec![x, ndigits],
                            Type::Int,
                        ));
                    }
                    return Some(intrinsic(
                        Intrinsic::Math("round_digits"),
                        vec![x.cast_to(&Type::Float), ndigits],
                        Type::Float,
                    ));
                }
                if args.len() != 1 {
                    return arity_error(self, cx, "one or two arguments");
                }
                let x = args.pop()?;
                self.numeric(cx, &x, span)?;
                Some(integer_of(x, Intrinsic::RoundToInt))
            }
            "int" => {
                if args.len() != 1 {
                    return arity_error(self, cx, "one argument");
                }
                let x = args.pop()?;
                self.numeric(cx, &x, span)?;
                Some(integer_of(x, Intrinsic::FloatToInt))
            }
            "float" => {
                if args.len() != 1 {
                    return arity_error(self, cx, "one argument");
                }
                let x = args.pop()?;
                self.numeric(cx, &x, span)?;
                Some(x.cast_to(&Type::Float))
            }
            "bool" => {
                if args.len() != 1 {
                    return arity_error(self, cx, "one argument");
                }
                let x = args.pop()?;
                self.truthy(cx, x, span)
            }
            "len" => {
                if args.len() != 1 {
                    return arity_error(self, cx, "one argument");
                }
                let x = args.pop()?;
                match &x.ty {
                    Type::Array(_) => Some(typed::Expr::new(
                        typed::ExprKind::Dim {
                            array: Box::new(x),
                            axis: 0,
                        },
                        Type::Int,
                    )),
                    // The length its type knows; a tuple made here is still
                    // made, for the calls its items may make.
                    Type::Tuple(items) => {
                        let length = typed::Expr::int(items.len() as i64);
                        if made_without_effects(&x) {
                            return Some(length);
                        }
                        Some(typed::Expr::new(
                            typed::ExprKind::Runtime {
                                function: "fixed_tuple_known",
                                args: vec![x, length],
                            },
                            Type::Int,
                        ))
                    }
                    other => {
                        let other = other.clone();
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                span,
                                format!("{other} has no len()"),
                            )
                            .with_hint("len() applies to arrays and tuples"),
                        );
                        None
                    }
                }
            }
            "sum" if args.len() == 2 => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        "the start of `sum(items, start)` must be a number literal in compiled code",
                    )
                    .with_hint("write the start as a literal, as in sum(xs, 0.0), or write the loop"),
                );
                None
            }
            "sum" | "any" | "all" => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("`{name}` takes one array in compiled code"),
                    )
                    .with_hint(format!("write {name}(a) of an array, or the loop")),
                );
                None
            }
            // `a is b`: the same list, dict or set object. Only containers
            // have an identity compiled code keeps (numbers are values).
            "__is__" => {
                let [left, right] = args.as_slice() else {
                    return None;
                };
                let containers = matches!(left.ty, Type::List(_) | Type::Dict(..) | Type::Set(_));
                if containers && left.ty == right.ty {
                    return Some(typed::Expr::new(
                        typed::ExprKind::Runtime {
                            function: "value_is",
                            args,
                        },
                        Type::Bool,
                    ));
                }
                let (a, b) = (left.ty.clone(), right.ty.clone());
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("`is` of {a} and {b} is not supported"),
                    )
                    .with_hint(
                        "`is` compares two lists, dicts or sets of one type; compare other \
                         values with `==` or `!=`",
                    ),
                );
                None
            }
            // `x in c` that no container above took: an error, never a
            // silently dropped statement.
            "__contains__" => {
                let operands: Vec<Type> = args.iter().map(|a| a.ty.clone()).collect();
                let [value, container] = operands.as_slice() else {
                    return None;
                };
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_OPERAND,
                        span,
                        format!("`in` of {value} in {container} is not supported"),
                    )
                    .with_hint("search a list, tuple, dict or set of numbers, or write the loop"),
                );
                None
            }
            _ => None,
        }
    }

    fn numeric(&mut self, cx: &mut Cx, value: &typed::Expr, span: Span) -> Option<Type> {
        if value.ty.is_numeric() {
            Some(value.ty.clone())
        } else {
            let ty = value.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    span,
                    format!("expected a number, got {ty}"),
                )
                .with_hint("pass an int or a float"),
            );
            None
        }
    }

    fn math(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: Vec<typed::Expr>,
        span: Span,
    ) -> Option<typed::Expr> {
        for arg in &args {
            self.numeric(cx, arg, span)?;
        }
        let floats = |args: Vec<typed::Expr>| -> Vec<typed::Expr> {
            args.into_iter().map(|a| a.cast_to(&Type::Float)).collect()
        };
        let arity = args.len();
        let unary = [
            "sqrt", "exp", "expm1", "log2", "log10", "log1p", "sin", "cos", "tan", "asin", "acos",
            "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "gamma",
            "lgamma", "degrees", "radians",
        ];
        let binary = ["atan2", "hypot", "pow", "fmod", "copysign"];
        if let Some(found) = unary.iter().find(|n| **n == name) {
            if arity == 1 {
                return Some(intrinsic(Intrinsic::Math(found), floats(args), Type::Float));
            }
        }
        if let Some(found) = binary.iter().find(|n| **n == name) {
            if arity == 2 {
                return Some(intrinsic(Intrinsic::Math(found), floats(args), Type::Float));
            }
        }
        match (name, arity) {
            ("log", 1) => Some(intrinsic(Intrinsic::Math("log"), floats(args), Type::Float)),
            ("log", 2) => Some(intrinsic(
                Intrinsic::Math("log_base"),
                floats(args),
                Type::Float,
            )),
            ("fabs", 1) => Some(intrinsic(Intrinsic::AbsFloat, floats(args), Type::Float)),
            ("floor" | "ceil" | "trunc", 1) => {
                let mut args = args;
                let x = args.pop()?;
                if x.ty.is_integer_like() {
                    return Some(x.cast_to(&Type::Int));
                }
                let op = match name {
                    "floor" => Intrinsic::MathToInt("floor"),
                    "ceil" => Intrinsic::MathToInt("ceil"),
                    _ => Intrinsic::MathToInt("trunc"),
                };
                Some(intrinsic(op, vec![x.cast_to(&Type::Float)], Type::Int))
            }
            ("gcd" | "lcm" | "isqrt" | "factorial" | "comb", _) => {
                self.integer_math(cx, name, args, span)
            }
            ("isnan", 1) => Some(intrinsic(Intrinsic::IsNan, floats(args), Type::Bool)),
            ("isinf", 1) => Some(intrinsic(Intrinsic::IsInf, floats(args), Type::Bool)),
            ("isfinite", 1) => Some(intrinsic(Intrinsic::IsFinite, floats(args), Type::Bool)),
            _ => {
                self.error(cx, Diagnostic::error(codes::UNSUPPORTED_FUNCTION, span, format!("math.{name} with {arity} argument(s) is not supported")).with_hint("supported: sqrt, exp, log, log2, log10, log1p, expm1, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, hypot, pow, fabs, floor, ceil, trunc, erf, erfc, gamma, lgamma, isnan, isinf, isfinite, isclose, gcd, lcm, isqrt, factorial, comb, fsum, prod, dist"));
                None
            }
        }
    }

    /// `math.gcd`/`lcm` of any number of ints (folded pairwise from the
    /// left, as CPython does), `isqrt`, `factorial`, `comb`: ints in, an
    /// int out, CPython's ValueError for negative arguments and
    /// OverflowError for results past 64 bits.
    fn integer_math(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: Vec<typed::Expr>,
        span: Span,
    ) -> Option<typed::Expr> {
        if let Some(arg) = args.iter().find(|a| !a.ty.is_integer_like()) {
            let ty = arg.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    span,
                    format!("math.{name} takes ints, got {ty}"),
                )
                .with_hint("CPython raises TypeError for a float here; convert with int(x) first"),
            );
            return None;
        }
        let mut ints = args.into_iter().map(|a| a.cast_to(&Type::Int));
        let call = |op: &'static str, args: Vec<typed::Expr>| {
            intrinsic(Intrinsic::MathToInt(op), args, Type::Int)
        };
        let arity = ints.len();
        match (name, arity) {
            ("gcd" | "lcm", _) => {
                let op = if name == "gcd" { "gcd" } else { "lcm" };
                let Some(first) = ints.next() else {
                    return Some(typed::Expr::int(if op == "gcd" { 0 } else { 1 }));
                };
                // One argument: its absolute value, as gcd(a, 0) gives it
                // (with the overflow check of abs(-2**63)).
                let Some(second) = ints.next() else {
                    return Some(call("gcd", vec![first, typed::Expr::int(0)]));
                };
                Some(ints.fold(call(op, vec![first, second]), |acc, next| {
                    call(op, vec![acc, next])
                }))
            }
            ("isqrt", 1) => Some(call("isqrt", ints.collect())),
            ("factorial", 1) => Some(call("factorial", ints.collect())),
            ("comb", 2) => Some(call("comb", ints.collect())),
            _ => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("math.{name} with {arity} argument(s) is not supported"),
                    )
                    .with_hint(
                        "math.isqrt(n) and math.factorial(n) take one int, math.comb(n, k) two",
                    ),
                );
                None
            }
        }
    }

    fn numpy(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        if let (
            "abs" | "absolute" | "angle" | "conj" | "conjugate" | "real" | "imag" | "sqrt" | "exp"
            | "log",
            [arg],
            [],
        ) = (name, args, keywords)
        {
            let value = self.expr(cx, arg)?;
            if value.ty == Type::Complex {
                return self.numpy_complex(cx, name, &[value], span)?;
            }
        }
        if let ("round" | "around" | "round_", [value, decimals], []) = (name, args, keywords) {
            return self.round_decimals(cx, name, value, decimals, span);
        }
        // `np.clip(a, lo, None)` bounds one side only: `np.maximum(a, lo)`
        // (and `np.minimum(a, hi)` for `np.clip(a, None, hi)`).
        if let ("clip", [value, low, high], []) = (name, args, keywords) {
            let is_none = |e: &untyped::Expr| matches!(e.kind, untyped::ExprKind::None);
            match (is_none(low), is_none(high)) {
                (false, true) => {
                    return self.numpy(cx, "maximum", &[value.clone(), low.clone()], &[], span)
                }
                (true, false) => {
                    return self.numpy(cx, "minimum", &[value.clone(), high.clone()], &[], span)
                }
                _ => {}
            }
        }
        match name {
            "zeros" | "ones" | "empty" | "full" => {
                return self.new_array(cx, name, args, keywords, span)
            }
            "zeros_like" | "ones_like" | "empty_like" | "full_like" => {
                return self.new_array_like(cx, name, args, keywords, span)
            }
            "arange" | "linspace" | "eye" | "identity" | "dot" | "matmul" | "outer" | "trace"
            | "flip" | "fliplr" | "flipud" | "expand_dims" | "squeeze" | "diff" | "concatenate"
            | "stack" | "vstack" | "hstack" | "roll" | "sort" | "argsort" | "unique"
            | "searchsorted" | "bincount" | "count_nonzero" | "nonzero" | "repeat" | "tile"
            | "array" | "asarray" | "linalg.norm" | "median" => {
                return self.numpy_array_function(cx, name, args, keywords, span)
            }
            _ => {}
        }
        if name == "where" && args.len() == 1 {
            return self.numpy_array_function(cx, "nonzero", args, keywords, span);
        }
        if let Some(result) = self.numpy_on_arrays(cx, name, args, keywords, span) {
            return result;
        }
        let known = matches!(
            name,
            "copy"
                | "square"
                | "isnan"
                | "isinf"
                | "isfinite"
                | "sign"
                | "minimum"
                | "maximum"
                | "clip"
        ) || crate::library::numpy::FLOAT_METHODS
            .iter()
            .any(|(n, _, _)| *n == name)
            || Dtype::from_name(name).is_some();
        if !known {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("numpy.{name} is not supported in compiled code"),
                )
                .with_hint(unsupported_numpy_hint(name)),
            );
            return None;
        }
        let args = self.positional_args(cx, &format!("numpy.{name}"), args, keywords)?;
        if name == "copy" {
            if let [array] = args.as_slice() {
                if array.array_type().is_some() {
                    let ty = array.ty.clone();
                    return Some(typed::Expr::new(
                        typed::ExprKind::CopyArray(Box::new(array.clone())),
                        ty,
                    ));
                }
            }
        }
        if let Some(dtype) =
            Dtype::from_name(name).filter(|_| !matches!(name, "int" | "float" | "bool"))
        {
            if let [x] = args.as_slice() {
                self.numeric(cx, x, span)?;
                return Some(x.clone().cast_to(&Type::of_element(dtype)));
            }
        }
        for arg in &args {
            self.numeric(cx, arg, span)?;
        }
        if let ("minimum" | "maximum" | "clip", false) =
            (name, args.iter().any(|a| a.ty == Type::Bool))
        {
            // NumPy's minimum and maximum of numbers propagate nan (Python's
            // min and max do not); clip is minimum(maximum(x, lo), hi).
            let arity = if name == "clip" { 3 } else { 2 };
            if args.len() != arity {
                return self.numpy_arity(cx, name, span);
            }
            let float = args.iter().any(|a| a.ty.is_float_like());
            let (ty, min, max) = if float {
                (
                    Type::Float,
                    Intrinsic::Math("numpy_minimum"),
                    Intrinsic::Math("numpy_maximum"),
                )
            } else {
                (Type::Int, Intrinsic::Min, Intrinsic::Max)
            };
            let mut values = args.into_iter().map(|a| a.cast_to(&ty));
            let (first, second) = (values.next()?, values.next()?);
            return Some(match name {
                "minimum" => intrinsic(min, vec![first, second], ty),
                "maximum" => intrinsic(max, vec![first, second], ty),
                _ => {
                    let raised = intrinsic(max, vec![first, second], ty.clone());
                    intrinsic(min, vec![raised, values.next()?], ty)
                }
            });
        }
        if name == "sign" {
            // NumPy's sign of a number: -1, 0 or 1 of its kind (0.0 for
            // -0.0), nan for nan; NumPy has no sign of a bool.
            let [x] = args.as_slice() else {
                return self.numpy_arity(cx, name, span);
            };
            if x.ty == Type::Bool {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        span,
                        "NumPy has no sign of a bool",
                    )
                    .with_hint("convert with int(x) first"),
                );
                return None;
            }
            let x = x.clone();
            return Some(if x.ty.is_float_like() {
                intrinsic(
                    Intrinsic::Math("numpy_sign"),
                    vec![x.cast_to(&Type::Float)],
                    Type::Float,
                )
            } else {
                intrinsic(
                    Intrinsic::MathToInt("numpy_sign_int"),
                    vec![x.cast_to(&Type::Int)],
                    Type::Int,
                )
            });
        }
        // NumPy's scalar functions compute in the argument's float type
        // (float32 stays float32) and follow IEEE rules instead of raising.
        let float_type = if args.iter().all(|a| a.ty == Type::Scalar(Dtype::Float32)) {
            Type::Scalar(Dtype::Float32)
        } else {
            Type::Float
        };
        let method = match name {
            "sqrt" => "sqrt",
            "exp" => "exp",
            "exp2" => "exp2",
            "log" => "ln",
            "log2" => "log2",
            "log10" => "log10",
            "log1p" => "ln_1p",
            "expm1" => "exp_m1",
            "sin" => "sin",
            "cos" => "cos",
            "tan" => "tan",
            "arcsin" => "asin",
            "arccos" => "acos",
            "arctan" => "atan",
            "sinh" => "sinh",
            "cosh" => "cosh",
            "tanh" => "tanh",
            "arcsinh" => "asinh",
            "arccosh" => "acosh",
            "arctanh" => "atanh",
            "floor" => "floor",
            "ceil" => "ceil",
            "trunc" => "trunc",
            "rint" => "round_ties_even",
            "deg2rad" | "radians" => "to_radians",
            "rad2deg" | "degrees" => "to_degrees",
            "hypot" => "hypot",
            "arctan2" => "atan2",
            "power" => "powf",
            "copysign" => "copysign",
            "abs" | "absolute" | "fabs" => {
                let [x] = args.as_slice() else {
                    return self.numpy_arity(cx, name, span);
                };
                if x.ty.is_float_like() || name == "fabs" {
                    let x = if x.ty.is_float_like() {
                        x.clone()
                    } else {
                        x.clone().cast_to(&Type::Float)
                    };
                    let ty = x.ty.clone();
                    return Some(intrinsic(Intrinsic::AbsFloat, vec![x], ty));
                }
                let x = if x.ty == Type::Bool {
                    x.clone().cast_to(&Type::Int)
                } else {
                    x.clone()
                };
                let ty = x.ty.clone();
                return Some(intrinsic(Intrinsic::AbsInt, vec![x], ty));
            }
            "isnan" | "isinf" | "isfinite" => {
                let [x] = args.as_slice() else {
                    return self.numpy_arity(cx, name, span);
                };
                let op = match name {
                    "isnan" => Intrinsic::IsNan,
                    "isinf" => Intrinsic::IsInf,
                    _ => Intrinsic::IsFinite,
                };
                return Some(intrinsic(
                    op,
                    vec![x.clone().cast_to(&float_type)],
                    Type::Bool,
                ));
            }
            "square" => {
                let [x] = args.as_slice() else {
                    return self.numpy_arity(cx, name, span);
                };
                let x = if x.ty == Type::Bool {
                    x.clone().cast_to(&Type::Int)
                } else {
                    x.clone()
                };
                let ty = x.ty.clone();
                return Some(typed::Expr::new(
                    typed::ExprKind::Binary {
                        op: BinaryOp::Mul,
                        left: Box::new(x.clone()),
                        right: Box::new(x),
                    },
                    ty,
                ));
            }
            _ => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("numpy.{name} is not supported in compiled code"),
                    )
                    .with_hint(unsupported_numpy_hint(name)),
                );
                return None;
            }
        };
        let expected_arity = if matches!(name, "hypot" | "arctan2" | "power" | "copysign") {
            2
        } else {
            1
        };
        if args.len() != expected_arity {
            return self.numpy_arity(cx, name, span);
        }
        let args = args.into_iter().map(|a| a.cast_to(&float_type)).collect();
        Some(intrinsic(Intrinsic::FloatMethod(method), args, float_type))
    }

    /// NumPy functions of whole arrays: ufuncs with an array argument,
    /// reductions, `transpose`, `reshape`, `ravel`. `None` when the call is
    /// not one of these (a ufunc of scalars, for instance), so the scalar
    /// rules apply; `Some(None)` when it is and failed.
    fn numpy_on_arrays(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Option<typed::Expr>> {
        let ufunc = crate::library::numpy::ufunc(name);
        let array_function = crate::library::numpy::is_reduction(name)
            || matches!(name, "transpose" | "reshape" | "ravel");
        if ufunc.is_none() && !array_function {
            return None;
        }
        let typed_args = match self.exprs(cx, args) {
            Some(typed) => typed,
            None => return Some(None),
        };
        if array_function {
            let Some(first) = typed_args.first().cloned() else {
                return Some(self.numpy_arity(cx, name, span));
            };
            if first.array_type().is_none() {
                // np.sum of a scalar and the like: NumPy's 0-d arrays are not
                // compiled; say so rather than guess.
                let ty = first.ty.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("numpy.{name} of {ty} is not supported"),
                    )
                    .with_hint("call it on an array"),
                );
                return Some(None);
            }
            return Some(match name {
                "transpose" if typed_args.len() == 1 && keywords.is_empty() => {
                    Some(self.transpose(first))
                }
                "ravel" | "reshape" => {
                    let method = untyped::Expr {
                        kind: untyped::ExprKind::Method {
                            receiver: Box::new(args[0].clone()),
                            method: name.to_string(),
                            args: args[1..].to_vec(),
                            keywords: keywords.to_vec(),
                        },
                        span,
                    };
                    self.expr(cx, &method)
                }
                "transpose" => self.numpy_arity(cx, name, span),
                _ => {
                    let mut named = Vec::new();
                    let mut ok = true;
                    for keyword in keywords {
                        match self.expr(cx, &keyword.value) {
                            Some(value) => named.push((keyword.name.clone(), value, keyword.span)),
                            None => ok = false,
                        }
                    }
                    if !ok {
                        return Some(None);
                    }
                    match typed_args.len() {
                        1 => {}
                        2 => named
                            .insert(0, ("axis".to_string(), typed_args[1].clone(), args[1].span)),
                        _ => return Some(self.numpy_arity(cx, name, span)),
                    }
                    self.reduction(cx, name, first, &named, span)
                }
            });
        }
        let ufunc = ufunc?;
        if !Self::involves_array(&typed_args.iter().collect::<Vec<_>>()) {
            return None;
        }
        if let Some(keyword) = keywords.first() {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    keyword.span,
                    format!(
                        "keyword `{}` of numpy.{name} is not supported",
                        keyword.name
                    ),
                )
                .with_hint(
                    "pass the arguments positionally; `out=` is written as `out[...] = np.f(a)`",
                ),
            );
            return Some(None);
        }
        Some(self.array_ufunc(cx, name, ufunc, typed_args, span))
    }

    fn numpy_arity(&mut self, cx: &mut Cx, name: &str, span: Span) -> Option<typed::Expr> {
        self.error(
            cx,
            Diagnostic::error(
                codes::WRONG_ARGUMENTS,
                span,
                format!("wrong number of arguments for numpy.{name}"),
            )
            .with_hint("check the call against NumPy's signature"),
        );
        None
    }

    /// `a.dtype == np.float64`, `a.dtype != b.dtype`, `x.dtype == float`:
    /// dtypes are known when compiling, so the comparison is a constant.
    /// `None` when neither side is an array's `.dtype`. The arrays whose
    /// dtype is read must be variables, so nothing is left unevaluated.
    fn dtype_comparison(
        &mut self,
        cx: &mut Cx,
        left: &untyped::Expr,
        op: CompareOp,
        right: &untyped::Expr,
    ) -> Option<Option<typed::Expr>> {
        let is_dtype_attribute = |e: &untyped::Expr| matches!(&e.kind, untyped::ExprKind::Attribute { attr, .. } if attr == "dtype");
        if !is_dtype_attribute(left) && !is_dtype_attribute(right) {
            return None;
        }
        let mut side = |this: &mut Self, e: &untyped::Expr| -> Option<DtypeName> {
            match &e.kind {
                untyped::ExprKind::Attribute { value, attr } if attr == "dtype" => {
                    let typed = this.expr(cx, value)?;
                    let Some(array) = typed.array_type() else {
                        let ty = typed.ty.clone();
                        this.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                e.span,
                                format!("{ty} has no attribute `dtype` in compiled code"),
                            )
                            .with_hint("compare the dtype of an array"),
                        );
                        return None;
                    };
                    if !matches!(typed.kind, typed::ExprKind::Local(_)) {
                        this.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                e.span,
                                "the dtype of an expression is compared without evaluating it",
                            )
                            .with_hint("assign the array to a variable and compare its dtype"),
                        );
                        return None;
                    }
                    Some(DtypeName::Known(array.dtype))
                }
                untyped::ExprKind::Qualified(name) => match name.strip_prefix("numpy.") {
                    Some(short) => dtype_name(short),
                    None => None,
                },
                untyped::ExprKind::BuiltinRef(name) | untyped::ExprKind::Str(name) => {
                    dtype_name(name)
                }
                _ => None,
            }
            .or_else(|| {
                this.error(
                    cx,
                    Diagnostic::error(
                        codes::UNKNOWN_DTYPE,
                        e.span,
                        "a dtype is compared only with a dtype",
                    )
                    .with_label("expected a NumPy dtype or another array's `.dtype`")
                    .with_hint("write a.dtype == np.float64, a.dtype == b.dtype, ..."),
                );
                None
            })
        };
        let (Some(l), Some(r)) = (side(self, left), side(self, right)) else {
            return Some(None);
        };
        let equal = match (l, r) {
            (DtypeName::Known(a), DtypeName::Known(b)) => a == b,
            _ => false,
        };
        let value = if op == CompareOp::Eq { equal } else { !equal };
        Some(Some(typed::Expr::new(
            typed::ExprKind::Literal(typed::Literal::Bool(value)),
            Type::Bool,
        )))
    }

    /// The dtype named by a `dtype=` argument.
    fn dtype_argument(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<Dtype> {
        if let untyped::ExprKind::Attribute { value, attr } = &expr.kind {
            if attr == "dtype" {
                let typed = self.expr(cx, value)?;
                if let Some(array) = typed.array_type() {
                    return Some(array.dtype);
                }
            }
        }
        let dtype = match &expr.kind {
            untyped::ExprKind::Qualified(name) => {
                name.strip_prefix("numpy.").and_then(Dtype::from_name)
            }
            untyped::ExprKind::BuiltinRef(name) => Dtype::from_name(name),
            untyped::ExprKind::Str(name) => Dtype::from_name(name),
            _ => None,
        };
        if dtype.is_none() {
            self.error(
                cx,
                Diagnostic::error(codes::UNKNOWN_DTYPE, expr.span, "unknown dtype")
                    .with_label("expected a NumPy dtype")
                    .with_hint("write dtype=np.float64, np.int64, np.uint8, bool, ..."),
            );
        }
        dtype
    }

    fn new_array(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        let is_full = name == "full";
        let max_positional = if is_full { 3 } else { 2 };
        if args.is_empty() || args.len() > max_positional {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!(
                        "numpy.{name} takes a shape{} and an optional dtype",
                        if is_full { ", a fill value" } else { "" }
                    ),
                )
                .with_hint(format!(
                    "write np.{name}((n, m){}, dtype=np.float64)",
                    if is_full { ", value" } else { "" }
                )),
            );
            return None;
        }
        let mut dtype_expr = args.get(max_positional - 1);
        let mut fill_expr = if is_full { args.get(1) } else { None };
        for keyword in keywords {
            match keyword.name.as_str() {
                "dtype" => dtype_expr = Some(&keyword.value),
                "fill_value" if is_full => fill_expr = Some(&keyword.value),
                "shape" => {}
                other => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            keyword.span,
                            format!("numpy.{name} keyword `{other}` is not supported"),
                        )
                        .with_hint("use shape and dtype"),
                    );
                    return None;
                }
            }
        }
        let shape = self.shape(cx, &args[0])?;
        let fill = match fill_expr {
            Some(fill) => Some(self.expr(cx, fill)?),
            None if is_full => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        "numpy.full needs a fill value",
                    )
                    .with_hint("write np.full(n, value)"),
                );
                return None;
            }
            None => None,
        };
        let dtype = match dtype_expr {
            Some(expr) => self.dtype_argument(cx, expr)?,
            None => match &fill {
                Some(fill) => fill.ty.dtype().unwrap_or(Dtype::Float64),
                None => Dtype::Float64,
            },
        };
        self.make_array(cx, name, dtype, shape, fill, span)
    }

    fn new_array_like(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<typed::Expr> {
        let is_full = name == "full_like";
        let expected = if is_full { 2 } else { 1 };
        if args.len() != expected {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!(
                        "numpy.{name} takes an array{}",
                        if is_full { " and a fill value" } else { "" }
                    ),
                )
                .with_hint(format!(
                    "write np.{name}(a{})",
                    if is_full { ", value" } else { "" }
                )),
            );
            return None;
        }
        let template = self.expr(cx, &args[0])?;
        let Some(array) = template.array_type() else {
            let ty = template.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    args[0].span,
                    format!("numpy.{name} needs an array, not {ty}"),
                )
                .with_hint("pass an array"),
            );
            return None;
        };
        let mut dtype = array.dtype;
        for keyword in keywords {
            if keyword.name == "dtype" {
                dtype = self.dtype_argument(cx, &keyword.value)?;
            } else {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        keyword.span,
                        format!("numpy.{name} keyword `{}` is not supported", keyword.name),
                    )
                    .with_hint("only dtype= is supported"),
                );
                return None;
            }
        }
        let shape = (0..array.ndim as usize)
            .map(|axis| {
                typed::Expr::new(
                    typed::ExprKind::Dim {
                        array: Box::new(template.clone()),
                        axis,
                    },
                    Type::Int,
                )
            })
            .collect();
        let fill = if is_full {
            Some(self.expr(cx, &args[1])?)
        } else {
            None
        };
        let base = name.trim_end_matches("_like");
        self.make_array(cx, base, dtype, shape, fill, span)
    }

    fn make_array(
        &mut self,
        cx: &mut Cx,
        name: &str,
        dtype: Dtype,
        shape: Vec<typed::Expr>,
        fill: Option<typed::Expr>,
        span: Span,
    ) -> Option<typed::Expr> {
        if shape.is_empty() || shape.len() > 3 {
            self.error(
                cx,
                Diagnostic::error(
                    codes::TOO_MANY_DIMENSIONS,
                    span,
                    "arrays must have 1 to 3 dimensions",
                )
                .with_hint("give a shape such as n or (n, m)"),
            );
            return None;
        }
        let array = ArrayType {
            dtype,
            ndim: shape.len() as u8,
        };
        let element = array.element();
        let fill = match (name, fill) {
            ("ones", _) => ArrayFill::Ones,
            (_, Some(value)) => {
                if !(value.ty == Type::Complex && dtype.is_complex()) {
                    self.numeric(cx, &value, span)?;
                }
                ArrayFill::Value(Box::new(value.cast_to(&element)))
            }
            // np.empty is filled with zeros: reading it before writing gives a
            // defined value instead of leftover memory.
            _ => ArrayFill::Zeros,
        };
        Some(typed::Expr::new(
            typed::ExprKind::NewArray { array, fill, shape },
            Type::Array(array),
        ))
    }

    fn shape(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<Vec<typed::Expr>> {
        let value = self.expr(cx, expr)?;
        match &value.ty {
            ty if ty.is_integer_like() => Some(vec![value.cast_to(&Type::Int)]),
            Type::Tuple(items) if items.iter().all(|t| t.is_integer_like()) => match value.kind {
                typed::ExprKind::Tuple(items) => {
                    Some(items.into_iter().map(|i| i.cast_to(&Type::Int)).collect())
                }
                typed::ExprKind::Shape(array) => {
                    let ndim = array.array_type().map(|a| a.ndim).unwrap_or(0) as usize;
                    Some(
                        (0..ndim)
                            .map(|axis| {
                                typed::Expr::new(
                                    typed::ExprKind::Dim {
                                        array: array.clone(),
                                        axis,
                                    },
                                    Type::Int,
                                )
                            })
                            .collect(),
                    )
                }
                _ => Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(index, ty)| {
                            typed::Expr::new(
                                typed::ExprKind::TupleGet {
                                    tuple: Box::new(value.clone()),
                                    index,
                                },
                                ty.clone(),
                            )
                            .cast_to(&Type::Int)
                        })
                        .collect(),
                ),
            },
            other => {
                let other = other.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        expr.span,
                        format!("an array shape must be an int or a tuple of ints, not {other}"),
                    )
                    .with_hint("write n or (n, m)"),
                );
                None
            }
        }
    }
}

/// Marks the names an assignment would have bound after it failed, so later
/// reads do not add "used before it is assigned" to the real error.
/// Two operands of which one is a container with parts of unknown type
/// (`[]`, `set()`, `{}`, or a variable nothing filled) and the other one of
/// the same shape and known type: the first converted to the second's type,
/// as an empty container equals or combines with one of any element type.
/// Other operands as they are.
pub(super) fn settle_unknown_operand(
    left: &typed::Expr,
    right: &typed::Expr,
) -> (typed::Expr, typed::Expr) {
    let (l, r) = (left.clone(), right.clone());
    if left.ty == right.ty {
        return (l, r);
    }
    match Type::join(&left.ty, &right.ty) {
        Some(joined) if joined == right.ty && left.ty.has_unknown() => (l.cast_to(&joined), r),
        Some(joined) if joined == left.ty && right.ty.has_unknown() => (l, r.cast_to(&joined)),
        _ => (l, r),
    }
}

/// Whether a statement may type to nothing without an error: `pass`, a
/// declaration, or an `if` holding only those.
fn vanishes(stmt: &untyped::Stmt) -> bool {
    use untyped::StmtKind;
    match &stmt.kind {
        StmtKind::Pass | StmtKind::Declare { .. } => true,
        StmtKind::If { body, orelse, .. } => body.iter().chain(orelse).all(vanishes),
        _ => false,
    }
}

fn poison(cx: &mut Cx, target: &untyped::Target) {
    if !cx.report {
        return;
    }
    match target {
        untyped::Target::Name(name, _) => {
            cx.poisoned.insert(name.clone());
        }
        untyped::Target::Index { .. } => {}
        untyped::Target::Tuple(items, _) => items.iter().for_each(|t| poison(cx, t)),
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `round(x)` and `int(x)`: a float goes through `float_op`, an integer is
/// already the answer.
fn integer_of(x: typed::Expr, float_op: Intrinsic) -> typed::Expr {
    if x.ty.is_float_like() {
        intrinsic(float_op, vec![x.cast_to(&Type::Float)], Type::Int)
    } else {
        x.cast_to(&Type::Int)
    }
}

fn intrinsic(op: Intrinsic, args: Vec<typed::Expr>, ty: Type) -> typed::Expr {
    typed::Expr::new(typed::ExprKind::Intrinsic { op, args }, ty)
}

/// Whether Python code could pass a `from` value where `to` is declared.
fn convertible(from: &Type, to: &Type) -> bool {
    if from == to {
        return true;
    }
    match (from, to) {
        (Type::Tuple(a), Type::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| convertible(x, y))
        }
        // A list display takes the element type it is stored as; an empty
        // one (or one of empty lists) any element type.
        (Type::List(a), Type::List(b)) | (Type::Set(a), Type::Set(b)) => {
            a.has_unknown() || convertible(a, b)
        }
        (Type::Dict(ak, av), Type::Dict(bk, bv)) => {
            (ak.has_unknown() || convertible(ak, bk)) && (av.has_unknown() || convertible(av, bv))
        }
        // A tuple is a value: one of a fixed length (or of other numbers)
        // becomes a tuple of any length where one is expected.
        (Type::Tuple(a), Type::TupleOf(b)) => a.iter().all(|x| convertible(x, b)),
        (Type::TupleOf(a), Type::TupleOf(b)) => a.has_unknown() || convertible(a, b),
        (Type::Bool, t) if t.is_numeric() => true,
        (f, Type::Int) => f.is_integer_like(),
        (f, Type::Float) => f.is_numeric(),
        (f, Type::Scalar(d)) => f.is_numeric() && (d.is_float() || f.is_integer_like()),
        // A number stored among complex numbers (`zs[0] = -2.0 * nu`) is
        // one, as an int among floats is a float.
        (f, Type::Complex) => f.is_numeric(),
        _ => false,
    }
}

/// An integer literal, possibly negated: `3`, `-1`.
fn constant_int(expr: &untyped::Expr) -> Option<i64> {
    match &expr.kind {
        untyped::ExprKind::Int(v) => Some(*v),
        untyped::ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => constant_int(operand).map(i64::wrapping_neg),
        _ => None,
    }
}

/// `float(text)` as CPython reads a string: surrounding whitespace, an
/// optional sign, `inf`/`infinity`/`nan` in any case, or a decimal number
/// (underscores only between digits).
pub(crate) fn python_float_literal(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let bytes = lower.as_bytes();
            let digits_around = |i: usize| {
                i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit()
            };
            if (0..bytes.len()).any(|i| bytes[i] == b'_' && !digits_around(i))
                || !bytes
                    .iter()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-' | b'_'))
                || !bytes.iter().any(u8::is_ascii_digit)
            {
                return None;
            }
            lower.replace('_', "").parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

pub(super) fn compare_symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "==",
        CompareOp::NotEq => "!=",
        CompareOp::Lt => "<",
        CompareOp::LtE => "<=",
        CompareOp::Gt => ">",
        CompareOp::GtE => ">=",
    }
}

/// A parameter's default converted to the parameter's type (`= 0` on a
/// float parameter is `0.0`).
fn default_literal(value: ConstValue, ty: &Type) -> Literal {
    match (value, ty) {
        (ConstValue::Int(v), Type::Float) => Literal::Float(v as f64),
        (ConstValue::Bool(v), Type::Float) => Literal::Float(f64::from(u8::from(v))),
        (ConstValue::Bool(v), Type::Int) => Literal::Int(i64::from(v)),
        (value, _) => constant_literal(value).1,
    }
}

/// The `math` or NumPy function `path` as a native function of `arity`
/// float arguments, if ferropy knows it.
fn native_function(path: &str, arity: usize) -> Option<typed::FunctionRef> {
    if let Some(name) = path.strip_prefix("math.") {
        return crate::library::math::FUNCTIONS
            .iter()
            .find(|(n, a)| *n == name && *a == arity)
            .map(|(n, _)| typed::FunctionRef::Math(n));
    }
    let name = path.strip_prefix("numpy.")?;
    crate::library::numpy::FLOAT_METHODS
        .iter()
        .find(|(n, _, a)| *n == name && *a == arity)
        .map(|(_, method, _)| typed::FunctionRef::FloatMethod(method))
}

fn constant_literal(value: ConstValue) -> (Type, Literal) {
    match value {
        ConstValue::Int(v) => (Type::Int, Literal::Int(v)),
        ConstValue::Float(v) => (Type::Float, Literal::Float(v)),
        ConstValue::Bool(v) => (Type::Bool, Literal::Bool(v)),
        ConstValue::Str(text) => (Type::Str, Literal::Str(text)),
        ConstValue::None => (Type::None, Literal::None),
    }
}

/// The rank of an `NDArray` parameter, from the longest index chain applied to it.
fn array_rank_from_use(name: &str, body: &[untyped::Stmt]) -> Option<u8> {
    let mut best: Option<usize> = None;
    untyped_exprs(body, &mut |expr| {
        let mut depth = 0;
        let mut root = expr;
        while let untyped::ExprKind::Index { value, indices } = &root.kind {
            depth += indices.len();
            root = value;
        }
        if depth > 0 && matches!(&root.kind, untyped::ExprKind::Local(n) if n == name) {
            best = Some(best.map_or(depth, |b| b.max(depth)));
        }
    });
    best.filter(|d| (1..=3).contains(d)).map(|d| d as u8)
}

/// Calls `visit` on every expression in the statements, including index
/// targets of assignments.
fn untyped_exprs(stmts: &[untyped::Stmt], visit: &mut dyn FnMut(&untyped::Expr)) {
    fn expr(e: &untyped::Expr, visit: &mut dyn FnMut(&untyped::Expr)) {
        visit(e);
        use untyped::ExprKind::*;
        match &e.kind {
            Binary { left, right, .. } => {
                expr(left, visit);
                expr(right, visit);
            }
            Unary { operand, .. } => expr(operand, visit),
            Compare { left, rest } => {
                expr(left, visit);
                rest.iter().for_each(|(_, r)| expr(r, visit));
            }
            BoolOp { values, .. } | Tuple(values) => values.iter().for_each(|v| expr(v, visit)),
            IfExp { test, body, orelse } => {
                expr(test, visit);
                expr(body, visit);
                expr(orelse, visit);
            }
            Call { args, keywords, .. } => {
                args.iter().for_each(|a| expr(a, visit));
                keywords.iter().for_each(|k| expr(&k.value, visit));
            }
            Attribute { value, .. } => expr(value, visit),
            Method { receiver, args, .. } => {
                expr(receiver, visit);
                args.iter().for_each(|a| expr(a, visit));
            }
            Index { value, indices } => {
                expr(value, visit);
                indices.iter().for_each(|i| expr(i, visit));
            }
            _ => {}
        }
    }
    fn target(t: &untyped::Target, visit: &mut dyn FnMut(&untyped::Expr)) {
        match t {
            untyped::Target::Name(..) => {}
            untyped::Target::Index {
                value,
                indices,
                span,
            } => {
                let whole = untyped::Expr {
                    kind: untyped::ExprKind::Index {
                        value: Box::new(value.clone()),
                        indices: indices.clone(),
                    },
                    span: *span,
                };
                expr(&whole, visit);
            }
            untyped::Target::Tuple(items, _) => items.iter().for_each(|i| target(i, visit)),
        }
    }
    use untyped::StmtKind::*;
    for stmt in stmts {
        match &stmt.kind {
            Assign {
                target: t, value, ..
            }
            | AugAssign {
                target: t, value, ..
            } => {
                target(t, visit);
                expr(value, visit);
            }
            If { test, body, orelse } => {
                expr(test, visit);
                untyped_exprs(body, visit);
                untyped_exprs(orelse, visit);
            }
            ForRange {
                start,
                stop,
                step,
                body,
                ..
            } => {
                expr(start, visit);
                expr(stop, visit);
                if let Some(step) = step {
                    expr(step, visit);
                }
                untyped_exprs(body, visit);
            }
            While { test, body } => {
                expr(test, visit);
                untyped_exprs(body, visit);
            }
            Return(Some(value)) | Expr(value) => expr(value, visit),
            _ => {}
        }
    }
}

fn body_has_value_return(stmts: &[untyped::Stmt]) -> bool {
    use untyped::StmtKind::*;
    stmts.iter().any(|stmt| match &stmt.kind {
        Return(Some(value)) => !matches!(value.kind, untyped::ExprKind::None),
        If { body, orelse, .. } => body_has_value_return(body) || body_has_value_return(orelse),
        ForRange { body, .. } | While { body, .. } => body_has_value_return(body),
        _ => false,
    })
}

fn always_returns_untyped(stmts: &[untyped::Stmt]) -> bool {
    use untyped::StmtKind::*;
    stmts.iter().any(|stmt| match &stmt.kind {
        Return(_) | Raise { .. } => true,
        If { body, orelse, .. } => always_returns_untyped(body) && always_returns_untyped(orelse),
        While { test, body } => {
            matches!(test.kind, untyped::ExprKind::Bool(true)) && !has_break(body)
        }
        _ => false,
    })
}

fn has_break(stmts: &[untyped::Stmt]) -> bool {
    use untyped::StmtKind::*;
    stmts.iter().any(|stmt| match &stmt.kind {
        Break => true,
        If { body, orelse, .. } => has_break(body) || has_break(orelse),
        _ => false,
    })
}

/// Whether every path through the statements ends in `return` (or an
/// endless `while True` loop), so control never reaches the end.
pub fn always_returns(stmts: &[typed::Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Return(_) | typed::Stmt::Raise { .. } => true,
        typed::Stmt::If { body, orelse, .. } => always_returns(body) && always_returns(orelse),
        typed::Stmt::While { test, body } => {
            test.kind == typed::ExprKind::Literal(Literal::Bool(true)) && !typed_has_break(body)
        }
        _ => false,
    })
}

fn typed_has_break(stmts: &[typed::Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Break => true,
        typed::Stmt::If { body, orelse, .. } => typed_has_break(body) || typed_has_break(orelse),
        _ => false,
    })
}

/// Gives each instance its Rust name: the Python name when a function has one
/// instance, otherwise the name with its parameter types appended. Calls,
/// which refer to instances as `#id` until now, are rewritten to match.
fn assign_rust_names(functions: &mut [(usize, typed::Function)], instances: &[Instance<'_>]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (id, _) in functions.iter() {
        *counts
            .entry(instances[*id].function.name.as_str())
            .or_default() += 1;
    }
    let mut names: Vec<String> = Vec::new();
    let mut taken: HashSet<String> = instances.iter().map(|i| i.function.name.clone()).collect();
    for instance in instances {
        let base = &instance.function.name;
        if counts.get(base.as_str()).copied().unwrap_or(0) <= 1 {
            names.push(base.clone());
            continue;
        }
        let suffix: Vec<String> = instance.params.iter().map(type_suffix).collect();
        let mut name = if suffix.is_empty() {
            base.clone()
        } else {
            format!("{base}_{}", suffix.join("_"))
        };
        while taken.contains(&name) && !names.contains(base) {
            name.push('_');
        }
        taken.insert(name.clone());
        names.push(name);
    }
    for (id, function) in functions.iter_mut() {
        function.rust_name = names[*id].clone();
    }
    for (_, function) in functions.iter_mut() {
        rename_calls(&mut function.body, &names);
    }
}

/// Points calls and function references at the instances' Rust names.
fn rename_calls(stmts: &mut [typed::Stmt], names: &[String]) {
    for stmt in stmts {
        stmt.for_each_expr_mut(&mut |e| rename_expr(e, names));
        for body in stmt.nested_mut() {
            rename_calls(body, names);
        }
    }
}

fn rename_expr(expr: &mut typed::Expr, names: &[String]) {
    match &mut expr.kind {
        typed::ExprKind::Call { function, .. }
        | typed::ExprKind::FunctionRef(typed::FunctionRef::Compiled(function)) => {
            rename_instance(function, names)
        }
        _ => {}
    }
    expr.for_each_child_mut(&mut |child| rename_expr(child, names));
}

fn type_suffix(ty: &Type) -> String {
    match ty {
        Type::Int => "int".into(),
        Type::Float => "float".into(),
        Type::Bool => "bool".into(),
        Type::Scalar(d) => d.name().into(),
        Type::Tuple(items) => format!(
            "tuple{}",
            items.iter().map(type_suffix).collect::<Vec<_>>().join("")
        ),
        Type::Array(a) => format!("{}_{}d", a.dtype, a.ndim),
        Type::Callable(c) => format!("fn{}", c.params.len()),
        Type::List(item) => format!("list{}", type_suffix(item)),
        Type::Complex => "complex".into(),
        Type::Dict(key, value) => format!("dict{}{}", type_suffix(key), type_suffix(value)),
        Type::Set(item) => format!("set{}", type_suffix(item)),
        Type::TupleOf(item) => format!("tupleof{}", type_suffix(item)),
        Type::Unknown => "unknown".into(),
        Type::None => "none".into(),
        Type::Str => "str".into(),
    }
}

/// Replaces an instance reference `#id` by the instance's Rust name.
fn rename_instance(function: &mut String, names: &[String]) {
    if let Some(id) = function
        .strip_prefix('#')
        .and_then(|id| id.parse::<usize>().ok())
    {
        if let Some(name) = names.get(id) {
            *function = name.clone();
        }
    }
}

/// `a[i][j]` as one element access `a[i, j]` where that is unobservable.
/// `indices` are the typed indices of the whole chain and `groups` how many
/// each subscript of the chain holds. Python checks `a[i]` before it
/// evaluates `j`, so where a later subscript could raise or have a side
/// effect, the subscripts before it become views first; everything after
/// that point stays one multi-index. Returns the array to index and the
/// indices left for it.
fn index_chain(
    base: typed::Expr,
    indices: Vec<typed::Expr>,
    groups: &[usize],
) -> (typed::Expr, Vec<typed::Expr>) {
    let mut view = base;
    let mut pending: Vec<typed::Expr> = Vec::new();
    let mut indices = indices.into_iter();
    for (position, &count) in groups.iter().enumerate() {
        let group: Vec<typed::Expr> = indices.by_ref().take(count).collect();
        if position > 0 && !pending.is_empty() && !group.iter().all(typed::Expr::is_effect_free) {
            view = sub_arrays(view, std::mem::take(&mut pending));
        }
        pending.extend(group);
    }
    (view, pending)
}

/// `a[i][j]...` as nested views, one dimension fewer per index.
fn sub_arrays(array: typed::Expr, indices: Vec<typed::Expr>) -> typed::Expr {
    let mut view = array;
    for index in indices {
        let Some(current) = view.array_type() else {
            return view;
        };
        let sub = current.with_ndim(current.ndim - 1);
        view = typed::Expr::new(
            typed::ExprKind::SubArray {
                array: Box::new(view),
                index: Box::new(index),
            },
            Type::Array(sub),
        );
    }
    view
}

/// Whether an index item makes a view: a slice, `...`, `None`, `np.newaxis`.
/// An advanced index, taken apart: one index array (or mask) along `axis`
/// of the view the other items make, or a 2-D array's `[rows, cols]`.
enum Advanced {
    Along {
        view: typed::Expr,
        index: typed::Expr,
        axis: usize,
        /// The taken axis comes first in the result (the int and array
        /// indices were not side by side).
        front: bool,
    },
    Points {
        rows: typed::Expr,
        columns: typed::Expr,
    },
    /// Several 1-D integer index arrays, each along its axis of the view
    /// the other items make (`t[i, j, k]`, `t[i, :, k]`), broadcast against
    /// each other into one axis of the result, first with `front`.
    Several {
        view: typed::Expr,
        indices: Vec<(usize, typed::Expr)>,
        front: bool,
    },
}

/// `None`, `np.newaxis` or `...`: an index item that consumes no axis.
fn is_new_axis_or_ellipsis(index: &untyped::Expr) -> bool {
    match &index.kind {
        untyped::ExprKind::Ellipsis | untyped::ExprKind::None => true,
        untyped::ExprKind::Qualified(name) => name == "numpy.newaxis",
        _ => false,
    }
}

/// A local container that the returned `value` converts to another
/// element type (`return xs` of a `list[int]` from a function returning
/// `list[float]`): its name, its type and the type it is converted to.
fn converted_locals(value: &typed::Expr) -> Vec<(String, Type, Type)> {
    let mut converted = Vec::new();
    value.walk(&mut |e| {
        if let typed::ExprKind::Cast(inner) = &e.kind {
            if let (typed::ExprKind::Local(name), Type::List(_) | Type::Dict(..) | Type::Set(_)) =
                (&inner.kind, &inner.ty)
            {
                converted.push((name.clone(), inner.ty.clone(), e.ty.clone()));
            }
        }
    });
    converted
}

/// Whether every `return` of `function` gives a list it makes itself: a
/// display, a repetition of one, or a comprehension (whose helper
/// returns the list it appends to). Only such a result is surely held by
/// nothing else when it is widened (`retype` checks at run time too).
fn returns_new_list(function: &untyped::Function) -> bool {
    fn new_list(expr: &untyped::Expr) -> bool {
        match &expr.kind {
            untyped::ExprKind::List(_) => true,
            untyped::ExprKind::Binary {
                op: BinaryOp::Mul,
                left,
                right,
            } => new_list(left) || new_list(right),
            untyped::ExprKind::Call {
                callee: Callee::Function(name),
                ..
            } => is_comprehension_helper(name),
            _ => false,
        }
    }
    fn returns(stmts: &[untyped::Stmt], all_new: &mut bool) {
        for stmt in stmts {
            match &stmt.kind {
                untyped::StmtKind::Return(Some(value)) => *all_new &= new_list(value),
                untyped::StmtKind::If { body, orelse, .. } => {
                    returns(body, all_new);
                    returns(orelse, all_new);
                }
                untyped::StmtKind::ForRange { body, .. }
                | untyped::StmtKind::While { body, .. } => returns(body, all_new),
                _ => {}
            }
        }
    }
    if is_comprehension_helper(&function.name) {
        return true;
    }
    let mut all_new = true;
    returns(&function.body, &mut all_new);
    all_new
}

/// Whether `name` is a helper lowering made for a list comprehension
/// (`__listcomp_N`, with the file's hidden prefix of two or more
/// underscores). A user's function of such a name would only move the
/// error for an aliased result from compile time to `retype`'s TypeError.
fn is_comprehension_helper(name: &str) -> bool {
    name.starts_with("__") && name.trim_start_matches('_').starts_with("listcomp_")
}

/// Whether `to` is `from` with some numbers widened (bool to int or float,
/// int to float, any of them to complex), in the same containers.
fn numeric_widening(from: &Type, to: &Type) -> bool {
    match (from, to) {
        (Type::List(a), Type::List(b)) => numeric_widening(a, b),
        (Type::Dict(ka, va), Type::Dict(kb, vb)) => ka == kb && numeric_widening(va, vb),
        (Type::Tuple(a), Type::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| numeric_widening(a, b))
        }
        (Type::Bool, Type::Int | Type::Float | Type::Complex)
        | (Type::Int, Type::Float | Type::Complex)
        | (Type::Float, Type::Complex) => true,
        (a, b) => a == b,
    }
}

/// The method that performs `x op= y` in place on a container of type
/// `ty`: `xs += ys` is `xs.extend(ys)`, `xs *= n` the hidden method
/// `__imul__`, `s -= t` is
/// `s.difference_update(t)`.
fn in_place_method(ty: &Type, op: BinaryOp) -> Option<&'static str> {
    match (ty, op) {
        (Type::List(_), BinaryOp::Add) => Some("extend"),
        (Type::List(_), BinaryOp::Mul) => Some("__imul__"),
        (Type::Set(_) | Type::Dict(..), BinaryOp::BitOr) => Some("update"),
        (Type::Set(_), BinaryOp::Sub) => Some("difference_update"),
        (Type::Set(_), BinaryOp::BitAnd) => Some("intersection_update"),
        (Type::Set(_), BinaryOp::BitXor) => Some("symmetric_difference_update"),
        _ => None,
    }
}

fn is_slice_like(index: &untyped::Expr) -> bool {
    match &index.kind {
        untyped::ExprKind::Slice { .. } | untyped::ExprKind::Ellipsis | untyped::ExprKind::None => {
            true
        }
        untyped::ExprKind::Qualified(name) => name == "numpy.newaxis",
        _ => false,
    }
}

/// The hint of an unsupported NumPy function: the nearest supported one,
/// and where the list is.
fn unsupported_numpy_hint(name: &str) -> String {
    match crate::library::numpy::nearest_function(name) {
        Some(near) => format!(
            "did you mean numpy.{near}? The supported NumPy functions are listed in docs/semantics.md"
        ),
        None => "the supported NumPy functions are listed in docs/semantics.md; write other operations as loops".to_string(),
    }
}

/// Whether an index expression could be an array (a mask or index array):
/// anything but a literal or a local known to be a number.
fn might_be_array(index: &untyped::Expr, cx: &Cx) -> bool {
    match &index.kind {
        untyped::ExprKind::Int(_)
        | untyped::ExprKind::Float(_)
        | untyped::ExprKind::Bool(_)
        | untyped::ExprKind::None
        | untyped::ExprKind::Slice { .. }
        | untyped::ExprKind::Ellipsis
        | untyped::ExprKind::Tuple(_) => false,
        untyped::ExprKind::Qualified(name) if name == "numpy.newaxis" => false,
        untyped::ExprKind::Local(name) => matches!(cx.env.get(name), Some(Type::Array(_))),
        _ => true,
    }
}

/// A dtype named in a comparison with an array's `.dtype`: one compiled
/// arrays can have, or another NumPy dtype (no compiled array has it).
enum DtypeName {
    Known(Dtype),
    Other,
}

fn dtype_name(name: &str) -> Option<DtypeName> {
    const OTHERS: &[&str] = &[
        "float16",
        "half",
        "longdouble",
        "complex64",
        "complex128",
        "complex",
        "complex_",
        "csingle",
        "cdouble",
        "clongdouble",
        "object",
        "object_",
        "str",
        "str_",
        "bytes",
        "bytes_",
        "datetime64",
        "timedelta64",
        "void",
    ];
    match Dtype::from_name(name) {
        Some(dtype) => Some(DtypeName::Known(dtype)),
        None if OTHERS.contains(&name) => Some(DtypeName::Other),
        None => None,
    }
}

/// The type two numbers are compared in. Arithmetic between a Python `int`
/// and a NumPy integer scalar happens in the scalar's dtype (NEP 50), but a
/// comparison is exact in NumPy 2 even where the int is outside the dtype
/// (`np.uint8(5) > -3` is True): the narrow integer dtypes are compared
/// with the int as 64-bit ints, which hold every value of both, unless the
/// int is a literal the dtype holds.
fn comparison_type(a: &typed::Expr, b: &typed::Expr) -> Type {
    let widened = |d: &Dtype, int: &typed::Expr| {
        let literal_held = matches!(
            int.kind,
            typed::ExprKind::Literal(Literal::Int(v)) if d.holds(v)
        );
        d.is_integer() && *d != Dtype::UInt64 && !literal_held
    };
    match (&a.ty, &b.ty) {
        (Type::Int, Type::Scalar(d)) if widened(d, a) => Type::Int,
        (Type::Scalar(d), Type::Int) if widened(d, b) => Type::Int,
        _ => promote_values(&a.ty, &b.ty),
    }
}

/// `d.pop(k, None)` as a statement, which removes the key if present (a
/// compiled value is never None, so only the statement form compiles): the
/// method `__discard_key__(k)`.
fn discard_key(expr: &untyped::Expr) -> Option<untyped::Expr> {
    let untyped::ExprKind::Method {
        receiver,
        method,
        args,
        keywords,
    } = &expr.kind
    else {
        return None;
    };
    let [key, untyped::Expr {
        kind: untyped::ExprKind::None,
        ..
    }] = args.as_slice()
    else {
        return None;
    };
    (method == "pop" && keywords.is_empty()).then(|| untyped::Expr {
        kind: untyped::ExprKind::Method {
            receiver: receiver.clone(),
            method: "__discard_key__".into(),
            args: vec![key.clone()],
            keywords: Vec::new(),
        },
        span: expr.span,
    })
}

/// Whether evaluating `expr` can do nothing but make its value: a local, a
/// literal, or a tuple of them (`len(t)` of such a tuple is its type's).
fn made_without_effects(expr: &typed::Expr) -> bool {
    match &expr.kind {
        typed::ExprKind::Local(_) | typed::ExprKind::Literal(_) => true,
        typed::ExprKind::Tuple(items) => items.iter().all(made_without_effects),
        _ => false,
    }
}

/// The longest tuple a constant index past its end reads as an IndexError
/// (`rt::FirstItem` is implemented for Rust tuples up to this length).
const MAX_FIXED_TUPLE_INDEXED: usize = 16;

/// The indices of an array subscript: `a[i,]` and `a[(i,)]` index with `i`,
/// and `a[()]` with none, as NumPy does. (Lowering keeps a subscript tuple
/// of one item or none whole, which a dict looks up as the key `(i,)` or
/// `()`.)
fn array_indices(indices: &[untyped::Expr]) -> &[untyped::Expr] {
    match indices {
        [untyped::Expr {
            kind: untyped::ExprKind::Tuple(items),
            ..
        }] if items.len() <= 1 => items,
        _ => indices,
    }
}
