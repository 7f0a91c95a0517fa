#setup: x = np.random.default_rng(3).random((1200, 3))
#run: pairwise_distances(x)
"""Pairwise Euclidean distance matrix."""
import math

import numpy as np

prange = range


def pairwise_distances(x: "float64[:, :]") -> "float64[:, :]":
    n = x.shape[0]
    out = np.zeros((n, n))
    for i in prange(n):
        for j in range(n):
            d = 0.0
            for k in range(x.shape[1]):
                t = x[i, k] - x[j, k]
                d += t * t
            out[i, j] = math.sqrt(d)
    return out
