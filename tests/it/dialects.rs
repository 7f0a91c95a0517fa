//! Files written for Numba, `numba.pycc`, Pythran and Cython's pure-Python
//! mode compile unchanged, and behave as the interpreter does.
//!
//! `fixtures/dialects/*.py` import the real packages (the test venv of
//! `scripts/setup` installs numba and cython), so each runs under CPython
//! as written. The oracle is the interpreter, not Numba: `diff.py` runs with
//! `NUMBA_DISABLE_JIT=1`, which makes `@njit` return the Python function.
//! Cython's pure-Python mode runs as plain Python by itself.

use std::path::{Path, PathBuf};

use crate::support::{
    build_modules, describe, end_to_end_enabled, ferropy, harness_script, python_command,
    python_interpreter, repository_root, run,
};

fn dialect_fixtures() -> Vec<PathBuf> {
    let dir = repository_root().join("fixtures/dialects");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "py"))
        .collect();
    files.sort();
    files
}

/// Fails early, with the fix, when the interpreter lacks the dialects'
/// packages: the reference side of every case would fail to import.
fn require_dialect_packages(python: &str) {
    let output = run(python_command(python).args(["-c", "import numpy, numba, cython"]));
    assert!(
        output.status.success(),
        "the Python interpreter `{python}` cannot import numba and cython; run scripts/setup \
         and set FERROPY_PYTHON=$PWD/.venv/bin/python\n{}",
        describe(
            &format!("{python} -c 'import numpy, numba, cython'"),
            &output
        )
    );
}

#[test]
fn dialect_fixtures_match_the_interpreter() {
    if !end_to_end_enabled("dialect_fixtures_match_the_interpreter") {
        return;
    }
    let python = python_interpreter();
    require_dialect_packages(&python);
    let sources = dialect_fixtures();
    let out = tempfile::tempdir().expect("temporary directory");
    build_modules(
        &sources,
        out.path(),
        &python,
        "ferropy build -q fixtures/dialects/*.py -o OUT --python PY",
    );
    let diff = run(python_command(&python)
        .env("NUMBA_DISABLE_JIT", "1")
        .arg(harness_script("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(&sources));
    let report = describe(
        "NUMBA_DISABLE_JIT=1 tests/harness/diff.py --compiled-dir OUT fixtures/dialects/*.py",
        &diff,
    );
    println!("{report}");
    assert!(
        diff.status.success(),
        "compiled dialect modules differ from CPython\n{report}"
    );
}

/// `CC("name")` names the built module, and `cc.export("alias", ...)` of a
/// function exports it under that name, each with its own signature.
#[test]
fn a_pycc_module_takes_its_name_and_export_names() {
    if !end_to_end_enabled("a_pycc_module_takes_its_name_and_export_names") {
        return;
    }
    let python = python_interpreter();
    require_dialect_packages(&python);
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("pycc_source.py");
    std::fs::write(
        &source,
        "from numba.pycc import CC\n\
         \n\
         cc = CC(\"renamed_kernels\")\n\
         \n\
         \n\
         @cc.export(\"mult_f\", \"f8(f8, f8)\")\n\
         @cc.export(\"mult_i\", \"i8(i8, i8)\")\n\
         def mult(a, b):\n    \
             return a * b\n\
         \n\
         \n\
         if __name__ == \"__main__\":\n    \
             cc.compile()\n",
    )
    .expect("write pycc_source.py");
    let out = dir.path().join("out");
    build_modules(
        &[source],
        &out,
        &python,
        "ferropy build -q pycc_source.py -o OUT --python PY",
    );
    let called = run(python_command(&python).current_dir(&out).args([
        "-c",
        "import renamed_kernels as m\n\
         print(m.mult_f(1.5, 4), m.mult_i(6, 7), hasattr(m, 'mult'))",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&called.stdout).trim(),
        "6.0 42 False",
        "{}",
        describe("import renamed_kernels", &called)
    );
}

/// A file that exports nothing is an error, and `build` writes no module
/// (which would hide the `.py` file and fail every call).
#[test]
fn a_file_that_exports_nothing_is_not_built() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("lazy.py");
    std::fs::write(
        &source,
        "from numba import njit\n\n\n@njit\ndef total(a):\n    return a.sum()\n",
    )
    .expect("write lazy.py");
    let out = dir.path().join("out");
    let build = run(ferropy()
        .arg("build")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .env("NO_COLOR", "1"));
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert_eq!(build.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[FP0206]"), "{stderr}");
    assert!(!Path::new(&out).exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    let check = run(ferropy().arg("check").arg(&source).env("NO_COLOR", "1"));
    assert_eq!(check.status.code(), Some(1));
    let check_stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check_stderr.contains("error[FP0206]"), "{check_stderr}");
}

/// `explain` says what ferropy does instead of the directives it accepts.
#[test]
fn explain_says_what_accepted_directives_mean() {
    let file = ferropy::diagnostics::SourceFile {
        path: "kernels.py".to_string(),
        text: "import cython\n\
               from numba import njit, prange\n\
               \n\
               \n\
               @cython.cdivision(True)\n\
               @cython.boundscheck(False)\n\
               def halves(n: cython.long) -> cython.long:\n    \
                   return n // 2\n\
               \n\
               \n\
               @njit(\"f8(f8[:])\")\n\
               def total(a):\n    \
                   s = 0.0\n    \
                   for i in prange(a.shape[0]):\n        \
                       s += a[i]\n    \
                   return s\n"
            .to_string(),
    };
    let report = ferropy::explain(&file).unwrap_or_else(|found| {
        panic!(
            "{}",
            ferropy::diagnostics::render(&file, &found, ferropy::diagnostics::Color::Never)
        )
    });
    for expected in [
        "line 5: @cython.cdivision(True) accepted: `/`, `//` and `%` keep Python semantics",
        "line 6: @cython.boundscheck(False) accepted: indexing stays checked",
        "line 14: prange runs as range: the Numba decorator has no parallel=True",
    ] {
        assert!(report.contains(expected), "no `{expected}` in:\n{report}");
    }
}
