"""Grid test of Python's scalar arithmetic semantics.

    python tests/harness/grid.py --compiled-dir OUT

Imports fixtures/runnable/arith_grid.py as the CPython reference and the
compiled `arith_grid` from OUT, then calls every function of the fixture on
every combination of operands drawn from its parameter annotations:

- an `int` first parameter takes -7..7 and a few large values;
- an `int` parameter in a later position (a divisor or an exponent) takes -3..3;
- a `float` parameter takes the values in FLOATS, signed zeros, infinities and
  NaN included.

Each cell must give the same value as CPython (floats within RTOL, NaN equal to
NaN, and the same sign for zeros and infinities) or raise the same exception
type. Cells where ferropy differs from CPython on purpose are skipped and
counted; see DOCUMENTED_DIFFERENCES. The closing line is `N passed, N failed`;
the exit status is 1 when a cell failed.
"""

from __future__ import annotations

import argparse
import faulthandler
import inspect
import itertools
import math
import sys
from collections import Counter
from pathlib import Path

from _ferropy_harness import (
    ImportProblem,
    floats_close,
    import_compiled,
    import_reference,
    value_kind,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "runnable" / "arith_grid.py"

INTS = list(range(-7, 8)) + [2**40, -(2**40), 2**53 + 1, -(2**62)]
SMALL_INTS = list(range(-3, 4))
FLOATS = [-7.5, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5, 7.0, math.inf, -math.inf, math.nan]

# Largest number of failing cells printed per function.
MAX_REPORTED_CELLS = 20


def _int_power_with_negative_exponent(name: str, args: tuple, expected: object,
                                       error: BaseException | None) -> bool:
    # ferropy types `int ** int` as int and raises ValueError when the exponent
    # is negative (as NumPy's integer power does); CPython returns a float, or
    # raises ZeroDivisionError for `0 ** -n`.
    return name == "pow_ii" and args[1] < 0


def _int_result_outside_int64(name: str, args: tuple, expected: object,
                              error: BaseException | None) -> bool:
    # ferropy's int is a 64-bit integer that wraps on overflow like NumPy's
    # int64; CPython's int is unbounded.
    return error is None and value_kind(expected) == "int" and not -(2**63) <= expected < 2**63


def _complex_result_of_float_power(name: str, args: tuple, expected: object,
                                   error: BaseException | None) -> bool:
    # A negative float raised to a non-integer float power is a complex number
    # in CPython. A function declared `-> float` cannot return it; ferropy
    # raises ValueError instead (templates/rt.rs), so these cells are counted
    # but not compared.
    return error is None and isinstance(expected, complex)


DOCUMENTED_DIFFERENCES = [
    ("int ** negative int: ferropy raises ValueError, CPython returns a float",
     _int_power_with_negative_exponent),
    ("int result outside int64: ferropy wraps, CPython grows",
     _int_result_outside_int64),
    ("negative float ** fractional float: ferropy raises ValueError, CPython returns a complex",
     _complex_result_of_float_power),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled-dir", required=True, type=Path,
                        help="directory holding the compiled arith_grid extension module")
    parser.add_argument("--allow-source-modules", action="store_true",
                        help="accept a .py module in the compiled dir; only for testing this harness")
    args = parser.parse_args()
    # Importing a source as the reference must not leave __pycache__ beside it.
    sys.dont_write_bytecode = True
    # Report lines appear as they are decided, also when stdout is a pipe.
    sys.stdout.reconfigure(line_buffering=True)
    faulthandler.enable()

    try:
        reference = import_reference(FIXTURE)
        compiled = import_compiled(FIXTURE.stem, args.compiled_dir, args.allow_source_modules)
    except ImportProblem as problem:
        print(f"FAIL {problem}")
        print("0 passed, 1 failed")
        return 1

    passed = failed = 0
    skipped: Counter[str] = Counter()
    for name, function in vars(reference).items():
        if not inspect.isfunction(function) or function.__module__ != reference.__name__:
            continue
        domains = operand_domains(function)
        compiled_function = getattr(compiled, name, None)
        cells = list(itertools.product(*domains))
        if compiled_function is None:
            print(f"FAIL {name}: the compiled module has no function `{name}`")
            failed += len(cells)
            continue

        problems = []
        compared = 0
        for cell in cells:
            expected_value, expected_error = call(function, cell)
            difference = next(
                (reason for reason, applies in DOCUMENTED_DIFFERENCES
                 if applies(name, cell, expected_value, expected_error)),
                None,
            )
            if difference is not None:
                skipped[difference] += 1
                continue
            compared += 1
            actual_value, actual_error = call(compiled_function, cell)
            problem = compare_cell(expected_value, expected_error, actual_value, actual_error)
            if problem:
                problems.append(f"{name}{_show_args(cell)}: {problem}")

        failed += len(problems)
        passed += compared - len(problems)
        if problems:
            print(f"FAIL {name}  {len(problems)} of {compared} cells differ")
            for line in problems[:MAX_REPORTED_CELLS]:
                print(f"     {line}")
            if len(problems) > MAX_REPORTED_CELLS:
                print(f"     ... and {len(problems) - MAX_REPORTED_CELLS} more")
        else:
            print(f"ok   {name}  {compared} cells")

    for reason, count in skipped.items():
        print(f"skipped {count} cells (documented difference): {reason}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def operand_domains(function) -> list[list]:
    """The operand values for each parameter, chosen by its annotation."""
    domains = []
    for position, parameter in enumerate(inspect.signature(function).parameters.values()):
        annotation = parameter.annotation
        annotation = getattr(annotation, "__name__", annotation)
        if annotation == "int":
            domains.append(INTS if position == 0 else SMALL_INTS)
        elif annotation == "float":
            domains.append(FLOATS)
        else:
            raise SystemExit(
                f"{FIXTURE.name}: parameter `{parameter.name}` of `{function.__name__}` "
                f"is annotated {annotation!r}; the grid knows only int and float"
            )
    return domains


def call(function, args: tuple) -> tuple[object, BaseException | None]:
    try:
        return function(*args), None
    except Exception as error:  # noqa: BLE001 - any exception is an outcome
        return None, error


def compare_cell(expected_value, expected_error, actual_value, actual_error) -> str | None:
    """None when the compiled outcome matches CPython's, else what differs."""
    if expected_error is not None:
        if actual_error is None:
            return f"CPython raised {type(expected_error).__name__}, compiled returned {actual_value!r}"
        if type(actual_error) is not type(expected_error):
            return (f"CPython raised {type(expected_error).__name__}, "
                    f"compiled raised {type(actual_error).__name__}({actual_error})")
        return None
    if actual_error is not None:
        return f"CPython returned {expected_value!r}, compiled raised {type(actual_error).__name__}({actual_error})"

    expected_kind = value_kind(expected_value)
    actual_kind = value_kind(actual_value)
    if expected_kind != actual_kind:
        return (f"CPython returned {expected_kind} {expected_value!r}, "
                f"compiled returned {type(actual_value).__name__} {actual_value!r}")
    if expected_kind == "float":
        same = floats_close(expected_value, actual_value) and (
            math.isnan(expected_value)
            or math.copysign(1.0, expected_value) == math.copysign(1.0, actual_value)
        )
    else:
        same = expected_value == actual_value
    return None if same else f"CPython returned {expected_value!r}, compiled returned {actual_value!r}"


def _show_args(args: tuple) -> str:
    return "(" + ", ".join(_show_number(a) for a in args) + ")"


def _show_number(value) -> str:
    if isinstance(value, int) and abs(value) >= 2**40:
        sign = "-" if value < 0 else ""
        exponent = int(math.log2(abs(value)))
        rest = abs(value) - 2**exponent
        return f"{sign}2**{exponent}" + (f"+{rest}" if rest else "")
    return repr(value)


if __name__ == "__main__":
    sys.exit(main())
