#setup: rng = np.random.default_rng(21); x = rng.normal(0.0, 1.0, 1_000_000)
#run: histogram(x, -3.5, 3.5, 70)
"""Fixed-width histogram of float64 samples into int64 counts; samples
outside [lo, hi) are counted separately."""
import numpy as np


#pythran export histogram(float64[:], float, float, int)
def histogram(x: "float64[:]", lo: float, hi: float, nbins: int) -> tuple["int64[:]", int]:
    counts = np.zeros(nbins, dtype=np.int64)
    outside = 0
    scale = nbins / (hi - lo)
    for i in range(len(x)):
        v = x[i]
        if v >= lo and v < hi:
            b = int((v - lo) * scale)
            if b >= nbins:
                b = nbins - 1
            counts[b] += 1
        else:
            outside += 1
    return counts, outside
