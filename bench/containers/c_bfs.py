#setup: rng = np.random.default_rng(11); n = 150_000; adj = [[int(v) for v in rng.integers(0, n, 4)] for _ in range(n)]
#run: bfs_levels(adj, 0)
"""Breadth-first search over adjacency lists (a list of lists of ints):
the level of every node reachable from the start, with a list as the
queue and a list of flags for the visited nodes."""


#pythran export bfs_levels(int list list, int)
def bfs_levels(adj: list[list[int]], start: int) -> list[int]:
    n = len(adj)
    level = [-1] * n
    level[start] = 0
    frontier = [start]
    depth = 0
    while frontier:
        depth += 1
        following = []
        for u in frontier:
            for v in adj[u]:
                if level[v] < 0:
                    level[v] = depth
                    following.append(v)
        frontier = following
    return level
