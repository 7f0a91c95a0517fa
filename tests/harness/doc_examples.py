"""Checks the examples of a Markdown page against the module compiled from it.

    python tests/harness/doc_examples.py --extract DIR docs/semantics.md
    python tests/harness/doc_examples.py --compiled-dir OUT docs/semantics.md

The fenced blocks of the page are read by their info string:

- ```` ```python ````: kernel source. All of them, in order and after
  `import math` and `import numpy as np`, form one module, `semantics_doc`.
  `--extract DIR` writes it to `DIR/semantics_doc.py` for `ferropy build`.
- ```` ```pycon ````: an interactive session run as a doctest against the
  compiled `semantics_doc` imported from OUT.
- ```` ```pycon cpython ````: a session run against the same source under
  CPython, to show where the interpreter differs.

Sessions of one kind share a namespace, in page order, that starts with the
module's functions, `np` and `math`. Output must match exactly (doctest's
rules: exceptions by their last line). Warnings, such as NumPy's for a
division by zero, are not part of the output. The closing line is
`N passed, N failed`; the exit status is 1 when a session failed.
"""

from __future__ import annotations

import argparse
import doctest
import io
import math
import re
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _ferropy_harness import ImportProblem, exported_functions, import_compiled

MODULE = "semantics_doc"
HEADER = "import math\n\nimport numpy as np\n"

_FENCE = re.compile(r"^```(.*)$")


@dataclass
class Block:
    info: str
    text: str
    line: int


def read_blocks(page: Path) -> list[Block]:
    """The fenced blocks of `page`, with the line number of their first line."""
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        info = match.group(1).strip()
        start = index + 1
        end = start
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end == len(lines):
            raise SystemExit(f"{page}:{index + 1}: the fenced block is never closed")
        blocks.append(Block(info, "\n".join(lines[start:end]) + "\n", start + 1))
        index = end + 1
    return blocks


def module_source(blocks: list[Block]) -> str:
    kernels = [block.text for block in blocks if block.info == "python"]
    return HEADER + "\n\n" + "\n\n".join(kernels)


def reference_module(source: str, page: Path) -> types.ModuleType:
    """The page's kernels run by CPython, under a name of their own."""
    module = types.ModuleType(f"_ferropy_reference_{MODULE}")
    exec(compile(source, f"{page} (python blocks)", "exec"), module.__dict__)  # noqa: S102
    return module


def run_sessions(blocks: list[Block], info: str, module: types.ModuleType, page: Path) -> tuple[int, int]:
    globs: dict[str, object] = {"np": np, "math": math}
    globs.update(exported_functions(module))
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    passed = failed = 0
    for block in blocks:
        if block.info != info:
            continue
        name = f"{page.name}:{block.line}"
        test = parser.get_doctest(block.text, globs, name, str(page), block.line - 1)
        report = io.StringIO()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = runner.run(test, out=report.write, clear_globs=False)
        # The test ran on a copy of the namespace; later sessions continue it.
        globs = test.globs
        label = "compiled" if info == "pycon" else "CPython"
        if result.failed:
            failed += 1
            print(f"FAIL {name} ({label})")
            print("     " + report.getvalue().rstrip().replace("\n", "\n     "))
        else:
            passed += 1
            print(f"ok   {name} ({label}, {result.attempted} examples)")
    return passed, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the Markdown page")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--extract", type=Path, metavar="DIR",
                      help=f"write the page's kernels to DIR/{MODULE}.py")
    what.add_argument("--compiled-dir", type=Path, metavar="OUT",
                      help=f"directory holding the compiled {MODULE} module")
    parser.add_argument("--allow-source-modules", action="store_true",
                        help="accept a .py module in the compiled dir; only for testing this harness")
    args = parser.parse_args()
    sys.dont_write_bytecode = True

    blocks = read_blocks(args.page)
    source = module_source(blocks)
    if args.extract is not None:
        args.extract.mkdir(parents=True, exist_ok=True)
        (args.extract / f"{MODULE}.py").write_text(source, encoding="utf-8")
        return 0

    try:
        compiled = import_compiled(MODULE, args.compiled_dir, args.allow_source_modules)
    except ImportProblem as problem:
        print(f"FAIL {problem}")
        print("0 passed, 1 failed")
        return 1
    reference = reference_module(source, args.page)
    passed_compiled, failed_compiled = run_sessions(blocks, "pycon", compiled, args.page)
    passed_cpython, failed_cpython = run_sessions(blocks, "pycon cpython", reference, args.page)
    passed = passed_compiled + passed_cpython
    failed = failed_compiled + failed_cpython
    if passed_compiled + failed_compiled == 0:
        print(f"FAIL {args.page} has no pycon sessions to check")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
