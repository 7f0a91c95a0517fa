"""A kernel for scaling out: the escape time of the Mandelbrot iteration for
every point of a block of the complex plane. Plain Python, compiled by
ferropy; `run.py` maps it over the blocks of a grid on threads, on processes
and on a Dask cluster. Each point stops at its own iteration, which NumPy's
whole-array operations cannot do."""
import numpy as np


def escape_time(re: "float64[:, :]", im: "float64[:, :]", max_iter: int) -> "int64[:, :]":
    """Iterations of z -> z**2 + c (c = re + i*im, z starting at 0) before
    |z| > 2, or max_iter."""
    out = np.empty((re.shape[0], re.shape[1]), dtype=np.int64)
    for i in range(re.shape[0]):
        for j in range(re.shape[1]):
            zr = 0.0
            zi = 0.0
            k = 0
            while k < max_iter:
                zr2 = zr * zr
                zi2 = zi * zi
                if zr2 + zi2 > 4.0:
                    break
                zi = 2.0 * zr * zi + im[i, j]
                zr = zr2 - zi2 + re[i, j]
                k += 1
            out[i, j] = k
    return out
