//! The `ferropy` command line: `build`, `check` and `emit`.
//!
//! Each command reads its files, runs the pure pipeline (`ferropy::compile` or
//! `ferropy::check`), prints rendered diagnostics to stderr and, for `build`,
//! hands the generated crates to `ferropy::build`. Exit codes: 0 ok, 1 some
//! file has diagnostics, 2 usage or environment error, 101 internal error.

use std::collections::{HashMap, HashSet};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use ferropy::build::{self, BuildError, BuildOptions, Interpreter};
use ferropy::diagnostics::{self, Color, Diagnostic, Severity, SourceFile};

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
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the generated Rust, or write the whole crate with --crate.
    Emit {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Write the crate (Cargo.toml, Cargo.lock, src/) and the .pyi into DIR.
        #[arg(long = "crate", value_name = "DIR")]
        crate_dir: Option<PathBuf>,
    },
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
        match self {
            Status::Success => ExitCode::SUCCESS,
            Status::Diagnostics => ExitCode::from(1),
            Status::UsageOrEnvironment => ExitCode::from(2),
            // The code Rust programs (rustc among them) exit with on a bug.
            Status::Internal => ExitCode::from(101),
        }
    }

    fn of_build_error(error: &BuildError) -> Status {
        if error.is_internal() {
            Status::Internal
        } else {
            Status::UsageOrEnvironment
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Command::Build(arguments) => build_command(&arguments),
        Command::Check { files } => check_command(&files),
        Command::Emit { file, crate_dir } => emit_command(&file, crate_dir.as_deref()),
    };
    status.exit_code()
}

fn build_command(arguments: &BuildArgs) -> Status {
    let color = diagnostic_color();
    let cache_dir = build::cache_dir();
    let mut status = Status::Success;
    // The interpreter is looked up once, and only when the first file is
    // ready to build, so a run where every file has errors needs no Python.
    let mut interpreter: Option<Result<Interpreter, ()>> = None;
    let mut builds_possible = true;
    let mut destinations: HashMap<(PathBuf, String), PathBuf> = HashMap::new();

    for path in unique(&arguments.files) {
        let (file, module_name) = match load_module(path) {
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

        let krate = match ferropy::compile(&file, &module_name) {
            Ok(krate) => krate,
            Err(found) => {
                print_diagnostics(&file, &found, color);
                print_error(&format!(
                    "{} not built: {}",
                    path.display(),
                    count_errors(&found)
                ));
                status = status.max(Status::Diagnostics);
                continue;
            }
        };
        if !builds_possible {
            continue;
        }
        let target = interpreter.get_or_insert_with(|| {
            build::find_interpreter(arguments.python.as_deref()).map_err(|error| {
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
        };
        if let Err(error) = build::build_module(&krate, path, &options) {
            print_error(&error.to_string());
            status = status.max(Status::of_build_error(&error));
            builds_possible = !error.affects_every_module();
        }
    }
    status
}

fn check_command(files: &[PathBuf]) -> Status {
    let color = diagnostic_color();
    let mut status = Status::Success;
    for path in unique(files) {
        let file = match read_source(path) {
            Ok(file) => file,
            Err(message) => {
                print_error(&message);
                status = status.max(Status::UsageOrEnvironment);
                continue;
            }
        };
        if let Err(found) = ferropy::check(&file) {
            print_diagnostics(&file, &found, color);
            status = status.max(Status::Diagnostics);
        }
    }
    status
}

fn emit_command(path: &Path, crate_dir: Option<&Path>) -> Status {
    let (file, module_name) = match load_module(path) {
        Ok(loaded) => loaded,
        Err(message) => {
            print_error(&message);
            return Status::UsageOrEnvironment;
        }
    };
    let krate = match ferropy::compile(&file, &module_name) {
        Ok(krate) => krate,
        Err(found) => {
            print_diagnostics(&file, &found, diagnostic_color());
            return Status::Diagnostics;
        }
    };
    let Some(crate_dir) = crate_dir else {
        return match io::stdout().lock().write_all(krate.lib_rs.as_bytes()) {
            Ok(()) => Status::Success,
            // A closed pipe (`ferropy emit k.py | head`) means the reader has
            // seen enough; it is not a failure.
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Status::Success,
            Err(error) => {
                print_error(&format!("cannot write to stdout: {error}"));
                Status::UsageOrEnvironment
            }
        };
    };
    // The kept crate gets the same package name `build` uses, so it is
    // byte-for-byte the crate that `build` compiles.
    let canonical_source = match std::fs::canonicalize(path) {
        Ok(canonical) => canonical,
        Err(error) => {
            print_error(&format!("cannot resolve {}: {error}", path.display()));
            return Status::UsageOrEnvironment;
        }
    };
    let package = build::package_name(&module_name, &canonical_source);
    let written = build::write_crate(&krate, &package, crate_dir)
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

/// Reads a source file and derives its module name; the error is a complete
/// message for the user.
fn load_module(path: &Path) -> Result<(SourceFile, String), String> {
    let file = read_source(path)?;
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
    Ok((file, module_name))
}

fn read_source(path: &Path) -> Result<SourceFile, String> {
    let bytes =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "cannot read {}: it is not valid UTF-8; save it as UTF-8",
            path.display()
        )
    })?;
    Ok(SourceFile {
        path: path.display().to_string(),
        text,
    })
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

fn count_errors(found: &[Diagnostic]) -> String {
    let errors = found
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .count();
    match errors {
        1 => "1 error".to_string(),
        errors => format!("{errors} errors"),
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

fn print_diagnostics(file: &SourceFile, found: &[Diagnostic], color: Color) {
    eprint!("{}", diagnostics::render(file, found, color));
}

fn print_error(message: &str) {
    eprintln!("error: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Cli::try_parse_from(["ferropy", "build"]).is_err());
    }
}
