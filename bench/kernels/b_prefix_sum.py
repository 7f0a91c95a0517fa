#setup: rng = np.random.default_rng(7); x = rng.standard_normal(3_000_000)
#run: prefix_sum(x)
"""Inclusive prefix sum (scan) of a float64 vector into a new array."""
import numpy as np


#pythran export prefix_sum(float64[:])
def prefix_sum(x: "float64[:]") -> "float64[:]":
    n = len(x)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc += x[i]
        out[i] = acc
    return out
