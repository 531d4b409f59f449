//! The trained models shipped in `models/` load from both of their files and reproduce the loss
//! and the error their `train_metrics.json` records.

use std::fs;
use std::path::Path;

use burn::prelude::*;
use toposcape::RunConfig;
use toposcape_models::checkpoint::{load_checkpoint, load_safetensors};
use toposcape_models::convection::model_error;
use toposcape_models::train::scalar;
use toposcape_models::unet::segmentation_scores;
use toposcape_perturb::params::flatten;

/// A shipped model's config, through the library's own mapping, and what its training recorded.
fn read(dir: &Path) -> (RunConfig, serde_json::Value) {
    let config = toposcape::config::load(&dir.join("config.toml")).unwrap();
    let metrics =
        serde_json::from_str(&fs::read_to_string(dir.join("train_metrics.json")).unwrap()).unwrap();
    (config, metrics)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1e-12)
}

#[test]
fn shipped_pinns_reproduce_their_metrics() {
    let device = Device::flex();
    for (name, succeeds) in [("pinn-beta1", true), ("pinn-beta30", false)] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name);
        let (config, metrics) = read(&dir);
        let fresh = || config.pinn_config().init(&device);
        let model = load_safetensors(fresh(), &dir.join("theta0.safetensors")).unwrap();
        let record = load_checkpoint(fresh(), &dir.join("theta0.bpk")).unwrap();
        assert_eq!(
            flatten(&model),
            flatten(&record),
            "{name}: the two files differ"
        );
        let problem = config.convection_config();
        let beta = problem.beta;
        let loss = scalar(problem.loss(&model, &problem.data(&device)).total);
        let recorded = metrics["final_loss"].as_f64().unwrap();
        assert!(
            close(loss, recorded),
            "{name}: loss {loss} vs recorded {recorded}"
        );
        let error = model_error(&model, beta, &device);
        let recorded = metrics["relative_l2_error"].as_f64().unwrap();
        assert!(
            close(error, recorded),
            "{name}: error {error} vs recorded {recorded}"
        );
        assert_eq!(error < 0.05, succeeds, "{name}: error {error}");
    }
}

#[test]
fn the_shipped_unet_reproduces_its_scores() {
    let device = Device::flex();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/unet-shapes");
    let (config, metrics) = read(&dir);
    let unet = config.unet_config();
    let model = load_safetensors(unet.init(&device), &dir.join("theta0.safetensors")).unwrap();
    let shapes = config.shapes_config();
    let (_, test_set) = shapes.generate();
    let (images, _) = test_set.batch(0, test_set.len(), &device);
    let predicted: Vec<i64> = model
        .predict(images)
        .into_data()
        .convert::<i64>()
        .try_to_vec()
        .unwrap();
    let scores = segmentation_scores(&predicted, &test_set.labels, unet.classes);
    let recorded = metrics["mean_iou"].as_f64().unwrap();
    assert!(
        close(scores.mean_iou, recorded),
        "mean IoU {} vs {recorded}",
        scores.mean_iou
    );
    assert!(scores.pixel_accuracy > 0.9, "{scores:?}");
}
