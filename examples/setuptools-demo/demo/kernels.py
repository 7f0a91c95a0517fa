"""Kernels of the demo package: plain Python that runs as it is, and that
`FerropyExtension` compiles into the wheel (setup.py)."""
import numpy as np


def smooth(signal: "float64[:]", width: int) -> "float64[:]":
    """Moving average of `width` samples; the result is shorter by width - 1
    (an error when width is not between 1 and len(signal))."""
    n = len(signal) - width + 1
    out = np.zeros(n)
    acc = 0.0
    for i in range(width):
        acc += signal[i]
    out[0] = acc / width
    for i in range(1, n):
        acc += signal[i + width - 1] - signal[i - 1]
        out[i] = acc / width
    return out


def count_primes(limit: int) -> int:
    """How many primes are below `limit` (trial division by odd numbers)."""
    count = 0
    for candidate in range(2, limit):
        if candidate % 2 == 0:
            if candidate == 2:
                count += 1
            continue
        prime = True
        d = 3
        while d * d <= candidate:
            if candidate % d == 0:
                prime = False
                break
            d += 2
        if prime:
            count += 1
    return count
