//! Python environments for the tests of ferropy's Python side: the ferropy
//! wheel (built once per test run, from the same compiled binary as the
//! other tests), fresh virtual environments, and running the package in
//! `python/` straight from the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::support::{describe, python_command, python_interpreter, repository_root, run};

/// The NumPy the project pins (scripts/setup), installed into fresh
/// environments.
pub(crate) fn numpy_requirement() -> String {
    let setup = std::fs::read_to_string(repository_root().join("scripts/setup"))
        .expect("read scripts/setup");
    let start = setup.find("numpy==").expect("scripts/setup pins numpy");
    setup[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '=' | '.'))
        .collect()
}

/// The setuptools fresh environments build example packages with.
pub(crate) const SETUPTOOLS: &str = "setuptools==80.9.0";

/// The PEP 517 front end (`python -m build`) fresh environments build
/// example packages with.
pub(crate) const BUILD: &str = "build==1.3.0";

/// The cargo target directory the test binary and `ferropy` were built in:
/// the wheel is built there too, so that it packages the binary already
/// compiled instead of compiling ferropy again.
fn target_dir() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ferropy"));
    binary
        .parent()
        .and_then(Path::parent)
        .expect("the ferropy binary is in <target>/<profile>/")
        .to_path_buf()
}

/// The profile `ferropy` was built with, as `maturin --profile` takes it.
fn profile() -> &'static str {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ferropy"));
    match binary.parent().and_then(Path::file_name) {
        Some(name) if name == "release" => "release",
        _ => "dev",
    }
}

/// The ferropy wheel, built by `pip wheel` through the repository's
/// pyproject.toml (maturin, `bindings = "bin"`) as `pip install .` builds
/// it, once per test run, into `<target>/ferropy-wheel/`.
pub(crate) fn ferropy_wheel() -> PathBuf {
    static WHEEL: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    let mut wheel = WHEEL
        .get_or_init(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = wheel.as_ref() {
        return path.clone();
    }
    let out = target_dir().join("ferropy-wheel");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create the wheel directory");
    let python = python_interpreter();
    let output = run(python_command(&python)
        .args([
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .arg("--wheel-dir")
        .arg(&out)
        .arg(repository_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .env(
            "MATURIN_PEP517_ARGS",
            format!("--profile {} --locked", profile()),
        ));
    assert!(
        output.status.success(),
        "{}",
        describe("pip wheel <repository> (maturin)", &output)
    );
    let built: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("read the wheel directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "whl"))
        .collect();
    assert_eq!(built.len(), 1, "expected one wheel, got {built:?}");
    *wheel = Some(built[0].clone());
    built[0].clone()
}

/// A fresh virtual environment in `dir`, made by the test Python, with
/// `packages` installed by pip; returns its interpreter.
pub(crate) fn fresh_venv(dir: &Path, packages: &[&str]) -> PathBuf {
    let python = python_interpreter();
    let created = run(python_command(&python).args(["-m", "venv"]).arg(dir));
    assert!(
        created.status.success(),
        "{}",
        describe("python -m venv", &created)
    );
    let venv_python = if cfg!(windows) {
        dir.join("Scripts/python.exe")
    } else {
        dir.join("bin/python")
    };
    if !packages.is_empty() {
        pip_install(&venv_python, packages, &[]);
    }
    venv_python
}

/// `python -m pip install --quiet <extra> <packages>`.
pub(crate) fn pip_install(python: &Path, packages: &[&str], extra: &[&str]) {
    let output = run(Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(extra)
        .args(packages)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert!(
        output.status.success(),
        "{}",
        describe(&format!("pip install {}", packages.join(" ")), &output)
    );
}

/// The test Python with the `ferropy` package of this repository
/// (`python/`) importable and its binary the one under test; runs in
/// `cwd`.
pub(crate) fn python_with_package(cwd: &Path) -> Command {
    let mut command = python_command(&python_interpreter());
    command
        .current_dir(cwd)
        .env("PYTHONPATH", repository_root().join("python"))
        .env("FERROPY_BINARY", env!("CARGO_BIN_EXE_ferropy"))
        .env("NO_COLOR", "1");
    command
}
