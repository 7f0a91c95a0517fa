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
pub mod infer;
pub mod ir;
pub mod library;
pub mod lower;
pub mod parse;
pub mod range_variables;
pub mod signature;
pub mod source;
pub mod stub;
pub mod types;
pub mod unbound_reads;

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

/// Codegen, with generated tokens that do not parse as Rust (a ferropy bug)
/// reported as an internal-error diagnostic rather than handed to cargo.
fn generate(
    file: &SourceFile,
    typed: &ir::typed::Module,
    module_name: &str,
    options: Options,
) -> Result<String, Vec<Diagnostic>> {
    let facts = analysis::analyse_with(typed, options);
    if !facts.errors.is_empty() {
        return Err(facts.errors);
    }
    codegen::generate(typed, &facts, module_name, &file.path).map_err(|message| {
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
    let untyped = lower::lower(&parsed)?;
    // Warnings of lowering are reported with later errors too.
    let typed = match infer::infer(&untyped) {
        Ok(typed) if untyped.unexported.is_empty() => typed,
        Ok(_) => return Err([&untyped.unexported[..], &untyped.warnings[..]].concat()),
        Err(errors) => {
            return Err([&untyped.unexported[..], &errors[..], &untyped.warnings[..]].concat())
        }
    };
    Ok((untyped, typed))
}
