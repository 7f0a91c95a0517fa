#setup: n = 3_000_000
#run: primes_upto(n)
"""The sieve of Eratosthenes over a list of flags, then the primes as a
list comprehension and their count and sum."""


#pythran export primes_upto(int)
def primes_upto(n: int) -> tuple[int, int]:
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    i = 2
    while i * i <= n:
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
        i += 1
    primes = [k for k in range(n + 1) if flags[k]]
    return len(primes), sum(primes)
