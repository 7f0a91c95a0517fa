//! `ferropy emit FILE --check PATH` and `emit FILE --crate DIR --check`:
//! snapshot-testing committed generated code. Exit 0 when it is current, 1
//! with a unified diff on stdout when it is stale or missing, 2 for usage
//! errors. No cargo and no Python are needed, so these always run.

use std::path::Path;
use std::process::Output;

use crate::support::{describe, ferropy, run, stderr_of, stdout_of};

const KERNEL: &str = "\
def scale(a: \"float64[:]\", k: float) -> None:
    for i in range(len(a)):
        a[i] = a[i] * k
";

/// `ferropy emit <arguments>` run in `dir`, so that relative paths are
/// relative to it.
fn emit(dir: &Path, arguments: &[&str]) -> Output {
    run(ferropy().current_dir(dir).arg("emit").args(arguments))
}

fn assert_exit(output: &Output, code: i32, command_line: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        describe(command_line, output)
    );
}

#[test]
fn check_of_a_file_passes_when_current_and_shows_a_diff_when_stale() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("generated")).unwrap();
    std::fs::write(root.join("src/kernels.py"), KERNEL).unwrap();

    let printed = emit(root, &["src/kernels.py"]);
    assert_exit(&printed, 0, "ferropy emit src/kernels.py");
    std::fs::write(root.join("generated/kernels.rs"), &printed.stdout).unwrap();

    let args = ["src/kernels.py", "--check", "generated/kernels.rs"];
    let current = emit(root, &args);
    assert_exit(&current, 0, "ferropy emit --check (current)");
    assert!(current.stdout.is_empty(), "{}", stdout_of(&current));

    // A checkout with Windows line endings is still current.
    let crlf = stdout_of(&printed).replace('\n', "\r\n");
    std::fs::write(root.join("generated/kernels.rs"), crlf).unwrap();
    assert_exit(&emit(root, &args), 0, "ferropy emit --check (CRLF)");
    std::fs::write(root.join("generated/kernels.rs"), &printed.stdout).unwrap();

    // The source changes: the committed code is stale, and the diff says how.
    std::fs::write(
        root.join("src/kernels.py"),
        KERNEL.replace("a[i] * k", "a[i] * k + 1.0"),
    )
    .unwrap();
    let stale = emit(root, &args);
    assert_exit(&stale, 1, "ferropy emit --check (stale)");
    let diff = stdout_of(&stale);
    assert!(
        diff.starts_with("--- a/generated/kernels.rs\n+++ b/generated/kernels.rs\n@@ "),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|line| line.starts_with('+') && line.contains("1.0")),
        "{diff}"
    );
    assert!(diff.lines().any(|line| line.starts_with('-')), "{diff}");
    let message = stderr_of(&stale);
    assert!(
        message.contains("generated/kernels.rs is stale")
            && message.contains("ferropy emit src/kernels.py > generated/kernels.rs"),
        "{message}"
    );
    // Checking writes nothing.
    assert_eq!(
        std::fs::read(root.join("generated/kernels.rs")).unwrap(),
        printed.stdout
    );

    // A missing snapshot is reported the same way, as a diff from nothing.
    let missing = emit(root, &["src/kernels.py", "--check", "generated/none.rs"]);
    assert_exit(&missing, 1, "ferropy emit --check (missing)");
    assert!(
        stdout_of(&missing).starts_with("--- /dev/null\n+++ b/generated/none.rs\n"),
        "{}",
        stdout_of(&missing)
    );
    assert!(stderr_of(&missing).contains("is missing"));
    assert!(!root.join("generated/none.rs").exists());

    // A source with errors is reported as such (exit 1, diagnostics), not
    // as a diff.
    std::fs::write(
        root.join("src/kernels.py"),
        "def f(x: int) -> int:\n    return x.y\n",
    )
    .unwrap();
    let broken = emit(root, &args);
    assert_exit(&broken, 1, "ferropy emit --check (source with errors)");
    assert!(broken.stdout.is_empty(), "{}", stdout_of(&broken));
    assert!(
        stderr_of(&broken).contains("error"),
        "{}",
        stderr_of(&broken)
    );
}

#[test]
fn check_of_a_crate_compares_every_file_and_does_not_depend_on_the_checkout() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let first = dir.path().join("first");
    std::fs::create_dir_all(first.join("src")).unwrap();
    std::fs::write(first.join("src/kernels.py"), KERNEL).unwrap();

    let written = emit(&first, &["src/kernels.py", "--crate", "generated/kernels"]);
    assert_exit(&written, 0, "ferropy emit --crate");
    let crate_dir = first.join("generated/kernels");
    assert!(crate_dir.join("src/lib.rs").is_file());
    assert!(crate_dir.join("kernels.pyi").is_file());
    let check = ["src/kernels.py", "--crate", "generated/kernels", "--check"];
    assert_exit(&emit(&first, &check), 0, "ferropy emit --crate --check");

    // Build products beside the committed files are not part of the snapshot.
    std::fs::create_dir_all(crate_dir.join("target/release")).unwrap();
    std::fs::write(crate_dir.join("target/release/junk"), "x").unwrap();
    assert_exit(
        &emit(&first, &check),
        0,
        "ferropy emit --crate --check (target/)",
    );

    // The same project checked out elsewhere (as in CI) is current too: the
    // package name depends on the path from the crate to the source only.
    let second = dir.path().join("elsewhere/second");
    std::fs::create_dir_all(second.join("src")).unwrap();
    std::fs::write(second.join("src/kernels.py"), KERNEL).unwrap();
    copy_tree(&first.join("generated"), &second.join("generated"));
    assert_exit(
        &emit(&second, &check),
        0,
        "ferropy emit --crate --check (another checkout)",
    );

    // An edited source makes the crate stale; the diff covers lib.rs and
    // the stub, and nothing is written.
    std::fs::write(
        first.join("src/kernels.py"),
        KERNEL.replace("k: float) -> None", "k: float, extra: int) -> None"),
    )
    .unwrap();
    let before = std::fs::read(crate_dir.join("src/lib.rs")).unwrap();
    let stale = emit(&first, &check);
    assert_exit(&stale, 1, "ferropy emit --crate --check (stale)");
    let diff = stdout_of(&stale);
    assert!(
        diff.contains("+++ b/generated/kernels/src/lib.rs"),
        "{diff}"
    );
    assert!(
        diff.contains("+++ b/generated/kernels/kernels.pyi"),
        "{diff}"
    );
    assert!(!diff.contains("Cargo.toml"), "{diff}");
    let message = stderr_of(&stale);
    assert!(
        message.contains("2 of 6 files differ: src/lib.rs, kernels.pyi"),
        "{message}"
    );
    assert_eq!(std::fs::read(crate_dir.join("src/lib.rs")).unwrap(), before);

    // A deleted file of the crate is stale as well.
    std::fs::remove_file(second.join("generated/kernels/ferropy-rt/src/lib.rs")).unwrap();
    let missing = emit(&second, &check);
    assert_exit(&missing, 1, "ferropy emit --crate --check (missing file)");
    assert!(
        stdout_of(&missing)
            .contains("--- /dev/null\n+++ b/generated/kernels/ferropy-rt/src/lib.rs"),
        "{}",
        stdout_of(&missing)
    );
}

#[test]
fn check_without_a_target_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("kernels.py"), KERNEL).unwrap();
    let bare = emit(dir.path(), &["kernels.py", "--check"]);
    assert_exit(&bare, 2, "ferropy emit kernels.py --check");
    assert!(stderr_of(&bare).contains("--check needs the path"));
    let both = emit(
        dir.path(),
        &["kernels.py", "--crate", "out", "--check", "x.rs"],
    );
    assert_exit(&both, 2, "ferropy emit --crate out --check x.rs");
    assert!(!dir.path().join("out").exists());
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
