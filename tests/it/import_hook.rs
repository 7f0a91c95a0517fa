//! The Python package's compile-on-use paths, run from `python/` with the
//! binary under test: the import hook (`ferropy.hook.install()`) and the
//! IPython cell magic (`%load_ext ferropy`, `%%ferropy`), the latter through
//! IPython's own `InteractiveShell`.
//!
//! They build extension modules with cargo, so they run only with
//! `FERROPY_E2E=1`; IPython comes from the project environment
//! (scripts/setup).

use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::pyenv::python_with_package;
use crate::support::{describe, end_to_end_enabled, run, stderr_of, stdout_of};

/// A token that makes each run's sources new to the hook's cache, so that
/// the first import really compiles.
fn fresh_token() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0)
}

fn kernel_source(token: u128, factor: &str) -> String {
    format!(
        "\"\"\"Scaled prefix sums (run {token}).\"\"\"
import numpy as np


def prefix_sums(a: \"float64[:]\") -> \"float64[:]\":
    out = np.empty(len(a))
    acc = 0.0
    for i in range(len(a)):
        acc += a[i] * {factor}
        out[i] = acc
    return out


def collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps
"
    )
}

/// Imports `kernels` through the hook in a new process and checks it
/// against the same file run by CPython; prints whether the module came
/// from the hook's cache.
const IMPORT_KERNELS: &str = r#"
import importlib.util, sys, sysconfig
import numpy as np
import ferropy, ferropy.hook

ferropy.hook.install()
import kernels
import helpers  # pure Python, not compiled: install(modules=...) below
assert kernels.__file__.endswith(sysconfig.get_config_var("EXT_SUFFIX")), kernels.__file__
assert "hook" in kernels.__file__, kernels.__file__

spec = importlib.util.spec_from_file_location("kernels_py", "kernels.py")
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
a = np.random.default_rng(3).normal(size=257)
assert np.array_equal(kernels.prefix_sums(a), reference.prefix_sums(a))
for n in (1, 7, 27, 97):
    assert kernels.collatz_steps(n) == reference.collatz_steps(n)
print("first:", kernels.prefix_sums(np.ones(3)).tolist())
"#;

fn run_script(cwd: &Path, script: &str) -> Output {
    run(python_with_package(cwd).args(["-c", script]))
}

#[test]
fn import_hook_compiles_on_first_import_caches_and_reports_errors() {
    if !end_to_end_enabled("import_hook_compiles_on_first_import_caches_and_reports_errors") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let project = dir.path();
    let token = fresh_token();
    std::fs::write(project.join("kernels.py"), kernel_source(token, "1.0")).expect("write");
    // A module that ferropy cannot compile (a class), imported as Python
    // because it is not selected.
    std::fs::write(project.join("helpers.py"), "class Box:\n    pass\n").expect("write");

    // The default: every module of the project is compiled; helpers.py
    // (a class) would not compile, so the script selects modules for it.
    let script = IMPORT_KERNELS.replace(
        "ferropy.hook.install()",
        "ferropy.hook.install(modules=['kernels'])",
    );
    let first = run_script(project, &script);
    assert!(
        first.status.success(),
        "{}",
        describe("first import", &first)
    );
    assert!(
        stderr_of(&first).contains("ferropy: compiling")
            && stderr_of(&first).contains("kernels.py (module kernels)"),
        "{}",
        describe("first import", &first)
    );
    assert!(stdout_of(&first).contains("first: [1.0, 2.0, 3.0]"));

    // Another process: the compiled module comes from the cache.
    let second = run_script(project, &script);
    assert!(
        second.status.success(),
        "{}",
        describe("second import", &second)
    );
    assert!(
        !stderr_of(&second).contains("compiling"),
        "{}",
        describe("second import (cached)", &second)
    );

    // An edited source is compiled again, and the new code runs.
    std::fs::write(project.join("kernels.py"), kernel_source(token, "2.0")).expect("write");
    let third = run_script(project, &script);
    assert!(
        third.status.success(),
        "{}",
        describe("import after an edit", &third)
    );
    assert!(stderr_of(&third).contains("ferropy: compiling"));
    assert!(stdout_of(&third).contains("first: [2.0, 4.0, 6.0]"));

    // A `numba.pycc` source is imported under the name its CC(...) gives,
    // as its users imported the module `cc.compile()` built; under its own
    // file name it stays Python.
    std::fs::write(
        project.join("pycc_source.py"),
        format!(
            "# run {token}\nfrom numba.pycc import CC\ncc = CC(\"renamed\")\n\n\n\
             @cc.export(\"double_it\", \"f8(f8)\")\ndef twice(x):\n    return 2.0 * x\n"
        ),
    )
    .expect("write");
    let pycc = run_script(
        project,
        r#"
import ferropy.hook
ferropy.hook.install(modules=["renamed", "pycc_source"])
import renamed
assert renamed.__file__.endswith(tuple(__import__("importlib.machinery").machinery.EXTENSION_SUFFIXES)), renamed.__file__
print("pycc:", renamed.double_it(2.5))
import pycc_source
assert pycc_source.__file__.endswith(".py"), pycc_source.__file__
"#,
    );
    assert!(
        pycc.status.success() && stdout_of(&pycc).contains("pycc: 5.0"),
        "{}",
        describe("import of a pycc module by its CC name", &pycc)
    );

    // With no selection, every project module is compiled: helpers.py does
    // not compile, and its diagnostics are the ImportError's message.
    // Modules outside the project (the standard library, NumPy) import as
    // usual.
    std::fs::write(
        project.join("broken.py"),
        format!("# run {token}\ndef f(x: int) -> int:\n    return x.nope\n"),
    )
    .expect("write");
    let errors = run_script(
        project,
        r#"
import json, numpy
import ferropy, ferropy.hook
ferropy.hook.install()
import json.decoder  # not in the project: Python's own
assert json.decoder.__file__.endswith(".py")
try:
    import broken
except ImportError as error:
    assert isinstance(error, ferropy.FerropyCompileError), type(error)
    assert error.name == "broken", error.name
    print("MESSAGE", error)
else:
    raise SystemExit("import broken did not fail")
"#,
    );
    assert!(
        errors.status.success(),
        "{}",
        describe("import broken", &errors)
    );
    let message = stdout_of(&errors);
    assert!(
        message.contains("ferropy could not compile")
            && message.contains("broken.py:3:")
            && message.contains("FP0507")
            && message.contains("x.nope"),
        "{message}"
    );
}

#[test]
fn cell_magic_compiles_a_cell_and_binds_its_functions() {
    if !end_to_end_enabled("cell_magic_compiles_a_cell_and_binds_its_functions") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let token = fresh_token();
    let script = format!(
        r#"
import numpy as np
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "ferropy")
cell = '''%%ferropy
import numpy as np

# run {token}
def total(a: "float64[:]") -> float:
    s = 0.0
    for i in range(len(a)):
        s += a[i]
    return s


def square(x):
    return x * x


def norm2(a: "float64[:]") -> float:
    s = 0.0
    for i in range(len(a)):
        s += square(a[i])
    return s
'''
result = shell.run_cell(cell)
assert result.success, result.error_in_exec
total, norm2 = shell.user_ns["total"], shell.user_ns["norm2"]
assert type(total).__name__ == "builtin_function_or_method", type(total)
assert "set_num_threads" not in shell.user_ns
assert "square" not in shell.user_ns  # a helper, not compiled as a function of its own
a = np.arange(10.0)
assert total(a) == 45.0 and norm2(a) == 285.0
# The same code run by Python agrees.
namespace = {{}}
exec(cell.split("\n", 1)[1], namespace)
assert namespace["total"](a) == total(a) and namespace["norm2"](a) == norm2(a)
# Bound functions are used by later cells like any other.
result = shell.run_cell("import numpy as np\nvalue = norm2(np.ones(4))")
assert result.success and shell.user_ns["value"] == 4.0

# Diagnostics count the cell's lines, the %%ferropy line being line 1.
result = shell.run_cell('%%ferropy\n\n# run {token}\ndef g(x: int) -> int:\n    return x.nope\n')
assert not result.success
error = result.error_in_exec
assert isinstance(error, UsageError), type(error)
print("MESSAGE", error)
"#
    );
    let output = run(python_with_package(dir.path()).args(["-c", &script]));
    assert!(
        output.status.success(),
        "{}",
        describe("%%ferropy", &output)
    );
    let message = stdout_of(&output);
    assert!(
        message.contains("ferropy could not compile the cell")
            && message.contains("cell:5:12")
            && message.contains("FP0507"),
        "{}",
        describe("%%ferropy", &output)
    );
    assert!(
        stderr_of(&output).contains("ferropy: compiling the cell")
            && stderr_of(&output).contains("ferropy: defined norm2, total"),
        "{}",
        describe("%%ferropy", &output)
    );
}
