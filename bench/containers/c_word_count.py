#setup: rng = np.random.default_rng(7); words = [int(w) for w in rng.zipf(1.3, 600_000) % 5000]
#run: count_words(words)
"""Counting with a dict: how often each of 600,000 word ids (Zipf
distributed) occurs, the `counts[w] = counts.get(w, 0) + 1` idiom."""


#pythran export count_words(int list)
def count_words(words: list[int]) -> dict[int, int]:
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return counts
