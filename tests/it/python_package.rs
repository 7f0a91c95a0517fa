//! The pure-Python side of the `ferropy` package (`python/ferropy`), run
//! from the repository with the binary under test and without building
//! anything: `python -m ferropy` is the command line (arguments, output and
//! exit codes), a missing binary is a clear error, `FerropyExtension`
//! refuses a module name that cannot be initialised, `[tool.ferropy]` is
//! read as documented and ignored when absent, and the import hook selects
//! the project's modules only.
//!
//! It needs setuptools from the project environment (scripts/setup), so it
//! runs only with `FERROPY_E2E=1`.

use crate::pyenv::python_with_package;
use crate::support::{describe, end_to_end_enabled_because, run, stderr_of, stdout_of};

const REASON: &str = "it imports setuptools from the project environment (scripts/setup)";

#[test]
fn python_m_ferropy_is_the_command_line() {
    if !end_to_end_enabled_because("python_m_ferropy_is_the_command_line", REASON) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let version = run(python_with_package(dir.path()).args(["-m", "ferropy", "--version"]));
    assert!(
        version.status.success(),
        "{}",
        describe("python -m ferropy --version", &version)
    );
    assert_eq!(
        stdout_of(&version).trim(),
        format!("ferropy {}", ferropy::VERSION)
    );

    std::fs::write(
        dir.path().join("bad.py"),
        "def f(x: int) -> int:\n    return x.y\n",
    )
    .expect("write");
    let checked = run(python_with_package(dir.path()).args(["-m", "ferropy", "check", "bad.py"]));
    assert_eq!(
        checked.status.code(),
        Some(1),
        "{}",
        describe("python -m ferropy check", &checked)
    );
    assert!(
        stderr_of(&checked).contains("bad.py:2:12"),
        "{}",
        stderr_of(&checked)
    );

    let usage = run(python_with_package(dir.path()).args(["-m", "ferropy", "emit"]));
    assert_eq!(
        usage.status.code(),
        Some(2),
        "{}",
        describe("python -m ferropy emit", &usage)
    );

    // A binary that is not there: exit 2 and what to do.
    let missing = run(python_with_package(dir.path())
        .env("FERROPY_BINARY", dir.path().join("no-such-ferropy"))
        .args(["-m", "ferropy", "--version"]));
    assert_eq!(
        missing.status.code(),
        Some(2),
        "{}",
        describe("FERROPY_BINARY missing", &missing)
    );
    assert!(
        stderr_of(&missing).contains("FERROPY_BINARY is")
            && stderr_of(&missing).contains("not an executable file"),
        "{}",
        stderr_of(&missing)
    );
    // No binary anywhere: not in the scripts directory of the test Python,
    // and PATH (set inside the process, so the interpreter is still
    // found) leads nowhere.
    let nowhere = run(python_with_package(dir.path())
        .env_remove("FERROPY_BINARY")
        .args([
            "-c",
            "import os, sys, ferropy\nos.environ['PATH'] = sys.argv[1]\ntry:\n    \
             ferropy.binary()\nexcept ferropy.FerropyNotFound as e:\n    print(e)\n",
        ])
        .arg(dir.path()));
    assert!(
        stdout_of(&nowhere).contains("pip install ferropy")
            && stdout_of(&nowhere).contains("FERROPY_BINARY"),
        "{}",
        describe("ferropy.binary() without a binary", &nowhere)
    );
}

#[test]
fn setuptools_and_hook_helpers_behave_as_documented() {
    if !end_to_end_enabled_because("setuptools_and_hook_helpers_behave_as_documented", REASON) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let script = format!(
        r#"
import json, os, sys
import ferropy
from ferropy import hook
from ferropy import setuptools as fs
from setuptools import Distribution

assert ferropy.__version__ == "{version}", ferropy.__version__

# The module's last name must be the file's.
try:
    fs.FerropyExtension("demo._kernels", "demo/kernels.py")
except Exception as error:
    assert "FerropyExtension('demo.kernels', 'demo/kernels.py')" in str(error), error
    assert "rename the file to _kernels.py" in str(error), error
else:
    raise SystemExit("a mismatched module name was accepted")
ext = fs.FerropyExtension("demo.kernels", "demo/kernels.py", portable=False, parallel=False)
assert ext.sources == ["demo/kernels.py"] and not ext.ferropy_portable and not ext.ferropy_parallel

# [tool.ferropy] modules: a list of paths or a table of names.
assert fs._modules_from_table({{"modules": ["demo/kernels.py", "a/b/c.py"]}}) == [
    ("demo.kernels", "demo/kernels.py"), ("a.b.c", "a/b/c.py")]
assert fs._modules_from_table({{"modules": {{"demo.kernels": "src/demo/kernels.py"}}}}) == [
    ("demo.kernels", "src/demo/kernels.py")]
for bad in ({{"modules": ["kernels.txt"]}}, {{"modules": 3}}):
    try:
        fs._modules_from_table(bad)
    except Exception as error:
        assert "[tool.ferropy]" in str(error), error
    else:
        raise SystemExit(f"{{bad}} was accepted")

# Without [tool.ferropy] a distribution is left alone; with it, it gets the
# extensions and ferropy's build_ext.
os.chdir(sys.argv[1])
dist = Distribution({{"name": "plain"}})
fs.finalize_distribution_options(dist)
assert not dist.ext_modules and "build_ext" not in dist.cmdclass
with open("pyproject.toml", "w") as file:
    file.write('[project]\nname = "x"\n[tool.ferropy]\nmodules = ["pkg/k.py"]\nportable = false\n')
dist = Distribution({{"name": "x"}})
fs.finalize_distribution_options(dist)
assert [e.name for e in dist.ext_modules] == ["pkg.k"], dist.ext_modules
assert dist.ext_modules[0].ferropy_portable is False
assert dist.cmdclass["build_ext"] is fs.build_ext

# A numba.pycc source names its module with CC("name"): setuptools and the
# hook use that name.
from ferropy._command import pycc_module_name
pycc = 'from numba.pycc import CC\ncc = CC("fast")\n@cc.export("f", "f8(f8)")\ndef g(x):\n    return x\n'
assert pycc_module_name(pycc) == "fast"
assert pycc_module_name("import numba.pycc as p\ncc = p.CC('other')\n") == "other"
assert pycc_module_name("def CC(name):\n    pass\ncc = CC('x')\n") is None
os.makedirs("pkg", exist_ok=True)
with open("pkg/fast_source.py", "w") as file:
    file.write(pycc)
assert fs.FerropyExtension("pkg.fast", "pkg/fast_source.py").name == "pkg.fast"
try:
    fs.FerropyExtension("pkg.fast_source", "pkg/fast_source.py")
except Exception as error:
    assert "FerropyExtension('pkg.fast', 'pkg/fast_source.py')" in str(error), error
else:
    raise SystemExit("a pycc source under its file name was accepted")
assert fs._modules_from_table({{"modules": ["pkg/fast_source.py"]}}) == [
    ("pkg.fast", "pkg/fast_source.py")]
finder = hook.FerropyFinder()
assert finder._pycc_source("fast", ["pkg"]) == os.path.join(os.path.realpath("pkg"), "fast_source.py")
assert finder._pycc_source("slow", ["pkg"]) is None

# The hook selects project files: not the standard library, not package
# __init__ files, and only the named modules when given.
os.makedirs("pkg", exist_ok=True)
finder = hook.FerropyFinder()
here = os.path.realpath(".")
assert finder._wanted("k", os.path.join(here, "k.py"))
assert finder._wanted("pkg.k", os.path.join(here, "pkg", "k.py"))
assert not finder._wanted("pkg", os.path.join(here, "pkg", "__init__.py"))
assert not finder._wanted("json", json.__file__)
assert not finder._may_want("numpy.linalg", [os.path.dirname(json.__file__)])
named = hook.FerropyFinder(modules=["k"])
assert named._wanted("k", os.path.join(here, "k.py"))
assert not named._wanted("other", os.path.join(here, "other.py"))
assert not named._may_want("other", None)
installed = hook.install()
assert sys.meta_path[0] is installed
hook.uninstall()
assert installed not in sys.meta_path

# Without a binary, importing a selected module is an ImportError that
# says why.
os.environ["FERROPY_BINARY"] = os.path.join(here, "no-such-ferropy")
with open("selected.py", "w") as file:
    file.write("def f(x: int) -> int:\n    return x\n")
sys.path.insert(0, here)
hook.install(modules=["selected"])
try:
    import selected
except ImportError as error:
    assert isinstance(error, ferropy.FerropyCompileError), type(error)
    assert "FERROPY_BINARY" in str(error) and "selected.py" in str(error), error
else:
    raise SystemExit("import selected did not fail")
finally:
    hook.uninstall()
print("ok")
"#,
        version = ferropy::VERSION
    );
    let output = run(python_with_package(dir.path())
        .args(["-c", &script])
        .arg(dir.path()));
    assert!(
        output.status.success() && stdout_of(&output).contains("ok"),
        "{}",
        describe("the package's helpers", &output)
    );
}
