#setup: rng = np.random.default_rng(106); x = rng.random((500, 3))
#run: pairwise_distances(x)
"""Euclidean distances between all pairs of points by broadcasting:
X[:, None, :] - X[None, :, :] is n x n x d, squared, summed along the last
axis, square-rooted."""
import numpy as np


#pythran export pairwise_distances(float64[:, :])
def pairwise_distances(x: "float64[:, :]") -> "float64[:, :]":
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
