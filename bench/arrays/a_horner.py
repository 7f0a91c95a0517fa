#setup: rng = np.random.default_rng(108); x = rng.uniform(-1.0, 1.0, 1_000_000); c = rng.normal(size=12)
#run: horner(x, c)
"""A polynomial evaluated at every point of an array by Horner's rule, the
array loop inside the Python loop over coefficients (highest first)."""
import numpy as np


#pythran export horner(float64[:], float64[:])
def horner(x: "float64[:]", coeffs: "float64[:]") -> "float64[:]":
    result = np.zeros_like(x)
    for i in range(coeffs.shape[0]):
        result = result * x + coeffs[i]
    return result
