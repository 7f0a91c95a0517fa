//! Build stage: turns a `GeneratedCrate` into an importable extension module.
//!
//! This is the only part of ferropy that does IO. It asks the target Python for
//! its extension suffix, writes the generated crate under the cache directory,
//! runs cargo, and installs `<module><EXT_SUFFIX>` and `<module>.pyi`. The
//! decisions (names, cache keys, file contents, flags, reading cargo's output)
//! are small pure functions so that they can be tested without running
//! anything.
//!
//! The runtime (`templates/rt.rs`) is a crate of its own, `ferropy-rt`, that
//! every generated crate depends on by path and refers to as `rt`; so, like
//! pyo3 and numpy, it compiles once per machine rather than in every build.
//! Code is compiled for the building machine's processor
//! (`-C target-cpu=native`) unless the build is portable (`TargetCpu`); the
//! flags reach cargo through `CARGO_ENCODED_RUSTFLAGS`, which also keeps a
//! user's `RUSTFLAGS` out of builds the cache key could not describe.
//!
//! Cache layout, under `cache_dir()`:
//! - `target/<flavour>/`: one `CARGO_TARGET_DIR` per flavour
//!   (`portable-<hash of the flags>`, or `native-<hash of the host's CPU
//!   features and the flags>`) shared by every generated
//!   crate, so the pinned dependencies (pyo3, numpy, ndarray) and the runtime
//!   compile once per machine and flavour, and switching flavours rebuilds
//!   nothing;
//! - `runtime/<hash>/`: the runtime crate, named by a hash of its manifest and
//!   source, so ferropy versions with different runtimes never share one;
//! - `crates/<package>/`: the sources of one generated crate per source file;
//! - `crates/<package>.lock`: locked while the crate is written, built and
//!   published, so concurrent builds of one source file take turns;
//! - `artifacts/<hash>/<module><EXT_SUFFIX>` and `artifacts/<hash>/SHA256SUMS`:
//!   built extensions by content hash (generated code, templates, runtime,
//!   flavour, interpreter) with their checksum, so an unchanged module is
//!   installed without starting cargo.
//!
//! Faults lose nothing. Every file is replaced by renaming a complete,
//! flushed temporary over it, and an artifact directory appears by one rename,
//! so a build killed at any point leaves the previous module installed and
//! the cache either without the entry or with a whole one. An entry whose
//! bytes do not match its checksum is discarded and rebuilt, never installed.
//! A killed build's leftovers (temporary files in its crate, its staging
//! directory) are cleared by the next build of the same crate, under its lock;
//! the lock itself dies with the process that held it. The runtime crate is
//! shared by every build and has no lock: its files are only ever replaced by
//! the same bytes, and a temporary file a killed build leaves beside them stays
//! (cargo never reads it), since another build may be writing its own.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::GeneratedCrate;

const CARGO_TOML_TEMPLATE: &str = include_str!("../templates/Cargo.toml.in");
const CARGO_LOCK_TEMPLATE: &str = include_str!("../templates/Cargo.lock");
/// The runtime crate: its manifest and its one source file.
const RT_CARGO_TOML: &str = include_str!("../templates/rt.Cargo.toml");
const RT_RS_TEMPLATE: &str = include_str!("../templates/rt.rs");

/// The placeholder in the manifest and lock templates that stands for the
/// generated package's name.
const PACKAGE_NAME_PLACEHOLDER: &str = "@PACKAGE_NAME@";
/// The placeholder in the manifest template that stands for the path of the
/// runtime crate (a TOML string's contents).
const RUNTIME_PATH_PLACEHOLDER: &str = "@RUNTIME_PATH@";

/// Where `emit --crate DIR` puts the runtime crate: inside DIR, so that the
/// written crate builds on its own and can be moved as one directory.
pub const EMBEDDED_RUNTIME_DIR: &str = "ferropy-rt";

/// Mode of written text files (before the umask), as an editor would create them.
const TEXT_FILE_MODE: u32 = 0o644;
/// Mode of installed extension modules, the same a linker gives a shared library.
const LIBRARY_FILE_MODE: u32 = 0o755;

/// How the temporary files of atomic writes are named, so that those a
/// killed build leaves behind can be recognised.
const TEMPORARY_PREFIX: &str = ".ferropy-";
const TEMPORARY_SUFFIX: &str = ".tmp";

/// The oldest CPython the pinned pyo3 supports.
const MINIMUM_PYTHON: (u32, u32) = (3, 7);

/// Asks the interpreter everything the build needs in one start-up. The version
/// is printed before the imports so that a Python 2 can still be named in the
/// error when `importlib.util` is missing. NumPy is located without importing
/// it, which would cost far more than the whole query: first as a package
/// directory on `sys.path` (a few `stat`s), and only when that fails by
/// `find_spec`, which also sees zipped and hooked installs but costs about a
/// fifth of the query's time (importing `importlib.util`, listing every path
/// entry). Its start-up is most of the time of a build served from the cache.
const INTERPRETER_QUERY: &str = "\
import sys
print(sys.executable)
print('%d.%d.%d' % tuple(sys.version_info[:3]))
sys.stdout.flush()
import os, sysconfig
print(sysconfig.get_config_var('EXT_SUFFIX') or '')
def has_numpy():
    for entry in sys.path:
        if os.path.isfile(os.path.join(entry or '.', 'numpy', '__init__.py')):
            return True
    import importlib.util
    return importlib.util.find_spec('numpy') is not None
print('numpy' if has_numpy() else 'no numpy')
";

/// The root of ferropy's cache: `FERROPY_CACHE_DIR` if set, else
/// `$XDG_CACHE_HOME/ferropy`, else `$HOME/.cache/ferropy`.
pub fn cache_dir() -> PathBuf {
    let dir = cache_dir_from(|name| std::env::var_os(name));
    // Cargo resolves a relative CARGO_TARGET_DIR against its own working
    // directory; an absolute cache path makes every use agree.
    std::path::absolute(&dir).unwrap_or(dir)
}

/// `cache_dir` with the environment passed in, so the rules can be tested.
fn cache_dir_from(variable: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    // An empty variable counts as unset, as the XDG base directory spec says;
    // the spec also says to ignore a relative XDG_CACHE_HOME.
    let set = |name: &str| variable(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("FERROPY_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = set("XDG_CACHE_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return xdg.join("ferropy");
        }
    }
    if let Some(home) = set("HOME") {
        return PathBuf::from(home).join(".cache").join("ferropy");
    }
    // Without a home directory the cache still has to live somewhere; the
    // temporary directory at least keeps repeated builds fast until reboot.
    std::env::temp_dir().join("ferropy-cache")
}

/// The Python an extension is built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpreter {
    /// `sys.executable`; pyo3 is built against it (`PYO3_PYTHON`).
    pub executable: PathBuf,
    /// `major.minor.micro`, e.g. `3.11.7`.
    pub version: String,
    /// `sysconfig.get_config_var("EXT_SUFFIX")`, e.g.
    /// `.cpython-311-x86_64-linux-gnu.so`.
    pub ext_suffix: String,
}

/// Finds the target Python (`--python PATH`, else `python3` on PATH) and checks
/// that it is a recent enough Python 3 with NumPy installed. Runs it once.
pub fn find_interpreter(python: Option<&Path>) -> Result<Interpreter, BuildError> {
    let program = python.unwrap_or(Path::new("python3"));
    let output = Command::new(program)
        .arg("-c")
        .arg(INTERPRETER_QUERY)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(BuildError::PythonNotFound {
                requested: python.map(Path::to_path_buf),
            });
        }
        Err(error) => {
            return Err(BuildError::PythonUnusable {
                python: program.to_path_buf(),
                detail: error.to_string(),
            });
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report =
        parse_interpreter_report(&stdout, output.status.success(), &stderr).map_err(|detail| {
            BuildError::PythonUnusable {
                python: program.to_path_buf(),
                detail,
            }
        })?;
    // An embedded or oddly installed Python may not know its own path; the
    // path it was started with works just as well for PYO3_PYTHON.
    let executable = if report.executable.is_empty() {
        program.to_path_buf()
    } else {
        PathBuf::from(report.executable)
    };
    if !report.has_numpy {
        return Err(BuildError::NumpyMissing { python: executable });
    }
    Ok(Interpreter {
        executable,
        version: report.version,
        ext_suffix: report.ext_suffix,
    })
}

/// What `INTERPRETER_QUERY` printed, before it is checked for NumPy.
#[derive(Debug, PartialEq, Eq)]
struct InterpreterReport {
    executable: String,
    version: String,
    ext_suffix: String,
    has_numpy: bool,
}

/// Reads the output of `INTERPRETER_QUERY`; the error is a sentence saying why
/// the interpreter cannot be used.
fn parse_interpreter_report(
    stdout: &str,
    succeeded: bool,
    stderr: &str,
) -> Result<InterpreterReport, String> {
    let mut lines = stdout.lines();
    let executable = lines.next().unwrap_or("").trim().to_string();
    let version = lines.next().unwrap_or("").trim().to_string();
    if let Some((major, minor)) = parse_major_minor(&version) {
        if (major, minor) < MINIMUM_PYTHON {
            return Err(format!(
                "it is Python {version}, and ferropy needs Python {}.{} or newer",
                MINIMUM_PYTHON.0, MINIMUM_PYTHON.1
            ));
        }
    }
    let is_python = parse_major_minor(&version).is_some();
    if !succeeded {
        // The last line of a traceback names the error; anything else that
        // fails to run the query is probably not Python at all.
        let last_line = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return Err(match (is_python, last_line) {
            (true, Some(line)) => format!("querying it failed: {}", shortened(line.trim())),
            (true, None) => "querying it failed without a message".to_string(),
            (false, Some(line)) => format!(
                "it did not run as a Python interpreter: {}",
                shortened(line.trim())
            ),
            (false, None) => "it did not run as a Python interpreter".to_string(),
        });
    }
    if !is_python {
        return Err(format!(
            "it did not answer like a Python interpreter (its version line was {:?})",
            shortened(&version)
        ));
    }
    let ext_suffix = lines.next().unwrap_or("").trim().to_string();
    if ext_suffix.is_empty() {
        return Err("its sysconfig has no EXT_SUFFIX for extension modules".to_string());
    }
    let has_numpy = match lines.next().map(str::trim) {
        Some("numpy") => true,
        Some("no numpy") => false,
        _ => return Err("it printed fewer lines than expected".to_string()),
    };
    Ok(InterpreterReport {
        executable,
        version,
        ext_suffix,
        has_numpy,
    })
}

/// At most a line's worth of `text`, so a runaway message cannot bury the
/// sentence it is quoted in.
fn shortened(text: &str) -> String {
    const LIMIT: usize = 160;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Why a module could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// `--python PATH` does not exist, or there is no `python3` on PATH.
    PythonNotFound { requested: Option<PathBuf> },
    /// The interpreter exists but is too old, broken, or not Python at all.
    PythonUnusable { python: PathBuf, detail: String },
    /// The interpreter cannot import NumPy, which every generated module needs.
    NumpyMissing { python: PathBuf },
    /// `cargo --version` did not run; `detail` is what went wrong when it ran
    /// but failed (rustup without a default toolchain, say).
    CargoUnavailable { detail: Option<String> },
    /// The output directory cannot be created or written to. `file_in_the_way`
    /// is the regular file found where a directory of its path should be.
    OutputDirUnwritable {
        dir: PathBuf,
        file_in_the_way: Option<PathBuf>,
        source: io::Error,
    },
    /// Reading or writing a file failed (a full disk, a read-only cache);
    /// `context` says which file and what for.
    Io { context: String, source: io::Error },
    /// cargo was killed by a signal (from the user, or the out-of-memory
    /// killer) before it finished; nothing was installed.
    CargoInterrupted { module: String, signal: i32 },
    /// cargo did not produce the extension. Generated code should always
    /// compile, so this is a bug in ferropy rather than in the user's program.
    CargoFailed {
        module: String,
        crate_dir: PathBuf,
        messages: String,
    },
}

impl BuildError {
    /// Whether the error is ferropy's fault (to be reported as a bug) rather
    /// than the environment's (to be fixed by the user as the message says).
    pub fn is_internal(&self) -> bool {
        matches!(self, BuildError::CargoFailed { .. })
    }

    /// Whether the error would recur for every other module of the same run
    /// (no Python, no NumPy, no cargo), so that building the rest is pointless.
    pub fn affects_every_module(&self) -> bool {
        matches!(
            self,
            BuildError::PythonNotFound { .. }
                | BuildError::PythonUnusable { .. }
                | BuildError::NumpyMissing { .. }
                | BuildError::CargoUnavailable { .. }
        )
    }

    fn io(context: impl Into<String>, source: io::Error) -> BuildError {
        BuildError::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::PythonNotFound { requested: None } => write!(
                formatter,
                "python3 not found on PATH; install Python 3 or pass --python PATH"
            ),
            BuildError::PythonNotFound {
                requested: Some(python),
            } => write!(
                formatter,
                "Python interpreter {} not found; pass --python with the path of a \
                 Python 3 executable",
                python.display()
            ),
            BuildError::PythonUnusable { python, detail } => write!(
                formatter,
                "{} cannot be used as the target Python: {detail}; pass --python with \
                 the path of a Python 3 (>= {}.{}) executable",
                python.display(),
                MINIMUM_PYTHON.0,
                MINIMUM_PYTHON.1
            ),
            BuildError::NumpyMissing { python } => write!(
                formatter,
                "NumPy is not installed for {python}; run `{python} -m pip install numpy` \
                 or pass --python with an interpreter that has NumPy",
                python = python.display()
            ),
            BuildError::CargoUnavailable { detail } => {
                write!(formatter, "cargo is needed to build extension modules but ")?;
                match detail {
                    None => write!(formatter, "was not found on PATH")?,
                    Some(detail) => write!(formatter, "`cargo --version` failed: {detail}")?,
                }
                write!(
                    formatter,
                    "; install Rust with rustup (https://rustup.rs) and make sure `cargo` \
                     runs in this shell"
                )
            }
            BuildError::OutputDirUnwritable {
                dir,
                file_in_the_way,
                source,
            } => {
                write!(
                    formatter,
                    "cannot write to the output directory {}: {source}; ",
                    dir.display()
                )?;
                match file_in_the_way {
                    Some(file) => write!(
                        formatter,
                        "{} is a file, not a directory: move it away or pass -o with \
                         another directory",
                        file.display()
                    ),
                    None => write!(
                        formatter,
                        "pass -o with a directory you can write to, or make {} writable",
                        dir.display()
                    ),
                }
            }
            BuildError::Io { context, source } => write!(formatter, "{context}: {source}"),
            BuildError::CargoInterrupted { module, signal } => write!(
                formatter,
                "cargo was killed by signal {signal} while building module `{module}`, and \
                 nothing was installed; run ferropy again (if cargo keeps being killed, the \
                 machine may be running out of memory)"
            ),
            BuildError::CargoFailed {
                module,
                crate_dir,
                messages,
            } => {
                write!(
                    formatter,
                    "internal error: cargo failed to build the generated crate for module \
                     `{module}`.\nGenerated code should always compile, so this is a bug in \
                     ferropy: please report it with the source file. (If the messages below \
                     point at the network or the disk instead, fix that and run ferropy \
                     again.)\nThe generated crate is in {}.",
                    crate_dir.display()
                )?;
                let messages = messages.trim_end();
                if !messages.is_empty() {
                    write!(formatter, "\ncargo's messages:\n{messages}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io { source, .. } | BuildError::OutputDirUnwritable { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// The cargo package name of a source file's generated crate:
/// `fp_<module>_<first 8 hex digits of sha256(canonical path)>`.
///
/// It is stable per source file, so an edit rebuilds only that crate, and two
/// modules of the same name in different directories never collide in the
/// shared target directory. The module part is lowercased because rustc warns
/// about crate names that are not snake case.
pub fn package_name(module_name: &str, canonical_source: &Path) -> String {
    let digest = Sha256::digest(path_bytes(canonical_source));
    format!(
        "fp_{}_{}",
        module_name.to_ascii_lowercase(),
        to_hex(&digest[..4])
    )
}

/// Which processors a built extension is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetCpu {
    /// The building machine's own (`-C target-cpu=native`), as Numba and
    /// Pythran do: every instruction-set extension the host has (AVX2, FMA,
    /// AVX-512 …) is used. The default.
    #[default]
    Native,
    /// The architecture's baseline (`ferropy build --portable`), for modules
    /// copied to other machines.
    Portable,
}

/// How generated code is compiled, beyond its sources: the processor it is
/// for and, for native builds, what the host's processor can execute. It
/// decides the rustc flags, a part of the cache key and the target directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flavour {
    pub cpu: TargetCpu,
    /// For native builds, the host's instruction-set extensions
    /// (`host_cpu_features`), so that a cache shared by machines with other
    /// processors (a network home directory) never serves or links code one
    /// of them cannot run; empty for portable builds.
    pub host_features: String,
}

impl Flavour {
    /// The flavour of `cpu` on this machine.
    pub fn for_host(cpu: TargetCpu) -> Flavour {
        let host_features = match cpu {
            TargetCpu::Native => host_cpu_features(),
            TargetCpu::Portable => String::new(),
        };
        Flavour { cpu, host_features }
    }

    /// The rustc flags of every crate of the build (the generated crate, the
    /// runtime and the dependencies alike).
    ///
    /// `-hoist-runtime-checks=false` keeps LLVM's vectoriser testing, for an
    /// inner loop that may read what it stores (`d[i, j]` against `d[k, j]`),
    /// whether the ranges that loop touches overlap, each time the loop starts.
    /// Its default tests instead, once before the enclosing loop, the ranges
    /// all its iterations touch together; within one array those always
    /// overlap, so the vector loop never ran.
    fn rustflags(&self) -> &'static [&'static str] {
        match self.cpu {
            TargetCpu::Native => &[
                "-Ctarget-cpu=native",
                "-Cllvm-args=-hoist-runtime-checks=false",
            ],
            TargetCpu::Portable => &["-Cllvm-args=-hoist-runtime-checks=false"],
        }
    }

    /// `rustflags` as cargo reads them from `CARGO_ENCODED_RUSTFLAGS`
    /// (separated by ASCII unit separators). Set, even empty, that variable
    /// wins over `RUSTFLAGS` and every rustflags setting of cargo's config,
    /// so a user's flags cannot change what the cache key describes.
    pub fn encoded_rustflags(&self) -> String {
        self.rustflags().join("\u{1f}")
    }

    /// The directory under `<cache>/target/` that is this flavour's
    /// `CARGO_TARGET_DIR`. Cargo rebuilds everything when the flags change,
    /// so each flavour keeps compiled dependencies of its own and switching
    /// between them costs nothing after the first build of each.
    pub fn target_subdir(&self) -> String {
        match self.cpu {
            TargetCpu::Portable => format!(
                "portable-{}",
                to_hex(&Sha256::digest(self.encoded_rustflags().as_bytes())[..4])
            ),
            TargetCpu::Native => {
                // The flags too, so that builds with other flags (an older
                // ferropy's) keep their own compiled dependencies.
                let digest = Sha256::digest(
                    [
                        self.host_features.as_bytes(),
                        self.encoded_rustflags().as_bytes(),
                    ]
                    .join(&0u8),
                );
                format!("native-{}", to_hex(&digest[..4]))
            }
        }
    }
}

/// What the host processor can execute, as a stable list: the architecture
/// and the instruction-set extensions that `target-cpu=native` may use.
/// Detection is by `cpuid` (or the OS on other architectures) and cached by
/// the standard library, so calling this on every build costs microseconds.
pub fn host_cpu_features() -> String {
    #[allow(unused_mut)]
    let mut features: Vec<&str> = Vec::new();
    macro_rules! detect {
        ($detected:ident: $($feature:tt),* $(,)?) => {
            $(if std::arch::$detected!($feature) {
                features.push($feature);
            })*
        };
    }
    // Names whose detection is stable since long before the oldest supported
    // toolchain (Rust 1.27 for x86, 1.60 for aarch64).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    detect!(is_x86_feature_detected:
        "sse3", "ssse3", "sse4.1", "sse4.2", "sse4a", "popcnt", "pclmulqdq",
        "aes", "sha", "rdrand", "rdseed", "adx", "bmi1", "bmi2", "lzcnt", "tbm",
        "fxsr", "xsave", "xsaveopt", "xsaves", "xsavec", "cmpxchg16b", "f16c",
        "fma", "avx", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq",
        "avx512vl", "avx512ifma", "avx512vbmi", "avx512vpopcntdq", "avx512vbmi2",
        "avx512vnni", "avx512bitalg", "avx512bf16", "avx512vp2intersect",
    );
    #[cfg(target_arch = "aarch64")]
    detect!(is_aarch64_feature_detected:
        "neon", "fp16", "fhm", "fcma", "jsconv", "rdm", "dotprod", "i8mm", "bf16",
        "lse", "crc", "aes", "pmull", "sha2", "sha3", "sve", "sve2",
    );
    format!("{}: {}", std::env::consts::ARCH, features.join(" "))
}

/// The name of the runtime crate's directory under `<cache>/runtime/`: a
/// hash of its manifest and source, so that a ferropy with another runtime
/// writes and compiles a crate of its own instead of reusing a stale one.
pub fn runtime_hash() -> String {
    runtime_hash_of(&TEMPLATES)
}

fn runtime_hash_of(templates: &Templates) -> String {
    to_hex(
        &length_prefixed_digest(&[
            templates.rt_cargo_toml.as_bytes(),
            templates.rt_rs.as_bytes(),
        ])[..8],
    )
}

/// The texts that ferropy writes beside the generated code.
struct Templates<'a> {
    cargo_toml: &'a str,
    cargo_lock: &'a str,
    rt_cargo_toml: &'a str,
    rt_rs: &'a str,
}

const TEMPLATES: Templates<'static> = Templates {
    cargo_toml: CARGO_TOML_TEMPLATE,
    cargo_lock: CARGO_LOCK_TEMPLATE,
    rt_cargo_toml: RT_CARGO_TOML,
    rt_rs: RT_RS_TEMPLATE,
};

/// The SHA-256 of `fields`, each preceded by its length: moving text from
/// one field to the next changes the digest.
fn length_prefixed_digest(fields: &[&[u8]]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field);
    }
    hasher.finalize().to_vec()
}

/// The cache key of a built extension: everything that can change its bytes
/// or what is installed beside it.
pub fn content_hash(
    krate: &GeneratedCrate,
    interpreter: &Interpreter,
    flavour: &Flavour,
) -> String {
    content_hash_of(krate, interpreter, flavour, &TEMPLATES)
}

fn content_hash_of(
    krate: &GeneratedCrate,
    interpreter: &Interpreter,
    flavour: &Flavour,
    templates: &Templates,
) -> String {
    let cpu: &[u8] = match flavour.cpu {
        TargetCpu::Native => b"native",
        TargetCpu::Portable => b"portable",
    };
    let late_passes = if crate::codegen::kernels::has_speculative_forms(&krate.lib_rs) {
        LATE_PASSES.join("\u{1f}")
    } else {
        String::new()
    };
    to_hex(&length_prefixed_digest(&[
        crate::VERSION.as_bytes(),
        krate.module_name.as_bytes(),
        krate.lib_rs.as_bytes(),
        krate.pyi.as_bytes(),
        templates.cargo_toml.as_bytes(),
        templates.cargo_lock.as_bytes(),
        templates.rt_cargo_toml.as_bytes(),
        templates.rt_rs.as_bytes(),
        cpu,
        flavour.encoded_rustflags().as_bytes(),
        late_passes.as_bytes(),
        flavour.host_features.as_bytes(),
        &path_bytes(&interpreter.executable),
        interpreter.version.as_bytes(),
        interpreter.ext_suffix.as_bytes(),
    ]))
}

/// A template with the package-name placeholder filled in.
fn render_template(template: &str, package: &str) -> String {
    template.replace(PACKAGE_NAME_PLACEHOLDER, package)
}

/// `text` as the contents of a TOML basic string (between double quotes).
fn toml_string_contents(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The files of a generated crate, as paths relative to its root. The
/// manifest names the runtime crate at `runtime_path`, absolute or relative
/// to the crate's root.
fn crate_files(
    krate: &GeneratedCrate,
    package: &str,
    runtime_path: &Path,
) -> [(&'static str, String); 3] {
    let runtime_path = toml_string_contents(&runtime_path.to_string_lossy());
    let manifest = render_template(CARGO_TOML_TEMPLATE, package)
        .replace(RUNTIME_PATH_PLACEHOLDER, &runtime_path);
    [
        ("Cargo.toml", manifest),
        ("Cargo.lock", render_template(CARGO_LOCK_TEMPLATE, package)),
        ("src/lib.rs", krate.lib_rs.clone()),
    ]
}

/// The files of the runtime crate, as paths relative to its root.
fn runtime_files() -> [(&'static str, &'static str); 2] {
    [
        ("Cargo.toml", RT_CARGO_TOML),
        ("src/lib.rs", RT_RS_TEMPLATE),
    ]
}

/// Writes `files` (paths relative to `dir`), leaving those whose content is
/// unchanged alone, which keeps their modification times and so lets cargo
/// skip work; the others are replaced atomically, so an interrupted write
/// never leaves a truncated file.
fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> io::Result<()> {
    for (relative_path, contents) in files {
        let path = dir.join(relative_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|error| with_path(error, parent))?;
        }
        write_if_changed(&path, contents.as_bytes(), TEXT_FILE_MODE)
            .map_err(|error| with_path(error, &path))?;
    }
    Ok(())
}

/// Writes the generated crate (Cargo.toml, Cargo.lock, src/lib.rs) into
/// `dir`, its manifest depending on the runtime crate at `runtime_path`
/// (absolute, or relative to `dir`). Unchanged files are left alone.
pub fn write_crate(
    krate: &GeneratedCrate,
    package: &str,
    dir: &Path,
    runtime_path: &Path,
) -> io::Result<()> {
    let files = crate_files(krate, package, runtime_path);
    write_files(
        dir,
        files
            .iter()
            .map(|(path, contents)| (*path, contents.as_str())),
    )
}

/// Writes the runtime crate (Cargo.toml, src/lib.rs) into `dir`. Writing the
/// same runtime again changes nothing, so concurrent builds may both do it.
pub fn write_runtime(dir: &Path) -> io::Result<()> {
    write_files(dir, runtime_files())
}

/// Writes a generated crate that builds on its own, as `emit --crate DIR`
/// does: the crate in `dir` and the runtime crate inside it, in
/// `dir/ferropy-rt/` (cargo makes it a member of the crate's workspace).
pub fn write_standalone_crate(krate: &GeneratedCrate, package: &str, dir: &Path) -> io::Result<()> {
    write_runtime(&dir.join(EMBEDDED_RUNTIME_DIR))?;
    write_crate(krate, package, dir, Path::new(EMBEDDED_RUNTIME_DIR))
}

/// The files `write_standalone_crate` and `write_stub` write for `emit
/// --crate`, as paths relative to the crate directory (with `/`), each with
/// its contents, in a fixed order: what `emit --crate DIR --check` compares
/// with DIR.
pub fn standalone_crate_files(krate: &GeneratedCrate, package: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> =
        crate_files(krate, package, Path::new(EMBEDDED_RUNTIME_DIR))
            .into_iter()
            .map(|(path, contents)| (path.to_string(), contents))
            .collect();
    files.extend(runtime_files().into_iter().map(|(path, contents)| {
        (
            format!("{EMBEDDED_RUNTIME_DIR}/{path}"),
            contents.to_string(),
        )
    }));
    files.push((format!("{}.pyi", krate.module_name), krate.pyi.clone()));
    files
}

/// The package name of a crate written by `emit --crate`:
/// `fp_<module>_<first 8 hex digits of sha256(relative path)>`, where the
/// relative path leads from the crate directory to the source file (with
/// `/` between components). Unlike [`package_name`] it does not depend on
/// where the project is checked out, so a crate committed to a repository
/// stays current in every clone (`emit --crate DIR --check`), while two
/// sources of the same module name still get different packages.
pub fn standalone_package_name(module_name: &str, source_from_crate_dir: &str) -> String {
    let digest = Sha256::digest(source_from_crate_dir.as_bytes());
    format!(
        "fp_{}_{}",
        module_name.to_ascii_lowercase(),
        to_hex(&digest[..4])
    )
}

/// The path of `to` relative to the directory `from`, both absolute and
/// free of `.`/`..` components (canonical), with `/` between components:
/// `../src/kernels.py`. `None` when no relative path exists (different
/// Windows drives).
pub fn relative_path(from: &Path, to: &Path) -> Option<String> {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

/// Writes `<dir>/<module>.pyi` (unless it already holds the same text) and
/// returns its path.
pub fn write_stub(krate: &GeneratedCrate, dir: &Path) -> io::Result<PathBuf> {
    let path = dir.join(format!("{}.pyi", krate.module_name));
    write_if_changed(&path, krate.pyi.as_bytes(), TEXT_FILE_MODE)
        .map_err(|error| with_path(error, &path))?;
    Ok(path)
}

/// Writes `<dir>/<module>.rs`, a module emitted for a Rust crate (unless it
/// already holds the same text, so cargo does not rebuild the crate for
/// nothing), creating `dir` if needed, and returns its path.
pub fn write_rust_module(dir: &Path, module_name: &str, text: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|error| with_path(error, dir))?;
    let path = dir.join(format!("{module_name}.rs"));
    write_if_changed(&path, text.as_bytes(), TEXT_FILE_MODE)
        .map_err(|error| with_path(error, &path))?;
    Ok(path)
}

/// How `build_module` is asked to build.
#[derive(Clone, Copy, Debug)]
pub struct BuildOptions<'a> {
    pub interpreter: &'a Interpreter,
    /// Where `<module><EXT_SUFFIX>` and `<module>.pyi` go; created if missing.
    pub out_dir: &'a Path,
    /// Usually `cache_dir()`.
    pub cache_dir: &'a Path,
    /// Silences the spinner and the progress lines.
    pub quiet: bool,
    /// The processors the extension is for.
    pub cpu: TargetCpu,
}

/// What `build_module` installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOutcome {
    /// `<out_dir>/<module><EXT_SUFFIX>`.
    pub extension: PathBuf,
    /// `<out_dir>/<module>.pyi`.
    pub stub: PathBuf,
    /// True when the extension came from the artifact cache without cargo.
    pub cached: bool,
    pub elapsed: Duration,
}

/// Builds one module and installs it into `options.out_dir`.
///
/// An extension already in the artifact cache under the same content hash,
/// and matching its checksum, is installed without starting cargo; otherwise
/// the crate is written to `<cache>/crates/<package>/`, built in the shared
/// target directory and published to the artifact cache, all under the
/// crate's lock.
pub fn build_module(
    krate: &GeneratedCrate,
    source_path: &Path,
    options: &BuildOptions,
) -> Result<BuildOutcome, BuildError> {
    let started = Instant::now();
    // Checked first, so that an unusable output directory is reported before
    // a build whose result could not be installed.
    prepare_output_dir(options.out_dir)?;
    let module = krate.module_name.as_str();
    let file_name = format!("{module}{}", options.interpreter.ext_suffix);
    let flavour = Flavour::for_host(options.cpu);
    let hash = content_hash(krate, options.interpreter, &flavour);
    let artifacts_dir = options.cache_dir.join("artifacts");
    let entry = artifacts_dir.join(&hash);

    // A whole, verified entry can be installed without the lock: entries
    // appear by one rename and the bytes installed are the bytes checked.
    let (bytes, cached) = match read_cached_artifact(&entry, &file_name) {
        CachedArtifact::Valid(bytes) => (bytes, true),
        CachedArtifact::Missing | CachedArtifact::Damaged(_) => {
            let canonical_source = fs::canonicalize(source_path).map_err(|error| {
                BuildError::io(format!("cannot resolve {}", source_path.display()), error)
            })?;
            let package = package_name(module, &canonical_source);
            let crates_dir = options.cache_dir.join("crates");
            let _lock = lock_crate(&crates_dir, &package, module, options.quiet)?;
            // Looked at again under the lock: a concurrent build of the same
            // file may have published it while this one waited.
            match read_cached_artifact(&entry, &file_name) {
                CachedArtifact::Valid(bytes) => (bytes, true),
                found => {
                    if let CachedArtifact::Damaged(reason) = found {
                        if !options.quiet {
                            eprintln!(
                                "note: discarding the cached build of {module} in {}: \
                                 {reason}; rebuilding it",
                                entry.display()
                            );
                        }
                        discard_entry(&artifacts_dir, &package, &entry).map_err(|error| {
                            BuildError::io(
                                format!(
                                    "cannot remove the damaged cache entry {}",
                                    entry.display()
                                ),
                                error,
                            )
                        })?;
                    }
                    let crate_dir = crates_dir.join(&package);
                    let bytes = build_artifact(krate, &package, &crate_dir, &flavour, options)?;
                    publish_artifact(&artifacts_dir, &hash, &package, &file_name, &bytes).map_err(
                        |error| {
                            BuildError::io(
                                format!("cannot store the built module in {}", entry.display()),
                                error,
                            )
                        },
                    )?;
                    (bytes, false)
                }
            }
        }
    };

    let extension = options.out_dir.join(&file_name);
    install_extension(&bytes, &extension)?;
    let stub = write_stub(krate, options.out_dir)
        .map_err(|error| BuildError::io("cannot write the stub", error))?;

    let elapsed = started.elapsed();
    if !options.quiet {
        let how = if cached {
            "(cached)".to_string()
        } else {
            format!("in {:.1}s", elapsed.as_secs_f64())
        };
        eprintln!("Built {module} -> {} {how}", extension.display());
    }
    Ok(BuildOutcome {
        extension,
        stub,
        cached,
        elapsed,
    })
}

/// Writes the runtime and the crate, runs cargo and returns the bytes of the
/// extension it built. The caller holds the crate's lock.
fn build_artifact(
    krate: &GeneratedCrate,
    package: &str,
    crate_dir: &Path,
    flavour: &Flavour,
    options: &BuildOptions,
) -> Result<Vec<u8>, BuildError> {
    let runtime_dir = options.cache_dir.join("runtime").join(runtime_hash());
    write_runtime(&runtime_dir)
        .map_err(|error| BuildError::io("cannot write the runtime crate", error))?;
    remove_stale_temporaries(crate_dir);
    write_crate(krate, package, crate_dir, &runtime_dir)
        .map_err(|error| BuildError::io("cannot write the generated crate", error))?;
    let late_passes = crate::codegen::kernels::has_speculative_forms(&krate.lib_rs);
    let library = run_cargo(&krate.module_name, crate_dir, flavour, late_passes, options)?;
    fs::read(&library).map_err(|error| {
        BuildError::io(
            format!("cannot read cargo's output {}", library.display()),
            error,
        )
    })
}

/// Creates the output directory if needed and proves that files can be
/// created in it. Creating succeeds for a directory that exists read-only, so
/// a probe file is written (and removed) as well.
fn prepare_output_dir(out_dir: &Path) -> Result<(), BuildError> {
    let unwritable = |source: io::Error| BuildError::OutputDirUnwritable {
        dir: out_dir.to_path_buf(),
        file_in_the_way: file_in_the_way(out_dir),
        source,
    };
    fs::create_dir_all(out_dir).map_err(unwritable)?;
    tempfile::Builder::new()
        .prefix(TEMPORARY_PREFIX)
        .suffix(TEMPORARY_SUFFIX)
        .tempfile_in(out_dir)
        .map_err(unwritable)?;
    Ok(())
}

/// The nearest existing ancestor of `dir` (itself included) when it is not a
/// directory: the file that stops the directory from being created.
fn file_in_the_way(dir: &Path) -> Option<PathBuf> {
    let existing = dir
        .ancestors()
        .filter(|ancestor| !ancestor.as_os_str().is_empty())
        .find(|ancestor| fs::metadata(ancestor).is_ok())?;
    (!existing.is_dir()).then(|| existing.to_path_buf())
}

/// An exclusive lock on one generated crate, released when dropped. It is an
/// advisory OS lock on `<crates>/<package>.lock`, so it is also released when
/// the process dies: a killed build never leaves a stale lock behind.
struct CrateLock {
    _file: Option<fs::File>,
}

/// Takes the lock of `package`'s crate, waiting (and saying so) while another
/// build holds it.
fn lock_crate(
    crates_dir: &Path,
    package: &str,
    module: &str,
    quiet: bool,
) -> Result<CrateLock, BuildError> {
    let path = crates_dir.join(format!("{package}.lock"));
    let cannot_lock =
        |error: io::Error| BuildError::io(format!("cannot lock {}", path.display()), error);
    fs::create_dir_all(crates_dir).map_err(cannot_lock)?;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot_lock)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            if !quiet {
                eprintln!("Waiting for another build of {module} to finish…");
            }
            file.lock().map_err(cannot_lock)?;
        }
        Err(fs::TryLockError::Error(error)) => {
            // Some network file systems have no locks. Building anyway is
            // still safe against everything but a concurrent build of this
            // same file, and cargo locks its target directory itself.
            if !quiet {
                eprintln!(
                    "warning: cannot lock {} ({error}); building without protection \
                     against a concurrent build of the same file",
                    path.display()
                );
            }
            return Ok(CrateLock { _file: None });
        }
    }
    Ok(CrateLock { _file: Some(file) })
}

/// The name of the checksum file in an artifact directory, in the format of
/// `sha256sum` so that `sha256sum -c SHA256SUMS` checks it by hand.
const CHECKSUM_FILE: &str = "SHA256SUMS";

/// What the artifact cache holds for one content hash.
#[derive(Debug, PartialEq, Eq)]
enum CachedArtifact {
    Missing,
    /// The entry exists but must not be installed; the reason is a phrase.
    Damaged(String),
    /// The extension's bytes, checked against the entry's checksum.
    Valid(Vec<u8>),
}

/// Reads the extension `file_name` from the artifact directory `entry` and
/// checks it against the entry's checksum file.
fn read_cached_artifact(entry: &Path, file_name: &str) -> CachedArtifact {
    let checksums = match fs::read_to_string(entry.join(CHECKSUM_FILE)) {
        Ok(checksums) => checksums,
        Err(_) if fs::symlink_metadata(entry).is_err() => return CachedArtifact::Missing,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return CachedArtifact::Damaged(format!("it has no {CHECKSUM_FILE}"));
        }
        Err(error) => {
            return CachedArtifact::Damaged(format!("its {CHECKSUM_FILE} is unreadable ({error})"))
        }
    };
    let Some(expected) = listed_checksum(&checksums, file_name) else {
        return CachedArtifact::Damaged(format!("its {CHECKSUM_FILE} does not list {file_name}"));
    };
    let bytes = match fs::read(entry.join(file_name)) {
        Ok(bytes) => bytes,
        Err(error) => {
            return CachedArtifact::Damaged(format!("{file_name} is unreadable ({error})"));
        }
    };
    if to_hex(&Sha256::digest(&bytes)) != expected {
        return CachedArtifact::Damaged(format!(
            "{file_name} does not match its checksum (it has {} bytes)",
            bytes.len()
        ));
    }
    CachedArtifact::Valid(bytes)
}

/// One line of a `sha256sum` listing: the digest, two spaces, the file name.
fn checksum_line(bytes: &[u8], file_name: &str) -> String {
    format!("{}  {file_name}\n", to_hex(&Sha256::digest(bytes)))
}

/// The digest that a `sha256sum` listing gives for `file_name`.
fn listed_checksum<'a>(checksums: &'a str, file_name: &str) -> Option<&'a str> {
    checksums.lines().find_map(|line| {
        let (digest, name) = line.split_once("  ")?;
        let is_digest = digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit());
        (is_digest && name == file_name).then_some(digest)
    })
}

/// Stores `bytes` as `<artifacts>/<hash>/<file_name>` with its checksum.
///
/// The entry is assembled in a staging directory of the crate's own (the
/// caller holds the crate's lock, so nothing else uses it) and renamed into
/// place, so the entry appears whole or not at all. A staging directory left
/// by a build killed half-way is cleared first.
fn publish_artifact(
    artifacts_dir: &Path,
    hash: &str,
    package: &str,
    file_name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let staging = artifacts_dir.join(format!(".staging-{package}"));
    remove_if_present(&staging).map_err(|error| with_path(error, &staging))?;
    fs::create_dir_all(&staging).map_err(|error| with_path(error, &staging))?;
    write_new_file(&staging.join(file_name), bytes, LIBRARY_FILE_MODE)?;
    write_new_file(
        &staging.join(CHECKSUM_FILE),
        checksum_line(bytes, file_name).as_bytes(),
        TEXT_FILE_MODE,
    )?;
    let entry = artifacts_dir.join(hash);
    if fs::rename(&staging, &entry).is_ok() {
        return Ok(());
    }
    // The entry exists: another source file that generates the same code
    // published it meanwhile (its crate has another lock), or it is damaged.
    if let CachedArtifact::Valid(_) = read_cached_artifact(&entry, file_name) {
        return remove_if_present(&staging).map_err(|error| with_path(error, &staging));
    }
    discard_entry(artifacts_dir, package, &entry)?;
    fs::rename(&staging, &entry).map_err(|error| with_path(error, &entry))
}

/// Removes a damaged artifact directory. It is first renamed aside, so that
/// it disappears in one step for a concurrent reader.
fn discard_entry(artifacts_dir: &Path, package: &str, entry: &Path) -> io::Result<()> {
    let discarded = artifacts_dir.join(format!(".discarded-{package}"));
    remove_if_present(&discarded).map_err(|error| with_path(error, &discarded))?;
    match fs::rename(entry, &discarded) {
        Ok(()) => {}
        // Already gone: a concurrent build discarded it.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(with_path(error, entry)),
    }
    remove_if_present(&discarded).map_err(|error| with_path(error, &discarded))
}

/// Removes a file or a whole directory; a missing path is not an error.
fn remove_if_present(path: &Path) -> io::Result<()> {
    let removed = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) => Err(error),
    };
    match removed {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Creates `path` with `contents`, flushed to disk, so that the rename that
/// publishes it cannot outlive its data in a crash.
fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|error| with_path(error, path))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|error| with_path(error, path))
}

/// Removes the temporary files that a killed build left in a crate directory
/// (`write_atomically` names them). Only called under the crate's lock, when
/// no other build can be writing them; failures are harmless and ignored,
/// as cargo never looks at these files.
fn remove_stale_temporaries(crate_dir: &Path) {
    for dir in [crate_dir.to_path_buf(), crate_dir.join("src")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMPORARY_PREFIX) && name.ends_with(TEMPORARY_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Writes an extension to its destination. A destination that already has
/// the same bytes is left alone; otherwise they go to a temporary file beside
/// it that is renamed over it, so a Python process that has the old module
/// loaded keeps its (now unlinked) file intact, and a build killed half-way
/// leaves the old module in place.
fn install_extension(bytes: &[u8], destination: &Path) -> Result<(), BuildError> {
    write_if_changed(destination, bytes, LIBRARY_FILE_MODE).map_err(|error| {
        BuildError::io(format!("cannot write {}", destination.display()), error)
    })?;
    Ok(())
}

/// Fails with a fix-it message when cargo cannot be started. Asked only
/// after `cargo build` failed, to tell a missing or broken toolchain (rustup
/// without a default one, say) from a crate that does not compile, so that a
/// build that works pays no extra process start.
fn check_cargo() -> Result<(), BuildError> {
    let output = Command::new("cargo")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(BuildError::CargoUnavailable {
            detail: Some(String::from_utf8_lossy(&output.stderr).trim().to_string()),
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(BuildError::CargoUnavailable { detail: None })
        }
        Err(error) => Err(BuildError::CargoUnavailable {
            detail: Some(error.to_string()),
        }),
    }
}

/// LLVM passes run once more at the end of the optimisation of a generated
/// crate with speculative forms: the inference of function attributes, which
/// finds those forms free of side effects, and global value numbering, which
/// then merges their identical calls.
const LATE_PASSES: &[&str] = &["-Cpasses=function-attrs,gvn"];

/// Runs `cargo build` on a written crate and returns the path of the cdylib it
/// produced. Shows a spinner (or one line) while cargo works.
///
/// With `late_passes` (generated code with speculative forms,
/// `codegen::kernels::has_speculative_forms`), `cargo rustc` instead, which
/// gives the generated crate alone, not its dependencies, the flags of
/// [`LATE_PASSES`].
fn run_cargo(
    module: &str,
    crate_dir: &Path,
    flavour: &Flavour,
    late_passes: bool,
    options: &BuildOptions,
) -> Result<PathBuf, BuildError> {
    let failed = |messages: String| BuildError::CargoFailed {
        module: module.to_string(),
        crate_dir: crate_dir.to_path_buf(),
        messages,
    };
    let mut command = Command::new("cargo");
    if late_passes {
        command.arg("rustc").arg("--lib");
    } else {
        command.arg("build");
    }
    command
        .arg("--release")
        // The lock file pins the dependency versions every generated crate
        // shares; a lock that needs updating is a ferropy bug, not something
        // to resolve over the network behind the user's back.
        .arg("--locked")
        .arg("--color=never")
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            options
                .cache_dir
                .join("target")
                .join(flavour.target_subdir()),
        )
        .env("CARGO_ENCODED_RUSTFLAGS", flavour.encoded_rustflags())
        .env("PYO3_PYTHON", &options.interpreter.executable)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if late_passes {
        command.arg("--").args(LATE_PASSES);
    }
    let mut child = command
        .spawn()
        .map_err(|error| BuildError::CargoUnavailable {
            detail: (error.kind() != io::ErrorKind::NotFound).then(|| error.to_string()),
        })?;

    let progress = start_progress(module, options.quiet);
    // cargo writes JSON messages to stdout and its status lines and rendered
    // compiler messages to stderr; both pipes are drained concurrently so that
    // neither fills up and stalls cargo.
    let stderr_reader = child.stderr.take().map(|stderr| {
        let progress = progress.clone();
        let module = module.to_string();
        std::thread::spawn(move || collect_cargo_stderr(stderr, &module, &progress))
    });
    let mut library = None;
    if let Some(stdout) = child.stdout.take() {
        for_each_line(stdout, |line| {
            if is_finished_crate(line) {
                progress.inc(1);
            }
            if let Some(path) = cdylib_in_message(line) {
                library = Some(path);
            }
        });
    }
    let status = child.wait();
    let messages = match stderr_reader.map(std::thread::JoinHandle::join) {
        Some(Ok(messages)) => messages,
        Some(Err(_)) | None => String::new(),
    };
    progress.finish_and_clear();

    let status = status.map_err(|error| failed(format!("waiting for cargo failed: {error}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(BuildError::CargoInterrupted {
                module: module.to_string(),
                signal,
            });
        }
    }
    if !status.success() {
        check_cargo()?;
        return Err(failed(messages));
    }
    library.ok_or_else(|| {
        failed(format!(
            "{messages}\ncargo succeeded but reported no cdylib artifact for the crate"
        ))
    })
}

/// A spinner on a terminal; one line otherwise (indicatif draws nothing when
/// stderr is not a terminal, so the line is printed here).
fn start_progress(module: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    if !io::stderr().is_terminal() {
        eprintln!("Compiling {module} (cargo)…");
        return ProgressBar::hidden();
    }
    let style =
        ProgressStyle::with_template("{spinner:.cyan} {msg} [{pos} crates ready, {elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::new_spinner().with_style(style);
    bar.set_message(format!("{module}: starting cargo"));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Reads cargo's stderr to the end, showing its status lines on the spinner,
/// and returns the rest (the rendered compiler messages) for error reports.
fn collect_cargo_stderr(stderr: impl Read, module: &str, progress: &ProgressBar) -> String {
    let mut messages = String::new();
    for_each_line(stderr, |line| match cargo_status(line) {
        Some(status) => progress.set_message(format!("{module}: {status}")),
        None => {
            messages.push_str(line);
            messages.push('\n');
        }
    });
    messages
}

/// Calls `handle` with each line of `reader` (without its newline), replacing
/// bytes that are not UTF-8 rather than stopping at them.
fn for_each_line(reader: impl Read, mut handle: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                handle(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// The short form of a cargo status line (`Compiling pyo3 v0.25.1`), or `None`
/// for anything else, which is then part of the compiler messages.
fn cargo_status(line: &str) -> Option<String> {
    const STATUS_VERBS: &[&str] = &[
        "Adding",
        "Blocking",
        "Building",
        "Compiling",
        "Downloaded",
        "Downloading",
        "Finished",
        "Fresh",
        "Locking",
        "Updating",
    ];
    let trimmed = line.trim();
    let verb = trimmed.split_whitespace().next()?;
    if !STATUS_VERBS.contains(&verb) {
        return None;
    }
    if verb == "Compiling" {
        // Drop the trailing `(/path/to/crate)` of path dependencies.
        let words: Vec<&str> = trimmed.split_whitespace().take(3).collect();
        return Some(words.join(" "));
    }
    Some(trimmed.to_string())
}

/// Whether a JSON message says a crate is ready. Build scripts are artifacts
/// too, but counting them would make the spinner's crate count misleading.
fn is_finished_crate(line: &str) -> bool {
    // A cheap test before parsing: most lines are not artifacts.
    if !line.contains("\"compiler-artifact\"") {
        return false;
    }
    let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let is_build_script = message["target"]["kind"]
        .as_array()
        .is_some_and(|kinds| kinds.iter().any(|kind| kind == "custom-build"));
    message["reason"] == "compiler-artifact" && !is_build_script
}

/// The shared library in a `compiler-artifact` message of a cdylib target.
///
/// The generated crate is the only cdylib in its dependency graph (pyo3,
/// numpy and the rest are rlibs), so the target kind identifies it without
/// comparing package ids or manifest paths.
fn cdylib_in_message(line: &str) -> Option<PathBuf> {
    if !line.contains("\"cdylib\"") {
        return None;
    }
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let kinds = message["target"]["kind"].as_array()?;
    if !kinds.iter().any(|kind| kind == "cdylib") {
        return None;
    }
    let library_suffix = std::env::consts::DLL_SUFFIX;
    message["filenames"]
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .find(|name| name.ends_with(library_suffix))
        .map(PathBuf::from)
}

/// Replaces `path` with `contents` unless it already holds exactly them;
/// returns whether it wrote.
fn write_if_changed(path: &Path, contents: &[u8], mode: u32) -> io::Result<bool> {
    if has_contents(path, contents) {
        return Ok(false);
    }
    write_atomically(path, contents, mode)?;
    Ok(true)
}

/// Whether `path` is a file holding exactly `contents`. Any error reading it
/// counts as "no": the write that follows reports the real problem.
fn has_contents(path: &Path, contents: &[u8]) -> bool {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() && metadata.len() == contents.len() as u64 => {
            fs::read(path).is_ok_and(|existing| existing == contents)
        }
        _ => false,
    }
}

/// Writes a temporary file in the destination's directory and renames it over
/// the destination, so readers see either the old or the new file, never a
/// partial one.
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMPORARY_PREFIX).suffix(TEMPORARY_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut temporary = builder.tempfile_in(directory)?;
    temporary.write_all(contents)?;
    // Flushed to disk before the rename, so that a crash cannot leave a
    // complete-looking but empty file in the cache.
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// An io::Error whose message names the file it is about.
fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_crate() -> GeneratedCrate {
        GeneratedCrate {
            module_name: "kernels".to_string(),
            lib_rs: "// kernels\n".to_string(),
            pyi: "def f(x: float) -> float: ...\n".to_string(),
            warnings: Vec::new(),
        }
    }

    fn sample_interpreter() -> Interpreter {
        Interpreter {
            executable: PathBuf::from("/usr/bin/python3"),
            version: "3.11.7".to_string(),
            ext_suffix: ".cpython-311-x86_64-linux-gnu.so".to_string(),
        }
    }

    fn cache_dir_with(variables: &[(&str, &str)]) -> PathBuf {
        cache_dir_from(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn cache_dir_prefers_ferropy_variable_then_xdg_then_home() {
        let all = [
            ("FERROPY_CACHE_DIR", "/custom"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(cache_dir_with(&all), PathBuf::from("/custom"));
        assert_eq!(cache_dir_with(&all[1..]), PathBuf::from("/xdg/ferropy"));
        assert_eq!(
            cache_dir_with(&all[2..]),
            PathBuf::from("/home/u/.cache/ferropy")
        );
    }

    #[test]
    fn cache_dir_ignores_empty_and_relative_variables() {
        let variables = [
            ("FERROPY_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "relative/cache"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            cache_dir_with(&variables),
            PathBuf::from("/home/u/.cache/ferropy")
        );
    }

    #[test]
    fn cache_dir_falls_back_to_the_temporary_directory() {
        assert_eq!(
            cache_dir_with(&[]),
            std::env::temp_dir().join("ferropy-cache")
        );
    }

    #[test]
    fn package_name_is_stable_and_distinguishes_paths() {
        let name = package_name("kernels", Path::new("/home/u/project/kernels.py"));
        assert_eq!(
            name,
            package_name("kernels", Path::new("/home/u/project/kernels.py"))
        );
        assert!(name.starts_with("fp_kernels_"), "{name}");
        let hash = &name["fp_kernels_".len()..];
        assert_eq!(hash.len(), 8);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(
            name,
            package_name("kernels", Path::new("/home/u/other/kernels.py"))
        );
    }

    #[test]
    fn package_name_matches_sha256_of_the_path() {
        let expected = to_hex(&Sha256::digest(b"/k.py")[..4]);
        assert_eq!(
            package_name("k", Path::new("/k.py")),
            format!("fp_k_{expected}")
        );
    }

    #[test]
    fn package_name_lowercases_the_module() {
        assert!(
            package_name("MyKernels", Path::new("/a/MyKernels.py")).starts_with("fp_mykernels_")
        );
    }

    fn native() -> Flavour {
        Flavour {
            cpu: TargetCpu::Native,
            host_features: "x86_64: sse3 avx avx2 fma".to_string(),
        }
    }

    #[test]
    fn content_hash_is_deterministic_and_covers_every_input() {
        let krate = sample_crate();
        let interpreter = sample_interpreter();
        let flavour = native();
        let hash = |krate: &GeneratedCrate, interpreter: &Interpreter| {
            content_hash(krate, interpreter, &flavour)
        };
        let base = hash(&krate, &interpreter);
        assert_eq!(base, hash(&krate, &interpreter));
        assert_eq!(base.len(), 64);

        let mut edited = krate.clone();
        edited.lib_rs.push_str("// edit\n");
        assert_ne!(hash(&edited, &interpreter), base);

        let mut edited = krate.clone();
        edited.pyi.push('\n');
        assert_ne!(hash(&edited, &interpreter), base);

        let mut edited = krate.clone();
        edited.module_name = "other".to_string();
        assert_ne!(hash(&edited, &interpreter), base);

        let mut other = interpreter.clone();
        other.executable = PathBuf::from("/venv/bin/python");
        assert_ne!(hash(&krate, &other), base);

        let mut other = interpreter.clone();
        other.version = "3.11.8".to_string();
        assert_ne!(hash(&krate, &other), base);

        let mut other = interpreter.clone();
        other.ext_suffix = ".cpython-312-x86_64-linux-gnu.so".to_string();
        assert_ne!(hash(&krate, &other), base);
    }

    #[test]
    fn content_hash_covers_the_processor_and_the_runtime() {
        let krate = sample_crate();
        let interpreter = sample_interpreter();
        let base = content_hash(&krate, &interpreter, &native());

        let portable = Flavour::for_host(TargetCpu::Portable);
        assert_eq!(portable.host_features, "");
        assert_ne!(content_hash(&krate, &interpreter, &portable), base);
        // The same flags on a processor with other extensions.
        let mut other_host = native();
        other_host.host_features.push_str(" avx512f");
        assert_ne!(content_hash(&krate, &interpreter, &other_host), base);

        assert_eq!(
            content_hash_of(&krate, &interpreter, &native(), &TEMPLATES),
            base
        );
        let edits: [fn(&mut Templates); 4] = [
            |templates| templates.cargo_toml = "[package]\n",
            |templates| templates.cargo_lock = "version = 4\n",
            |templates| templates.rt_cargo_toml = "[package]\n",
            |templates| templates.rt_rs = "pub fn f() {}\n",
        ];
        for (index, edit) in edits.iter().enumerate() {
            let mut templates = Templates { ..TEMPLATES };
            edit(&mut templates);
            assert_ne!(
                content_hash_of(&krate, &interpreter, &native(), &templates),
                base,
                "template {index}"
            );
        }
    }

    #[test]
    fn runtime_hash_names_the_runtimes_contents() {
        let hash = runtime_hash();
        assert_eq!(hash, runtime_hash());
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let mut edited = Templates { ..TEMPLATES };
        edited.rt_rs = "pub fn f() {}\n";
        assert_ne!(runtime_hash_of(&edited), hash);
        let mut edited = Templates { ..TEMPLATES };
        edited.rt_cargo_toml = "[package]\n";
        assert_ne!(runtime_hash_of(&edited), hash);
        // The generated crate's templates are not part of the runtime.
        let mut edited = Templates { ..TEMPLATES };
        edited.cargo_toml = "[package]\n";
        assert_eq!(runtime_hash_of(&edited), hash);
    }

    #[test]
    fn flavours_have_their_own_flags_and_target_directories() {
        let portable = Flavour::for_host(TargetCpu::Portable);
        assert_eq!(
            portable.encoded_rustflags(),
            "-Cllvm-args=-hoist-runtime-checks=false"
        );
        assert!(portable.target_subdir().starts_with("portable-"));

        let native = native();
        assert_eq!(
            native.encoded_rustflags(),
            "-Ctarget-cpu=native\u{1f}-Cllvm-args=-hoist-runtime-checks=false"
        );
        let subdir = native.target_subdir();
        assert!(subdir.starts_with("native-"), "{subdir}");
        assert_eq!(subdir.len(), "native-".len() + 8);
        let mut other_host = native.clone();
        other_host.host_features.push_str(" avx512f");
        assert_ne!(other_host.target_subdir(), subdir);

        let host = Flavour::for_host(TargetCpu::Native);
        assert_eq!(host, Flavour::for_host(TargetCpu::Native));
        assert!(
            host.host_features
                .starts_with(&format!("{}: ", std::env::consts::ARCH)),
            "{}",
            host.host_features
        );
        #[cfg(target_arch = "x86_64")]
        assert!(
            host.host_features.contains("sse3"),
            "{}",
            host.host_features
        );
    }

    #[test]
    fn content_hash_keeps_field_boundaries() {
        let interpreter = sample_interpreter();
        let mut first = sample_crate();
        first.lib_rs = "ab".to_string();
        first.pyi = "c".to_string();
        let mut second = sample_crate();
        second.lib_rs = "a".to_string();
        second.pyi = "bc".to_string();
        assert_ne!(
            content_hash(&first, &interpreter, &native()),
            content_hash(&second, &interpreter, &native())
        );
    }

    #[test]
    fn templates_substitute_the_package_name_and_runtime_path() {
        let krate = sample_crate();
        let files = crate_files(
            &krate,
            "fp_kernels_0123abcd",
            Path::new("/cache/runtime/0123456789abcdef"),
        );
        let paths: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
        assert_eq!(paths, ["Cargo.toml", "Cargo.lock", "src/lib.rs"]);
        for (path, contents) in &files[..2] {
            assert!(!contents.contains(PACKAGE_NAME_PLACEHOLDER), "{path}");
            assert!(!contents.contains(RUNTIME_PATH_PLACEHOLDER), "{path}");
            assert!(
                contents.contains("name = \"fp_kernels_0123abcd\""),
                "{path} does not name the package"
            );
            assert!(
                contents.contains("ferropy-rt"),
                "{path} does not name the runtime"
            );
        }
        assert!(files[0]
            .1
            .contains(
            "ferropy-rt = { path = \"/cache/runtime/0123456789abcdef\", features = [\"mimalloc\"] }"
        ));
        assert_eq!(files[2].1, krate.lib_rs);
        assert_eq!(
            render_template("name = \"@PACKAGE_NAME@\"\n", "p"),
            "name = \"p\"\n"
        );

        // A path that TOML would misread is escaped.
        let files = crate_files(&krate, "p", Path::new("/a \"b\"\\c"));
        assert!(
            files[0].1.contains(r#"path = "/a \"b\"\\c""#),
            "{}",
            files[0].1
        );
        assert_eq!(toml_string_contents("tab\there"), "tab\\u0009here");

        let runtime = runtime_files();
        assert_eq!(runtime[0], ("Cargo.toml", RT_CARGO_TOML));
        assert_eq!(runtime[1], ("src/lib.rs", RT_RS_TEMPLATE));
        assert!(RT_CARGO_TOML.contains("name = \"ferropy-rt\""));
    }

    #[test]
    fn interpreter_report_is_parsed() {
        let stdout = "/venv/bin/python\n3.11.7\n.cpython-311-x86_64-linux-gnu.so\nnumpy\n";
        assert_eq!(
            parse_interpreter_report(stdout, true, ""),
            Ok(InterpreterReport {
                executable: "/venv/bin/python".to_string(),
                version: "3.11.7".to_string(),
                ext_suffix: ".cpython-311-x86_64-linux-gnu.so".to_string(),
                has_numpy: true,
            })
        );
        let without_numpy = stdout.replace("\nnumpy\n", "\nno numpy\n");
        assert_eq!(
            parse_interpreter_report(&without_numpy, true, ""),
            Ok(InterpreterReport {
                has_numpy: false,
                ..parse_interpreter_report(stdout, true, "").unwrap()
            })
        );
    }

    #[test]
    fn interpreter_report_rejects_old_or_broken_pythons() {
        let python2 = parse_interpreter_report(
            "/usr/bin/python2\n2.7.18\n",
            false,
            "ImportError: No module named util\n",
        );
        assert!(python2.unwrap_err().contains("Python 2.7.18"));

        let broken = parse_interpreter_report("", false, "Traceback...\nSyntaxError: bad\n");
        assert!(broken.unwrap_err().contains("SyntaxError: bad"));

        let not_python = parse_interpreter_report("", false, &format!("ls: {}\n", "x".repeat(500)));
        let not_python = not_python.unwrap_err();
        assert!(
            not_python.starts_with("it did not run as a Python interpreter"),
            "{not_python}"
        );
        assert!(not_python.len() < 300, "{not_python}");

        let no_suffix = parse_interpreter_report("/p\n3.12.0\n\nnumpy\n", true, "");
        assert!(no_suffix.unwrap_err().contains("EXT_SUFFIX"));
    }

    #[test]
    fn cargo_status_lines_are_recognised() {
        assert_eq!(
            cargo_status("   Compiling pyo3 v0.25.1"),
            Some("Compiling pyo3 v0.25.1".to_string())
        );
        assert_eq!(
            cargo_status("   Compiling fp_k_01234567 v0.1.0 (/cache/crates/fp_k_01234567)"),
            Some("Compiling fp_k_01234567 v0.1.0".to_string())
        );
        assert_eq!(
            cargo_status("    Blocking waiting for file lock on build directory"),
            Some("Blocking waiting for file lock on build directory".to_string())
        );
        assert_eq!(cargo_status("error[E0425]: cannot find value `x`"), None);
        assert_eq!(cargo_status("  --> src/lib.rs:3:5"), None);
        assert_eq!(cargo_status(""), None);
    }

    #[test]
    fn cdylib_is_found_in_artifact_messages() {
        let suffix = std::env::consts::DLL_SUFFIX;
        let cdylib = format!(
            r#"{{"reason":"compiler-artifact","target":{{"kind":["cdylib"],"name":"fp_k_01234567"}},"filenames":["/t/release/libfp_k_01234567{suffix}"],"fresh":false}}"#
        );
        assert_eq!(
            cdylib_in_message(&cdylib),
            Some(PathBuf::from(format!(
                "/t/release/libfp_k_01234567{suffix}"
            )))
        );
        assert!(is_finished_crate(&cdylib));

        let rlib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"pyo3"},"filenames":["/t/release/deps/libpyo3.rlib"],"fresh":true}"#;
        assert_eq!(cdylib_in_message(rlib), None);
        assert!(is_finished_crate(rlib));

        let finished = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(cdylib_in_message(finished), None);
        assert!(!is_finished_crate(finished));
        let build_script = r#"{"reason":"compiler-artifact","target":{"kind":["custom-build"],"name":"build-script-build"},"filenames":["/t/release/build/pyo3-1/build-script-build"],"fresh":true}"#;
        assert!(!is_finished_crate(build_script));
        assert_eq!(cdylib_in_message("not json \"cdylib\""), None);
    }

    /// `runtime/Cargo.toml`, the runtime as a crate of the repository for
    /// Rust crates, declares the features and dependencies of the manifest
    /// the build stage writes into the cache.
    #[test]
    fn repository_runtime_crate_matches_the_cache_manifest() {
        let repository = include_str!("../runtime/Cargo.toml");
        let from = |text: &'static str| text.find("[features]").map(|start| &text[start..]);
        assert!(from(RT_CARGO_TOML).is_some());
        assert_eq!(from(repository), from(RT_CARGO_TOML));
        assert!(repository.contains("path = \"../templates/rt.rs\""));
    }

    #[test]
    fn write_if_changed_skips_identical_content() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("file.txt");
        assert!(write_if_changed(&path, b"one", TEXT_FILE_MODE).unwrap());
        assert!(!write_if_changed(&path, b"one", TEXT_FILE_MODE).unwrap());
        assert!(write_if_changed(&path, b"two", TEXT_FILE_MODE).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(directory.path()).unwrap().count(), 1);
    }

    const ARTIFACT_NAME: &str = "kernels.cpython-311-x86_64-linux-gnu.so";

    /// Names of the entries directly inside `dir`, sorted.
    fn entry_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn published_artifact_reads_back_verified() {
        let artifacts = tempfile::tempdir().unwrap();
        let entry = artifacts.path().join("hash");
        assert_eq!(
            read_cached_artifact(&entry, ARTIFACT_NAME),
            CachedArtifact::Missing
        );
        publish_artifact(
            artifacts.path(),
            "hash",
            "fp_k_0",
            ARTIFACT_NAME,
            b"library",
        )
        .unwrap();
        assert_eq!(
            read_cached_artifact(&entry, ARTIFACT_NAME),
            CachedArtifact::Valid(b"library".to_vec())
        );
        // Nothing but the entry is left: the staging directory became it.
        assert_eq!(entry_names(artifacts.path()), ["hash"]);
        assert_eq!(entry_names(&entry), [CHECKSUM_FILE, ARTIFACT_NAME]);
        let checksums = fs::read_to_string(entry.join(CHECKSUM_FILE)).unwrap();
        assert_eq!(checksums, checksum_line(b"library", ARTIFACT_NAME));
        assert_eq!(
            listed_checksum(&checksums, ARTIFACT_NAME),
            Some(to_hex(&Sha256::digest(b"library")).as_str())
        );
    }

    #[test]
    fn damaged_artifacts_are_never_valid() {
        let artifacts = tempfile::tempdir().unwrap();
        let entry = artifacts.path().join("hash");
        let library = entry.join(ARTIFACT_NAME);
        let publish = || {
            remove_if_present(&entry).unwrap();
            publish_artifact(
                artifacts.path(),
                "hash",
                "fp_k_0",
                ARTIFACT_NAME,
                b"library",
            )
            .unwrap();
        };
        let is_damaged = || {
            matches!(
                read_cached_artifact(&entry, ARTIFACT_NAME),
                CachedArtifact::Damaged(_)
            )
        };

        publish();
        fs::write(&library, b"lib").unwrap();
        assert!(is_damaged(), "a truncated extension");
        publish();
        fs::write(&library, b"LIBRARY").unwrap();
        assert!(
            is_damaged(),
            "an extension of the right size with other bytes"
        );
        publish();
        fs::remove_file(&library).unwrap();
        assert!(is_damaged(), "a missing extension");
        publish();
        fs::remove_file(entry.join(CHECKSUM_FILE)).unwrap();
        assert!(is_damaged(), "a missing checksum");
        publish();
        fs::write(entry.join(CHECKSUM_FILE), "not a checksum\n").unwrap();
        assert!(is_damaged(), "a garbled checksum");
        publish();
        fs::write(
            entry.join(CHECKSUM_FILE),
            checksum_line(b"library", "other.so"),
        )
        .unwrap();
        assert!(is_damaged(), "a checksum of another file");
    }

    #[test]
    fn publishing_replaces_a_damaged_entry_and_keeps_a_valid_one() {
        let artifacts = tempfile::tempdir().unwrap();
        let entry = artifacts.path().join("hash");
        fs::create_dir_all(&entry).unwrap();
        fs::write(entry.join(ARTIFACT_NAME), b"half a libr").unwrap();
        publish_artifact(
            artifacts.path(),
            "hash",
            "fp_k_0",
            ARTIFACT_NAME,
            b"library",
        )
        .unwrap();
        assert_eq!(
            read_cached_artifact(&entry, ARTIFACT_NAME),
            CachedArtifact::Valid(b"library".to_vec())
        );

        // Another crate with the same generated code publishes the same hash;
        // the valid entry stays and the second staging directory goes.
        publish_artifact(
            artifacts.path(),
            "hash",
            "fp_k_1",
            ARTIFACT_NAME,
            b"library 2",
        )
        .unwrap();
        assert_eq!(
            read_cached_artifact(&entry, ARTIFACT_NAME),
            CachedArtifact::Valid(b"library".to_vec())
        );
        assert_eq!(entry_names(artifacts.path()), ["hash"]);
    }

    #[test]
    fn a_killed_builds_leftovers_are_cleared() {
        let artifacts = tempfile::tempdir().unwrap();
        // A build killed while staging leaves a partial staging directory.
        let staging = artifacts.path().join(".staging-fp_k_0");
        fs::create_dir_all(&staging).unwrap();
        fs::write(staging.join(ARTIFACT_NAME), b"lib").unwrap();
        publish_artifact(
            artifacts.path(),
            "hash",
            "fp_k_0",
            ARTIFACT_NAME,
            b"library",
        )
        .unwrap();
        assert_eq!(
            read_cached_artifact(&artifacts.path().join("hash"), ARTIFACT_NAME),
            CachedArtifact::Valid(b"library".to_vec())
        );
        assert_eq!(entry_names(artifacts.path()), ["hash"]);

        // A build killed while writing its crate leaves temporary files.
        let crate_dir = tempfile::tempdir().unwrap();
        write_crate(
            &sample_crate(),
            "fp_kernels_0123abcd",
            crate_dir.path(),
            Path::new("/cache/runtime/0123456789abcdef"),
        )
        .unwrap();
        let stale = [
            crate_dir.path().join(".ferropy-a1B2c3.tmp"),
            crate_dir.path().join("src/.ferropy-d4E5f6.tmp"),
        ];
        for path in &stale {
            fs::write(path, b"partial").unwrap();
        }
        fs::write(crate_dir.path().join("notes.tmp"), b"not ours").unwrap();
        remove_stale_temporaries(crate_dir.path());
        assert_eq!(
            entry_names(crate_dir.path()),
            ["Cargo.lock", "Cargo.toml", "notes.tmp", "src"]
        );
        assert_eq!(entry_names(&crate_dir.path().join("src")), ["lib.rs"]);
    }

    #[test]
    fn crate_lock_excludes_a_second_holder_until_dropped() {
        let crates = tempfile::tempdir().unwrap();
        let lock = lock_crate(crates.path(), "fp_k_0", "k", true).unwrap();
        assert!(lock._file.is_some());
        // flock locks belong to open file descriptions, so a second open of
        // the same file conflicts even within this process.
        let other = fs::File::open(crates.path().join("fp_k_0.lock")).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        let unrelated = lock_crate(crates.path(), "fp_k_1", "k", true).unwrap();
        drop(lock);
        other.try_lock().unwrap();
        drop(unrelated);
    }

    #[test]
    fn output_dir_under_a_file_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file.txt");
        fs::write(&file, b"").unwrap();
        let error = prepare_output_dir(&file.join("out")).unwrap_err();
        assert!(!error.is_internal());
        let BuildError::OutputDirUnwritable {
            file_in_the_way, ..
        } = &error
        else {
            panic!("expected OutputDirUnwritable, got {error:?}");
        };
        assert_eq!(file_in_the_way.as_deref(), Some(file.as_path()));
        let message = error.to_string();
        assert!(message.contains("is a file, not a directory"), "{message}");
        assert!(message.contains("-o"), "{message}");

        let writable = dir.path().join("new/out");
        prepare_output_dir(&writable).unwrap();
        // The probe file is gone.
        assert!(entry_names(&writable).is_empty());
    }

    #[test]
    fn write_crate_writes_every_file_and_keeps_unchanged_ones() {
        let directory = tempfile::tempdir().unwrap();
        let krate = sample_crate();
        let runtime = Path::new("/cache/runtime/0123456789abcdef");
        write_crate(&krate, "fp_kernels_0123abcd", directory.path(), runtime).unwrap();
        let lib_rs = directory.path().join("src/lib.rs");
        let manifest = directory.path().join("Cargo.toml");
        assert_eq!(fs::read_to_string(&lib_rs).unwrap(), krate.lib_rs);
        assert!(directory.path().join("Cargo.lock").is_file());
        assert!(fs::read_to_string(&manifest)
            .unwrap()
            .contains("/cache/runtime/0123456789abcdef"));

        let manifest_modified = fs::metadata(&manifest).unwrap().modified().unwrap();
        let mut edited = krate.clone();
        edited.lib_rs.push_str("// edit\n");
        std::thread::sleep(Duration::from_millis(20));
        write_crate(&edited, "fp_kernels_0123abcd", directory.path(), runtime).unwrap();
        assert_eq!(fs::read_to_string(&lib_rs).unwrap(), edited.lib_rs);
        assert_eq!(
            fs::metadata(&manifest).unwrap().modified().unwrap(),
            manifest_modified
        );
    }

    #[test]
    fn runtime_is_written_once_and_standalone_crates_carry_it() {
        let directory = tempfile::tempdir().unwrap();
        let runtime = directory.path().join("runtime");
        write_runtime(&runtime).unwrap();
        let source = runtime.join("src/lib.rs");
        assert_eq!(fs::read_to_string(&source).unwrap(), RT_RS_TEMPLATE);
        assert_eq!(
            fs::read_to_string(runtime.join("Cargo.toml")).unwrap(),
            RT_CARGO_TOML
        );
        let modified = fs::metadata(&source).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        write_runtime(&runtime).unwrap();
        assert_eq!(fs::metadata(&source).unwrap().modified().unwrap(), modified);

        let standalone = directory.path().join("crate");
        write_standalone_crate(&sample_crate(), "fp_kernels_0123abcd", &standalone).unwrap();
        assert_eq!(
            entry_names(&standalone),
            ["Cargo.lock", "Cargo.toml", EMBEDDED_RUNTIME_DIR, "src"]
        );
        assert_eq!(
            fs::read_to_string(standalone.join("ferropy-rt/src/lib.rs")).unwrap(),
            RT_RS_TEMPLATE
        );
        assert!(fs::read_to_string(standalone.join("Cargo.toml"))
            .unwrap()
            .contains("ferropy-rt = { path = \"ferropy-rt\", features = [\"mimalloc\"] }"));
    }

    /// `emit --crate DIR --check` compares DIR with `standalone_crate_files`,
    /// so that list must be exactly what `emit --crate` writes.
    #[test]
    fn standalone_crate_files_are_what_emit_writes() {
        let directory = tempfile::tempdir().unwrap();
        let krate = sample_crate();
        write_standalone_crate(&krate, "fp_kernels_0123abcd", directory.path()).unwrap();
        write_stub(&krate, directory.path()).unwrap();
        let listed = standalone_crate_files(&krate, "fp_kernels_0123abcd");
        let mut on_disk = Vec::new();
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let relative = path.strip_prefix(root).unwrap();
                    out.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        walk(directory.path(), directory.path(), &mut on_disk);
        on_disk.sort();
        let mut names: Vec<String> = listed.iter().map(|(path, _)| path.clone()).collect();
        names.sort();
        assert_eq!(on_disk, names);
        for (path, contents) in &listed {
            assert_eq!(
                &fs::read_to_string(directory.path().join(path)).unwrap(),
                contents,
                "{path}"
            );
        }
    }

    #[test]
    fn relative_paths_lead_from_a_directory_to_a_file() {
        assert_eq!(
            relative_path(
                Path::new("/repo/generated/kernels"),
                Path::new("/repo/src/k.py")
            )
            .as_deref(),
            Some("../../src/k.py")
        );
        assert_eq!(
            relative_path(Path::new("/repo"), Path::new("/repo/k.py")).as_deref(),
            Some("k.py")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b")).as_deref(),
            Some("")
        );
        assert_eq!(
            standalone_package_name("Kernels", "../k.py"),
            standalone_package_name("Kernels", "../k.py")
        );
        assert!(standalone_package_name("Kernels", "../k.py").starts_with("fp_kernels_"));
        assert_ne!(
            standalone_package_name("kernels", "../k.py"),
            standalone_package_name("kernels", "../other/k.py")
        );
    }
}
