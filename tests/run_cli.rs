//! End-to-end tests of `toposcape run`: train and analyse into one run directory, pick up
//! where an interrupted run stopped, and refuse a directory of another config.

mod common;

use std::fs;

use common::{scratch, stderr, stdout, toposcape};

const CONFIG: &str = r#"
task = "pinn-convection"
seed = 1
[pinn]
widths = [2, 8, 8, 1]
[convection]
collocation_points = 64
initial_points = 16
boundary_points = 8
[training]
optimizer = "adam"
learning_rate = 0.01
epochs = 5
[landscape]
directions = "random"
points = 7
"#;

#[test]
fn run_trains_analyses_and_resumes() {
    let dir = scratch("run");
    let config = dir.join("c.toml");
    fs::write(&config, CONFIG).unwrap();
    let out = dir.join("run");
    let args = [
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let first = toposcape(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    for file in [
        "train_metrics.json",
        "theta0.safetensors",
        "landscape.npy",
        "profile.png",
        "metrics.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let landscape = fs::read(out.join("landscape.npy")).unwrap();
    assert!(
        fs::read_to_string(out.join("config.toml"))
            .unwrap()
            .contains("points = 7")
    );

    // Finished: left alone.
    let again = toposcape(&args);
    assert!(
        again.status.success() && stdout(&again).contains("complete"),
        "{}",
        stdout(&again)
    );

    // An analysis cut short (its outputs gone): the training is kept, the landscape redone.
    fs::remove_file(out.join("landscape.npy")).unwrap();
    fs::remove_file(out.join("metrics.json")).unwrap();
    let resumed = toposcape(&args);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stdout(&resumed).contains("trained model found"),
        "{}",
        stdout(&resumed)
    );
    assert!(!stdout(&resumed).contains("trained the PINN"));
    assert_eq!(fs::read(out.join("landscape.npy")).unwrap(), landscape);

    // Another config into the same folder is refused, and nothing is touched.
    let other = dir.join("other.toml");
    fs::write(&other, CONFIG.replace("seed = 1", "seed = 2")).unwrap();
    let refused = toposcape(&[
        "run",
        other.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("different config"));
    assert_eq!(fs::read(out.join("landscape.npy")).unwrap(), landscape);
    fs::remove_dir_all(&dir).unwrap();
}
