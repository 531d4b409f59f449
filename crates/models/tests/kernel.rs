//! The PINN landscape kernel against the burn model's loss, at theta0 and perturbed points.

use burn::prelude::*;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::PinnKernel;
use toposcape_models::pinn::PinnConfig;
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::random::SplitMix64;

fn compare(pinn: PinnConfig, convection: ConvectionConfig, seed: u64) {
    let device = Device::flex();
    device.seed(seed);
    let model = pinn.init(&device);
    let data = convection.data(&device);
    let mut burn = ModuleLoss::new(&model, &device, |m| convection.loss(m, &data).total);
    let mut kernel = PinnKernel::new(&pinn, &convection);
    let theta0 = burn.theta0().to_vec();
    assert_eq!(kernel.parameter_count(), theta0.len());
    let mut random = SplitMix64(seed);
    for scale in [0.0, 0.01, 0.1, 1.0] {
        let theta: Vec<f32> = theta0
            .iter()
            .map(|t| t + (scale * random.normal()) as f32)
            .collect();
        let expected = burn.loss(&theta);
        let got = kernel.loss(&theta);
        let relative = (got - expected).abs() / expected.abs();
        assert!(
            relative < 1e-5,
            "scale {scale}: kernel {got} vs burn {expected} ({relative:e})"
        );
    }
}

#[test]
fn the_kernel_equals_the_burn_loss() {
    compare(PinnConfig::new(), ConvectionConfig::new(), 3);
    compare(
        PinnConfig::new().with_widths(vec![2, 7, 5, 1]),
        ConvectionConfig::new()
            .with_beta(30.0)
            .with_collocation_points(37)
            .with_initial_points(11)
            .with_boundary_points(5)
            .with_initial_weight(2.0)
            .with_boundary_weight(0.5),
        4,
    );
}

/// The batched burn evaluator and the one-point device-resident evaluator against the kernel
/// and the one-point host evaluator, at the same landscape points.
#[test]
fn batched_and_on_device_evaluators_equal_the_one_point_ones() {
    use toposcape_models::batched::PinnBatched;
    use toposcape_models::unet::{Unet, UnetConfig};
    use toposcape_perturb::sample::{Directions, OnDevice, Perturbed, PointEvaluator};

    let device = Device::flex();
    device.seed(9);
    let (pinn, convection) = (PinnConfig::new(), ConvectionConfig::new().with_beta(3.0));
    let model = pinn.init(&device);
    let theta0 = toposcape_perturb::params::flatten(&model);
    let mut random = SplitMix64(2);
    let rows: Vec<Vec<f32>> = (0..2)
        .map(|_| {
            (0..theta0.len())
                .map(|_| random.normal() as f32 * 0.01)
                .collect()
        })
        .collect();
    let directions = Directions::from_rows(&rows);
    let coords: Vec<f64> = (0..26).map(|i| (i as f64 - 12.0) * 0.37).collect();
    let mut expected = vec![0.0f32; 13];
    let mut kernel = PinnKernel::new(&pinn, &convection);
    Perturbed::new(|t: &[f64]| kernel.loss(t) as f32, &theta0, &directions)
        .evaluate(&coords, &mut expected);
    for batch in [1, 5, 13] {
        let mut got = vec![0.0f32; 13];
        PinnBatched::new(&pinn, &convection, &theta0, &directions, batch, &device)
            .evaluate(&coords, &mut got);
        for (g, e) in got.iter().zip(&expected) {
            let relative = (f64::from(*g) - f64::from(*e)).abs() / f64::from(*e).abs();
            assert!(relative < 1e-5, "batch {batch}: {g} vs {e}");
        }
    }

    // A small UNet: perturbation on the device against the host-built parameter vector.
    let unet = UnetConfig::new().with_depth(1).with_base_width(4);
    let model = unet.init(&device);
    let theta0 = toposcape_perturb::params::flatten(&model);
    let rows: Vec<Vec<f32>> = (0..2)
        .map(|_| {
            (0..theta0.len())
                .map(|_| random.normal() as f32 * 0.05)
                .collect()
        })
        .collect();
    let directions = Directions::from_rows(&rows);
    let images = Tensor::<1>::from_floats(
        (0..2 * 3 * 8 * 8)
            .map(|i| (i % 7) as f32 / 7.0)
            .collect::<Vec<_>>()
            .as_slice(),
        &device,
    )
    .reshape([2, 3, 8, 8]);
    let labels = Tensor::<1, Int>::from_ints(
        (0..2 * 8 * 8)
            .map(|i| (i % 3) as i64)
            .collect::<Vec<_>>()
            .as_slice(),
        &device,
    )
    .reshape([2, 8, 8]);
    let loss = |m: &Unet| m.loss(images.clone(), labels.clone());
    let coords: Vec<f64> = (0..8).map(|i| (i as f64 - 3.5) * 0.5).collect();
    let mut host = vec![0.0f32; 4];
    Perturbed::of_model(ModuleLoss::new(&model, &device, loss), &theta0, &directions)
        .evaluate(&coords, &mut host);
    let mut on_device = vec![0.0f32; 4];
    OnDevice::new(model.clone(), &theta0, &directions, &device, loss)
        .evaluate(&coords, &mut on_device);
    for (a, b) in on_device.iter().zip(&host) {
        let relative = (f64::from(*a) - f64::from(*b)).abs() / f64::from(*b).abs();
        assert!(relative < 1e-5, "on device {a} vs host {b}");
    }
}
