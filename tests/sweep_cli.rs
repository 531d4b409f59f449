//! End-to-end tests of `toposcape sweep`: every combination a run, runs.csv against each run's
//! files, resuming an interrupted sweep, and bad sweep files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{scratch, stderr, toposcape, toposcape_out};
use serde_json::Value;

const BASE: &str = common::TINY_PINN;

const SWEEP: &str = r#"
base = "base.toml"
[values]
"convection.beta" = [1.0, 4.0]
seed = [0, 1]
"#;

/// A scratch folder with the base config, and the paths of its sweep file and output folder.
fn sweep_folder(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    fs::write(dir.join("base.toml"), BASE).unwrap();
    let (sweep, out) = (dir.join("s.toml"), dir.join("out"));
    (dir, sweep, out)
}

/// The lines of the sweep's runs.csv, its header included.
fn runs_csv_lines(out: &Path) -> usize {
    fs::read_to_string(out.join("runs.csv"))
        .unwrap()
        .lines()
        .count()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_sweep_runs_every_combination_tabulates_and_resumes() {
    let (dir, sweep, out) = sweep_folder("sweep");
    fs::write(&sweep, SWEEP).unwrap();
    let args = [
        "sweep",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "2",
    ];
    let first = toposcape(&args);
    assert!(first.status.success(), "{}", stderr(&first));

    let csv = fs::read_to_string(out.join("runs.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    for column in [
        "run",
        "convection.beta",
        "seed",
        "complete",
        "final_loss",
        "relative_l2_error",
        "eigenvalue_1",
        "hessian_trace",
        "hessian_trace_error",
        "minima",
        "average_persistence",
        "smad_weighted",
        "merge_tree_smad_weighted",
    ] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut names = Vec::new();
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        let run = out.join("runs").join(cells[0]);
        names.push(cells[0].to_string());
        assert_eq!(cells[col("complete")], "true");
        let train = json(&run.join("train_metrics.json"));
        let metrics = json(&run.join("metrics.json"));
        assert_eq!(cells[col("final_loss")], train["final_loss"].to_string());
        assert_eq!(
            cells[col("relative_l2_error")],
            train["relative_l2_error"].to_string()
        );
        assert_eq!(
            cells[col("minima")],
            metrics["metrics"]["minima"].to_string()
        );
        let hessian = json(&run.join("hessian.json"));
        assert_eq!(
            cells[col("hessian_trace")],
            hessian["trace"]["estimate"].to_string()
        );
        assert_eq!(
            cells[col("hessian_trace_error")],
            hessian["trace"]["standard_error"].to_string()
        );
        let config = fs::read_to_string(run.join("config.toml")).unwrap();
        let beta = cells[col("convection.beta")];
        assert!(config.contains(&format!("beta = {beta}")), "{config}");
        assert!(config.contains(&format!("seed = {}", cells[col("seed")])));
    }
    // profiles.png: 2 x 2 cells (seed across, beta down).
    let png = png::Decoder::new(std::io::Cursor::new(
        fs::read(out.join("profiles.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!((png.info().width, png.info().height), (2 * 520, 2 * 420));
    // error.png: beta down, seed across.
    let png = png::Decoder::new(std::io::Cursor::new(
        fs::read(out.join("error.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!(
        (png.info().width, png.info().height),
        (240 + 2 * 130, 200 + 2 * 70)
    );
    // scatter.png: the eleven metrics in two rows of six panels.
    let png = png::Decoder::new(std::io::Cursor::new(
        fs::read(out.join("scatter.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!((png.info().width, png.info().height), (6 * 460, 2 * 360));
    // One pair of seeds per beta, compared by their diagrams: both distances finite, and the
    // 1-Wasserstein distance (a sum over the matching) at least the bottleneck (its largest
    // term).
    let seeds = fs::read_to_string(out.join("seed_distances.csv")).unwrap();
    let pairs: Vec<Vec<&str>> = seeds
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(pairs.len(), 2, "{seeds}");
    for (pair, beta) in pairs.iter().zip(["1.0", "4.0"]) {
        assert_eq!(pair[0], format!("beta={beta}"));
        assert_eq!(pair[1], format!("beta={beta}_seed=0"));
        assert_eq!(pair[2], format!("beta={beta}_seed=1"));
        let (b, w): (f64, f64) = (pair[3].parse().unwrap(), pair[4].parse().unwrap());
        assert!(
            b.is_finite() && b >= 0.0 && w >= b * (1.0 - 1e-12),
            "{pair:?}"
        );
    }
    // The report links every run's own report, and those exist.
    let report = fs::read_to_string(out.join("report.html")).unwrap();
    for name in &names {
        assert!(report.contains(&format!("href=\"runs/{name}/report.html\"")));
        assert!(out.join("runs").join(name).join("report.html").is_file());
    }
    names.sort();
    assert_eq!(
        names,
        vec![
            "beta=1.0_seed=0",
            "beta=1.0_seed=1",
            "beta=4.0_seed=0",
            "beta=4.0_seed=1"
        ]
    );

    // The same sweep with one job runs in this process, one run after another: every number
    // of runs.csv is the one the child processes got (the runs seed their generators
    // themselves), and each run's log is written all the same.
    let serial = dir.join("serial");
    let o = toposcape(&[
        "sweep",
        sweep.to_str().unwrap(),
        "--out",
        serial.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(serial.join("runs.csv")).unwrap(), csv);
    for name in &names {
        let log = fs::read_to_string(serial.join("logs").join(format!("{name}.log"))).unwrap();
        assert!(log.contains("trained the PINN"), "{log}");
        assert!(log.contains("report       "), "{log}");
    }

    // An interrupted sweep: one run lost its landscape, another never started.
    let redo = out.join("runs/beta=4.0_seed=0");
    fs::remove_file(redo.join("landscape.npy")).unwrap();
    fs::remove_file(redo.join("metrics.json")).unwrap();
    fs::remove_dir_all(out.join("runs/beta=1.0_seed=1")).unwrap();
    let kept = out.join("runs/beta=1.0_seed=0/landscape.npy");
    let before = fs::metadata(&kept).unwrap().modified().unwrap();
    let again = toposcape(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        fs::metadata(&kept).unwrap().modified().unwrap(),
        before,
        "a complete run is skipped"
    );
    assert!(redo.join("landscape.npy").is_file());
    assert!(out.join("runs/beta=1.0_seed=1/metrics.json").is_file());
    assert_eq!(runs_csv_lines(&out), 5);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_killed_sweep_takes_its_child_runs_with_it() {
    let dir = scratch("sweep-killed");
    // A training long enough to be caught in the middle.
    fs::write(
        dir.join("base.toml"),
        BASE.replace("epochs = 4", "epochs = 1000000"),
    )
    .unwrap();
    let sweep = dir.join("s.toml");
    fs::write(&sweep, "base = \"base.toml\"\n[values]\nseed = [0]\n").unwrap();
    let out = dir.join("out");
    let mut parent = std::process::Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args([
            "sweep",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        // Child processes (one job runs in this process).
        .args(["--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The child run locks its run directory as it starts training.
    let child = common::wait_for("the child run", || {
        let run = fs::read_dir(out.join("runs")).ok()?.next()?.ok()?.path();
        common::lock_owner(&run)
    });
    assert_ne!(child, parent.id(), "a child process trains");
    // A zombie (exited, not reaped yet by whoever adopted it) counts as stopped.
    let alive = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
    };
    assert!(alive(child));
    parent.kill().unwrap();
    parent.wait().unwrap();
    common::wait_for("the orphaned run to stop", || (!alive(child)).then_some(()));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn another_sweep_into_a_sweep_folder_is_refused() {
    let (dir, sweep, out) = sweep_folder("sweep-other");
    fs::write(&sweep, "base = \"base.toml\"\n[values]\nseed = [0]\n").unwrap();
    let first = toposcape_out("sweep", &sweep, &out);
    assert!(first.status.success(), "{}", stderr(&first));
    let config = out.join("configs/seed=0.toml");
    let before = fs::read(&config).unwrap();
    let csv = fs::read(out.join("runs.csv")).unwrap();
    // The same run name, another training: refused before anything is written.
    fs::write(
        dir.join("base.toml"),
        BASE.replace("learning_rate = 0.01", "learning_rate = 0.02"),
    )
    .unwrap();
    let other = toposcape_out("sweep", &sweep, &out);
    let message = stderr(&other);
    assert_eq!(other.status.code(), Some(2), "{message}");
    assert!(
        message.contains("holds another sweep: its run seed=0 has a different config"),
        "{message}"
    );
    assert_eq!(fs::read(&config).unwrap(), before);
    assert_eq!(fs::read(out.join("runs.csv")).unwrap(), csv);
    // The same sweep grown by a seed resumes, keeping the finished run.
    fs::write(dir.join("base.toml"), BASE).unwrap();
    fs::write(&sweep, "base = \"base.toml\"\n[values]\nseed = [0, 1]\n").unwrap();
    let grown = toposcape_out("sweep", &sweep, &out);
    assert!(grown.status.success(), "{}", stderr(&grown));
    assert_eq!(runs_csv_lines(&out), 3);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_sweeps_exit_2_naming_the_key() {
    let dir = scratch("bad-sweep");
    fs::write(dir.join("base.toml"), BASE).unwrap();
    fs::write(dir.join("w.safetensors"), "").unwrap();
    let cases = [
        (
            "base = \"base.toml\"\n[values]\n\"convection.betta\" = [1.0]\n",
            "convection",
        ),
        ("base = \"base.toml\"\n[values]\nseed = 3\n", "values.seed"),
        ("base = \"base.toml\"\n[values]\nseed = []\n", "values.seed"),
        (
            "base = \"base.toml\"\n[values]\nseed = [0, 1, 0]\n",
            "values.seed: 0 is listed twice",
        ),
        (
            "base = \"base.toml\"\n[values]\n\"landscape.points\" = [100000]\n\"landscape.dims\" = [3]\n",
            "landscape.points",
        ),
        ("base = \"nope.toml\"\n[values]\nseed = [1]\n", "key base"),
        ("base = \"base.toml\"\n[value]\nseed = [1]\n", "value"),
        (
            "base = \"base.toml\"\n[values]\n\"training.epochs\" = [0]\n",
            "training.epochs",
        ),
        // Every combination's files are checked before anything runs: the second run's
        // weights do not exist (the first's, relative to this file's folder, do).
        (
            "base = \"base.toml\"\n[values]\n\"training.weights\" = [\"w.safetensors\", \"nope.safetensors\"]\n",
            "(run weights=nope.safetensors): key training.weights: ",
        ),
        (
            "base = \"base.toml\"\n[values]\n\"landscape.directions\" = [\"random\", \"nope.npy\"]\n",
            "key landscape.directions: ",
        ),
    ];
    for (text, expected) in cases {
        let sweep = dir.join("s.toml");
        fs::write(&sweep, text).unwrap();
        let out = dir.join("out");
        let o = toposcape_out("sweep", &sweep, &out);
        let message = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
        assert!(
            message.contains(expected) && message.contains("s.toml"),
            "{text}: {message}"
        );
        assert!(!out.exists(), "nothing is created for a bad sweep");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_diverged_run_is_a_result_and_bad_input_of_a_run_exits_2() {
    let (dir, sweep, out) = sweep_folder("sweep-diverged");
    // Adam's steps are of the learning rate's size: at 1e30 the weights overflow f32 and
    // the loss is no longer finite.
    fs::write(
        &sweep,
        "base = \"base.toml\"\n[values]\n\"training.learning_rate\" = [0.01, 1e30]\n",
    )
    .unwrap();
    let output = toposcape_out("sweep", &sweep, &out);
    let printed = common::stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    // Its first word comes before the combinations are checked (10^4 of them take seconds).
    assert!(
        printed
            .lines()
            .next()
            .unwrap()
            .ends_with("checking every combination, then running those not complete"),
        "{printed}"
    );
    assert!(
        printed.contains("warning: 1 of 2 runs diverged in training and have no landscape"),
        "{printed}"
    );
    let csv = fs::read_to_string(out.join("runs.csv")).unwrap();
    let lines: Vec<Vec<String>> = csv.lines().map(common::csv_fields).collect();
    let col = |name: &str| lines[0].iter().position(|h| h == name).unwrap();
    let diverged: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| (l[col("complete")].as_str(), l[col("diverged")].as_str()))
        .collect();
    assert_eq!(diverged, [("true", "false"), ("false", "true")], "{csv}");
    let run = out.join("runs").join(&lines[2][0]);
    let train = json(&run.join("train_metrics.json"));
    assert_eq!(train["diverged"], true);
    assert!(
        ["nan", "inf"].contains(&train["final_loss"].as_str().unwrap()),
        "{train}"
    );
    assert!(!run.join("landscape.npy").exists());
    assert!(run.join("report.html").exists());

    // Weights that are not weights fail their run inside it (the files are checked up front
    // only for being there): bad input, exit 2, with the run's own message.
    fs::write(dir.join("bad.safetensors"), "garbage").unwrap();
    fs::write(
        &sweep,
        "base = \"base.toml\"\n[values]\n\"training.weights\" = [\"bad.safetensors\"]\n",
    )
    .unwrap();
    for jobs in ["1", "2"] {
        let out = dir.join(format!("bad-{jobs}"));
        let args = [
            "sweep",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            jobs,
        ];
        let failed = toposcape(&args);
        let message = stderr(&failed);
        assert_eq!(failed.status.code(), Some(2), "--jobs {jobs}: {message}");
        assert!(
            message.contains("1 of 1 runs failed on their input"),
            "--jobs {jobs}: {message}"
        );
        assert!(
            message.contains("bad.safetensors"),
            "--jobs {jobs}: {message}"
        );
        assert!(!message.contains("exit status"), "--jobs {jobs}: {message}");
    }
    fs::remove_dir_all(&dir).unwrap();
}
