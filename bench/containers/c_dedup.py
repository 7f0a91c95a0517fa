#setup: rng = np.random.default_rng(3); items = [int(v) for v in rng.integers(0, 200_000, 800_000)]
#run: dedup(items)
"""Deduplication with a set, keeping the first occurrence of each value in
order."""


#pythran export dedup(int list)
def dedup(items: list[int]) -> list[int]:
    seen = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
