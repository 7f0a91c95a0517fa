//! Code for whole arrays: views, fused element-wise loops (`rt::map*`,
//! `rt::assign*`), stores into views, reductions and reshaping.
//!
//! An element-wise expression becomes one call of the runtime's fused loop
//! over its array inputs, broadcast to one shape first; the per-element body
//! is a closure with NumPy's arithmetic (wrapping integers, IEEE floats):
//!
//! ```text
//! {
//!     let x0 = &a;
//!     let x1 = &b;
//!     let s2 = alpha;
//!     let shape: [usize; 1] = rt::broadcast_shape(&[x0.dims(), x1.dims()])?;
//!     rt::map2(&x0.broadcast_to(shape)?, &x1.broadcast_to(shape)?, |x0, x1| x0 * s2 + x1)?
//! }
//! ```

use proc_macro2::{Literal as TokenLiteral, TokenStream};
use quote::{format_ident, quote};

use super::{dtype_tokens, Code, FunctionGen, Prec};
use crate::ir::typed::{
    self, Elem, ElemFunction, ElemKind, ExprKind, Literal, Reduction, ViewItem,
};
use crate::ir::{BinaryOp, CompareOp};
use crate::types::{Dtype, Type};

/// The prelude of a fused loop: its inputs bound to names, in order.
struct Inputs {
    bindings: Vec<TokenStream>,
    /// `x{k}` for arrays (a reference), `s{k}` for scalars (a value).
    names: Vec<syn::Ident>,
    arrays: Vec<usize>,
}

impl FunctionGen<'_> {
    /// Evaluates the inputs of a fused loop, left to right.
    fn fused_inputs(&mut self, inputs: &[typed::Expr]) -> Inputs {
        self.fused_inputs_owning(inputs, None)
    }

    /// [`Self::fused_inputs`], with input `owned` (a new array) bound by
    /// value rather than by reference, so the loop may store into it.
    fn fused_inputs_owning(&mut self, inputs: &[typed::Expr], owned: Option<usize>) -> Inputs {
        let mut values = Vec::new();
        let mut names = Vec::new();
        let mut arrays = Vec::new();
        for (k, input) in inputs.iter().enumerate() {
            // Named unlike every variable of the function (a variable
            // `x1` is read by a later input or by the destination), and
            // unlike each other: `x{k}` or `x{k}_{n}`.
            if input.array_type().is_some() {
                let value = self.receiver(input);
                values.push(if owned == Some(k) {
                    value
                } else {
                    quote!(&#value)
                });
                names.push(self.unused(&format!("x{k}")));
                arrays.push(k);
            } else {
                values.push(self.expr(input).full());
                names.push(self.unused(&format!("s{k}")));
            }
        }
        let bindings = names
            .iter()
            .zip(&values)
            .map(|(name, value)| quote!(let #name = #value;))
            .collect();
        Inputs {
            bindings,
            names,
            arrays,
        }
    }

    /// Checks NumPy makes before an integer power: no negative exponent.
    fn exponent_checks(
        &self,
        body: &Elem,
        inputs: &[typed::Expr],
        names: &[syn::Ident],
    ) -> Vec<TokenStream> {
        let mut checks = Vec::new();
        body.walk(&mut |node| {
            if let Some(check) = exponent_check(node, inputs, names) {
                push_new(&mut checks, check);
            }
        });
        checks
    }

    /// The inputs' bindings, in order, each followed by the checks Python
    /// would have made by then, and the exponent checks left for after
    /// them. Python evaluates `(a * b) * c[k]` as `a * b`
    /// (which may fail to broadcast or, for integers, have a negative
    /// exponent: ValueError) before `c[k]` (which may raise IndexError); the
    /// fused loop binds every input first and checks shapes once, so a
    /// check is staged after the last input of its operation wherever an
    /// input after it, or the destination of a store (`later_effects`), may
    /// raise. Where every later input is a plain read, no check is staged:
    /// the loop's own checks come first anyway.
    fn staged_bindings(
        &self,
        bindings: &[TokenStream],
        names: &[syn::Ident],
        body: &Elem,
        inputs: &[typed::Expr],
        later_effects: bool,
    ) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let effects_until = if later_effects {
            Some(inputs.len())
        } else {
            inputs.iter().rposition(|input| !view_is_plain(input))
        };
        let mut stages: Vec<Vec<TokenStream>> = vec![Vec::new(); inputs.len()];
        if let Some(effects_until) = effects_until {
            self.stage_checks(body, None, inputs, names, effects_until, &mut stages);
        }
        // The exponent checks not staged run after the last binding.
        let staged: Vec<String> = stages.iter().flatten().map(|c| c.to_string()).collect();
        let mut rest = self.exponent_checks(body, inputs, names);
        rest.retain(|check| !staged.contains(&check.to_string()));
        let bindings = bindings
            .iter()
            .zip(stages)
            .flat_map(|(binding, checks)| std::iter::once(binding.clone()).chain(checks))
            .collect();
        (bindings, rest)
    }

    /// [`Self::staged_bindings`]' checks for `node` and the nodes inside it:
    /// each operation whose last input `k` comes before input
    /// `effects_until` adds its checks to `stages[k]`; an operation whose
    /// enclosing operation completes at the same input checks only through
    /// it (a set of shapes broadcasts together when all its parts do).
    fn stage_checks(
        &self,
        node: &Elem,
        parent_done: Option<usize>,
        inputs: &[typed::Expr],
        names: &[syn::Ident],
        effects_until: usize,
        stages: &mut [Vec<TokenStream>],
    ) {
        let used = elem_inputs(node);
        let done = used.last().copied();
        if let Some(k) = done.filter(|&k| k < effects_until) {
            let arrays: Vec<usize> = used
                .iter()
                .copied()
                .filter(|&i| inputs[i].array_type().is_some())
                .collect();
            if parent_done != Some(k) && arrays.len() >= 2 {
                let ndim = arrays
                    .iter()
                    .filter_map(|&i| inputs[i].array_type().map(|a| a.ndim as usize))
                    .max()
                    .unwrap_or(1);
                let ndim = TokenLiteral::usize_unsuffixed(ndim);
                let dims = arrays.iter().map(|&i| {
                    let x = &names[i];
                    quote!(#x.dims())
                });
                push_new(
                    &mut stages[k],
                    quote!(rt::broadcast_shape::<#ndim>(&[#(#dims),*])?;),
                );
            }
            if let Some(check) = exponent_check(node, inputs, names) {
                push_new(&mut stages[k], check);
            }
        }
        node.for_each_child(&mut |child| {
            self.stage_checks(child, done, inputs, names, effects_until, stages)
        });
    }

    /// `ExprKind::ElementWise`: a new array from one fused loop.
    pub(super) fn element_wise(
        &mut self,
        expr: &typed::Expr,
        inputs: &[typed::Expr],
        body: &Elem,
    ) -> Code {
        let ndim = expr.array_type().map_or(1, |a| a.ndim) as usize;
        // A new array among the inputs, of the result's type, may hold the
        // result.
        let owned = inputs
            .iter()
            .position(|input| makes_new_array(input) && input.ty == expr.ty);
        let Inputs {
            bindings,
            names,
            arrays,
        } = self.fused_inputs_owning(inputs, owned);
        let (bindings, checks) = self.staged_bindings(&bindings, &names, body, inputs, false);
        let params: Vec<&syn::Ident> = arrays.iter().map(|&k| &names[k]).collect();
        let element = elem_code(body, &names).full();
        let map = format_ident!("map{}", arrays.len());
        if let Some(owned) = owned {
            let ndim = TokenLiteral::usize_unsuffixed(ndim);
            let dims = params.iter().map(|x| quote!(#x.dims()));
            let broadcast: Vec<TokenStream> = params
                .iter()
                .map(|x| quote!(&#x.broadcast_to(shape)?))
                .collect();
            let assign = format_ident!("assign{}", arrays.len());
            let target = &names[owned];
            // The new array is this loop's alone when nothing else took a
            // view of it: then element `k` of the result is stored where
            // element `k` of that input was read, instead of into another
            // new array.
            return Code::block(quote!({
                #(#bindings)*
                #(#checks)*
                let shape: [usize; #ndim] = rt::broadcast_shape(&[#(#dims),*])?;
                if #target.is_sole_array_of(&shape) {
                    rt::#assign(&#target, #(#broadcast),*, |#(#params),*| #element)?;
                    #target
                } else {
                    rt::#map(#(#broadcast),*, |#(#params),*| #element)?
                }
            }));
        }
        let single = arrays.len() == 1
            && inputs[arrays[0]].array_type().map(|a| a.ndim as usize) == Some(ndim);
        let call = if single {
            let x = &names[arrays[0]];
            quote!(rt::#map(#x, |#x| #element)?)
        } else {
            let ndim = TokenLiteral::usize_unsuffixed(ndim);
            let dims = params.iter().map(|x| quote!(#x.dims()));
            let broadcast = params.iter().map(|x| quote!(&#x.broadcast_to(shape)?));
            quote! {
                let shape: [usize; #ndim] = rt::broadcast_shape(&[#(#dims),*])?;
                rt::#map(#(#broadcast),*, |#(#params),*| #element)?
            }
        };
        Code::block(quote!({
            #(#bindings)*
            #(#checks)*
            #call
        }))
    }

    /// `v = expression` for a local array `v` that the element-wise
    /// `expression` reads whole, as an input of `v`'s own type (`result =
    /// result * x + c`): when `v` is, at run time, the only array using its
    /// memory and the new value has its shape, the loop stores into `v`'s
    /// memory (`rt::assignK`) instead of a new array; element `k` is
    /// computed from element `k` of `v`, so that is the array the new one
    /// would be, and nothing else can read the old elements. Otherwise the
    /// usual new array (`rt::mapK`). `None` where this does not apply.
    pub(super) fn element_wise_in_place(
        &mut self,
        name: &str,
        value: &typed::Expr,
        ty: &Type,
    ) -> Option<TokenStream> {
        let ExprKind::ElementWise { inputs, body } = &value.kind else {
            return None;
        };
        let array = value.array_type()?;
        let reads_whole = inputs
            .iter()
            .any(|i| matches!(&i.kind, ExprKind::Local(n) if n == name) && i.ty == *ty);
        let parameter = self.function.params.iter().any(|p| p.name == name);
        if value.ty != *ty || !reads_whole || parameter || self.flags.contains_key(name) {
            return None;
        }
        let Inputs {
            bindings,
            names,
            arrays,
        } = self.fused_inputs(inputs);
        let (bindings, checks) = self.staged_bindings(&bindings, &names, body, inputs, false);
        let params: Vec<&syn::Ident> = arrays.iter().map(|&k| &names[k]).collect();
        let element = elem_code(body, &names).full();
        let map = format_ident!("map{}", arrays.len());
        let assign = format_ident!("assign{}", arrays.len());
        let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
        let dims = params.iter().map(|x| quote!(#x.dims()));
        // The variable itself is read after the shape is bound.
        let shape = self.unused("shape");
        let broadcast: Vec<TokenStream> = params
            .iter()
            .map(|x| quote!(&#x.broadcast_to(#shape)?))
            .collect();
        let var = super::ident(name);
        Some(quote! {{
            #(#bindings)*
            #(#checks)*
            let #shape: [usize; #ndim] = rt::broadcast_shape(&[#(#dims),*])?;
            if #var.is_sole_array_of(&#shape) {
                rt::#assign(&#var, #(#broadcast),*, |#(#params),*| #element)?;
            } else {
                #var = rt::#map(#(#broadcast),*, |#(#params),*| #element)?;
            }
        }})
    }

    /// `view = value` for `Target::View`: a fused loop storing into the
    /// view, or a fill with one converted scalar.
    pub(super) fn store_into_view(
        &mut self,
        view: &typed::Expr,
        value: &typed::Expr,
    ) -> TokenStream {
        let Some(dest) = view.array_type() else {
            return quote!();
        };
        if value.array_type().is_none() {
            // Python evaluates the value first, then the view.
            let element = value.clone().cast_to(&Type::of_element(dest.dtype));
            let (value, conversion) = self.element_value(&element);
            let converted = match conversion {
                Some(convert) => quote!(#convert(#value)?),
                // Compiled code holds complex64 values as `Complex`.
                None if dest.dtype == Dtype::Complex64 => quote!(rt::Complex32::from(#value)),
                None => value,
            };
            let value = self.unused("value");
            let view = self.receiver(view);
            return quote! {{
                let #value = #converted;
                #view.fill(#value)?;
            }};
        }
        let (inputs, body) = match &value.kind {
            ExprKind::ElementWise { inputs, body } => (inputs.clone(), body.as_ref().clone()),
            _ => {
                let dtype = value.array_type().map_or(dest.dtype, |a| a.dtype);
                (vec![value.clone()], Elem::new(ElemKind::Input(0), dtype))
            }
        };
        let body = body.cast_to(dest.dtype);
        let Inputs {
            bindings,
            names,
            arrays,
        } = self.fused_inputs(&inputs);
        // Python evaluates the value before the view.
        let (bindings, checks) =
            self.staged_bindings(&bindings, &names, &body, &inputs, !view_is_plain(view));
        let params: Vec<&syn::Ident> = arrays.iter().map(|&k| &names[k]).collect();
        let element = elem_code(&body, &names).full();
        let assign = format_ident!("assign{}", arrays.len());
        let view = self.receiver(view);
        let broadcast = params.iter().map(|x| quote!(&#x.broadcast_to(shape)?));
        quote! {{
            #(#bindings)*
            #(#checks)*
            let dest = &#view;
            let shape = dest.dims_array();
            rt::#assign(dest, #(#broadcast),*, |#(#params),*| #element)?;
        }}
    }

    /// `a[items]` with slices: `a.view::<M>(&[...])?`.
    pub(super) fn view(
        &mut self,
        expr: &typed::Expr,
        array: &typed::Expr,
        items: &[ViewItem],
    ) -> Code {
        let ndim = TokenLiteral::usize_unsuffixed(expr.array_type().map_or(1, |a| a.ndim) as usize);
        let array = self.receiver(array);
        let bound = |this: &mut Self, value: &Option<typed::Expr>| match value {
            Some(value) => {
                let value = this.expr(value).full();
                quote!(Some(#value))
            }
            None => quote!(None),
        };
        let items: Vec<TokenStream> = items
            .iter()
            .map(|item| match item {
                ViewItem::Index(index) => {
                    let index = self.expr(index).full();
                    quote!(rt::Item::Index(#index))
                }
                ViewItem::Slice { start, stop, step } => {
                    let (start, stop, step) =
                        (bound(self, start), bound(self, stop), bound(self, step));
                    quote!(rt::Item::Slice(#start, #stop, #step))
                }
                ViewItem::NewAxis => quote!(rt::Item::NewAxis),
            })
            .collect();
        Code::atom(quote!(#array.view::<#ndim>(&[#(#items),*])?))
    }

    pub(super) fn reduce(
        &mut self,
        expr: &typed::Expr,
        op: Reduction,
        array: &typed::Expr,
        axis: Option<usize>,
        keepdims: bool,
        ddof: Option<&typed::Expr>,
    ) -> Code {
        let complex = array.array_type().is_some_and(|a| a.dtype.is_complex());
        if let (Reduction::Sum, ExprKind::ElementWise { inputs, body }, false) =
            (op, &array.kind, complex)
        {
            let ndim = array.array_type().map_or(1, |a| a.ndim as usize);
            match axis {
                None => return self.fused_sum(inputs, body, None),
                Some(axis) if axis + 1 == ndim && ndim >= 2 => {
                    let out_ndim = expr.array_type().map_or(1, |a| a.ndim as usize);
                    return self.fused_sum(inputs, body, Some((keepdims, out_ndim)));
                }
                _ => {}
            }
        }
        let widened = expr.array_type().is_none()
            && array
                .array_type()
                .is_some_and(|a| a.dtype == Dtype::Complex64);
        let array = self.receiver(array);
        let function = format_ident!("{}", op.lane_function());
        let reduction = match ddof {
            Some(ddof) => {
                // `ddof` may read a variable `lane`.
                let ddof = self.expr(ddof).full();
                let lane = self.unused("lane");
                quote!(|#lane| rt::lane::#function(#lane, #ddof))
            }
            None if matches!(op, Reduction::Var | Reduction::Std) => {
                quote!(|lane| rt::lane::#function(lane, 0))
            }
            // Inference lets only sum, prod and mean reach complex arrays.
            None if complex => quote!(rt::complex_lane::#function),
            None => quote!(rt::lane::#function),
        };
        match axis {
            // Compiled code holds a complex64 scalar as a `Complex`.
            None if widened => {
                Code::atom(quote!(rt::Complex::from(rt::reduce(&#array, #reduction)?)))
            }
            None => Code::atom(quote!(rt::reduce(&#array, #reduction)?)),
            Some(axis) => {
                let ndim = TokenLiteral::usize_unsuffixed(
                    expr.array_type().map_or(1, |a| a.ndim) as usize
                );
                let axis = TokenLiteral::usize_unsuffixed(axis);
                // Sums and means along an axis other than the last add one
                // slice after the other, in NumPy's order.
                let ddof = match ddof {
                    Some(ddof) => self.expr(ddof).full(),
                    None => quote!(0),
                };
                match op {
                    Reduction::Sum if !complex => Code::atom(quote!(
                        rt::sum_along::<_, _, #ndim>(&#array, #axis, #keepdims)?
                    )),
                    Reduction::Mean if !complex => Code::atom(quote!(
                        rt::mean_along::<_, _, #ndim>(&#array, #axis, #keepdims)?
                    )),
                    Reduction::Var | Reduction::Std if !complex => {
                        let root = op == Reduction::Std;
                        Code::atom(quote!(
                            rt::var_along::<_, _, #ndim>(&#array, #axis, #keepdims, #ddof, #root)?
                        ))
                    }
                    _ => Code::atom(quote!(
                        rt::reduce_along::<_, _, _, #ndim>(&#array, #axis, #keepdims, #reduction)?
                    )),
                }
            }
        }
    }

    /// `np.sum(expression)` (or along the last axis, `rows`: keepdims and
    /// the result's dimensions): summed as computed, without its array.
    fn fused_sum(
        &mut self,
        inputs: &[typed::Expr],
        body: &Elem,
        rows: Option<(bool, usize)>,
    ) -> Code {
        let Inputs {
            bindings,
            names,
            arrays,
        } = self.fused_inputs(inputs);
        let (bindings, checks) = self.staged_bindings(&bindings, &names, body, inputs, false);
        let params: Vec<&syn::Ident> = arrays.iter().map(|&k| &names[k]).collect();
        let element = elem_code(body, &names).full();
        let sum = format_ident!("sum_map{}", arrays.len());
        let params_types: Vec<TokenStream> = params.iter().map(|_| quote!(_,)).collect();
        let ndim = inputs
            .iter()
            .filter_map(|i| i.array_type().map(|a| a.ndim as usize))
            .max()
            .unwrap_or(1);
        let ndim = TokenLiteral::usize_unsuffixed(ndim);
        let dims = params.iter().map(|x| quote!(#x.dims()));
        let broadcast = params.iter().map(|x| quote!(&#x.broadcast_to(shape)?));
        let call = match rows {
            None => quote!(rt::#sum(#(#broadcast),*, |#(#params),*| #element)?),
            Some((keepdims, out_ndim)) => {
                let sum = format_ident!("sum_rows_map{}", arrays.len());
                let out_ndim = TokenLiteral::usize_unsuffixed(out_ndim);
                quote!(rt::#sum::<_, #(#params_types)* _, #out_ndim>(#(#broadcast),*, #keepdims, |#(#params),*| #element)?)
            }
        };
        Code::block(quote!({
            #(#bindings)*
            #(#checks)*
            let shape: [usize; #ndim] = rt::broadcast_shape(&[#(#dims),*])?;
            #call
        }))
    }

    pub(super) fn reshape(
        &mut self,
        expr: &typed::Expr,
        array: &typed::Expr,
        shape: &[typed::Expr],
        copy: bool,
    ) -> Code {
        let array = self.receiver(array);
        if copy {
            return Code::atom(quote!(#array.flatten()?));
        }
        let ndim = TokenLiteral::usize_unsuffixed(expr.array_type().map_or(1, |a| a.ndim) as usize);
        let shape: Vec<TokenStream> = shape.iter().map(|s| self.expr(s).full()).collect();
        Code::atom(quote!(#array.reshape::<#ndim>([#(#shape),*])?))
    }

    /// `rt::function(args)?`, arrays by reference, with the generic
    /// arguments Rust cannot infer from the result.
    pub(super) fn runtime_call(
        &mut self,
        expr: &typed::Expr,
        function: &str,
        args: &[typed::Expr],
    ) -> Code {
        let name = format_ident!("{}", function);
        let args: Vec<TokenStream> = args
            .iter()
            .map(|arg| {
                if arg.array_type().is_some() {
                    let value = self.receiver(arg);
                    quote!(&#value)
                } else {
                    self.expr(arg).full()
                }
            })
            .collect();
        if let ("array_literal", Some(array)) = (function, expr.array_type()) {
            let (dims, elements) = args.split_at((array.ndim as usize).min(args.len()));
            let element = dtype_tokens(array.dtype);
            return Code::atom(
                quote!(rt::array_literal::<#element, _>([#(#dims),*], vec![#(#elements),*])?),
            );
        }
        if let ("take_arrays", Some(result)) = (function, expr.array_type()) {
            // `t[i, :, k]`: the view, each index array with its axis, `front`.
            if let Some((front, rest)) = args.split_last() {
                if let Some((view, pairs)) = rest.split_first() {
                    let indices: Vec<TokenStream> = pairs
                        .chunks(2)
                        .map(|pair| match pair {
                            [index, axis] => quote!(rt::Positions::new(#index, #axis)),
                            _ => quote!(),
                        })
                        .collect();
                    let ndim = TokenLiteral::usize_unsuffixed(result.ndim as usize);
                    return Code::atom(quote!(
                        rt::take_arrays::<_, _, #ndim>(#view, &[#(#indices),*], #front)?
                    ));
                }
            }
        }
        if function == "concatenate" {
            let (axis, arrays) = args
                .split_last()
                .map_or((quote!(0), &[][..]), |(a, r)| (a.clone(), r));
            return Code::atom(quote!(rt::concatenate(&[#(#arrays),*], #axis)?));
        }
        if function == "roll" {
            if let [array, shift, axis] = args.as_slice() {
                let axis_value: i64 = axis.to_string().trim().parse().unwrap_or(-1);
                let axis = if axis_value < 0 {
                    quote!(None)
                } else {
                    let a = TokenLiteral::usize_unsuffixed(axis_value as usize);
                    quote!(Some(#a))
                };
                return Code::atom(quote!(rt::roll(#array, #shift, #axis)?));
            }
        }
        let turbofish = match (function, expr.array_type()) {
            ("eye", Some(array)) => {
                let element = dtype_tokens(array.dtype);
                quote!(::<#element>)
            }
            ("matmul", Some(array)) => {
                let ndim = TokenLiteral::usize_unsuffixed(array.ndim as usize);
                quote!(::<_, _, _, #ndim>)
            }
            _ => quote!(),
        };
        match function {
            "trace" | "count_nonzero" | "searchsorted" => Code::atom(quote!(rt::#name(#(#args),*))),
            _ => Code::atom(quote!(rt::#name #turbofish(#(#args),*)?)),
        }
    }

    /// `a[mask]` / `a[idx]`.
    pub(super) fn select(&mut self, array: &typed::Expr, index: &typed::Expr) -> Code {
        let array = self.receiver(array);
        let mask = index.array_type().is_some_and(|i| i.dtype == Dtype::Bool);
        let index = self.receiver(index);
        if mask {
            Code::atom(quote!(#array.masked(&#index)?))
        } else {
            Code::atom(quote!(#array.take(&#index)?))
        }
    }

    /// `a[mask] = value` / `a[idx] = value`: the value first (converted to
    /// the element type, one element per selected position or a single
    /// one), then the array and the index. With `along`, the index selects
    /// along one axis of the view `array` (`rt::put_along`), except on a
    /// 1-D view, where that is the plain store.
    pub(super) fn store_selected(
        &mut self,
        array: &typed::Expr,
        index: &typed::Expr,
        along: Option<&typed::Along>,
        value: &typed::Expr,
    ) -> TokenStream {
        let Some(dest) = array.array_type() else {
            return quote!();
        };
        let along = along.filter(|along| dest.ndim != 1 || along.axes.len() != 1);
        let mask = index.array_type().is_some_and(|i| i.dtype == Dtype::Bool);
        // The array and the index, evaluated after the value, may read
        // variables named `value` or `values`.
        let (one, many) = (self.unused("value"), self.unused("values"));
        let value_code = if value.array_type().is_some() {
            // Converted to the destination dtype as NumPy's setitem casts.
            let source = value.array_type().map_or(dest.dtype, |a| a.dtype);
            let converted = if source == dest.dtype {
                self.receiver(value)
            } else {
                let body = Elem::new(ElemKind::Input(0), source).cast_to(dest.dtype);
                let x = self.receiver(value);
                let element = dtype_tokens(dest.dtype);
                let cast = elem_code(&body, &[format_ident!("x0")]).full();
                quote!(rt::map1(&#x, |x0| -> #element { #cast })?)
            };
            quote!(let #many = &#converted;)
        } else {
            let element = value.clone().cast_to(&Type::of_element(dest.dtype));
            let (value, conversion) = self.element_value(&element);
            let converted = match conversion {
                Some(convert) => quote!(#convert(#value)?),
                None => value,
            };
            quote!(let #one = #converted;)
        };
        let array = self.receiver(array);
        if let Some(typed::Along { axes, front }) = along {
            let values = if value.array_type().is_some() {
                quote!(#many)
            } else {
                let element = dtype_tokens(dest.dtype);
                quote!(&rt::Array::<#element, 1>::full([1], #one)?)
            };
            if let typed::ExprKind::Tuple(arrays) = &index.kind {
                // `t[i, :, k] = v`: each index array with its axis.
                let indices: Vec<TokenStream> = arrays
                    .iter()
                    .zip(axes)
                    .map(|(index, &axis)| {
                        let index = self.receiver(index);
                        let axis = TokenLiteral::usize_unsuffixed(axis);
                        quote!(rt::Positions::new(&#index, #axis))
                    })
                    .collect();
                return quote!({
                    #value_code
                    rt::put_arrays(&#array, &[#(#indices),*], #front, #values)?;
                });
            }
            let axis = TokenLiteral::usize_unsuffixed(axes.first().copied().unwrap_or(0));
            let index = self.receiver(index);
            let function = if mask {
                quote!(rt::put_masked_along)
            } else {
                quote!(rt::put_along)
            };
            return quote!({
                #value_code
                #function(&#array, &#index, #axis, #front, #values)?;
            });
        }
        // `m[rows, cols] = v`: the index is the pair of index arrays.
        if let typed::ExprKind::Tuple(pair) = &index.kind {
            let [rows, columns] = pair.as_slice() else {
                return quote!();
            };
            let (rows, columns) = (self.receiver(rows), self.receiver(columns));
            let values = if value.array_type().is_some() {
                quote!(#many)
            } else {
                let element = dtype_tokens(dest.dtype);
                quote!(&rt::Array::<#element, 1>::full([1], #one)?)
            };
            return quote!({
                #value_code
                rt::put_points(&#array, &#rows, &#columns, #values)?;
            });
        }
        let index = self.receiver(index);
        let store = match (mask, value.array_type().is_some()) {
            (true, true) => quote!(#array.set_masked(&#index, #many)?;),
            (true, false) => quote!(#array.fill_masked(&#index, #one)?;),
            (false, true) => quote!(#array.put(&#index, #many)?;),
            (false, false) => {
                let element = dtype_tokens(dest.dtype);
                quote!(#array.put(&#index, &rt::Array::<#element, 1>::full([1], #one)?)?;)
            }
        };
        quote!({
            #value_code
            #store
        })
    }

    pub(super) fn cumulative(
        &mut self,
        expr: &typed::Expr,
        array: &typed::Expr,
        product: bool,
        axis: Option<usize>,
    ) -> Code {
        // The running totals of a new 1-dimensional array of the totals'
        // type may overwrite its elements.
        let in_place = axis.is_none() && makes_new_array(array) && array.ty == expr.ty;
        let array = self.receiver(array);
        match axis {
            None if in_place => Code::atom(quote!(rt::cumulative_owned(#array, #product)?)),
            None => Code::atom(quote!(rt::cumulative(&#array, #product)?)),
            Some(axis) => {
                let axis = TokenLiteral::usize_unsuffixed(axis);
                Code::atom(quote!(rt::cumulative_along(&#array, #axis, #product)?))
            }
        }
    }
}

/// A literal of `dtype`.
/// The check NumPy makes before the integer power `node`: no negative
/// exponent. `None` for any other node.
fn exponent_check(
    node: &Elem,
    inputs: &[typed::Expr],
    names: &[syn::Ident],
) -> Option<TokenStream> {
    let ElemKind::Binary {
        op: BinaryOp::Pow,
        right,
        ..
    } = &node.kind
    else {
        return None;
    };
    if !node.dtype.is_integer() {
        return None;
    }
    let mut exponent = right.as_ref();
    while let ElemKind::Cast(inner) = &exponent.kind {
        exponent = inner;
    }
    let ElemKind::Input(k) = exponent.kind else {
        return None;
    };
    let signed = inputs[k]
        .ty
        .dtype()
        .or(inputs[k].array_type().map(|a| a.dtype))
        .is_some_and(|d| d.is_signed());
    if !signed {
        return None;
    }
    let name = &names[k];
    Some(if inputs[k].array_type().is_some() {
        quote!(rt::check_int_exponents(#name)?;)
    } else {
        quote!(rt::check_int_exponent(#name)?;)
    })
}

/// Whether evaluating `view` can neither raise nor have an effect: slices
/// with plain bounds and no step, or a literal nonzero step, of a plain
/// array; or any other expression free of effects.
fn view_is_plain(view: &typed::Expr) -> bool {
    let ExprKind::View { array, items, .. } = &view.kind else {
        return view.is_effect_free();
    };
    let plain = |bound: &Option<typed::Expr>| bound.as_ref().is_none_or(|b| b.is_effect_free());
    array.is_effect_free()
        && items.iter().all(|item| match item {
            ViewItem::Index(_) => false,
            ViewItem::Slice { start, stop, step } => {
                plain(start)
                    && plain(stop)
                    && step.as_ref().is_none_or(
                        |s| matches!(s.kind, ExprKind::Literal(Literal::Int(k)) if k != 0),
                    )
            }
            ViewItem::NewAxis => true,
        })
}

/// Adds `check` to `checks` unless it is there already.
fn push_new(checks: &mut Vec<TokenStream>, check: TokenStream) {
    if !checks.iter().any(|c| c.to_string() == check.to_string()) {
        checks.push(check);
    }
}

/// The inputs `elem` reads, in increasing order, each once.
fn elem_inputs(elem: &Elem) -> Vec<usize> {
    let mut used = Vec::new();
    elem.walk(&mut |node| {
        if let ElemKind::Input(k) = node.kind {
            used.push(k);
        }
    });
    used.sort_unstable();
    used.dedup();
    used
}

fn elem_literal(value: Literal, dtype: Dtype) -> TokenStream {
    let as_f64 = match value {
        Literal::Int(v) => v as f64,
        Literal::Float(v) => v,
        Literal::Bool(v) => f64::from(u8::from(v)),
        // Strings never reach element-wise bodies (inference types them `str`).
        Literal::Str(_) | Literal::None => 0.0,
    };
    let as_i64 = match value {
        Literal::Int(v) => v,
        Literal::Float(v) => v as i64,
        Literal::Bool(v) => i64::from(v),
        Literal::Str(_) | Literal::None => 0,
    };
    match dtype {
        Dtype::Bool => {
            let v = as_i64 != 0 || (as_f64 != 0.0);
            quote!(#v)
        }
        Dtype::Float64 => float_token(as_f64, false),
        Dtype::Float32 => float_token(as_f64, true),
        Dtype::Int8 => TokenLiteral::i8_suffixed(as_i64 as i8).into_token_stream(),
        Dtype::Int16 => TokenLiteral::i16_suffixed(as_i64 as i16).into_token_stream(),
        Dtype::Int32 => TokenLiteral::i32_suffixed(as_i64 as i32).into_token_stream(),
        Dtype::Int64 => TokenLiteral::i64_suffixed(as_i64).into_token_stream(),
        Dtype::UInt8 => TokenLiteral::u8_suffixed(as_i64 as u8).into_token_stream(),
        Dtype::UInt16 => TokenLiteral::u16_suffixed(as_i64 as u16).into_token_stream(),
        Dtype::UInt32 => TokenLiteral::u32_suffixed(as_i64 as u32).into_token_stream(),
        Dtype::UInt64 => TokenLiteral::u64_suffixed(as_i64 as u64).into_token_stream(),
        Dtype::Complex64 => {
            let re = float_token(as_f64, true);
            quote!(rt::Complex32::new(#re, 0.0))
        }
        Dtype::Complex128 => {
            let re = float_token(as_f64, false);
            quote!(rt::Complex::new(#re, 0.0))
        }
    }
}

fn float_token(value: f64, single: bool) -> TokenStream {
    let ty = if single { quote!(f32) } else { quote!(f64) };
    if value.is_nan() {
        return quote!(#ty::NAN);
    }
    if value.is_infinite() {
        return if value > 0.0 {
            quote!(#ty::INFINITY)
        } else {
            quote!(#ty::NEG_INFINITY)
        };
    }
    let literal = if single {
        TokenLiteral::f32_suffixed(value as f32)
    } else {
        TokenLiteral::f64_suffixed(value)
    };
    literal.into_token_stream()
}

trait IntoTokens {
    fn into_token_stream(self) -> TokenStream;
}

impl IntoTokens for TokenLiteral {
    fn into_token_stream(self) -> TokenStream {
        quote!(#self)
    }
}

fn zero(dtype: Dtype) -> TokenStream {
    elem_literal(Literal::Int(0), dtype)
}

/// The Rust expression of one element of a whole-array expression.
fn elem_code(elem: &Elem, names: &[syn::Ident]) -> Code {
    let rust = dtype_tokens(elem.dtype);
    let integer = elem.dtype.is_integer();
    match &elem.kind {
        ElemKind::Input(k) => {
            let name = &names[*k];
            Code::atom(quote!(#name))
        }
        ElemKind::Literal(value) => {
            let code = elem_literal(value.clone(), elem.dtype);
            let negative = match value {
                Literal::Int(v) => *v < 0,
                Literal::Float(v) => v.is_sign_negative(),
                Literal::Bool(_) | Literal::Str(_) | Literal::None => false,
            };
            Code::new(code, if negative { Prec::Unary } else { Prec::Atom })
        }
        ElemKind::Cast(inner) => {
            if let ElemKind::Literal(value) = &inner.kind {
                return elem_code(
                    &Elem::new(ElemKind::Literal(value.clone()), elem.dtype),
                    names,
                );
            }
            let from = inner.dtype;
            let value = elem_code(inner, names);
            if elem.dtype.is_complex() {
                // Inference casts only to complex from other dtypes (and
                // between the two complex dtypes).
                let value = value.full();
                let method = if elem.dtype == Dtype::Complex64 {
                    quote!(to_c64)
                } else {
                    quote!(to_c128)
                };
                Code::atom(quote!(rt::ToComplex::#method(#value)))
            } else if elem.dtype == Dtype::Bool {
                let zero = zero(from);
                let value = value.at(Prec::BitOr);
                Code::new(quote!(#value != #zero), Prec::Compare)
            } else if from == Dtype::Bool && elem.dtype.is_float() {
                let value = value.at(Prec::Cast);
                Code::new(quote!(#value as u8 as #rust), Prec::Cast)
            } else if from.is_float() && elem.dtype.is_integer() && elem.dtype != Dtype::Int64 {
                // NumPy converts a float to a narrow integer as C does on
                // x86-64: to a 32-bit (or, for 32-bit targets, 64-bit)
                // integer first, then keeps the low bits, so 300.0 becomes
                // 44 in uint8 and -1.0 becomes 255.
                let value = value.at(Prec::Cast);
                let wide = if matches!(elem.dtype, Dtype::Int32 | Dtype::UInt32 | Dtype::UInt64) {
                    quote!(i64)
                } else {
                    quote!(i32)
                };
                Code::new(quote!(#value as #wide as #rust), Prec::Cast)
            } else {
                let value = value.at(Prec::Cast);
                Code::new(quote!(#value as #rust), Prec::Cast)
            }
        }
        ElemKind::Binary { op, left, right } => {
            let (l, r) = (elem_code(left, names), elem_code(right, names));
            let float = elem.dtype.is_float();
            let method = |name: &str, l: Code, r: Code| {
                let name = format_ident!("{}", name);
                let (l, r) = (l.at(Prec::Atom), r.full());
                Code::atom(quote!(#l.#name(#r)))
            };
            let call = |name: &str, l: Code, r: Code| {
                let name = format_ident!("{}", name);
                let (l, r) = (l.full(), r.full());
                Code::atom(quote!(rt::#name(#l, #r)))
            };
            let operator = |symbol: TokenStream, prec: Prec, l: Code, r: Code| {
                let (l, r) = (l.at(prec), r.at(super::next(prec)));
                Code::new(quote!(#l #symbol #r), prec)
            };
            match op {
                BinaryOp::Add if integer => method("wrapping_add", l, r),
                BinaryOp::Sub if integer => method("wrapping_sub", l, r),
                BinaryOp::Mul if integer => method("wrapping_mul", l, r),
                BinaryOp::Add => operator(quote!(+), Prec::Add, l, r),
                BinaryOp::Sub => operator(quote!(-), Prec::Add, l, r),
                BinaryOp::Mul => operator(quote!(*), Prec::Mul, l, r),
                BinaryOp::TrueDiv => operator(quote!(/), Prec::Mul, l, r),
                BinaryOp::FloorDiv if float => call("np_floordiv_float", l, r),
                BinaryOp::Mod if float => call("np_mod_float", l, r),
                BinaryOp::FloorDiv => {
                    let (l, r) = (l.full(), r.full());
                    Code::atom(quote!(rt::NumpyInt::np_floordiv(#l, #r)))
                }
                BinaryOp::Mod => {
                    let (l, r) = (l.full(), r.full());
                    Code::atom(quote!(rt::NumpyInt::np_mod(#l, #r)))
                }
                BinaryOp::Pow if float => {
                    if let ElemKind::Literal(Literal::Float(2.0))
                    | ElemKind::Literal(Literal::Int(2)) = strip_casts(right).kind
                    {
                        let l = l.at(Prec::Atom);
                        return Code::new(quote!(#l * #l), Prec::Mul);
                    }
                    method("powf", l, r)
                }
                BinaryOp::Pow if elem.dtype.is_complex() => {
                    // NumPy computes `z ** 2` as `np.square(z)` and
                    // `z ** 0.5` as `np.sqrt(z)`.
                    match strip_casts(right).kind {
                        ElemKind::Literal(Literal::Float(2.0))
                        | ElemKind::Literal(Literal::Int(2)) => {
                            let l = l.at(Prec::Atom);
                            Code::new(quote!(#l * #l), Prec::Mul)
                        }
                        ElemKind::Literal(Literal::Float(0.5)) => {
                            let l = l.at(Prec::Atom);
                            Code::atom(quote!(#l.sqrt()))
                        }
                        _ => method("powc", l, r),
                    }
                }
                BinaryOp::Pow => {
                    let (l, r) = (l.full(), r.full());
                    Code::atom(quote!(rt::NumpyInt::np_pow(#l, #r)))
                }
                BinaryOp::BitAnd => operator(quote!(&), Prec::BitAnd, l, r),
                BinaryOp::BitOr => operator(quote!(|), Prec::BitOr, l, r),
                BinaryOp::BitXor => operator(quote!(^), Prec::BitXor, l, r),
                BinaryOp::LShift => {
                    let (l, r) = (l.full(), r.full());
                    Code::atom(quote!(rt::NumpyInt::np_shl(#l, #r)))
                }
                BinaryOp::RShift => {
                    let (l, r) = (l.full(), r.full());
                    Code::atom(quote!(rt::NumpyInt::np_shr(#l, #r)))
                }
            }
        }
        ElemKind::Neg(inner) => {
            let value = elem_code(inner, names);
            if integer {
                let value = value.at(Prec::Atom);
                Code::atom(quote!(#value.wrapping_neg()))
            } else {
                let value = value.at(Prec::Unary);
                Code::new(quote!(-#value), Prec::Unary)
            }
        }
        ElemKind::Invert(inner) => {
            let value = elem_code(inner, names).at(Prec::Unary);
            Code::new(quote!(!#value), Prec::Unary)
        }
        ElemKind::Compare { op, left, right } => {
            let (l, r) = (
                elem_code(left, names).at(Prec::BitOr),
                elem_code(right, names).at(Prec::BitOr),
            );
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
        ElemKind::Call { function, args } => {
            let codes: Vec<Code> = args.iter().map(|a| elem_code(a, names)).collect();
            let arg_dtype = args.first().map_or(elem.dtype, |a| a.dtype);
            let mut codes = codes.into_iter();
            let Some(first) = codes.next() else {
                return Code::atom(quote!(()));
            };
            match function {
                ElemFunction::FloatMethod("exp") if !elem.dtype.is_complex() => {
                    let value = first.full();
                    if elem.dtype == Dtype::Float32 {
                        Code::atom(quote!(rt::np_exp_f32(#value)))
                    } else {
                        Code::atom(quote!(rt::np_exp(#value)))
                    }
                }
                ElemFunction::FloatMethod(method) => {
                    let method = format_ident!("{}", method);
                    let receiver = first.at(Prec::Atom);
                    let rest: Vec<TokenStream> = codes.map(Code::full).collect();
                    Code::atom(quote!(#receiver.#method(#(#rest),*)))
                }
                ElemFunction::Abs if arg_dtype.is_integer() => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.wrapping_abs()))
                }
                ElemFunction::Abs => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.abs()))
                }
                ElemFunction::Sign if arg_dtype.is_float() => {
                    let value = first.full();
                    Code::atom(quote!(rt::np_sign_float(#value)))
                }
                ElemFunction::Sign if arg_dtype.is_unsigned() => {
                    let value = first.at(Prec::BitOr);
                    Code::new(quote!((#value > 0) as #rust), Prec::Cast)
                }
                ElemFunction::Sign => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.signum()))
                }
                ElemFunction::Minimum | ElemFunction::Maximum => {
                    let name = if *function == ElemFunction::Minimum {
                        quote!(np_minimum)
                    } else {
                        quote!(np_maximum)
                    };
                    let (a, b) = (first.full(), codes.next().map_or(quote!(()), Code::full));
                    Code::atom(quote!(rt::#name(#a, #b)))
                }
                ElemFunction::IsNan => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.is_nan()))
                }
                ElemFunction::IsInf => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.is_infinite()))
                }
                ElemFunction::IsFinite => {
                    let value = first.at(Prec::Atom);
                    Code::atom(quote!(#value.is_finite()))
                }
                ElemFunction::Truthy => {
                    let zero = zero(arg_dtype);
                    let value = first.at(Prec::BitOr);
                    Code::new(quote!(#value != #zero), Prec::Compare)
                }
                ElemFunction::LogicalAnd | ElemFunction::LogicalOr | ElemFunction::LogicalXor => {
                    let (symbol, prec) = match function {
                        ElemFunction::LogicalAnd => (quote!(&), Prec::BitAnd),
                        ElemFunction::LogicalOr => (quote!(|), Prec::BitOr),
                        _ => (quote!(^), Prec::BitXor),
                    };
                    let a = first.at(prec);
                    let b = codes
                        .next()
                        .map_or(quote!(false), |c| c.at(super::next(prec)));
                    Code::new(quote!(#a #symbol #b), prec)
                }
            }
        }
        ElemKind::Where {
            condition,
            then,
            orelse,
        } => {
            let condition = elem_code(condition, names).full();
            let then = elem_code(then, names).full();
            let orelse = elem_code(orelse, names).full();
            Code::block(quote!(if #condition { #then } else { #orelse }))
        }
    }
}

fn strip_casts(elem: &Elem) -> &Elem {
    match &elem.kind {
        ElemKind::Cast(inner) => strip_casts(inner),
        _ => elem,
    }
}

/// Whether the code of `expr` makes a new array: a fused loop, a reduction
/// along an axis, running totals. Such an array is held by nothing else
/// unless a view of it was taken, which the runtime's
/// `Array::is_sole_array_of` tells apart.
fn makes_new_array(expr: &typed::Expr) -> bool {
    matches!(
        expr.kind,
        ExprKind::ElementWise { .. } | ExprKind::Reduce { .. } | ExprKind::Cumulative { .. }
    )
}
