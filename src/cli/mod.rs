//! The `ferropy` command line, a file per command: `build`, `check` (files
//! or directories, `--summary`), `emit` (and `emit --check`), `explain`.
//!
//! Each command reads its files as bytes and hands them to a guarded worker
//! thread (`guard`) that decodes them the way CPython does
//! (`ferropy::source`) and runs the pure pipeline (`ferropy::compile` or
//! `ferropy::check`). The diagnostics are printed as text or as JSON lines
//! (`report`) and, for `build`, the generated crates go to `ferropy::build`.
//! This module holds the argument parser, the exit status and the helpers
//! the commands share.
//!
//! Exit codes: 0 ok, 1 some file has diagnostics (or, for `emit --check`,
//! the committed code is stale), 2 usage or environment error, 101 internal
//! error (a panic, or a file overrunning the time limit; both are reported
//! as an FP0001 diagnostic naming the file).

mod build;
mod check;
mod emit;
mod explain;
mod guard;
mod report;

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use ferropy::build::BuildError;
use ferropy::diagnostics::{Diagnostic, SourceFile};
use ferropy::GeneratedCrate;

use self::build::BuildArgs;
use self::check::CheckArgs;
use self::guard::Outcome;

/// How long one file may take from decoding through type checking (and
/// codegen for `build` and `emit`) before it is reported as an internal
/// error. Real files take milliseconds; this only catches a stage that loops.
const DEFAULT_TIME_LIMIT_SECONDS: f64 = 60.0;

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

/// Decodes and compiles one file on a guarded thread. The error holds what
/// to print, the file's diagnostics (an internal error among them), and the
/// status they mean.
fn compile_file(
    path: &Path,
    bytes: Vec<u8>,
    module_name: String,
    time_limit: Duration,
    options: ferropy::Options,
) -> Result<(SourceFile, GeneratedCrate), (SourceFile, Vec<Diagnostic>, Status)> {
    let guarded = guard::run(display_path(path), bytes, time_limit, move |file| {
        ferropy::compile_with(file, &module_name, options)
    });
    let status = Status::of_outcome(&guarded.outcome);
    match guarded.outcome {
        Outcome::Finished(Ok(krate)) => Ok((guarded.file, krate)),
        Outcome::Finished(Err(found)) => Err((guarded.file, found, status)),
        Outcome::Failed(_, diagnostic) => Err((guarded.file, vec![diagnostic], status)),
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

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    guard::install_panic_hook();
    let status = match cli.command {
        Command::Build(arguments) => build::build_command(&arguments),
        Command::Check(arguments) => check::check_command(&arguments),
        Command::Emit {
            file,
            crate_dir,
            check,
            parallel,
        } => match emit::emit_target(crate_dir, check) {
            Ok(target) => emit::emit_command(&file, &target, parallel.options()),
            Err(message) => {
                print_error(&message);
                Status::UsageOrEnvironment
            }
        },
        Command::Explain { file, parallel } => explain::explain_command(&file, parallel.options()),
    };
    status.exit_code()
}

#[cfg(test)]
mod tests {
    use super::guard::Failure;
    use super::*;

    use ferropy::diagnostics::{codes, Color, Span};

    #[test]
    fn suggested_module_names_are_identifiers() {
        assert_eq!(suggested_module_name("my-kernels"), "my_kernels");
        assert_eq!(suggested_module_name("2d"), "_2d");
        assert_eq!(suggested_module_name("a.b"), "a_b");
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
        assert!(hint.contains("src/cli/mod.rs"), "{hint}");
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
