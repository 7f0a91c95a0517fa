"""Callers that misuse the stub of kernels.py: mypy flags each line after
the array (tests/it/stubs.rs lists the expected error codes by line)."""
import numpy as np

import kernels

a = np.zeros((2, 3))
kernels.count("10")
kernels.scale(a)
kernels.scale(a, 2.0, True)
text: str = kernels.count(3)
kernels.apply(len, 1.0)
kernels.nonexistent()
m, s, t = kernels.stats(np.ones(3))
kernels.half(a, inplace=True)

import overloads  # the second stub of the test

exact: np.float32 = overloads.half(np.float32(3.0))
overloads.total("not an array")
