//! ferropy: an ahead-of-time compiler from annotated numeric Python to native
//! CPython extension modules.
//!
//! The pipeline is one function, `compile`, chaining pure stages in order:
//! parse → lower → infer → analysis → codegen (+ stub). Only `build` touches the file
//! system and runs cargo and Python; see ARCHITECTURE.md.

pub mod analysis;
pub mod build;
pub mod codegen;
pub mod diagnostics;
pub mod dialect;
pub mod explain;
pub mod fuse_temporaries;
pub mod infer;
pub mod ir;
pub mod library;
pub mod list_loops;
pub mod loop_else;
pub mod lower;
pub mod none_params;
pub mod order_statistics;
pub mod parse;
pub mod prefetch;
pub mod range_variables;
pub mod read_only_rows;
pub mod set_insert;
pub mod signature;
pub mod source;
pub mod stub;
pub mod types;
pub mod unbound_reads;
pub mod unordered_sets;

use crate::diagnostics::{Diagnostic, SourceFile};

/// The version baked into cache keys and `ferropy --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the build stage needs to turn one Python module into an extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedCrate {
    /// The Python module name (`kernels` for `kernels.py`); also the name of the
    /// `PyInit_` symbol.
    pub module_name: String,
    /// The formatted `src/lib.rs` of the generated crate.
    pub lib_rs: String,
    /// The `.pyi` stub written beside the extension.
    pub pyi: String,
    /// Warnings about the source, which did not stop the build.
    pub warnings: Vec<Diagnostic>,
}

/// What `check` found in a file that compiles.
#[derive(Clone, Debug)]
pub struct Checked {
    pub module: ir::typed::Module,
    /// Warnings, which do not stop a build.
    pub warnings: Vec<Diagnostic>,
}

/// The Python module name a source path compiles to, or `None` when the file
/// stem is not a valid Python identifier.
pub fn module_name_for(path: &std::path::Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let mut chars = stem.chars();
    let first = chars.next()?;
    let valid = (first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    valid.then(|| stem.to_string())
}

/// Runs the pure part of the pipeline on one source file.
///
/// All diagnostics of the file are returned together; the result is either a
/// complete crate or at least one error.
pub fn compile(file: &SourceFile, module_name: &str) -> Result<GeneratedCrate, Vec<Diagnostic>> {
    compile_with(file, module_name, Options::default())
}

/// What the user decides about compilation (`--parallel`, `--no-auto-parallel`).
pub use analysis::Options;

/// [`compile`] with options.
pub fn compile_with(
    file: &SourceFile,
    module_name: &str,
    options: Options,
) -> Result<GeneratedCrate, Vec<Diagnostic>> {
    let (untyped, typed) = front_end(file)?;
    // `CC("name")` of `numba.pycc` names the module, as it does there.
    let module_name = untyped.module_name.as_deref().unwrap_or(module_name);
    let lib_rs = generate(file, &typed, module_name, options).map_err(|mut errors| {
        errors.extend(untyped.warnings.iter().cloned());
        errors
    })?;
    let pyi = stub::generate(&typed);
    Ok(GeneratedCrate {
        module_name: module_name.to_string(),
        lib_rs,
        pyi,
        warnings: untyped.warnings,
    })
}

/// Parses, lowers and type-checks a file, and generates its code without
/// keeping it, so that `ferropy check` accepts exactly what `compile` does.
pub fn check(file: &SourceFile) -> Result<ir::typed::Module, Vec<Diagnostic>> {
    check_with(file, Options::default())
}

/// [`check`] with options.
pub fn check_with(
    file: &SourceFile,
    options: Options,
) -> Result<ir::typed::Module, Vec<Diagnostic>> {
    check_report(file, options).map(|checked| checked.module)
}

/// [`check_with`], keeping the warnings of a file that compiles.
pub fn check_report(file: &SourceFile, options: Options) -> Result<Checked, Vec<Diagnostic>> {
    let (untyped, typed) = front_end(file)?;
    generate(file, &typed, "check", options).map_err(|mut errors| {
        errors.extend(untyped.warnings.iter().cloned());
        errors
    })?;
    Ok(Checked {
        module: typed,
        warnings: untyped.warnings,
    })
}

/// [`compile_with`] for a Rust crate: the text of a module to `include!`
/// (`pub mod <module_name>` with a public Rust function per export; see
/// `codegen::rust_api`), or all diagnostics of the file.
pub fn compile_rust(
    file: &SourceFile,
    module_name: &str,
    options: Options,
) -> Result<RustModule, Vec<Diagnostic>> {
    let (untyped, typed) = front_end(file)?;
    let module_name = untyped.module_name.as_deref().unwrap_or(module_name);
    let text = generate_with(file, &typed, module_name, options, codegen::generate_rust).map_err(
        |mut errors| {
            errors.extend(untyped.warnings.iter().cloned());
            errors
        },
    )?;
    Ok(RustModule {
        module_name: module_name.to_string(),
        text,
        warnings: untyped.warnings,
    })
}

/// A module emitted for a Rust crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustModule {
    /// The Rust module's name: the Python module's.
    pub module_name: String,
    /// The formatted module, one `pub mod` item.
    pub text: String,
    /// Warnings about the source, which did not stop the build.
    pub warnings: Vec<Diagnostic>,
}

/// Compiles Python files into Rust modules from a cargo build script:
///
/// ```no_run
/// // In build.rs's `main`:
/// let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
/// ferropy::Builder::new()
///     .file("src/kernels.py")
///     .emit_rust(out_dir)
///     .expect("the kernels compile");
/// ```
///
/// and in the crate, `include!(concat!(env!("OUT_DIR"), "/kernels.rs"));`
/// makes `kernels::f(...)`. The crate depends on `ferropy-rt` (the runtime,
/// with `default-features = false`) and `ndarray`.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    files: Vec<std::path::PathBuf>,
    options: Options,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds a Python source file; its module is named after the file's stem.
    pub fn file(mut self, path: impl Into<std::path::PathBuf>) -> Builder {
        self.files.push(path.into());
        self
    }

    /// Compiler options (parallel loops), as on the command line.
    pub fn options(mut self, options: Options) -> Builder {
        self.options = options;
        self
    }

    /// Compiles every file and writes `<out_dir>/<module>.rs` for each,
    /// returning their paths in the order the files were added.
    ///
    /// For cargo it prints `cargo:rerun-if-changed` for each source and a
    /// `cargo:warning` per warning. A file that does not compile has its
    /// diagnostics printed on stderr as `ferropy check` prints them (cargo
    /// shows them when the build script fails), and the error names it; no
    /// module is written then.
    pub fn emit_rust(
        &self,
        out_dir: impl AsRef<std::path::Path>,
    ) -> Result<Vec<std::path::PathBuf>, EmitError> {
        let mut modules: Vec<(&std::path::PathBuf, RustModule)> = Vec::new();
        let mut failed = Vec::new();
        for path in &self.files {
            println!("cargo:rerun-if-changed={}", path.display());
            let bytes = std::fs::read(path).map_err(|error| EmitError::Io {
                path: path.clone(),
                error,
            })?;
            let module_name = module_name_for(path)
                .ok_or_else(|| EmitError::ModuleName { path: path.clone() })?;
            let compiled = source::decode(path.display().to_string(), &bytes)
                .map_err(|undecodable| (undecodable.file, vec![undecodable.diagnostic]))
                .and_then(
                    |file| match compile_rust(&file, &module_name, self.options) {
                        Ok(module) => Ok((file, module)),
                        Err(found) => Err((file, found)),
                    },
                );
            match compiled {
                Ok((file, module)) => {
                    let taken = modules
                        .iter()
                        .find(|(_, other)| other.module_name == module.module_name);
                    if let Some((first, _)) = taken {
                        return Err(EmitError::SameModule {
                            first: (*first).clone(),
                            second: path.clone(),
                            module: module.module_name,
                        });
                    }
                    for warning in &module.warnings {
                        println!("cargo:warning={}: {}", file.path, warning.message);
                    }
                    modules.push((path, module));
                }
                Err((file, found)) => {
                    eprint!(
                        "{}",
                        diagnostics::render(&file, &found, diagnostics::Color::Never)
                    );
                    failed.push(path.clone());
                }
            }
        }
        if !failed.is_empty() {
            return Err(EmitError::Diagnostics { files: failed });
        }
        let out_dir = out_dir.as_ref();
        modules
            .iter()
            .map(|(_, module)| {
                build::write_rust_module(out_dir, &module.module_name, &module.text).map_err(
                    |error| EmitError::Io {
                        path: out_dir.join(format!("{}.rs", module.module_name)),
                        error,
                    },
                )
            })
            .collect()
    }
}

/// Why [`Builder::emit_rust`] wrote nothing.
#[derive(Debug)]
pub enum EmitError {
    /// These files did not compile; their diagnostics went to stderr.
    Diagnostics { files: Vec<std::path::PathBuf> },
    /// The file's stem is not a Python identifier, so it names no module.
    ModuleName { path: std::path::PathBuf },
    /// Two files make one module (`a/kernels.py`, `b/kernels.py`).
    SameModule {
        first: std::path::PathBuf,
        second: std::path::PathBuf,
        module: String,
    },
    /// A source could not be read or a module not written.
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::Diagnostics { files } => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                write!(
                    formatter,
                    "ferropy could not compile {} (the diagnostics are above)",
                    names.join(", ")
                )
            }
            EmitError::ModuleName { path } => write!(
                formatter,
                "cannot compile {}: its file name is not a valid Python module name",
                path.display()
            ),
            EmitError::SameModule {
                first,
                second,
                module,
            } => write!(
                formatter,
                "{} and {} both make the module `{module}`; rename one",
                first.display(),
                second.display()
            ),
            EmitError::Io { path, error } => write!(formatter, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for EmitError {}

/// Codegen of an extension module; see [`generate_with`].
fn generate(
    file: &SourceFile,
    typed: &ir::typed::Module,
    module_name: &str,
    options: Options,
) -> Result<String, Vec<Diagnostic>> {
    generate_with(file, typed, module_name, options, codegen::generate)
}

/// The generated code, one kind of it (`codegen::generate` or
/// `generate_rust`), with generated tokens that do not parse as Rust (a
/// ferropy bug) reported as an internal-error diagnostic rather than handed
/// to cargo.
fn generate_with(
    file: &SourceFile,
    typed: &ir::typed::Module,
    module_name: &str,
    options: Options,
    emit: fn(&ir::typed::Module, &analysis::Facts, &str, &str) -> Result<String, String>,
) -> Result<String, Vec<Diagnostic>> {
    let facts = analysis::analyse_with(typed, options);
    if !facts.errors.is_empty() {
        return Err(facts.errors);
    }
    emit(typed, &facts, module_name, &file.path).map_err(|message| {
        vec![Diagnostic::error(
            diagnostics::codes::INTERNAL_ERROR,
            diagnostics::Span::new(0, 0),
            format!("internal error: the generated Rust does not parse: {message}"),
        )
        .with_label("in this file")
        .with_hint(
            "this is a bug in ferropy; please report it with this file attached (`ferropy emit` \
             shows the generated code)",
        )]
    })
}

/// The `ferropy explain` report: inferred types and per-loop decisions.
pub fn explain(file: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    explain_with(file, Options::default())
}

/// [`explain`] with options.
pub fn explain_with(file: &SourceFile, options: Options) -> Result<String, Vec<Diagnostic>> {
    let (untyped, typed) = front_end(file)?;
    let facts = analysis::analyse_with(&typed, options);
    if !facts.errors.is_empty() {
        return Err(facts.errors);
    }
    Ok(explain::report(file, &untyped, &typed, &facts))
}

/// The stages before codegen, in order.
fn front_end(
    file: &SourceFile,
) -> Result<(ir::untyped::Module, ir::typed::Module), Vec<Diagnostic>> {
    let parsed = parse::parse(file)?;
    let untyped = none_params::specialise(lower::lower(&parsed)?);
    // Warnings of lowering are reported with later errors too.
    let typed = match infer::infer(&untyped) {
        Ok(typed) if untyped.unexported.is_empty() => {
            let typed = list_loops::rewrite(
                set_insert::fuse(fuse_temporaries::fuse(typed)),
                &lower::hidden_prefix(&file.text),
            );
            unordered_sets::plan(read_only_rows::plan(order_statistics::rewrite(
                prefetch::insert(typed),
            )))
        }
        Ok(_) => return Err([&untyped.unexported[..], &untyped.warnings[..]].concat()),
        Err(errors) => {
            return Err([&untyped.unexported[..], &errors[..], &untyped.warnings[..]].concat())
        }
    };
    Ok((untyped, typed))
}
