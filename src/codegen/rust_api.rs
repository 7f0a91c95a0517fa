//! The public Rust API of a module emitted for a Rust crate
//! (`ferropy::Builder`): for each exported function, a `pub fn` that takes
//! natural Rust values, lends them to the kernel and returns its result.
//!
//! Scalars are `i64`, `f64`, `bool` (and the runtime's `Complex`). An array
//! parameter is an `ndarray::ArrayView` when the function only reads it and
//! an `ArrayViewMut` when it stores into it (`analysis::writes`, through the
//! helpers it calls; an array written only through a local name bound to it
//! stays read-only and the store raises ValueError, as NumPy's read-only
//! arrays do). Returned arrays are owned `ndarray::Array`s. The result is
//! `Result<T, ferropy_rt::Error>`, the error carrying the Python exception.
//!
//! A view's memory is lent to the kernel for the call only
//! (`rt::Array::from_view`), so the wrapper copies every array of the result
//! out (`into_ndarray`) before the borrow ends. Lists, dicts and sets could
//! carry a lent array past that point unseen, so a function with an array
//! inside a container parameter or result keeps the runtime's own types in
//! its signature (`&rt::Array`, which owns or shares its memory) instead.

use proc_macro2::{Literal as TokenLiteral, TokenStream};
use quote::{format_ident, quote};

use super::kernels::{callable_generics, doc_comment, dtype_tokens, ident, rust_type};
use crate::analysis::Facts;
use crate::ir::typed;
use crate::types::Type;

/// One public function per exported function instance, named as its Rust
/// kernel (the Python name, or the instance's name for a function exported
/// with several signatures).
pub fn public_functions(module: &typed::Module, facts: &Facts) -> TokenStream {
    let functions = module
        .functions
        .iter()
        .filter(|function| function.export.is_some())
        .map(|function| {
            let written = facts
                .function(&function.rust_name)
                .map(|f| f.written_parameters.as_slice())
                .unwrap_or_default();
            if lends_safely(function) {
                over_views(function, written)
            } else {
                over_runtime_values(function)
            }
        });
    quote!(#(#functions)*)
}

/// Whether no parameter or result holds an array inside a list, dict or set.
fn lends_safely(function: &typed::Function) -> bool {
    function
        .params
        .iter()
        .map(|p| &p.ty)
        .chain([&function.return_type])
        .all(|ty| !array_in_container(ty, false))
}

fn array_in_container(ty: &Type, in_container: bool) -> bool {
    match ty {
        Type::Array(_) => in_container,
        Type::Tuple(items) => items.iter().any(|t| array_in_container(t, in_container)),
        Type::List(item) | Type::Set(item) => array_in_container(item, true),
        Type::Dict(key, value) => array_in_container(key, true) || array_in_container(value, true),
        _ => false,
    }
}

fn doc(function: &typed::Function) -> TokenStream {
    let docstring = function
        .export
        .as_ref()
        .and_then(|e| e.docstring.as_ref())
        .map(|d| doc_comment(d))
        .unwrap_or_default();
    // The instance where parameters that may be None are None takes no
    // value for them.
    let none: Vec<String> = function
        .params
        .iter()
        .filter(|p| p.ty == Type::None)
        .map(|p| format!("`{}`", p.name))
        .collect();
    if none.is_empty() {
        return docstring;
    }
    let line = format!(
        " The Python function called with {} None (or left out).",
        none.join(" and ")
    );
    let paragraph = if docstring.is_empty() {
        quote!()
    } else {
        quote!(#[doc = ""])
    };
    quote! {
        #docstring
        #paragraph
        #[doc = #line]
    }
}

/// `<F: Fn(f64) -> rt::Result<f64> + Sync + ?Sized>` for the function's
/// `Callable` parameters, as the kernel declares them.
fn generics(function: &typed::Function) -> TokenStream {
    let generics = callable_generics(function);
    if generics.is_empty() {
        return quote!();
    }
    let bounds = generics
        .iter()
        .map(|(_, generic, bound)| quote!(#generic: #bound + Sync + ?Sized));
    quote!(<#(#bounds),*>)
}

fn callable_param_type(function: &typed::Function, param: &typed::Param) -> TokenStream {
    let generic = callable_generics(function)
        .into_iter()
        .find(|(name, _, _)| name == &param.name)
        .map(|(_, generic, _)| generic)
        .unwrap_or_else(|| format_ident!("F"));
    quote!(&#generic)
}

/// The ndarray dimension type of `ndim` axes (`Ix2`), or the dynamic one
/// beyond the fixed types ndarray has.
fn dimension(ndim: u8) -> TokenStream {
    if (1..=6).contains(&ndim) {
        let fixed = format_ident!("Ix{}", ndim);
        quote!(::ndarray::#fixed)
    } else {
        quote!(::ndarray::IxDyn)
    }
}

fn over_views(function: &typed::Function, written: &[String]) -> TokenStream {
    let name = ident(&function.rust_name);
    let mut params = Vec::new();
    let mut lending = Vec::new();
    let mut args = Vec::new();
    for param in &function.params {
        let var = ident(&param.name);
        match &param.ty {
            // The instance where the parameter is None takes no value for it.
            Type::None => args.push(quote!(())),
            Type::Array(array) => {
                let element = dtype_tokens(array.dtype);
                let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
                let dimension = dimension(array.ndim);
                if written.contains(&param.name) {
                    params
                        .push(quote!(mut #var: ::ndarray::ArrayViewMut<'_, #element, #dimension>));
                    lending.push(quote! {
                        let #var = unsafe { rt::Array::<#element, #ndim>::from_view_mut(&mut #var)? };
                    });
                } else {
                    params.push(quote!(#var: ::ndarray::ArrayView<'_, #element, #dimension>));
                    lending.push(quote! {
                        let #var = unsafe { rt::Array::<#element, #ndim>::from_view(&#var)? };
                    });
                }
                args.push(quote!(&#var));
            }
            Type::Callable(_) => {
                let ty = callable_param_type(function, param);
                params.push(quote!(#var: #ty));
                args.push(quote!(#var));
            }
            other => {
                let ty = rust_type(other);
                params.push(quote!(#var: #ty));
                if function.rows.contains_key(&param.name) {
                    // The compiled function reads it as one block of rows.
                    args.push(quote!(rt::Rows::from_lists(&#var)));
                } else {
                    args.push(quote!(#var));
                }
            }
        }
    }
    let generics = generics(function);
    let return_type = owned_type(&function.return_type);
    let result = format_ident!("result");
    let copied_out = copy_out(&function.return_type, quote!(#result), &mut 0);
    let doc = doc(function);
    // Generated `unsafe` carries its proof in the function's documentation,
    // as the kernels' unchecked accesses do.
    let paragraph = if doc.is_empty() {
        quote!()
    } else {
        quote!(#[doc = ""])
    };
    let safety = if lending.is_empty() {
        quote!()
    } else {
        quote! {
            #paragraph
            /// # Safety
            /// The `unsafe` blocks lend the views' memory to the compiled
            /// function (`rt::Array::from_view`), which nothing keeps alive but
            /// the borrows of this call. No lent array outlives it: compiled
            /// code keeps no state between calls, its parallel loops finish
            /// before it returns, and every array of its result is copied out
            /// (`into_ndarray`) here, while the views still borrow the memory.
            /// A mutable view is the only reference to its memory for the call.
        }
    };
    quote! {
        #doc
        #safety
        pub fn #name #generics(#(#params),*) -> ::core::result::Result<#return_type, ::ferropy_rt::Error> {
            #(#lending)*
            let #result = compiled::#name(#(#args),*)?;
            Ok(#copied_out)
        }
    }
}

/// The Rust type a result of type `ty` is returned as: arrays owned.
fn owned_type(ty: &Type) -> TokenStream {
    match ty {
        Type::Array(array) => {
            let element = dtype_tokens(array.dtype);
            let dimension = dimension(array.ndim);
            quote!(::ndarray::Array<#element, #dimension>)
        }
        Type::Tuple(items) => {
            let items = items.iter().map(owned_type);
            quote!((#(#items,)*))
        }
        other => rust_type(other),
    }
}

/// An expression turning `value`, of type `ty`, into its `owned_type`.
fn copy_out(ty: &Type, value: TokenStream, fresh: &mut usize) -> TokenStream {
    match ty {
        Type::Array(_) => quote!(#value.into_ndarray()?),
        Type::Tuple(items) if items.iter().any(has_array) => {
            let names: Vec<syn::Ident> = items
                .iter()
                .map(|_| {
                    *fresh += 1;
                    format_ident!("item{}", *fresh)
                })
                .collect();
            let converted = items
                .iter()
                .zip(&names)
                .map(|(item, name)| copy_out(item, quote!(#name), fresh));
            quote!({
                let (#(#names,)*) = #value;
                (#(#converted,)*)
            })
        }
        _ => value,
    }
}

fn has_array(ty: &Type) -> bool {
    match ty {
        Type::Array(_) => true,
        Type::Tuple(items) => items.iter().any(has_array),
        _ => false,
    }
}

/// The kernel behind a public name, in the runtime's own types, for
/// signatures that could carry a lent array away unseen.
fn over_runtime_values(function: &typed::Function) -> TokenStream {
    let name = ident(&function.rust_name);
    let params = function
        .params
        .iter()
        .filter(|p| p.ty != Type::None)
        .map(|param| {
            let var = ident(&param.name);
            let ty = match &param.ty {
                Type::Callable(_) => callable_param_type(function, param),
                Type::Array(_) => {
                    let ty = rust_type(&param.ty);
                    quote!(&#ty)
                }
                other => rust_type(other),
            };
            quote!(#var: #ty)
        });
    let args = function.params.iter().map(|param| {
        if param.ty == Type::None {
            quote!(())
        } else {
            let var = ident(&param.name);
            quote!(#var)
        }
    });
    let generics = generics(function);
    let return_type = rust_type(&function.return_type);
    let doc = doc(function);
    let paragraph = if doc.is_empty() {
        quote!()
    } else {
        quote!(#[doc = ""])
    };
    quote! {
        #doc
        #paragraph
        /// An array travels in a list, dict or set here, so arrays are the
        /// runtime's `rt::Array` (made with `rt::Array::zeros` and friends)
        /// rather than borrowed ndarray views.
        pub fn #name #generics(#(#params),*) -> ::core::result::Result<#return_type, ::ferropy_rt::Error> {
            compiled::#name(#(#args),*)
        }
    }
}
