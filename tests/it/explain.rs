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
