//! `ferropy check`: diagnostics only, for files and directories, and the
//! `--summary` table over a whole corpus.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;

use ferropy::diagnostics::{Diagnostic, SourceFile};

use super::guard::{Failure, Outcome};
use super::report::{Format, Printer};
use super::{
    display_path, guard, print_error, read_bytes, unique, ParallelArgs, Status,
    DEFAULT_TIME_LIMIT_SECONDS,
};

/// How many of the slowest files `check --summary` lists.
pub(super) const SLOWEST_FILES_LISTED: usize = 5;

#[derive(Args)]
pub(super) struct CheckArgs {
    /// Python files, and directories to search for `*.py` files.
    #[arg(required = true, value_name = "PATH")]
    pub(super) paths: Vec<PathBuf>,
    /// Instead of each file's diagnostics, print a table of per-file outcomes
    /// (files, exit 0, exit 1, other, panics, timeouts) and the slowest
    /// files. Internal errors and unreadable files are still shown in full.
    #[arg(long, conflicts_with = "format")]
    pub(super) summary: bool,
    /// Report a file whose check takes longer than this as an internal error.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_TIME_LIMIT_SECONDS,
        value_parser = parse_seconds
    )]
    pub(super) time_limit: f64,
    /// How many files to check at once [default: the number of CPUs].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) jobs: Option<u16>,
    #[command(flatten)]
    pub(super) parallel: ParallelArgs,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(super) format: Format,
}

pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 1e6 => Ok(seconds),
        _ => Err("expected a number of seconds, such as 2 or 0.5".to_string()),
    }
}

/// What checking one file came to.
pub(super) struct CheckedFile {
    status: Status,
    /// The decoded file and its diagnostics, or why it could not be read.
    report: Result<(SourceFile, Vec<Diagnostic>), String>,
    failure: Option<Failure>,
    elapsed: Duration,
}

pub(super) fn check_command(arguments: &CheckArgs) -> Status {
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

pub(super) fn check_file(
    path: &Path,
    time_limit: Duration,
    options: ferropy::Options,
) -> CheckedFile {
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
        ferropy::check_report(file, options).map(|checked| checked.warnings)
    });
    let status = Status::of_outcome(&guarded.outcome);
    let (found, failure) = match guarded.outcome {
        Outcome::Finished(Ok(warnings)) => (warnings, None),
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
pub(super) struct Summary {
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
pub(super) fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

/// Runs `work` on every item with up to `jobs` threads and hands the results
/// to `consume` in the order of `items`, each as soon as those before it are
/// done, so output is the same as a sequential run.
pub(super) fn for_each_in_order<I, R>(
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
pub(super) fn python_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Status) {
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

pub(super) fn walk_directory(dir: &Path, files: &mut Vec<PathBuf>, status: &mut Status) {
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
