#setup: rng = np.random.default_rng(104); x = rng.integers(-8, 9, (600, 300)).astype(np.float64)
#run: gram(x)
"""The Gram matrix X X^T of the rows of X (a matrix product with a
transposed view), and its trace. The entries are small integers stored as
float64, so every summation order (BLAS blocks, SIMD lanes, plain loops)
gives the exact result and results compare at the benchmark's tolerance."""
import numpy as np


#pythran export gram(float64[:, :])
def gram(x: "float64[:, :]") -> tuple["float64[:, :]", float]:
    g = x @ x.T
    return g, np.trace(g)
