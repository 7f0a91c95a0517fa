//! The `ferropy` command line: `build`, `check` and `emit`.
//!
//! Each command reads its files as bytes and hands them to a guarded worker
//! thread (`guard`) that decodes them the way CPython does (`source_text`)
//! and runs the pure pipeline (`ferropy::compile` or `ferropy::check`). The
//! diagnostics are printed as text or as JSON lines (`report`) and, for
//! `build`, the generated crates go to `ferropy::build`. `check` also takes
//! directories and, with `--summary`, reports per-file outcomes and timings
//! over a whole corpus.
//!
//! Exit codes: 0 ok, 1 some file has diagnostics, 2 usage or environment
//! error, 101 internal error (a panic, or a file overrunning the time limit;
//! both are reported as an FP0001 diagnostic naming the file).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};

use ferropy::build::{self, BuildError, BuildOptions, Interpreter, TargetCpu};
use ferropy::diagnostics::{Diagnostic, SourceFile};
use ferropy::GeneratedCrate;

use crate::guard::{Failure, Outcome};
use crate::report::{Format, Printer};

/// How long one file may take from decoding through type checking (and
/// codegen for `build` and `emit`) before it is reported as an internal
/// error. Real files take milliseconds; this only catches a stage that loops.
const DEFAULT_TIME_LIMIT_SECONDS: f64 = 60.0;

/// How many of the slowest files `check --summary` lists.
const SLOWEST_FILES_LISTED: usize = 5;

#[derive(Parser)]
#[command(
    name = "ferropy",
    version = ferropy::VERSION,
    about = "Ahead-of-time compiler from annotated numeric Python to CPython extension modules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile Python files to <module><EXT_SUFFIX> and <module>.pyi.
    Build(BuildArgs),
    /// Parse and type-check only: print diagnostics, build nothing.
    Check(CheckArgs),
    /// Print the generated Rust, or write the whole crate with --crate.
    Emit {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Write the crate (Cargo.toml, Cargo.lock, src/, the runtime crate in
        /// ferropy-rt/) and the .pyi into DIR.
        #[arg(long = "crate", value_name = "DIR")]
        crate_dir: Option<PathBuf>,
        /// Write nothing: compare the generated code with the file at PATH
        /// (or, after --crate DIR, with the crate in DIR; other files there,
        /// such as target/, are ignored). Exit 0 when it is current, 1 with a
        /// unified diff on stdout when it is stale or missing.
        #[arg(long, value_name = "PATH", num_args = 0..=1)]
        check: Option<Option<PathBuf>>,
        #[command(flatten)]
        parallel: ParallelArgs,
    },
    /// Print the inferred types and, per loop and call site, what the
    /// compiler decided and why.
    Explain {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        parallel: ParallelArgs,
    },
}

/// Which loops may run in parallel.
#[derive(Args, Clone, Copy)]
struct ParallelArgs {
    /// `off`: every loop runs serially and `prange` means `range` (nothing
    /// is checked for races).
    #[arg(long, value_enum, default_value_t = ParallelMode::On)]
    parallel: ParallelMode,
    /// Run in parallel only the loops written with `prange`, not plain
    /// `range` loops proven to give the same result.
    #[arg(long)]
    no_auto_parallel: bool,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
enum ParallelMode {
    On,
    Off,
}

impl ParallelArgs {
    fn options(self) -> ferropy::Options {
        let on = self.parallel == ParallelMode::On;
        ferropy::Options {
            parallel: on,
            automatic_parallel: on && !self.no_auto_parallel,
        }
    }
}

#[derive(Args)]
struct BuildArgs {
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Directory for the built modules [default: beside each source file].
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Python interpreter to build for [default: python3 on PATH].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Print nothing but diagnostics and errors.
    #[arg(short, long)]
    quiet: bool,
    /// Build for the architecture's baseline processor instead of this
    /// machine's (the default uses every instruction-set extension of the
    /// building CPU, as `-C target-cpu=native`), for modules copied to other
    /// machines.
    #[arg(long)]
    portable: bool,
    #[command(flatten)]
    parallel: ParallelArgs,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Args)]
struct CheckArgs {
    /// Python files, and directories to search for `*.py` files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Instead of each file's diagnostics, print a table of per-file outcomes
    /// (files, exit 0, exit 1, other, panics, timeouts) and the slowest
    /// files. Internal errors and unreadable files are still shown in full.
    #[arg(long, conflicts_with = "format")]
    summary: bool,
    /// Report a file whose check takes longer than this as an internal error.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_TIME_LIMIT_SECONDS,
        value_parser = parse_seconds
    )]
    time_limit: f64,
    /// How many files to check at once [default: the number of CPUs].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    #[command(flatten)]
    parallel: ParallelArgs,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 1e6 => Ok(seconds),
        _ => Err("expected a number of seconds, such as 2 or 0.5".to_string()),
    }
}

/// How a run ended, ordered by severity so that several files combine with `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Success,
    Diagnostics,
    UsageOrEnvironment,
    Internal,
}

impl Status {
    fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Diagnostics => 1,
            Status::UsageOrEnvironment => 2,
            // The code Rust programs (rustc among them) exit with on a bug.
            Status::Internal => 101,
        }
    }

    fn of_build_error(error: &BuildError) -> Status {
        if error.is_internal() {
            Status::Internal
        } else {
            Status::UsageOrEnvironment
        }
    }

    fn of_outcome<T>(outcome: &Outcome<T>) -> Status {
        match outcome {
            Outcome::Finished(Ok(_)) => Status::Success,
            // An internal error found by the pipeline itself (generated
            // code that does not parse) is a ferropy bug, like a panic.
            Outcome::Finished(Err(found))
                if found
                    .iter()
                    .any(|d| d.code == ferropy::diagnostics::codes::INTERNAL_ERROR) =>
            {
                Status::Internal
            }
            Outcome::Finished(Err(_)) => Status::Diagnostics,
            Outcome::Failed(..) => Status::Internal,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    guard::install_panic_hook();
    let status = match cli.command {
        Command::Build(arguments) => build_command(&arguments),
        Command::Check(arguments) => check_command(&arguments),
        Command::Emit {
            file,
            crate_dir,
            check,
            parallel,
        } => match emit_target(crate_dir, check) {
            Ok(target) => emit_command(&file, &target, parallel.options()),
            Err(message) => {
                print_error(&message);
                Status::UsageOrEnvironment
            }
        },
        Command::Explain { file, parallel } => explain_command(&file, parallel.options()),
    };
    status.exit_code()
}

fn build_command(arguments: &BuildArgs) -> Status {
    let printer = Printer::new(arguments.format);
    let time_limit = Duration::from_secs_f64(DEFAULT_TIME_LIMIT_SECONDS);
    let cache_dir = build::cache_dir();
    let mut status = Status::Success;
    // The interpreter is asked once, in the background while the first file
    // compiles (its start-up is most of an unchanged file's build time); the
    // answer, and any error, is used only when the first file is ready to
    // build, so a run where every file has errors does not depend on Python.
    let python = arguments.python.clone();
    let mut lookup = Some(std::thread::spawn(move || {
        build::find_interpreter(python.as_deref())
    }));
    let mut interpreter: Option<Result<Interpreter, ()>> = None;
    let mut builds_possible = true;
    let mut destinations: HashMap<(PathBuf, String), PathBuf> = HashMap::new();

    for path in unique(&arguments.files) {
        let (bytes, module_name) = match load_module(path) {
            Ok(loaded) => loaded,
            Err(message) => {
                print_error(&message);
                status = status.max(Status::UsageOrEnvironment);
                continue;
            }
        };
        let out_dir = match &arguments.out_dir {
            Some(out_dir) => out_dir.clone(),
            None => directory_of(path),
        };
        let destination = (out_dir.clone(), module_name.clone());
        if let Some(first) = destinations.get(&destination) {
            print_error(&format!(
                "{} and {} both compile to module `{module_name}` in {}; build them \
                 into different directories with -o",
                first.display(),
                path.display(),
                out_dir.display()
            ));
            status = status.max(Status::UsageOrEnvironment);
            continue;
        }
        destinations.insert(destination, path.clone());

        let krate = match compile_file(
            path,
            bytes,
            module_name,
            time_limit,
            arguments.parallel.options(),
        ) {
            Ok(krate) => krate,
            Err((file, found, file_status)) => {
                printer.diagnostics(&file, &found);
                let reason = match file_status {
                    Status::Internal => "internal error".to_string(),
                    _ => report::count_errors(&found),
                };
                print_error(&format!("{} not built: {reason}", path.display()));
                status = status.max(file_status);
                continue;
            }
        };
        if !builds_possible {
            continue;
        }
        let target = interpreter.get_or_insert_with(|| {
            let found = lookup
                .take()
                .and_then(|lookup| lookup.join().ok())
                .unwrap_or_else(|| build::find_interpreter(arguments.python.as_deref()));
            found.map_err(|error| {
                print_error(&error.to_string());
                status = status.max(Status::of_build_error(&error));
            })
        });
        let Ok(target) = target else {
            builds_possible = false;
            continue;
        };
        let options = BuildOptions {
            interpreter: target,
            out_dir: &out_dir,
            cache_dir: &cache_dir,
            quiet: arguments.quiet,
            cpu: if arguments.portable {
                TargetCpu::Portable
            } else {
                TargetCpu::Native
            },
        };
        if let Err(error) = build::build_module(&krate, path, &options) {
            print_error(&error.to_string());
            status = status.max(Status::of_build_error(&error));
            builds_possible = !error.affects_every_module();
        }
    }
    status
}

/// Decodes and compiles one file on a guarded thread. The error holds what
/// to print, the file's diagnostics (an internal error among them), and the
/// status they mean.
fn compile_file(
    path: &Path,
    bytes: Vec<u8>,
    module_name: String,
    time_limit: Duration,
    options: ferropy::Options,
) -> Result<GeneratedCrate, (SourceFile, Vec<Diagnostic>, Status)> {
    let guarded = guard::run(display_path(path), bytes, time_limit, move |file| {
        ferropy::compile_with(file, &module_name, options)
    });
    let status = Status::of_outcome(&guarded.outcome);
    match guarded.outcome {
        Outcome::Finished(Ok(krate)) => Ok(krate),
        Outcome::Finished(Err(found)) => Err((guarded.file, found, status)),
        Outcome::Failed(_, diagnostic) => Err((guarded.file, vec![diagnostic], status)),
    }
}

/// What checking one file came to.
struct CheckedFile {
    status: Status,
    /// The decoded file and its diagnostics, or why it could not be read.
    report: Result<(SourceFile, Vec<Diagnostic>), String>,
    failure: Option<Failure>,
    elapsed: Duration,
}

fn check_command(arguments: &CheckArgs) -> Status {
    let started = Instant::now();
    let printer = Printer::new(arguments.format);
    let time_limit = Duration::from_secs_f64(arguments.time_limit);
    let jobs = match arguments.jobs {
        Some(jobs) => usize::from(jobs),
        None => std::thread::available_parallelism().map_or(1, |jobs| jobs.get()),
    };
    let (paths, mut status) = python_files(&arguments.paths);
    let mut summary = Summary::default();
    for_each_in_order(
        &paths,
        jobs,
        |path| check_file(path, time_limit, arguments.parallel.options()),
        |path, checked| {
            status = status.max(checked.status);
            if arguments.summary {
                summary.add(path, &checked);
            }
            // In a summary only what is not the file's own fault is shown.
            let shown = !arguments.summary
                || checked.failure.is_some()
                || checked.status == Status::UsageOrEnvironment;
            if shown {
                match &checked.report {
                    Ok((file, found)) => printer.diagnostics(file, found),
                    Err(message) => print_error(message),
                }
            }
        },
    );
    if arguments.summary {
        summary.print(started.elapsed(), jobs);
    }
    status
}

fn check_file(path: &Path, time_limit: Duration, options: ferropy::Options) -> CheckedFile {
    let started = Instant::now();
    let bytes = match read_bytes(path) {
        Ok(bytes) => bytes,
        Err(message) => {
            return CheckedFile {
                status: Status::UsageOrEnvironment,
                report: Err(message),
                failure: None,
                elapsed: started.elapsed(),
            };
        }
    };
    let guarded = guard::run(display_path(path), bytes, time_limit, move |file| {
        ferropy::check_with(file, options).map(drop)
    });
    let status = Status::of_outcome(&guarded.outcome);
    let (found, failure) = match guarded.outcome {
        Outcome::Finished(Ok(())) => (Vec::new(), None),
        Outcome::Finished(Err(found)) => (found, None),
        Outcome::Failed(failure, diagnostic) => (vec![diagnostic], Some(failure)),
    };
    CheckedFile {
        status,
        report: Ok((guarded.file, found)),
        failure,
        elapsed: started.elapsed(),
    }
}

/// Per-file outcomes of a `check --summary` run.
#[derive(Default)]
struct Summary {
    files: usize,
    /// Files by the exit code `ferropy check` gives for that file alone.
    by_exit_code: BTreeMap<u8, usize>,
    panics: usize,
    timeouts: usize,
    /// The slowest files, slowest first.
    slowest: Vec<(Duration, PathBuf)>,
}

impl Summary {
    fn add(&mut self, path: &Path, checked: &CheckedFile) {
        self.files += 1;
        *self.by_exit_code.entry(checked.status.code()).or_default() += 1;
        match checked.failure {
            Some(Failure::Panic) => self.panics += 1,
            Some(Failure::Timeout) => self.timeouts += 1,
            Some(Failure::NoThread) | None => {}
        }
        let position = self
            .slowest
            .partition_point(|(elapsed, _)| *elapsed >= checked.elapsed);
        if position < SLOWEST_FILES_LISTED {
            self.slowest
                .insert(position, (checked.elapsed, path.to_path_buf()));
            self.slowest.truncate(SLOWEST_FILES_LISTED);
        }
    }

    fn print(&self, elapsed: Duration, jobs: usize) {
        let count = |code: u8| self.by_exit_code.get(&code).copied().unwrap_or(0);
        let other: usize = self
            .by_exit_code
            .iter()
            .filter(|(code, _)| **code > 1)
            .map(|(_, files)| files)
            .sum();
        let other_codes: Vec<String> = self
            .by_exit_code
            .iter()
            .filter(|(code, _)| **code > 1)
            .map(|(code, files)| format!("{files} × exit {code}"))
            .collect();
        let mut table = String::new();
        if !self.slowest.is_empty() {
            table.push_str("slowest files:\n");
            for (elapsed, path) in &self.slowest {
                table.push_str(&format!("  {:>9}  {}\n", seconds(*elapsed), path.display()));
            }
        }
        table.push_str(&format!(
            "checked {} files in {} with {jobs} {}\n",
            self.files,
            seconds(elapsed),
            if jobs == 1 { "job" } else { "jobs" }
        ));
        let mut row = |name: &str, value: String| {
            table.push_str(&format!("  {name:<9} {value:>9}\n"));
        };
        row("files", self.files.to_string());
        row("exit 0", count(0).to_string());
        row("exit 1", count(1).to_string());
        if other_codes.is_empty() {
            row("other", other.to_string());
        } else {
            row("other", format!("{other}  ({})", other_codes.join(", ")));
        }
        row("panics", self.panics.to_string());
        row("timeouts", self.timeouts.to_string());
        match self.slowest.first() {
            Some((elapsed, path)) => row(
                "slowest",
                format!("{}  {}", seconds(*elapsed), path.display()),
            ),
            None => row("slowest", "-".to_string()),
        }
        let _ = io::stdout().lock().write_all(table.as_bytes());
    }
}

/// A duration as `0.012 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

/// Runs `work` on every item with up to `jobs` threads and hands the results
/// to `consume` in the order of `items`, each as soon as those before it are
/// done, so output is the same as a sequential run.
fn for_each_in_order<I, R>(
    items: &[I],
    jobs: usize,
    work: impl Fn(&I) -> R + Sync,
    mut consume: impl FnMut(&I, R),
) where
    I: Sync,
    R: Send,
{
    if jobs <= 1 || items.len() <= 1 {
        for item in items {
            consume(item, work(item));
        }
        return;
    }
    let next_item = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..jobs.min(items.len()) {
            let sender = sender.clone();
            let (next_item, work) = (&next_item, &work);
            scope.spawn(move || loop {
                let index = next_item.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else {
                    break;
                };
                if sender.send((index, work(item))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut finished = BTreeMap::new();
        let mut next_to_consume = 0;
        for (index, result) in receiver {
            finished.insert(index, result);
            while let Some(result) = finished.remove(&next_to_consume) {
                consume(&items[next_to_consume], result);
                next_to_consume += 1;
            }
        }
    });
}

/// The files to check: each named file, and every `*.py` file under each
/// named directory in sorted order. Directory symlinks are not followed, so
/// a link cycle cannot make the walk endless. An unreadable or empty
/// directory is reported and makes the status a usage error.
fn python_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Status) {
    let mut files = Vec::new();
    let mut status = Status::Success;
    for path in unique(paths) {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let found_before = files.len();
        walk_directory(path, &mut files, &mut status);
        if files.len() == found_before {
            print_error(&format!("no `.py` files in {}", path.display()));
            status = status.max(Status::UsageOrEnvironment);
        }
    }
    let mut seen = HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    (files, status)
}

fn walk_directory(dir: &Path, files: &mut Vec<PathBuf>, status: &mut Status) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            print_error(&format!("cannot read directory {}: {error}", dir.display()));
            *status = (*status).max(Status::UsageOrEnvironment);
            return;
        }
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk_directory(&path, files, status);
        } else if path.extension().is_some_and(|extension| extension == "py") {
            files.push(path);
        }
    }
}

fn explain_command(path: &Path, options: ferropy::Options) -> Status {
    let printer = Printer::new(Format::Human);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            print_error(&format!("cannot read {}: {error}", path.display()));
            return Status::UsageOrEnvironment;
        }
    };
    let time_limit = Duration::from_secs_f64(DEFAULT_TIME_LIMIT_SECONDS);
    let guarded = guard::run(display_path(path), bytes, time_limit, move |file| {
        ferropy::explain_with(file, options)
    });
    let status = Status::of_outcome(&guarded.outcome);
    match guarded.outcome {
        Outcome::Finished(Ok(report)) => match io::stdout().lock().write_all(report.as_bytes()) {
            Ok(()) => Status::Success,
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Status::Success,
            Err(error) => {
                print_error(&format!("cannot write to stdout: {error}"));
                Status::UsageOrEnvironment
            }
        },
        Outcome::Finished(Err(found)) => {
            printer.diagnostics(&guarded.file, &found);
            status
        }
        Outcome::Failed(_, diagnostic) => {
            printer.diagnostics(&guarded.file, &[diagnostic]);
            status
        }
    }
}

/// What `emit` does with the generated code.
#[derive(Debug, PartialEq, Eq)]
enum EmitTarget {
    /// Print `lib.rs` on stdout.
    Stdout,
    /// Write the crate and the stub into the directory.
    Crate(PathBuf),
    /// Compare `lib.rs` with the file.
    CheckFile(PathBuf),
    /// Compare the crate and the stub with the directory.
    CheckCrate(PathBuf),
}

/// The `emit` options as one target; the error is a usage message.
fn emit_target(
    crate_dir: Option<PathBuf>,
    check: Option<Option<PathBuf>>,
) -> Result<EmitTarget, String> {
    match (crate_dir, check) {
        (None, None) => Ok(EmitTarget::Stdout),
        (Some(dir), None) => Ok(EmitTarget::Crate(dir)),
        (None, Some(Some(path))) => Ok(EmitTarget::CheckFile(path)),
        (Some(dir), Some(None)) => Ok(EmitTarget::CheckCrate(dir)),
        (None, Some(None)) => Err("--check needs the path of the generated code to compare \
                                   with (`ferropy emit FILE --check PATH`), or --crate DIR \
                                   to compare a whole crate"
            .to_string()),
        (Some(dir), Some(Some(path))) => Err(format!(
            "--check takes no path after --crate: `--crate {} --check` compares the crate in \
             that directory (got --check {})",
            dir.display(),
            path.display()
        )),
    }
}

fn emit_command(path: &Path, target: &EmitTarget, options: ferropy::Options) -> Status {
    let printer = Printer::new(Format::Human);
    let (bytes, module_name) = match load_module(path) {
        Ok(loaded) => loaded,
        Err(message) => {
            print_error(&message);
            return Status::UsageOrEnvironment;
        }
    };
    let time_limit = Duration::from_secs_f64(DEFAULT_TIME_LIMIT_SECONDS);
    let krate = match compile_file(path, bytes, module_name.clone(), time_limit, options) {
        Ok(krate) => krate,
        Err((file, found, status)) => {
            printer.diagnostics(&file, &found);
            return status;
        }
    };
    let crate_dir = match target {
        EmitTarget::Stdout => return write_stdout(&krate.lib_rs),
        EmitTarget::CheckFile(committed) => {
            return snapshot::check_file(path, committed, &krate.lib_rs)
        }
        EmitTarget::Crate(dir) | EmitTarget::CheckCrate(dir) => dir,
    };
    let package = match emitted_package_name(&module_name, path, crate_dir) {
        Ok(package) => package,
        Err(message) => {
            print_error(&message);
            return Status::UsageOrEnvironment;
        }
    };
    if let EmitTarget::CheckCrate(dir) = target {
        let files = build::standalone_crate_files(&krate, &package);
        return snapshot::check_crate(path, dir, &files);
    }
    let written = build::write_standalone_crate(&krate, &package, crate_dir)
        .and_then(|()| build::write_stub(&krate, crate_dir));
    match written {
        Ok(_) => Status::Success,
        Err(error) => {
            print_error(&format!(
                "cannot write the crate to {}: {error}",
                crate_dir.display()
            ));
            Status::UsageOrEnvironment
        }
    }
}

/// Writes `text` to stdout.
fn write_stdout(text: &str) -> Status {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => Status::Success,
        // A closed pipe (`ferropy emit k.py | head`) means the reader has
        // seen enough; it is not a failure.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Status::Success,
        Err(error) => {
            print_error(&format!("cannot write to stdout: {error}"));
            Status::UsageOrEnvironment
        }
    }
}

/// The package name of the crate `emit --crate DIR` writes for `source`: it
/// depends on the path from DIR to the source, not on where the project is,
/// so a committed crate checks as current in every clone
/// (`build::standalone_package_name`). DIR need not exist yet.
fn emitted_package_name(
    module_name: &str,
    source: &Path,
    crate_dir: &Path,
) -> Result<String, String> {
    let canonical_source = std::fs::canonicalize(source)
        .map_err(|error| format!("cannot resolve {}: {error}", source.display()))?;
    let absolute_dir = canonical_directory(crate_dir)
        .map_err(|error| format!("cannot resolve {}: {error}", crate_dir.display()))?;
    let relative = build::relative_path(&absolute_dir, &canonical_source).ok_or_else(|| {
        format!(
            "{} and {} have no relative path between them; put the crate on the same \
             drive as the source",
            crate_dir.display(),
            source.display()
        )
    })?;
    Ok(build::standalone_package_name(module_name, &relative))
}

/// `dir` made absolute with symbolic links resolved, as far as it exists;
/// the components that do not exist yet are appended unchanged.
fn canonical_directory(dir: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(dir)?;
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut canonical) => {
                for component in missing.iter().rev() {
                    canonical.push(component);
                }
                return Ok(canonical);
            }
            Err(error) => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(error);
                };
                missing.push(name.to_os_string());
                existing = parent;
            }
        }
    }
}

/// `emit --check`: comparing generated code with the copy committed in a
/// project, for snapshot tests in the project's own CI.
mod snapshot {
    use std::io::{self, Write};
    use std::path::Path;

    use similar::TextDiff;

    use crate::{print_error, Status};

    /// The committed text of a file, or `None` when it does not exist.
    /// Line endings are compared as `\n`, so a checkout that turned them
    /// into `\r\n` (git's `core.autocrlf`) is not stale.
    fn committed_text(path: &Path) -> Result<Option<String>, String> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(text.replace("\r\n", "\n"))),
                // Not UTF-8, so not anything ferropy wrote: stale.
                Err(error) => Ok(Some(String::from_utf8_lossy(error.as_bytes()).into_owned())),
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("cannot read {}: {error}", path.display())),
        }
    }

    /// The unified diff turning `committed` (`None`: missing) into
    /// `generated`, or `None` when they are the same.
    pub(crate) fn diff(label: &str, committed: Option<&str>, generated: &str) -> Option<String> {
        if committed == Some(generated) {
            return None;
        }
        let (old_label, old) = match committed {
            Some(text) => (format!("a/{label}"), text),
            None => ("/dev/null".to_string(), ""),
        };
        let diff = TextDiff::from_lines(old, generated);
        let mut text = diff
            .unified_diff()
            .context_radius(3)
            .header(&old_label, &format!("b/{label}"))
            .to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Some(text)
    }

    fn print_diffs(diffs: &str) -> Status {
        match io::stdout().lock().write_all(diffs.as_bytes()) {
            Ok(()) => Status::Diagnostics,
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Status::Diagnostics,
            Err(error) => {
                print_error(&format!("cannot write to stdout: {error}"));
                Status::UsageOrEnvironment
            }
        }
    }

    pub(super) fn check_file(source: &Path, committed: &Path, generated: &str) -> Status {
        let text = match committed_text(committed) {
            Ok(text) => text,
            Err(message) => {
                print_error(&message);
                return Status::UsageOrEnvironment;
            }
        };
        let label = committed.display().to_string();
        let Some(diff) = diff(&label, text.as_deref(), generated) else {
            return Status::Success;
        };
        let what = if text.is_none() { "missing" } else { "stale" };
        let status = print_diffs(&diff);
        print_error(&format!(
            "{} is {what}: it is not the code ferropy generates for {}; regenerate it with \
             `ferropy emit {} > {}`",
            committed.display(),
            source.display(),
            source.display(),
            committed.display()
        ));
        status
    }

    pub(super) fn check_crate(source: &Path, dir: &Path, files: &[(String, String)]) -> Status {
        let mut diffs = String::new();
        let mut stale = Vec::new();
        for (relative, generated) in files {
            let path = dir.join(relative);
            let text = match committed_text(&path) {
                Ok(text) => text,
                Err(message) => {
                    print_error(&message);
                    return Status::UsageOrEnvironment;
                }
            };
            let label = path.display().to_string();
            if let Some(diff) = diff(&label, text.as_deref(), generated) {
                diffs.push_str(&diff);
                stale.push(relative.as_str());
            }
        }
        if stale.is_empty() {
            return Status::Success;
        }
        let status = print_diffs(&diffs);
        print_error(&format!(
            "the crate in {} is stale ({} of {} files differ: {}); regenerate it with \
             `ferropy emit {} --crate {}`",
            dir.display(),
            stale.len(),
            files.len(),
            stale.join(", "),
            source.display(),
            dir.display()
        ));
        status
    }
}

/// Reads a source file and derives its module name; the error is a complete
/// message for the user.
fn load_module(path: &Path) -> Result<(Vec<u8>, String), String> {
    let bytes = read_bytes(path)?;
    let module_name = ferropy::module_name_for(path).ok_or_else(|| {
        let stem = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(
            "cannot compile {}: `{stem}` is not a valid Python module name; rename the \
             file to a Python identifier, such as `{}.py`",
            path.display(),
            suggested_module_name(&stem)
        )
    })?;
    Ok((bytes, module_name))
}

/// The raw bytes of a source file: decoding them is part of the guarded
/// pipeline, since an undecodable file gets a diagnostic, not a usage error.
fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// The path as the user wrote it, which diagnostics print verbatim.
fn display_path(path: &Path) -> String {
    path.display().to_string()
}

/// A valid module name close to `stem`: invalid characters become `_`, and a
/// leading digit gets a `_` in front.
fn suggested_module_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
        name.insert(0, '_');
    }
    name
}

/// The files in command-line order, each once: naming a file twice should not
/// build it twice or look like two modules colliding.
fn unique(files: &[PathBuf]) -> Vec<&PathBuf> {
    let mut seen = HashSet::new();
    files.iter().filter(|path| seen.insert(*path)).collect()
}

/// The directory holding `path`, as the user would write it (`.` for a bare
/// file name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn print_error(message: &str) {
    // A closed stderr leaves nobody to tell; it must not become a panic.
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// Diagnostics as the user sees them: rustc-style text on stderr, or one
/// JSON object per diagnostic per line on stdout.
mod report {
    use std::io::{self, IsTerminal, Write};

    use ferropy::diagnostics::{self, Color, Diagnostic, Severity, SourceFile, Span};

    /// At most this many diagnostics of one file are printed as text; a flood
    /// of follow-on errors would hide the first, usually the one to fix.
    pub const DIAGNOSTICS_PER_FILE: usize = 50;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
    pub enum Format {
        /// rustc-style text on stderr, coloured on a terminal unless NO_COLOR
        /// is set; at most 50 diagnostics per file.
        Human,
        /// one JSON object per diagnostic per line on stdout, every diagnostic:
        /// file, line, column, end_line, end_column (1-based, columns in
        /// characters, end exclusive), severity, code, message, label, hint,
        /// secondary.
        Json,
    }

    pub struct Printer {
        format: Format,
        color: Color,
    }

    impl Printer {
        pub fn new(format: Format) -> Printer {
            Printer {
                format,
                color: diagnostic_color(),
            }
        }

        pub fn diagnostics(&self, file: &SourceFile, found: &[Diagnostic]) {
            if found.is_empty() {
                return;
            }
            // Write errors (a closed pipe) are ignored: the exit code still
            // tells the caller that the file has diagnostics.
            let _ = match self.format {
                Format::Human => io::stderr().lock().write_all(
                    render_capped(file, found, self.color, DIAGNOSTICS_PER_FILE).as_bytes(),
                ),
                Format::Json => {
                    let lines = LineIndex::new(&file.text);
                    let mut text = String::new();
                    for diagnostic in found {
                        text.push_str(&json_line(file, &lines, diagnostic));
                        text.push('\n');
                    }
                    io::stdout().lock().write_all(text.as_bytes())
                }
            };
        }
    }

    /// Colour only for a person at a terminal who has not opted out with NO_COLOR.
    fn diagnostic_color() -> Color {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        if io::stderr().is_terminal() && !no_color {
            Color::Always
        } else {
            Color::Never
        }
    }

    /// The first `cap` diagnostics rendered, then a line counting the rest.
    pub fn render_capped(
        file: &SourceFile,
        found: &[Diagnostic],
        color: Color,
        cap: usize,
    ) -> String {
        let (shown, rest) = found.split_at(found.len().min(cap));
        let mut text = diagnostics::render(file, shown, color);
        if !rest.is_empty() {
            let errors = rest
                .iter()
                .filter(|diagnostic| diagnostic.severity == Severity::Error)
                .count();
            let noun = if errors == rest.len() {
                "error"
            } else if errors == 0 {
                "warning"
            } else {
                "diagnostic"
            };
            let plural = if rest.len() == 1 { "" } else { "s" };
            text.push_str(&format!(
                "... and {} more {noun}{plural} in {}\n\n",
                rest.len(),
                file.path
            ));
        }
        text
    }

    /// "1 error", "3 errors".
    pub fn count_errors(found: &[Diagnostic]) -> String {
        let errors = found
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count();
        match errors {
            1 => "1 error".to_string(),
            errors => format!("{errors} errors"),
        }
    }

    /// Byte offsets to 1-based lines and columns, counted the way the text
    /// renderer counts them: lines end at `\n`, columns are characters.
    pub struct LineIndex {
        starts: Vec<usize>,
    }

    impl LineIndex {
        pub fn new(text: &str) -> LineIndex {
            let starts = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(index, _)| index + 1))
                .collect();
            LineIndex { starts }
        }

        /// The line and column of a byte offset, clamped into the text and
        /// back to the start of the character it falls in.
        pub fn position(&self, text: &str, offset: u32) -> (usize, usize) {
            let mut offset = (offset as usize).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            let line = self.starts.partition_point(|&start| start <= offset);
            let line_start = self.starts[line - 1];
            (line, text[line_start..offset].chars().count() + 1)
        }

        /// `"line":…,"column":…,"end_line":…,"end_column":…` for a span.
        fn span_fields(&self, text: &str, span: Span) -> String {
            let (line, column) = self.position(text, span.start);
            let (end_line, end_column) = self.position(text, span.end.max(span.start));
            format!(
                "\"line\":{line},\"column\":{column},\"end_line\":{end_line},\"end_column\":{end_column}"
            )
        }
    }

    /// One diagnostic as a single-line JSON object, fields in a fixed order.
    pub fn json_line(file: &SourceFile, lines: &LineIndex, diagnostic: &Diagnostic) -> String {
        let severity = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let hint = match &diagnostic.hint {
            Some(hint) => json_string(hint),
            None => "null".to_string(),
        };
        let secondary: Vec<String> = diagnostic
            .secondary
            .iter()
            .map(|label| {
                format!(
                    "{{{},\"message\":{}}}",
                    lines.span_fields(&file.text, label.span),
                    json_string(&label.message)
                )
            })
            .collect();
        format!(
            "{{\"file\":{},{},\"severity\":\"{severity}\",\"code\":{},\"message\":{},\
             \"label\":{},\"hint\":{hint},\"secondary\":[{}]}}",
            json_string(&file.path),
            lines.span_fields(&file.text, diagnostic.span),
            json_string(diagnostic.code),
            json_string(&diagnostic.message),
            json_string(&diagnostic.label),
            secondary.join(","),
        )
    }

    fn json_string(text: &str) -> String {
        serde_json::Value::from(text).to_string()
    }
}

/// Running a pipeline stage so that no input can crash or hang the command:
/// each file is decoded and compiled on its own thread, a panic there becomes
/// an internal-error diagnostic naming the file (the panic hook stays quiet on
/// those threads), and a file still running when the time limit ends is
/// reported the same way and left behind.
mod guard {
    use std::any::Any;
    use std::backtrace::{Backtrace, BacktraceStatus};
    use std::cell::{Cell, RefCell};
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::{mpsc, Arc};
    use std::thread;
    use std::time::Duration;

    use ferropy::diagnostics::{codes, Diagnostic, SourceFile, Span};

    use crate::source_text;

    /// The stack of a pipeline thread. The stages recurse over the syntax
    /// tree, CPython accepts expressions nested many thousands deep (a sum
    /// of 20,000 terms compiles), and an unoptimised build of inference
    /// spends some 17 KiB of stack per level. The memory is only reserved;
    /// pages are touched as the recursion gets there.
    const PIPELINE_STACK_BYTES: usize = 1 << 30;

    thread_local! {
        static GUARDED: Cell<bool> = const { Cell::new(false) };
        static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// How a guarded stage ended without returning.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Failure {
        Panic,
        Timeout,
        /// No thread could be started to run it.
        NoThread,
    }

    pub enum Outcome<T> {
        /// The stage returned its value or the file's diagnostics (among
        /// them a diagnostic that the file cannot be decoded).
        Finished(Result<T, Vec<Diagnostic>>),
        /// The stage did not return; the diagnostic says why.
        Failed(Failure, Diagnostic),
    }

    pub struct Guarded<T> {
        /// The decoded file the diagnostics point into.
        pub file: SourceFile,
        pub outcome: Outcome<T>,
    }

    /// Makes panics on guarded threads silent, so they are reported once, as
    /// a diagnostic; panics anywhere else print as usual.
    pub fn install_panic_hook() {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                return default_hook(info);
            }
            let mut report = payload_message(info.payload());
            if let Some(location) = info.location() {
                report.push_str(&format!(" (at {location})"));
            }
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                report.push_str(&format!("\nbacktrace:\n{backtrace}"));
            }
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(report));
        }));
    }

    fn payload_message(payload: &(dyn Any + Send)) -> String {
        if let Some(message) = payload.downcast_ref::<&str>() {
            message.to_string()
        } else if let Some(message) = payload.downcast_ref::<String>() {
            message.clone()
        } else {
            "a panic without a message".to_string()
        }
    }

    /// Decodes `bytes` and runs `stage` on the text on a fresh thread,
    /// waiting at most `time_limit` for it.
    pub fn run<T, F>(path: String, bytes: Vec<u8>, time_limit: Duration, stage: F) -> Guarded<T>
    where
        T: Send + 'static,
        F: FnOnce(&SourceFile) -> Result<T, Vec<Diagnostic>> + Send + 'static,
    {
        let bytes = Arc::new(bytes);
        let (sender, receiver) = mpsc::channel();
        let worker_bytes = Arc::clone(&bytes);
        let worker_path = path.clone();
        let spawned = thread::Builder::new()
            .name("ferropy-pipeline".to_string())
            .stack_size(PIPELINE_STACK_BYTES)
            .spawn(move || {
                GUARDED.with(|guarded| guarded.set(true));
                let result = panic::catch_unwind(AssertUnwindSafe(|| {
                    match source_text::decode(worker_path, &worker_bytes) {
                        Ok(file) => {
                            let result = stage(&file);
                            (file, result)
                        }
                        Err(undecodable) => (undecodable.file, Err(vec![undecodable.diagnostic])),
                    }
                }));
                let result = result.map_err(|payload| {
                    LAST_PANIC
                        .with(|last| last.borrow_mut().take())
                        .unwrap_or_else(|| payload_message(payload.as_ref()))
                });
                // After a timeout nobody is waiting for the result any more.
                let _ = sender.send(result);
            });
        // Diagnostics of a stage that did not return point at the start of
        // the file; its text is shown as well as it can be without the stage.
        let undecoded = || SourceFile {
            path: path.clone(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Err(error) = spawned {
            let diagnostic = internal_error(
                format!("internal error: cannot start a thread to compile this file: {error}"),
                "the system is out of threads or memory; try again with fewer jobs (`-j 1`)"
                    .to_string(),
            );
            return Guarded {
                file: undecoded(),
                outcome: Outcome::Failed(Failure::NoThread, diagnostic),
            };
        }
        match receiver.recv_timeout(time_limit) {
            Ok(Ok((file, result))) => Guarded {
                file,
                outcome: Outcome::Finished(result),
            },
            Ok(Err(panic)) => Guarded {
                file: undecoded(),
                outcome: Outcome::Failed(Failure::Panic, panicked(&panic)),
            },
            Err(mpsc::RecvTimeoutError::Disconnected) => Guarded {
                file: undecoded(),
                outcome: Outcome::Failed(
                    Failure::Panic,
                    panicked("the compiler thread ended without a result"),
                ),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => Guarded {
                file: undecoded(),
                outcome: Outcome::Failed(Failure::Timeout, timed_out(time_limit)),
            },
        }
    }

    fn panicked(report: &str) -> Diagnostic {
        let mut hint = format!(
            "this is a bug in ferropy, not in the file; please report it with the file \
             attached. The panic: {report}"
        );
        if !report.contains("\nbacktrace:") {
            hint.push_str(" (set RUST_BACKTRACE=1 for a backtrace)");
        }
        internal_error(
            "internal error: ferropy panicked while compiling this file".to_string(),
            hint,
        )
    }

    fn timed_out(time_limit: Duration) -> Diagnostic {
        internal_error(
            format!(
                "internal error: compiling this file took longer than {} s",
                time_limit.as_secs_f64()
            ),
            "this is a bug in ferropy: the parser or a later stage loops, or is far too slow, \
             on this file; please report it with the file attached (`ferropy check \
             --time-limit SECONDS` waits longer)"
                .to_string(),
        )
    }

    fn internal_error(message: String, hint: String) -> Diagnostic {
        Diagnostic::error(codes::INTERNAL_ERROR, Span::new(0, 0), message)
            .with_label("in this file")
            .with_hint(hint)
    }
}

/// Source bytes to text the way CPython reads a file (PEP 3120, PEP 263):
/// UTF-8 unless a coding comment on line 1, or on line 2 below a blank or
/// comment line, names another encoding; a UTF-8 byte order mark is dropped
/// and allows only a `utf-8` comment. Bytes that do not decode, an unknown
/// encoding, or a byte order mark with another encoding give an
/// invalid-syntax diagnostic, as they give CPython a SyntaxError.
///
/// Spans are byte offsets into the decoded text, which is what the renderer
/// shows; an undecodable file is shown with U+FFFD for the bad bytes, and
/// the span points there.
mod source_text {
    use std::borrow::Cow;

    use encoding_rs::{DecoderResult, Encoding};
    use ferropy::diagnostics::{codes, Diagnostic, SourceFile, Span};

    const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

    /// A file that cannot be decoded: its text as well as it can be shown,
    /// and the diagnostic saying why.
    #[derive(Debug)]
    pub struct Undecodable {
        pub file: SourceFile,
        pub diagnostic: Diagnostic,
    }

    /// The encodings a source file can declare. Latin-1 and ASCII are
    /// decoded here because the Encoding Standard behind `encoding_rs` maps
    /// their labels to windows-1252. For the single-byte ISO 8859 encodings
    /// it likewise substitutes windows code pages, which differ from Python
    /// only in bytes 0x80–0x9F (C1 controls in Python).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum SourceEncoding {
        Utf8,
        Latin1,
        Ascii,
        Other(&'static Encoding),
    }

    impl SourceEncoding {
        fn name(self) -> &'static str {
            match self {
                SourceEncoding::Utf8 => "UTF-8",
                SourceEncoding::Latin1 => "Latin-1",
                SourceEncoding::Ascii => "ASCII",
                SourceEncoding::Other(encoding) => encoding.name(),
            }
        }
    }

    /// A coding comment: the encoding name as written and where it is.
    struct Cookie<'a> {
        name: &'a str,
        /// Byte offset of the name in the file after any byte order mark.
        start: usize,
    }

    pub fn decode(path: String, bytes: &[u8]) -> Result<SourceFile, Box<Undecodable>> {
        let (has_bom, body) = match bytes.strip_prefix(UTF8_BOM) {
            Some(body) => (true, body),
            None => (false, bytes),
        };
        let cookie = find_cookie(body);
        let encoding = match &cookie {
            None => SourceEncoding::Utf8,
            Some(cookie) => match lookup(cookie.name) {
                Ok(encoding) => encoding,
                Err(problem) => {
                    return Err(Box::new(cookie_error(path, body, cookie, problem)));
                }
            },
        };
        if let (true, Some(cookie)) = (has_bom, &cookie) {
            if !is_python_utf8_name(cookie.name) {
                let diagnostic = Diagnostic::error(
                    codes::INVALID_SYNTAX,
                    lossy_span(body, cookie),
                    format!(
                        "this file starts with a UTF-8 byte order mark but declares the \
                         encoding `{}`",
                        cookie.name
                    ),
                )
                .with_label("declared here")
                .with_hint(
                    "Python accepts a byte order mark only with `coding: utf-8`; write \
                     `utf-8` here, or remove the byte order mark",
                );
                return Err(Box::new(Undecodable {
                    file: SourceFile {
                        path,
                        text: String::from_utf8_lossy(body).into_owned(),
                    },
                    diagnostic,
                }));
            }
        }
        match decode_strictly(encoding, body) {
            Ok(text) => Ok(SourceFile { path, text }),
            Err(bad) => Err(Box::new(undecodable(
                path,
                body,
                encoding,
                cookie.as_ref(),
                bad,
            ))),
        }
    }

    /// The coding comment on line 1, or on line 2 when line 1 is blank or a
    /// comment: `^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`, as in CPython's
    /// tokenizer.
    fn find_cookie(body: &[u8]) -> Option<Cookie<'_>> {
        let mut line_start = 0;
        for _ in 0..2 {
            let rest = body.get(line_start..)?;
            let line_end = rest
                .iter()
                .position(|&byte| byte == b'\n')
                .map_or(rest.len(), |newline| newline + 1);
            let line = &rest[..line_end];
            if let Some((start, end)) = cookie_in_line(line) {
                // The name is ASCII by construction.
                let name = std::str::from_utf8(&line[start..end]).ok()?;
                return Some(Cookie {
                    name,
                    start: line_start + start,
                });
            }
            let first = line
                .iter()
                .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\x0c'));
            if !matches!(first, None | Some(b'#' | b'\r' | b'\n')) {
                return None;
            }
            line_start += line_end;
        }
        None
    }

    /// The byte range of the encoding name in a coding comment line.
    fn cookie_in_line(line: &[u8]) -> Option<(usize, usize)> {
        let hash = line
            .iter()
            .position(|&byte| !matches!(byte, b' ' | b'\t' | b'\x0c'))?;
        if line[hash] != b'#' {
            return None;
        }
        let is_name_byte =
            |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        let mut search = hash + 1;
        while let Some(found) = line[search..]
            .windows(b"coding".len())
            .position(|window| window == b"coding")
        {
            let after = search + found + b"coding".len();
            search += found + 1;
            if !matches!(line.get(after), Some(b':' | b'=')) {
                continue;
            }
            let mut start = after + 1;
            while matches!(line.get(start), Some(b' ' | b'\t')) {
                start += 1;
            }
            let mut end = start;
            while line.get(end).is_some_and(is_name_byte) {
                end += 1;
            }
            if end > start {
                return Some((start, end));
            }
        }
        None
    }

    /// Whether CPython's tokenizer takes `name` for UTF-8 when the file has a
    /// byte order mark: `utf-8` or `utf-8-…`, any case, `_` for `-`.
    fn is_python_utf8_name(name: &str) -> bool {
        let normal = name.to_ascii_lowercase().replace('_', "-");
        normal == "utf-8" || normal.starts_with("utf-8-")
    }

    /// Why a declared encoding cannot be used.
    #[derive(Debug)]
    enum LookupProblem {
        Unknown,
        NotAsciiCompatible(&'static str),
    }

    /// Python's codec name lookup, for the names a source file can use.
    fn lookup(name: &str) -> Result<SourceEncoding, LookupProblem> {
        let key = codec_key(name);
        let python_alias = match key.as_str() {
            "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => {
                Some(SourceEncoding::Utf8)
            }
            "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "iso8859"
            | "8859" | "cp819" | "ibm819" | "iso_ir_100" | "csisolatin1" | "iso_8859_1_1987"
            | "iso_latin_1" => Some(SourceEncoding::Latin1),
            "ascii" | "us_ascii" | "646" | "us" | "cp367" | "ibm367" | "csascii" | "iso646_us"
            | "iso_ir_6" | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986"
            | "iso_646.irv_1991" => Some(SourceEncoding::Ascii),
            // CPython's tokenizer also takes `utf-8-…` and `latin-1-…` for
            // UTF-8 and Latin-1 (Emacs writes `utf-8-unix`).
            _ if key.starts_with("utf_8_") => Some(SourceEncoding::Utf8),
            _ if key.starts_with("latin_1_")
                || key.starts_with("iso_8859_1_")
                || key.starts_with("iso_latin_1_") =>
            {
                Some(SourceEncoding::Latin1)
            }
            _ => None,
        };
        if let Some(encoding) = python_alias {
            return Ok(encoding);
        }
        let encoding = [key.clone(), key.replace('_', "-")]
            .iter()
            .find_map(|label| Encoding::for_label_no_replacement(label.as_bytes()))
            .ok_or(LookupProblem::Unknown)?;
        if encoding == encoding_rs::UTF_8 {
            Ok(SourceEncoding::Utf8)
        } else if encoding == encoding_rs::X_USER_DEFINED {
            Err(LookupProblem::Unknown)
        } else if !encoding.is_ascii_compatible() {
            Err(LookupProblem::NotAsciiCompatible(encoding.name()))
        } else {
            Ok(SourceEncoding::Other(encoding))
        }
    }

    /// Python's normalised codec name: lower case, and each run of
    /// characters other than letters, digits and `.` becomes one `_`.
    fn codec_key(name: &str) -> String {
        let mut key = String::new();
        let mut pending_separator = false;
        for c in name.chars() {
            if c.is_ascii_alphanumeric() || c == '.' {
                if pending_separator && !key.is_empty() {
                    key.push('_');
                }
                key.push(c.to_ascii_lowercase());
                pending_separator = false;
            } else {
                pending_separator = true;
            }
        }
        key
    }

    /// Where decoding failed: the text before the bad bytes, their offset
    /// and length.
    struct BadBytes {
        valid_prefix: String,
        offset: usize,
        len: usize,
    }

    fn decode_strictly(encoding: SourceEncoding, body: &[u8]) -> Result<String, BadBytes> {
        match encoding {
            SourceEncoding::Utf8 => match std::str::from_utf8(body) {
                Ok(text) => Ok(text.to_string()),
                Err(error) => {
                    let offset = error.valid_up_to();
                    Err(BadBytes {
                        valid_prefix: String::from_utf8_lossy(&body[..offset]).into_owned(),
                        offset,
                        len: error.error_len().unwrap_or(body.len() - offset),
                    })
                }
            },
            SourceEncoding::Latin1 => Ok(body.iter().map(|&byte| char::from(byte)).collect()),
            SourceEncoding::Ascii => match body.iter().position(|byte| !byte.is_ascii()) {
                None => Ok(String::from_utf8_lossy(body).into_owned()),
                Some(offset) => Err(BadBytes {
                    valid_prefix: String::from_utf8_lossy(&body[..offset]).into_owned(),
                    offset,
                    len: 1,
                }),
            },
            SourceEncoding::Other(encoding) => {
                let mut decoder = encoding.new_decoder_without_bom_handling();
                let mut text = String::new();
                let mut read_total = 0;
                loop {
                    let remaining = body.len() - read_total;
                    let needed = decoder
                        .max_utf8_buffer_length_without_replacement(remaining)
                        .unwrap_or(remaining);
                    text.reserve(needed);
                    let (result, read) = decoder.decode_to_string_without_replacement(
                        &body[read_total..],
                        &mut text,
                        true,
                    );
                    read_total += read;
                    match result {
                        DecoderResult::InputEmpty => return Ok(text),
                        DecoderResult::OutputFull => continue,
                        DecoderResult::Malformed(bad, consumed_after) => {
                            let len = usize::from(bad);
                            let offset = read_total
                                .saturating_sub(usize::from(consumed_after))
                                .saturating_sub(len);
                            return Err(BadBytes {
                                valid_prefix: text,
                                offset,
                                len,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Bytes decoded with U+FFFD for what does not decode.
    fn decode_lossily(encoding: SourceEncoding, bytes: &[u8]) -> Cow<'_, str> {
        match encoding {
            SourceEncoding::Utf8 | SourceEncoding::Ascii => String::from_utf8_lossy(bytes),
            SourceEncoding::Latin1 => {
                Cow::Owned(bytes.iter().map(|&byte| char::from(byte)).collect())
            }
            SourceEncoding::Other(encoding) => encoding.decode_without_bom_handling(bytes).0,
        }
    }

    fn undecodable(
        path: String,
        body: &[u8],
        encoding: SourceEncoding,
        cookie: Option<&Cookie<'_>>,
        bad: BadBytes,
    ) -> Undecodable {
        // The text shown is the good prefix, then the rest decoded lossily
        // from the bad bytes on, so the caret lands on their U+FFFD.
        let rest = decode_lossily(encoding, &body[bad.offset..]);
        let start = bad.valid_prefix.len();
        let first_char = rest.chars().next().map_or(0, char::len_utf8);
        let text = format!("{}{rest}", bad.valid_prefix);
        let bytes = body[bad.offset..(bad.offset + bad.len).min(body.len())]
            .iter()
            .map(|byte| format!("0x{byte:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        let noun = if bad.len == 1 { "byte" } else { "bytes" };
        let mut diagnostic = Diagnostic::error(
            codes::INVALID_SYNTAX,
            Span::new(start as u32, (start + first_char) as u32),
            format!("cannot decode {noun} {bytes} as {}", encoding.name()),
        )
        .with_label(format!("not valid {}", encoding.name()));
        match cookie {
            None => {
                diagnostic = diagnostic.with_hint(
                    "Python reads source files as UTF-8 unless a comment on line 1 or 2 \
                     declares another encoding (PEP 263); save the file as UTF-8, or declare \
                     its encoding with a comment such as `# -*- coding: latin-1 -*-`",
                );
            }
            Some(cookie) => {
                // The comment is on line 1 or 2; the bad bytes may come
                // before it, in which case it sits in the lossy rest.
                let cookie_offset = if cookie.start <= bad.offset {
                    decode_lossily(encoding, &body[..cookie.start]).len()
                } else {
                    start + decode_lossily(encoding, &body[bad.offset..cookie.start]).len()
                };
                let span = Span::new(
                    cookie_offset as u32,
                    (cookie_offset + cookie.name.len()) as u32,
                );
                diagnostic = diagnostic
                    .with_secondary(span, "the encoding is declared here")
                    .with_hint(
                        "save the file in the declared encoding, or correct the coding comment",
                    );
            }
        }
        Undecodable {
            file: SourceFile { path, text },
            diagnostic,
        }
    }

    fn cookie_error(
        path: String,
        body: &[u8],
        cookie: &Cookie<'_>,
        problem: LookupProblem,
    ) -> Undecodable {
        let (message, label, hint) = match problem {
            LookupProblem::Unknown => (
                format!("unknown encoding `{}`", cookie.name),
                "not an encoding Python knows",
                "declare a codec Python knows, such as `utf-8` or `latin-1`, or remove the \
                 coding comment to use UTF-8"
                    .to_string(),
            ),
            LookupProblem::NotAsciiCompatible(name) => (
                format!(
                    "the encoding `{}` cannot be declared in the file",
                    cookie.name
                ),
                "not compatible with ASCII",
                format!(
                    "a coding comment must itself be readable as ASCII, which {name} is not; \
                     save the file as UTF-8"
                ),
            ),
        };
        let diagnostic =
            Diagnostic::error(codes::INVALID_SYNTAX, lossy_span(body, cookie), message)
                .with_label(label)
                .with_hint(hint);
        Undecodable {
            file: SourceFile {
                path,
                text: String::from_utf8_lossy(body).into_owned(),
            },
            diagnostic,
        }
    }

    /// The span of the encoding name in the file decoded lossily as UTF-8.
    fn lossy_span(body: &[u8], cookie: &Cookie<'_>) -> Span {
        let start = String::from_utf8_lossy(&body[..cookie.start]).len();
        Span::new(start as u32, (start + cookie.name.len()) as u32)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The text of a file, or the message and the spanned text of its
        /// diagnostic.
        type Expected = Result<String, (String, String)>;

        fn outcome(bytes: &[u8]) -> Expected {
            match decode("f.py".to_string(), bytes) {
                Ok(file) => Ok(file.text),
                Err(undecodable) => {
                    let span = undecodable.diagnostic.span;
                    let spanned =
                        undecodable.file.text[span.start as usize..span.end as usize].to_string();
                    Err((undecodable.diagnostic.message, spanned))
                }
            }
        }

        fn error(message: &str, spanned: &str) -> Expected {
            Err((message.to_string(), spanned.to_string()))
        }

        #[test]
        fn decodes_like_cpython() {
            let cases: &[(&[u8], Expected)] = &[
                (b"x = 1\n", Ok("x = 1\n".into())),
                (b"\xEF\xBB\xBFx = 1\n", Ok("x = 1\n".into())),
                (
                    b"\xEF\xBB\xBF# coding: utf-8-unix\nx = 1\n",
                    Ok("# coding: utf-8-unix\nx = 1\n".into()),
                ),
                (
                    b"# -*- coding: latin-1 -*-\ns = '\xE9'\n",
                    Ok("# -*- coding: latin-1 -*-\ns = '\u{e9}'\n".into()),
                ),
                (
                    b"#!/usr/bin/env python\n# vim: set fileencoding=latin_1 :\ns = '\xE9'\n",
                    Ok(
                        "#!/usr/bin/env python\n# vim: set fileencoding=latin_1 :\ns = '\u{e9}'\n"
                            .into(),
                    ),
                ),
                (
                    b"# coding:   \n# coding: iso8859_15\ns = '\xA4'\n",
                    Ok("# coding:   \n# coding: iso8859_15\ns = '\u{20ac}'\n".into()),
                ),
                (
                    b"# coding: koi8-r\ns = '\xF0'\n",
                    Ok("# coding: koi8-r\ns = '\u{41f}'\n".into()),
                ),
                (
                    b"# coding: cp1252\ns = '\x80'\n",
                    Ok("# coding: cp1252\ns = '\u{20ac}'\n".into()),
                ),
                (
                    b"  # coding=latin1\ns = '\xE9'\n",
                    Ok("  # coding=latin1\ns = '\u{e9}'\n".into()),
                ),
                (
                    b"x = '\xE9'\n",
                    error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
                ),
                (
                    b"x = 1\n# coding: latin-1\ns = '\xE9'\n",
                    error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
                ),
                (
                    b"x = '\xE9' # coding: latin-1\n",
                    error("cannot decode byte 0xe9 as UTF-8", "\u{fffd}"),
                ),
                (
                    b"# coding: ascii\ns = '\xC3\xA9'\n",
                    error("cannot decode byte 0xc3 as ASCII", "\u{e9}"),
                ),
                (
                    b"# coding: euc-jp\ns = '\xA4'\n",
                    error("cannot decode byte 0xa4 as EUC-JP", "\u{fffd}"),
                ),
                (
                    b"# coding: uft-8\nx = 1\n",
                    error("unknown encoding `uft-8`", "uft-8"),
                ),
                (
                    b"# \xE9 coding: nope\nx = 1\n",
                    error("unknown encoding `nope`", "nope"),
                ),
                (
                    b"# coding: utf-16\nx = 1\n",
                    error(
                        "the encoding `utf-16` cannot be declared in the file",
                        "utf-16",
                    ),
                ),
                (
                    b"\xEF\xBB\xBF# coding: utf8\nx = 1\n",
                    error(
                        "this file starts with a UTF-8 byte order mark but declares the \
                         encoding `utf8`",
                        "utf8",
                    ),
                ),
            ];
            for (bytes, expected) in cases {
                assert_eq!(
                    &outcome(bytes),
                    expected,
                    "{}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }

        #[test]
        fn the_declared_encoding_is_pointed_at() {
            let bytes = b"# coding: ascii\n# \xE9\n";
            let undecodable = decode("f.py".to_string(), bytes).unwrap_err();
            let [declared] = undecodable.diagnostic.secondary.as_slice() else {
                panic!("expected one secondary label");
            };
            let text = &undecodable.file.text;
            assert_eq!(
                &text[declared.span.start as usize..declared.span.end as usize],
                "ascii"
            );
        }

        #[test]
        fn codec_keys_follow_python() {
            assert_eq!(codec_key("Latin-1"), "latin_1");
            assert_eq!(codec_key("ISO_8859--15"), "iso_8859_15");
            assert_eq!(codec_key("-utf.8-"), "utf.8");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ferropy::diagnostics::{codes, Color, Span};

    #[test]
    fn suggested_module_names_are_identifiers() {
        assert_eq!(suggested_module_name("my-kernels"), "my_kernels");
        assert_eq!(suggested_module_name("2d"), "_2d");
        assert_eq!(suggested_module_name("a.b"), "a_b");
    }

    fn emit_target_of(arguments: &[&str]) -> Result<EmitTarget, String> {
        let cli = Cli::try_parse_from(arguments).map_err(|error| error.to_string())?;
        let Command::Emit {
            crate_dir, check, ..
        } = cli.command
        else {
            panic!("expected emit");
        };
        emit_target(crate_dir, check)
    }

    #[test]
    fn emit_check_takes_a_path_or_a_crate() {
        assert_eq!(
            emit_target_of(&["ferropy", "emit", "k.py"]),
            Ok(EmitTarget::Stdout)
        );
        assert_eq!(
            emit_target_of(&["ferropy", "emit", "k.py", "--check", "gen/k.rs"]),
            Ok(EmitTarget::CheckFile(PathBuf::from("gen/k.rs")))
        );
        assert_eq!(
            emit_target_of(&["ferropy", "emit", "k.py", "--crate", "gen", "--check"]),
            Ok(EmitTarget::CheckCrate(PathBuf::from("gen")))
        );
        assert_eq!(
            emit_target_of(&["ferropy", "emit", "--check", "--crate", "gen", "k.py"]),
            Ok(EmitTarget::CheckCrate(PathBuf::from("gen")))
        );
        assert_eq!(
            emit_target_of(&["ferropy", "emit", "k.py", "--crate", "gen"]),
            Ok(EmitTarget::Crate(PathBuf::from("gen")))
        );
        let missing = emit_target_of(&["ferropy", "emit", "k.py", "--check"]).unwrap_err();
        assert!(missing.contains("--check needs the path"), "{missing}");
        let both = emit_target_of(&["ferropy", "emit", "k.py", "--crate", "gen", "--check", "x"])
            .unwrap_err();
        assert!(both.contains("takes no path after --crate"), "{both}");
    }

    #[test]
    fn snapshot_diffs_are_unified() {
        assert_eq!(snapshot::diff("k.rs", Some("a\nb\n"), "a\nb\n"), None);
        let diff = snapshot::diff("k.rs", Some("a\nb\nc\n"), "a\nB\nc\n").unwrap();
        assert_eq!(
            diff,
            "--- a/k.rs\n+++ b/k.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
        let created = snapshot::diff("k.rs", None, "x\n").unwrap();
        assert!(
            created.starts_with("--- /dev/null\n+++ b/k.rs\n"),
            "{created}"
        );
        assert!(created.ends_with("+x\n"), "{created}");
    }

    #[test]
    fn canonical_directories_may_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let canonical = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            canonical_directory(&dir.path().join("a/b")).unwrap(),
            canonical.join("a/b")
        );
        assert_eq!(canonical_directory(dir.path()).unwrap(), canonical);
    }

    #[test]
    fn worst_status_wins() {
        assert_eq!(
            Status::Diagnostics.max(Status::UsageOrEnvironment),
            Status::UsageOrEnvironment
        );
        assert_eq!(Status::Internal.max(Status::Diagnostics), Status::Internal);
        assert_eq!(
            Status::Success.max(Status::Diagnostics),
            Status::Diagnostics
        );
    }

    #[test]
    fn command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["ferropy", "build", "a.py", "b.py", "-o", "out", "-q"]).unwrap();
        let Command::Build(arguments) = cli.command else {
            panic!("expected build");
        };
        assert_eq!(
            arguments.files,
            [PathBuf::from("a.py"), PathBuf::from("b.py")]
        );
        assert_eq!(arguments.out_dir, Some(PathBuf::from("out")));
        assert!(arguments.quiet);
        assert!(!arguments.portable);
        let cli = Cli::try_parse_from(["ferropy", "build", "--portable", "a.py"]).unwrap();
        let Command::Build(arguments) = cli.command else {
            panic!("expected build");
        };
        assert!(arguments.portable);
        assert!(Cli::try_parse_from(["ferropy", "build"]).is_err());

        let cli = Cli::try_parse_from([
            "ferropy",
            "check",
            "--summary",
            "--time-limit",
            "0.5",
            "lib",
        ])
        .unwrap();
        let Command::Check(arguments) = cli.command else {
            panic!("expected check");
        };
        assert!(arguments.summary);
        assert_eq!(arguments.time_limit, 0.5);
        assert!(
            Cli::try_parse_from(["ferropy", "check", "--summary", "--format", "json", "a.py"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["ferropy", "check", "--time-limit", "0", "a.py"]).is_err());
    }

    #[test]
    fn a_panic_becomes_an_internal_error_naming_the_file() {
        guard::install_panic_hook();
        let guarded = guard::run(
            "boom.py".to_string(),
            b"x = 1\n".to_vec(),
            Duration::from_secs(60),
            |_file| -> Result<(), Vec<Diagnostic>> { panic!("stage exploded") },
        );
        assert_eq!(guarded.file.path, "boom.py");
        let Outcome::Failed(Failure::Panic, diagnostic) = guarded.outcome else {
            panic!("expected a panic outcome");
        };
        assert_eq!(diagnostic.code, codes::INTERNAL_ERROR);
        let hint = diagnostic.hint.unwrap();
        assert!(hint.contains("stage exploded"), "{hint}");
        assert!(hint.contains("src/main.rs"), "{hint}");
    }

    #[test]
    fn a_stage_overrunning_the_time_limit_is_reported() {
        let guarded = guard::run(
            "slow.py".to_string(),
            b"x = 1\n".to_vec(),
            Duration::from_millis(50),
            |_file| -> Result<(), Vec<Diagnostic>> {
                std::thread::sleep(Duration::from_secs(5));
                Ok(())
            },
        );
        let Outcome::Failed(Failure::Timeout, diagnostic) = guarded.outcome else {
            panic!("expected a timeout");
        };
        assert!(
            diagnostic.message.contains("longer than 0.05 s"),
            "{}",
            diagnostic.message
        );
    }

    #[test]
    fn an_undecodable_file_is_a_diagnostic_not_a_failure() {
        let guarded = guard::run(
            "latin.py".to_string(),
            b"s = '\xE9'\n".to_vec(),
            Duration::from_secs(60),
            |_file| -> Result<(), Vec<Diagnostic>> { Ok(()) },
        );
        let Outcome::Finished(Err(found)) = guarded.outcome else {
            panic!("expected diagnostics");
        };
        assert_eq!(found[0].code, codes::INVALID_SYNTAX);
        assert_eq!(guarded.file.text, "s = '\u{fffd}'\n");
    }

    #[test]
    fn json_lines_have_positions_in_characters() {
        let file = SourceFile {
            path: "dir/k\"x.py".to_string(),
            text: "s = 'é'\nt = é + 1\n".to_string(),
        };
        let start = file.text.find("é +").unwrap() as u32;
        let diagnostic = Diagnostic::error(
            codes::UNDEFINED_NAME,
            Span::new(start, start + 2),
            "undefined name `é`",
        )
        .with_label("not defined")
        .with_secondary(Span::new(5, 7), "a string");
        let line = report::json_line(&file, &report::LineIndex::new(&file.text), &diagnostic);
        assert_eq!(
            line,
            r#"{"file":"dir/k\"x.py","line":2,"column":5,"end_line":2,"end_column":6,"severity":"error","code":"FP0401","message":"undefined name `é`","label":"not defined","hint":null,"secondary":[{"line":1,"column":6,"end_line":1,"end_column":7,"message":"a string"}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["column"], 5);
    }

    #[test]
    fn parallel_flags_become_options() {
        let options = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Command::Build(arguments) => arguments.parallel.options(),
                Command::Check(arguments) => arguments.parallel.options(),
                Command::Explain { parallel, .. } | Command::Emit { parallel, .. } => {
                    parallel.options()
                }
            }
        };
        let default = options(&["ferropy", "build", "a.py"]);
        assert!(default.parallel && default.automatic_parallel);
        let off = options(&["ferropy", "check", "--parallel", "off", "a.py"]);
        assert!(!off.parallel && !off.automatic_parallel);
        let manual = options(&["ferropy", "explain", "--no-auto-parallel", "a.py"]);
        assert!(manual.parallel && !manual.automatic_parallel);
        let emit = options(&["ferropy", "emit", "--parallel=on", "a.py"]);
        assert!(emit.parallel && emit.automatic_parallel);
        assert!(Cli::try_parse_from(["ferropy", "build", "--parallel", "maybe", "a.py"]).is_err());
    }

    #[test]
    fn a_flood_of_diagnostics_is_capped_with_an_exact_count() {
        let file = SourceFile {
            path: "k.py".to_string(),
            text: "x = 1\n".to_string(),
        };
        let found: Vec<Diagnostic> = (0..57)
            .map(|index| {
                Diagnostic::error(
                    codes::UNDEFINED_NAME,
                    Span::new(0, 1),
                    format!("error {index}"),
                )
            })
            .collect();
        let text = report::render_capped(&file, &found, Color::Never, 50);
        assert!(text.contains("error 49"));
        assert!(!text.contains("error 50"));
        assert!(
            text.ends_with("... and 7 more errors in k.py\n\n"),
            "{text}"
        );
        let text = report::render_capped(&file, &found[..51], Color::Never, 50);
        assert!(text.ends_with("... and 1 more error in k.py\n\n"), "{text}");
        let text = report::render_capped(&file, &found[..50], Color::Never, 50);
        assert!(!text.contains("more error"));
    }
}
