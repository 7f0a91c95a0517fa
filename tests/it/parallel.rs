//! End-to-end test of the integrator in `examples/integrate`: the compiled
//! `integrate` split into chunks on threads, on a `multiprocessing` pool and
//! with joblib must compute what CPython computes, chunk by chunk.
//!
//! It builds `integrate.py` and `integrands.py` (the second module supplies a
//! compiled integrand, called across modules through its native entry point)
//! with the `ferropy` binary, runs `tests/harness/diff.py` on their `#run:`
//! lines, then `tests/harness/parallel_integrate.py`, which also checks that
//! worker processes import the compiled modules and that the compiled call
//! releases the GIL.
//!
//! Like `e2e.rs` it needs cargo and a Python with NumPy and joblib
//! (`FERROPY_PYTHON`; `scripts/setup` installs both), so it runs only when
//! `FERROPY_E2E=1`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

fn end_to_end_enabled(test_name: &str) -> bool {
    if std::env::var("FERROPY_E2E").as_deref() == Ok("1") {
        return true;
    }
    let notice = format!(
        "note: end-to-end test `{test_name}` skipped: it builds extension modules with cargo \
         and runs them under Python, so it runs only with FERROPY_E2E=1 \
         (scripts/test and .ci/run set it)\n"
    );
    // Past the test harness's output capture, so the skip is never silent.
    let _ = std::io::stderr().write_all(notice.as_bytes());
    false
}

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python_interpreter() -> String {
    std::env::var("FERROPY_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn python_command(python: &str) -> Command {
    let mut command = Command::new(python);
    command
        .current_dir(repository_root())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("could not run {command:?}: {error}"))
}

fn describe(command_line: &str, output: &Output) -> String {
    format!(
        "`{command_line}` exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn integrate_on_threads_and_processes_matches_cpython() {
    if !end_to_end_enabled("integrate_on_threads_and_processes_matches_cpython") {
        return;
    }
    let python = python_interpreter();
    let probe = run(python_command(&python).args(["-c", "import numpy, joblib"]));
    assert!(
        probe.status.success(),
        "the Python interpreter `{python}` cannot import numpy and joblib; run scripts/setup \
         and set FERROPY_PYTHON=$PWD/.venv/bin/python (a .venv made before scripts/setup \
         installed joblib needs `.venv/bin/python -m pip install joblib==1.6.0`)\n{}",
        describe(&format!("{python} -c 'import numpy, joblib'"), &probe)
    );

    let example = repository_root().join("examples/integrate");
    let sources = [example.join("integrate.py"), example.join("integrands.py")];
    let out = tempfile::tempdir().expect("temporary directory");
    let build = run(Command::new(env!("CARGO_BIN_EXE_ferropy"))
        .current_dir(repository_root())
        .arg("build")
        .arg("-q")
        .args(&sources)
        .arg("-o")
        .arg(out.path())
        .arg("--python")
        .arg(&python));
    assert!(
        build.status.success(),
        "{}",
        describe(
            "ferropy build -q examples/integrate/{integrate,integrands}.py -o OUT --python PY",
            &build
        )
    );

    let harness = repository_root().join("tests/harness");
    let diff = run(python_command(&python)
        .arg(harness.join("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(&sources));
    let diff_report = describe(
        "tests/harness/diff.py --compiled-dir OUT examples/integrate/{integrate,integrands}.py",
        &diff,
    );
    println!("{diff_report}");

    let parallel = run(python_command(&python)
        .arg(harness.join("parallel_integrate.py"))
        .arg("--compiled-dir")
        .arg(out.path()));
    let parallel_report = describe(
        "tests/harness/parallel_integrate.py --compiled-dir OUT",
        &parallel,
    );
    println!("{parallel_report}");

    assert!(
        diff.status.success() && parallel.status.success(),
        "the compiled integrator differs from CPython\n{diff_report}\n{parallel_report}"
    );
}
