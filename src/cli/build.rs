//! `ferropy build`: compile files to `<module><EXT_SUFFIX>` and `<module>.pyi`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use ferropy::build::{self, BuildOptions, Interpreter, TargetCpu};

use super::report::{Format, Printer};
use super::{
    compile_file, directory_of, load_module, print_error, report, unique, ParallelArgs, Status,
    DEFAULT_TIME_LIMIT_SECONDS,
};

#[derive(Args)]
pub(super) struct BuildArgs {
    #[arg(required = true, value_name = "FILE")]
    pub(super) files: Vec<PathBuf>,
    /// Directory for the built modules [default: beside each source file].
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub(super) out_dir: Option<PathBuf>,
    /// Python interpreter to build for [default: python3 on PATH].
    #[arg(long, value_name = "PATH")]
    pub(super) python: Option<PathBuf>,
    /// Print nothing but diagnostics and errors.
    #[arg(short, long)]
    pub(super) quiet: bool,
    /// Build for the architecture's baseline processor instead of this
    /// machine's (the default uses every instruction-set extension of the
    /// building CPU, as `-C target-cpu=native`), for modules copied to other
    /// machines.
    #[arg(long)]
    pub(super) portable: bool,
    #[command(flatten)]
    pub(super) parallel: ParallelArgs,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(super) format: Format,
}

pub(super) fn build_command(arguments: &BuildArgs) -> Status {
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
            Ok((file, krate)) => {
                printer.diagnostics(&file, &krate.warnings);
                krate
            }
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
