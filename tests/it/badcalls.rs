//! End-to-end tests of bad calls at run time and of `docs/semantics.md`.
//!
//! `bad_calls_are_python_exceptions` builds `fixtures/runnable/bad_calls.py`
//! and `fixtures/runnable/bad_calls_recursion.py` and runs
//! `tests/harness/badcalls.py`: a matrix of wrong inputs (types, dtypes,
//! ranks, None, arguments, layouts, aliasing, read-only arrays, indices, zero
//! divisors, math domain errors, recursion, overflow), each of which must be
//! a Python exception of the right type with a clear message, or the right
//! result. The matrix is printed, and must equal the one in
//! `docs/semantics.md`.
//!
//! `semantics_doc_examples_hold` compiles the `python` blocks of
//! `docs/semantics.md` and runs its `pycon` sessions with
//! `tests/harness/doc_examples.py`.
//!
//! Like the tests in `e2e.rs`, they need cargo and a Python with NumPy
//! (`FERROPY_PYTHON`, else `python3`), and run only when `FERROPY_E2E=1`.

use crate::support::{
    build_modules, describe, end_to_end_enabled, harness_script, python_command,
    python_interpreter, repository_root, run,
};

/// How a failed build of this module's sources is named in the report.
const BUILD_COMMAND_LINE: &str = "ferropy build -q <sources> -o OUT --python PY";

#[test]
fn bad_calls_are_python_exceptions() {
    if !end_to_end_enabled("bad_calls_are_python_exceptions") {
        return;
    }
    let python = python_interpreter();
    let out = tempfile::tempdir().expect("temporary directory");
    let fixtures = repository_root().join("fixtures/runnable");
    build_modules(
        &[
            fixtures.join("bad_calls.py"),
            fixtures.join("bad_calls_recursion.py"),
        ],
        out.path(),
        &python,
        BUILD_COMMAND_LINE,
    );

    let matrix = run(python_command(&python)
        .arg(harness_script("badcalls.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .arg("--doc")
        .arg(repository_root().join("docs/semantics.md")));
    let report = describe(
        "tests/harness/badcalls.py --compiled-dir OUT --doc docs/semantics.md",
        &matrix,
    );
    println!("{report}");
    assert!(
        matrix.status.success(),
        "a bad call did not raise the expected exception, or docs/semantics.md is stale\n{report}"
    );
}

#[test]
fn semantics_doc_examples_hold() {
    if !end_to_end_enabled("semantics_doc_examples_hold") {
        return;
    }
    let python = python_interpreter();
    let page = repository_root().join("docs/semantics.md");
    let dir = tempfile::tempdir().expect("temporary directory");
    let source_dir = dir.path().join("src");
    let out = dir.path().join("out");

    let extract = run(python_command(&python)
        .arg(harness_script("doc_examples.py"))
        .arg("--extract")
        .arg(&source_dir)
        .arg(&page));
    assert!(
        extract.status.success(),
        "{}",
        describe(
            "tests/harness/doc_examples.py --extract SRC docs/semantics.md",
            &extract
        )
    );
    build_modules(
        &[source_dir.join("semantics_doc.py")],
        &out,
        &python,
        BUILD_COMMAND_LINE,
    );

    let check = run(python_command(&python)
        .arg(harness_script("doc_examples.py"))
        .arg("--compiled-dir")
        .arg(&out)
        .arg(&page));
    let report = describe(
        "tests/harness/doc_examples.py --compiled-dir OUT docs/semantics.md",
        &check,
    );
    println!("{report}");
    assert!(
        check.status.success(),
        "an example in docs/semantics.md does not hold\n{report}"
    );
}
