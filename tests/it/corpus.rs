//! `ferropy check` over many files: directories, the `--summary` table,
//! source encodings, `--format json` and the cap on printed diagnostics,
//! each run through the real binary.
//!
//! `stdlib_has_no_panics` checks every `.py` file of the Python library
//! directory (the standard library and site-packages), as `scripts/corpus`
//! does; it needs a Python (`FERROPY_PYTHON`, else `python3`) and runs only
//! when `FERROPY_E2E=1`, which `scripts/test` and `.ci/run` set.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{
    end_to_end_enabled_because, notice, python_interpreter, stderr_of, stdout_of,
};

fn ferropy(arguments: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferropy"))
        .args(arguments)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("running ferropy")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The value column of a `--summary` table row such as `  exit 1     3`.
fn summary_row(table: &str, name: &str) -> String {
    table
        .lines()
        .find_map(|line| {
            let rest = line.trim_start().strip_prefix(name)?;
            rest.starts_with("  ")
                .then(|| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no `{name}` row in:\n{table}"))
}

#[test]
fn summary_counts_files_by_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "corpus/plain.py",
        b"x = 1\n\ndef f(n: int) -> int:\n    return n + x\n",
    );
    write(
        root,
        "corpus/kernel.py",
        b"def f(x: int) -> int:\n    return x + y\n",
    );
    write(root, "corpus/deeper/syntax.py", b"def f(:\n");
    write(
        root,
        "corpus/latin.py",
        b"# -*- coding: latin-1 -*-\ns = '\xe9'\n\ndef f(n: int) -> int:\n    return n\n",
    );
    write(
        root,
        "corpus/bom.py",
        b"\xef\xbb\xbfx = 1\n\ndef f(n: int) -> int:\n    return n\n",
    );
    write(root, "corpus/not_utf8.py", b"s = '\xe9'\n");
    write(root, "corpus/notes.txt", b"not Python");

    let output = ferropy(&["check", "--summary", "-j", "2", "corpus"], root);
    let table = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{table}{}",
        stderr_of(&output)
    );
    assert_eq!(summary_row(&table, "files"), "6", "{table}");
    assert_eq!(summary_row(&table, "exit 0"), "3", "{table}");
    assert_eq!(summary_row(&table, "exit 1"), "3", "{table}");
    assert_eq!(summary_row(&table, "other"), "0", "{table}");
    assert_eq!(summary_row(&table, "panics"), "0", "{table}");
    assert_eq!(summary_row(&table, "timeouts"), "0", "{table}");
    assert!(table.contains("slowest files:"), "{table}");
    // A summary shows only what is not the files' own fault.
    assert_eq!(stderr_of(&output), "");

    // Without --summary the same run prints every file's diagnostics, in
    // path order whatever the number of jobs.
    let sequential = ferropy(&["check", "-j", "1", "corpus"], root);
    let parallel = ferropy(&["check", "-j", "2", "corpus"], root);
    assert_eq!(sequential.status.code(), Some(1));
    assert_eq!(stderr_of(&sequential), stderr_of(&parallel));
    let text = stderr_of(&sequential);
    let order: Vec<usize> = [
        "corpus/deeper/syntax.py",
        "corpus/kernel.py",
        "corpus/not_utf8.py",
    ]
    .iter()
    .map(|file| {
        text.find(file)
            .unwrap_or_else(|| panic!("{file} in:\n{text}"))
    })
    .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
}

#[test]
fn unreadable_paths_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let output = ferropy(&["check", "missing.py"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("error: cannot read missing.py"));
    let output = ferropy(&["check", "empty"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("no `.py` files in empty"));
}

/// Positions after decoding: the span of `été` is in characters of the
/// decoded Latin-1 text, in the text output and in JSON alike.
#[test]
fn diagnostics_of_a_latin1_file_point_into_the_decoded_text() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "latin.py",
        b"# coding: latin-1\ns = '\xe9\xe9'\ndef f(x: int) -> int:\n    return x + \xe9t\xe9\n",
    );
    let output = ferropy(&["check", "latin.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr_of(&output);
    assert!(text.contains("name `été` is not defined"), "{text}");
    assert!(text.contains("┌─ latin.py:4:16"), "{text}");
    assert!(text.contains("4 │     return x + été\n"), "{text}");

    let output = ferropy(&["check", "--format", "json", "latin.py"], dir.path());
    let line: serde_json::Value = serde_json::from_str(stdout_of(&output).trim()).unwrap();
    assert_eq!(
        (&line["line"], &line["column"], &line["end_column"]),
        (&4.into(), &16.into(), &19.into())
    );
}

#[test]
fn undecodable_bytes_are_a_diagnostic_at_their_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bytes.py", b"x = 1\ns = 'caf\xe9'\n");
    let output = ferropy(&["check", "bytes.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr_of(&output);
    assert!(
        text.contains("error[FP0101]: cannot decode byte 0xe9 as UTF-8"),
        "{text}"
    );
    assert!(text.contains("┌─ bytes.py:2:9"), "{text}");
    assert!(text.contains("coding: latin-1"), "{text}");
}

#[test]
fn json_lines_carry_every_field() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "k.py",
        b"def f(x: int) -> int:\n    y = 1\n    y = 2.5\n    return x + missing\n",
    );
    let output = ferropy(&["check", "--format", "json", "k.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr_of(&output),
        "",
        "JSON mode prints diagnostics on stdout"
    );
    let lines: Vec<serde_json::Value> = stdout_of(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert!(!lines.is_empty());
    let fields = [
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "severity",
        "code",
        "message",
        "label",
        "hint",
        "secondary",
    ];
    for line in &lines {
        let object = line.as_object().unwrap();
        assert_eq!(object.len(), fields.len(), "{line}");
        for field in fields {
            assert!(object.contains_key(field), "no {field} in {line}");
        }
        assert_eq!(line["file"], "k.py");
        assert_eq!(line["severity"], "error");
        assert!(line["code"].as_str().unwrap().starts_with("FP"), "{line}");
    }
    let undefined = lines
        .iter()
        .find(|line| line["message"].as_str().unwrap().contains("missing"))
        .expect("the undefined name is reported");
    assert_eq!(
        (&undefined["line"], &undefined["column"]),
        (&4.into(), &16.into())
    );

    // `build` takes the same option; a file with errors is never built, so
    // no Python or cargo is needed.
    let output = ferropy(&["build", "--format", "json", "k.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_of(&output).lines().count(), lines.len());
    assert!(stderr_of(&output).contains("k.py not built"));
}

#[test]
fn text_output_stops_after_fifty_diagnostics_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let source: String = (0..60)
        .map(|index| format!("def f{index}(x: int) -> int:\n    return x + missing{index}\n\n"))
        .collect();
    write(dir.path(), "flood.py", source.as_bytes());
    let output = ferropy(&["check", "flood.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr_of(&output);
    assert_eq!(text.matches("error[FP0401]").count(), 50, "{text}");
    assert!(
        text.ends_with("... and 10 more errors in flood.py\n\n"),
        "{text}"
    );
    let output = ferropy(&["check", "--format", "json", "flood.py"], dir.path());
    assert_eq!(stdout_of(&output).lines().count(), 60);
}

/// Colour only at a terminal: output captured here is never coloured.
#[test]
fn captured_output_has_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "k.py", b"def f(:\n");
    let output = ferropy(&["check", "k.py"], dir.path());
    assert!(!stderr_of(&output).contains('\u{1b}'));
}

/// Every `.py` file of the interpreter's library directory: no panic, no exit
/// code but 0 or 1, no file slower than 2 s (a slower one is a timeout, exit
/// 101).
#[test]
fn stdlib_has_no_panics() {
    if !end_to_end_enabled_because(
        "stdlib_has_no_panics",
        "it needs a Python to find the library directory",
    ) {
        return;
    }
    let python = python_interpreter();
    let located = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("running Python to find the library directory");
    assert!(located.status.success(), "{}", stderr_of(&located));
    let library = stdout_of(&located).trim().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_ferropy"))
        .args(["check", "--summary", "--time-limit", "2", &library])
        .output()
        .expect("running ferropy");
    let table = stdout_of(&output);
    // Shown on stderr directly so the numbers are seen in CI logs.
    notice(&format!("{library}:\n{table}"));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "exit code {:?}\n{table}\n{}",
        output.status.code(),
        stderr_of(&output)
    );
    assert_eq!(summary_row(&table, "panics"), "0", "{table}");
    assert_eq!(summary_row(&table, "timeouts"), "0", "{table}");
    assert_eq!(summary_row(&table, "other"), "0", "{table}");
    let files: usize = summary_row(&table, "files").parse().unwrap();
    assert!(files > 500, "only {files} files under {library}");
}
