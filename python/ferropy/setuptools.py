"""Compiling kernels while a package builds, as Pythran's ``PythranExtension``.

In ``setup.py``::

    from setuptools import setup
    from ferropy.setuptools import FerropyExtension, build_ext

    setup(
        name="demo",
        packages=["demo"],
        ext_modules=[FerropyExtension("demo.kernels", "demo/kernels.py")],
        cmdclass={"build_ext": build_ext},
    )

with ``requires = ["setuptools>=70.1", "ferropy", "numpy"]`` in
``[build-system]`` (pip builds in an environment holding only those), or,
without a ``setup.py``, in ``pyproject.toml``::

    [tool.ferropy]
    modules = ["demo/kernels.py"]          # module names from the paths
    # or: modules = { "demo.kernels" = "src/demo/kernels.py" }

``pip install .``, ``pip wheel .`` and ``python -m build`` then put
``demo/kernels<EXT_SUFFIX>`` (and ``kernels.pyi``) into the wheel beside
``demo/kernels.py``; Python imports the extension module in its place.

Wheels are built for the architecture's baseline processor (``ferropy build
--portable``) unless ``FerropyExtension(..., portable=False)`` or the
environment variable ``FERROPY_NATIVE=1`` asks for this machine's.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import Extension
from setuptools.command.build_ext import build_ext as _build_ext

from ._command import FerropyNotFound, binary, build_arguments, pycc_module_name

try:
    from setuptools.errors import CompileError, SetupError
except ImportError:  # setuptools older than 59
    from distutils.errors import CompileError
    from distutils.errors import DistutilsSetupError as SetupError

__all__ = ["FerropyExtension", "build_ext"]


class FerropyExtension(Extension):
    """An extension module compiled by ferropy from one ``.py`` file.

    ``name`` is the dotted module name (``demo.kernels``); its last part
    must be the source file's name without ``.py`` (for a ``numba.pycc``
    source, the name its ``CC("name")`` gives), since that is the name the
    compiled module initialises under. ``portable`` (default true)
    builds for the architecture's baseline processor so that the wheel runs
    on other machines; ``parallel=False`` and ``auto_parallel=False`` are
    ``--parallel off`` and ``--no-auto-parallel``.
    """

    def __init__(self, name, source, *, portable=True, parallel=True, auto_parallel=True,
                 **kwargs):
        source = os.fspath(source)
        # Listing the source makes sdists include it.
        super().__init__(name, [source], **kwargs)
        self.ferropy_source = source
        self.ferropy_portable = portable
        self.ferropy_parallel = parallel
        self.ferropy_auto_parallel = auto_parallel
        stem = os.path.splitext(os.path.basename(source))[0]
        # A `numba.pycc` source names its module with CC("name").
        try:
            with open(source, "rb") as file:
                pycc = pycc_module_name(file.read().decode("utf-8", "replace"))
        except OSError:
            pycc = None
        module = pycc or stem
        if name.rsplit(".", 1)[-1] != module or not source.endswith(".py"):
            what = (f"the name its CC(...) gives, {pycc!r}" if pycc
                    else "the source file's name")
            fix = (f"or change CC({pycc!r})" if pycc
                   else f"or rename the file to {name.rsplit('.', 1)[-1]}.py")
            raise SetupError(
                f"FerropyExtension({name!r}, {source!r}): the module's last name must be "
                f"{what}: write FerropyExtension("
                f"{'.'.join(name.split('.')[:-1] + [module])!r}, {source!r}), {fix}"
            )


class build_ext(_build_ext):
    """setuptools' ``build_ext`` that compiles each FerropyExtension with the
    ``ferropy`` binary and every other extension as usual."""

    def build_extension(self, ext):
        if not isinstance(ext, FerropyExtension):
            return super().build_extension(ext)
        destination = self.get_ext_fullpath(ext.name)
        try:
            ferropy = binary()
        except FerropyNotFound as error:
            raise CompileError(str(error)) from None
        if importlib.util.find_spec("numpy") is None:
            # pip's isolated build environment has only the build
            # requirements.
            raise CompileError(
                f"ferropy builds {ext.name} for {sys.executable}, which has no NumPy here: "
                "add \"numpy\" to the build requirements ([build-system] requires in "
                "pyproject.toml), or install it before building"
            )
        portable = ext.ferropy_portable and os.environ.get("FERROPY_NATIVE") != "1"
        flags = build_arguments(portable, ext.ferropy_parallel, ext.ferropy_auto_parallel)
        with tempfile.TemporaryDirectory(prefix="ferropy-build-") as out:
            command = [ferropy, "build", ext.ferropy_source, "-o", out,
                       "--python", sys.executable, *flags]
            print(f"ferropy: compiling {ext.ferropy_source} to {ext.name}"
                  f"{' (portable)' if portable else ''}", flush=True)
            status = subprocess.call(command)
            if status != 0:
                raise CompileError(
                    f"ferropy could not compile {ext.ferropy_source} (exit {status}); its "
                    "diagnostics are above"
                )
            module = ext.name.rsplit(".", 1)[-1]
            built = [name for name in os.listdir(out)
                     if name.startswith(module + ".") and not name.endswith(".pyi")]
            if len(built) != 1:
                raise CompileError(f"ferropy left {built!r} in {out}, expected one module")
            os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
            shutil.copyfile(os.path.join(out, built[0]), destination)
            os.chmod(destination, 0o755)
            stub = os.path.join(out, module + ".pyi")
            if os.path.isfile(stub):
                shutil.copyfile(stub, os.path.join(os.path.dirname(destination),
                                                   module + ".pyi"))

    # Editable installs (`pip install -e`, `build_ext --inplace`) build into
    # the build directory and then copy each extension module into the
    # source tree; setuptools knows nothing of the stub beside it, so it is
    # copied too and listed among the outputs.
    def copy_extensions_to_source(self):
        super().copy_extensions_to_source()
        for built, in_source in self._stub_mapping():
            if os.path.isfile(built):
                self.copy_file(built, in_source, level=self.verbose)

    def get_output_mapping(self):
        mapping = super().get_output_mapping()
        if self.inplace:
            mapping.update(self._stub_mapping())
        return dict(sorted(mapping.items()))

    def _stub_mapping(self):
        """(stub in the build directory, stub in the source tree) for each
        FerropyExtension."""
        build_py = self.get_finalized_command("build_py")
        pairs = []
        for ext in self.extensions:
            if not isinstance(ext, FerropyExtension):
                continue
            in_source, built = self._get_inplace_equivalent(build_py, ext)
            stub = ext.name.rsplit(".", 1)[-1] + ".pyi"
            pairs.append((os.path.join(os.path.dirname(built), stub),
                          os.path.join(os.path.dirname(in_source), stub)))
        return pairs


def _read_pyproject(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ImportError:
            return None
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (OSError, ValueError):
        # setuptools reports a broken pyproject.toml itself.
        return None


def _modules_from_table(table):
    """``[tool.ferropy] modules`` as (module name, source path) pairs."""
    modules = table.get("modules", [])
    if isinstance(modules, dict):
        pairs = list(modules.items())
    elif isinstance(modules, list):
        pairs = []
        for path in modules:
            if not isinstance(path, str) or not path.endswith(".py"):
                raise SetupError(
                    f"[tool.ferropy] modules: {path!r} is not the path of a .py file")
            name = os.path.splitext(path)[0].replace("\\", "/").strip("/").replace("/", ".")
            try:
                with open(path, "rb") as file:
                    pycc = pycc_module_name(file.read().decode("utf-8", "replace"))
            except OSError:
                pycc = None
            if pycc:
                name = ".".join(name.split(".")[:-1] + [pycc])
            pairs.append((name, path))
    else:
        raise SetupError("[tool.ferropy] modules must be a list of .py paths or a table "
                         "of module name = path")
    for name, path in pairs:
        if not isinstance(name, str) or not isinstance(path, str):
            raise SetupError(f"[tool.ferropy] modules: {name!r} = {path!r} is not a name and a path")
    return pairs


def finalize_distribution_options(dist):
    """setuptools' hook (an entry point of the ferropy distribution): a
    project whose ``pyproject.toml`` has a ``[tool.ferropy]`` table gets a
    FerropyExtension per listed module and ferropy's ``build_ext``. Every
    other project is left alone."""
    config = _read_pyproject("pyproject.toml") if os.path.isfile("pyproject.toml") else None
    table = (config or {}).get("tool", {}).get("ferropy")
    if not table:
        return
    options = {key: table[key] for key in ("portable", "parallel", "auto_parallel")
               if key in table}
    extensions = list(dist.ext_modules or [])
    present = {ext.name for ext in extensions}
    for name, path in _modules_from_table(table):
        if name not in present:
            extensions.append(FerropyExtension(name, path, **options))
    dist.ext_modules = extensions
    command = dist.cmdclass.get("build_ext")
    if command is None or not issubclass(command, build_ext):
        dist.cmdclass["build_ext"] = build_ext

