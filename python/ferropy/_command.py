"""Finding and running the ``ferropy`` binary."""

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

_EXE = "ferropy.exe" if os.name == "nt" else "ferropy"


class FerropyNotFound(RuntimeError):
    """The ``ferropy`` binary is not installed where this package looks."""


class FerropyCompileError(ImportError):
    """ferropy could not compile a file.

    An ImportError, so that a failed compile on import (``ferropy.hook``)
    is what Python code expects from an import. ``diagnostics`` holds
    ferropy's output (rustc-style diagnostics, or the build error) and
    ``returncode`` its exit code: 1 for errors in the file, 2 for a usage or
    environment problem (no cargo, no NumPy), 101 for a ferropy bug.
    """

    def __init__(self, message, diagnostics="", returncode=None, name=None, path=None):
        super().__init__(message, name=name, path=path)
        self.diagnostics = diagnostics
        self.returncode = returncode


def _candidates():
    """Where the binary may be, best first: FERROPY_BINARY, the scripts
    directory of this interpreter's installation scheme (where pip puts the
    wheel's binary), the user scheme's, the ``bin`` beside a ``--target``
    install, then PATH."""
    explicit = os.environ.get("FERROPY_BINARY")
    if explicit:
        yield explicit
        return
    schemes = [None]
    user_scheme = f"{os.name}_user" if os.name != "posix" else "posix_user"
    if user_scheme in sysconfig.get_scheme_names():
        schemes.append(user_scheme)
    for scheme in schemes:
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if scripts:
            yield os.path.join(scripts, _EXE)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    yield os.path.join(package_root, "bin", _EXE)
    on_path = shutil.which("ferropy")
    if on_path:
        yield on_path


def binary():
    """The path of the ``ferropy`` binary; FerropyNotFound says how to get one."""
    for candidate in _candidates():
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("FERROPY_BINARY"):
        raise FerropyNotFound(
            f"FERROPY_BINARY is {os.environ['FERROPY_BINARY']!r}, which is not an executable file"
        )
    raise FerropyNotFound(
        "the ferropy binary is not installed: install the ferropy wheel (`pip install ferropy`, "
        "or `pip install .` in a ferropy checkout), put `ferropy` on PATH "
        "(`cargo install --path .`), or set FERROPY_BINARY to its path"
    )


def main(args):
    """Runs the command line with ``args``; returns its exit code."""
    try:
        command = [binary(), *args]
    except FerropyNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


def run(args, **kwargs):
    """``subprocess.run([ferropy, *args], **kwargs)``."""
    return subprocess.run([binary(), *args], **kwargs)


def cache_dir():
    """The root of ferropy's cache, by the binary's rules: FERROPY_CACHE_DIR,
    else $XDG_CACHE_HOME/ferropy, else ~/.cache/ferropy."""
    explicit = os.environ.get("FERROPY_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ferropy")
    home = os.environ.get("HOME")
    if home:
        return os.path.join(home, ".cache", "ferropy")
    import tempfile

    return os.path.join(tempfile.gettempdir(), "ferropy-cache")


def build_arguments(portable=False, parallel=True, auto_parallel=True):
    """The ``ferropy build`` flags for these options."""
    args = []
    if portable:
        args.append("--portable")
    if not parallel:
        args += ["--parallel", "off"]
    elif not auto_parallel:
        args.append("--no-auto-parallel")
    return args


def pycc_module_name(source_text):
    """The module name a ``numba.pycc`` source gives with ``CC("name")``, or
    ``None`` for any other source (whose module is named after the file).

    The compiler decides the name; this reads it for the import hook and
    setuptools, which must know it before building."""
    if "CC" not in source_text or "pycc" not in source_text:
        return None
    try:
        tree = ast.parse(source_text)
    except (SyntaxError, ValueError):
        return None
    # The names `numba.pycc.CC` is reachable by: `from numba.pycc import CC
    # [as X]`, or a module alias such as `import numba.pycc as pycc`.
    direct, modules = set(), {"numba.pycc"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "numba.pycc":
            direct.update(alias.asname or alias.name for alias in node.names if alias.name == "CC")
        elif isinstance(node, ast.ImportFrom) and node.module == "numba":
            modules.update(alias.asname or alias.name for alias in node.names
                           if alias.name == "pycc")
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names
                           if alias.name == "numba.pycc" and alias.asname)

    def dotted(expr):
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, ast.Attribute):
            inner = dotted(expr.value)
            return inner and f"{inner}.{expr.attr}"
        return None

    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        callee = dotted(node.value.func)
        is_cc = callee in direct or (callee and callee.endswith(".CC")
                                    and callee[:-3] in modules)
        args = node.value.args
        if is_cc and args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            return args[0].value if args[0].value.isidentifier() else None
    return None


def build(source, out_dir, *, python=None, portable=False, parallel=True, auto_parallel=True,
          quiet=True, capture=True, env=None):
    """Compiles ``source`` (a ``.py`` file) into ``out_dir``, for ``python``
    (default: this interpreter): ``<module><EXT_SUFFIX>`` and ``<module>.pyi``.
    The module is named after the file, or after ``CC("name")`` in a
    ``numba.pycc`` source.

    Returns the path of the extension module. Raises FerropyCompileError
    carrying ferropy's diagnostics when the file does not compile or the
    build fails, and FerropyNotFound without a binary. With ``capture``
    false, ferropy's output goes to this process's stdout and stderr.
    """
    source = os.fspath(source)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    # ferropy builds into a directory of its own, so that whatever name the
    # module takes (the file's, or a `numba.pycc` module's CC name), it is
    # the one extension there.
    staging = tempfile.mkdtemp(prefix=".ferropy-build-", dir=out_dir)
    try:
        return _build_into(source, out_dir, staging, python, portable, parallel, auto_parallel,
                           quiet, capture, env)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_into(source, out_dir, staging, python, portable, parallel, auto_parallel, quiet,
                capture, env):
    command = [binary(), "build", source, "-o", staging, "--python", python or sys.executable]
    if quiet:
        command.append("-q")
    command += build_arguments(portable, parallel, auto_parallel)
    environment = dict(os.environ if env is None else env)
    environment.setdefault("NO_COLOR", "1")
    if capture:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=environment)
        output = result.stdout.decode("utf-8", "replace")
    else:
        result = subprocess.run(command, env=environment)
        output = ""
    if result.returncode != 0:
        what = {1: "it has errors", 2: "of a usage or environment error",
                101: "of an internal error in ferropy"}.get(result.returncode,
                                                              f"it exited with {result.returncode}")
        message = f"ferropy could not compile {source} because {what}"
        if output.strip():
            message += ":\n" + output.rstrip()
        raise FerropyCompileError(message, diagnostics=output, returncode=result.returncode,
                                  path=source)
    built = [name for name in os.listdir(staging) if not name.endswith(".pyi")]
    if len(built) != 1:
        raise FerropyCompileError(f"ferropy built {source} but left {built!r}, not one module",
                                  path=source)
    module = built[0].split(".", 1)[0]
    # The stub first, so that the module never appears without it.
    for name in (module + ".pyi", built[0]):
        if os.path.isfile(os.path.join(staging, name)):
            os.replace(os.path.join(staging, name), os.path.join(out_dir, name))
    return os.path.join(out_dir, built[0])
