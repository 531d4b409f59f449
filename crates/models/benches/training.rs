//! Training-step benchmark: steps per second of one Adam step (loss, backward, update) for the
//! default PINN (2-50x4-1, 1000 collocation + 200 initial/boundary points) and the default UNet
//! (depth 2, width 8, a batch of 16 32x32 images), on each CPU backend. The ratio column is
//! against ndarray, measured in the same run.
//!
//!     cargo bench -p toposcape-models --bench training
//!
//! Each figure is the median (and min-max) over 5 repeats of a fixed number of steps, after
//! warm-up steps.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::pinn::PinnConfig;
use toposcape_models::segmentation::ShapesConfig;
use toposcape_models::unet::UnetConfig;

/// Milliseconds per step: median, min, max over repeats.
fn time_steps(steps: usize, mut step: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..3 {
        step();
    }
    let mut per_step: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..steps {
                step();
            }
            start.elapsed().as_secs_f64() * 1e3 / steps as f64
        })
        .collect();
    per_step.sort_by(f64::total_cmp);
    (per_step[2], per_step[0], per_step[4])
}

fn pinn_step(device: &Device) -> impl FnMut() + '_ {
    device.seed(0);
    let config = ConvectionConfig::new();
    let data = config.data(device);
    let mut model = Some(PinnConfig::new().init(device));
    let mut optimizer = AdamConfig::new().init();
    move || {
        let m = model.take().expect("model");
        let loss = config.loss(&m, &data).total;
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        model = Some(optimizer.step(1e-3, m, grads));
    }
}

fn unet_step(device: &Device) -> impl FnMut() + '_ {
    device.seed(0);
    let (train_set, _) = ShapesConfig::new()
        .with_train_images(16)
        .with_test_images(1)
        .generate();
    let (images, labels) = train_set.batch(0, 16, device);
    let mut model = Some(UnetConfig::new().init(device));
    let mut optimizer = AdamConfig::new().init();
    move || {
        let m = model.take().expect("model");
        let loss = m.loss(images.clone(), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        model = Some(optimizer.step(1e-3, m, grads));
    }
}

fn main() {
    #[allow(deprecated)]
    let backends = [("ndarray", Device::ndarray()), ("flex", Device::flex())];
    println!("| model | backend | ms per step (median, min-max) | steps/s | vs ndarray |");
    println!("|---|---|---|---|---|");
    for (model, steps) in [("PINN", 50usize), ("UNet", 5)] {
        let mut baseline = None;
        for (name, device) in &backends {
            let device = device.clone().autodiff();
            let (median, low, high) = match model {
                "PINN" => time_steps(steps, pinn_step(&device)),
                _ => time_steps(steps, unet_step(&device)),
            };
            let base = *baseline.get_or_insert(median);
            println!(
                "| {model} | {name} | {median:.2} ({low:.2}-{high:.2}) | {:.1} | {:.2}x |",
                1e3 / median,
                base / median
            );
        }
    }
}
