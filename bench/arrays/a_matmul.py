#setup: rng = np.random.default_rng(113); a = rng.integers(-8, 9, (1000, 1000)).astype(np.float64); b = rng.integers(-8, 9, (1000, 1000)).astype(np.float64)
#run: matmul(a, b)
#bench: separate: NumPy multiplies through its BLAS library; reported apart from the geometric mean
"""A dense float64 matrix product, 1000 x 1000 by 1000 x 1000, written as
a @ b. The entries are small integers stored as float64, so every summation
order gives the exact product (the speed is that of any float64 product)."""
import numpy as np


#pythran export matmul(float64[:, :], float64[:, :])
def matmul(a: "float64[:, :]", b: "float64[:, :]") -> "float64[:, :]":
    return a @ b
