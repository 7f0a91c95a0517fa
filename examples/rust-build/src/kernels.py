"""Numeric kernels written in Python and called from Rust (src/lib.rs).
Annotated as for ferropy's other paths; the same file compiles into a
CPython extension module with `ferropy build`."""
import numpy as np


def logistic(r: float, x: float, steps: int) -> float:
    """The logistic map x -> r x (1 - x), iterated `steps` times."""
    for _ in range(steps):
        x = r * x * (1.0 - x)
    return x


def column_means(a: "float64[:, :]") -> "float64[:]":
    """The mean of each column of `a`."""
    means = np.zeros(a.shape[1])
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            means[j] += a[i, j]
    return means / a.shape[0]


def smooth(u: "float64[:]", out: "float64[:]") -> None:
    """Three-point average of `u` into `out`, ends copied."""
    n = u.shape[0]
    out[0] = u[0]
    out[n - 1] = u[n - 1]
    for i in range(1, n - 1):
        out[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0


def pick(a: "float64[:]", i: int) -> float:
    """a[i], with Python's negative indices and NumPy's IndexError."""
    return a[i]
