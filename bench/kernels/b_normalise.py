#setup: rng = np.random.default_rng(17); img = rng.integers(12, 231, size=(960, 1280), dtype=np.uint8)
#run: normalise_minmax(img)
"""Min-max normalisation of an 8-bit grey image to float64 values in [0, 1]:
one pass for the extremes, one to rescale."""
import numpy as np


#pythran export normalise_minmax(uint8[:, :])
def normalise_minmax(img: "uint8[:, :]") -> "float64[:, :]":
    h, w = img.shape
    lo = float(img[0, 0])
    hi = lo
    for i in range(h):
        for j in range(w):
            v = float(img[i, j])
            if v < lo:
                lo = v
            if v > hi:
                hi = v
    scale = 1.0 / (hi - lo)
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = (float(img[i, j]) - lo) * scale
    return out
