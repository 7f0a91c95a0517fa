//! Facts that hold at one point of a function body because of the
//! statements before it: bounds of `int` locals (`b = int(f)` with `f >= 0`,
//! clamps such as `if b >= n: b = n - 1`, `min`/`max`, the tests around a
//! point) and comparisons between float variables (`v >= lo`). The bounds
//! analysis (`bounds.rs`) carries a [`Flow`] through each block in order and
//! turns the bounds into ranges its proofs use, as it does loop ranges.
//!
//! Every fact is about the current values of variables: assigning a
//! variable forgets the facts that mention it, a loop body starts without
//! the facts about what the loop assigns, and after an `if` only what holds
//! at the end of both branches remains (a branch that always leaves, by
//! `return`, `break`, `continue` or `raise`, does not reach the join).
//!
//! A join that cannot order two bounds keeps one of them under an
//! *assumption* over array dimensions only (`len(counts) >= 1`): the bound
//! holds when the assumption does, and the access using it becomes
//! "proven if", tested once before the loop like the other version tests.

use std::collections::{BTreeMap, HashSet};

use super::linear::{Atom, Linear};

/// Bounds of an `int` local: `lo <= value <= hi` when every assumption
/// (`form <= 0`, over dimensions) holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(super) struct Bounds {
    pub lo: Option<Linear>,
    pub hi: Option<Linear>,
    pub assumptions: Vec<Linear>,
}

impl Bounds {
    pub fn exactly(form: Linear) -> Bounds {
        Bounds {
            lo: Some(form.clone()),
            hi: Some(form),
            assumptions: Vec::new(),
        }
    }

    fn mentions(&self, names: &HashSet<&str>) -> bool {
        let mentions = |form: &Option<Linear>| {
            form.as_ref().is_some_and(|form| {
                form.terms
                    .keys()
                    .any(|atom| matches!(atom, Atom::LoopVar(v) if names.contains(v.as_str())))
            })
        };
        mentions(&self.lo) || mentions(&self.hi)
    }

    /// Bounds that hold for a value with either bounds.
    pub fn join(&self, other: &Bounds) -> Bounds {
        let mut assumptions = self.assumptions.clone();
        for a in &other.assumptions {
            if !assumptions.contains(a) {
                assumptions.push(a.clone());
            }
        }
        let lo = match (&self.lo, &other.lo) {
            (Some(a), Some(b)) => extreme_of(a, b, false, &mut assumptions),
            _ => None,
        };
        let hi = match (&self.hi, &other.hi) {
            (Some(a), Some(b)) => extreme_of(a, b, true, &mut assumptions),
            _ => None,
        };
        Bounds {
            lo,
            hi,
            assumptions,
        }
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.lo.is_none() && self.hi.is_none()
    }
}

/// A bound for `max(a, b)` (`largest`) or `min(a, b)`: the larger (smaller)
/// of the two where that is proven; otherwise, when the two differ only by
/// dimensions, one of them under the assumption that it is the larger
/// (smaller): for a lower bound the one with fewer terms (a constant such as
/// 0), for an upper bound the other.
pub(super) fn extreme_of(
    a: &Linear,
    b: &Linear,
    largest: bool,
    assumptions: &mut Vec<Linear>,
) -> Option<Linear> {
    let difference = a.add_scaled(b, -1)?;
    let (a_first, b_first) = if largest {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    };
    // For `largest`, `a - b >= 0` means `a`; for the smallest, `b`.
    if difference.provably_non_negative() {
        return Some(a_first);
    }
    if difference.provably_non_positive() {
        return Some(b_first);
    }
    if !difference
        .terms
        .keys()
        .all(|atom| matches!(atom, Atom::Dim(..)))
    {
        return None;
    }
    let fewer = |x: &Linear, y: &Linear| x.terms.len() <= y.terms.len();
    let (chosen, other) = match (largest, fewer(a, b)) {
        (false, true) | (true, false) => (a, b),
        (false, false) | (true, true) => (b, a),
    };
    // The assumption `chosen` is at most (least) `other`, as `form <= 0`.
    let assumption = if largest {
        other.add_scaled(chosen, -1)?
    } else {
        chosen.add_scaled(other, -1)?
    };
    if !assumptions.contains(&assumption) {
        assumptions.push(assumption);
    }
    Some(chosen.clone())
}

/// One side of a float comparison: a variable or a constant.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum FloatTerm {
    Var(String),
    Const(f64),
}

/// `left >= right` (or `left > right`), known to hold; neither side NaN.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FloatFact {
    pub left: FloatTerm,
    pub right: FloatTerm,
}

/// The facts at one point (see the module comment).
#[derive(Clone, Debug, Default)]
pub(super) struct Flow {
    /// Int locals and parameters with known bounds, by name.
    pub ints: BTreeMap<String, Bounds>,
    pub floats: Vec<FloatFact>,
}

impl Flow {
    /// The facts that survive assigning `names`.
    pub fn without<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Flow {
        let names: HashSet<&str> = names.into_iter().collect();
        if names.is_empty() {
            return self.clone();
        }
        let mentions =
            |term: &FloatTerm| matches!(term, FloatTerm::Var(v) if names.contains(v.as_str()));
        Flow {
            ints: self
                .ints
                .iter()
                .filter(|(name, bounds)| !names.contains(name.as_str()) && !bounds.mentions(&names))
                .map(|(name, bounds)| (name.clone(), bounds.clone()))
                .collect(),
            floats: self
                .floats
                .iter()
                .filter(|fact| !mentions(&fact.left) && !mentions(&fact.right))
                .cloned()
                .collect(),
        }
    }

    /// The facts that hold after either of two paths.
    pub fn join(&self, other: &Flow) -> Flow {
        let ints = self
            .ints
            .iter()
            .filter_map(|(name, bounds)| {
                let joined = bounds.join(other.ints.get(name)?);
                (!joined.is_empty()).then(|| (name.clone(), joined))
            })
            .collect();
        let floats = self
            .floats
            .iter()
            .filter(|fact| other.floats.contains(fact))
            .cloned()
            .collect();
        Flow { ints, floats }
    }

    /// Records that `var >= form` (`lower`) or `var <= form` holds, keeping
    /// a known bound that is proven tighter.
    pub fn narrow(&mut self, var: &str, form: Linear, lower: bool) {
        let bounds = self.ints.entry(var.to_string()).or_default();
        let side = if lower {
            &mut bounds.lo
        } else {
            &mut bounds.hi
        };
        let keep = side.as_ref().is_some_and(|old| {
            old.add_scaled(&form, -1).is_some_and(|d| {
                if lower {
                    d.provably_non_negative()
                } else {
                    d.provably_non_positive()
                }
            })
        });
        if !keep {
            *side = Some(form);
        }
    }

    /// Whether `left >= right` is known: directly, through one intermediate
    /// variable, or because both are the same variable. In that last case
    /// the variable may be NaN: callers ask only whether `left - right` is
    /// never below zero, which NaN satisfies.
    pub fn float_at_least(&self, left: &FloatTerm, right: &FloatTerm) -> bool {
        if left == right {
            return true;
        }
        if let (FloatTerm::Const(a), FloatTerm::Const(b)) = (left, right) {
            return a >= b;
        }
        let holds = |l: &FloatTerm, r: &FloatTerm| {
            self.floats.iter().any(|fact| {
                fact.left == *l
                    && (fact.right == *r
                        || matches!((&fact.right, r), (FloatTerm::Const(a), FloatTerm::Const(b)) if a >= b))
            })
        };
        if holds(left, right) {
            return true;
        }
        self.floats
            .iter()
            .filter(|fact| fact.left == *left)
            .any(|fact| holds(&fact.right, right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &str) -> Linear {
        Linear::atom(Atom::Dim(name.into(), 0))
    }

    fn constant(value: i64) -> Linear {
        Linear::constant(value).unwrap()
    }

    #[test]
    fn a_clamp_joins_under_an_assumption_on_the_length() {
        // then: b = len(c) - 1; else: 0 <= b <= len(c) - 1.
        let top = dim("c").add_scaled(&constant(-1), 1).unwrap();
        let then = Bounds::exactly(top.clone());
        let orelse = Bounds {
            lo: Some(constant(0)),
            hi: Some(top.clone()),
            assumptions: Vec::new(),
        };
        let joined = then.join(&orelse);
        assert_eq!(joined.lo, Some(constant(0)));
        assert_eq!(joined.hi, Some(top));
        let assumption = &joined.assumptions[0];
        assert_eq!(assumption.as_inequality(), "1 <= len(c)");
    }

    #[test]
    fn ordered_bounds_join_without_assumptions() {
        let joined = Bounds::exactly(constant(0)).join(&Bounds::exactly(constant(3)));
        assert_eq!(
            (joined.lo, joined.hi),
            (Some(constant(0)), Some(constant(3)))
        );
        assert!(joined.assumptions.is_empty());
    }

    #[test]
    fn forgetting_a_variable_drops_the_facts_that_mention_it() {
        let mut flow = Flow::default();
        flow.ints.insert(
            "j".into(),
            Bounds::exactly(Linear::atom(Atom::LoopVar("i".into()))),
        );
        flow.floats.push(FloatFact {
            left: FloatTerm::Var("v".into()),
            right: FloatTerm::Var("lo".into()),
        });
        assert!(flow.without(["i", "v"]).ints.is_empty());
        assert!(flow.without(["v"]).floats.is_empty());
        assert_eq!(flow.without(["x"]).ints.len(), 1);
    }

    #[test]
    fn float_comparisons_chain_through_one_variable() {
        let var = |n: &str| FloatTerm::Var(n.into());
        let mut flow = Flow::default();
        for (left, right) in [("v", "lo"), ("hi", "v")] {
            flow.floats.push(FloatFact {
                left: var(left),
                right: var(right),
            });
        }
        assert!(flow.float_at_least(&var("hi"), &var("lo")));
        assert!(!flow.float_at_least(&var("lo"), &var("hi")));
        assert!(flow.float_at_least(&var("v"), &var("v")));
    }
}
