"""Differential test: every `#run:` case of a source file, under CPython and compiled.

    python tests/harness/diff.py --compiled-dir OUT kernels.py more.py ...

For each source file, the file itself is imported as the reference and the
module of the same name is imported from OUT, where `ferropy build` wrote it.
Each `#run:` line is one case. The `#setup:` lines are executed in a fresh
namespace holding `np` and `math`; the compiled side gets a deep copy of that
namespace, so both sides see equal but separate inputs. The run expression is
evaluated on both sides and the outcomes must agree:

- if CPython raised, the compiled call must raise the exact same exception
  type; otherwise it must not raise;
- results must be equal (see `_ferropy_harness.describe_mismatch`);
- every array created by the setup must be equal on both sides afterwards, so
  in-place writes must agree too.

`copy.deepcopy` turns a view into an independent array, so a case that passes a
strided view should write the slicing in the `#run:` line (`f(x[::2])`), not in
the setup.

Each source file runs in its own child process, so a crash or a hang in one
compiled module is reported against that file and the other files still run.
The output is one line per case, details under each failure, and a closing line
`N passed, N failed`; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import copy
import faulthandler
import math
import os
import re
import subprocess
import sys
import time
import types
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _ferropy_harness import (
    ImportProblem,
    describe_mismatch,
    exported_functions,
    format_seconds,
    format_speedup,
    import_compiled,
    import_reference,
    output_text,
    read_cases,
    signal_name,
)

_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled-dir", required=True, type=Path,
                        help="directory holding the compiled extension modules")
    parser.add_argument("sources", nargs="+", type=Path, help="Python source files with #run: lines")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for all cases of one source file (default 600)")
    parser.add_argument("--allow-source-modules", action="store_true",
                        help="accept .py modules in the compiled dir; only for testing this harness")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The oracle is the interpreter, also for files written for Numba:
    # `@njit` returns the Python function itself (unless the caller set the
    # variable). Child processes inherit it; Numba reads it when imported.
    os.environ.setdefault("NUMBA_DISABLE_JIT", "1")
    # Importing a source as the reference must not leave __pycache__ beside it.
    sys.dont_write_bytecode = True
    # Report lines appear as they are decided, also when stdout is a pipe.
    sys.stdout.reconfigure(line_buffering=True)

    if not args.compiled_dir.is_dir():
        parser.error(f"--compiled-dir {args.compiled_dir} is not a directory")
    stems: dict[str, Path] = {}
    for source in args.sources:
        if not source.is_file():
            parser.error(f"{source} does not exist")
        if source.stem in stems:
            parser.error(f"{stems[source.stem]} and {source} would both compile to module `{source.stem}`")
        stems[source.stem] = source

    if args.child:
        (source,) = args.sources
        passed, failed = run_file(source, args.compiled_dir, args.allow_source_modules)
        print(f"{passed} passed, {failed} failed", flush=True)
        return 1 if failed else 0

    total_passed = 0
    total_failed = 0
    for source in args.sources:
        passed, failed = run_file_in_child(source, args)
        total_passed += passed
        total_failed += failed
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


# ---------------------------------------------------------------------------
# Parent: one child process per source file
# ---------------------------------------------------------------------------


def run_file_in_child(source: Path, args: argparse.Namespace) -> tuple[int, int]:
    """Runs one file's cases in a child process and relays its report.

    Returns (passed, failed). Cases the child never reported, because it
    crashed or ran out of time, count as failed.
    """
    runs = read_cases(source).runs
    expected_cases = max(len(runs), 1)
    command = [sys.executable, str(Path(__file__).resolve()), "--child",
               "--compiled-dir", str(args.compiled_dir), str(source)]
    if args.allow_source_modules:
        command.append("--allow-source-modules")

    problem = None
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                               stdin=subprocess.DEVNULL)
        stdout, stderr, status = child.stdout, child.stderr, child.returncode
    except subprocess.TimeoutExpired as timeout:
        stdout = output_text(timeout.stdout)
        stderr = output_text(timeout.stderr)
        status = None
        problem = f"timed out after {args.timeout:g}s"

    lines = stdout.splitlines()
    summary = _SUMMARY.match(lines[-1]) if lines else None
    if summary is not None:
        lines.pop()
    for line in lines:
        print(line)

    if summary is not None and status in (0, 1):
        passed, failed = int(summary.group(1)), int(summary.group(2))
        if stderr.strip() and failed:
            print(_indent(f"stderr of the test process:\n{stderr.rstrip()}"))
        return passed, failed

    if problem is None:
        if status is not None and status < 0:
            problem = f"the test process died with signal {signal_name(-status) or -status}"
        else:
            problem = f"the test process exited with status {status} without a summary"
    passed = sum(1 for line in lines if line.startswith("ok "))
    reported_failures = sum(1 for line in lines if line.startswith("FAIL "))
    failed = max(expected_cases - passed, reported_failures, 1)
    done = passed + reported_failures
    during = f"during case {done + 1} of {len(runs)}: {runs[done]}" if done < len(runs) else ""
    print(f"FAIL {source.name}  {problem} {during}".rstrip())
    if stderr.strip():
        print(_indent(f"stderr of the test process:\n{stderr.rstrip()}"))
    return passed, failed


def _indent(text: str) -> str:
    return "\n".join("     " + line for line in text.splitlines())


# ---------------------------------------------------------------------------
# Child: the cases of one source file
# ---------------------------------------------------------------------------


def run_file(source: Path, compiled_dir: Path, allow_source_modules: bool) -> tuple[int, int]:
    faulthandler.enable()
    cases = read_cases(source)
    label = source.name
    if not cases.runs:
        print(f"FAIL {label}  no #run: lines, so nothing was compared")
        return 0, 1

    try:
        reference = import_reference(source)
        compiled = import_compiled(source.stem, compiled_dir, allow_source_modules)
    except ImportProblem as problem:
        for expression in cases.runs:
            print(f"FAIL {label}  {expression}  (not run)")
        print(_indent(str(problem)))
        return 0, len(cases.runs)

    passed = failed = 0
    for expression in cases.runs:
        line, details = run_case(label, cases.setup, expression, reference, compiled)
        print(line, flush=True)
        for detail in details:
            print(_indent(detail), flush=True)
        if line.startswith("ok "):
            passed += 1
        else:
            failed += 1
    return passed, failed


@dataclass
class _Outcome:
    """What one side of a case did: its value or its exception, how long it
    took, and the warnings it raised."""

    value: object
    error: Exception | None
    seconds: float
    warnings: list[warnings.WarningMessage]


def _evaluate(code: types.CodeType, namespace: dict) -> _Outcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            value = eval(code, namespace)
            error = None
        except Exception as exception:  # noqa: BLE001 - any exception is an outcome
            value = None
            error = exception
        seconds = time.perf_counter() - start
    return _Outcome(value, error, seconds, list(caught))


def run_case(label: str, setup: str, expression: str, reference: types.ModuleType,
             compiled: types.ModuleType) -> tuple[str, list[str]]:
    """Runs one `#run:` expression on both sides; returns the report line and details."""
    heading = f"{label}  {expression}"
    try:
        code = compile(expression, f"{label} #run", "eval")
    except SyntaxError as error:
        return f"FAIL {heading}  (bad #run: line)", [repr(error)]

    reference_namespace: dict = {"np": np, "math": math}
    try:
        exec(compile(setup, f"{label} #setup", "exec"), reference_namespace)
    except Exception as error:  # noqa: BLE001
        return f"FAIL {heading}  (the #setup: lines raised)", [repr(error)]

    inputs = {
        name: value
        for name, value in reference_namespace.items()
        if name != "__builtins__" and not isinstance(value, types.ModuleType)
    }
    compiled_namespace: dict = {"np": np, "math": math}
    copies = copy.deepcopy(inputs)
    for name, value in inputs.items():
        # A deep copy is writable whatever the original was.
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            copies[name].flags.writeable = False
    compiled_namespace.update(copies)

    reference_functions = exported_functions(reference)
    compiled_functions = exported_functions(compiled)
    for name, function in reference_functions.items():
        reference_namespace.setdefault(name, function)
    for name, function in compiled_functions.items():
        compiled_namespace.setdefault(name, function)

    expected = _evaluate(code, reference_namespace)
    actual = _evaluate(code, compiled_namespace)

    details: list[str] = []
    if expected.error is not None:
        if actual.error is None:
            details.append(
                f"CPython raised {_exception(expected.error)}, but the compiled call returned "
                f"{_short(actual.value)}"
            )
        elif type(actual.error) is not type(expected.error):
            details.append(
                f"CPython raised {_exception(expected.error)}, "
                f"the compiled call raised {_exception(actual.error)}"
            )
    elif actual.error is not None:
        details.append(
            f"CPython returned {_short(expected.value)}, "
            f"the compiled call raised {_exception(actual.error)}"
        )
        if isinstance(actual.error, NameError):
            missing = _missing_functions(code, reference_functions, compiled_functions)
            if missing:
                details.append(f"the compiled module does not export: {', '.join(missing)}")
    else:
        problem = describe_mismatch(expected.value, actual.value)
        if problem:
            details.append(problem)

    for name, value in inputs.items():
        if isinstance(value, np.ndarray):
            problem = describe_mismatch(reference_namespace[name], compiled_namespace[name], name)
            if problem:
                details.append(f"the inputs differ after the call: {problem}")

    timing = (f"[cpython {format_seconds(expected.seconds)}, "
              f"compiled {format_seconds(actual.seconds)}, "
              f"{format_speedup(expected.seconds, actual.seconds)}]")
    if expected.error is not None and not details:
        timing += f"  raises {type(expected.error).__name__}"
    # NumPy scalars follow NumPy's error rules (warn and go on) where Python
    # numbers raise, so a warning here often explains a difference above.
    warning_counts = Counter(f"{w.category.__name__}: {w.message}" for w in expected.warnings)
    for text, count in warning_counts.items():
        times = f" ({count} times)" if count > 1 else ""
        details.append(f"note: CPython warned {text}{times}")

    status = "FAIL" if any(not d.startswith("note:") for d in details) else "ok  "
    return f"{status} {heading}  {timing}", details


def _exception(error: BaseException) -> str:
    return f"{type(error).__name__}({str(error)!r})"


def _short(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _missing_functions(code: types.CodeType, reference_functions: dict,
                       compiled_functions: dict) -> list[str]:
    """Functions the run expression names that only the reference module has."""
    return sorted(
        name for name in code.co_names
        if name in reference_functions and name not in compiled_functions
    )


if __name__ == "__main__":
    sys.exit(main())
