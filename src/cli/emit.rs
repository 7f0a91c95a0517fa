//! `ferropy emit`: the generated Rust on stdout, or the whole crate with
//! `--crate DIR`; with `--check`, a comparison with the committed copy.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferropy::build;

use super::report::{Format, Printer};
use super::{compile_file, load_module, print_error, Status, DEFAULT_TIME_LIMIT_SECONDS};

/// What `emit` does with the generated code.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EmitTarget {
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
pub(super) fn emit_target(
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

pub(super) fn emit_command(path: &Path, target: &EmitTarget, options: ferropy::Options) -> Status {
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
        Ok((file, krate)) => {
            printer.diagnostics(&file, &krate.warnings);
            krate
        }
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
    let package = match emitted_package_name(&krate.module_name, path, crate_dir) {
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
pub(super) fn write_stdout(text: &str) -> Status {
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
pub(super) fn emitted_package_name(
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
pub(super) fn canonical_directory(dir: &Path) -> io::Result<PathBuf> {
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
pub(super) mod snapshot {
    use std::io::{self, Write};
    use std::path::Path;

    use similar::TextDiff;

    use crate::cli::{print_error, Status};

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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

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
}
