"""``python -m ferropy ARGS``: the ``ferropy`` command line, same arguments,
same output and exit code."""

import sys

from ._command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
