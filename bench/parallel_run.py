"""Parallel-loop benchmark: each kernel of bench/parallel compiled once, timed
on 1 thread and on N threads (`set_num_threads`), results compared.

    python bench/parallel_run.py [--ferropy PATH] [--threads N] [--reps R] [--work DIR] [--no-numba]

Prints a markdown table: median time per call on 1 thread and on N threads,
and the speed-up; when Numba imports, the same for the kernel under
`numba.njit(parallel=True)` with `numba.prange`, as a measure of what the
machine allows (memory-bound loops scale less than compute-bound ones). The
1-thread and N-thread calls alternate, so both see the same machine load.
Not a test: it times things.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def lines(source: Path, prefix: str) -> list[str]:
    return [
        line[len(prefix):].strip()
        for line in source.read_text().splitlines()
        if line.startswith(prefix)
    ]


def timed(functions: dict, set_threads, threads: list[int], setup: str, call: str, reps: int):
    """Median time per call and the last result, per thread count; the
    thread counts alternate call by call, after one warm-up call each."""
    times: dict[int, list[float]] = {t: [] for t in threads}
    results: dict[int, object] = {}
    for rep in range(reps + 1):
        for t in threads:
            set_threads(t)
            namespace = {"np": np}
            exec(setup, namespace)
            namespace.update(functions)
            start = time.perf_counter()
            results[t] = eval(call, namespace)
            if rep > 0:
                times[t].append(time.perf_counter() - start)
    return {t: statistics.median(v) for t, v in times.items()}, results


def numba_functions(source: Path) -> dict | None:
    """The kernel's functions under numba.njit(parallel=True), its `prange`
    Numba's; None when Numba does not import."""
    try:
        import numba
    except ImportError:
        return None
    namespace: dict = {"__name__": source.stem}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    namespace["prange"] = numba.prange
    functions = {}
    for name, value in list(namespace.items()):
        if callable(value) and getattr(value, "__module__", None) == source.stem:
            functions[name] = numba.njit(parallel=True)(value)
            namespace[name] = functions[name]
    return functions


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=0.0)
    if isinstance(a, float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ferropy", default=str(REPO / "target" / "release" / "ferropy"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--work", default=str(REPO / "target" / "bench" / "parallel"))
    parser.add_argument("--no-numba", action="store_true", help="leave Numba out")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(work))
    threads = [1, args.threads]
    rows = []
    for source in sorted((REPO / "bench" / "parallel").glob("p_*.py")):
        subprocess.run(
            [args.ferropy, "build", "-q", str(source), "-o", str(work), "--python", sys.executable],
            check=True,
        )
        module = importlib.import_module(source.stem)
        setup = "\n".join(lines(source, "#setup:"))
        (call,) = lines(source, "#run:")
        # CPython's result is the reference.
        namespace = {"np": np}
        exec(setup, namespace)
        exec(compile(source.read_text(), str(source), "exec"), namespace)
        expected = eval(call, namespace)
        times, results = timed(vars(module), module.set_num_threads, threads, setup, call, args.reps)
        status = "" if all(same(expected, r) for r in results.values()) else " WRONG"
        numba_cells = ""
        jitted = None if args.no_numba else numba_functions(source)
        if jitted is not None:
            import numba

            numba_times, numba_results = timed(
                jitted, numba.set_num_threads, threads, setup, call, args.reps
            )
            wrong = "" if all(same(expected, r) for r in numba_results.values()) else " WRONG"
            n1, nn = numba_times[1], numba_times[args.threads]
            numba_cells = f" {n1 * 1e3:.1f} ms | {nn * 1e3:.1f} ms{wrong} | {n1 / nn:.2f}x |"
        serial, parallel = times[1], times[args.threads]
        rows.append((source.stem, call, serial, parallel, status, numba_cells))
        print(f"{source.stem}: {serial * 1e3:.1f} ms -> {parallel * 1e3:.1f} ms{status}", file=sys.stderr)
    numba_head = f" Numba 1 thread | Numba {args.threads} threads | Numba speed-up |" if any(r[5] for r in rows) else ""
    numba_rule = "---|---|---|" if numba_head else ""
    print(f"| kernel | call | 1 thread | {args.threads} threads | speed-up |{numba_head}")
    print(f"|---|---|---|---|---|{numba_rule}")
    for name, call, serial, parallel, status, numba_cells in rows:
        print(
            f"| {name} | `{call}` | {serial * 1e3:.1f} ms | {parallel * 1e3:.1f} ms{status} "
            f"| {serial / parallel:.2f}x |{numba_cells}"
        )
    return 1 if any(r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
