//! End-to-end tests of `toposcape train`: the run directory, refusing to overwrite, bit-identical
//! reruns, the UNet task, and bad configs (exit status 2, one line naming the file and key, no
//! run directory).

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{scratch, stderr, toposcape};

const TINY_PINN: &str = r#"
task = "pinn-convection"
seed = 3
[pinn]
widths = [2, 8, 8, 1]
[convection]
beta = 2.0
collocation_points = 64
initial_points = 16
boundary_points = 8
[training]
optimizer = "adam"
learning_rate = 0.01
epochs = 4
checkpoint_every = 2
"#;

fn train(dir: &Path, config: &str, out: &str, extra: &[&str]) -> Output {
    let path = dir.join("config.toml");
    fs::write(&path, config).unwrap();
    let out = dir.join(out);
    let mut args = vec![
        "train",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    toposcape(&args)
}

/// The tensors of a safetensors file by name, as raw bytes.
fn tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_pinn_run_directory_has_every_file() {
    let dir = scratch("pinn");
    let output = train(&dir, TINY_PINN, "run", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let run = dir.join("run");
    // The resolved config holds every default.
    let resolved = fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("residual_weight = 1.0"), "{resolved}");
    assert!(resolved.contains("beta = 2.0"));
    // One curve line per epoch, the error at the checkpoint epochs.
    let curve = fs::read_to_string(run.join("train_curve.csv")).unwrap();
    let lines: Vec<&str> = curve.lines().collect();
    assert_eq!(lines[0], "epoch,loss,relative_l2_error,seconds");
    assert_eq!(lines.len(), 5, "{curve}");
    assert!(lines[1].starts_with("1,") && lines[1].contains(",,"));
    assert!(lines[2].starts_with("2,") && !lines[2].contains(",,"));
    for epoch in [2, 4] {
        assert!(
            run.join(format!("checkpoints/epoch-{epoch:06}.bpk"))
                .is_file()
        );
    }
    assert!(!run.join("checkpoints/epoch-000001.bpk").exists());
    // The weights, named by parameter path.
    let names: Vec<String> = tensors(&run.join("theta0.safetensors"))
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
            "layers.2.bias",
            "layers.2.weight"
        ]
    );
    let metrics: Value =
        serde_json::from_str(&fs::read_to_string(run.join("train_metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["task"], "pinn-convection");
    assert_eq!(metrics["parameters"], 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
    assert!(metrics["final_loss"].as_f64().unwrap() > 0.0);
    let error = metrics["relative_l2_error"].as_f64().unwrap();
    assert!(error > 0.0 && error.is_finite());
    // The curve image is a PNG.
    let png = fs::read(run.join("train_curve.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // A second run into the same folder is refused, and leaves it as it was.
    let again = train(&dir, TINY_PINN, "run", &[]);
    assert_eq!(again.status.code(), Some(2));
    let message = stderr(&again);
    assert!(
        message.contains("refusing to overwrite") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1);
    assert!(run.join("train_metrics.json").is_file());
    // --force replaces it.
    let forced = train(&dir, TINY_PINN, "run", &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    // But never what toposcape did not write: a file of the user's in the run directory, or a
    // folder of their own (here the test's folder, with its config), is refused with exit 2,
    // naming the file, and nothing is deleted.
    let notes = run.join("notes.txt");
    fs::write(&notes, "mine").unwrap();
    let refused = train(&dir, TINY_PINN, "run", &["--force"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("notes.txt") && message.contains("did not write"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1);
    assert!(notes.is_file() && run.join("train_metrics.json").is_file());
    let mut args = vec!["train"];
    let config = dir.join("config.toml");
    args.extend([
        config.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--force",
    ]);
    let own_folder = toposcape(&args);
    assert_eq!(own_folder.status.code(), Some(2), "{}", stderr(&own_folder));
    assert!(config.is_file() && notes.is_file());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_same_config_gives_bit_identical_weights_on_each_backend() {
    let dir = scratch("determinism");
    for backend in ["ndarray", "flex"] {
        let a = train(
            &dir,
            TINY_PINN,
            &format!("{backend}-a"),
            &["--backend", backend],
        );
        let b = train(
            &dir,
            TINY_PINN,
            &format!("{backend}-b"),
            &["--backend", backend],
        );
        assert!(a.status.success() && b.status.success(), "{}", stderr(&a));
        let first = tensors(&dir.join(format!("{backend}-a/theta0.safetensors")));
        let second = tensors(&dir.join(format!("{backend}-b/theta0.safetensors")));
        assert!(first == second, "{backend}: two runs differ");
    }
    // A different seed gives different weights.
    let other = train(
        &dir,
        &TINY_PINN.replace("seed = 3", "seed = 4"),
        "other",
        &[],
    );
    assert!(other.status.success());
    assert!(
        tensors(&dir.join("other/theta0.safetensors"))
            != tensors(&dir.join("flex-a/theta0.safetensors"))
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_unet_run_reports_accuracy_and_mean_iou() {
    let dir = scratch("unet");
    let config = r#"
task = "unet-shapes"
[unet]
depth = 1
base_width = 4
norm_groups = 2
[shapes]
size = 16
train_images = 8
test_images = 4
[training]
optimizer = "adam"
learning_rate = 0.01
epochs = 2
batch_size = 4
"#;
    let output = train(&dir, config, "run", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let metrics: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("run/train_metrics.json")).unwrap())
            .unwrap();
    for key in ["pixel_accuracy", "mean_iou"] {
        let v = metrics[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(metrics.get("relative_l2_error").is_none());
    let names: Vec<String> = tensors(&dir.join("run/theta0.safetensors"))
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert!(
        names.contains(&"encoder.0.conv1.weight".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"head.bias".to_string()));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configs_exit_2_naming_the_file_and_key_and_create_nothing() {
    let dir = scratch("bad");
    let cases: Vec<(String, &str)> = vec![
        (TINY_PINN.replace("beta = 2.0", "betta = 2.0"), "betta"),
        (
            TINY_PINN.replace("beta = 2.0", "beta = \"fast\""),
            "convection.beta",
        ),
        (
            TINY_PINN.replace("epochs = 4", "epochs = -4"),
            "training.epochs",
        ),
        (
            TINY_PINN.replace("learning_rate = 0.01", "learning_rate = 0.0"),
            "training.learning_rate",
        ),
        (
            TINY_PINN.replace("optimizer = \"adam\"", "optimizer = \"sgd\""),
            "training.optimizer",
        ),
        (TINY_PINN.replace("[pinn]", "[unet]\n[pinn]"), "unet"),
        (
            TINY_PINN.replace("widths = [2, 8, 8, 1]", "widths = [2, 8, 8, 2]"),
            "pinn.widths",
        ),
        (
            TINY_PINN.replace("[training]", "[training"),
            "not valid TOML",
        ),
        (
            "task = \"unet-pet\"\n[pet]\nroot = \"no-such-folder\"\n".to_string(),
            "pet.root",
        ),
        // 4e9 parameters with activations of 1e9 per point: terabytes, more than any machine
        // this runs on, refused before anything is allocated (it aborted with status 134).
        (
            TINY_PINN.replace("widths = [2, 8, 8, 1]", "widths = [2, 1000000000, 1]"),
            "key pinn.widths: training needs at least",
        ),
    ];
    for (text, key) in cases {
        let output = train(&dir, &text, "run", &[]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{key}: {message}");
        assert_eq!(message.trim().lines().count(), 1, "{message}");
        assert!(
            message.contains("config.toml") && message.contains(key),
            "{key}: {message}"
        );
        assert!(!message.contains("panicked"));
        assert!(!dir.join("run").exists(), "{key}: a run directory was left");
    }
    // A training that fails once its folder exists (weights that are not weights) removes it.
    fs::write(dir.join("bad.safetensors"), "garbage").unwrap();
    let text = TINY_PINN.replace("[training]", "[training]\nweights = \"bad.safetensors\"");
    let output = train(&dir, &text, "run", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("bad.safetensors"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.join("run").exists(),
        "a failed training left its folder"
    );
    let missing = toposcape(&["train", dir.join("absent.toml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("absent.toml"));
    let flag = toposcape(&["train", "x.toml", "--backend", "tpu"]);
    assert_eq!(flag.status.code(), Some(2));
    fs::remove_dir_all(&dir).unwrap();
}

#[cfg(not(feature = "wgpu"))]
#[test]
fn wgpu_without_the_feature_is_explained() {
    let dir = scratch("nowgpu");
    let output = train(&dir, TINY_PINN, "run", &["--backend", "wgpu"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("--backend wgpu") && message.contains("--features wgpu"),
        "{message}"
    );
    assert!(!dir.join("run").exists());
    fs::remove_dir_all(&dir).unwrap();
}
