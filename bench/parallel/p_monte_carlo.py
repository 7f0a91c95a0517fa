#setup: n = 20_000_000
#run: monte_carlo_pi(n)
"""Monte Carlo estimate of pi with a counter-based hash as the random
source, so every iteration draws its own numbers: an integer reduction."""

prange = range


def monte_carlo_pi(n: int) -> float:
    hits = 0
    for i in prange(n):
        h = (i * 2654435761 + 12345) % 4294967296
        x = (h % 65536) / 65536.0
        y = (h // 65536) / 65536.0
        if x * x + y * y < 1.0:
            hits += 1
    return 4.0 * hits / n
