//! `ferropy explain`: the report of inferred types and per-loop decisions.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::guard::Outcome;
use super::report::{Format, Printer};
use super::{display_path, guard, print_error, Status, DEFAULT_TIME_LIMIT_SECONDS};

pub(super) fn explain_command(path: &Path, options: ferropy::Options) -> Status {
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
