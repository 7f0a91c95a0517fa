# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The integrator in Cython as talks on Python performance write it: cos is
hard-coded (libc.math.cos) and the loop runs without the GIL. The point of
comparison for bench/integrate.py; scripts/bench-integrate builds it when
Cython can be installed.

`f` is accepted and ignored, so that the drivers of examples/integrate can
call this function where they call the compiled `integrate`.
"""
from libc.math cimport cos


def integrate(f, double a, double b, *, long n_iter=1000):
    cdef double acc = 0.0
    cdef double step = (b - a) / n_iter
    cdef long i
    with nogil:
        for i in range(n_iter):
            acc += cos(a + i * step) * step
    return acc
