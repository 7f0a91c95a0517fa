//! The supported functions of `math` and NumPy as data: one entry per
//! function saying how it is typed and how it lowers, so that supporting
//! another function is one entry (and a test), not a match arm in each
//! stage. Inference reads these tables; codegen reads the lowering they name.

pub mod math;
pub mod numpy;

/// The candidate closest to `name` by edit distance, if close enough to be
/// a likely typo (for "did you mean" hints).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_finds_typos_only() {
        let names = ["sqrt", "sum", "argmax", "cumsum"];
        assert_eq!(super::nearest("sqr", names), Some("sqrt"));
        assert_eq!(super::nearest("argmx", names), Some("argmax"));
        assert_eq!(super::nearest("fft", names), None);
    }
}
