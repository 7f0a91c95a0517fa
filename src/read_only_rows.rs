//! Lists of lists that a function only reads, kept as one block of rows,
//! between inference and codegen.
//!
//! A `list[list[int]]` argument (a graph's adjacency lists, a matrix as
//! rows) is converted on entry. As `rt::List<rt::List<i64>>` each row is a
//! list of its own: two allocations, a reference to its Python row for the
//! write-back, and two frees and a reference count on the way out, which on
//! short rows costs more than reading them. When the function never changes,
//! stores, returns or passes on the list or any of its rows, nothing needs
//! a row to be a list: this pass makes the parameter an `rt::Rows<T>` (every
//! element in one vector, and where each row starts) and the locals that
//! hold its rows `rt::Row<T>` (the block and one row's place in it):
//!
//! ```text
//! for u in frontier:                 # adj: list[list[int]], read only
//!     for v in adj[u]:               # rt::rows_get(&adj, u)?    : rt::Row<i64>
//!         ...                        # rt::row_get(&row, k)?     : i64
//! ```
//!
//! The reads keep Python's meaning: `len`, truthiness, negative indices and
//! IndexError are those of a list.
//!
//! What a row or the list may meet, checked on the whole module after
//! every other rewrite: `len`, truth and indexing of both, the rows
//! prefetch, `sum`, `min`, `max`, `any`, `all` and `in` of a row,
//! assignment to a local that holds only such values, and passing to a
//! compiled function whose parameter holds only such values in turn (the
//! helpers of comprehensions and generator expressions, a recursive call);
//! anything else, even once, keeps the lists as lists, and a parameter
//! keeps its role only while every call passes a value of that role. A
//! function passed as a value keeps lists. Every other list parameter must
//! be a list of numbers the function only reads: it could be one of the
//! rows (`f(adj, adj[0])`) or the same list (`f(m, m)`) and change it. No
//! Python code runs in a compiled call that could change the rows behind
//! it: a function with a Python-callable parameter still reads its
//! argument once, on entry, as a list argument is read.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ir::typed::{self, ExprKind, FunctionRef, RowsRole, Stmt, Target};
use crate::types::Type;

/// Plans and rewrites every function whose list-of-lists parameters are
/// only read.
pub fn plan(mut module: typed::Module) -> typed::Module {
    let roles = module_roles(&module);
    for function in &mut module.functions {
        let Some(roles) = roles.get(&function.rust_name) else {
            continue;
        };
        if roles.is_empty() {
            continue;
        }
        for stmt in &mut function.body {
            stmt.for_each_expr_in_tree_mut(&mut |e| rename(e, roles));
        }
        function.rows = roles.clone();
    }
    module
}

/// The roles of every function's variables, by Rust name: each function's
/// candidates narrowed (`narrow`) until every call of a compiled function
/// passes each parameter with a role a value of that role, to a fixed
/// point. A function passed as a value gets none.
fn module_roles(module: &typed::Module) -> HashMap<String, BTreeMap<String, RowsRole>> {
    let mut passed = HashSet::new();
    for function in &module.functions {
        for stmt in &function.body {
            stmt.walk_exprs(&mut |e| {
                if let ExprKind::FunctionRef(FunctionRef::Compiled(name)) = &e.kind {
                    passed.insert(name.clone());
                }
            });
        }
    }
    let functions: HashMap<&str, &typed::Function> = module
        .functions
        .iter()
        .map(|f| (f.rust_name.as_str(), f))
        .collect();
    let mut roles: HashMap<String, BTreeMap<String, RowsRole>> = module
        .functions
        .iter()
        .filter(|f| !passed.contains(&f.rust_name))
        .map(|f| (f.rust_name.clone(), candidates(f)))
        .collect();
    loop {
        let mut changed = false;
        for function in &module.functions {
            let Some(mine) = roles.get(&function.rust_name) else {
                continue;
            };
            if mine.is_empty() {
                continue;
            }
            let narrowed = narrow(function, mine.clone(), &roles, &functions);
            if narrowed != *mine {
                roles.insert(function.rust_name.clone(), narrowed);
                changed = true;
            }
        }
        // A parameter keeps its role only if every call passes it one.
        let mut unfit: Vec<(String, String)> = Vec::new();
        for function in &module.functions {
            let mine = roles.get(&function.rust_name).cloned().unwrap_or_default();
            let check = Check {
                roles: &mine,
                misfits: &mut HashSet::new(),
                callees: &roles,
                functions: &functions,
            };
            for stmt in &function.body {
                stmt.walk_calls(&mut |callee, args| {
                    for (k, arg) in args.iter().enumerate() {
                        if let Some((param, role)) = check.param_role(callee, k, args.len()) {
                            if check.value_role(arg).map(|(r, _)| r) != Some(role) {
                                unfit.push((callee.to_string(), param));
                            }
                        }
                    }
                });
            }
        }
        for (callee, param) in unfit {
            if let Some(theirs) = roles.get_mut(&callee) {
                if theirs.remove(&param).is_some() {
                    changed = true;
                }
            }
        }
        if !changed {
            return roles;
        }
    }
}

/// Whether `ty` is a list of lists of numbers.
fn rows_type(ty: &Type) -> bool {
    matches!(ty, Type::List(row) if matches!(&**row, Type::List(item) if matches!(**item, Type::Int | Type::Float | Type::Bool)))
}

/// Whether `ty` is a row of a block: a list of ints, floats or bools.
fn row_type(ty: &Type) -> bool {
    matches!(ty, Type::List(item) if matches!(**item, Type::Int | Type::Float | Type::Bool))
}

/// Whether `ty` is a list of numbers.
fn scalar_list(ty: &Type) -> bool {
    matches!(ty, Type::List(item) if matches!(**item, Type::Int | Type::Float | Type::Bool | Type::Complex))
}

/// The runtime operations that read a list of numbers and keep no
/// reference to it, and which of their arguments that list is.
pub(crate) const LIST_READS: &[(&str, usize)] = &[
    ("list_len", 0),
    ("list_truthy", 0),
    ("list_get", 0),
    ("list_contains", 1),
    ("list_count", 0),
    ("list_index", 0),
    ("list_sum_int", 0),
    ("list_sum_float", 0),
    ("list_sum_bool", 0),
    ("list_min", 0),
    ("list_max", 0),
    // The order a loop walks (`prefetch`).
    ("list_prefetch_rows", 1),
    ("list_prefetch_set_keys", 1),
];

/// Whether the function only reads the list `name` holds: it appears only
/// as the list a `LIST_READS` operation reads, or copied into a local that
/// is only read in the same way.
fn only_read(function: &typed::Function, name: &str) -> bool {
    let mut names = vec![name.to_string()];
    let mut k = 0;
    while k < names.len() {
        let current = names[k].clone();
        let mut fits = true;
        for stmt in &function.body {
            only_read_in(stmt, &current, &mut names, &mut fits);
        }
        if !fits {
            return false;
        }
        k += 1;
    }
    true
}

fn only_read_in(stmt: &Stmt, name: &str, copies: &mut Vec<String>, fits: &mut bool) {
    let is_name = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == name);
    match stmt {
        Stmt::Assign {
            target: Target::Local(copy),
            value,
        } if is_name(value) => {
            if !copies.contains(copy) {
                copies.push(copy.clone());
            }
        }
        _ => {
            let mut bound = Vec::new();
            stmt.own_bound_locals(&mut bound);
            if bound.iter().any(|b| b == name)
                && !matches!(
                    stmt,
                    Stmt::Assign {
                        target: Target::Local(_),
                        ..
                    }
                )
            {
                *fits = false;
            }
            stmt.for_each_expr(&mut |e| read_only_uses(e, name, fits));
            for body in stmt.nested() {
                for stmt in body {
                    only_read_in(stmt, name, copies, fits);
                }
            }
        }
    }
}

fn read_only_uses(expr: &typed::Expr, name: &str, fits: &mut bool) {
    match &expr.kind {
        ExprKind::Local(n) if n == name => *fits = false,
        ExprKind::Runtime { function, args } if LIST_READS.iter().any(|(f, _)| f == function) => {
            let operand = LIST_READS
                .iter()
                .find(|(f, _)| f == function)
                .map_or(0, |(_, operand)| *operand);
            for (k, arg) in args.iter().enumerate() {
                if k == operand && matches!(&arg.kind, ExprKind::Local(n) if n == name) {
                    continue;
                }
                read_only_uses(arg, name, fits);
            }
        }
        _ => expr.for_each_child(&mut |child| read_only_uses(child, name, fits)),
    }
}

/// Whether `ty` is or holds a list.
fn holds_list(ty: &Type) -> bool {
    match ty {
        Type::List(_) => true,
        Type::Dict(key, value) => holds_list(key) || holds_list(value),
        Type::Set(item) | Type::TupleOf(item) => holds_list(item),
        Type::Tuple(items) => items.iter().any(holds_list),
        _ => false,
    }
}

/// The parameters that are lists of rows (and of numbers: rows passed on)
/// and the locals of those types: every variable that may hold the block
/// or a row.
fn candidates(function: &typed::Function) -> BTreeMap<String, RowsRole> {
    let mut roles: BTreeMap<String, RowsRole> = BTreeMap::new();
    for param in function.params.iter().filter(|p| p.ty != Type::None) {
        if param.reassigned {
            continue;
        }
        if rows_type(&param.ty) {
            roles.insert(param.name.clone(), RowsRole::Rows);
        } else if row_type(&param.ty) && function.export.is_none() {
            roles.insert(param.name.clone(), RowsRole::Row);
        }
    }
    for local in &function.locals {
        if function.is_parameter(&local.name) {
            continue;
        }
        if rows_type(&local.ty) {
            roles.insert(local.name.clone(), RowsRole::Rows);
        } else if row_type(&local.ty) {
            roles.insert(local.name.clone(), RowsRole::Row);
        }
    }
    roles
}

/// The largest subset of `roles` whose every use and assignment in the
/// function fits, given the roles of the parameters of the functions it
/// calls; none when a list parameter without a role could be the block
/// or one of its rows and change it.
fn narrow(
    function: &typed::Function,
    mut roles: BTreeMap<String, RowsRole>,
    callees: &HashMap<String, BTreeMap<String, RowsRole>>,
    functions: &HashMap<&str, &typed::Function>,
) -> BTreeMap<String, RowsRole> {
    loop {
        let mut misfits = HashSet::new();
        let mut check = Check {
            roles: &roles,
            misfits: &mut misfits,
            callees,
            functions,
        };
        for stmt in &function.body {
            check.stmt(stmt);
        }
        if misfits.is_empty() {
            break;
        }
        roles.retain(|name, _| !misfits.contains(name));
    }
    let params: Vec<&typed::Param> = function
        .params
        .iter()
        .filter(|p| p.ty != Type::None)
        .collect();
    // Another list argument may be one of the rows (`f(m, m[0])`) or the
    // same list of lists (`f(m, m)`): it must be a list of numbers that
    // the function only reads.
    let safe = params.iter().any(|p| roles.contains_key(&p.name))
        && params.iter().all(|p| {
            roles.contains_key(&p.name)
                || !holds_list(&p.ty)
                || scalar_list(&p.ty) && only_read(function, &p.name)
        });
    if safe {
        roles
    } else {
        BTreeMap::new()
    }
}

/// One pass over a function, collecting the candidates some use or
/// assignment does not fit.
struct Check<'a> {
    roles: &'a BTreeMap<String, RowsRole>,
    misfits: &'a mut HashSet<String>,
    /// The roles of every function's variables so far, by Rust name.
    callees: &'a HashMap<String, BTreeMap<String, RowsRole>>,
    functions: &'a HashMap<&'a str, &'a typed::Function>,
}

impl Check<'_> {
    fn role(&self, name: &str) -> Option<RowsRole> {
        self.roles.get(name).copied()
    }

    /// The name and role of parameter `k` of the compiled function
    /// `callee`, called with `count` arguments, if it has one.
    fn param_role(&self, callee: &str, k: usize, count: usize) -> Option<(String, RowsRole)> {
        let function = self.functions.get(callee)?;
        if function.params.len() != count {
            return None;
        }
        let param = &function.params[k].name;
        let role = self.callees.get(callee)?.get(param)?;
        Some((param.clone(), *role))
    }

    /// The role of the value `expr` has, and the candidate it comes from.
    fn value_role<'e>(&self, expr: &'e typed::Expr) -> Option<(RowsRole, &'e str)> {
        match &expr.kind {
            ExprKind::Local(name) => self.role(name).map(|role| (role, name.as_str())),
            ExprKind::Runtime {
                function: "list_get",
                args,
            } => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Local(name)) if self.role(name) == Some(RowsRole::Rows) => {
                    Some((RowsRole::Row, name.as_str()))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Assign {
                target: Target::Local(name),
                value,
            } => {
                let wanted = self.role(name);
                match self.value_role(value) {
                    Some((role, _)) if Some(role) == wanted => self.reads_inside(value),
                    Some((_, source)) => {
                        self.misfits.insert(source.to_string());
                        if wanted.is_some() {
                            self.misfits.insert(name.clone());
                        }
                        self.reads_inside(value);
                    }
                    None => {
                        if wanted.is_some() {
                            self.misfits.insert(name.clone());
                        }
                        self.expr(value);
                    }
                }
            }
            Stmt::Assign { target, value } => {
                self.expr(value);
                self.target(target);
            }
            _ => {
                stmt.for_each_expr(&mut |e| self.expr(e));
                for body in stmt.nested() {
                    for stmt in body {
                        self.stmt(stmt);
                    }
                }
            }
        }
    }

    fn target(&mut self, target: &Target) {
        let mut bound = Vec::new();
        target.bound_locals(&mut bound);
        for name in bound {
            if self.role(&name).is_some() {
                self.misfits.insert(name);
            }
        }
        target.for_each_expr(&mut |e| self.expr(e));
    }

    /// The operands of a value that is itself in a fitting place: the
    /// block (or row) a `list_get` reads from, and its index.
    fn reads_inside(&mut self, value: &typed::Expr) {
        if let ExprKind::Runtime { args, .. } = &value.kind {
            for arg in args.iter().skip(1) {
                self.expr(arg);
            }
        }
    }

    /// An expression in a place where neither the block nor a row fits,
    /// unless the place itself is a read of one.
    fn expr(&mut self, expr: &typed::Expr) {
        if let Some((_, source)) = self.value_role(expr) {
            self.misfits.insert(source.to_string());
        }
        match &expr.kind {
            ExprKind::Runtime { function, args } if read_operand(function).is_some() => {
                let (operand, roles) = read_operand(function).unwrap_or((0, &[]));
                for (k, arg) in args.iter().enumerate() {
                    // A read of the block or of a row: the operand fits.
                    let fits = k == operand
                        && self
                            .value_role(arg)
                            .is_some_and(|(role, _)| roles.contains(&role));
                    if fits {
                        self.reads_inside(arg);
                    } else {
                        self.expr(arg);
                    }
                }
            }
            // A parameter of that role: the callee reads it the same way.
            ExprKind::Call { function, args } => {
                for (k, arg) in args.iter().enumerate() {
                    let fits = match (
                        self.value_role(arg),
                        self.param_role(function, k, args.len()),
                    ) {
                        (Some((given, _)), Some((_, wanted))) => given == wanted,
                        _ => false,
                    };
                    if fits {
                        self.reads_inside(arg);
                    } else {
                        self.expr(arg);
                    }
                }
            }
            ExprKind::Local(_) => {}
            _ => expr.for_each_child(&mut |child| self.expr(child)),
        }
    }
}

/// The runtime operations that read a block or a row and what they become
/// for each: `(list operation, block operation, row operation)`.
const READS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("list_len", Some("rows_len"), Some("row_len")),
    ("list_truthy", Some("rows_truthy"), Some("row_truthy")),
    ("list_get", Some("rows_get"), Some("row_get")),
    ("list_prefetch_rows", Some("rows_prefetch"), None),
    ("list_sum_int", None, Some("row_sum_int")),
    ("list_sum_float", None, Some("row_sum_float")),
    ("list_sum_bool", None, Some("row_sum_bool")),
    ("list_min", None, Some("row_min")),
    ("list_max", None, Some("row_max")),
    ("list_any", None, Some("row_any")),
    ("list_all", None, Some("row_all")),
    ("list_contains", None, Some("row_contains")),
];

/// Which argument of the list operation `function` is the list it reads
/// (the second of `list_contains`, which takes the value first), and which
/// roles it reads.
fn read_operand(function: &str) -> Option<(usize, &'static [RowsRole])> {
    let (_, rows, row) = READS.iter().find(|(name, ..)| *name == function)?;
    let operand = usize::from(function == "list_contains");
    Some(match (rows, row) {
        (Some(_), Some(_)) => (operand, &[RowsRole::Rows, RowsRole::Row]),
        (Some(_), None) => (operand, &[RowsRole::Rows]),
        _ => (operand, &[RowsRole::Row]),
    })
}

/// The runtime reads of a block or a row, renamed for their type.
fn rename(expr: &mut typed::Expr, roles: &BTreeMap<String, RowsRole>) {
    expr.for_each_child_mut(&mut |child| rename(child, roles));
    let ExprKind::Runtime { function, args } = &mut expr.kind else {
        return;
    };
    let Some((operand, _)) = read_operand(function) else {
        return;
    };
    let role = match args.get(operand).map(|a| &a.kind) {
        Some(ExprKind::Local(name)) => roles.get(name).copied(),
        Some(ExprKind::Runtime {
            function: "rows_get",
            ..
        }) => Some(RowsRole::Row),
        _ => None,
    };
    let renamed = READS
        .iter()
        .find(|(name, ..)| name == function)
        .and_then(|(_, rows, row)| match role {
            Some(RowsRole::Rows) => *rows,
            Some(RowsRole::Row) => *row,
            None => None,
        });
    if let Some(renamed) = renamed {
        *function = renamed;
    }
}
