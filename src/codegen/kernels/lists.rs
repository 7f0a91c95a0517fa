//! Code for Python lists: displays, slices, stores and the `rt::list_*`
//! operations, each a plain call of the runtime with the list by reference.
//!
//! ```text
//! xs.append(x * 2.0)   →   rt::list_append(&xs, x * 2.0);
//! xs[i] = v            →   rt::list_set(v, &xs, i)?;
//! ```
//!
//! Arguments are evaluated left to right, as Python evaluates them; that is
//! why a store passes its value first.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Code, FunctionGen, Prec};
use crate::ir::typed;

/// How a runtime list operation takes an argument.
#[derive(Clone, Copy)]
enum Pass {
    /// `&value`: the list (or the value searched for).
    Ref,
    /// The value itself, owned: what is stored, an index, a flag.
    Owned,
}

/// The list operations of the runtime: how each takes its arguments and
/// whether it can raise.
fn operation(function: &str) -> Option<(&'static [Pass], bool)> {
    use Pass::{Owned as V, Ref as R};
    Some(match function {
        "list_get" | "list_pop" => (&[R, V], true),
        "list_repeat" => (&[R, V], true),
        "list_repeat_left" => (&[V, R], true),
        "list_pop_last" | "list_min" | "list_max" | "list_sum_int" | "list_to_array"
        | "array_to_list" | "array2_to_list" => (&[R], true),
        "list_len" | "list_truthy" | "list_reverse" | "list_clear" | "list_copy"
        | "list_sum_float" | "list_sum_bool" | "list_any" | "list_all" => (&[R], false),
        "list_append" | "list_sort" | "list_sorted" | "list_heappush" | "list_heappushpop" => {
            (&[R, V], false)
        }
        "list_heappop" => (&[R], true),
        "list_heapify" => (&[R], false),
        "list_heapreplace" | "concatenate_list" | "stack_rows" => (&[R, V], true),
        "list_insert" => (&[R, V, V], false),
        "list_extend" | "list_replace" | "list_concat" | "list_count" | "list_contains"
        | "value_eq" | "value_ne" | "value_lt" | "value_le" | "value_gt" | "value_ge" => {
            (&[R, R], false)
        }
        "list_index" | "list_remove" => (&[R, R], true),
        "divmod_int" | "divmod_float" => (&[V, V], true),
        "pow_mod" => (&[V, V, V], true),
        "list_reversed" => (&[R], false),
        "list_min_or" | "list_max_or" => (&[R, V], false),
        "range_len" => (&[V, V, V], true),
        "range_get" => (&[V, V, V, V], true),
        "range_step" => (&[V], true),
        "tuple_index" => (&[V, V], true),
        "complex_add" | "complex_sub" | "complex_mul" | "complex_eq" | "complex_ne"
        | "complex_new" => (&[V, V], false),
        "complex_div" | "complex_pow" | "cmath_log_base" | "cmath_rect" => (&[V, V], true),
        "complex_neg" | "complex_truthy" | "complex_real" | "complex_imag" | "complex_conj"
        | "cmath_phase" | "cmath_isnan" | "cmath_isinf" | "cmath_isfinite" => (&[V], false),
        "complex_abs" | "cmath_polar" | "cmath_sqrt" | "cmath_exp" | "cmath_log"
        | "cmath_log10" | "cmath_sin" | "cmath_cos" | "cmath_sinh" | "cmath_cosh" => (&[V], true),
        "dict_get" | "dict_del" | "dict_pop" | "set_remove" => (&[R, R], true),
        "dict_get_or" | "dict_pop_or" => (&[R, R, V], false),
        "dict_setdefault" => (&[R, V, V], false),
        "dict_contains"
        | "set_contains"
        | "dict_update"
        | "set_update"
        | "set_union"
        | "set_intersection"
        | "set_difference"
        | "set_symmetric_difference"
        | "set_eq"
        | "set_ne"
        | "set_superset"
        | "set_proper_subset"
        | "set_proper_superset"
        | "set_disjoint"
        | "set_subset"
        | "set_discard" => (&[R, R], false),
        "set_add" => (&[R, V], false),
        "dict_len" | "dict_truthy" | "dict_keys" | "dict_values" | "dict_items" | "dict_copy"
        | "dict_clear" | "set_len" | "set_truthy" | "set_to_list" | "set_copy" | "set_clear"
        | "set_from_list" | "dict_from_pairs" => (&[R], false),
        _ => return None,
    })
}

impl FunctionGen<'_> {
    /// A reference to a value for a runtime call: `&xs`.
    fn by_reference(&mut self, value: &typed::Expr) -> TokenStream {
        let code = self.expr(value).at(Prec::Unary);
        quote!(&#code)
    }

    /// `rt::list_*(...)`, or `None` when `function` is not a list operation.
    pub(super) fn list_operation(&mut self, function: &str, args: &[typed::Expr]) -> Option<Code> {
        match function {
            "dict_display" => {
                let pairs: Vec<TokenStream> = args.iter().map(|p| self.owned_value(p)).collect();
                return Some(Code::atom(quote!(rt::Dict::from_pairs(vec![#(#pairs),*]))));
            }
            "set_display" => {
                let items: Vec<TokenStream> = args.iter().map(|i| self.owned_value(i)).collect();
                return Some(Code::atom(quote!(rt::Set::from_vec(vec![#(#items),*]))));
            }
            _ => {}
        }
        let (passes, fallible) = operation(function)?;
        let name = format_ident!("{}", function);
        let args: Vec<TokenStream> = args
            .iter()
            .zip(passes.iter().chain(std::iter::repeat(&Pass::Owned)))
            .map(|(arg, pass)| match pass {
                Pass::Ref => self.by_reference(arg),
                Pass::Owned => self.owned_value(arg),
            })
            .collect();
        Some(if fallible {
            Code::atom(quote!(rt::#name(#(#args),*)?))
        } else {
            Code::atom(quote!(rt::#name(#(#args),*)))
        })
    }

    /// `[a, b, c]`.
    pub(super) fn list_display(&mut self, items: &[typed::Expr]) -> Code {
        let items: Vec<TokenStream> = items.iter().map(|i| self.owned_value(i)).collect();
        Code::atom(quote!(rt::List::from_vec(vec![#(#items),*])))
    }

    /// `xs[start:stop:step]`.
    pub(super) fn list_slice(
        &mut self,
        list: &typed::Expr,
        bounds: [&Option<Box<typed::Expr>>; 3],
    ) -> Code {
        let list = self.by_reference(list);
        let bounds: Vec<TokenStream> = bounds
            .iter()
            .map(|bound| match bound {
                Some(bound) => {
                    let value = self.expr(bound).full();
                    quote!(Some(#value))
                }
                None => quote!(None),
            })
            .collect();
        Code::atom(quote!(rt::list_slice(#list, #(#bounds),*)?))
    }

    /// `xs[i] = value`: the value, then the list, then the index, as Python
    /// evaluates them.
    pub(super) fn store_item(
        &mut self,
        list: &typed::Expr,
        index: &typed::Expr,
        value: &typed::Expr,
    ) -> TokenStream {
        let value = self.owned_value(value);
        let is_dict = matches!(list.ty, crate::types::Type::Dict(..));
        let list = self.by_reference(list);
        if is_dict {
            let key = self.owned_value(index);
            return quote! { rt::dict_set(#value, #list, #key); };
        }
        let index = self.expr(index).full();
        quote! { rt::list_set(#value, #list, #index)?; }
    }
}
