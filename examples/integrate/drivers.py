"""Ways to run one integral split into chunks: serially, on threads, on a
`multiprocessing` pool and with joblib.

Every driver cuts [a, b] into `jobs` chunks of `n_iter // jobs` iterations,
computes `integrate(f, lo, hi, n_iter=...)` for each chunk and returns the
chunk results in chunk order; `combine` adds them up from the first to the
last. The chunks and the order of the final sum do not depend on the driver
or on the number of workers, so every driver computes the same floats:

    from drivers import combine, threads
    from integrate import integrate
    combine(threads(integrate, math.cos, 0, math.pi / 2, n_iter=10**6, jobs=4, workers=4))

`integrate` is a parameter so that the same drivers run the interpreted module
and the compiled one. Threads only help when `integrate` releases the GIL,
which the module compiled by ferropy does.

Worker processes receive `integrate` and `f` by pickle, that is by reference
(module and name): the module defining them, and this one, must be importable
in the workers. The pool starts its workers with `spawn`, which gives them the
parent's `sys.path`, and loky (joblib's default backend) does the same. A
lambda cannot be pickled by reference, so `processes` refuses it, as it would
for the interpreted module; joblib pickles it by value and runs it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

Integrand = Callable[[float], float]
Integrator = Callable[..., float]


def chunks(a: float, b: float, *, n_iter: int, jobs: int) -> list[tuple[float, float, int]]:
    """`(lo, hi, n_iter)` of each chunk, in order. The chunk edges are computed
    the same way every time, so every driver integrates the same chunks."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    width = (b - a) / jobs
    per_chunk = n_iter // jobs
    return [(a + k * width, a + (k + 1) * width, per_chunk) for k in range(jobs)]


def combine(parts: list[float]) -> float:
    """The sum of the chunk results, from the first chunk to the last.

    An explicit loop rather than `sum`, which compensates rounding on Python
    3.12 and later and would make the total depend on the interpreter.
    """
    total = 0.0
    for part in parts:
        total += part
    return total


def integrate_chunk(integrate: Integrator, f: Integrand, lo: float, hi: float, n_iter: int) -> float:
    """One chunk; module-level so that worker processes can unpickle it."""
    return integrate(f, lo, hi, n_iter=n_iter)


def serial(integrate: Integrator, f: Integrand, a: float, b: float, *, n_iter: int, jobs: int) -> list[float]:
    return [integrate_chunk(integrate, f, lo, hi, n) for lo, hi, n in chunks(a, b, n_iter=n_iter, jobs=jobs)]


def threads(
    integrate: Integrator, f: Integrand, a: float, b: float, *, n_iter: int, jobs: int, workers: int
) -> list[float]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(integrate_chunk, integrate, f, lo, hi, n)
            for lo, hi, n in chunks(a, b, n_iter=n_iter, jobs=jobs)
        ]
        return [future.result() for future in futures]


def process_pool(workers: int) -> multiprocessing.pool.Pool:
    """A pool of `workers` processes started with `spawn`: fresh interpreters
    that import what they unpickle, and no fork of a process running threads."""
    return multiprocessing.get_context("spawn").Pool(processes=workers)


def processes(
    integrate: Integrator,
    f: Integrand,
    a: float,
    b: float,
    *,
    n_iter: int,
    jobs: int,
    workers: int,
    pool: multiprocessing.pool.Pool | None = None,
) -> list[float]:
    """Runs the chunks on `pool`, or on a pool of `workers` processes started
    for this call and closed after it (starting one costs far more than a
    small integral: pass a pool to time the integral alone)."""
    tasks = [(integrate, f, lo, hi, n) for lo, hi, n in chunks(a, b, n_iter=n_iter, jobs=jobs)]
    if pool is not None:
        return pool.starmap(integrate_chunk, tasks)
    with process_pool(workers) as own_pool:
        return own_pool.starmap(integrate_chunk, tasks)


def joblib_parallel(
    integrate: Integrator, f: Integrand, a: float, b: float, *, n_iter: int, jobs: int, workers: int
) -> list[float]:
    # Imported here so that the other drivers work without joblib installed.
    from joblib import Parallel, delayed

    # loky keeps its workers between calls, so only the first call pays for
    # starting them.
    parallel = Parallel(n_jobs=workers, backend="loky")
    return parallel(
        delayed(integrate_chunk)(integrate, f, lo, hi, n) for lo, hi, n in chunks(a, b, n_iter=n_iter, jobs=jobs)
    )
