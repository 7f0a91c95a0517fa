"""Parallel-loop benchmark: each kernel of bench/parallel compiled once, timed
on 1 thread and on N threads (`set_num_threads`), results compared.

    python bench/parallel_run.py [--ferropy PATH] [--threads N] [--reps R] [--work DIR] [--no-numba]

Prints a markdown table: median time per call on 1 thread and on N threads,
and the speed-up; when Numba imports, the same for the kernel under
`numba.njit(parallel=True)` with `numba.prange`, as a measure of what the
machine allows (memory-bound loops scale less than compute-bound ones). The
1-thread and N-thread calls alternate, so both see the same machine load.

Each engine times each kernel in a process of its own: the worker threads of
one parallel runtime keep spinning for a while after its loops end and would
take cores from the other's. For the same reason the processes run with
`OPENBLAS_NUM_THREADS=1` (unless it is set): NumPy's OpenBLAS threads spin
after NumPy starts, and no kernel here calls BLAS.
Not a test: it times things.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pickle
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


def time_one(args) -> int:
    """The child process: times one kernel under one engine, prints JSON."""
    source = Path(args.one)
    work = Path(args.work)
    setup = "\n".join(lines(source, "#setup:"))
    (call,) = lines(source, "#run:")
    expected = pickle.loads((work / f"{source.stem}.expected.pickle").read_bytes())
    threads = [1, args.threads]
    if args.engine == "ferropy":
        sys.path.insert(0, str(work))
        module = importlib.import_module(source.stem)
        functions, set_threads = vars(module), module.set_num_threads
    else:
        functions = numba_functions(source)
        if functions is None:
            print(json.dumps(None))
            return 0
        import numba

        set_threads = numba.set_num_threads
    times, results = timed(functions, set_threads, threads, setup, call, args.reps)
    ok = all(same(expected, r) for r in results.values())
    print(json.dumps({"serial": times[1], "parallel": times[args.threads], "ok": ok}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ferropy", default=str(REPO / "target" / "release" / "ferropy"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--work", default=str(REPO / "target" / "bench" / "parallel"))
    parser.add_argument("--no-numba", action="store_true", help="leave Numba out")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return time_one(args)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    sources = sorted((REPO / "bench" / "parallel").glob("p_*.py"))
    # Every build and every CPython reference first: timing a kernel right
    # after seconds of the interpreter's own loop (the stencil's reference)
    # measured the machine's recovery from that, on both engines.
    for source in sources:
        subprocess.run(
            [args.ferropy, "build", "-q", str(source), "-o", str(work), "--python", sys.executable],
            check=True,
        )
        setup = "\n".join(lines(source, "#setup:"))
        (call,) = lines(source, "#run:")
        # CPython's result is the reference.
        namespace = {"np": np}
        exec(setup, namespace)
        exec(compile(source.read_text(), str(source), "exec"), namespace)
        expected = eval(call, namespace)
        (work / f"{source.stem}.expected.pickle").write_bytes(pickle.dumps(expected))
    rows = []
    for source in sources:
        (call,) = lines(source, "#run:")
        measured = {}
        for engine in ["ferropy"] + ([] if args.no_numba else ["numba"]):
            child = subprocess.run(
                [sys.executable, __file__, "--one", str(source), "--engine", engine,
                 "--threads", str(args.threads), "--reps", str(args.reps), "--work", str(work)],
                check=True, capture_output=True, text=True, env=env,
            )
            measured[engine] = json.loads(child.stdout.strip().splitlines()[-1])
        ours = measured["ferropy"]
        status = "" if ours["ok"] else " WRONG"
        numba_cells = ""
        theirs = measured.get("numba")
        if theirs is not None:
            wrong = "" if theirs["ok"] else " WRONG"
            n1, nn = theirs["serial"], theirs["parallel"]
            numba_cells = f" {n1 * 1e3:.1f} ms | {nn * 1e3:.1f} ms{wrong} | {n1 / nn:.2f}x |"
        serial, parallel = ours["serial"], ours["parallel"]
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
