"""Recomputes landscape values of a toposcape run directory in float64, outside burn.

Usage: python recompute_landscape.py RUN_DIR [--all] [--tolerance T]

Evaluates the model's loss (float64_models.py: the PINN or the UNet written again with numpy)
at theta0 + sum_i c_i d_i for the grid's corners, its centre and a few seeded points (every
point with --all), and compares with landscape.npy. Prints each point, the largest and median
relative differences, and exits 1 if the largest exceeds the tolerance (default 1e-5).
"""

import itertools
import sys

import numpy as np

from float64_models import load_run


def main(run_dir, every=False, tolerance=1e-5):
    run = load_run(run_dir)
    shape = run.landscape.shape
    if every:
        picks = list(itertools.product(*[range(n) for n in shape]))
    else:
        picks = {tuple(0 for _ in shape), tuple(n - 1 for n in shape), tuple(n // 2 for n in shape)}
        rng = np.random.default_rng(0)
        for _ in range(5):
            picks.add(tuple(int(rng.integers(n)) for n in shape))
        picks = sorted(picks)
    relative = []
    for index in picks:
        expected = float(run.loss(run.point(index)))
        got = float(run.landscape[index])
        rel = abs(got - expected) / abs(expected)
        relative.append(rel)
        if not every:
            print(f"{index}: landscape {got:.8e}, float64 {expected:.8e}, relative {rel:.2e}")
    relative = np.array(relative)
    print(
        f"{run_dir}: {relative.size} points, relative difference to float64: largest "
        f"{relative.max():.2e}, median {np.median(relative):.2e}, "
        f"{(relative > tolerance).sum()} over {tolerance:.0e}"
    )
    return 0 if relative.max() <= tolerance else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    tolerance = float(args[args.index("--tolerance") + 1]) if "--tolerance" in args else 1e-5
    sys.exit(main(args[0], "--all" in args, tolerance))
