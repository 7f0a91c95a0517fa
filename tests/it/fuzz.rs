//! Mutation fuzzing of the whole pure pipeline: no input may make
//! `ferropy::compile` panic, hang, or report an internal error (FP0001,
//! such as a statement that typed to nothing without a diagnostic).
//!
//! The inputs are `fixtures/**/*.py` (the kernels of `fixtures/kernels`
//! among them) and, when it exists, an extra kernel corpus
//! (`FERROPY_KERNELS_DIR`, else `../shared/kernels`), each mutated a few times:
//! tokens and lines deleted, duplicated, swapped or replaced, annotations
//! changed (dtype names, ranks, `int` for `float`), and operators, keywords,
//! brackets or odd Unicode inserted. Mutant `i` depends only on the seed and
//! `i`, so any failure is reproducible on its own. A panicking, hanging, internally failing or
//! very slow mutant fails the test, with its source printed and written to
//! `fuzz-failures/` under cargo's target temporary directory.
//!
//! `FERROPY_FUZZ_ITERATIONS` sets the number of mutants (default 3000, a few
//! seconds) and `FERROPY_FUZZ_SEED` the seed.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::{mpsc, Once};
use std::time::{Duration, Instant};

use ferropy::diagnostics::{codes, SourceFile};

use crate::support::{kernels_dir, notice, python_files_under};

const DEFAULT_ITERATIONS: u64 = 3000;
const DEFAULT_SEED: u64 = 0x5eed_f022;

/// A mutant slower than this is a failure: real files compile in
/// milliseconds, and the mutants are no bigger than their originals.
const SLOW_MUTANT: Duration = Duration::from_secs(5);

/// How long to wait for one mutant before calling it a hang.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Stop after this many distinct failures; the first few say enough.
const MAX_FAILURES: usize = 20;

/// xorshift64*: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    /// A generator for mutant `index`, decorrelated from its neighbours by
    /// one splitmix64 step.
    fn for_mutant(seed: u64, index: u64) -> Rng {
        let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound`; `bound` must not be zero.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const OPERATORS: &[&str] = &[
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "@",
    "<<",
    ">>",
    "&",
    "|",
    "^",
    "~",
    "<",
    ">",
    "==",
    "!=",
    "<=",
    ">=",
    "=",
    "+=",
    "-=",
    "*=",
    "/=",
    "//=",
    "**=",
    ":=",
    "->",
    ".",
    ",",
    ":",
    ";",
    "...",
    "*args",
    "**kwargs",
    "lambda x: x",
];

const KEYWORDS: &[&str] = &[
    "if", "else", "elif", "for", "while", "in", "not", "and", "or", "is", "lambda", "return",
    "yield", "def", "class", "with", "as", "try", "except", "finally", "raise", "import", "from",
    "global", "nonlocal", "pass", "break", "continue", "del", "assert", "async", "await", "None",
    "True", "False", "match", "case", "print", "range", "len", "np", "math", "self",
];

const BRACKETS: &[&str] = &[
    "(", ")", "[", "]", "{", "}", "()", "[]", "{}", "[:]", "[::-1]",
];

const ODDITIES: &[&str] = &[
    "é",
    "ℌ",
    "𝔘",
    "名前",
    "🦀",
    "\u{200b}",
    "\u{feff}",
    "\u{fffd}",
    "\u{0}",
    "\t",
    "\r",
    "\r\n",
    "\n",
    "\n    ",
    "\\",
    "\\\n",
    "'",
    "\"",
    "\"\"\"",
    "#",
    "# pythran export f(int)",
    "0x",
    "0b2",
    "1e999",
    "1e-999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "340282366920938463463374607431768211456",
    "1j",
    "0.0",
    "-0",
    "nan",
    "inf",
    "1_000",
    "f'{x}'",
    "b'x'",
    "\"float64[:, :]\"",
    "'int32[:]'",
    "@np.vectorize",
];

/// Annotation words that a mutation swaps for another of any class.
const ANNOTATION_WORDS: &[&[&str]] = &[
    &[
        "float64",
        "float32",
        "float16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool_",
        "complex128",
        "complex64",
        "intp",
        "object_",
        "str_",
    ],
    &[
        "int", "float", "bool", "complex", "str", "None", "tuple", "list",
    ],
    &[
        "[:]",
        "[:, :]",
        "[:, :, :]",
        "[:, :, :, :]",
        "[::1]",
        "[]",
        "[:,:]",
        "[1:]",
    ],
    &[
        "np.float64",
        "np.int32",
        "numpy.int64",
        "NDArray[np.float64]",
        "NDArray[np.int8]",
        "NDArray",
        "np.ndarray",
        "tuple[int, float]",
        "tuple[()]",
        "list[int]",
        "\"float64[:]\"",
    ],
];

/// A rough Python tokenisation that keeps every byte: runs of identifier
/// characters, runs of digits and dots, whitespace runs, and single other
/// characters. Joining the tokens gives the text back.
fn tokens(text: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            Class::Word
        } else if c == ' ' || c == '\t' {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut result = Vec::new();
    let mut start = 0;
    let mut previous: Option<Class> = None;
    for (index, c) in text.char_indices() {
        let current = class(c);
        let joins = matches!(&previous, Some(p) if *p == current && current != Class::Other);
        if !joins && index > start {
            result.push(&text[start..index]);
            start = index;
        }
        previous = Some(current);
    }
    if start < text.len() {
        result.push(&text[start..]);
    }
    result
}

const BINARY_OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "<", ">", "==", "!=",
    "<=", ">=", "and", "or",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    Name,
    Number,
    Operator,
    Other,
}

fn token_kind(token: &str) -> TokenKind {
    match token.chars().next() {
        Some(c) if c.is_alphabetic() || c == '_' => TokenKind::Name,
        Some(c) if c.is_ascii_digit() => TokenKind::Number,
        Some('+' | '-' | '*' | '/' | '%' | '@' | '<' | '>' | '&' | '|' | '^') => {
            TokenKind::Operator
        }
        _ => TokenKind::Other,
    }
}

/// A random character boundary of `text`.
fn boundary(rng: &mut Rng, text: &str) -> usize {
    let mut offset = rng.below(text.len() + 1);
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn random_snippet(rng: &mut Rng, words: &[&str]) -> String {
    let group: &[&str] = match rng.below(5) {
        0 => OPERATORS,
        1 => KEYWORDS,
        2 => BRACKETS,
        3 => ODDITIES,
        _ if !words.is_empty() => words,
        _ => KEYWORDS,
    };
    rng.pick(group).to_string()
}

/// Applies one random mutation to `text`.
fn mutate_once(rng: &mut Rng, text: &str) -> String {
    let pieces = tokens(text);
    let words: Vec<&str> = pieces
        .iter()
        .copied()
        .filter(|token| token.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match rng.below(12) {
        // Token edits: delete, duplicate, swap, replace.
        0..=3 if !pieces.is_empty() => {
            let original = &pieces;
            let mut pieces: Vec<String> = pieces.iter().map(|piece| piece.to_string()).collect();
            let index = rng.below(pieces.len());
            match rng.below(5) {
                0 => {
                    pieces.remove(index);
                }
                1 => {
                    let copy = pieces[index].clone();
                    pieces.insert(index, copy);
                }
                2 => {
                    let other = rng.below(pieces.len());
                    pieces.swap(index, other);
                }
                3 => pieces[index] = random_snippet(rng, &words),
                // A token of the same kind keeps the syntax valid more often,
                // so the mutant reaches inference and codegen: a name or
                // number from the same file, or another binary operator.
                _ => {
                    let kind = token_kind(&pieces[index]);
                    let same_kind: Vec<&str> = original
                        .iter()
                        .copied()
                        .filter(|token| token_kind(token) == kind)
                        .collect();
                    pieces[index] = match kind {
                        TokenKind::Operator => rng.pick(BINARY_OPERATORS).to_string(),
                        _ => rng.pick(&same_kind).to_string(),
                    };
                }
            }
            pieces.concat()
        }
        // Line edits: delete, duplicate, swap, indent, dedent.
        4..=6 if !lines.is_empty() => {
            let index = rng.below(lines.len());
            match rng.below(5) {
                0 => {
                    lines.remove(index);
                    lines.concat()
                }
                1 => {
                    let copy = lines[index];
                    lines.insert(rng.below(lines.len() + 1), copy);
                    lines.concat()
                }
                2 => {
                    let other = rng.below(lines.len());
                    lines.swap(index, other);
                    lines.concat()
                }
                3 => {
                    let mut owned: Vec<String> =
                        lines.iter().map(|line| line.to_string()).collect();
                    let indents = ["    ", "\t", " ", "        "];
                    let indent = rng.pick(&indents);
                    owned[index].insert_str(0, indent);
                    owned.concat()
                }
                _ => {
                    let mut owned: Vec<String> =
                        lines.iter().map(|line| line.to_string()).collect();
                    let trimmed = owned[index].trim_start().to_string();
                    owned[index] = trimmed;
                    owned.concat()
                }
            }
        }
        // Annotation edits: one occurrence of a dtype, scalar type or rank
        // becomes another.
        7..=8 => {
            let occurrences: Vec<(usize, &str)> = ANNOTATION_WORDS
                .iter()
                .flat_map(|class| class.iter())
                .flat_map(|word| text.match_indices(word))
                .collect();
            if occurrences.is_empty() {
                return text.to_string();
            }
            let (offset, word) = *rng.pick(&occurrences);
            let class = rng.pick(ANNOTATION_WORDS);
            let replacement = rng.pick(class);
            format!(
                "{}{replacement}{}",
                &text[..offset],
                &text[offset + word.len()..]
            )
        }
        // Insertions anywhere, even inside tokens and strings.
        _ => {
            let offset = boundary(rng, text);
            let snippet = random_snippet(rng, &words);
            let separator = if rng.below(2) == 0 { " " } else { "" };
            format!(
                "{}{separator}{snippet}{separator}{}",
                &text[..offset],
                &text[offset..]
            )
        }
    }
}

/// Mutant `index`: one of the inputs, mutated one to four times.
fn mutant(seed: u64, index: u64, inputs: &[(String, String)]) -> (String, String) {
    let mut rng = Rng::for_mutant(seed, index);
    let (name, text) = rng.pick(inputs);
    let mut text = text.clone();
    for _ in 0..1 + rng.below(4) {
        text = mutate_once(&mut rng, &text);
    }
    (name.clone(), text)
}

/// The fixtures and the extra kernel corpus, sorted by path; a missing extra
/// corpus is reported on stderr and skipped.
fn inputs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kernels = kernels_dir();
    let mut paths = Vec::new();
    python_files_under(&root.join("fixtures"), &mut paths);
    if kernels.is_dir() {
        python_files_under(&kernels, &mut paths);
    } else {
        notice(&format!(
            "note: fuzz: no extra kernel corpus at {}; mutating fixtures/ only \
             (set FERROPY_KERNELS_DIR to add one)\n",
            kernels.display()
        ));
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            Some((name, text))
        })
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => {
            let value = value.trim();
            let parsed = match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => value.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number"))
        }
        Err(_) => default,
    }
}

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
    /// The location and the full report of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Keeps panics on the fuzzing thread quiet (they are reported with their
/// mutant) while every other test's panics print as usual.
fn install_quiet_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !FUZZING.with(Cell::get) {
                return default_hook(info);
            }
            let location = info
                .location()
                .map(|location| location.to_string())
                .unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|message| message.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            let backtrace = std::backtrace::Backtrace::force_capture();
            let report = format!("{message} at {location}\n{backtrace}");
            LAST_PANIC.with(|last| *last.borrow_mut() = Some((location, report)));
        }));
    });
}

/// How compiling one mutant ended, short of a panic.
#[derive(PartialEq)]
enum Compiled {
    /// Every stage ran, codegen included.
    Generated,
    /// Stopped at a diagnostic about the program.
    Stopped,
    /// Stopped at FP0001, which only a bug in the compiler reports.
    InternalError(String),
}

/// A kind of failure and the first mutant that showed it.
struct Failure {
    /// What makes two failures the same: the panic location, or "slow" or
    /// "hang".
    key: String,
    /// How many mutants failed this way.
    count: u64,
    index: u64,
    origin: String,
    source: String,
    problem: String,
}

#[test]
fn no_mutant_makes_the_pipeline_panic() {
    let iterations = env_number("FERROPY_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let seed = env_number("FERROPY_FUZZ_SEED", DEFAULT_SEED);
    let inputs = inputs();
    assert!(!inputs.is_empty(), "no fuzz inputs found");
    install_quiet_panic_hook();

    // The mutants are compiled on one worker thread, so a mutant that hangs
    // can be abandoned: the test reports it instead of never finishing.
    let (mutant_sender, mutant_receiver) = mpsc::channel::<SourceFile>();
    let (result_sender, result_receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("fuzz-compile".to_string())
        .stack_size(256 << 20)
        .spawn(move || {
            FUZZING.with(|fuzzing| fuzzing.set(true));
            for file in mutant_receiver {
                let started = Instant::now();
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                    match ferropy::compile(&file, "fuzzed") {
                        Ok(_) => Compiled::Generated,
                        Err(diagnostics) => diagnostics
                            .iter()
                            .find(|d| d.code == codes::INTERNAL_ERROR)
                            .map_or(Compiled::Stopped, |d| {
                                Compiled::InternalError(d.message.clone())
                            }),
                    }
                }));
                let outcome = outcome.map_err(|_| {
                    LAST_PANIC
                        .with(|last| last.borrow_mut().take())
                        .unwrap_or_else(|| ("a panic".to_string(), String::new()))
                });
                if result_sender.send((outcome, started.elapsed())).is_err() {
                    break;
                }
            }
        })
        .expect("starting the fuzz worker");

    let started = Instant::now();
    let mut failures: Vec<Failure> = Vec::new();
    let mut failed = 0u64;
    let mut compiled = 0u64;
    // Mutants that got through every stage, codegen included; the rest
    // stopped at a diagnostic.
    let mut generated_crates = 0u64;
    for index in 0..iterations {
        let (origin, source) = mutant(seed, index, &inputs);
        let file = SourceFile {
            path: format!("mutant_{index}.py"),
            text: source.clone(),
        };
        mutant_sender.send(file).expect("the fuzz worker stopped");
        let (key, problem) = match result_receiver.recv_timeout(HANG_LIMIT) {
            Ok((Ok(Compiled::InternalError(message)), _)) => (
                format!("internal error: {message}"),
                format!("reported an internal error (FP0001): {message}"),
            ),
            Ok((Ok(generated), elapsed)) if elapsed <= SLOW_MUTANT => {
                compiled += 1;
                generated_crates += u64::from(generated == Compiled::Generated);
                continue;
            }
            Ok((Ok(_), elapsed)) => (
                "slow".to_string(),
                format!(
                    "took {:.1} s (limit {} s)",
                    elapsed.as_secs_f64(),
                    SLOW_MUTANT.as_secs()
                ),
            ),
            Ok((Err((location, report)), _)) => (location, format!("panicked: {report}")),
            Err(_) => (
                "hang".to_string(),
                format!(
                    "did not finish within {} s; fuzzing stopped here",
                    HANG_LIMIT.as_secs()
                ),
            ),
        };
        compiled += 1;
        failed += 1;
        let hung = key == "hang";
        match failures.iter_mut().find(|failure| failure.key == key) {
            Some(failure) => failure.count += 1,
            None => failures.push(Failure {
                key,
                count: 1,
                index,
                origin,
                source,
                problem,
            }),
        }
        if hung || failures.len() >= MAX_FAILURES {
            break;
        }
    }
    notice(&format!(
        "fuzz: {compiled} mutants of {} inputs (seed {seed:#x}) in {:.1} s: \
         {generated_crates} compiled to Rust, {failed} failed, {} distinct failures\n",
        inputs.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    ));
    if failures.is_empty() {
        return;
    }

    let failure_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&failure_dir).expect("creating the fuzz failure directory");
    let mut report = String::new();
    for failure in &failures {
        // A valid module name, so `ferropy emit` takes the file as it is.
        let path = failure_dir.join(format!("seed_{seed:x}_mutant_{}.py", failure.index));
        std::fs::write(&path, &failure.source).expect("writing a failing mutant");
        report.push_str(&format!(
            "{} mutants failed like mutant {} of {} (FERROPY_FUZZ_SEED={seed:#x}), \
             written to {}:\n{}\n----- SOURCE\n{}\n-----\n\n",
            failure.count,
            failure.index,
            failure.origin,
            path.display(),
            failure.problem,
            failure.source
        ));
    }
    panic!(
        "{failed} of {compiled} mutants failed, {} distinct failures:\n\n{report}",
        failures.len()
    );
}

#[test]
fn mutants_are_reproducible_and_varied() {
    let inputs = vec![(
        "k.py".to_string(),
        "def f(a: \"float64[:]\", n: int) -> float:\n    return a[n] * 2.0\n".to_string(),
    )];
    let first: Vec<String> = (0..50).map(|index| mutant(7, index, &inputs).1).collect();
    let again: Vec<String> = (0..50).map(|index| mutant(7, index, &inputs).1).collect();
    assert_eq!(first, again);
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    assert!(
        distinct.len() > 40,
        "only {} distinct mutants",
        distinct.len()
    );
}

#[test]
fn tokens_keep_every_byte() {
    let text = "def f(x: \"int32[:, :]\") -> float:\n\treturn x[0, 1] ** 2.5  # é\n";
    assert_eq!(tokens(text).concat(), text);
    assert!(tokens(text).contains(&"return"));
    assert!(tokens(text).contains(&"2.5"));
}
