//! The shipped models' Hessians and landscapes against an independent float64 implementation:
//! `tests/python/float64_models.py` writes both models again with numpy and autograd (exact
//! double-backward Hessian-vector products), `check_hessian.py` finds the top eigenvalues with
//! scipy's eigsh and checks toposcape's (within 1%, every direction an eigenvector to a
//! relative residual of 1e-2, the density's integral and mean), `recompute_landscape.py`
//! recomputes every landscape value (within 1e-5 relative) on each CPU backend.

mod common;

use std::fs;
use std::path::Path;

use common::{python_check, scratch, stderr, toposcape};

const PINN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/pinn-beta1");
const UNET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/unet-shapes");

fn analyze(input: &str, out: &Path, extra: &[&str]) {
    let mut args = vec!["analyze", input, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = toposcape(&args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
}

fn hessian(out: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(out.join("hessian.json")).unwrap()).unwrap()
}

#[test]
fn the_pinns_hessian_and_landscapes_are_float64s() {
    let dir = scratch("float64-pinn");
    let out = dir.join("hessian");
    // The paper's four Hessian axes; the grid's centre is the trained minimum, where f32
    // losses are 1e-4 off.
    analyze(PINN, &out, &["--dims", "4", "--points", "3"]);
    let h = hessian(&out);
    assert_eq!(h["products"], "exact");
    assert_eq!(h["converged"], true);
    python_check("check_hessian.py", &[out.to_str().unwrap()]);
    python_check("recompute_landscape.py", &[out.to_str().unwrap(), "--all"]);
    for backend in [
        &["--backend", "flex"][..],
        &["--backend", "ndarray"],
        &["--backend", "flex", "--batch", "4"],
    ] {
        let out = dir.join(backend.join(""));
        let mut args = vec!["--points", "5", "--directions", "random"];
        args.extend_from_slice(backend);
        analyze(PINN, &out, &args);
        python_check("recompute_landscape.py", &[out.to_str().unwrap(), "--all"]);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_unets_hessian_and_landscapes_are_float64s() {
    let dir = scratch("float64-unet");
    // Fewer trace and density probes than the default, for time: the check is of the
    // eigenpairs (and the density's integral and mean, whatever its probes).
    let config = dir.join("config.toml");
    let shipped = fs::read_to_string(Path::new(UNET).join("config.toml")).unwrap();
    fs::write(
        &config,
        format!("{shipped}\n[hessian]\ntrace_probes = 4\ndensity_steps = 8\n"),
    )
    .unwrap();
    let weights = Path::new(UNET).join("theta0.safetensors");
    let out = dir.join("hessian");
    analyze(
        weights.to_str().unwrap(),
        &out,
        &[
            "--config",
            config.to_str().unwrap(),
            "--dims",
            "2",
            "--points",
            "3",
        ],
    );
    let h = hessian(&out);
    assert_eq!(h["products"], "exact");
    assert_eq!(h["converged"], true);
    python_check("check_hessian.py", &[out.to_str().unwrap()]);
    python_check("recompute_landscape.py", &[out.to_str().unwrap(), "--all"]);
    let quick = dir.join("quick.toml");
    fs::write(
        &quick,
        format!("{shipped}\n[hessian]\ntrace_probes = 0\ndensity_probes = 0\n"),
    )
    .unwrap();
    for backend in [
        &["--backend", "ndarray"][..],
        &["--backend", "flex", "--batch", "3"],
    ] {
        let out = dir.join(backend.join(""));
        let mut args = vec![
            "--config",
            quick.to_str().unwrap(),
            "--points",
            "3",
            "--directions",
            "random",
        ];
        args.extend_from_slice(backend);
        analyze(weights.to_str().unwrap(), &out, &args);
        python_check("recompute_landscape.py", &[out.to_str().unwrap(), "--all"]);
    }
    fs::remove_dir_all(&dir).unwrap();
}
