"""Differential test of ferropy's whole-array NumPy support against NumPy.

    python tests/harness/array_functions.py --ferropy PATH [--python-for-build PY] \\
        [--seed S] [--full] [--work DIR] [--only PATTERN] [--print] [--verbose]

Generates one module of small exported kernels, one per supported function
or operator x dtype (or dtype pair) x rank, each with a few calls on random
inputs, builds it once with `ferropy build`, and compares every call of the
compiled module with the same call of the source under CPython and NumPy.

What is covered
---------------
Element-wise operators (`+ - * / // % ** & | ^ << >>`, unary `-` and `~`,
comparisons) between arrays of the same and of different dtypes, against
Python scalars (weak in NumPy 2's promotion, NEP 50) on either side, and
between broadcasting shapes ((3, 1) with (1, 4), (5,) with (2, 5)); every
ufunc ferropy compiles on arrays (`np.sqrt` ... `np.right_shift`, `np.where`,
`np.clip`); the builtins `abs`, `min`, `max`, `sum`, `any`, `all` of arrays;
the reductions `np.sum` ... `np.cumprod` as functions and as methods, with
`axis=`, `keepdims=` and `ddof=`; `reshape`, `ravel`, `flatten`, `.T`,
`transpose`, `astype`, `copy` (and writes through views); `np.arange`,
`np.linspace`, `np.eye`, `np.identity`, `np.zeros`/`ones`/`empty`/`full` and
their `_like` forms; `np.dot`, `@`, `np.outer`, `np.trace`; boolean masks and
integer index arrays, read and written (beside ints and slices on any axis,
several at once on 3-D arrays); slices, `None`, `...`, slice
assignment (overlapping too) and in-place operators. Dtypes are float64,
float32, int64, int32, uint8 and bool (and int8, int16, uint16, uint64 here
and there); complex128 and complex64 arrays (`cx_` kernels, finite inputs)
with their ufuncs, operators against real arrays and Python scalars,
reductions, parts and creation. Inputs include empty arrays, 1-element arrays, strided views
(`x[::2]`), reversed views (`x[::-1]`), transposed 2-D arrays, read-only
views with a zero stride (`np.broadcast_to`), and the
inputs NumPy raises on: shapes that do not broadcast (ValueError), argmax of
an empty array (ValueError), integer powers with a negative exponent
(ValueError), masks of the wrong shape and indices out of range
(IndexError), Python ints out of range for a small dtype (OverflowError).

The oracle
----------
NumPy's result is the reference. A call passes when both sides raise
exceptions of the same type (a NumPy-specific exception class, such as
`AxisError` or `UFuncTypeError`, is also matched by its first built-in base
class: ValueError, TypeError), or when both return and the results agree by
`_ferropy_harness.describe_mismatch`: arrays of the same dtype and shape,
floats within RTOL (8 ulps for float32), everything else exactly; NumPy
scalars and the Python scalars compiled code returns are interchangeable.
Every argument array must also be equal on both sides after the call.

Kernels whose calls make NumPy raise TypeError (no loop for those dtypes, an
unsafe cast of an in-place result) or give float16 (float functions of small
integers, which ferropy refuses) are not built: `ferropy check` must reject
each of them with a diagnostic, or, if it accepts one, the kernel is built
and compared like the others (raising TypeError at run time is fine too).
A kernel NumPy runs but `ferropy check` rejects is a failure.

Reproducibility
---------------
Each kernel's inputs are drawn from `random.Random(f"{seed}:{kernel}")`, so
a case depends only on the seed and its name. The generator makes about 3000
kernels; `--full` builds them all (about 5 minutes on two cores). Without it
a run draws, per family (one function or operator), its first kernel
(float64 or the commonest dtypes, 1-D) and a few others by the seed
(`QUOTAS`), plus the `PINNED` kernels that reach NumPy's errors: about 400
kernels, one build of about a minute. Other seeds draw other dtypes, ranks
and forms. `--only PATTERNS` (comma-separated fnmatch patterns of kernel
names) runs the kernels they match out of all ~3000, whatever the draw;
`--print` writes the module and the calls without building.

Known failures
--------------
`KNOWN_FAILURES` maps case patterns (`kernel[call]`, fnmatch) to the reason:
real compiler bugs that are reported but not fixed yet. Such a case is still
run; if it fails it counts as a known failure, if it passes the report says
so (remove it from the list). `KNOWN_BUILD_FAILURES` names kernels whose
generated Rust does not compile (tried only with `--full`, in a module of
their own) and `KNOWN_UNSUPPORTED` kernels ferropy refuses on purpose with a
diagnostic although NumPy runs them. The exit status is 1 when any other
case failed: a wrong value, dtype, shape or exception, a crash, a kernel
NumPy runs that ferropy refuses, or a kernel whose build fails.

Output: one block per failure (the kernel, the inputs, NumPy's outcome and
the compiled outcome), then `N passed, M failed` (known failures reported
separately).
"""

from __future__ import annotations

import argparse
import builtins
import fnmatch
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(HARNESS_DIR))

# Real compiler bugs, found by this test and not fixed yet: the cases still
# run, but a failure there does not fail the test. A pattern is an fnmatch
# pattern of kernel names, optionally followed by `[label]`: one call (its
# label exactly) of those kernels.
KNOWN_FAILURES: dict[str, str] = {
    # complex64 ** complex: exp(b * log(a)) in float32, as glibc's cpowf, but
    # its clogf rounds differently: the last float32 digits differ.
    "cx_s_pow_c8_*": "complex64 powers differ from glibc's cpowf beyond 8 float32 ulps",
    "cx_op_pow_c8_c8_*": "complex64 powers differ from glibc's cpowf beyond 8 float32 ulps",
    # NumPy picks a float ufunc's loop by the inputs, not by their promoted
    # dtype: int8 with uint16 (int32 when promoted) runs the float32 loop.
    "b_arctan2_i1_u2_*": "np.arctan2(int8, uint16) is float32 in NumPy; compiled code gives "
                         "float64",
    "b_hypot_i1_u2_*": "np.hypot(int8, uint16) is float32 in NumPy; compiled code gives float64",
    "b_copysign_i1_u2_*": "np.copysign(int8, uint16) is float32 in NumPy; compiled code gives "
                          "float64",
    "s_op_pow_b_intr": "bool array ** 2 is int8 in NumPy (its fast path for ** 2 is "
                       "np.square, int8 for bool); compiled code gives int64",
    # NumPy checks the value's shape before the indices.
    "ix_idxwritecount_*[neg_out]": "a[idx] = a[:2] with idx = [-7] on 6 elements: NumPy raises "
                                   "ValueError (shape mismatch) before looking at the index; "
                                   "compiled code raises IndexError",
    # The builtin sum of an empty array is the int 0.
    "bi_sum_f*_1d[empty]": "builtin sum of an empty float array is the int 0 in CPython; "
                           "compiled code returns 0.0",
    "bi_sum_*_2d[0x3]": "builtin sum of a (0, 3) array is the int 0 in CPython; compiled code "
                        "returns zeros(3)",
}

# Kernels (fnmatch over kernel names) for which ferropy generates Rust that
# does not compile: a compiler bug, not fixed yet. They are built in a module
# of their own, so that the main module builds once; if that module builds,
# their calls are compared like the others.
KNOWN_BUILD_FAILURES: dict[str, str] = {}

# Kernels (fnmatch over kernel names) that NumPy runs but ferropy refuses on
# purpose, with a diagnostic saying so: limitations, not wrong results. Each
# is still checked; once ferropy accepts one it is built and compared.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "la_*_b_b": "bool matrix products (FP0505)",
    "b_op_lsh_b_b_*": "shifts of bool arrays (FP0502)",
    "b_op_rsh_b_b_*": "shifts of bool arrays (FP0502)",
    "b_left_shift_b_b_*": "shifts of bool arrays (FP0502)",
    "b_right_shift_b_b_*": "shifts of bool arrays (FP0502)",
    "cx_log10_*": "complex log10 is not compiled (FP0507)",
    "cx_arcsin_*": "complex arcsin is not compiled (FP0507)",
    "cx_sign_*": "complex sign is not compiled (FP0507)",
    "cx_op_lt_*": "ordering comparisons of complex arrays (FP0502)",
    "cx_s_lt_*": "ordering comparisons of complex arrays (FP0502)",
    "cx_r_max_*": "max of complex arrays (FP0507)",
    "cx_r_argmin_*": "argmin of complex arrays (FP0507)",
    "cx_r_cumsum_*": "cumsum of complex arrays (FP0507)",
    "cx_rint_*": "rint of complex arrays (FP0507)",
}

# ---------------------------------------------------------------------------
# Dtypes and input values
# ---------------------------------------------------------------------------

F8, F4, I8, I4, U1, B = "float64", "float32", "int64", "int32", "uint8", "bool"
I1, I2, U2, U8 = "int8", "int16", "uint16", "uint64"
C16, C8 = "complex128", "complex64"
SHORT = {F8: "f8", F4: "f4", I8: "i8", I4: "i4", U1: "u1", B: "b", I1: "i1", I2: "i2",
         U2: "u2", U8: "u8", C16: "c16", C8: "c8"}
INT_RANGE = {I1: (-128, 127), I2: (-32768, 32767), I4: (-(2**31), 2**31 - 1),
             I8: (-(2**63), 2**63 - 1), U1: (0, 255), U2: (0, 65535), U8: (0, 2**64 - 1)}


def is_float(dtype: str) -> bool:
    return dtype in (F8, F4)


def is_int(dtype: str) -> bool:
    return dtype in INT_RANGE


def is_complex(dtype: str) -> bool:
    return dtype in (C16, C8)


def value_text(dtype: str, value) -> str:
    if is_complex(dtype):
        return f"complex({value_text(F8, value.real)}, {value_text(F8, value.imag)})"
    if dtype == B:
        return "True" if value else "False"
    if is_float(dtype):
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(float(value))
    return str(int(value))


class Values:
    """Draws element values of one dtype in one domain."""

    SPECIALS = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, math.nan, math.inf, -math.inf]

    def __init__(self, rng: random.Random):
        self.rng = rng

    def one(self, dtype: str, domain: str):
        rng = self.rng
        if is_complex(dtype):
            # Finite parts: C's special values of complex functions (cexp of
            # inf + nan j, ...) are not compiled.
            parts = [self.one(F8, "exact" if domain == "any" else domain) for _ in range(2)]
            parts = [p if math.isfinite(p) else 1.0 for p in parts]
            return complex(parts[0], parts[1])
        if dtype == B:
            return rng.random() < 0.5
        if is_int(dtype):
            low, high = INT_RANGE[dtype]
            if domain == "shift":
                bits = {I1: 8, U1: 8, I2: 16, U2: 16, I4: 32, I8: 64, U8: 64}[dtype]
                return min(max(rng.choice([0, 1, 2, 3, 5, bits - 1, bits, bits + 3, -1]), low),
                           high)
            if domain == "exponent":
                return min(max(rng.randint(0, 4), low), high)
            if domain == "exact":
                return rng.randint(max(low, -6), min(high, 9))
            if domain == "nonzero":
                return rng.choice([v for v in range(max(low, -9), min(high, 9) + 1) if v])
            if rng.random() < 0.15:
                return rng.choice([low, high, low + 1, high - 1])
            return rng.randint(max(low, -20), min(high, 20))
        # floats
        if domain == "exact":
            return rng.randint(-16, 16) / 2
        if domain == "prod":
            return rng.choice([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 0.0])
        if domain == "exponent":
            return rng.choice([0.0, 1.0, 2.0, 0.5, -1.0, -0.5, 3.0, round(rng.uniform(-3, 3), 2)])
        if domain == "unit":
            return rng.choice([round(rng.uniform(-1.2, 1.2), 3), 1.0, -1.0, 0.0, math.nan])
        if domain == "ge1":
            return rng.choice([round(rng.uniform(0.5, 9), 3), 1.0, math.inf, math.nan])
        if domain == "wide":
            if rng.random() < 0.2:
                return rng.choice(self.SPECIALS)
            return round(rng.uniform(-120, 120), 2)
        if domain == "nonzero":
            return rng.choice([v for v in range(-9, 10) if v]) / 2
        if domain == "cast":
            return rng.choice([round(rng.uniform(0, 120), 2), 0.0, -0.0, 0.5, -0.5, 2.5, 99.99])
        if rng.random() < 0.25:
            return rng.choice(self.SPECIALS)
        if rng.random() < 0.3:
            return float(rng.randint(-9, 9))
        return round(rng.uniform(-10, 10), 3)


@dataclass
class Arg:
    """One argument: setup statements and the expression passed."""

    setup: list[str]
    expr: str


class Inputs:
    """Array inputs of a kernel's calls, rendered as Python source."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.values = Values(rng)
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        return f"x{self.count}"

    def array(self, dtype: str, shape: tuple[int, ...], domain: str = "any",
              view: str = "", full: bool = False) -> Arg:
        """An array of `shape` as the argument; `view` makes it a view of a
        larger base: "step" (x[::2]), "rev" (x[::-1]), "T" (x.T, 2-D),
        "revstep" (x[::-1, ::2], 2-D)."""
        name = self.fresh()
        if view == "step":
            base = (shape[0] * 2 - 1 if shape[0] else 0,) + shape[1:]
            expr = f"{name}[::2]"
        elif view == "rev":
            base, expr = shape, f"{name}[::-1]"
        elif view == "T":
            base, expr = tuple(reversed(shape)), f"{name}.T"
        elif view == "revstep":
            base, expr = (shape[0], shape[1] * 2), f"{name}[::-1, ::2]"
        elif view == "bcast":
            # A read-only view with a zero stride on its first axis.
            base, expr = (1,) + shape[1:], f"np.broadcast_to({name}, {shape})"
        else:
            base, expr = shape, name
        size = 1
        for n in base:
            size *= n
        items = [value_text(dtype, self.values.one(dtype, domain)) for _ in range(size)]
        np_dtype = "bool" if dtype == B else f"np.{dtype}"
        text = f"np.array([{', '.join(items)}], dtype={np_dtype})"
        if len(base) != 1:
            text += f".reshape{base}"
        return Arg([f"{name} = {text}"], expr)


@dataclass
class Call:
    label: str
    args: list[Arg]

    def setup(self) -> list[str]:
        return [line for arg in self.args for line in arg.setup]

    def run(self, kernel: str) -> str:
        return f"{kernel}({', '.join(a.expr for a in self.args)})"


@dataclass
class Kernel:
    name: str
    family: str
    params: list[tuple[str, str]]
    body: list[str]
    calls: list[Call] = field(default_factory=list)

    def source(self) -> str:
        params = ", ".join(f'{n}: "{t}"' if "[" in t else f"{n}: {t}" for n, t in self.params)
        lines = [f"def {self.name}({params}):"] + [f"    {line}" for line in self.body]
        return "\n".join(lines) + "\n"


def scalar(text: str) -> Arg:
    return Arg([], text)


# Shapes of 1-D and 2-D calls: (label, shape, view).
SHAPES_1D = [("n7", (7,), ""), ("empty", (0,), ""), ("one", (1,), ""), ("step", (6,), "step"),
             ("rev", (5,), "rev"), ("bcast", (4,), "bcast")]
SHAPES_2D = [("3x4", (3, 4), ""), ("0x3", (0, 3), ""), ("1x1", (1, 1), ""), ("T", (3, 5), "T"),
             ("revstep", (2, 3), "revstep"), ("bcast", (3, 4), "bcast")]


def shapes_for(rank: int):
    return SHAPES_1D if rank == 1 else SHAPES_2D


def ann(dtype: str, rank: int) -> str:
    return f"{dtype}[{', '.join([':'] * rank)}]"


# Pairs of shapes for binary operations: (label, shape a, view a, shape b, view b).
PAIRS_11 = [("n6", (6,), "", (6,), ""), ("empty", (0,), "", (0,), ""),
            ("bcast1", (1,), "", (5,), "rev"), ("bcast0", (0,), "", (1,), ""),
            ("views", (4,), "step", (4,), "rev"), ("mismatch", (3,), "", (4,), "")]
PAIRS_22 = [("3x1_1x4", (3, 1), "", (1, 4), ""), ("T", (3, 4), "T", (3, 4), "revstep"),
            ("0x4_1x4", (0, 4), "", (1, 4), ""), ("mismatch", (2, 3), "", (3, 2), "")]
PAIRS_12 = [("5_2x5", (5,), "", (2, 5), ""), ("1_2x3T", (1,), "", (2, 3), "T"),
            ("4_2x5", (4,), "", (2, 5), "")]

# ---------------------------------------------------------------------------
# The kernels
# ---------------------------------------------------------------------------

UNARY_FLOAT = ["sqrt", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sin", "cos",
               "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
               "arctanh", "deg2rad", "radians", "rad2deg", "degrees"]
UNARY_OTHER = ["floor", "ceil", "trunc", "rint", "round", "around", "abs", "absolute", "fabs",
               "sign", "square", "isnan", "isinf", "isfinite", "logical_not"]
DOMAIN = {"arcsin": "unit", "arccos": "unit", "arctanh": "unit", "arccosh": "ge1",
          "exp": "wide", "exp2": "wide", "expm1": "wide", "sinh": "wide", "cosh": "wide"}
BINARY_UFUNCS = ["arctan2", "hypot", "copysign", "minimum", "maximum", "logical_and",
                 "logical_or", "logical_xor", "add", "subtract", "multiply", "divide",
                 "true_divide", "floor_divide", "mod", "remainder", "power", "bitwise_and",
                 "bitwise_or", "bitwise_xor", "left_shift", "right_shift"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<<", ">>"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]
OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "fdiv", "%": "mod",
            "**": "pow", "&": "and", "|": "or", "^": "xor", "<<": "lsh", ">>": "rsh",
            "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
BITWISE = {"&", "|", "^", "<<", ">>", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
           "right_shift"}
SHIFTS = {"<<", ">>", "left_shift", "right_shift"}
POWERS = {"**", "power"}

# dtypes of unary functions and reductions, the first always generated.
UNARY_DTYPES = [F8, F4, I8, I4, U1, B, I1]
# dtype pairs of binary operations, the first always generated.
PAIR_DTYPES = [(F8, F8), (F4, F4), (I8, I8), (I4, I4), (U1, U1), (B, B), (F4, F8), (I4, F4),
               (U1, I8), (B, I4), (I8, F8), (I4, I8), (U1, F4), (I8, U8), (I1, U2)]
INT_PAIR_DTYPES = [(I8, I8), (I4, I4), (U1, U1), (B, B), (I4, I8), (U1, I8), (B, I4), (I1, U2),
                   (U1, I4)]
REDUCTION_DTYPES = [F8, F4, I8, I4, U1, B, I1]
# Ufuncs of complex arrays (those NumPy does not define for complex numbers
# too: each must be a diagnostic).
COMPLEX_UNARY = ["sqrt", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "square",
                 "abs", "absolute", "conj", "conjugate", "real", "imag", "angle",
                 "isnan", "isinf", "isfinite", "logical_not", "log10", "arcsin", "sign",
                 "floor", "rint", "fabs", "deg2rad"]
# dtype pairs of complex operations: NumPy 2 promotion with real arrays.
COMPLEX_PAIRS = [(C16, C16), (C8, C8), (C8, F8), (F4, C8), (I4, C16), (C8, C16), (I8, C8),
                 (B, C16)]


class Generator:
    def __init__(self, seed: int):
        self.seed = seed
        self.kernels: list[Kernel] = []
        self.names: set[str] = set()

    def sample(self, variants: list, keep: int) -> list:
        """Every variant: `select` draws the kernels of a run afterwards, so a
        kernel's name and inputs do not depend on which others are run."""
        return list(variants)

    def kernel(self, name: str, family: str, params: list[tuple[str, str]],
               body: list[str] | str) -> tuple[Kernel, Inputs]:
        name = re.sub(r"\W", "_", name)
        assert name not in self.names, name
        self.names.add(name)
        kernel = Kernel(name, family, params, [body] if isinstance(body, str) else body)
        self.kernels.append(kernel)
        return kernel, Inputs(random.Random(f"{self.seed}:{name}"))

    # -- element-wise ------------------------------------------------------

    def unary_calls(self, kernel: Kernel, inputs: Inputs, dtype: str, rank: int,
                    domain: str, extra: list[Arg] = ()) -> None:
        for label, shape, view in shapes_for(rank):
            kernel.calls.append(Call(label, [inputs.array(dtype, shape, domain, view)] +
                                     list(extra)))

    def unary(self) -> None:
        for func in UNARY_FLOAT + UNARY_OTHER:
            dtypes = self.sample(UNARY_DTYPES, 3)
            for i, dtype in enumerate(dtypes):
                for rank in ((1, 2) if i < 2 else (1,)):
                    k, inputs = self.kernel(f"u_{func}_{SHORT[dtype]}_{rank}d", f"np.{func}",
                                            [("a", ann(dtype, rank))], f"return np.{func}(a)")
                    self.unary_calls(k, inputs, dtype, rank, DOMAIN.get(func, "any"))
        for op, func in (("-", "negative"), ("~", "invert")):
            for i, dtype in enumerate(self.sample(UNARY_DTYPES if op == "-" else
                                                  [I8, I4, U1, B, I1, F8], 3)):
                for rank in ((1, 2) if i == 0 else (1,)):
                    k, inputs = self.kernel(f"op_{func}_{SHORT[dtype]}_{rank}d", f"unary {op}",
                                            [("a", ann(dtype, rank))], f"return {op}a")
                    self.unary_calls(k, inputs, dtype, rank, "any")

    def binary_domain(self, op: str, side: int, dtype: str) -> str:
        if op in SHIFTS and side == 1:
            return "shift"
        if op in POWERS and side == 1:
            return "exponent"
        if op in POWERS or op in ("*", "multiply") and not is_float(dtype):
            return "exact" if dtype != B else "any"
        return "any"

    def binary_pair_calls(self, kernel: Kernel, inputs: Inputs, op: str, da: str, db: str,
                          pairs) -> None:
        for label, sa, va, sb, vb in pairs:
            a = inputs.array(da, sa, self.binary_domain(op, 0, da), va)
            b = inputs.array(db, sb, self.binary_domain(op, 1, db), vb)
            kernel.calls.append(Call(label, [a, b]))
        if op in POWERS and is_int(db) and not db.startswith("u"):
            # Integers to negative integer powers: ValueError.
            kernel.calls.append(Call("negexp", [
                inputs.array(da, pairs[0][1], "exact"),
                Arg([], f"np.full({pairs[0][3]}, -1, dtype=np.{db})")]))

    def binary(self) -> None:
        families = [(op, "op") for op in OPERATORS + COMPARISONS] + \
                   [(f, "ufunc") for f in BINARY_UFUNCS]
        for op, kind in families:
            expr = f"a {op} b" if kind == "op" else f"np.{op}(a, b)"
            family = f"operator {op}" if kind == "op" else f"np.{op}"
            tag = f"op_{OP_NAMES[op]}" if kind == "op" else op
            pairs = INT_PAIR_DTYPES if op in BITWISE else PAIR_DTYPES
            for i, (da, db) in enumerate(self.sample(pairs, 4)):
                k, inputs = self.kernel(f"b_{tag}_{SHORT[da]}_{SHORT[db]}_1d", family,
                                        [("a", ann(da, 1)), ("b", ann(db, 1))], f"return {expr}")
                self.binary_pair_calls(k, inputs, op, da, db, PAIRS_11)
                if i == 0 or (i == 1 and kind == "op"):
                    k, inputs = self.kernel(f"b_{tag}_{SHORT[da]}_{SHORT[db]}_2d", family,
                                            [("a", ann(da, 2)), ("b", ann(db, 2))],
                                            f"return {expr}")
                    self.binary_pair_calls(k, inputs, op, da, db, PAIRS_22)
                if i == 0:
                    k, inputs = self.kernel(f"b_{tag}_{SHORT[da]}_{SHORT[db]}_1d2d", family,
                                            [("a", ann(da, 1)), ("b", ann(db, 2))],
                                            f"return {expr}")
                    self.binary_pair_calls(k, inputs, op, da, db, PAIRS_12)
            self.binary_scalars(op, kind, tag, family)

    def binary_scalars(self, op: str, kind: str, tag: str, family: str) -> None:
        """Array with a Python scalar: a literal on the right, a literal on
        the left, and a parameter (weak in NEP 50: the array's dtype wins)."""
        def form(left: str, right: str) -> str:
            return f"{left} {op} {right}" if kind == "op" else f"np.{op}({left}, {right})"

        if op in BITWISE:
            dtypes = self.sample([I8, I4, U1, B, I1], 2)
            literals = [("int", "3" if op not in SHIFTS else "2")]
        else:
            dtypes = self.sample([F8, F4, I8, I4, U1, I1, B], 3)
            literals = [("int", "2"), ("float", "2.5")]
        for dtype in dtypes:
            for ltype, literal in literals:
                for side, expr in (("r", form("a", literal)), ("l", form(literal, "a"))):
                    k, inputs = self.kernel(f"s_{tag}_{SHORT[dtype]}_{ltype}{side}", family,
                                            [("a", ann(dtype, 1))], f"return {expr}")
                    domain = self.binary_domain(op, 0 if side == "r" else 1, dtype)
                    for label, shape, view in SHAPES_1D[:4]:
                        k.calls.append(Call(label, [inputs.array(dtype, shape, domain, view)]))
            # A scalar parameter: its value is only known at run time.
            ptype = "int" if op in BITWISE or not is_float(dtype) else "float"
            k, inputs = self.kernel(f"s_{tag}_{SHORT[dtype]}_param", family,
                                    [("a", ann(dtype, 1)), ("k", ptype)], f"return {form('a', 'k')}")
            values = ["3", "-1", "0", "300", "2**40"] if ptype == "int" else \
                ["1.5", "-0.0", "0.0", "1e300", "math.nan"]
            if op in SHIFTS:
                values = ["1", "0", "7", "70", "-1"]
            for value in values:
                k.calls.append(Call(f"k={value}", [
                    inputs.array(dtype, (5,), self.binary_domain(op, 0, dtype)), scalar(value)]))

    def ternary(self) -> None:
        for i, dtype in enumerate(self.sample([F8, F4, I8, I4, U1, I1], 3)):
            for rank in ((1, 2) if i == 0 else (1,)):
                lo, hi = ("-1.5", "2.5") if is_float(dtype) else ("2", "9")
                k, inputs = self.kernel(f"t_clip_{SHORT[dtype]}_{rank}d", "np.clip",
                                        [("a", ann(dtype, rank))], f"return np.clip(a, {lo}, {hi})")
                self.unary_calls(k, inputs, dtype, rank, "any")
                k, inputs = self.kernel(f"t_clipfloat_{SHORT[dtype]}_{rank}d", "np.clip",
                                        [("a", ann(dtype, rank))],
                                        "return np.clip(a, -0.5, 2.5)")
                self.unary_calls(k, inputs, dtype, rank, "any")
                k, inputs = self.kernel(f"t_cliparr_{SHORT[dtype]}_{rank}d", "np.clip",
                                        [("a", ann(dtype, rank)), ("lo", ann(dtype, rank)),
                                         ("hi", ann(dtype, rank))], "return np.clip(a, lo, hi)")
                for label, shape, view in shapes_for(rank):
                    k.calls.append(Call(label, [inputs.array(dtype, shape, "any", view),
                                                inputs.array(dtype, shape[:-1] + (1,) if rank == 2 else (1,), "exact"),
                                                inputs.array(dtype, shape, "exact")]))
        for i, (da, db) in enumerate(self.sample(PAIR_DTYPES, 4)):
            k, inputs = self.kernel(f"t_where_{SHORT[da]}_{SHORT[db]}_1d", "np.where",
                                    [("c", ann(B, 1)), ("a", ann(da, 1)), ("b", ann(db, 1))],
                                    "return np.where(c, a, b)")
            for label, sa, va, sb, vb in PAIRS_11:
                k.calls.append(Call(label, [inputs.array(B, sb, "any", vb),
                                            inputs.array(da, sa, "any", va),
                                            inputs.array(db, sb, "any", vb)]))
            k, inputs = self.kernel(f"t_wherecmp_{SHORT[da]}_{SHORT[db]}_2d", "np.where",
                                    [("a", ann(da, 2)), ("b", ann(db, 2))],
                                    "return np.where(a > b, a, b * 2)")
            self.binary_pair_calls(k, inputs, "where", da, db, PAIRS_22)
            k, inputs = self.kernel(f"t_wherescalar_{SHORT[da]}_{SHORT[db]}", "np.where",
                                    [("a", ann(da, 1))], "return np.where(a > 1, a, 0)")
            self.unary_calls(k, inputs, da, 1, "any")
            k, inputs = self.kernel(f"t_wherescalars_{SHORT[da]}_{SHORT[db]}", "np.where",
                                    [("a", ann(da, 1))],
                                    "return np.where(a > 1, 1.5, a), np.where(a < 0, 1, 0)")
            self.unary_calls(k, inputs, da, 1, "any")

    # -- builtins and reductions ------------------------------------------

    def builtins(self) -> None:
        for func in ("abs", "min", "max", "sum", "any", "all"):
            for dtype in self.sample([F8, F4, I8, I4, U1, B, I1], 3):
                domain = "exact"
                k, inputs = self.kernel(f"bi_{func}_{SHORT[dtype]}_1d", f"builtin {func}",
                                        [("a", ann(dtype, 1))], f"return {func}(a)")
                self.unary_calls(k, inputs, dtype, 1, domain)
                if func in ("abs", "sum") and dtype in (F8, I4, U1):
                    k, inputs = self.kernel(f"bi_{func}_{SHORT[dtype]}_2d", f"builtin {func}",
                                            [("a", ann(dtype, 2))], f"return {func}(a)")
                    self.unary_calls(k, inputs, dtype, 2, domain)

    def reductions(self) -> None:
        for func in ("sum", "prod", "mean", "var", "std", "min", "max", "amin", "amax", "argmin",
                     "argmax", "all", "any", "cumsum", "cumprod"):
            method = func not in ("amin", "amax")
            dtypes = self.sample(REDUCTION_DTYPES, 3)
            domain = "prod" if func in ("prod", "cumprod") else "exact"
            for i, dtype in enumerate(dtypes):
                s = SHORT[dtype]
                forms_1d = [("np", f"np.{func}(a)")] + ([("m", f"a.{func}()")] if method else [])
                if func in ("var", "std"):
                    forms_1d.append(("ddof", f"np.{func}(a, ddof=1)"))
                for tag, expr in forms_1d:
                    k, inputs = self.kernel(f"r_{func}_{s}_1d_{tag}", f"np.{func}",
                                            [("a", ann(dtype, 1))], f"return {expr}")
                    self.unary_calls(k, inputs, dtype, 1, domain)
                    if dtype in (F8, F4) and tag == "np":
                        k.calls.append(Call("special", [inputs.array(dtype, (6,), "any")]))
                if i > 1:
                    continue
                forms_2d = [("all", f"np.{func}(a)"), ("ax0", f"np.{func}(a, axis=0)"),
                            ("ax1", f"a.{func}(axis=1)" if method else f"np.{func}(a, axis=1)"),
                            ("axm1k", f"np.{func}(a, axis=-1, keepdims=True)")]
                if func in ("cumsum", "cumprod", "argmin", "argmax"):
                    forms_2d[3] = ("axm1", f"np.{func}(a, axis=-1)")
                if func in ("var", "std"):
                    forms_2d.append(("ax0ddof", f"a.{func}(axis=0, ddof=1)"))
                if func in ("sum", "min", "any"):
                    forms_2d.append(("ax0k", f"a.{func}(0, keepdims=True)" if method else
                                     f"np.{func}(a, 0, keepdims=True)"))
                for tag, expr in forms_2d:
                    k, inputs = self.kernel(f"r_{func}_{s}_2d_{tag}", f"np.{func}",
                                            [("a", ann(dtype, 2))], f"return {expr}")
                    self.unary_calls(k, inputs, dtype, 2, domain)

    # -- shapes, copies, views -------------------------------------------

    def shapes(self) -> None:
        for i, dtype in enumerate(self.sample([F8, I4, U1, B, F4, I8], 3)):
            s = SHORT[dtype]
            one_d = [("reshape34", "return a.reshape(3, 4)"),
                     ("reshapem1", "return a.reshape(2, -1)"),
                     ("reshapetuple", "return a.reshape((-1, 3))"),
                     ("ravel", "return a.ravel()"), ("flatten", "return a.flatten()"),
                     ("T", "return a.T"), ("copy", "return a.copy()"),
                     ("npcopy", "return np.copy(a)"), ("sliced", "return a[1:-1], a[::-2], a[2:], a[:-3], a[::3]"),
                     ("newaxis", "return a[None, :], a[:, None], a[..., None]"),
                     ("viewwrite", ["v = a[1:]", "v[0] = 7", "return a"]),
                     ("reshapewrite", ["r = a.reshape(-1)", "r[0] = 5", "return a"])]
            for target in (F8, F4, I8, I4, U1, B):
                one_d.append((f"astype_{SHORT[target]}", f"return a.astype(np.{target})"))
            for tag, body in one_d:
                k, inputs = self.kernel(f"sh_{tag}_{s}_1d", f"shape {tag}", [("a", ann(dtype, 1))],
                                        body)
                # A float out of an integer type's range (nan, inf) converts
                # to an undefined value in NumPy (C's cast, with a warning).
                domain = "cast" if tag.startswith("astype") and is_float(dtype) else "wide"
                for label, shape, view in [("n12", (12,), ""), ("rev", (12,), "rev"),
                                           ("step", (6,), "step"), ("n7", (7,), ""),
                                           ("empty", (0,), ""), ("one", (1,), "")]:
                    k.calls.append(Call(label, [inputs.array(dtype, shape, domain, view)]))
            two_d = [("T", "return a.T"), ("transpose", "return a.transpose()"),
                     ("nptranspose", "return np.transpose(a)"), ("ravel", "return a.ravel()"),
                     ("flatten", "return a.flatten()"), ("reshapem1", "return a.reshape(-1)"),
                     ("reshape2", "return a.reshape(2, -1)"), ("copy", "return a.copy()"),
                     ("col", ["j = 1", "return a[:, j], a[:, -1], a[0], a[-1, :]"]),
                     ("sliced", "return a[1:, ::-1], a[::-2, 1:3], a[..., 0], a[None, :, :].shape"),
                     ("Twrite", ["a.T[0] = 1", "return a"]),
                     ("expand", "return np.expand_dims(a, 0), np.expand_dims(a, axis=-1)"),
                     ("squeeze", "return np.squeeze(a[:1], axis=0), np.squeeze(a[:, -1:], -1)"),
                     ("astype", f"return a.astype(np.{F4 if dtype != F4 else I8})")]
            if i > 1:
                continue
            for tag, body in two_d:
                k, inputs = self.kernel(f"sh_{tag}_{s}_2d", f"shape {tag}", [("a", ann(dtype, 2))],
                                        body)
                self.unary_calls(k, inputs, dtype, 2, "wide")
                k.calls.append(Call("2x6", [inputs.array(dtype, (2, 6), "wide")]))
            k, inputs = self.kernel(f"sh_colparam_{s}_2d", "a[:, j]",
                                    [("a", ann(dtype, 2)), ("j", "int")], "return a[:, j], a[j]")
            for j in ("0", "-1", "2", "5", "-6"):
                k.calls.append(Call(f"j={j}", [inputs.array(dtype, (3, 4)), scalar(j)]))

    def creation(self) -> None:
        def add(name: str, params, body, calls) -> None:
            k, _ = self.kernel(f"c_{name}", f"creation {name}", params, body)
            for label, args in calls:
                k.calls.append(Call(label, [scalar(a) for a in args]))

        sizes = [("0", ["0"]), ("1", ["1"]), ("5", ["5"]), ("neg", ["-2"])]
        for dtype in ("", ", dtype=np.float32", ", dtype=np.int32", ", dtype=np.uint8",
                      ", dtype=np.bool_"):
            tag = dtype.split(".")[-1] if dtype else "default"
            add(f"zeros_{tag}", [("n", "int")], f"return np.zeros(n{dtype})", sizes)
            add(f"ones_{tag}", [("n", "int")], f"return np.ones((n, 2){dtype})", sizes)
            add(f"full_{tag}", [("n", "int")], f"return np.full(n, 7{dtype})", sizes)
            add(f"empty_{tag}", [("n", "int")],
                [f"e = np.empty((2, n){dtype})", "e[:] = 1", "return e"], sizes)
        add("full_float", [("n", "int"), ("v", "float")], "return np.full((n, 3), v)",
            [("2", ["2", "1.5"]), ("0", ["0", "-2.0"])])
        add("full_int32_float", [("n", "int")], "return np.full(n, 2.7, dtype=np.int32)",
            [("3", ["3"])])
        add("arange_n", [("n", "int")], "return np.arange(n)", sizes)
        add("arange_f4", [("n", "int")], "return np.arange(n, dtype=np.float32)", sizes)
        add("arange_3", [("a", "int"), ("b", "int"), ("s", "int")], "return np.arange(a, b, s)",
            [("up", ["1", "10", "3"]), ("down", ["10", "-3", "-4"]), ("none", ["5", "1", "1"]),
             ("zero", ["0", "5", "0"])])
        add("arange_float", [("a", "float"), ("b", "float"), ("s", "float")],
            "return np.arange(a, b, s)",
            [("up", ["0.5", "3.0", "0.25"]), ("down", ["1.0", "-1.0", "-0.3"]),
             ("none", ["1.0", "0.0", "0.5"]), ("zero", ["0.0", "1.0", "0.0"])])
        add("linspace", [("a", "float"), ("b", "float"), ("n", "int")],
            "return np.linspace(a, b, n)",
            [("5", ["0.0", "1.0", "5"]), ("1", ["2.0", "-3.0", "1"]), ("0", ["1.0", "2.0", "0"]),
             ("neg", ["1.0", "2.0", "-1"])])
        add("linspace_noend", [("a", "float"), ("b", "float"), ("n", "int")],
            "return np.linspace(a, b, n, endpoint=False)",
            [("4", ["-1.0", "1.0", "4"]), ("1", ["2.0", "3.0", "1"])])
        add("linspace_f4", [("n", "int")], "return np.linspace(0, 1, n, dtype=np.float32)",
            [("7", ["7"]), ("0", ["0"])])
        add("eye", [("n", "int")], "return np.eye(n)", sizes)
        add("eye_nmk", [("n", "int"), ("m", "int"), ("k", "int")], "return np.eye(n, m, k)",
            [("3_4_1", ["3", "4", "1"]), ("4_2_m1", ["4", "2", "-1"]), ("2_2_5", ["2", "2", "5"])])
        add("eye_int", [("n", "int")], "return np.eye(n, dtype=np.int64)", sizes[:3])
        add("identity", [("n", "int")], "return np.identity(n)", sizes)
        add("identity_u1", [("n", "int")], "return np.identity(n, dtype=np.uint8)", sizes[:3])
        for i, dtype in enumerate(self.sample([F8, I4, U1, B, F4], 3)):
            s = SHORT[dtype]
            for tag, body in (("zeros_like", "return np.zeros_like(a)"),
                              ("ones_like", "return np.ones_like(a)"),
                              ("empty_like", ["e = np.empty_like(a)", "e[...] = 3", "return e"]),
                              ("full_like", "return np.full_like(a, 2.7)"),
                              ("full_like_int", "return np.full_like(a, 9)"),
                              ("zeros_like_f4", "return np.zeros_like(a, dtype=np.float32)")):
                for rank in ((1, 2) if i == 0 else (1,)):
                    k, inputs = self.kernel(f"c_{tag}_{s}_{rank}d", f"np.{tag}",
                                            [("a", ann(dtype, rank))], body)
                    self.unary_calls(k, inputs, dtype, rank, "any")

    def linalg(self) -> None:
        forms = [("dot11", 1, 1, "np.dot(a, b)"), ("mat11", 1, 1, "a @ b"),
                 ("dot21", 2, 1, "np.dot(a, b)"), ("mat21", 2, 1, "a @ b"),
                 ("dot12", 1, 2, "np.dot(a, b)"), ("mat12", 1, 2, "a @ b"),
                 ("dot22", 2, 2, "np.dot(a, b)"), ("mat22", 2, 2, "a @ b"),
                 ("outer", 1, 1, "np.outer(a, b)"), ("outer22", 2, 2, "np.outer(a, b)")]
        shapes = {(1, 1): [("4", (4,), "", (4,), ""), ("0", (0,), "", (0,), ""),
                           ("views", (3,), "step", (3,), "rev"), ("bad", (3,), "", (4,), "")],
                  (2, 1): [("3x4", (3, 4), "", (4,), ""), ("T", (3, 2), "T", (2,), "rev"),
                           ("0x2", (0, 2), "", (2,), ""), ("bad", (3, 4), "", (3,), "")],
                  (1, 2): [("3x4", (3,), "", (3, 4), ""), ("T", (2,), "step", (2, 3), "T"),
                           ("bad", (4,), "", (3, 4), "")],
                  (2, 2): [("2x3_3x4", (2, 3), "", (3, 4), ""), ("T", (2, 3), "T", (2, 2), "revstep"),
                           ("0", (2, 0), "", (0, 3), ""), ("bad", (2, 3), "", (2, 3), "")]}
        for i, (da, db) in enumerate(self.sample([(F8, F8), (F4, F4), (I8, I8), (I4, I4),
                                                  (F4, F8), (I4, F8), (U1, U1), (B, B)], 4)):
            for tag, ra, rb, expr in forms:
                if i > 0 and tag not in ("dot11", "mat21", "mat22", "outer", "dot22"):
                    continue
                k, inputs = self.kernel(f"la_{tag}_{SHORT[da]}_{SHORT[db]}", f"linalg {tag}",
                                        [("a", ann(da, ra)), ("b", ann(db, rb))], f"return {expr}")
                for label, sa, va, sb, vb in shapes[(ra, rb)]:
                    if tag.startswith("outer") and label == "bad":
                        continue
                    k.calls.append(Call(label, [inputs.array(da, sa, "exact", va),
                                                inputs.array(db, sb, "exact", vb)]))
        for dtype in self.sample([F8, I8, F4, I4, U1, B], 3):
            k, inputs = self.kernel(f"la_trace_{SHORT[dtype]}", "np.trace",
                                    [("a", ann(dtype, 2))], "return np.trace(a)")
            self.unary_calls(k, inputs, dtype, 2, "exact")

    # -- masks, index arrays, assignment -----------------------------------

    def indexing(self) -> None:
        for i, dtype in enumerate(self.sample([F8, I8, F4, I4, U1, B], 3)):
            s = SHORT[dtype]
            fill = "1.5" if is_float(dtype) else ("True" if dtype == B else "7")
            masks = [("read", [("a", ann(dtype, 1)), ("m", ann(B, 1))], "return a[m]"),
                     ("write", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      [f"a[m] = {fill}", "return a"]),
                     ("writearr", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["a[m] = a[m] * 2" if dtype != B else "a[m] = ~a[m]", "return a"]),
                     ("writerev", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["b = a[m]", "a[m] = b[::-1]", "return a"]),
                     ("chain", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["a[m] = a[m][::-1]", "return a"]),
                     ("writecount", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["a[m] = a[:2]", "return a"]),
                     ("self", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["b = a[a > a[0]]", "return b, a[~m]"]),
                     ("ifexp", [("a", ann(dtype, 1)), ("m", ann(B, 1))],
                      ["b = a[m] if len(a) > 2 else a", "return b"])]
            for tag, params, body in masks:
                k, inputs = self.kernel(f"ix_mask{tag}_{s}", f"mask {tag}", params, body)
                for label, shape, view in SHAPES_1D:
                    k.calls.append(Call(label, [inputs.array(dtype, shape, "exact", view),
                                                inputs.array(B, shape, "any", view)]))
                k.calls.append(Call("badmask", [inputs.array(dtype, (4,), "exact"),
                                                inputs.array(B, (5,), "any")]))
            k, inputs = self.kernel(f"ix_mask2d_{s}", "mask 2-D", [("a", ann(dtype, 2))],
                                    ["b = a[a > 1]", f"a[a < 1] = {fill}", "return a, b"])
            self.unary_calls(k, inputs, dtype, 2, "exact")
            k, inputs = self.kernel(f"ix_mask2dparam_{s}", "mask 2-D",
                                    [("a", ann(dtype, 2)), ("m", ann(B, 2))], "return a[m]")
            for label, shape, view in SHAPES_2D:
                k.calls.append(Call(label, [inputs.array(dtype, shape, "exact", view),
                                            inputs.array(B, shape, "any", view)]))
            k.calls.append(Call("badmask", [inputs.array(dtype, (2, 3), "exact"),
                                            inputs.array(B, (3, 2), "any")]))
            for itype in ((I8, I4) if i == 0 else (I8,)):
                index_forms = [("read", "return a[idx]"),
                               ("write", [f"a[idx] = {fill}", "return a"]),
                               ("writearr", ["a[idx] = a[idx] + 1" if dtype != B else
                                             "a[idx] = ~a[idx]", "return a"]),
                               ("aug", ["a[idx] += 2" if dtype != B else "a[idx] |= True",
                                        "return a"]),
                               ("writecount", ["a[idx] = a[:2]", "return a"])]
                for tag, body in index_forms:
                    k, inputs = self.kernel(f"ix_idx{tag}_{s}_{SHORT[itype]}", f"index {tag}",
                                            [("a", ann(dtype, 1)), ("idx", ann(itype, 1))], body)
                    for label, idx in (("in", "np.array([3, -1, 0, 3], dtype=np.%s)"),
                                       ("empty", "np.zeros(0, dtype=np.%s)"),
                                       ("out", "np.array([1, 6], dtype=np.%s)"),
                                       ("neg_out", "np.array([-7], dtype=np.%s)"),
                                       ("rev", "np.array([2, 1, 0, 4], dtype=np.%s)[::-1]")):
                        k.calls.append(Call(label, [inputs.array(dtype, (6,), "exact"),
                                                    scalar(idx % itype)]))
            # One index array or mask beside ints and slices, read and
            # stored through; and m[rows, cols] pairs.
            mixed = [("row", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      "return a[idx, 1], a[idx, -1], a[idx, 1:]"),
                     ("col", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      "return a[0, idx], a[:, idx], a[::-1, idx]"),
                     ("store", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      [f"a[idx, 0] = {fill}", f"a[-1, idx] = {fill}", "return a"]),
                     ("pairs", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      "return a[idx, idx[::-1]], a[idx, idx[:1]]"),
                     ("maskcol", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      ["m = a[:, 0] > a[0, 0]", "return a[m, 1], a[1:, a[0] > a[0, 0]]"]),
                     ("colstore", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      [f"a[:, idx] = {fill}", "a[idx] = a[0]", "a[:, idx] = a[:, idx[::-1]]",
                       "return a"]),
                     ("colaug", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      ["a[:, idx] += 1" if dtype != B else "a[:, idx] |= True",
                       "a[1, idx] += 2" if dtype != B else "a[1, idx] ^= True", "return a"]),
                     ("maskstore", [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                      ["m = a[0] > a[0, 0]", f"a[:, m] = {fill}", "a[1:, m] = a[:-1, m]",
                       "return a"])]
            for tag, params, body in mixed:
                k, inputs = self.kernel(f"ix_mixed{tag}_{s}", f"index {tag}", params, body)
                for label, shape, view, idx in (
                        ("in", (3, 4), "", "np.array([2, 0, -1])"),
                        ("T", (3, 4), "T", "np.array([1, -3])"),
                        ("empty", (3, 4), "", "np.zeros(0, dtype=np.int64)"),
                        ("out", (3, 4), "", "np.array([0, 3])"),
                        ("neg_out", (3, 3), "revstep", "np.array([-4])")):
                    k.calls.append(Call(label, [inputs.array(dtype, shape, "exact", view),
                                                scalar(idx)]))
            # Several index arrays on a 3-D array, read and stored through.
            several = [("several", "return a[idx, idx, idx], a[idx, :, idx], a[idx, idx], "
                                   "a[:, idx[::-1], idx], a[1, idx, idx]"),
                       ("severalstore", [f"a[idx, :, idx] = {fill}",
                                         "a[idx, idx[::-1]] = a[0, 0]", "return a"])]
            for tag, body in several:
                k, inputs = self.kernel(f"ix_{tag}_{s}", f"index {tag}",
                                        [("a", ann(dtype, 3)), ("idx", ann(I8, 1))], body)
                for label, shape, view, idx in (
                        ("in", (3, 4, 5), "", "np.array([2, 0, -1])"),
                        ("T", (3, 4, 3), "T", "np.array([1, -3])"),
                        ("empty", (3, 4, 5), "", "np.zeros(0, dtype=np.int64)"),
                        ("out", (3, 4, 5), "", "np.array([0, 3])"),
                        ("neg_out", (3, 3, 3), "rev", "np.array([-4])")):
                    k.calls.append(Call(label, [inputs.array(dtype, shape, "exact", view),
                                                scalar(idx)]))
            if i == 0:
                k, inputs = self.kernel(f"ix_idx2d_{s}", "index 2-D",
                                        [("a", ann(dtype, 2)), ("idx", ann(I8, 1))],
                                        "return a[idx], a[idx].sum()")
                for label, idx in (("in", "np.array([2, 0, -1])"), ("out", "np.array([3])")):
                    k.calls.append(Call(label, [inputs.array(dtype, (3, 4), "exact"),
                                                scalar(idx)]))

    def assignment(self) -> None:
        for i, dtype in enumerate(self.sample([F8, I8, F4, I4, U1, B], 3)):
            s = SHORT[dtype]
            one = "True" if dtype == B else "1"
            forms_1d = [("shift", ["a[1:] = a[:-1]", "return a"]),
                        ("shiftback", ["a[:-1] = a[1:]", "return a"]),
                        ("zero", ["a[:] = 0", "return a"]),
                        ("revself", ["a[:] = a[::-1]", "return a"]),
                        ("steps", [f"a[::2] = {one}", "return a"]),
                        ("expr", ["a[1:] = a[:-1] + a[1:]" if dtype != B else
                                  "a[1:] = a[:-1] | a[1:]", "return a"])]
            if dtype != B:
                forms_1d += [("iadd", ["a += a[::-1]", "return a"]),
                             ("imul_scalar", ["a *= 3", "return a"]),
                             ("iadd_overlap", ["a[1:] += a[:-1]", "return a"]),
                             ("isub_float", ["a -= 1.5", "return a"]),
                             ("ifloordiv", ["a //= 2", "return a"])]
            else:
                forms_1d += [("ior", ["a |= a[::-1]", "return a"]),
                             ("iand_overlap", ["a[1:] &= a[:-1]", "return a"])]
            for tag, body in forms_1d:
                k, inputs = self.kernel(f"as_{tag}_{s}_1d", f"assign {tag}",
                                        [("a", ann(dtype, 1))], body)
                for label, shape, view in SHAPES_1D:
                    k.calls.append(Call(label, [inputs.array(dtype, shape, "exact", view)]))
            # Assigning an array of another shape: broadcast or ValueError.
            k, inputs = self.kernel(f"as_arr_{s}_1d", "assign array",
                                    [("a", ann(dtype, 1)), ("b", ann(dtype, 1))],
                                    ["a[1:] = b", "return a"])
            for label, la, lb in (("fit", 5, 4), ("bcast", 5, 1), ("bad", 5, 3), ("empty", 1, 0),
                                  ("empty_bcast", 1, 1)):
                k.calls.append(Call(label, [inputs.array(dtype, (la,), "exact"),
                                            inputs.array(dtype, (lb,), "exact")]))
            k, inputs = self.kernel(f"as_iarr_{s}_1d", "in-place array",
                                    [("a", ann(dtype, 1)), ("b", ann(dtype, 1))],
                                    ["a += b" if dtype != B else "a |= b", "return a"])
            for label, la, lb in (("same", 4, 4), ("bcast", 4, 1), ("bad", 4, 3), ("grow", 1, 3)):
                k.calls.append(Call(label, [inputs.array(dtype, (la,), "exact"),
                                            inputs.array(dtype, (lb,), "exact")]))
            if i > 0:
                continue
            forms_2d = [("row", ["a[0] = a[-1]", "return a"]),
                        ("col", ["a[:, 0] = 5", "return a"]),
                        ("block", ["a[1:, 1:] = a[:-1, :-1]", "return a"]),
                        ("bcastrow", ["a[:] = a[0]", "return a"]),
                        ("iadd_col", ["a += a[:, :1]", "return a"] if dtype != B else
                         ["a |= a[:, :1]", "return a"]),
                        ("T", ["a[:] = a.T" if dtype != B else "a[:] = a.T", "return a"])]
            for tag, body in forms_2d:
                k, inputs = self.kernel(f"as_{tag}_{s}_2d", f"assign {tag}", [("a", ann(dtype, 2))],
                                        body)
                self.unary_calls(k, inputs, dtype, 2, "exact")
                k.calls.append(Call("sq", [inputs.array(dtype, (3, 3), "exact", "T")]))
        # In-place operators with another dtype on the right: same-kind casts
        # of the result into the left array (wrapping, rounding).
        for da, db in [(I4, I8), (F4, F8), (U1, I8), (I1, U1), (F4, I8), (I8, B), (U1, U2)]:
            for op in ("+=", "*=", "-="):
                k, inputs = self.kernel(f"as_imix_{OP_NAMES[op[0]]}_{SHORT[da]}_{SHORT[db]}",
                                        f"in-place {op} mixed",
                                        [("a", ann(da, 1)), ("b", ann(db, 1))],
                                        [f"a {op} b", "return a"])
                for label, sa, va, sb, vb in PAIRS_11:
                    k.calls.append(Call(label, [inputs.array(da, sa, "any", va),
                                                inputs.array(db, sb, "any", vb)]))
        # Unsafe in-place casts: NumPy's UFuncTypeError (refused at compile time).
        k, inputs = self.kernel("as_iadd_float_into_int", "in-place cast",
                                [("a", ann(I8, 1))], ["a += 1.5", "return a"])
        self.unary_calls(k, inputs, I8, 1, "exact")
        k, inputs = self.kernel("as_iadd_f8_into_f4", "in-place cast",
                                [("a", ann(F4, 1)), ("b", ann(F8, 1))], ["a += b", "return a"])
        k.calls.append(Call("same", [inputs.array(F4, (3,)), inputs.array(F8, (3,))]))

    def fused(self) -> None:
        """Reductions of element-wise expressions (compiled without the
        temporary): the expression's dtype (wrapping in small integers)
        must be the one reduced, and shapes must still broadcast."""
        forms = [("sumprod", "np.sum(a * b)"), ("msumdiff", "((a - b) ** 2).sum()"),
                 ("sumcmp", "np.sum(a > b)"), ("meanprod", "np.mean(a * b)"),
                 ("maxsum", "np.max(a + b)"), ("sumscaled", "np.sum(a * 3 + b)"),
                 ("anycmp", "np.any(a == b)"), ("prodsum", "(a + b).prod()"),
                 ("sumax0", "np.sum(a * b, axis=0)"), ("cumsumprod", "np.cumsum(a * b)")]
        for tag, expr in forms:
            for da, db in [(F8, F8), (I1, I1), (U1, U1), (F4, F4), (I4, F8), (B, B), (U1, I8),
                           (I4, I4)]:
                if da == B and tag in ("msumdiff", "sumscaled"):
                    continue
                for rank in (1, 2):
                    if tag == "sumax0" and rank == 1:
                        continue
                    k, inputs = self.kernel(f"fu_{tag}_{SHORT[da]}_{SHORT[db]}_{rank}d",
                                            f"fused {tag}",
                                            [("a", ann(da, rank)), ("b", ann(db, rank))],
                                            f"return {expr}")
                    domain = "prod" if tag == "prodsum" else "any"
                    pairs = PAIRS_11 if rank == 1 else PAIRS_22
                    for label, sa, va, sb, vb in pairs:
                        k.calls.append(Call(label, [inputs.array(da, sa, domain, va),
                                                    inputs.array(db, sb, domain, vb)]))

    # -- complex arrays ----------------------------------------------------

    def complex_arrays(self) -> None:
        """complex128 and complex64 arrays: ufuncs, operators (with real
        arrays and Python scalars, NEP 50), reductions, parts and creation.
        Inputs are finite."""
        for func in COMPLEX_UNARY:
            for i, dtype in enumerate((C16, C8)):
                for rank in ((1, 2) if i == 0 else (1,)):
                    k, inputs = self.kernel(f"cx_{func}_{SHORT[dtype]}_{rank}d",
                                            f"complex np.{func}", [("a", ann(dtype, rank))],
                                            f"return np.{func}(a)")
                    self.unary_calls(k, inputs, dtype, rank, "any")
        for op in ["+", "-", "*", "/", "**", "==", "!=", "<", "//"]:
            for da, db in COMPLEX_PAIRS:
                k, inputs = self.kernel(f"cx_op_{OP_NAMES[op]}_{SHORT[da]}_{SHORT[db]}_1d",
                                        f"complex operator {op}",
                                        [("a", ann(da, 1)), ("b", ann(db, 1))],
                                        f"return a {op} b")
                self.binary_pair_calls(k, inputs, op, da, db, PAIRS_11)
            for dtype in (C16, C8, F8, F4, I4):
                for literal in ("2j", "(1.5 - 0.5j)", "2", "0.5"):
                    if not is_complex(dtype) and "j" not in literal:
                        continue
                    tag = re.sub(r"\W", "", literal)
                    k, inputs = self.kernel(f"cx_s_{OP_NAMES[op]}_{SHORT[dtype]}_{tag}",
                                            f"complex operator {op}", [("a", ann(dtype, 1))],
                                            f"return a {op} {literal}, {literal} {op} a")
                    # Finite inputs: C99's special values of complex powers
                    # (inf ** 2j) are not compiled.
                    self.unary_calls(k, inputs, dtype, 1, "exact")
        for func in ("sum", "prod", "mean", "max", "argmin", "cumsum"):
            for dtype in (C16, C8):
                k, inputs = self.kernel(f"cx_r_{func}_{SHORT[dtype]}_1d", f"complex np.{func}",
                                        [("a", ann(dtype, 1))], f"return np.{func}(a)")
                self.unary_calls(k, inputs, dtype, 1, "prod" if func == "prod" else "exact")
                k, inputs = self.kernel(f"cx_r_{func}_{SHORT[dtype]}_2d_ax0", f"complex np.{func}",
                                        [("a", ann(dtype, 2))], f"return np.{func}(a, axis=0)")
                self.unary_calls(k, inputs, dtype, 2, "prod" if func == "prod" else "exact")
        for dtype in (C16, C8):
            s = SHORT[dtype]
            for tag, expr in (("parts", "a.real, a.imag, a.conj(), a.T, a.copy()"),
                              ("astype", "a.astype(np.complex128), a.astype(np.complex64)"),
                              ("where", "np.where(a == 0, 1j, a)"),
                              ("like", "np.zeros_like(a), np.ones_like(a), np.full_like(a, 2j)")):
                k, inputs = self.kernel(f"cx_m_{tag}_{s}_2d", f"complex {tag}",
                                        [("a", ann(dtype, 2))], f"return {expr}")
                self.unary_calls(k, inputs, dtype, 2, "any")
        for tag, expr in (("zeros", "np.zeros(n, dtype=np.complex128)"),
                          ("ones64", "np.ones((n, 2), dtype=np.complex64)"),
                          ("full", "np.full(n, 1 - 2j)"), ("fromfloat", "np.arange(n) + 0j")):
            k, inputs = self.kernel(f"cx_c_{tag}", "complex creation", [("n", "int")],
                                    f"return {expr}")
            for n in ("0", "1", "5"):
                k.calls.append(Call(f"n={n}", [scalar(n)]))

    def generate(self) -> list[Kernel]:
        self.fused()
        self.unary()
        self.binary()
        self.ternary()
        self.builtins()
        self.reductions()
        self.shapes()
        self.creation()
        self.linalg()
        self.indexing()
        self.assignment()
        self.complex_arrays()
        return self.kernels


# How many kernels of each family a run without --full draws (the family's
# first kernel, float64 or its commonest dtypes, always among them), by the
# kind of family (the prefix of its kernels' names); the rest are drawn by
# the seed, so other seeds cover other dtypes, ranks and forms.
QUOTAS = {"fu": 3, "u": 2, "op": 2, "b": 2, "t": 3, "bi": 2, "r": 3, "sh": 1, "c": 1, "la": 3, "ix": 2,
          "as": 1, "cx": 2}
OPERATOR_QUOTA = 4
# Kernels every run includes: the inputs NumPy raises on that the first
# kernel of their family does not reach.
PINNED = ["b_op_pow_i8_i8_1d", "b_power_i4_i4_1d", "s_op_add_u1_param", "s_op_gt_u1_param",
          "s_op_pow_i8_param", "as_iadd_float_into_int", "as_iarr_f8_1d", "as_arr_f8_1d",
          "ix_idxread_f8_i8", "ix_maskread_f8", "ix_mask2dparam_f8", "la_mat22_f8_f8",
          "la_mat21_f8_f8", "la_trace_f8", "r_argmax_f8_1d_np", "r_argmin_f8_2d_ax0",
          "r_max_f8_2d_ax0", "sh_reshape34_f8_1d"]


def select(kernels: list[Kernel], seed: int) -> list[Kernel]:
    """The kernels of a run without --full: per family, its first kernel and
    a draw of others (QUOTAS), and the PINNED ones; in generation order."""
    families: dict[str, list[Kernel]] = {}
    for k in kernels:
        families.setdefault(k.family, []).append(k)
    chosen = {name for name in PINNED}
    for family, members in families.items():
        kind = members[0].name.split("_")[0]
        quota = OPERATOR_QUOTA if family.startswith("operator") else QUOTAS.get(kind, 2)
        chosen.add(members[0].name)
        rng = random.Random(f"{seed}:{family}")
        for k in rng.sample(members[1:], min(quota - 1, len(members) - 1)):
            chosen.add(k.name)
    return [k for k in kernels if k.name in chosen]


MODULE_HEADER = '"""Generated by tests/harness/array_functions.py."""\nimport math\n\nimport numpy as np\n'


def module_source(kernels: list[Kernel]) -> str:
    return MODULE_HEADER + "".join("\n\n" + k.source() for k in kernels)


def kernel_lines(kernels: list[Kernel]) -> dict[int, Kernel]:
    """Source line (1-based) -> kernel, for `module_source(kernels)`."""
    owner: dict[int, Kernel] = {}
    line = MODULE_HEADER.count("\n") + 1
    for k in kernels:
        line += 2
        for _ in k.source().splitlines():
            owner[line] = k
            line += 1
    return owner


# ---------------------------------------------------------------------------
# Running calls (in a child process, so that a crash is blamed on its call)
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}({str(self.error)[:300]!r})"
        return f"returned {show(self.value)}"


def show(value) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        text = np.array2string(value, separator=", ", threshold=40)
        return f"array({text}, dtype={value.dtype})"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (np.generic,)):
        return f"{type(value).__name__}({value!r})"
    return repr(value)


def run_side(setup: str, run: str, module) -> tuple[Outcome, dict]:
    import numpy as np

    namespace = {"np": np, "math": math}
    exec(setup, namespace)
    arrays = {k: v for k, v in namespace.items() if isinstance(v, np.ndarray)}
    for name, value in vars(module).items():
        if not name.startswith("_") and callable(value):
            namespace[name] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return Outcome(value=eval(run, namespace)), arrays
        except Exception as error:  # noqa: BLE001 - any exception is an outcome
            return Outcome(error=error), arrays


def builtin_base(kind: type) -> type:
    """The first built-in exception class in the MRO of a NumPy exception class."""
    for base in kind.__mro__:
        if base.__module__ == "builtins":
            return base
    return Exception


def compare(expected: Outcome, actual: Outcome, expected_arrays: dict,
            actual_arrays: dict) -> list[str]:
    from _ferropy_harness import describe_mismatch

    problems = []
    if expected.error is not None or actual.error is not None:
        if expected.error is None or actual.error is None:
            problems.append(f"NumPy {expected.describe()}, compiled {actual.describe()}")
        else:
            want = type(expected.error)
            got = type(actual.error)
            if got is not want and not (want.__module__.startswith("numpy")
                                        and issubclass(got, builtin_base(want))
                                        and got.__module__ == "builtins"):
                problems.append(f"NumPy {expected.describe()}, compiled {actual.describe()}")
    else:
        problem = describe_mismatch(expected.value, actual.value)
        if problem:
            problems.append(problem)
    for name, array in expected_arrays.items():
        problem = describe_mismatch(array, actual_arrays[name], f"argument {name} after the call")
        if problem:
            problems.append(problem)
    return problems


def child_main(spec_path: str, start: int) -> int:
    import faulthandler

    from _ferropy_harness import ImportProblem, import_compiled, import_reference

    faulthandler.enable()
    spec = json.loads(Path(spec_path).read_text())
    try:
        reference = import_reference(Path(spec["source"]))
        compiled = import_compiled(spec["stem"], Path(spec["compiled_dir"]), False)
    except ImportProblem as problem:
        print(json.dumps({"import_error": str(problem)}), flush=True)
        return 1
    for position, case in enumerate(spec["cases"]):
        if position < start:
            continue
        setup = "\n".join(case["setup"])
        expected, expected_arrays = run_side(setup, case["run"], reference)
        print(json.dumps({"begin": position}), flush=True)
        actual, actual_arrays = run_side(setup, case["run"], compiled)
        problems = compare(expected, actual, expected_arrays, actual_arrays)
        print(json.dumps({"case": position, "problems": problems,
                          "numpy": expected.describe(), "compiled": actual.describe()}),
              flush=True)
    return 0


# ---------------------------------------------------------------------------
# The parent: generate, sort out what NumPy refuses, build, run, report
# ---------------------------------------------------------------------------


def reference_classification(kernels: list[Kernel], source: Path) -> dict[str, str]:
    """Runs every call under NumPy; returns kernel name -> why it must be
    refused (TypeError or a float16 result), for the kernels NumPy refuses."""
    import numpy as np

    from _ferropy_harness import import_reference

    module = import_reference(source)

    def has_float16(value) -> bool:
        if isinstance(value, (tuple, list)):
            return any(has_float16(v) for v in value)
        return getattr(value, "dtype", None) == np.float16

    refused = {}
    for k in kernels:
        reasons = set()
        for call in k.calls:
            outcome, _ = run_side("\n".join(call.setup()), call.run(k.name), module)
            if isinstance(outcome.error, TypeError):
                reasons.add(f"NumPy raises {type(outcome.error).__name__}: {outcome.error}")
            elif outcome.error is None and has_float16(outcome.value):
                reasons.add("NumPy gives float16")
        if reasons:
            refused[k.name] = "; ".join(sorted(reasons))[:300]
    return refused


def check_diagnostics(ferropy: str, source: Path, kernels: list[Kernel]) -> dict[str, list[str]]:
    """`ferropy check` on the module: kernel name -> its error messages."""
    done = subprocess.run([ferropy, "check", "--format", "json", str(source)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"`ferropy check {source}` exited with {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    owners = kernel_lines(kernels)
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("severity") != "error":
            continue
        kernel = owners.get(record["line"])
        if kernel is None:
            raise RuntimeError(f"a diagnostic outside every kernel: {line}")
        found.setdefault(kernel.name, []).append(
            f"{record['code']}: {record['message']} (line {record['line']})")
    return found


def matching(patterns: dict[str, str], name: str) -> str | None:
    """The reason of the first pattern that `name` matches: a kernel name
    pattern (fnmatch), for a case id `kernel[call]` optionally followed by
    `[call]`, which must be the call's label exactly or `*`."""
    kernel, _, call = name.partition("[")
    for pattern, reason in patterns.items():
        kernel_pattern, call_pattern = pattern, None
        if pattern.endswith("]") and "[" in pattern:
            kernel_pattern, _, call_pattern = pattern[:-1].rpartition("[")
        if not fnmatch.fnmatchcase(kernel, kernel_pattern):
            continue
        if call_pattern is None or call_pattern in ("*", call[:-1]):
            return reason
    return None


class Runner:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="arrfun-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.stem = f"array_functions_s{args.seed}"
        self.passed = 0
        self.failed: list[str] = []  # case ids
        self.known: list[str] = []
        self.known_passing: list[str] = []

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def known_reason(self, case_id: str) -> str | None:
        return matching(KNOWN_FAILURES, case_id)

    def fail(self, case_id: str, lines: list[str]) -> None:
        reason = self.known_reason(case_id)
        if reason is not None:
            self.known.append(case_id)
            print(f"KNOWN {case_id}  ({reason})")
            if self.args.verbose:
                print("\n".join(lines) + "\n")
            return
        self.failed.append(case_id)
        print(f"FAIL {case_id}")
        print("\n".join(lines) + "\n", flush=True)

    def succeed(self, case_id: str) -> None:
        self.passed += 1
        if self.known_reason(case_id) is not None:
            self.known_passing.append(case_id)

    def main(self) -> int:
        args = self.args
        started = time.monotonic()
        kernels = Generator(args.seed).generate()
        if args.only:
            kernels = [k for k in kernels if any(fnmatch.fnmatchcase(k.name, p)
                                                 for p in args.only.split(","))]
        elif not args.full:
            kernels = select(kernels, args.seed)
        all_source = self.work / f"{self.stem}_all.py"
        all_source.write_text(module_source(kernels))
        if args.print:
            print(module_source(kernels))
            for k in kernels:
                for call in k.calls:
                    print(f"# {k.name}[{call.label}]: {'; '.join(call.setup())}; {call.run(k.name)}")
            return 0
        calls = sum(len(k.calls) for k in kernels)
        self.log(f"array_functions: seed {args.seed}, {len(kernels)} kernels, {calls} calls")

        # 1. What NumPy refuses by dtype must be refused by ferropy (or raise
        #    the same TypeError at run time).
        refused = reference_classification(kernels, all_source)
        refused_kernels = [k for k in kernels if k.name in refused]
        accepted = [k for k in kernels if k.name not in refused]
        expected_refusals = 0
        if refused_kernels:
            source = self.work / f"{self.stem}_refused.py"
            source.write_text(module_source(refused_kernels))
            diagnostics = check_diagnostics(args.ferropy, source, refused_kernels)
            for k in refused_kernels:
                if k.name in diagnostics:
                    expected_refusals += 1
                    if args.verbose:
                        print(f"ok   {k.name}: refused as expected ({refused[k.name]}): "
                              f"{diagnostics[k.name][-1]}")
                else:
                    # Accepted: then it must raise what NumPy raises.
                    accepted.append(k)

        # 2. What NumPy runs must compile.
        source = self.work / f"{self.stem}.py"
        source.write_text(module_source(accepted))
        diagnostics = check_diagnostics(args.ferropy, source, accepted)
        unsupported = []
        for k in accepted:
            if k.name in diagnostics and matching(KNOWN_UNSUPPORTED, k.name):
                unsupported.append(k)
                if args.verbose:
                    print(f"UNSUPPORTED {k.name}: {diagnostics[k.name][-1]}")
            elif k.name in diagnostics:
                details = ["     ferropy refuses a kernel NumPy runs:",
                           indent(k.source().rstrip()), indent("\n".join(diagnostics[k.name]))]
                for call in k.calls:
                    self.fail(f"{k.name}[{call.label}]", details)
                    details = [f"     (the diagnostics of {k.name} above)"]
        built = [k for k in accepted if k.name not in diagnostics]
        known_bad = [k for k in built if matching(KNOWN_BUILD_FAILURES, k.name)]
        built = [k for k in built if k not in known_bad]

        # 3. Build once; on a build failure, find the kernels responsible.
        #    Kernels known not to build go to a module of their own.
        built = self.build_isolating(built, source)
        known_source = self.work / f"{self.stem}_known.py"
        if known_bad and not args.full:
            # A build that fails costs as much as a good one: only --full
            # tries them (and runs their calls if they build).
            for k in known_bad:
                for call in k.calls:
                    self.known.append(f"{k.name}[{call.label}]")
                print(f"KNOWN {k.name}: not built, known not to build "
                      f"({matching(KNOWN_BUILD_FAILURES, k.name)}); --full tries it")
            known_bad = []
        if known_bad:
            status, output = self.build(known_bad, known_source)
            if status != 0:
                for k in known_bad:
                    for call in k.calls:
                        self.known.append(f"{k.name}[{call.label}]")
                    print(f"KNOWN {k.name}: does not build "
                          f"({matching(KNOWN_BUILD_FAILURES, k.name)})")
                known_bad = []
        build_seconds = time.monotonic() - started

        # 4. Run every call under NumPy and compiled.
        if built:
            self.run_calls(built, source)
        if known_bad:
            self.run_calls(known_bad, known_source)
        total = time.monotonic() - started
        print(f"array_functions: seed {args.seed}, {len(kernels)} kernels, {calls} calls; "
              f"{expected_refusals} kernels refused at compile time as NumPy refuses them "
              f"(TypeError or float16); built {len(built)} kernels in {build_seconds:.0f}s, "
              f"{total:.0f}s in all; work dir {self.work}")
        if unsupported:
            print(f"{sum(len(k.calls) for k in unsupported)} calls of {len(unsupported)} kernels "
                  f"not run: ferropy refuses them with a diagnostic (KNOWN_UNSUPPORTED): "
                  f"{', '.join(sorted({matching(KNOWN_UNSUPPORTED, k.name) for k in unsupported}))}")
        if self.known:
            print(f"{len(self.known)} known failures (KNOWN_FAILURES in "
                  f"tests/harness/array_functions.py), not counted as failed")
        if self.known_passing:
            print(f"{len(self.known_passing)} cases matched by KNOWN_FAILURES pass (a pattern "
                  f"broader than its bug, or a fixed bug to take off the list): "
                  f"{', '.join(self.known_passing[:20])}")
        print(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0

    def build(self, kernels: list[Kernel], source: Path) -> tuple[int, str]:
        source.write_text(module_source(kernels))
        command = [self.args.ferropy, "build", "-q", str(source), "-o", str(self.work / "out"),
                   "--python", self.args.python_for_build]
        start = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        self.log(f"array_functions: built {source.name} ({len(kernels)} kernels) in "
                 f"{time.monotonic() - start:.1f}s, exit {done.returncode}")
        return done.returncode, done.stdout + done.stderr

    def build_isolating(self, kernels: list[Kernel], source: Path) -> list[Kernel]:
        """Builds the module; if that fails, builds halves (each a module of
        its own) until the failing kernels are isolated, and returns the
        kernels of the last module that built with all the others. The
        module finally imported is always `source` with what remains."""
        status, output = self.build(kernels, source)
        if status == 0:
            return kernels
        bad = self.place_errors(kernels, output)
        if bad:
            rest = [k for k in kernels if k.name not in {b.name for b, _ in bad}]
            status, output = self.build(rest, source)
            if status != 0:
                # More errors behind the first ones: place those too.
                more = self.place_errors(rest, output)
                if more:
                    bad += more
                    rest = [k for k in rest if k.name not in {b.name for b, _ in more}]
                    status, output = self.build(rest, source)
            if status == 0:
                self.report_build_failures(bad)
                return rest
        bad = self.bisect(kernels, source.parent / f"{self.stem}_part")
        self.report_build_failures(bad)
        rest = [k for k in kernels if k.name not in {b.name for b, _ in bad}]
        status, output = self.build(rest, source)
        if status != 0:
            print(f"FAIL the module without the isolated kernels still does not build:\n"
                  f"{indent(tail(output, 60))}")
            self.failed.append("build")
            return []
        return rest

    def place_errors(self, kernels: list[Kernel], output: str) -> list[tuple[Kernel, str]]:
        """Kernels that rustc's errors point at, through the generated
        lib.rs (each kernel is a Rust function of the same name)."""
        match = re.search(r"The generated crate is in (\S+?)\.?$", output, re.M)
        if not match:
            return []
        try:
            rust = (Path(match.group(1)) / "src" / "lib.rs").read_text().splitlines()
        except OSError:
            return []
        names = {k.name: k for k in kernels}
        starts = []
        for number, line in enumerate(rust, 1):
            found = re.match(r"\s*(?:pub\s+)?fn\s+(\w+)", line)
            if found:
                starts.append((number, found.group(1)))
        blamed: dict[str, list[str]] = {}
        blocks = re.split(r"\n(?=error)", output)
        for block in blocks:
            place = re.search(r"--> src/lib\.rs:(\d+):\d+", block)
            if not block.startswith("error") or not place:
                continue
            line = int(place.group(1))
            before = [name for start, name in starts if start <= line]
            owner = next((n for n in reversed(before) if n in names), None)
            if owner is None:
                return []
            blamed.setdefault(owner, []).append(block)
        return [(names[n], "\n".join(b)) for n, b in blamed.items()]

    def report_build_failures(self, bad: list[tuple[Kernel, str]]) -> None:
        for k, text in bad:
            details = ["     `ferropy build` fails on this kernel:", indent(k.source().rstrip()),
                       indent(tail(text, 40))]
            for call in k.calls:
                self.fail(f"{k.name}[{call.label}]", details)
                details = [f"     (the build failure of {k.name} above)"]

    def bisect(self, kernels: list[Kernel], prefix: Path) -> list[tuple[Kernel, str]]:
        if not kernels:
            return []
        path = Path(f"{prefix}_{kernels[0].name}.py")
        status, output = self.build(kernels, path)
        if status == 0:
            return []
        if len(kernels) == 1:
            return [(kernels[0], output)]
        middle = len(kernels) // 2
        return self.bisect(kernels[:middle], prefix) + self.bisect(kernels[middle:], prefix)

    def run_calls(self, kernels: list[Kernel], source: Path) -> None:
        cases = [(k, call) for k in kernels for call in k.calls]
        spec = self.work / f"{source.stem}.json"
        spec.write_text(json.dumps({
            "source": str(source), "stem": source.stem, "compiled_dir": str(self.work / "out"),
            "cases": [{"setup": call.setup(), "run": call.run(k.name)} for k, call in cases]}))
        start = 0
        while start < len(cases):
            command = [sys.executable, str(Path(__file__).resolve()), "--child", str(spec),
                       "--start", str(start)]
            try:
                done = subprocess.run(command, capture_output=True, text=True,
                                      timeout=self.args.timeout, stdin=subprocess.DEVNULL,
                                      env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
                stdout, stderr, status, problem = done.stdout, done.stderr, done.returncode, None
            except subprocess.TimeoutExpired as timeout:
                from _ferropy_harness import output_text
                stdout, stderr = output_text(timeout.stdout), output_text(timeout.stderr)
                status, problem = None, f"timed out after {self.args.timeout:g}s"
            running = None
            for line in stdout.splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "import_error" in record:
                    for k, call in cases[start:]:
                        self.fail(f"{k.name}[{call.label}]", [indent(record["import_error"])])
                    return
                if "begin" in record:
                    running = record["begin"]
                    continue
                running = None
                k, call = cases[record["case"]]
                start = record["case"] + 1
                case_id = f"{k.name}[{call.label}]"
                if record["problems"]:
                    self.fail(case_id, self.describe_case(k, call, record["numpy"],
                                                          record["compiled"], record["problems"]))
                else:
                    self.succeed(case_id)
            if status == 0 and start >= len(cases):
                return
            if problem is None:
                from _ferropy_harness import signal_name
                problem = (f"the test process died with signal {signal_name(-status) or -status}"
                           if status is not None and status < 0
                           else f"the test process exited with status {status}")
            blamed = running if running is not None else start
            k, call = cases[blamed]
            self.fail(f"{k.name}[{call.label}]", self.describe_case(
                k, call, "?", "crash", [f"{problem} during this call", "stderr:\n" +
                                         tail(stderr, 30)]))
            start = blamed + 1

    def describe_case(self, k: Kernel, call: Call, numpy: str, compiled: str,
                      problems: list[str]) -> list[str]:
        lines = [indent(k.source().rstrip()), "     call:"]
        lines += [f"       {line}" for line in call.setup()]
        lines.append(f"       {call.run(k.name)}")
        lines.append(f"     NumPy:    {numpy}")
        lines.append(f"     compiled: {compiled}")
        lines += [indent(p) for p in problems]
        return lines


def indent(text: str, by: str = "     ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def tail(text: str, lines: int, width: int = 240) -> str:
    parts = [p if len(p) <= width else p[:width] + " ..." for p in text.rstrip().splitlines()]
    if len(parts) > lines:
        parts = [f"... ({len(parts) - lines} lines before)"] + parts[-lines:]
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ferropy", help="the ferropy binary")
    parser.add_argument("--python-for-build", default=sys.executable,
                        help="the interpreter to build for (default: this one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true",
                        help="every dtype variant of every function (a longer build)")
    parser.add_argument("--only", help="comma-separated fnmatch patterns of kernel names")
    parser.add_argument("--work", help="working directory (default: a new temporary one)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed for all calls")
    parser.add_argument("--print", action="store_true",
                        help="print the module and the calls, build nothing")
    parser.add_argument("--verbose", action="store_true",
                        help="also show the expected refusals and known failures")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.dont_write_bytecode = True
    sys.stdout.reconfigure(line_buffering=True)
    if args.child:
        return child_main(args.child, args.start)
    if not args.ferropy and not args.print:
        parser.error("--ferropy is required")
    return Runner(args).main()


if __name__ == "__main__":
    sys.exit(main())
