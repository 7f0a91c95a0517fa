"""The integrator from talks on Python performance, with annotations added.

Plain Python: it runs unchanged under CPython, and `ferropy build` compiles it
into an extension module whose `integrate` releases the GIL. `drivers.py`
splits one integral into chunks and runs them serially, on threads, on a
`multiprocessing` pool and with joblib.
"""
#setup: import math
#run: integrate(math.cos, 0, math.pi / 2, n_iter=10**6)
#run: integrate(cos_poly, 0, math.pi / 2, n_iter=10**5)
import math
from collections.abc import Callable


def integrate(f: Callable[[float], float], a: float, b: float, *, n_iter: int = 1000) -> float:
    acc = 0
    step = (b - a) / n_iter
    for i in range(n_iter):
        acc += f(a + i * step) * step
    return acc


def cos_poly(x: float) -> float:
    """cos(x) by its Taylor polynomial of degree 8, evaluated by Horner's rule;
    good to about 2.5e-5 on [0, pi/2]."""
    x2 = x * x
    return 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0)))
