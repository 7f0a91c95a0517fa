"""Runs the compiled `escape.escape_time` over the row blocks of a grid in
each way docs/scaling.md describes, checks every result against NumPy (the
same iteration on whole arrays with masks: equal counts, to the last
iteration), and prints the times.

    ferropy build examples/scaling/escape.py -o OUT
    python examples/scaling/run.py --compiled-dir OUT            # measure
    python examples/scaling/run.py --compiled-dir OUT --check    # small, quick: the test

Ways: one call on the whole grid; blocks on a thread pool (the compiled call
releases the GIL); blocks on a process pool
(concurrent.futures.ProcessPoolExecutor); dask.array's map_blocks on Dask's
threaded scheduler; and on a dask.distributed LocalCluster of worker
processes. The kernel runs on one thread of its own in every case
(set_num_threads(1)), so the speed-ups are the blocking's alone.
"""

import argparse
import concurrent.futures
import os
import sys
import time
import warnings

import numpy as np


def numpy_escape_time(re, im, max_iter):
    """escape_time with NumPy's whole-array operations."""
    zr = np.zeros_like(re)
    zi = np.zeros_like(re)
    counts = np.full(re.shape, max_iter, dtype=np.int64)
    active = np.ones(re.shape, dtype=bool)
    for k in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        escaped = active & (zr2 + zi2 > 4.0)
        counts[escaped] = k
        active &= ~escaped
        if not active.any():
            break
        zi = np.where(active, 2.0 * zr * zi + im, zi)
        zr = np.where(active, zr2 - zi2 + re, zr)
    return counts


def grid(rows, columns):
    re, im = np.meshgrid(np.linspace(-2.0, 0.6, columns), np.linspace(-1.2, 1.2, rows))
    return np.ascontiguousarray(re), np.ascontiguousarray(im)


def _init_worker(compiled_dir):
    # Worker processes find the compiled module as the parent does.
    if compiled_dir not in sys.path:
        sys.path.insert(0, compiled_dir)
    import escape

    escape.set_num_threads(1)


def _block(args):
    import escape

    return escape.escape_time(*args)


def escape_time_on_worker(re, im, max_iter):
    """`escape.escape_time` in a worker, which imports the module. Some
    blocks reach a dask.distributed worker unaligned for float64
    (deserialised out of a message frame); the compiled function copies
    those, since it only reads them (docs/scaling.md)."""
    import escape

    return escape.escape_time(re, im, max_iter)


def _unaligned(block):
    return np.array([[0 if block.flags.aligned else 1]])


def timed(label, function, results, times):
    start = time.perf_counter()
    results[label] = function()
    times[label] = time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compiled-dir", required=True)
    parser.add_argument("--check", action="store_true",
                        help="a small grid, every way once: compare only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=None)
    options = parser.parse_args()

    compiled_dir = os.path.abspath(options.compiled_dir)
    _init_worker(compiled_dir)
    import escape

    assert escape.__file__.startswith(compiled_dir), escape.__file__
    rows = options.rows or (96 if options.check else 1200)
    columns = rows * 2
    max_iter = options.max_iter or (100 if options.check else 400)
    workers = options.workers
    re, im = grid(rows, columns)
    block_rows = -(-rows // (4 * workers))
    starts = range(0, rows, block_rows)
    blocks = [(re[s:s + block_rows], im[s:s + block_rows], max_iter) for s in starts]

    results, times = {}, {}
    timed("NumPy (whole arrays, masks)", lambda: numpy_escape_time(re, im, max_iter),
          results, times)
    expected = results["NumPy (whole arrays, masks)"]
    timed("compiled, one call", lambda: escape.escape_time(re, im, max_iter), results, times)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        timed(f"compiled, {workers} threads",
              lambda: np.vstack(list(pool.map(_block, blocks))), results, times)

    with concurrent.futures.ProcessPoolExecutor(workers, initializer=_init_worker,
                                                initargs=(compiled_dir,)) as pool:
        # Start the workers (and import the module) outside the timing.
        list(pool.map(_block, [(b[0][:1], b[1][:1], 1) for b in blocks[:workers]]))
        timed(f"compiled, ProcessPoolExecutor({workers})",
              lambda: np.vstack(list(pool.map(_block, blocks))), results, times)

    import dask
    import dask.array as da

    re_blocks = da.from_array(re, chunks=(block_rows, columns))
    im_blocks = da.from_array(im, chunks=(block_rows, columns))
    graph = da.map_blocks(escape.escape_time, re_blocks, im_blocks, max_iter, dtype=np.int64)
    with dask.config.set(scheduler="threads", num_workers=workers):
        timed(f"dask.array, threaded scheduler ({workers})", graph.compute, results, times)

    from dask.distributed import Client, LocalCluster

    # The grid travels inside the task graph; Dask suggests loading data on
    # the workers instead, which a real job would do.
    warnings.filterwarnings("ignore", message="Sending large graph")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        # Every worker imports the module (warm) and is a process of its own.
        client.run(_init_worker, compiled_dir)
        pids = set(client.run(os.getpid).values())
        assert len(pids) == workers and os.getpid() not in pids, pids
        distributed_graph = da.map_blocks(escape_time_on_worker, re_blocks, im_blocks, max_iter,
                                          dtype=np.int64)
        timed(f"dask.distributed, LocalCluster({workers} processes)",
              distributed_graph.compute, results, times)
        unaligned = int(re_blocks.map_blocks(_unaligned, chunks=(1, 1), dtype=int)
                        .compute().sum())

    failures = [label for label, result in results.items()
                if not (result.shape == expected.shape and np.array_equal(result, expected))]
    width = max(map(len, times))
    print(f"{rows} x {columns} points, max_iter {max_iter}, {len(blocks)} blocks, "
          f"{workers} workers, {os.cpu_count()} CPUs")
    for label, seconds in times.items():
        mark = "WRONG" if label in failures else f"{seconds * 1e3:9.1f} ms"
        print(f"  {label:<{width}}  {mark}")
    print(f"({unaligned} of {len(blocks)} blocks of `re` reached the cluster's workers "
          "unaligned; the compiled function copied them)")
    if failures:
        sys.exit(f"results differ from NumPy: {', '.join(failures)}")
    print("every result equals NumPy's")


if __name__ == "__main__":
    main()
