#setup: m = np.random.default_rng(1).random((4000, 500))
#run: row_norms(m)
"""Row-wise reduction: the Euclidean norm of each row."""
import math

import numpy as np

prange = range


def row_norms(m: "float64[:, :]") -> "float64[:]":
    out = np.zeros(m.shape[0])
    for i in prange(m.shape[0]):
        acc = 0.0
        for j in range(m.shape[1]):
            acc += m[i, j] * m[i, j]
        out[i] = math.sqrt(acc)
    return out
