#setup: rng = np.random.default_rng(3); a = rng.normal(size=(150, 120)); b = rng.normal(size=(120, 140))
#run: matmul(a, b)
"""Naive dense matrix product: the textbook i-j-k triple loop with a scalar
accumulator per output element."""
import numpy as np


#pythran export matmul(float64[:, :], float64[:, :])
def matmul(a: "float64[:, :]", b: "float64[:, :]") -> "float64[:, :]":
    n, k = a.shape
    m = b.shape[1]
    c = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            acc = 0.0
            for p in range(k):
                acc += a[i, p] * b[p, j]
            c[i, j] = acc
    return c
