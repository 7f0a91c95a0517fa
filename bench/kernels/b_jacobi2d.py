#setup: n = 200; u0 = np.zeros((n, n)); u0[0, :] = 1.0; u0[:, n - 1] = np.linspace(1.0, 0.0, n)
#run: jacobi_sweeps(u0, 25)
"""2-D five-point stencil: Jacobi sweeps for Laplace's equation on a square
grid whose boundary rows and columns stay fixed, ping-ponging two grids."""
import numpy as np


#pythran export jacobi_sweeps(float64[:, :], int)
def jacobi_sweeps(u0: "float64[:, :]", sweeps: int) -> "float64[:, :]":
    h, w = u0.shape
    u = u0.copy()
    v = u0.copy()
    for _ in range(sweeps):
        for i in range(1, h - 1):
            for j in range(1, w - 1):
                v[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])
        u, v = v, u
    return u
