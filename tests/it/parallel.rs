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

use crate::support::{
    build_modules, describe, end_to_end_enabled, harness_script, python_command,
    python_interpreter, repository_root, run,
};

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
    build_modules(
        &sources,
        out.path(),
        &python,
        "ferropy build -q examples/integrate/{integrate,integrands}.py -o OUT --python PY",
    );

    let diff = run(python_command(&python)
        .arg(harness_script("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(&sources));
    let diff_report = describe(
        "tests/harness/diff.py --compiled-dir OUT examples/integrate/{integrate,integrands}.py",
        &diff,
    );
    println!("{diff_report}");

    let parallel = run(python_command(&python)
        .arg(harness_script("parallel_integrate.py"))
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
