#setup: rng = np.random.default_rng(101); x = rng.normal(0.0, 4.0, (2000, 500))
#run: softmax_rows(x)
"""Softmax over the rows of a matrix, stabilised by subtracting each row's
maximum: max and sum along axis 1 with keepdims=True, exp, broadcast divide."""
import numpy as np


#pythran export softmax_rows(float64[:, :])
def softmax_rows(x: "float64[:, :]") -> "float64[:, :]":
    shifted = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)
