//! Inference of Python dicts and sets: displays, `d[k]` reads and stores,
//! methods, `in`, `len`, the set operators and iteration (over a snapshot
//! of the keys, values or items, as a list).
//!
//! Like lists, an empty `{}` or `set()` starts with unknown types that the
//! stores, `setdefault`, `add`, `remove` and `discard` calls fill in
//! (`infer::lists::refine`).
//! Keys and set elements are numbers or tuples of numbers
//! (`signature::hashable`).

use super::lists::{orderable, runtime};
use super::{Cx, Inference};
use crate::diagnostics::{codes, Diagnostic, Span};
use crate::ir::typed::{self, Expr, ExprKind};
use crate::ir::{untyped, BinaryOp};
use crate::signature::hashable;
use crate::types::Type;

impl Inference<'_> {
    fn check_hashable(&mut self, cx: &mut Cx, ty: &Type, span: Span) -> bool {
        // `()` is a key whatever its item type turns out to be.
        let empty_tuple = matches!(ty, Type::TupleOf(item) if **item == Type::Unknown);
        if *ty == Type::Unknown || empty_tuple || hashable(ty) {
            return true;
        }
        let ty = ty.clone();
        self.error(
            cx,
            Diagnostic::error(
                codes::UNSUPPORTED_OPERAND,
                span,
                format!("{ty} cannot be a dict key or a set element in compiled code"),
            )
            .with_hint("use numbers or tuples of numbers as keys"),
        );
        false
    }

    fn joined_type(&mut self, cx: &mut Cx, types: &[&Type], span: Span) -> Option<Type> {
        let mut joined = Type::Unknown;
        for ty in types {
            match Type::join(&joined, ty) {
                Some(j) => joined = j,
                None => {
                    let (a, b) = (joined.clone(), (*ty).clone());
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::INCOMPATIBLE_ASSIGNMENT,
                            span,
                            format!("{a} and {b} cannot share a dict or set"),
                        )
                        .with_hint("compiled dicts and sets hold keys and values of one type each"),
                    );
                    return None;
                }
            }
        }
        Some(joined)
    }

    /// `{k: v, ...}`.
    pub(super) fn dict_display(
        &mut self,
        cx: &mut Cx,
        pairs: &[(untyped::Expr, untyped::Expr)],
        span: Span,
    ) -> Option<Expr> {
        let mut typed_pairs = Vec::new();
        for (key, value) in pairs {
            let key = self.expr(cx, key)?;
            let value = self.expr(cx, value)?;
            typed_pairs.push((key, value));
        }
        let keys: Vec<&Type> = typed_pairs.iter().map(|(k, _)| &k.ty).collect();
        let key_ty = self.joined_type(cx, &keys, span)?;
        let values: Vec<&Type> = typed_pairs.iter().map(|(_, v)| &v.ty).collect();
        let value_ty = self.joined_type(cx, &values, span)?;
        if !self.check_hashable(cx, &key_ty, span) {
            return None;
        }
        let items = typed_pairs
            .into_iter()
            .map(|(k, v)| {
                let (k, v) = (k.cast_to(&key_ty), v.cast_to(&value_ty));
                let ty = Type::Tuple(vec![k.ty.clone(), v.ty.clone()]);
                Expr::new(ExprKind::Tuple(vec![k, v]), ty)
            })
            .collect();
        let ty = Type::Dict(Box::new(key_ty), Box::new(value_ty));
        Some(runtime("dict_display", items, ty))
    }

    /// `{a, b}`.
    pub(super) fn set_display(
        &mut self,
        cx: &mut Cx,
        items: &[untyped::Expr],
        span: Span,
    ) -> Option<Expr> {
        let items = self.exprs(cx, items)?;
        let types: Vec<&Type> = items.iter().map(|i| &i.ty).collect();
        let item_ty = self.joined_type(cx, &types, span)?;
        if !self.check_hashable(cx, &item_ty, span) {
            return None;
        }
        let items = items.into_iter().map(|i| i.cast_to(&item_ty)).collect();
        Some(runtime("set_display", items, Type::Set(Box::new(item_ty))))
    }

    /// A key converted to the dict's (or set's) key type.
    fn key(&mut self, cx: &mut Cx, key_ty: &Type, key: Expr, span: Span) -> Option<Expr> {
        if !self.check_hashable(cx, &key.ty, span) {
            return None;
        }
        self.list_item(cx, key_ty, key, span)
    }

    /// A key searched for in a dict or set of key type `key_ty`
    /// (`searched_item`): converted, or left as it is for the `_exact` form
    /// of `function`.
    fn searched_key(
        &mut self,
        cx: &mut Cx,
        key_ty: &Type,
        key: Expr,
        function: &'static str,
        span: Span,
    ) -> Option<(Expr, &'static str)> {
        if !self.check_hashable(cx, &key.ty, span) {
            return None;
        }
        self.searched_item(cx, key_ty, key, function, span)
    }

    /// `d[k]`.
    pub(super) fn dict_subscript(
        &mut self,
        cx: &mut Cx,
        dict: Expr,
        group: &[untyped::Expr],
        span: Span,
    ) -> Option<Expr> {
        let Type::Dict(key_ty, value_ty) = dict.ty.clone() else {
            return None;
        };
        let key = match group {
            [key] => self.expr(cx, key)?,
            keys => {
                // `d[i, j]` is `d[(i, j)]`.
                let keys = self.exprs(cx, keys)?;
                let ty = Type::Tuple(keys.iter().map(|k| k.ty.clone()).collect());
                Expr::new(ExprKind::Tuple(keys), ty)
            }
        };
        let (key, function) = self.searched_key(cx, &key_ty, key, "dict_get", span)?;
        Some(runtime(function, vec![dict, key], *value_ty))
    }

    /// `d[k] = value`.
    pub(super) fn dict_store_target(
        &mut self,
        cx: &mut Cx,
        container: &untyped::Expr,
        key: &untyped::Expr,
        ty: &Type,
        span: Span,
    ) -> Option<typed::Target> {
        let key = self.expr(cx, key)?;
        self.refine(
            cx,
            container,
            Type::Dict(Box::new(key.ty.clone()), Box::new(ty.clone())),
        );
        let dict = self.expr(cx, container)?;
        let Type::Dict(key_ty, _) = dict.ty.clone() else {
            return None;
        };
        let key = self.key(cx, &key_ty, key, span)?;
        Some(typed::Target::Item {
            list: dict,
            index: key,
            span,
        })
    }

    /// The methods of dicts and sets.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn container_method(
        &mut self,
        cx: &mut Cx,
        source: &untyped::Expr,
        receiver: Expr,
        method: &str,
        args: &[untyped::Expr],
        keywords: &[untyped::Keyword],
        span: Span,
    ) -> Option<Expr> {
        let args = self.positional_args(cx, &format!("{method}()"), args, keywords)?;
        let none = Type::None;
        let unsupported = |this: &mut Self, cx: &mut Cx, ty: &Type| -> Option<Expr> {
            this.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_FUNCTION,
                    span,
                    format!("{method}() of {ty} with these arguments is not supported"),
                )
                .with_hint(
                    "dicts support get(k, default), setdefault, pop, keys, values, items, \
                     update, copy and clear; sets add, discard, remove, update, union, \
                     intersection, difference, issubset, copy and clear",
                ),
            );
            None
        };
        match receiver.ty.clone() {
            Type::Dict(key_ty, value_ty) => {
                let (key_ty, value_ty) = (*key_ty, *value_ty);
                let mut args = args.into_iter();
                let (first, second) = (args.next(), args.next());
                if args.next().is_some() {
                    return unsupported(self, cx, &receiver.ty);
                }
                match (method, first, second) {
                    ("get", Some(key), Some(default)) => {
                        let value_ty = Type::join(&value_ty, &default.ty).unwrap_or(value_ty);
                        let (key, function) =
                            self.searched_key(cx, &key_ty, key, "dict_get_or", span)?;
                        let default = self.list_item(cx, &value_ty, default, span)?;
                        Some(runtime(function, vec![receiver, key, default], value_ty))
                    }
                    ("get", Some(_), None) => {
                        self.error(
                            cx,
                            Diagnostic::error(
                                codes::UNSUPPORTED_FUNCTION,
                                span,
                                "d.get(k) without a default may return None, which compiled code does not have",
                            )
                            .with_hint("pass a default: d.get(k, 0), or test `k in d` first"),
                        );
                        None
                    }
                    ("setdefault", Some(key), Some(default)) => {
                        self.refine(
                            cx,
                            source,
                            Type::Dict(Box::new(key.ty.clone()), Box::new(default.ty.clone())),
                        );
                        let key = self.key(cx, &key_ty, key, span)?;
                        let default = self.list_item(cx, &value_ty, default, span)?;
                        Some(runtime(
                            "dict_setdefault",
                            vec![receiver, key, default],
                            value_ty,
                        ))
                    }
                    ("pop", Some(key), None) => {
                        let (key, function) =
                            self.searched_key(cx, &key_ty, key, "dict_pop", span)?;
                        Some(runtime(function, vec![receiver, key], value_ty))
                    }
                    ("pop", Some(key), Some(default)) => {
                        let (key, function) =
                            self.searched_key(cx, &key_ty, key, "dict_pop_or", span)?;
                        let default = self.list_item(cx, &value_ty, default, span)?;
                        Some(runtime(function, vec![receiver, key, default], value_ty))
                    }
                    // `d.pop(k, None)` as a statement (`discard_key`).
                    ("__discard_key__", Some(key), None) => {
                        let (key, function) =
                            self.searched_key(cx, &key_ty, key, "dict_discard", span)?;
                        Some(runtime(function, vec![receiver, key], none))
                    }
                    ("__delitem__", Some(key), None) => {
                        let (key, function) =
                            self.searched_key(cx, &key_ty, key, "dict_del", span)?;
                        Some(runtime(function, vec![receiver, key], none))
                    }
                    ("keys", None, None) => Some(runtime(
                        "dict_keys",
                        vec![receiver],
                        Type::List(Box::new(key_ty)),
                    )),
                    ("values", None, None) => Some(runtime(
                        "dict_values",
                        vec![receiver],
                        Type::List(Box::new(value_ty)),
                    )),
                    ("items", None, None) => Some(runtime(
                        "dict_items",
                        vec![receiver],
                        Type::List(Box::new(Type::Tuple(vec![key_ty, value_ty]))),
                    )),
                    ("copy", None, None) => {
                        let ty = receiver.ty.clone();
                        Some(runtime("dict_copy", vec![receiver], ty))
                    }
                    ("clear", None, None) => Some(runtime("dict_clear", vec![receiver], none)),
                    ("update", Some(other), None) if matches!(other.ty, Type::Dict(..)) => {
                        // `d = {}; d.update(e)`: the dict takes e's types.
                        self.refine(cx, source, other.ty.clone());
                        let (receiver, other) = super::settle_unknown_operand(&receiver, &other);
                        if other.ty != receiver.ty {
                            return unsupported(self, cx, &receiver.ty);
                        }
                        Some(runtime("dict_update", vec![receiver, other], none))
                    }
                    _ => unsupported(self, cx, &receiver.ty),
                }
            }
            Type::Set(item_ty) => {
                let item_ty = *item_ty;
                let mut args = args.into_iter();
                let (first, second) = (args.next(), args.next());
                if second.is_some() {
                    return unsupported(self, cx, &receiver.ty);
                }
                // The methods that combine with another set take any
                // iterable in Python: a list becomes a set first, and a set
                // nothing filled yet (`s = set(); s.update(xs)`) takes the
                // other's element type.
                let combining = matches!(
                    method,
                    "update"
                        | "difference_update"
                        | "intersection_update"
                        | "symmetric_difference_update"
                        | "union"
                        | "intersection"
                        | "difference"
                        | "symmetric_difference"
                        | "issubset"
                        | "issuperset"
                        | "isdisjoint"
                );
                let (receiver, first) = match first {
                    Some(other) if combining => {
                        let other = match other.ty.clone() {
                            Type::List(item) if hashable(&item) => {
                                runtime("set_from_list", vec![other], Type::Set(item))
                            }
                            _ => other,
                        };
                        if let Type::Set(_) = other.ty {
                            self.refine(cx, source, other.ty.clone());
                        }
                        let (receiver, other) = super::settle_unknown_operand(&receiver, &other);
                        (receiver, Some(other))
                    }
                    first => (receiver, first),
                };
                match (method, first) {
                    ("add", Some(item)) => {
                        self.refine(cx, source, Type::Set(Box::new(item.ty.clone())));
                        let item = self.key(cx, &item_ty, item, span)?;
                        Some(runtime("set_add", vec![receiver, item], none))
                    }
                    ("discard" | "remove", Some(item)) => {
                        // `s = set(); s.remove(x)`.
                        self.refine_searched(cx, source, &receiver.ty, &item.ty);
                        let function = if method == "remove" {
                            "set_remove"
                        } else {
                            "set_discard"
                        };
                        let (item, function) =
                            self.searched_key(cx, &item_ty, item, function, span)?;
                        Some(runtime(function, vec![receiver, item], none))
                    }
                    ("copy", None) => {
                        let ty = receiver.ty.clone();
                        Some(runtime("set_copy", vec![receiver], ty))
                    }
                    ("clear", None) => Some(runtime("set_clear", vec![receiver], none)),
                    ("pop", None) => Some(runtime("set_pop", vec![receiver], item_ty.clone())),
                    (
                        "update"
                        | "difference_update"
                        | "intersection_update"
                        | "symmetric_difference_update",
                        Some(other),
                    ) if other.ty == receiver.ty => {
                        let function = match method {
                            "update" => "set_update",
                            "difference_update" => "set_difference_update",
                            "intersection_update" => "set_intersection_update",
                            _ => "set_symmetric_difference_update",
                        };
                        Some(runtime(function, vec![receiver, other], none))
                    }
                    (
                        "union" | "intersection" | "difference" | "symmetric_difference",
                        Some(other),
                    ) if other.ty == receiver.ty => {
                        let function = match method {
                            "union" => "set_union",
                            "intersection" => "set_intersection",
                            "difference" => "set_difference",
                            _ => "set_symmetric_difference",
                        };
                        let ty = receiver.ty.clone();
                        Some(runtime(function, vec![receiver, other], ty))
                    }
                    ("issubset" | "issuperset" | "isdisjoint", Some(other))
                        if other.ty == receiver.ty =>
                    {
                        let function = match method {
                            "issubset" => "set_subset",
                            "issuperset" => "set_superset",
                            _ => "set_disjoint",
                        };
                        Some(runtime(function, vec![receiver, other], Type::Bool))
                    }
                    _ => unsupported(self, cx, &receiver.ty),
                }
            }
            other => unsupported(self, cx, &other),
        }
    }

    /// `a == b` and `a != b` of two dicts of one type: the same keys, each
    /// with an equal value, in any order. `None` when neither is a dict.
    pub(super) fn dict_compare(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::CompareOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        use crate::ir::CompareOp;
        if !matches!(left.ty, Type::Dict(..)) && !matches!(right.ty, Type::Dict(..)) {
            return None;
        }
        let function = match op {
            CompareOp::Eq => "dict_eq",
            CompareOp::NotEq => "dict_ne",
            _ => "",
        };
        let comparable = match &left.ty {
            Type::Dict(_, value) => orderable(value) || **value == Type::Unknown,
            _ => false,
        };
        if function.is_empty() || left.ty != right.ty || !comparable {
            let (a, b) = (left.ty.clone(), right.ty.clone());
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("cannot compare {a} with {b}"),
                )
                .with_hint(
                    "dicts compare with == and != against a dict of the same key and value \
                     types, whose values are numbers, tuples or lists",
                ),
            );
            return Some(None);
        }
        Some(Some(runtime(
            function,
            vec![left.clone(), right.clone()],
            Type::Bool,
        )))
    }

    /// `a == b`, `a <= b` (subset) and the other comparisons of two sets of
    /// one element type. `None` when neither operand is a set.
    pub(super) fn set_compare(
        &mut self,
        cx: &mut Cx,
        op: crate::ir::CompareOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        use crate::ir::CompareOp;
        if !matches!(left.ty, Type::Set(_)) && !matches!(right.ty, Type::Set(_)) {
            return None;
        }
        if left.ty != right.ty {
            let (a, b) = (left.ty.clone(), right.ty.clone());
            self.error(
                cx,
                Diagnostic::error(
                    codes::UNSUPPORTED_OPERAND,
                    span,
                    format!("cannot compare {a} with {b}"),
                )
                .with_hint("compare a set with a set of the same element type"),
            );
            return Some(None);
        }
        let function = match op {
            CompareOp::Eq => "set_eq",
            CompareOp::NotEq => "set_ne",
            CompareOp::LtE => "set_subset",
            CompareOp::GtE => "set_superset",
            CompareOp::Lt => "set_proper_subset",
            CompareOp::Gt => "set_proper_superset",
        };
        Some(Some(runtime(
            function,
            vec![left.clone(), right.clone()],
            Type::Bool,
        )))
    }

    /// `len`, `in`, `set(...)`, `dict()`, `sorted`, `list`, `min`, `max`,
    /// `sum`, `any`, `all` with a dict or set argument, and the iterable of
    /// a `for` loop (`__iter_source__`). `None` when none applies.
    pub(super) fn container_builtin(
        &mut self,
        cx: &mut Cx,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<Expr>> {
        match (name, args) {
            ("set", []) => {
                return Some(Some(runtime(
                    "set_display",
                    Vec::new(),
                    Type::Set(Box::new(Type::Unknown)),
                )))
            }
            ("dict", []) => {
                let ty = Type::Dict(Box::new(Type::Unknown), Box::new(Type::Unknown));
                return Some(Some(runtime("dict_display", Vec::new(), ty)));
            }
            // `dict(d)`: a copy; `dict(pairs)` of a list of 2-tuples.
            ("__dict_fromkeys__", [keys, value]) => {
                let keys = self.as_list(cx, keys.clone(), "dict.fromkeys", span)?;
                let Type::List(key) = keys.ty.clone() else {
                    return Some(None);
                };
                if !self.check_hashable(cx, &key, span) {
                    return Some(None);
                }
                let ty = Type::Dict(key, Box::new(value.ty.clone()));
                return Some(Some(runtime(
                    "dict_fromkeys",
                    vec![keys, value.clone()],
                    ty,
                )));
            }
            ("__dict_fromkeys__", _) => {
                self.error(
                    cx,
                    Diagnostic::error(
                        codes::WRONG_ARGUMENTS,
                        span,
                        "`dict.fromkeys` takes the keys and a value in compiled code",
                    )
                    .with_hint("pass the value every key gets: `dict.fromkeys(keys, 0)`; a compiled dict cannot hold None"),
                );
                return Some(None);
            }
            ("dict", [value]) => {
                let ty = match &value.ty {
                    Type::Dict(..) => {
                        let ty = value.ty.clone();
                        return Some(Some(runtime("dict_copy", vec![value.clone()], ty)));
                    }
                    Type::List(item) => match &**item {
                        Type::Tuple(pair) if pair.len() == 2 => Some(Type::Dict(
                            Box::new(pair[0].clone()),
                            Box::new(pair[1].clone()),
                        )),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(ty) = ty else {
                    let given = value.ty.clone();
                    self.error(
                        cx,
                        Diagnostic::error(
                            codes::UNSUPPORTED_FUNCTION,
                            span,
                            format!("dict() of {given} is not supported"),
                        )
                        .with_hint("pass a dict, or a list of (key, value) tuples"),
                    );
                    return Some(None);
                };
                if let Type::Dict(key, _) = &ty {
                    if !self.check_hashable(cx, key, span) {
                        return Some(None);
                    }
                }
                return Some(Some(runtime("dict_from_pairs", vec![value.clone()], ty)));
            }
            ("set", [value]) => {
                let list = match &value.ty {
                    Type::Set(_) => {
                        let ty = value.ty.clone();
                        return Some(Some(runtime("set_copy", vec![value.clone()], ty)));
                    }
                    Type::Dict(..) => self.as_sequence(value.clone())?,
                    _ => self.as_list(cx, value.clone(), "set", span)?,
                };
                let Type::List(item) = list.ty.clone() else {
                    return Some(None);
                };
                if !self.check_hashable(cx, &item, span) {
                    return Some(None);
                }
                return Some(Some(runtime("set_from_list", vec![list], Type::Set(item))));
            }
            _ => {}
        }
        if let ("__iter_source__", [value]) = (name, args) {
            if !matches!(value.ty, Type::Dict(..) | Type::Set(_)) {
                return Some(Some(value.clone()));
            }
        }
        let position = match (name, args) {
            ("__contains__", [_, container]) => container,
            (_, [container]) => container,
            _ => return None,
        };
        if !matches!(position.ty, Type::Dict(..) | Type::Set(_)) {
            return None;
        }
        let container = position.clone();
        let result = match (name, &container.ty) {
            ("len", Type::Dict(..)) => runtime("dict_len", vec![container], Type::Int),
            ("len", Type::Set(_)) => runtime("set_len", vec![container], Type::Int),
            ("__contains__", Type::Dict(key_ty, _)) | ("__contains__", Type::Set(key_ty)) => {
                let key_ty = (**key_ty).clone();
                let function = if matches!(container.ty, Type::Dict(..)) {
                    "dict_contains"
                } else {
                    "set_contains"
                };
                let (key, function) =
                    self.searched_key(cx, &key_ty, args[0].clone(), function, span)?;
                runtime(function, vec![key, container], Type::Bool)
            }
            ("__iter_source__" | "list" | "sorted" | "min" | "max" | "sum" | "any" | "all", _) => {
                // Iterating a dict or set: its keys (elements) as a list.
                let list = self.as_sequence(container)?;
                if name == "__iter_source__" || name == "list" {
                    return Some(Some(list));
                }
                let item = match &list.ty {
                    Type::List(item) => (**item).clone(),
                    _ => return Some(None),
                };
                if name == "sorted" {
                    if !orderable(&item) {
                        return Some(None);
                    }
                    let ty = list.ty.clone();
                    return Some(Some(runtime(
                        "list_sorted",
                        vec![list, typed::Expr::bool(false)],
                        ty,
                    )));
                }
                return self.list_builtin(cx, name, &[list], span);
            }
            _ => return None,
        };
        Some(Some(result))
    }

    /// The keys of a dict or the elements of a set, as a new list.
    fn as_sequence(&mut self, container: Expr) -> Option<Expr> {
        match container.ty.clone() {
            Type::Dict(key, _) => Some(runtime("dict_keys", vec![container], Type::List(key))),
            Type::Set(item) => Some(runtime("set_to_list", vec![container], Type::List(item))),
            _ => Some(container),
        }
    }

    /// `a | b`, `a & b`, `a - b`, `a ^ b` of sets; `None` when the operands
    /// are not sets.
    pub(super) fn set_binary(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        if !matches!(left.ty, Type::Set(_)) && !matches!(right.ty, Type::Set(_)) {
            return None;
        }
        let function = match op {
            BinaryOp::BitOr => "set_union",
            BinaryOp::BitAnd => "set_intersection",
            BinaryOp::Sub => "set_difference",
            BinaryOp::BitXor => "set_symmetric_difference",
            _ => "",
        };
        let (left, right) = &super::settle_unknown_operand(left, right);
        if function.is_empty() || left.ty != right.ty {
            let hint = "sets of one element type support |, &, - and ^";
            self.operand_error(cx, op, left, right, span, hint);
            return Some(None);
        }
        let ty = left.ty.clone();
        Some(Some(runtime(
            function,
            vec![left.clone(), right.clone()],
            ty,
        )))
    }

    /// `a | b` of dicts: a new dict with `a`'s pairs, then `b`'s (a key of
    /// both keeps its place in `a` and takes `b`'s value); `None` when the
    /// operands are not dicts.
    pub(super) fn dict_binary(
        &mut self,
        cx: &mut Cx,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Option<Option<Expr>> {
        if !matches!(left.ty, Type::Dict(..)) && !matches!(right.ty, Type::Dict(..)) {
            return None;
        }
        let (left, right) = &super::settle_unknown_operand(left, right);
        if op != BinaryOp::BitOr || left.ty != right.ty {
            let hint = "dicts of one key and value type support | (a merged copy)";
            self.operand_error(cx, op, left, right, span, hint);
            return Some(None);
        }
        let ty = left.ty.clone();
        Some(Some(runtime(
            "dict_union",
            vec![left.clone(), right.clone()],
            ty,
        )))
    }
}
