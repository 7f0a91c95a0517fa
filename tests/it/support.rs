//! Helpers shared by the test modules: the `FERROPY_E2E` gate, the paths of
//! the repository, the test Python and the kernel corpus, and running the
//! `ferropy` binary and Python with reports fit for assertion messages.
//!
//! The environment variables read here are `FERROPY_E2E` (`1` enables the
//! end-to-end tests), `FERROPY_PYTHON` (the test interpreter, else `python3`)
//! and `FERROPY_KERNELS_DIR` (an optional extra kernel corpus, else
//! `../shared/kernels` when that exists).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Written to the stderr handle directly, past the test harness's output
/// capture, so that it is seen even when the test passes.
pub(crate) fn notice(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Whether the end-to-end tests are enabled; when they are not, says so on
/// stderr, past the test harness's output capture, so the skip is never silent.
/// The notice gives the usual reason: the test builds extension modules with
/// cargo and runs them under Python.
pub(crate) fn end_to_end_enabled(test_name: &str) -> bool {
    end_to_end_enabled_because(
        test_name,
        "it builds extension modules with cargo and runs them under Python",
    )
}

/// [`end_to_end_enabled`] for a test with a reason of its own to run only
/// with `FERROPY_E2E=1`; `reason` completes "skipped: …, so it runs only with
/// FERROPY_E2E=1" in the notice.
pub(crate) fn end_to_end_enabled_because(test_name: &str, reason: &str) -> bool {
    if std::env::var("FERROPY_E2E").as_deref() == Ok("1") {
        return true;
    }
    // Not `eprintln!`: that would be captured and shown only for failing tests.
    notice(&format!(
        "note: end-to-end test `{test_name}` skipped: {reason}, so it runs only with \
         FERROPY_E2E=1 (scripts/test and .ci/run set it)\n"
    ));
    false
}

/// The root of the repository: the crate's manifest directory.
pub(crate) fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test Python: `FERROPY_PYTHON`, else `python3`.
pub(crate) fn python_interpreter() -> String {
    std::env::var("FERROPY_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Where an optional extra kernel corpus may be: `FERROPY_KERNELS_DIR`, else
/// `../shared/kernels` next to the repository. Nothing requires it to exist.
pub(crate) fn kernels_dir() -> PathBuf {
    match std::env::var_os("FERROPY_KERNELS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repository_root().join("../shared/kernels"),
    }
}

/// A script of `tests/harness`.
pub(crate) fn harness_script(name: &str) -> PathBuf {
    repository_root().join("tests/harness").join(name)
}

/// The `ferropy` binary under test, run in the repository root.
pub(crate) fn ferropy() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferropy"));
    command.current_dir(repository_root());
    command
}

/// `python`, run in the repository root without writing bytecode.
pub(crate) fn python_command(python: &str) -> Command {
    let mut command = Command::new(python);
    command
        .current_dir(repository_root())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs a command to completion; failing to start it at all is a test failure.
pub(crate) fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("could not run {command:?}: {error}"))
}

/// The command, its exit status and both output streams, for assertion messages.
pub(crate) fn describe(command_line: &str, output: &Output) -> String {
    format!(
        "`{command_line}` exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// A command's stdout as text, invalid UTF-8 replaced.
pub(crate) fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A command's stderr as text, invalid UTF-8 replaced.
pub(crate) fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `ferropy build -q <sources> -o <out> --python <python>`; fails the test
/// with cargo's and ferropy's output, under the name `command_line`, if the
/// build fails.
pub(crate) fn build_modules(sources: &[PathBuf], out: &Path, python: &str, command_line: &str) {
    let output = run(ferropy()
        .arg("build")
        .arg("-q")
        .args(sources)
        .arg("-o")
        .arg(out)
        .arg("--python")
        .arg(python));
    assert!(
        output.status.success(),
        "{}",
        describe(command_line, &output)
    );
}

/// Appends the `.py` files under `dir`, at any depth, to `out` in directory
/// order; an unreadable directory adds nothing.
pub(crate) fn python_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            python_files_under(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "py") {
            out.push(path);
        }
    }
}
