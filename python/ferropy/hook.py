"""Compiling ``.py`` files on import, as ``pyximport`` does for Cython::

    import ferropy.hook
    ferropy.hook.install()

    import kernels          # compiles kernels.py the first time, then reuses it

A compiled module is cached by the hash of its source text (and of the
ferropy binary, the interpreter and the options), in ``<ferropy cache>/hook``
(``FERROPY_CACHE_DIR``, else ``~/.cache/ferropy``): the first import of a
source compiles it, later imports load it straight away, and an edited source
is compiled again. A source that does not compile raises an ImportError
(:class:`ferropy.FerropyCompileError`) whose message is ferropy's diagnostics.

Which modules are compiled: by default every module whose ``.py`` file is
under the current working directory (the project), except files of the
Python installation and its environments (``sys.prefix``, site-packages)
and package ``__init__.py`` files. ``install(modules=[...])`` compiles only
the named modules, ``install(paths=[...])`` only files under those
directories. Every other import is left to Python.

A ``numba.pycc`` source names its module with ``CC("name")``, and that is
the name its users import, as they imported the module ``cc.compile()``
built: ``import kernels`` compiles the selected source holding
``cc = CC("kernels")`` (found in the directories the import searches) when
no ``kernels.py`` exists. Importing such a source under its own file name
gives the Python module, as without the hook.
"""

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
import threading
import time

from ._command import (
    FerropyCompileError,
    FerropyNotFound,
    binary,
    build,
    build_arguments,
    cache_dir,
    pycc_module_name,
)

__all__ = ["install", "uninstall", "FerropyFinder", "FerropyCompileError"]


def _installation_dirs():
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            dirs.add(path)
    try:
        import site

        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except (AttributeError, ImportError):
        pass
    return [os.path.realpath(path) for path in dirs if path]


def _is_under(path, directory):
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:  # different drives
        return False


class FerropyFinder(importlib.abc.MetaPathFinder):
    """A meta path finder that compiles selected ``.py`` modules with ferropy."""

    def __init__(self, modules=None, paths=None, *, portable=False, parallel=True,
                 auto_parallel=True, quiet=False):
        self.modules = None if modules is None else set(modules)
        if paths is None and modules is None:
            paths = [os.getcwd()]
        self.paths = None if paths is None else [os.path.realpath(os.fspath(p)) for p in paths]
        self.flags = build_arguments(portable, parallel, auto_parallel)
        self.quiet = quiet
        self._excluded = _installation_dirs()
        self._lock = threading.Lock()
        self._pycc_names = {}

    def _wanted(self, fullname, origin):
        if not origin.endswith(".py") or os.path.basename(origin) == "__init__.py":
            return False
        if self.modules is not None and fullname not in self.modules:
            return False
        if self.paths is None:
            return True
        real = os.path.realpath(origin)
        roots = [path for path in self.paths if _is_under(real, path)]
        if not roots:
            return False
        # The Python installation and environments (a .venv inside the
        # project) are not the project, unless a root lies inside them.
        return not any(_is_under(real, excluded) and not any(
            _is_under(root, excluded) for root in roots) for excluded in self._excluded)

    def _may_want(self, fullname, path):
        """A cheap test before the path search: False when no file the
        import can find is selected."""
        if self.modules is not None:
            return fullname in self.modules
        if path is not None and self.paths is not None:
            # A submodule: only a package under a selected directory can
            # hold one (numpy.linalg is not searched for).
            try:
                entries = [os.path.realpath(os.fspath(entry)) for entry in path]
            except TypeError:
                return True
            return any(_is_under(entry, root) for entry in entries for root in self.paths)
        return True

    def _pycc_name(self, origin):
        """``CC("name")`` of a ``numba.pycc`` source, or None; cached by
        modification time."""
        try:
            stat = os.stat(origin)
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._pycc_names.get(origin)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with open(origin, "rb") as file:
                text = file.read().decode("utf-8", "replace")
        except OSError:
            return None
        name = pycc_module_name(text)
        self._pycc_names[origin] = (key, name)
        return name

    def _pycc_source(self, fullname, path):
        """The selected ``numba.pycc`` source whose ``CC(...)`` names the
        module ``fullname``, in the directories the import searches."""
        module = fullname.rsplit(".", 1)[-1]
        for directory in (sys.path if path is None else path):
            try:
                directory = os.path.realpath(os.fspath(directory) or os.getcwd())
                entries = sorted(os.listdir(directory))
            except (OSError, TypeError):
                continue
            if self.paths is not None and not any(_is_under(directory, root)
                                                  for root in self.paths):
                continue
            # The Python installation holds no project sources to compile.
            if self.paths is None and any(_is_under(directory, excluded)
                                          for excluded in self._excluded):
                continue
            for entry in entries:
                origin = os.path.join(directory, entry)
                if (entry.endswith(".py") and self._wanted(fullname, origin)
                        and self._pycc_name(origin) == module):
                    return origin
        return None

    def find_spec(self, fullname, path=None, target=None):
        if not self._may_want(fullname, path):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            origin = self._pycc_source(fullname, path)
            if origin is None:
                return None
        elif not spec.origin or not isinstance(spec.loader,
                                               importlib.machinery.SourceFileLoader):
            return None
        else:
            origin = spec.origin
            if not self._wanted(fullname, origin):
                return None
            # A pycc source imported under its file name: its compiled
            # module is named by CC(...), so Python imports the source.
            pycc = self._pycc_name(origin)
            if pycc is not None and pycc != fullname.rsplit(".", 1)[-1]:
                return None
        extension = self._compiled(fullname, origin)
        loader = importlib.machinery.ExtensionFileLoader(fullname, extension)
        return importlib.util.spec_from_file_location(fullname, extension, loader=loader)

    def _key(self, source_bytes):
        try:
            ferropy = binary()
            stat = os.stat(ferropy)
            tool = f"{ferropy}:{stat.st_size}:{stat.st_mtime_ns}"
        except (OSError, RuntimeError):
            tool = "no ferropy"
        digest = hashlib.sha256()
        for part in (tool, sys.executable, sysconfig.get_config_var("EXT_SUFFIX") or "",
                     " ".join(self.flags)):
            digest.update(part.encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
        digest.update(source_bytes)
        return digest.hexdigest()[:20]

    def _compiled(self, fullname, origin):
        """The path of the compiled module for ``origin``, compiling it
        unless the cache holds it."""
        with open(origin, "rb") as file:
            source = file.read()
        module = fullname.rsplit(".", 1)[-1]
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        entry = os.path.join(cache_dir(), "hook", f"{module}-{self._key(source)}")
        extension = os.path.join(entry, module + suffix)
        if os.path.isfile(extension):
            return extension
        with self._lock:
            if os.path.isfile(extension):
                return extension
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            staging = tempfile.mkdtemp(prefix=f".{module}-", dir=os.path.dirname(entry))
            try:
                if not self.quiet:
                    print(f"ferropy: compiling {origin} (module {fullname})", file=sys.stderr,
                          flush=True)
                started = time.monotonic()
                try:
                    build(origin, staging, portable="--portable" in self.flags,
                          parallel="off" not in self.flags,
                          auto_parallel="--no-auto-parallel" not in self.flags)
                except FerropyNotFound as error:
                    raise FerropyCompileError(
                        f"cannot compile {origin} for `import {fullname}`: {error}",
                        returncode=2, name=fullname, path=origin) from None
                except FerropyCompileError as error:
                    raise FerropyCompileError(
                        f"ferropy could not compile {origin} for `import {fullname}`:\n"
                        f"{error.diagnostics.rstrip()}",
                        diagnostics=error.diagnostics, returncode=error.returncode,
                        name=fullname, path=origin) from None
                with open(origin, "rb") as file:
                    if file.read() != source:
                        raise ImportError(
                            f"{origin} changed while ferropy compiled it; import it again",
                            name=fullname, path=origin)
                try:
                    os.replace(staging, entry)
                except OSError:
                    # Another process published the same entry first.
                    if not os.path.isfile(extension):
                        raise
                if not self.quiet:
                    print(f"ferropy: compiled {fullname} in {time.monotonic() - started:.1f} s",
                          file=sys.stderr, flush=True)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return extension


_installed = None


def install(modules=None, paths=None, *, portable=False, parallel=True, auto_parallel=True,
            quiet=False):
    """Makes later imports compile the selected ``.py`` modules (see the
    module documentation); returns the finder. Installing again replaces
    the previous finder."""
    global _installed
    uninstall()
    _installed = FerropyFinder(modules, paths, portable=portable, parallel=parallel,
                               auto_parallel=auto_parallel, quiet=quiet)
    sys.meta_path.insert(0, _installed)
    return _installed


def uninstall():
    """Removes the finder ``install`` added; modules already imported stay."""
    global _installed
    if _installed is not None and _installed in sys.meta_path:
        sys.meta_path.remove(_installed)
    _installed = None
