#setup: rng = np.random.default_rng(102); u0 = rng.random((600, 600)); u0[0, :] = 1.0; u0[:, 0] = 0.5
#run: jacobi_slices(u0, 20)
"""Five-point Jacobi sweeps written with slices: each step averages the four
neighbours of every interior point of one buffer into the other, whose
border stays fixed, then the two buffers are swapped."""
import numpy as np


#pythran export jacobi_slices(float64[:, :], int)
def jacobi_slices(u0: "float64[:, :]", steps: int) -> "float64[:, :]":
    u = u0.copy()
    out = u0.copy()
    for _ in range(steps):
        out[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
        u, out = out, u
    return u
