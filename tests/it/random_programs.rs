//! Random differential testing: `tests/harness/randprog.py` generates random,
//! well-typed functions inside ferropy's subset (arithmetic with Python's
//! rules, comparisons and chains, math functions, array reads and writes in
//! and out of range, loops, helpers that write to arrays inside operands,
//! bounded recursion), builds them with the `ferropy` under test, calls each
//! on a few inputs under CPython and compiled, and compares the results, the
//! exception types and the argument arrays after the call.
//!
//! The seed is fixed so that a failure is reproducible; `FERROPY_RANDOM_SEED`
//! and `FERROPY_RANDOM_FUNCTIONS` override it and the number of functions.
//! `scripts/random-test --seed S --functions N` runs the same generator for as
//! long as you like. Like the other end-to-end tests this one runs only with
//! `FERROPY_E2E=1`.
//!
//! `random_data_programs_match_cpython` does the same with
//! `tests/harness/randdata.py`: lists, tuples, dicts, sets, comprehensions
//! and complex numbers, the arguments compared after the call at every level
//! (`FERROPY_RANDOM_DATA_SEED` and `FERROPY_RANDOM_DATA_FUNCTIONS`;
//! `scripts/random-test --data` runs it for longer).

use crate::support::{
    describe, end_to_end_enabled, harness_script, python_command, python_interpreter, run,
};

/// The seed and size of the default run: about a minute on two cores once
/// the dependencies of generated crates are compiled.
const DEFAULT_SEED: u64 = 1;
const DEFAULT_FUNCTIONS: u64 = 500;

/// The seed and size of the default run of randdata.py: one module, about
/// half a minute on two cores.
const DEFAULT_DATA_SEED: u64 = 1;
const DEFAULT_DATA_FUNCTIONS: u64 = 120;

fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a non-negative integer")),
        Err(_) => default,
    }
}

#[test]
fn random_programs_match_cpython() {
    if !end_to_end_enabled("random_programs_match_cpython") {
        return;
    }
    let python = python_interpreter();
    let seed = setting("FERROPY_RANDOM_SEED", DEFAULT_SEED);
    let functions = setting("FERROPY_RANDOM_FUNCTIONS", DEFAULT_FUNCTIONS);
    let work = tempfile::tempdir().expect("temporary directory");

    // Loops the compiler runs in parallel do so on every input here, however
    // small, so that a wrong proof of independence shows as a difference.
    let output = run(python_command(&python)
        .env("FERROPY_PARALLEL_ALWAYS", "1")
        .env("FERROPY_NUM_THREADS", "3")
        .arg(harness_script("randprog.py"))
        .arg("--ferropy")
        .arg(env!("CARGO_BIN_EXE_ferropy"))
        .arg("--python-for-build")
        .arg(&python)
        .args(["--seed", &seed.to_string()])
        .args(["--functions", &functions.to_string()])
        .args(["--batch", "250"])
        .arg("--work")
        .arg(work.path()));
    let command_line =
        format!("tests/harness/randprog.py --seed {seed} --functions {functions} --batch 250");
    let report = describe(&command_line, &output);
    println!("{report}");
    assert!(
        output.status.success(),
        "randomly generated programs differ from CPython; every difference above shows the \
         function, the call and both outcomes. Reproduce with `scripts/random-test --seed {seed} \
         --functions {functions} --keep DIR` (DIR gets each failing function as a fixture)\n\
         {report}"
    );
}

#[test]
fn random_data_programs_match_cpython() {
    if !end_to_end_enabled("random_data_programs_match_cpython") {
        return;
    }
    let python = python_interpreter();
    let seed = setting("FERROPY_RANDOM_DATA_SEED", DEFAULT_DATA_SEED);
    let functions = setting("FERROPY_RANDOM_DATA_FUNCTIONS", DEFAULT_DATA_FUNCTIONS);
    let work = tempfile::tempdir().expect("temporary directory");
    let output = run(python_command(&python)
        .arg(harness_script("randdata.py"))
        .arg("--ferropy")
        .arg(env!("CARGO_BIN_EXE_ferropy"))
        .arg("--python-for-build")
        .arg(&python)
        .args(["--seed", &seed.to_string()])
        .args(["--functions", &functions.to_string()])
        .args(["--batch", "150"])
        .arg("--work")
        .arg(work.path()));
    let command_line =
        format!("tests/harness/randdata.py --seed {seed} --functions {functions} --batch 150");
    let report = describe(&command_line, &output);
    println!("{report}");
    assert!(
        output.status.success(),
        "randomly generated programs over lists, dicts, sets, tuples and complex numbers differ \
         from CPython; every difference above shows the function, the call and both outcomes. \
         Reproduce with `scripts/random-test --data --seed {seed} --functions {functions} --keep \
         DIR` (DIR gets each failing function as a fixture)\n{report}"
    );
}
