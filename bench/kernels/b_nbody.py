#setup: rng = np.random.default_rng(5); n = 90; pos = rng.uniform(-1.0, 1.0, (n, 3)); vel = rng.normal(0.0, 0.05, (n, 3)); mass = rng.uniform(0.5, 1.5, n)
#run: nbody(pos, vel, mass, 0.0005, 50)
"""Direct-summation gravitational n-body with Plummer softening: pairwise
accelerations (each pair visited once) and a semi-implicit Euler update."""
import math

import numpy as np


#pythran export nbody(float64[:, :], float64[:, :], float64[:], float, int)
def nbody(pos0: "float64[:, :]", vel0: "float64[:, :]", mass: "float64[:]", dt: float,
          steps: int) -> tuple["float64[:, :]", "float64[:, :]"]:
    n = pos0.shape[0]
    pos = pos0.copy()
    vel = vel0.copy()
    acc = np.zeros((n, 3))
    for _ in range(steps):
        for i in range(n):
            for d in range(3):
                acc[i, d] = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                r2 = dx * dx + dy * dy + dz * dz + 0.01
                inv3 = 1.0 / (r2 * math.sqrt(r2))
                fi = mass[j] * inv3
                fj = mass[i] * inv3
                acc[i, 0] += fi * dx
                acc[i, 1] += fi * dy
                acc[i, 2] += fi * dz
                acc[j, 0] -= fj * dx
                acc[j, 1] -= fj * dy
                acc[j, 2] -= fj * dz
        for i in range(n):
            for d in range(3):
                vel[i, d] += dt * acc[i, d]
                pos[i, d] += dt * vel[i, d]
    return pos, vel
