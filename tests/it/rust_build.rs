//! The Rust build step: `ferropy::Builder` in a build script.
//!
//! `examples/rust-build` is copied and its own test run (`cargo test`: the
//! build script compiles `src/kernels.py`, the test calls the kernels and
//! checks values and exception kinds); then a kernel that does not compile
//! fails the build with ferropy's diagnostics. And every fixture of the
//! corpus is emitted as a Rust module and type-checked against the runtime
//! without its `python` feature.
//!
//! Those two compile ferropy as a build dependency and the runtime (about
//! two minutes on two cores, the first time; the target directory under
//! `target/` keeps them for later runs), so they run only when
//! `FERROPY_E2E=1`. What `Builder::emit_rust` writes and refuses is tested
//! without cargo, always.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{describe, end_to_end_enabled_because, repository_root, run, stderr_of};

/// The cargo target directory these tests share, inside the repository's
/// own target directory so that later runs reuse the compiled dependencies.
fn target_dir() -> PathBuf {
    repository_root().join("target/rust-build-tests")
}

fn cargo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        // The user's flags must not change what is tested.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    command
}

/// Copies `examples/rust-build` into `dir`, its path dependencies pointing
/// back into the repository.
fn copy_example(dir: &Path) {
    let example = repository_root().join("examples/rust-build");
    std::fs::create_dir_all(dir.join("src")).expect("create src");
    for file in ["Cargo.lock", "build.rs", "src/kernels.py", "src/lib.rs"] {
        std::fs::copy(example.join(file), dir.join(file))
            .unwrap_or_else(|error| panic!("copy {file}: {error}"));
    }
    let root = repository_root();
    let manifest = std::fs::read_to_string(example.join("Cargo.toml")).expect("read Cargo.toml");
    let manifest = manifest
        .replace(
            "path = \"../../runtime\"",
            &format!("path = {:?}", root.join("runtime")),
        )
        .replace("path = \"../..\"", &format!("path = {root:?}"));
    assert!(manifest.contains(&format!("path = {root:?}")));
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
}

/// The runtime's own unit tests (integer arithmetic as Python does it,
/// ranges, tail sums), without its `python` feature.
#[test]
fn runtime_unit_tests_pass() {
    if !end_to_end_enabled_because(
        "rust_build::runtime_unit_tests_pass",
        "it compiles the runtime and its dependencies",
    ) {
        return;
    }
    let runtime = repository_root().join("runtime");
    let tested = run(&mut cargo(
        &runtime,
        &[
            "test",
            "--locked",
            "--quiet",
            "--no-default-features",
            "--lib",
        ],
    ));
    assert!(
        tested.status.success(),
        "{}",
        describe("cargo test --lib (runtime)", &tested)
    );
}

#[test]
fn example_crate_calls_python_kernels_from_rust() {
    if !end_to_end_enabled_because(
        "rust_build::example_crate_calls_python_kernels_from_rust",
        "it compiles ferropy as a build dependency",
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("temporary directory");
    let dir = scratch.path().join("rust-build");
    copy_example(&dir);

    let tested = run(&mut cargo(&dir, &["test", "--locked", "--quiet"]));
    assert!(
        tested.status.success(),
        "{}",
        describe("cargo test --locked (examples/rust-build)", &tested)
    );
    let stdout = String::from_utf8_lossy(&tested.stdout);
    assert!(stdout.contains("4 passed"), "{stdout}");
    let kernels = dir.join("src/kernels.py");

    // A kernel that does not type-check fails the build script, with the
    // diagnostic as `ferropy check` prints it.
    let mut source = std::fs::read_to_string(&kernels).expect("read kernels.py");
    source.push_str("\n\ndef broken(x: int) -> int:\n    return x + \"one\"\n");
    std::fs::write(&kernels, source).expect("write kernels.py");
    let failed = run(&mut cargo(&dir, &["build", "--locked", "--quiet"]));
    let stderr = stderr_of(&failed);
    assert!(
        !failed.status.success(),
        "{}",
        describe("cargo build (broken kernel)", &failed)
    );
    assert!(
        stderr.contains("error[FP") && stderr.contains("src/kernels.py:") && stderr.contains('^'),
        "{}",
        describe("cargo build (broken kernel)", &failed)
    );
    assert!(
        stderr.contains("ferropy could not compile src/kernels.py"),
        "{stderr}"
    );
}

/// The fixtures whose Rust modules are checked: the kernels and the
/// runnable cases, as the end-to-end tests run them.
fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fixtures/kernels", "fixtures/runnable"] {
        let entries = std::fs::read_dir(repository_root().join(dir)).expect("read fixtures");
        files.extend(
            entries
                .map(|entry| entry.expect("entry").path())
                .filter(|path| path.extension().is_some_and(|e| e == "py")),
        );
    }
    files.sort();
    files
}

#[test]
fn every_fixture_emits_a_rust_module_that_compiles_without_python() {
    if !end_to_end_enabled_because(
        "rust_build::every_fixture_emits_a_rust_module_that_compiles_without_python",
        "it runs cargo",
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("temporary directory");
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("src")).expect("create src");
    let mut includes = String::new();
    for path in corpus() {
        let bytes = std::fs::read(&path).expect("read fixture");
        let file = ferropy::source::decode(path.display().to_string(), &bytes)
            .unwrap_or_else(|_| panic!("{} decodes", path.display()));
        let module_name = ferropy::module_name_for(&path).expect("a module name");
        let module = ferropy::compile_rust(&file, &module_name, ferropy::Options::default())
            .unwrap_or_else(|_| panic!("{} compiles", path.display()));
        let written =
            ferropy::build::write_rust_module(&dir.join("src"), &module.module_name, &module.text)
                .expect("write the module");
        includes.push_str(&format!("include!({:?});\n", written));
    }
    std::fs::write(dir.join("src/lib.rs"), includes).expect("write lib.rs");
    let runtime = repository_root().join("runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fixtures-in-rust\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             publish = false\n\n[workspace]\n\n[dependencies]\n\
             ferropy-rt = {{ path = {runtime:?}, default-features = false }}\n\
             ndarray = \"=0.16.1\"\n"
        ),
    )
    .expect("write Cargo.toml");
    // The example's lock pins the runtime's dependencies at the versions
    // the example uses.
    std::fs::copy(
        repository_root().join("examples/rust-build/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .expect("copy Cargo.lock");
    let checked = run(&mut cargo(dir, &["check", "--quiet"]));
    assert!(
        checked.status.success(),
        "{}",
        describe("cargo check (the fixtures as Rust modules)", &checked)
    );
}

/// `Builder::emit_rust` without cargo: one module per file, written only
/// when every file compiles, and never two files into one module.
#[test]
fn builder_writes_one_module_per_file() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("other")).expect("create directory");
    let source = "def twice(x: float) -> float:\n    return 2.0 * x\n";
    std::fs::write(dir.join("scalars.py"), source).expect("write");
    std::fs::write(dir.join("other/scalars.py"), source).expect("write");
    std::fs::write(
        dir.join("broken.py"),
        "def f(x: int) -> int:\n    return x + \"one\"\n",
    )
    .expect("write");
    let out = dir.join("out");

    let written = ferropy::Builder::new()
        .file(dir.join("scalars.py"))
        .emit_rust(&out)
        .expect("scalars.py compiles");
    assert_eq!(written, vec![out.join("scalars.rs")]);
    let text = std::fs::read_to_string(&written[0]).expect("read the module");
    assert!(text.contains("pub mod scalars {"), "{text}");
    assert!(
        text.contains("pub fn twice(x: f64) -> ::core::result::Result<f64, ::ferropy_rt::Error>"),
        "{text}"
    );

    let same = ferropy::Builder::new()
        .file(dir.join("scalars.py"))
        .file(dir.join("other/scalars.py"))
        .emit_rust(&out);
    match same {
        Err(ferropy::EmitError::SameModule { module, .. }) => assert_eq!(module, "scalars"),
        other => panic!("expected SameModule, got {other:?}"),
    }

    let broken_out = dir.join("broken-out");
    let failed = ferropy::Builder::new()
        .file(dir.join("scalars.py"))
        .file(dir.join("broken.py"))
        .emit_rust(&broken_out);
    match failed {
        Err(error @ ferropy::EmitError::Diagnostics { .. }) => {
            assert!(error.to_string().contains("broken.py"), "{error}")
        }
        other => panic!("expected Diagnostics, got {other:?}"),
    }
    assert!(!broken_out.exists(), "nothing is written when a file fails");
}
