#setup: rng = np.random.default_rng(23); n = 300_000; spot = rng.uniform(40.0, 160.0, n); strike = rng.uniform(50.0, 150.0, n)
#setup: tau = rng.uniform(0.05, 3.0, n); sigma = rng.uniform(0.05, 0.8, n)
#run: bs_prices(spot, strike, tau, 0.02, sigma)
"""European call and put prices under Black-Scholes, with the normal CDF
written through math.erf, plus math.exp, math.log and math.sqrt."""
import math

import numpy as np


def phi(x):
    return 0.5 * (1.0 + math.erf(x * 0.7071067811865476))


#pythran export bs_prices(float64[:], float64[:], float64[:], float, float64[:])
def bs_prices(s: "float64[:]", k: "float64[:]", t: "float64[:]", r: float,
              sigma: "float64[:]") -> tuple["float64[:]", "float64[:]"]:
    n = len(s)
    calls = np.empty(n)
    puts = np.empty(n)
    for i in range(n):
        vol = sigma[i] * math.sqrt(t[i])
        d1 = (math.log(s[i] / k[i]) + (r + 0.5 * sigma[i] * sigma[i]) * t[i]) / vol
        d2 = d1 - vol
        discounted = k[i] * math.exp(-r * t[i])
        calls[i] = s[i] * phi(d1) - discounted * phi(d2)
        puts[i] = discounted * phi(-d2) - s[i] * phi(-d1)
    return calls, puts
