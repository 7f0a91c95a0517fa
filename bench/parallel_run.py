"""Parallel-loop benchmark: each kernel of bench/parallel compiled once, timed
on 1 thread and on N threads (`set_num_threads`), results compared.

    python bench/parallel_run.py [--ferropy PATH] [--threads N] [--reps R] [--work DIR]

Prints a markdown table: median time per call on 1 thread and on N threads,
and the speed-up. Not a test: it times things.
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


def timed(module, setup: str, call: str, reps: int) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(reps + 1):
        namespace = {"np": np}
        exec(setup, namespace)
        namespace.update(vars(module))
        start = time.perf_counter()
        result = eval(call, namespace)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]), result


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
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(work))
    rows = []
    for source in sorted((REPO / "bench" / "parallel").glob("p_*.py")):
        subprocess.run(
            [args.ferropy, "build", "-q", str(source), "-o", str(work), "--python", sys.executable],
            check=True,
        )
        module = importlib.import_module(source.stem)
        setup = "\n".join(lines(source, "#setup:"))
        (call,) = lines(source, "#run:")
        module.set_num_threads(1)
        serial, expected = timed(module, setup, call, args.reps)
        module.set_num_threads(args.threads)
        parallel, got = timed(module, setup, call, args.reps)
        status = "" if same(expected, got) else " WRONG"
        rows.append((source.stem, call, serial, parallel, status))
        print(f"{source.stem}: {serial * 1e3:.1f} ms -> {parallel * 1e3:.1f} ms{status}", file=sys.stderr)
    print(f"| kernel | call | 1 thread | {args.threads} threads | speed-up |")
    print("|---|---|---|---|---|")
    for name, call, serial, parallel, status in rows:
        print(f"| {name} | `{call}` | {serial * 1e3:.1f} ms | {parallel * 1e3:.1f} ms{status} | {serial / parallel:.2f}x |")
    return 1 if any(r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
