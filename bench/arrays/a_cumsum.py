#setup: rng = np.random.default_rng(105); r = rng.normal(0.0005, 0.01, 2_000_000)
#run: running_stats(r)
"""Cumulative sums of a series: the running mean (cumsum divided by
arange(1, n + 1)) and the running total of squares."""
import numpy as np


#pythran export running_stats(float64[:])
def running_stats(r: "float64[:]") -> tuple["float64[:]", "float64[:]"]:
    n = r.shape[0]
    mean = np.cumsum(r) / np.arange(1, n + 1)
    energy = np.cumsum(r * r)
    return mean, energy
