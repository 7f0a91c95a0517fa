//! Snapshot tests: every `fixtures/**/*.py` compiled by the library, with the
//! source and the generated Rust (or the rendered diagnostics) in one
//! snapshot under `tests/snapshots/`, so codegen changes show up in review.

use std::path::Path;

use ferropy::diagnostics::{render, Color, SourceFile};

use crate::support::python_files_under;

/// The snapshot text for one fixture: the source, then the output.
fn snapshot_text(path: &Path, relative: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {relative}: {e}"));
    let file = SourceFile {
        path: relative.to_string(),
        text: text.clone(),
    };
    let module_name = ferropy::module_name_for(path).unwrap_or_else(|| "module".to_string());
    let output = match ferropy::compile(&file, &module_name) {
        Ok(generated) if generated.warnings.is_empty() => format!(
            "----- GENERATED RUST\n{}\n----- STUB\n{}",
            generated.lib_rs, generated.pyi
        ),
        Ok(generated) => format!(
            "----- WARNINGS\n{}\n----- GENERATED RUST\n{}\n----- STUB\n{}",
            render(&file, &generated.warnings, Color::Never),
            generated.lib_rs,
            generated.pyi
        ),
        Err(diagnostics) => format!(
            "----- DIAGNOSTICS\n{}",
            render(&file, &diagnostics, Color::Never)
        ),
    };
    format!("----- SOURCE CODE\n{text}\n{output}")
}

#[test]
fn fixtures_match_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    python_files_under(&root.join("fixtures"), &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures found");
    for path in paths {
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let name = relative
            .trim_start_matches("fixtures/")
            .trim_end_matches(".py")
            .replace('/', "__");
        let text = snapshot_text(&path, &relative);
        insta::with_settings!({
            snapshot_path => root.join("tests/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, text);
        });
    }
}

/// Compiling is a pure function of the source: two runs give the same bytes.
#[test]
fn codegen_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    python_files_under(&root.join("fixtures"), &mut paths);
    for path in paths {
        let relative = path.to_string_lossy().into_owned();
        assert_eq!(
            snapshot_text(&path, &relative),
            snapshot_text(&path, &relative),
            "{relative}"
        );
    }
}

/// The public Rust API of modules emitted for Rust crates
/// (`ferropy::compile_rust`), without the kernels inside (`mod compiled`),
/// which the snapshots above show: scalars, read and written views, owned
/// results and tuples, overloads, reserved names, function arguments, and
/// containers (the runtime's types).
#[test]
fn rust_apis_match_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for relative in [
        "examples/rust-build/src/kernels.py",
        "fixtures/codegen/pythran_export.py",
        "fixtures/codegen/returns.py",
        "fixtures/codegen/rust_api.py",
        "fixtures/codegen/rust_names.py",
        "fixtures/dialects/pythran_forms.py",
        "fixtures/runnable/integrate.py",
        "fixtures/runnable/lists.py",
    ] {
        let path = root.join(relative);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {relative}: {e}"));
        let file = SourceFile {
            path: relative.to_string(),
            text: text.clone(),
        };
        let module_name = ferropy::module_name_for(&path).expect("a module name");
        let module = ferropy::compile_rust(&file, &module_name, ferropy::Options::default())
            .unwrap_or_else(|_| panic!("{relative} compiles"));
        let mut api = Vec::new();
        let mut in_kernels = false;
        for line in module.text.lines() {
            if line == "    mod compiled {" {
                in_kernels = true;
                api.push("    mod compiled { ... }");
            } else if in_kernels {
                in_kernels = line != "    }";
            } else {
                api.push(line);
            }
        }
        let name = format!(
            "rust_api__{}",
            path.file_stem().expect("a file name").to_string_lossy()
        );
        let snapshot = format!(
            "----- SOURCE CODE\n{text}\n----- RUST API\n{}\n",
            api.join("\n")
        );
        insta::with_settings!({
            snapshot_path => root.join("tests/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, snapshot);
        });
    }
}
