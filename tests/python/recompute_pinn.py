"""Recomputes PINN landscape values from a toposcape run directory with numpy alone.

Usage: python3 recompute_pinn.py RUN_DIR [--all]

Reads theta0.safetensors (by hand: an 8-byte header length, a JSON header, raw little-endian
data), params.json, directions.npy, axes.json, eval_data.npz and landscape.npy; evaluates the
convection PINN loss in float64 at the grid's corners, centre and a few seeded points; prints
the largest relative difference and exits 1 if it exceeds 1e-4. With --all: every grid point,
printing the largest and median relative differences and how many exceed 1e-4 (a measurement of
float32 evaluation against float64, no pass or fail: near a trained PINN's minimum, where the
loss is 1e-5 of its O(1) terms, float32 is off by up to about 2e-4 on every backend).
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np


def read_safetensors(path):
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    dtypes = {"F32": "<f4", "F64": "<f8"}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


def main(run, every=False):
    run = Path(run)
    params = json.loads((run / "params.json").read_text())
    tensors = read_safetensors(run / "theta0.safetensors")
    theta0 = np.zeros(params["length"])
    for p in params["parameters"]:
        size = int(np.prod(p["shape"]))
        theta0[p["offset"] : p["offset"] + size] = tensors[p["name"]].ravel()
    directions = np.load(run / "directions.npy").astype(np.float64)
    axes = [np.array(a) for a in json.loads((run / "axes.json").read_text())["axes"]]
    landscape = np.load(run / "landscape.npy")
    data = np.load(run / "eval_data.npz")
    widths = list(data["widths"])
    layers = len(widths) - 1

    def unflatten(theta):
        out = {}
        for p in params["parameters"]:
            size = int(np.prod(p["shape"]))
            out[p["name"]] = theta[p["offset"] : p["offset"] + size].reshape(p["shape"])
        return out

    def forward(w, x, tangents=()):
        h, ts = x, list(tangents)
        for i in range(layers):
            weight, bias = w[f"layers.{i}.weight"], w[f"layers.{i}.bias"]
            h = h @ weight + bias
            ts = [t @ weight for t in ts]
            if i < layers - 1:
                h = np.tanh(h)
                ts = [t * (1 - h**2) for t in ts]
        return h, ts

    def loss(theta):
        w = unflatten(theta)
        col = data["collocation"].astype(np.float64)
        ex = np.tile([1.0, 0.0], (len(col), 1))
        et = np.tile([0.0, 1.0], (len(col), 1))
        _, (u_x, u_t) = forward(w, col, (ex, et))
        residual = np.mean((u_t + float(data["beta"]) * u_x) ** 2)
        u0, _ = forward(w, data["initial"].astype(np.float64))
        initial = np.mean((u0[:, 0] - data["initial_target"]) ** 2)
        left, _ = forward(w, data["boundary_left"].astype(np.float64))
        right, _ = forward(w, data["boundary_right"].astype(np.float64))
        boundary = np.mean((left - right) ** 2)
        return (
            float(data["initial_weight"]) * initial
            + float(data["residual_weight"]) * residual
            + float(data["boundary_weight"]) * boundary
        )

    shape = landscape.shape
    if every:
        import itertools

        exact, got = [], []
        for index in itertools.product(*[range(n) for n in shape]):
            coords = np.array([axes[a][i] for a, i in enumerate(index)])
            exact.append(loss(theta0 + coords @ directions))
            got.append(float(landscape[index]))
        rel = np.abs(np.array(got) - np.array(exact)) / np.abs(np.array(exact))
        print(
            f"{run}: {rel.size} points, relative difference to float64: largest {rel.max():.2e}, "
            f"median {np.median(rel):.2e}, {(rel > 1e-4).sum()} over 1e-4"
        )
        return 0
    picks = {tuple(0 for _ in shape), tuple(n - 1 for n in shape), tuple(n // 2 for n in shape)}
    rng = np.random.default_rng(0)
    for _ in range(5):
        picks.add(tuple(int(rng.integers(n)) for n in shape))
    worst = 0.0
    for index in sorted(picks):
        coords = np.array([axes[a][i] for a, i in enumerate(index)])
        expected = loss(theta0 + coords @ directions)
        got = float(landscape[index])
        rel = abs(got - expected) / abs(expected)
        print(f"{index}: landscape {got:.8e}, numpy {expected:.8e}, relative {rel:.2e}")
        worst = max(worst, rel)
    print(f"largest relative difference {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--all" in sys.argv[2:]))
