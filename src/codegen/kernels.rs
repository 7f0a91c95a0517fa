//! The kernel part of codegen: every compiled function as a plain Rust
//! `pub fn` over runtime values (`&rt::Array<T, N>`, scalars, `rt::List`,
//! closures for `Callable` parameters) returning `rt::Result`, and the
//! module's constants. Nothing here knows about CPython: the extension
//! module wraps these functions in `binding.rs`, and a module emitted for a
//! Rust crate wraps them in `rust_api.rs`.
//!
//! Fallible operations (indexing, division, math domain errors) go through
//! the runtime module `rt` and propagate with `?`, so nothing panics across
//! the FFI boundary; whole-array expressions are in `arrays.rs`, Python
//! containers in `lists.rs`.

mod arrays;
mod lists;

use std::collections::{HashMap, HashSet};

use proc_macro2::{Literal as TokenLiteral, TokenStream};
use quote::{format_ident, quote};

use crate::analysis::lanes;
use crate::analysis::linear::{Atom, Linear};
use crate::analysis::parallel::{Parallel, Plan, ReductionOp, Work};
use crate::analysis::Measure;
use crate::analysis::{Decision, Facts, FunctionFacts};
use crate::diagnostics::Span;
use crate::ir::typed::{self, ArrayFill, ExprKind, Intrinsic, Literal};
use crate::ir::{BinaryOp, BoolOp, CompareOp};
use crate::types::{ArrayType, CallableType, Dtype, Type};

/// Rust names that a Python identifier must not take over.
const RESERVED: &[&str] = &[
    "self", "Self", "super", "crate", "_", "Ok", "Err", "Some", "None", "Result", "Option", "Box",
    "Vec", "String", "rt", "python", "pyo3", "std", "core",
    // Primitive type names are not keywords, but a function or variable
    // named like one is ambiguous in the generated macros and signatures.
    "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
    "u128", "usize", "f16", "f32", "f64", "f128",
];

/// The module's constants and compiled functions, each function a
/// `pub fn` over runtime values returning `rt::Result`; the items refer to
/// the runtime as `rt`.
pub fn items(module: &typed::Module, facts: &Facts) -> TokenStream {
    let cycles = Cycles::of(module, facts);
    let functions = module
        .functions
        .iter()
        .map(|f| function(f, facts.function(&f.rust_name), &cycles));
    // A constant in scope would turn a variable of its name (`N = n`, a
    // parameter `N`) into a pattern matching it: the constants live in a
    // module of their own, read through its path (`constants::N`).
    let constants = if module.constants.is_empty() {
        quote!()
    } else {
        let constants: Vec<TokenStream> = module.constants.iter().map(constant).collect();
        let runtime = constants
            .iter()
            .any(|c| c.to_string().contains("rt ::"))
            .then(|| {
                quote!(
                    use super::rt;
                )
            });
        quote! {
            /// The module's constants.
            pub mod constants {
                #runtime
                #(#constants)*
            }
        }
    };
    quote! {
        #constants
        #(#functions)*
    }
}

/// A Rust identifier for a Python name: raw (`r#type`) for Rust keywords,
/// with a trailing underscore for names Rust or the generated code reserves.
/// Distinct names stay distinct: a reserved name followed by underscores
/// (`rt_`, `Ok__`) gets one more too, so that `rt` (`rt_`) and `rt_`
/// (`rt__`) never meet, and so do names of underscores only.
pub fn ident(name: &str) -> syn::Ident {
    let stem = name.trim_end_matches('_');
    if stem.is_empty() || RESERVED.contains(&stem) {
        return format_ident!("{}_", name);
    }
    if syn::parse_str::<syn::Ident>(name).is_ok() {
        return format_ident!("{}", name);
    }
    if syn::parse_str::<syn::Ident>(&format!("r#{name}")).is_ok() {
        return syn::Ident::new_raw(name, proc_macro2::Span::call_site());
    }
    // Lowering rejects names that are not identifiers, as CPython does; this
    // spelling only keeps codegen total: every character Rust does not take
    // becomes its code point.
    let mut spelled = String::from("name_");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            spelled.push(c);
        } else {
            spelled.push_str(&format!("u{:x}_", u32::from(c)));
        }
    }
    format_ident!("{}", spelled)
}

/// `name` itself as a Rust variable (raw for keywords: `r#type`), where
/// Rust can bind it: not `self`, `super`, `crate`, `Self`, `_`, nor a
/// variant of the prelude (`Ok`, `Err`, `Some`, `None`), which a pattern
/// would match instead of binding.
pub fn binding_ident(name: &str) -> Option<syn::Ident> {
    const UNBOUND: &[&str] = &[
        "self", "Self", "super", "crate", "_", "Ok", "Err", "Some", "None",
    ];
    if UNBOUND.contains(&name) {
        return None;
    }
    if let Ok(ident) = syn::parse_str::<syn::Ident>(name) {
        return Some(ident);
    }
    syn::parse_str::<syn::Ident>(&format!("r#{name}"))
        .is_ok()
        .then(|| syn::Ident::new_raw(name, proc_macro2::Span::call_site()))
}

/// Whether `name` is an identifier in both Python and Rust (Unicode XID).
pub fn is_identifier(name: &str) -> bool {
    name == "_"
        || RESERVED.contains(&name)
        || syn::parse_str::<syn::Ident>(name).is_ok()
        || syn::parse_str::<syn::Ident>(&format!("r#{name}")).is_ok()
}

fn constant(constant: &typed::Constant) -> TokenStream {
    let name = ident(&constant.name);
    let ty = rust_type(&constant.ty);
    let value = literal(constant.value.clone());
    quote! { pub const #name: #ty = #value; }
}

pub(super) fn dtype_tokens(dtype: Dtype) -> TokenStream {
    let name = format_ident!("{}", dtype.rust_name());
    if dtype.is_complex() {
        quote!(rt::#name)
    } else {
        quote!(#name)
    }
}

pub fn rust_type(ty: &Type) -> TokenStream {
    match ty {
        Type::Int => quote!(i64),
        Type::Float => quote!(f64),
        Type::Bool => quote!(bool),
        Type::Scalar(dtype) => dtype_tokens(*dtype),
        Type::Tuple(items) => {
            let items = items.iter().map(rust_type);
            if ty_len(ty) == 1 {
                quote!((#(#items,)*))
            } else {
                quote!((#(#items),*))
            }
        }
        Type::Array(array) => array_type(*array),
        Type::Callable(callable) => {
            let bound = fn_bound(callable);
            quote!(&dyn #bound)
        }
        Type::List(item) => {
            let item = rust_type(item);
            quote!(rt::List<#item>)
        }
        Type::Dict(key, value) => {
            let key = rust_type(key);
            let value = rust_type(value);
            quote!(rt::Dict<#key, #value>)
        }
        Type::Complex => quote!(rt::Complex),
        Type::Set(item) => {
            let item = rust_type(item);
            quote!(rt::Set<#item>)
        }
        // `()` before its item type is known (only ever empty).
        Type::TupleOf(item) if **item == Type::Unknown => quote!(rt::VarTuple<rt::Nothing>),
        Type::TupleOf(item) => {
            let item = rust_type(item);
            quote!(rt::VarTuple<#item>)
        }
        Type::Str => quote!(rt::Str),
        // Inference reports every type it could not complete.
        Type::Unknown => quote!(()),
        Type::None => quote!(()),
    }
}

fn ty_len(ty: &Type) -> usize {
    match ty {
        Type::Tuple(items) => items.len(),
        _ => 0,
    }
}

pub(super) fn array_type(array: ArrayType) -> TokenStream {
    let element = dtype_tokens(array.dtype);
    let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
    quote!(rt::Array<#element, #ndim>)
}

pub(super) fn literal(value: Literal) -> TokenStream {
    match value {
        Literal::Int(v) => int_literal(v),
        Literal::Float(v) => float_literal(v),
        Literal::Bool(v) => quote!(#v),
        Literal::Str(text) => quote!(rt::Str::from(#text)),
        Literal::None => quote!(()),
    }
}

fn int_literal(v: i64) -> TokenStream {
    // A literal outside i32 is suffixed: without a type from its context
    // Rust would take it for an i32 and reject it.
    let fits_i32 = i32::try_from(v).is_ok();
    if v == i64::MIN {
        quote!(i64::MIN)
    } else if v < 0 {
        let magnitude = if fits_i32 {
            TokenLiteral::i64_unsuffixed(-v)
        } else {
            TokenLiteral::i64_suffixed(-v)
        };
        quote!(-#magnitude)
    } else {
        let lit = if fits_i32 {
            TokenLiteral::i64_unsuffixed(v)
        } else {
            TokenLiteral::i64_suffixed(v)
        };
        quote!(#lit)
    }
}

fn float_literal(v: f64) -> TokenStream {
    if v.is_nan() {
        quote!(f64::NAN)
    } else if v == f64::INFINITY {
        quote!(f64::INFINITY)
    } else if v == f64::NEG_INFINITY {
        quote!(f64::NEG_INFINITY)
    } else if v.is_sign_negative() {
        let magnitude = TokenLiteral::f64_unsuffixed(-v);
        quote!(-#magnitude)
    } else {
        let lit = TokenLiteral::f64_unsuffixed(v);
        quote!(#lit)
    }
}

/// `m` when `v` is the normal float `2**m` (`0.5`, `2.0`, `1024.0`).
fn power_of_two_exponent(v: f64) -> Option<i32> {
    let bits = v.to_bits();
    let biased = (bits >> 52) as i32;
    let normal_positive = (1..0x7ff).contains(&biased);
    (normal_positive && bits & ((1 << 52) - 1) == 0).then_some(biased - 1023)
}

/// Rust operator precedence, lowest first, for deciding where parentheses go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    /// A block or `if` expression: parenthesised wherever it is an operand,
    /// since Rust would otherwise read it as a statement or misparse what
    /// follows it.
    Block,
    Or,
    And,
    Compare,
    BitOr,
    BitXor,
    BitAnd,
    Shift,
    Add,
    Mul,
    Cast,
    Unary,
    Atom,
}

/// Generated expression tokens with their precedence.
#[derive(Clone)]
struct Code {
    tokens: TokenStream,
    prec: Prec,
}

impl Code {
    fn new(tokens: TokenStream, prec: Prec) -> Code {
        Code { tokens, prec }
    }

    fn atom(tokens: TokenStream) -> Code {
        Code::new(tokens, Prec::Atom)
    }

    /// A block or `if` expression.
    fn block(tokens: TokenStream) -> Code {
        Code::new(tokens, Prec::Block)
    }

    /// The tokens as an operand of an operator binding like `min`:
    /// parenthesised unless they bind at least as tightly. A cast is always
    /// parenthesised inside a larger expression, because `x as f64 < y` and
    /// `a + n as f64 < b` parse `<` as the start of generic arguments;
    /// grouping every cast makes that impossible wherever the cast ends up.
    fn at(self, min: Prec) -> TokenStream {
        if self.prec >= min && self.prec != Prec::Cast {
            self.tokens
        } else {
            let tokens = self.tokens;
            quote!((#tokens))
        }
    }

    fn full(self) -> TokenStream {
        self.tokens
    }
}

/// How an element access is generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unchecked {
    /// With the index check.
    No,
    /// Proven in bounds: no index check.
    Strided,
    /// Proven in bounds, of an array made in the function or of a
    /// parameter whose layout was tested before the loop: no index check,
    /// unit stride on the last axis, no writable check.
    Contiguous,
    /// Not proven, of such an array: the index check, then unit stride on
    /// the last axis and no writable check.
    CheckedContiguous,
}

/// Per-function codegen state.
struct FunctionGen<'f> {
    function: &'f typed::Function,
    /// What the analyses proved about this function.
    facts: Option<&'f FunctionFacts>,
    /// The versioned loops whose fast version is being generated: their
    /// conditions hold here.
    assumed: Vec<usize>,
    /// Loops whose version being generated runs after a passed layout test
    /// (`facts.layout_tests`): the tested parameters have unit stride on
    /// their last axis and are writable where stored into.
    contiguous: Vec<usize>,
    /// The arrays the innermost loop being generated reads or stores
    /// without index checks through an `rt::Elements` taken before it (see
    /// `element_views`): array name, view name.
    element_views: HashMap<String, syn::Ident>,
    /// Loop bounds evaluated into temporaries before a loop versioned on
    /// them: by the address of the bound expression, and by the loop's
    /// address and side (`Atom::Bound`).
    bound_values: HashMap<usize, syn::Ident>,
    bound_atoms: HashMap<(usize, u8), syn::Ident>,
    /// Inside the body of a parallel loop (and not in a loop nested in
    /// it): what `continue` compiles to, the end of the iteration.
    parallel_continue: Option<TokenStream>,
    types: HashMap<String, Type>,
    /// Every name in use, for picking fresh temporaries: the function's
    /// variables, the module's functions and the temporaries so far.
    names: HashSet<String>,
    /// The Rust names of the function's variables: a call of a module
    /// function named like one goes through its path (`self::f`).
    locals: HashSet<String>,
    /// The "assigned" flag of each variable that may be read unassigned.
    flags: HashMap<String, syn::Ident>,
    /// The module's call-graph cycles.
    cycles: &'f Cycles,
    /// In a function on a cycle, the `rt::Frame` its body received.
    frame: Option<syn::Ident>,
    /// In a function on a cycle that calls itself in tail position and
    /// takes only scalars, which makes that call by going round a loop: its
    /// body ends with an `rt::Tail`.
    tail_loop: bool,
    /// In such a function returning an `int`, whether some return is
    /// `return e + f(…)` of itself: the loop then carries the pending
    /// addends (`rt::TailSum`), and every `rt::Tail::Call` starts with one.
    tail_sum: bool,
    /// In a function whose recursion is bounded (`Cycles::bounded`), the
    /// `const` parameter of its forms telling whether frames are counted.
    bounded: Option<syn::Ident>,
    /// In the inlined form of a function on a cycle (`rt::InlineDepth`,
    /// generic over `D`): calls in the cycle go to the inlined forms one
    /// level down.
    inlining: bool,
    /// Inside the operands of a checked int operation that is the outer
    /// end of a chain of them (`rt::one_exit`).
    in_checked_chain: bool,
    /// In the speculative form of a function (`rt::pure`): where its calls
    /// of itself go.
    speculative: Option<SpeculativeCalls>,
    /// Parallel loops whose decision to use the threads (`worthwhile`) the
    /// serial loop around them evaluated once before it starts, by loop
    /// address: the variable holding it.
    hoisted_decisions: HashMap<usize, syn::Ident>,
    /// Lists that the loop being generated only appends to, none of whose
    /// appends anyone can see before the loop ends (`Parallel::collected`):
    /// each append pushes onto this plain vector instead, appended to the
    /// list after the loop.
    collecting: HashMap<String, syn::Ident>,
    /// The `for` loops inside no other loop of the function, by address:
    /// they start once per call.
    outermost_loops: HashSet<usize>,
    /// Temporaries read once, by value (the parts of an unpacked tuple):
    /// moved there rather than cloned, so a container among them is held
    /// once when it is stored (and retyped).
    moved_temporaries: HashSet<String>,
}

/// How the speculative form of a function calls itself: its inlined form
/// one level down, passing the stack floor and, where the recursion is not
/// bounded, the frames left.
struct SpeculativeCalls {
    inlined: syn::Ident,
    floor: syn::Ident,
    frames: Option<syn::Ident>,
    /// Whether `return f(…)` of the function itself goes round the loop
    /// the body runs in, with the arguments as the new parameters.
    tail_loop: bool,
}

/// The functions whose recursion runs without counting frames once its
/// entry checked the bound a decreasing parameter gives (`Cycles::bounded`),
/// each with that parameter: what `explain` reports.
pub fn bounded_recursion(module: &typed::Module, facts: &Facts) -> HashMap<String, Measure> {
    Cycles::of(module, facts).bounded
}

/// The line that starts every module of speculative forms: the runtime as
/// those forms see it (`rt::pure`).
const SPECULATIVE_IMPORT: &str = "use ::ferropy_rt::pure as rt;";

/// Whether generated code holds speculative forms. Their calls of
/// themselves become known to have no side effects only once LLVM's
/// optimisation of the recursive functions has run, so the build runs
/// LLVM's inference of function attributes and its global value numbering
/// once more on such a crate, which then merges identical calls (fib's
/// `f(n - 2)` under `f(n - 1)`).
pub fn has_speculative_forms(generated: &str) -> bool {
    generated.contains(SPECULATIVE_IMPORT)
}

/// The functions that run a speculative form first (`rt::pure`): what
/// `explain` reports.
pub fn speculative_recursion(module: &typed::Module, facts: &Facts) -> HashSet<String> {
    Cycles::of(module, facts).speculative.into_keys().collect()
}

/// The call graph's cycles (direct or mutual recursion).
///
/// Every call of a function on a cycle starts with `rt::Frame::push`, which
/// counts the frame and checks the stack, so that recursion raises
/// RecursionError instead of overflowing the native stack. Such a function
/// has two forms: an inner one taking the caller's `rt::Frame`,
/// which the functions of its cycle call, and a public one for everything
/// else (callers outside the cycle, the Python wrapper, native calls,
/// function arguments), which reads the thread's recursion bookkeeping once
/// and calls the inner form (`rt::enter_cycle`). A call from a cyclic
/// function that leaves its cycle and may enter one again further down (a
/// function outside the cycle that reaches one, or a function passed as an
/// argument) runs under `rt::Frame::call_out`, which publishes the depth so
/// that entry counts on from it.
struct Cycles {
    /// The functions each one calls or passes as an argument, directly or
    /// through others.
    reaches: HashMap<String, HashSet<String>>,
    /// The functions that call a function passed as an argument.
    calls_values: HashSet<String>,
    /// The functions with a caller outside their cycle, or passed as an
    /// argument: those whose public form something calls.
    entered: HashSet<String>,
    /// The inner form of each function on a cycle.
    inner: HashMap<String, syn::Ident>,
    /// The inlined form (`rt::InlineDepth`) of each function on a cycle
    /// small enough to inline into its callers in the cycle.
    inlined: HashMap<String, syn::Ident>,
    /// The inlined functions alone on their cycle whose recursion a
    /// decreasing parameter bounds (`ranges::Measure`), calling nothing
    /// else that may enter a cycle. Their inner and inlined forms take a
    /// `const BOUNDED: bool`: the public form checks once that the frames
    /// the recursion can make fit below the recursion limit, and if so
    /// runs the forms that count no frames (`rt::Frame::push_within`),
    /// checking only the stack at each native call.
    bounded: HashMap<String, Measure>,
    /// The inlined functions alone on their cycle that are pure
    /// (`speculable`): their public form runs a speculative form first
    /// (`rt::pure`).
    speculative: HashMap<String, Speculative>,
    /// The Rust names of the module's items, which a local must not shadow.
    items: HashSet<String>,
    /// The Rust names of the module's functions (inner forms included):
    /// a temporary named like one would hide it from the calls after it.
    functions: HashSet<String>,
    /// The functions some compiled function calls or passes as an argument.
    called: HashSet<String>,
}

impl Cycles {
    fn of(module: &typed::Module, facts: &Facts) -> Cycles {
        let mut calls_values = HashSet::new();
        let mut passed = HashSet::new();
        let calls: HashMap<&str, HashSet<String>> = module
            .functions
            .iter()
            .map(|f| {
                let mut callees = HashSet::new();
                for stmt in &f.body {
                    stmt.walk_exprs(&mut |e| match &e.kind {
                        ExprKind::Call { function, .. } => {
                            callees.insert(function.clone());
                        }
                        ExprKind::FunctionRef(typed::FunctionRef::Compiled(function)) => {
                            callees.insert(function.clone());
                            passed.insert(function.clone());
                        }
                        ExprKind::CallValue { .. } => {
                            calls_values.insert(f.rust_name.clone());
                        }
                        _ => {}
                    });
                }
                (f.rust_name.as_str(), callees)
            })
            .collect();
        let mut reaches = HashMap::new();
        for function in &module.functions {
            // Depth-first search from the callees.
            let mut stack: Vec<&str> = calls
                .get(function.rust_name.as_str())
                .map(|c| c.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut seen: HashSet<String> = HashSet::new();
            while let Some(current) = stack.pop() {
                if seen.insert(current.to_string()) {
                    if let Some(next) = calls.get(current) {
                        stack.extend(next.iter().map(String::as_str));
                    }
                }
            }
            reaches.insert(function.rust_name.clone(), seen);
        }
        let mut items: HashSet<String> = ["rt", "python"].map(String::from).into();
        for constant in &module.constants {
            items.insert(ident(&constant.name).to_string());
        }
        let mut functions: HashSet<String> = HashSet::new();
        for function in &module.functions {
            items.insert(ident(&function.rust_name).to_string());
            functions.insert(ident(&function.rust_name).to_string());
            for param in &function.params {
                items.insert(ident(&param.name).to_string());
            }
            for local in &function.locals {
                items.insert(ident(&local.name).to_string());
            }
        }
        let called = calls.values().flatten().cloned().collect();
        let mut cycles = Cycles {
            reaches,
            calls_values,
            entered: passed,
            inner: HashMap::new(),
            inlined: HashMap::new(),
            bounded: HashMap::new(),
            speculative: HashMap::new(),
            items,
            functions,
            called,
        };
        for (caller, callees) in &calls {
            for callee in callees {
                if !cycles.same_cycle(caller, callee) {
                    cycles.entered.insert(callee.clone());
                }
            }
        }
        for function in &module.functions {
            if cycles.is_cyclic(&function.rust_name) {
                let inner = cycles.new_function_name(&format!("{}_in_cycle", function.rust_name));
                cycles.inner.insert(function.rust_name.clone(), inner);
                if inlinable(function) {
                    let inlined =
                        cycles.new_function_name(&format!("{}_inlined", function.rust_name));
                    cycles.inlined.insert(function.rust_name.clone(), inlined);
                }
            }
        }
        cycles.bound_recursion(module, facts);
        for function in &module.functions {
            let name = &function.rust_name;
            if cycles.inlined.contains_key(name)
                && cycles.alone_on_cycle(module, name)
                && speculable(function)
            {
                let forms = Speculative {
                    module: cycles.new_function_name(&format!("{name}_speculative")),
                    entry: cycles.new_function_name(&format!("{name}_pure")),
                    inlined: cycles.new_function_name(&format!("{name}_pure_inlined")),
                };
                cycles.speculative.insert(name.clone(), forms);
            }
        }
        cycles
    }

    /// `name`, or `name_`, `name__`, …: the first no item of the module has,
    /// taken for a function the generated code adds.
    fn new_function_name(&mut self, name: &str) -> syn::Ident {
        let mut name = name.to_string();
        while self.items.contains(&ident(&name).to_string()) {
            name.push('_');
        }
        let name = ident(&name);
        self.items.insert(name.to_string());
        self.functions.insert(name.to_string());
        name
    }

    /// Finds the functions whose recursion is bounded (`bounded`).
    fn bound_recursion(&mut self, module: &typed::Module, facts: &Facts) {
        for function in &module.functions {
            let name = &function.rust_name;
            let Some(measure) = facts.function(name).and_then(|f| f.ints.measure) else {
                continue;
            };
            let alone = self.alone_on_cycle(module, name);
            let mut calls_out = false;
            for stmt in &function.body {
                stmt.walk_exprs(&mut |e| {
                    calls_out |= match &e.kind {
                        ExprKind::Call {
                            function: callee, ..
                        } => callee != name && self.may_enter_cycle(callee),
                        ExprKind::CallValue { .. } | ExprKind::FunctionRef(_) => true,
                        _ => false,
                    };
                });
            }
            if self.inlined.contains_key(name) && alone && !calls_out {
                self.bounded.insert(name.clone(), measure);
            }
        }
    }

    /// How many calls of functions of its cycle the body of `function`
    /// makes, not counting the tail calls that go round its loop.
    fn calls_in_cycle(&self, function: &typed::Function, tail_loop: bool, tail_sum: bool) -> usize {
        let mut calls = 0usize;
        for stmt in &function.body {
            stmt.walk_exprs(&mut |e| {
                if let ExprKind::Call {
                    function: callee, ..
                } = &e.kind
                {
                    if self.same_cycle(&function.rust_name, callee) {
                        calls += 1;
                    }
                }
            });
        }
        if tail_loop {
            calls = calls.saturating_sub(tail_calls(&function.body, &function.rust_name, tail_sum));
        }
        calls
    }

    fn reaches(&self, from: &str, to: &str) -> bool {
        self.reaches.get(from).is_some_and(|r| r.contains(to))
    }

    fn is_cyclic(&self, function: &str) -> bool {
        self.reaches(function, function)
    }

    fn same_cycle(&self, a: &str, b: &str) -> bool {
        self.reaches(a, b) && self.reaches(b, a)
    }

    /// Whether no other function of the module is on `function`'s cycle.
    fn alone_on_cycle(&self, module: &typed::Module, function: &str) -> bool {
        module
            .functions
            .iter()
            .all(|g| g.rust_name == function || !self.same_cycle(function, &g.rust_name))
    }

    /// Whether a call of `function` may enter a cycle: it is on one, reaches
    /// one, or calls a function passed as an argument (which may be compiled
    /// and recursive).
    fn may_enter_cycle(&self, function: &str) -> bool {
        let enters = |f: &str| self.is_cyclic(f) || self.calls_values.contains(f);
        enters(function)
            || self
                .reaches
                .get(function)
                .is_some_and(|r| r.iter().any(|f| enters(f)))
    }
}

impl<'f> FunctionGen<'f> {
    /// The generator of `function`'s body, in no cycle-specific form yet.
    fn new(
        function: &'f typed::Function,
        facts: Option<&'f FunctionFacts>,
        cycles: &'f Cycles,
    ) -> FunctionGen<'f> {
        let mut types: HashMap<String, Type> = HashMap::new();
        for param in &function.params {
            types.insert(param.name.clone(), param.ty.clone());
        }
        for local in &function.locals {
            types.insert(local.name.clone(), local.ty.clone());
        }
        // The function's variables, as Python and as Rust spells them (`rt`,
        // `rt_`), and the module's functions: no temporary is named like one.
        let mut names: HashSet<String> = types.keys().cloned().collect();
        let locals: HashSet<String> = types.keys().map(|n| ident(n).to_string()).collect();
        names.extend(locals.iter().cloned());
        names.extend(cycles.functions.iter().cloned());
        names.extend(["py".to_string(), "shape".to_string()]);
        FunctionGen {
            function,
            facts,
            assumed: Vec::new(),
            contiguous: Vec::new(),
            element_views: HashMap::new(),
            bound_values: HashMap::new(),
            bound_atoms: HashMap::new(),
            parallel_continue: None,
            types,
            names,
            locals,
            flags: HashMap::new(),
            cycles,
            frame: None,
            tail_loop: false,
            tail_sum: false,
            bounded: None,
            inlining: false,
            in_checked_chain: false,
            speculative: None,
            hoisted_decisions: HashMap::new(),
            collecting: HashMap::new(),
            outermost_loops: outermost_loops(&function.body),
            moved_temporaries: HashSet::new(),
        }
    }
}

fn function(
    function: &typed::Function,
    facts: Option<&FunctionFacts>,
    cycles: &Cycles,
) -> TokenStream {
    let mut generator = FunctionGen::new(function, facts, cycles);
    let inner = cycles.inner.get(&function.rust_name).cloned();
    if inner.is_some() {
        // The frame must not shadow a function the body calls.
        generator.names.extend(cycles.items.iter().cloned());
        generator.frame = Some(generator.fresh("frame"));
        let scalar_params = function
            .params
            .iter()
            .all(|p| matches!(p.ty, Type::Int | Type::Float | Type::Bool | Type::Scalar(_)));
        generator.tail_sum = scalar_params
            && function.return_type == Type::Int
            && adds_to_itself_in_tail_position(&function.body, &function.rust_name);
        generator.tail_loop = scalar_params
            && (generator.tail_sum
                || calls_itself_in_tail_position(&function.body, &function.rust_name));
        generator.inlining = cycles.inlined.contains_key(&function.rust_name);
        if cycles.bounded.contains_key(&function.rust_name) {
            generator.bounded = Some(generator.fresh("BOUNDED"));
        }
    }
    // Variables some path may read before assigning get an "assigned" flag,
    // so those reads raise UnboundLocalError as in Python.
    let mut maybe_unbound: Vec<String> = crate::unbound_reads::variables(function)
        .into_iter()
        .collect();
    maybe_unbound.sort();
    let mut flag_declarations = Vec::new();
    for variable in maybe_unbound {
        let flag = generator.fresh(&format!("{variable}_assigned"));
        flag_declarations.push(quote! { let mut #flag = false; });
        generator.flags.insert(variable, flag);
    }
    let name = ident(&function.rust_name);
    let generics = callable_generics(function);
    let param_types: Vec<TokenStream> = function
        .params
        .iter()
        .map(|param| match &param.ty {
            Type::Array(array) => {
                let ty = array_type(*array);
                quote!(&#ty)
            }
            Type::Callable(_) => {
                let generic = generics
                    .iter()
                    .find(|(p, _, _)| p == &param.name)
                    .map(|(_, g, _)| g.clone())
                    .unwrap_or_else(|| format_ident!("F"));
                quote!(&#generic)
            }
            other => variable_type(function, &param.name, other),
        })
        .collect();
    let param_names: Vec<syn::Ident> = function.params.iter().map(|p| ident(&p.name)).collect();
    let params: Vec<TokenStream> = function
        .params
        .iter()
        .zip(&param_types)
        .map(|(param, ty)| {
            let name = ident(&param.name);
            let mutable = param.reassigned && !matches!(param.ty, Type::Array(_));
            if param.ty == Type::None {
                // The instance where the parameter is None: no value, and the
                // name is an ordinary local (`if n is None: n = ...`).
                quote!(_: #ty)
            } else if mutable {
                quote!(mut #name: #ty)
            } else {
                quote!(#name: #ty)
            }
        })
        .collect();
    let return_type = rust_type(&function.return_type);
    let mut prologue = flag_declarations;
    for param in function.params.iter().filter(|p| p.ty != Type::None) {
        let var_ty = generator
            .types
            .get(&param.name)
            .cloned()
            .unwrap_or(param.ty.clone());
        let name = ident(&param.name);
        if var_ty != param.ty {
            // The Python code assigns this parameter a wider type.
            let ty = rust_type(&var_ty);
            let value = cast(Code::atom(quote!(#name)), &param.ty, &var_ty).full();
            prologue.push(quote! { let mut #name: #ty = #value; });
        } else if param.reassigned && matches!(param.ty, Type::Array(_)) {
            prologue.push(quote! { let mut #name = #name.clone(); });
        }
    }
    let owned: Vec<String> = function
        .locals
        .iter()
        .filter(|l| {
            !function
                .params
                .iter()
                .any(|p| p.name == l.name && p.ty != Type::None)
        })
        .map(|l| l.name.clone())
        .collect();
    let mut body = generator.block(&function.body, &owned, true);
    // Statements after an `if` whose branches all return are unreachable
    // but still end the Rust block, so the tail goes after them too.
    let ends_in_return = matches!(function.body.last(), Some(typed::Stmt::Return(_)));
    if function.falls_through || !ends_in_return {
        if function.return_type == Type::None {
            body.push(generator.returned(quote!(())));
        } else {
            let message = format!(
                "{}() reached its end without returning a value",
                function.name
            );
            body.push(quote! { Err(rt::Error::TypeError(#message.to_string())) });
        }
    }
    let visibility = if function.export.is_some() {
        quote!(pub)
    } else {
        quote!()
    };
    let docstring = function
        .export
        .as_ref()
        .and_then(|e| e.docstring.as_ref())
        .map(|d| doc_comment(d))
        .unwrap_or_default();
    let safety = safety_comment(facts);
    let (generic_params, where_clause) = if generics.is_empty() {
        (quote!(), quote!())
    } else {
        let names = generics.iter().map(|(_, g, _)| g);
        let bounds = generics
            .iter()
            .map(|(_, g, bound)| quote!(#g: #bound + Sync + ?Sized));
        (quote!(<#(#names),*>), quote!(where #(#bounds),*))
    };
    // An export no compiled function calls is called only by its Python
    // and native entry points: kept out of them, LLVM optimises its body
    // once instead of again in every wrapper it would be inlined into, and
    // the call costs nothing next to the conversions around it.
    let entry_only = (function.export.is_some() && !cycles.called.contains(&function.rust_name))
        .then(|| quote!(#[inline(never)]));
    let (Some(inner), Some(frame)) = (inner, generator.frame.clone()) else {
        return quote! {
            #docstring
            #safety
            #entry_only
            #visibility fn #name #generic_params(#(#params),*) -> rt::Result<#return_type> #where_clause {
                #(#prologue)*
                #(#body)*
            }
        };
    };
    // On a cycle: the public form enters the cycle, the inner form is one
    // counted frame. Only functions of its cycle call a helper that has no
    // public form.
    let bounded = cycles.bounded.get(&function.rust_name).copied();
    let public = (function.export.is_some() || cycles.entered.contains(&function.rust_name))
        .then(|| {
            // A speculable function runs its speculative form first, and
            // its checked form when that gives up.
            let speculative = cycles.speculative.get(&function.rust_name).map(|forms| {
                let module = speculative_forms(
                    function,
                    facts,
                    cycles,
                    forms,
                    bounded.is_none(),
                    &params,
                    &prologue,
                    &owned,
                );
                (module, forms)
            });
            let (speculative_module, speculate) = match speculative {
                Some((module, Speculative { module: path, entry, .. })) => {
                    let frames = bounded.is_none().then(|| quote!(#frame.frames_left()));
                    let frames = frames.iter();
                    (
                        module,
                        quote! {
                            if let Ok(value) = #path::#entry(#frame.stack_floor(), #(#frames,)* #(#param_names),*) {
                                return Ok(value);
                            }
                        },
                    )
                }
                None => (quote!(), quote!()),
            };
            let enter = match bounded {
                Some(Measure { param, floor }) => {
                    let value = &param_names[param];
                    quote! {
                        if #frame.has_room_for(rt::measured_frames(#value, #floor)) {
                            #speculate
                            #inner::<true>(#frame, #(#param_names),*)
                        } else {
                            #inner::<false>(#frame, #(#param_names),*)
                        }
                    }
                }
                None => quote! {
                    #speculate
                    #inner(#frame, #(#param_names),*)
                },
            };
            quote! {
                #docstring
                #entry_only
                #visibility fn #name #generic_params(#(#param_names: #param_types),*) -> rt::Result<#return_type> #where_clause {
                    rt::enter_cycle(|#frame| { #enter })
                }
                #speculative_module
            }
        });
    // A bounded function's forms name the instance they are.
    let bounded_const = generator.bounded.clone();
    let (inner_call, push) = if let Some(bounded) = &bounded_const {
        (quote!(#inner::<#bounded>), quote!(push_within::<#bounded>))
    } else {
        (quote!(#inner), quote!(push))
    };
    // The inner form, or, for a function small enough to inline, the inner
    // form calling the inlined form with the levels to inline.
    let (tail_loop, tail_sum) = (generator.tail_loop, generator.tail_sum);
    let inner_form = |inputs: TokenStream, result: TokenStream, body: TokenStream| {
        let Some(inlined) = cycles.inlined.get(&function.rust_name) else {
            return quote! {
                #public
                #safety
                fn #inner #generic_params(#inputs) -> #result #where_clause {
                    #body
                }
            };
        };
        let calls = cycles.calls_in_cycle(function, tail_loop, tail_sum);
        let levels = format_ident!("Inline{}", inline_levels(calls));
        let doc = format!(" `{inner}`, inlined into its callers in the cycle (`rt::InlineDepth`).");
        // A bounded function's forms take its `const` switch, and its inner
        // form, a native call, checks the stack, which its inlined levels
        // do not.
        let (switch, stack_check, levels) = match &bounded_const {
            Some(bounded) => (
                quote!(const #bounded: bool),
                quote! {
                    if #bounded && !#frame.stack_fits() {
                        return #frame.past_a_limit(move |#frame| #inner_call(#frame, #(#param_names),*));
                    }
                },
                quote!(rt::#levels, #bounded),
            ),
            None => (quote!(), quote!(), quote!(rt::#levels)),
        };
        quote! {
            #public
            fn #inner<#switch>(#frame: rt::Frame<'_>, #(#param_names: #param_types),*) -> #result {
                #stack_check
                #inlined::<#levels>(#frame, #(#param_names),*)
            }
            #[doc = #doc]
            #safety
            #[inline(always)]
            fn #inlined<D: rt::InlineDepth, #switch>(#inputs) -> #result {
                if D::STOP {
                    return #inner_call(#frame, #(#param_names),*);
                }
                #body
            }
        }
    };
    if generator.tail_loop && generator.tail_sum {
        // `return e + f(…)` adds `e` to the pending sum and goes round the
        // loop like a tail call; every return adds the sum to its value.
        let pushed = generator.fresh("pushed");
        let value = generator.fresh("value");
        let addend = generator.fresh("addend");
        let args = generator.fresh("args");
        let sum = generator.fresh("sum");
        return inner_form(
            quote!(mut #frame: rt::Frame<'_>, #(mut #param_names: #param_types),*),
            quote!(rt::Result<i64>),
            quote! {
                let mut #sum = rt::TailSum::default();
                loop {
                    let Some(#pushed) = #frame.#push() else {
                        return #sum.finish(#frame.past_a_limit(move |#frame| #inner_call(#frame, #(#param_names),*))?);
                    };
                    match rt::body(move || -> rt::Result<rt::Tail<(i64, (#(#param_types,)*)), i64>> {
                        let #frame = #pushed;
                        #(#prologue)*
                        #(#body)*
                    })? {
                        rt::Tail::Return(#value) => return #sum.finish(#value),
                        rt::Tail::Call((#addend, #args)) => {
                            #sum.add(#addend);
                            #frame = #pushed;
                            (#(#param_names,)*) = #args;
                        }
                    }
                }
            },
        );
    }
    if generator.tail_loop {
        // A call `return f(…)` of the function itself goes round the loop
        // with the frame one deeper: counted like a call, without growing
        // the stack.
        let pushed = generator.fresh("pushed");
        let value = generator.fresh("value");
        let args = generator.fresh("args");
        return inner_form(
            quote!(mut #frame: rt::Frame<'_>, #(mut #param_names: #param_types),*),
            quote!(rt::Result<#return_type>),
            quote! {
                loop {
                    let Some(#pushed) = #frame.#push() else {
                        return #frame.past_a_limit(move |#frame| #inner_call(#frame, #(#param_names),*));
                    };
                    match rt::body(move || -> rt::Result<rt::Tail<(#(#param_types,)*), #return_type>> {
                        let #frame = #pushed;
                        #(#prologue)*
                        #(#body)*
                    })? {
                        rt::Tail::Return(#value) => return Ok(#value),
                        rt::Tail::Call(#args) => {
                            #frame = #pushed;
                            (#(#param_names,)*) = #args;
                        }
                    }
                }
            },
        );
    }
    let shares_lists = passes_containers(function);
    let past_a_limit = if shares_lists {
        // Lists are not `Send`: they move to the thread with the larger
        // stack inside `rt::WaitedFor`, as this thread waits for that one.
        let sent = generator.fresh("sent");
        quote! {
            #frame.past_a_limit({
                let #sent = rt::WaitedFor((#(#param_names,)*));
                move |#frame| {
                    let (#(#param_names,)*) = #sent.into_inner();
                    #inner_call(#frame, #(#param_names),*).map(rt::WaitedFor)
                }
            })
            .map(rt::WaitedFor::into_inner)
        }
    } else {
        quote!(#frame.past_a_limit(move |#frame| #inner_call(#frame, #(#param_names),*)))
    };
    inner_form(
        quote!(#frame: rt::Frame<'_>, #(#params),*),
        quote!(rt::Result<#return_type>),
        quote! {
            let Some(#frame) = #frame.#push() else {
                return #past_a_limit;
            };
            rt::body(move || {
                #(#prologue)*
                #(#body)*
            })
        },
    )
}

/// Whether some `return f(…)` among `stmts` calls `function` itself.
/// Whether lists, dicts or sets go into or come out of the function: such
/// values are not `Send` and cross thread boundaries only wrapped
/// (`rt::SameThread`, `rt::WaitedFor`).
pub(super) fn passes_containers(function: &typed::Function) -> bool {
    function.params.iter().any(|p| p.ty.has_container()) || function.return_type.has_container()
}

/// The speculative forms of a speculable function (`rt::pure`), in a
/// module of their own that imports `rt::pure` as `rt`: a native form that
/// checks the stack, and a form inlined into itself (`rt::InlineDepth`)
/// holding the body. Where the recursion is not bounded
/// (`Cycles::bounded`), each level takes one of the frames left below the
/// recursion limit, and gives up when there are none.
#[allow(clippy::too_many_arguments)]
fn speculative_forms(
    function: &typed::Function,
    facts: Option<&FunctionFacts>,
    cycles: &Cycles,
    forms: &Speculative,
    counted: bool,
    params: &[TokenStream],
    prologue: &[TokenStream],
    owned: &[String],
) -> TokenStream {
    let Speculative {
        module,
        entry,
        inlined,
    } = forms;
    let mut generator = FunctionGen::new(function, facts, cycles);
    generator.names.extend(cycles.items.iter().cloned());
    let floor = generator.fresh("floor");
    let frames = counted.then(|| generator.fresh("frames"));
    // A parameter the prologue converts to a wider type cannot take the
    // arguments of a tail call.
    let tail_loop =
        prologue.is_empty() && calls_itself_in_tail_position(&function.body, &function.rust_name);
    generator.speculative = Some(SpeculativeCalls {
        inlined: inlined.clone(),
        floor: floor.clone(),
        frames: frames.clone(),
        tail_loop,
    });
    let body = generator.block(&function.body, owned, !tail_loop);
    let param_names: Vec<syn::Ident> = function.params.iter().map(|p| ident(&p.name)).collect();
    let param_types: Vec<TokenStream> = function.params.iter().map(|p| rust_type(&p.ty)).collect();
    let return_type = rust_type(&function.return_type);
    let calls = cycles.calls_in_cycle(function, tail_loop, false);
    let levels = format_ident!("Inline{}", inline_levels(calls));
    let frames_param = frames.iter().map(|f| quote!(#f: u32));
    let frames_param_inlined = frames.iter().map(|f| quote!(mut #f: u32));
    let frames_arg = frames.iter();
    let frames_arg_stop = frames.iter();
    let take_frame = frames.iter().map(|f| {
        // Each round of the tail-call loop is one frame deeper.
        quote! {
            #f = match #f.checked_sub(1) {
                Some(left) => left,
                None => return Err(rt::Bail),
            };
        }
    });
    let body = if tail_loop {
        quote! {
            loop {
                #(#take_frame)*
                #(#body)*
            }
        }
    } else {
        quote! {
            #(#take_frame)*
            #(#prologue)*
            #(#body)*
        }
    };
    let params: Vec<TokenStream> = if tail_loop {
        param_names
            .iter()
            .zip(&param_types)
            .map(|(name, ty)| quote!(mut #name: #ty))
            .collect()
    } else {
        params.to_vec()
    };
    let doc = format!(
        " The speculative forms of `{}` (`rt::pure`).",
        function.rust_name
    );
    let import: TokenStream = SPECULATIVE_IMPORT.parse().unwrap_or_default();
    quote! {
        #[doc = #doc]
        mod #module {
            // Helpers the speculative forms call, when they call any.
            #[allow(unused_imports)]
            use super::*;
            #import
            pub(super) fn #entry(#floor: rt::StackFloor, #(#frames_param,)* #(#param_names: #param_types),*) -> rt::Result<#return_type> {
                if !#floor.fits() {
                    return Err(rt::Bail);
                }
                #inlined::<rt::#levels>(#floor, #(#frames_arg,)* #(#param_names),*)
            }
            #[inline(always)]
            fn #inlined<D: rt::InlineDepth>(#floor: rt::StackFloor, #(#frames_param_inlined,)* #(#params),*) -> rt::Result<#return_type> {
                if D::STOP {
                    return #entry(#floor, #(#frames_arg_stop,)* #(#param_names),*);
                }
                #body
            }
        }
    }
}

/// The names of a speculative function's forms (`Cycles::speculative`):
/// the module importing `rt::pure` as `rt` that holds them, the native
/// form, and the form inlined into itself (`rt::InlineDepth`).
struct Speculative {
    module: syn::Ident,
    entry: syn::Ident,
    inlined: syn::Ident,
}

/// Whether a function on a cycle can run speculatively (`rt::pure`): its
/// parameters, variables and result are scalars, its statements are
/// assignments to variables, `if`s and returns (every path returning, no
/// variable read before it is assigned), and its expressions do arithmetic
/// and comparisons on them and call nothing but the function itself. Such
/// a call has no effect but its result or its exception, so running it
/// again from the start after a speculative form gave up is invisible.
fn speculable(function: &typed::Function) -> bool {
    let scalar = |ty: &Type| matches!(ty, Type::Int | Type::Float | Type::Bool | Type::Scalar(_));
    if !function.params.iter().all(|p| scalar(&p.ty))
        || !function.locals.iter().all(|l| scalar(&l.ty))
        || !scalar(&function.return_type)
        || function.falls_through
        || !matches!(function.body.last(), Some(typed::Stmt::Return(Some(_))))
        || !crate::unbound_reads::variables(function).is_empty()
    {
        return false;
    }
    fn plain(stmts: &[typed::Stmt], function: &str) -> bool {
        stmts.iter().all(|stmt| {
            let shape = match stmt {
                typed::Stmt::Assign {
                    target: typed::Target::Local(_),
                    ..
                }
                | typed::Stmt::Return(Some(_)) => true,
                typed::Stmt::If { body, orelse, .. } => {
                    plain(body, function) && plain(orelse, function)
                }
                _ => false,
            };
            let mut exprs = true;
            stmt.for_each_expr(&mut |e| {
                e.walk(&mut |e| {
                    exprs &= match &e.kind {
                        ExprKind::Literal(_)
                        | ExprKind::Local(_)
                        | ExprKind::Cast(_)
                        | ExprKind::Binary { .. }
                        | ExprKind::Neg(_)
                        | ExprKind::Not(_)
                        | ExprKind::Invert(_)
                        | ExprKind::Truthy(_)
                        | ExprKind::Compare { .. }
                        | ExprKind::BoolOp { .. }
                        | ExprKind::IfExp { .. }
                        | ExprKind::Intrinsic { .. } => true,
                        ExprKind::Constant(_) => {
                            matches!(e.ty, Type::Int | Type::Float | Type::Bool | Type::Scalar(_))
                        }
                        ExprKind::Call {
                            function: callee, ..
                        } => callee == function,
                        _ => false,
                    };
                })
            });
            shape && exprs
        })
    }
    plain(&function.body, &function.rust_name)
}

/// Whether a function on a cycle is small enough to inline into the
/// functions of its cycle: scalar and array parameters only, no loops, and
/// at most [`INLINED_SIZE`] expressions.
fn inlinable(function: &typed::Function) -> bool {
    let plain_params = function.params.iter().all(|p| {
        matches!(
            p.ty,
            Type::Int | Type::Float | Type::Bool | Type::Scalar(_) | Type::Array(_)
        )
    });
    let returns_plain = matches!(
        function.return_type,
        Type::Int | Type::Float | Type::Bool | Type::Scalar(_) | Type::None
    );
    let mut expressions = 0;
    let mut loops = false;
    fn visit<'e>(stmts: &'e [typed::Stmt], expressions: &mut usize, loops: &mut bool) {
        for stmt in stmts {
            *loops |= matches!(
                stmt,
                typed::Stmt::ForRange { .. } | typed::Stmt::While { .. }
            );
            stmt.for_each_expr(&mut |e| e.walk(&mut |_| *expressions += 1));
            for body in stmt.nested() {
                visit(body, expressions, loops);
            }
        }
    }
    visit(&function.body, &mut expressions, &mut loops);
    plain_params && returns_plain && !loops && expressions <= INLINED_SIZE
}

/// The most expressions a function on a cycle may have to be inlined.
const INLINED_SIZE: usize = 48;

/// How many levels of its cycle a function inlines (`rt::InlineDepth`),
/// given how many calls in the cycle its body makes: as many as keep the
/// copies of bodies in one native call at most 8 (4 levels of one call, 3
/// of two, 2 of up to seven), and none when there is no such call.
fn inline_levels(calls: usize) -> usize {
    if calls == 0 {
        return 1;
    }
    let copies = |levels: u32| (0..levels).map(|k| calls.saturating_pow(k)).sum::<usize>();
    (1..=4u32)
        .rev()
        .find(|&l| copies(l) <= 8)
        .map_or(1, |l| l as usize)
}

/// How many returns among `stmts` are `return f(…)` of `function` itself,
/// or `return e + f(…)` when the function carries a tail sum.
fn tail_calls(stmts: &[typed::Stmt], function: &str, tail_sum: bool) -> usize {
    stmts
        .iter()
        .map(|stmt| match stmt {
            typed::Stmt::Return(Some(value)) => {
                let direct = matches!(&value.kind, ExprKind::Call { function: callee, .. } if callee == function);
                usize::from(direct || (tail_sum && tail_sum_parts(value, function).is_some()))
            }
            _ => stmt
                .nested()
                .into_iter()
                .map(|body| tail_calls(body, function, tail_sum))
                .sum(),
        })
        .sum()
}

/// Whether `expr` is a `+`, `-`, `*` or `<<` of Python ints: an operation
/// that raises OverflowError unless the value ranges prove it cannot.
fn checked_int_op(expr: &typed::Expr) -> bool {
    expr.ty == Type::Int
        && matches!(
            &expr.kind,
            ExprKind::Binary {
                op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::LShift,
                ..
            }
        )
}

/// `int` operations besides `checked_int_op`'s that may raise: `-x` and
/// `abs(x)` of -2**63 (OverflowError), `x >> k` by a negative count
/// (ValueError).
fn raising_int_op(expr: &typed::Expr) -> bool {
    expr.ty == Type::Int
        && matches!(
            &expr.kind,
            ExprKind::Neg(_)
                | ExprKind::Intrinsic {
                    op: typed::Intrinsic::AbsInt,
                    ..
                }
                | ExprKind::Binary {
                    op: BinaryOp::RShift,
                    ..
                }
        )
}

fn calls_itself_in_tail_position(stmts: &[typed::Stmt], function: &str) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Return(Some(typed::Expr {
            kind: ExprKind::Call {
                function: callee, ..
            },
            ..
        })) => callee == function,
        _ => stmt
            .nested()
            .into_iter()
            .any(|body| calls_itself_in_tail_position(body, function)),
    })
}

/// Whether some `return` in `stmts` is `return e + f(…)` of `function`
/// itself on Python ints, with the call on the right (Python evaluates `e`
/// first, as the loop does) or on the left beside a variable or a constant,
/// whose evaluation cannot be observed before or after the call.
fn adds_to_itself_in_tail_position(stmts: &[typed::Stmt], function: &str) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Return(Some(value)) => tail_sum_parts(value, function).is_some(),
        _ => stmt
            .nested()
            .into_iter()
            .any(|body| adds_to_itself_in_tail_position(body, function)),
    })
}

/// `e + f(args)` (or `f(args) + v`, `v` a variable or a constant) on Python
/// ints, with `f` the function itself: `e` and the call's arguments.
fn tail_sum_parts<'e>(
    value: &'e typed::Expr,
    function: &str,
) -> Option<(&'e typed::Expr, &'e [typed::Expr])> {
    let ExprKind::Binary {
        op: BinaryOp::Add,
        left,
        right,
    } = &value.kind
    else {
        return None;
    };
    if value.ty != Type::Int || left.ty != Type::Int || right.ty != Type::Int {
        return None;
    }
    let self_call = |e: &'e typed::Expr| match &e.kind {
        ExprKind::Call {
            function: callee,
            args,
        } if callee == function => Some(args.as_slice()),
        _ => None,
    };
    if let Some(args) = self_call(right) {
        return Some((left, args));
    }
    match (&right.kind, self_call(left)) {
        (ExprKind::Local(_) | ExprKind::Literal(_), Some(args)) => Some((right, args)),
        _ => None,
    }
}

/// The doc comment that proves the function's unchecked element accesses
/// sound: each access, and the facts that keep its indices in bounds.
fn safety_comment(facts: Option<&FunctionFacts>) -> TokenStream {
    let Some(facts) = facts else {
        return quote!();
    };
    let mut lines: Vec<String> = Vec::new();
    for (access, reason) in facts.proven() {
        let line = format!(" - `{}`: {reason}", access.text);
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let mut text: Vec<String> = Vec::new();
    if !lines.is_empty() {
        text.push(
            " Unchecked element accesses, each index proven to lie in `0..shape[axis]`".to_string(),
        );
        text.push(" on every execution (ferropy's bounds analysis):".to_string());
        text.extend(lines);
    }
    let names = |keep: &dyn Fn(&crate::analysis::Access) -> bool| -> String {
        let mut names: Vec<String> = facts
            .accesses
            .iter()
            .filter(|a| keep(a))
            .map(|a| format!("`{}`", a.array_name))
            .collect();
        names.sort();
        names.dedup();
        names.join(", ")
    };
    let tested = names(&|a| a.layout_loop.is_some());
    if !tested.is_empty() {
        text.push(format!(
            " Contiguous accesses to {tested} run only in the loop version entered after \
             `has_unit_stride()` (and `is_writable()` where stored into) returned true."
        ));
    }
    let fresh = names(&|a| a.fresh && !a.array_name.is_empty());
    if !fresh.is_empty() {
        text.push(format!(
            " {fresh}: only ever arrays made in this function, so C-contiguous and writable."
        ));
    }
    if !facts.overwritten.is_empty() {
        text.push(
            " Arrays made with `rt::Array::unfilled` have every element stored, by the loop"
                .to_string(),
        );
        text.push(
            " nest right after them, before anything reads them (ferropy's overwrite analysis)."
                .to_string(),
        );
    }
    if text.is_empty() {
        return quote!();
    }
    text.insert(0, " # Safety".to_string());
    quote!(#(#[doc = #text])*)
}

/// The generic type parameter of each `Callable` parameter: `F` when there is
/// one, `F1`, `F2`, ... otherwise, with its `Fn` bound.
pub(super) fn callable_generics(
    function: &typed::Function,
) -> Vec<(String, syn::Ident, TokenStream)> {
    let callables: Vec<&typed::Param> = function
        .params
        .iter()
        .filter(|p| matches!(p.ty, Type::Callable(_)))
        .collect();
    callables
        .iter()
        .enumerate()
        .map(|(index, param)| {
            let generic = if callables.len() == 1 {
                format_ident!("F")
            } else {
                format_ident!("F{}", index + 1)
            };
            let bound = match &param.ty {
                Type::Callable(callable) => fn_bound(callable),
                _ => quote!(),
            };
            (param.name.clone(), generic, bound)
        })
        .collect()
}

/// `Fn(f64) -> rt::Result<f64>` for `Callable[[float], float]`.
fn fn_bound(callable: &CallableType) -> TokenStream {
    let params = callable.params.iter().map(rust_type);
    let ret = rust_type(&callable.ret);
    quote!(Fn(#(#params),*) -> rt::Result<#ret>)
}

/// A closure over a native function with `callable`'s signature, as Rust
/// tokens; `path` prefixes the runtime module (`rt` or `crate::rt`).
pub(super) fn native_closure(
    reference: &typed::FunctionRef,
    callable: &CallableType,
    path: &TokenStream,
) -> TokenStream {
    // The parameters must not hide a compiled function named `x0`.
    let callee = match reference {
        typed::FunctionRef::Compiled(name) => ident(name).to_string(),
        _ => String::new(),
    };
    let args: Vec<syn::Ident> = (0..callable.params.len())
        .map(|i| {
            let mut arg = format!("x{i}");
            while arg == callee {
                arg.push('_');
            }
            format_ident!("{}", arg)
        })
        .collect();
    let params = args.iter().zip(&callable.params).map(|(arg, ty)| {
        let ty = rust_type(ty);
        quote!(#arg: #ty)
    });
    let body = match reference {
        typed::FunctionRef::Math(name) => {
            let name = format_ident!("{}", name);
            quote!(#path::math::#name(#(#args),*))
        }
        typed::FunctionRef::FloatMethod(name) => {
            let name = format_ident!("{}", name);
            quote!(Ok(f64::#name(#(#args),*)))
        }
        typed::FunctionRef::Compiled(name) => {
            let name = ident(name);
            quote!(#name(#(#args),*))
        }
    };
    quote!(|#(#params),*| #body)
}

pub(super) fn doc_comment(docstring: &str) -> TokenStream {
    let lines = docstring.trim().lines().map(|line| {
        let line = format!(" {}", line.trim());
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

impl FunctionGen<'_> {
    /// A name for a temporary that lives as long as the function: unlike
    /// every variable of the function, every function of the module and
    /// every earlier temporary.
    fn fresh(&mut self, base: &str) -> syn::Ident {
        let name = self.unused(base);
        self.names.insert(name.to_string());
        name
    }

    /// A name for a temporary bound inside one generated block (a fused
    /// loop's inputs, a stored value): unlike every variable of the
    /// function, every function of the module and every temporary named
    /// so far, which code inside the block may read. Blocks side by side
    /// may reuse it.
    fn unused(&self, base: &str) -> syn::Ident {
        let mut suffix = 1;
        let mut candidate = base.to_string();
        loop {
            let name = ident(&candidate);
            if !self.names.contains(&candidate) && !self.names.contains(&name.to_string()) {
                return name;
            }
            suffix += 1;
            candidate = format!("{base}_{suffix}");
        }
    }

    fn var_type(&self, name: &str) -> Type {
        self.types.get(name).cloned().unwrap_or(Type::Int)
    }

    /// The Rust type a variable is declared with (`variable_type`).
    fn declared_type(&self, name: &str) -> TokenStream {
        variable_type(self.function, name, &self.var_type(name))
    }

    /// The value a variable is declared with before its first assignment.
    fn declared_default(&self, name: &str) -> TokenStream {
        if self.function.rows.contains_key(name) || self.function.unordered_sets.contains(name) {
            quote!(Default::default())
        } else {
            default_value(&self.var_type(name))
        }
    }

    /// Emits a block. `owned` are the variables that must be declared inside
    /// it: each is declared by its first assignment when that is a plain
    /// assignment at this level, pushed into a nested block when every use is
    /// there, and otherwise declared with a default value before first use.
    fn block(
        &mut self,
        stmts: &[typed::Stmt],
        owned: &[String],
        is_function_body: bool,
    ) -> Vec<TokenStream> {
        let mut declare_at: HashMap<usize, Vec<String>> = HashMap::new();
        let mut hoist_before: HashMap<usize, Vec<String>> = HashMap::new();
        let mut pushed: HashMap<usize, Vec<String>> = HashMap::new();
        for name in owned {
            let Some(first) = stmts.iter().position(|s| stmt_mentions(s, name)) else {
                continue;
            };
            let used_later = stmts[first + 1..].iter().any(|s| stmt_mentions(s, name));
            if declares(&stmts[first], name) {
                declare_at.entry(first).or_default().push(name.clone());
            } else if !used_later && can_push_into(&stmts[first], name) {
                pushed.entry(first).or_default().push(name.clone());
            } else {
                hoist_before.entry(first).or_default().push(name.clone());
            }
        }
        let mut out = Vec::new();
        let last = stmts.len().saturating_sub(1);
        for (index, stmt) in stmts.iter().enumerate() {
            for name in hoist_before.get(&index).into_iter().flatten() {
                let rust_ty = self.declared_type(name);
                let default = self.declared_default(name);
                let var = ident(name);
                out.push(quote! { let mut #var: #rust_ty = #default; });
            }
            let declared = declare_at.get(&index).cloned().unwrap_or_default();
            let nested = pushed.get(&index).cloned().unwrap_or_default();
            let tail = is_function_body && index == last;
            out.push(self.stmt(stmt, &declared, &nested, tail));
        }
        out
    }

    fn stmt(
        &mut self,
        stmt: &typed::Stmt,
        declared: &[String],
        nested: &[String],
        tail: bool,
    ) -> TokenStream {
        match stmt {
            typed::Stmt::Assign { target, value } => {
                let assign = self.assign(target, value, declared);
                let marks = self.mark_assigned(target);
                quote!(#assign #marks)
            }
            typed::Stmt::If { test, body, orelse } => {
                if let Some(speculated) = self.speculated_if(test, body, orelse, nested) {
                    return speculated;
                }
                let test = self.expr(test).full();
                let body_nested: Vec<String> = nested
                    .iter()
                    .filter(|n| stmts_mention(body, n))
                    .cloned()
                    .collect();
                let else_nested: Vec<String> = nested
                    .iter()
                    .filter(|n| stmts_mention(orelse, n))
                    .cloned()
                    .collect();
                let body = self.block(body, &body_nested, false);
                if orelse.is_empty() {
                    quote! { if #test { #(#body)* } }
                } else if let [elif @ typed::Stmt::If { .. }] = orelse.as_slice() {
                    let elif = self.stmt(elif, &[], &else_nested, false);
                    quote! { if #test { #(#body)* } else #elif }
                } else {
                    let orelse = self.block(orelse, &else_nested, false);
                    quote! { if #test { #(#body)* } else { #(#orelse)* } }
                }
            }
            typed::Stmt::ForRange { .. } => match self.versioned_loop(stmt, declared, nested) {
                Some(versioned) => versioned,
                None => self.loop_statement(stmt, nested),
            },
            typed::Stmt::While { test, body } => {
                let parallel_continue = self.parallel_continue.take();
                let body = self.block(body, nested, false);
                self.parallel_continue = parallel_continue;
                if test.kind == ExprKind::Literal(Literal::Bool(true)) {
                    quote! { loop { #(#body)* } }
                } else {
                    let test = self.expr(test).full();
                    quote! { while #test { #(#body)* } }
                }
            }
            typed::Stmt::Assert { test, message } => {
                let test = self.expr(test).at(Prec::Unary);
                let message = message.clone().unwrap_or_default();
                quote! {
                    if !#test {
                        return Err(rt::Error::AssertionError(#message.to_string()));
                    }
                }
            }
            typed::Stmt::Raise { class, message } => {
                let message = message.clone().unwrap_or_default();
                let error = match class.as_str() {
                    "IndexError" | "ZeroDivisionError" | "ValueError" | "OverflowError"
                    | "TypeError" | "MemoryError" | "RecursionError" | "AssertionError"
                    | "KeyError" => {
                        let constructor = format_ident!("{}", class);
                        quote!(rt::Error::#constructor(#message.to_string()))
                    }
                    _ => {
                        let class = format_ident!("{}", class);
                        quote!(rt::Error::Raised(rt::RaisedClass::#class, #message.to_string()))
                    }
                };
                quote!(return Err(#error);)
            }
            typed::Stmt::Break => quote!(break;),
            typed::Stmt::Continue => match &self.parallel_continue {
                // The end of a parallel loop's iteration.
                Some(end) => end.clone(),
                None => quote!(continue;),
            },
            typed::Stmt::Return(Some(value))
                if self.tail_sum && tail_sum_parts(value, &self.function.rust_name).is_some() =>
            {
                // The loop around the body adds `e` and makes the call.
                let Some((addend, args)) = tail_sum_parts(value, &self.function.rust_name) else {
                    return quote!();
                };
                let addend = self.expr(addend).full();
                let args = self.call_args(args);
                let value = quote!(Ok(rt::Tail::Call((#addend, (#(#args,)*)))));
                if tail {
                    value
                } else {
                    quote!(return #value;)
                }
            }
            typed::Stmt::Return(Some(typed::Expr {
                kind: ExprKind::Call { function, args },
                ..
            })) if self.speculative.as_ref().is_some_and(|s| s.tail_loop)
                && function == &self.function.rust_name =>
            {
                // The speculative form's loop makes the call.
                let args = self.call_args(args);
                let params = self.function.params.iter().map(|p| ident(&p.name));
                quote! {
                    (#(#params,)*) = (#(#args,)*);
                    continue;
                }
            }
            typed::Stmt::Return(Some(typed::Expr {
                kind: ExprKind::Call { function, args },
                ..
            })) if self.tail_loop && function == &self.function.rust_name => {
                // The loop around the body makes the call.
                let args = self.call_args(args);
                let value = if self.tail_sum {
                    quote!(Ok(rt::Tail::Call((0, (#(#args,)*)))))
                } else {
                    quote!(Ok(rt::Tail::Call((#(#args,)*))))
                };
                if tail {
                    value
                } else {
                    quote!(return #value;)
                }
            }
            typed::Stmt::Return(Some(typed::Expr {
                kind: ExprKind::Call { function, args },
                ..
            })) if !self.tail_loop => {
                // `return f(x)` passes the callee's result through as it is.
                let call = self.call(function, args);
                if tail {
                    call
                } else {
                    quote!(return #call;)
                }
            }
            typed::Stmt::Return(value) => {
                let value = match value {
                    // The function ends here, so a local can be moved out.
                    Some(typed::Expr {
                        kind: ExprKind::Local(name),
                        ..
                    }) if tail
                        && !self.flags.contains_key(name)
                        && !self.function.is_parameter(name) =>
                    {
                        let var = ident(name);
                        quote!(#var)
                    }
                    Some(value) => self.owned_value(value),
                    None => quote!(()),
                };
                let value = self.returned(value);
                if tail {
                    value
                } else {
                    quote!(return #value;)
                }
            }
            typed::Stmt::Expr(expr) => {
                let code = self.expr(expr).full();
                if expr.ty == Type::None {
                    quote!(#code;)
                } else {
                    quote!(let _ = #code;)
                }
            }
        }
    }

    /// A `for` loop over a range, in one version.
    fn loop_statement(&mut self, stmt: &typed::Stmt, nested: &[String]) -> TokenStream {
        let key = std::ptr::from_ref(stmt) as usize;
        // A function on a call-graph cycle carries its recursion frame, which
        // belongs to the calling thread: its loops run serially.
        let cyclic = self.cycles.is_cyclic(&self.function.rust_name);
        match self.facts.and_then(|f| f.parallel_plan(key)) {
            _ if cyclic => {}
            Some(Plan::Parallel(plan)) if self.parallel_continue.is_none() => {
                return self.parallel_loop(stmt, nested, plan, 2, None, Exactness::Prange);
            }
            // Only in the loop version where the proof that nothing raises
            // holds (its shape and layout tests passed).
            Some(Plan::Auto(auto))
                if self.parallel_continue.is_none()
                    && auto.needs_shapes.iter().all(|k| self.assumed.contains(k))
                    && auto
                        .needs_layout
                        .iter()
                        .all(|k| self.contiguous.contains(k)) =>
            {
                return self.parallel_loop(
                    stmt,
                    nested,
                    &auto.parallel,
                    auto.min_iterations,
                    auto.work.as_ref(),
                    if auto.speculative {
                        Exactness::Attempt
                    } else {
                        Exactness::Exact
                    },
                );
            }
            _ => {}
        }
        self.serial_loop(stmt, nested)
    }

    /// A `prange` loop proven free of races: its iterations run on the
    /// runtime's thread pool (`rt::parallel_loop`), each returning its
    /// contribution to the loop's reductions; private scalars are declared
    /// inside the iteration. When two of the arrays it uses may be one
    /// array (a run-time test of their memory), it runs serially instead.
    ///
    /// With `exact` (a loop that parallelises by itself: nothing in it
    /// raises and its reductions are exact in any order), the serial
    /// version is the parallel version's chunk closure called once over all
    /// the iterations, so the body is compiled once, when the loop is inside
    /// no other loop, unless a loop in its body may run in parallel itself
    /// when this one does not, or it keeps accumulators in lanes when
    /// serial.
    fn parallel_loop(
        &mut self,
        stmt: &typed::Stmt,
        nested: &[String],
        plan: &Parallel,
        min_iterations: u64,
        work: Option<&Work>,
        exactness: Exactness,
    ) -> TokenStream {
        let exact = exactness != Exactness::Prange;
        let attempt = exactness == Exactness::Attempt;
        let typed::Stmt::ForRange {
            var,
            start,
            stop,
            step,
            body,
            ..
        } = stmt
        else {
            return quote!();
        };
        let key = std::ptr::from_ref(stmt) as usize;
        let work_tokens = work.and_then(|work| self.work_tokens(body, work));
        // The bounds are evaluated once, into temporaries both versions use.
        let range_var = self.fresh("range");
        let (start_var, stop_var, step_var) =
            (self.fresh("start"), self.fresh("stop"), self.fresh("step"));
        let step_literal = step_literal(step.as_ref());
        let (start, stop) = (self.expr(start).full(), self.expr(stop).full());
        let step = match step {
            Some(step) => self.expr(step).full(),
            None => quote!(1),
        };
        // A loop whose serial version keeps accumulators in lanes keeps that
        // version.
        let in_lanes = self.facts.and_then(|f| f.lane_plan(key)).is_some();
        // Only for a loop that starts once per call: the chunk closure takes
        // its own handles of the arrays it reads (reference counts), which a
        // short loop inside another loop would pay on every start.
        let once_per_call = self.outermost_loops.contains(&key);
        // An attempt falls back on the serial loop itself, which starts its
        // reductions from their values before the loop, as Python does.
        let serial_by_chunk =
            exact && !attempt && once_per_call && !in_lanes && !self.has_parallel_loop(body);
        // The serial version: a plain Rust loop where it can be one.
        let serial = if serial_by_chunk {
            quote!()
        } else {
            let serial_range = match step_literal {
                Some(k) if k >= 1 => rust_range(quote!(#start_var), quote!(#stop_var), k),
                _ => quote!(#range_var.clone()),
            };
            // Appends to a list no one else can hold push onto the list's
            // own vector, taken for the loop (with the room `list_reserve`
            // made) and given back after it (a raise drops both): no one
            // reads the list meanwhile. (No loop inside one that collects
            // runs in parallel, so none collects the same list.)
            let mut buffers = Vec::new();
            for name in &plan.collected {
                let buffer = self.fresh(&format!("{name}_appended"));
                let item = item_type(&self.var_type(name));
                let list = self.read_local(name, &self.var_type(name));
                self.collecting.insert(name.clone(), buffer.clone());
                buffers.push((
                    quote!(let mut #buffer: Vec<#item> = rt::list_take_items(&#list);),
                    quote!(rt::list_restore_items(&#list, #buffer);),
                ));
            }
            let serial_loop = self.serial_loop_over(stmt, nested, Some(serial_range));
            for name in &plan.collected {
                self.collecting.remove(name);
            }
            if buffers.is_empty() {
                serial_loop
            } else {
                let starts = buffers.iter().map(|(start, _)| start);
                let ends = buffers.iter().map(|(_, end)| end);
                quote! {
                    #(#starts)*
                    #serial_loop
                    #(#ends)*
                }
            }
        };
        // Reductions: each iteration starts from the identity and returns
        // its contribution.
        let reductions: Vec<(syn::Ident, Type, ReductionOp)> = plan
            .reductions
            .iter()
            .map(|r| (ident(&r.var), self.var_type(&r.var), r.op))
            .collect();
        let identities: Vec<TokenStream> = reductions
            .iter()
            .map(|(_, ty, op)| reduction_identity(ty, *op))
            .collect();
        let mut parts: Vec<TokenStream> = reductions
            .iter()
            .map(|(name, _, _)| quote!(#name))
            .collect();
        let mut types: Vec<TokenStream> =
            reductions.iter().map(|(_, ty, _)| rust_type(ty)).collect();
        let mut all_identities = identities.clone();
        let (left, right) = (self.fresh("left"), self.fresh("right"));
        let mut combined: Vec<TokenStream> = reductions
            .iter()
            .enumerate()
            .map(|(k, (_, ty, op))| {
                let k = TokenLiteral::usize_unsuffixed(k);
                reduction_combine(ty, *op, quote!(#left.#k), quote!(#right.#k))
            })
            .collect();
        // Lists of counts: each chunk's own counts, added element by element.
        let histograms: Vec<syn::Ident> = plan.histograms.iter().map(|h| ident(h)).collect();
        for (j, name) in histograms.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(reductions.len() + j);
            parts.push(quote!(rt::histogram_counts(&#name)));
            types.push(quote!(Vec<i64>));
            all_identities.push(quote!(Vec::new()));
            combined.push(quote!(rt::histogram_add(#left.#k, #right.#k)?));
        }
        // Lists appended to: each chunk's own items, joined in chunk order.
        let collected: Vec<(syn::Ident, TokenStream, syn::Ident)> = plan
            .collected
            .iter()
            .map(|name| {
                let item = item_type(&self.var_type(name));
                (ident(name), item, self.fresh(&format!("{name}_appended")))
            })
            .collect();
        for (j, (_, item, buffer)) in collected.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(reductions.len() + histograms.len() + j);
            parts.push(quote!(#buffer));
            types.push(quote!(Vec<#item>));
            all_identities.push(quote!(Vec::new()));
            combined.push(quote!(rt::collected_join(#left.#k, #right.#k)));
        }
        // Dicts counted into: each chunk's own counts, in its insertion
        // order, joined in chunk order.
        let tallies: Vec<(syn::Ident, TokenStream)> = plan
            .tallies
            .iter()
            .map(|name| {
                let key = match self.var_type(name) {
                    Type::Dict(key, _) => rust_type(&key),
                    other => rust_type(&other),
                };
                (ident(name), key)
            })
            .collect();
        let first_tally = reductions.len() + histograms.len() + collected.len();
        for (j, (name, key)) in tallies.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(first_tally + j);
            parts.push(quote!(rt::tally_counts(&#name)));
            types.push(quote!(Vec<(#key, i64)>));
            all_identities.push(quote!(Vec::new()));
            combined.push(quote!(rt::collected_join(#left.#k, #right.#k)));
        }
        let tuple = quote!((#(#parts,)*));
        let tuple_type = quote!((#(#types,)*));
        let identity = quote!((#(#all_identities,)*));
        let has_parts = !parts.is_empty();
        // Private scalars and reductions shadow any function-level
        // variable of the same name inside the iteration; their "assigned"
        // flags do not apply there (each is assigned before it is read).
        let shadowed: Vec<String> = plan
            .private
            .iter()
            .chain(plan.reductions.iter().map(|r| &r.var))
            .cloned()
            .collect();
        let saved_flags: Vec<(String, syn::Ident)> = shadowed
            .iter()
            .filter_map(|name| self.flags.remove(name).map(|flag| (name.clone(), flag)))
            .collect();
        let declarations: Vec<TokenStream> = plan
            .private
            .iter()
            .map(|name| {
                let var = ident(name);
                let ty = self.var_type(name);
                let rust = rust_type(&ty);
                if plan.list_aliases.contains(name) {
                    // Bound only to lists lent to the loop.
                    let item = item_type(&ty);
                    quote!(let mut #var: rt::SharedList<#item> = rt::SharedList::default();)
                } else if matches!(ty, Type::Array(_)) {
                    // Assigned before any read in every iteration (the
                    // analysis's proof, which Rust's checks repeat).
                    quote!(let mut #var: #rust;)
                } else {
                    let value = default_value(&ty);
                    quote!(let mut #var: #rust = #value;)
                }
            })
            .collect();
        let reduction_starts: Vec<TokenStream> = reductions
            .iter()
            .zip(&identities)
            .map(|((name, ty, _), identity)| {
                let rust = rust_type(ty);
                quote!(let mut #name: #rust = #identity;)
            })
            .collect();
        let index = self.fresh("iteration");
        let iteration_range = self.fresh("iterations");
        let binding = match var {
            // A constant step stays a constant in the chunk's loop, so the
            // loop variable is an induction variable LLVM can see through
            // (the chunk is compiled inside the pool's generic code, where
            // the captured range's fields are unknown). The value lies
            // between the range's first and last value: no overflow.
            Some(name) => {
                let var = ident(name);
                match step_literal {
                    Some(1) => quote!(let #var = #start_var.wrapping_add(#index as i64);),
                    Some(k) => {
                        let k = int_literal(k);
                        quote!(let #var = #start_var.wrapping_add((#index as i64).wrapping_mul(#k));)
                    }
                    None => quote!(let #var = #iteration_range.value_at(#index);),
                }
            }
            None => quote!(),
        };
        let clone_range = match (var, step_literal) {
            (Some(_), None) => quote!(let #iteration_range = #range_var.clone();),
            _ => quote!(),
        };
        let mut body_owned: Vec<String> = nested.to_vec();
        body_owned.retain(|n| Some(n) != var.as_ref());
        for name in &plan.private {
            body_owned.retain(|n| n != name);
        }
        // Array locals the iterations read (elements, sizes or whole).
        let mut read_arrays: Vec<String> = Vec::new();
        for inner in body {
            inner.walk_exprs(&mut |e| {
                // Arrays, and tuples holding arrays: what `move` would
                // otherwise take from the function.
                if let ExprKind::Local(name) = &e.kind {
                    if !is_copy(&e.ty) && !matches!(e.ty, Type::Callable(_)) {
                        read_arrays.push(name.clone());
                    }
                }
            });
        }
        read_arrays.sort();
        read_arrays.dedup();
        // Arrays made in each iteration are the iteration's own; lists the
        // loop reads are lent to it.
        read_arrays.retain(|name| {
            !stmts_assign(body, name)
                && !plan.shared_lists.contains(name)
                && !plan.list_aliases.contains(name)
                && !plan.histograms.contains(name)
                && !plan.collected.contains(name)
                && !plan.tallies.contains(name)
        });
        let previous = self.parallel_continue.replace(quote!(return Ok(());));
        // Each chunk appends to a vector of its own.
        for (name, _, buffer) in &collected {
            self.collecting.insert(name.to_string(), buffer.clone());
        }
        let body = self.block(body, &body_owned, false);
        for name in &plan.collected {
            self.collecting.remove(name);
        }
        self.parallel_continue = previous;
        for (name, flag) in saved_flags {
            self.flags.insert(name, flag);
        }
        let total = self.fresh("total");
        let merge: Vec<TokenStream> = reductions
            .iter()
            .enumerate()
            .map(|(k, (name, ty, op))| {
                let k = TokenLiteral::usize_unsuffixed(k);
                let outer = self.read_local(&name.to_string(), ty);
                let value = reduction_combine(ty, *op, outer, quote!(#total.#k));
                let mark = self
                    .flags
                    .get(&name.to_string())
                    .map(|flag| quote!(#flag = true;));
                quote! { #name = #value; #mark }
            })
            .collect();
        // The loop variable keeps its last value after the loop, as in
        // Python, when code after the loop can read it.
        let last = match var {
            Some(name) if !nested.contains(name) => {
                let var_ident = ident(name);
                let mark = self.flags.get(name).map(|flag| quote!(#flag = true;));
                quote! {
                    if #range_var.iterations() > 0 {
                        #var_ident = #range_var.value_at(#range_var.iterations() - 1);
                        #mark
                    }
                }
            }
            _ => quote!(),
        };
        let merged = if merge.is_empty() {
            quote!()
        } else {
            quote! {
                if #range_var.iterations() > 0 {
                    #(#merge)*
                }
            }
        };
        // The iteration closure owns what it reads (array locals as cheap
        // clones, references and numbers as copies), so no local of the
        // function has its address taken: the serial version beside it
        // optimises as if the parallel one were not there.
        // (Array parameters are references already; other parameters, such
        // as tuples of any length, are values the closure must not move.)
        let by_reference = |this: &Self, name: &str| {
            this.is_param(name) && matches!(this.var_type(name), Type::Array(_))
        };
        let mut owned_arrays: Vec<TokenStream> = read_arrays
            .iter()
            .filter(|name| !by_reference(self, name) && !plan.private.contains(name))
            .map(|name| {
                let var = ident(name);
                let read = self.read_local(name, &self.var_type(name));
                quote!(let #var = #read.clone();)
            })
            .collect();
        // The elements of each list the iterations read, borrowed on this
        // thread for the loop and lent to every chunk: nothing changes the
        // list while the loop runs (its iterations only read it).
        let mut lent_lists: Vec<TokenStream> = Vec::new();
        for name in &plan.shared_lists {
            let ty = self.var_type(name);
            let item = item_type(&ty);
            let read = self.read_local(name, &ty);
            let (guard, items) = (
                self.fresh(&format!("{name}_lent")),
                self.fresh(&format!("{name}_items")),
            );
            owned_arrays.push(quote! {
                let #guard = rt::list_lend(&#read);
                let #items: &[#item] = &#guard;
            });
            let var = ident(name);
            lent_lists.push(quote!(let #var = rt::SharedList::new(#items);));
        }
        // Each chunk counts into a zeroed list of the counts' length.
        for name in &plan.histograms {
            let outer = self.read_local(name, &Type::List(Box::new(Type::Int)));
            let length = self.fresh(&format!("{name}_length"));
            owned_arrays.push(quote!(let #length: usize = rt::list_len(&#outer) as usize;));
            let var = ident(name);
            lent_lists
                .push(quote!(let #var: rt::List<i64> = rt::List::from_vec(vec![0; #length]);));
        }
        // ... and appends to an empty list of its own.
        for (_, item, buffer) in &collected {
            lent_lists.push(quote!(let mut #buffer: Vec<#item> = Vec::new();));
        }
        // ... and counts into an empty dict of its own.
        for (name, key) in &tallies {
            lent_lists
                .push(quote!(let #name: rt::Dict<#key, i64> = rt::Dict::from_pairs(Vec::new());));
        }
        // Each chunk reads the arrays through handles of its own: a handle
        // on the chunk's stack, which nothing else can reach, lets the
        // optimiser keep its data pointer and strides in registers across
        // the element stores (read through the closure's captures, they
        // would be loaded again after every store, and the loop would not
        // vectorise).
        let chunk_arrays: Vec<TokenStream> = read_arrays
            .iter()
            .filter(|name| !plan.private.contains(name))
            .map(|name| {
                let var = ident(name);
                let read = self.read_local(name, &self.var_type(name));
                if by_reference(self, name) {
                    quote!(let #var = &#read.clone();)
                } else {
                    quote!(let #var = #read.clone();)
                }
            })
            .collect();
        // In a function on a call-graph cycle, each iteration counts its
        // calls' frames from the loop's depth, on the thread that runs it.
        let (share, iteration) = match self.frame.clone() {
            Some(frame) => {
                let depth = self.fresh("depth");
                (
                    quote!(let #depth = #frame.share();),
                    quote! {
                        rt::resume_cycle(#depth, |#frame| -> rt::Result<()> {
                            #(#declarations)*
                            #(#body)*
                            Ok(())
                        })
                    },
                )
            }
            None => (
                quote!(),
                quote! {
                    #(#declarations)*
                    #(#body)*
                    Ok(())
                },
            ),
        };
        // Each chunk runs its iterations in one loop, its reductions
        // accumulating from the identity as in the serial loop; an error
        // ends the chunk with the iteration that raised it.
        let (chunk, part, error) = (self.fresh("chunk"), self.fresh("part"), self.fresh("error"));
        let chunk_loop = match (var, step_literal) {
            // With step 1 the chunk counts the loop variable itself, as the
            // serial loop does: LLVM then turns `i * k` into an addition per
            // iteration (counted from the iteration number, the product
            // stays a multiply in every lane).
            (Some(name), Some(1)) => {
                let var = ident(name);
                let (first, last) = (self.fresh("first"), self.fresh("last"));
                quote! {
                    let #first = #start_var.wrapping_add(#chunk.start as i64);
                    let #last = #start_var.wrapping_add(#chunk.end as i64);
                    for #var in #first..#last {
                        let #part = (|| -> rt::Result<()> {
                            #iteration
                        })();
                        if let Err(#error) = #part {
                            return Err((#var.wrapping_sub(#start_var) as u64, #error));
                        }
                    }
                }
            }
            _ => quote! {
                for #index in #chunk {
                    let #part = (|| -> rt::Result<()> {
                        #binding
                        #iteration
                    })();
                    if let Err(#error) = #part {
                        return Err((#index, #error));
                    }
                }
            },
        };
        let chunk_closure = quote! {
            move |#chunk: std::ops::Range<u64>| -> Result<#tuple_type, (u64, rt::Error)> {
                #(#chunk_arrays)*
                #(#lent_lists)*
                #(#reduction_starts)*
                #chunk_loop
                Ok(#tuple)
            }
        };
        let combine = quote! {
            |#left: #tuple_type, #right: #tuple_type| -> rt::Result<#tuple_type> {
                Ok((#(#combined,)*))
            }
        };
        // A loop without reductions has no parts to combine.
        let parallel_call = |chunk: TokenStream| {
            if reductions.is_empty() {
                quote!(rt::parallel_for(#range_var.iterations(), #chunk)?)
            } else {
                quote!(rt::parallel_loop(#range_var.iterations(), || #identity, #chunk, #combine)?)
            }
        };
        // An attempt's merged reductions, assigned once all are computed.
        let mut merged_values: Vec<TokenStream> = reductions
            .iter()
            .enumerate()
            .map(|(k, (name, ty, op))| {
                let k = TokenLiteral::usize_unsuffixed(k);
                let outer = self.read_local(&name.to_string(), ty);
                reduction_combine(ty, *op, outer, quote!(#total.#k))
            })
            .collect();
        let mut assigned: Vec<TokenStream> = reductions
            .iter()
            .enumerate()
            .map(|(k, (name, _, _))| {
                let k = TokenLiteral::usize_unsuffixed(k);
                let mark = self
                    .flags
                    .get(&name.to_string())
                    .map(|flag| quote!(#flag = true;));
                quote! { #name = #total.#k; #mark }
            })
            .collect();
        for (j, name) in histograms.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(reductions.len() + j);
            let outer = self.read_local(&name.to_string(), &Type::List(Box::new(Type::Int)));
            merged_values.push(quote!(rt::histogram_sum(&#outer, #total.#k)?));
            assigned.push(quote!(rt::histogram_store(&#outer, #total.#k);));
        }
        for (j, (name, _, _)) in collected.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(reductions.len() + histograms.len() + j);
            merged_values.push(quote!(#total.#k));
            let list = self.read_local(&name.to_string(), &self.var_type(&name.to_string()));
            assigned.push(quote!(rt::list_extend_items(&#list, #total.#k);));
        }
        for (j, (name, _)) in tallies.iter().enumerate() {
            let k = TokenLiteral::usize_unsuffixed(first_tally + j);
            let ty = self.var_type(&name.to_string());
            let outer = self.read_local(&name.to_string(), &ty);
            merged_values.push(quote!(rt::tally_sum(&#outer, #total.#k)?));
            assigned.push(quote!(rt::tally_store(&#outer, #total.#k);));
        }
        let done = self.fresh("done");
        let run = |in_parallel: TokenStream| {
            if serial_by_chunk {
                let run_chunk = format_ident!("run_{}", chunk);
                let threads = format_ident!("threads_{}", chunk);
                let parallel_call = parallel_call(quote!(&#run_chunk));
                quote! {
                    // Decided before the closure takes the arrays it reads.
                    let #threads: bool = #in_parallel;
                    #clone_range
                    #(#owned_arrays)*
                    #share
                    let #run_chunk = #chunk_closure;
                    let #total: #tuple_type = if #threads {
                        #parallel_call
                    } else {
                        #run_chunk(0..#range_var.iterations()).map_err(|(_, #error)| #error)?
                    };
                    #merged
                    #last
                }
            } else if attempt {
                // The parts merge into the reductions only when every one
                // succeeded and every merge did: otherwise nothing of the
                // attempt is kept and the loop runs serially.
                let attempt_call = if !has_parts {
                    quote!(rt::parallel_for(#range_var.iterations(), #chunk_closure))
                } else {
                    // Dicts of counts merge in proportion to their number:
                    // one chunk per thread.
                    let function = if plan.tallies.is_empty() {
                        quote!(rt::parallel_loop)
                    } else {
                        quote!(rt::parallel_loop_even)
                    };
                    quote!(#function(#range_var.iterations(), || #identity, #chunk_closure, #combine))
                };
                let merge = if !has_parts {
                    quote!(#attempt_call.is_ok())
                } else {
                    quote! {
                        match #attempt_call.and_then(|#total: #tuple_type| -> rt::Result<#tuple_type> {
                            Ok((#(#merged_values,)*))
                        }) {
                            Ok(#total) => {
                                if #range_var.iterations() > 0 {
                                    #(#assigned)*
                                }
                                true
                            }
                            Err(_) => false,
                        }
                    }
                };
                let finish = if last.is_empty() {
                    quote!(if !#done { #serial })
                } else {
                    quote!(if #done { #last } else { #serial })
                };
                quote! {
                    let #done: bool = #in_parallel && {
                        #clone_range
                        #(#owned_arrays)*
                        #share
                        #merge
                    };
                    #finish
                }
            } else {
                let parallel_call = parallel_call(chunk_closure.clone());
                quote! {
                    if #in_parallel {
                        #clone_range
                        #(#owned_arrays)*
                        #share
                        let #total: #tuple_type = #parallel_call;
                        #merged
                        #last
                    } else {
                        #serial
                    }
                }
            }
        };
        let alone = plan.written.len() == 1 && plan.used.iter().all(|n| plan.written.contains(n));
        let worthwhile = match work_tokens {
            Some(work) => quote!(rt::parallel_work_worthwhile(#range_var.iterations(), #work)),
            None => quote!(rt::parallel_worthwhile(#range_var.iterations(), #min_iterations)),
        };
        let worthwhile = if plan.calls_arguments {
            quote!(#worthwhile && rt::arguments_run_without_gil())
        } else {
            worthwhile
        };
        let worthwhile = match self.hoisted_decisions.get(&key) {
            Some(decision) => quote!(#decision),
            None => worthwhile,
        };
        let guarded = if plan.written.is_empty() || alone {
            run(worthwhile)
        } else {
            let memory = |names: &[&String], this: &Self| -> Vec<TokenStream> {
                names
                    .iter()
                    .map(|name| {
                        let array = this.read_local(name, &this.var_type(name));
                        quote!(#array.memory())
                    })
                    .collect()
            };
            let written: Vec<&String> = plan.written.iter().collect();
            let others: Vec<&String> = plan
                .used
                .iter()
                .filter(|n| !plan.written.contains(n))
                .collect();
            let written = memory(&written, self);
            let others = memory(&others, self);
            run(quote!(#worthwhile && rt::no_shared_memory(&[#(#written),*], &[#(#others),*])))
        };
        quote! {
            {
                let #start_var: i64 = #start;
                let #stop_var: i64 = #stop;
                let #step_var: i64 = #step;
                let #range_var = rt::range(#start_var, #stop_var, #step_var)?;
                #guarded
            }
        }
    }

    /// Whether a loop among `stmts` (at any depth) may run in parallel.
    fn has_parallel_loop(&self, stmts: &[typed::Stmt]) -> bool {
        stmts.iter().any(|stmt| match stmt {
            typed::Stmt::If { body, orelse, .. } => {
                self.has_parallel_loop(body) || self.has_parallel_loop(orelse)
            }
            typed::Stmt::ForRange { body, .. } => {
                let key = std::ptr::from_ref(stmt) as usize;
                matches!(
                    self.facts.and_then(|f| f.parallel_plan(key)),
                    Some(Plan::Parallel(_) | Plan::Auto(_))
                ) || self.has_parallel_loop(body)
            }
            typed::Stmt::While { body, .. } => self.has_parallel_loop(body),
            _ => false,
        })
    }

    /// The arguments of `rt::parallel_work_worthwhile` after the count:
    /// the work of an iteration, with the trip counts of the inner loops of
    /// `work` (statements of `body`), and the least work worth the threads.
    /// `None` when evaluating a bound before the loop could be observed
    /// (it may raise: an unbound variable, an `int` that may overflow),
    /// which only the loop itself may do.
    fn work_tokens(&mut self, body: &[typed::Stmt], work: &Work) -> Option<TokenStream> {
        let mut terms = Vec::new();
        for (key, cost) in &work.inner {
            let Some(typed::Stmt::ForRange { start, stop, .. }) = body
                .iter()
                .find(|s| std::ptr::from_ref(*s) as usize == *key)
            else {
                return None;
            };
            if !(self.order_free(start) && self.order_free(stop)) {
                return None;
            }
            let (start, stop) = (self.expr(start).full(), self.expr(stop).full());
            terms.push(quote!(.saturating_add(rt::trips(#start, #stop).saturating_mul(#cost))));
        }
        let (base, min_work) = (work.base, work.min_work);
        Some(quote!(#base #(#terms)*, #min_work))
    }

    fn serial_loop(&mut self, stmt: &typed::Stmt, nested: &[String]) -> TokenStream {
        self.serial_loop_over(stmt, nested, None)
    }

    /// The loop as a Rust `for`; `range` replaces the iterator made from the
    /// loop's bounds when they were evaluated already.
    fn serial_loop_over(
        &mut self,
        stmt: &typed::Stmt,
        nested: &[String],
        range: Option<TokenStream>,
    ) -> TokenStream {
        let typed::Stmt::ForRange {
            var,
            start,
            stop,
            step,
            body,
            ..
        } = stmt
        else {
            return quote!();
        };
        let key = std::ptr::from_ref(stmt) as usize;
        let lanes = match (&range, self.facts.and_then(|f| f.lane_plan(key))) {
            (None, Some(plan))
                if plan
                    .accumulators
                    .iter()
                    .all(|a| !self.flags.contains_key(&a.name)) =>
            {
                Some(plan.accumulators.clone())
            }
            _ => None,
        };
        if let Some(accumulators) = lanes {
            return self.lane_loop(stmt, nested, &accumulators);
        }
        let range = match range {
            Some(range) => range,
            None => self.range(start, stop, step.as_ref()),
        };
        let (binding, prelude, body_owned) = self.loop_binding(var.as_deref(), body, nested);
        let decisions = self.hoist_parallel_decisions(var.as_deref(), body);
        let views = self.element_views(var.as_deref(), body);
        // `continue` in a nested loop continues that loop.
        let parallel_continue = self.parallel_continue.take();
        let body = self.block(body, &body_owned, false);
        self.parallel_continue = parallel_continue;
        let mut hoisted = Vec::new();
        for (key, decision, value) in decisions {
            self.hoisted_decisions.remove(&key);
            hoisted.push(quote! { let #decision: bool = #value; });
        }
        for (array, view) in views {
            self.element_views.remove(&array);
            let array = ident(&array);
            hoisted.push(quote! { let #view = #array.elements(); });
        }
        quote! {
            #(#hoisted)*
            for #binding in #range {
                #prelude
                #(#body)*
            }
        }
    }

    /// For an innermost loop (no loop statement in its body), the arrays it
    /// reads or stores without index checks and does not rebind, each with
    /// the name of the `rt::Elements` view the loop goes through instead
    /// (registered in `element_views` while the body is generated; the
    /// caller binds them before the loop and removes them). Through the
    /// view, a plain local, LLVM keeps the array's pointer and strides in
    /// registers and can vectorise the loop; through the array, which may
    /// sit in memory the loop's stores could reach, it reloads them on
    /// every iteration. The array stays bound and unchanged while the loop
    /// runs, so its memory outlives the view's use.
    fn element_views(
        &mut self,
        var: Option<&str>,
        body: &[typed::Stmt],
    ) -> Vec<(String, syn::Ident)> {
        fn has_loop(stmts: &[typed::Stmt]) -> bool {
            stmts.iter().any(|stmt| match stmt {
                typed::Stmt::ForRange { .. } | typed::Stmt::While { .. } => true,
                typed::Stmt::If { body, orelse, .. } => has_loop(body) || has_loop(orelse),
                _ => false,
            })
        }
        fn stored<'s>(target: &'s typed::Target, out: &mut Vec<&'s typed::Expr>) {
            match target {
                typed::Target::Index { array, .. } => out.push(array),
                typed::Target::Tuple(items) => items.iter().for_each(|t| stored(t, out)),
                _ => {}
            }
        }
        fn collect<'s>(stmts: &'s [typed::Stmt], out: &mut Vec<&'s typed::Expr>) {
            for stmt in stmts {
                stmt.for_each_expr(&mut |e| {
                    e.walk(&mut |e| {
                        if let ExprKind::Index { array, .. } = &e.kind {
                            out.push(array);
                        }
                    })
                });
                if let typed::Stmt::Assign { target, .. } = stmt {
                    stored(target, out);
                }
                if let typed::Stmt::If { body, orelse, .. } = stmt {
                    collect(body, out);
                    collect(orelse, out);
                }
            }
        }
        if has_loop(body) {
            return Vec::new();
        }
        let mut arrays = Vec::new();
        collect(body, &mut arrays);
        let mut views: Vec<(String, syn::Ident)> = Vec::new();
        for array in arrays {
            let ExprKind::Local(name) = &array.kind else {
                continue;
            };
            // A variable that may be read unassigned is read through its
            // flag, which a view taken before the loop would skip.
            if self.proven(array) == Unchecked::No
                || self.flags.contains_key(name)
                || var == Some(name.as_str())
                || count_assignments(body, name) > 0
                || self.element_views.contains_key(name)
                || views.iter().any(|(n, _)| n == name)
            {
                continue;
            }
            let view = self.fresh(&format!("{name}_elements"));
            views.push((name.clone(), view));
        }
        for (name, view) in &views {
            self.element_views.insert(name.clone(), view.clone());
        }
        views
    }

    /// The parallel loops directly in the body of a serial loop (inside
    /// `if`s, not inside other loops) whose decision to use the threads
    /// depends on nothing the loop changes and cannot raise: the decision
    /// is made once, before the loop, instead of on each of its iterations
    /// (a row loop around short parallel-capable column loops). Registers
    /// each in `hoisted_decisions` (the caller removes them once the body
    /// is generated) and returns the loop, the variable and its value.
    fn hoist_parallel_decisions(
        &mut self,
        var: Option<&str>,
        body: &[typed::Stmt],
    ) -> Vec<(usize, syn::Ident, TokenStream)> {
        let mut decisions = Vec::new();
        // Inside a parallel iteration, or in a function that counts frames,
        // loops run serially.
        if self.parallel_continue.is_some() || self.cycles.is_cyclic(&self.function.rust_name) {
            return decisions;
        }
        let mut candidates = Vec::new();
        fn collect<'s>(stmts: &'s [typed::Stmt], out: &mut Vec<&'s typed::Stmt>) {
            for stmt in stmts {
                match stmt {
                    typed::Stmt::ForRange { .. } => out.push(stmt),
                    typed::Stmt::If { body, orelse, .. } => {
                        collect(body, out);
                        collect(orelse, out);
                    }
                    _ => {}
                }
            }
        }
        collect(body, &mut candidates);
        let invariant = |expr: &typed::Expr| {
            let mut changed = false;
            expr.walk(&mut |e| {
                if let ExprKind::Local(name) = &e.kind {
                    changed |= var == Some(name.as_str()) || stmts_assign(body, name);
                }
            });
            !changed
        };
        for stmt in candidates {
            let typed::Stmt::ForRange {
                start,
                stop,
                step,
                body: inner,
                ..
            } = stmt
            else {
                continue;
            };
            let key = std::ptr::from_ref(stmt) as usize;
            let (plan, min_iterations, work) = match self.facts.and_then(|f| f.parallel_plan(key)) {
                Some(Plan::Parallel(plan)) => (plan, 2, None),
                Some(Plan::Auto(auto)) => (&auto.parallel, auto.min_iterations, auto.work.as_ref()),
                _ => continue,
            };
            let unit_step = step_literal(step.as_ref()) == Some(1);
            if !unit_step
                || ![start, stop]
                    .iter()
                    .all(|e| invariant(e) && self.order_free(e))
            {
                continue;
            }
            if let Some(work) = work {
                let bounds_invariant = work.inner.iter().all(|(key, _)| {
                    inner.iter().any(|s| match s {
                        typed::Stmt::ForRange { start, stop, .. }
                            if std::ptr::from_ref(s) as usize == *key =>
                        {
                            invariant(start) && invariant(stop)
                        }
                        _ => false,
                    })
                });
                if !bounds_invariant {
                    continue;
                }
            }
            let calls_arguments = plan.calls_arguments;
            let work_tokens = work.and_then(|work| self.work_tokens(inner, work));
            if work.is_some() && work_tokens.is_none() {
                continue;
            }
            let (start, stop) = (self.expr(start).full(), self.expr(stop).full());
            let count = quote!(rt::trips(#start, #stop));
            let value = match work_tokens {
                Some(work) => quote!(rt::parallel_work_worthwhile(#count, #work)),
                None => quote!(rt::parallel_worthwhile(#count, #min_iterations)),
            };
            let value = if calls_arguments {
                quote!(#value && rt::arguments_run_without_gil())
            } else {
                value
            };
            let decision = self.fresh("in_parallel");
            self.hoisted_decisions.insert(key, decision.clone());
            decisions.push((key, decision, value));
        }
        decisions
    }

    /// How a serial loop binds its variable: the pattern, the statements
    /// at the top of each iteration, and the names the body declares. The
    /// variable binds directly when it is not used after the loop;
    /// otherwise the function-level variable is updated each iteration so
    /// it keeps its last value, as in Python.
    fn loop_binding(
        &mut self,
        var: Option<&str>,
        body: &[typed::Stmt],
        nested: &[String],
    ) -> (TokenStream, TokenStream, Vec<String>) {
        match var {
            None => (quote!(_), quote!(), nested.to_vec()),
            Some(name) if nested.iter().any(|n| n == name) => {
                let var = ident(name);
                let binding = if stmts_assign(body, name) {
                    quote!(mut #var)
                } else {
                    quote!(#var)
                };
                let owned = nested.iter().filter(|n| *n != name).cloned().collect();
                (binding, quote!(), owned)
            }
            Some(name) => {
                let var = ident(name);
                let fresh = self.fresh(&format!("{name}_value"));
                let mark = self.flags.get(name).map(|flag| quote!(#flag = true;));
                (
                    quote!(#fresh),
                    quote! { #var = #fresh; #mark },
                    nested.to_vec(),
                )
            }
        }
    }

    /// A loop whose min/max accumulators run in lanes (the lane analysis,
    /// `rt::lanes`): blocks of `rt::lanes::WIDTH` iterations, each
    /// iteration of a block updating its own lane of every accumulator;
    /// then the lanes fold into the accumulators and the iterations left
    /// run as the plain loop. Iterations still run in order.
    fn lane_loop(
        &mut self,
        stmt: &typed::Stmt,
        nested: &[String],
        accumulators: &[lanes::Accumulator],
    ) -> TokenStream {
        let typed::Stmt::ForRange {
            var,
            start,
            stop,
            body,
            ..
        } = stmt
        else {
            return quote!();
        };
        let next = self.fresh("lane_next");
        let stop_ident = self.fresh("lane_stop");
        let lane = self.fresh("lane");
        let start = self.expr(start).full();
        let stop = self.expr(stop).full();
        let names: Vec<syn::Ident> = accumulators.iter().map(|a| ident(&a.name)).collect();
        let arrays: Vec<syn::Ident> = accumulators
            .iter()
            .map(|a| self.fresh(&format!("{}_lanes", a.name)))
            .collect();
        let folds: Vec<TokenStream> = accumulators
            .iter()
            .map(|a| match a.extreme {
                lanes::Extreme::Min => quote!(rt::lanes::min),
                lanes::Extreme::Max => quote!(rt::lanes::max),
            })
            .collect();
        let (binding, prelude, body_owned) = self.loop_binding(var.as_deref(), body, nested);
        let parallel_continue = self.parallel_continue.take();
        let lane_body = self.block(body, &body_owned, false);
        let rest_body = self.block(body, &body_owned, false);
        self.parallel_continue = parallel_continue;
        quote! {
            {
                let mut #next: i64 = #start;
                let #stop_ident: i64 = #stop;
                #(let mut #arrays = [#names; rt::lanes::WIDTH];)*
                while rt::lanes::block_fits(#next, #stop_ident) {
                    for #lane in 0..rt::lanes::WIDTH {
                        let #binding = #next + #lane as i64;
                        #prelude
                        #(let mut #names = #arrays[#lane];)*
                        #(#lane_body)*
                        #(#arrays[#lane] = #names;)*
                    }
                    #next += rt::lanes::WIDTH as i64;
                }
                #(#names = #folds(#arrays);)*
                for #binding in #next..#stop_ident {
                    #prelude
                    #(#rest_body)*
                }
            }
        }
    }

    fn range(
        &mut self,
        start: &typed::Expr,
        stop: &typed::Expr,
        step: Option<&typed::Expr>,
    ) -> TokenStream {
        match step_literal(step) {
            Some(k) if k >= 1 => {
                let start = self.expr(start).at(Prec::Add);
                let stop = self.expr(stop).at(Prec::Add);
                rust_range(start, stop, k)
            }
            _ => {
                let start = self.expr(start).full();
                let stop = self.expr(stop).full();
                let step = step.map(|s| self.expr(s).full()).unwrap_or(quote!(1));
                quote!(rt::range(#start, #stop, #step)?)
            }
        }
    }

    fn assign(
        &mut self,
        target: &typed::Target,
        value: &typed::Expr,
        declared: &[String],
    ) -> TokenStream {
        match target {
            typed::Target::Local(name) => {
                let var = ident(name);
                let ty = self.var_type(name);
                if !declared.contains(name) {
                    if let Some(compound) = self.compound_assign(name, value, &ty) {
                        return compound;
                    }
                    if let Some(in_place) = self.element_wise_in_place(name, value, &ty) {
                        return in_place;
                    }
                }
                // A part of the type that nothing settled (the values of
                // `d = {}` only searched by key) is `()`, which Rust cannot
                // infer from the uses.
                let needs_annotation =
                    !self_describing(value) || value.ty != ty || ty.has_unknown();
                let value = cast(Code::atom(self.owned_value(value)), &value.ty, &ty).full();
                if declared.contains(name) {
                    let binding = if count_assignments(&self.function.body, name) > 1 {
                        quote!(mut #var)
                    } else {
                        quote!(#var)
                    };
                    if needs_annotation {
                        let rust_ty = self.declared_type(name);
                        quote! { let #binding: #rust_ty = #value; }
                    } else {
                        quote! { let #binding = #value; }
                    }
                } else {
                    quote! { #var = #value; }
                }
            }
            typed::Target::Index {
                array,
                indices,
                span,
            } => {
                if let Some(hoisted) = self.augmented_store(array, indices, *span, value, declared)
                {
                    return hoisted;
                }
                // Python evaluates the value, then the array, then the
                // indices. The call below evaluates them in the opposite
                // order, so the value goes first into a temporary unless
                // the array and indices cannot be observed running early.
                let (mut value, conversion) = self.element_value(value);
                if array
                    .array_type()
                    .is_some_and(|a| a.dtype == Dtype::Complex64)
                {
                    // Compiled code holds complex64 elements as `Complex`.
                    value = quote!(rt::Complex32::from(#value));
                }
                let target_free =
                    self.order_free(array) && indices.iter().all(|i| self.order_free(i));
                let (binding, value) = if target_free {
                    (quote!(), value)
                } else {
                    let temp = self.fresh("value");
                    (quote! { let #temp = #value; }, quote!(#temp))
                };
                let proven = self.proven(array);
                // `set_converted` is the array's alone.
                let array_code = if conversion.is_some() && proven == Unchecked::CheckedContiguous {
                    self.receiver(array)
                } else {
                    self.element_receiver(array, proven)
                };
                let indices = indices
                    .iter()
                    .map(|i| self.expr(i).full())
                    .collect::<Vec<_>>();
                // SAFETY (unchecked forms): proven in bounds; the proof is in
                // the doc comment of the function.
                match (conversion, proven) {
                    (None, Unchecked::No) => {
                        quote! { #binding #array_code.set([#(#indices),*], #value)?; }
                    }
                    (None, Unchecked::Strided) => quote! {
                        #binding
                        unsafe { #array_code.set_unchecked([#(#indices),*], #value) }?;
                    },
                    (None, Unchecked::Contiguous) => quote! {
                        #binding
                        unsafe { #array_code.set_contiguous_unchecked([#(#indices),*], #value) };
                    },
                    (None, Unchecked::CheckedContiguous) => quote! {
                        #binding
                        unsafe { #array_code.set_contiguous([#(#indices),*], #value) }?;
                    },
                    (Some(convert), Unchecked::No | Unchecked::CheckedContiguous) => quote! {
                        #binding
                        #array_code.set_converted([#(#indices),*], #value, #convert)?;
                    },
                    (Some(convert), _) => quote! {
                        #binding
                        unsafe { #array_code.set_converted_unchecked([#(#indices),*], #value, #convert) }?;
                    },
                }
            }
            typed::Target::View { view, .. } => self.store_into_view(view, value),
            typed::Target::Select {
                array,
                index,
                along,
                ..
            } => self.store_selected(array, index, along.as_ref(), value),
            typed::Target::Item { list, index, .. } => self.store_item(list, index, value),
            typed::Target::Tuple(targets) => {
                let all_locals = targets.iter().all(|t| matches!(t, typed::Target::Local(_)));
                if let (true, ExprKind::Tuple(values)) = (all_locals, &value.kind) {
                    let names: Vec<&String> = targets
                        .iter()
                        .filter_map(|t| match t {
                            typed::Target::Local(name) => Some(name),
                            _ => None,
                        })
                        .collect();
                    let values: Vec<TokenStream> = values
                        .iter()
                        .zip(&names)
                        .map(|(v, name)| {
                            let ty = self.var_type(name);
                            cast(Code::atom(self.owned_value(v)), &v.ty, &ty).full()
                        })
                        .collect();
                    let vars = names.iter().map(|n| ident(n));
                    if names.iter().all(|n| declared.contains(n)) {
                        let vars: Vec<TokenStream> = names
                            .iter()
                            .map(|n| {
                                let var = ident(n);
                                if count_assignments(&self.function.body, n) > 1 {
                                    quote!(mut #var)
                                } else {
                                    quote!(#var)
                                }
                            })
                            .collect();
                        let types = names.iter().map(|n| rust_type(&self.var_type(n)));
                        let types: Vec<TokenStream> = types.collect();
                        let (vars, types, values) = (
                            paren_tuple(&vars),
                            paren_tuple(&types),
                            paren_tuple(&values),
                        );
                        return quote! { let #vars: #types = #values; };
                    }
                    let mut hoisted = Vec::new();
                    for name in names.iter().filter(|n| declared.contains(n)) {
                        let ty = self.var_type(name);
                        let rust_ty = rust_type(&ty);
                        let default = default_value(&ty);
                        let var = ident(name);
                        hoisted.push(quote! { let mut #var: #rust_ty = #default; });
                    }
                    let vars: Vec<TokenStream> = vars.map(|v| quote!(#v)).collect();
                    let (vars, values) = (paren_tuple(&vars), paren_tuple(&values));
                    return quote! { #(#hoisted)* #vars = #values; };
                }
                // General case: evaluate the whole value, then store each part.
                let Type::Tuple(items) = &value.ty else {
                    return quote!();
                };
                let temps: Vec<syn::Ident> = (0..items.len()).map(|_| self.fresh("item")).collect();
                let value_code = self.owned_value(value);
                let mut stores = Vec::new();
                for ((target, temp), item_ty) in targets.iter().zip(&temps).zip(items) {
                    let part = typed::Expr::new(ExprKind::Local(temp.to_string()), item_ty.clone());
                    self.types.insert(temp.to_string(), item_ty.clone());
                    self.moved_temporaries.insert(temp.to_string());
                    stores.push(self.assign(target, &part, declared));
                }
                let temps: Vec<TokenStream> = temps.iter().map(|t| quote!(#t)).collect();
                let temps = paren_tuple(&temps);
                quote! {
                    let #temps = #value_code;
                    #(#stores)*
                }
            }
        }
    }

    /// `a[i] += v` reaches codegen as `a[i] = a[i] + v`. Python evaluates
    /// `a` and `i` once, before reading the element; when they could be
    /// observed running twice or late (a call, a possible IndexError), they
    /// are bound to temporaries first and both accesses use them.
    fn augmented_store(
        &mut self,
        array: &typed::Expr,
        indices: &[typed::Expr],
        span: Span,
        value: &typed::Expr,
        declared: &[String],
    ) -> Option<TokenStream> {
        if self.order_free(array) && indices.iter().all(|i| self.order_free(i)) {
            return None;
        }
        let mut reads_target = false;
        value.walk(&mut |e| {
            reads_target |= matches!(&e.kind,
                ExprKind::Index { array: a, indices: i, .. } if **a == *array && i == indices);
        });
        if !reads_target {
            return None;
        }
        let mut bindings = Vec::new();
        let mut bind = |this: &mut Self, expr: &typed::Expr, base: &str| {
            if this.order_free(expr) {
                return expr.clone();
            }
            let temp = this.fresh(base);
            let code = this.owned_value(expr);
            bindings.push(quote!(let #temp = #code;));
            this.types.insert(temp.to_string(), expr.ty.clone());
            typed::Expr::new(ExprKind::Local(temp.to_string()), expr.ty.clone())
        };
        let new_array = bind(self, array, "target");
        let new_indices: Vec<typed::Expr> =
            indices.iter().map(|i| bind(self, i, "position")).collect();
        let mut new_value = value.clone();
        replace_index(&mut new_value, array, indices, &new_array, &new_indices);
        let store = self.assign(
            &typed::Target::Index {
                array: new_array,
                indices: new_indices,
                span,
            },
            &new_value,
            declared,
        );
        Some(quote! { #(#bindings)* #store })
    }

    /// Whether the analysis proved the access with array operand `array`
    /// in bounds.
    fn proven(&self, array: &typed::Expr) -> Unchecked {
        let Some(access) = self.facts.and_then(|facts| facts.access(array)) else {
            return Unchecked::No;
        };
        let proven = match &access.decision {
            Decision::Proven(_) => true,
            Decision::ProvenIf { loop_key, .. } => self.assumed.contains(loop_key),
            Decision::Checked(_) => false,
        };
        let tested = access
            .layout_loop
            .is_some_and(|key| self.contiguous.contains(&key));
        match (proven, access.fresh || tested) {
            (false, false) => Unchecked::No,
            (false, true) => Unchecked::CheckedContiguous,
            (true, false) => Unchecked::Strided,
            (true, true) => Unchecked::Contiguous,
        }
    }

    /// A loop the analysis versioned: its conditions tested once, then the
    /// loop with unchecked accesses where they hold and with checked ones
    /// otherwise. `None` for a loop with one version.
    fn versioned_loop(
        &mut self,
        stmt: &typed::Stmt,
        declared: &[String],
        nested: &[String],
    ) -> Option<TokenStream> {
        let key = std::ptr::from_ref(stmt) as usize;
        let facts = self.facts?;
        let conditions = facts.version_conditions(key);
        let layouts = facts.layout_tests(key);
        if (conditions.is_empty() && layouts.is_empty())
            || self.assumed.contains(&key)
            || self.contiguous.contains(&key)
        {
            return None;
        }
        // Conditions on the loop's own bounds: the bounds are evaluated
        // once, in order, into temporaries that the tests and every version
        // of the loop read.
        let mut bound_lets = quote!();
        if conditions.iter().any(|c| c.bound_loops().any(|k| k == key)) {
            if let typed::Stmt::ForRange { start, stop, .. } = stmt {
                for (side, bound) in [(0u8, start), (1, stop)] {
                    let temp = self.fresh(if side == 0 { "start" } else { "stop" });
                    let value = self.expr(bound).full();
                    bound_lets.extend(quote!(let #temp: i64 = #value;));
                    self.bound_values
                        .insert(std::ptr::from_ref(bound) as usize, temp.clone());
                    self.bound_atoms.insert((key, side), temp);
                }
            }
        }
        let versions = self.loop_versions(stmt, key, &conditions, &layouts, declared, nested);
        if let typed::Stmt::ForRange { start, stop, .. } = stmt {
            for bound in [start, stop] {
                self.bound_values
                    .remove(&(std::ptr::from_ref(bound) as usize));
            }
        }
        self.bound_atoms.retain(|(k, _), _| *k != key);
        Some(quote! { #bound_lets #versions })
    }

    /// The versions of a versioned loop (see `versioned_loop`) behind their
    /// tests.
    fn loop_versions(
        &mut self,
        stmt: &typed::Stmt,
        key: usize,
        conditions: &[&Linear],
        layouts: &[(&str, bool)],
        declared: &[String],
        nested: &[String],
    ) -> TokenStream {
        let shape_tests: Vec<TokenStream> = conditions
            .iter()
            .map(|condition| self.condition_tokens(condition))
            .collect();
        let layout_tests: Vec<TokenStream> = layouts
            .iter()
            .map(|(name, written)| {
                let array = self.read_local(name, &self.var_type(name));
                if *written {
                    quote!(#array.has_unit_stride() && #array.is_writable())
                } else {
                    quote!(#array.has_unit_stride())
                }
            })
            .collect();
        // Versions, fastest first: the shape tests make the proven-if
        // accesses unchecked; the layout tests let the parameters' proven
        // accesses use unit strides (and skip the writable check).
        self.assumed.push(key);
        self.contiguous.push(key);
        let fastest = self.stmt(stmt, declared, nested, false);
        self.contiguous.pop();
        let strided = if layouts.is_empty() {
            None
        } else {
            Some(self.stmt(stmt, declared, nested, false))
        };
        self.assumed.pop();
        let checked = self.loop_statement(stmt, nested);
        match (shape_tests.is_empty(), strided) {
            (true, Some(strided)) => quote! {
                if #(#layout_tests)&&* {
                    #fastest
                } else {
                    #strided
                }
            },
            (false, Some(strided)) => quote! {
                if #(#shape_tests)&&* && #(#layout_tests)&&* {
                    #fastest
                } else if #(#shape_tests)&&* {
                    #strided
                } else {
                    #checked
                }
            },
            (_, None) => quote! {
                if #(#shape_tests)&&* {
                    #fastest
                } else {
                    #checked
                }
            },
        }
    }

    /// A version condition `form <= 0` as Rust, terms moved to the side
    /// where their coefficient is positive: `a.len() <= b.len()`.
    fn condition_tokens(&self, condition: &Linear) -> TokenStream {
        // A loop bound may be any i64: such conditions are computed in i128,
        // where the capped forms cannot overflow. A bound with no temporary
        // (never the case) makes the test false: the checked version runs.
        let wide = condition
            .terms
            .keys()
            .any(|a| matches!(a, Atom::Bound { .. }));
        if condition.terms.keys().any(|a| match a {
            Atom::Bound { loop_key, side, .. } => {
                !self.bound_atoms.contains_key(&(*loop_key, *side))
            }
            _ => false,
        }) {
            return quote!(false);
        }
        let term = |atom: &Atom| match atom {
            Atom::Bound { loop_key, side, .. } => {
                let temp = &self.bound_atoms[&(*loop_key, *side)];
                quote!(#temp)
            }
            Atom::Dim(array, axis) => {
                let array = self.read_local(array, &self.var_type(array));
                if *axis == 0 {
                    quote!(#array.len())
                } else {
                    let axis = TokenLiteral::usize_unsuffixed(*axis);
                    quote!(#array.shape()[#axis])
                }
            }
            Atom::LoopVar(name) => {
                let var = ident(name);
                quote!(#var)
            }
        };
        let [left, right] = condition.sides().map(|(terms, constant)| {
            let mut parts: Vec<TokenStream> = terms
                .iter()
                .map(|(atom, magnitude)| {
                    let t = term(atom);
                    let t = if wide { quote!((#t as i128)) } else { t };
                    if *magnitude == 1 {
                        t
                    } else {
                        let m = int_literal(*magnitude);
                        quote!(#m * #t)
                    }
                })
                .collect();
            if constant != 0 || parts.is_empty() {
                parts.push(if wide {
                    let c = proc_macro2::Literal::i128_suffixed(i128::from(constant));
                    quote!(#c)
                } else {
                    int_literal(constant)
                });
            }
            quote!(#(#parts)+*)
        });
        quote!(#left <= #right)
    }

    /// The body's result when it returns `value`.
    fn returned(&self, value: TokenStream) -> TokenStream {
        if self.tail_loop {
            quote!(Ok(rt::Tail::Return(#value)))
        } else {
            quote!(Ok(#value))
        }
    }

    /// The arguments of a call to a compiled function.
    fn call_args(&mut self, args: &[typed::Expr]) -> Vec<TokenStream> {
        args.iter()
            .map(|arg| {
                if matches!(arg.ty, Type::Array(_)) {
                    let code = self.expr(arg).at(Prec::Unary);
                    quote!(&#code)
                } else if arg.ty.has_container() || arg.ty.has_str() || arg.ty.has_var_tuple() {
                    self.owned_value(arg)
                } else {
                    self.expr(arg).full()
                }
            })
            .collect()
    }

    /// A call to a compiled function, without the `?`.
    fn call(&mut self, function: &str, args: &[typed::Expr]) -> TokenStream {
        let name = self.function_path(function);
        let args = self.call_args(args);
        if let Some(SpeculativeCalls {
            inlined,
            floor,
            frames,
            ..
        }) = &self.speculative
        {
            // Only calls of the function itself are speculable.
            let frames = frames.iter();
            return quote!(#inlined::<D::Next>(#floor, #(#frames,)* #(#args),*));
        }
        let Some(frame) = &self.frame else {
            return quote!(#name(#(#args),*));
        };
        let caller = &self.function.rust_name;
        match self.cycles.inner.get(function) {
            Some(inner) if self.cycles.same_cycle(caller, function) => {
                // A bounded function is alone on its cycle: the call is of
                // the same instance.
                let bounded = self.bounded.as_ref().filter(|_| function == caller);
                let inlined = self.cycles.inlined.get(function).filter(|_| self.inlining);
                match (inlined, bounded) {
                    (Some(inlined), Some(bounded)) => {
                        quote!(#inlined::<D::Next, #bounded>(#frame, #(#args),*))
                    }
                    (Some(inlined), None) => quote!(#inlined::<D::Next>(#frame, #(#args),*)),
                    (None, Some(bounded)) => quote!(#inner::<#bounded>(#frame, #(#args),*)),
                    (None, None) => quote!(#inner(#frame, #(#args),*)),
                }
            }
            _ if self.cycles.may_enter_cycle(function) => {
                quote!(#frame.call_out(|| #name(#(#args),*)))
            }
            _ => quote!(#name(#(#args),*)),
        }
    }

    /// A module function as the body names it: by its path (`self::f`)
    /// where a variable of the function has its Rust name (`f_int`, the
    /// name of an instance, is an ordinary Python name).
    fn function_path(&self, function: &str) -> TokenStream {
        let name = ident(function);
        if self.locals.contains(&name.to_string()) {
            quote!(self::#name)
        } else {
            quote!(#name)
        }
    }

    /// A value stored into an array element, and the conversion that NumPy
    /// applies to it after checking the index, if any: a Python int stored
    /// into a narrower or unsigned integer array, or a float into any integer
    /// array, is range-checked instead of wrapping silently.
    fn element_value(&mut self, value: &typed::Expr) -> (TokenStream, Option<TokenStream>) {
        if let (ExprKind::Cast(inner), Some(element)) = (&value.kind, value.ty.dtype()) {
            if element.is_integer() {
                let rust = dtype_tokens(element);
                if inner.ty == Type::Int && element != Dtype::Int64 {
                    let inner = self.expr(inner).full();
                    return (inner, Some(quote!(rt::int_to_element::<#rust>)));
                }
                if inner.ty.is_float_like() {
                    let inner = cast(self.expr(inner), &inner.ty, &Type::Float).full();
                    return (inner, Some(quote!(rt::float_to_element::<#rust>)));
                }
            }
        }
        (self.expr(value).full(), None)
    }

    /// `x = x + y` as `x += y` when no conversion is involved.
    fn compound_assign(
        &mut self,
        name: &str,
        value: &typed::Expr,
        ty: &Type,
    ) -> Option<TokenStream> {
        let ExprKind::Binary { op, left, right } = &value.kind else {
            return None;
        };
        let checked = *ty == Type::Int && !self.cannot_overflow(value);
        let checked_op = matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul);
        if value.ty != *ty
            || (checked && checked_op)
            || self.flags.contains_key(name)
            || !matches!(&left.kind, ExprKind::Local(n) if n == name)
            || right.reads(name)
        {
            return None;
        }
        let symbol = match op {
            BinaryOp::Add => quote!(+=),
            BinaryOp::Sub => quote!(-=),
            BinaryOp::Mul => quote!(*=),
            BinaryOp::BitAnd => quote!(&=),
            BinaryOp::BitOr => quote!(|=),
            BinaryOp::BitXor => quote!(^=),
            _ => return None,
        };
        let var = ident(name);
        let right = self.expr(right).full();
        Some(quote! { #var #symbol #right; })
    }

    /// A value that is stored or returned: arrays are cloned (a cheap shared
    /// reference, as Python's assignment shares the array).
    fn owned_value(&mut self, value: &typed::Expr) -> TokenStream {
        if let ExprKind::Local(name) = &value.kind {
            if self.moved_temporaries.contains(name) {
                let var = ident(name);
                return quote!(#var);
            }
        }
        if let (ExprKind::Local(name), false) = (&value.kind, is_copy(&value.ty)) {
            let read = self.read_local(name, &value.ty);
            return quote!(#read.clone());
        }
        self.expr(value).full()
    }

    /// A read of a local; checked against its flag if it may be unassigned.
    fn read_local(&self, name: &str, ty: &Type) -> TokenStream {
        let var = ident(name);
        match self.flags.get(name) {
            None => quote!(#var),
            Some(flag) if is_copy(ty) => quote!(rt::assigned(#var, #flag, #name)?),
            Some(flag) => quote!(rt::assigned(&#var, #flag, #name)?),
        }
    }

    /// `flag = true;` for each flagged variable the target assigns.
    fn mark_assigned(&self, target: &typed::Target) -> TokenStream {
        let mut names = Vec::new();
        collect_target_locals(target, &mut names);
        let marks = names
            .iter()
            .filter_map(|name| self.flags.get(*name))
            .map(|flag| quote!(#flag = true;));
        quote!(#(#marks)*)
    }

    /// An array expression used as a method receiver.
    fn receiver(&mut self, array: &typed::Expr) -> TokenStream {
        self.expr(array).at(Prec::Atom)
    }

    /// The receiver of an element access: the loop's `rt::Elements` view of
    /// the array (`element_views`) for accesses without the index check or
    /// on the contiguous path, the array itself otherwise.
    fn element_receiver(&mut self, array: &typed::Expr, proven: Unchecked) -> TokenStream {
        if proven != Unchecked::No {
            if let ExprKind::Local(name) = &array.kind {
                if let Some(view) = self.element_views.get(name) {
                    return quote!(#view);
                }
            }
        }
        self.receiver(array)
    }

    fn expr(&mut self, expr: &typed::Expr) -> Code {
        if let Some(temp) = self.bound_values.get(&(std::ptr::from_ref(expr) as usize)) {
            return Code::atom(quote!(#temp));
        }
        match &expr.kind {
            ExprKind::Literal(value) => {
                let prec = match value {
                    Literal::Int(v) if *v < 0 => Prec::Unary,
                    Literal::Float(v) if v.is_sign_negative() && !v.is_nan() => Prec::Unary,
                    _ => Prec::Atom,
                };
                Code::new(literal(value.clone()), prec)
            }
            ExprKind::Local(name) => Code::atom(self.read_local(name, &expr.ty)),
            ExprKind::Constant(name) => {
                let var = ident(name);
                Code::atom(quote!(constants::#var))
            }
            ExprKind::Cast(inner) => {
                let from = inner.ty.clone();
                if let (Type::Int, Type::Scalar(dtype)) = (&from, &expr.ty) {
                    let fits = matches!(inner.kind,
                        ExprKind::Literal(Literal::Int(v)) if dtype.holds(v));
                    if dtype.is_integer() && !fits {
                        // NumPy 2 raises OverflowError for a Python int outside
                        // the dtype's range (`np.uint8(300)`, `u8 + 300`)
                        // instead of wrapping it.
                        let rust = dtype_tokens(*dtype);
                        let value = self.expr(inner).full();
                        return Code::atom(quote!(rt::int_to_element::<#rust>(#value)?));
                    }
                }
                // An empty display takes the type it is stored as.
                let empty_display = match &inner.kind {
                    ExprKind::List(items) => items.is_empty(),
                    ExprKind::Runtime { function, args } => {
                        matches!(
                            *function,
                            "dict_display" | "set_display" | "unordered_set_new"
                        ) && args.is_empty()
                    }
                    _ => false,
                };
                let code = self.expr(inner);
                if empty_display {
                    return code;
                }
                cast(code, &from, &expr.ty)
            }
            ExprKind::Binary { op, left, right } => match constant_int(expr) {
                // Folded: Rust types an expression of literals alone as i32
                // (`(10 << 32) as f64` would shift an i32).
                Some(value) => Code::new(int_literal(value), Prec::Unary),
                None => self.binary(expr, *op, left, right),
            },
            ExprKind::Neg(inner) => {
                if expr.ty.dtype().is_some_and(Dtype::is_unsigned) {
                    // NumPy negates unsigned integers modulo 2**bits.
                    let inner = self.expr(inner).at(Prec::Atom);
                    return Code::atom(quote!(#inner.wrapping_neg()));
                }
                if expr.ty == Type::Int && !self.cannot_overflow(expr) {
                    let inner = self.expr(inner).full();
                    return Code::atom(quote!(rt::int_neg(#inner)?));
                }
                let inner = self.expr(inner).at(Prec::Unary);
                Code::new(quote!(-#inner), Prec::Unary)
            }
            ExprKind::Not(inner) | ExprKind::Invert(inner) => {
                let inner = self.expr(inner).at(Prec::Unary);
                Code::new(quote!(!#inner), Prec::Unary)
            }
            ExprKind::Truthy(inner) => {
                let zero = zero_of(&inner.ty);
                let inner = self.expr(inner).at(Prec::BitOr);
                Code::new(quote!(#inner != #zero), Prec::Compare)
            }
            ExprKind::Compare {
                operands,
                ops,
                operand_types,
            } => self.compare(operands, ops, operand_types),
            ExprKind::BoolOp { op, values } => self.bool_op(*op, values, &expr.ty),
            ExprKind::IfExp { test, body, orelse } => {
                let test = self.expr(test).full();
                // Both branches give an owned value (an array variable is
                // a shared clone, like a new array).
                let body = self.owned_value(body);
                let orelse = self.owned_value(orelse);
                Code::block(quote!(if #test { #body } else { #orelse }))
            }
            ExprKind::Call { function, args } => {
                let call = self.call(function, args);
                Code::atom(quote!(#call?))
            }
            ExprKind::CallValue { callee, args } => {
                let callee = self.expr(callee).at(Prec::Atom);
                let args: Vec<TokenStream> = args.iter().map(|arg| self.expr(arg).full()).collect();
                match &self.frame {
                    // The function may be compiled and enter a cycle.
                    Some(frame) => Code::atom(quote!(#frame.call_out(|| #callee(#(#args),*))?)),
                    None => Code::atom(quote!(#callee(#(#args),*)?)),
                }
            }
            ExprKind::FunctionRef(reference) => {
                let Type::Callable(callable) = &expr.ty else {
                    return Code::atom(quote!(()));
                };
                let closure = native_closure(reference, callable, &quote!(rt));
                match reference {
                    // A compiled function is already a value of the right type.
                    typed::FunctionRef::Compiled(name) => {
                        let name = self.function_path(name);
                        Code::new(quote!(&#name), Prec::Unary)
                    }
                    _ => Code::new(quote!(&#closure), Prec::Unary),
                }
            }
            ExprKind::Intrinsic { op, args } => self.intrinsic(expr, *op, args),
            ExprKind::Index { array, indices, .. } => {
                let widened = array
                    .array_type()
                    .is_some_and(|a| a.dtype == Dtype::Complex64);
                let proven = self.proven(array);
                let array = self.element_receiver(array, proven);
                let indices = indices
                    .iter()
                    .map(|i| self.expr(i).full())
                    .collect::<Vec<_>>();
                // SAFETY (unchecked forms): proven in bounds; the proof is in
                // the doc comment of the function.
                // An `unsafe` block is a block: grouped wherever it is an
                // operand, or it would start a statement.
                let element = match proven {
                    Unchecked::No => Code::atom(quote!(#array.get([#(#indices),*])?)),
                    Unchecked::Strided => {
                        Code::block(quote!(unsafe { #array.get_unchecked([#(#indices),*]) }))
                    }
                    Unchecked::Contiguous => Code::block(
                        quote!(unsafe { #array.get_contiguous_unchecked([#(#indices),*]) }),
                    ),
                    Unchecked::CheckedContiguous => {
                        Code::block(quote!(unsafe { #array.get_contiguous([#(#indices),*])? }))
                    }
                };
                if widened {
                    // A complex64 element is read as a `Complex`.
                    let element = element.full();
                    return Code::atom(quote!(rt::Complex::from(#element)));
                }
                element
            }
            ExprKind::SubArray { array, index } => {
                let ndim = expr.array_type().map(|a| a.ndim).unwrap_or(1) as usize;
                let ndim = TokenLiteral::usize_unsuffixed(ndim);
                let array = self.receiver(array);
                let index = self.expr(index).full();
                Code::atom(quote!(#array.axis0::<#ndim>(#index)?))
            }
            ExprKind::NewArray { array, fill, shape } => {
                let ty = array_type(*array);
                let shape = shape
                    .iter()
                    .map(|s| self.expr(s).full())
                    .collect::<Vec<_>>();
                let ty = quote!(#ty).to_string();
                let ty: TokenStream = ty
                    .replacen("rt :: Array <", "rt::Array::<", 1)
                    .parse()
                    .unwrap_or_default();
                let overwritten = self.facts.is_some_and(|facts| facts.overwritten(expr));
                match fill {
                    // SAFETY: every element is stored before any is read
                    // (the proof is in the function's doc comment).
                    ArrayFill::Zeros if overwritten => {
                        Code::atom(quote!(unsafe { #ty::unfilled([#(#shape),*]) }?))
                    }
                    ArrayFill::Zeros => Code::atom(quote!(#ty::zeros([#(#shape),*])?)),
                    ArrayFill::Ones => Code::atom(quote!(#ty::ones([#(#shape),*])?)),
                    ArrayFill::Value(value) => {
                        let mut value = self.expr(value).full();
                        if array.dtype == Dtype::Complex64 {
                            // Compiled code holds complex64 values as `Complex`.
                            value = quote!(rt::Complex32::from(#value));
                        }
                        Code::atom(quote!(#ty::full([#(#shape),*], #value)?))
                    }
                }
            }
            ExprKind::CopyArray(array) => {
                let array = self.receiver(array);
                Code::atom(quote!(#array.copy()))
            }
            ExprKind::Dim { array, axis } => {
                let array = self.receiver(array);
                if *axis == 0 {
                    Code::atom(quote!(#array.len()))
                } else {
                    let axis = TokenLiteral::usize_unsuffixed(*axis);
                    Code::atom(quote!(#array.shape()[#axis]))
                }
            }
            ExprKind::Shape(array) => {
                let ndim = array.array_type().map(|a| a.ndim).unwrap_or(1) as usize;
                let array = self.receiver(array);
                let parts = (0..ndim).map(|axis| {
                    let axis = TokenLiteral::usize_unsuffixed(axis);
                    quote!(shape[#axis])
                });
                let tuple = if ndim == 1 {
                    quote!((#(#parts,)*))
                } else {
                    quote!((#(#parts),*))
                };
                Code::block(quote!({
                    let shape = #array.shape();
                    #tuple
                }))
            }
            ExprKind::Size(array) => {
                let array = self.receiver(array);
                Code::atom(quote!(#array.size()))
            }
            ExprKind::Tuple(items) => {
                let items: Vec<TokenStream> = items.iter().map(|i| self.owned_value(i)).collect();
                if items.len() == 1 {
                    Code::atom(quote!((#(#items,)*)))
                } else {
                    Code::atom(quote!((#(#items),*)))
                }
            }
            ExprKind::TupleGet { tuple, index } => {
                let tuple = self.expr(tuple).at(Prec::Atom);
                let index = syn::Index::from(*index);
                Code::atom(quote!(#tuple.#index))
            }
            ExprKind::View { array, items, .. } => self.view(expr, array, items),
            ExprKind::Transpose(array) => {
                let array = self.receiver(array);
                Code::atom(quote!(#array.transpose()))
            }
            ExprKind::Reshape { array, shape, copy } => self.reshape(expr, array, shape, *copy),
            ExprKind::ElementWise { inputs, body } => self.element_wise(expr, inputs, body),
            ExprKind::Reduce {
                op,
                array,
                axis,
                keepdims,
                ddof,
            } => self.reduce(expr, *op, array, *axis, *keepdims, ddof.as_deref()),
            ExprKind::Cumulative {
                product,
                array,
                axis,
            } => self.cumulative(expr, array, *product, *axis),
            ExprKind::Runtime { function, args } => {
                if let Some(code) = self.widened_get(expr, function, args) {
                    return code;
                }
                match self.list_operation(function, args, &expr.ty) {
                    Some(code) => code,
                    None => self.runtime_call(expr, function, args),
                }
            }
            ExprKind::List(items) => self.list_display(items),
            ExprKind::ListSlice {
                list,
                start,
                stop,
                step,
            } => self.list_slice(list, [start, stop, step]),
            ExprKind::Select { array, index } => self.select(array, index),
        }
    }

    /// An `if` whose arms only assign a few cheap expressions to scalar
    /// locals, at least one of them an `int` operation that keeps its
    /// overflow check: both arms are evaluated, each into a `Result` of the
    /// values it assigns, and the test picks one, whose error (if any) is
    /// raised then. The arms read only locals and constants and can fail only
    /// by an overflow, so evaluating the arm the test does not take has no
    /// effect; a failure there is dropped. Without the checks' branches inside
    /// the arms, LLVM is free to pick the values with a conditional move
    /// instead of a branch that mispredicts when the test is irregular
    /// (Collatz's `x // 2` or `3 * x + 1`). `None` for any other `if`.
    fn speculated_if(
        &mut self,
        test: &typed::Expr,
        body: &[typed::Stmt],
        orelse: &[typed::Stmt],
        nested: &[String],
    ) -> Option<TokenStream> {
        const MAX_STATEMENTS: usize = 3;
        const MAX_OPERATIONS: usize = 6;
        let mut assigned: Vec<String> = Vec::new();
        let mut checked = false;
        for arm in [body, orelse] {
            if arm.len() > MAX_STATEMENTS {
                return None;
            }
            let mut operations = 0;
            for stmt in arm {
                let typed::Stmt::Assign {
                    target: typed::Target::Local(name),
                    value,
                } = stmt
                else {
                    return None;
                };
                let scalar = matches!(self.var_type(name), Type::Int | Type::Float | Type::Bool);
                if !scalar || nested.contains(name) || self.flags.contains_key(name) {
                    return None;
                }
                if !self.speculatable(value, &mut operations, &mut checked) {
                    return None;
                }
                if !assigned.contains(name) {
                    assigned.push(name.clone());
                }
            }
            if operations > MAX_OPERATIONS {
                return None;
            }
        }
        if !checked || body.is_empty() {
            return None;
        }
        assigned.sort();
        let types: Vec<TokenStream> = assigned
            .iter()
            .map(|name| rust_type(&self.var_type(name)))
            .collect();
        let vars: Vec<syn::Ident> = assigned.iter().map(|name| ident(name)).collect();
        let (result_type, values) = match (types.as_slice(), vars.as_slice()) {
            ([ty], [var]) => (quote!(#ty), quote!(#var)),
            _ => (quote!((#(#types),*)), quote!((#(#vars),*))),
        };
        let test = self.expr(test).full();
        let mut arms = Vec::new();
        for arm in [body, orelse] {
            let mut rebound = Vec::new();
            for stmt in arm {
                if let typed::Stmt::Assign {
                    target: typed::Target::Local(name),
                    ..
                } = stmt
                {
                    let var = ident(name);
                    if !rebound.contains(&var) {
                        rebound.push(var);
                    }
                }
            }
            let stmts: Vec<TokenStream> = arm
                .iter()
                .map(|stmt| self.stmt(stmt, &[], &[], false))
                .collect();
            arms.push(quote!(|| -> rt::Result<#result_type> {
                #(let mut #rebound = #rebound;)*
                #(#stmts)*
                Ok(#values)
            }));
        }
        let taken = self.fresh("taken");
        let then_arm = self.fresh("then_arm");
        let else_arm = self.fresh("else_arm");
        let then_value = self.fresh("then_value");
        let else_value = self.fresh("else_value");
        let (then_code, else_code) = (&arms[0], &arms[1]);
        // The values go through `Option`, which has no drop glue: the
        // error of the arm not taken is dropped inside it, on the overflow
        // path. The error of the arm taken comes from evaluating it again,
        // which gives the same error, having no effects.
        Some(quote! {
            {
                let #taken: bool = #test;
                let #then_arm = #then_code;
                let #else_arm = #else_code;
                let #then_value: Option<#result_type> = #then_arm().ok();
                let #else_value: Option<#result_type> = #else_arm().ok();
                #values = match if #taken { #then_value } else { #else_value } {
                    Some(value) => value,
                    None => (if #taken { #then_arm() } else { #else_arm() })?,
                };
            }
        })
    }

    /// Whether `expr` may be evaluated when the program would not evaluate
    /// it: it reads only scalar locals and constants, computes with cheap
    /// operations, and can fail only by an `int` overflow. Counts its
    /// operations into `operations`, and sets `checked` when one of them
    /// keeps an overflow check.
    fn speculatable(&self, expr: &typed::Expr, operations: &mut usize, checked: &mut bool) -> bool {
        let scalar = |ty: &Type| matches!(ty, Type::Int | Type::Float | Type::Bool);
        if !scalar(&expr.ty) {
            return false;
        }
        match &expr.kind {
            ExprKind::Literal(_) | ExprKind::Constant(_) => true,
            ExprKind::Local(name) => !self.flags.contains_key(name),
            // Only conversions that cannot fail (not float to int).
            ExprKind::Cast(inner)
                if !(matches!(inner.ty, Type::Int | Type::Bool)
                    && matches!(expr.ty, Type::Int | Type::Float)) =>
            {
                false
            }
            ExprKind::Cast(inner) | ExprKind::Not(inner) | ExprKind::Truthy(inner) => {
                *operations += 1;
                self.speculatable(inner, operations, checked)
            }
            ExprKind::Neg(inner) | ExprKind::Invert(inner) => {
                *operations += 1;
                if matches!(expr.kind, ExprKind::Neg(_))
                    && expr.ty == Type::Int
                    && !self.cannot_overflow(expr)
                {
                    *checked = true;
                }
                self.speculatable(inner, operations, checked)
            }
            ExprKind::Binary { op, left, right } => {
                let cheap = match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::BitAnd
                    | BinaryOp::BitOr
                    | BinaryOp::BitXor => true,
                    BinaryOp::LShift | BinaryOp::RShift => constant_shift(right, &expr.ty),
                    BinaryOp::FloorDiv | BinaryOp::Mod => {
                        power_of_two_divisor(right, &expr.ty).is_some()
                    }
                    _ => false,
                };
                if !cheap {
                    return false;
                }
                *operations += 1;
                if expr.ty == Type::Int
                    && !self.cannot_overflow(expr)
                    && matches!(
                        op,
                        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::LShift
                    )
                {
                    *checked = true;
                }
                self.speculatable(left, operations, checked)
                    && self.speculatable(right, operations, checked)
            }
            ExprKind::Compare {
                operands,
                operand_types,
                ..
            } => {
                *operations += operands.len().saturating_sub(1);
                operand_types.iter().all(|ty| scalar(ty))
                    && operands
                        .iter()
                        .all(|operand| self.speculatable(operand, operations, checked))
            }
            _ => false,
        }
    }

    /// Whether `name` is a parameter of the function being generated.
    fn is_param(&self, name: &str) -> bool {
        self.function.is_parameter(name)
    }

    /// Whether the analysis proved the `int` operation `expr` stays in the
    /// `i64` range.
    fn cannot_overflow(&self, expr: &typed::Expr) -> bool {
        self.facts.is_some_and(|facts| facts.cannot_overflow(expr))
    }

    /// The `rt::int_*` call, returning a `Result`, of a checked `+`, `-`,
    /// `*` or `<<` on Python ints. By a constant, `*` is `rt::int_mul_by`,
    /// whose overflow test is a comparison with bounds that fold; constants
    /// have no effects, so taking the other operand first keeps Python's
    /// order.
    fn checked_int_call(
        &mut self,
        op: BinaryOp,
        left: &typed::Expr,
        right: &typed::Expr,
    ) -> TokenStream {
        if op == BinaryOp::Mul {
            if let Some((variable, constant)) = by_constant(left, right) {
                let variable = self.expr(variable).full();
                return quote!(rt::int_mul_by(#variable, #constant));
            }
        }
        let name = match op {
            BinaryOp::Add => "int_add",
            BinaryOp::Sub => "int_sub",
            BinaryOp::Mul => "int_mul",
            _ => "int_shl",
        };
        let name = format_ident!("{}", name);
        let (l, r) = (self.expr(left).full(), self.expr(right).full());
        quote!(rt::#name(#l, #r))
    }

    fn binary(
        &mut self,
        expr: &typed::Expr,
        op: BinaryOp,
        left: &typed::Expr,
        right: &typed::Expr,
    ) -> Code {
        let ty = &expr.ty;
        let operator = |symbol: TokenStream, prec: Prec, this: &mut Self| {
            let l = this.expr(left).at(prec);
            let r = this.expr(right).at(next(prec));
            Code::new(quote!(#l #symbol #r), prec)
        };
        // A Python int that would leave the i64 range raises OverflowError
        // (`rt::int_*`), unless the value ranges prove it cannot.
        let checked = *ty == Type::Int && !self.cannot_overflow(expr);
        if checked && checked_int_op(expr) {
            // A checked operation on the result of another (`i * k + c`)
            // is one chain whose overflow errors leave through one `?`
            // (`rt::one_exit`): LLVM then bounds the loop around it by where
            // the chain first overflows, and vectorises it, where two exits
            // keep it scalar (measured 3x on a loop of checked hashing).
            let chain = !self.in_checked_chain
                && [left, right]
                    .into_iter()
                    .any(|operand| checked_int_op(operand) && !self.cannot_overflow(operand));
            let outer = self.in_checked_chain;
            self.in_checked_chain = outer || chain;
            let call = self.checked_int_call(op, left, right);
            self.in_checked_chain = outer;
            return if chain {
                Code::atom(quote!(rt::one_exit(|| #call)?))
            } else {
                Code::atom(quote!(#call?))
            };
        }
        match op {
            // A shift by a count that is not a constant from 0 to the
            // width: Python's rules for `int` (`rt::int_shr`; `<<` is
            // checked above unless the ranges proved it), NumPy's for its
            // fixed-width integers (a count past the width gives 0 or -1).
            BinaryOp::LShift | BinaryOp::RShift if !constant_shift(right, ty) => {
                let (l, r) = (self.expr(left).full(), self.expr(right).full());
                match (op, ty) {
                    (BinaryOp::RShift, Type::Int) => Code::atom(quote!(rt::int_shr(#l, #r)?)),
                    (BinaryOp::LShift, Type::Int) => Code::new(quote!(#l << #r), Prec::Shift),
                    (BinaryOp::LShift, _) => Code::atom(quote!(rt::NumpyInt::np_shl(#l, #r))),
                    _ => Code::atom(quote!(rt::NumpyInt::np_shr(#l, #r))),
                }
            }
            BinaryOp::Add => operator(quote!(+), Prec::Add, self),
            BinaryOp::Sub => operator(quote!(-), Prec::Add, self),
            BinaryOp::Mul => operator(quote!(*), Prec::Mul, self),
            BinaryOp::BitAnd => operator(quote!(&), Prec::BitAnd, self),
            BinaryOp::BitOr => operator(quote!(|), Prec::BitOr, self),
            BinaryOp::BitXor => operator(quote!(^), Prec::BitXor, self),
            BinaryOp::LShift => operator(quote!(<<), Prec::Shift, self),
            BinaryOp::RShift => operator(quote!(>>), Prec::Shift, self),
            BinaryOp::TrueDiv => {
                // int / int is correctly rounded in Python, and its zero
                // division message differs from the float one.
                if let (ExprKind::Cast(l), ExprKind::Cast(r)) = (&left.kind, &right.kind) {
                    if l.ty == Type::Int && r.ty == Type::Int && *ty == Type::Float {
                        let (l, r) = (self.expr(l).full(), self.expr(r).full());
                        return Code::atom(quote!(rt::truediv_int(#l, #r)?));
                    }
                }
                let (l, r) = (self.expr(left).full(), self.expr(right).full());
                Code::atom(quote!(rt::truediv(#l, #r)?))
            }
            BinaryOp::FloorDiv | BinaryOp::Mod if power_of_two_divisor(right, ty).is_some() => {
                // Floor division by 2**k is an arithmetic shift right by k,
                // and the floored modulo by it the low k bits, for either
                // sign of the dividend (two's complement); the divisor is a
                // positive constant, so nothing can raise. Rust's `/` and `%`
                // truncate, which costs a sign fix-up on every signed value.
                let k = power_of_two_divisor(right, ty).unwrap_or(0);
                // A literal dividend gets the type's suffix: with nothing
                // else to infer it from (`10 % 2**62 != 0`), Rust would
                // take it for an `i32`.
                let dividend = |gen: &mut Self, prec| match (&left.kind, ty) {
                    (ExprKind::Literal(Literal::Int(v)), Type::Int) => {
                        let v = proc_macro2::Literal::i64_suffixed(*v);
                        quote!(#v)
                    }
                    _ => gen.expr(left).at(prec),
                };
                if op == BinaryOp::FloorDiv {
                    let l = dividend(self, Prec::Shift);
                    let k = proc_macro2::Literal::u32_unsuffixed(k);
                    Code::new(quote!(#l >> #k), Prec::Shift)
                } else {
                    let l = dividend(self, Prec::BitAnd);
                    let mask = proc_macro2::Literal::i64_unsuffixed((1i64 << k) - 1);
                    Code::new(quote!(#l & #mask), Prec::BitAnd)
                }
            }
            BinaryOp::FloorDiv | BinaryOp::Mod => {
                let positive_divisor = self.facts.and_then(|facts| facts.positive_divisor(expr));
                if let (Some(non_negative_dividend), false) = (positive_divisor, ty.is_float_like())
                {
                    // A positive divisor is never zero, and the quotient
                    // floors as Rust's Euclidean division does; with a
                    // non-negative dividend, as plain `/` and `%` do.
                    if non_negative_dividend {
                        let symbol = if op == BinaryOp::FloorDiv {
                            quote!(/)
                        } else {
                            quote!(%)
                        };
                        return operator(symbol, Prec::Mul, self);
                    }
                    let rust = rust_type(ty);
                    let (l, r) = (self.expr(left).full(), self.expr(right).full());
                    return Code::atom(if op == BinaryOp::FloorDiv {
                        quote!(#rust::div_euclid(#l, #r))
                    } else {
                        quote!(#rust::rem_euclid(#l, #r))
                    });
                }
                if op == BinaryOp::FloorDiv && checked {
                    let (l, r) = (self.expr(left).full(), self.expr(right).full());
                    return Code::atom(quote!(rt::int_floordiv(#l, #r)?));
                }
                let (l, r) = (self.expr(left).full(), self.expr(right).full());
                let name = match (op, ty.is_float_like()) {
                    (BinaryOp::FloorDiv, false) => quote!(floordiv_int),
                    (BinaryOp::FloorDiv, true) => quote!(floordiv_float),
                    (_, false) => quote!(mod_int),
                    (_, true) => quote!(mod_float),
                };
                Code::atom(quote!(rt::#name(#l, #r)?))
            }
            BinaryOp::Pow => {
                // A small constant power of an int is a product: exact, and
                // checked for overflow like `*` unless proven in range.
                if let (Type::Int, ExprKind::Literal(Literal::Int(k @ 2..=4))) = (ty, &right.kind) {
                    let base = self.expr(left).full();
                    let (temp, binding) = if self.rereadable(left) {
                        (base, quote!())
                    } else {
                        let temp = self.fresh("base");
                        (quote!(#temp), quote!(let #temp = #base;))
                    };
                    let factors = vec![temp.clone(); *k as usize];
                    let product = if self.cannot_overflow(expr) {
                        factors[1..]
                            .iter()
                            .fold(quote!(#temp), |acc, factor| quote!(#acc * #factor))
                    } else {
                        factors[1..].iter().fold(
                            quote!(#temp),
                            |acc, factor| quote!(rt::int_mul(#acc, #factor)?),
                        )
                    };
                    if binding.is_empty() {
                        let prec = if self.cannot_overflow(expr) {
                            Prec::Mul
                        } else {
                            Prec::Atom
                        };
                        return Code::new(product, prec);
                    }
                    return Code::block(quote!({ #binding #product }));
                }
                // A power of two raised to an int is exact: 2**(m*k) when
                // that is a normal float, which the C library's pow returns
                // too; the runtime calls pow for the rest.
                if let (Type::Float, ExprKind::Literal(Literal::Float(base)), ExprKind::Cast(k)) =
                    (ty, &left.kind, &right.kind)
                {
                    if let (Some(m), Type::Int) = (power_of_two_exponent(*base), &k.ty) {
                        let k = self.expr(k).full();
                        let base = float_literal(*base);
                        return Code::atom(quote!(rt::pow_two_int(#m, #base, #k)?));
                    }
                }
                // `x ** 2` as pow computes it, mostly without the call.
                let squared = match &right.kind {
                    ExprKind::Literal(Literal::Float(k)) => *k == 2.0,
                    ExprKind::Cast(k) => matches!(k.kind, ExprKind::Literal(Literal::Int(2))),
                    _ => false,
                };
                if squared && *ty == Type::Float && left.ty == Type::Float {
                    let base = self.expr(left).full();
                    return Code::atom(quote!(rt::square_float(#base)?));
                }
                let (l, r) = (self.expr(left), self.expr(right));
                match ty {
                    Type::Int => {
                        let (l, r) = (l.full(), r.full());
                        Code::atom(quote!(rt::int_pow(#l, #r)?))
                    }
                    Type::Float => {
                        let (l, r) = (l.full(), r.full());
                        Code::atom(quote!(rt::pow_float(#l, #r)?))
                    }
                    Type::Scalar(dtype) if dtype.is_float() => {
                        let (l, r) = (l.at(Prec::Cast), r.at(Prec::Cast));
                        let rust = dtype_tokens(*dtype);
                        Code::new(
                            quote!(rt::pow_float(#l as f64, #r as f64)? as #rust),
                            Prec::Cast,
                        )
                    }
                    Type::Scalar(dtype) => {
                        let (l, r) = (l.at(Prec::Cast), r.at(Prec::Cast));
                        let rust = dtype_tokens(*dtype);
                        Code::new(
                            quote!(rt::pow_int(#l as i64, #r as i64)? as #rust),
                            Prec::Cast,
                        )
                    }
                    _ => Code::atom(quote!(())),
                }
            }
        }
    }

    /// `a < b < c`, evaluated as Python does: operands left to right, each
    /// once, stopping at the first false comparison. Rust evaluates the two
    /// sides of one comparison left to right already; a chain binds each
    /// middle operand to a temporary just before its first comparison, and
    /// the first operand too when it could be observed running after the
    /// second.
    fn compare(
        &mut self,
        operands: &[typed::Expr],
        ops: &[CompareOp],
        operand_types: &[Type],
    ) -> Code {
        let (Some(first), Some(second)) = (operands.first(), operands.get(1)) else {
            return Code::atom(quote!(true));
        };
        if operand_types.contains(&Type::Str) {
            return self.str_compare(operands, ops);
        }
        if let ([op], [Type::Float]) = (ops, operand_types) {
            if let Some(code) = self.modulus_compare(first, *op, second) {
                return code;
            }
        }
        let left = self.expr(first);
        if ops.len() == 1 || self.rereadable(second) || self.order_free(first) {
            return self.compare_chain(left, quote!(), operands, ops, operand_types);
        }
        let temp = self.fresh("left");
        let value = left.full();
        let binding = quote!(let #temp = #value;);
        self.compare_chain(
            Code::atom(quote!(#temp)),
            binding,
            operands,
            ops,
            operand_types,
        )
    }

    /// `abs(z) < bound` (or `<=`, `>`, `>=`, either way round) for a complex
    /// `z` and a bound that is a float local or an exactly representable
    /// literal: `rt::complex_abs_lt(z, bound)` and its kind, which decide from
    /// the squared modulus where it is far from the bound and so mostly skip
    /// `hypot`. The bound can be read after the modulus since it can neither
    /// raise nor change.
    fn modulus_compare(
        &mut self,
        left: &typed::Expr,
        op: CompareOp,
        right: &typed::Expr,
    ) -> Option<Code> {
        let modulus_of = |e: &typed::Expr| match &e.kind {
            ExprKind::Runtime {
                function: "complex_abs",
                args,
            } if args.len() == 1 => Some(args[0].clone()),
            _ => None,
        };
        let plain_bound = |e: &typed::Expr| {
            (e.ty == Type::Float && self.rereadable(e)) || is_exact_float_literal(e)
        };
        let (z, bound, op) = match (modulus_of(left), modulus_of(right)) {
            (Some(z), None) if plain_bound(right) => (z, right, op),
            (None, Some(z)) if plain_bound(left) => (z, left, op.swapped()),
            _ => return None,
        };
        let function = match op {
            CompareOp::Lt => quote!(complex_abs_lt),
            CompareOp::LtE => quote!(complex_abs_le),
            CompareOp::Gt => quote!(complex_abs_gt),
            CompareOp::GtE => quote!(complex_abs_ge),
            CompareOp::Eq | CompareOp::NotEq => return None,
        };
        let z = self.expr(&z).full();
        let bound = cast(self.expr(bound), &bound.ty, &Type::Float).full();
        Some(Code::atom(quote!(rt::#function(#z, #bound)?)))
    }

    /// `==`/`!=` between strings, as `&str` (a literal stays a literal, so
    /// comparing with one allocates nothing). String operands cannot raise or
    /// have effects (literals, variables, choices between them), so a chain
    /// reads each of them where it is compared.
    fn str_compare(&mut self, operands: &[typed::Expr], ops: &[CompareOp]) -> Code {
        let text: Vec<TokenStream> = operands
            .iter()
            .map(|operand| match &operand.kind {
                ExprKind::Literal(Literal::Str(text)) => quote!(#text),
                _ => {
                    let code = self.expr(operand).at(Prec::Unary);
                    quote!(&*#code)
                }
            })
            .collect();
        let pairs: Vec<TokenStream> = ops
            .iter()
            .zip(text.windows(2))
            .map(|(op, pair)| {
                let (l, r) = (&pair[0], &pair[1]);
                match op {
                    CompareOp::NotEq => quote!(#l != #r),
                    _ => quote!(#l == #r),
                }
            })
            .collect();
        match pairs.as_slice() {
            [single] => Code::new(single.clone(), Prec::Compare),
            _ => Code::new(quote!(#(#pairs)&&*), Prec::And),
        }
    }

    /// The comparisons from `left`, the generated `operands[0]`, to the end of
    /// the chain.
    /// `bindings` are statements that must run first (the first operand's
    /// temporary).
    fn compare_chain(
        &mut self,
        left: Code,
        bindings: TokenStream,
        operands: &[typed::Expr],
        ops: &[CompareOp],
        operand_types: &[Type],
    ) -> Code {
        let right = &operands[1];
        if ops.len() == 1 {
            let right_code = self.expr(right);
            let pair = compare_pair(
                left,
                &operands[0],
                ops[0],
                right_code,
                right,
                &operand_types[0],
            );
            if bindings.is_empty() {
                return pair;
            }
            let pair = pair.full();
            return Code::block(quote!({ #bindings #pair }));
        }
        let (right_code, binding) = if self.rereadable(right) {
            (self.expr(right), bindings)
        } else {
            let temp = self.fresh("middle");
            let value = self.expr(right).full();
            (
                Code::atom(quote!(#temp)),
                quote!(#bindings let #temp = #value;),
            )
        };
        let pair = compare_pair(
            left,
            &operands[0],
            ops[0],
            right_code.clone(),
            right,
            &operand_types[0],
        )
        .at(Prec::Compare);
        let rest = self
            .compare_chain(
                right_code,
                quote!(),
                &operands[1..],
                &ops[1..],
                &operand_types[1..],
            )
            .at(Prec::And);
        if binding.is_empty() {
            Code::new(quote!(#pair && #rest), Prec::And)
        } else {
            Code::block(quote!({ #binding #pair && #rest }))
        }
    }

    /// Whether reading the operand a second time costs nothing and gives the
    /// same value without raising: a plain local, a literal or a constant.
    fn rereadable(&self, expr: &typed::Expr) -> bool {
        match &expr.kind {
            ExprKind::Local(name) => !self.flags.contains_key(name),
            ExprKind::Literal(_) | ExprKind::Constant(_) => true,
            _ => false,
        }
    }

    /// Whether evaluating the expression earlier or later than Python would
    /// is unobservable: it cannot raise and has no side effects. A Python
    /// `int` operation that may leave 64 bits raises OverflowError.
    fn order_free(&self, expr: &typed::Expr) -> bool {
        let mut overflows = false;
        expr.walk(&mut |e| {
            overflows |= (checked_int_op(e) || raising_int_op(e)) && !self.cannot_overflow(e);
        });
        !overflows && expr.is_effect_free() && !self.flags.keys().any(|name| expr.reads(name))
    }

    fn bool_op(&mut self, op: BoolOp, values: &[typed::Expr], ty: &Type) -> Code {
        if *ty == Type::Bool {
            let (symbol, prec) = match op {
                BoolOp::And => (quote!(&&), Prec::And),
                BoolOp::Or => (quote!(||), Prec::Or),
            };
            let mut joined = TokenStream::new();
            for (index, value) in values.iter().enumerate() {
                let part = self.expr(value).at(next(prec));
                if index > 0 {
                    joined.extend(symbol.clone());
                }
                joined.extend(part);
            }
            return Code::new(joined, prec);
        }
        // Python's `and`/`or` return one of the operands.
        let mut iter = values.iter().rev();
        let Some(last) = iter.next() else {
            return Code::atom(quote!(()));
        };
        let mut acc = self.expr(last).full();
        for value in iter {
            let temp = self.fresh("operand");
            let zero = zero_of(ty);
            let code = self.expr(value).full();
            acc = match op {
                BoolOp::And => {
                    quote!({ let #temp = #code; if #temp != #zero { #acc } else { #temp } })
                }
                BoolOp::Or => {
                    quote!({ let #temp = #code; if #temp != #zero { #temp } else { #acc } })
                }
            };
        }
        Code::block(acc)
    }

    fn intrinsic(&mut self, expr: &typed::Expr, op: Intrinsic, args: &[typed::Expr]) -> Code {
        let ty = &expr.ty;
        let arg_types: Vec<Type> = args.iter().map(|a| a.ty.clone()).collect();
        let codes: Vec<TokenStream> = args.iter().map(|a| self.expr(a).full()).collect();
        let first_type = arg_types.first().cloned().unwrap_or(Type::Float);
        match op {
            Intrinsic::AbsInt if *ty == Type::Int && !self.cannot_overflow(expr) => {
                Code::atom(quote!(rt::int_abs(#(#codes),*)?))
            }
            Intrinsic::AbsInt => {
                let rust = rust_type(ty);
                Code::atom(quote!(#rust::wrapping_abs(#(#codes),*)))
            }
            Intrinsic::AbsFloat => {
                let rust = rust_type(ty);
                Code::atom(quote!(#rust::abs(#(#codes),*)))
            }
            Intrinsic::Min => Code::atom(quote!(rt::min(#(#codes),*))),
            Intrinsic::Max => Code::atom(quote!(rt::max(#(#codes),*))),
            Intrinsic::RoundToInt => Code::atom(quote!(rt::round_to_int(#(#codes),*)?)),
            Intrinsic::FloatToInt => Code::atom(quote!(rt::float_to_int(#(#codes),*)?)),
            Intrinsic::Math("sqrt")
                if self.facts.is_some_and(|facts| facts.sqrt_in_domain(expr)) =>
            {
                // The argument is never negative: CPython's domain check
                // cannot fail, and IEEE sqrt is its result.
                Code::atom(quote!(f64::sqrt(#(#codes),*)))
            }
            Intrinsic::Math(name) | Intrinsic::MathToInt(name) => {
                let name = format_ident!("{}", name);
                Code::atom(quote!(rt::math::#name(#(#codes),*)?))
            }
            Intrinsic::FloatMethod(name) => {
                let rust = rust_type(ty);
                let name = format_ident!("{}", name);
                Code::atom(quote!(#rust::#name(#(#codes),*)))
            }
            Intrinsic::IsNan | Intrinsic::IsInf | Intrinsic::IsFinite => {
                let rust = rust_type(&first_type);
                let name = match op {
                    Intrinsic::IsNan => quote!(is_nan),
                    Intrinsic::IsInf => quote!(is_infinite),
                    _ => quote!(is_finite),
                };
                Code::atom(quote!(#rust::#name(#(#codes),*)))
            }
        }
    }
}

/// Replaces every read of `array[indices]` inside `expr` with a read of
/// `new_array[new_indices]`.
fn replace_index(
    expr: &mut typed::Expr,
    array: &typed::Expr,
    indices: &[typed::Expr],
    new_array: &typed::Expr,
    new_indices: &[typed::Expr],
) {
    if let ExprKind::Index {
        array: a,
        indices: i,
        ..
    } = &mut expr.kind
    {
        if **a == *array && i == indices {
            **a = new_array.clone();
            *i = new_indices.to_vec();
            return;
        }
    }
    expr.for_each_child_mut(&mut |child| {
        replace_index(child, array, indices, new_array, new_indices)
    });
}

/// The value of an int expression made of literals and the operators that
/// compile to Rust operators, if it is one and fits in an `i64` (one that
/// does not is left to the runtime, which raises OverflowError).
/// The operand of a product that is not a constant, and the constant, when
/// one of the two is.
fn by_constant<'e>(
    left: &'e typed::Expr,
    right: &'e typed::Expr,
) -> Option<(&'e typed::Expr, i64)> {
    match (constant_int(left), constant_int(right)) {
        (_, Some(c)) => Some((left, c)),
        (Some(c), None) => Some((right, c)),
        (None, None) => None,
    }
}

fn constant_int(expr: &typed::Expr) -> Option<i64> {
    if expr.ty != Type::Int {
        return None;
    }
    match &expr.kind {
        ExprKind::Literal(Literal::Int(v)) => Some(*v),
        ExprKind::Neg(inner) => constant_int(inner)?.checked_neg(),
        ExprKind::Binary { op, left, right } => {
            let (l, r) = (constant_int(left)?, constant_int(right)?);
            match op {
                BinaryOp::Add => l.checked_add(r),
                BinaryOp::Sub => l.checked_sub(r),
                BinaryOp::Mul => l.checked_mul(r),
                BinaryOp::BitAnd => Some(l & r),
                BinaryOp::BitOr => Some(l | r),
                BinaryOp::BitXor => Some(l ^ r),
                BinaryOp::LShift => {
                    let shifted = l.checked_shl(u32::try_from(r).ok()?)?;
                    (shifted >> r == l).then_some(shifted)
                }
                BinaryOp::RShift => u32::try_from(r).ok().and_then(|r| l.checked_shr(r)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `k` when `divisor` is the constant `2**k` and the integer type `ty` holds
/// it as a positive value (so `k` is below the width less the sign bit).
fn power_of_two_divisor(divisor: &typed::Expr, ty: &Type) -> Option<u32> {
    let bits = match ty {
        Type::Int => 64,
        Type::Scalar(dtype) if dtype.is_integer() => dtype.bits(),
        _ => return None,
    };
    let divisor = match &divisor.kind {
        ExprKind::Cast(inner) => inner,
        _ => divisor,
    };
    let value = constant_int(divisor)?;
    let k = value.trailing_zeros();
    (value > 0 && value.count_ones() == 1 && k < bits - 1).then_some(k)
}

/// Whether a shift of a value of `ty` is by a constant from 0 to below the
/// width, which Rust's `<<`/`>>` compute as Python and NumPy do.
fn constant_shift(amount: &typed::Expr, ty: &Type) -> bool {
    let bits = ty.dtype().map_or(64, |dtype| i64::from(dtype.bits()));
    let amount = match &amount.kind {
        ExprKind::Cast(inner) => inner,
        _ => amount,
    };
    constant_int(amount).is_some_and(|k| (0..bits).contains(&k))
}

/// One comparison of two generated operands in their common type. An int
/// compared with a float goes through `rt::exact_*`, as CPython compares the
/// exact values; a literal int that a float holds exactly needs no care.
fn compare_pair(
    left: Code,
    left_expr: &typed::Expr,
    op: CompareOp,
    right: Code,
    right_expr: &typed::Expr,
    common: &Type,
) -> Code {
    let (left_ty, right_ty) = (&left_expr.ty, &right_expr.ty);
    let mixed = |int: &Type, float: &Type| *int == Type::Int && float.is_float_like();
    let exact = *common == Type::Float
        && (mixed(left_ty, right_ty) || mixed(right_ty, left_ty))
        && !is_exact_float_literal(left_expr)
        && !is_exact_float_literal(right_expr);
    if exact {
        let side = |code: Code, ty: &Type| {
            let target = if *ty == Type::Int {
                Type::Int
            } else {
                Type::Float
            };
            cast(code, ty, &target).full()
        };
        let (l, r) = (side(left, left_ty), side(right, right_ty));
        let name = match op {
            CompareOp::Eq => quote!(exact_eq),
            CompareOp::NotEq => quote!(exact_ne),
            CompareOp::Lt => quote!(exact_lt),
            CompareOp::LtE => quote!(exact_le),
            CompareOp::Gt => quote!(exact_gt),
            CompareOp::GtE => quote!(exact_ge),
        };
        return Code::atom(quote!(rt::#name(#l, #r)));
    }
    let l = cast(left, left_ty, common).at(Prec::BitOr);
    let r = cast(right, right_ty, common).at(Prec::BitOr);
    let symbol = match op {
        CompareOp::Eq => quote!(==),
        CompareOp::NotEq => quote!(!=),
        CompareOp::Lt => quote!(<),
        CompareOp::LtE => quote!(<=),
        CompareOp::Gt => quote!(>),
        CompareOp::GtE => quote!(>=),
    };
    Code::new(quote!(#l #symbol #r), Prec::Compare)
}

/// Whether the expression is an int literal that a float holds exactly
/// (|v| <= 2**53), so comparing it as a float is already exact.
fn is_exact_float_literal(expr: &typed::Expr) -> bool {
    matches!(expr.kind, ExprKind::Literal(Literal::Int(v)) if v.unsigned_abs() <= 1 << 53)
}

/// The next tighter precedence level: right operands of left-associative
/// operators need it.
fn next(prec: Prec) -> Prec {
    match prec {
        Prec::Block => Prec::Or,
        Prec::Or => Prec::And,
        Prec::And => Prec::Compare,
        Prec::Compare => Prec::BitOr,
        Prec::BitOr => Prec::BitXor,
        Prec::BitXor => Prec::BitAnd,
        Prec::BitAnd => Prec::Shift,
        Prec::Shift => Prec::Add,
        Prec::Add => Prec::Mul,
        Prec::Mul => Prec::Cast,
        Prec::Cast => Prec::Unary,
        Prec::Unary | Prec::Atom => Prec::Atom,
    }
}

/// Converts generated code of type `from` to type `to`.
fn cast(code: Code, from: &Type, to: &Type) -> Code {
    if from == to {
        return code;
    }
    match (from, to) {
        (_, Type::Bool) => {
            let zero = zero_of(from);
            let value = code.at(Prec::BitOr);
            Code::new(quote!(#value != #zero), Prec::Compare)
        }
        // Before the bool arm below: a bool is no primitive cast away from
        // a complex number.
        (from, Type::Complex) if from.is_numeric() => {
            let value = cast(code, from, &Type::Float).full();
            Code::atom(quote!(rt::Complex::from_real(#value)))
        }
        (Type::Bool, _) => {
            let rust = rust_type(to);
            let value = code.at(Prec::Cast);
            if to.is_float_like() {
                Code::new(quote!(#value as u8 as #rust), Prec::Cast)
            } else {
                Code::new(quote!(#value as #rust), Prec::Cast)
            }
        }
        (Type::Tuple(from_items), Type::Tuple(to_items)) => {
            let (names, converted) = cast_items(from_items, |k| &to_items[k]);
            let value = code.full();
            let (names, converted) = (paren_tuple(&names), paren_tuple(&converted));
            Code::block(quote!({ let #names = #value; #converted }))
        }
        // A tuple of a fixed length stored where one of any length is.
        (Type::Tuple(from_items), Type::TupleOf(item)) => {
            let (names, converted) = cast_items(from_items, |_| item);
            let value = code.full();
            let names = paren_tuple(&names);
            Code::block(quote!({
                let #names = #value;
                rt::VarTuple::from_vec(vec![#(#converted),*])
            }))
        }
        // `()`, whose item type what was added to it settled.
        (Type::TupleOf(from_item), Type::TupleOf(_)) if **from_item == Type::Unknown => {
            Code::atom(quote!(rt::VarTuple::default()))
        }
        (Type::TupleOf(from_item), Type::TupleOf(item)) => {
            let value = code.full();
            let converted = cast(Code::atom(quote!(item.clone())), from_item, item).full();
            Code::block(quote!({
                let value = #value;
                rt::VarTuple::from_vec(value.items().iter().map(|item| #converted).collect())
            }))
        }
        (Type::List(_), Type::List(_))
        | (Type::Dict(..), Type::Dict(..))
        | (Type::Set(_), Type::Set(_)) => {
            let (from_rust, rust) = (rust_type(from), rust_type(to));
            let value = code.full();
            // Bound first, so the temporaries that made the value (a
            // display that `rt::list_repeat` borrowed) are dropped and
            // hold no references the share count would see.
            Code::block(quote!({
                let value = #value;
                rt::retype::<#from_rust, #rust>(value)?
            }))
        }
        (_, to) if to.is_numeric() => {
            let rust = rust_type(to);
            let value = code.at(Prec::Cast);
            Code::new(quote!(#value as #rust), Prec::Cast)
        }
        _ => code,
    }
}

/// The names `item_0, item_1, ...` of a fixed tuple's items, and each
/// converted from its type to `to(k)`.
fn cast_items<'t>(
    from_items: &[Type],
    to: impl Fn(usize) -> &'t Type,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    from_items
        .iter()
        .enumerate()
        .map(|(k, from)| {
            let name = format_ident!("item_{}", k);
            let converted = cast(Code::atom(quote!(#name)), from, to(k)).full();
            (quote!(#name), converted)
        })
        .unzip()
}

/// `(a, b)`, or `(a,)` for one item: a tuple expression, pattern or type.
fn paren_tuple(items: &[TokenStream]) -> TokenStream {
    if items.len() == 1 {
        quote!((#(#items,)*))
    } else {
        quote!((#(#items),*))
    }
}

/// A loop's step when it is a literal (1 when omitted).
fn step_literal(step: Option<&typed::Expr>) -> Option<i64> {
    match step.map(|s| &s.kind) {
        None => Some(1),
        Some(ExprKind::Literal(Literal::Int(k))) => Some(*k),
        Some(_) => None,
    }
}

/// A Rust range over `start..stop` with a positive constant step `k`.
fn rust_range(start: TokenStream, stop: TokenStream, k: i64) -> TokenStream {
    if k == 1 {
        return quote!(#start..#stop);
    }
    let k = TokenLiteral::usize_unsuffixed(k as usize);
    quote!((#start..#stop).step_by(#k))
}

/// The value a reduction starts from: `x ⊕ identity == x`. Float sums start
/// from -0.0, which keeps a sum of negative zeros negative.
fn reduction_identity(ty: &Type, op: ReductionOp) -> TokenStream {
    let rust = rust_type(ty);
    let float = ty.is_float_like();
    match (op, ty) {
        (ReductionOp::Add, _) if float => quote!(-0.0),
        (ReductionOp::Add | ReductionOp::BitOr | ReductionOp::BitXor, Type::Bool) => quote!(false),
        (ReductionOp::Add | ReductionOp::BitOr | ReductionOp::BitXor, _) => quote!(0),
        (ReductionOp::Mul, _) if float => quote!(1.0),
        (ReductionOp::Mul, _) => quote!(1),
        (ReductionOp::BitAnd, Type::Bool) => quote!(true),
        (ReductionOp::BitAnd, _) => quote!(!0),
        (ReductionOp::Max, _) if float => quote!(#rust::NEG_INFINITY),
        (ReductionOp::Max, _) => quote!(#rust::MIN),
        (ReductionOp::Min, _) if float => quote!(#rust::INFINITY),
        (ReductionOp::Min, _) => quote!(#rust::MAX),
    }
}

/// What a parallel loop promises about its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exactness {
    /// A `prange` loop: its reductions may round or overflow differently.
    Prange,
    /// The serial loop's result bit for bit: nothing raises, and the
    /// reductions are exact in any order.
    Exact,
    /// An attempt that keeps nothing when an iteration raises or a sum
    /// overflows, and then runs the serial loop (`Auto::speculative`).
    Attempt,
}

/// Two partial results of a reduction combined, as Rust.
fn reduction_combine(ty: &Type, op: ReductionOp, a: TokenStream, b: TokenStream) -> TokenStream {
    match op {
        ReductionOp::Add if *ty == Type::Int => quote!(rt::int_add(#a, #b)?),
        ReductionOp::Add if *ty == Type::Bool => quote!(#a | #b),
        ReductionOp::Add => quote!(#a + #b),
        ReductionOp::Mul if *ty == Type::Int => quote!(rt::int_mul(#a, #b)?),
        ReductionOp::Mul => quote!(#a * #b),
        ReductionOp::BitAnd => quote!(#a & #b),
        ReductionOp::BitOr => quote!(#a | #b),
        ReductionOp::BitXor => quote!(#a ^ #b),
        ReductionOp::Max => quote!(rt::max(#a, #b)),
        ReductionOp::Min => quote!(rt::min(#a, #b)),
    }
}

fn zero_of(ty: &Type) -> TokenStream {
    match ty {
        Type::Bool => quote!(false),
        t if t.is_float_like() => quote!(0.0),
        _ => quote!(0),
    }
}

/// The Rust type of the variable `name` of `function`, of type `ty`: a
/// block of read-only rows or one of its rows (`read_only_rows`), a set
/// kept without Python's order (`unordered_sets`), or the type's own.
pub fn variable_type(function: &typed::Function, name: &str, ty: &Type) -> TokenStream {
    match (function.rows.get(name), ty) {
        (Some(role), _) => rows_type(*role, ty),
        (None, Type::Set(item)) if function.unordered_sets.contains(name) => {
            let item = rust_type(item);
            quote!(rt::UnorderedSet<#item>)
        }
        _ => rust_type(ty),
    }
}

/// The Rust type of a list's items (of `ty` itself when it is no list).
fn item_type(ty: &Type) -> TokenStream {
    match ty {
        Type::List(item) => rust_type(item),
        other => rust_type(other),
    }
}

/// `rt::Rows<T>` for a read-only list of lists, `rt::Row<T>` for one of
/// its rows (`read_only_rows`).
fn rows_type(role: typed::RowsRole, ty: &Type) -> TokenStream {
    let item = match (role, ty) {
        (typed::RowsRole::Rows, Type::List(row)) => item_type(row),
        (_, other) => item_type(other),
    };
    match role {
        typed::RowsRole::Rows => quote!(rt::Rows<#item>),
        typed::RowsRole::Row => quote!(rt::Row<#item>),
    }
}

fn default_value(ty: &Type) -> TokenStream {
    match ty {
        // Function values only exist as parameters; nothing declares one.
        Type::Callable(_) => quote!(()),
        Type::Int => quote!(0),
        Type::Float => quote!(0.0),
        Type::Bool => quote!(false),
        Type::Scalar(dtype) if dtype.is_float() => quote!(0.0),
        Type::Scalar(_) => quote!(0),
        Type::Tuple(items) => {
            let items = items.iter().map(default_value);
            if items.len() == 1 {
                quote!((#(#items,)*))
            } else {
                quote!((#(#items),*))
            }
        }
        Type::Array(array) => {
            let element = dtype_tokens(array.dtype);
            let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
            quote!(rt::Array::<#element, #ndim>::zeros([0; #ndim])?)
        }
        Type::List(_) => quote!(rt::List::default()),
        Type::Complex => quote!(rt::Complex::ZERO),
        Type::Dict(..) => quote!(rt::Dict::default()),
        Type::Set(_) => quote!(rt::Set::default()),
        Type::TupleOf(_) => quote!(rt::VarTuple::default()),
        Type::Str => quote!(rt::Str::from("")),
        Type::Unknown | Type::None => quote!(()),
    }
}

/// Whether values of the type are `Copy` in generated code (numbers and
/// tuples of numbers), so reading one needs no clone.
fn is_copy(ty: &Type) -> bool {
    match ty {
        Type::Array(_)
        | Type::Callable(_)
        | Type::List(_)
        | Type::Dict(..)
        | Type::Set(_)
        | Type::TupleOf(_)
        | Type::Str => false,
        Type::Tuple(items) => items.iter().all(is_copy),
        _ => true,
    }
}

fn collect_target_locals<'t>(target: &'t typed::Target, out: &mut Vec<&'t str>) {
    match target {
        typed::Target::Local(name) => out.push(name),
        typed::Target::Index { .. }
        | typed::Target::View { .. }
        | typed::Target::Select { .. }
        | typed::Target::Item { .. } => {}
        typed::Target::Tuple(items) => items.iter().for_each(|t| collect_target_locals(t, out)),
    }
}

/// Whether the Rust type of the generated expression is fixed without a
/// `let` annotation (an unsuffixed literal such as `0` would default to i32).
fn self_describing(value: &typed::Expr) -> bool {
    match value.kind {
        // An empty list, dict or set display is cast by taking the type it
        // is stored as, which only the binding's annotation gives.
        ExprKind::Cast(_) => !value.ty.has_container() && !value.ty.has_var_tuple(),
        ExprKind::Local(_)
        | ExprKind::Call { .. }
        | ExprKind::Index { .. }
        | ExprKind::SubArray { .. }
        | ExprKind::NewArray { .. }
        | ExprKind::CopyArray(_)
        | ExprKind::Dim { .. }
        | ExprKind::Size(_) => true,
        _ => false,
    }
}

/// How many statements assign `name` anywhere in the function.
fn count_assignments(stmts: &[typed::Stmt], name: &str) -> usize {
    fn in_target(target: &typed::Target, name: &str) -> usize {
        match target {
            typed::Target::Local(n) => usize::from(n == name),
            typed::Target::Index { .. }
            | typed::Target::View { .. }
            | typed::Target::Select { .. }
            | typed::Target::Item { .. } => 0,
            typed::Target::Tuple(items) => items.iter().map(|t| in_target(t, name)).sum(),
        }
    }
    stmts
        .iter()
        .map(|stmt| match stmt {
            typed::Stmt::Assign { target, .. } => in_target(target, name),
            typed::Stmt::If { body, orelse, .. } => {
                count_assignments(body, name) + count_assignments(orelse, name)
            }
            typed::Stmt::ForRange { var, body, .. } => {
                usize::from(var.as_deref() == Some(name)) + count_assignments(body, name)
            }
            typed::Stmt::While { body, .. } => count_assignments(body, name),
            _ => 0,
        })
        .sum()
}

/// Whether the statement is a plain assignment `name = value` whose value
/// does not read `name`, so it can declare the variable with `let`.
fn declares(stmt: &typed::Stmt, name: &str) -> bool {
    match stmt {
        typed::Stmt::Assign {
            target: typed::Target::Local(target),
            value,
        } => target == name && !value.reads(name),
        typed::Stmt::Assign {
            target: typed::Target::Tuple(targets),
            value,
        } => {
            targets
                .iter()
                .any(|t| matches!(t, typed::Target::Local(n) if n == name))
                && targets.iter().all(|t| matches!(t, typed::Target::Local(_)))
                && matches!(value.kind, ExprKind::Tuple(_))
                && !value.reads(name)
        }
        _ => false,
    }
}

/// Whether every use of `name` in `stmt` sits inside one nested block where
/// the variable can be declared: a loop body whose first use assigns it (so
/// no value flows from one iteration to the next), or one branch of an `if`.
fn can_push_into(stmt: &typed::Stmt, name: &str) -> bool {
    match stmt {
        typed::Stmt::If { test, body, orelse } => {
            !test.reads(name) && (stmts_mention(body, name) != stmts_mention(orelse, name))
        }
        typed::Stmt::ForRange {
            var,
            start,
            stop,
            step,
            body,
            ..
        } => {
            if var.as_deref() == Some(name) {
                return !start.reads(name) && !stop.reads(name);
            }
            let header = start.reads(name)
                || stop.reads(name)
                || step.as_ref().is_some_and(|s| s.reads(name));
            !header && first_use_assigns(body, name)
        }
        typed::Stmt::While { test, body } => !test.reads(name) && first_use_assigns(body, name),
        _ => false,
    }
}

/// Whether the first statement of `body` that uses `name` assigns it fresh,
/// directly or inside a nested block that owns every later use.
fn first_use_assigns(body: &[typed::Stmt], name: &str) -> bool {
    let Some(first) = body.iter().position(|s| stmt_mentions(s, name)) else {
        return false;
    };
    declares(&body[first], name)
        || (!stmts_mention(&body[first + 1..], name) && can_push_into(&body[first], name))
}

fn stmts_mention(stmts: &[typed::Stmt], name: &str) -> bool {
    stmts.iter().any(|s| stmt_mentions(s, name))
}

fn stmt_mentions(stmt: &typed::Stmt, name: &str) -> bool {
    match stmt {
        typed::Stmt::Assign { target, value } => target_mentions(target, name) || value.reads(name),
        typed::Stmt::If { test, body, orelse } => {
            test.reads(name) || stmts_mention(body, name) || stmts_mention(orelse, name)
        }
        typed::Stmt::ForRange {
            var,
            start,
            stop,
            step,
            body,
            ..
        } => {
            var.as_deref() == Some(name)
                || start.reads(name)
                || stop.reads(name)
                || step.as_ref().is_some_and(|s| s.reads(name))
                || stmts_mention(body, name)
        }
        typed::Stmt::While { test, body } => test.reads(name) || stmts_mention(body, name),
        typed::Stmt::Return(Some(value))
        | typed::Stmt::Expr(value)
        | typed::Stmt::Assert { test: value, .. } => value.reads(name),
        typed::Stmt::Return(None)
        | typed::Stmt::Break
        | typed::Stmt::Continue
        | typed::Stmt::Raise { .. } => false,
    }
}

/// The addresses of the `for` loops among `stmts` that no loop encloses.
fn outermost_loops(stmts: &[typed::Stmt]) -> HashSet<usize> {
    let mut loops = HashSet::new();
    fn visit(stmts: &[typed::Stmt], loops: &mut HashSet<usize>) {
        for stmt in stmts {
            match stmt {
                typed::Stmt::If { body, orelse, .. } => {
                    visit(body, loops);
                    visit(orelse, loops);
                }
                typed::Stmt::ForRange { .. } => {
                    loops.insert(std::ptr::from_ref(stmt) as usize);
                }
                _ => {}
            }
        }
    }
    visit(stmts, &mut loops);
    loops
}

fn stmts_assign(stmts: &[typed::Stmt], name: &str) -> bool {
    stmts.iter().any(|stmt| match stmt {
        typed::Stmt::Assign { target, .. } => target_assigns(target, name),
        typed::Stmt::If { body, orelse, .. } => {
            stmts_assign(body, name) || stmts_assign(orelse, name)
        }
        typed::Stmt::ForRange { var, body, .. } => {
            var.as_deref() == Some(name) || stmts_assign(body, name)
        }
        typed::Stmt::While { body, .. } => stmts_assign(body, name),
        _ => false,
    })
}

fn target_assigns(target: &typed::Target, name: &str) -> bool {
    match target {
        typed::Target::Local(n) => n == name,
        typed::Target::Index { .. }
        | typed::Target::View { .. }
        | typed::Target::Select { .. }
        | typed::Target::Item { .. } => false,
        typed::Target::Tuple(items) => items.iter().any(|t| target_assigns(t, name)),
    }
}

fn target_mentions(target: &typed::Target, name: &str) -> bool {
    match target {
        typed::Target::Local(n) => n == name,
        typed::Target::Index { array, indices, .. } => {
            array.reads(name) || indices.iter().any(|i| i.reads(name))
        }
        typed::Target::View { view, .. } => view.reads(name),
        typed::Target::Select { array, index, .. }
        | typed::Target::Item {
            list: array, index, ..
        } => array.reads(name) || index.reads(name),
        typed::Target::Tuple(items) => items.iter().any(|t| target_mentions(t, name)),
    }
}
