"""Stub rules (tests/it/stubs.rs): several `#pythran export` lines of one
function whose parameters read the same in typing terms are one signature,
with a union of their results; scalar results are Python numbers."""
import numpy as np

#pythran export first(float64[])
#pythran export first(float64[][])
#pythran export first(int32[])
#pythran export total(float64[])
#pythran export total(float64[][])
#pythran export total(uint8[])


def first(a):
    return a[0]


def total(a):
    return np.sum(a)


def half(x: np.float32) -> np.float32:
    return x / np.float32(2.0)


def halves(x: np.float32) -> tuple[np.float32, np.int16]:
    return x / np.float32(2.0), np.int16(2)
