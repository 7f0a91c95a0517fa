"""Callers that use the stub of kernels.py as it allows: mypy --strict
accepts them (tests/it/stubs.rs)."""
import math

import numpy as np

import kernels

a = np.zeros((2, 3))
b: np.ndarray = kernels.scale(a, 2.0)
c = kernels.scale(a, 2, inplace=True)
mean, std = kernels.stats(np.ones(3))
total: float = mean + std
y: float = kernels.apply(math.cos, 1.0)
z: float = kernels.apply(lambda t: t * 2.0, 1.0)
n: int = kernels.count(10)
kernels.half(np.float32(3.0))
kernels.set_num_threads(2)
threads: int = kernels.get_num_threads()

import overloads  # the second stub of the test

first_value: float | np.ndarray = overloads.first(np.ones(3))
total_value: float = overloads.total(np.ones((2, 2)))
halved: float = overloads.half(np.float32(3.0))
pair: tuple[float, int] = overloads.halves(np.float32(3.0))
