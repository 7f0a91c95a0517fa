#setup: rng = np.random.default_rng(41); pts = rng.normal(size=(700, 4))
#run: pairwise_distances(pts)
"""Euclidean distance matrix of a point cloud (rows are points), computing
each unordered pair once and mirroring it."""
import math

import numpy as np


#pythran export pairwise_distances(float64[:, :])
def pairwise_distances(x: "float64[:, :]") -> "float64[:, :]":
    n, d = x.shape
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.0
            for k in range(d):
                t = x[i, k] - x[j, k]
                s += t * t
            dist = math.sqrt(s)
            out[i, j] = dist
            out[j, i] = dist
    return out
