#setup: rng = np.random.default_rng(115); X = rng.standard_t(3.0, size=(100_000, 8))
#run: flag_outliers(X, 4.0)
"""Row-wise outlier flags on a table of measurements: per-column z-scores
with the sample standard deviation (ddof=1), a row is an outlier when any
|z| exceeds the limit and complete when all of its values are finite;
np.abs, np.maximum, comparisons, any/all along axis 1."""
import numpy as np


#pythran export flag_outliers(float64[:, :], float)
def flag_outliers(X: "float64[:, :]", limit: float) -> tuple["bool[:]", "bool[:]", float]:
    mu = X.mean(axis=0)
    sd = np.maximum(X.std(axis=0, ddof=1), 1e-12)
    z = np.abs(X - mu) / sd
    outlier = np.any(z > limit, axis=1)
    complete = np.all(np.abs(X) < np.inf, axis=1)
    return outlier, complete, np.max(z)
