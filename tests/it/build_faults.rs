//! Faults while building lose nothing: a missing tool or an unusable output
//! directory is an environment error (exit 2) with the fix in the message;
//! concurrent builds of one file both succeed; a build killed half-way leaves
//! the previous module working and the next build succeeds; a damaged cache
//! entry is rebuilt, never installed; and replacing a module does not break a
//! Python process that has the old one loaded.
//!
//! Like `e2e.rs` these tests run cargo and Python, so they need
//! `FERROPY_E2E=1`. They share the machine's cache (a private one would
//! compile pyo3 and numpy again), so each test builds its own source file in
//! a temporary directory, with a constant nobody has built before, and so
//! never meets another test's crate or cache entry.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::support::{describe, end_to_end_enabled, python_interpreter, run, stderr_of};

/// The absolute path of the test Python (`FERROPY_PYTHON`, else `python3`),
/// which must have NumPy. Absolute, so that tests can run ferropy with a PATH
/// that has no Python on it.
fn python_with_numpy() -> PathBuf {
    let python = python_interpreter();
    let output =
        run(Command::new(&python).args(["-c", "import sys, numpy; print(sys.executable)"]));
    assert!(
        output.status.success(),
        "the Python interpreter `{python}` cannot import numpy; run scripts/setup and set \
         FERROPY_PYTHON=$PWD/.venv/bin/python\n{}",
        describe("python -c 'import numpy'", &output)
    );
    PathBuf::from(String::from_utf8(output.stdout).expect("UTF-8 path").trim())
}

/// A number no earlier run has compiled into a kernel, so that its cache
/// entry cannot exist yet: the clock, and a counter for calls within a run.
fn unused_constant() -> i64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    ((nanos % 1_000_000_000_000) as i64) * 100 + (call % 100) as i64
}

/// One source file in its own temporary directory, built into `<dir>/out`.
struct Project {
    dir: tempfile::TempDir,
    module: String,
    python: PathBuf,
}

impl Project {
    fn new(module: &str, python: &Path) -> Project {
        Project {
            dir: tempfile::tempdir().expect("temporary directory"),
            module: module.to_string(),
            python: python.to_path_buf(),
        }
    }

    fn source(&self) -> PathBuf {
        self.dir.path().join(format!("{}.py", self.module))
    }

    fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Writes a kernel whose `probe(x)` returns `x + constant`, so the value
    /// says which build of it is loaded. `padding` more functions make the
    /// crate take longer to compile.
    fn write_kernel(&self, constant: i64, padding: usize) {
        let mut text = format!("def probe(x: int) -> int:\n    return x + {constant}\n");
        for index in 0..padding {
            text.push_str(&format!(
                "\n\ndef padding_{index}(a: \"float64[:]\", k: float) -> float:\n    \
                 total = 0.0\n    \
                 for i in range(len(a)):\n        \
                 total += a[i] * k + {index}.5\n        \
                 if total > 1e9:\n            \
                 total = total / 3.0\n    \
                 return total\n"
            ));
        }
        std::fs::write(self.source(), text).expect("write the kernel");
    }

    /// `ferropy build <source> -o <out> --python <python>`.
    fn build_command(&self) -> Command {
        self.build_command_into(&self.out_dir())
    }

    fn build_command_into(&self, out_dir: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferropy"));
        command
            .current_dir(self.dir.path())
            .arg("build")
            .arg(self.source())
            .arg("-o")
            .arg(out_dir)
            .arg("--python")
            .arg(&self.python);
        command
    }

    /// Builds and asserts success; returns ferropy's stderr.
    fn build(&self) -> String {
        let output = run(&mut self.build_command());
        assert!(
            output.status.success(),
            "{}",
            describe(&format!("ferropy build {}.py", self.module), &output)
        );
        stderr_of(&output)
    }

    fn extension_name(&self) -> String {
        let output = run(Command::new(&self.python).args([
            "-c",
            "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ]));
        assert!(
            output.status.success(),
            "{}",
            describe("EXT_SUFFIX", &output)
        );
        let suffix = String::from_utf8(output.stdout).expect("UTF-8 suffix");
        format!("{}{}", self.module, suffix.trim())
    }

    fn extension(&self) -> PathBuf {
        self.out_dir().join(self.extension_name())
    }

    /// A Python command that imports the built module from the output
    /// directory and runs `script` with it bound to `module`.
    fn python_command(&self, script: &str) -> Command {
        let mut command = Command::new(&self.python);
        command
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-c")
            .arg(format!(
                "import sys, importlib\nsys.path.insert(0, sys.argv[1])\n\
                 module = importlib.import_module(sys.argv[2])\n{script}"
            ))
            .arg(self.out_dir())
            .arg(&self.module);
        command
    }

    /// `probe(1)` of the installed module, in a new Python process.
    fn probe_in_new_process(&self) -> i64 {
        let output = run(&mut self.python_command("print(module.probe(1))"));
        let report = describe(
            &format!("python: import {}; probe(1)", self.module),
            &output,
        );
        assert!(output.status.success(), "{report}");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("probe(1) did not print an integer\n{report}"))
    }
}

#[test]
fn missing_cargo_is_an_environment_error() {
    if !end_to_end_enabled("missing_cargo_is_an_environment_error") {
        return;
    }
    let project = Project::new("faults_no_cargo", &python_with_numpy());
    project.write_kernel(unused_constant(), 0);
    // A PATH with nothing on it: Python is passed by absolute path, cargo is
    // only ever looked up on PATH.
    let empty = tempfile::tempdir().expect("temporary directory");
    let output = run(project.build_command().env("PATH", empty.path()));
    let report = describe("PATH=<empty> ferropy build", &output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let stderr = stderr_of(&output);
    assert!(stderr.contains("cargo"), "{report}");
    assert!(stderr.contains("install Rust with rustup"), "{report}");
    assert!(!project.extension().exists(), "{report}");
}

#[test]
fn missing_python_is_explained() {
    if !end_to_end_enabled("missing_python_is_explained") {
        return;
    }
    let mut project = Project::new("faults_no_python", &python_with_numpy());
    project.write_kernel(unused_constant(), 0);
    project.python = project.dir.path().join("no/such/python");
    let output = run(&mut project.build_command());
    let report = describe("ferropy build --python <missing>", &output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&project.python.display().to_string()),
        "the error should name the missing interpreter\n{report}"
    );
    assert!(stderr.contains("pass --python"), "{report}");
}

#[test]
fn python_without_numpy_is_explained() {
    if !end_to_end_enabled("python_without_numpy_is_explained") {
        return;
    }
    let python = python_with_numpy();
    let mut project = Project::new("faults_no_numpy", &python);
    project.write_kernel(unused_constant(), 0);
    // A fresh virtual environment sees only the standard library.
    let venv = project.dir.path().join("venv");
    let created = run(Command::new(&python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv));
    assert!(
        created.status.success(),
        "{}",
        describe("python -m venv --without-pip", &created)
    );
    project.python = venv.join("bin/python");
    let has_numpy = run(Command::new(&project.python).args(["-c", "import numpy"]));
    assert!(
        !has_numpy.status.success(),
        "the new virtual environment can import numpy, so it cannot stand for a Python \
         without NumPy"
    );

    let output = run(&mut project.build_command());
    let report = describe("ferropy build --python <venv without numpy>", &output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let stderr = stderr_of(&output);
    assert!(stderr.contains("NumPy is not installed"), "{report}");
    assert!(stderr.contains("-m pip install numpy"), "{report}");
    assert!(
        stderr.contains(&venv.display().to_string()),
        "the error should name the interpreter\n{report}"
    );
}

#[test]
fn unwritable_output_dir_is_reported_before_cargo() {
    if !end_to_end_enabled("unwritable_output_dir_is_reported_before_cargo") {
        return;
    }
    let project = Project::new("faults_bad_out", &python_with_numpy());
    // A source nobody has built, so that reaching cargo would show.
    project.write_kernel(unused_constant(), 0);
    // Tests may run as root, for whom permissions do not stop writes; a
    // directory path through a regular file stops everyone.
    let blocker = project.dir.path().join("a_file");
    std::fs::write(&blocker, b"").expect("write a_file");
    let out_dir = blocker.join("out");
    let output = run(&mut project.build_command_into(&out_dir));
    let report = describe("ferropy build -o a_file/out", &output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&out_dir.display().to_string()),
        "the error should name the output directory\n{report}"
    );
    assert!(stderr.contains("is a file, not a directory"), "{report}");
    assert!(stderr.contains("-o"), "{report}");
    assert!(
        !stderr.contains("Compiling"),
        "cargo ran although the module could not be installed\n{report}"
    );
}

#[test]
fn concurrent_builds_of_one_file_both_succeed() {
    if !end_to_end_enabled("concurrent_builds_of_one_file_both_succeed") {
        return;
    }
    let project = Project::new("faults_concurrent", &python_with_numpy());
    let constant = unused_constant();
    project.write_kernel(constant, 0);
    let spawn = || {
        project
            .build_command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ferropy")
    };
    let builds: Vec<Child> = vec![spawn(), spawn()];
    let outputs: Vec<Output> = builds
        .into_iter()
        .map(|child| child.wait_with_output().expect("wait for ferropy"))
        .collect();
    let reports: Vec<String> = outputs
        .iter()
        .map(|output| describe("ferropy build (concurrent)", output))
        .collect();
    for (output, report) in outputs.iter().zip(&reports) {
        assert!(output.status.success(), "{report}");
    }
    // The crate lock makes the builds take turns, and the second finds what
    // the first published: exactly one of them runs cargo.
    let cached = outputs
        .iter()
        .filter(|output| stderr_of(output).contains("(cached)"))
        .count();
    assert_eq!(
        cached,
        1,
        "exactly one of two concurrent builds should come from the cache\n{}",
        reports.join("\n")
    );
    assert_eq!(project.probe_in_new_process(), constant + 1);
}

/// The process ids in process group `group`, from /proc.
fn processes_in_group(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and
            // parentheses, so the fields are counted from its last `)`.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((_, fields)) = stat.rsplit_once(')') else {
                return false;
            };
            fields.split_whitespace().nth(2) == Some(&group.to_string())
        })
        .collect()
}

/// Whether `pid` is a rustc compiling crate `fp_<module>_…`.
fn is_rustc_of(pid: u32, module: &str) -> bool {
    let Ok(command_line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let arguments: Vec<&[u8]> = command_line.split(|byte| *byte == 0).collect();
    let crate_prefix = format!("fp_{module}_");
    arguments
        .windows(2)
        .any(|pair| pair[0] == b"--crate-name" && pair[1].starts_with(crate_prefix.as_bytes()))
}

#[test]
fn killed_build_keeps_the_previous_module() {
    if !end_to_end_enabled("killed_build_keeps_the_previous_module") {
        return;
    }
    let project = Project::new("faults_killed", &python_with_numpy());
    let before = unused_constant();
    project.write_kernel(before, 0);
    project.build();
    assert_eq!(project.probe_in_new_process(), before + 1);

    // A changed source with enough functions that rustc works for a while.
    let after = unused_constant();
    project.write_kernel(after, 30);
    let mut build = project
        .build_command()
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferropy");
    let group = build.id();
    // The limit only stops a hung test; another test's cargo may hold the
    // target directory for minutes first.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = build.try_wait().expect("poll ferropy") {
            panic!(
                "the build finished ({status}) before rustc compiled its crate, so it could \
                 not be interrupted"
            );
        }
        let compiling = processes_in_group(group)
            .into_iter()
            .any(|pid| is_rustc_of(pid, &project.module));
        if compiling {
            break;
        }
        assert!(Instant::now() < deadline, "rustc never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // ferropy, cargo and rustc all at once, as a SIGKILL of a terminal's
    // process group would.
    let killed = run(Command::new("kill")
        .args(["-KILL", "--"])
        .arg(format!("-{group}")));
    assert!(killed.status.success(), "{}", describe("kill", &killed));
    let status = build.wait().expect("reap ferropy");
    assert!(!status.success(), "ferropy survived SIGKILL: {status}");
    while !processes_in_group(group).is_empty() {
        assert!(
            Instant::now() < deadline,
            "processes of the killed build remain"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    assert_eq!(
        project.probe_in_new_process(),
        before + 1,
        "the killed build damaged or replaced the installed module"
    );
    let mut left = std::fs::read_dir(project.out_dir())
        .expect("read the output directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>();
    left.sort();
    let mut expected = vec![project.extension_name(), format!("{}.pyi", project.module)];
    expected.sort();
    assert_eq!(
        left, expected,
        "the killed build left files in the output directory"
    );

    let stderr = project.build();
    assert!(
        !stderr.contains("(cached)"),
        "the killed build published a cache entry\n{stderr}"
    );
    assert_eq!(project.probe_in_new_process(), after + 1);
}

/// The artifact cache directory holding exactly the bytes of `extension`.
fn cache_entry_of(extension: &Path) -> PathBuf {
    let bytes = std::fs::read(extension).expect("read the installed module");
    let name = extension.file_name().expect("file name");
    let artifacts = ferropy::build::cache_dir().join("artifacts");
    let entries = std::fs::read_dir(&artifacts)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", artifacts.display()));
    entries
        .flatten()
        .map(|entry| entry.path())
        .find(|entry| std::fs::read(entry.join(name)).is_ok_and(|cached| cached == bytes))
        .unwrap_or_else(|| {
            panic!(
                "no entry of {} holds the installed module",
                artifacts.display()
            )
        })
}

/// Whether a cache entry's `SHA256SUMS` matches its extension.
fn entry_verifies(entry: &Path, extension_name: &str) -> bool {
    let Ok(bytes) = std::fs::read(entry.join(extension_name)) else {
        return false;
    };
    let Ok(checksums) = std::fs::read_to_string(entry.join("SHA256SUMS")) else {
        return false;
    };
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    checksums
        .lines()
        .any(|line| line == format!("{digest}  {extension_name}"))
}

#[test]
fn damaged_cache_entry_is_rebuilt() {
    if !end_to_end_enabled("damaged_cache_entry_is_rebuilt") {
        return;
    }
    let project = Project::new("faults_damaged", &python_with_numpy());
    let constant = unused_constant();
    project.write_kernel(constant, 0);
    project.build();
    let extension_name = project.extension_name();
    let entry = cache_entry_of(&project.extension());
    assert!(entry_verifies(&entry, &extension_name));
    let cached_library = entry.join(&extension_name);
    let length = std::fs::metadata(&cached_library)
        .expect("cached module")
        .len();

    let damages: [(&str, &dyn Fn()); 3] = [
        ("truncated to half its length", &|| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&cached_library)
                .expect("open the cached module");
            file.set_len(length / 2).expect("truncate");
        }),
        ("overwritten with zeros at the same length", &|| {
            let mut bytes = std::fs::read(&cached_library).expect("read the cached module");
            let middle = bytes.len() / 2;
            bytes[middle..middle + 4096].fill(0);
            std::fs::write(&cached_library, bytes).expect("overwrite");
        }),
        ("left without its checksum", &|| {
            std::fs::remove_file(entry.join("SHA256SUMS")).expect("remove SHA256SUMS");
        }),
    ];
    for (damage, inflict) in damages {
        inflict();
        assert!(!entry_verifies(&entry, &extension_name), "{damage}");
        // Removed from the output directory, so that only the cache could
        // supply a module without a rebuild.
        std::fs::remove_file(project.extension()).expect("remove the installed module");
        let stderr = project.build();
        assert!(
            !stderr.contains("(cached)"),
            "a cache entry {damage} was installed\n{stderr}"
        );
        assert!(
            stderr.contains("discarding the cached build"),
            "a cache entry {damage} was not reported\n{stderr}"
        );
        assert!(
            entry_verifies(&entry, &extension_name),
            "the entry {damage} was not replaced by a whole one"
        );
        assert_eq!(project.probe_in_new_process(), constant + 1, "{damage}");
    }
    // With the entry whole again, the next build comes from it.
    assert!(project.build().contains("(cached)"));
}

#[test]
fn running_python_survives_a_rebuild() {
    if !end_to_end_enabled("running_python_survives_a_rebuild") {
        return;
    }
    let project = Project::new("faults_live", &python_with_numpy());
    let before = unused_constant();
    project.write_kernel(before, 0);
    project.build();
    let inode_before = std::fs::metadata(project.extension())
        .expect("installed module")
        .ino();

    // Imports the module, reports, waits for a line, calls it again.
    let mut running = project
        .python_command(
            "print(module.probe(1), flush=True)\nsys.stdin.readline()\n\
             print(module.probe(1), flush=True)",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut lines = BufReader::new(running.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("first line").expect("read stdout");
    assert_eq!(first.trim(), (before + 1).to_string());

    let after = unused_constant();
    project.write_kernel(after, 0);
    project.build();
    let inode_after = std::fs::metadata(project.extension())
        .expect("installed module")
        .ino();
    assert_ne!(
        inode_before, inode_after,
        "the module was rewritten in place instead of replaced"
    );

    let mut stdin = running.stdin.take().expect("stdin");
    stdin.write_all(b"\n").expect("write to python");
    drop(stdin);
    let second = lines.next().expect("second line").expect("read stdout");
    let status = running.wait().expect("wait for python");
    assert!(status.success(), "the running Python failed: {status}");
    assert_eq!(
        second.trim(),
        (before + 1).to_string(),
        "the running Python should keep the module it imported"
    );
    assert_eq!(project.probe_in_new_process(), after + 1);
}
