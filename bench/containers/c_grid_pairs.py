#setup: rng = np.random.default_rng(9); pts = [(int(a), int(b)) for a, b in rng.integers(0, 1000, (300_000, 2))]
#run: cell_counts(pts, 50)
"""Bucketing points into grid cells with tuple keys, then the busiest
cell: a dict keyed by (row, column) tuples."""


#pythran export cell_counts((int, int) list, int)
def cell_counts(points: list[tuple[int, int]], size: int) -> tuple[int, int]:
    cells = {}
    for x, y in points:
        key = (x // size, y // size)
        cells[key] = cells.get(key, 0) + 1
    best = 0
    for count in cells.values():
        if count > best:
            best = count
    return len(cells), best
