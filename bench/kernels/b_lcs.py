#setup: rng = np.random.default_rng(13); s = rng.integers(0, 6, 900); t = rng.integers(0, 6, 1000)
#run: lcs_table(s, t)
"""Longest common subsequence of two int64 sequences by the full
dynamic-programming table; returns the length and the table's last row sum."""
import numpy as np


#pythran export lcs_table(int64[:], int64[:])
def lcs_table(a: "int64[:]", b: "int64[:]") -> tuple[int, int]:
    n = len(a)
    m = len(b)
    table = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(1, n + 1):
        ai = a[i - 1]
        for j in range(1, m + 1):
            if ai == b[j - 1]:
                table[i, j] = table[i - 1, j - 1] + 1
            else:
                table[i, j] = max(table[i - 1, j], table[i, j - 1])
    last = 0
    for j in range(m + 1):
        last += table[n, j]
    return table[n, m], last
