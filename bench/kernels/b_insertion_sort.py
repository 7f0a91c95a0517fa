#setup: rng = np.random.default_rng(9); x = rng.uniform(-1.0, 1.0, 3_000)
#run: insertion_sorted(x)
"""Insertion sort of a copy of a float64 vector (the input is left alone)."""


#pythran export insertion_sorted(float64[:])
def insertion_sorted(x: "float64[:]") -> "float64[:]":
    a = x.copy()
    for i in range(1, len(a)):
        key = a[i]
        j = i - 1
        while j >= 0 and a[j] > key:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = key
    return a
