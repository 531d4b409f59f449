//! The trained models shipped in `models/` load from both of their files and reproduce the loss
//! and the error their `train_metrics.json` records.

use std::fs;
use std::path::Path;

use burn::prelude::*;
use toposcape_models::checkpoint::{load_checkpoint, load_safetensors};
use toposcape_models::convection::{ConvectionConfig, model_error};
use toposcape_models::pinn::PinnConfig;
use toposcape_models::segmentation::ShapesConfig;
use toposcape_models::train::scalar;
use toposcape_models::unet::{UnetConfig, segmentation_scores};
use toposcape_perturb::params::flatten;

fn read(dir: &Path) -> (toml::Table, serde_json::Value) {
    let config: toml::Table = fs::read_to_string(dir.join("config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let metrics =
        serde_json::from_str(&fs::read_to_string(dir.join("train_metrics.json")).unwrap()).unwrap();
    (config, metrics)
}

fn number(table: &toml::Table, section: &str, key: &str) -> f64 {
    let value = &table[section][key];
    value
        .as_float()
        .or(value.as_integer().map(|i| i as f64))
        .unwrap()
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
        let widths: Vec<usize> = config["pinn"]["widths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_integer().unwrap() as usize)
            .collect();
        let fresh = || PinnConfig::new().with_widths(widths.clone()).init(&device);
        let model = load_safetensors(fresh(), &dir.join("theta0.safetensors")).unwrap();
        let record = load_checkpoint(fresh(), &dir.join("theta0.bpk")).unwrap();
        assert_eq!(
            flatten(&model),
            flatten(&record),
            "{name}: the two files differ"
        );
        let beta = number(&config, "convection", "beta");
        let problem = ConvectionConfig::new()
            .with_beta(beta)
            .with_collocation_points(number(&config, "convection", "collocation_points") as usize)
            .with_initial_points(number(&config, "convection", "initial_points") as usize)
            .with_boundary_points(number(&config, "convection", "boundary_points") as usize)
            .with_seed(config["seed"].as_integer().unwrap() as u64);
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
    let int = |section: &str, key: &str| number(&config, section, key) as usize;
    let unet = UnetConfig::new()
        .with_depth(int("unet", "depth"))
        .with_base_width(int("unet", "base_width"))
        .with_norm_groups(int("unet", "norm_groups"))
        .with_classes(int("unet", "classes"));
    let model = load_safetensors(unet.init(&device), &dir.join("theta0.safetensors")).unwrap();
    let shapes = ShapesConfig::new()
        .with_size(int("shapes", "size"))
        .with_train_images(int("shapes", "train_images"))
        .with_test_images(int("shapes", "test_images"))
        .with_max_shapes(int("shapes", "max_shapes"))
        .with_border_width(int("shapes", "border_width"))
        .with_noise(number(&config, "shapes", "noise"))
        .with_classes(unet.classes)
        .with_seed(config["seed"].as_integer().unwrap() as u64);
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
