"""Integrands compiled into a module of their own.

Passed to `integrate.integrate` of the other compiled module, a function of
this module is called through its native entry point, without the GIL and
without building a Python float per call.
"""
#setup: import math
#run: gaussian(0.5)
#run: cos_minus_sin(math.pi / 3)
import math


def gaussian(x: float) -> float:
    """The standard normal density."""
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def cos_minus_sin(x: float) -> float:
    return math.cos(x) - math.sin(x)
