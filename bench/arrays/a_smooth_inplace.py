#setup: rng = np.random.default_rng(109); u0 = rng.random(200_000)
#run: smooth_inplace(u0, 30)
"""Three-point moving average applied in place, several times: the right
side of u[1:-1] = (u[:-2] + u[1:-1] + u[2:]) / 3 reads the slices that the
assignment overwrites, so NumPy's rule (evaluate, then store) must hold."""
import numpy as np


#pythran export smooth_inplace(float64[:], int)
def smooth_inplace(u0: "float64[:]", steps: int) -> "float64[:]":
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] = (u[:-2] + u[1:-1] + u[2:]) / 3.0
    return u
