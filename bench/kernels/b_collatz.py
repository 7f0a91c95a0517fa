#run: collatz_stats(100_000)
"""Collatz sequences for every start value up to n: total number of steps,
and the start value with the longest sequence."""


#pythran export collatz_stats(int)
def collatz_stats(n: int) -> tuple[int, int]:
    total = 0
    longest = 0
    argmax = 1
    for start in range(1, n + 1):
        x = start
        steps = 0
        while x != 1:
            if x % 2 == 0:
                x = x // 2
            else:
                x = 3 * x + 1
            steps += 1
        total += steps
        if steps > longest:
            longest = steps
            argmax = start
    return total, argmax
