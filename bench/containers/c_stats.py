#setup: rng = np.random.default_rng(5); xs = [float(x) for x in rng.normal(10.0, 3.0, 400_000)]
#run: describe(xs)
"""Statistics over a list of floats: mean, variance, the median of the
sorted values and the count above the mean."""


#pythran export describe(float list)
def describe(xs: list[float]) -> tuple[float, float, float, int]:
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    ordered = sorted(xs)
    if n % 2 == 1:
        median = ordered[n // 2]
    else:
        median = 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])
    above = sum(1 for x in xs if x > mean)
    return mean, var, median, above
