#run: mandelbrot(-2.1, 0.7, -1.2, 1.2, 320, 240, 200)
"""Escape-time counts of the Mandelbrot set over a pixel grid, in real
arithmetic (no complex numbers)."""
import numpy as np


#pythran export mandelbrot(float, float, float, float, int, int, int)
def mandelbrot(x0: float, x1: float, y0: float, y1: float, width: int, height: int,
               max_iter: int) -> "int64[:, :]":
    counts = np.zeros((height, width), dtype=np.int64)
    dx = (x1 - x0) / (width - 1)
    dy = (y1 - y0) / (height - 1)
    for row in range(height):
        ci = y0 + row * dy
        for col in range(width):
            cr = x0 + col * dx
            zr = 0.0
            zi = 0.0
            k = 0
            while k < max_iter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                k += 1
            counts[row, col] = k
    return counts
