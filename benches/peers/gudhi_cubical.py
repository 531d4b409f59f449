"""Peer benchmark: toposcape's merge tree against gudhi's cubical persistence on one field.

    pip install numpy gudhi
    cargo build --release
    python3 benches/peers/gudhi_cubical.py [--sizes 41x3 41x4] [--repeats 3]

For each field, both compute the 0-dimensional persistence pairs of the same lower-star
filtration: gudhi's CubicalComplex(vertices=...) (its edges join axis neighbours) and
`toposcape topo FILE --connectivity axis`. The script checks that the off-diagonal pairs agree,
then reports the median wall time of each and their ratio, measured in this one run. toposcape
is timed as a whole process (reading the .npy file included); gudhi in-process on the array
already in memory, so the comparison favours gudhi. The last column is the whole
`toposcape topo FILE` process with its default (Freudenthal) connectivity, for reference. gudhi computes persistence in every
dimension, which is more work than the 0-dimensional pairs: the ratio measures what a user
waits for to get a merge tree's pairs, not the two algorithms on equal tasks.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import gudhi
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "toposcape")


def landscape(side, dims, noise, seed=7):
    """A smooth tilted bowl with Gaussian bumps, plus optional uniform noise (float32)."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*[np.linspace(-1.0, 1.0, side)] * dims, indexing="ij")
    field = sum(x * x for x in axes) + 0.2 * axes[0]
    for _ in range(8):
        centre = rng.uniform(-1, 1, dims)
        width = 0.15 + 0.3 * rng.random()
        field += rng.uniform(-1, 1) * np.exp(-sum((x - c) ** 2 for x, c in zip(axes, centre)) / (2 * width**2))
    field += noise * (rng.random(field.shape) - 0.5)
    return (1.0 + field).astype(np.float32)


def off_diagonal(pairs):
    return sorted((float(b), None if d is None or np.isinf(d) else float(d)) for b, d in pairs if d is None or d > b)


def main():
    global BINARY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["41x3", "41x4"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--toposcape", default=BINARY, help="the toposcape binary (default: the release build)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    BINARY = args.toposcape
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} not found: run cargo build --release first (or set CARGO_TARGET_DIR)")
    print(f"gudhi {gudhi.__version__}, numpy {np.__version__}, toposcape {BINARY}")
    print(f"{'field':<16} {'vertices':>9} {'pairs':>6} {'toposcape s':>12} {'gudhi s':>9} {'ratio':>8} {'freudenthal s':>14}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            side, dims = (int(x) for x in size.split("x"))
            for label, noise in [("smooth", 0.0), ("noisy", 0.05)]:
                values = landscape(side, dims, noise)
                path = os.path.join(tmp, "field.npy")
                out = os.path.join(tmp, "tree.json")
                np.save(path, values)
                ours, freudenthal = [], []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    subprocess.run([BINARY, "topo", path, "--connectivity", "axis", "--json", out], check=True, capture_output=True)
                    ours.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    subprocess.run([BINARY, "topo", path], check=True, capture_output=True)
                    freudenthal.append(time.perf_counter() - start)
                with open(out) as f:
                    tree = json.load(f)
                our_pairs = off_diagonal((p["birth"], p["death"]) for p in tree["pairs"])
                theirs = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    cc = gudhi.CubicalComplex(vertices=values.astype(np.float64))
                    cc.compute_persistence(min_persistence=-1)
                    intervals = cc.persistence_intervals_in_dimension(0)
                    theirs.append(time.perf_counter() - start)
                their_pairs = off_diagonal((b, None if np.isinf(d) else d) for b, d in intervals)
                if our_pairs != their_pairs:
                    sys.exit(f"{label} {size}: the pairs differ ({len(our_pairs)} vs {len(their_pairs)})")
                a, b = statistics.median(ours), statistics.median(theirs)
                c = statistics.median(freudenthal)
                print(f"{label + ' ' + size:<16} {values.size:>9} {len(our_pairs):>6} {a:>12.3f} {b:>9.3f} {b / a:>7.1f}x {c:>14.3f}")
                rows.append({"field": f"{label} {size}", "vertices": int(values.size), "pairs": len(our_pairs),
                             "toposcape_seconds": a, "gudhi_seconds": b})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gudhi": gudhi.__version__, "rows": rows}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
