//! Affine integer forms: `2*i - j + len(a) - 1` as a map from atoms to
//! coefficients plus a constant, the language the range facts are stated in.
//!
//! Forms are built only from values that cannot change while a fact about
//! them is in use (see `bounds.rs`), and their size is capped so that every
//! value a form can denote fits in an `i64` with room to spare: compiled int
//! arithmetic wraps modulo 2**64, and wrapping addition and multiplication
//! agree with exact arithmetic modulo 2**64, so a form's value computed by
//! the generated code equals its exact value whenever the exact value fits.

use std::collections::BTreeMap;
use std::fmt;

/// The largest array dimension the runtime accepts (`rt::MAX_DIMENSION`):
/// a form over dimensions stays far from `i64` overflow.
pub const MAX_DIMENSION: i64 = 1 << 48;
/// Caps on forms: |coefficient| ≤ 2**8, |constant| ≤ 2**40, at most eight
/// terms. With dimensions ≤ 2**48 every form's value is below 2**60.
const MAX_COEFFICIENT: i64 = 1 << 8;
const MAX_CONSTANT: i64 = 1 << 40;
const MAX_TERMS: usize = 8;

/// A value a form may mention.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    /// `a.shape[axis]` of an array variable bound to one array for the
    /// whole function. Always in `0..=MAX_DIMENSION`.
    Dim(String, usize),
    /// The variable of an enclosing `for ... in range(...)` loop.
    LoopVar(String),
    /// The start (`side` 0) or stop (`side` 1) of the range loop at address
    /// `loop_key`, as evaluated when the loop starts (`text`: as written),
    /// when it is no form of its own (`range(indptr[i], indptr[i + 1])`).
    /// Any `i64`: a form mentioning one is evaluated in `i128`.
    Bound {
        loop_key: usize,
        side: u8,
        text: String,
    },
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Dim(array, 0) => write!(f, "len({array})"),
            Atom::Dim(array, axis) => write!(f, "{array}.shape[{axis}]"),
            Atom::LoopVar(name) => f.write_str(name),
            Atom::Bound { text, .. } => f.write_str(text),
        }
    }
}

/// `constant + Σ coefficient·atom`, with no zero coefficients stored.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Linear {
    pub terms: BTreeMap<Atom, i64>,
    pub constant: i64,
}

impl Linear {
    pub fn constant(value: i64) -> Option<Linear> {
        Linear {
            terms: BTreeMap::new(),
            constant: value,
        }
        .capped()
    }

    pub fn atom(atom: Atom) -> Linear {
        Linear {
            terms: BTreeMap::from([(atom, 1)]),
            constant: 0,
        }
    }

    /// `self + factor·other`, or `None` past the caps.
    pub fn add_scaled(&self, other: &Linear, factor: i64) -> Option<Linear> {
        let mut sum = self.clone();
        sum.constant = sum
            .constant
            .checked_add(other.constant.checked_mul(factor)?)?;
        for (atom, coefficient) in &other.terms {
            let scaled = coefficient.checked_mul(factor)?;
            let entry = sum.terms.entry(atom.clone()).or_insert(0);
            *entry = entry.checked_add(scaled)?;
            if *entry == 0 {
                sum.terms.remove(atom);
            }
        }
        sum.capped()
    }

    pub fn scaled(&self, factor: i64) -> Option<Linear> {
        Linear::default().add_scaled(self, factor)
    }

    fn capped(self) -> Option<Linear> {
        let small = self.constant.abs() <= MAX_CONSTANT
            && self.terms.len() <= MAX_TERMS
            && self.terms.values().all(|c| c.abs() <= MAX_COEFFICIENT);
        small.then_some(self)
    }

    /// Whether the form is ≥ 0 for every value of its atoms: only
    /// dimensions (never negative) with non-negative coefficients, and a
    /// non-negative constant.
    pub fn provably_non_negative(&self) -> bool {
        self.constant >= 0
            && self
                .terms
                .iter()
                .all(|(atom, c)| matches!(atom, Atom::Dim(..)) && *c >= 0)
    }

    /// Whether the form is ≤ 0 for every value of its atoms.
    pub fn provably_non_positive(&self) -> bool {
        self.scaled(-1)
            .is_some_and(|negated| negated.provably_non_negative())
    }

    /// `self <= 0` as `left <= right` with every coefficient positive: the
    /// terms and constant of each side, as (atom, magnitude) and magnitude.
    pub fn sides(&self) -> [(Vec<(&Atom, i64)>, i64); 2] {
        [1, -1].map(|sign| {
            let terms = self
                .terms
                .iter()
                .filter(|(_, c)| c.signum() == sign)
                .map(|(atom, c)| (atom, c.abs()))
                .collect();
            let constant = if self.constant.signum() == sign {
                self.constant.abs()
            } else {
                0
            };
            (terms, constant)
        })
    }

    /// `self <= 0` in Python syntax: `a.shape[1] <= len(b)`.
    pub fn as_inequality(&self) -> String {
        let [left, right] = self.sides().map(|(terms, constant)| {
            let mut parts: Vec<String> = terms
                .iter()
                .map(|(atom, m)| {
                    if *m == 1 {
                        atom.to_string()
                    } else {
                        format!("{m}*{atom}")
                    }
                })
                .collect();
            if constant != 0 || parts.is_empty() {
                parts.push(constant.to_string());
            }
            parts.join(" + ")
        });
        format!("{left} <= {right}")
    }

    pub fn mentions_loop_var(&self) -> bool {
        self.terms.keys().any(|a| matches!(a, Atom::LoopVar(_)))
    }

    /// The loop whose bounds the form mentions (see `Atom::Bound`).
    pub fn bound_loops(&self) -> impl Iterator<Item = usize> + '_ {
        self.terms.keys().filter_map(|a| match a {
            Atom::Bound { loop_key, .. } => Some(*loop_key),
            _ => None,
        })
    }
}

impl fmt::Display for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (atom, coefficient) in &self.terms {
            let magnitude = coefficient.abs();
            let sign = if *coefficient < 0 { "-" } else { "+" };
            match (first, sign) {
                (true, "-") => f.write_str("-")?,
                (true, _) => {}
                (false, sign) => write!(f, " {sign} ")?,
            }
            if magnitude != 1 {
                write!(f, "{magnitude}*")?;
            }
            write!(f, "{atom}")?;
            first = false;
        }
        if first {
            write!(f, "{}", self.constant)
        } else if self.constant > 0 {
            write!(f, " + {}", self.constant)
        } else if self.constant < 0 {
            write!(f, " - {}", -self.constant)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &str) -> Linear {
        Linear::atom(Atom::Dim(name.into(), 0))
    }

    #[test]
    fn sums_cancel_and_print_like_python() {
        let i = Linear::atom(Atom::LoopVar("i".into()));
        let form = i.add_scaled(&dim("a"), 1).unwrap();
        let form = form.add_scaled(&Linear::constant(-1).unwrap(), 1).unwrap();
        assert_eq!(form.to_string(), "len(a) + i - 1");
        let back = form.add_scaled(&i, -1).unwrap();
        assert_eq!(back.to_string(), "len(a) - 1");
        assert!(!back.provably_non_negative());
        assert!(back
            .add_scaled(&Linear::constant(1).unwrap(), 1)
            .unwrap()
            .provably_non_negative());
    }

    #[test]
    fn signs_are_proven_only_from_dimensions() {
        let loop_var = Linear::atom(Atom::LoopVar("i".into()));
        assert!(!loop_var.provably_non_negative());
        assert!(dim("a").scaled(-1).unwrap().provably_non_positive());
        assert!(!dim("a").provably_non_positive());
    }

    #[test]
    fn large_forms_are_refused() {
        assert!(Linear::constant(1 << 41).is_none());
        assert!(dim("a").scaled(1 << 9).is_none());
    }
}
