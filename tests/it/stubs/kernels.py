"""Signatures for the stub test (tests/it/stubs.rs): arrays, scalars, a
NumPy scalar type, a tuple result, a callable and a keyword-only default."""
import math
from typing import Callable

import numpy as np


def scale(a: "float64[:, :]", k: float, *, inplace: bool = False) -> "float64[:, :]":
    out = a if inplace else np.empty((a.shape[0], a.shape[1]))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * k
    return out


def stats(a: "float64[:]") -> tuple[float, float]:
    total = 0.0
    for i in range(len(a)):
        total += a[i]
    mean = total / len(a)
    acc = 0.0
    for i in range(len(a)):
        acc += (a[i] - mean) ** 2
    return mean, math.sqrt(acc / len(a))


def apply(f: Callable[[float], float], x: float) -> float:
    return f(x)


def count(n: int) -> int:
    c = 0
    for i in range(n):
        if i % 3 == 0:
            c += 1
    return c


def half(x: np.float32) -> np.float32:
    return x / np.float32(2.0)
