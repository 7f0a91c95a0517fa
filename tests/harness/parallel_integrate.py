"""The integrator of examples/integrate, compiled, on threads and in processes.

    python tests/harness/parallel_integrate.py --compiled-dir OUT

OUT holds `integrate` and `integrands` built by ferropy from
examples/integrate/. For each integrand (math.cos, a compiled helper of the
same module, a compiled helper of the second module, a lambda) the interpreted
examples/integrate/integrate.py computes the reference chunk by chunk; the
compiled `integrate` then runs the same chunks through every driver of
examples/integrate/drivers.py: serially, ThreadPoolExecutor with 1, 2 and 4
threads, a spawned `multiprocessing` pool and joblib (loky). Each chunk, and the sum of
the chunks in chunk order, must equal the reference within a relative 1e-12:
the compiled loop adds the same terms in the same order, so anything more is
a real difference. Where CPython cannot pickle the integrand (a lambda), the
`multiprocessing` driver must fail with the same exception as `pickle.dumps`.

Two kinds of checks come before the table of results:
- a worker process of each pool imports `integrate` and `integrands` from OUT,
  as extension modules, so the processes really run compiled code;
- the compiled call releases the GIL: another Python thread keeps running
  while `integrate` works through math.cos or a compiled helper (a call that
  holds the GIL is run first to show that the check detects one).

The output is a table and a closing line `N passed, N failed`; the exit status
is 1 when anything failed. A watchdog ends the run with every thread's stack
after --timeout seconds, so a deadlock fails instead of hanging.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import importlib.machinery
import math
import pickle
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _ferropy_harness import ImportProblem, import_compiled, import_reference

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPOSITORY / "examples" / "integrate"
COMPILED_MODULES = ("integrate", "integrands")

# The compiled loop performs the same float operations in the same order as
# CPython, so only libm differences could separate the results.
RTOL = 1e-12

A = 0.0
B = math.pi / 2


@dataclass
class Integrand:
    name: str
    reference: Callable[[float], float]
    compiled: Callable[[float], float]


@dataclass
class Runner:
    name: str
    run: Callable[..., list[float]]


@dataclass
class Outcome:
    passed: bool
    detail: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled-dir", type=Path, required=True, help="where ferropy wrote the modules")
    parser.add_argument("--n-iter", type=int, default=10**6, help="iterations over the whole interval")
    parser.add_argument("--jobs", type=int, default=4, help="number of chunks")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before the watchdog fires")
    args = parser.parse_args()
    faulthandler.dump_traceback_later(args.timeout, exit=True)

    try:
        reference_integrate = import_reference(EXAMPLE_DIR / "integrate.py")
        reference_integrands = import_reference(EXAMPLE_DIR / "integrands.py")
        compiled_integrate = import_compiled("integrate", args.compiled_dir, allow_source_modules=False)
        compiled_integrands = import_compiled("integrands", args.compiled_dir, allow_source_modules=False)
    except ImportProblem as problem:
        print(f"error: {problem}")
        print("0 passed, 1 failed")
        return 1
    # Worker processes start with this `sys.path`: the compiled modules come
    # first, so that `integrate` is never the source file next to drivers.py.
    sys.path[0:0] = [str(args.compiled_dir.resolve()), str(EXAMPLE_DIR)]
    import drivers

    try:
        import joblib  # noqa: F401
    except ImportError:
        print("error: joblib is not installed; run scripts/setup, or `python -m pip install joblib==1.6.0`")
        print("0 passed, 1 failed")
        return 1

    passed = 0
    failed = 0

    def report(what: str, outcome: Outcome) -> None:
        nonlocal passed, failed
        status = "ok  " if outcome.passed else "FAIL"
        print(f"{status} {what:<58} {outcome.detail}", flush=True)
        if outcome.passed:
            passed += 1
        else:
            failed += 1

    print("--- worker processes import the compiled modules")
    with drivers.process_pool(1) as pool:
        report("multiprocessing (spawn) worker", workers_import_compiled(pool.apply, args.compiled_dir))
    report("joblib (loky) worker", workers_import_compiled(joblib_apply, args.compiled_dir))

    print("--- the compiled call releases the GIL")
    report(
        "control: sum(range(n)) holds the GIL, and is detected",
        gil_check(lambda: sum(range(3 * 10**7)), expect_released=False, attempts=1),
    )
    gil_iterations = 20 * args.n_iter
    report(
        f"integrate(math.cos, n_iter={gil_iterations:.0e})",
        gil_check(lambda: compiled_integrate.integrate(math.cos, A, B, n_iter=gil_iterations), expect_released=True),
    )
    report(
        f"integrate(integrands.gaussian, n_iter={gil_iterations:.0e})",
        gil_check(
            lambda: compiled_integrate.integrate(compiled_integrands.gaussian, A, B, n_iter=gil_iterations),
            expect_released=True,
        ),
    )

    rational = lambda x: 1.0 / (1.0 + x * x)  # noqa: E731 - the point is to pass a lambda
    integrands = [
        Integrand("math.cos", math.cos, math.cos),
        Integrand("integrate.cos_poly (same module)", reference_integrate.cos_poly, compiled_integrate.cos_poly),
        Integrand("integrands.gaussian (second module)", reference_integrands.gaussian, compiled_integrands.gaussian),
        Integrand("lambda x: 1.0 / (1.0 + x * x)", rational, rational),
    ]
    runners = [
        Runner("serial", drivers.serial),
        Runner("threads (1)", lambda *a, **k: drivers.threads(*a, **k, workers=1)),
        Runner("threads (2)", lambda *a, **k: drivers.threads(*a, **k, workers=2)),
        Runner("threads (4)", lambda *a, **k: drivers.threads(*a, **k, workers=4)),
        Runner("multiprocessing (4)", lambda *a, **k: drivers.processes(*a, **k, workers=4)),
        Runner("joblib loky (4)", lambda *a, **k: drivers.joblib_parallel(*a, **k, workers=4)),
    ]

    print(f"--- chunks of integrate(f, {A}, pi/2, n_iter={args.n_iter}) in {args.jobs} jobs, against CPython")
    print(f"     {'integrand / driver':<58} {'sum of chunks':<22} {'max rel diff':<13} {'bits':<5} time")
    for integrand in integrands:
        started = time.perf_counter()
        expected = drivers.serial(
            reference_integrate.integrate, integrand.reference, A, B, n_iter=args.n_iter, jobs=args.jobs
        )
        reference_seconds = time.perf_counter() - started
        expected_total = drivers.combine(expected)
        print(
            f"     {integrand.name + ' / CPython serial':<58} {expected_total!r:<22} {'':<13} {'':<5} "
            f"{reference_seconds:.3f}s",
            flush=True,
        )
        try:
            pickle.dumps(integrand.compiled)
            pickling_error: type[BaseException] | None = None
        except Exception as error:  # noqa: BLE001 - whatever pickle raises is the expectation
            pickling_error = type(error)
        for runner in runners:
            what = f"{integrand.name} / {runner.name}"
            if runner.name.startswith("multiprocessing") and pickling_error is not None:
                report(what, expect_refusal(runner, compiled_integrate.integrate, integrand, pickling_error, args))
                continue
            report(what, compare(drivers, runner, compiled_integrate.integrate, integrand, expected, args))

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def compare(
    drivers: types.ModuleType,
    runner: Runner,
    integrate: Callable[..., float],
    integrand: Integrand,
    expected: list[float],
    args: argparse.Namespace,
) -> Outcome:
    started = time.perf_counter()
    try:
        actual = runner.run(integrate, integrand.compiled, A, B, n_iter=args.n_iter, jobs=args.jobs)
    except Exception as error:  # noqa: BLE001 - any exception is a failure to report
        return Outcome(False, f"raised {error!r}")
    seconds = time.perf_counter() - started
    if len(actual) != len(expected):
        return Outcome(False, f"{len(actual)} chunk results, expected {len(expected)}")
    total = drivers.combine(actual)
    expected_total = drivers.combine(expected)
    pairs = list(zip(expected, actual)) + [(expected_total, total)]
    largest = max(relative_difference(e, a) for e, a in pairs)
    identical = all(e == a for e, a in pairs)
    detail = f"{total!r:<22} {largest:<13.3g} {'same' if identical else 'diff':<5} {seconds:.3f}s"
    for index, (e, a) in enumerate(zip(expected, actual)):
        if not relative_difference(e, a) <= RTOL:
            return Outcome(False, f"{detail}\n       chunk {index}: CPython {e!r}, compiled {a!r}")
    if not relative_difference(expected_total, total) <= RTOL:
        return Outcome(False, f"{detail}\n       sum: CPython {expected_total!r}, compiled {total!r}")
    return Outcome(True, detail)


def expect_refusal(
    runner: Runner,
    integrate: Callable[..., float],
    integrand: Integrand,
    error_type: type[BaseException],
    args: argparse.Namespace,
) -> Outcome:
    try:
        runner.run(integrate, integrand.compiled, A, B, n_iter=args.n_iter, jobs=args.jobs)
    except error_type as error:
        return Outcome(True, f"refused like pickle.dumps: {type(error).__name__}")
    except Exception as error:  # noqa: BLE001 - any other exception is a failure to report
        return Outcome(False, f"raised {error!r}, expected {error_type.__name__} as from pickle.dumps")
    return Outcome(False, f"ran, although pickle.dumps raises {error_type.__name__} for this integrand")


def relative_difference(expected: float, actual: float) -> float:
    if expected == actual:
        return 0.0
    if expected == 0.0 or math.isnan(expected) or math.isnan(actual):
        return math.inf
    return abs(expected - actual) / abs(expected)


# ---------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------


def compiled_module_files() -> dict[str, str]:
    """Runs in a worker: where `integrate` and `integrands` come from there."""
    return {name: importlib.import_module(name).__file__ or "" for name in COMPILED_MODULES}


def joblib_apply(function: Callable[[], object]) -> object:
    from joblib import Parallel, delayed

    # With n_jobs=1 joblib would run the call in this process.
    return Parallel(n_jobs=2, backend="loky")(delayed(function)() for _ in range(1))[0]


def workers_import_compiled(apply: Callable[[Callable[[], object]], object], compiled_dir: Path) -> Outcome:
    try:
        files = apply(compiled_module_files)
    except Exception as error:  # noqa: BLE001 - any exception is a failure to report
        return Outcome(False, f"raised {error!r}")
    compiled_dir = compiled_dir.resolve()
    for name, file in files.items():
        location = Path(file).resolve()
        is_extension = any(location.name.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
        if location.parent != compiled_dir or not is_extension:
            return Outcome(False, f"the worker imported `{name}` from {location}, not the extension in {compiled_dir}")
    return Outcome(True, ", ".join(Path(file).name for file in files.values()))


# ---------------------------------------------------------------------------
# The GIL
# ---------------------------------------------------------------------------


def gil_check(call: Callable[[], object], expect_released: bool, attempts: int = 3) -> Outcome:
    """Runs `call` on a thread while this thread keeps reading the clock.

    While a call holds the GIL, this thread cannot run Python at all, so the
    longest gap between two of its clock readings spans the whole call. While
    the call has released it, the gaps are those of the OS scheduler, a few
    milliseconds. The verdict is the share of the call covered by the longest
    gap, against one half.

    On a loaded machine the scheduler alone can stall this thread for half a
    call, so a call is judged to release the GIL if any of `attempts` runs
    shows it: a call that holds the GIL can never show short gaps.
    """
    details = []
    for _ in range(attempts):
        released, detail = _longest_stall(call)
        details.append(detail)
        if released:
            break
    verdict = "released" if released else "held"
    outcome = f"GIL {verdict}: longest stall of this thread " + "; ".join(details)
    return Outcome(released == expect_released, outcome)


def _longest_stall(call: Callable[[], object]) -> tuple[bool, str]:
    span: list[float] = []

    def worker() -> None:
        started = time.perf_counter()
        call()
        span.extend((started, time.perf_counter()))

    thread = threading.Thread(target=worker)
    readings: list[float] = []
    thread.start()
    while thread.is_alive():
        readings.append(time.perf_counter())
    thread.join()
    started, ended = span
    inside = [started] + [t for t in readings if started < t < ended] + [ended]
    largest_gap = max(later - earlier for earlier, later in zip(inside, inside[1:]))
    duration = ended - started
    return largest_gap < 0.5 * duration, f"{largest_gap * 1e3:.1f} ms of a {duration * 1e3:.0f} ms call"


if __name__ == "__main__":
    sys.exit(main())
