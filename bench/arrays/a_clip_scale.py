#setup: rng = np.random.default_rng(111); img = rng.integers(0, 256, (1500, 1500)).astype(np.uint8)
#run: stretch_contrast(img, 40.0, 210.0)
"""Contrast stretch of an 8-bit image without a histogram: the intensities
are mapped linearly so that [lo, hi] covers [0, 255], clipped, rounded and
converted back to uint8."""
import numpy as np


#pythran export stretch_contrast(uint8[:, :], float, float)
def stretch_contrast(img: "uint8[:, :]", lo: float, hi: float) -> "uint8[:, :]":
    scale = 255.0 / (hi - lo)
    x = img.astype(np.float64)
    y = np.clip((x - lo) * scale, 0.0, 255.0)
    return np.floor(y + 0.5).astype(np.uint8)
