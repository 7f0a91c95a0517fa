//! The Python-binding part of codegen: the `mod python` of an extension
//! module, which turns Python arguments into the kernels' Rust values
//! (`rt::Array::from_python`, checked scalars, containers that write back,
//! classified `Callable`s), calls the kernel with the GIL released, and
//! converts its result or error back; the dispatcher of functions exported
//! with several signatures; and the C-ABI entry points through which other
//! compiled modules call scalar exports. Everything here needs the runtime's
//! `python` feature; the kernels (`kernels.rs`) never do.

use std::collections::HashMap;

use proc_macro2::{Literal as TokenLiteral, TokenStream};
use quote::{format_ident, quote};

use super::kernels::{
    binding_ident, doc_comment, dtype_tokens, ident, literal, native_closure, passes_containers,
    rust_type,
};
use crate::analysis::Facts;
use crate::ir::typed;
use crate::types::{CallableType, Type};

/// Whether the module defines `set_num_threads` or `get_num_threads` itself.
pub fn thread_functions_taken(module: &typed::Module) -> bool {
    let names = ["set_num_threads", "get_num_threads"];
    module
        .functions
        .iter()
        .any(|f| f.export.is_some() && names.contains(&f.name.as_str()))
        || module
            .constants
            .iter()
            .any(|c| names.contains(&c.name.as_str()))
}

/// The types `mod python` names without a path: the PyO3 prelude's it
/// uses.
const UNQUALIFIED_TYPES: &[&str] = &["Python", "Bound", "PyAny", "PyResult", "PyModule"];

/// Every name of Rust's prelude (2021, and 2024's additions), types,
/// traits and functions. A wrapper is an item `#[pyfunction]` expands, and
/// a macro-expanded item named like a prelude item makes every use of that
/// name in `mod python` ambiguous (E0659), `wrap_pyfunction!(drop, m)`
/// among them, whichever namespace each is in.
const RUST_PRELUDE: &[&str] = &[
    "Copy",
    "Send",
    "Sized",
    "Sync",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "AsyncFn",
    "AsyncFnMut",
    "AsyncFnOnce",
    "drop",
    "size_of",
    "size_of_val",
    "align_of",
    "align_of_val",
    "Box",
    "ToOwned",
    "Clone",
    "PartialEq",
    "PartialOrd",
    "Eq",
    "Ord",
    "AsRef",
    "AsMut",
    "Into",
    "From",
    "Default",
    "Iterator",
    "Extend",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "ToString",
    "Vec",
    "TryFrom",
    "TryInto",
    "FromIterator",
    "Future",
    "IntoFuture",
];

/// The PyO3 entry points: argument checks, GIL release, result conversion.
pub fn python_module(module: &typed::Module, facts: &Facts, module_name: &str) -> TokenStream {
    let exports: Vec<&typed::Function> = module
        .functions
        .iter()
        .filter(|f| f.export.is_some())
        .collect();
    // The wrappers' names: each `#[pyfunction]` also names a module (PyO3's
    // definition of it), which must not hide a type `mod python` names
    // unqualified (a Python function may be called `Python` or `Fn`), nor
    // be named like anything of Rust's prelude (`drop`, `Default`).
    let mut taken: std::collections::HashSet<String> = UNQUALIFIED_TYPES
        .iter()
        .chain(RUST_PRELUDE)
        .map(|name| name.to_string())
        .collect();
    let wrapper_names: HashMap<&str, syn::Ident> = exports
        .iter()
        .map(|f| {
            let name = ident(&f.rust_name).to_string();
            let name = if taken.contains(&name) {
                claim(&name, &mut taken)
            } else {
                taken.insert(name.clone());
                ident(&f.rust_name)
            };
            (f.rust_name.as_str(), name)
        })
        .collect();
    // The names the module's own items take in `mod python` stay clear of
    // the exported functions' wrappers (a Python function may be called
    // `m` or `init`).
    // The C-ABI entry points and their tables, and the dispatchers, are
    // items of `mod python` too (`native_f` may be an export, and so may
    // both `f` and `F`, whose tables are both `NATIVE_F`).
    let natives: Vec<(TokenStream, &str, syn::Ident)> = exports
        .iter()
        .filter_map(|f| native_entry(f, &mut taken))
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for function in &exports {
        if !names.contains(&function.name.as_str()) {
            names.push(&function.name);
        }
    }
    let groups: Vec<(&str, Vec<&typed::Function>)> = names
        .iter()
        .map(|python_name| {
            let group = exports
                .iter()
                .copied()
                .filter(|f| f.name == *python_name)
                .collect();
            (*python_name, group)
        })
        .collect();
    // A parameter that Rust cannot name as Python does (`_`, `self`, `Ok`)
    // cannot be passed by keyword to the wrapper, whose parameter names
    // are the keywords: the dispatcher takes the arguments instead.
    let dispatcher_names: Vec<Option<syn::Ident>> = groups
        .iter()
        .map(|(_, group)| {
            let unnamed = group
                .iter()
                .any(|f| f.params.iter().any(|p| binding_ident(&p.name).is_none()));
            (group.len() > 1 || unnamed).then(|| {
                let base = group[0].rust_name.trim_end_matches('_');
                claim(&format!("{base}__overloads"), &mut taken)
            })
        })
        .collect();
    let init = claim("init", &mut taken);
    let m = claim("m", &mut taken);
    let wrappers = exports.iter().map(|f| {
        let written = facts
            .function(&f.rust_name)
            .map(|facts| facts.written_parameters.as_slice())
            .unwrap_or_default();
        wrapper(f, &wrapper_names[f.rust_name.as_str()], written)
    });
    // Functions exported under one name with several signatures (one per
    // `#pythran export` line) get a dispatcher: first match wins.
    let mut dispatchers = Vec::new();
    let mut registrations = Vec::new();
    for ((python_name, group), dispatcher) in groups.iter().zip(dispatcher_names) {
        let name = match (group.as_slice(), dispatcher) {
            ([single], None) => wrapper_names[single.rust_name.as_str()].clone(),
            (_, dispatcher) => {
                let name = dispatcher.unwrap_or_else(|| format_ident!("overloads"));
                dispatchers.push(overload_dispatcher(
                    python_name,
                    group,
                    &name,
                    &wrapper_names,
                ));
                name
            }
        };
        registrations.push(quote!(#m.add_function(wrap_pyfunction!(#name, #m)?)?;));
    }
    let wrappers = wrappers.chain(dispatchers);
    let native_definitions = natives.iter().map(|(d, _, _)| d);
    let native_registrations = natives.iter().map(
        |(_, python_name, table)| quote!(crate::rt::export_native(#m, #python_name, &#table)?;),
    );
    let constants = module.constants.iter().map(|c| {
        let python_name = &c.name;
        let name = ident(&c.name);
        quote!(#m.add(#python_name, super::constants::#name)?;)
    });
    // The thread count of parallel loops, as `numba.set_num_threads`,
    // unless the module defines those names itself.
    let thread_functions = !thread_functions_taken(module);
    let thread_registrations =
        thread_functions.then(|| quote!(crate::rt::add_thread_functions(#m)?;));
    quote! {
        /// The CPython entry points of the module.
        mod python {
            use pyo3::prelude::*;

            #(#wrappers)*
            #(#native_definitions)*

            #[pymodule]
            #[pyo3(name = #module_name)]
            fn #init(#m: &Bound<'_, PyModule>) -> PyResult<()> {
                #(#registrations)*
                #(#native_registrations)*
                #(#constants)*
                #thread_registrations
                Ok(())
            }
        }
    }
}

/// A parameter of a wrapper: named as in Python, which is the keyword
/// PyO3 accepts for it, where Rust can bind that name (`rt`, `r#type`),
/// else as the kernel names it (the dispatcher then passes the arguments).
fn param_ident(name: &str) -> syn::Ident {
    binding_ident(name).unwrap_or_else(|| ident(name))
}

/// The entry point of one export; `written` are the array parameters it
/// stores into.
fn wrapper(
    function: &typed::Function,
    wrapper_name: &syn::Ident,
    written: &[String],
) -> TokenStream {
    let name = ident(&function.rust_name);
    let python_name = &function.name;
    // The wrapper's own variables are named unlike its parameters.
    let mut locals: std::collections::HashSet<String> = function
        .params
        .iter()
        .map(|p| param_ident(&p.name).to_string())
        .collect();
    let py = claim("py", &mut locals);
    let result = claim("result", &mut locals);
    let [function_var, object_var, other_var] =
        ["function", "object", "other"].map(|base| claim(base, &mut locals));
    // A positional parameter before a required one cannot have a default
    // in Python's signature: in an instance of a function whose nullable
    // parameter must be passed (its None default belongs to the instance
    // where it is None), which only the dispatcher calls, with every
    // argument.
    let mut before_required = vec![false; function.params.len()];
    let mut required_later = false;
    for (index, param) in function.params.iter().enumerate().rev() {
        if !param.keyword_only {
            before_required[index] = required_later;
            required_later |= param.default.is_none();
        }
    }
    let mut signature = Vec::new();
    for (index, param) in function.params.iter().enumerate() {
        if param.keyword_only && (index == 0 || !function.params[index - 1].keyword_only) {
            signature.push(quote!(*));
        }
        let var = param_ident(&param.name);
        if before_required[index] {
            signature.push(quote!(#var));
            continue;
        }
        match &param.default {
            // Checked scalars arrive as Python objects, so their default is
            // applied after extraction (`None` stands for "not passed").
            Some(_) if checked_scalar(&param.ty).is_some() || param.ty == Type::None => {
                signature.push(quote!(#var = None))
            }
            Some(default) => {
                let value = literal(default.clone());
                signature.push(quote!(#var = #value));
            }
            None => signature.push(quote!(#var)),
        }
    }
    let text_signature = python_signature(function);
    let mut params = Vec::new();
    let mut conversions = Vec::new();
    let mut args = Vec::new();
    let mut callables = Vec::new();
    let mut reflections = Vec::new();
    let mut shared: Option<syn::Ident> = None;
    for param in &function.params {
        let var = param_ident(&param.name);
        let python_param = &param.name;
        match &param.ty {
            // The instance where the parameter is None: the dispatcher
            // chose it for a None (or left-out) argument.
            Type::None => {
                params.push(quote!(#var: Option<&Bound<'py, PyAny>>));
                let message = format!("argument '{python_param}' must be None");
                conversions.push(quote! {
                    if #var.is_some_and(|value| !value.is_none()) {
                        return Err(pyo3::exceptions::PyTypeError::new_err(#message));
                    }
                });
                args.push(quote!(()));
            }
            ty @ (Type::List(_)
            | Type::Dict(..)
            | Type::Set(_)
            | Type::Tuple(_)
            | Type::TupleOf(_))
                if converted_by_runtime(ty) =>
            {
                params.push(quote!(#var: &Bound<'py, PyAny>));
                let ty = super::kernels::variable_type(function, &param.name, &param.ty);
                if shared.is_none() {
                    // One Python list (dict, set) reached twice among the
                    // arguments (`f(a, a)`, rows `[r, r]`) becomes one
                    // compiled list, as it is one object in Python.
                    let guard = claim("shared_arguments", &mut locals);
                    conversions.push(quote! {
                        let #guard = crate::rt::SharedArguments::begin();
                    });
                    shared = Some(guard);
                }
                conversions.push(quote! {
                    let #var = {
                        use crate::rt;
                        <#ty as rt::FromPythonValue>::from_python_argument(#var, #python_param)?
                    };
                });
                args.push(quote!(#var));
            }
            Type::Array(array) => {
                params.push(quote!(#var: &Bound<'py, PyAny>));
                let element = binding_element(array.dtype);
                let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
                // Unaligned memory is copied for an array the function
                // only reads, refused for one it stores into.
                let convert = if written.contains(&param.name) {
                    format_ident!("from_python_stored")
                } else {
                    format_ident!("from_python")
                };
                conversions.push(quote! {
                    let #var = crate::rt::Array::<#element, #ndim>::#convert(#var, #python_param)?;
                });
                args.push(quote!(&#var));
            }
            Type::Callable(callable) => {
                params.push(quote!(#var: &Bound<'py, PyAny>));
                let known = known_natives(callable);
                let modules = known.iter().map(|k| k.module);
                let names = known.iter().map(|k| k.name);
                let signature_text = callable.signature();
                conversions.push(quote! {
                    let #var = crate::rt::Callable::from_python(
                        #var,
                        #python_param,
                        #signature_text,
                        &[#((#modules, #names)),*],
                    )?;
                });
                callables.push((param, callable));
                args.push(quote!(#var));
            }
            other => match (checked_scalar(other), param.default.clone()) {
                (Some(extract), None) => {
                    params.push(quote!(#var: &Bound<'py, PyAny>));
                    conversions
                        .push(quote! { let #var = crate::rt::#extract(#var, #python_param)?; });
                    args.push(quote!(#var));
                }
                (Some(extract), Some(default)) => {
                    params.push(quote!(#var: Option<&Bound<'py, PyAny>>));
                    let default = match (default, other) {
                        (typed::Literal::Str(text), _) => quote!(crate::rt::Str::from(#text)),
                        // `s=0` of a complex parameter: the number as a
                        // complex one, as compiled code holds it.
                        (typed::Literal::Int(v), Type::Complex) => {
                            let re = literal(typed::Literal::Float(v as f64));
                            quote!(crate::rt::Complex::from_real(#re))
                        }
                        (typed::Literal::Float(v), Type::Complex) => {
                            let re = literal(typed::Literal::Float(v));
                            quote!(crate::rt::Complex::from_real(#re))
                        }
                        (typed::Literal::Bool(v), Type::Complex) => {
                            let re = literal(typed::Literal::Float(f64::from(u8::from(v))));
                            quote!(crate::rt::Complex::from_real(#re))
                        }
                        (default, _) => literal(default),
                    };
                    conversions.push(quote! {
                        let #var = match #var {
                            Some(value) => crate::rt::#extract(value, #python_param)?,
                            None => #default,
                        };
                    });
                    args.push(quote!(#var));
                }
                (None, _) => {
                    let ty = rust_type(other);
                    params.push(quote!(#var: #ty));
                    args.push(quote!(#var));
                }
            },
        }
    }
    if let Some(guard) = shared {
        // Changes made to the arguments show in the caller's objects, also
        // those of a container the caller holds elsewhere (a row `r` of
        // `[r, r]`) that the arguments no longer reach.
        let reflection = claim("reflection", &mut locals);
        conversions.push(quote! { let #reflection = #guard.finish(); });
        reflections.push(quote! { #reflection.write_back(#py)?; });
    }
    let shares_lists = passes_containers(function);
    // Lists are not `Send`; they stay on this thread, which is where
    // `allow_threads` runs the kernel (`rt::SameThread`).
    let without_gil = |call: TokenStream| -> TokenStream {
        if shares_lists {
            quote! {{
                let job = crate::rt::SameThread(move || #call);
                #py.allow_threads(move || crate::rt::SameThread((job.into_inner())()))
                    .into_inner()
            }}
        } else {
            quote!(#py.allow_threads(move || #call))
        }
    };
    let call = match callables.as_slice() {
        [] => without_gil(quote!(super::#name(#(#args),*))),
        // One function argument: the common natives get a kernel of their
        // own, so the loop calls them directly; anything else is boxed.
        [(param, callable)] => {
            let var = param_ident(&param.name);
            let known = known_natives(callable);
            let arms = known
                .iter()
                .enumerate()
                .filter(|(_, k)| k.monomorphise)
                .map(|(index, k)| {
                    let closure = native_closure(&k.reference, callable, &quote!(crate::rt));
                    let call_args = args.iter().map(|a| {
                        if a.to_string() == var.to_string() {
                            quote!(&#closure)
                        } else {
                            a.clone()
                        }
                    });
                    let call = without_gil(quote!(super::#name(#(#call_args),*)));
                    quote! {
                        crate::rt::Callable::Known(#index, _) => #call,
                    }
                });
            let boxed = boxed_callable(&var, callable);
            let with = |replacement: TokenStream| -> Vec<TokenStream> {
                args.iter()
                    .map(|a| {
                        if a.to_string() == var.to_string() {
                            replacement.clone()
                        } else {
                            a.clone()
                        }
                    })
                    .collect()
            };
            let call_args = with(quote!(&*#var));
            let (typed_params, slots, python_args) = closure_parts(callable);
            let compiled_args = with(quote!(&|#(#typed_params),*| {
                #function_var.call(&[#(#slots),*]).map(crate::rt::Slot::from_slot)
            }));
            let python_call_args = with(
                quote!(&|#(#typed_params),*| crate::rt::call_python(&#object_var, (#(#python_args,)*))),
            );
            let compiled_call = without_gil(quote!(super::#name(#(#compiled_args),*)));
            let other_call = without_gil(quote!(super::#name(#(#call_args),*)));
            quote! {
                match #var {
                    #(#arms)*
                    crate::rt::Callable::Compiled(#function_var) => {
                        #compiled_call
                    }
                    // A Python callable needs the GIL on every call, so the
                    // loop keeps it rather than taking it again each time;
                    // other threads still get turns inside the callable, as
                    // in CPython.
                    crate::rt::Callable::Python(#object_var) => super::#name(#(#python_call_args),*),
                    #other_var => {
                        let #var = #other_var;
                        #boxed
                        #other_call
                    }
                }
            }
        }
        many => {
            let boxes = many
                .iter()
                .map(|(param, callable)| boxed_callable(&param_ident(&param.name), callable));
            let vars: Vec<String> = many
                .iter()
                .map(|(p, _)| param_ident(&p.name).to_string())
                .collect();
            let call_args = args.iter().map(|a| {
                if vars.contains(&a.to_string()) {
                    quote!(&*#a)
                } else {
                    a.clone()
                }
            });
            let call = without_gil(quote!(super::#name(#(#call_args),*)));
            quote! {{
                #(#boxes)*
                #call
            }}
        }
    };
    // A list argument's changes are written back also when the call
    // raises, as the caller's list would have them.
    let result_binding = if reflections.is_empty() {
        quote! { let #result = #call?; }
    } else {
        quote! {
            let #result = #call;
            #(#reflections)*
            let #result = #result?;
        }
    };
    let doc = function
        .export
        .as_ref()
        .and_then(|e| e.docstring.as_ref())
        .map(|d| doc_comment(d))
        .unwrap_or_default();
    quote! {
        #doc
        #[pyfunction]
        #[pyo3(name = #python_name, signature = (#(#signature),*), text_signature = #text_signature)]
        fn #wrapper_name<'py>(#py: Python<'py>, #(#params),*) -> PyResult<Bound<'py, PyAny>> {
            #(#conversions)*
            #result_binding
            crate::rt::ToPython::to_python(#result, #py)
        }
    }
}

/// The entry point of a function exported with several signatures: tries
/// them in order against the arguments' types and calls the first that
/// matches, or raises TypeError listing them.
fn overload_dispatcher(
    python_name: &str,
    group: &[&typed::Function],
    name: &syn::Ident,
    wrapper_names: &HashMap<&str, syn::Ident>,
) -> TokenStream {
    let arms = group.iter().map(|function| {
        // Trailing parameters with defaults may be left out, as in Python;
        // the wrapper applies their defaults.
        let required = function
            .params
            .iter()
            .rposition(|p| {
                p.default.is_none() || (checked_scalar(&p.ty).is_none() && p.ty != Type::None)
            })
            .map_or(0, |last| last + 1);
        let target = &wrapper_names[function.rust_name.as_str()];
        // A parameter in its None instance with a None default may be left
        // out wherever it is.
        let optional = |k: usize, param: &typed::Param| {
            k >= required || (param.ty == Type::None && param.default.is_some())
        };
        let tests = function.params.iter().enumerate().map(|(k, param)| {
            let optional = optional(k, param);
            let k = TokenLiteral::usize_unsuffixed(k);
            let test = match &param.ty {
                Type::Array(array) => {
                    let element = binding_element(array.dtype);
                    let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
                    quote!(crate::rt::accepts_array::<#element, #ndim>(v))
                }
                Type::Int => quote!(crate::rt::accepts_int(v)),
                Type::Float => quote!(crate::rt::accepts_float(v)),
                Type::Bool => quote!(crate::rt::accepts_bool(v)),
                Type::Callable(_) => quote!(v.is_callable()),
                Type::List(_) => quote!(v.is_instance_of::<pyo3::types::PyList>()),
                Type::Dict(..) => quote!(v.is_instance_of::<pyo3::types::PyDict>()),
                Type::Set(_) => quote!(v.is_instance_of::<pyo3::types::PySet>()),
                Type::TupleOf(_) => quote!(v.is_instance_of::<pyo3::types::PyTuple>()),
                Type::Str => quote!(v.is_instance_of::<pyo3::types::PyString>()),
                Type::None => quote!(v.is_none()),
                _ => quote!(true),
            };
            // A parameter with a default may be left out (`None`), as in
            // Python; the others must be passed, by position or keyword.
            if optional {
                quote!(given[#k].as_ref().map_or(true, |v| #test))
            } else {
                quote!(given[#k].as_ref().is_some_and(|v| #test))
            }
        });
        let args = function.params.iter().enumerate().map(|(k, param)| {
            let optional = optional(k, param);
            let k = TokenLiteral::usize_unsuffixed(k);
            if optional {
                return quote!(given[#k].as_ref());
            }
            let passed = quote!(crate::rt::passed(&given[#k])?);
            match (&param.ty, checked_scalar(&param.ty), &param.default) {
                (Type::None, _, _) => quote!(Some(#passed)),
                (
                    Type::Array(_)
                    | Type::Callable(_)
                    | Type::List(_)
                    | Type::Dict(..)
                    | Type::Set(_)
                    | Type::TupleOf(_),
                    _,
                    _,
                ) => passed,
                (_, Some(_), None) => passed,
                (_, Some(_), Some(_)) => quote!(Some(#passed)),
                (_, None, _) => quote!(#passed.extract()?),
            }
        });
        let names = function.params.iter().map(|p| p.name.as_str());
        let tests: Vec<TokenStream> = tests.collect();
        let test = if tests.is_empty() {
            quote!(true)
        } else {
            quote!(#(#tests)&&*)
        };
        quote! {
            if let Some(given) = crate::rt::overload_arguments(&args, kwargs, &[#(#names),*])? {
                if #test {
                    return #target(py, #(#args),*);
                }
            }
        }
    });
    let signatures: Vec<String> = group
        .iter()
        .map(|f| {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.ty.python_name()))
                .collect();
            format!("{}({})", f.name, params.join(", "))
        })
        .collect();
    let doc = group[0]
        .export
        .as_ref()
        .and_then(|e| e.docstring.as_ref())
        .map(|d| doc_comment(d))
        .unwrap_or_default();
    let code = quote! {
        #doc
        #[pyfunction]
        #[pyo3(name = #python_name, signature = (*args, **kwargs))]
        fn #name<'py>(
            py: Python<'py>,
            args: &Bound<'py, pyo3::types::PyTuple>,
            kwargs: Option<&Bound<'py, pyo3::types::PyDict>>,
        ) -> PyResult<Bound<'py, PyAny>> {
            #(#arms)*
            Err(crate::rt::no_overload_error_with_keywords(
                #python_name,
                &args,
                kwargs,
                &[#(#signatures),*],
            ))
        }
    };
    code
}

/// The runtime function that extracts a Python argument of this type with
/// messages naming the parameter, for `int`, `float` and `bool`.
fn checked_scalar(ty: &Type) -> Option<syn::Ident> {
    match ty {
        Type::Int => Some(format_ident!("int_from_python")),
        Type::Float => Some(format_ident!("float_from_python")),
        Type::Bool => Some(format_ident!("bool_from_python")),
        Type::Complex => Some(format_ident!("complex_from_python")),
        Type::Str => Some(format_ident!("str_from_python")),
        _ => None,
    }
}

/// The signature Python shows for the function: `(f, a, b, *, n_iter=1000)`.
fn python_signature(function: &typed::Function) -> String {
    let mut parts = Vec::new();
    for (index, param) in function.params.iter().enumerate() {
        if param.keyword_only && (index == 0 || !function.params[index - 1].keyword_only) {
            parts.push("*".to_string());
        }
        match &param.default {
            Some(default) => parts.push(format!(
                "{}={}",
                param.name,
                crate::stub::python_literal(default.clone())
            )),
            None => parts.push(param.name.clone()),
        }
    }
    format!("({})", parts.join(", "))
}

/// A native function the wrapper recognises when passed for a `Callable`.
struct KnownNative {
    module: &'static str,
    name: &'static str,
    reference: typed::FunctionRef,
    /// Worth a kernel instance of its own (common in numeric code).
    monomorphise: bool,
}

/// The `math` and NumPy functions that fit `callable`'s signature, in the
/// order of the table the runtime classifies arguments against.
fn known_natives(callable: &CallableType) -> Vec<KnownNative> {
    let all_float =
        callable.params.iter().all(|p| *p == Type::Float) && *callable.ret == Type::Float;
    if !all_float {
        return Vec::new();
    }
    let arity = callable.params.len();
    const COMMON: &[&str] = &[
        "sqrt", "exp", "log", "sin", "cos", "tan", "atan", "arctan", "tanh", "erf", "atan2",
        "arctan2", "hypot", "pow", "power",
    ];
    let mut known = Vec::new();
    for (name, function_arity) in crate::library::math::FUNCTIONS {
        if *function_arity == arity {
            known.push(KnownNative {
                module: "math",
                name,
                reference: typed::FunctionRef::Math(name),
                monomorphise: COMMON.contains(name),
            });
        }
    }
    for (name, method, function_arity) in crate::library::numpy::FLOAT_METHODS {
        if *function_arity == arity {
            known.push(KnownNative {
                module: "numpy",
                name,
                reference: typed::FunctionRef::FloatMethod(method),
                monomorphise: COMMON.contains(name),
            });
        }
    }
    known
}

/// The pieces of a closure with `callable`'s signature: typed parameters
/// (`x0: f64`), their native slots, and their names.
fn closure_parts(callable: &CallableType) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<syn::Ident>) {
    let args: Vec<syn::Ident> = (0..callable.params.len())
        .map(|i| format_ident!("x{}", i))
        .collect();
    let typed = args
        .iter()
        .zip(&callable.params)
        .map(|(arg, ty)| {
            let ty = rust_type(ty);
            quote!(#arg: #ty)
        })
        .collect();
    let slots = args
        .iter()
        .map(|arg| quote!(crate::rt::Slot::to_slot(#arg)))
        .collect();
    (typed, slots, args)
}

/// Statements that rebind `var` (a classified `rt::Callable`) to a boxed
/// closure: natives directly, compiled functions through their native entry
/// point, and any other Python callable with the GIL.
fn boxed_callable(var: &syn::Ident, callable: &CallableType) -> TokenStream {
    let bound = {
        let params = callable.params.iter().map(rust_type);
        let ret = rust_type(&callable.ret);
        quote!(dyn Fn(#(#params),*) -> crate::rt::Result<#ret> + Send + Sync)
    };
    let args: Vec<syn::Ident> = (0..callable.params.len())
        .map(|i| format_ident!("x{}", i))
        .collect();
    let typed_args: Vec<TokenStream> = args
        .iter()
        .zip(&callable.params)
        .map(|(arg, ty)| {
            let ty = rust_type(ty);
            quote!(#arg: #ty)
        })
        .collect();
    let known = known_natives(callable)
        .into_iter()
        .enumerate()
        .map(|(index, k)| {
            let closure = native_closure(&k.reference, callable, &quote!(crate::rt));
            quote!(crate::rt::Callable::Known(#index, _) => Box::new(#closure),)
        });
    quote! {
        let #var: Box<#bound> = match #var {
            #(#known)*
            crate::rt::Callable::Compiled(function) => Box::new(move |#(#typed_args),*| {
                function
                    .call(&[#(crate::rt::Slot::to_slot(#args)),*])
                    .map(crate::rt::Slot::from_slot)
            }),
            crate::rt::Callable::Known(_, object) | crate::rt::Callable::Python(object) => {
                Box::new(move |#(#typed_args),*| crate::rt::call_python(&object, (#(#args,)*)))
            }
        };
    }
}

/// The C-ABI entry point through which other compiled modules call an
/// exported scalar function without the GIL, its Python name and the name
/// of its table (both items named unlike those in `taken`), or `None` if
/// the function's parameters or result are not all scalars.
fn native_entry<'f>(
    function: &'f typed::Function,
    taken: &mut std::collections::HashSet<String>,
) -> Option<(TokenStream, &'f str, syn::Ident)> {
    let scalar = |ty: &Type| matches!(ty, Type::Int | Type::Float | Type::Bool);
    if !function.params.iter().all(|p| scalar(&p.ty))
        || !scalar(&function.return_type)
        || function.params.len() > 8
    {
        return None;
    }
    let name = ident(&function.rust_name);
    let base = &function.rust_name;
    let entry = claim(&format!("native_{base}"), taken);
    let table = claim(&format!("NATIVE_{}", base.to_uppercase()), taken);
    let signature = CallableType {
        params: function.params.iter().map(|p| p.ty.clone()).collect(),
        ret: Box::new(function.return_type.clone()),
    }
    .signature();
    let args = (0..function.params.len()).map(|i| {
        let index = TokenLiteral::usize_unsuffixed(i);
        quote!(args.get(#index))
    });
    let definition = quote! {
        extern "C" fn #entry(args: &crate::rt::NativeArgs, result: &mut crate::rt::NativeResult) {
            result.set(super::#name(#(#args),*));
        }
        static #table: crate::rt::NativeFunction = crate::rt::NativeFunction::new(#signature, #entry);
    };
    Some((definition, function.name.as_str(), table))
}

/// `base`, or `base` with underscores appended, whichever no name in `taken`
/// is; it is taken from then on.
fn claim(base: &str, taken: &mut std::collections::HashSet<String>) -> syn::Ident {
    let mut name = base.to_string();
    while taken.contains(&name) {
        name.push('_');
    }
    taken.insert(name.clone());
    format_ident!("{}", name)
}

/// The element type of an array as the `python` module names it: through
/// `crate::rt`, since the module does not import `rt`.
fn binding_element(dtype: crate::types::Dtype) -> TokenStream {
    if dtype.is_complex() {
        let name = format_ident!("{}", dtype.rust_name());
        quote!(crate::rt::#name)
    } else {
        dtype_tokens(dtype)
    }
}

/// Whether a parameter of type `ty` is converted by the runtime's
/// `FromPythonValue` (under `SharedArguments`, for the write-back): a
/// container, or a tuple holding one, a complex number or an array, which
/// pyo3 cannot extract by itself.
fn converted_by_runtime(ty: &Type) -> bool {
    match ty {
        Type::List(_) | Type::Dict(..) | Type::Set(_) | Type::TupleOf(_) => true,
        Type::Tuple(items) => items.iter().any(|item| {
            matches!(item, Type::Complex | Type::Array(_))
                || matches!(item, Type::Scalar(dtype) if dtype.is_complex())
                || converted_by_runtime(item)
        }),
        _ => false,
    }
}
