//! End-to-end tests of `toposcape run`: train and analyse into one run directory, pick up
//! where an interrupted run stopped, and refuse a directory of another config.

mod common;

use std::fs;

use common::{scratch, stderr, stdout, toposcape, toposcape_out};

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
    let first = toposcape_out("run", &config, &out);
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
    let again = toposcape_out("run", &config, &out);
    assert!(
        again.status.success() && stdout(&again).contains("complete"),
        "{}",
        stdout(&again)
    );

    // An analysis cut short (its outputs gone): the training is kept, the landscape redone.
    fs::remove_file(out.join("landscape.npy")).unwrap();
    fs::remove_file(out.join("metrics.json")).unwrap();
    let resumed = toposcape_out("run", &config, &out);
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
    let refused = toposcape_out("run", &other, &out);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("different config"));
    assert_eq!(fs::read(out.join("landscape.npy")).unwrap(), landscape);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn landscapes_at_every_checkpoint_make_a_strip_over_epochs() {
    let dir = scratch("run-epochs");
    let config = dir.join("c.toml");
    let text = CONFIG
        .replace("epochs = 5", "epochs = 4\ncheckpoint_every = 2")
        .replace("points = 7", "points = 7\ncheckpoints = true");
    fs::write(&config, text).unwrap();
    let out = dir.join("run");
    let o = toposcape_out("run", &config, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("epochs/epoch-000002/metrics.json").is_file());
    // The last epoch's checkpoint holds the final weights, so the run's own landscape stands
    // for it rather than being sampled twice: analysed on its own, that checkpoint gives the
    // run's landscape value for value.
    assert!(!out.join("epochs/epoch-000004").exists());
    let last = dir.join("last");
    let o = toposcape(&[
        "analyze",
        out.join("checkpoints/epoch-000004.bpk").to_str().unwrap(),
        "--config",
        out.join("config.toml").to_str().unwrap(),
        "--out",
        last.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(last.join("landscape.npy")).unwrap(),
        fs::read(out.join("landscape.npy")).unwrap()
    );
    // The epoch-2 model is another point of the training, with another landscape.
    assert_ne!(
        fs::read(out.join("epochs/epoch-000002/landscape.npy")).unwrap(),
        fs::read(out.join("landscape.npy")).unwrap()
    );
    // The epoch-2 checkpoint and the final weights side by side.
    let png = png::Decoder::new(std::io::Cursor::new(
        fs::read(out.join("profiles_over_epochs.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!((png.info().width, png.info().height), (2 * 520, 420));
    let report = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Profiles over training"));

    // Run again: complete, the checkpoint landscapes are not redone.
    let kept = out.join("epochs/epoch-000002/landscape.npy");
    let before = fs::metadata(&kept).unwrap().modified().unwrap();
    let again = toposcape_out("run", &config, &out);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(fs::metadata(&kept).unwrap().modified().unwrap(), before);

    // Checkpoint landscapes need checkpoints.
    let bad = dir.join("bad.toml");
    fs::write(
        &bad,
        CONFIG.replace("points = 7", "points = 7\ncheckpoints = true"),
    )
    .unwrap();
    let o = toposcape_out("run", &bad, &dir.join("x"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("landscape.checkpoints") && stderr(&o).contains("bad.toml"),
        "{}",
        stderr(&o)
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_naming_weights_loads_them_instead_of_training() {
    let dir = scratch("run-weights");
    let config = dir.join("c.toml");
    fs::write(&config, CONFIG).unwrap();
    let trained = dir.join("trained");
    let o = toposcape_out("run", &config, &trained);
    assert!(o.status.success(), "{}", stderr(&o));

    // The same config, loading the trained weights (relative to the config) instead.
    let loading = dir.join("load.toml");
    fs::write(
        &loading,
        CONFIG.replace(
            "epochs = 5",
            "epochs = 5\nweights = \"trained/theta0.safetensors\"",
        ),
    )
    .unwrap();
    let loaded = dir.join("loaded");
    let o = toposcape_out("run", &loading, &loaded);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("instead of training"), "{}", stdout(&o));
    let json = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(dir.join("train_metrics.json")).unwrap()).unwrap()
    };
    let (a, b) = (json(&trained), json(&loaded));
    assert_eq!(b["epochs"], 0);
    assert_eq!(a["final_loss"], b["final_loss"]);
    assert_eq!(a["relative_l2_error"], b["relative_l2_error"]);
    // Same weights, same seeded directions: the same landscape.
    assert_eq!(
        fs::read(trained.join("landscape.npy")).unwrap(),
        fs::read(loaded.join("landscape.npy")).unwrap()
    );

    // A missing file or another kind of file: exit 2 naming the config and the key.
    for (weights, expected) in [
        ("nope.safetensors", "no such file"),
        ("trained/config.toml", ".safetensors or .bpk"),
    ] {
        let bad = dir.join("bad.toml");
        fs::write(
            &bad,
            CONFIG.replace(
                "epochs = 5",
                &format!("epochs = 5\nweights = \"{weights}\""),
            ),
        )
        .unwrap();
        let out = dir.join("bad-run");
        let o = toposcape(&["run", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let message = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{message}");
        assert!(
            message.contains("bad.toml")
                && message.contains("training.weights")
                && message.contains(expected),
            "{message}"
        );
        assert!(!out.exists());
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_diverged_training_ends_the_run_with_a_warning() {
    let dir = scratch("run-diverged");
    let config = dir.join("c.toml");
    // At a learning rate of 1e30 Adam's first steps overflow the weights.
    fs::write(
        &config,
        CONFIG.replace("learning_rate = 0.01", "learning_rate = 1e30"),
    )
    .unwrap();
    let out = dir.join("run");
    let first = toposcape_out("run", &config, &out);
    let printed = stdout(&first);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        printed.contains("warning: the training diverged: its loss is not finite from epoch"),
        "{printed}"
    );
    assert!(
        printed.contains("the training diverged; the run ends without a landscape"),
        "{printed}"
    );
    assert!(!out.join("landscape.npy").exists());
    let train: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("train_metrics.json")).unwrap()).unwrap();
    assert_eq!(train["diverged"], true, "{train}");
    assert!(train["first_nonfinite_epoch"].as_u64().unwrap() >= 1);
    let report = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("This training diverged"));
    // Run again: nothing is trained or analysed, and it says why.
    let weights = fs::read(out.join("theta0.safetensors")).unwrap();
    let again = toposcape_out("run", &config, &out);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("ends without a landscape"));
    assert!(!stdout(&again).contains("trained the PINN"));
    assert_eq!(fs::read(out.join("theta0.safetensors")).unwrap(), weights);
    // Analysing its weights is refused, naming them.
    let analysed = toposcape(&[
        "analyze",
        out.to_str().unwrap(),
        "--out",
        dir.join("a").to_str().unwrap(),
    ]);
    assert_eq!(analysed.status.code(), Some(2), "{}", stderr(&analysed));
    assert!(stderr(&analysed).contains("are not finite (a diverged training?)"));
    fs::remove_dir_all(&dir).unwrap();
}
