//! Scaling out a compiled kernel: `examples/scaling/run.py --check` maps the
//! compiled `escape.escape_time` over the row chunks of an array with one
//! call, a thread pool, a `concurrent.futures.ProcessPoolExecutor`,
//! dask.array's `map_blocks` on Dask's threaded scheduler and on a
//! `dask.distributed.LocalCluster` of 2 worker processes, and checks each
//! result against NumPy to the last bit (docs/scaling.md).
//!
//! It builds the kernel with cargo and needs Dask and distributed from the
//! project environment (scripts/setup), so it runs only with
//! `FERROPY_E2E=1`.

use crate::support::{
    build_modules, describe, end_to_end_enabled, python_command, python_interpreter,
    repository_root, run, stdout_of,
};

#[test]
fn compiled_kernel_runs_on_process_pools_and_a_dask_cluster() {
    if !end_to_end_enabled("compiled_kernel_runs_on_process_pools_and_a_dask_cluster") {
        return;
    }
    let python = python_interpreter();
    let example = repository_root().join("examples/scaling");
    let out = tempfile::tempdir().expect("temporary directory");
    build_modules(
        &[example.join("escape.py")],
        out.path(),
        &python,
        "ferropy build -q examples/scaling/escape.py -o OUT --python PY",
    );
    let output = run(python_command(&python)
        .arg(example.join("run.py"))
        .arg("--compiled-dir")
        .arg(out.path())
        .args(["--check", "--workers", "2"]));
    assert!(
        output.status.success(),
        "{}",
        describe("examples/scaling/run.py --check", &output)
    );
    let report = stdout_of(&output);
    for way in [
        "compiled, one call",
        "compiled, 2 threads",
        "ProcessPoolExecutor(2)",
        "dask.array, threaded scheduler (2)",
        "LocalCluster(2 processes)",
        "every result equals NumPy's",
    ] {
        assert!(report.contains(way), "no `{way}` in the report:\n{report}");
    }
    assert!(!report.contains("WRONG"), "{report}");
}
