"""A package whose kernels ferropy compiles at build time."""
from .kernels import count_primes, smooth

__all__ = ["count_primes", "smooth"]
