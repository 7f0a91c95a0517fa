#setup: n = 240
#run: newton_fractal(n, 50)
"""Newton's method for z**3 = 1 from a grid of starting points in the
complex plane: how many points reach each cube root of one, how many reach
none, and the steps taken in all."""


#pythran export newton_fractal(int, int)
def newton_fractal(n: int, max_iter: int) -> tuple[list[int], int]:
    roots = [complex(1.0, 0.0), complex(-0.5, 0.8660254037844386),
             complex(-0.5, -0.8660254037844386)]
    counts = [0] * (len(roots) + 1)
    steps = 0
    for i in range(n):
        for j in range(n):
            z = complex(-2.0 + 4.0 * j / (n - 1), -2.0 + 4.0 * i / (n - 1))
            found = len(roots)
            for _ in range(max_iter):
                if z == 0:
                    break
                z = z - (z ** 3 - 1) / (3 * z ** 2)
                steps += 1
                for k, root in enumerate(roots):
                    if abs(z - root) < 1e-9:
                        found = k
                        break
                if found < len(roots):
                    break
            counts[found] += 1
    return counts, steps
