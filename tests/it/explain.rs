//! `ferropy explain`: the report of inferred types and per-loop decisions.

use std::path::Path;

use ferropy::diagnostics::SourceFile;

fn explain(relative: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(relative)).expect("fixture exists");
    let file = SourceFile {
        path: relative.to_string(),
        text,
    };
    ferropy::explain(&file).unwrap_or_else(|d| panic!("{relative} should compile: {d:?}"))
}

#[test]
fn explain_reports_types_loops_and_slow_call_sites() {
    let report = explain("fixtures/runnable/integrate.py");
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("explain__integrate", report);
    });
    // The widened accumulator and the cost of calling a function argument.
    assert!(report.contains("acc: float"), "{report}");
    assert!(report.contains("takes the GIL on every call"), "{report}");
}

#[test]
fn explain_reports_each_parallel_loop_and_why_others_are_serial() {
    let report = explain("fixtures/runnable/parallel_loops.py");
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("explain__parallel_loops", report);
    });
    assert!(
        report.contains("reductions `s` (sum, float: summed in a different order"),
        "{report}"
    );
    assert!(
        report.contains("prange loop: nested in a parallel loop"),
        "{report}"
    );
    // A plain loop, proven independent and unable to raise, runs in
    // parallel by itself; the kernels of the corpus show both outcomes.
    let linalg = explain("fixtures/kernels/dense_linalg.py");
    assert!(linalg.contains("loop: parallel by itself"), "{linalg}");
    assert!(
        linalg.contains("is a sum reduction, whose result depends on the order"),
        "{linalg}"
    );
}

#[test]
fn explain_names_the_lists_of_lists_read_as_one_block() {
    let report = explain("fixtures/runnable/read_only_rows.py");
    let line_of = |function: &str| section(&report, function);
    // Only read: one block, also through comprehension helpers.
    assert!(
        line_of("bfs").contains("rows read as one block (only read, no list per row): adj"),
        "{report}"
    );
    assert!(
        line_of("row_means").contains("rows read as one block"),
        "{report}"
    );
    // Changed, or with another list of lists changed: lists.
    assert!(!line_of("changes_a_row").contains("one block"), "{report}");
    assert!(
        !line_of("one_changes_the_other").contains("one block"),
        "{report}"
    );
}

#[test]
fn explain_names_the_sets_kept_without_order() {
    let report = explain("fixtures/runnable/unordered_sets.py");
    let section = |function: &str| section(&report, function);
    assert!(
        section("first_repeats").contains("no Python order): seen"),
        "{report}"
    );
    // Iterated or returned: the set keeps CPython's order.
    assert!(!section("iterated").contains("no Python order"), "{report}");
    assert!(!section("returned").contains("no Python order"), "{report}");
}

/// The part of an `explain` report about the exported function `function`,
/// up to the next exported one.
fn section(report: &str, function: &str) -> String {
    let start = report
        .find(&format!("exported {function}("))
        .unwrap_or_else(|| panic!("{function} missing:\n{report}"));
    let rest = &report[start..];
    let end = rest[1..].find("\nexported ").map_or(rest.len(), |e| e + 1);
    rest[..end].to_string()
}

#[test]
fn explain_names_what_parallel_loops_do_with_containers() {
    let report = explain("fixtures/runnable/parallel_lists.py");
    let of = |function: &str| section(&report, function);
    let bins = of("bins");
    for part in [
        "reads the lists `edges`, `xs`",
        "counts into `counts`",
        "an attempt that keeps nothing",
    ] {
        assert!(bins.contains(part), "{part}: {report}");
    }
    assert!(of("tripled_evens").contains("appends to `out`"), "{report}");
    assert!(
        of("word_counts").contains("counts into the dicts `counts`"),
        "{report}"
    );
    // Terms that may be negative, a container read in the loop, a list
    // changed in it: serial, with the reason.
    assert!(
        of("weighted_counts").contains("terms that may be negative"),
        "{report}"
    );
    assert!(
        of("capped_bins").contains("uses `counts`, a container"),
        "{report}"
    );
    assert!(
        of("changed_in_loop").contains("uses `ks`, a container"),
        "{report}"
    );
    // A loop that stores into an array and may raise stays serial.
    let attempts = explain("fixtures/runnable/parallel_attempts.py");
    assert!(
        section(&attempts, "stores_and_raises").contains("may raise, and then the arrays"),
        "{attempts}"
    );
    assert!(
        section(&attempts, "may_not_end").contains("a `while` loop"),
        "{attempts}"
    );
}
