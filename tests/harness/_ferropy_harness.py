"""Shared pieces of the differential test harness.

CPython is the oracle: a module compiled by ferropy must return what the
interpreted source returns, or raise the same exception type. This module holds
what `diff.py`, `grid.py` and `scripts/demo` agree on: how `#setup:` and `#run:`
lines are read, how the reference and the compiled module are imported without
colliding, and when two results count as equal.

The name starts with an underscore and a project prefix so that it can never
shadow a compiled module of the same name on `sys.path`.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import math
import re
import sys
import signal
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Relative tolerance for floating-point results; there is no absolute tolerance,
# so an expected 0.0 must be matched exactly (up to the sign of zero).
RTOL = 1e-9
# float32 results: NumPy's own float32 functions (SIMD exp, log, sin, ...)
# are accurate to a few units in the last place, not correctly rounded, and
# differ from libm's by one or two; 8 float32 ulps of relative tolerance.
RTOL_FLOAT32 = 8 * 2.0**-23

_SETUP_LINE = re.compile(r"^\s*#\s*setup:(.*)$")
_RUN_LINE = re.compile(r"^\s*#\s*run:(.*)$")


@dataclass
class Cases:
    """The `#setup:` program and the `#run:` expressions of one source file."""

    setup: str
    runs: list[str]


def read_cases(path: Path) -> Cases:
    """Collects every `#setup:` line (joined in order) and every `#run:` line.

    Each `#run:` line is one case; the setup is executed afresh for each case.
    """
    setup_lines: list[str] = []
    runs: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _SETUP_LINE.match(line):
            setup_lines.append(match.group(1).strip())
        elif match := _RUN_LINE.match(line):
            runs.append(match.group(1).strip())
    return Cases(setup="\n".join(setup_lines), runs=runs)


class ImportProblem(Exception):
    """A module could not be imported, or was imported from the wrong place."""


def import_reference(path: Path) -> types.ModuleType:
    """Imports a source file as the CPython reference.

    The module gets a name of its own (`_ferropy_reference_<stem>`), so that the
    compiled module, which is imported under the plain stem, never collides
    with it in `sys.modules`.
    """
    name = f"_ferropy_reference_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportProblem(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise ImportProblem(f"importing the reference {path} raised {error!r}") from error
    return module


def import_compiled(name: str, compiled_dir: Path, allow_source_modules: bool) -> types.ModuleType:
    """Imports module `name` from `compiled_dir` and checks where it came from.

    The module must have been loaded from a file directly inside
    `compiled_dir`, and that file must be an extension module, not Python
    source: otherwise the test would compare CPython with itself.
    `allow_source_modules` lifts the second rule; it exists only so that the
    harness can be tested on copies of the `.py` files.
    """
    compiled_dir = compiled_dir.resolve()
    if name in sys.modules:
        existing = getattr(sys.modules[name], "__file__", None) or "a built-in module"
        raise ImportProblem(
            f"module name `{name}` is already taken in this interpreter by {existing}; "
            f"rename the source file"
        )
    sys.path.insert(0, str(compiled_dir))
    try:
        module = importlib.import_module(name)
    except Exception as error:
        raise ImportProblem(
            f"importing the compiled module `{name}` from {compiled_dir} raised {error!r}"
        ) from error
    finally:
        sys.path.remove(str(compiled_dir))

    file = getattr(module, "__file__", None)
    if file is None:
        raise ImportProblem(f"module `{name}` has no __file__; it is not the compiled module")
    location = Path(file).resolve()
    if location.parent != compiled_dir:
        raise ImportProblem(
            f"module `{name}` was imported from {location}, not from {compiled_dir}; "
            f"the compiled module is missing there"
        )
    is_extension = any(location.name.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
    if not is_extension and not allow_source_modules:
        raise ImportProblem(
            f"module `{name}` was imported from {location}, which is not an extension module "
            f"(expected a file ending in one of {importlib.machinery.EXTENSION_SUFFIXES}); "
            f"comparing against Python source would test nothing"
        )
    return module


def exported_functions(module: types.ModuleType) -> dict[str, object]:
    """The public callables of a module: its functions, compiled or not.

    Classes and modules (`np`, `math`, `range` aliases) are left out.
    """
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and callable(value)
        and not isinstance(value, (type, types.ModuleType))
    }


# ---------------------------------------------------------------------------
# Equality of results
# ---------------------------------------------------------------------------


def value_kind(value: object) -> str:
    """Groups Python and NumPy scalars by what the comparison cares about.

    `bool` is tested first because it is a subclass of `int`: a bool result
    must stay a bool, and an int result must not become a bool.
    """
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    return type(value).__name__


def floats_close(expected: float, actual: float) -> bool:
    """Equal within RTOL of the expected value (RTOL_FLOAT32 for float32);
    NaN equals NaN; infinities must be the same infinity."""
    rtol = RTOL_FLOAT32 if isinstance(expected, np.float32) else RTOL
    expected = float(expected)
    actual = float(actual)
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return expected == actual
    return abs(expected - actual) <= rtol * abs(expected)


def _float_arrays_close(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Element-wise `floats_close` for real float arrays."""
    with np.errstate(all="ignore"):
        both_nan = np.isnan(expected) & np.isnan(actual)
        both_finite = np.isfinite(expected) & np.isfinite(actual)
        rtol = RTOL_FLOAT32 if expected.dtype == np.float32 else RTOL
        near = np.abs(expected - actual) <= rtol * np.abs(expected)
        return (expected == actual) | both_nan | (both_finite & near)


def _array_mismatch(expected: np.ndarray, actual: np.ndarray, where: str) -> str | None:
    if expected.dtype != actual.dtype:
        return f"{where}: expected dtype {expected.dtype}, got dtype {actual.dtype}"
    if expected.shape != actual.shape:
        return f"{where}: expected shape {expected.shape}, got shape {actual.shape}"
    kind = expected.dtype.kind
    if kind == "f":
        same = _float_arrays_close(expected, actual)
    elif kind == "c":
        same = _float_arrays_close(expected.real, actual.real) & _float_arrays_close(
            expected.imag, actual.imag
        )
    elif kind == "O":
        for index in np.ndindex(expected.shape):
            problem = describe_mismatch(expected[index], actual[index], f"{where}{list(index)}")
            if problem:
                return problem
        return None
    else:
        same = expected == actual
    if bool(np.all(same)):
        return None
    bad = ~same
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(np.count_nonzero(bad))
    message = (
        f"{where}{list(first)}: expected {expected[first]!r}, got {actual[first]!r} "
        f"({count} of {expected.size} elements differ"
    )
    if kind == "f":
        with np.errstate(all="ignore"):
            relative = np.abs(expected - actual) / np.abs(expected)
        finite = relative[bad & np.isfinite(relative)]
        if finite.size:
            message += f"; largest relative difference {float(finite.max()):.3g}"
    return message + ")"


def describe_mismatch(expected: object, actual: object, where: str = "result") -> str | None:
    """Returns None when `actual` matches the CPython result `expected`,
    otherwise one sentence naming the first difference.

    Tuples and lists compare element-wise and must have the same type and
    length. Arrays must have the same dtype and shape; floats compare within
    RTOL (no absolute tolerance, NaN equals NaN, infinities in the same
    places), everything else exactly. A NumPy scalar and a Python scalar of
    the same kind (int and np.int64, float and np.float64, bool and np.bool_)
    are interchangeable.
    """
    if isinstance(expected, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return f"{where}: expected an ndarray, got {type(actual).__name__} {actual!r}"
        return _array_mismatch(expected, actual, where)
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected):
            return f"{where}: expected a {type(expected).__name__}, got {type(actual).__name__} {actual!r}"
        if len(actual) != len(expected):
            return f"{where}: expected {len(expected)} elements, got {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual)):
            problem = describe_mismatch(e, a, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if expected is None:
        return None if actual is None else f"{where}: expected None, got {actual!r}"

    expected_kind = value_kind(expected)
    actual_kind = value_kind(actual)
    if expected_kind != actual_kind:
        return (
            f"{where}: expected {expected_kind} {expected!r}, "
            f"got {type(actual).__name__} {actual!r}"
        )
    if expected_kind == "float":
        same = floats_close(expected, actual)
    elif expected_kind == "complex":
        same = floats_close(expected.real, actual.real) and floats_close(expected.imag, actual.imag)
    else:
        same = bool(expected == actual)
    return None if same else f"{where}: expected {expected!r}, got {actual!r}"


def format_seconds(seconds: float) -> str:
    """Short human durations: 0.84s, 0.0041s, 35us."""
    if seconds >= 1.0:
        return f"{seconds:.2f}s"
    if seconds >= 1e-3:
        return f"{seconds:.2g}s"
    return f"{seconds * 1e6:.0f}us"


def format_speedup(reference_seconds: float, compiled_seconds: float) -> str:
    if compiled_seconds <= 0.0:
        return "inf x"
    ratio = reference_seconds / compiled_seconds
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def output_text(output: bytes | str | None) -> str:
    """What a child process printed, as text (a timeout may leave bytes or None)."""
    if output is None:
        return ""
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output


def signal_name(number: int) -> str | None:
    """The name of a signal number, such as SIGSEGV, or None if it has none."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return None

