#setup: rng = np.random.default_rng(31); n = 250_000; per_row = rng.integers(2, 12, n)
#setup: indptr = np.zeros(n + 1, dtype=np.int64); indptr[1:] = np.cumsum(per_row)
#setup: indices = rng.integers(0, n, int(indptr[n])).astype(np.int64); data = rng.normal(size=int(indptr[n]))
#setup: x = rng.normal(size=n); rhs = rng.normal(size=n)
#run: csr_residual(indptr, indices, data, x, rhs)
"""Sparse matrix-vector product in CSR form with int64 index arrays: the
residual r = b - A x of a linear system, and its squared norm."""
import numpy as np


#pythran export csr_residual(int64[:], int64[:], float64[:], float64[:], float64[:])
def csr_residual(indptr: "int64[:]", indices: "int64[:]", data: "float64[:]",
                 x: "float64[:]", b: "float64[:]") -> tuple["float64[:]", float]:
    n = len(indptr) - 1
    r = np.empty(n)
    norm2 = 0.0
    for row in range(n):
        acc = 0.0
        for p in range(indptr[row], indptr[row + 1]):
            acc += data[p] * x[indices[p]]
        ri = b[row] - acc
        r[row] = ri
        norm2 += ri * ri
    return r, norm2
