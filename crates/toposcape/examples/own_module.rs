//! The loss landscape of a burn module of your own, through the toposcape library: a small
//! network fitted to sin(3x), then its Hessian directions, a grid around its weights, and the
//! merge tree, profile and metrics of that grid. Run it with
//!
//!     cargo run --release -p toposcape --example own_module [PROFILE.png]
//!
//! and it draws the profile into PROFILE.png (own_module_profile.png in the temporary folder
//! unless given). `cargo test` runs it too.

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use toposcape::landscape::{ExploreOptions, explore};
use toposcape::progress::Silent;
use toposcape_topology::render::{FigureOptions, profile_png};

/// Your model: any burn `Module`.
#[derive(Module, Debug)]
struct Net {
    hidden: Linear,
    out: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Net {
            hidden: LinearConfig::new(1, 16).init(device),
            out: LinearConfig::new(16, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.hidden.forward(x).tanh())
    }
}

/// Your loss: a function of the module alone (the data captured), a one-element tensor.
fn mse(net: &Net, x: &Tensor<2>, y: &Tensor<2>) -> Tensor<1> {
    (net.forward(x.clone()) - y.clone()).powf_scalar(2.0).mean()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex();
    device.seed(7);
    let xs: Vec<f32> = (0..64).map(|i| -1.0 + 2.0 * i as f32 / 63.0).collect();
    let ys: Vec<f32> = xs.iter().map(|x| (3.0 * x).sin()).collect();
    let data = |d: &Device| {
        let x = Tensor::<1>::from_floats(xs.as_slice(), d).reshape([64, 1]);
        let y = Tensor::<1>::from_floats(ys.as_slice(), d).reshape([64, 1]);
        (x, y)
    };

    // Your training, as usual (here 500 Adam steps on the autodiff device).
    let autodiff = device.clone().autodiff();
    let (x, y) = data(&autodiff);
    let mut net = Net::new(&autodiff);
    let mut adam = AdamConfig::new().init();
    for _ in 0..500 {
        let loss = mse(&net, &x, &y);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = adam.step(1e-2, net, grads);
    }

    // The landscape around the trained weights: 2 Hessian axes, 41 x 41 points, 1% of ||theta||.
    let (x, y) = data(&device);
    let net = net.valid();
    let options = ExploreOptions::default();
    let found = explore(
        &net,
        &device,
        move |m: &Net| mse(m, &x, &y),
        &options,
        &Silent,
    )?;

    println!("loss at the trained weights {:.4e}", found.loss_at_theta0);
    println!(
        "Hessian eigenvalues {:?} ({})",
        found.eigenvalues,
        if found.converged {
            "converged"
        } else {
            "not converged"
        }
    );
    let m = &found.metrics;
    println!(
        "{} x {} grid: {} minima, {} saddles, loss {:.4e} to {:.4e}, total persistence {:.3e}",
        found.shape[0],
        found.shape[1],
        m.minima,
        m.saddles,
        m.loss_min.unwrap_or(f64::NAN),
        m.loss_max.unwrap_or(f64::NAN),
        m.total_persistence
    );
    let path = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map_or_else(
            || std::env::temp_dir().join("own_module_profile.png"),
            Into::into,
        );
    let png = profile_png(&found.profile, &FigureOptions::default())?;
    std::fs::write(&path, png)?;
    println!("profile in {}", path.display());
    Ok(())
}
