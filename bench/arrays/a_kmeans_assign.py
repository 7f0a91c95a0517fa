#setup: rng = np.random.default_rng(114); X = rng.normal(size=(20_000, 4)); C = rng.normal(size=(16, 4))
#run: assign_clusters(X, C)
"""The assignment step of k-means by broadcasting: the squared distance of
every point to every centre (n x k x d, summed along the last axis), the
nearest centre by argmin along axis 1, and the inertia."""
import numpy as np


#pythran export assign_clusters(float64[:, :], float64[:, :])
def assign_clusters(X: "float64[:, :]", C: "float64[:, :]") -> tuple["int64[:]", float]:
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    labels = np.argmin(d2, axis=1)
    inertia = np.sum(np.min(d2, axis=1))
    return labels, inertia
