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
