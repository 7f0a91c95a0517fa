"""Compiled by ferropy when the package is built ([tool.ferropy] in pyproject.toml)."""
import math


def rms(values: "float64[:]") -> float:
    """Root mean square; 0.0 for no values."""
    if len(values) == 0:
        return 0.0
    total = 0.0
    for i in range(len(values)):
        total += values[i] * values[i]
    return math.sqrt(total / len(values))
