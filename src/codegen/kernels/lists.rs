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

use super::{rust_type, Code, FunctionGen, Prec};
use crate::ir::typed::{self, ExprKind};
use crate::types::Type;

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
        "list_del_slice" => (&[R, V, V, V], true),
        "list_set_slice" => (&[R, V, V, V, R], true),
        "list_repeat" | "list_repeat_in_place" => (&[R, V], true),
        "list_repeat_left" => (&[V, R], true),
        "list_pop_last" | "list_min" | "list_max" | "list_sum_int" | "list_to_array"
        | "list2_to_array" | "array_to_list" | "array2_to_list" => (&[R], true),
        "list_len" | "list_truthy" | "list_reverse" | "list_clear" | "list_copy"
        | "list_sum_float" | "list_sum_bool" | "list_sum_complex" | "list_any" | "list_all" => {
            (&[R], false)
        }
        "list_append" | "list_sort" | "list_sorted" | "list_heappush" | "list_heappushpop" => {
            (&[R, V], false)
        }
        "list_heappop" => (&[R], true),
        "list_reserve" => (&[R, V, V], false),
        "list_prefetch_rows" | "list_prefetch_set_keys" => (&[R, R, V], false),
        "rows_len" | "rows_truthy" | "row_len" | "row_truthy" => (&[R], false),
        "rows_get" | "row_get" => (&[R, V], true),
        "rows_prefetch" => (&[R, R, V], false),
        "row_sum_float" | "row_sum_bool" | "row_any" | "row_all" => (&[R], false),
        "row_sum_int" | "row_min" | "row_max" => (&[R], true),
        "row_contains" => (&[R, R], false),
        "unordered_set_new" => (&[], false),
        "unordered_set_insert" | "unordered_set_add" => (&[R, V], false),
        "unordered_set_discard" | "unordered_set_discard_exact" => (&[R, R], false),
        "unordered_set_remove" | "unordered_set_remove_exact" => (&[R, R], true),
        "unordered_set_contains" | "unordered_set_contains_exact" => (&[R, R], false),
        "unordered_set_len" | "unordered_set_truthy" | "unordered_set_clear" => (&[R], false),
        "unordered_set_prefetch" => (&[R, R, V], false),
        "list_order_statistic" => (&[R, V, V], true),
        "list_fsum" => (&[R], true),
        "list_dist" => (&[R, R], true),
        "list_prod_int" => (&[R, V], true),
        "list_prod_float" => (&[R, V], false),
        "list_bisect_left"
        | "list_bisect_right"
        | "list_bisect_left_exact"
        | "list_bisect_right_exact" => (&[R, R, V, V], true),
        "list_insort_left" | "list_insort_right" => (&[R, V, V, V], true),
        "list_insort_left_exact" | "list_insort_right_exact" => (&[R, R, V, V, V], true),
        "list_sorted_by_key" => (&[R, V], false),
        "list_min_by_key" | "list_max_by_key" => (&[R], true),
        "list_min_by_key_or" | "list_max_by_key_or" => (&[R, V], true),
        "list_heapify" => (&[R], false),
        "list_heapreplace" | "concatenate_list" | "stack_rows" => (&[R, V], true),
        "list_insert" => (&[R, V, V], false),
        "list_extend" | "list_replace" | "list_concat" | "list_count" | "list_contains"
        | "value_eq" | "value_ne" | "value_lt" | "value_le" | "value_gt" | "value_ge"
        | "value_is" => (&[R, R], false),
        "list_index" | "list_remove" => (&[R, R], true),
        // Searches and comparisons with a value of another type
        // (`rt::ExactAs`, `rt::MixedOrder`).
        "list_contains_exact"
        | "list_count_exact"
        | "value_eq_exact"
        | "value_ne_exact"
        | "value_lt_exact"
        | "value_le_exact"
        | "value_gt_exact"
        | "value_ge_exact"
        | "dict_contains_exact"
        | "set_contains_exact"
        | "set_discard_exact"
        | "tuple_contains" => (&[R, R], false),
        "list_index_exact" | "list_remove_exact" | "dict_get_exact" | "dict_del_exact"
        | "dict_pop_exact" | "set_remove_exact" => (&[R, R], true),
        "dict_get_or_exact" | "dict_pop_or_exact" => (&[R, R, V], false),
        "divmod_int" | "divmod_float" => (&[V, V], true),
        "pow_mod" => (&[V, V, V], true),
        "list_reversed" => (&[R], false),
        "list_min_or" | "list_max_or" => (&[R, V], false),
        "range_len" | "range_list" => (&[V, V, V], true),
        "range_get" => (&[V, V, V, V], true),
        "range_step" => (&[V], true),
        "tuple_index" => (&[V, V], true),
        "complex_add" | "complex_sub" | "complex_mul" | "complex_eq" | "complex_ne"
        | "complex_new" | "complex_eq_int" | "complex_ne_int" | "int_eq_complex"
        | "int_ne_complex" => (&[V, V], false),
        "complex_div" | "complex_pow" | "cmath_log_base" | "cmath_rect" => (&[V, V], true),
        "complex_neg" | "complex_truthy" | "complex_real" | "complex_imag" | "complex_conj"
        | "complex_angle" | "cmath_isnan" | "cmath_isinf" | "cmath_isfinite" => (&[V], false),
        "complex_abs" | "cmath_phase" | "cmath_polar" | "cmath_sqrt" | "cmath_exp"
        | "cmath_log" | "cmath_log10" | "cmath_sin" | "cmath_cos" | "cmath_sinh" | "cmath_cosh" => {
            (&[V], true)
        }
        "dict_get" | "dict_del" | "dict_pop" | "set_remove" => (&[R, R], true),
        "dict_get_or" | "dict_pop_or" => (&[R, R, V], false),
        "dict_setdefault" => (&[R, V, V], false),
        "dict_contains"
        | "set_contains"
        | "dict_update"
        | "set_update"
        | "set_difference_update"
        | "set_intersection_update"
        | "set_symmetric_difference_update"
        | "set_union"
        | "dict_union"
        | "set_intersection"
        | "set_difference"
        | "set_symmetric_difference"
        | "set_eq"
        | "dict_eq"
        | "dict_ne"
        | "set_ne"
        | "set_superset"
        | "set_proper_subset"
        | "set_proper_superset"
        | "set_disjoint"
        | "set_subset"
        | "set_discard" => (&[R, R], false),
        "set_add" | "set_insert" => (&[R, V], false),
        "var_tuple_get" | "var_tuple_repeat" => (&[R, V], true),
        "var_tuple_empty" => (&[], false),
        "var_tuple_index" => (&[R, R], true),
        "var_tuple_len" | "var_tuple_truthy" | "var_tuple_from_list" | "var_tuple_to_list" => {
            (&[R], false)
        }
        "var_tuple_concat" | "var_tuple_count" | "var_tuple_contains" => (&[R, R], false),
        "fixed_tuple_known" => (&[R, V], false),
        "fixed_tuple_index_error" => (&[R], true),
        "iter_steps" => (&[R], false),
        "dict_discard" | "dict_discard_exact" => (&[R, R], false),
        "dict_fromkeys" => (&[R, V], false),
        "set_pop" => (&[R], true),
        "dict_iter_end" | "set_iter_end" | "dict_iter_item" | "dict_iter_value" => {
            (&[R, R, V], true)
        }
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
    pub(super) fn list_operation(
        &mut self,
        function: &str,
        args: &[typed::Expr],
        ty: &Type,
    ) -> Option<Code> {
        match function {
            "dict_display" => {
                let pairs: Vec<TokenStream> = args.iter().map(|p| self.owned_value(p)).collect();
                return Some(Code::atom(quote!(rt::Dict::from_pairs(vec![#(#pairs),*]))));
            }
            "set_display" => {
                let items: Vec<TokenStream> = args.iter().map(|i| self.owned_value(i)).collect();
                return Some(Code::atom(quote!(rt::Set::from_vec(vec![#(#items),*]))));
            }
            // `a, b = xs`: the items as a Rust tuple of the targets' arity.
            "list_unpack" | "var_tuple_unpack" => {
                let Type::Tuple(items) = ty else {
                    return None;
                };
                let [sequence] = args else {
                    return None;
                };
                let sequence = self.by_reference(sequence);
                let count = proc_macro2::Literal::usize_unsuffixed(items.len());
                let names: Vec<syn::Ident> = (0..items.len())
                    .map(|k| format_ident!("item_{}", k))
                    .collect();
                let name = format_ident!("{}", function);
                let items: Vec<TokenStream> = names.iter().map(|n| quote!(#n)).collect();
                let tuple = super::paren_tuple(&items);
                return Some(Code::block(quote!({
                    let [#(#names),*] = rt::#name::<_, #count>(#sequence)?;
                    #tuple
                })));
            }
            _ => {}
        }
        // An append to a list the loop only appends to pushes onto the
        // loop's vector for it (`FunctionGen::collecting`).
        if let ("list_append", [list, value]) = (function, args) {
            if let ExprKind::Local(name) = &list.kind {
                if let Some(buffer) = self.collecting.get(name).cloned() {
                    let value = self.owned_value(value);
                    return Some(Code::atom(quote!(#buffer.push(#value))));
                }
            }
        }
        let (passes, fallible) = operation(function)?;
        let name = format_ident!("{}", function);
        // `len([])`, `len(sorted({}))`: a new container whose type nothing
        // settles, as the only operand of an operation whose result does not
        // carry that type. Rust must be told the type (any one does; `()` is
        // the unknown one's), here by binding the operand. A variable has
        // its declared type already.
        let pinned = match args {
            [only]
                if only.ty.has_unknown()
                    && !ty.has_unknown()
                    && !matches!(only.kind, ExprKind::Local(_)) =>
            {
                Some(rust_type(&only.ty))
            }
            _ => None,
        };
        let args: Vec<TokenStream> = args
            .iter()
            .zip(passes.iter().chain(std::iter::repeat(&Pass::Owned)))
            .map(|(arg, pass)| match (pass, &pinned) {
                (Pass::Ref, None) => self.by_reference(arg),
                (Pass::Owned, None) => self.owned_value(arg),
                (Pass::Ref, Some(pinned)) => {
                    let value = self.owned_value(arg);
                    quote!(&{ let value: #pinned = #value; value })
                }
                (Pass::Owned, Some(pinned)) => {
                    let value = self.owned_value(arg);
                    quote!({ let value: #pinned = #value; value })
                }
            })
            .collect();
        Some(if fallible {
            Code::atom(quote!(rt::#name(#(#args),*)?))
        } else {
            Code::atom(quote!(rt::#name(#(#args),*)))
        })
    }

    /// `d.get(k, default)` whose default is wider than the dict's values (an
    /// int dict with a float default): a present value is widened as Python
    /// arithmetic would see it, `rt::dict_get_or_widened`. `None` for the
    /// usual case of a default of the values' type.
    pub(super) fn widened_get(
        &mut self,
        expr: &typed::Expr,
        function: &str,
        args: &[typed::Expr],
    ) -> Option<Code> {
        let ("dict_get_or", [dict, key, default]) = (function, args) else {
            return None;
        };
        let Type::Dict(_, value_ty) = &dict.ty else {
            return None;
        };
        if **value_ty == expr.ty {
            return None;
        }
        let value = format_ident!("value");
        let widened = super::cast(Code::atom(quote!(#value)), value_ty, &expr.ty).full();
        let value_rust = super::rust_type(value_ty);
        let dict = self.by_reference(dict);
        let key = self.by_reference(key);
        let default = self.owned_value(default);
        Some(Code::atom(quote!(
            rt::dict_get_or_widened(#dict, #key, #default, |#value: #value_rust| #widened)
        )))
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
        let list_ty = list.ty.clone();
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
        if matches!(list_ty, Type::TupleOf(_)) {
            return Code::atom(quote!(rt::var_tuple_slice(#list, #(#bounds),*)?));
        }
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
        if let Some(update) = self.dict_update_key(list, index, value) {
            return update;
        }
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

    /// `d[k] = d.get(k, default) + e` or `d[k] = d[k] * e` (`d[k] += e`):
    /// a store whose value reads the same key of the same dict once, as
    /// one search of the dict (`rt::dict_update_key_or`, `rt::dict_update_key`)
    /// instead of a lookup and a store. Only where nothing else in the value
    /// can touch a container (its other parts are numbers, plain locals and
    /// operators on them) and, for `d[k]`, nothing evaluated before the read
    /// can raise, so the KeyError comes first as in Python. `None` otherwise.
    fn dict_update_key(
        &mut self,
        dict: &typed::Expr,
        key: &typed::Expr,
        value: &typed::Expr,
    ) -> Option<TokenStream> {
        let ExprKind::Local(dict_name) = &dict.kind else {
            return None;
        };
        let Type::Dict(_, value_ty) = &dict.ty else {
            return None;
        };
        if !self.plain_operand(key) || value.ty != **value_ty {
            return None;
        }
        let mut scan = UpdateScan {
            dict: dict_name,
            key,
            read: None,
            raised_before: false,
        };
        if !scan.walk(self, value) {
            return None;
        }
        let read = scan.read?;
        let ExprKind::Runtime { function, args } = &read.kind else {
            return None;
        };
        // The closure takes and returns the dict's value type.
        if read.ty != **value_ty {
            return None;
        }
        let default = match (*function, args.get(2)) {
            ("dict_get_or", Some(default)) if self.plain_operand(default) => Some(default),
            ("dict_get", None) if !scan.raised_before => None,
            _ => return None,
        };
        let current = self.fresh("current");
        let replaced = replace_expr(
            value,
            read,
            &typed::Expr {
                kind: ExprKind::Local(current.to_string()),
                ty: read.ty.clone(),
            },
        );
        let value_ty = super::rust_type(&read.ty);
        let new_value = self.owned_value(&replaced);
        let dict = self.by_reference(dict);
        let key = self.owned_value(key);
        Some(match default {
            Some(default) => {
                let default = self.owned_value(default);
                quote! {
                    rt::dict_update_key_or(#dict, #key, #default, |#current: #value_ty| -> rt::Result<#value_ty> {
                        Ok(#new_value)
                    })?;
                }
            }
            None => quote! {
                rt::dict_update_key(#dict, #key, |#current: #value_ty| -> rt::Result<#value_ty> {
                    Ok(#new_value)
                })?;
            },
        })
    }

    /// A literal, or a local of a plain value that is certainly assigned:
    /// reading it runs no code and cannot raise.
    fn plain_operand(&self, expr: &typed::Expr) -> bool {
        match &expr.kind {
            ExprKind::Literal(_) => true,
            ExprKind::Local(name) => !self.flags.contains_key(name) && is_plain_value(&expr.ty),
            ExprKind::Cast(inner) => self.plain_operand(inner),
            _ => false,
        }
    }
}

/// Whether values of `ty` are numbers or tuples of them (no container a
/// dict store could reach).
fn is_plain_value(ty: &Type) -> bool {
    match ty {
        Type::Int | Type::Float | Type::Bool => true,
        Type::Tuple(items) => items.iter().all(is_plain_value),
        _ => false,
    }
}

/// The search of `FunctionGen::dict_update_key` through a stored value, in
/// Python's order of evaluation.
struct UpdateScan<'e> {
    dict: &'e str,
    key: &'e typed::Expr,
    /// The one read of `dict[key]` found so far.
    read: Option<&'e typed::Expr>,
    /// Whether something that may raise is evaluated before the read.
    raised_before: bool,
}

impl<'e> UpdateScan<'e> {
    /// False when `expr` has anything but plain operands, operators and
    /// one read of the key.
    fn walk(&mut self, gen: &FunctionGen<'_>, expr: &'e typed::Expr) -> bool {
        match &expr.kind {
            ExprKind::Runtime { function, args }
                if matches!(*function, "dict_get" | "dict_get_or")
                    && matches!(&args[0].kind, ExprKind::Local(name) if name == self.dict)
                    && args[1] == *self.key =>
            {
                if self.read.is_some() {
                    return false;
                }
                self.read = Some(expr);
                true
            }
            ExprKind::Literal(_) => true,
            ExprKind::Local(_) => gen.plain_operand(expr),
            ExprKind::Cast(inner)
            | ExprKind::Neg(inner)
            | ExprKind::Not(inner)
            | ExprKind::Invert(inner)
            | ExprKind::Truthy(inner) => {
                let before = self.read.is_none();
                let ok = self.walk(gen, inner);
                if before && self.read.is_none() && !matches!(expr.kind, ExprKind::Cast(_)) {
                    self.raised_before = true;
                }
                ok
            }
            ExprKind::Binary { left, right, .. } => {
                let ok = self.walk(gen, left) && self.walk(gen, right);
                if self.read.is_none() {
                    self.raised_before = true;
                }
                ok
            }
            // A chain (`a < b < c`) may skip its later operands.
            ExprKind::Compare { operands, .. } if operands.len() == 2 => {
                let ok = operands.iter().all(|operand| self.walk(gen, operand));
                if self.read.is_none() {
                    self.raised_before = true;
                }
                ok
            }
            _ => false,
        }
    }
}

/// `expr` with the subexpression `target` (the node itself, by address)
/// replaced by `with`.
fn replace_expr(expr: &typed::Expr, target: &typed::Expr, with: &typed::Expr) -> typed::Expr {
    if std::ptr::eq(expr, target) {
        return with.clone();
    }
    let swap = |inner: &typed::Expr| Box::new(replace_expr(inner, target, with));
    let kind = match &expr.kind {
        ExprKind::Cast(inner) => ExprKind::Cast(swap(inner)),
        ExprKind::Neg(inner) => ExprKind::Neg(swap(inner)),
        ExprKind::Not(inner) => ExprKind::Not(swap(inner)),
        ExprKind::Invert(inner) => ExprKind::Invert(swap(inner)),
        ExprKind::Truthy(inner) => ExprKind::Truthy(swap(inner)),
        ExprKind::Binary { op, left, right } => ExprKind::Binary {
            op: *op,
            left: swap(left),
            right: swap(right),
        },
        ExprKind::Compare {
            operands,
            ops,
            operand_types,
        } => ExprKind::Compare {
            operands: operands
                .iter()
                .map(|operand| replace_expr(operand, target, with))
                .collect(),
            ops: ops.clone(),
            operand_types: operand_types.clone(),
        },
        other => other.clone(),
    };
    typed::Expr {
        kind,
        ty: expr.ty.clone(),
    }
}
