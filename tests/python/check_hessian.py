"""Checks a run directory's Hessian against an independent float64 computation.

Usage: python check_hessian.py RUN_DIR [--json OUT]

With the model written again in float64 (float64_models.py: numpy and autograd's exact
double-backward Hessian-vector products), finds the top k eigenvalues of the Hessian at theta0
with scipy's eigsh (ARPACK, k = the number of directions) and checks toposcape's hessian.json
and directions.npy against them:
- each eigenvalue within 1% of the exact one;
- each direction an eigenvector: ||H d - (d.H d) d|| / |d.H d| at most 1e-2 (d normalised in
  float64 from directions.npy's float32 row).
It also checks spectral_density.npy when there is one: the density integrates to 1 and its
mean is the mean of the quadrature's nodes weighted by their weights (hessian.json). Prints
every number; exits 1 when a check fails.
"""

import json
import sys
import time

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from float64_models import load_run


def main(run_dir, out=None):
    run = load_run(run_dir)
    theta0 = run.theta0
    n = theta0.size
    products = [0]

    def matvec(v):
        products[0] += 1
        return run.hvp(theta0, np.asarray(v, dtype=np.float64).ravel())

    hessian = run.hessian
    failures = []
    report = {"run": str(run_dir), "parameters": n}
    if hessian.get("computed"):
        k = len(hessian["eigenvalues"])
        started = time.time()
        operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        exact, _ = eigsh(operator, k=k, which="LA", tol=1e-9, v0=np.ones(n) / np.sqrt(n))
        exact = np.sort(exact)[::-1]
        seconds = time.time() - started
        ours = np.array(hessian["eigenvalues"])
        relative = np.abs(ours - exact) / np.abs(exact)
        residuals = []
        for d in run.directions:
            d = d / np.linalg.norm(d)
            hd = matvec(d)
            rayleigh = d @ hd
            residuals.append(float(np.linalg.norm(hd - rayleigh * d) / abs(rayleigh)))
        print(f"{run_dir}: {n} parameters, products {hessian.get('products')}")
        print(f"  exact top {k} (eigsh, {products[0]} float64 products, {seconds:.1f} s): "
              + ", ".join(f"{x:.6e}" for x in exact))
        print("  toposcape:                " + ", ".join(f"{x:.6e}" for x in ours))
        print("  relative differences:     " + ", ".join(f"{x:.2e}" for x in relative))
        print("  direction residuals:      " + ", ".join(f"{x:.2e}" for x in residuals)
              + f" (hessian.json: {', '.join(f'{x:.2e}' for x in hessian['relative_residuals'])}, "
              f"converged {hessian['converged']})")
        report.update(
            exact=exact.tolist(),
            toposcape=ours.tolist(),
            relative_differences=relative.tolist(),
            direction_residuals=residuals,
        )
        if np.any(relative > 1e-2):
            failures.append("an eigenvalue more than 1% off the exact one")
        if max(residuals) > 1e-2:
            failures.append("a direction with a relative residual above 1e-2")
    density = hessian.get("density")
    if density:
        table = np.load(run.dir / density["file"])
        grid, values = table[:, 0], table[:, 1]
        integral = np.trapezoid(values, grid)
        mean = np.trapezoid(grid * values, grid)
        nodes = [np.array(x) for x in density["nodes"]]
        weights = [np.array(x) for x in density["weights"]]
        quadrature_mean = np.mean([np.sum(x * w) for x, w in zip(nodes, weights)])
        print(f"  density: integral {integral:.6f}, mean {mean:.6e} (quadrature {quadrature_mean:.6e})")
        report.update(density_integral=integral, density_mean=mean)
        if abs(integral - 1) > 1e-3:
            failures.append("the density does not integrate to 1")
        if abs(mean - quadrature_mean) > 1e-3 * max(abs(quadrature_mean), 1e-12) + 1e-6 * (
            grid[-1] - grid[0]
        ):
            failures.append("the density's mean is not the quadrature's")
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=1)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    out = args[args.index("--json") + 1] if "--json" in args else None
    sys.exit(main(args[0], out))
