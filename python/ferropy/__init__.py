"""ferropy: compile annotated numeric Python to native CPython extension modules.

This package is the Python side of the ``ferropy`` command line, which is
installed beside it (the same wheel):

* ``python -m ferropy ...`` runs the command line (:mod:`ferropy.__main__`);
* :func:`build` compiles a ``.py`` file from Python;
* :mod:`ferropy.setuptools` compiles kernels while a package builds
  (``FerropyExtension``, ``build_ext``, or a ``[tool.ferropy]`` table);
* :mod:`ferropy.hook` compiles ``.py`` files on import;
* ``%load_ext ferropy`` adds the ``%%ferropy`` cell magic to IPython and
  Jupyter (:mod:`ferropy.magic`).
"""

from ._command import (
    FerropyCompileError,
    FerropyNotFound,
    binary,
    build,
    cache_dir,
    run,
)

__version__ = "0.1.0"

__all__ = [
    "FerropyCompileError",
    "FerropyNotFound",
    "binary",
    "build",
    "cache_dir",
    "run",
    "load_ipython_extension",
]


def load_ipython_extension(ipython):
    """``%load_ext ferropy``: registers the ``%%ferropy`` cell magic."""
    from .magic import register

    register(ipython)
