"""Peer benchmark: the Python package against Landscaper, in one Python process.

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install -r python/requirements-test.txt
    /tmp/bench-venv/bin/pip install ./python            # or a wheel from `maturin build`
    /tmp/bench-venv/bin/python benches/peers/landscaper_python.py [--sizes 11x2 21x2 ...] [--big 41x4]

For each field (a bowl with Gaussian bumps and a little noise, float64, equal sides and
spacing, distinct float32 values), both sides compute what a Landscaper user asks for:

- Landscaper 1.3.1: `LossLandscape(loss, ranges)`, then `get_sublevel_tree()` and `smad()`
  (topopy's merge tree over nglpy's Gabriel graph, its contour tree and Morse-Smale complex);
- toposcape: `toposcape.merge_tree(loss, connectivity="axis")` and
  `toposcape.metrics(loss, connectivity="axis")` (the merge tree, the contour tree, the basins
  and every metric, Landscaper's SMADs among them).

The script checks that the two SMADs agree where Landscaper's contour tree is a tree, then
reports the median wall time of each, per vertex, and their ratio, all measured in this run.
Landscaper's time starts from the array in memory (the LossLandscape is built inside the
timing, since that is where it builds its coordinates). Last, on `--big` (default 41^4, which
Landscaper cannot finish in reasonable time here), toposcape's vertices per second for the
merge tree alone and for the metrics.

Landscaper imports PyTorch at import time for modules not used here; a stand-in module is
installed under the name `torch` first (as in python/tests/conftest.py).
"""

import argparse
import statistics
import sys
import time
from unittest import mock

import gudhi  # noqa: F401  (imported before the stand-in torch: they probe for a real one)
import matplotlib  # noqa: F401
import networkx as nx
import numpy as np
import scipy.stats  # noqa: F401
import sklearn.neighbors  # noqa: F401
import topopy  # noqa: F401

sys.modules.setdefault("torch", mock.MagicMock())

import landscaper  # noqa: E402

import toposcape  # noqa: E402


def field(side, dims, seed=7, distinct=True):
    rng = np.random.default_rng(seed)
    axes = [np.linspace(-1.0, 1.0, side)] * dims
    grid = np.meshgrid(*axes, indexing="ij")
    loss = sum(x * x for x in grid) + 0.2 * grid[0]
    for _ in range(6):
        centre = rng.uniform(-1, 1, dims)
        loss = loss - 0.3 * np.exp(-sum((x - c) ** 2 for x, c in zip(grid, centre)) / 0.05)
    # A little noise, drawn again until the float32 values are distinct (topopy works in
    # float32 and breaks ties its own way).
    while True:
        noisy = loss + 1e-3 * rng.standard_normal(loss.shape)
        if not distinct or len(np.unique(noisy.astype(np.float32))) == noisy.size:
            return np.ascontiguousarray(noisy), axes


def median_time(fn, repeats, once_above=float("inf")):
    """The median wall time of `repeats` calls and the last result; a single call when the first
    takes longer than `once_above` seconds (Landscaper's larger fields take minutes)."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[0] > once_above:
            break
    return statistics.median(times), len(times), result


def landscaper_side(loss, axes):
    ll = landscaper.LossLandscape(loss, axes)
    ll.get_sublevel_tree()
    smad = ll.smad()
    ct = ll.get_contour_tree()
    g = nx.Graph()
    g.add_nodes_from(ct.nodes)
    g.add_edges_from(ct.edges)
    whole = nx.is_connected(g) and g.number_of_edges() == g.number_of_nodes() - 1
    return float(smad), whole


def toposcape_side(loss):
    toposcape.merge_tree(loss, connectivity="axis")
    return toposcape.metrics(loss, connectivity="axis")["smad"]


def parse_size(text):
    side, dims = text.split("x")
    return int(side), int(dims)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["11x2", "21x2", "31x2", "41x2", "7x3", "11x3", "15x3"])
    parser.add_argument("--big", default="41x4")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from importlib.metadata import version

    print(f"toposcape {toposcape.__version__}, Landscaper {version('landscaper')}, {args.repeats} runs (one above 20 s)")
    print("| field | vertices | Landscaper tree + smad (runs) | toposcape tree + metrics | Landscaper per vertex | toposcape per vertex | ratio | smad agrees |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for text in args.sizes:
        side, dims = parse_size(text)
        loss, axes = field(side, dims)
        assert len(np.unique(loss.astype(np.float32))) == loss.size
        n = loss.size
        theirs_t, runs, (theirs, whole) = median_time(lambda: landscaper_side(loss, axes), args.repeats, 20.0)
        ours_t, _, ours = median_time(lambda: toposcape_side(loss), max(args.repeats, 5))
        if whole:
            agrees = "yes" if abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs)) else f"NO ({ours} vs {theirs})"
        else:
            agrees = "n/a (Landscaper's contour tree is a forest)"
        print(
            f"| {side}^{dims} | {n} | {theirs_t:.3f} s ({runs}) | {ours_t * 1e3:.2f} ms | {theirs_t / n * 1e6:.1f} us "
            f"| {ours_t / n * 1e9:.0f} ns | {theirs_t / ours_t:.0f}x | {agrees} |",
            flush=True,
        )

    side, dims = parse_size(args.big)
    loss, _ = field(side, dims, distinct=False)
    loss32 = loss.astype(np.float32)
    n = loss.size
    tree_t, _, tree = median_time(lambda: toposcape.merge_tree(loss32), args.repeats)
    metrics_t, _, _ = median_time(lambda: toposcape.metrics(loss32, connectivity="axis"), args.repeats)
    print()
    print(f"{side}^{dims} ({n} vertices, float32): merge tree (freudenthal) {tree_t:.3f} s = {n / tree_t / 1e6:.1f} M vertices/s "
          f"({tree.minima} minima); merge + contour tree + basins + metrics (axis) {metrics_t:.3f} s = {n / metrics_t / 1e6:.2f} M vertices/s")


if __name__ == "__main__":
    main()
