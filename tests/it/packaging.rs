//! Installing ferropy and building packages with it, in a fresh virtual
//! environment: the ferropy wheel (maturin, `bindings = "bin"`) gives
//! `ferropy` on PATH and `python -m ferropy`; the example packages
//! `examples/setuptools-demo` (setup.py with `FerropyExtension`) and
//! `examples/pyproject-demo` (`[tool.ferropy]`, no setup.py) build into
//! wheels holding the compiled module and its stub, and, installed, import
//! the compiled module and agree with CPython running the same source.
//!
//! It builds extension modules with cargo and installs packages with pip
//! (from PyPI or pip's cache), so it runs only with `FERROPY_E2E=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pyenv::{ferropy_wheel, fresh_venv, numpy_requirement, pip_install, BUILD, SETUPTOOLS};
use crate::support::{describe, end_to_end_enabled, repository_root, run, stdout_of};

/// Imports the installed packages from a directory holding nothing else,
/// checks that the compiled modules were imported, and compares every call
/// with the package sources run by CPython.
const COMPARE: &str = r#"
import importlib.util, math, sys, sysconfig
import numpy as np
import demo, demo.kernels, demo_pyproject.stats

suffix = sysconfig.get_config_var("EXT_SUFFIX")
for module in (demo.kernels, demo_pyproject.stats):
    assert module.__file__.endswith(suffix), f"{module.__name__} is not compiled: {module.__file__}"

def reference(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

kernels_py = reference("kernels_py", sys.argv[1])
stats_py = reference("stats_py", sys.argv[2])
assert not kernels_py.__file__.endswith(suffix)

def outcome(function, *args):
    try:
        return ("value", function(*args))
    except Exception as error:
        return ("raised", type(error).__name__)

def same(a, b):
    if a[0] != b[0]:
        return False
    if isinstance(a[1], np.ndarray):
        return a[1].shape == b[1].shape and np.allclose(a[1], b[1], rtol=1e-12, atol=0)
    if isinstance(a[1], float):
        return math.isclose(a[1], b[1], rel_tol=1e-12)
    return a[1] == b[1]

rng = np.random.default_rng(7)
signal = rng.normal(size=1000)
cases = [
    (demo.kernels.smooth, kernels_py.smooth, (signal, 5)),
    (demo.kernels.smooth, kernels_py.smooth, (signal, 1)),
    (demo.kernels.smooth, kernels_py.smooth, (signal, 1000)),
    (demo.kernels.smooth, kernels_py.smooth, (signal, 0)),
    (demo.kernels.smooth, kernels_py.smooth, (signal[:10], 11)),
    (demo.smooth, kernels_py.smooth, (signal[::3], 4)),
    (demo.kernels.count_primes, kernels_py.count_primes, (10_000,)),
    (demo.kernels.count_primes, kernels_py.count_primes, (2,)),
    (demo.kernels.count_primes, kernels_py.count_primes, (-5,)),
    (demo_pyproject.stats.rms, stats_py.rms, (signal,)),
    (demo_pyproject.stats.rms, stats_py.rms, (np.zeros(0),)),
]
for compiled, interpreted, args in cases:
    got, expected = outcome(compiled, *args), outcome(interpreted, *args)
    assert same(got, expected), f"{compiled.__name__}: compiled {got!r}, CPython {expected!r}"
print(f"{len(cases)} calls agree")
"#;

/// `pip download --no-deps --dest <dest> <requirement>`.
fn pip_download(python: &Path, requirement: &str, dest: &Path) {
    let output = run(Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .arg("--dest")
        .arg(dest)
        .arg(requirement));
    assert!(
        output.status.success(),
        "{}",
        describe(&format!("pip download {requirement}"), &output)
    );
}

fn wheel_files(python: &Path, wheel: &Path) -> Vec<String> {
    let output = run(Command::new(python)
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
        ])
        .arg(wheel));
    assert!(
        output.status.success(),
        "{}",
        describe("list wheel", &output)
    );
    stdout_of(&output).lines().map(str::to_string).collect()
}

fn only_wheel_in(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the wheel directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".whl")
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one {prefix} wheel: {found:?}");
    found[0].clone()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        // Leftovers of a build in the checkout are not part of the example.
        if name == "build" || name.to_string_lossy().ends_with(".egg-info") {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).expect("copy file");
        }
    }
}

#[test]
fn wheel_installs_ferropy_and_example_packages_compile_into_their_wheels() {
    if !end_to_end_enabled("wheel_installs_ferropy_and_example_packages_compile_into_their_wheels")
    {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let wheel = ferropy_wheel();
    let numpy = numpy_requirement();
    let venv = dir.path().join("venv");
    let python = fresh_venv(
        &venv,
        &[
            wheel.to_str().expect("UTF-8 path"),
            &numpy,
            SETUPTOOLS,
            BUILD,
        ],
    );

    // The binary is on the environment's PATH, and `python -m ferropy` is
    // the same command line.
    let scripts = python.parent().expect("scripts directory");
    let binary = scripts.join(if cfg!(windows) {
        "ferropy.exe"
    } else {
        "ferropy"
    });
    assert!(
        binary.is_file(),
        "the wheel installed no {}",
        binary.display()
    );
    let version = run(Command::new(&binary).arg("--version"));
    assert!(
        version.status.success(),
        "{}",
        describe("ferropy --version", &version)
    );
    assert_eq!(
        stdout_of(&version).trim(),
        format!("ferropy {}", ferropy::VERSION)
    );
    let module_version = run(Command::new(&python).args(["-m", "ferropy", "--version"]));
    assert_eq!(stdout_of(&module_version), stdout_of(&version));
    let bad = dir.path().join("bad.py");
    std::fs::write(&bad, "def f(x: int) -> int:\n    return x.y\n").expect("write");
    let checked = run(Command::new(&python)
        .args(["-m", "ferropy", "check"])
        .arg(&bad));
    assert_eq!(
        checked.status.code(),
        Some(1),
        "{}",
        describe("python -m ferropy check bad.py", &checked)
    );
    assert!(String::from_utf8_lossy(&checked.stderr).contains("bad.py:2:"));

    // The examples, copied out of the checkout so nothing is written there.
    let examples = dir.path().join("examples");
    for example in ["setuptools-demo", "pyproject-demo"] {
        copy_tree(
            &repository_root().join("examples").join(example),
            &examples.join(example),
        );
    }
    let dist = dir.path().join("dist");
    // setup.py with FerropyExtension, built by `python -m build` (PEP 517,
    // setuptools' backend) in the environment that has ferropy.
    let built = run(Command::new(&python)
        .args(["-m", "build", "--wheel", "--no-isolation", "--outdir"])
        .arg(&dist)
        .arg(examples.join("setuptools-demo")));
    assert!(
        built.status.success(),
        "{}",
        describe("python -m build --wheel examples/setuptools-demo", &built)
    );
    assert!(
        stdout_of(&built).contains("ferropy: compiling demo/kernels.py to demo.kernels (portable)"),
        "{}",
        describe("python -m build --wheel examples/setuptools-demo", &built)
    );
    let demo_wheel = only_wheel_in(&dist, "ferropy_demo-");
    let files = wheel_files(&python, &demo_wheel);
    for expected in ["demo/kernels.py", "demo/kernels.pyi", "demo/__init__.py"] {
        assert!(
            files.iter().any(|file| file == expected),
            "{expected} not in {files:?}"
        );
    }
    assert!(
        files
            .iter()
            .any(|file| file.starts_with("demo/kernels.") && file.ends_with(".so")),
        "no compiled module in {files:?}"
    );
    // No setup.py: `[tool.ferropy]` in pyproject.toml, through ferropy's
    // setuptools hook. This one is installed as `pip install .` installs
    // it, in an isolated build environment where pip installs the build
    // requirements (ferropy, setuptools, NumPy), here from a directory
    // holding only the ferropy wheel and pinned setuptools and NumPy (no
    // index: no other ferropy can be picked).
    let links = dir.path().join("links");
    std::fs::create_dir_all(&links).expect("create directory");
    std::fs::copy(&wheel, links.join(wheel.file_name().expect("wheel name")))
        .expect("copy the wheel");
    pip_download(&python, SETUPTOOLS, &links);
    pip_download(&python, &numpy, &links);
    // Without NumPy among the build requirements, the build says what to add.
    let no_numpy = examples.join("pyproject-demo-without-numpy");
    copy_tree(&examples.join("pyproject-demo"), &no_numpy);
    let manifest = std::fs::read_to_string(no_numpy.join("pyproject.toml")).expect("read");
    std::fs::write(
        no_numpy.join("pyproject.toml"),
        manifest.replace(r#", "numpy"]"#, "]"),
    )
    .expect("write");
    let refused = run(Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(["--no-deps", "--no-index", "--find-links"])
        .arg(&links)
        .arg(&no_numpy));
    let said = format!(
        "{}{}",
        stdout_of(&refused),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success() && said.contains("add \"numpy\" to the build requirements"),
        "{}",
        describe(
            "pip install (no numpy among the build requirements)",
            &refused
        )
    );
    let installed = run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--no-index", "--find-links"])
        .arg(&links)
        .arg(examples.join("pyproject-demo"))
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert!(
        installed.status.success(),
        "{}",
        describe(
            "pip install examples/pyproject-demo (isolated build)",
            &installed
        )
    );
    pip_install(
        &python,
        &[demo_wheel.to_str().expect("UTF-8 path")],
        &["--no-deps"],
    );

    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("create directory");
    let compared = run(Command::new(&python)
        .current_dir(&elsewhere)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(["-c", COMPARE])
        .arg(examples.join("setuptools-demo/demo/kernels.py"))
        .arg(examples.join("pyproject-demo/demo_pyproject/stats.py")));
    assert!(
        compared.status.success(),
        "{}",
        describe("compare the installed packages with CPython", &compared)
    );
    assert!(stdout_of(&compared).contains("11 calls agree"));

    // An editable install builds the extension into the source tree, with
    // its stub beside it.
    let editable = examples.join("setuptools-demo-editable");
    copy_tree(&examples.join("setuptools-demo"), &editable);
    let installed_editable = run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--no-build-isolation", "--editable"])
        .arg(&editable)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert!(
        installed_editable.status.success(),
        "{}",
        describe(
            "pip install --editable examples/setuptools-demo",
            &installed_editable
        )
    );
    let in_source: Vec<String> = std::fs::read_dir(editable.join("demo"))
        .expect("read demo/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        in_source.iter().any(|name| name == "kernels.pyi")
            && in_source
                .iter()
                .any(|name| name.starts_with("kernels.") && name.ends_with(".so")),
        "an editable install left {in_source:?} in demo/"
    );

    // A kernel that does not compile fails the package build with
    // ferropy's diagnostics.
    let broken = examples.join("setuptools-demo");
    std::fs::write(
        broken.join("demo/kernels.py"),
        "def smooth(signal: \"float64[:]\", width: int) -> float:\n    return signal.nope\n",
    )
    .expect("write");
    let failed = run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
        ])
        .arg(dir.path().join("dist-broken"))
        .arg(&broken));
    assert!(
        !failed.status.success(),
        "{}",
        describe("pip wheel (broken kernel)", &failed)
    );
    let output = format!(
        "{}{}",
        stdout_of(&failed),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        output.contains("kernels.py:2:") && output.contains("ferropy could not compile"),
        "{output}"
    );
}
