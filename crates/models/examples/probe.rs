use burn::prelude::*;
use std::time::Instant;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::PinnKernel;
use toposcape_models::pinn::PinnConfig;
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};

fn main() {
    let device = Device::flex();
    let model = PinnConfig::new().init(&device);
    let conv = ConvectionConfig::new();
    let data = conv.data(&device);
    let mut lm = ModuleLoss::new(&model, &device, |m| conv.loss(m, &data).total);
    let theta: Vec<f32> = lm.theta0().to_vec();
    let mut k = PinnKernel::new(&PinnConfig::new(), &conv);
    let n = 200;
    let t = Instant::now();
    let mut s = 0.0;
    for i in 0..n {
        let mut th = theta.clone();
        th[0] += i as f32 * 1e-3;
        s += lm.loss(&th);
    }
    let burn = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut s2 = 0.0;
    for i in 0..n {
        let mut th = theta.clone();
        th[0] += i as f32 * 1e-3;
        s2 += k.loss(&th) as f64;
    }
    let kern = n as f64 / t.elapsed().as_secs_f64();
    println!("burn flex {burn:.1} pts/s, kernel {kern:.1} pts/s ({s} {s2})");
}
