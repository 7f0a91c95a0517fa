#run: coprime_pairs(2000)
"""Counts coprime pairs 1 <= a <= b <= n with Euclid's algorithm in a
while loop, and sums the gcds of the others."""


#pythran export coprime_pairs(int)
def coprime_pairs(n: int) -> tuple[int, int]:
    coprime = 0
    gcd_total = 0
    for a in range(1, n + 1):
        for b in range(a, n + 1):
            x = a
            y = b
            while y != 0:
                x, y = y, x % y
            if x == 1:
                coprime += 1
            else:
                gcd_total += x
    return coprime, gcd_total
