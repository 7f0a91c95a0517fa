#setup: rng = np.random.default_rng(110); X = rng.normal(size=(50_000, 16)); w = rng.normal(0.0, 0.5, 16)
#setup: y = (rng.random(50_000) < 0.5).astype(np.float64)
#run: logistic_loss(X, w, y)
"""Logistic regression, one evaluation: sigmoid of X w, probabilities
clipped away from 0 and 1, mean log-loss, and the gradient X^T (p - y) / n."""
import numpy as np


#pythran export logistic_loss(float64[:, :], float64[:], float64[:])
def logistic_loss(X: "float64[:, :]", w: "float64[:]", y: "float64[:]") -> tuple["float64[:]", float]:
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    grad = X.T @ (p - y) / y.shape[0]
    return grad, loss
