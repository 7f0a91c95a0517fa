#setup: rng = np.random.default_rng(29); x = rng.normal(3.0, 2.0, 800_000); y = 0.5 * x + rng.normal(0.0, 1.0, 800_000)
#run: moments(x, y)
"""Two-pass reductions: means, sample variances, the covariance (a dot
product of centred vectors) and the correlation coefficient."""
import math


#pythran export moments(float64[:], float64[:])
def moments(x: "float64[:]", y: "float64[:]") -> tuple[float, float, float, float]:
    n = len(x)
    sx = 0.0
    sy = 0.0
    for i in range(n):
        sx += x[i]
        sy += y[i]
    mx = sx / n
    my = sy / n
    vx = 0.0
    vy = 0.0
    cxy = 0.0
    for i in range(n):
        dx = x[i] - mx
        dy = y[i] - my
        vx += dx * dx
        vy += dy * dy
        cxy += dx * dy
    vx /= n - 1
    vy /= n - 1
    cxy /= n - 1
    return vx, vy, cxy, cxy / math.sqrt(vx * vy)
