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
        let got = f64::from(kernel.loss(&theta));
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
