"""Wall times of the integrator of examples/integrate, interpreted and compiled,
serial, on threads and in processes.

    python bench/integrate.py --compiled-dir OUT [--cython-dir CY] [--runs 7]

OUT holds `integrate` and `integrands` built by ferropy from examples/integrate
(scripts/bench-integrate builds them and runs this). CY, when given, holds
`integrate_cython` built from bench/integrate_cython.pyx: cos hard-coded,
loop without the GIL.

Every row integrates over [0, pi/2] with --n-iter iterations cut into --jobs
chunks (examples/integrate/drivers.py), for each integrand: math.cos, and
cos_poly (a helper compiled into the same module) and gaussian (a helper
compiled into the second module). The CPython rows run the interpreted source
with the interpreted helpers. Each time is the median of --runs calls after
one untimed call; "x" is the speed-up over CPython serial with the same
integrand. A row whose result differs from CPython's is marked `!`.

Times are wall-clock times on whatever machine runs this: on a machine shared
with other work they are noisy, which is why the medians; the load average is
printed with the table.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = REPOSITORY / "examples" / "integrate"
HARNESS_DIR = REPOSITORY / "tests" / "harness"

A = 0.0
B = math.pi / 2

# From the issue that asked for this integrator (another machine): 4 jobs,
# 10**6 iterations, f = math.cos.
ISSUE_NUMBERS = "the issue's numbers, on its machine: Python threads 283 ms; Cython nogil, hard-coded cos, 7.95 ms"


@dataclass
class Row:
    """One way of running the chunks; its cells are filled column by column."""

    name: str
    # Runs the chunks with an integrate function and an integrand, returns the chunk results.
    run: Callable[[Callable[..., float], Callable[[float], float]], list[float]]
    # Column name -> (integrate function, integrand), or None where the row does not apply.
    integrators: dict[str, tuple[Callable[..., float], Callable[[float], float]] | None]
    # Column name -> (median seconds, result), or None where the row does not apply.
    cells: dict[str, tuple[float, float] | None] = field(default_factory=dict)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled-dir", type=Path, required=True, help="where ferropy wrote the modules")
    parser.add_argument("--cython-dir", type=Path, help="where integrate_cython was built (optional)")
    parser.add_argument("--n-iter", type=int, default=10**6, help="iterations over the whole interval")
    parser.add_argument("--jobs", type=int, default=4, help="number of chunks, and of workers where not stated")
    parser.add_argument("--runs", type=int, default=7, help="timed calls per cell; the median is shown")
    args = parser.parse_args()

    # Worker processes start with this `sys.path`: the compiled modules come
    # before examples/integrate, so that `integrate` is never the source file.
    compiled_dir = args.compiled_dir.resolve()
    sys.path[0:0] = [str(compiled_dir), str(EXAMPLE_DIR), str(HARNESS_DIR)]
    from _ferropy_harness import import_compiled, import_reference

    reference = import_reference(EXAMPLE_DIR / "integrate.py")
    reference_integrands = import_reference(EXAMPLE_DIR / "integrands.py")
    compiled = import_compiled("integrate", compiled_dir, allow_source_modules=False)
    compiled_integrands = import_compiled("integrands", compiled_dir, allow_source_modules=False)
    cython = None
    if args.cython_dir is not None:
        cython = import_compiled("integrate_cython", args.cython_dir, allow_source_modules=False)
    import drivers

    jobs = args.jobs
    columns = ["math.cos", "cos_poly (same module)", "gaussian (second module)"]

    def interpreted() -> dict[str, tuple[Callable[..., float], Callable[[float], float]] | None]:
        return {
            columns[0]: (reference.integrate, math.cos),
            columns[1]: (reference.integrate, reference.cos_poly),
            columns[2]: (reference.integrate, reference_integrands.gaussian),
        }

    def ferropy() -> dict[str, tuple[Callable[..., float], Callable[[float], float]] | None]:
        return {
            columns[0]: (compiled.integrate, math.cos),
            columns[1]: (compiled.integrate, compiled.cos_poly),
            columns[2]: (compiled.integrate, compiled_integrands.gaussian),
        }

    def chunked(driver: Callable[..., list[float]], **options: object) -> Callable[..., list[float]]:
        return lambda integrate, f: driver(integrate, f, A, B, n_iter=args.n_iter, jobs=jobs, **options)

    pool = drivers.process_pool(jobs)
    rows = [
        Row("CPython serial", chunked(drivers.serial), interpreted()),
        Row(f"CPython threads ({jobs})", chunked(drivers.threads, workers=jobs), interpreted()),
        Row("ferropy serial", chunked(drivers.serial), ferropy()),
        *[Row(f"ferropy threads ({w})", chunked(drivers.threads, workers=w), ferropy()) for w in sorted({1, 2, jobs})],
        Row(f"ferropy multiprocessing ({jobs}), warm pool", chunked(drivers.processes, workers=jobs, pool=pool), ferropy()),
        Row(
            f"ferropy multiprocessing ({jobs}), pool per call",
            chunked(drivers.processes, workers=jobs),
            ferropy(),
        ),
        Row(f"ferropy joblib loky ({jobs})", chunked(drivers.joblib_parallel, workers=jobs), ferropy()),
    ]
    if cython is not None:
        only_cos = {column: None for column in columns}
        only_cos[columns[0]] = (cython.integrate, math.cos)
        rows.append(Row(f"Cython nogil, hard-coded cos, threads ({jobs})", chunked(drivers.threads, workers=jobs), only_cos))

    print(
        f"integrate(f, 0, pi/2) with n_iter={args.n_iter} in {jobs} chunks; median of {args.runs} runs; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    references: dict[str, float] = {}
    try:
        for row in rows:
            print(f"timing {row.name}", file=sys.stderr, flush=True)
            for column in columns:
                cell = row.integrators[column]
                if cell is None:
                    row.cells[column] = None
                    continue
                integrate, f = cell
                seconds, result = median_time(lambda: drivers.combine(row.run(integrate, f)), args.runs)
                references.setdefault(column, result)
                row.cells[column] = (seconds, result)
    finally:
        pool.terminate()

    print_table(rows, columns, references)
    print(f"load average {os.getloadavg()[0]:.2f} at the end; {ISSUE_NUMBERS}")
    return 0


def median_time(call: Callable[[], float], runs: int) -> tuple[float, float]:
    """The median wall time of `runs` calls after an untimed one (which starts
    pools and fills caches), and the result of the last call."""
    result = call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def format_milliseconds(seconds: float) -> str:
    milliseconds = seconds * 1e3
    if milliseconds >= 100:
        return f"{milliseconds:.0f} ms"
    if milliseconds >= 10:
        return f"{milliseconds:.1f} ms"
    return f"{milliseconds:.2f} ms"


def format_ratio(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def format_row(row: Row, columns: list[str], references: dict[str, float], baseline: Row) -> str:
    cells = []
    for column in columns:
        cell = row.cells.get(column)
        if cell is None:
            cells.append(f"{'-':>25} ")
            continue
        seconds, result = cell
        base = baseline.cells.get(column)
        ratio = format_ratio(base[0] / seconds) if base else ""
        mark = " " if result == references[column] else "!"
        cells.append(f"{format_milliseconds(seconds):>18} {ratio:>6}{mark}")
    return (f"{row.name:<44}" + "".join(cells)).rstrip()


def print_table(rows: list[Row], columns: list[str], references: dict[str, float]) -> None:
    print()
    print(f"{'':<44}" + "".join(f"{column:>25} " for column in columns).rstrip())
    for row in rows:
        print(format_row(row, columns, references, rows[0]))


if __name__ == "__main__":
    sys.exit(main())
