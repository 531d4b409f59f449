"""Landscape sampling speed of the convection PINN: toposcape against its Python peers, in one
script, on the same model, data, directions and grid.

    python benches/peers/pinn_landscape.py TOPOSCAPE MODEL_DIR [--points 41] [--dims 2]
        [--device cuda] [--wgpu]

TOPOSCAPE is a release build of the binary (cargo build --release), MODEL_DIR a trained PINN
run directory (models/pinn-beta1). Needs a Python with torch, numpy and landscaper
(`pip install torch landscaper`). Measured, each on the same grid of points:

- toposcape analyze --backend cpu (its PINN kernel, every core) and --threads 1, and
  --backend flex (burn, one point at a time per core), from the summary's points/s;
- a hand-written torch.func.vmap version with forward tangents (u_x, u_t carried through the
  layers by hand), B perturbed weight sets per call, the best B of several;
- the same with the idiomatic vmap(jacfwd(u)) derivatives;
- Landscaper's compute_loss_landscape with an idiomatic autograd PINN loss (one point at a time,
  as the package does), on a smaller grid when the full one would take too long.

On a GPU (`--device cuda`: the torch peers run there, in larger batches, timed with
synchronisation; `--wgpu`: also toposcape analyze --backend wgpu, a build with the wgpu feature)
the same rows compare toposcape's GPU path with torch's.

Every peer's values are checked against toposcape's landscape.npy (same points: theta0 +
sum c_i d_i with toposcape's directions and coordinates), except Landscaper's, which rescales the
directions itself (see README). Prints a table with the ratios of toposcape's rate to each
peer's.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.func import jacfwd, vmap


def run_toposcape(binary, model, out, extra):
    cmd = [binary, "analyze", str(model), "--out", str(out), "--directions", "random"] + extra
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"([0-9.]+) points/s", text).group(1))
    return rate, text


def read_safetensors(path):
    import struct

    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"])
    return out


def load_problem(run):
    """The PINN problem of a run directory's eval_data.npz: the archive, the point sets as
    tensors (collocation, initial, initial target, left and right boundary), beta and the three
    loss weights."""
    data = np.load(run / "eval_data.npz")
    points = tuple(
        torch.tensor(data[k]) for k in ("collocation", "initial", "initial_target", "boundary_left", "boundary_right")
    )
    weights = tuple(float(data[k]) for k in ("initial_weight", "residual_weight", "boundary_weight"))
    return data, points, float(data["beta"]), weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("toposcape")
    parser.add_argument("model")
    parser.add_argument("--points", type=int, default=41)
    parser.add_argument("--dims", type=int, default=2)
    parser.add_argument("--landscaper-points", type=int, default=21)
    parser.add_argument("--json", help="also write the rows (method, points/s) to this JSON file")
    parser.add_argument("--device", default="cpu", help="where the torch peers run: cpu or cuda")
    parser.add_argument("--wgpu", action="store_true", help="also time toposcape analyze --backend wgpu")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    threads = torch.get_num_threads()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device {args.device}: torch sees no CUDA device")

    work = Path(tempfile.mkdtemp(prefix="toposcape-peers-"))
    grid = ["--points", str(args.points), "--dims", str(args.dims)]
    run = work / "cpu"
    rate_cpu, summary = run_toposcape(args.toposcape, args.model, run, grid)
    rate_one, _ = run_toposcape(args.toposcape, args.model, work / "one", grid + ["--threads", "1"])
    rate_flex, _ = run_toposcape(
        args.toposcape, args.model, work / "flex", grid + ["--backend", "flex"]
    )
    if args.wgpu:
        rate_wgpu, wgpu_summary = run_toposcape(
            args.toposcape, args.model, work / "wgpu", grid + ["--backend", "wgpu"]
        )

    params = json.loads((run / "params.json").read_text())
    tensors = read_safetensors(run / "theta0.safetensors")
    names = [p["name"] for p in params["parameters"]]
    theta0 = np.concatenate([tensors[n].ravel() for n in names]).astype(np.float32)
    directions = np.load(run / "directions.npy")
    axes = [np.array(a) for a in json.loads((run / "axes.json").read_text())["axes"]]
    landscape = np.load(run / "landscape.npy").ravel()
    data, problem, beta, (wi, wr, wb) = load_problem(run)
    col, ini, tgt, left, right = (t.to(device) for t in problem)
    nc = len(col)
    layers = len(names) // 2
    shapes = [tuple(p["shape"]) for p in params["parameters"]]
    sizes = [int(np.prod(s)) for s in shapes]

    mesh = np.meshgrid(*axes, indexing="ij")
    coords = np.stack([m.ravel() for m in mesh], axis=1)
    thetas = torch.tensor(theta0[None, :] + (coords @ directions.astype(np.float64)).astype(np.float32)).to(device)

    def split(theta):
        out, o = [], 0
        for s, n in zip(shapes, sizes):
            out.append(theta[o : o + n].reshape(s))
            o += n
        return out

    def mlp(ps, x):
        h = x
        for i in range(layers):
            h = h @ ps[2 * i] + ps[2 * i + 1]
            if i < layers - 1:
                h = torch.tanh(h)
        return h

    def loss_tangents(theta):
        ps = split(theta)
        x = torch.cat([col, ini, left, right])
        h = x
        dx = torch.zeros(nc, 2, device=device)
        dx[:, 0] = 1
        dt = torch.zeros(nc, 2, device=device)
        dt[:, 1] = 1
        for i in range(layers):
            w, b = ps[2 * i], ps[2 * i + 1]
            h = h @ w + b
            dx = dx @ w
            dt = dt @ w
            if i < layers - 1:
                h = torch.tanh(h)
                s = 1 - h[:nc] ** 2
                dx = dx * s
                dt = dt * s
        residual = ((dt[:, 0] + beta * dx[:, 0]) ** 2).mean()
        ni = len(ini)
        initial = ((h[nc : nc + ni, 0] - tgt) ** 2).mean()
        nb = len(left)
        boundary = ((h[nc + ni : nc + ni + nb] - h[nc + ni + nb :]) ** 2).mean()
        return wi * initial + wr * residual + wb * boundary

    def u_single(ps, x):
        return mlp(ps, x[None, :])[0, 0]

    def loss_jacfwd(theta):
        ps = split(theta)
        jac = vmap(jacfwd(u_single, argnums=1), in_dims=(None, 0))(ps, col)
        residual = ((jac[:, 1] + beta * jac[:, 0]) ** 2).mean()
        initial = ((mlp(ps, ini)[:, 0] - tgt) ** 2).mean()
        boundary = ((mlp(ps, left) - mlp(ps, right)) ** 2).mean()
        return wi * initial + wr * residual + wb * boundary

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def time_vmap(fn, batch):
        batched = vmap(fn)
        batched(thetas[:batch])  # warm-up
        synchronize()
        count = min(len(thetas), max(256, 4 * batch))
        start = time.perf_counter()
        values = []
        for i in range(0, count, batch):
            values.append(batched(thetas[i : i + batch]))
        synchronize()
        seconds = time.perf_counter() - start
        values = torch.cat(values).cpu().numpy()
        diff = np.max(np.abs(values - landscape[:count]) / np.abs(landscape[:count]))
        return count / seconds, diff

    rows = []
    for name, fn in [("torch.func.vmap, tangents by hand", loss_tangents), ("torch.func.vmap(jacfwd)", loss_jacfwd)]:
        best = None
        for batch in (8, 32, 128) if device.type == "cpu" else (128, 1024, 4096):
            rate, diff = time_vmap(fn, batch)
            if best is None or rate > best[0]:
                best = (rate, diff, batch)
        rows.append((f"{name} (B={best[2]})", best[0], f"{best[1]:.1e}"))

    # Landscaper: an nn.Module and an idiomatic autograd loss, one point at a time.
    try:
        from landscaper import compute as landscaper_compute
    except ImportError:
        landscaper_compute = None
    if landscaper_compute is not None and device.type == "cpu":
        widths = list(data["widths"])
        modules = []
        for i in range(layers):
            modules.append(torch.nn.Linear(int(widths[i]), int(widths[i + 1])))
            if i < layers - 1:
                modules.append(torch.nn.Tanh())
        net = torch.nn.Sequential(*modules)
        ps0 = split(torch.tensor(theta0))
        with torch.no_grad():
            for i, lin in enumerate(m for m in net if isinstance(m, torch.nn.Linear)):
                lin.weight.copy_(ps0[2 * i].T)
                lin.bias.copy_(ps0[2 * i + 1])
        dirs = []
        for row in directions[: args.dims]:
            parts = split(torch.tensor(row))
            dirs.append([parts[2 * i + j].T if j == 0 else parts[2 * i + j] for i in range(layers) for j in (0, 1)])

        def scalar_fn(model, _data):
            with torch.enable_grad():
                x = col.clone().requires_grad_(True)
                u = model(x)
                g = torch.autograd.grad(u.sum(), x)[0]
                residual = ((g[:, 1] + beta * g[:, 0]) ** 2).mean()
            initial = ((model(ini)[:, 0] - tgt) ** 2).mean()
            boundary = ((model(left) - model(right)) ** 2).mean()
            return float(wi * initial + wr * residual + wb * boundary)

        steps = args.landscaper_points
        import contextlib
        import io

        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            landscaper_compute.compute_loss_landscape(
                net, None, dirs, scalar_fn, steps=steps, distance=0.01, dim=args.dims, device="cpu"
            )
        seconds = time.perf_counter() - start
        rows.append((f"Landscaper compute_loss_landscape ({steps}^{args.dims} grid)", steps**args.dims / seconds, "-"))

    where = f"{threads} torch threads" if device.type == "cpu" else f"torch on {torch.cuda.get_device_name(device)}"
    print(f"PINN landscape, {args.points}^{args.dims} grid, {where}; toposcape: {next(l for l in summary.splitlines() if l.startswith('sampling'))}")
    table = [
        ("toposcape analyze --backend cpu (kernel, all cores)", rate_cpu, "-"),
        ("toposcape analyze --backend cpu --threads 1", rate_one, "-"),
        ("toposcape analyze --backend flex (burn, all cores)", rate_flex, "-"),
    ]
    if args.wgpu:
        # The wgpu landscape against the CPU kernel's, point by point.
        other = np.load(work / "wgpu" / "landscape.npy").ravel()
        diff = np.max(np.abs(other - landscape) / np.abs(landscape))
        adapter = next((l for l in wgpu_summary.splitlines() if "wgpu" in l), "")
        print(f"toposcape wgpu: {adapter.strip()}")
        table.append(("toposcape analyze --backend wgpu (batched)", rate_wgpu, f"{diff:.1e}"))
    table += rows
    wgpu_head = f" {'toposcape wgpu / this':>22}" if args.wgpu else ""
    print(f"{'method':58} {'points/s':>10} {'max rel diff':>13} {'toposcape cpu / this':>21}{wgpu_head}")
    for name, rate, diff in table:
        wgpu_ratio = f" {rate_wgpu / rate:21.2f}x" if args.wgpu else ""
        print(f"{name:58} {rate:10.1f} {diff:>13} {rate_cpu / rate:20.2f}x{wgpu_ratio}")
    if args.json:
        rows = [{"method": name, "points_per_second": rate, "max_relative_difference": diff} for name, rate, diff in table]
        Path(args.json).write_text(
            json.dumps({"grid": f"{args.points}^{args.dims}", "torch_threads": threads, "torch_device": str(device), "rows": rows}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
