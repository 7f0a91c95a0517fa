//! End-to-end test of the integrator in `examples/integrate`: the compiled
//! `integrate` split into chunks on threads, on a `multiprocessing` pool and
//! with joblib must compute what CPython computes, chunk by chunk.
//!
//! It builds `integrate.py` and `integrands.py` (the second module supplies a
//! compiled integrand, called across modules through its native entry point)
//! with the `ferropy` binary, runs `tests/harness/diff.py` on their `#run:`
//! lines, then `tests/harness/parallel_integrate.py`, which also checks that
//! worker processes import the compiled modules and that the compiled call
//! releases the GIL.
//!
//! Like `e2e.rs` it needs cargo and a Python with NumPy and joblib
//! (`FERROPY_PYTHON`; `scripts/setup` installs both), so it runs only when
//! `FERROPY_E2E=1`.

use crate::support::{
    build_modules, describe, end_to_end_enabled, harness_script, python_command,
    python_interpreter, repository_root, run,
};

#[test]
fn integrate_on_threads_and_processes_matches_cpython() {
    if !end_to_end_enabled("integrate_on_threads_and_processes_matches_cpython") {
        return;
    }
    let python = python_interpreter();
    let probe = run(python_command(&python).args(["-c", "import numpy, joblib"]));
    assert!(
        probe.status.success(),
        "the Python interpreter `{python}` cannot import numpy and joblib; run scripts/setup \
         and set FERROPY_PYTHON=$PWD/.venv/bin/python (a .venv made before scripts/setup \
         installed joblib needs `.venv/bin/python -m pip install joblib==1.6.0`)\n{}",
        describe(&format!("{python} -c 'import numpy, joblib'"), &probe)
    );

    let example = repository_root().join("examples/integrate");
    let sources = [example.join("integrate.py"), example.join("integrands.py")];
    let out = tempfile::tempdir().expect("temporary directory");
    build_modules(
        &sources,
        out.path(),
        &python,
        "ferropy build -q examples/integrate/{integrate,integrands}.py -o OUT --python PY",
    );

    let diff = run(python_command(&python)
        .arg(harness_script("diff.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(&sources));
    let diff_report = describe(
        "tests/harness/diff.py --compiled-dir OUT examples/integrate/{integrate,integrands}.py",
        &diff,
    );
    println!("{diff_report}");

    let parallel = run(python_command(&python)
        .arg(harness_script("parallel_integrate.py"))
        .arg("--compiled-dir")
        .arg(out.path()));
    let parallel_report = describe(
        "tests/harness/parallel_integrate.py --compiled-dir OUT",
        &parallel,
    );
    println!("{parallel_report}");

    assert!(
        diff.status.success() && parallel.status.success(),
        "the compiled integrator differs from CPython\n{diff_report}\n{parallel_report}"
    );
}

/// `prange` loops (`fixtures/runnable/parallel_loops.py`) give CPython's
/// results and exceptions on 1, 2 and 7 threads, run 20 times each to shake
/// out races, and the thread count follows `set_num_threads`.
#[test]
fn prange_loops_match_cpython_on_any_thread_count() {
    if !end_to_end_enabled("prange_loops_match_cpython_on_any_thread_count") {
        return;
    }
    let python = python_interpreter();
    let source = repository_root().join("fixtures/runnable/parallel_loops.py");
    let out = tempfile::tempdir().expect("temporary directory");
    build_modules(
        std::slice::from_ref(&source),
        out.path(),
        &python,
        "ferropy build -q fixtures/runnable/parallel_loops.py -o OUT --python PY",
    );
    let mut failures = Vec::new();
    for threads in ["1", "2", "7"] {
        for round in 0..20 {
            let diff = run(python_command(&python)
                .env("FERROPY_NUM_THREADS", threads)
                .arg(harness_script("diff.py"))
                .arg("--compiled-dir")
                .arg(out.path())
                .arg(&source));
            if !diff.status.success() {
                failures.push(describe(
                    &format!(
                        "FERROPY_NUM_THREADS={threads} tests/harness/diff.py --compiled-dir OUT \
                         fixtures/runnable/parallel_loops.py (round {round})"
                    ),
                    &diff,
                ));
                break;
            }
        }
    }
    let threads = run(python_command(&python).current_dir(out.path()).args([
        "-c",
        "import parallel_loops as m\n\
         m.set_num_threads(3)\n\
         assert m.get_num_threads() == 3, m.get_num_threads()\n\
         try:\n    m.set_num_threads(0)\nexcept ValueError:\n    pass\n\
         else:\n    raise AssertionError('set_num_threads(0) did not raise')\n\
         m.set_num_threads(2)\n\
         print(m.float_sum(__import__('numpy').arange(10.0)))",
    ]));
    if !threads.status.success() {
        failures.push(describe("set_num_threads / get_num_threads", &threads));
    }
    // A loop calling a function argument runs on the pool when the function
    // is native, and on the calling thread, holding the GIL, when it is a
    // Python function. The pool's threads exist once a loop has used it;
    // a thread takes its name when it first runs, which on a busy machine
    // may come after the loop ended (the calling thread takes part and
    // does not wait for threads that start late), so the count is polled.
    let pool_threads = "def pool_threads():\n\
         \x20   import os, time\n\
         \x20   for _ in range(100):\n\
         \x20       names = [open(f'/proc/self/task/{t}/comm').read() for t in os.listdir('/proc/self/task')]\n\
         \x20       count = sum(name.startswith('ferropy-paralle') for name in names)\n\
         \x20       if count:\n\
         \x20           return count\n\
         \x20       time.sleep(0.05)\n\
         \x20   return 0\n";
    for (function, pooled) in [
        ("lambda x: x * 0.5", false),
        ("math.sin", true),
        ("m.halve", true),
    ] {
        let script = format!(
            "{pool_threads}import math, numpy as np, parallel_loops as m\n\
             m.set_num_threads(2)\n\
             out = m.apply_each({function}, np.arange(100000.0))\n\
             assert (pool_threads() > 0) == {}, pool_threads()",
            if pooled { "True" } else { "False" }
        );
        if !cfg!(target_os = "linux") {
            break;
        }
        let check = run(python_command(&python)
            .current_dir(out.path())
            .args(["-c", &script]));
        if !check.status.success() {
            failures.push(describe(
                &format!("apply_each({function}) on the pool: {pooled}"),
                &check,
            ));
        }
    }
    // The pool's threads keep off the CPU of the thread that called the
    // latest loop (where that leaves them a CPU), so that the kernel cannot
    // queue a woken helper behind its caller. (The pool is made before the
    // caller is pinned: threads inherit their creator's CPUs.)
    if cfg!(target_os = "linux") {
        let script = format!(
            "import os, time, numpy as np, parallel_loops as m\n\
             def helper_cpus():\n\
             \x20   tasks = os.listdir('/proc/self/task')\n\
             \x20   return [os.sched_getaffinity(int(t)) for t in tasks\n\
             \x20           if open(f'/proc/self/task/{{t}}/comm').read().startswith('ferropy-paralle')]\n\
             allowed = os.sched_getaffinity(0)\n\
             m.set_num_threads(2)\n\
             a = np.arange(400000.0)\n\
             m.float_sum(a)\n\
             for cpu in sorted(allowed)[:2]:\n\
             \x20   os.sched_setaffinity(0, {{cpu}})\n\
             \x20   m.float_sum(a)\n\
             \x20   expected = allowed - {{cpu}} if len(allowed) > 1 else allowed\n\
             \x20   for _ in range(100):\n\
             \x20       seen = helper_cpus()\n\
             \x20       if seen and all(s == expected for s in seen):\n\
             \x20           break\n\
             \x20       time.sleep(0.05)\n\
             \x20   assert seen and all(s == expected for s in seen), (cpu, expected, seen)\n\
             print('steered')"
        );
        let check = run(python_command(&python)
            .current_dir(out.path())
            .env("FERROPY_PARALLEL_ALWAYS", "1")
            .args(["-c", &script]));
        if !check.status.success() {
            failures.push(describe("pool threads off the caller's CPU", &check));
        }
    }
    // Python threads running parallel loops at once each get the results
    // and the errors of the loop run alone.
    let concurrent = run(python_command(&python).current_dir(out.path()).args([
        "-c",
        "import threading, numpy as np, parallel_loops as m\n\
         m.set_num_threads(2)\n\
         a = np.arange(200000.0) * 0.25\n\
         ia = np.arange(-70000, 130000)\n\
         expected = (m.float_sum(a), m.bit_reductions(ia), m.extremes(a))\n\
         wrong = []\n\
         def caller():\n\
         \x20   for _ in range(40):\n\
         \x20       got = (m.float_sum(a), m.bit_reductions(ia), m.extremes(a))\n\
         \x20       if got != expected:\n\
         \x20           wrong.append(got)\n\
         \x20       try:\n\
         \x20           m.index_error_lowest(a, 3)\n\
         \x20           wrong.append('no IndexError')\n\
         \x20       except IndexError:\n\
         \x20           pass\n\
         callers = [threading.Thread(target=caller) for _ in range(4)]\n\
         for t in callers:\n\
         \x20   t.start()\n\
         for t in callers:\n\
         \x20   t.join()\n\
         assert not wrong, wrong[:3]",
    ]));
    if !concurrent.status.success() {
        failures.push(describe(
            "parallel loops called from 4 Python threads at once",
            &concurrent,
        ));
    }
    // A forked child gets a pool of its own: the parent's worker threads do
    // not exist in it, and waiting on them would hang.
    let fork = run(python_command(&python).current_dir(out.path()).args([
        "-c",
        "import os, signal, numpy as np, parallel_loops as m\n\
         m.set_num_threads(2)\n\
         a = np.arange(100000.0)\n\
         expected = m.float_sum(a)\n\
         pid = os.fork()\n\
         if pid == 0:\n\
         \x20   signal.alarm(60)\n\
         \x20   os._exit(0 if m.float_sum(a) == expected else 3)\n\
         _, status = os.waitpid(pid, 0)\n\
         assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status\n\
         assert m.float_sum(a) == expected",
    ]));
    if !fork.status.success() {
        failures.push(describe("a parallel loop in a forked child", &fork));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
