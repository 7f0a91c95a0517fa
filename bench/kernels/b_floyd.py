#setup: rng = np.random.default_rng(11); n = 150; w = rng.uniform(1.0, 10.0, (n, n))
#setup: w[rng.random((n, n)) < 0.8] = np.inf; np.fill_diagonal(w, 0.0)
#run: floyd_warshall(w)
"""All-pairs shortest paths by Floyd-Warshall on a dense float64 weight
matrix where missing edges are +inf; also counts the relaxations made."""
import numpy as np


#pythran export floyd_warshall(float64[:, :])
def floyd_warshall(w: "float64[:, :]") -> tuple["float64[:, :]", int]:
    n = w.shape[0]
    d = w.copy()
    updates = 0
    for k in range(n):
        for i in range(n):
            dik = d[i, k]
            for j in range(n):
                alt = dik + d[k, j]
                if alt < d[i, j]:
                    d[i, j] = alt
                    updates += 1
    return d, updates
