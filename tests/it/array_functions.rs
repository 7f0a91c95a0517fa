//! Whole-array NumPy code against NumPy: `tests/harness/array_functions.py`
//! generates one module of small kernels, one per supported function or
//! operator x dtype x rank (element-wise operators and ufuncs, broadcasting,
//! Python scalars, reductions with `axis=`/`keepdims=`/`ddof=`, builtins of
//! arrays, reshaping and copies, array creation, `np.dot`/`@`/`np.outer`/
//! `np.trace`, masks and index arrays, slices and slice assignment, in-place
//! operators), builds it once with the `ferropy` under test and calls every
//! kernel on empty, 1-element, strided, reversed and transposed inputs and on
//! inputs NumPy raises on. Value, dtype, shape and exception type must agree
//! with NumPy; kernels NumPy refuses by dtype (TypeError, float16 results)
//! must be refused by `ferropy check`.
//!
//! The seed is fixed so that a failure is reproducible; `FERROPY_ARRAY_SEED`
//! overrides it. Real compiler bugs not fixed yet are listed, with the
//! reason, in `KNOWN_FAILURES` of the generator: they are still run and
//! reported, but do not fail the test. Like the other end-to-end tests this
//! one runs only with `FERROPY_E2E=1`.

use crate::support::{
    describe, end_to_end_enabled, harness_script, python_command, python_interpreter, run,
};

/// The seed of the default run: one build of about 400 kernels (a sample of
/// the ~3000 that `--full` builds) and 2000 calls, about a minute on two
/// cores once the dependencies of generated crates are compiled.
const DEFAULT_SEED: u64 = 1;

#[test]
fn array_functions_match_numpy() {
    if !end_to_end_enabled("array_functions_match_numpy") {
        return;
    }
    let python = python_interpreter();
    let seed = match std::env::var("FERROPY_ARRAY_SEED") {
        Ok(text) => text.trim().parse::<u64>().unwrap_or_else(|_| {
            panic!("FERROPY_ARRAY_SEED={text:?} is not a non-negative integer")
        }),
        Err(_) => DEFAULT_SEED,
    };
    let work = tempfile::tempdir().expect("temporary directory");
    let output = run(python_command(&python)
        .arg(harness_script("array_functions.py"))
        .arg("--ferropy")
        .arg(env!("CARGO_BIN_EXE_ferropy"))
        .arg("--python-for-build")
        .arg(&python)
        .args(["--seed", &seed.to_string()])
        .arg("--work")
        .arg(work.path()));
    let command_line = format!("tests/harness/array_functions.py --seed {seed}");
    let report = describe(&command_line, &output);
    println!("{report}");
    assert!(
        output.status.success(),
        "whole-array NumPy kernels differ from NumPy; every difference above shows the kernel, \
         the inputs and both outcomes. Reproduce with `python tests/harness/array_functions.py \
         --ferropy target/release/ferropy --seed {seed} --only KERNEL`\n{report}"
    );
}
