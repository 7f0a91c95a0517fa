#setup: rng = np.random.default_rng(103); x = rng.normal(1.0, 2.0, 2_000_000)
#run: masked_stats(x, 0.5)
"""Mean, standard deviation and count of the values above a threshold,
without boolean indexing: np.where selects the values (or zeros), sums
reduce them."""
import numpy as np


#pythran export masked_stats(float64[:], float)
def masked_stats(x: "float64[:]", threshold: float) -> tuple[float, float, int]:
    mask = x > threshold
    count = np.sum(np.where(mask, 1, 0))
    mean = np.sum(np.where(mask, x, 0.0)) / count
    dev = np.where(mask, x - mean, 0.0)
    std = np.sqrt(np.sum(dev * dev) / count)
    return mean, std, count
