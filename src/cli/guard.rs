//! Running a pipeline stage so that no input can crash or hang the command:
//! each file is decoded and compiled on its own thread, a panic there becomes
//! an internal-error diagnostic naming the file (the panic hook stays quiet on
//! those threads), and a file still running when the time limit ends is
//! reported the same way and left behind.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ferropy::diagnostics::{codes, Diagnostic, SourceFile, Span};

use ferropy::source;

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
                match source::decode(worker_path, &worker_bytes) {
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
