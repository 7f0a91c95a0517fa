//! Which `prange` loops run their iterations in parallel, and how.
//!
//! A loop written with `prange` asks for parallelism; it gets it only when
//! its iterations are proven independent, and is otherwise a compile error
//! (FP0601) naming the variable or the two accesses in conflict. The proof:
//!
//! - *Scalars* assigned in the body are either private (every path through
//!   one iteration assigns them before reading them, and nothing outside
//!   the loop reads them) or reductions (`acc += e`, `-=`, `*=`, `|=`, `&=`,
//!   `^=`, `acc = max(acc, e)`, `min`, with `acc` read nowhere else in the
//!   body). Anything else carries a value from one iteration to another.
//! - *Arrays* stored into have one axis on which every access of the loop
//!   (store or read) has the same index `c*i + rest`, with `c != 0` and
//!   `rest` unchanged by the body, never negative (so no index wraps around
//!   to another iteration's element): each iteration touches its own
//!   elements. Two array variables may still be one array (`f(a, a)`), so
//!   the loop runs in parallel only when a test before it finds that no
//!   written array shares memory with another array the loop uses; when it
//!   does, the loop runs serially, with the same result as in Python.
//! - `return` and `break` of the loop itself would stop the other
//!   iterations: a compile error. A call to a function passed as an
//!   argument is fine when that function is native; a Python function needs
//!   the GIL, and the loop then runs serially (decided when it starts). A compiled helper
//!   that stores into an array argument counts as a store of unknown index.
//!
//! A `prange` nested in a parallel loop runs serially inside it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::ranges::Intervals;
use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{self, ExprKind, Intrinsic, Stmt, Target};
use crate::ir::BinaryOp;
use crate::types::Type;

/// What happens to one `prange` loop.
#[derive(Debug, Clone)]
pub struct ParallelLoop {
    /// The address of the loop statement.
    pub key: usize,
    pub span: Span,
    pub plan: Plan,
}

#[derive(Debug, Clone)]
pub enum Plan {
    /// Iterations run in parallel.
    Parallel(Parallel),
    /// The loop runs serially; the reason is for `explain`.
    Serial(String),
    /// A race or an exit from the loop: a compile error.
    Rejected,
    /// A plain `range` loop that runs in parallel by itself: its iterations
    /// are independent, nothing in them can raise, and its reductions are
    /// exact in any order, so the result is the serial loop's, bit for bit.
    Auto(Auto),
}

/// The work of one iteration of a loop in rough operations: `base` plus,
/// for each inner loop of `inner` (its statement's address, directly in the
/// body, a `range` with step 1 whose bounds the body does not change and
/// evaluating which cannot fail), its trip count times the cost of its
/// body. The trip counts are read when the loop starts, so a loop over a
/// few rows of many columns runs in parallel when the whole is worth it.
#[derive(Debug, Clone)]
pub struct Work {
    pub base: u64,
    pub inner: Vec<(usize, u64)>,
    /// The work below which the loop runs serially.
    pub min_work: u64,
}

#[derive(Debug, Clone)]
pub struct Auto {
    pub parallel: Parallel,
    /// Fewer iterations run serially: the threads would cost more than
    /// they save (an estimate from the size of the body, inner loops
    /// counted at `NESTED_TRIPS` trips).
    pub min_iterations: u64,
    /// When some loops directly in the body have bounds the body does not
    /// change: the work of an iteration, known when the loop starts, which
    /// replaces `min_iterations` (see `Work`).
    pub work: Option<Work>,
    /// The proof that nothing raises needs the shape tests of these loops
    /// (this one or an enclosing one) to pass: some indices are proven only
    /// then.
    pub needs_shapes: Vec<usize>,
    /// ... and the layout tests of these loops (stores into parameters check
    /// nothing only in the unit-stride, writable version).
    pub needs_layout: Vec<usize>,
    /// The loop stores into nothing, but an iteration may raise, or an
    /// integer sum of terms of one sign may overflow in one order and not
    /// another: the iterations run in parallel as an attempt that keeps
    /// nothing (each chunk's reductions are its own until all succeed), and
    /// when any iteration raises or a sum overflows, the loop runs again
    /// serially from the start, which raises what the serial loop raises.
    pub speculative: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Parallel {
    pub reductions: Vec<Reduction>,
    /// Scalars assigned in each iteration before use.
    pub private: Vec<String>,
    /// Arrays the loop stores into; at run time none may share memory with
    /// another array in `used`.
    pub written: Vec<String>,
    /// Every array variable the loop accesses, sorted.
    pub used: Vec<String>,
    /// Whether the body calls a function passed as an argument: the loop
    /// runs in parallel only when every such function is native (a math or
    /// NumPy function, a ferropy-compiled one), which a kernel knows from
    /// not holding the GIL; a Python function needs the GIL, and the loop
    /// runs serially with it.
    pub calls_arguments: bool,
    /// Lists of numbers made before the loop that its iterations only read
    /// (`len`, truth, `xs[i]`, `in`, walked by a `for`): their elements are
    /// lent to every thread for the loop (`rt::SharedList`), sorted.
    pub shared_lists: Vec<String>,
    /// Locals the body binds only to those lists (the list a `for` loop
    /// walks), private to each iteration, sorted.
    pub list_aliases: Vec<String>,
    /// Local lists of ints the body only adds to by element (`h[i] += e`,
    /// every `e` never negative), which nothing else can hold: each chunk
    /// counts into a zeroed list of the same length, and the counts are
    /// added when every chunk succeeded (only in an attempt), sorted.
    pub histograms: Vec<String>,
    /// Local lists of numbers the body only appends to (a comprehension's
    /// result), which nothing else can hold: each chunk appends to a list
    /// of its own, and the chunks' lists are appended in order once every
    /// chunk succeeded (only in an attempt), sorted.
    pub collected: Vec<String>,
    /// Dicts of ints the body only adds to (`d[k] = d.get(k, 0) + e`, every
    /// `e` never negative, keys ints, bools or tuples of them): each chunk
    /// counts into a dict of its own, and the chunks' counts are added in
    /// chunk order, which inserts new keys in the serial loop's order, once
    /// every chunk succeeded and every sum fits (only in an attempt), sorted.
    pub tallies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reduction {
    pub var: String,
    pub op: ReductionOp,
    pub ty: Type,
    /// Its result is the serial loop's bit for bit in any order: an
    /// integer `&`, `|`, `^`, minimum or maximum (an integer sum may
    /// overflow in one order and not another), or a float minimum or
    /// maximum of values that are never -0.0.
    pub order_free: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReductionOp {
    /// `+=` and `-=`: partial sums are added.
    Add,
    Mul,
    BitAnd,
    BitOr,
    BitXor,
    Max,
    Min,
}

impl ReductionOp {
    pub fn describe(self) -> &'static str {
        match self {
            ReductionOp::Add => "sum",
            ReductionOp::Mul => "product",
            ReductionOp::BitAnd => "&",
            ReductionOp::BitOr => "|",
            ReductionOp::BitXor => "^",
            ReductionOp::Max => "max",
            ReductionOp::Min => "min",
        }
    }
}

/// What a called helper stores into: the names of its array parameters.
pub type HelperWrites<'m> = HashMap<&'m str, (Vec<&'m str>, &'m [String])>;

/// The other facts about a function that decide whether a loop can raise.
pub struct RaiseFacts<'a> {
    pub accesses: &'a [super::Access],
    pub ints: &'a super::ranges::IntFacts,
    /// Variables that may be read before assignment (reading them raises).
    pub unbound: HashSet<String>,
    /// Whether loops may be parallelised without `prange`.
    pub automatic: bool,
    /// Whether any loop may run in parallel (`--parallel off`: none, and
    /// `prange` means `range`).
    pub enabled: bool,
    /// Whether the function is on a call-graph cycle: the iterations of its
    /// parallel loops go on counting its recursion depth on the threads
    /// that run them (`rt::resume_cycle`).
    pub cyclic: bool,
}

/// The `prange` loops of a function, the plain loops it parallelises by
/// itself, and the errors of the `prange` loops rejected.
pub fn parallel_loops(
    function: &typed::Function,
    intervals: &Intervals,
    helpers: &HelperWrites,
    raises: &RaiseFacts,
) -> (Vec<ParallelLoop>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let checker = Checker {
        function,
        intervals,
        helpers,
        raises,
    };
    checker.find(&function.body, false, &mut out, &mut errors);
    (out, errors)
}

struct Checker<'f> {
    function: &'f typed::Function,
    intervals: &'f Intervals,
    helpers: &'f HelperWrites<'f>,
    raises: &'f RaiseFacts<'f>,
}

/// The work below which a loop is not worth spreading over threads, in
/// rough operations (`body_cost` per iteration times iterations). Waking the
/// pool and joining it costs tens of microseconds on a busy two-core
/// machine, so a loop runs in parallel by itself only with about a
/// millisecond of work (measured: a 40,000-point 1-D stencil sweep, 1M
/// operations by this count, ran slower on two threads than on one).
const MIN_PARALLEL_WORK: u64 = 4_000_000;

/// The trip count assumed for a loop nested in the body, whose bounds are
/// known only when it runs.
const NESTED_TRIPS: u64 = 64;

/// One element access inside the loop.
struct Access<'e> {
    array: String,
    indices: Vec<&'e typed::Expr>,
    span: Span,
    store: bool,
}

/// `coefficient·i + constant + Σ count·term`, terms being expressions the
/// body does not change, keyed by their Python text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Affine {
    coefficient: i64,
    constant: i64,
    terms: BTreeMap<String, i64>,
}

impl<'f> Checker<'f> {
    fn find(
        &self,
        stmts: &[Stmt],
        inside: bool,
        out: &mut Vec<ParallelLoop>,
        errors: &mut Vec<Diagnostic>,
    ) {
        for stmt in stmts {
            if let Stmt::ForRange {
                parallel: true,
                span,
                body,
                ..
            } = stmt
            {
                let key = std::ptr::from_ref(stmt) as usize;
                if !self.raises.enabled {
                    out.push(ParallelLoop {
                        key,
                        span: *span,
                        plan: Plan::Serial("runs serially (--parallel off)".into()),
                    });
                    self.find(body, true, out, errors);
                    continue;
                }
                if inside {
                    out.push(ParallelLoop {
                        key,
                        span: *span,
                        plan: Plan::Serial(
                            "nested in a parallel loop: runs serially inside it".into(),
                        ),
                    });
                    self.find(body, true, out, errors);
                    continue;
                }
                let plan = match self.check(stmt) {
                    Ok(Plan::Parallel(plan))
                        if !plan.histograms.is_empty()
                            || !plan.collected.is_empty()
                            || !plan.tallies.is_empty() =>
                    {
                        let list = plan
                            .histograms
                            .iter()
                            .chain(&plan.collected)
                            .chain(&plan.tallies)
                            .next();
                        Plan::Serial(format!(
                            "changes the list `{}`, which stays on the thread that made it: runs \
                             serially",
                            list.map_or("", String::as_str)
                        ))
                    }
                    Ok(plan) => plan,
                    Err(diagnostic) => {
                        errors.push(*diagnostic);
                        Plan::Rejected
                    }
                };
                let parallel = matches!(plan, Plan::Parallel(_));
                out.push(ParallelLoop {
                    key,
                    span: *span,
                    plan,
                });
                self.find(body, parallel, out, errors);
                continue;
            }
            if let Stmt::ForRange {
                parallel: false,
                span,
                body,
                ..
            } = stmt
            {
                if !inside && !(self.raises.automatic && self.raises.enabled) {
                    let why = if self.raises.enabled {
                        "serial (--no-auto-parallel)"
                    } else {
                        "serial (--parallel off)"
                    };
                    out.push(ParallelLoop {
                        key: std::ptr::from_ref(stmt) as usize,
                        span: *span,
                        plan: Plan::Serial(why.into()),
                    });
                    self.find(body, true, out, errors);
                    continue;
                }
                if !inside {
                    let key = std::ptr::from_ref(stmt) as usize;
                    let plan = match self.automatic(stmt, key) {
                        Ok(auto) => Plan::Auto(auto),
                        Err(reason) => Plan::Serial(reason),
                    };
                    let parallel = matches!(plan, Plan::Auto(_));
                    out.push(ParallelLoop {
                        key,
                        span: *span,
                        plan,
                    });
                    // The loops inside a serial one are candidates in turn
                    // (the rows of each sweep of a stencil); those inside a
                    // parallel one run serially within its iterations.
                    self.find(body, parallel, out, errors);
                    continue;
                }
            }
            for body in stmt.nested() {
                self.find(body, inside, out, errors);
            }
        }
    }

    fn check(&self, stmt: &Stmt) -> Result<Plan, Box<Diagnostic>> {
        let Stmt::ForRange {
            var, body, span, ..
        } = stmt
        else {
            return Ok(Plan::Serial(String::new()));
        };
        let span = *span;
        let error = |message: String, hint: &str| {
            Box::new(
                Diagnostic::error(codes::PARALLEL_RACE, span, message)
                    .with_label("this loop runs its iterations in parallel")
                    .with_hint(hint.to_string()),
            )
        };
        if let Some(exit) = loop_exit(body, false) {
            return Err(error(
                format!("`{exit}` inside a prange loop would stop the other iterations"),
                "use `range` for a loop that stops early, or record the result in an array",
            ));
        }
        let mut calls_value = false;
        for stmt in body {
            stmt.walk_exprs(&mut |e| calls_value |= matches!(e.kind, ExprKind::CallValue { .. }));
        }
        // A list belongs to the thread that made it (`rt::List` is neither
        // Send nor Sync), so a loop that touches one other than by reading
        // numbers from it stays on that thread.
        let mut terms = Vec::new();
        let lists = match loop_lists(self.function, body, &mut terms) {
            Ok(lists) => lists,
            Err(why) => return Ok(Plan::Serial(format!("{why}: runs serially"))),
        };
        // Counts merge exactly only when every term has one sign, and only
        // in an attempt that keeps nothing when one overflows.
        let counters: Vec<&String> = lists.histograms.iter().chain(&lists.tallies).collect();
        if !counters.is_empty() && !terms.iter().all(|t| self.intervals.never_negative(t)) {
            let names: Vec<&str> = counters.iter().map(|s| s.as_str()).collect();
            return Ok(Plan::Serial(format!(
                "adds to `{}` terms that may be negative: runs serially",
                names.join("`, `")
            )));
        }

        // Scalars.
        let mut assigned: Vec<String> = Vec::new();
        typed::bound_locals(body, &mut assigned);
        assigned.sort();
        assigned.dedup();
        if let Some(var) = var {
            if assigned.contains(var) {
                return Err(error(
                    format!("the loop variable `{var}` is assigned in the body of a prange loop"),
                    "assign a different variable",
                ));
            }
        }
        let mut plan = Parallel {
            calls_arguments: calls_value,
            shared_lists: lists.shared,
            list_aliases: lists.aliases,
            histograms: lists.histograms,
            collected: lists.collected,
            tallies: lists.tallies,
            ..Parallel::default()
        };
        let mut candidates: Vec<&str> = Vec::new();
        for name in &assigned {
            let ty = self.var_type(name);
            if matches!(ty, Some(Type::Array(_))) {
                continue;
            }
            match reduction(body, name) {
                Some((op, operands)) => {
                    let ty = ty.cloned().unwrap_or(Type::Float);
                    // A float minimum or maximum of values never -0.0
                    // is the same in any order (see `lanes`).
                    let order_free = !ty.is_float_like()
                        && !matches!(op, ReductionOp::Add | ReductionOp::Mul)
                        || matches!(op, ReductionOp::Min | ReductionOp::Max)
                            && operands.iter().all(|e| {
                                super::lanes::never_negative_zero(
                                    e,
                                    self.function,
                                    &mut HashSet::new(),
                                )
                            });
                    plan.reductions.push(Reduction {
                        var: name.clone(),
                        op,
                        ty,
                        order_free,
                    })
                }
                None => candidates.push(name),
            }
        }
        let carried =
            crate::unbound_reads::read_before_assigned(body, &candidates.iter().copied().collect());
        for name in candidates {
            if carried.contains(name) {
                return Err(error(
                    format!(
                        "`{name}` is shared between iterations: an iteration may read the value another one assigned"
                    ),
                    "assign it before reading it in every iteration, accumulate with `+=` (a reduction), or use `range`",
                ));
            }
            if self.read_outside(stmt, name) {
                return Err(error(
                    format!(
                        "`{name}` is assigned in the prange loop and read outside it, where its value would depend on which iteration ran last"
                    ),
                    "use a different variable inside the loop, or store per-iteration results in an array",
                ));
            }
            plan.private.push(name.to_string());
        }

        // Arrays.
        let mut accesses: Vec<Access> = Vec::new();
        let mut whole: Vec<(String, String)> = Vec::new();
        let mut used: Vec<String> = Vec::new();
        for stmt in body {
            self.collect_accesses(stmt, &mut accesses, &mut whole, &mut used);
        }
        // Arrays assigned in the body: only fresh per-iteration arrays.
        let array_locals: Vec<&String> = assigned
            .iter()
            .filter(|n| matches!(self.var_type(n), Some(Type::Array(_))))
            .collect();
        for name in &array_locals {
            if !assigned_only_new_arrays(body, name) {
                return Err(error(
                    format!(
                        "`{name}` is bound inside the prange loop to an existing array or view"
                    ),
                    "make a new array in each iteration (`np.zeros`, `.copy()`), or use `range`",
                ));
            }
            if self.read_outside(stmt, name) {
                return Err(error(
                    format!("`{name}` is assigned in the prange loop and used outside it"),
                    "use a different variable inside the loop",
                ));
            }
        }
        let mut written: Vec<String> = accesses
            .iter()
            .filter(|a| a.store && !array_locals.contains(&&a.array))
            .map(|a| a.array.clone())
            .collect();
        for (array, how) in &whole {
            if !array_locals.iter().any(|l| *l == array) && how.starts_with("stored into by") {
                written.push(array.clone());
            }
        }
        written.sort();
        written.dedup();
        let assigned_set: HashSet<&str> = assigned.iter().map(String::as_str).collect();
        for array in &written {
            if let Some((_, how)) = whole.iter().find(|(a, _)| a == array) {
                let message = if how.starts_with("stored into by") {
                    format!("`{array}` is {how}: iterations may store into the same elements")
                } else {
                    format!("`{array}` is stored into by the prange loop and {how}")
                };
                return Err(error(
                    message,
                    "index it with the loop variable, or use `range`",
                ));
            }
            let mine: Vec<&Access> = accesses.iter().filter(|a| &a.array == array).collect();
            let ndim = mine.first().map_or(0, |a| a.indices.len());
            let separated = var.as_ref().is_some_and(|var| {
                (0..ndim).any(|axis| {
                    let forms: Vec<Option<Affine>> = mine
                        .iter()
                        .map(|a| {
                            let index = a.indices.get(axis)?;
                            let form = affine(index, var, &assigned_set)?;
                            (form.coefficient != 0 && self.intervals.never_negative(index))
                                .then_some(form)
                        })
                        .collect();
                    forms.iter().all(|f| f.is_some() && *f == forms[0])
                })
            });
            if !separated {
                let Some(first) = mine.iter().find(|a| a.store).or(mine.first()) else {
                    continue;
                };
                let other = mine.iter().find(|a| a.span != first.span).unwrap_or(first);
                let kind = |a: &Access| if a.store { "stored" } else { "read" };
                let same = std::ptr::eq(*other, *first);
                let message = if same {
                    format!(
                        "`{array}` is stored into at an element that other iterations may also store into"
                    )
                } else {
                    format!(
                        "`{array}` is {} and {} at elements that different iterations may share",
                        kind(first),
                        kind(other)
                    )
                };
                let mut diagnostic = Diagnostic::error(codes::PARALLEL_RACE, first.span, message)
                    .with_label(format!("{} here", kind(first)))
                    .with_secondary(span, "in this parallel loop")
                    .with_hint(
                        "index the stored array with the loop variable (`out[i] = ...`), accumulate into a scalar, or use `range`",
                    );
                if !same {
                    diagnostic =
                        diagnostic.with_secondary(other.span, format!("{} here", kind(other)));
                }
                return Err(Box::new(diagnostic));
            }
        }
        // Arrays made in each iteration share memory with nothing.
        used.retain(|name| !array_locals.contains(&name));
        used.sort();
        used.dedup();
        plan.written = written;
        plan.used = used;
        Ok(Plan::Parallel(plan))
    }

    /// Whether a plain loop may run in parallel by itself, and why not.
    fn automatic(&self, stmt: &Stmt, key: usize) -> Result<Auto, String> {
        let Stmt::ForRange { body, .. } = stmt else {
            return Err(String::new());
        };
        let mut has_prange = false;
        for inner in body {
            walk_stmts(inner, &mut |s| {
                has_prange |= matches!(s, Stmt::ForRange { parallel: true, .. });
            });
        }
        if has_prange {
            return Err("serial: holds a prange loop".into());
        }
        let parallel = match self.check(stmt) {
            Ok(Plan::Parallel(parallel)) => parallel,
            Ok(Plan::Serial(reason)) => return Err(format!("serial: {reason}")),
            Ok(_) => return Err("serial".into()),
            Err(diagnostic) => {
                return Err(format!(
                    "serial: iterations depend on each other ({})",
                    diagnostic.message
                ))
            }
        };
        if parallel.calls_arguments {
            return Err("serial: calls a function passed as an argument".into());
        }
        // A loop that stores nothing can run again serially when its
        // parallel attempt fails, so it needs no proof that nothing raises.
        let stores_nothing = parallel.written.is_empty();
        let mut speculative = !parallel.histograms.is_empty()
            || !parallel.collected.is_empty()
            || !parallel.tallies.is_empty();
        if speculative && !stores_nothing {
            return Err("serial: adds to a list of counts and stores into an array".into());
        }
        for reduction in &parallel.reductions {
            if reduction.order_free {
                continue;
            }
            // Partial sums of terms of one sign overflow only where the
            // serial sum does, or where the attempt starts them from zero
            // and the serial loop from a value of the other sign: then the
            // loop runs again serially.
            if stores_nothing
                && reduction.op == ReductionOp::Add
                && reduction.ty == Type::Int
                && self.one_signed_sum(body, &reduction.var)
            {
                speculative = true;
                continue;
            }
            return Err(format!(
                "serial: `{}` is a {} reduction, whose result depends on the order \
                 (prange allows that)",
                reduction.var,
                reduction.op.describe()
            ));
        }
        let mut needs = Needs::default();
        if let Err(what) = self.raise_free_block(body, key, &mut needs) {
            if !stores_nothing {
                return Err(format!(
                    "serial: {what} may raise, and then the arrays must hold what the serial \
                     loop leaves"
                ));
            }
            // An iteration after the one that raises might never end
            // (`while` on values the serial loop never reaches), and the
            // attempt would wait for it.
            let mut has_while = false;
            for inner in body {
                walk_stmts(inner, &mut |s| has_while |= matches!(s, Stmt::While { .. }));
            }
            if has_while {
                return Err(format!(
                    "serial: {what} may raise, and a `while` loop in a later iteration might not end"
                ));
            }
            speculative = true;
        }
        if speculative {
            // The attempt proves nothing about raising: it needs no tests.
            needs = Needs::default();
        }
        let cost = body_cost(body).max(1);
        // An attempt lends its lists, makes and merges parts of containers,
        // and may have to run again: it needs twice the work to pay.
        let min_work = if speculative {
            MIN_PARALLEL_WORK * 2
        } else {
            MIN_PARALLEL_WORK
        };
        let mut work = work(stmt);
        if let Some(work) = &mut work {
            work.min_work = min_work;
        }
        Ok(Auto {
            parallel,
            min_iterations: (min_work / cost).max(2),
            work,
            needs_shapes: needs.shapes,
            needs_layout: needs.layout,
            speculative,
        })
    }

    /// Whether every update of the integer sum `name` in `body` adds a
    /// term that is never negative, or every one subtracts such a term:
    /// its partial sums then move one way only.
    fn one_signed_sum(&self, body: &[Stmt], name: &str) -> bool {
        let mut ups = 0;
        let mut downs = 0;
        let mut other = false;
        for stmt in body {
            walk_stmts(stmt, &mut |s| {
                if let Stmt::Assign {
                    target: Target::Local(n),
                    value,
                } = s
                {
                    if n != name {
                        return;
                    }
                    match &value.kind {
                        ExprKind::Binary { op, left, right }
                            if matches!(&left.kind, ExprKind::Local(l) if l == name)
                                && self.intervals.never_negative(right) =>
                        {
                            match op {
                                BinaryOp::Add => ups += 1,
                                BinaryOp::Sub => downs += 1,
                                _ => other = true,
                            }
                        }
                        _ => other = true,
                    }
                }
            });
        }
        !other && (ups == 0 || downs == 0)
    }

    fn raise_free_block(
        &self,
        stmts: &[Stmt],
        key: usize,
        needs: &mut Needs,
    ) -> Result<(), String> {
        for stmt in stmts {
            match stmt {
                Stmt::Assign { target, value } => {
                    self.raise_free(value, key, needs)?;
                    self.raise_free_target(target, key, needs)?;
                }
                Stmt::If { test, body, orelse } => {
                    self.raise_free(test, key, needs)?;
                    self.raise_free_block(body, key, needs)?;
                    self.raise_free_block(orelse, key, needs)?;
                }
                Stmt::ForRange {
                    start,
                    stop,
                    step,
                    body,
                    ..
                } => {
                    self.raise_free(start, key, needs)?;
                    self.raise_free(stop, key, needs)?;
                    if let Some(step) = step {
                        match step.kind {
                            ExprKind::Literal(typed::Literal::Int(k)) if k != 0 => {}
                            _ => return Err("a range with a variable step".into()),
                        }
                    }
                    self.raise_free_block(body, key, needs)?;
                }
                Stmt::While { test, body } => {
                    self.raise_free(test, key, needs)?;
                    self.raise_free_block(body, key, needs)?;
                }
                Stmt::Expr(value) => self.raise_free(value, key, needs)?,
                Stmt::Break | Stmt::Continue => {}
                Stmt::Return(_) => return Err("`return`".into()),
                Stmt::Assert { .. } => return Err("an `assert`".into()),
                Stmt::Raise { .. } => return Err("a `raise`".into()),
            }
        }
        Ok(())
    }

    fn raise_free_target(
        &self,
        target: &Target,
        key: usize,
        needs: &mut Needs,
    ) -> Result<(), String> {
        match target {
            Target::Local(_) => Ok(()),
            Target::View { .. } => Err("a store into a slice".into()),
            Target::Select { .. } => Err("a store through a mask or index array".into()),
            Target::Item { .. } => Err("a store into a list".into()),
            Target::Tuple(items) => items
                .iter()
                .try_for_each(|t| self.raise_free_target(t, key, needs)),
            Target::Index { array, indices, .. } => {
                for index in indices {
                    self.raise_free(index, key, needs)?;
                }
                let access = self.access(array).ok_or("a store")?;
                self.proven(access, key, needs)?;
                if !access.fresh {
                    if let Some(tested) = access.layout_loop {
                        needs.layout.push(tested);
                    } else {
                        return Err(format!(
                            "the store `{}` (into a read-only array)",
                            access.text
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    fn access(&self, array: &typed::Expr) -> Option<&super::Access> {
        let address = std::ptr::from_ref(array) as usize;
        self.raises.accesses.iter().find(|a| a.array == address)
    }

    fn proven(&self, access: &super::Access, _key: usize, needs: &mut Needs) -> Result<(), String> {
        match &access.decision {
            super::Decision::Proven(_) => Ok(()),
            super::Decision::ProvenIf { loop_key, .. } => {
                needs.shapes.push(*loop_key);
                Ok(())
            }
            _ => Err(format!("`{}` (its index is checked)", access.text)),
        }
    }

    fn raise_free(&self, expr: &typed::Expr, key: usize, needs: &mut Needs) -> Result<(), String> {
        let address = std::ptr::from_ref(expr) as usize;
        let ints = self.raises.ints;
        let shown = || format!("`{}`", super::render(expr));
        match &expr.kind {
            ExprKind::Literal(_) | ExprKind::Constant(_) => return Ok(()),
            ExprKind::Local(name) => {
                return if self.raises.unbound.contains(name) {
                    Err(format!("reading `{name}`, which may be unassigned,"))
                } else {
                    Ok(())
                };
            }
            ExprKind::Index { array, indices, .. } => {
                for index in indices {
                    self.raise_free(index, key, needs)?;
                }
                let access = self.access(array).ok_or_else(shown)?;
                return self.proven(access, key, needs);
            }
            ExprKind::Dim { array, .. } | ExprKind::Shape(array) | ExprKind::Size(array) => {
                return self.raise_free(array, key, needs);
            }
            ExprKind::Cast(inner) => {
                let narrowing = matches!(expr.ty, Type::Scalar(d) if d.is_integer())
                    && inner.ty == Type::Int
                    && !matches!(inner.kind, ExprKind::Literal(typed::Literal::Int(v))
                        if expr.ty.dtype().is_some_and(|d| d.holds(v)));
                if narrowing {
                    return Err(shown());
                }
            }
            ExprKind::Binary { op, .. } => {
                let float = expr.ty.is_float_like();
                let ok = match op {
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::LShift => {
                        expr.ty != Type::Int || ints.cannot_overflow.contains(&address)
                    }
                    BinaryOp::FloorDiv | BinaryOp::Mod => {
                        !float && ints.positive_divisor.contains_key(&address)
                    }
                    BinaryOp::TrueDiv | BinaryOp::Pow => false,
                    BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor | BinaryOp::RShift => {
                        true
                    }
                };
                if !ok {
                    return Err(shown());
                }
            }
            ExprKind::Neg(_) => {
                if expr.ty == Type::Int && !ints.cannot_overflow.contains(&address) {
                    return Err(shown());
                }
            }
            ExprKind::Intrinsic { op, .. } => {
                let ok = match op {
                    Intrinsic::AbsInt => {
                        expr.ty != Type::Int || ints.cannot_overflow.contains(&address)
                    }
                    Intrinsic::AbsFloat
                    | Intrinsic::Min
                    | Intrinsic::Max
                    | Intrinsic::FloatMethod(_)
                    | Intrinsic::IsNan
                    | Intrinsic::IsInf
                    | Intrinsic::IsFinite => true,
                    Intrinsic::Math("sqrt") => ints.sqrt_in_domain.contains(&address),
                    _ => false,
                };
                if !ok {
                    return Err(shown());
                }
            }
            ExprKind::Not(_)
            | ExprKind::Invert(_)
            | ExprKind::Truthy(_)
            | ExprKind::Compare { .. }
            | ExprKind::BoolOp { .. }
            | ExprKind::IfExp { .. }
            | ExprKind::Tuple(_)
            | ExprKind::TupleGet { .. } => {}
            _ => return Err(shown()),
        }
        let mut result = Ok(());
        expr.for_each_child(&mut |child| {
            if result.is_ok() {
                result = self.raise_free(child, key, needs);
            }
        });
        result
    }

    fn var_type(&self, name: &str) -> Option<&Type> {
        self.function
            .locals
            .iter()
            .find(|l| l.name == name)
            .map(|l| &l.ty)
            .or_else(|| {
                self.function
                    .params
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| &p.ty)
            })
    }

    /// Whether code outside the loop `inner` may read a value of `name`
    /// that the loop assigned: a read after the loop (or, around an
    /// enclosing loop, before it) with no assignment of `name` in between.
    fn read_outside(&self, inner: &Stmt, name: &str) -> bool {
        live_after(&self.function.body, inner, name, false)
    }

    fn collect_accesses<'e>(
        &self,
        stmt: &'e Stmt,
        out: &mut Vec<Access<'e>>,
        whole: &mut Vec<(String, String)>,
        used: &mut Vec<String>,
    ) {
        match stmt {
            // A store's target is an access, not a use of the whole array.
            Stmt::Assign { target, value } => {
                self.expr_accesses(value, out, whole, used);
                self.target_accesses(target, out, whole, used);
            }
            _ => stmt.for_each_expr(&mut |expr| self.expr_accesses(expr, out, whole, used)),
        }
        for body in stmt.nested() {
            for stmt in body {
                self.collect_accesses(stmt, out, whole, used);
            }
        }
    }

    fn target_accesses<'e>(
        &self,
        target: &'e Target,
        out: &mut Vec<Access<'e>>,
        whole: &mut Vec<(String, String)>,
        used: &mut Vec<String>,
    ) {
        match target {
            Target::Index {
                array,
                indices,
                span,
            } => {
                let mut all: Vec<&typed::Expr> = Vec::new();
                match view_root(array, &mut all) {
                    Some(root) => {
                        used.push(root.to_string());
                        all.extend(indices.iter());
                        out.push(Access {
                            array: root.to_string(),
                            indices: all,
                            span: *span,
                            store: true,
                        });
                    }
                    None => self.expr_accesses(array, out, whole, used),
                }
                for index in indices {
                    self.expr_accesses(index, out, whole, used);
                }
            }
            Target::Item { list, index, .. } => {
                self.expr_accesses(list, out, whole, used);
                self.expr_accesses(index, out, whole, used);
            }
            Target::Select { array, index, .. } => {
                if let Some(root) = super::writes::root_variable(array) {
                    used.push(root.to_string());
                    whole.push((
                        root.to_string(),
                        "stored into by a masked or indexed store".into(),
                    ));
                }
                self.expr_accesses(array, out, whole, used);
                self.expr_accesses(index, out, whole, used);
            }
            Target::View { view, span } => {
                let mut all: Vec<&typed::Expr> = Vec::new();
                match view_root(view, &mut all) {
                    Some(root) => {
                        used.push(root.to_string());
                        out.push(Access {
                            array: root.to_string(),
                            indices: all,
                            span: *span,
                            store: true,
                        });
                    }
                    None => {
                        if let Some(root) = super::writes::root_variable(view) {
                            used.push(root.to_string());
                            whole.push((root.to_string(), "stored into by a slice".into()));
                        }
                    }
                }
                self.view_index_accesses(view, out, whole, used);
            }
            Target::Tuple(items) => items
                .iter()
                .for_each(|t| self.target_accesses(t, out, whole, used)),
            Target::Local(_) => {}
        }
    }

    /// The accesses of the index expressions inside a view chain.
    fn view_index_accesses<'e>(
        &self,
        view: &'e typed::Expr,
        out: &mut Vec<Access<'e>>,
        whole: &mut Vec<(String, String)>,
        used: &mut Vec<String>,
    ) {
        match &view.kind {
            ExprKind::View { array, items, .. } => {
                self.view_index_accesses(array, out, whole, used);
                for index in items.iter().flat_map(typed::ViewItem::exprs) {
                    self.expr_accesses(index, out, whole, used);
                }
            }
            ExprKind::SubArray { array, index } => {
                self.view_index_accesses(array, out, whole, used);
                self.expr_accesses(index, out, whole, used);
            }
            ExprKind::Local(_) => {}
            _ => self.expr_accesses(view, out, whole, used),
        }
    }

    fn expr_accesses<'e>(
        &self,
        expr: &'e typed::Expr,
        out: &mut Vec<Access<'e>>,
        whole: &mut Vec<(String, String)>,
        used: &mut Vec<String>,
    ) {
        match &expr.kind {
            ExprKind::View { span, .. } => {
                let mut all: Vec<&typed::Expr> = Vec::new();
                if let Some(root) = view_root(expr, &mut all) {
                    used.push(root.to_string());
                    out.push(Access {
                        array: root.to_string(),
                        indices: all,
                        span: *span,
                        store: false,
                    });
                    self.view_index_accesses(expr, out, whole, used);
                    return;
                }
            }
            ExprKind::Index {
                array,
                indices,
                span,
            } => {
                let mut all: Vec<&typed::Expr> = Vec::new();
                if let Some(root) = view_root(array, &mut all) {
                    used.push(root.to_string());
                    all.extend(indices.iter());
                    out.push(Access {
                        array: root.to_string(),
                        indices: all,
                        span: *span,
                        store: false,
                    });
                    for index in indices {
                        self.expr_accesses(index, out, whole, used);
                    }
                    let mut inner = array.as_ref();
                    while let ExprKind::SubArray { array, index } = &inner.kind {
                        self.expr_accesses(index, out, whole, used);
                        inner = array;
                    }
                    return;
                }
            }
            // The size of an array is no access to its elements.
            ExprKind::Dim { array, .. } | ExprKind::Shape(array) | ExprKind::Size(array)
                if matches!(array.kind, ExprKind::Local(_)) =>
            {
                return;
            }
            ExprKind::Local(name) if matches!(expr.ty, Type::Array(_)) => {
                used.push(name.clone());
                whole.push((name.clone(), "used as a whole array".into()));
                return;
            }
            ExprKind::Call { function, args } => {
                if let Some((params, writes)) = self.helpers.get(function.as_str()) {
                    for (param, arg) in params.iter().zip(args) {
                        let mut all = Vec::new();
                        if let Some(root) = view_root(arg, &mut all) {
                            if writes.iter().any(|w| w == param) {
                                used.push(root.to_string());
                                whole.push((
                                    root.to_string(),
                                    format!("stored into by `{function}`, which the loop calls"),
                                ));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        expr.for_each_child(&mut |child| self.expr_accesses(child, out, whole, used));
    }
}

/// Whether, in `stmts`, a read of `name` may see the value the loop
/// `target` (inside one of the statements) left in it. `in_loop`: an
/// enclosing loop may run the statements again, so those before the loop
/// are reachable from it too.
fn live_after(stmts: &[Stmt], target: &Stmt, name: &str, in_loop: bool) -> bool {
    let Some(position) = stmts.iter().position(|s| contains(s, target)) else {
        return false;
    };
    if in_loop && block_reads(&stmts[..position], name) {
        return true;
    }
    let holder = &stmts[position];
    if in_loop && !std::ptr::eq(holder, target) {
        // Its header runs again in the next iteration of the enclosing loop.
        let mut header_reads = false;
        holder.for_each_expr(&mut |e| header_reads |= e.reads(name));
        if header_reads {
            return true;
        }
    }
    if !std::ptr::eq(holder, target) {
        let inside = match holder {
            Stmt::If { body, orelse, .. } => {
                live_after(body, target, name, in_loop) || live_after(orelse, target, name, in_loop)
            }
            Stmt::ForRange { var, body, .. } => {
                // The header assigns its variable before every iteration.
                live_after(body, target, name, var.as_deref() != Some(name))
            }
            Stmt::While { test, body } => test.reads(name) || live_after(body, target, name, true),
            _ => false,
        };
        if inside {
            return true;
        }
    }
    block_reads(&stmts[position + 1..], name)
}

/// Whether a statement is `target` or holds it.
fn contains(stmt: &Stmt, target: &Stmt) -> bool {
    std::ptr::eq(stmt, target)
        || stmt
            .nested()
            .iter()
            .any(|body| body.iter().any(|s| contains(s, target)))
}

/// What an automatic loop's proof that nothing raises relies on.
#[derive(Default)]
struct Needs {
    shapes: Vec<usize>,
    layout: Vec<usize>,
}

/// The lists a loop body uses, when it only reads numbers from them.
#[derive(Debug, Default)]
struct LoopLists {
    shared: Vec<String>,
    aliases: Vec<String>,
    histograms: Vec<String>,
    collected: Vec<String>,
    tallies: Vec<String>,
}

/// `c[k] = R(c, k, ...) + e` on a container of ints, `R` the runtime read
/// `read` (the key a local or a literal, read twice, the term not reading
/// the container): the container, the arguments of the read, and the term.
fn counted_store<'s>(
    stmt: &'s Stmt,
    read: &str,
) -> Option<(&'s str, &'s [typed::Expr], &'s typed::Expr)> {
    let Stmt::Assign {
        target: Target::Item { list, index, .. },
        value,
    } = stmt
    else {
        return None;
    };
    let ExprKind::Local(name) = &list.kind else {
        return None;
    };
    let ExprKind::Binary {
        op: BinaryOp::Add,
        left,
        right,
    } = &value.kind
    else {
        return None;
    };
    let ExprKind::Runtime { function, args } = &left.kind else {
        return None;
    };
    let same_key = match (&index.kind, &args.get(1)?.kind) {
        (ExprKind::Local(a), ExprKind::Local(b)) => a == b,
        (ExprKind::Literal(a), ExprKind::Literal(b)) => a == b,
        _ => false,
    };
    let same_container = matches!(&args.first()?.kind, ExprKind::Local(n) if n == name);
    (*function == read && same_key && same_container && value.ty == Type::Int && !right.reads(name))
        .then_some((name.as_str(), args.as_slice(), &**right))
}

/// `d[k] = d.get(k, 0) + e` on a dict of ints whose keys are ints, bools
/// or tuples of them: the dict and the term.
fn tally_update(stmt: &Stmt) -> Option<(&str, &typed::Expr)> {
    let (name, args, term) = counted_store(stmt, "dict_get_or")?;
    let Type::Dict(key, value) = &args[0].ty else {
        return None;
    };
    let exact_key = |t: &Type| matches!(t, Type::Int | Type::Bool);
    let key_fits =
        exact_key(key) || matches!(&**key, Type::Tuple(items) if items.iter().all(exact_key));
    let zero = matches!(
        args.get(2).map(|d| &d.kind),
        Some(ExprKind::Literal(typed::Literal::Int(0)))
    );
    (key_fits && **value == Type::Int && zero).then_some((name, term))
}

/// `xs.append(e)` as a statement: the list and the value.
fn append_of(stmt: &Stmt) -> Option<(&str, &typed::Expr)> {
    let Stmt::Expr(call) = stmt else {
        return None;
    };
    let ExprKind::Runtime {
        function: "list_append",
        args,
    } = &call.kind
    else {
        return None;
    };
    let [list, value] = args.as_slice() else {
        return None;
    };
    let ExprKind::Local(name) = &list.kind else {
        return None;
    };
    (!value.reads(name)).then_some((name.as_str(), value))
}

/// `h[i] += e` on a list of ints: the list and the term.
fn histogram_update(stmt: &Stmt) -> Option<(&str, &typed::Expr)> {
    let (name, args, term) = counted_store(stmt, "list_get")?;
    (args.len() == 2).then_some((name, term))
}

/// Besides the reads of `read_only_rows::LIST_READS`: the runtime
/// operations that change a list and keep no reference to it, and which
/// argument is the list.
const LIST_CHANGES: &[(&str, usize)] = &[("list_append", 0), ("list_reserve", 0)];

/// Whether `name` is a local list (of items `item` accepts) that no other
/// variable can hold: made by `[0] * n` or a display, and otherwise only
/// read, stored into by element, appended to, and returned.
fn private_list(function: &typed::Function, name: &str, item: &dyn Fn(&Type) -> bool) -> bool {
    if function.is_parameter(name)
        || !function
            .locals
            .iter()
            .any(|l| l.name == name && matches!(&l.ty, Type::List(t) if item(t)))
    {
        return false;
    }
    fn uses(e: &typed::Expr, name: &str, fits: &mut bool) {
        match &e.kind {
            ExprKind::Local(n) if n == name => *fits = false,
            ExprKind::Runtime { function, args } => {
                let at = crate::read_only_rows::LIST_READS
                    .iter()
                    .chain(LIST_CHANGES)
                    .find(|(f, _)| f == function)
                    .map(|(_, k)| *k);
                for (k, arg) in args.iter().enumerate() {
                    if Some(k) == at && matches!(&arg.kind, ExprKind::Local(n) if n == name) {
                        continue;
                    }
                    uses(arg, name, fits);
                }
            }
            _ => e.for_each_child(&mut |child| uses(child, name, fits)),
        }
    }
    fn walk(stmts: &[Stmt], name: &str, fits: &mut bool) {
        for stmt in stmts {
            match stmt {
                Stmt::Assign {
                    target: Target::Local(n),
                    value,
                } if n == name => {
                    let fresh = match &value.kind {
                        ExprKind::List(items) => items.iter().all(|i| !i.ty.has_container()),
                        ExprKind::Runtime {
                            function: "list_repeat" | "list_repeat_left",
                            ..
                        } => true,
                        _ => false,
                    };
                    *fits &= fresh;
                    uses(value, name, fits);
                }
                Stmt::Assign {
                    target: Target::Item { list, index, .. },
                    value,
                } if matches!(&list.kind, ExprKind::Local(n) if n == name) => {
                    uses(index, name, fits);
                    uses(value, name, fits);
                }
                Stmt::Return(Some(value)) => {
                    let items: Vec<&typed::Expr> = match &value.kind {
                        ExprKind::Tuple(items) => items.iter().collect(),
                        _ => vec![value],
                    };
                    for item in items {
                        if !matches!(&item.kind, ExprKind::Local(n) if n == name) {
                            uses(item, name, fits);
                        }
                    }
                }
                _ => {
                    let mut bound = Vec::new();
                    stmt.own_bound_locals(&mut bound);
                    if bound.iter().any(|b| b == name) {
                        *fits = false;
                    }
                    stmt.for_each_expr(&mut |e| uses(e, name, fits));
                }
            }
            for body in stmt.nested() {
                walk(body, name, fits);
            }
        }
    }
    let mut fits = true;
    walk(&function.body, name, &mut fits);
    fits
}

/// The runtime reads of a list of numbers that a shared list answers, and
/// which argument is the list.
const SHARED_READS: &[(&str, usize)] = &[
    ("list_len", 0),
    ("list_truthy", 0),
    ("list_get", 0),
    ("list_contains", 1),
];

/// Whether a variable of type `ty` may be lent to a loop's threads: a list
/// of numbers or of tuples of numbers, kept as a list (not a block of
/// rows).
fn shareable(function: &typed::Function, name: &str, ty: &Type) -> bool {
    let number = |t: &Type| matches!(t, Type::Int | Type::Float | Type::Bool | Type::Complex);
    let item_fits =
        |t: &Type| number(t) || matches!(t, Type::Tuple(items) if items.iter().all(number));
    matches!(ty, Type::List(item) if item_fits(item)) && !function.rows.contains_key(name)
}

/// The containers of the statements in `body`, at any depth, that
/// `matches` accepts, sorted and each once.
fn matched_names(
    body: &[Stmt],
    matches: for<'s> fn(&'s Stmt) -> Option<(&'s str, &'s typed::Expr)>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for stmt in body {
        walk_stmts(stmt, &mut |s| {
            if let Some((name, _)) = matches(s) {
                names.push(name.to_string());
            }
        });
    }
    names.sort();
    names.dedup();
    names
}

/// The lists a loop body reads and the locals it binds to them, or why it
/// uses a container another way.
fn loop_lists<'b>(
    function: &typed::Function,
    body: &'b [Stmt],
    terms: &mut Vec<&'b typed::Expr>,
) -> Result<LoopLists, String> {
    let type_of = |name: &str| {
        function
            .locals
            .iter()
            .find(|l| l.name == name)
            .map(|l| &l.ty)
    };
    // Lists of counts the body only adds to (`h[i] += e`).
    let mut histograms = matched_names(body, histogram_update);
    histograms.retain(|name| private_list(function, name, &|t| *t == Type::Int));
    // Dicts of counts the body only adds to (`d[k] = d.get(k, 0) + e`).
    let tallies = matched_names(body, tally_update);
    // Lists the body only appends numbers to (a comprehension's result).
    let mut collected = matched_names(body, append_of);
    collected.retain(|name| {
        !histograms.contains(name)
            && private_list(function, name, &|t| {
                matches!(t, Type::Int | Type::Float | Type::Bool | Type::Complex)
            })
    });
    let mut bound = Vec::new();
    typed::bound_locals(body, &mut bound);
    let mut aliases: Vec<String> = bound
        .into_iter()
        .filter(|name| type_of(name).is_some_and(Type::has_container))
        .collect();
    aliases.sort();
    aliases.dedup();
    let mut shared: Vec<String> = Vec::new();
    let mut why: Option<String> = None;
    // A list used as a read's operand (or copied into an alias).
    let mut operand = |e: &typed::Expr, shared: &mut Vec<String>| -> bool {
        let ExprKind::Local(name) = &e.kind else {
            return false;
        };
        if !shareable(function, name, &e.ty)
            || histograms.contains(name)
            || collected.contains(name)
        {
            return false;
        }
        if !aliases.contains(name) {
            shared.push(name.clone());
        }
        true
    };
    fn check(
        e: &typed::Expr,
        operand: &mut dyn FnMut(&typed::Expr, &mut Vec<String>) -> bool,
        shared: &mut Vec<String>,
        why: &mut Option<String>,
    ) {
        if why.is_some() {
            return;
        }
        if let ExprKind::Runtime { function, args } = &e.kind {
            if let Some((_, at)) = SHARED_READS.iter().find(|(f, _)| f == function) {
                for (k, arg) in args.iter().enumerate() {
                    if k == *at && operand(arg, shared) {
                        continue;
                    }
                    check(arg, operand, shared, why);
                }
                return;
            }
        }
        if e.ty.has_container() {
            *why = Some(format!(
                "uses `{}`, a container, other than by reading numbers from a list \
                 (a list stays on the thread that made it)",
                super::render(e)
            ));
            return;
        }
        e.for_each_child(&mut |child| check(child, operand, shared, why));
    }
    #[allow(clippy::too_many_arguments)]
    fn walk<'b>(
        stmts: &'b [Stmt],
        aliases: &[String],
        histograms: &[String],
        collected: &[String],
        operand: &mut dyn FnMut(&typed::Expr, &mut Vec<String>) -> bool,
        shared: &mut Vec<String>,
        terms: &mut Vec<&'b typed::Expr>,
        why: &mut Option<String>,
    ) {
        for stmt in stmts {
            if let Some((_, term)) = tally_update(stmt) {
                // Each chunk counts into a dict of its own; the key is a
                // plain local or literal.
                check(term, operand, shared, why);
                terms.push(term);
                continue;
            }
            if let Some((name, value)) = append_of(stmt) {
                if collected.iter().any(|c| c == name) {
                    // Each chunk appends to a list of its own.
                    check(value, operand, shared, why);
                    continue;
                }
            }
            if let Some((name, term)) = histogram_update(stmt) {
                if histograms.iter().any(|h| h == name) {
                    // Each chunk counts into a list of its own.
                    if let Stmt::Assign {
                        target: Target::Item { index, .. },
                        ..
                    } = stmt
                    {
                        check(index, operand, shared, why);
                    }
                    check(term, operand, shared, why);
                    terms.push(term);
                    continue;
                }
            }
            match stmt {
                // A local bound to a list the loop reads.
                Stmt::Assign {
                    target: Target::Local(name),
                    value,
                } if aliases.contains(name) => {
                    if !operand(value, shared) && why.is_none() {
                        *why = Some(format!(
                            "binds `{name}` to `{}`, a container",
                            super::render(value)
                        ));
                    }
                }
                _ => {
                    let mut bound = Vec::new();
                    stmt.own_bound_locals(&mut bound);
                    if let Some(name) = bound.iter().find(|n| aliases.contains(n)) {
                        if why.is_none() {
                            *why = Some(format!("binds `{name}`, a container"));
                        }
                    }
                    stmt.for_each_expr(&mut |e| check(e, operand, shared, why));
                }
            }
            for body in stmt.nested() {
                walk(
                    body, aliases, histograms, collected, operand, shared, terms, why,
                );
            }
        }
    }
    let fixed = aliases.clone();
    let counted = histograms.clone();
    let appended = collected.clone();
    walk(
        body,
        &fixed,
        &counted,
        &appended,
        &mut operand,
        &mut shared,
        terms,
        &mut why,
    );
    if let Some(why) = why {
        return Err(why);
    }
    shared.sort();
    shared.dedup();
    Ok(LoopLists {
        shared,
        aliases,
        histograms,
        collected,
        tallies,
    })
}

fn walk_stmts(stmt: &Stmt, visit: &mut dyn FnMut(&Stmt)) {
    visit(stmt);
    for body in stmt.nested() {
        for inner in body {
            walk_stmts(inner, visit);
        }
    }
}

/// A rough count of the operations of one iteration; a nested loop counts
/// as `NESTED_TRIPS` runs of its body.
fn body_cost(stmts: &[Stmt]) -> u64 {
    stmts
        .iter()
        .map(|stmt| {
            let mut nodes = 1u64;
            stmt.for_each_expr(&mut |e| e.walk(&mut |e| nodes += node_cost(e)));
            let nested: u64 = stmt.nested().iter().map(|body| body_cost(body)).sum();
            match stmt {
                Stmt::ForRange { .. } | Stmt::While { .. } => {
                    nodes.saturating_add(nested.saturating_mul(NESTED_TRIPS))
                }
                _ => nodes.saturating_add(nested),
            }
        })
        .fold(0u64, u64::saturating_add)
}

/// The cost of one expression node in `body_cost`'s operations: a search
/// of a dict or a set (hashing, a probe into memory) as
/// `HASHED_SEARCH`, anything else as one.
fn node_cost(expr: &typed::Expr) -> u64 {
    match &expr.kind {
        ExprKind::Runtime { function, .. }
            if function.starts_with("dict_") || function.starts_with("set_") =>
        {
            HASHED_SEARCH
        }
        _ => 1,
    }
}

/// What a dict or set search costs in `body_cost`'s operations: hashing,
/// then a probe into a table that may be bigger than the caches, takes
/// about as long as twenty list reads and comparisons.
const HASHED_SEARCH: u64 = 20;

/// The work of an iteration of `stmt`, with the trip counts of its inner
/// loops read when it starts (see `Work`); `None` when no inner loop
/// qualifies.
fn work(stmt: &Stmt) -> Option<Work> {
    let Stmt::ForRange { var, body, .. } = stmt else {
        return None;
    };
    let mut assigned: Vec<String> = Vec::new();
    typed::bound_locals(body, &mut assigned);
    assigned.extend(var.iter().cloned());
    let invariant =
        |e: &typed::Expr| e.is_effect_free() && assigned.iter().all(|name| !e.reads(name));
    let mut base = 0u64;
    let mut inner = Vec::new();
    for inner_stmt in body {
        match inner_stmt {
            Stmt::ForRange {
                start,
                stop,
                step: None,
                body: inner_body,
                ..
            } if invariant(start) && invariant(stop) => {
                base = base.saturating_add(1);
                inner.push((
                    std::ptr::from_ref(inner_stmt) as usize,
                    body_cost(inner_body).max(1),
                ));
            }
            other => base = base.saturating_add(body_cost(std::slice::from_ref(other))),
        }
    }
    if inner.is_empty() {
        return None;
    }
    Some(Work {
        base: base.max(1),
        inner,
        min_work: MIN_PARALLEL_WORK,
    })
}

/// Whether the statements read `name` before assigning it (on some path).
fn block_reads(stmts: &[Stmt], name: &str) -> bool {
    for stmt in stmts {
        if stmt_reads(stmt, name) {
            return true;
        }
        if let Stmt::Assign { target, .. } = stmt {
            if target_binds(target, name) {
                return false;
            }
        }
    }
    false
}

fn stmt_reads(stmt: &Stmt, name: &str) -> bool {
    let mut found = false;
    stmt.for_each_expr(&mut |e| found |= e.reads(name));
    if found {
        return true;
    }
    match stmt {
        Stmt::ForRange { var, body, .. } => var.as_deref() != Some(name) && block_reads(body, name),
        Stmt::If { body, orelse, .. } => block_reads(body, name) || block_reads(orelse, name),
        Stmt::While { body, .. } => block_reads(body, name),
        _ => false,
    }
}

/// The variable a view (`a`, `a[i]`, `a[i][j]`, `a[i, :]`) is taken from,
/// with the indices of the views appended to `indices` outermost first. A
/// slice view counts only when its integer indices come first: `a[i, 1:]`
/// adds `i`, the rest of the row is then the one iteration's.
fn view_root<'e>(expr: &'e typed::Expr, indices: &mut Vec<&'e typed::Expr>) -> Option<&'e str> {
    match &expr.kind {
        ExprKind::Local(name) => Some(name),
        ExprKind::SubArray { array, index } => {
            let root = view_root(array, indices)?;
            indices.push(index);
            Some(root)
        }
        ExprKind::View { array, items, .. } => {
            let leading = items
                .iter()
                .take_while(|item| matches!(item, typed::ViewItem::Index(_)))
                .count();
            let rest_whole = items[leading..].iter().all(|item| {
                matches!(
                    item,
                    typed::ViewItem::Slice {
                        start: None,
                        stop: None,
                        step: None
                    }
                )
            });
            if leading == 0 || !rest_whole {
                return None;
            }
            let root = view_root(array, indices)?;
            for item in &items[..leading] {
                if let typed::ViewItem::Index(index) = item {
                    indices.push(index);
                }
            }
            Some(root)
        }
        _ => None,
    }
}

/// The first `return`, or `break` of the loop itself, in a loop body.
fn loop_exit(stmts: &[Stmt], in_inner_loop: bool) -> Option<&'static str> {
    for stmt in stmts {
        match stmt {
            Stmt::Return(_) => return Some("return"),
            Stmt::Break if !in_inner_loop => return Some("break"),
            Stmt::ForRange { body, .. } | Stmt::While { body, .. } => {
                if let Some(exit) = loop_exit(body, true) {
                    return Some(exit);
                }
            }
            Stmt::If { body, orelse, .. } => {
                if let Some(exit) =
                    loop_exit(body, in_inner_loop).or(loop_exit(orelse, in_inner_loop))
                {
                    return Some(exit);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether every binding of the array local `name` in `stmts` is a new array.
fn assigned_only_new_arrays(stmts: &[Stmt], name: &str) -> bool {
    stmts.iter().all(|stmt| {
        let own = match stmt {
            Stmt::Assign {
                target: Target::Local(n),
                value,
            } if n == name => matches!(
                value.kind,
                ExprKind::NewArray { .. }
                    | ExprKind::CopyArray(_)
                    | ExprKind::ElementWise { .. }
                    | ExprKind::Cumulative { .. }
                    | ExprKind::Reshape { copy: true, .. }
                    | ExprKind::Reduce { .. }
                    | ExprKind::Runtime { .. }
            ),
            Stmt::Assign { target, .. } => !target_binds(target, name),
            _ => true,
        };
        own && stmt
            .nested()
            .iter()
            .all(|body| assigned_only_new_arrays(body, name))
    })
}

fn target_binds(target: &Target, name: &str) -> bool {
    match target {
        Target::Local(n) => n == name,
        Target::Tuple(items) => items.iter().any(|t| target_binds(t, name)),
        Target::Index { .. }
        | Target::View { .. }
        | Target::Select { .. }
        | Target::Item { .. } => false,
    }
}

/// The reduction `name` takes part in, if every assignment to it in the body
/// is `name = name OP e` (or `max`/`min`, or `if e < name: name = e` and the
/// other `if` forms of a minimum or maximum, see `lanes::if_update`) with
/// one operation, `e` never reads `name`, and nothing else in the body
/// reads it; with every such `e`.
fn reduction<'b>(body: &'b [Stmt], name: &str) -> Option<(ReductionOp, Vec<&'b typed::Expr>)> {
    let mut op: Option<ReductionOp> = None;
    let mut ok = true;
    let mut other_reads = false;
    let mut operands = Vec::new();
    fn walk<'b>(
        stmts: &'b [Stmt],
        name: &str,
        op: &mut Option<ReductionOp>,
        ok: &mut bool,
        other_reads: &mut bool,
        operands: &mut Vec<&'b typed::Expr>,
    ) {
        for stmt in stmts {
            if let Some((acc, operand, extreme)) = super::lanes::if_update(stmt) {
                if acc == name {
                    let found = match extreme {
                        super::lanes::Extreme::Min => ReductionOp::Min,
                        super::lanes::Extreme::Max => ReductionOp::Max,
                    };
                    if op.is_some_and(|o| o != found) {
                        *ok = false;
                    }
                    *op = Some(found);
                    *other_reads |= operand.reads(name);
                    operands.push(operand);
                    continue;
                }
            }
            match stmt {
                Stmt::Assign {
                    target: Target::Local(n),
                    value,
                } if n == name => match update(value, name) {
                    Some((found, operand)) => {
                        if op.is_some_and(|o| o != found) {
                            *ok = false;
                        }
                        *op = Some(found);
                        *other_reads |= operand.reads(name);
                        operands.push(operand);
                    }
                    None => *ok = false,
                },
                Stmt::Assign { target, .. } if target_binds(target, name) => *ok = false,
                Stmt::ForRange { var: Some(v), .. } if v == name => *ok = false,
                _ => stmt.for_each_expr(&mut |e| *other_reads |= e.reads(name)),
            }
            if let Stmt::Assign { target, .. } = stmt {
                target.for_each_expr(&mut |e| *other_reads |= e.reads(name));
            }
            for body in stmt.nested() {
                walk(body, name, op, ok, other_reads, operands);
            }
        }
    }
    walk(
        body,
        name,
        &mut op,
        &mut ok,
        &mut other_reads,
        &mut operands,
    );
    match op {
        Some(op) if ok && !other_reads => Some((op, operands)),
        _ => None,
    }
}

/// `name OP e` (or `max(name, e)`): the operation and `e`.
fn update<'e>(value: &'e typed::Expr, name: &str) -> Option<(ReductionOp, &'e typed::Expr)> {
    let is_name = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == name);
    match &value.kind {
        ExprKind::Binary { op, left, right } if is_name(left) => {
            let op = match op {
                BinaryOp::Add | BinaryOp::Sub => ReductionOp::Add,
                BinaryOp::Mul => ReductionOp::Mul,
                BinaryOp::BitAnd => ReductionOp::BitAnd,
                BinaryOp::BitOr => ReductionOp::BitOr,
                BinaryOp::BitXor => ReductionOp::BitXor,
                _ => return None,
            };
            Some((op, right))
        }
        ExprKind::Intrinsic { op, args } if args.len() == 2 && is_name(&args[0]) => match op {
            Intrinsic::Max => Some((ReductionOp::Max, &args[1])),
            Intrinsic::Min => Some((ReductionOp::Min, &args[1])),
            _ => None,
        },
        _ => None,
    }
}

/// An index as `c·var + rest`, if `rest` is built from constants and values
/// the body does not assign.
fn affine(expr: &typed::Expr, var: &str, assigned: &HashSet<&str>) -> Option<Affine> {
    match &expr.kind {
        ExprKind::Literal(typed::Literal::Int(v)) => Some(Affine {
            constant: *v,
            ..Affine::default()
        }),
        ExprKind::Local(name) if name == var => Some(Affine {
            coefficient: 1,
            ..Affine::default()
        }),
        ExprKind::Cast(inner) if inner.ty == Type::Int || inner.ty == Type::Bool => {
            affine(inner, var, assigned)
        }
        ExprKind::Binary { op, left, right } if expr.ty == Type::Int => {
            let (l, r) = (affine(left, var, assigned)?, affine(right, var, assigned)?);
            match op {
                BinaryOp::Add => combine(&l, &r, 1),
                BinaryOp::Sub => combine(&l, &r, -1),
                BinaryOp::Mul if l.coefficient == 0 && l.terms.is_empty() => scale(&r, l.constant),
                BinaryOp::Mul if r.coefficient == 0 && r.terms.is_empty() => scale(&l, r.constant),
                _ => invariant(expr, var, assigned),
            }
        }
        _ => invariant(expr, var, assigned),
    }
}

fn combine(a: &Affine, b: &Affine, sign: i64) -> Option<Affine> {
    let mut sum = a.clone();
    sum.coefficient = sum
        .coefficient
        .checked_add(b.coefficient.checked_mul(sign)?)?;
    sum.constant = sum.constant.checked_add(b.constant.checked_mul(sign)?)?;
    for (term, count) in &b.terms {
        let entry = sum.terms.entry(term.clone()).or_insert(0);
        *entry = entry.checked_add(count.checked_mul(sign)?)?;
        if *entry == 0 {
            sum.terms.remove(term);
        }
    }
    Some(sum)
}

fn scale(a: &Affine, factor: i64) -> Option<Affine> {
    combine(&Affine::default(), a, factor)
}

/// An expression that has the same value in every iteration: no read of
/// the loop variable or of anything the body assigns, no effect.
fn invariant(expr: &typed::Expr, var: &str, assigned: &HashSet<&str>) -> Option<Affine> {
    if !expr.is_effect_free() || expr.reads(var) || assigned.iter().any(|n| expr.reads(n)) {
        return None;
    }
    let mut has_element_read = false;
    expr.walk(&mut |e| has_element_read |= matches!(e.kind, ExprKind::Index { .. }));
    if has_element_read {
        return None;
    }
    Some(Affine {
        terms: BTreeMap::from([(super::render(expr), 1)]),
        ..Affine::default()
    })
}
