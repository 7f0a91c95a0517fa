"""Bad calls at run time: a matrix of wrong inputs, each a Python exception or the right result.

    python tests/harness/badcalls.py --compiled-dir OUT [--doc docs/semantics.md [--update-doc]]

OUT must hold the modules `ferropy build` made from fixtures/runnable/bad_calls.py
and fixtures/runnable/bad_calls_recursion.py. Each cell of the matrix calls a
compiled function with one bad input (wrong Python type, dtype or number of
dimensions, None, missing, extra or keyword arguments, a strided, transposed,
Fortran-order, empty, aliased, read-only or unaligned array, an index out of range, a zero
divisor, a math domain error, runaway recursion, int64 overflow) and checks the
outcome against one of three expectations:

- `raises(Type, *fragments)`: an exception of exactly that type whose message
  contains every fragment (the parameter name, the dtype, the index, ...);
- `as_cpython(*fragments)`: the outcome CPython gives on equal inputs, run
  through the fixture's source: the same result (and the same contents of every
  input array afterwards, so in-place writes must agree), or the same exception
  type, whose message must contain the fragments;
- `equals(expression)`: a documented result where ferropy differs from CPython
  on purpose, such as an int argument accepted for a float parameter.

Cells run in-process, each on fresh inputs, but every module's cells run in a
child process: a crash (a stack overflow, say) is reported against the cell
that caused it, and the child is restarted at the next cell.

Cells marked `known_gap` describe a fix that is not in the compiler yet. They
are shown as FIXME and not counted as failures while they fail; once one
passes it is reported as a failure, so that the mark is removed.

The output is the matrix as a table (bad input, call, expected, got, ok) and a
closing line `N passed, N failed`; the exit status is 1 when a cell failed.
With `--doc FILE`, the table between the `<!-- badcalls-matrix:begin -->` and
`<!-- badcalls-matrix:end -->` lines of FILE must equal the one just printed
(in Markdown); `--update-doc` rewrites it instead.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import math
import re
import subprocess
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from _ferropy_harness import (
    ImportProblem,
    describe_mismatch,
    exported_functions,
    import_compiled,
    import_reference,
    output_text,
    signal_name,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runnable"
MODULES = ("bad_calls", "bad_calls_recursion")

DOC_BEGIN = "<!-- badcalls-matrix:begin -->"
DOC_END = "<!-- badcalls-matrix:end -->"

# What the compiler still has to change for the cells marked as known gaps.

# ---------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Raises:
    error: type[BaseException]
    fragments: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.error.__name__} {_mentions(self.fragments)}".rstrip()


@dataclass(frozen=True)
class AsCPython:
    fragments: tuple[str, ...]
    same_message: bool

    def describe(self) -> str:
        if self.same_message:
            return "as CPython, same message"
        return f"as CPython {_mentions(self.fragments)}".rstrip()


@dataclass(frozen=True)
class Equals:
    expression: str
    why: str

    def describe(self) -> str:
        return f"{self.why}"


def raises(error: type[BaseException], *fragments: str) -> Raises:
    return Raises(error, fragments)


def as_cpython(*fragments: str, same_message: bool = False) -> AsCPython:
    return AsCPython(fragments, same_message)


def equals(expression: str, why: str) -> Equals:
    return Equals(expression, why)


def _mentions(fragments: tuple[str, ...]) -> str:
    if not fragments:
        return ""
    return "naming " + ", ".join(fragments)


@dataclass(frozen=True)
class Cell:
    bad_input: str
    call: str
    expect: Raises | AsCPython | Equals
    module: str = "bad_calls"
    known_gap: str | None = None


# ---------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------


def fresh_inputs() -> dict[str, object]:
    """The arrays every cell may use, made anew for each side of each cell.

    The values are small integers and halves, so sums are exact and the table
    is the same on every machine.
    """
    read_only = np.arange(1.0, 6.0)
    read_only.flags.writeable = False
    # float64 elements one byte past an aligned address, as dask.distributed
    # workers can receive blocks.
    unaligned = np.zeros(5 * 8 + 1, dtype=np.uint8)[1:].view(np.float64)
    unaligned[:] = np.arange(1.0, 6.0)
    assert not unaligned.flags.aligned
    return {
        "x": np.arange(1.0, 10.0),
        "m": np.arange(24.0).reshape(4, 6),
        "counts": np.arange(10) - 3,
        "ro": read_only,
        "unaligned": unaligned,
        "empty": np.zeros(0),
    }


def state_after(function, *args):
    """The arguments after `function(*args)`, whatever it raised: what a
    failed call left in the lists and dicts it was given."""
    try:
        function(*args)
    except Exception:  # noqa: BLE001 - only the arguments matter here
        pass
    return args


def in_thread(stack_size: int, function):
    """Calls `function` on a new thread whose stack is `stack_size` bytes."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcome["error"] = error

    previous = threading.stack_size(stack_size)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def with_recursion_limit(limit: int, function):
    """Calls `function` with `sys.setrecursionlimit(limit)` in force."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        return function()
    finally:
        sys.setrecursionlimit(previous)


CELLS: tuple[Cell, ...] = (
    # Wrong Python type. CPython itself would run `total` on a list; compiled
    # code takes arrays only.
    Cell("list for float64[:]", "total([1.0, 2.0])", raises(TypeError, "'a'", "float64", "list")),
    Cell("str for float64[:]", "total('ab')", raises(TypeError, "'a'", "str")),
    Cell("NumPy scalar for float64[:]", "total(np.float64(3.0))", raises(TypeError, "'a'", "float64")),
    Cell("float for int", "count_below(counts, 2.5)", raises(TypeError, "'limit'", "float")),
    Cell("str for float", "mix(2, 'x', True)", raises(TypeError, "'x'", "str")),
    Cell("int for bool", "mix(2, 1.0, 1)", raises(TypeError, "'flag'", "bool", "int")),
    Cell("int beyond int64 for int", "mix(2**63, 1.0, True)", raises(OverflowError, "'n'", "int64")),
    Cell("int beyond float for float", "mix(2, 10**400, True)", raises(OverflowError, "'x'", "float")),
    Cell("NumPy scalars for int, float, bool", "mix(np.int64(3), np.float32(0.5), np.bool_(True))",
         as_cpython()),
    Cell("int for float", "mix(2, 3, False)", equals("5.0", "5.0 (CPython: the int 5)")),
    Cell("bool for int", "mix(True, 2.0, True)", as_cpython()),
    # Wrong dtype: CPython would compute with any dtype; compiled code is
    # specialised to the declared one and refuses the others.
    Cell("int64 array for float64[:]", "total(counts)", raises(TypeError, "'a'", "float64", "int64")),
    Cell("float32 array for float64[:]", "total(x.astype(np.float32))", raises(TypeError, "'a'", "float32")),
    Cell("float64 array for int64[:]", "count_below(x, 3)", raises(TypeError, "'a'", "int64", "float64")),
    Cell("bool array for float64[:]", "total(x > 3.0)", raises(TypeError, "'a'", "bool")),
    Cell("big-endian float64 array", "total(x.astype('>f8'))", raises(TypeError, "'a'", "byte order")),
    # Wrong number of dimensions.
    Cell("2-D array for float64[:]", "total(m)", raises(TypeError, "'a'", "1 dimension", "2 dimensions")),
    Cell("1-D array for float64[:, :]", "grid_checksum(x)", raises(TypeError, "'g'", "2 dimensions", "1 dimension")),
    Cell("0-D array for float64[:]", "total(np.array(1.0))", raises(TypeError, "'a'", "0 dimensions")),
    # None.
    Cell("None for an array", "total(None)", as_cpython("'a'", "NoneType")),
    Cell("None for int", "mix(None, 1.0, True)", raises(TypeError, "'n'", "NoneType")),
    Cell("None for float", "mix(2, None, True)", raises(TypeError, "'x'", "NoneType")),
    Cell("None for bool", "mix(2, 1.0, None)", raises(TypeError, "'flag'", "NoneType")),
    # Missing, extra and keyword arguments.
    Cell("missing argument", "weighted_sum(x)", as_cpython(same_message=True)),
    Cell("missing keyword argument", "weighted_sum(w=x)", as_cpython(same_message=True)),
    Cell("extra argument", "total(x, x)", as_cpython("total()", "2 were given")),
    Cell("all arguments by keyword", "weighted_sum(w=x, a=x[::-1])", as_cpython()),
    Cell("positional, then keyword", "scale(x, factor=0.5)", as_cpython()),
    Cell("unknown keyword", "total(b=x)", as_cpython(same_message=True)),
    Cell("argument given twice", "total(x, a=x)", as_cpython(same_message=True)),
    # Layouts: views are used in place, whatever their strides.
    Cell("strided view a[::2]", "total(x[::2])", as_cpython()),
    Cell("reversed view a[::-1]", "weighted_sum(x, x[::-1])", as_cpython()),
    Cell("transposed a.T", "grid_checksum(m.T)", as_cpython()),
    Cell("Fortran order", "grid_checksum(np.asfortranarray(m))", as_cpython()),
    Cell("2-D strided view", "grid_checksum(m[::2, ::-3])", as_cpython()),
    Cell("write through a strided view", "scale(x[1::3], -2.0)", as_cpython()),
    Cell("write through a transposed view", "add_to_row(m.T, 1, 10.0)", as_cpython()),
    Cell("write into a Fortran-order array", "add_to_row(np.asfortranarray(m), 2, 0.5)", as_cpython()),
    # Zero-size arrays.
    Cell("empty array", "total(empty)", as_cpython()),
    Cell("empty 2-D array", "grid_checksum(np.zeros((0, 3)))", as_cpython()),
    Cell("write to an empty array", "scale(empty, 2.0)", as_cpython()),
    Cell("first element of an empty array", "first(empty)", as_cpython(same_message=True)),
    # The same array passed twice.
    Cell("same array twice, written", "add_into(x, x)", as_cpython()),
    Cell("same array twice, order-dependent", "smooth_into(x, x)", as_cpython()),
    Cell("overlapping views", "smooth_into(x[1:], x[:-1])", as_cpython()),
    Cell("same array twice, read", "weighted_sum(x, x)", as_cpython()),
    # Read-only arrays.
    Cell("read-only array, written", "scale(ro, 2.0)", as_cpython(same_message=True)),
    Cell("read-only array, read", "total(ro)", as_cpython()),
    Cell("read-only array, bad index", "put(ro, 10, 1.0)", as_cpython(same_message=True)),
    Cell("read-only broadcast view", "scale(np.broadcast_to(x[:1], (4,)), 2.0)", as_cpython(same_message=True)),
    Cell("read-only array, no write", "scale(ro[:0], 2.0)", as_cpython()),
    Cell("unaligned array, read (copied)", "total(unaligned)", as_cpython()),
    Cell("unaligned strided view, read (copied)", "grid_checksum(unaligned[::-2].reshape(1, 3))", as_cpython()),
    Cell("unaligned array, written", "scale(unaligned, 2.0)",
         raises(TypeError, "'a'", "float64", "not aligned", "stores into it")),
    Cell("read-only array, written through a row view", "scale_rows(ro.reshape(1, 5), 2.0)",
         as_cpython(same_message=True)),
    Cell("unaligned array, written through a row view", "scale_rows(unaligned.reshape(1, 5), 2.0)",
         raises(TypeError, "'g'", "float64", "not aligned", "stores into it")),
    Cell("array written through a row view", "scale_rows(m.copy(), 2.0)", as_cpython()),
    # Arrays returned and values stored.
    Cell("the array passed in, returned", "same(x) is x", as_cpython()),
    Cell("int in range of int8", "store_int(np.zeros(3, dtype=np.int8), 1, -128)", as_cpython()),
    Cell("int 300 into int8", "store_int(np.zeros(3, dtype=np.int8), 1, 300)", as_cpython(same_message=True)),
    Cell("float into int64, truncated", "store_float(counts, 2, -2.7)", as_cpython()),
    Cell("nan into int64", "store_float(counts, 2, math.nan)", as_cpython(same_message=True)),
    Cell("1e20 into int64", "store_float(counts, 2, 1e20)", as_cpython(same_message=True)),
    # Indices out of range.
    Cell("index == length", "at(x, 9)", as_cpython(same_message=True)),
    Cell("index < -length", "at(x, -10)", as_cpython(same_message=True)),
    Cell("index == -length", "at(x, -9)", as_cpython()),
    Cell("write past the end", "put(x, 9, 1.0)", as_cpython(same_message=True)),
    Cell("second axis out of range", "at2(m, 3, -7)", as_cpython(same_message=True)),
    Cell("index 2**62", "at(x, 2**62)", as_cpython(same_message=True)),
    # Zero divisors.
    Cell("int // 0", "floor_div(7, 0)", as_cpython(same_message=True)),
    Cell("int % 0", "modulo(7, 0)", as_cpython(same_message=True)),
    Cell("int / 0", "true_div(7, 0)", as_cpython(same_message=True)),
    Cell("float // 0.0", "float_floor_div(7.5, 0.0)", as_cpython(same_message=True)),
    Cell("float % -0.0", "float_modulo(7.5, -0.0)", as_cpython(same_message=True)),
    Cell("float / 0.0", "float_true_div(-0.0, 0.0)", as_cpython(same_message=True)),
    # NumPy would warn and return 0 or inf for its scalars; compiled code
    # treats int64 and float64 elements as Python ints and floats.
    Cell("int64 element // 0", "element_floor_div(counts, 4, 3)",
         raises(ZeroDivisionError, "integer division or modulo by zero")),
    Cell("float64 element / 0.0", "element_true_div(np.array([3.0, 0.0]), 0, 1)",
         raises(ZeroDivisionError, "float division by zero")),
    # Math domain and range errors.
    Cell("math.sqrt(-1)", "square_root(-1.0)", as_cpython(same_message=True)),
    Cell("math.log(0)", "logarithm(0.0)", as_cpython(same_message=True)),
    Cell("math.log(-1)", "logarithm(-1.0)", as_cpython(same_message=True)),
    Cell("math.acos(1.5)", "arc_cosine(1.5)", as_cpython(same_message=True)),
    Cell("math.exp(1000)", "exponential(1000.0)", as_cpython(same_message=True)),
    Cell("math.sqrt(nan)", "square_root(math.nan)", as_cpython()),
    # Recursion.
    Cell("recursion 900 deep", "depth(900)", as_cpython(), module="bad_calls_recursion"),
    Cell("recursion 10**6 deep", "depth(10**6)", as_cpython("maximum recursion depth exceeded"),
         module="bad_calls_recursion"),
    Cell("runaway recursion", "forever(0)", as_cpython("maximum recursion depth exceeded"),
         module="bad_calls_recursion"),
    Cell("runaway mutual recursion", "ping(10**6)", as_cpython("maximum recursion depth exceeded"),
         module="bad_calls_recursion"),
    Cell("recursion past a float frame", "countdown_sum(10**6)", as_cpython("maximum recursion depth exceeded"),
         module="bad_calls_recursion"),
    Cell("raised limit, 4000 deep", "with_recursion_limit(5000, lambda: depth(4000))", as_cpython(),
         module="bad_calls_recursion"),
    Cell("raised limit, 6000 deep", "with_recursion_limit(5000, lambda: depth(6000))",
         as_cpython("maximum recursion depth exceeded"), module="bad_calls_recursion"),
    Cell("raised limit, 150000 deep", "with_recursion_limit(200_000, lambda: depth(150_000))",
         equals("150_000", "150000 (CPython: the same)"), module="bad_calls_recursion"),
    Cell("900 deep, calling Python at each level", "callback_depth(900, lambda x: x * 0.5)",
         as_cpython(), module="bad_calls_recursion"),
    Cell("900 deep on a 32 KiB thread", "in_thread(32768, lambda: depth(900))",
         equals("900", "900 (CPython: the same)"), module="bad_calls_recursion"),
    Cell("runaway on a 32 KiB thread", "in_thread(32768, lambda: forever(0))",
         raises(RecursionError, "maximum recursion depth exceeded"), module="bad_calls_recursion"),
    # A Python int leaving 64 bits raises OverflowError naming the operation
    # (CPython's ints grow; NumPy's int64 wraps); results that fit are exact.
    Cell("2**62 * 4", "multiply(2**62, 4)", raises(OverflowError, "int result of *", "64 bits")),
    Cell("2**62 * -2", "multiply(2**62, -2)", as_cpython()),
    # A list whose element type is settled after another variable took it
    # would be replaced behind that variable's back.
    Cell("a list shared before its type is known", "shared_before_typed(3)",
         raises(TypeError, "annotate that variable", "list[int]")),
    # `d[k] = d.get(k, default) * 2` searches the dict once; an overflow
    # stores nothing, for a present key and for a new one.
    Cell("d[k] = d.get(k, 2**62) * 2", "double_entry({7: 2**62}, 7)", raises(OverflowError, "int result of *")),
    Cell("... leaves a present key", "state_after(double_entry, {7: 2**62}, 7)",
         equals("({7: 2**62}, 7)", "({7: 2**63}, 7) in CPython")),
    Cell("... adds no new key", "state_after(double_entry, {7: 1}, 8)",
         equals("({7: 1}, 8)", "({7: 1, 8: 2**63}, 8) in CPython")),
    Cell("... and stores what fits", "state_after(double_entry, {7: 5}, 7)", as_cpython()),
    Cell("(2**63 - 1) + 1", "add(2**63 - 1, 1)", raises(OverflowError, "int result of +", "64 bits")),
    Cell("-2**63 + (2**63 - 1)", "add(-2**63, 2**63 - 1)", as_cpython()),
    Cell("-(-2**63)", "negate(-2**63)", raises(OverflowError, "int result of unary -")),
    # A chain of checked operations raises for the first one that overflows.
    Cell("2**62 * 2654435761 + ...", "hash_chain(2**62, 1, 1)", raises(OverflowError, "int result of *", "64 bits")),
    Cell("... + 2**62 * 2**2", "hash_chain(1, 2**62, 4)", raises(OverflowError, "int result of *", "64 bits")),
    Cell("2**31 * 2654435761 + 2**62 * 1", "hash_chain(2**31, 2**62, 1)", raises(OverflowError, "int result of +", "64 bits")),
    Cell("0 + (-2**63 + 6) * 1 - 7", "hash_chain(0, -2**63 + 6, 1)", raises(OverflowError, "int result of -", "64 bits")),
    Cell("a chain that fits", "hash_chain(-3, 2**40, -5)", as_cpython()),
    Cell("a chain in a loop, overflowing at i = 50", "hashed_steps(2**53 - 50, 100)", raises(OverflowError, "int result of *", "64 bits")),
    Cell("a chain in a loop that fits", "hashed_steps(2**53 - 50, 50)", as_cpython()),
    Cell("3 ** 41", "power(3, 41)", raises(OverflowError, "int result of **")),
    Cell("3 ** 39", "power(3, 39)", as_cpython()),
    Cell("(-2) ** 63", "power(-2, 63)", as_cpython()),
    Cell("-2**63 // -1", "floor_div(-2**63, -1)", raises(OverflowError, "int result of //")),
    Cell("1 << 63", "shift_left(1, 63)", raises(OverflowError, "int result of <<", "64 bits")),
    Cell("-1 << 63", "shift_left(-1, 63)", as_cpython()),
    Cell("5 << -1", "shift_left(5, -1)", as_cpython("negative shift count")),
    Cell("-2**63 % -1", "modulo(-2**63, -1)", as_cpython()),
    Cell("20!", "factorial(20)", as_cpython()),
    Cell("21!", "factorial(21)", raises(OverflowError, "int result of *")),
    Cell("product of int64 elements", "element_product(np.full(3, 2**62))",
         raises(OverflowError, "int result of *")),
    Cell("int ** negative int", "power(2, -1)",
         raises(ValueError, "Integers to negative integer powers are not allowed.")),
    # NumPy scalars fold into Python's int and float.
    Cell("max(float, 0)", "clamp_low(-2.5)", equals("0.0", "0.0 (CPython: the int 0)")),
    Cell("max(float, 0), float wins", "clamp_low(3.5)", as_cpython()),
)


# ---------------------------------------------------------------------------
# Running one cell
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None
    inputs: dict[str, object] = field(default_factory=dict)


def evaluate(call: str, functions: dict[str, object]) -> Outcome:
    inputs = fresh_inputs()
    namespace: dict[str, object] = {
        "np": np,
        "math": math,
        "in_thread": in_thread,
        "state_after": state_after,
        "with_recursion_limit": with_recursion_limit,
    }
    namespace.update(functions)
    namespace.update(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = eval(call, namespace)  # noqa: S307 - the matrix is this file's own text
            return Outcome(value=value, inputs=inputs)
        except Exception as error:  # noqa: BLE001 - any exception is an outcome
            return Outcome(error=error, inputs=inputs)


def show_outcome(outcome: Outcome) -> str:
    if outcome.error is not None:
        return show_error(outcome.error)
    return short(outcome.value)


def show_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def short(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of {value.dtype}, shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fragments_missing(error: BaseException, fragments: tuple[str, ...]) -> list[str]:
    message = str(error)
    return [fragment for fragment in fragments if fragment not in message]


def check_cell(cell: Cell, reference: types.ModuleType, compiled: types.ModuleType) -> tuple[str, list[str]]:
    """Runs one cell; returns what the compiled call did and the problems found."""
    got = evaluate(cell.call, exported_functions(compiled))
    shown = show_outcome(got)
    problems: list[str] = []
    expect = cell.expect

    if isinstance(expect, Raises):
        if got.error is None:
            problems.append(f"expected {expect.error.__name__}, got the result {short(got.value)}")
        elif type(got.error) is not expect.error:
            problems.append(f"expected {expect.error.__name__}, got {type(got.error).__name__}")
        else:
            missing = fragments_missing(got.error, expect.fragments)
            if missing:
                problems.append(f"the message does not mention {', '.join(missing)}")
        return shown, problems

    if isinstance(expect, Equals):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            wanted = eval(expect.expression, {"np": np, "math": math})  # noqa: S307
        if got.error is not None:
            problems.append(f"expected {short(wanted)}, got {show_error(got.error)}")
        else:
            mismatch = describe_mismatch(wanted, got.value)
            if mismatch:
                problems.append(mismatch)
        return shown, problems

    oracle = evaluate(cell.call, exported_functions(reference))
    if oracle.error is not None:
        if got.error is None:
            problems.append(f"CPython raised {show_error(oracle.error)}, the compiled call returned {short(got.value)}")
        elif type(got.error) is not type(oracle.error):
            problems.append(f"CPython raised {show_error(oracle.error)}, the compiled call raised {show_error(got.error)}")
        elif expect.same_message and str(got.error) != str(oracle.error):
            problems.append(f"CPython's message is {str(oracle.error)!r}")
        else:
            missing = fragments_missing(got.error, expect.fragments)
            if missing:
                problems.append(f"the message does not mention {', '.join(missing)}")
    elif got.error is not None:
        problems.append(f"CPython returned {short(oracle.value)}, the compiled call raised {show_error(got.error)}")
    else:
        mismatch = describe_mismatch(oracle.value, got.value)
        if mismatch:
            problems.append(mismatch)
    for name, value in oracle.inputs.items():
        mismatch = describe_mismatch(value, got.inputs[name], name)
        if mismatch:
            problems.append(f"the inputs differ after the call: {mismatch}")
    return shown, problems


# ---------------------------------------------------------------------------
# Child: the cells of one module
# ---------------------------------------------------------------------------


def run_module(module: str, compiled_dir: Path, start: int, allow_source_modules: bool) -> int:
    """Prints one JSON line before and one after each cell of `module` from
    index `start`, so that the parent can tell which cell a crash interrupted."""
    faulthandler.enable()
    cells = [cell for cell in CELLS if cell.module == module]
    try:
        reference = import_reference(FIXTURES / f"{module}.py")
        compiled = import_compiled(module, compiled_dir, allow_source_modules)
    except ImportProblem as problem:
        print(json.dumps({"import_problem": str(problem)}), flush=True)
        return 1
    for index in range(start, len(cells)):
        print(json.dumps({"start": index}), flush=True)
        got, problems = check_cell(cells[index], reference, compiled)
        print(json.dumps({"done": index, "got": got, "problems": problems}), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Parent: a child process per module, restarted after a crash
# ---------------------------------------------------------------------------


@dataclass
class Result:
    cell: Cell
    got: str
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        if self.cell.known_gap is None:
            return "ok" if self.passed else "FAIL"
        return "FIXED?" if self.passed else "FIXME"

    @property
    def counts_as_failure(self) -> bool:
        return self.status in ("FAIL", "FIXED?")


def run_module_in_children(module: str, args: argparse.Namespace) -> list[Result]:
    cells = [cell for cell in CELLS if cell.module == module]
    results: list[Result] = []
    start = 0
    while start < len(cells):
        command = [sys.executable, str(Path(__file__).resolve()), "--child", module,
                   "--start", str(start), "--compiled-dir", str(args.compiled_dir)]
        if args.allow_source_modules:
            command.append("--allow-source-modules")
        try:
            child = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                                   stdin=subprocess.DEVNULL)
            stdout, stderr, status = child.stdout, child.stderr, child.returncode
            timed_out = False
        except subprocess.TimeoutExpired as timeout:
            stdout = output_text(timeout.stdout)
            stderr = output_text(timeout.stderr)
            status, timed_out = None, True
        running = None
        for line in stdout.splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "import_problem" in message:
                for cell in cells[start:]:
                    results.append(Result(cell, "(not run)", [message["import_problem"]]))
                return results
            if "start" in message:
                running = message["start"]
            elif "done" in message:
                results.append(Result(cells[message["done"]], message["got"], message["problems"]))
                running = None
        if running is None and status == 0:
            break
        if running is None:
            running = len(results)
            if running >= len(cells):
                break
        if timed_out:
            what = f"timed out after {args.timeout:g}s"
        elif status is not None and status < 0:
            what = f"crashed: {signal_name(-status) or f'signal {-status}'}"
        else:
            what = f"exited with status {status}"
        detail = [f"the test process {what}"]
        tail = _stderr_tail(stderr)
        if tail:
            detail.append(tail)
        results.append(Result(cells[running], what, detail))
        start = running + 1
    return results


def _stderr_tail(stderr: str) -> str:
    """The first lines of what the crashed process wrote: the fatal error and
    the innermost frames faulthandler printed."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return "\n".join(lines[:6])


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


COLUMNS = ("bad input", "call", "expected", "got", "ok")


def table_rows(results: list[Result]) -> list[tuple[str, ...]]:
    return [(r.cell.bad_input, r.cell.call, r.cell.expect.describe(), r.got, r.status) for r in results]


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(COLUMNS)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(COLUMNS, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    def escape(text: str, code: bool) -> str:
        text = text.replace("|", "\\|")
        return f"`{text}`" if code and text else text

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for bad_input, call, expected, got, status in rows:
        lines.append("| " + " | ".join((
            escape(bad_input, False), escape(call, True), escape(expected, False),
            escape(got, True), status,
        )) + " |")
    return "\n".join(lines)


def check_doc(doc: Path, table: str, update: bool) -> str | None:
    """Compares (or replaces) the matrix in `doc`; returns a problem or None."""
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(DOC_BEGIN) + r"\n(.*?)" + re.escape(DOC_END), re.S)
    match = pattern.search(text)
    if match is None:
        return f"{doc} has no {DOC_BEGIN} ... {DOC_END} section for the matrix"
    if match.group(1) == table + "\n":
        return None
    if update:
        doc.write_text(text[:match.start(1)] + table + "\n" + text[match.end(1):], encoding="utf-8")
        print(f"updated the matrix in {doc}")
        return None
    return (f"the matrix in {doc} differs from the one above; run "
            f"tests/harness/badcalls.py --compiled-dir OUT --doc {doc} --update-doc")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled-dir", required=True, type=Path,
                        help="directory holding the compiled bad_calls modules")
    parser.add_argument("--doc", type=Path, help="Markdown file whose matrix must match")
    parser.add_argument("--update-doc", action="store_true", help="rewrite the matrix in --doc")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed for one child process (default 300)")
    parser.add_argument("--allow-source-modules", action="store_true",
                        help="accept .py modules in the compiled dir; only for testing this harness")
    parser.add_argument("--child", choices=MODULES, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.dont_write_bytecode = True
    if not args.compiled_dir.is_dir():
        parser.error(f"--compiled-dir {args.compiled_dir} is not a directory")
    if args.child:
        return run_module(args.child, args.compiled_dir, args.start, args.allow_source_modules)

    results: list[Result] = []
    for module in MODULES:
        results.extend(run_module_in_children(module, args))
    rows = table_rows(results)
    print(text_table(rows))

    failures = [r for r in results if r.counts_as_failure]
    gaps = [r for r in results if r.status == "FIXME"]
    for result in failures + gaps:
        print()
        print(f"{result.status} {result.cell.bad_input}: {result.cell.call}")
        for problem in result.problems:
            print("     " + problem.replace("\n", "\n     "))
        if result.cell.known_gap is not None:
            if result.passed:
                print("     this cell passes now: remove its known_gap mark")
            else:
                print(f"     known gap: {result.cell.known_gap}")

    failed = len(failures)
    if args.doc is not None:
        problem = check_doc(args.doc, markdown_table(rows), args.update_doc)
        if problem:
            print()
            print(f"FAIL {problem}")
            failed += 1
    print()
    if gaps:
        print(f"{len(gaps)} known gaps (FIXME) not counted as failures")
    print(f"{len(results) - len(failures) - len(gaps)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
