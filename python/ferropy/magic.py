"""The ``%%ferropy`` cell magic for IPython and Jupyter::

    %load_ext ferropy

    %%ferropy
    import numpy as np

    def total(a: "float64[:]") -> float:
        ...

compiles the cell with ferropy and binds its compiled functions in the
notebook's namespace. Diagnostics name the cell ``cell`` and count lines as
the notebook shows them, the ``%%ferropy`` line being line 1. Options:
``--parallel off``, ``--no-auto-parallel``, ``--portable``, ``-q`` (say
nothing on success). A cell is compiled once: its module is cached by the
hash of its text in ``<ferropy cache>/magic``.
"""

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ._command import FerropyCompileError, FerropyNotFound, binary, build, cache_dir

# Written above the cell's text, so that line numbers in diagnostics are
# the notebook's (the magic's own line is line 1).
_HEADER = "# %%ferropy\n"


def _tool_key():
    try:
        path = binary()
        stat = os.stat(path)
        return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    except (OSError, FerropyNotFound):
        return "no ferropy"


def compile_cell(cell, *, portable=False, parallel=True, auto_parallel=True, quiet=False):
    """Compiles the text of a cell; returns the compiled module. Raises
    FerropyCompileError with diagnostics naming the cell ``cell``."""
    source = _HEADER + cell
    if not source.endswith("\n"):
        source += "\n"
    digest = hashlib.sha256()
    for part in (_tool_key(), sys.executable, sysconfig.get_config_var("EXT_SUFFIX") or "",
                 repr((portable, parallel, auto_parallel)), source):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    module = "_ferropy_cell_" + digest.hexdigest()[:16]
    root = os.path.join(cache_dir(), "magic")
    entry = os.path.join(root, module)
    extension = os.path.join(entry, module + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.isfile(extension):
        # The source file's path is stable (its name is the hash of its
        # text), so ferropy reuses the same crate for the same cell.
        sources = os.path.join(root, "src")
        os.makedirs(sources, exist_ok=True)
        path = os.path.join(sources, module + ".py")
        with open(path, "w", encoding="utf-8") as file:
            file.write(source)
        staging = tempfile.mkdtemp(prefix=f".{module}-", dir=root)
        try:
            if not quiet:
                print(f"ferropy: compiling the cell (module {module})", file=sys.stderr,
                      flush=True)
            try:
                build(path, staging, portable=portable, parallel=parallel,
                      auto_parallel=auto_parallel)
            except FerropyCompileError as error:
                diagnostics = error.diagnostics.replace(path, "cell")
                raise FerropyCompileError(f"ferropy could not compile the cell:\n"
                                          f"{diagnostics.rstrip()}",
                                          diagnostics=diagnostics,
                                          returncode=error.returncode) from None
            try:
                os.replace(staging, entry)
            except OSError:
                if not os.path.isfile(extension):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if module in sys.modules:
        return sys.modules[module]
    loader = importlib.machinery.ExtensionFileLoader(module, extension)
    spec = importlib.util.spec_from_file_location(module, extension, loader=loader)
    compiled = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compiled)
    sys.modules[module] = compiled
    return compiled


def cell_functions(module, cell):
    """The compiled functions of the cell's module that the cell defines at
    its top level, by name (not the module's own `set_num_threads` and
    `get_num_threads`, unless the cell defines them)."""
    import ast

    try:
        defined = {node.name for node in ast.parse(cell).body
                   if isinstance(node, ast.FunctionDef)}
    except SyntaxError:  # ferropy compiled it, so this does not happen
        defined = set()
    return {name: value for name, value in vars(module).items()
            if name in defined and callable(value)}


@magics_class
class FerropyMagics(Magics):
    @magic_arguments()
    @argument("--parallel", choices=["on", "off"], default="on",
              help="off: every loop runs serially")
    @argument("--no-auto-parallel", action="store_true",
              help="run in parallel only prange loops")
    @argument("--portable", action="store_true",
              help="build for the architecture's baseline processor")
    @argument("-q", "--quiet", action="store_true", help="say nothing on success")
    @cell_magic
    def ferropy(self, line, cell):
        """Compile the cell with ferropy and define its functions."""
        args = parse_argstring(self.ferropy, line)
        try:
            compiled = compile_cell(cell, portable=args.portable,
                                    parallel=args.parallel == "on",
                                    auto_parallel=not args.no_auto_parallel, quiet=args.quiet)
        except (FerropyCompileError, FerropyNotFound) as error:
            # A UsageError shows as its message, without a traceback of
            # the magic's internals.
            raise UsageError(str(error)) from None
        functions = cell_functions(compiled, cell)
        self.shell.user_ns.update(functions)
        if not args.quiet:
            names = ", ".join(sorted(functions)) or "no functions"
            print(f"ferropy: defined {names}", file=sys.stderr, flush=True)


def register(ipython):
    ipython.register_magics(FerropyMagics)
