//! Keeps docs/diagnostics.md true: every diagnostic code has a section, each
//! failing example produces its section's code (a warning's example compiles
//! with the warning), each fixed example compiles without any diagnostic,
//! and each rendered diagnostic shown is what `ferropy check` prints today.

use std::path::Path;

use ferropy::diagnostics::{codes, render, Color, SourceFile};

/// The path the examples are checked under; rendered blocks show it.
const EXAMPLE_PATH: &str = "kernels.py";

/// Codes whose documented failing example does not produce the code yet. The
/// test asserts today's behaviour, so fixing the compiler makes it fail until
/// the entry is removed.
const NOT_YET_REPORTED: &[&str] = &[];

/// A fenced block: its info string, its text and the line of its opening fence.
struct Block {
    info: String,
    text: String,
    line: usize,
}

/// One `## FPxxxx: title` section and the fenced blocks under it.
struct Section {
    code: String,
    line: usize,
    blocks: Vec<Block>,
}

/// The document split into the blocks before the first code section and the
/// code sections. Malformed headings and unclosed fences are reported in
/// `problems`.
struct Document {
    preamble: Vec<Block>,
    sections: Vec<Section>,
}

fn parse_document(text: &str, problems: &mut Vec<String>) -> Document {
    let mut document = Document {
        preamble: Vec::new(),
        sections: Vec::new(),
    };
    // Blocks under a `##` heading that is not a code section belong to no
    // section; they are kept with the preamble.
    let mut in_code_section = false;
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let line_number = index + 1;
        if let Some(info) = line.strip_prefix("```") {
            let mut block_text = String::new();
            let mut closed = false;
            for (_, inner) in lines.by_ref() {
                if inner.trim_end() == "```" {
                    closed = true;
                    break;
                }
                block_text.push_str(inner);
                block_text.push('\n');
            }
            if !closed {
                problems.push(format!("line {line_number}: unclosed code block"));
            }
            let block = Block {
                info: info.trim().to_string(),
                text: block_text,
                line: line_number,
            };
            match document.sections.last_mut() {
                Some(section) if in_code_section => section.blocks.push(block),
                _ => document.preamble.push(block),
            }
        } else if let Some(heading) = line.strip_prefix("## ") {
            in_code_section = heading.starts_with("FP");
            if !in_code_section {
                continue;
            }
            match parse_code_heading(heading) {
                Some(code) => document.sections.push(Section {
                    code: code.to_string(),
                    line: line_number,
                    blocks: Vec::new(),
                }),
                None => {
                    in_code_section = false;
                    problems.push(format!(
                        "line {line_number}: a code heading must read `## FPxxxx: short title`, \
                         not `{line}`"
                    ));
                }
            }
        }
    }
    document
}

/// The code of a heading such as `FP0301: unsupported statement`.
fn parse_code_heading(heading: &str) -> Option<&str> {
    let (code, title) = heading.split_once(": ")?;
    let digits = code.strip_prefix("FP")?;
    let well_formed =
        digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) && !title.trim().is_empty();
    well_formed.then_some(code)
}

/// Rendered diagnostics as they appear in the document: trailing spaces and
/// trailing blank lines are not significant there.
fn normalized(rendered: &str) -> String {
    let lines: Vec<&str> = rendered.lines().map(str::trim_end).collect();
    let mut text = lines.join("\n");
    text.truncate(text.trim_end().len());
    text
}

fn example(text: &str) -> SourceFile {
    SourceFile {
        path: EXAMPLE_PATH.to_string(),
        text: text.to_string(),
    }
}

/// Checks one section's examples; returns the normalized renderings of its
/// failing examples.
fn check_section(section: &Section, problems: &mut Vec<String>) -> Vec<String> {
    let code = section.code.as_str();
    let mut renderings = Vec::new();
    // The rendering of the latest failing example, for a ```text block after it.
    let mut latest_rendering: Option<String> = None;
    for block in &section.blocks {
        let at = format!("docs/diagnostics.md:{} ({code})", block.line);
        match block.info.as_str() {
            "python failing" => {
                let file = example(&block.text);
                // A warning's example compiles, with the warning.
                let result = match ferropy::check_report(&file, ferropy::Options::default()) {
                    Ok(checked) if checked.warnings.is_empty() => Ok(()),
                    Ok(checked) => Err(checked.warnings),
                    Err(found) => Err(found),
                };
                if NOT_YET_REPORTED.contains(&code) {
                    let reported = result
                        .as_ref()
                        .err()
                        .is_some_and(|found| found.iter().any(|d| d.code == code));
                    if reported {
                        problems.push(format!(
                            "{at}: the failing example now reports {code}; remove {code} from \
                             NOT_YET_REPORTED and add its rendered diagnostic to the document"
                        ));
                    }
                    latest_rendering = None;
                    continue;
                }
                match result {
                    Ok(_) => {
                        problems.push(format!("{at}: the failing example compiles"));
                        latest_rendering = None;
                    }
                    Err(found) => {
                        let rendered = render(&file, &found, Color::Never);
                        if !found.iter().any(|d| d.code == code) {
                            problems.push(format!(
                                "{at}: the failing example does not report {code}; it reports:\n\
                                 {rendered}"
                            ));
                        }
                        let rendered = normalized(&rendered);
                        renderings.push(rendered.clone());
                        latest_rendering = Some(rendered);
                    }
                }
            }
            "python fixed" => {
                let file = example(&block.text);
                let found = match ferropy::check_report(&file, ferropy::Options::default()) {
                    Ok(checked) => checked.warnings,
                    Err(found) => found,
                };
                if !found.is_empty() {
                    problems.push(format!(
                        "{at}: the fixed example does not compile:\n{}",
                        render(&file, &found, Color::Never)
                    ));
                }
            }
            "text" => match &latest_rendering {
                Some(rendered) if *rendered == normalized(&block.text) => {}
                Some(rendered) => problems.push(format!(
                    "{at}: the rendered diagnostics differ from what `ferropy check \
                     {EXAMPLE_PATH}` prints for the failing example above; it prints:\n\
                     {rendered}"
                )),
                None => problems.push(format!(
                    "{at}: a ```text block must follow a failing example that reports \
                     diagnostics"
                )),
            },
            info if info.starts_with("python") => problems.push(format!(
                "{at}: a Python example must be tagged `python failing` or `python fixed`, \
                 not `{info}`"
            )),
            _ => {}
        }
    }
    renderings
}

#[test]
fn every_code_is_documented_with_examples_that_hold() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let mut problems = Vec::new();
    let document = parse_document(&text, &mut problems);

    let mut documented: Vec<&str> = Vec::new();
    for section in &document.sections {
        let code = section.code.as_str();
        if !codes::ALL.contains(&code) {
            problems.push(format!(
                "docs/diagnostics.md:{}: {code} is not a diagnostic code",
                section.line
            ));
        } else if documented.contains(&code) {
            problems.push(format!(
                "docs/diagnostics.md:{}: {code} is documented twice",
                section.line
            ));
        } else {
            documented.push(code);
        }
    }
    for code in codes::ALL {
        if !documented.contains(code) {
            problems.push(format!("{code} has no section `## {code}: ...`"));
        }
    }
    let in_order: Vec<&str> = codes::ALL
        .iter()
        .copied()
        .filter(|code| documented.contains(code))
        .collect();
    if documented != in_order {
        problems.push(format!(
            "sections are not in the order of codes::ALL: {documented:?}"
        ));
    }

    let mut renderings = Vec::new();
    for section in &document.sections {
        let count = |info: &str| section.blocks.iter().filter(|b| b.info == info).count();
        let (failing, fixed) = (count("python failing"), count("python fixed"));
        if section.code == codes::INTERNAL_ERROR {
            // An internal error is a bug in ferropy: no input is meant to cause it.
            if failing + fixed > 0 {
                problems.push(format!(
                    "docs/diagnostics.md:{}: {} must have no examples",
                    section.line,
                    codes::INTERNAL_ERROR
                ));
            }
            continue;
        }
        if failing == 0 || fixed == 0 {
            problems.push(format!(
                "docs/diagnostics.md:{}: {} needs a failing and a fixed example \
                 (found {failing} failing, {fixed} fixed)",
                section.line, section.code
            ));
        }
        renderings.extend(check_section(section, &mut problems));
    }

    // Rendered diagnostics outside the code sections, such as the example in
    // the introduction, repeat one of the examples' renderings.
    for block in &document.preamble {
        if block.info == "text"
            && block.text.starts_with("error[")
            && !renderings.contains(&normalized(&block.text))
        {
            problems.push(format!(
                "docs/diagnostics.md:{}: these rendered diagnostics are not the output of \
                 any failing example",
                block.line
            ));
        }
        if block.info.starts_with("python ") {
            problems.push(format!(
                "docs/diagnostics.md:{}: a `{}` example outside a code section is never checked",
                block.line, block.info
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "docs/diagnostics.md is out of date:\n\n{}",
        problems.join("\n\n")
    );
}
