#setup: n = 40_000; x = np.linspace(0.0, 1.0, n); u0 = np.sin(math.pi * x) + 0.1 * np.sin(37.0 * math.pi * x)
#run: heat_explicit(u0, 0.45, 25)
"""1-D three-point stencil: explicit finite-difference steps of the heat
equation with fixed (Dirichlet) ends, two buffers swapped after each step."""
import numpy as np


#pythran export heat_explicit(float64[:], float, int)
def heat_explicit(u0: "float64[:]", alpha: float, steps: int) -> "float64[:]":
    n = len(u0)
    u = u0.copy()
    v = u0.copy()
    for _ in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u, v = v, u
    return u
