#setup: n = 600
#run: table_checksum(n)
"""A table built with nested list comprehensions, then reduced with
generator expressions: the multiplication table modulo 7 and its row and
column sums."""


#pythran export table_checksum(int)
def table_checksum(n: int) -> tuple[int, int]:
    table = [[(i * j) % 7 for j in range(n)] for i in range(n)]
    rows = sum(sum(row) * (k % 3) for k, row in enumerate(table))
    cols = sum(table[i][(i * 5) % n] for i in range(n))
    return rows, cols
