//! The `.pyi` stubs are right for a type checker: mypy (`--strict`, from
//! the project environment) accepts the stub of every corpus file, accepts
//! a caller that uses a stub as the compiled functions allow
//! (`tests/it/stubs/good_caller.py`), and flags each misuse in
//! `tests/it/stubs/bad_caller.py` with the expected error. Without a type
//! checker: overloads whose parameters read the same are one signature
//! (`tests/it/stubs/overloads.py`), and scalar results are annotated as
//! the Python numbers the compiled functions return (checked by calling
//! them).
//!
//! The stubs come from `ferropy emit --crate` (no cargo build); mypy comes
//! from the project environment (scripts/setup), so these run only with
//! `FERROPY_E2E=1`.

use std::path::{Path, PathBuf};

use crate::support::{
    build_modules, describe, end_to_end_enabled, end_to_end_enabled_because, ferropy,
    python_command, python_files_under, python_interpreter, repository_root, run, stdout_of,
};

const REASON: &str = "it runs mypy from the project environment (scripts/setup)";

/// Writes the stub of `source` into `out` through `emit --crate` and
/// returns its path.
fn stub_of(source: &Path, scratch: &Path, out: &Path) -> PathBuf {
    let module = source.file_stem().expect("file stem").to_string_lossy();
    let crate_dir = scratch.join(format!("crate_{module}"));
    let emitted = run(ferropy()
        .arg("emit")
        .arg(source)
        .arg("--crate")
        .arg(&crate_dir));
    assert!(
        emitted.status.success(),
        "{}",
        describe(
            &format!("ferropy emit {} --crate", source.display()),
            &emitted
        )
    );
    let stub = out.join(format!("{module}.pyi"));
    std::fs::copy(crate_dir.join(format!("{module}.pyi")), &stub).expect("copy the stub");
    stub
}

/// `python -m mypy --strict <files>` in `dir`.
fn mypy(dir: &Path, files: &[&str]) -> std::process::Output {
    run(python_command(&python_interpreter())
        .current_dir(dir)
        .args([
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
        ])
        .arg(dir.join(".mypy_cache"))
        .args(files))
}

#[test]
fn mypy_accepts_correct_callers_and_flags_misuse() {
    if !end_to_end_enabled_because("mypy_accepts_correct_callers_and_flags_misuse", REASON) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let checked = dir.path().join("checked");
    std::fs::create_dir_all(&checked).expect("create directory");
    let cases = repository_root().join("tests/it/stubs");
    stub_of(&cases.join("kernels.py"), dir.path(), &checked);
    stub_of(&cases.join("overloads.py"), dir.path(), &checked);
    for caller in ["good_caller.py", "bad_caller.py"] {
        std::fs::copy(cases.join(caller), checked.join(caller)).expect("copy the caller");
    }

    let good = mypy(
        &checked,
        &["kernels.pyi", "overloads.pyi", "good_caller.py"],
    );
    assert!(
        good.status.success() && stdout_of(&good).trim().is_empty(),
        "{}",
        describe("mypy --strict kernels.pyi good_caller.py", &good)
    );

    let bad = mypy(&checked, &["bad_caller.py"]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        describe("mypy --strict bad_caller.py", &bad)
    );
    let report = stdout_of(&bad);
    // (line, error code): a str for an int, a missing argument, a
    // keyword-only parameter passed by position, an int result assigned
    // to a str, a callable of the wrong signature, a missing function, a
    // tuple unpacked into three, an array for an np.float32 with an
    // unknown keyword; a float result taken for an np.float32, and a str
    // where no overload takes one. (NumPy's own annotations let mypy
    // accept an array of any numeric dtype for `NDArray[np.float64]`, so
    // a wrong dtype is left to the run-time check.)
    let expected = [
        (8, "arg-type"),
        (9, "call-arg"),
        (10, "call-arg"),
        (11, "assignment"),
        (12, "arg-type"),
        (13, "attr-defined"),
        (14, "misc"),
        (15, "call-arg"),
        (15, "arg-type"),
        (19, "assignment"),
        (20, "call-overload"),
    ];
    for (line, code) in expected {
        let prefix = format!("bad_caller.py:{line}: error:");
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&prefix) && l.ends_with(&format!("[{code}]"))),
            "mypy did not flag line {line} with [{code}]:\n{report}"
        );
    }
    let errors = report.lines().filter(|l| l.contains(": error:")).count();
    assert_eq!(errors, expected.len(), "unexpected errors:\n{report}");
}

#[test]
fn every_corpus_stub_type_checks() {
    if !end_to_end_enabled_because("every_corpus_stub_type_checks", REASON) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let stubs = dir.path().join("stubs");
    std::fs::create_dir_all(&stubs).expect("create directory");
    let mut sources = Vec::new();
    python_files_under(&repository_root().join("fixtures/kernels"), &mut sources);
    python_files_under(&repository_root().join("fixtures/runnable"), &mut sources);
    sources.sort();
    assert!(sources.len() > 10, "{sources:?}");
    let mut names = Vec::new();
    for source in &sources {
        let stub = stub_of(source, dir.path(), &stubs);
        names.push(
            stub.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
        );
    }
    let files: Vec<&str> = names.iter().map(String::as_str).collect();
    let checked = mypy(&stubs, &files);
    assert!(
        checked.status.success(),
        "{}",
        describe("mypy --strict <every corpus stub>", &checked)
    );
}

/// The stub of `tests/it/stubs/overloads.py`, from the library.
fn overloads_stub() -> String {
    let path = repository_root().join("tests/it/stubs/overloads.py");
    let text = std::fs::read_to_string(&path).expect("read overloads.py");
    let file = ferropy::diagnostics::SourceFile {
        path: "overloads.py".to_string(),
        text,
    };
    ferropy::compile(&file, "overloads")
        .unwrap_or_else(|found| panic!("overloads.py should compile: {found:?}"))
        .pyi
}

#[test]
fn overloads_with_the_same_parameters_are_one_signature_and_results_are_python_numbers() {
    let stub = overloads_stub();
    let defs: Vec<&str> = stub
        .lines()
        .filter(|line| line.starts_with("def "))
        .collect();
    assert_eq!(
        defs[..6],
        [
            "def first(a: npt.NDArray[np.float64]) -> float | npt.NDArray[np.float64]: ...",
            "def first(a: npt.NDArray[np.int32]) -> int: ...",
            "def total(a: npt.NDArray[np.float64]) -> float: ...",
            "def total(a: npt.NDArray[np.uint8]) -> int: ...",
            "def half(x: np.float32) -> float: ...",
            "def halves(x: np.float32) -> tuple[float, int]: ...",
        ],
        "{stub}"
    );
    assert_eq!(stub.matches("@overload\n").count(), 4, "{stub}");
}

/// What the compiled functions of overloads.py return has the types its
/// stub says.
#[test]
fn stub_results_are_what_compiled_functions_return() {
    if !end_to_end_enabled("stub_results_are_what_compiled_functions_return") {
        return;
    }
    let python = python_interpreter();
    let out = tempfile::tempdir().expect("temporary directory");
    build_modules(
        &[repository_root().join("tests/it/stubs/overloads.py")],
        out.path(),
        &python,
        "ferropy build -q tests/it/stubs/overloads.py -o OUT --python PY",
    );
    let checked = run(python_command(&python).current_dir(out.path()).args([
        "-c",
        r#"
import numpy as np
import overloads as o

def check(value, expected):
    assert type(value) is expected, (value, expected)

check(o.first(np.ones(3)), float)
check(o.first(np.ones((2, 3))), np.ndarray)
check(o.first(np.ones(3, dtype=np.int32)), int)
check(o.total(np.ones(3)), float)
check(o.total(np.ones((2, 3))), float)
check(o.total(np.ones(3, dtype=np.uint8)), int)
check(o.half(np.float32(3.0)), float)
pair = o.halves(np.float32(3.0))
check(pair, tuple); check(pair[0], float); check(pair[1], int)
print("ok")
"#,
    ]));
    assert!(
        checked.status.success() && stdout_of(&checked).contains("ok"),
        "{}",
        describe("the results of overloads.py against its stub", &checked)
    );
}
