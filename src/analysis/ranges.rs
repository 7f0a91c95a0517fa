//! Integer value ranges: an interval for every integer expression, and from
//! them which `int` operations cannot leave the 64-bit range and which
//! divisions have a divisor proven positive.
//!
//! A Python `int` is compiled as an `i64`; an operation whose exact result
//! leaves that range raises OverflowError instead of wrapping, so every
//! `+`, `-`, `*`, unary minus, `abs`, `**`, `//` and `<<` on `int` is
//! checked unless this analysis proves the check cannot fail.
//!
//! The intervals are flow-insensitive: a variable's interval covers every
//! value any of its bindings may give it, anywhere in the function. Only
//! where the facts are recorded, an integer parameter the body never rebinds
//! is narrowed by the `if` tests around each operation: inside a branch by
//! its test's outcome, and past an `if` whose one branch always leaves the
//! block (`if n < 2: return n`) by the other outcome. Parameters,
//! and variables with a binding the analysis does not follow (a tuple from a
//! call), range over their whole type. A `for v in range(lo, hi, k)` header
//! binds `v` to values between `lo` and `hi`, so a loop counter and the
//! index arithmetic on it (`i + 1`, `2 * i`, `i * n + j` with `n = len(a)`)
//! are proven. The intervals of all variables are found together as a
//! fixpoint: each round re-evaluates every binding with the intervals of the
//! previous one; a variable still growing after a few rounds (an accumulator
//! `s += x`) is widened to its whole type, unless it is a *counter*.
//!
//! A counter is an `int` local whose every binding either steps it by one
//! (`k += 1`, `j = j - 1`) or sets it to a value within ±2**61 that does not
//! read it. Its value is a start value moved by one per step taken, and a
//! program takes fewer than 2**62 steps: at a billion steps a second, that
//! many would take 146 years. So a counter stays within ±(2**61 + 2**62),
//! and `k + 1` cannot leave 64 bits. This is the one fact here that rests on
//! time rather than on the program text, as 64-bit sequence numbers do.
//!
//! Because a checked `int` operation raises instead of producing a value
//! outside the `i64` range, its result interval is clipped to that range;
//! an operation on a NumPy integer dtype wraps as NumPy does, so its
//! interval is the whole dtype unless the exact result is proven to fit.

use std::collections::{HashMap, HashSet};

use super::linear::MAX_DIMENSION;
use crate::ir::typed::{self, ExprKind, Intrinsic, Literal, Stmt, Target};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::{Dtype, Type};

/// The facts of one function about its integer operations.
#[derive(Debug, Default)]
pub struct IntFacts {
    /// Addresses of the `int` operations proven not to leave the `i64` range.
    pub cannot_overflow: HashSet<usize>,
    /// Addresses of the integer `//` and `%` whose divisor is proven
    /// positive, with whether the dividend is proven non-negative too.
    pub positive_divisor: HashMap<usize, bool>,
    /// How many `int` operations keep their overflow check.
    pub checked: usize,
    /// Addresses of the `math.sqrt` calls whose argument is proven never
    /// negative (it may be NaN): they cannot raise a domain error.
    pub sqrt_in_domain: HashSet<usize>,
    /// An `int` parameter that bounds how deep the function's calls of
    /// itself can go (see [`Measure`]).
    pub measure: Option<Measure>,
}

/// An `int` parameter `p` of a function that calls itself (as `fib` does),
/// which every such call passes as `p - c` for a literal `c >= 1`, and only
/// where `p >= floor`. A call with `p = v` then runs at most
/// `max(1, v - floor + 2)` frames of the function, itself included: the
/// frames that make a call have values `v > v1 > v2 > ...`, all at least
/// `floor`, and the last frame makes none. Whether that bounds the whole
/// recursion (no other function on the cycle) is the caller's to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measure {
    /// The parameter's position.
    pub param: usize,
    pub floor: i64,
}

/// A closed interval of integers; `lo > hi` is the empty interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interval {
    lo: i128,
    hi: i128,
}

const EMPTY: Interval = Interval { lo: 1, hi: 0 };
const I64: Interval = Interval {
    lo: i64::MIN as i128,
    hi: i64::MAX as i128,
};

impl Interval {
    fn point(value: i128) -> Interval {
        Interval {
            lo: value,
            hi: value,
        }
    }

    fn is_empty(self) -> bool {
        self.lo > self.hi
    }

    fn join(self, other: Interval) -> Interval {
        if self.is_empty() {
            return other;
        }
        if other.is_empty() {
            return self;
        }
        Interval {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    fn within(self, outer: Interval) -> bool {
        self.is_empty() || (outer.lo <= self.lo && self.hi <= outer.hi)
    }

    fn clip(self, outer: Interval) -> Interval {
        if self.is_empty() {
            return self;
        }
        Interval {
            lo: self.lo.max(outer.lo),
            hi: self.hi.min(outer.hi),
        }
    }

    /// The interval of `f(a, b)` for `a` in `self` and `b` in `other`, for an
    /// `f` monotone in each argument: the extremes are at the corners.
    /// Saturating arithmetic keeps the result a superset.
    fn corners(self, other: Interval, f: impl Fn(i128, i128) -> i128) -> Interval {
        if self.is_empty() || other.is_empty() {
            return EMPTY;
        }
        let values = [
            f(self.lo, other.lo),
            f(self.lo, other.hi),
            f(self.hi, other.lo),
            f(self.hi, other.hi),
        ];
        Interval {
            lo: values.into_iter().min().unwrap_or(0),
            hi: values.into_iter().max().unwrap_or(0),
        }
    }

    fn contains(self, value: i128) -> bool {
        self.lo <= value && value <= self.hi
    }

    fn magnitude(self) -> i128 {
        self.lo.saturating_abs().max(self.hi.saturating_abs())
    }
}

/// The values of an integer type: its whole range.
fn full(ty: &Type) -> Interval {
    match ty {
        Type::Bool => Interval { lo: 0, hi: 1 },
        Type::Scalar(dtype) => dtype_range(*dtype),
        _ => I64,
    }
}

fn dtype_range(dtype: Dtype) -> Interval {
    let (lo, hi): (i128, i128) = match dtype {
        Dtype::Bool => (0, 1),
        Dtype::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Dtype::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Dtype::Int32 => (i32::MIN.into(), i32::MAX.into()),
        Dtype::UInt8 => (0, u8::MAX.into()),
        Dtype::UInt16 => (0, u16::MAX.into()),
        Dtype::UInt32 => (0, u32::MAX.into()),
        Dtype::UInt64 => (0, u64::MAX.into()),
        Dtype::Int64 | Dtype::Float32 | Dtype::Float64 | Dtype::Complex64 | Dtype::Complex128 => {
            (i64::MIN.into(), i64::MAX.into())
        }
    };
    Interval { lo, hi }
}

fn is_integer(ty: &Type) -> bool {
    matches!(ty, Type::Int | Type::Bool) || matches!(ty, Type::Scalar(d) if d.is_integer())
}

/// What binds a variable.
enum Binding<'f> {
    Value(&'f typed::Expr),
    Range {
        start: &'f typed::Expr,
        stop: &'f typed::Expr,
        step: Option<&'f typed::Expr>,
    },
    /// A binding the analysis does not follow: the whole type.
    Unknown,
}

/// Rounds of joining before a still-growing variable is widened.
const ROUNDS_BEFORE_WIDENING: usize = 6;

/// The intervals of a function's integer variables, for asking about any
/// integer expression of that function.
pub struct Intervals {
    env: HashMap<String, Interval>,
}

impl Intervals {
    /// Whether the integer expression's value is never negative.
    pub fn never_negative(&self, expr: &typed::Expr) -> bool {
        is_integer(&expr.ty) && eval(expr, &self.env).lo >= 0
    }

    /// The smallest and largest value an `int` variable may hold anywhere
    /// in the function, where they are finite (within the `i64` range, not
    /// its ends); valid wherever the variable holds a value.
    pub fn variable_bounds(&self, name: &str) -> (Option<i64>, Option<i64>) {
        let Some(interval) = self.env.get(name) else {
            return (None, None);
        };
        if interval.is_empty() {
            return (None, None);
        }
        let finite =
            |v: i128| (v > i128::from(i64::MIN) && v < i128::from(i64::MAX)).then_some(v as i64);
        (finite(interval.lo), finite(interval.hi))
    }
}

pub fn int_facts(function: &typed::Function) -> (IntFacts, Intervals) {
    let mut bindings: Vec<(&str, Binding)> = Vec::new();
    collect_bindings(&function.body, &mut bindings);
    let mut types: HashMap<&str, &Type> = HashMap::new();
    for local in &function.locals {
        types.insert(&local.name, &local.ty);
    }
    for param in function.params.iter().filter(|p| p.ty != Type::None) {
        types.insert(&param.name, &param.ty);
    }
    let mut env: HashMap<String, Interval> = HashMap::new();
    for param in &function.params {
        if is_integer(&param.ty) {
            env.insert(param.name.clone(), full(&param.ty));
        }
    }
    // The fixpoint starts from no values for the locals: a binding that
    // reads its own variable (`k = k + 1`) then grows it round by round
    // until it is widened, rather than making it the whole type at once.
    for (name, _) in &bindings {
        if types.get(name).is_some_and(|ty| is_integer(ty)) && !env.contains_key(*name) {
            env.insert(name.to_string(), EMPTY);
        }
    }
    let counters = counters(&bindings, &types, function);
    let mut widened: HashSet<String> = HashSet::new();
    let mut given_up: HashSet<String> = HashSet::new();
    for round in 0.. {
        let mut next = env.clone();
        for (name, binding) in &bindings {
            let Some(ty) = types.get(name) else { continue };
            if !is_integer(ty) {
                continue;
            }
            let values = if given_up.contains(*name) {
                full(ty)
            } else if widened.contains(*name) {
                match counters.get(name) {
                    Some(counter) => counter_values(counter, &env),
                    None => full(ty),
                }
            } else {
                match binding {
                    Binding::Value(expr) => eval(expr, &env).clip(full(ty)),
                    Binding::Range { start, stop, step } => {
                        range_values(eval(start, &env), eval(stop, &env), *step)
                    }
                    Binding::Unknown => full(ty),
                }
            };
            let entry = next.entry(name.to_string()).or_insert(EMPTY);
            *entry = entry.join(values);
        }
        if next == env {
            break;
        }
        if round >= ROUNDS_BEFORE_WIDENING {
            for (name, interval) in &next {
                if env.get(name) != Some(interval) {
                    // A counter whose start keeps moving (`a = b - 1` and
                    // `b = a - 1`, each also counted up) moves one step a
                    // round: after more rounds it is the whole type.
                    if round >= 2 * ROUNDS_BEFORE_WIDENING && widened.contains(name) {
                        given_up.insert(name.clone());
                    }
                    widened.insert(name.clone());
                }
            }
        }
        env = next;
    }
    let non_negative = non_negative_floats(&bindings, &types, &env);
    let mut facts = IntFacts::default();
    // Parameters the body never rebinds keep their value throughout, so the
    // tests of `if`s narrow them where control flow shows a test's outcome.
    let bound: HashSet<&str> = bindings.iter().map(|(name, _)| *name).collect();
    let stable: HashSet<&str> = function
        .params
        .iter()
        .filter(|p| is_integer(&p.ty) && !bound.contains(p.name.as_str()))
        .map(|p| p.name.as_str())
        .collect();
    let recorder = Recorder {
        stable,
        all: &env,
        non_negative: &non_negative,
        function,
        self_calls: std::cell::RefCell::new(Vec::new()),
    };
    recorder.block(&function.body, &env, &mut facts);
    facts.measure = measure(&recorder.self_calls.into_inner());
    (facts, Intervals { env })
}

/// The first parameter every call of the function itself decreases, with
/// the least value it has at those calls (see [`Measure`]); `None` where
/// the function does not call itself or no parameter qualifies.
fn measure(self_calls: &[Vec<Option<i128>>]) -> Option<Measure> {
    let params = self_calls.first()?.len();
    (0..params).find_map(|param| {
        let floor = self_calls
            .iter()
            .map(|call| call[param])
            .try_fold(i128::MAX, |floor, lo| Some(floor.min(lo?)))?;
        let floor = i64::try_from(floor).ok().filter(|&f| f > i64::MIN)?;
        Some(Measure { param, floor })
    })
}

/// `c` where `arg` is `name - c` or `name + (-c)` for a literal `c >= 1`.
fn decrease_of(arg: &typed::Expr, name: &str) -> Option<i64> {
    let is_name = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == name);
    let literal = |e: &typed::Expr| match e.kind {
        ExprKind::Literal(Literal::Int(k)) => Some(k),
        _ => None,
    };
    let ExprKind::Binary { op, left, right } = &arg.kind else {
        return None;
    };
    let c = match op {
        BinaryOp::Sub if is_name(left) => literal(right)?,
        BinaryOp::Add if is_name(left) => literal(right)?.checked_neg()?,
        BinaryOp::Add if is_name(right) => literal(left)?.checked_neg()?,
        _ => return None,
    };
    (c >= 1).then_some(c)
}

/// Records the facts of a function's operations, statement by statement,
/// with the intervals of the variables narrowed by the tests around each
/// operation (`n - 1` after `if n < 2: return n` cannot overflow, `x % y`
/// in `while y != 0` with `y` never negative needs no sign fix-up).
struct Recorder<'a> {
    /// Integer parameters never rebound in the body.
    stable: HashSet<&'a str>,
    /// The interval of every integer variable over all its bindings.
    all: &'a HashMap<String, Interval>,
    non_negative: &'a HashSet<String>,
    function: &'a typed::Function,
    /// Per call of the function itself, per parameter: the least value the
    /// parameter has there when the call passes it decreased by a constant
    /// (`n - 1`), else `None`.
    self_calls: std::cell::RefCell<Vec<Vec<Option<i128>>>>,
}

impl Recorder<'_> {
    /// Records the facts of `stmts`, where `env` holds at the first of them.
    ///
    /// Tests narrow the intervals of the integer variables they compare:
    /// inside an `if` or `while` body, after an `if` one of whose branches
    /// always leaves, after an `assert`. A variable keeps its narrowed
    /// interval until a statement binds it again, when it goes back to the
    /// interval of all its bindings (`self.all`); a loop forgets the
    /// narrowing of everything it binds before it starts, since a later
    /// iteration sees the values an earlier one bound.
    fn block(&self, stmts: &[Stmt], env: &HashMap<String, Interval>, facts: &mut IntFacts) {
        let mut env = env.clone();
        for stmt in stmts {
            let bound = bound_names(stmt);
            if matches!(stmt, Stmt::While { .. }) {
                // The test runs again after every iteration.
                self.forget(&mut env, &bound);
            }
            if let Stmt::Assign { target, value } = stmt {
                value.walk(&mut |e| self.record(e, &env, facts));
                // The items of a tuple target are bound left to right, so
                // a subscript in one may read a variable an earlier one
                // bound (`i, xs[n % i] = -3, 5`).
                self.forget(&mut env, &bound);
                target.for_each_expr(&mut |expr| {
                    expr.walk(&mut |e| self.record(e, &env, facts));
                });
            } else {
                stmt.for_each_expr(&mut |expr| expr.walk(&mut |e| self.record(e, &env, facts)));
            }
            match stmt {
                Stmt::If { test, body, orelse } => {
                    let when_true = self.narrow(&env, test, true);
                    let when_false = self.narrow(&env, test, false);
                    self.block(body, &when_true, facts);
                    self.block(orelse, &when_false, facts);
                    // Past an `if` one of whose branches always leaves the
                    // block, the other branch's outcome of the test holds.
                    if always_leaves(body) && !always_leaves(orelse) {
                        env = when_false;
                    } else if always_leaves(orelse) && !always_leaves(body) {
                        env = when_true;
                    }
                }
                Stmt::While { test, body } => {
                    let inside = self.narrow(&env, test, true);
                    self.block(body, &inside, facts);
                }
                Stmt::ForRange { body, .. } => {
                    self.forget(&mut env, &bound);
                    self.block(body, &env, facts);
                }
                Stmt::Assert { test, .. } => self.narrow_into(&mut env, test, true),
                _ => {
                    for body in stmt.nested() {
                        self.block(body, &env, facts);
                    }
                }
            }
            self.forget(&mut env, &bound);
        }
    }

    /// Gives the variables `names` back the interval of all their bindings.
    fn forget(&self, env: &mut HashMap<String, Interval>, names: &HashSet<&str>) {
        for name in names {
            if let Some(interval) = self.all.get(*name) {
                env.insert(name.to_string(), *interval);
            }
        }
    }

    fn record(&self, expr: &typed::Expr, env: &HashMap<String, Interval>, facts: &mut IntFacts) {
        record(expr, env, facts);
        if let ExprKind::Call { function, args } = &expr.kind {
            if *function == self.function.rust_name {
                let lows = self
                    .function
                    .params
                    .iter()
                    .zip(args)
                    .map(|(param, arg)| {
                        let name = param.name.as_str();
                        if param.ty != Type::Int || !self.stable.contains(name) {
                            return None;
                        }
                        decrease_of(arg, name)?;
                        Some(env.get(name)?.lo)
                    })
                    .collect();
                self.self_calls.borrow_mut().push(lows);
            }
        }
        if let ExprKind::Intrinsic {
            op: Intrinsic::Math("sqrt"),
            args,
        } = &expr.kind
        {
            if args
                .iter()
                .all(|a| never_negative(a, self.non_negative, env))
            {
                facts
                    .sqrt_in_domain
                    .insert(std::ptr::from_ref(expr) as usize);
            }
        }
    }

    /// `env` where `test` evaluated to `outcome`: comparisons of an integer
    /// variable with a value narrow the variable's interval; `and` when
    /// true and `or` when false narrow by each operand, `not` flips.
    fn narrow(
        &self,
        env: &HashMap<String, Interval>,
        test: &typed::Expr,
        outcome: bool,
    ) -> HashMap<String, Interval> {
        let mut env = env.clone();
        self.narrow_into(&mut env, test, outcome);
        env
    }

    fn narrow_into(&self, env: &mut HashMap<String, Interval>, test: &typed::Expr, outcome: bool) {
        match &test.kind {
            ExprKind::Not(inner) => self.narrow_into(env, inner, !outcome),
            ExprKind::BoolOp { op, values } if test.ty == Type::Bool => {
                let all_hold = matches!(
                    (op, outcome),
                    (crate::ir::BoolOp::And, true) | (crate::ir::BoolOp::Or, false)
                );
                if all_hold {
                    for value in values {
                        self.narrow_into(env, value, outcome);
                    }
                }
            }
            ExprKind::Compare { operands, ops, .. } if ops.len() == 1 && operands.len() == 2 => {
                let op = if outcome { ops[0] } else { negated(ops[0]) };
                let (left, right) = (&operands[0], &operands[1]);
                if !is_integer(&left.ty) || !is_integer(&right.ty) {
                    return;
                }
                if let ExprKind::Local(name) = &left.kind {
                    self.narrow_local(env, name, op, eval(right, env));
                }
                if let ExprKind::Local(name) = &right.kind {
                    self.narrow_local(env, name, op.swapped(), eval(left, env));
                }
            }
            _ => {}
        }
    }

    /// Narrows `name` to the values `v` with `v op r` for some `r` in `other`.
    fn narrow_local(
        &self,
        env: &mut HashMap<String, Interval>,
        name: &str,
        op: CompareOp,
        other: Interval,
    ) {
        if other.is_empty() {
            return;
        }
        let Some(current) = env.get(name).copied() else {
            return;
        };
        let allowed = match op {
            CompareOp::Lt => Interval {
                lo: i128::MIN,
                hi: other.hi - 1,
            },
            CompareOp::LtE => Interval {
                lo: i128::MIN,
                hi: other.hi,
            },
            CompareOp::Gt => Interval {
                lo: other.lo + 1,
                hi: i128::MAX,
            },
            CompareOp::GtE => Interval {
                lo: other.lo,
                hi: i128::MAX,
            },
            CompareOp::Eq => other,
            // Only a single value at an end of the interval takes a value
            // off it.
            CompareOp::NotEq if other.lo == other.hi && other.lo == current.lo => Interval {
                lo: current.lo + 1,
                hi: i128::MAX,
            },
            CompareOp::NotEq if other.lo == other.hi && other.lo == current.hi => Interval {
                lo: i128::MIN,
                hi: current.hi - 1,
            },
            _ => return,
        };
        env.insert(name.to_string(), current.clip(allowed));
    }
}

/// The comparison that holds when `op` does not (integers are totally
/// ordered).
pub(super) fn negated(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::GtE,
        CompareOp::LtE => CompareOp::Gt,
        CompareOp::Gt => CompareOp::LtE,
        CompareOp::GtE => CompareOp::Lt,
        CompareOp::Eq => CompareOp::NotEq,
        CompareOp::NotEq => CompareOp::Eq,
    }
}

/// Whether running `stmts` never reaches the statement after them: it ends
/// in `return`, `break` or `continue`, or in an `if` both of whose branches
/// do.
pub(super) fn always_leaves(stmts: &[Stmt]) -> bool {
    match stmts.last() {
        Some(Stmt::Return(_) | Stmt::Break | Stmt::Continue | Stmt::Raise { .. }) => true,
        Some(Stmt::If { body, orelse, .. }) => always_leaves(body) && always_leaves(orelse),
        _ => false,
    }
}

/// Steps a counter takes fewer of in any run (see the module comment).
const COUNTER_STEPS: i128 = 1 << 62;
/// How far from zero a counter may start.
const COUNTER_START: i128 = 1 << 61;

/// A counter's bindings that are not steps (the values it starts from),
/// and which ways its steps go.
struct Counter<'f> {
    starts: Vec<&'f typed::Expr>,
    up: bool,
    down: bool,
}

/// The counters of a function (see the module comment).
fn counters<'f>(
    bindings: &[(&'f str, Binding<'f>)],
    types: &HashMap<&str, &Type>,
    function: &typed::Function,
) -> HashMap<&'f str, Counter<'f>> {
    let mut counters: HashMap<&str, Option<Counter>> = HashMap::new();
    for (name, binding) in bindings {
        if types.get(name) != Some(&&Type::Int) || function.is_parameter(name) {
            continue;
        }
        let entry = counters.entry(name).or_insert_with(|| {
            Some(Counter {
                starts: Vec::new(),
                up: false,
                down: false,
            })
        });
        let Some(counter) = entry else { continue };
        match binding {
            Binding::Value(value) => match step_of(value, name) {
                Some(1) => counter.up = true,
                Some(_) => counter.down = true,
                None if !reads(value, name) => counter.starts.push(value),
                None => *entry = None,
            },
            _ => *entry = None,
        }
    }
    counters
        .into_iter()
        .filter_map(|(name, counter)| Some((name, counter?)))
        .collect()
}

/// For `name + 1`, `1 + name`, `name - 1` and likewise with -1: the step,
/// 1 or -1.
fn step_of(value: &typed::Expr, name: &str) -> Option<i64> {
    let is_name = |e: &typed::Expr| matches!(&e.kind, ExprKind::Local(n) if n == name);
    let unit = |e: &typed::Expr| match e.kind {
        ExprKind::Literal(Literal::Int(v @ (-1 | 1))) => Some(v),
        _ => None,
    };
    match &value.kind {
        ExprKind::Binary {
            op: BinaryOp::Add,
            left,
            right,
        } => {
            if is_name(left) {
                unit(right)
            } else if is_name(right) {
                unit(left)
            } else {
                None
            }
        }
        ExprKind::Binary {
            op: BinaryOp::Sub,
            left,
            right,
        } if is_name(left) => unit(right).map(|v| -v),
        _ => None,
    }
}

fn reads(value: &typed::Expr, name: &str) -> bool {
    let mut found = false;
    value.walk(&mut |e| found |= matches!(&e.kind, ExprKind::Local(n) if n == name));
    found
}

/// The values of a counter: its start values, moved by fewer than
/// `COUNTER_STEPS` steps in the directions it steps.
fn counter_values(counter: &Counter, env: &HashMap<String, Interval>) -> Interval {
    let start = counter
        .starts
        .iter()
        .fold(EMPTY, |acc, value| acc.join(eval(value, env)));
    let limit = Interval {
        lo: -COUNTER_START,
        hi: COUNTER_START,
    };
    if start.is_empty() || !start.within(limit) {
        return I64;
    }
    Interval {
        lo: start.lo - if counter.down { COUNTER_STEPS } else { 0 },
        hi: start.hi + if counter.up { COUNTER_STEPS } else { 0 },
    }
}

/// The float variables whose every value is never negative (`!(x < 0)`:
/// zero, positive, or NaN). The largest such set: starting from every float
/// local, a variable is dropped while one of its bindings may be negative
/// given the others. Sound by induction over the execution, since each value
/// is computed from values bound before it.
fn non_negative_floats(
    bindings: &[(&str, Binding)],
    types: &HashMap<&str, &Type>,
    env: &HashMap<String, Interval>,
) -> HashSet<String> {
    let mut set: HashSet<String> = bindings
        .iter()
        .filter(|(name, _)| types.get(name).is_some_and(|t| **t == Type::Float))
        .map(|(name, _)| name.to_string())
        .collect();
    loop {
        let dropped: Vec<String> = bindings
            .iter()
            .filter(|(name, binding)| {
                set.contains(*name)
                    && !matches!(binding, Binding::Value(value) if never_negative(value, &set, env))
            })
            .map(|(name, _)| name.to_string())
            .collect();
        if dropped.is_empty() {
            return set;
        }
        for name in dropped {
            set.remove(&name);
        }
    }
}

/// Whether a float expression is never negative (it may be NaN).
fn never_negative(
    expr: &typed::Expr,
    non_negative: &HashSet<String>,
    env: &HashMap<String, Interval>,
) -> bool {
    let nn = |e: &typed::Expr| never_negative(e, non_negative, env);
    if is_integer(&expr.ty) {
        return eval(expr, env).lo >= 0;
    }
    if expr.ty != Type::Float {
        return false;
    }
    match &expr.kind {
        ExprKind::Literal(Literal::Float(v)) => !(*v < 0.0),
        ExprKind::Local(name) => non_negative.contains(name),
        ExprKind::Cast(inner) => nn(inner),
        ExprKind::Binary { op, left, right } => match op {
            BinaryOp::Add | BinaryOp::TrueDiv => nn(left) && nn(right),
            // x * x is a square even for negative x (the operand is read
            // twice, so it must have no effect that could change it).
            BinaryOp::Mul => (left == right && left.is_effect_free()) || (nn(left) && nn(right)),
            _ => false,
        },
        ExprKind::Intrinsic { op, args } => match op {
            Intrinsic::AbsFloat => true,
            Intrinsic::Math(name) => {
                matches!(*name, "sqrt" | "exp" | "cosh" | "hypot" | "fabs")
            }
            Intrinsic::Min | Intrinsic::Max => args.iter().all(nn),
            _ => false,
        },
        ExprKind::IfExp { body, orelse, .. } => nn(body) && nn(orelse),
        _ => false,
    }
}

/// The values `for v in range(start, stop, step)` gives `v`.
fn range_values(start: Interval, stop: Interval, step: Option<&typed::Expr>) -> Interval {
    if start.is_empty() || stop.is_empty() {
        return EMPTY;
    }
    let step = match step.map(|s| &s.kind) {
        None => Some(1),
        Some(ExprKind::Literal(Literal::Int(k))) => Some(*k),
        Some(_) => None,
    };
    let upward = Interval {
        lo: start.lo,
        hi: stop.hi - 1,
    };
    let downward = Interval {
        lo: stop.lo + 1,
        hi: start.hi,
    };
    match step {
        Some(k) if k > 0 => upward,
        Some(k) if k < 0 => downward,
        _ => upward.join(downward),
    }
}

/// The variables `stmt` binds, itself or in the statements nested in it.
fn bound_names(stmt: &Stmt) -> HashSet<&str> {
    let mut bindings = Vec::new();
    collect_bindings(std::slice::from_ref(stmt), &mut bindings);
    bindings.into_iter().map(|(name, _)| name).collect()
}

fn collect_bindings<'f>(stmts: &'f [Stmt], out: &mut Vec<(&'f str, Binding<'f>)>) {
    for stmt in stmts {
        match stmt {
            Stmt::Assign { target, value } => bind_target(target, Some(value), out),
            Stmt::ForRange {
                var: Some(var),
                start,
                stop,
                step,
                ..
            } => out.push((
                var,
                Binding::Range {
                    start,
                    stop,
                    step: step.as_ref(),
                },
            )),
            _ => {}
        }
        for body in stmt.nested() {
            collect_bindings(body, out);
        }
    }
}

fn bind_target<'f>(
    target: &'f Target,
    value: Option<&'f typed::Expr>,
    out: &mut Vec<(&'f str, Binding<'f>)>,
) {
    match target {
        Target::Local(name) => out.push((
            name,
            match value {
                Some(value) => Binding::Value(value),
                None => Binding::Unknown,
            },
        )),
        Target::Tuple(targets) => {
            let items = match value.map(|v| &v.kind) {
                Some(ExprKind::Tuple(items)) if items.len() == targets.len() => Some(items),
                _ => None,
            };
            for (k, target) in targets.iter().enumerate() {
                bind_target(target, items.and_then(|items| items.get(k)), out);
            }
        }
        Target::Index { .. }
        | Target::View { .. }
        | Target::Select { .. }
        | Target::Item { .. } => {}
    }
}

/// The interval of an expression's value (the whole type for non-integers,
/// which no integer fact depends on).
fn eval(expr: &typed::Expr, env: &HashMap<String, Interval>) -> Interval {
    let ty = &expr.ty;
    if !is_integer(ty) {
        return full(ty);
    }
    let exact = match &expr.kind {
        ExprKind::Literal(Literal::Int(v)) => Interval::point((*v).into()),
        ExprKind::Literal(Literal::Bool(b)) => Interval::point((*b).into()),
        ExprKind::Local(name) => env.get(name).copied().unwrap_or(full(ty)),
        ExprKind::Cast(inner) if is_integer(&inner.ty) => eval(inner, env),
        ExprKind::Binary { op, left, right } => binary(*op, eval(left, env), eval(right, env)),
        ExprKind::Neg(inner) => {
            let v = eval(inner, env);
            Interval {
                lo: -v.hi,
                hi: -v.lo,
            }
        }
        ExprKind::Invert(inner) => {
            let v = eval(inner, env);
            Interval {
                lo: -v.hi - 1,
                hi: -v.lo - 1,
            }
        }
        ExprKind::Intrinsic { op, args } => match (op, args.as_slice()) {
            (Intrinsic::AbsInt, [arg]) => abs(eval(arg, env)),
            (Intrinsic::Min, [a, b]) => eval(a, env).corners(eval(b, env), i128::min),
            (Intrinsic::Max, [a, b]) => eval(a, env).corners(eval(b, env), i128::max),
            _ => full(ty),
        },
        ExprKind::Dim { .. } => Interval {
            lo: 0,
            hi: MAX_DIMENSION.into(),
        },
        ExprKind::Size(_) => Interval {
            lo: 0,
            hi: i64::MAX.into(),
        },
        ExprKind::IfExp { body, orelse, .. } => eval(body, env).join(eval(orelse, env)),
        ExprKind::BoolOp { values, .. } => {
            values.iter().fold(EMPTY, |acc, v| acc.join(eval(v, env)))
        }
        ExprKind::TupleGet { tuple, index } => match &tuple.kind {
            ExprKind::Tuple(items) => items.get(*index).map_or(full(ty), |item| eval(item, env)),
            _ => full(ty),
        },
        _ => full(ty),
    };
    // A checked int operation raises rather than leave the i64 range; a
    // fixed-width dtype wraps, so a result that may not fit is unknown.
    match ty {
        Type::Int => exact.clip(I64),
        _ if exact.within(full(ty)) => exact,
        _ => full(ty),
    }
}

fn abs(v: Interval) -> Interval {
    if v.is_empty() {
        return v;
    }
    if v.lo >= 0 {
        v
    } else if v.hi <= 0 {
        Interval {
            lo: -v.hi,
            hi: -v.lo,
        }
    } else {
        Interval {
            lo: 0,
            hi: v.magnitude(),
        }
    }
}

/// The exact result interval of an integer operation (before any check or
/// wrap).
fn binary(op: BinaryOp, l: Interval, r: Interval) -> Interval {
    if l.is_empty() || r.is_empty() {
        return EMPTY;
    }
    // Only a constant amount from 0 to 63 gives a bounded shift.
    let shift = (r.lo == r.hi && (0..64).contains(&r.lo)).then_some(r.lo as u32);
    let unknown = Interval {
        lo: i128::MIN / 4,
        hi: i128::MAX / 4,
    };
    match op {
        BinaryOp::Add => l.corners(r, i128::saturating_add),
        BinaryOp::Sub => l.corners(r, i128::saturating_sub),
        BinaryOp::Mul => l.corners(r, i128::saturating_mul),
        BinaryOp::FloorDiv => {
            if r.lo > 0 || r.hi < 0 {
                l.corners(r, |a, b| {
                    a.div_euclid(b) - i128::from(b < 0 && a.rem_euclid(b) != 0)
                })
            } else {
                // The divisor may be zero (raises) or ±1.
                let m = l.magnitude();
                Interval { lo: -m, hi: m }
            }
        }
        BinaryOp::Mod => {
            if r.lo > 0 {
                if l.lo >= 0 {
                    Interval {
                        lo: 0,
                        hi: l.hi.min(r.hi - 1),
                    }
                } else {
                    Interval {
                        lo: 0,
                        hi: r.hi - 1,
                    }
                }
            } else if r.hi < 0 {
                Interval {
                    lo: r.lo + 1,
                    hi: 0,
                }
            } else {
                Interval {
                    lo: (r.lo + 1).min(0),
                    hi: (r.hi - 1).max(0),
                }
            }
        }
        BinaryOp::Pow => {
            if r.lo < 0 || r.hi > 64 {
                return unknown;
            }
            let m = l.magnitude();
            let mut bound: i128 = 1;
            for _ in 0..r.hi.max(1) {
                bound = bound.saturating_mul(m.max(1));
            }
            if l.lo >= 0 {
                Interval { lo: 0, hi: bound }
            } else {
                Interval {
                    lo: -bound,
                    hi: bound,
                }
            }
        }
        BinaryOp::LShift => match shift {
            Some(k) => l.corners(Interval::point(1 << k), i128::saturating_mul),
            None => unknown,
        },
        BinaryOp::RShift => match shift {
            Some(k) => Interval {
                lo: l.lo >> k,
                hi: l.hi >> k,
            },
            None => unknown,
        },
        BinaryOp::BitAnd => match (l.lo >= 0, r.lo >= 0) {
            (true, true) => Interval {
                lo: 0,
                hi: l.hi.min(r.hi),
            },
            (true, false) => Interval { lo: 0, hi: l.hi },
            (false, true) => Interval { lo: 0, hi: r.hi },
            (false, false) => unknown,
        },
        BinaryOp::BitOr | BinaryOp::BitXor if l.lo >= 0 && r.lo >= 0 => {
            let top = l.hi.max(r.hi);
            let bits = 128 - top.leading_zeros();
            Interval {
                lo: 0,
                hi: (1i128 << bits.min(126)) - 1,
            }
        }
        _ => unknown,
    }
}

/// Records the decisions about `expr` itself (not its children).
fn record(expr: &typed::Expr, env: &HashMap<String, Interval>, facts: &mut IntFacts) {
    let key = std::ptr::from_ref(expr) as usize;
    match &expr.kind {
        ExprKind::Binary { op, left, right } if is_integer(&expr.ty) => {
            let (l, r) = (eval(left, env), eval(right, env));
            if matches!(op, BinaryOp::FloorDiv | BinaryOp::Mod) && r.lo > 0 {
                facts.positive_divisor.insert(key, l.lo >= 0);
            }
            if expr.ty != Type::Int {
                return;
            }
            let overflows = match op {
                BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Pow
                | BinaryOp::LShift => !binary(*op, l, r).within(I64),
                BinaryOp::FloorDiv => l.contains(i64::MIN.into()) && r.contains(-1),
                _ => return,
            };
            if overflows {
                facts.checked += 1;
            } else {
                facts.cannot_overflow.insert(key);
            }
        }
        ExprKind::Neg(inner) if expr.ty == Type::Int => {
            if eval(inner, env).contains(i64::MIN.into()) {
                facts.checked += 1;
            } else {
                facts.cannot_overflow.insert(key);
            }
        }
        ExprKind::Intrinsic {
            op: Intrinsic::AbsInt,
            args,
        } if expr.ty == Type::Int => {
            if args.iter().any(|a| eval(a, env).contains(i64::MIN.into())) {
                facts.checked += 1;
            } else {
                facts.cannot_overflow.insert(key);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(lo: i128, hi: i128) -> Interval {
        Interval { lo, hi }
    }

    /// For each `int` `+`, `-` and `*` of the first function of `source`, in
    /// the order of the source: whether its overflow check was removed.
    fn removed_checks(source: &str) -> Vec<bool> {
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        let function = &typed.functions[0];
        let (facts, _) = int_facts(function);
        let mut found = Vec::new();
        for stmt in &function.body {
            stmt.walk_exprs(&mut |e| {
                if let ExprKind::Binary {
                    op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul,
                    ..
                } = e.kind
                {
                    if e.ty == Type::Int {
                        found.push(
                            facts
                                .cannot_overflow
                                .contains(&(std::ptr::from_ref(e) as usize)),
                        );
                    }
                }
            });
        }
        found
    }

    #[test]
    fn an_early_return_narrows_a_parameter_for_the_rest_of_the_block() {
        // After `if n < 2: return n`, n >= 2: n - 1 and n - 2 cannot
        // overflow; the sum of two ints still may.
        let source = "def f(n: int) -> int:\n    if n < 2:\n        return n\n    \
                      return (n - 1) + (n - 2)\n";
        assert_eq!(removed_checks(source), [false, true, true]);
        // Inside the branches the test's outcome holds: `or` narrows nothing
        // when true, both operands' negations when false (n >= 0).
        let source = "def f(n: int, k: int) -> int:\n    if n < 0 or k == 0:\n        \
                      return n + 1\n    else:\n        return n - 1\n";
        assert_eq!(removed_checks(source), [false, true]);
        // `not` flips the test; `and` narrows when true only.
        let source = "def f(n: int, m: int) -> int:\n    if not (n > 0 and m > 0):\n        \
                      return (n - 1) + (m - 1)\n    return (n - 1) + (m - 1)\n";
        assert_eq!(
            removed_checks(source),
            [false, false, false, false, true, true]
        );
    }

    #[test]
    fn narrowing_keeps_the_checks_it_cannot_prove() {
        // A branch that does not always leave proves nothing afterwards.
        let source = "def f(n: int) -> int:\n    if n < 2:\n        n2 = 0\n    \
                      return n - 1\n";
        assert_eq!(removed_checks(source), [false]);
        // A rebound parameter is not narrowed.
        let source = "def f(n: int) -> int:\n    if n < 2:\n        return n\n    \
                      n = n * 3\n    return n - 1\n";
        assert_eq!(removed_checks(source), [false, false]);
        // An upper bound says nothing about the low end.
        let source = "def f(n: int) -> int:\n    if n > 10:\n        return 0\n    \
                      return n - 1\n";
        assert_eq!(removed_checks(source), [false]);
        // `or` narrows nothing when true.
        let source = "def f(n: int, m: int) -> int:\n    if n > 0 or m > 0:\n        \
                      return n - 1\n    return 0\n";
        assert_eq!(removed_checks(source), [false]);
    }

    #[test]
    fn loop_counters_stay_in_range() {
        // for i in range(0, n): i + 1 cannot overflow, i + 2 may.
        let values = range_values(i(0, 0), I64, None);
        assert_eq!(values, i(0, i64::MAX as i128 - 1));
        assert!(binary(BinaryOp::Add, values, i(1, 1)).within(I64));
        assert!(!binary(BinaryOp::Add, values, i(2, 2)).within(I64));
        // A negative constant step runs downwards.
        let down = typed::Expr::int(-1);
        assert_eq!(range_values(i(10, 10), i(-1, -1), Some(&down)), i(0, 10));
    }

    /// Per `%` of the first function, in source order: whether the divisor
    /// is proven positive, and then whether the dividend is never negative.
    fn positive_divisors(source: &str) -> Vec<Option<bool>> {
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        let (facts, _) = int_facts(&typed.functions[0]);
        let mut found = Vec::new();
        for stmt in &typed.functions[0].body {
            stmt.walk_exprs(&mut |e| {
                if let ExprKind::Binary {
                    op: BinaryOp::Mod, ..
                } = e.kind
                {
                    let key = std::ptr::from_ref(e) as usize;
                    found.push(facts.positive_divisor.get(&key).copied());
                }
            });
        }
        found
    }

    #[test]
    fn tests_narrow_variables_until_they_are_bound_again() {
        let euclid = "def f(n: int) -> int:\n    t = 0\n    for a in range(1, n):\n        x = a\n        y = a + 1\n        while y != 0:\n            x, y = y, x % y\n        t += x\n    return t\n";
        assert_eq!(positive_divisors(euclid), vec![Some(true)]);
        let signed = euclid.replace("y = a + 1", "y = n");
        assert_eq!(positive_divisors(&signed), vec![None]);
        let rebound = "def f(n: int) -> int:\n    k = n % 10\n    r = 0\n    if k > 0:\n        r = n % k\n        k = k - 1\n        r += n % k\n    return r\n";
        assert_eq!(
            positive_divisors(rebound),
            vec![Some(false), Some(false), None]
        );
        let in_loop = "def f(n: int) -> int:\n    k = n % 10\n    t = 0\n    if k > 0:\n        while t < 3:\n            t += n % k\n    return t\n";
        assert_eq!(positive_divisors(in_loop), vec![Some(false), Some(false)]);
        let rebound_in_loop = "def f(n: int) -> int:\n    k = n % 10\n    t = 0\n    if k > 0:\n        while t < 3:\n            t += n % k\n            k = k - 1\n    return t\n";
        assert_eq!(positive_divisors(rebound_in_loop), vec![Some(false), None]);
        let for_loop = "def f(n: int) -> int:\n    k = n % 10\n    t = 0\n    if k > 0:\n        for i in range(3):\n            t += n % k\n            k = i\n    return t\n";
        assert_eq!(positive_divisors(for_loop), vec![Some(false), None]);
        let asserted =
            "def f(n: int) -> int:\n    k = n % 10\n    assert k != 0\n    return n % k\n";
        assert_eq!(positive_divisors(asserted), vec![Some(false), Some(false)]);
        let raised = "def f(n: int) -> int:\n    k = n % 10\n    if k == 0:\n        raise ValueError(\"zero\")\n    return n % k\n";
        assert_eq!(positive_divisors(raised), vec![Some(false), Some(false)]);
        let not_an_end =
            "def f(n: int) -> int:\n    k = n % 10\n    assert k != 5\n    return n % k\n";
        assert_eq!(positive_divisors(not_an_end), vec![Some(false), None]);
    }

    #[test]
    fn floor_division_and_modulo_follow_python() {
        let d = binary(BinaryOp::FloorDiv, i(-7, 7), i(2, 2));
        assert_eq!(d, i(-4, 3));
        let m = binary(BinaryOp::Mod, i(-7, 7), i(1, 5));
        assert_eq!(m, i(0, 4));
        let m = binary(BinaryOp::Mod, i(-7, 7), i(-3, -3));
        assert_eq!(m, i(-2, 0));
    }

    #[test]
    fn powers_and_products_are_bounded() {
        assert!(binary(BinaryOp::Pow, i(-3, 3), i(0, 39)).within(I64));
        assert!(!binary(BinaryOp::Pow, i(-3, 3), i(0, 41)).within(I64));
        assert!(!binary(BinaryOp::Mul, I64, i(2, 2)).within(I64));
        let dims = i(0, MAX_DIMENSION as i128);
        assert!(binary(BinaryOp::Mul, dims, i(-4096, 4096)).within(I64));
        assert!(!binary(BinaryOp::Mul, dims, dims).within(I64));
    }

    #[test]
    fn counters_stay_in_range() {
        let start = typed::Expr::int(0);
        let both = |starts| Counter {
            starts,
            up: true,
            down: true,
        };
        let bounds = counter_values(&both(vec![&start]), &HashMap::new());
        assert!(binary(BinaryOp::Add, bounds, i(1, 1)).within(I64));
        assert!(binary(BinaryOp::Sub, bounds, i(1, 1)).within(I64));
        assert!(!binary(BinaryOp::Add, bounds, bounds).within(I64));
        let far = typed::Expr::int(1 << 62);
        assert_eq!(counter_values(&both(vec![&far]), &HashMap::new()), I64);
        // Counting only up from 0 never goes below 0.
        let up = Counter {
            starts: vec![&start],
            up: true,
            down: false,
        };
        assert_eq!(counter_values(&up, &HashMap::new()).lo, 0);
    }

    #[test]
    fn empty_and_join() {
        assert!(EMPTY.is_empty());
        assert_eq!(EMPTY.join(i(1, 2)), i(1, 2));
        assert_eq!(i(-1, 0).join(i(5, 6)), i(-1, 6));
        assert_eq!(abs(i(-5, 3)), i(0, 5));
    }

    /// The measure of the first function of `source`.
    fn measure_of(source: &str) -> Option<Measure> {
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        int_facts(&typed.functions[0]).0.measure
    }

    #[test]
    fn a_parameter_decreased_by_every_call_of_itself_is_a_measure() {
        let fib = "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    \
                   return fib(n - 1) + fib(n - 2)\n";
        assert_eq!(measure_of(fib), Some(Measure { param: 0, floor: 2 }));
        let second = "def f(x: float, k: int) -> float:\n    if k > 3:\n        \
                      return x * f(x, k + -2)\n    return x\n";
        assert_eq!(measure_of(second), Some(Measure { param: 1, floor: 4 }));
    }

    #[test]
    fn no_measure_without_a_floor_or_a_constant_decrease() {
        // `k == 0 or k == n` false gives no lower bound.
        let binomial = "def b(n: int, k: int) -> int:\n    if k == 0 or k == n:\n        \
                        return 1\n    return b(n - 1, k - 1) + b(n - 1, k)\n";
        assert_eq!(measure_of(binomial), None);
        let by_variable = "def f(n: int, s: int) -> int:\n    if n <= 0:\n        \
                           return 0\n    return f(n - s, s) + 1\n";
        assert_eq!(measure_of(by_variable), None);
        // One call that does not decrease spoils it.
        let mixed = "def f(n: int) -> int:\n    if n <= 0:\n        return 0\n    \
                     return f(n - 1) + f(n)\n";
        assert_eq!(measure_of(mixed), None);
        // A rebound parameter is no measure.
        let rebound = "def f(n: int) -> int:\n    if n <= 0:\n        return 0\n    \
                       n = n + 5\n    return f(n - 1)\n";
        assert_eq!(measure_of(rebound), None);
    }

    #[test]
    fn counters_started_from_each_other_reach_a_fixpoint() {
        // Each counts only up, from the other's value minus one: their lower
        // ends fall by one a round until they are given the whole type.
        let source = "def f(n: int) -> int:\n    a = 0\n    b = 0\n    for i in range(n):\n        \
                      a = b - 1\n        b = a - 1\n        a += 1\n        b += 1\n    return a + b\n";
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: source.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        let (_, intervals) = int_facts(&typed.functions[0]);
        assert_eq!(intervals.variable_bounds("a").0, None);
        // A counter that only counts up from 0 keeps 0 as its lower end.
        let up =
            "def f(n: int) -> int:\n    k = 0\n    while k < n:\n        k += 1\n    return k\n";
        let file = crate::diagnostics::SourceFile {
            path: "t.py".into(),
            text: up.into(),
        };
        let typed = crate::check(&file).expect("the test source compiles");
        let (_, intervals) = int_facts(&typed.functions[0]);
        assert_eq!(intervals.variable_bounds("k").0, Some(0));
    }
}
