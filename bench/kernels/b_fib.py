#run: fib(32)
"""Doubly recursive Fibonacci: a benchmark of call overhead, nothing else."""


#pythran export fib(int)
def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
