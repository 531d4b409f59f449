//! End-to-end tests of `toposcape analyze` on the shipped models: the run directory (contract
//! 4), the centre of the landscape against the model's loss, the CPU kernel against burn,
//! resuming after `kill -9`, a recomputation with numpy alone, and bad input.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::prelude::*;
use serde_json::Value;
use toposcape_models::checkpoint::load_safetensors;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::pinn::PinnConfig;
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};

use common::{python_check, scratch, stderr, toposcape};

const PINN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/pinn-beta1");
const UNET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/unet-shapes");

fn analyze(input: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["analyze", input, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = toposcape(&args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    output
}

fn npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().iter().map(|&n| n as usize).collect();
    (shape, npy.into_vec::<f32>().unwrap())
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The shipped PINN's loss at theta0, through burn.
fn pinn_loss() -> f64 {
    let device = Device::flex();
    let model = load_safetensors(
        PinnConfig::new().init(&device),
        &Path::new(PINN).join("theta0.safetensors"),
    )
    .unwrap();
    let problem = ConvectionConfig::new().with_beta(1.0);
    let data = problem.data(&device);
    let mut loss = ModuleLoss::new(&model, &device, |m| problem.loss(m, &data).total);
    let theta0 = loss.theta0().to_vec();
    loss.loss(&theta0)
}

#[test]
fn a_pinn_analysis_writes_the_run_directory_contract() {
    let dir = scratch("contract");
    // Folders on the way are created, as `train` does (`--out runs/x` with no runs/ yet).
    let out = dir.join("runs/run");
    let before = fs::read(Path::new(PINN).join("theta0.safetensors")).unwrap();
    let output = analyze(PINN, &out, &["--points", "9", "--dims", "3"]);
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("729 points"), "{summary}");
    for file in [
        "config.toml",
        "landscape.npy",
        "axes.json",
        "params.json",
        "theta0.safetensors",
        "directions.npy",
        "eval_data.npz",
        "hessian.json",
        "tree.json",
        "profile.png",
        "profile.svg",
        "metrics.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert!(
        !out.join(".landscape-chunks").exists(),
        "the store is removed"
    );
    // The input is untouched.
    assert_eq!(
        fs::read(Path::new(PINN).join("theta0.safetensors")).unwrap(),
        before
    );

    let (shape, values) = npy_f32(&out.join("landscape.npy"));
    assert_eq!(shape, vec![9, 9, 9]);
    // The centre is theta0: the model's loss (kernel vs burn rounding).
    let centre = f64::from(values[364]);
    let expected = pinn_loss();
    assert!(
        (centre - expected).abs() <= 1e-4 * expected,
        "centre {centre} vs loss {expected}"
    );
    assert!(
        values
            .iter()
            .all(|v| v.is_finite() && f64::from(*v) >= centre)
    );

    // Hessian directions: orthonormal rows of the parameter vector's length.
    let (dshape, d) = npy_f32(&out.join("directions.npy"));
    let params = json(&out.join("params.json"));
    assert_eq!(dshape, vec![3, params["length"].as_u64().unwrap() as usize]);
    for i in 0..3 {
        for j in 0..3 {
            let dot: f64 = (0..dshape[1])
                .map(|k| f64::from(d[i * dshape[1] + k]) * f64::from(d[j * dshape[1] + k]))
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-5, "d{i}.d{j} = {dot}");
        }
    }
    let hessian = json(&out.join("hessian.json"));
    let eigenvalues: Vec<f64> = hessian["eigenvalues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(eigenvalues.len(), 3);
    assert!(eigenvalues.windows(2).all(|w| w[0] >= w[1]));
    assert!(hessian["hessian_vector_products"].as_u64().unwrap() >= 3);
    // The sharpest direction is resolved to well within the Lanczos tolerance (1e-3).
    let top_residual = hessian["relative_residuals"][0].as_f64().unwrap();
    assert!(top_residual < 1e-3, "{top_residual}");

    // axes.json: absolute coordinates, range x ||theta0||, symmetric, centre exactly 0.
    let axes = json(&out.join("axes.json"));
    let norm = axes["theta0_norm"].as_f64().unwrap();
    let axis: Vec<f64> = axes["axes"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(axis.len(), 9);
    assert_eq!(axis[4], 0.0);
    assert!((axis[8] - 0.01 * norm).abs() < 1e-12 && axis[0] == -axis[8]);
    // The metrics describe this landscape; the resolved config records the flags.
    let metrics = json(&out.join("metrics.json"));
    assert_eq!(metrics["shape"], serde_json::json!([9, 9, 9]));
    // Landscaper's SMADs from the contour tree, which on the Freudenthal grid is always the
    // field's; one basin of attraction per minimum, covering every point.
    assert_eq!(metrics["metrics"]["contour_tree_consistent"], true);
    assert!(metrics["metrics"]["smad"].as_f64().is_some());
    let basins = metrics["basins"].as_array().unwrap();
    assert_eq!(
        basins.len() as u64,
        metrics["metrics"]["minima"].as_u64().unwrap()
    );
    let covered: u64 = basins.iter().map(|b| b["size"].as_u64().unwrap()).sum();
    assert_eq!(covered, 729);
    let config = fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("[landscape]") && config.contains("dims = 3"),
        "{config}"
    );

    // Refused without --force once finished.
    let again = toposcape(&["analyze", PINN, "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cpu_kernel_equals_burn_on_the_same_grid() {
    let dir = scratch("kernel");
    let args = ["--points", "7", "--range", "0.02", "--directions", "random"];
    let summaries: Vec<String> = [
        ("cpu", &[][..]),
        ("flex", &["--backend", "flex"][..]),
        ("batched", &["--backend", "flex", "--batch", "4"][..]),
    ]
    .iter()
    .map(|(name, backend)| {
        let output = analyze(PINN, &dir.join(name), &[&args[..], backend].concat());
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
    .collect();
    // Three implementations: the kernel, burn one point at a time, burn in batches.
    assert!(summaries[0].contains("points/s on cpu"), "{}", summaries[0]);
    assert!(
        summaries[1].contains("points/s on flex ("),
        "{}",
        summaries[1]
    );
    assert!(summaries[2].contains("batches of 4"), "{}", summaries[2]);
    let (_, cpu) = npy_f32(&dir.join("cpu/landscape.npy"));
    let (_, flex) = npy_f32(&dir.join("flex/landscape.npy"));
    let (_, batched) = npy_f32(&dir.join("batched/landscape.npy"));
    assert_eq!(cpu.len(), 49);
    // All three compute in float64 (the landscape is stored in f32): they agree to f32's
    // resolution, where in f32 they differed by up to 3e-5 near the minimum.
    for (name, other) in [("flex", &flex), ("batched", &batched)] {
        for (a, b) in other.iter().zip(&cpu) {
            let relative = (f64::from(*a) - f64::from(*b)).abs() / f64::from(*b).abs();
            assert!(relative < 3e-7, "{name} {a} vs kernel {b}");
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_killed_run_resumes_to_the_same_landscape() {
    let dir = scratch("resume");
    let args = |out: &Path| -> Vec<String> {
        [
            "analyze",
            PINN,
            "--directions",
            "random",
            "--points",
            "81",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    };
    let whole = dir.join("whole");
    let output = toposcape(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success(), "{}", stderr(&output));

    // Start, wait for the first stored chunk, kill -9 while chunks remain.
    let killed = dir.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args(args(&killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = killed.join(".landscape-chunks");
    let chunks = |store: &Path| -> usize {
        fs::read_dir(store).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "f32"))
                .count()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while chunks(&store) == 0 && Instant::now() < deadline {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before a kill"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // A second writer into the same folder meanwhile is refused, and changes nothing.
    let second = toposcape(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains(&format!(
            "--out {}: is being written by toposcape (process {}",
            killed.display(),
            child.id()
        )),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = chunks(&store);
    assert!(
        (1..65).contains(&stored),
        "killed with {stored} of 65 chunks stored"
    );
    assert!(!killed.join("landscape.npy").exists());
    // One flipped bit in a stored chunk (a damaged disk): the resume must not trust it.
    let first = fs::read_dir(&store)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "f32"))
        .unwrap();
    let mut bytes = fs::read(&first).unwrap();
    bytes[1] ^= 0x10;
    fs::write(&first, &bytes).unwrap();

    let output = toposcape(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("failed their check and were computed again"),
        "{stdout}"
    );
    assert!(
        stored == 1 || stdout.contains("resumed from an interrupted run"),
        "{stdout}"
    );
    assert_eq!(
        fs::read(whole.join("landscape.npy")).unwrap(),
        fs::read(killed.join("landscape.npy")).unwrap(),
        "bit-identical landscapes"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn numpy_alone_recomputes_the_landscape() {
    let dir = scratch("numpy");
    let out = dir.join("run");
    analyze(PINN, &out, &["--points", "11", "--range", "0.05"]);
    python_check("recompute_landscape.py", &[out.to_str().unwrap()]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_unet_analysis_with_random_directions() {
    let dir = scratch("unet");
    let out = dir.join("run");
    analyze(
        UNET,
        &out,
        &["--points", "3", "--directions", "random", "--threads", "1"],
    );
    let (shape, values) = npy_f32(&out.join("landscape.npy"));
    assert_eq!(shape, vec![3, 3]);
    let metrics: Value = json(Path::new(UNET).join("train_metrics.json").as_path());
    let trained = metrics["final_loss"].as_f64().unwrap();
    // The centre is the loss on the first 64 training images, near the training-set loss.
    assert!(
        (f64::from(values[4]) - trained).abs() < 0.5 * trained,
        "{} vs {trained}",
        values[4]
    );
    let hessian = json(&out.join("hessian.json"));
    assert_eq!(hessian["computed"], Value::Bool(false));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pca_directions_come_from_the_checkpoints() {
    let dir = scratch("pca");
    let config = dir.join("c.toml");
    fs::write(
        &config,
        "task = \"pinn-convection\"\n[pinn]\nwidths = [2, 6, 1]\n[convection]\ncollocation_points = 40\n\
         [training]\noptimizer = \"adam\"\nlearning_rate = 0.01\nepochs = 6\ncheckpoint_every = 1\n",
    )
    .unwrap();
    let run = dir.join("run");
    let o = toposcape(&[
        "train",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    analyze(
        run.to_str().unwrap(),
        &run,
        &["--directions", "pca", "--points", "5"],
    );
    let hessian = json(&run.join("hessian.json"));
    let explained = hessian["explained_variance"].as_array().unwrap();
    assert_eq!(explained.len(), 2);
    assert!(explained[0].as_f64().unwrap() >= explained[1].as_f64().unwrap());

    // Interpolation towards two checkpoints: coordinate (1, 0) is the first one, whose own loss
    // is the centre of an analysis of it.
    let first = run.join("checkpoints/epoch-000001.bpk");
    let second = run.join("checkpoints/epoch-000003.bpk");
    let through = format!("{},{}", first.display(), second.display());
    let interp = dir.join("interp");
    analyze(
        run.to_str().unwrap(),
        &interp,
        &[
            "--directions",
            "interp",
            "--through",
            &through,
            "--points",
            "3",
            "--range",
            "1",
        ],
    );
    let (shape, values) = npy_f32(&interp.join("landscape.npy"));
    assert_eq!(shape, vec![3, 3]);
    let at_first = dir.join("at-first");
    analyze(
        first.to_str().unwrap(),
        &at_first,
        &[
            "--config",
            run.join("config.toml").to_str().unwrap(),
            "--points",
            "3",
            "--directions",
            "random",
        ],
    );
    let (_, own) = npy_f32(&at_first.join("landscape.npy"));
    // Index (2, 1): coordinates (1, 0).
    let (a, b) = (f64::from(values[7]), f64::from(own[4]));
    assert!(
        (a - b).abs() <= 1e-4 * b,
        "interp {a} vs the checkpoint's loss {b}"
    );
    let axes = json(&interp.join("axes.json"));
    assert_eq!(axes["relative"], Value::Bool(false));
    fs::remove_dir_all(&dir).unwrap();
}

/// An `.npy` file of float64 `rows`, each of the same length.
fn write_rows(path: &Path, rows: &[Vec<f64>]) {
    let header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
        rows.len(),
        rows[0].len()
    );
    let padded = (10 + header.len() + 1).div_ceil(64) * 64;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&((padded - 10) as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(padded - 1, b' ');
    bytes.push(b'\n');
    for v in rows.iter().flatten() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    fs::write(path, bytes).unwrap();
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_output() {
    let dir = scratch("bad");
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let not_npy = dir.join("d.npy");
    fs::write(&not_npy, b"not an npy").unwrap();
    // Direction files of the shipped PINN's length that do not give two axes.
    let length = {
        let device = Device::flex();
        let model = load_safetensors(
            PinnConfig::new().init(&device),
            &Path::new(PINN).join("theta0.safetensors"),
        )
        .unwrap();
        toposcape_perturb::params::ParamLayout::of(&model).len()
    };
    let row = |i: usize| -> Vec<f64> {
        (0..length)
            .map(|j| ((i + 1) * j % 7) as f64 - 3.0)
            .collect()
    };
    let directions = |name: &str, rows: &[Vec<f64>]| {
        let path = dir.join(name);
        write_rows(&path, rows);
        path.display().to_string()
    };
    let three_rows = directions("three.npy", &[row(0), row(1), row(2)]);
    let zero_row = directions("zero.npy", &[row(0), vec![0.0; length]]);
    let repeated = directions("repeated.npy", &[row(1), row(1)]);
    let parallel: Vec<f64> = row(0).iter().map(|v| -2.5 * v).collect();
    let parallel = directions("parallel.npy", &[row(0), parallel]);
    let checkpoint = concat!(env!("CARGO_MANIFEST_DIR"), "/models/pinn-beta1/theta0.bpk");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["analyze", PINN, "--out", o, "--dims", "9"], "--dims"),
        (
            vec!["analyze", PINN, "--out", o, "--points", "1"],
            "--points",
        ),
        // More threads than help (each holds an evaluator) are refused, not tried.
        (
            vec!["analyze", PINN, "--out", o, "--threads", "100000"],
            "--threads 100000: expected at most",
        ),
        // Grids whose point count overflows, or wraps to nothing, are refused up front.
        (
            vec![
                "analyze", PINN, "--out", o, "--points", "100000", "--dims", "3",
            ],
            "--points: 100000^3 grid points is more than",
        ),
        (
            vec![
                "analyze", PINN, "--out", o, "--points", "65536", "--dims", "4",
            ],
            "--points: 65536^4 grid points",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--range", "-1"],
            "--range",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--range", "nan"],
            "--range",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--directions", "nope"],
            "--directions",
        ),
        (
            vec![
                "analyze",
                PINN,
                "--out",
                o,
                "--directions",
                not_npy.to_str().unwrap(),
            ],
            "d.npy",
        ),
        // More rows than axes are not dropped silently; a zero, repeated or parallel row
        // would give an axis along nothing or two axes along one.
        (
            vec!["analyze", PINN, "--out", o, "--directions", &three_rows],
            "3 rows, expected one per axis: 2",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--directions", &zero_row],
            "row 1 is zero",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--directions", &repeated],
            "row 1 lies in the span",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--directions", &parallel],
            "row 1 lies in the span",
        ),
        // Interpolation has one axis per checkpoint: two axes through one is a contradiction.
        (
            vec![
                "analyze",
                PINN,
                "--out",
                o,
                "--directions",
                "interp",
                "--through",
                checkpoint,
                "--dims",
                "2",
            ],
            "--dims 2: interp directions have one axis per checkpoint",
        ),
        (vec!["analyze", "/no/such/run", "--out", o], "/no/such/run"),
        (
            vec![
                "analyze",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/models/pinn-beta1/theta0.safetensors"
                ),
                "--out",
                o,
            ],
            "--config",
        ),
        (
            vec![
                "analyze",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/models/pinn-beta1/theta0.safetensors"
                ),
                "--config",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/models/unet-shapes/config.toml"
                ),
                "--out",
                o,
            ],
            "theta0.safetensors",
        ),
        (
            vec!["analyze", PINN, "--out", o, "--threads", "0"],
            "--threads",
        ),
        (vec!["analyze", PINN, "--out", o, "--backend", "tpu"], "tpu"),
        (vec!["analyze", PINN, "--out", o, "--batch", "8"], "--batch"),
        (vec!["analyze", UNET, "--out", o, "--batch", "0"], "--batch"),
    ];
    for (args, expected) in cases {
        let output = toposcape(&args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{args:?}: {message}");
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(
            !out.join("landscape.npy").exists() && !out.join("config.toml").exists(),
            "{args:?} wrote output"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_scattered_plans_graph_feeds_the_merge_tree() {
    use toposcape_perturb::plan::{Region, Scatter, ScatteredPlan};
    use toposcape_topology::{Graph, MergeTree, Metrics, TreeKind};
    // A double well: minima at (+-1, 0) with value 0, the saddle between them at (0, 0), 1.
    let h = [2.0, 2.0];
    let plan = ScatteredPlan::new(3000, &h, Scatter::Sobol, Region::Box, 3);
    let values: Vec<f64> = (0..3000)
        .map(|i| {
            let p = plan.point(i);
            (p[0] * p[0] - 1.0).powi(2) + p[1] * p[1]
        })
        .collect();
    let graph = Graph::from_edges(3000, &plan.knn_edges(6, &h)).unwrap();
    let tree = MergeTree::compute(&values, &graph, TreeKind::Join).unwrap();
    let simple = tree
        .simplify(toposcape_topology::Threshold::Absolute(0.05))
        .unwrap();
    let metrics = Metrics::of(&simple);
    assert_eq!(metrics.minima, 2, "the two wells");
    // The pair that dies: born near 0, dying near the saddle's value, 1 (an edge of the graph
    // may cross the ridge a little below it, a sample may sit a little above).
    let diagram = toposcape_topology::Diagram::of(&simple);
    assert_eq!(diagram.points.len(), 1);
    let (birth, death) = diagram.points[0];
    assert!(
        birth < 0.02 && (0.95..1.1).contains(&death),
        "{birth} {death}"
    );
}

#[test]
fn a_sobol_plan_through_the_binary() {
    let dir = scratch("sobol");
    let out = dir.join("run");
    let output = analyze(
        PINN,
        &out,
        &[
            "--plan",
            "sobol",
            "--samples",
            "500",
            "--dims",
            "5",
            "--directions",
            "random",
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("500 points"));
    let (shape, values) = npy_f32(&out.join("landscape.npy"));
    assert_eq!(shape, vec![500]);
    let bytes = fs::read(out.join("points.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let pshape: Vec<u64> = npy.shape().to_vec();
    let points = npy.into_vec::<f64>().unwrap();
    assert_eq!(pshape, vec![500, 5]);
    assert!(points[..5].iter().all(|c| *c == 0.0), "point 0 is theta0");
    assert!((f64::from(values[0]) - pinn_loss()).abs() <= 1e-4 * pinn_loss());
    let axes = json(&out.join("axes.json"));
    assert_eq!(axes["plan"], "scattered");
    assert_eq!(axes["neighbours"], 12);
    let tree = json(&out.join("tree.json"));
    assert_eq!(tree["connectivity"], "knn");
    assert!(out.join("graph.npy").is_file() && out.join("profile.png").is_file());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_finite_losses_are_stored_and_counted() {
    let dir = scratch("nonfinite");
    let out = dir.join("run");
    // Weights moved by 1e20 overflow the loss to infinity in f32.
    let output = analyze(
        PINN,
        &out,
        &[
            "--range",
            "1e20",
            "--absolute",
            "--points",
            "5",
            "--directions",
            "random",
        ],
    );
    let (_, values) = npy_f32(&out.join("landscape.npy"));
    let nonfinite = values.iter().filter(|v| !v.is_finite()).count();
    assert!(nonfinite > 0 && values[12].is_finite(), "{values:?}");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains(&format!("{nonfinite} non-finite")),
        "{summary}"
    );
    let metrics = json(&out.join("metrics.json"));
    assert_eq!(metrics["metrics"]["nonfinite"], nonfinite);
    fs::remove_dir_all(&dir).unwrap();
}
