//! End-to-end tests of the `ferropy` binary: build real extension modules and
//! check them against CPython, the oracle.
//!
//! The main test compiles the repository's own corpus, `fixtures/kernels/*.py`
//! and `fixtures/runnable/*.py`, into one directory, then runs
//! `tests/harness/diff.py` (every `#run:` case, compiled against interpreted)
//! and `tests/harness/grid.py` (Python's scalar arithmetic over a grid of
//! operands). An optional extra corpus in the same format (`FERROPY_KERNELS_DIR`,
//! else `../shared/kernels` beside the repository) runs the same way when it
//! exists; nothing requires it. The other tests cover the build cache,
//! native and `--portable` builds (cached apart), a crate written by
//! `emit --crate` building on its own, deterministic `emit`, `check`
//! diagnostics and the exit code for a missing interpreter.
//!
//! They need cargo, a Python with NumPy (`FERROPY_PYTHON`, else `python3`) and
//! minutes of compile time, so they run only when `FERROPY_E2E=1`;
//! `scripts/test` and `.ci/run` set it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::support::{
    build_modules, describe, end_to_end_enabled, ferropy, harness_script, kernels_dir, notice,
    python_command, python_interpreter, repository_root, run,
};

/// The `.py` files directly inside `dir`, sorted by name.
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension() == Some(OsStr::new("py")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .py files in {}", dir.display());
    files
}

/// The repository's own corpus: the kernels and the runnable fixtures. All
/// of them compile into one output directory, so their module names must be
/// distinct.
fn corpus_sources() -> Vec<PathBuf> {
    let mut sources = python_files(&repository_root().join("fixtures/kernels"));
    sources.extend(python_files(&repository_root().join("fixtures/runnable")));
    assert_distinct_module_names(&sources);
    sources
}

/// The optional extra corpus, or `None` (with a notice) when it is absent.
fn extra_corpus_sources(test_name: &str) -> Option<Vec<PathBuf>> {
    let dir = kernels_dir();
    if !dir.is_dir() {
        notice(&format!(
            "note: `{test_name}`: no extra kernel corpus at {}, so only the repository's \
             own corpus (fixtures/kernels, fixtures/runnable) is used; set \
             FERROPY_KERNELS_DIR to add one\n",
            dir.display()
        ));
        return None;
    }
    let sources = python_files(&dir);
    assert_distinct_module_names(&sources);
    Some(sources)
}

fn assert_distinct_module_names(sources: &[PathBuf]) {
    let mut stems: Vec<&OsStr> = sources
        .iter()
        .map(|path| path.file_stem().unwrap())
        .collect();
    stems.sort();
    let before = stems.len();
    stems.dedup();
    assert_eq!(
        before,
        stems.len(),
        "two corpus files share a module name: {sources:?}"
    );
}

/// Fails early, with the fix, when the interpreter cannot import NumPy: every
/// later step would fail with a less helpful message.
fn require_python_with_numpy(python: &str) {
    let output = run(python_command(python).args(["-c", "import numpy"]));
    assert!(
        output.status.success(),
        "the Python interpreter `{python}` cannot import numpy; run scripts/setup and set \
         FERROPY_PYTHON=$PWD/.venv/bin/python\n{}",
        describe(&format!("{python} -c 'import numpy'"), &output)
    );
}

fn extension_suffix(python: &str) -> String {
    let output = run(python_command(python).args([
        "-c",
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    ]));
    assert!(
        output.status.success(),
        "{}",
        describe("EXT_SUFFIX query", &output)
    );
    String::from_utf8(output.stdout)
        .expect("EXT_SUFFIX is UTF-8")
        .trim()
        .to_string()
}

#[test]
fn corpus_matches_cpython() {
    if !end_to_end_enabled("corpus_matches_cpython") {
        return;
    }
    matches_cpython(&corpus_sources(), true);
}

#[test]
fn extra_corpus_matches_cpython() {
    if !end_to_end_enabled("extra_corpus_matches_cpython") {
        return;
    }
    if let Some(sources) = extra_corpus_sources("extra_corpus_matches_cpython") {
        matches_cpython(&sources, false);
    }
}

/// Builds `sources` into one directory and runs every `#run:` case of them
/// compiled and under CPython (`diff.py`), and the arithmetic grid too when
/// `grid` is set (it needs `fixtures/runnable/arith_grid.py` among them).
fn matches_cpython(sources: &[PathBuf], grid: bool) {
    let python = python_interpreter();
    require_python_with_numpy(&python);
    let out = tempfile::tempdir().expect("temporary directory");

    build_modules(
        sources,
        out.path(),
        &python,
        "ferropy build -q <corpus> -o OUT --python PY",
    );

    let suffix = extension_suffix(&python);
    for source in sources {
        let stem = source
            .file_stem()
            .unwrap()
            .to_str()
            .expect("UTF-8 module name");
        for file in [format!("{stem}{suffix}"), format!("{stem}.pyi")] {
            assert!(
                out.path().join(&file).is_file(),
                "ferropy build succeeded but did not write {file} for {}",
                source.display()
            );
        }
    }

    let diff = run(python_command(&python)
        .arg(harness_script("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(sources));
    let diff_report = describe("tests/harness/diff.py --compiled-dir OUT <corpus>", &diff);
    println!("{diff_report}");
    assert!(
        diff.status.success(),
        "compiled modules differ from CPython\n{diff_report}"
    );

    // Again with every parallel loop (prange, and those parallel by
    // themselves) spread over 7 threads whatever its size: results and
    // exceptions must not change.
    let parallel = run(python_command(&python)
        .env("FERROPY_NUM_THREADS", "7")
        .env("FERROPY_PARALLEL_ALWAYS", "1")
        .arg(harness_script("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(sources));
    let parallel_report = describe(
        "FERROPY_NUM_THREADS=7 FERROPY_PARALLEL_ALWAYS=1 tests/harness/diff.py --compiled-dir OUT <corpus>",
        &parallel,
    );
    assert!(
        parallel.status.success(),
        "compiled modules differ from CPython when their loops run in parallel\n{parallel_report}"
    );

    if grid {
        let grid = run(python_command(&python)
            .arg(harness_script("grid.py"))
            .arg("--compiled-dir")
            .arg(out.path()));
        let grid_report = describe("tests/harness/grid.py --compiled-dir OUT", &grid);
        println!("{grid_report}");
        assert!(
            grid.status.success(),
            "compiled arithmetic differs from CPython\n{grid_report}"
        );
    }
}

#[test]
fn unchanged_source_is_not_rebuilt() {
    if !end_to_end_enabled("unchanged_source_is_not_rebuilt") {
        return;
    }
    let python = python_interpreter();
    require_python_with_numpy(&python);
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("cache_probe.py");
    std::fs::write(
        &source,
        "def scaled_sum(a: \"float64[:]\", factor: float) -> float:\n    \
         total = 0.0\n    \
         for i in range(len(a)):\n        \
         total += a[i] * factor\n    \
         return total\n",
    )
    .expect("write cache_probe.py");
    let out = dir.path().join("out");
    let build = |quiet: bool| {
        let mut command = ferropy();
        command.arg("build");
        if quiet {
            command.arg("-q");
        }
        command
            .arg(&source)
            .arg("-o")
            .arg(&out)
            .arg("--python")
            .arg(&python);
        run(&mut command)
    };

    let first = build(true);
    assert!(
        first.status.success(),
        "{}",
        describe("ferropy build -q cache_probe.py", &first)
    );
    let second = build(false);
    assert!(
        second.status.success(),
        "{}",
        describe("ferropy build cache_probe.py", &second)
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("cached"),
        "the second build of an unchanged source should be served from the cache and say \
         \"cached\"\n{}",
        describe("ferropy build cache_probe.py", &second)
    );
}

/// Calls `probe.scaled_sum` on `[1.0, 2.0, 3.0]` with factor 2 from the
/// module built into `dir`, in a new interpreter, and returns what it printed.
fn call_scaled_sum(python: &str, dir: &Path) -> String {
    let output = run(python_command(python).arg("-c").arg(format!(
        "import sys; sys.path.insert(0, {:?}); import numpy, probe; \
         print(probe.scaled_sum(numpy.array([1.0, 2.0, 3.0]), 2.0))",
        dir.display().to_string()
    )));
    assert!(
        output.status.success(),
        "{}",
        describe("python -c 'import probe; probe.scaled_sum(...)'", &output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn portable_builds_and_emitted_crates_work() {
    if !end_to_end_enabled("portable_builds_and_emitted_crates_work") {
        return;
    }
    let python = python_interpreter();
    require_python_with_numpy(&python);
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("probe.py");
    // A constant no earlier run has compiled, so that the first builds of
    // each flavour below cannot come from the cache of an earlier run.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos()
        % (1 << 62);
    std::fs::write(
        &source,
        format!(
            "def scaled_sum(a: \"float64[:]\", factor: float) -> float:\n    \
             total = 0.0\n    \
             for i in range(len(a)):\n        \
             total += a[i] * factor\n    \
             return total\n\n\n\
             def stamp() -> int:\n    \
             return {stamp}\n"
        ),
    )
    .expect("write probe.py");
    let build = |out: &str, portable: bool| {
        let mut command = ferropy();
        command.arg("build");
        if portable {
            command.arg("--portable");
        }
        command
            .arg(&source)
            .arg("-o")
            .arg(dir.path().join(out))
            .arg("--python")
            .arg(&python);
        let output = run(&mut command);
        assert!(
            output.status.success(),
            "{}",
            describe("ferropy build [--portable] probe.py", &output)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    // Native (the default) and portable builds are cached apart: building one
    // never serves the other.
    build("native", false);
    let portable = build("portable", true);
    assert!(
        !portable.contains("(cached)"),
        "a portable build was served the native build's module\n{portable}"
    );
    assert!(build("portable", true).contains("(cached)"));
    assert!(build("native", false).contains("(cached)"));
    assert_eq!(call_scaled_sum(&python, &dir.path().join("native")), "12.0");
    assert_eq!(
        call_scaled_sum(&python, &dir.path().join("portable")),
        "12.0"
    );

    // `emit --crate` writes a crate that cargo builds on its own, with the
    // runtime crate inside it. The portable target directory of the cache
    // already holds the compiled dependencies.
    let crate_dir = dir.path().join("crate");
    let emitted = run(ferropy()
        .arg("emit")
        .arg(&source)
        .arg("--crate")
        .arg(&crate_dir));
    assert!(
        emitted.status.success(),
        "{}",
        describe("ferropy emit probe.py --crate DIR", &emitted)
    );
    assert!(crate_dir.join("ferropy-rt/src/lib.rs").is_file());
    let flavour = ferropy::build::Flavour::for_host(ferropy::build::TargetCpu::Portable);
    let target_dir = ferropy::build::cache_dir()
        .join("target")
        .join(flavour.target_subdir());
    let cargo = run(std::process::Command::new("cargo")
        .args(["build", "--release", "--locked", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flavour.encoded_rustflags())
        .env("PYO3_PYTHON", &python));
    assert!(
        cargo.status.success(),
        "{}",
        describe(
            "cargo build --release --locked (in the emitted crate)",
            &cargo
        )
    );
    let library = std::fs::read_dir(target_dir.join("release"))
        .expect("read the target directory")
        .map(|entry| entry.expect("entry").path())
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libfp_probe_") && name.ends_with(std::env::consts::DLL_SUFFIX)
        })
        .expect("cargo built the emitted crate's library");
    let installed = dir.path().join("emitted");
    std::fs::create_dir_all(&installed).expect("create a directory");
    std::fs::copy(
        &library,
        installed.join(format!("probe{}", extension_suffix(&python))),
    )
    .expect("copy the library");
    assert_eq!(call_scaled_sum(&python, &installed), "12.0");
}

#[test]
fn emit_is_deterministic() {
    if !end_to_end_enabled("emit_is_deterministic") {
        return;
    }
    let mut sources = corpus_sources();
    sources.extend(extra_corpus_sources("emit_is_deterministic").unwrap_or_default());
    for source in sources {
        let emit = || run(ferropy().arg("emit").arg(&source));
        let first = emit();
        let command_line = format!("ferropy emit {}", source.display());
        assert!(
            first.status.success(),
            "{}",
            describe(&command_line, &first)
        );
        assert!(!first.stdout.is_empty(), "{command_line} printed nothing");
        let second = emit();
        assert!(
            second.status.success(),
            "{}",
            describe(&command_line, &second)
        );
        assert!(
            first.stdout == second.stdout,
            "{command_line} printed different Rust on two runs"
        );
    }
}

#[test]
fn check_reports_every_unsupported_construct() {
    if !end_to_end_enabled("check_reports_every_unsupported_construct") {
        return;
    }
    // One unsupported construct per function, on lines 5 (class), 11 (try)
    // and 19 (a lambda in a list): all three must be reported, not only the
    // first.
    let text = "\
import numpy as np


def uses_class(n: int) -> int:
    class Counter:
        pass
    return n


def uses_try(n: int) -> int:
    try:
        return n // 2
    except ZeroDivisionError:
        return 0


def uses_lambda(x: float) -> float:
    total = 0.0
    twice = [lambda v: 2.0 * v]
    total += x
    return total
";
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("unsupported.py");
    std::fs::write(&source, text).expect("write unsupported.py");

    let check = run(ferropy().arg("check").arg(&source));
    let report = describe("ferropy check unsupported.py", &check);
    assert_eq!(check.status.code(), Some(1), "{report}");
    let stderr = String::from_utf8_lossy(&check.stderr);
    for line in [5, 11, 19] {
        assert!(
            stderr.contains(&format!("unsupported.py:{line}:")),
            "no diagnostic at unsupported.py:{line}\n{report}"
        );
    }
}

#[test]
fn missing_python_is_an_environment_error() {
    if !end_to_end_enabled("missing_python_is_an_environment_error") {
        return;
    }
    let out = tempfile::tempdir().expect("temporary directory");
    let build = run(ferropy()
        .arg("build")
        .arg(repository_root().join("fixtures/runnable/arith_grid.py"))
        .arg("-o")
        .arg(out.path())
        .arg("--python")
        .arg("/nonexistent/python"));
    let report = describe(
        "ferropy build arith_grid.py --python /nonexistent/python",
        &build,
    );
    assert_eq!(build.status.code(), Some(2), "{report}");
    assert!(
        String::from_utf8_lossy(&build.stderr).contains("/nonexistent/python"),
        "the error should name the interpreter that was not found\n{report}"
    );
}
