"""The top Hessian eigenvalues of the convection PINN: toposcape's Lanczos (finite-difference
Hessian-vector products in burn) against PyHessian's power iteration with deflation (exact
double-backward products in PyTorch), on the same trained weights and data.

    python benches/peers/pyhessian_topk.py TOPOSCAPE MODEL_DIR [--k 4] [--json OUT]

TOPOSCAPE is a release build of the binary, MODEL_DIR a trained PINN run directory
(models/pinn-beta1). Needs torch, numpy and PyHessian (`pip install torch pyhessian`; PyHessian
0.1 declares no dependencies beyond torch and numpy). Reports each method's eigenvalues, its
Hessian-vector products and seconds, the ratios, and the largest relative difference between
the two sets of eigenvalues (an independent check of toposcape's Hessian).
"""

import argparse
import importlib
import json
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from pinn_landscape import load_problem, read_safetensors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("toposcape")
    parser.add_argument("model")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="toposcape-pyhessian-"))
    run = work / "run"
    cmd = [args.toposcape, "analyze", args.model, "--out", str(run), "--dims", str(args.k), "--points", "3"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    ours = json.loads((run / "hessian.json").read_text())

    params = json.loads((run / "params.json").read_text())
    tensors = read_safetensors(run / "theta0.safetensors")
    data, (col, ini, tgt, left, right), beta, (wi, wr, wb) = load_problem(run)
    names = [p["name"] for p in params["parameters"]]
    layers = len(names) // 2
    widths = [int(w) for w in data["widths"]]

    modules = []
    for i in range(layers):
        modules.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < layers - 1:
            modules.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*modules)
    with torch.no_grad():
        for i, lin in enumerate(m for m in net if isinstance(m, torch.nn.Linear)):
            # burn stores dense weights as [in, out]; torch as [out, in].
            lin.weight.copy_(torch.tensor(tensors[names[2 * i]]).T)
            lin.bias.copy_(torch.tensor(tensors[names[2 * i + 1]]))

    class PinnLoss(torch.nn.Module):
        """The PINN loss as a module whose output is the loss, so PyHessian's
        criterion(model(inputs), targets) can be the identity."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, _inputs):
            x = col.clone().requires_grad_(True)
            u = self.net(x)
            g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
            residual = ((g[:, 1] + beta * g[:, 0]) ** 2).mean()
            initial = ((self.net(ini)[:, 0] - tgt) ** 2).mean()
            boundary = ((self.net(left) - self.net(right)) ** 2).mean()
            return wi * initial + wr * residual + wb * boundary

    # PyHessian calls backward(create_graph=True), which torch warns about; the figures are not
    # affected.
    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    module = importlib.import_module("pyhessian.hessian")
    counted = {"products": 0}
    original = module.hessian_vector_product

    def counting(*a, **kw):
        counted["products"] += 1
        return original(*a, **kw)

    module.hessian_vector_product = counting
    model = PinnLoss(net)
    dummy = (torch.zeros(1), torch.zeros(1))
    start = time.perf_counter()
    h = module.hessian(model, lambda out, _t: out, data=dummy, cuda=False)
    values, _ = h.eigenvalues(top_n=args.k, tol=1e-3, maxIter=100)
    seconds = time.perf_counter() - start

    theirs = sorted(values, reverse=True)
    mine = ours["eigenvalues"]
    diff = max(abs(a - b) / abs(b) for a, b in zip(mine, theirs))
    rows = [
        ("toposcape (Lanczos, finite-difference HVPs)", mine, ours["hessian_vector_products"], ours["seconds"]),
        ("PyHessian 0.1 (power iteration, double backward)", theirs, counted["products"], seconds),
    ]
    print(f"PINN top {args.k} Hessian eigenvalues, {torch.get_num_threads()} torch threads")
    print(f"{'method':50} {'HVPs':>6} {'seconds':>8}  eigenvalues")
    for name, vals, hvps, secs in rows:
        print(f"{name:50} {hvps:>6} {secs:>8.3f}  {', '.join(f'{v:.4e}' for v in vals)}")
    print(f"PyHessian / toposcape: {counted['products'] / ours['hessian_vector_products']:.1f}x the products, "
          f"{seconds / ours['seconds']:.1f}x the time; largest relative eigenvalue difference {diff:.1e}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "toposcape": {"eigenvalues": mine, "hvps": ours["hessian_vector_products"], "seconds": ours["seconds"]},
            "pyhessian": {"eigenvalues": theirs, "hvps": counted["products"], "seconds": seconds},
            "largest_relative_difference": diff,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
