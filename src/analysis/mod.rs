//! The analysis stage: typed IR → facts codegen acts on.
//!
//! Pure like the other stages and called by the driver between inference
//! and codegen. Each analysis lives in a file of its own:
//!
//! - `linear.rs`: affine integer forms over dimensions and loop variables;
//! - `bounds.rs`: which element accesses are proven in bounds, and why;
//! - `flow.rs`: what the statements before a point tell about its int
//!   and float variables, for `bounds.rs`;
//! - `writes.rs`: which arrays a function writes;
//! - `ranges.rs`: integer value ranges: which `int` operations cannot
//!   overflow, which divisions have a positive divisor;
//! - `parallel.rs`: which `prange` loops run in parallel (their iterations
//!   proven independent), with their reductions; races are errors;
//! - `lanes.rs`: which loops keep their float minimum and maximum
//!   accumulators in several lanes, the result unchanged;
//! - `overwritten.rs`: which new arrays are entirely stored into before
//!   anything reads them, so they need no zero fill.
//!
//! Codegen reads decisions from [`Facts`]; it never re-derives them. The
//! `explain` report prints them.

mod bounds;
mod flow;
pub mod lanes;
pub mod linear;
mod overwritten;
pub mod parallel;
mod ranges;
pub use ranges::Measure;
mod writes;

use std::collections::HashMap;

use crate::ir::typed::{self, ExprKind};
use crate::ir::BinaryOp;
use linear::Linear;

/// What the analyses found in a module, per function instance.
#[derive(Debug, Default)]
pub struct Facts {
    functions: HashMap<String, FunctionFacts>,
    /// Errors the analyses found: `prange` loops whose iterations are not
    /// independent.
    pub errors: Vec<crate::diagnostics::Diagnostic>,
}

/// The facts of one function instance.
#[derive(Debug, Default)]
pub struct FunctionFacts {
    /// Every element access, in the order of its statement.
    pub accesses: Vec<Access>,
    /// The array parameters and locals the function stores into.
    pub written_arrays: Vec<String>,
    /// The array parameters the function stores into, directly or through
    /// the helpers it passes them to (not through a local bound to one).
    pub written_parameters: Vec<String>,
    /// What the value ranges prove about integer operations.
    pub ints: ranges::IntFacts,
    /// The `prange` loops and how each runs.
    pub parallel: Vec<parallel::ParallelLoop>,
    /// Addresses of the new arrays (`np.empty`, `np.zeros`) whose every
    /// element is stored before any is read.
    pub overwritten: std::collections::HashSet<usize>,
    /// The loops whose min/max accumulators run in lanes.
    pub lanes: Vec<lanes::LaneLoop>,
}

/// One `a[i, j]` read or store.
#[derive(Debug, Clone)]
pub struct Access {
    /// The address of the access's array operand in the typed module the
    /// facts were computed from: the key codegen looks the access up by.
    /// Only compared, never dereferenced.
    array: usize,
    /// The access as written, in Python syntax.
    pub text: String,
    /// The array variable (empty when the array is not a plain variable).
    pub array_name: String,
    pub kind: AccessKind,
    pub decision: Decision,
    /// The array variable only ever holds arrays made in this function, so
    /// it is C-contiguous and writable.
    pub fresh: bool,
    /// For an access to an array parameter inside a ranged loop: the loop
    /// before which the parameter's layout is tested (unit stride on its
    /// last axis, and writable if the loop stores into it). The loop then
    /// runs a version with contiguous accesses (unchecked where proven,
    /// checked otherwise) when the test passes.
    pub layout_loop: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    Read,
    Write,
}

/// What happens to an access's index check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every index is proven in range; the reason names the facts used.
    Proven(String),
    /// Every index is in range when `conditions` (each `form <= 0`, over
    /// array dimensions only) hold. They are tested once before the loop
    /// `loop_key`, which then runs in two versions: unchecked when they
    /// hold, checked otherwise, so a failing index raises at the same
    /// iteration as in Python.
    ProvenIf {
        loop_key: usize,
        conditions: Vec<Linear>,
        reason: String,
    },
    /// The check stays; the reason says what could not be proven.
    Checked(String),
}

impl Facts {
    /// The facts of `rust_name`'s instance (empty if unknown).
    pub fn function(&self, rust_name: &str) -> Option<&FunctionFacts> {
        self.functions.get(rust_name)
    }
}

impl FunctionFacts {
    /// The decision about the access whose array operand is `array`, an
    /// expression of the analysed module.
    pub fn access(&self, array: &typed::Expr) -> Option<&Access> {
        let key = std::ptr::from_ref(array) as usize;
        self.accesses.iter().find(|a| a.array == key)
    }

    /// Whether the `int` operation `expr` (an expression of the analysed
    /// module) is proven to stay in the `i64` range, so it needs no
    /// overflow check.
    pub fn cannot_overflow(&self, expr: &typed::Expr) -> bool {
        let key = std::ptr::from_ref(expr) as usize;
        self.ints.cannot_overflow.contains(&key)
    }

    /// For an integer `//` or `%` whose divisor is proven positive: whether
    /// the dividend is proven non-negative too. `None` when the divisor may
    /// be zero or negative.
    pub fn positive_divisor(&self, expr: &typed::Expr) -> Option<bool> {
        let key = std::ptr::from_ref(expr) as usize;
        self.ints.positive_divisor.get(&key).copied()
    }

    /// Whether the `math.sqrt` call `expr` has an argument proven never
    /// negative, so it cannot raise.
    pub fn sqrt_in_domain(&self, expr: &typed::Expr) -> bool {
        let key = std::ptr::from_ref(expr) as usize;
        self.ints.sqrt_in_domain.contains(&key)
    }

    /// Whether the new array `expr` (an expression of the analysed module)
    /// has every element stored before any is read, so it needs no fill.
    pub fn overwritten(&self, expr: &typed::Expr) -> bool {
        self.overwritten
            .contains(&(std::ptr::from_ref(expr) as usize))
    }

    /// How many `int` operations keep their overflow check, and how many
    /// are proven in range.
    pub fn overflow_counts(&self) -> (usize, usize) {
        (self.ints.checked, self.ints.cannot_overflow.len())
    }

    /// How the `prange` loop at address `loop_key` runs, if it is one.
    pub fn parallel_plan(&self, loop_key: usize) -> Option<&parallel::Plan> {
        self.parallel
            .iter()
            .find(|l| l.key == loop_key)
            .map(|l| &l.plan)
    }

    /// The accumulators the loop at address `loop_key` keeps in lanes, if
    /// any.
    pub fn lane_plan(&self, loop_key: usize) -> Option<&lanes::LaneLoop> {
        self.lanes.iter().find(|l| l.key == loop_key)
    }

    /// The proven accesses, for the safety comment of the function.
    pub fn proven(&self) -> impl Iterator<Item = (&Access, &str)> {
        self.accesses.iter().filter_map(|a| match &a.decision {
            Decision::Proven(reason) | Decision::ProvenIf { reason, .. } => {
                Some((a, reason.as_str()))
            }
            Decision::Checked(_) => None,
        })
    }

    /// The array parameters whose layout is tested before the loop
    /// statement at address `loop_key`, sorted, each with whether the loop
    /// stores into it (so the test includes the writable flag).
    pub fn layout_tests(&self, loop_key: usize) -> Vec<(&str, bool)> {
        let mut found: Vec<(&str, bool)> = Vec::new();
        for access in &self.accesses {
            if access.layout_loop != Some(loop_key) {
                continue;
            }
            let written = access.kind == AccessKind::Write;
            match found
                .iter_mut()
                .find(|(name, _)| *name == access.array_name)
            {
                Some(entry) => entry.1 |= written,
                None => found.push((&access.array_name, written)),
            }
        }
        found.sort();
        found
    }

    /// The conditions tested before the loop statement at address
    /// `loop_key`, each `form <= 0`, without repeats; empty when the loop
    /// runs in one version.
    pub fn version_conditions(&self, loop_key: usize) -> Vec<&Linear> {
        let mut found: Vec<&Linear> = Vec::new();
        for access in &self.accesses {
            if let Decision::ProvenIf {
                loop_key: key,
                conditions,
                ..
            } = &access.decision
            {
                if *key == loop_key {
                    for condition in conditions {
                        if !found.contains(&condition) {
                            found.push(condition);
                        }
                    }
                }
            }
        }
        found
    }
}

/// Runs every analysis on every function of the module.
/// What the user allows the analyses to decide.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Loops run in parallel at all (`prange` ones, when proven safe).
    /// Off: every loop is serial and `prange` means `range`.
    pub parallel: bool,
    /// Plain `range` loops run in parallel when that changes nothing.
    pub automatic_parallel: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallel: true,
            automatic_parallel: true,
        }
    }
}

/// Runs every analysis on every function of the module, with the default
/// options.
pub fn analyse(module: &typed::Module) -> Facts {
    analyse_with(module, Options::default())
}

/// Runs every analysis on every function of the module.
pub fn analyse_with(module: &typed::Module, options: Options) -> Facts {
    let helpers = helper_writes(module);
    let helper_view: parallel::HelperWrites = helpers
        .iter()
        .map(|(name, (params, writes))| (name.as_str(), (params.clone(), writes.as_slice())))
        .collect();
    let mut errors = Vec::new();
    let cyclic = cyclic_functions(module);
    let functions = module
        .functions
        .iter()
        .map(|function| {
            let (ints, intervals) = ranges::int_facts(function);
            let accesses = bounds::accesses(function, &intervals);
            let raises = parallel::RaiseFacts {
                accesses: &accesses,
                ints: &ints,
                unbound: crate::unbound_reads::variables(function),
                automatic: options.automatic_parallel,
                enabled: options.parallel,
                cyclic: cyclic.contains(function.rust_name.as_str()),
            };
            let (parallel, mut found) =
                parallel::parallel_loops(function, &intervals, &helper_view, &raises);
            errors.append(&mut found);
            let facts = FunctionFacts {
                accesses,
                written_arrays: writes::written_arrays(function),
                written_parameters: helpers
                    .get(&function.rust_name)
                    .map(|(_, written)| written.clone())
                    .unwrap_or_default(),
                ints,
                parallel,
                overwritten: overwritten::overwritten_arrays(function),
                lanes: lanes::lane_loops(function),
            };
            (function.rust_name.clone(), facts)
        })
        .collect();
    Facts { functions, errors }
}

/// The functions on a call-graph cycle (recursive, directly or not).
fn cyclic_functions(module: &typed::Module) -> std::collections::HashSet<&str> {
    let calls: HashMap<&str, Vec<&str>> = module
        .functions
        .iter()
        .map(|f| {
            let mut callees = Vec::new();
            for stmt in &f.body {
                stmt.walk_exprs(&mut |e| {
                    if let ExprKind::Call { function, .. } = &e.kind {
                        callees.push(function.as_str());
                    }
                });
            }
            (f.rust_name.as_str(), callees)
        })
        .collect();
    let reaches_itself = |start: &str| {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut stack: Vec<&str> = calls.get(start).cloned().unwrap_or_default();
        while let Some(next) = stack.pop() {
            if next == start {
                return true;
            }
            if seen.insert(next) {
                stack.extend(calls.get(next).cloned().unwrap_or_default());
            }
        }
        false
    };
    module
        .functions
        .iter()
        .map(|f| f.rust_name.as_str())
        .filter(|name| reaches_itself(name))
        .collect()
}

/// Per function (by Rust name): its parameter names and the array
/// parameters it stores into, directly or through the helpers it calls.
fn helper_writes(module: &typed::Module) -> HashMap<String, (Vec<&str>, Vec<String>)> {
    let mut map: HashMap<String, (Vec<&str>, Vec<String>)> = module
        .functions
        .iter()
        .map(|f| {
            // A parameter in its None instance is no array of the caller's.
            let params: Vec<&str> = f
                .params
                .iter()
                .map(|p| {
                    if p.ty == crate::types::Type::None {
                        ""
                    } else {
                        p.name.as_str()
                    }
                })
                .collect();
            let written = writes::written_arrays(f)
                .into_iter()
                .filter(|w| params.contains(&w.as_str()))
                .collect();
            (f.rust_name.clone(), (params, written))
        })
        .collect();
    loop {
        let mut changed = false;
        for function in &module.functions {
            let mut added: Vec<String> = Vec::new();
            for stmt in &function.body {
                stmt.walk_calls(&mut |callee, args| {
                    let Some((params, written)) = map.get(callee) else {
                        return;
                    };
                    for (param, arg) in params.iter().zip(args) {
                        if written.iter().any(|w| w == param) {
                            if let Some(root) = writes::root_variable(arg) {
                                added.push(root.to_string());
                            }
                        }
                    }
                });
            }
            let Some((params, written)) = map.get_mut(&function.rust_name) else {
                continue;
            };
            // A view local passed to a helper that stores into it.
            let added = writes::with_viewed(function, added);
            for name in added {
                if params.contains(&name.as_str()) && !written.contains(&name) {
                    written.push(name);
                    changed = true;
                }
            }
        }
        if !changed {
            return map;
        }
    }
}

/// An expression in Python syntax, for reports and proofs.
pub fn render(expr: &typed::Expr) -> String {
    render_at(expr, 0)
}

/// Python's binding strength of the operators `render` prints.
fn strength(expr: &typed::Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary { op, .. } => match op {
            BinaryOp::BitOr => 4,
            BinaryOp::BitXor => 5,
            BinaryOp::BitAnd => 6,
            BinaryOp::LShift | BinaryOp::RShift => 7,
            BinaryOp::Add | BinaryOp::Sub => 8,
            BinaryOp::Pow => 11,
            _ => 9,
        },
        ExprKind::Neg(_) | ExprKind::Invert(_) => 10,
        ExprKind::Compare { .. } => 3,
        ExprKind::Not(_) => 2,
        ExprKind::BoolOp { .. } | ExprKind::IfExp { .. } => 1,
        ExprKind::Cast(inner) | ExprKind::Truthy(inner) => strength(inner),
        _ => 12,
    }
}

fn render_at(expr: &typed::Expr, min: u8) -> String {
    let text = match &expr.kind {
        ExprKind::Literal(typed::Literal::Int(v)) => v.to_string(),
        ExprKind::Literal(typed::Literal::Float(v)) => format!("{v:?}"),
        ExprKind::Literal(typed::Literal::Bool(b)) => if *b { "True" } else { "False" }.to_string(),
        ExprKind::Local(name) | ExprKind::Constant(name) => name.clone(),
        ExprKind::Cast(inner) | ExprKind::Truthy(inner) => return render_at(inner, min),
        ExprKind::Binary { op, left, right } => {
            let s = strength(expr);
            format!(
                "{} {} {}",
                render_at(left, s),
                op.symbol(),
                render_at(right, s + 1)
            )
        }
        ExprKind::Neg(inner) => format!("-{}", render_at(inner, 10)),
        ExprKind::Invert(inner) => format!("~{}", render_at(inner, 10)),
        ExprKind::Not(inner) => format!("not {}", render_at(inner, 2)),
        ExprKind::Index { array, indices, .. } => format!(
            "{}[{}]",
            render_at(array, 12),
            indices.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::SubArray { array, index } => {
            format!("{}[{}]", render_at(array, 12), render(index))
        }
        ExprKind::Dim { array, axis: 0 } => format!("len({})", render(array)),
        ExprKind::Dim { array, axis } => format!("{}.shape[{axis}]", render_at(array, 12)),
        ExprKind::Shape(array) => format!("{}.shape", render_at(array, 12)),
        ExprKind::Size(array) => format!("{}.size", render_at(array, 12)),
        ExprKind::TupleGet { tuple, index } => format!("{}[{index}]", render_at(tuple, 12)),
        ExprKind::Tuple(items) => format!(
            "({})",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Call { function, args } => format!(
            "{function}({})",
            args.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::View { array, items, .. } => {
            let bound = |b: &Option<typed::Expr>| b.as_ref().map(render).unwrap_or_default();
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    typed::ViewItem::Index(index) => render(index),
                    typed::ViewItem::NewAxis => "None".into(),
                    typed::ViewItem::Slice { start, stop, step } => match step {
                        Some(step) => format!("{}:{}:{}", bound(start), bound(stop), render(step)),
                        None => format!("{}:{}", bound(start), bound(stop)),
                    },
                })
                .collect();
            format!("{}[{}]", render_at(array, 12), items.join(", "))
        }
        ExprKind::Transpose(array) => format!("{}.T", render_at(array, 12)),
        ExprKind::Reduce { op, array, .. } => {
            format!("{}.{}(…)", render_at(array, 12), op.lane_function())
        }
        _ => "…".to_string(),
    };
    if strength(expr) < min {
        format!("({text})")
    } else {
        text
    }
}
