"""Benchmark: loop kernels under CPython, ferropy, Numba, Pythran and hand-written Rust.

    python bench/run.py [--suite loops|arrays|containers] [--kernels PATTERN] [--engines LIST] [--quick] [--json PATH]

`scripts/bench` sets up the environment (a venv with NumPy, Numba and Pythran,
a release build of ferropy, the hand-written crate in bench/hand) and calls
this script; run it directly only with an interpreter that has those.

Three suites share this runner (--suite):
- loops (the default): the loop kernels of bench/kernels, plus an extra corpus
  when it exists: FERROPY_KERNELS_DIR, else ../shared/kernels beside the
  repository;
- arrays: the whole-array NumPy kernels of bench/arrays (slices, broadcasting,
  ufuncs, reductions, matrix products). The reference is the same function
  run by CPython with NumPy, so the speed-ups are over NumPy; there is no
  hand-written Rust. A kernel with a `#bench: separate` line (the BLAS matrix
  product) is shown in the table but kept out of the geometric means, and its
  ratios to NumPy are printed on their own below the table;
- containers: kernels over Python lists, dicts and sets (bench/containers:
  counting with a dict, BFS over adjacency lists, a table built by
  comprehensions, statistics over a list of floats, deduplication with a
  set, tuple keys, a sieve), against CPython. Numba gets the lists as
  reflected lists; Pythran compiles the container types of their
  `#pythran export` lines.
Each file follows the corpus format of fixtures/kernels: `#setup:` lines build
the inputs (with `np` and `math` available) and the first `#run:` line is the
call timed.

Every kernel x engine pair runs in a child process of its own (with
`OPENBLAS_NUM_THREADS=1` unless it is set, except in the arrays suite:
NumPy's OpenBLAS threads spin after NumPy starts and would take cores from
parallel loops), on inputs built
afresh by `#setup` before every call (not timed). CPython runs first: it is the
reference, its result is pickled, and every other engine's result must match it
(`describe_mismatch` of the test harness: floats within rtol 1e-9, everything
else exactly, or the same exception type); a mismatch prints WRONG instead of a
time. Compiled engines get one warm-up call (for Numba it includes the JIT
compilation and is reported as its first-call time), then the median of 5
calls (11 when a call takes under 0.1 s, 3 when it takes over 2 s; --reps N
sets the count); CPython is the median of 3 in the loops suite and counted
like the compiled engines in the arrays and containers suites, whose CPython
calls take under a second (--cpython-reps N). `--quick`
makes one call per engine: a smoke run that checks results, not speed.

Engines:
- cpython: the source as is (always run: it is the reference);
- ferropy: `ferropy build FILE -o DIR --python PY` with the repository's
  release binary (its default: code for this machine's processor, like
  `-march=native`), in a cache directory of the benchmark's own
  (target/bench/ferropy-cache): dependencies compile once, every kernel is
  compiled afresh on every run, so its build time is real;
- numba: `numba.njit(cache=False)` applied to every function of the module
  before the first call (module globals are replaced, so calls between the
  module's functions, recursion included, go to the jitted versions);
- pythran: `pythran -O3 -march=native -ffp-contract=off FILE -o DIR/...`, cached
  under target/bench/pythran by a hash of the source, flags and versions; a
  kernel Pythran cannot compile is reported as n/a;
- hand: `hand_kernels` from bench/hand, for the kernels it implements (built
  with `-C target-cpu=native`, as ferropy builds by default).

Output: a markdown table (median time and speed-up over CPython per engine,
ferropy's ratio to the best of Numba and Pythran, compile times), a row of
geometric means, and a JSON file with every number (--json, default
target/bench/latest.json for the loops suite, target/bench/arrays.json for
the arrays suite).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import gc
import hashlib
import inspect
import json
import math
import os
import pickle
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "harness"))

ENGINES = ["cpython", "ferropy", "numba", "pythran", "hand"]
ENGINE_TITLES = {
    "cpython": "CPython",
    "ferropy": "ferropy",
    "numba": "Numba",
    "pythran": "Pythran",
    "hand": "Rust (hand)",
}
# The kernels bench/hand implements, with the same function names.
HAND_KERNELS = {"b_jacobi2d", "b_matmul", "b_fib"}
PYTHRAN_FLAGS = ["-O3", "-march=native", "-ffp-contract=off"]
# The suites: where their kernels are, whether an extra corpus joins the
# loops, which engines make sense, what the reference is called.
SUITES = {
    "loops": {"dir": "kernels", "extra_corpus": True, "engines": ENGINES,
              "reference_title": "CPython", "json": "latest.json", "cpython_reps": 3,
              "what": "loop kernels"},
    "arrays": {"dir": "arrays", "extra_corpus": False,
               "engines": ["cpython", "ferropy", "numba", "pythran"],
               "reference_title": "CPython+NumPy", "json": "arrays.json", "cpython_reps": 0,
               "what": "whole-array NumPy kernels"},
    "containers": {"dir": "containers", "extra_corpus": False,
                   "engines": ["cpython", "ferropy", "numba", "pythran"],
                   "reference_title": "CPython", "json": "containers.json", "cpython_reps": 0,
                   "what": "kernels over lists, dicts and sets"},
}
# `#bench: separate[: why]` in a kernel file keeps it out of the geometric means.
SEPARATE_LINE = re.compile(r"^\s*#\s*bench:\s*separate\b:?\s*(.*)$", re.MULTILINE)
MARKER = "@@bench-result@@ "
SLOW_CALL = 2.0  # seconds: past this, fewer timed calls
FAST_CALL = 0.1  # seconds: below this, more timed calls
CHILD_TIMEOUT = 1800.0


# ---------------------------------------------------------------------------
# Child: one engine on one kernel
# ---------------------------------------------------------------------------


def _first_run(path: Path):
    from _ferropy_harness import read_cases

    cases = read_cases(path)
    if not cases.runs:
        raise SystemExit(f"{path} has no #run: line")
    return cases.setup, cases.runs[0], len(cases.runs)


def _load_functions(engine: str, path: Path, module_dir: Path | None) -> dict:
    from _ferropy_harness import exported_functions, import_compiled, import_reference

    if engine == "cpython":
        return exported_functions(import_reference(path))
    if engine == "numba":
        import numba

        module = import_reference(path)
        # Replace every function defined in the module by its njit version
        # before anything is compiled: Numba resolves globals when it compiles,
        # so helpers and recursive calls then resolve to jitted functions.
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                setattr(module, name, numba.njit(value, cache=False))
        return exported_functions(module)
    if engine in ("ferropy", "pythran"):
        return exported_functions(import_compiled(path.stem, module_dir, False))
    if engine == "hand":
        return exported_functions(import_compiled("hand_kernels", module_dir, False))
    raise SystemExit(f"unknown engine {engine}")


def _fresh_namespace(setup_code, functions: dict) -> dict:
    import numpy as np

    namespace = {"np": np, "math": math}
    exec(setup_code, namespace)
    for name, function in functions.items():
        namespace.setdefault(name, function)
    return namespace


def _call(run_code, namespace: dict):
    """(seconds, ("ok", value) or ("raise", exception type name, message))."""
    gc.collect()
    started = time.perf_counter()
    try:
        value = eval(run_code, namespace)
        outcome = ("ok", value)
    except Exception as error:  # the outcome is compared, not propagated
        outcome = ("raise", type(error).__name__, str(error)[:300], type(error).__module__)
    return time.perf_counter() - started, outcome


def _mismatch(expected, actual) -> str | None:
    from _ferropy_harness import describe_mismatch

    if expected[0] == "raise" or actual[0] == "raise":
        if expected[0] == actual[0] == "raise" and expected[1] == actual[1]:
            return None
        want = f"{expected[1]} raised" if expected[0] == "raise" else "a value"
        got = f"{actual[1]}: {actual[2]}" if actual[0] == "raise" else repr(actual[1])[:200]
        return f"expected {want}, got {got}"
    return describe_mismatch(expected[1], actual[1])


def child_main(args) -> int:
    import numpy as np  # noqa: F401  (imported before timing anything)

    sys.dont_write_bytecode = True
    path = Path(args.kernel)
    report: dict = {"engine": args.engine}
    try:
        setup, run, _ = _first_run(path)
        setup_code = compile(setup, f"{path.name} #setup", "exec")
        run_code = compile(run, f"{path.name} #run", "eval")
        functions = _load_functions(args.engine, path, Path(args.module_dir) if args.module_dir else None)
    except BaseException as error:
        report.update(status="error", error=f"{type(error).__name__}: {error}"[:500])
        print(MARKER + json.dumps(report), flush=True)
        return 0

    reference = None
    reference_outcome = None
    if args.engine != "cpython":
        with open(args.reference, "rb") as file:
            reference = pickle.load(file)

    def check(outcome) -> str | None:
        if reference is None:
            return None
        return _mismatch(reference, outcome)

    times: list[float] = []
    first_call = None
    # 0 is automatic: 5 timed calls, 11 when a call is short, since short calls
    # suffer most from a busy machine and cost next to nothing to repeat
    # (CPython gets 0 in the arrays suite, where NumPy's calls are short too).
    automatic = args.reps == 0
    reps = 5 if automatic else args.reps
    if args.engine != "cpython":
        # Warm-up: loads, JIT-compiles (Numba), faults pages in; checked, not timed.
        seconds, outcome = _call(run_code, _fresh_namespace(setup_code, functions))
        first_call = seconds
        if outcome[0] == "raise" and outcome[3].startswith("numba"):
            report.update(status="error", error=f"{outcome[1]}: {outcome[2]}")
            print(MARKER + json.dumps(report), flush=True)
            return 0
        problem = check(outcome)
        if problem:
            report.update(status="wrong", mismatch=problem, first_call=first_call)
            print(MARKER + json.dumps(report), flush=True)
            return 0
        if args.quick:
            times.append(seconds)
    while len(times) < reps:
        seconds, outcome = _call(run_code, _fresh_namespace(setup_code, functions))
        times.append(seconds)
        if args.engine == "cpython" and len(times) == 1:
            with open(args.reference, "wb") as file:
                pickle.dump(outcome[:2] if outcome[0] == "ok" else outcome, file)
            reference_outcome = outcome
        problem = check(outcome) if reference is not None else _mismatch(reference_outcome, outcome)
        if problem:
            report.update(status="wrong", mismatch=problem, first_call=first_call, times=times)
            print(MARKER + json.dumps(report), flush=True)
            return 0
        if automatic and len(times) == 1 and seconds < FAST_CALL:
            reps = 11
        if seconds > SLOW_CALL:
            reps = min(reps, 3)
    report.update(
        status="ok",
        times=times,
        median=statistics.median(times),
        first_call=first_call,
        raised=outcome[1] if outcome[0] == "raise" else None,
    )
    print(MARKER + json.dumps(report), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Parent: builds, children, report
# ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def ext_suffix() -> str:
    import sysconfig

    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ferropy_cache(work: Path) -> tuple[Path, bool]:
    """The ferropy cache the benchmark builds in, and whether it is its own."""
    if os.environ.get("FERROPY_CACHE_DIR"):
        return Path(os.environ["FERROPY_CACHE_DIR"]), False
    return work / "ferropy-cache", True


def build_ferropy(path: Path, ferropy: Path, work: Path, python: str) -> dict:
    out = work / "ferropy" / path.stem
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    env = dict(os.environ, FERROPY_CACHE_DIR=str(ferropy_cache(work)[0]))
    started = time.perf_counter()
    process = subprocess.run(
        [str(ferropy), "build", str(path), "-o", str(out), "--python", python],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        return {"status": "error", "error": f"ferropy build exited {process.returncode}",
                "output": tail(process.stdout + process.stderr, 30), "dir": str(out)}
    # Keyed by source and interpreter only: a rebuilt ferropy that generates
    # the same code is served from its cache, and the recorded time still fits.
    # Only with a FERROPY_CACHE_DIR of the caller's can a build be served
    # from ferropy's cache; its time then says nothing about compiling.
    cached = "(cached)" in process.stderr
    return {"status": "ok", "dir": str(out), "build_seconds": None if cached else seconds,
            "cached": cached}


def warm_ferropy(ferropy: Path, work: Path, python: str) -> None:
    """Prepares the benchmark's own ferropy cache so that each kernel's build
    time is what compiling that kernel costs: the built modules and generated
    crates of earlier runs are dropped (`artifacts/` and `crates/`, see
    src/build.rs), so every kernel is generated and compiled again, and a
    trivial module is built first, so that compiling the dependencies (pyo3,
    numpy, ndarray: kept in `target/`) is not charged to the first kernel."""
    cache, own = ferropy_cache(work)
    if own:
        for name in ("artifacts", "crates"):
            shutil.rmtree(cache / name, ignore_errors=True)
    source = work / "warmup" / "bench_warmup.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("def bench_warmup(x: int) -> int:\n    return x + 1\n")
    env = dict(os.environ, FERROPY_CACHE_DIR=str(cache))
    log("bench: building a trivial module to warm ferropy's dependency cache")
    process = subprocess.run(
        [str(ferropy), "build", "-q", str(source), "-o", str(source.parent), "--python", python],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if process.returncode != 0:
        log(f"bench: warm-up build failed (exit {process.returncode}):\n{tail(process.stderr)}")


def pythran_version(python: str) -> str | None:
    process = subprocess.run([python, "-c", "import pythran; print(pythran.__version__)"],
                             capture_output=True, text=True)
    return process.stdout.strip() if process.returncode == 0 else None


def pythran_flags(python: str, suite: str) -> list[str]:
    """PYTHRAN_FLAGS, and for the arrays suite the BLAS that np.dot and @ link
    against: the OpenBLAS of the scipy-openblas64 package (the one NumPy's
    wheels bundle) when it is installed, as scripts/bench does; without it
    Pythran looks for the system's cblas.h and libblas."""
    if suite != "arrays":
        return PYTHRAN_FLAGS
    probe = subprocess.run([python, "-c", "import scipy_openblas64"], capture_output=True)
    if probe.returncode != 0:
        return PYTHRAN_FLAGS
    return PYTHRAN_FLAGS + ["--config", "compiler.blas=scipy-openblas"]


def build_pythran(path: Path, work: Path, python: str, version: str, compiler: str,
                  flags: list[str] = PYTHRAN_FLAGS) -> dict:
    key = sha256(path.read_bytes(), " ".join(flags).encode(), version.encode(),
                 compiler.encode(), python.encode())[:20]
    out = work / "pythran" / f"{path.stem}-{key}"
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return meta
    staging = out.with_name(out.name + ".staging")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    pythran = Path(python).parent / "pythran"
    command = [str(pythran) if pythran.exists() else "pythran", *flags, str(path),
               "-o", str(staging / f"{path.stem}{ext_suffix()}")]
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, cwd=staging,
                             stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        meta = {"status": "error", "error": "compile error",
                "output": tail(process.stdout + process.stderr, 30), "build_seconds": seconds}
    else:
        meta = {"status": "ok", "build_seconds": seconds}
    meta["dir"] = str(out)
    meta_path_staging = staging / "meta.json"
    meta_path_staging.write_text(json.dumps(meta, indent=1))
    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)
    meta["cached"] = False
    return meta


# Whether the suite being run has no kernel that calls BLAS (`main` sets it).
SUITE_WITHOUT_BLAS = False


def run_child(python: str, engine: str, path: Path, module_dir: str | None, reference: Path,
              reps: int, quick: bool) -> dict:
    command = [python, str(Path(__file__).resolve()), "--child", "--engine", engine,
               "--kernel", str(path), "--reference", str(reference), "--reps", str(reps)]
    if module_dir:
        command += ["--module-dir", module_dir]
    if quick:
        command.append("--quick")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # NumPy's OpenBLAS threads spin after NumPy starts and take cores from
    # the threads of a compiled parallel loop; no kernel of these suites
    # calls BLAS (the arrays suite's matrix product does, and keeps them).
    if SUITE_WITHOUT_BLAS:
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        process = subprocess.run(command, capture_output=True, text=True, env=env,
                                 timeout=CHILD_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {CHILD_TIMEOUT:.0f}s"}
    for line in process.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    code = process.returncode
    reason = f"child exited {code}"
    if code < 0:
        from _ferropy_harness import signal_name

        reason = f"child killed by {signal_name(-code) or -code}"
    return {"status": "error", "error": reason, "output": tail(process.stdout + process.stderr)}


def discover(patterns: list[str], suite: str = "loops") -> list[Path]:
    files = sorted((REPO / "bench" / SUITES[suite]["dir"]).glob("*.py"))
    extra = os.environ.get("FERROPY_KERNELS_DIR")
    extra_dir = Path(extra) if extra else REPO.parent / "shared" / "kernels"
    if SUITES[suite]["extra_corpus"] and extra_dir.is_dir():
        files += sorted(extra_dir.resolve().glob("*.py"))
    if patterns:
        def wanted(path: Path) -> bool:
            for pattern in patterns:
                glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
                if fnmatch.fnmatch(path.stem, glob):
                    return True
            return False

        files = [path for path in files if wanted(path)]
    return files


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def fmt_ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def cell(result: dict | None, reference: float | None) -> str:
    if result is None:
        return "-"
    status = result.get("status")
    if status == "wrong":
        return "WRONG"
    if status == "na":
        return f"n/a ({result.get('reason', 'unavailable')})"
    if status != "ok":
        return f"n/a ({result.get('reason') or 'error'})"
    text = fmt_time(result["median"])
    if reference:
        text += f" ({fmt_ratio(reference / result['median'])})"
    return text


def machine_info(python: str) -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = subprocess.run(
        [python, "-c",
         "import sys, json, importlib.metadata as m\n"
         "out = {'python': sys.version.split()[0]}\n"
         "for name in ('numpy', 'numba', 'llvmlite', 'pythran'):\n"
         "    try: out[name] = m.version(name)\n"
         "    except Exception: out[name] = None\n"
         "print(json.dumps(out))"],
        capture_output=True, text=True)
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}
    try:
        info.update(json.loads(versions.stdout))
    except ValueError:
        pass
    for tool, command in (("rustc", ["rustc", "--version"]), ("gxx", ["g++", "--version"]),
                          ("ferropy_source", ["git", "-C", str(REPO), "describe", "--always",
                                              "--dirty"])):
        try:
            out = subprocess.run(command, capture_output=True, text=True).stdout
            info[tool] = out.splitlines()[0] if out else None
        except OSError:
            info[tool] = None
    return info


def separate_reason(path: Path) -> str | None:
    """Why the kernel stays out of the geometric means (its `#bench: separate`
    line), or None."""
    match = SEPARATE_LINE.search(path.read_text(encoding="utf-8"))
    if match is None:
        return None
    return match.group(1).strip() or "reported on its own"


def problem_detail(result: dict) -> str:
    """One line on why an engine has no time for a kernel: the mismatch, or
    the reason with the most telling line of the error or compiler output
    (Numba's signature line, the source line under Pythran's caret, a line
    mentioning an error, else the last)."""
    detail = result.get("mismatch") or result.get("reason") or result.get("error") or "?"
    error = [line.strip() for line in (result.get("error") or "").splitlines() if line.strip()]
    if result.get("status") == "error" and error and not result.get("mismatch"):
        signature = [line for line in error if line.startswith(">>>")]
        detail += f": {error[0][:150]}" + (f" {signature[0][:200]}" if signature else "")
    output = [line.strip() for line in (result.get("output") or "").splitlines()]
    carets = [output[i - 1] for i, line in enumerate(output) if line.startswith("^") and i > 0]
    telling = carets or [line for line in output if "error" in line.lower() or line.startswith("E:")]
    if telling or output:
        detail += f" ({(telling or output)[-1][:200]})"
    return detail


def render(kernels: list[dict], engines: list[str], summary: dict,
           titles: dict[str, str] = ENGINE_TITLES) -> str:
    shown = [e for e in ENGINES if e in engines]
    head = ["kernel"] + [titles[e] for e in shown]
    if "ferropy" in shown and ({"numba", "pythran"} & set(shown)):
        head.append("ferropy vs best of Numba/Pythran")
    if "ferropy" in shown:
        head.append("ferropy build")
    if "pythran" in shown:
        head.append("Pythran build")
    if "numba" in shown:
        head.append("Numba 1st call")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kernel in kernels:
        results = kernel["engines"]
        base = results.get("cpython", {})
        reference = base.get("median") if base.get("status") == "ok" else None
        row = [kernel["name"] + (" (not in means)" if kernel.get("separate") else "")]
        for engine in shown:
            if engine == "cpython":
                row.append(fmt_time(reference) if reference else cell(base, None))
            else:
                row.append(cell(results.get(engine), reference))
        if len(head) > len(row) and "ferropy vs best of Numba/Pythran" in head:
            ratio = kernel.get("ferropy_vs_best")
            row.append(f"{ratio:.2f}" if ratio else "-")
        if "ferropy" in shown:
            f = results.get("ferropy", {})
            seconds = f.get("build_seconds")
            row.append(fmt_time(seconds) if seconds is not None else ("cached" if f.get("cached") else "-"))
        if "pythran" in shown:
            p = results.get("pythran", {})
            seconds = p.get("build_seconds")
            row.append(fmt_time(seconds) if seconds is not None and p.get("status") != "na" else "-")
        if "numba" in shown:
            n = results.get("numba", {})
            row.append(fmt_time(n.get("first_call")) if n.get("status") == "ok" else "-")
        lines.append("| " + " | ".join(row) + " |")
    total = len([k for k in kernels if not k.get("separate")])
    row = ["**geometric mean**"]
    for engine in shown:
        if engine == "cpython":
            row.append("1x")
            continue
        entry = summary["speedup_geomean"].get(engine)
        if not entry:
            row.append("-")
        else:
            text = f"**{fmt_ratio(entry['value'])}**"
            if entry["count"] != total:
                text += f" ({entry['count']} of {total})"
            row.append(text)
    if "ferropy vs best of Numba/Pythran" in head:
        entry = summary.get("ferropy_vs_best_geomean")
        row.append(f"**{entry['value']:.2f}** ({entry['count']})" if entry else "-")
    while len(row) < len(head):
        row.append("")
    lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parent_main(args) -> int:
    python = args.python or sys.executable
    # Absolute, not resolved: a venv's python is a symlink that must stay one.
    python = str(Path(python).absolute()) if os.sep in python else (shutil.which(python) or python)
    suite = SUITES[args.suite]
    global SUITE_WITHOUT_BLAS
    SUITE_WITHOUT_BLAS = args.suite != "arrays"
    titles = dict(ENGINE_TITLES, cpython=suite["reference_title"])
    aliases = {"rust": "hand", "rust-hand": "hand"}
    chosen = [aliases.get(e.strip(), e.strip()) for e in args.engines.split(",")] if args.engines else suite["engines"]
    engines = ["cpython"] + [e for e in suite["engines"] if e in chosen and e != "cpython"]
    for engine in chosen:
        if engine not in suite["engines"]:
            raise SystemExit(f"unknown engine {engine!r} for the {args.suite} suite; "
                             f"choose from {', '.join(suite['engines'])}")
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    files = discover(args.kernels.split(",") if args.kernels else [], args.suite)
    if not files:
        raise SystemExit("no kernel matches")

    # Which engines can run here at all.
    unavailable: dict[str, str] = {}
    ferropy = Path(args.ferropy).resolve()
    if "ferropy" in engines and not ferropy.exists():
        unavailable["ferropy"] = f"no ferropy binary at {ferropy}"
    if "numba" in engines:
        probe = subprocess.run([python, "-c", "import numba"], capture_output=True, text=True)
        if probe.returncode != 0:
            unavailable["numba"] = "numba not importable"
    version = None
    compiler = ""
    if "pythran" in engines:
        version = pythran_version(python)
        gxx = shutil.which("g++")
        if not version:
            unavailable["pythran"] = "pythran not importable"
        elif not gxx:
            unavailable["pythran"] = "no g++"
        else:
            compiler = subprocess.run([gxx, "--version"], capture_output=True, text=True).stdout
    flags = pythran_flags(python, args.suite) if "pythran" in engines else PYTHRAN_FLAGS
    hand_dir = Path(args.hand_dir).resolve()
    if "hand" in engines and not any(hand_dir.glob("hand_kernels*" + ext_suffix()[-3:])):
        unavailable["hand"] = f"hand_kernels not built in {hand_dir}"
    for engine, reason in unavailable.items():
        log(f"bench: engine {engine} skipped: {reason}")
    if "ferropy" in engines and "ferropy" not in unavailable:
        warm_ferropy(ferropy, work, python)
    reps_compiled = 1 if args.quick else (args.reps or 0)
    cpython_reps = suite["cpython_reps"] if args.cpython_reps is None else args.cpython_reps
    reps_cpython = 1 if args.quick else cpython_reps

    kernels: list[dict] = []
    for index, path in enumerate(files, 1):
        setup, run, run_count = _first_run(path)
        log(f"[{index}/{len(files)}] {path.stem}: {run}")
        kernel = {"name": path.stem, "file": str(path), "run": run, "engines": {}}
        reason = separate_reason(path)
        if reason:
            kernel["separate"] = reason
        if run_count > 1:
            kernel["note"] = f"{run_count} #run: lines; the first is timed"
        kernels.append(kernel)
        results = kernel["engines"]
        reference = work / "reference" / f"{path.stem}.pickle"
        reference.parent.mkdir(parents=True, exist_ok=True)
        if reference.exists():
            reference.unlink()

        result = run_child(python, "cpython", path, None, reference, reps_cpython, args.quick)
        results["cpython"] = result
        log(f"    cpython  {fmt_time(result.get('median')) if result['status'] == 'ok' else result}")
        if result["status"] != "ok" or not reference.exists():
            continue

        for engine in engines[1:]:
            if engine in unavailable:
                results[engine] = {"status": "na", "reason": "not installed"}
                continue
            module_dir = None
            build: dict = {}
            if engine == "ferropy":
                build = build_ferropy(path, ferropy, work, python)
                if build["status"] != "ok":
                    results[engine] = {**build, "status": "na", "reason": "build error"}
                    log(f"    ferropy  BUILD FAILED\n{build.get('output', '')}")
                    continue
                module_dir = build["dir"]
            elif engine == "pythran":
                build = build_pythran(path, work, python, version, compiler, flags)
                if build["status"] != "ok":
                    results[engine] = {**build, "status": "na", "reason": "compile error"}
                    log(f"    pythran  compile error ({fmt_time(build.get('build_seconds'))})")
                    continue
                module_dir = build["dir"]
            elif engine == "hand":
                if path.stem not in HAND_KERNELS:
                    continue
                module_dir = str(hand_dir)
            result = run_child(python, engine, path, module_dir, reference, reps_compiled, args.quick)
            if result["status"] == "error":
                result["reason"] = "error"
            result.update({k: v for k, v in build.items() if k in ("build_seconds", "cached")})
            results[engine] = result
            status = fmt_time(result.get("median")) if result["status"] == "ok" else result["status"].upper()
            extra = ""
            if "build_seconds" in build:
                extra = f"  (build {fmt_time(build.get('build_seconds'))}{', cached' if build.get('cached') else ''})"
            log(f"    {engine:<8} {status}{extra}")
            if result["status"] != "ok":
                log("      " + (result.get("mismatch") or result.get("error") or ""))
                if result.get("output"):
                    log(result["output"])

        base = results["cpython"]["median"]
        for engine, result in results.items():
            if result.get("status") == "ok" and engine != "cpython":
                result["speedup"] = base / result["median"]
        ferro = results.get("ferropy", {})
        others = [results[e]["median"] for e in ("numba", "pythran")
                  if results.get(e, {}).get("status") == "ok"]
        if ferro.get("status") == "ok" and others:
            kernel["ferropy_vs_best"] = min(others) / ferro["median"]

    summary: dict = {"speedup_geomean": {}}
    averaged = [k for k in kernels if not k.get("separate")]
    for engine in engines[1:]:
        values = [k["engines"][engine]["speedup"] for k in averaged
                  if k["engines"].get(engine, {}).get("status") == "ok"]
        mean = geomean(values)
        if mean:
            summary["speedup_geomean"][engine] = {"value": mean, "count": len(values)}
    ratios = [k["ferropy_vs_best"] for k in averaged if k.get("ferropy_vs_best")]
    if ratios:
        summary["ferropy_vs_best_geomean"] = {"value": geomean(ratios), "count": len(ratios)}

    table = render(kernels, engines, summary, titles)
    info = machine_info(python)
    print()
    print(f"{datetime.date.today().isoformat()}, {info.get('cpu')}, {info.get('cores')} cores, "
          f"CPython {info.get('python')}, NumPy {info.get('numpy')}, Numba {info.get('numba')}, "
          f"Pythran {info.get('pythran')}, ferropy {info.get('ferropy_source')}{', quick run (1 call each: not a speed measurement)' if args.quick else ''}")
    print()
    print(table)
    print()
    print(f"Cells: median time per call (speed-up over {titles['cpython']}). 'ferropy vs best' is "
          "the best of Numba and Pythran divided by ferropy's time (>1: ferropy faster). Builds: "
          "wall time of `ferropy build` and `pythran` for the file; Numba 1st call: JIT "
          "compilation plus one call.")
    for unavailable_engine, reason in unavailable.items():
        print(f"- {titles[unavailable_engine]}: not run ({reason})")
    for kernel in kernels:
        if not kernel.get("separate"):
            continue
        base = kernel["engines"].get("cpython", {})
        if base.get("status") != "ok":
            continue
        parts = []
        for engine in engines[1:]:
            result = kernel["engines"].get(engine, {})
            if result.get("status") == "ok":
                parts.append(f"{titles[engine]} {fmt_time(result['median'])}, "
                             f"{result['speedup']:.2f}x {titles['cpython']}'s speed")
            else:
                parts.append(f"{titles[engine]} {cell(result, None)}")
        print()
        print(f"{kernel['name']}, not in the means ({kernel['separate']}): "
              f"{titles['cpython']} {fmt_time(base['median'])}; " + "; ".join(parts) + ".")
    problems = []
    for kernel in kernels:
        for engine, result in kernel["engines"].items():
            if result.get("status") in ("wrong", "error") or (
                    result.get("status") == "na" and result.get("reason") != "not installed"):
                problems.append(f"- {kernel['name']} / {titles[engine]}: {problem_detail(result)}")
    if problems:
        print()
        print("\n".join(problems))

    document = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": info,
        "suite": args.suite,
        "quick": args.quick,
        "engines": engines,
        "unavailable": unavailable,
        "pythran_flags": flags if "pythran" in engines else PYTHRAN_FLAGS,
        "kernels": kernels,
        "summary": summary,
        "table": table,
    }
    json_path = Path(args.json) if args.json else work / suite["json"]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=1))
    log(f"bench: wrote {json_path}")
    # Another engine's wrong result is data; ferropy's (or a failed build) is a bug.
    failed = any(
        k["engines"].get(engine, {}).get("status") in ("wrong", "error")
        or k["engines"].get(engine, {}).get("reason") == "build error"
        for k in kernels for engine in ("ferropy", "hand"))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="loops",
                        help="loops: bench/kernels (default); arrays: the whole-array NumPy "
                             "kernels of bench/arrays, against CPython+NumPy")
    parser.add_argument("--kernels", help="comma-separated patterns on kernel names (glob, or substring)")
    parser.add_argument("--engines", help=f"comma-separated subset of {','.join(ENGINES)} (cpython always runs)")
    parser.add_argument("--quick", action="store_true", help="one call per engine: a smoke run")
    parser.add_argument("--json", help="where to write all numbers (default: latest.json, or "
                                         "arrays.json for the arrays suite, in the --work directory)")
    parser.add_argument("--reps", type=int, default=0,
                        help="timed calls per compiled engine (default: 5, or 11 for calls under 0.1 s)")
    parser.add_argument("--cpython-reps", type=int,
                        help="timed CPython calls (default: 3 for loops; for arrays, counted as "
                             "for the compiled engines)")
    parser.add_argument("--python", help="interpreter for the children and builds (default: this one)")
    parser.add_argument("--ferropy", default=str(REPO / "target" / "release" / "ferropy"),
                        help="ferropy binary (default target/release/ferropy)")
    parser.add_argument("--hand-dir", default=str(REPO / "target" / "bench" / "hand"),
                        help="directory holding the built hand_kernels module")
    parser.add_argument("--work", default=str(REPO / "target" / "bench"),
                        help="build and scratch directory (default target/bench)")
    # Child mode (internal).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--kernel", help=argparse.SUPPRESS)
    parser.add_argument("--module-dir", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
