#setup: rng = np.random.default_rng(112); x = rng.uniform(0.5, 1.5, 1_000_000); y = rng.uniform(0.5, 1.5, 1_000_000)
#run: axpy_chain(x, y, 8)
"""A chain of BLAS-1 operations, as in the inner loop of an iterative
solver: dot products, axpy updates in place (+=, -=, *=) and a norm. The
inputs are positive and the updates keep every element away from zero, so
results computed with another summation order for the dot products still
agree to the benchmark's relative tolerance."""
import numpy as np


#pythran export axpy_chain(float64[:], float64[:], int)
def axpy_chain(x: "float64[:]", y: "float64[:]", steps: int) -> tuple["float64[:]", "float64[:]", float]:
    r = y.copy()
    p = x.copy()
    for _ in range(steps):
        alpha = np.dot(r, p) / np.dot(p, p)
        r += alpha * p
        p *= 0.5
        p -= 0.25 * r
    return r, p, np.sqrt(np.dot(r, r))
