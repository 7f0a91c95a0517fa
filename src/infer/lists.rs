//! Inference of Python lists: displays, indexing and slicing, stores,
//! methods, the builtins that take lists, and list-array conversions.
//!
//! A list has one element type. An empty display `[]` starts as
//! `list[Unknown]`; `append`, `insert`, `extend` and item stores join the
//! value's type into the variable's (through `xs[i].append(...)` chains
//! too), and the instance's fixpoint retypes the display. A list built from
//! ints that later receives a float is a list of floats (its ints read back
//! as floats): documented in docs/semantics.md.
//!
//! Every operation is an `ExprKind::Runtime` call of an `rt::list_*`
//! function (the table in `codegen::kernels::lists`), or a `List`/`ListSlice` node.

use super::{Cx, Inference};
use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{self, Expr, ExprKind};
use crate::ir::untyped;
use crate::types::{ArrayType, Type};

pub(super) fn runtime(function: &'static str, args: Vec<Expr>, ty: Type) -> Expr {
    Expr::new(ExprKind::Runtime { function, args }, ty)
}

/// A tuple whose items share a type (numbers join: `(1, 2.5)` holds
/// floats) as a list display of its items, for the builtins and stores
/// that take any sequence: `list(t)`, `sorted(t)`, `sum(t)`, `min(t)`,
/// `xs[a:b] = (x, y)`. `None` for a tuple made by an expression that would
/// have to be evaluated once per item (a call), or whose items have no
/// common type.
pub(super) fn tuple_as_list(value: &Expr) -> Option<Expr> {
    let Type::Tuple(types) = &value.ty else {
        return None;
    };
    let (first, rest) = types.split_first()?;
    let mut item = first.clone();
    for ty in rest {
        item = Type::join(&item, ty)?;
    }
    if !item.is_numeric() && item != Type::Complex && types.iter().any(|ty| *ty != item) {
        return None;
    }
    let items: Vec<Expr> = match &value.kind {
        ExprKind::Tuple(items) => items.clone(),
        ExprKind::Local(_) => (0..types.len())
            .map(|index| {
                let tuple = Box::new(value.clone());
                Expr::new(ExprKind::TupleGet { tuple, index }, types[index].clone())
            })
            .collect(),
        _ => return None,
    };
    let items = items.into_iter().map(|i| i.cast_to(&item)).collect();
    Some(Expr::new(ExprKind::List(items), Type::List(Box::new(item))))
}

/// The parameters of a library function, for `bind_arguments`.
struct Signature<'s> {
    names: &'s [&'s str],
    /// How many of them may be given by position.
    positional: usize,
    /// How many of them may only be given by position.
    positional_only: usize,
    hint: &'s str,
}

/// An argument whose evaluation has no effect and cannot fail, so that it
/// may be evaluated out of the order it was written in.
fn plain_argument(kind: Option<&untyped::ExprKind>) -> bool {
    match kind {
        Some(
            untyped::ExprKind::Int(_)
            | untyped::ExprKind::Float(_)
            | untyped::ExprKind::Bool(_)
            | untyped::ExprKind::None
            | untyped::ExprKind::Local(_)
            | untyped::ExprKind::Constant(_),
        ) => true,
        Some(untyped::ExprKind::Unary { operand, .. }) => matches!(
            operand.kind,
            untyped::ExprKind::Int(_) | untyped::ExprKind::Float(_)
        ),
        _ => false,
    }
}

fn item_type(ty: &Type) -> Option<&Type> {
    match ty {
        Type::List(item) => Some(item),
        _ => None,
    }
}

/// Whether `value`, searched for among items of type `item` (`x in xs`,
/// `d.get(k, v)`) or compared with a value of that type, would lose its
/// value converted to it: an int (not a literal a float holds exactly)
/// where the item is a float, at any place of a tuple of numbers. The
/// runtime's `_exact` forms then compare it as it is (`rt::ExactAs`,
/// `rt::MixedOrder`), since `2**53 + 1` equals no float.
pub(super) fn inexact_conversion(value: &Expr, item: &Type) -> bool {
    const EXACT_INTS: u64 = 1 << f64::MANTISSA_DIGITS;
    if !numbers(&value.ty) || !numbers(item) {
        return false;
    }
    fn inexact(value: &Type, item: &Type) -> bool {
        match (value, item) {
            (Type::Int, Type::Float) => true,
            (Type::Tuple(values), Type::Tuple(items)) => {
                values.len() == items.len() && values.iter().zip(items).any(|(v, t)| inexact(v, t))
            }
            _ => false,
        }
    }
    match (&value.kind, item) {
        (ExprKind::Literal(typed::Literal::Int(v)), Type::Float) => v.unsigned_abs() > EXACT_INTS,
        (ExprKind::Tuple(values), Type::Tuple(items)) if values.len() == items.len() => values
            .iter()
            .zip(items)
            .any(|(v, t)| inexact_conversion(v, t)),
        _ => inexact(&value.ty, item),
    }
}

/// Ints, floats and bools, and tuples of them: the values `rt::ExactAs` and
/// `rt::MixedOrder` compare across types.
fn numbers(ty: &Type) -> bool {
    match ty {
        Type::Int | Type::Float | Type::Bool => true,
        Type::Tuple(items) => items.len() <= 8 && items.iter().all(numbers),
        _ => false,
    }
}

/// The runtime's form of a search (or comparison) that takes the searched
/// value as it is, for `inexact_conversion`.
pub(super) fn exact_form(function: &'static str) -> &'static str {
    match function {
        "list_contains" => "list_contains_exact",
        "list_index" => "list_index_exact",
        "list_count" => "list_count_exact",
        "list_remove" => "list_remove_exact",
        "value_eq" => "value_eq_exact",
        "value_ne" => "value_ne_exact",
        "value_lt" => "value_lt_exact",
        "value_le" => "value_le_exact",
        "value_gt" => "value_gt_exact",
        "value_ge" => "value_ge_exact",
        "dict_get" => "dict_get_exact",
        "dict_get_or" => "dict_get_or_exact",
        "dict_contains" => "dict_contains_exact",
        "dict_del" => "dict_del_exact",
        "dict_discard" => "dict_discard_exact",
        "dict_pop" => "dict_pop_exact",
        "dict_pop_or" => "dict_pop_or_exact",
        "set_contains" => "set_contains_exact",
        "set_discard" => "set_discard_exact",
        "set_remove" => "set_remove_exact",
        other => other,
    }
}

/// Whether a list of this element type can be compared, sorted and searched
/// (numbers, and tuples and lists of them).
pub(super) fn orderable(ty: &Type) -> bool {
    match ty {
        Type::Int | Type::Float | Type::Bool | Type::Scalar(_) => true,
        Type::Tuple(items) => items.len() <= 8 && items.iter().all(orderable),
        Type::List(item) | Type::TupleOf(item) => orderable(item),
        _ => false,
    }
}

impl Inference<'_> {
    /// `[a, b, c]`: the items joined to one element type.
    pub(super) fn list_display(
        &mut self,
        cx: &mut Cx,
        items: &[untyped::Expr],
        span: Span,
    ) -> Option<Expr> {
        let items = self.exprs(cx, items)?;
        let mut item_ty = Type::Unknown;
        for item in &items {
            match Type::join(&item_ty, &item.ty) {
                Some(joined) => item_ty = joined,
                None => {
                    let (a, b) = (item_ty.clone(), item.ty.clone());
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INCOMPATIBLE_ASSIGNMENT,
                            span,
                            format!("a list of {a} cannot also hold {b}"),
                        )
                        .with_hint("a compiled list holds values of one type; use a tuple for mixed values"),
                    );
                    return None;
                }
            }
        }
        if matches!(item_ty, Type::None | Type::Callable(_)) || item_ty.has_str() {
            let ty = item_ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_EXPRESSION,
                    span,
                    format!("a list of {ty} is not supported"),
                )
                .with_hint("lists hold numbers, tuples, lists and arrays"),
            );
            return None;
        }
        let items = items.into_iter().map(|i| i.cast_to(&item_ty)).collect();
        Some(Expr::new(
            ExprKind::List(items),
            Type::List(Box::new(item_ty)),
        ))
    }

    /// One subscript of a list: `xs[i]` (an element) or `xs[a:b:c]` (a new
    /// list).
    pub(super) fn list_subscript(
        &mut self,
        cx: &mut Cx,
        list: Expr,
        group: &[untyped::Expr],
        span: Span,
    ) -> Option<Expr> {
        let (item, kind) = match &list.ty {
            Type::TupleOf(item) => ((**item).clone(), "tuple"),
            ty => (item_type(ty)?.clone(), "list"),
        };
        let [index] = group else {
            self.error(
                cx,
                Diagnostic::error(
                    codes::INVALID_INDEX,
                    span,
                    format!("{kind} indices must be integers or slices, not tuple"),
                )
                .with_hint("index a list of lists one level at a time: xs[i][j]"),
            );
            return None;
        };
        if let untyped::ExprKind::Slice { start, stop, step } = &index.kind {
            let bound = |this: &mut Self, cx: &mut Cx, b: &Option<Box<untyped::Expr>>| match b {
                None => Some(None),
                Some(b) => this.int_value(cx, b).map(|v| Some(Box::new(v))),
            };
            let start = bound(self, cx, start)?;
            let stop = bound(self, cx, stop)?;
            let step = bound(self, cx, step)?;
            let ty = list.ty.clone();
            return Some(Expr::new(
                ExprKind::ListSlice {
                    list: Box::new(list),
                    start,
                    stop,
                    step,
                },
                ty,
            ));
        }
        let index = self.int_value(cx, index)?;
        if kind == "tuple" {
            return Some(runtime("var_tuple_get", vec![list, index], item));
        }
        Some(runtime("list_get", vec![list, index], item))
    }

    /// An integer operand (an index, a count, a slice bound).
    pub(super) fn int_value(&mut self, cx: &mut Cx, expr: &untyped::Expr) -> Option<Expr> {
        let value = self.expr(cx, expr)?;
        if value.ty.is_integer_like() {
            return Some(value.cast_to(&Type::Int));
        }
        let ty = value.ty.clone();
        self.error(
            cx,
            Diagnostic::error(
                codes::INVALID_INDEX,
                expr.span,
                format!("list indices must be integers, not {ty}"),
            )
            .with_label(ty.to_string())
            .with_hint("convert with int(...)"),
        );
        None
    }

    /// Converts a value stored into a list of `item` (a number widens as
    /// Python code expects; anything else must match).
    pub(super) fn list_item(
        &mut self,
        cx: &mut Cx,
        item: &Type,
        value: Expr,
        span: Span,
    ) -> Option<Expr> {
        if *item == Type::Unknown {
            // Earlier rounds only: the refinement fixes the type.
            return Some(value);
        }
        if let Some((given, wanted)) = shared_mismatch(&value, item) {
            self.shared_mismatch_error(cx, &given, &wanted, span);
            return None;
        }
        match self.convert(value, item) {
            Ok(value) => Some(value),
            Err(given) => {
                let item = item.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::INCOMPATIBLE_ASSIGNMENT,
                        span,
                        format!("cannot put {given} into a list of {item}"),
                    )
                    .with_hint("a compiled list holds values of one type"),
                );
                None
            }
        }
    }

    /// A value searched for among items of type `item` (`x in xs`,
    /// `xs.index(x)`), checked as `list_item` checks a stored one: converted
    /// to `item`, or, where the conversion would change its value
    /// (`inexact_conversion`), left as it is, and `function` becomes its
    /// `_exact` form.
    pub(super) fn searched_item(
        &mut self,
        cx: &mut Cx,
        item: &Type,
        value: Expr,
        function: &'static str,
        span: Span,
    ) -> Option<(Expr, &'static str)> {
        if inexact_conversion(&value, item) {
            self.list_item(cx, item, value.clone(), span)?;
            return Some((value, exact_form(function)));
        }
        Some((self.list_item(cx, item, value, span)?, function))
    }

    /// `x in (a, b, ...)` of numbers (or tuples of numbers): whether an item
    /// equals `x`, each compared as `==` compares them, exactly across ints
    /// and floats (`rt::tuple_contains`).
    pub(super) fn tuple_contains(
        &mut self,
        cx: &mut Cx,
        value: Expr,
        tuple: Expr,
        span: Span,
    ) -> Option<Expr> {
        let Type::Tuple(items) = &tuple.ty else {
            return None;
        };
        if !numbers(&value.ty) || !items.iter().all(numbers) {
            let (a, b) = (value.ty.clone(), tuple.ty.clone());
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("`in` of {a} in {b} is not supported"),
                )
                .with_hint(
                    "search numbers (or tuples of numbers) in a tuple of them, or use a list",
                ),
            );
            return None;
        }
        Some(runtime("tuple_contains", vec![value, tuple], Type::Bool))
    }

    /// Joins `value`'s type into the element type of the list that `source`
    /// reads, when that list is a variable or an element of one
    /// (`xs.append(v)`, `table[i].append(v)`, `xs[i] = v`).
    pub(super) fn refine_list(&mut self, cx: &mut Cx, source: &untyped::Expr, value: &Type) {
        self.refine(cx, source, Type::List(Box::new(value.clone())));
    }

    /// `x in c`, `s.remove(x)`, `s.discard(x)` of a list, set or dict
    /// variable whose element (key) type is still unknown (`v = set()`):
    /// it holds what it is searched for. A settled type is left as it is,
    /// since searching for a float in a list of ints does not make them
    /// floats.
    pub(super) fn refine_searched(
        &mut self,
        cx: &mut Cx,
        source: &untyped::Expr,
        container: &Type,
        searched: &Type,
    ) {
        let searched = Box::new(searched.clone());
        let contribution = match container {
            Type::List(item) if **item == Type::Unknown => Type::List(searched),
            Type::Set(item) if **item == Type::Unknown => Type::Set(searched),
            Type::Dict(key, value) if **key == Type::Unknown => Type::Dict(searched, value.clone()),
            _ => return,
        };
        self.refine(cx, source, contribution);
    }

    pub(super) fn shared_mismatch_error(
        &mut self,
        cx: &mut Cx,
        given: &Type,
        wanted: &Type,
        span: Span,
    ) {
        self.error(
            cx,
            Diagnostic::error(
                codes::INCOMPATIBLE_ASSIGNMENT,
                span,
                format!("this {given} is stored where a {wanted} is expected"),
            )
            .with_hint(
                "a compiled container holds values of one type, and a list, dict or set is \
                 shared, not converted: build a new one of the other type, e.g. \
                 [float(x) for x in xs]",
            ),
        );
    }

    /// A container variable stored into a container shares its value with
    /// it, so the variable's type follows the element type that the outer
    /// container's refinement found: in `row = []; grid = [row] * n;
    /// grid[0].append(7)`, `row` is a list of ints too (otherwise its empty
    /// list would have to be retyped while `row` still holds it).
    /// `value` is what is stored (a variable, or a display or repetition of
    /// them) and `element` the type it is stored as.
    pub(super) fn link_stored(&mut self, cx: &mut Cx, value: &Expr, element: &Type) {
        if !element.has_container() {
            return;
        }
        match (&value.kind, element) {
            (ExprKind::Local(name), _) if value.ty.has_container() => {
                let Some(current) = cx.env.get(name) else {
                    return;
                };
                // Only an element type still unknown is filled in: a list of
                // ints stays one (storing it as a list of floats is an error).
                if !current.has_unknown() {
                    return;
                }
                if let Some(joined) = Type::join(current, element) {
                    if joined != *current && !cx.fixed.contains_key(name) {
                        cx.env.insert(name.clone(), joined);
                    }
                }
            }
            (ExprKind::Cast(inner), _) => self.link_stored(cx, inner, element),
            (ExprKind::IfExp { body, orelse, .. }, _) => {
                self.link_stored(cx, body, element);
                self.link_stored(cx, orelse, element);
            }
            // A comprehension (or any function) that stores a parameter as
            // its result's elements: `rows = [shared for _ in range(n)]`
            // holds `shared` itself n times.
            (
                ExprKind::Call { function, args },
                Type::List(item) | Type::Set(item) | Type::Dict(_, item),
            ) => {
                let Some(id) = function
                    .strip_prefix('#')
                    .and_then(|id| id.parse::<usize>().ok())
                else {
                    return;
                };
                let Some(callee) = self.instances.get(id).map(|instance| instance.function) else {
                    return;
                };
                for (index, depth) in self.stored_parameters(callee, 1) {
                    let mut inner = Some(&**item);
                    for _ in 1..depth {
                        inner = match inner {
                            Some(Type::List(item) | Type::Set(item) | Type::Dict(_, item)) => {
                                Some(&**item)
                            }
                            _ => None,
                        };
                    }
                    if let (Some(arg), Some(inner)) = (args.get(index), inner) {
                        self.link_stored(cx, arg, &inner.clone());
                    }
                }
            }
            (ExprKind::Tuple(values), Type::Tuple(items)) if values.len() == items.len() => {
                for (value, item) in values.iter().zip(items) {
                    self.link_stored(cx, value, item);
                }
            }
            (
                ExprKind::Runtime {
                    function: "dict_display",
                    args,
                },
                Type::Dict(_, value_type),
            ) => {
                for pair in args {
                    if let ExprKind::Tuple(pair) = &pair.kind {
                        if let [_, value] = &pair[..] {
                            self.link_stored(cx, value, value_type);
                        }
                    }
                }
            }
            (ExprKind::List(items), Type::List(item)) => {
                for value in items {
                    self.link_stored(cx, value, item);
                }
            }
            (
                ExprKind::Runtime {
                    function: "list_repeat" | "list_repeat_left" | "list_concat",
                    args,
                },
                Type::List(_),
            ) => {
                for value in args {
                    self.link_stored(cx, value, element);
                }
            }
            _ => {}
        }
    }

    /// The parameters `function` stores, unchanged, inside the container
    /// it returns, each with its depth: 1 for an element (dict value), 2
    /// for an element of an element (`[[a for _ in r] for _ in r]` calls
    /// one comprehension's helper from another's), and so on.
    fn stored_parameters(&self, function: &untyped::Function, depth: usize) -> Vec<(usize, usize)> {
        let mut assigned = Vec::new();
        assigned_names(&function.body, &mut assigned);
        let position = |name: &str| {
            function
                .params
                .iter()
                .position(|param| param.name == name && !assigned.iter().any(|a| a == name))
        };
        let mut found = Vec::new();
        let mut pending: Vec<(&untyped::Expr, usize)> = stored_elements(function)
            .into_iter()
            .map(|value| (value, depth))
            .collect();
        while let Some((value, depth)) = pending.pop() {
            match &value.kind {
                untyped::ExprKind::Local(name) => {
                    if let Some(index) = position(name) {
                        found.push((index, depth));
                    }
                }
                untyped::ExprKind::IfExp { body, orelse, .. } => {
                    pending.push((body, depth));
                    pending.push((orelse, depth));
                }
                untyped::ExprKind::Call {
                    callee: untyped::Callee::Function(name),
                    args,
                    ..
                } if depth < 8 => {
                    let Some(Ok(inner)) = self.slot(name).map(|slot| &slot.lowered) else {
                        continue;
                    };
                    for (index, inner_depth) in self.stored_parameters(inner, depth + 1) {
                        if let Some(arg) = args.get(index) {
                            pending.push((arg, inner_depth));
                        }
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// Joins `contribution` (the container type a store or an `append`
    /// implies) into the type of the variable `source` reads, or of the
    /// element of a list or dict variable it reads (`table[i].append(v)`,
    /// `groups[k].add(v)`).
    pub(super) fn refine(&mut self, cx: &mut Cx, source: &untyped::Expr, contribution: Type) {
        let Some(current) = self.static_type(cx, source) else {
            return;
        };
        if !current.has_container() {
            return;
        }
        let Some(joined) = Type::join(&current, &contribution) else {
            return;
        };
        if joined == current {
            return;
        }
        match &source.kind {
            untyped::ExprKind::Local(name) => {
                if !cx.fixed.contains_key(name) {
                    cx.env.insert(name.clone(), joined.clone());
                }
                // `inner = out[k]` then `inner[j] = v`: `out`'s elements
                // are of that type too.
                if let Some(element) = cx.element_of.get(name).cloned() {
                    self.refine(cx, &element, joined);
                }
            }
            untyped::ExprKind::Index { value: inner, .. } => match self.static_type(cx, inner) {
                Some(Type::List(_)) => self.refine(cx, inner, Type::List(Box::new(joined))),
                Some(Type::Dict(key, _)) => {
                    self.refine(cx, inner, Type::Dict(key, Box::new(joined)))
                }
                // `pair[0].append(v)`: that item of the tuple.
                Some(Type::Tuple(mut items)) => {
                    let untyped::ExprKind::Index { indices, .. } = &source.kind else {
                        return;
                    };
                    if let Some(k) = tuple_position(indices, items.len()) {
                        items[k] = joined;
                        self.refine(cx, inner, Type::Tuple(items));
                    }
                }
                _ => {}
            },
            // `groups.setdefault(k, []).append(v)`: the dict's value.
            untyped::ExprKind::Method {
                receiver, method, ..
            } if method == "setdefault" => {
                if let Some(Type::Dict(key, _)) = self.static_type(cx, receiver) {
                    self.refine(cx, receiver, Type::Dict(key, Box::new(joined)));
                }
            }
            _ => {}
        }
    }

    /// `refine` for an argument whose container the callee settled: a
    /// display passes the settled element type on to what it holds
    /// (`fill([row])`).
    pub(super) fn refine_passed(&mut self, cx: &mut Cx, source: &untyped::Expr, settled: Type) {
        match (&source.kind, settled) {
            (untyped::ExprKind::List(items), Type::List(item)) => {
                for source in items {
                    self.refine_passed(cx, source, (*item).clone());
                }
            }
            (untyped::ExprKind::Tuple(sources), Type::Tuple(items))
                if sources.len() == items.len() =>
            {
                for (source, item) in sources.iter().zip(items) {
                    self.refine_passed(cx, source, item);
                }
            }
            (_, settled) => self.refine(cx, source, settled),
        }
    }

    /// The type of a variable or of an element of a list or dict variable,
    /// read from the environment without typing anything (so no
    /// diagnostics).
    pub(super) fn static_type(&self, cx: &Cx, expr: &untyped::Expr) -> Option<Type> {
        match &expr.kind {
            untyped::ExprKind::Local(name) => cx.env.get(name).cloned(),
            untyped::ExprKind::Index { value, indices } if indices.len() == 1 => {
                match self.static_type(cx, value)? {
                    Type::List(item)
                        if !matches!(indices[0].kind, untyped::ExprKind::Slice { .. }) =>
                    {
                        Some(*item)
                    }
                    Type::Dict(_, value) => Some(*value),
                    Type::Tuple(items) => {
                        let k = tuple_position(indices, items.len())?;
                        items.into_iter().nth(k)
                    }
                    _ => None,
                }
            }
            untyped::ExprKind::Method {
                receiver,
                method,
                args,
                ..
            } if method == "setdefault" && args.len() == 2 => {
                match self.static_type(cx, receiver)? {
                    Type::Dict(_, value) => Some(*value),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether `source` (the receiver or the container of a store) is a
    /// list, as far as the environment says.
    pub(super) fn is_list_source(&self, cx: &Cx, source: &untyped::Expr) -> bool {
        matches!(
            self.static_type(cx, source),
            Some(Type::List(_) | Type::Dict(..))
        )
    }

    /// `xs[i] = value`.
    pub(super) fn list_store_target(
        &mut self,
        cx: &mut Cx,
        container: &untyped::Expr,
        index: &untyped::Expr,
        ty: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        if let Some(Type::Dict(..)) = self.static_type(cx, container) {
            return self.dict_store_target(cx, container, index, ty, span);
        }
        self.refine_list(cx, container, ty);
        let list = self.expr(cx, container)?;
        if matches!(index.kind, untyped::ExprKind::Slice { .. }) {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_SLICE,
                    span,
                    "assigning to a slice of a list is not supported",
                )
                .with_hint("assign the elements one by one, or build a new list"),
            );
            return None;
        }
        let index = self.int_value(cx, index)?;
        Some(typed::Target::Item { list, index, span })
    }

    /// A bound of a list slice that is stored into or deleted: an int, or
    /// None where it is left out.
    fn slice_bound(&mut self, cx: &mut Cx, bound: Expr, span: Span) -> Option<Expr> {
        if bound.ty == Type::None {
            return Some(bound);
        }
        if bound.ty.is_integer_like() {
            return Some(bound.cast_to(&Type::Int));
        }
        let ty = bound.ty.clone();
        self.error(
            cx,
            Diagnostic::error(
                codes::INVALID_INDEX,
                span,
                format!("slice indices must be integers or None, not {ty}"),
            )
            .with_hint("convert with int(...)"),
        );
        None
    }

    /// `xs[a:b:c] = ys`: a list replaces the slice (any length for a step
    /// of 1, as many elements as the slice selects for another step).
    pub(super) fn list_slice_store(
        &mut self,
        cx: &mut Cx,
        container: &untyped::Expr,
        bounds: [&Option<Box<untyped::Expr>>; 3],
        value: Expr,
        span: Span,
    ) -> Option<typed::Stmt> {
        let value = tuple_as_list(&value).unwrap_or(value);
        let Some(value_item) = item_type(&value.ty).cloned() else {
            let ty = value.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_SLICE,
                    span,
                    format!("assigning {ty} to a slice of a list is not supported"),
                )
                .with_hint("assign a list or a tuple, such as xs[a:b] = [x, y]"),
            );
            return None;
        };
        self.refine_list(cx, container, &value_item);
        let list = self.expr(cx, container)?;
        self.link_stored(cx, &value, &list.ty);
        // A list still partly unknown (`[[]]`) takes the list's type; the
        // list itself keeps its own.
        let (_, value) = super::settle_unknown_operand(&list, &value);
        if value.ty != list.ty {
            let (ty, given) = (list.ty.clone(), value.ty.clone());
            self.error(
                cx,
                Diagnostic::error(
                    codes::INCOMPATIBLE_ASSIGNMENT,
                    span,
                    format!("cannot assign {given} to a slice of {ty}"),
                )
                .with_hint("a compiled list holds values of one type"),
            );
            return None;
        }
        let mut args = vec![list];
        for bound in bounds {
            let bound = match bound {
                None => Expr::new(ExprKind::Literal(typed::Literal::None), Type::None),
                Some(bound) => self.expr(cx, bound)?,
            };
            args.push(self.slice_bound(cx, bound, span)?);
        }
        args.push(value);
        Some(typed::Stmt::Expr(runtime(
            "list_set_slice",
            args,
            Type::None,
        )))
    }

    /// The value of `xs[i] = value`, converted to the element type.
    pub(super) fn list_store_value(
        &mut self,
        cx: &mut Cx,
        list: &Expr,
        value: Expr,
        span: Span,
    ) -> Option<Expr> {
        let item = match &list.ty {
            Type::Dict(_, value) => (**value).clone(),
            other => item_type(other)?.clone(),
        };
        self.link_stored(cx, &value, &item);
        self.list_item(cx, &item, value, span)
    }

    /// `xs.append(v)` and the other list methods.
    pub(super) fn list_method(
        &mut self,
        cx: &mut Cx,
        source: &untyped::Expr,
        list: Expr,
        method: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let item = item_type(&list.ty)?.clone();
        // Only `sort` takes keywords (`reverse=`).
        let (reverse, args) = if method == "sort" {
            (self.reverse_keyword(cx, keywords)?, self.exprs(cx, args)?)
        } else if method == "__delslice__" {
            // The bounds of `del xs[a:b:c]`, None where left out.
            let mut bounds = Vec::new();
            for bound in args {
                bounds.push(match bound.kind {
                    untyped::ExprKind::None => {
                        Expr::new(ExprKind::Literal(typed::Literal::None), Type::None)
                    }
                    _ => self.expr(cx, bound)?,
                });
            }
            (None, bounds)
        } else {
            let what = format!("list.{method}()");
            (None, self.positional_args(cx, &what, args, keywords)?)
        };
        let arity = |this: &mut Self, cx: &mut Cx, expected: &str| -> Option<Expr> {
            this.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!("list.{method}() takes {expected}"),
                )
                .with_hint("see Python's list methods"),
            );
            None
        };
        let mut args = args.into_iter();
        let none = Type::None;
        match (method, args.len()) {
            ("append", 1) => {
                let value = args.next()?;
                self.refine_list(cx, source, &value.ty);
                self.link_stored(cx, &value, &item);
                let value = self.list_item(cx, &item, value, span)?;
                Some(runtime("list_append", vec![list, value], none))
            }
            ("insert", 2) => {
                let index = args.next()?;
                let value = args.next()?;
                if !index.ty.is_integer_like() {
                    return arity(self, cx, "an integer index and a value");
                }
                self.refine_list(cx, source, &value.ty);
                self.link_stored(cx, &value, &item);
                let value = self.list_item(cx, &item, value, span)?;
                Some(runtime(
                    "list_insert",
                    vec![list, index.cast_to(&Type::Int), value],
                    none,
                ))
            }
            ("extend", 1) => {
                let other = args.next()?;
                let Some(other_item) = item_type(&other.ty).cloned() else {
                    let ty = other.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::ARGUMENT_TYPE_MISMATCH,
                            span,
                            format!("list.extend() of {ty} is not supported"),
                        )
                        .with_hint("extend with another list"),
                    );
                    return None;
                };
                self.refine_list(cx, source, &other_item);
                // `rows.extend([row, row])` stores `row` itself.
                self.link_stored(cx, &other, &list.ty);
                // A list whose items are still partly unknown (`[[]]`)
                // takes this list's item type.
                let other = match Type::join(&item, &other_item) {
                    Some(joined) if joined == item && other_item.has_unknown() => {
                        other.cast_to(&list.ty)
                    }
                    _ => other,
                };
                let other_item = item_type(&other.ty).cloned().unwrap_or(Type::Unknown);
                if other_item != item && item != Type::Unknown && other_item != Type::Unknown {
                    let ty = other.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INCOMPATIBLE_ASSIGNMENT,
                            span,
                            format!("cannot extend a list of {item} with {ty}"),
                        )
                        .with_hint("a compiled list holds values of one type"),
                    );
                    return None;
                }
                Some(runtime("list_extend", vec![list, other], none))
            }
            ("pop", 0) => Some(runtime("list_pop_last", vec![list], item)),
            // `xs.pop(i)`, and `del xs[i]`.
            ("pop" | "__delitem__", 1) => {
                let index = args.next()?;
                if !index.ty.is_integer_like() {
                    return arity(self, cx, "an integer index");
                }
                Some(runtime(
                    "list_pop",
                    vec![list, index.cast_to(&Type::Int)],
                    item,
                ))
            }
            // `del xs[a:b:c]`, each bound an integer or None.
            ("__delslice__", 3) => {
                let mut all = vec![list];
                for bound in args {
                    all.push(self.slice_bound(cx, bound, span)?);
                }
                Some(runtime("list_del_slice", all, none))
            }
            ("reverse", 0) => Some(runtime("list_reverse", vec![list], none)),
            // `xs.sort(key=f)`: the sorted elements replace the list's own.
            ("__replace__", 1) => {
                let other = args.next()?;
                if other.ty != list.ty {
                    return arity(self, cx, "a list of the same type");
                }
                Some(runtime("list_replace", vec![list, other], none))
            }
            // `xs *= n`.
            ("__imul__", 1) => {
                let count = args.next()?;
                if !count.ty.is_integer_like() {
                    return arity(self, cx, "an integer count");
                }
                Some(runtime(
                    "list_repeat_in_place",
                    vec![list, count.cast_to(&Type::Int)],
                    none,
                ))
            }
            ("clear", 0) => Some(runtime("list_clear", vec![list], none)),
            ("copy", 0) => {
                let ty = list.ty.clone();
                Some(runtime("list_copy", vec![list], ty))
            }
            ("sort", 0) => {
                if !self.require_orderable(cx, &item, "sort", span) {
                    return None;
                }
                let reverse = reverse.unwrap_or_else(|| typed::Expr::bool(false));
                Some(runtime("list_sort", vec![list, reverse], none))
            }
            ("index" | "count" | "remove", 1) => {
                if !self.require_orderable(cx, &item, method, span) {
                    return None;
                }
                let value = args.next()?;
                let (function, ty) = match method {
                    "index" => ("list_index", Type::Int),
                    "count" => ("list_count", Type::Int),
                    _ => ("list_remove", Type::None),
                };
                let (value, function) = self.searched_item(cx, &item, value, function, span)?;
                Some(runtime(function, vec![list, value], ty))
            }
            ("append" | "index" | "count" | "remove" | "extend", _) => {
                arity(self, cx, "one argument")
            }
            ("insert", _) => arity(self, cx, "two arguments"),
            ("pop", _) => arity(self, cx, "at most one argument"),
            ("reverse" | "clear" | "copy" | "sort", _) => arity(self, cx, "no arguments"),
            _ => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("list method `{method}` is not supported"),
                    )
                    .with_hint(
                        "lists support append, extend, insert, pop, remove, index, count, \
                         reverse, sort, copy and clear",
                    ),
                );
                None
            }
        }
    }

    /// `heapq.heappush(heap, x)` and the other `heapq` functions of a list,
    /// with CPython's algorithms in the runtime, so the list's order after
    /// each call is the interpreter's.
    pub(super) fn heapq(
        &mut self,
        cx: &mut Cx,
        function: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let (takes_item, runtime_fn) = match function {
            "heappush" => (true, "list_heappush"),
            "heappop" => (false, "list_heappop"),
            "heapify" => (false, "list_heapify"),
            "heapreplace" => (true, "list_heapreplace"),
            "heappushpop" => (true, "list_heappushpop"),
            _ => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("`heapq.{function}` is not supported in compiled code"),
                    )
                    .with_hint(
                        "heapq's heappush, heappop, heapify, heapreplace and heappushpop are \
                         supported; for nsmallest/nlargest, sort a copy and slice it",
                    ),
                );
                return None;
            }
        };
        let what = format!("heapq.{function}()");
        let typed = self.positional_args(cx, &what, args, keywords)?;
        let expected = if takes_item { 2 } else { 1 };
        let mut typed = typed.into_iter();
        let (Some(list), true) = (typed.next(), args.len() == expected) else {
            let count = if takes_item {
                "a list and an item"
            } else {
                "one list"
            };
            self.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!("{what} takes {count}"),
                )
                .with_hint("see Python's heapq module"),
            );
            return None;
        };
        let Some(item) = item_type(&list.ty).cloned() else {
            let ty = list.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    args[0].span,
                    format!("{what} of {ty} is not supported"),
                )
                .with_hint("a heap is a list"),
            );
            return None;
        };
        let mut item = item;
        let mut call_args = vec![list];
        if let Some(value) = typed.next() {
            self.refine_list(cx, &args[0], &value.ty);
            if item == Type::Unknown {
                item = value.ty.clone();
            }
            let value = self.list_item(cx, &item, value, span)?;
            call_args.push(value);
        }
        if !self.require_orderable(cx, &item, function, span) {
            return None;
        }
        let ty = match function {
            "heappush" | "heapify" => Type::None,
            _ => item,
        };
        Some(runtime(runtime_fn, call_args, ty))
    }

    /// `bisect.bisect_left(a, x, lo, hi)` and the rest of `bisect` over a
    /// list: CPython's binary search, comparing with `<` only, `lo` and `hi`
    /// by position or by name (`hi` None or -1 for the length, as in
    /// CPython). The insort functions put `x` where the search says. An int
    /// searched among floats is compared exactly, as Python compares them.
    pub(super) fn bisect(
        &mut self,
        cx: &mut Cx,
        function: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let (insort, right) = match function {
            "bisect_left" => (false, false),
            "bisect_right" | "bisect" => (false, true),
            "insort_left" => (true, false),
            "insort_right" | "insort" => (true, true),
            _ => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        span,
                        format!("`bisect.{function}` is not supported in compiled code"),
                    )
                    .with_hint(
                        "bisect's bisect_left, bisect_right, bisect, insort_left, insort_right \
                         and insort are supported",
                    ),
                );
                return None;
            }
        };
        let what = format!("bisect.{function}()");
        if let Some(key) = keywords.iter().find(|k| k.name == "key") {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    key.span,
                    format!("{what} with key= is not supported in compiled code"),
                )
                .with_hint("search a list of the keys themselves"),
            );
            return None;
        }
        let wrong = |this: &mut Self, cx: &mut Cx, span: Span, message: String, hint: &str| {
            this.error(
                cx,
                Diagnostic::error(codes::WRONG_ARGUMENTS, span, message).with_hint(hint),
            );
            None
        };
        let signature = Signature {
            names: &["a", "x", "lo", "hi"],
            positional: 4,
            positional_only: 0,
            hint: "pass the list, the item, and optionally lo and hi, in that order",
        };
        let slots = self.bind_arguments(cx, &what, &signature, args, keywords, span)?;
        let [Some(list_source), Some(value_source), lo, hi] = slots[..] else {
            return wrong(
                self,
                cx,
                span,
                format!("{what} takes a list and an item"),
                "see Python's bisect module",
            );
        };
        let list = self.expr(cx, list_source);
        let value = self.expr(cx, value_source);
        let lo = lo.map(|e| (self.expr(cx, e), e.span));
        // `hi=None` is the length, as -1 is.
        let hi = hi
            .filter(|e| !matches!(e.kind, untyped::ExprKind::None))
            .map(|e| (self.expr(cx, e), e.span));
        let (list, value) = (list?, value?);
        let int_bound =
            |this: &mut Self, cx: &mut Cx, bound: Option<(Option<Expr>, Span)>, name: &str| {
                let int = |v: i64| Expr::new(ExprKind::Literal(typed::Literal::Int(v)), Type::Int);
                match bound {
                    None => Some(int(if name == "lo" { 0 } else { -1 })),
                    Some((None, _)) => None,
                    Some((Some(bound), span)) => match this.convert(bound, &Type::Int) {
                        Ok(bound) => Some(bound),
                        Err(given) => wrong(
                            this,
                            cx,
                            span,
                            format!("{what}: {name} must be an int, not {given}"),
                            if name == "hi" {
                                "pass an int or None"
                            } else {
                                "pass an int"
                            },
                        ),
                    },
                }
            };
        let lo = int_bound(self, cx, lo, "lo")?;
        let hi = int_bound(self, cx, hi, "hi")?;
        let Some(item) = item_type(&list.ty).cloned() else {
            let ty = list.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    list_source.span,
                    format!("{what} of {ty} is not supported"),
                )
                .with_hint("bisect searches a sorted list"),
            );
            return None;
        };
        if insort {
            self.refine_list(cx, list_source, &value.ty);
        } else {
            self.refine_searched(cx, list_source, &list.ty, &value.ty);
        }
        let item = if item == Type::Unknown {
            value.ty.clone()
        } else {
            item
        };
        if !self.require_orderable(cx, &item, function, span) {
            return None;
        }
        let exact = inexact_conversion(&value, &item);
        let function = match (insort, right, exact) {
            (false, false, false) => "list_bisect_left",
            (false, true, false) => "list_bisect_right",
            (false, false, true) => "list_bisect_left_exact",
            (false, true, true) => "list_bisect_right_exact",
            (true, false, false) => "list_insort_left",
            (true, true, false) => "list_insort_right",
            (true, false, true) => "list_insort_left_exact",
            (true, true, true) => "list_insort_right_exact",
        };
        let (args, ty) = match (insort, exact) {
            (false, false) => {
                let value = self.list_item(cx, &item, value, span)?;
                (vec![list, value, lo, hi], Type::Int)
            }
            (false, true) => (vec![list, value, lo, hi], Type::Int),
            (true, false) => {
                let stored = self.list_item(cx, &item, value, span)?;
                (vec![list, stored, lo, hi], Type::None)
            }
            (true, true) => {
                let stored = self.list_item(cx, &item, value.clone(), span)?;
                (vec![list, value, stored, lo, hi], Type::None)
            }
        };
        Some(runtime(function, args, ty))
    }

    /// The `math` functions of a sequence of numbers (`fsum`, `prod` with
    /// `start=`, `dist` of two points) and `isclose`, whose tolerances are
    /// keyword-only: the sequences are lists, tuples (read as lists) or 1-D
    /// arrays, generators having become lists in lowering.
    pub(super) fn math_of_values(
        &mut self,
        cx: &mut Cx,
        function: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let what = format!("math.{function}()");
        // `fsum`'s and `prod`'s first parameter is positional-only.
        let (names, positional, positional_only): (&[&str], usize, usize) = match function {
            "fsum" => (&["seq"], 1, 1),
            "prod" => (&["iterable", "start"], 1, 1),
            "dist" => (&["p", "q"], 2, 0),
            _ => (&["a", "b", "rel_tol", "abs_tol"], 2, 0),
        };
        let wrong = |this: &mut Self, cx: &mut Cx, span: Span, message: String| {
            this.error(
                cx,
                Diagnostic::error(codes::WRONG_ARGUMENTS, span, message)
                    .with_hint("see Python's math module"),
            );
            None
        };
        let signature = Signature {
            names,
            positional,
            positional_only,
            hint: "see Python's math module",
        };
        let slots = self.bind_arguments(cx, &what, &signature, args, keywords, span)?;
        if slots[..positional].iter().any(Option::is_none) {
            return wrong(
                self,
                cx,
                span,
                format!(
                    "{what} takes {}",
                    if positional == 1 {
                        "one sequence"
                    } else {
                        "two arguments"
                    }
                ),
            );
        }
        let typed: Vec<Option<(Expr, Span)>> = slots
            .iter()
            .map(|slot| match slot {
                None => Some(None),
                Some(e) => self.expr(cx, e).map(|typed| Some((typed, e.span))),
            })
            .collect::<Option<_>>()?;
        let sequence = |this: &mut Self, cx: &mut Cx, (value, span): (Expr, Span)| {
            let list = this.as_list(cx, value, &format!("math.{function}"), span)?;
            let item = item_type(&list.ty).cloned().unwrap_or(Type::Unknown);
            let wanted = if function == "prod" {
                matches!(item, Type::Int | Type::Bool | Type::Float)
            } else {
                item.is_numeric()
            };
            if !wanted && item != Type::Unknown {
                this.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        span,
                        format!("{what} of a sequence of {item} is not supported"),
                    )
                    .with_hint("pass ints or floats"),
                );
                return None;
            }
            Some((list, item))
        };
        let number = |this: &mut Self, cx: &mut Cx, (value, span): (Expr, Span)| {
            this.numeric(cx, &value, span)?;
            Some(value)
        };
        let mut typed = typed.into_iter();
        let mut next = || typed.next().flatten();
        match function {
            "fsum" => {
                let (list, _) = sequence(self, cx, next()?)?;
                Some(runtime("list_fsum", vec![list], Type::Float))
            }
            "dist" => {
                let (p, _) = sequence(self, cx, next()?)?;
                let (q, _) = sequence(self, cx, next()?)?;
                Some(runtime("list_dist", vec![p, q], Type::Float))
            }
            "prod" => {
                let (list, item) = sequence(self, cx, next()?)?;
                let start = match next() {
                    Some(start) => number(self, cx, start)?,
                    None => Expr::new(ExprKind::Literal(typed::Literal::Int(1)), Type::Int),
                };
                if item == Type::Float || start.ty.is_float_like() {
                    let start = start.cast_to(&Type::Float);
                    Some(runtime("list_prod_float", vec![list, start], Type::Float))
                } else if matches!(start.ty, Type::Int | Type::Bool) {
                    let start = start.cast_to(&Type::Int);
                    Some(runtime("list_prod_int", vec![list, start], Type::Int))
                } else {
                    let ty = start.ty.clone();
                    wrong(
                        self,
                        cx,
                        span,
                        format!("{what} with a start of {ty} is not supported"),
                    )
                }
            }
            _ => {
                let float = |v: Expr| v.cast_to(&Type::Float);
                let a = number(self, cx, next()?)?;
                let b = number(self, cx, next()?)?;
                let rel_tol = match next() {
                    Some(value) => float(number(self, cx, value)?),
                    None => Expr::new(ExprKind::Literal(typed::Literal::Float(1e-9)), Type::Float),
                };
                let abs_tol = match next() {
                    Some(value) => float(number(self, cx, value)?),
                    None => Expr::new(ExprKind::Literal(typed::Literal::Float(0.0)), Type::Float),
                };
                Some(Expr::new(
                    ExprKind::Intrinsic {
                        op: typed::Intrinsic::Math("isclose"),
                        args: vec![float(a), float(b), rel_tol, abs_tol],
                    },
                    Type::Bool,
                ))
            }
        }
    }

    /// The arguments of a call of a library function, in the order of its
    /// parameters (`None` where one is left out), with Python's TypeErrors
    /// as FP0505: too many given by position, an unknown name, a
    /// positional-only parameter named, one given twice. Named arguments out
    /// of the parameters' order are refused too, unless their evaluation
    /// has no effect, since the runtime takes them in its own order.
    fn bind_arguments<'a>(
        &mut self,
        cx: &mut Cx,
        what: &str,
        signature: &Signature,
        args: &'a [untyped::Expr],
        keywords: &'a [untyped::Keyword],
        span: Span,
    ) -> Option<Vec<Option<&'a untyped::Expr>>> {
        let mut wrong = |span: Span, message: String| {
            self.error(
                cx,
                Diagnostic::error(codes::WRONG_ARGUMENTS, span, message).with_hint(signature.hint),
            );
            None
        };
        let positional = signature.positional;
        if args.len() > positional {
            return wrong(
                span,
                format!(
                    "{what} takes at most {positional} positional argument{} ({} given)",
                    if positional == 1 { "" } else { "s" },
                    args.len()
                ),
            );
        }
        let mut slots: Vec<Option<&untyped::Expr>> = vec![None; signature.names.len()];
        for (slot, arg) in slots.iter_mut().zip(args) {
            *slot = Some(arg);
        }
        let mut named = Vec::new();
        for keyword in keywords {
            let at = signature
                .names
                .iter()
                .position(|name| *name == keyword.name)
                .filter(|&at| at >= signature.positional_only);
            let Some(at) = at else {
                return wrong(
                    keyword.span,
                    format!(
                        "{what} got an unexpected keyword argument `{}`",
                        keyword.name
                    ),
                );
            };
            if slots[at].is_some() {
                return wrong(
                    keyword.span,
                    format!("{what} got multiple values for argument `{}`", keyword.name),
                );
            }
            slots[at] = Some(&keyword.value);
            named.push(at);
        }
        if named.windows(2).any(|pair| pair[0] > pair[1])
            && named
                .iter()
                .any(|&at| !plain_argument(slots[at].map(|e| &e.kind)))
        {
            return wrong(
                span,
                format!(
                    "{what} with named arguments out of order is not supported; name them \
                     in the order {}",
                    signature.names.join(", ")
                ),
            );
        }
        Some(slots)
    }

    fn reverse_keyword(
        &mut self,
        cx: &mut Cx,
        keywords: &[untyped::Keyword],
    ) -> Option<Option<Expr>> {
        let mut reverse = None;
        for keyword in keywords {
            if keyword.name != "reverse" {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::UNSUPPORTED_FUNCTION,
                        keyword.span,
                        format!("the keyword `{}` is not supported here", keyword.name),
                    )
                    .with_hint(
                        "sorting takes reverse=; write a key as a list of tuples (key, value)",
                    ),
                );
                return None;
            }
            let value = self.expr(cx, &keyword.value)?;
            let Some(value) = self.truthy(cx, value, keyword.span) else {
                return None;
            };
            reverse = Some(value);
        }
        Some(reverse)
    }

    pub(super) fn require_orderable(
        &mut self,
        cx: &mut Cx,
        item: &Type,
        what: &str,
        span: Span,
    ) -> bool {
        if orderable(item) || *item == Type::Unknown {
            return true;
        }
        let item = item.clone();
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_FUNCTION,
                span,
                format!("{what} of a list of {item} is not supported"),
            )
            .with_hint("lists of numbers and of tuples of numbers can be compared and sorted"),
        );
        false
    }

    /// `sorted(xs, reverse=...)`.
    pub(super) fn sorted(
        &mut self,
        cx: &mut Cx,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let reverse = self.reverse_keyword(cx, keywords)?;
        let args = self.exprs(cx, args)?;
        let Ok([list]) = <[Expr; 1]>::try_from(args) else {
            self.error(
                cx,
                Diagnostic::error(codes::WRONG_ARGUMENTS, span, "sorted() takes one list")
                    .with_hint("write sorted(xs) or sorted(xs, reverse=True)"),
            );
            return None;
        };
        let list = self.as_list(cx, list, "sorted", span)?;
        let item = item_type(&list.ty)?.clone();
        if !self.require_orderable(cx, &item, "sorted()", span) {
            return None;
        }
        let ty = list.ty.clone();
        let reverse = reverse.unwrap_or_else(|| typed::Expr::bool(false));
        Some(runtime("list_sorted", vec![list, reverse], ty))
    }

    /// `sorted(xs, key=f)`, `min(xs, key=f)` and `max(xs, key=f)` as
    /// lowering writes them: the list `[(f(x), ±i, x) ...]` ordered by key
    /// and position alone, so only the keys need an order. With
    /// `default=d` (`__min_or_by_key__`), the item itself, or `d`, which
    /// must have the items' type, for no items.
    pub(super) fn by_key(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let reverse = self.reverse_keyword(cx, keywords)?;
        let mut args = self.exprs(cx, args)?;
        let default = match name {
            "__min_or_by_key__" | "__max_or_by_key__" if args.len() == 2 => args.pop(),
            _ => None,
        };
        let Ok([list]) = <[Expr; 1]>::try_from(args) else {
            return None;
        };
        let Some(Type::Tuple(parts)) = item_type(&list.ty).cloned() else {
            return None;
        };
        let [key, _, _] = parts.as_slice() else {
            return None;
        };
        let what = match name {
            "__sorted_by_key__" => "sorted() by a key",
            "__min_by_key__" | "__min_or_by_key__" => "min() by a key",
            _ => "max() by a key",
        };
        if !orderable(key) && *key != Type::Unknown {
            let key = key.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("{what} of {key} is not supported"),
                )
                .with_hint("key= must give numbers, or tuples or lists of numbers"),
            );
            return None;
        }
        if let (Some(default), [_, _, item]) = (default, parts.as_slice()) {
            if default.ty != *item {
                let (found, item) = (default.ty.clone(), item.clone());
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        span,
                        format!("the default= of {what} is {found}, but the items are {item}"),
                    )
                    .with_hint("give a default of the items' type (`0.0` for floats), which Python returns as it is"),
                );
                return None;
            }
            let function = if name == "__min_or_by_key__" {
                "list_min_by_key_or"
            } else {
                "list_max_by_key_or"
            };
            return Some(runtime(function, vec![list, default], item.clone()));
        }
        let item = Type::Tuple(parts.clone());
        match name {
            "__sorted_by_key__" => {
                let ty = list.ty.clone();
                let reverse = reverse.unwrap_or_else(|| typed::Expr::bool(false));
                Some(runtime("list_sorted_by_key", vec![list, reverse], ty))
            }
            "__min_by_key__" => Some(runtime("list_min_by_key", vec![list], item)),
            _ => Some(runtime("list_max_by_key", vec![list], item)),
        }
    }

    /// A list from a list (itself) or a 1-D array (its elements, as
    /// `list(a)` and `a.tolist()` give them).
    pub(super) fn as_list(
        &mut self,
        cx: &mut Cx,
        value: Expr,
        what: &str,
        span: Span,
    ) -> Option<Expr> {
        if let Some(list) = tuple_as_list(&value) {
            return Some(list);
        }
        match &value.ty {
            Type::List(_) => Some(value),
            Type::TupleOf(item) => {
                let ty = Type::List(item.clone());
                Some(runtime("var_tuple_to_list", vec![value], ty))
            }
            Type::Dict(key, _) => {
                let ty = Type::List(key.clone());
                Some(runtime("dict_keys", vec![value], ty))
            }
            Type::Set(item) => {
                let ty = Type::List(item.clone());
                Some(runtime("set_to_list", vec![value], ty))
            }
            Type::Array(ArrayType { dtype, ndim: 1 }) => {
                let item = Type::of_element(*dtype);
                Some(runtime(
                    "array_to_list",
                    vec![value],
                    Type::List(Box::new(item)),
                ))
            }
            other => {
                let other = other.clone();
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::ARGUMENT_TYPE_MISMATCH,
                        span,
                        format!("{what}() of {other} is not supported"),
                    )
                    .with_hint("pass a list or a 1-D array"),
                );
                None
            }
        }
    }

    /// The builtins applied to a list: `len`, `sum`, `min`, `max`, `any`,
    /// `all`, `list`, and `x in xs`. `None` when no argument is a list.
    pub(super) fn list_builtin(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<Expr>> {
        let list = match (name, args) {
            ("__contains__", [_, list]) => list,
            ("list", [value]) => return Some(self.list_call(cx, value.clone(), span)),
            (_, [list]) => list,
            _ => return None,
        };
        let item = item_type(&list.ty)?.clone();
        let list = list.clone();
        let result = match name {
            "len" => Some(runtime("list_len", vec![list], Type::Int)),
            "sum" => match item {
                Type::Int => Some(runtime("list_sum_int", vec![list], Type::Int)),
                Type::Float => Some(runtime("list_sum_float", vec![list], Type::Float)),
                Type::Bool => Some(runtime("list_sum_bool", vec![list], Type::Int)),
                Type::Complex => Some(runtime("list_sum_complex", vec![list], Type::Complex)),
                _ => {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("sum() of a list of {item} is not supported"),
                        )
                        .with_hint("sum lists of int, float, bool or complex"),
                    );
                    None
                }
            },
            "min" | "max" => {
                if !self.require_orderable(cx, &item, name, span) {
                    return Some(None);
                }
                let function = if name == "min" {
                    "list_min"
                } else {
                    "list_max"
                };
                Some(runtime(function, vec![list], item))
            }
            "any" | "all" if item.is_numeric() => {
                let function = if name == "any" {
                    "list_any"
                } else {
                    "list_all"
                };
                Some(runtime(function, vec![list], Type::Bool))
            }
            "__contains__" => {
                let value = args[0].clone();
                if !self.require_orderable(cx, &item, "`in`", span) {
                    return Some(None);
                }
                let (value, function) =
                    self.searched_item(cx, &item, value, "list_contains", span)?;
                Some(runtime(function, vec![value, list], Type::Bool))
            }
            _ => return None,
        };
        Some(result)
    }

    /// The builtins of tuples of any length (`tuple[int, ...]`): `tuple(xs)`
    /// of a list (lowering makes every `tuple(...)` of a length known only
    /// at run time `tuple(list(...))`), `len(t)`; the builtins that walk or
    /// consume one sequence (`sum`, `min`, `max`, `sorted`, `list`, `set`,
    /// `for` loops and comprehensions, `x in t`) take the list of its
    /// items. `None` when the call is none of these.
    pub(super) fn var_tuple_builtin(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &mut [Expr],
        span: Span,
    ) -> Option<Option<Expr>> {
        match (name, &mut *args) {
            ("__var_tuple__", [list]) => {
                let Type::List(item) = list.ty.clone() else {
                    let ty = list.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("`tuple(...)` of {ty} is not supported"),
                        )
                        .with_hint("pass a list, a tuple, a generator expression or a range"),
                    );
                    return Some(None);
                };
                if *item != Type::Unknown && !crate::signature::hashable(&item) {
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("a tuple of any length of {item} is not supported"),
                        )
                        .with_label("items of a type a tuple of any length cannot hold")
                        .with_hint(
                            "the items of `tuple(...)` must be numbers or tuples of numbers; \
                             keep a list for anything else",
                        ),
                    );
                    return Some(None);
                }
                Some(Some(runtime(
                    "var_tuple_from_list",
                    vec![list.clone()],
                    Type::TupleOf(item),
                )))
            }
            ("len", [tuple]) if matches!(tuple.ty, Type::TupleOf(_)) => Some(Some(runtime(
                "var_tuple_len",
                vec![tuple.clone()],
                Type::Int,
            ))),
            (
                "sum" | "min" | "max" | "any" | "all" | "sorted" | "list" | "set" | "reversed"
                | "__iter_source__",
                [value],
            ) => {
                if let Type::TupleOf(item) = value.ty.clone() {
                    *value = runtime("var_tuple_to_list", vec![value.clone()], Type::List(item));
                }
                None
            }
            ("__contains__", [value, container]) => {
                if let Type::TupleOf(item) = container.ty.clone() {
                    // Searched in place; an int among floats, which only the
                    // list's exact search compares, in the list of items.
                    if !inexact_conversion(value, &item) {
                        let Some(value) = self.list_item(cx, &item, value.clone(), span) else {
                            return Some(None);
                        };
                        let args = vec![value, container.clone()];
                        return Some(Some(runtime("var_tuple_contains", args, Type::Bool)));
                    }
                    *container = runtime(
                        "var_tuple_to_list",
                        vec![container.clone()],
                        Type::List(item),
                    );
                }
                None
            }
            _ => None,
        }
    }

    /// `min(xs, default=d)` and `max(xs, default=d)` of a list (a generator
    /// expression is one): `d` when the list is empty. The default must
    /// have the elements' type, since the compiled result has one type.
    pub(super) fn min_max_default(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[untyped::Expr],
        default: &untyped::Keyword,
        span: Span,
    ) -> Option<Expr> {
        let [iterable] = args else {
            self.error(
                cx,
                Diagnostic::error(
                    codes::WRONG_ARGUMENTS,
                    span,
                    format!("`{name}` with default= takes one iterable"),
                )
                .with_hint(format!(
                    "write {name}(xs, default=...) with one list or generator"
                )),
            );
            return None;
        };
        let list = self.expr(cx, iterable);
        let value = self.expr(cx, &default.value);
        let (list, value) = (list?, value?);
        let list = tuple_as_list(&list).unwrap_or(list);
        let list = match list.ty.clone() {
            Type::TupleOf(item) => runtime("var_tuple_to_list", vec![list], Type::List(item)),
            _ => list,
        };
        let Some(item) = item_type(&list.ty).cloned() else {
            let ty = list.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("`{name}` with default= of {ty} is not supported"),
                )
                .with_hint(format!(
                    "pass a list or a generator expression, or test the length first: \
                     `{name}(a) if len(a) > 0 else d`"
                )),
            );
            return None;
        };
        if !self.require_orderable(cx, &item, name, span) {
            return None;
        }
        if value.ty != item {
            let given = value.ty.clone();
            self.error(
                cx,
                Diagnostic::error(
                    codes::ARGUMENT_TYPE_MISMATCH,
                    default.span,
                    format!("the default of `{name}` is {given}, but the elements are {item}"),
                )
                .with_label(format!("{given}"))
                .with_hint(format!(
                    "the compiled result has one type: give a default of {item}{}",
                    if item == Type::Float {
                        " such as 0.0"
                    } else {
                        ""
                    }
                )),
            );
            return None;
        }
        let function = if name == "min" {
            "list_min_or"
        } else {
            "list_max_or"
        };
        Some(runtime(function, vec![list, value], item))
    }

    /// `list(xs)` (a copy), `list(a)` of a 1-D array.
    fn list_call(&mut self, cx: &mut Cx, value: Expr, span: Span) -> Option<Expr> {
        match value.ty {
            Type::List(_) => {
                let ty = value.ty.clone();
                Some(runtime("list_copy", vec![value], ty))
            }
            _ => self.as_list(cx, value, "list", span),
        }
    }

    /// `np.array(xs)` / `np.asarray(xs)` of a list of numbers: a new 1-D
    /// array of the elements' dtype.
    pub(super) fn list_to_array(&mut self, cx: &mut Cx, list: Expr, span: Span) -> Option<Expr> {
        let item = item_type(&list.ty)?.clone();
        // A list of equally long lists of numbers: a matrix.
        if let Some(dtype) = item_type(&item).and_then(Type::dtype) {
            return Some(runtime(
                "list2_to_array",
                vec![list],
                Type::Array(ArrayType::new(dtype, 2)),
            ));
        }
        let Some(dtype) = item.dtype() else {
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("an array from a list of {item} is not supported"),
                )
                .with_hint("make arrays from lists of numbers, or of equally long lists of them"),
            );
            return None;
        };
        Some(runtime(
            "list_to_array",
            vec![list],
            Type::Array(ArrayType::new(dtype, 1)),
        ))
    }

    /// `xs + ys`, `xs * n`, `n * xs` (`None` when no operand is a list).
    pub(super) fn list_binary(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        use crate::ir::BinaryOp;
        let (l, r) = (item_type(&left.ty), item_type(&right.ty));
        if l.is_none() && r.is_none() {
            return None;
        }
        let result = match (op, l, r) {
            (BinaryOp::Add, Some(a), Some(b)) => match Type::join(a, b) {
                Some(joined)
                    if (a == &joined || *a == Type::Unknown)
                        && (b == &joined || *b == Type::Unknown) =>
                {
                    let ty = Type::List(Box::new(joined));
                    Some(runtime(
                        "list_concat",
                        vec![left.clone(), right.clone()],
                        ty,
                    ))
                }
                _ => None,
            },
            (BinaryOp::Mul, Some(_), None) if right.ty.is_integer_like() => Some(runtime(
                "list_repeat",
                vec![left.clone(), right.clone().cast_to(&Type::Int)],
                left.ty.clone(),
            )),
            (BinaryOp::Mul, None, Some(_)) if left.ty.is_integer_like() => Some(runtime(
                "list_repeat_left",
                vec![left.clone().cast_to(&Type::Int), right.clone()],
                right.ty.clone(),
            )),
            _ => None,
        };
        if result.is_none() {
            let hint = "lists support + with a list of the same type and * with an int";
            self.operand_error(cx, op, left, right, span, hint);
        }
        Some(result)
    }

    /// `a + b` and `t * n` where a tuple of any length takes part (the
    /// other operand of `+` may be a tuple of a fixed length: `t + (x,)`).
    /// `None` when none does.
    pub(super) fn var_tuple_binary(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        use crate::ir::BinaryOp;
        let var = |ty: &Type| matches!(ty, Type::TupleOf(_));
        if !var(&left.ty) && !var(&right.ty) {
            return None;
        }
        let result = match op {
            // The join keeps the item type (it widens nothing).
            BinaryOp::Add => Type::join(&left.ty, &right.ty)
                .filter(|joined| matches!(joined, Type::TupleOf(_)))
                .map(|joined| {
                    let args = vec![
                        left.clone().cast_to(&joined),
                        right.clone().cast_to(&joined),
                    ];
                    runtime("var_tuple_concat", args, joined)
                }),
            BinaryOp::Mul if var(&left.ty) && right.ty.is_integer_like() => Some(runtime(
                "var_tuple_repeat",
                vec![left.clone(), right.clone().cast_to(&Type::Int)],
                left.ty.clone(),
            )),
            BinaryOp::Mul if var(&right.ty) && left.ty.is_integer_like() => Some(runtime(
                "var_tuple_repeat",
                vec![right.clone(), left.clone().cast_to(&Type::Int)],
                right.ty.clone(),
            )),
            _ => None,
        };
        if result.is_none() {
            let hint = "tuples support + with a tuple of items of the same type and * with an int";
            self.operand_error(cx, op, left, right, span, hint);
        }
        Some(result)
    }

    /// FP0502 for `left op right` of containers the operator does not take.
    pub(super) fn operand_error(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
        hint: &str,
    ) {
        let (a, b) = (left.ty.clone(), right.ty.clone());
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_OPERAND,
                span,
                format!("unsupported operand types for {}: {a} and {b}", op.symbol()),
            )
            .with_hint(hint.to_string()),
        );
    }

    /// `a < b` (and the other comparisons) of two tuples or two lists:
    /// lexicographic, as Python compares them. `None` when neither operand
    /// is a tuple or a list.
    pub(super) fn sequence_compare(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::CompareOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        use crate::ir::CompareOp;
        let sequence = |t: &Type| matches!(t, Type::Tuple(_) | Type::List(_) | Type::TupleOf(_));
        if !sequence(&left.ty) && !sequence(&right.ty) {
            return None;
        }
        let joined = Type::join(&left.ty, &right.ty)
            .filter(|joined| orderable(joined) && sequence(joined))
            .filter(|joined| {
                // Lists compare without conversion (they are shared).
                // (A tuple of any length joins only with items of its own
                // type, so converting to it widens nothing.)
                !matches!(joined, Type::List(_)) || (left.ty == *joined && right.ty == *joined)
            });
        let Some(joined) = joined else {
            let (a, b) = (left.ty.clone(), right.ty.clone());
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("cannot compare {a} with {b}"),
                )
                .with_hint("compare tuples or lists of numbers of the same length and kind"),
            );
            return Some(None);
        };
        let function = match op {
            CompareOp::Eq => "value_eq",
            CompareOp::NotEq => "value_ne",
            CompareOp::Lt => "value_lt",
            CompareOp::LtE => "value_le",
            CompareOp::Gt => "value_gt",
            CompareOp::GtE => "value_ge",
        };
        if inexact_conversion(left, &joined) || inexact_conversion(right, &joined) {
            // Tuples of ints and floats: each pair of items compared exactly.
            let args = vec![left.clone(), right.clone()];
            return Some(Some(runtime(exact_form(function), args, Type::Bool)));
        }
        let args = vec![
            left.clone().cast_to(&joined),
            right.clone().cast_to(&joined),
        ];
        Some(Some(runtime(function, args, Type::Bool)))
    }
}

/// A container that already exists (a variable, an element read), stored
/// where a container of another, fully known type is expected, directly or
/// as an item of a display or repetition: it cannot be converted, since it
/// is shared. Its type and the expected one.
pub(super) fn shared_mismatch(value: &Expr, expected: &Type) -> Option<(Type, Type)> {
    match (&value.kind, expected) {
        (ExprKind::List(items), Type::List(item)) => {
            items.iter().find_map(|v| shared_mismatch(v, item))
        }
        (
            ExprKind::Runtime {
                function: "list_repeat" | "list_repeat_left",
                args,
            },
            Type::List(_),
        ) => args.iter().find_map(|v| shared_mismatch(v, expected)),
        (
            ExprKind::Local(_)
            | ExprKind::Runtime {
                function: "list_get" | "dict_get",
                ..
            },
            _,
        ) if value.ty.has_container()
            && value.ty != *expected
            && !value.ty.has_unknown()
            && !expected.has_unknown() =>
        {
            Some((value.ty.clone(), expected.clone()))
        }
        _ => None,
    }
}

/// The item of a tuple of `len` items that the one index `indices` names,
/// when it is an int literal in range (negative counting from the end).
fn tuple_position(indices: &[untyped::Expr], len: usize) -> Option<usize> {
    let [index] = indices else {
        return None;
    };
    let k = match &index.kind {
        untyped::ExprKind::Int(k) => *k,
        untyped::ExprKind::Unary {
            op: crate::ir::UnaryOp::Neg,
            operand,
        } => match operand.kind {
            untyped::ExprKind::Int(k) => k.checked_neg()?,
            _ => return None,
        },
        _ => return None,
    };
    let len = i64::try_from(len).ok()?;
    let k = if k < 0 { k + len } else { k };
    usize::try_from(k).ok().filter(|&k| (k as i64) < len)
}

/// What a function stores as the elements (dict values) of the container
/// it returns: the function ends in `return r`, `r` is assigned once, and
/// these are the values appended or added to `r` or stored as `r[k]`. A
/// comprehension's helper is such a function.
fn stored_elements(function: &untyped::Function) -> Vec<&untyped::Expr> {
    use untyped::{ExprKind as E, StmtKind as S, Target};
    let Some(untyped::Stmt {
        kind:
            S::Return(Some(untyped::Expr {
                kind: E::Local(result),
                ..
            })),
        ..
    }) = function.body.last()
    else {
        return Vec::new();
    };
    fn walk<'f>(
        stmts: &'f [untyped::Stmt],
        result: &str,
        stored: &mut Vec<&'f untyped::Expr>,
        results: &mut usize,
    ) {
        for stmt in stmts {
            match &stmt.kind {
                S::Expr(untyped::Expr {
                    kind:
                        E::Method {
                            receiver,
                            method,
                            args,
                            ..
                        },
                    ..
                }) if matches!(&receiver.kind, E::Local(r) if r == result)
                    && matches!(method.as_str(), "append" | "add")
                    && args.len() == 1 =>
                {
                    stored.push(&args[0]);
                }
                S::Assign {
                    target: Target::Index { value, .. },
                    value: stored_value,
                    ..
                } if matches!(&value.kind, E::Local(r) if r == result) => {
                    stored.push(stored_value);
                }
                S::Assign {
                    target: Target::Name(name, _),
                    ..
                } if name == result => *results += 1,
                S::If { body, orelse, .. } => {
                    walk(body, result, stored, results);
                    walk(orelse, result, stored, results);
                }
                S::ForRange { body, .. } | S::While { body, .. } => {
                    walk(body, result, stored, results)
                }
                _ => {}
            }
        }
    }
    let (mut stored, mut results) = (Vec::new(), 0);
    walk(&function.body, result, &mut stored, &mut results);
    if results == 1 {
        stored
    } else {
        Vec::new()
    }
}

/// The variables a function assigns (loop variables included).
fn assigned_names(stmts: &[untyped::Stmt], found: &mut Vec<String>) {
    use untyped::{StmtKind as S, Target};
    fn target_names(target: &Target, found: &mut Vec<String>) {
        match target {
            Target::Name(name, _) => found.push(name.clone()),
            Target::Tuple(items, _) => items.iter().for_each(|item| target_names(item, found)),
            Target::Index { .. } => {}
        }
    }
    for stmt in stmts {
        match &stmt.kind {
            S::Assign { target, .. } | S::AugAssign { target, .. } => target_names(target, found),
            S::If { body, orelse, .. } => {
                assigned_names(body, found);
                assigned_names(orelse, found);
            }
            S::ForRange { var, body, .. } => {
                if let Some((name, _)) = var {
                    found.push(name.clone());
                }
                assigned_names(body, found);
            }
            S::While { body, .. } => assigned_names(body, found),
            _ => {}
        }
    }
}
