#setup: rng = np.random.default_rng(107); x = rng.integers(0, 400, (5000, 200)).astype(np.float64) / 8.0
#run: standardise(x)
"""Standardises each column: subtract the column means, divide by the
column standard deviations (mean and std along axis 0, broadcast back).
The data are multiples of 1/8, as from a quantised sensor, so the column
sums are exact in any summation order and x - mean agrees everywhere to the
benchmark's relative tolerance, even where it is close to zero."""
import numpy as np


#pythran export standardise(float64[:, :])
def standardise(x: "float64[:, :]") -> "float64[:, :]":
    return (x - x.mean(axis=0)) / x.std(axis=0)
