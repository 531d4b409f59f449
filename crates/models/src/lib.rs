//! toposcape-models: the neural networks whose loss landscapes toposcape analyses, their data,
//! and their training.
//!
//! - [`pinn`]: a tanh MLP whose input derivatives come out of its forward pass, and
//!   [`convection`]: the 1-D convection problem (seeded points, the three-term PINN loss, the
//!   relative L2 error against the exact solution).
//! - [`unet`]: a UNet for segmentation with pixel accuracy and mean IoU, and
//!   [`segmentation`]: seeded synthetic shapes and the Oxford-IIIT Pet layout;
//!   [`unet_batched`]: its loss at B points per pass as one network of B groups (the GPU path).
//! - [`kernel`]: the PINN loss as a CPU kernel outside burn, for fast landscape sampling;
//!   [`batched`]: the PINN loss at B points per pass on any burn device (the GPU path).
//! - [`train`]: one training loop with Adam or L-BFGS; [`checkpoint`]: burn records and
//!   safetensors named by parameter path.
//!
//! Models are plain burn 0.22 modules: the backend is the `Device` they are created on (flex,
//! ndarray, or wgpu when burn is built with it).

pub mod batched;
pub mod checkpoint;
pub mod convection;
pub mod kernel;
pub mod pinn;
pub mod segmentation;
pub mod train;
pub mod unet;
pub mod unet_batched;

/// Float64 Hessian-vector products of the models, for the tests: the exact product of
/// [`toposcape_perturb::tangent`] against central differences of gradients, both in f64.
#[cfg(test)]
pub(crate) mod float64 {
    use burn::module::Module;
    use burn::prelude::*;
    use toposcape_perturb::params::{
        flat_gradient_tensor, load_flat_constant, load_flat_trainable, tensor_f64, to_f64s,
    };
    use toposcape_perturb::random::SplitMix64;

    pub fn normals(n: usize, seed: u64) -> Vec<f64> {
        let mut random = SplitMix64(seed);
        (0..n).map(|_| random.normal()).collect()
    }

    /// The gradient of `loss` at `theta` (float64 parameters on `device`'s autodiff device).
    pub fn gradient<M: Module + Clone>(
        model: &M,
        theta: &[f64],
        device: &Device,
        loss: &impl Fn(&M) -> Tensor<1>,
    ) -> Vec<f64> {
        let m = load_flat_trainable(model.clone(), tensor_f64(theta, &device.clone().autodiff()));
        to_f64s(flat_gradient_tensor(&m, &loss(&m).backward()))
    }

    /// `H v` by one backward pass of `tangent_loss(model at theta, tangent module holding v)`.
    pub fn exact_product<M: Module + Clone>(
        model: &M,
        theta: &[f64],
        v: &[f64],
        device: &Device,
        tangent_loss: &impl Fn(&M, &M) -> Tensor<1>,
    ) -> (f64, Vec<f64>) {
        let autodiff = device.clone().autodiff();
        let m = load_flat_trainable(model.clone(), tensor_f64(theta, &autodiff));
        let t = load_flat_constant(model.clone(), tensor_f64(v, &autodiff));
        let directional = tangent_loss(&m, &t);
        let value = to_f64s(directional.clone())[0];
        (
            value,
            to_f64s(flat_gradient_tensor(&m, &directional.backward())),
        )
    }

    /// Checks, in float64: the tangent loss is `grad L . v`, the exact product equals central
    /// differences of gradients at step `h` to `tolerance` (relative to its largest entry),
    /// and the products are symmetric (`u . H v = v . H u`).
    pub fn check_exact_products<M: Module + Clone>(
        model: &M,
        device: &Device,
        loss: impl Fn(&M) -> Tensor<1>,
        tangent_loss: impl Fn(&M, &M) -> Tensor<1>,
        h: f64,
        tolerance: f64,
    ) {
        // Seeded here, not by the device (whose seed tests running at once share): the
        // parameters of burn's initialisation scale, and unit directions.
        let n = toposcape_perturb::params::ParamLayout::of(model).len();
        let scale = 1.0 / (n as f64).powf(0.25);
        let theta: Vec<f64> = normals(n, 10).iter().map(|x| x * scale).collect();
        let unit = |seed| {
            let v = normals(n, seed);
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / norm).collect::<Vec<f64>>()
        };
        let (v, u) = (unit(11), unit(12));
        let g = gradient(model, &theta, device, &loss);
        let (directional, hv) = exact_product(model, &theta, &v, device, &tangent_loss);
        let g_dot_v: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!(
            (directional - g_dot_v).abs() <= 1e-10 * g_dot_v.abs().max(1.0),
            "the tangent loss {directional} is not grad . v = {g_dot_v}"
        );
        let shifted = |sign: f64| -> Vec<f64> {
            let at: Vec<f64> = theta
                .iter()
                .zip(&v)
                .map(|(t, d)| t + sign * h * d)
                .collect();
            gradient(model, &at, device, &loss)
        };
        let (plus, minus) = (shifted(1.0), shifted(-1.0));
        let scale = hv.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let worst = hv
            .iter()
            .zip(plus.iter().zip(&minus))
            .map(|(e, (p, m))| (e - (p - m) / (2.0 * h)).abs())
            .fold(0.0f64, f64::max)
            / scale;
        assert!(scale > 0.0);
        assert!(
            worst < tolerance,
            "exact product off the float64 central difference by {worst:.2e} (of its largest entry {scale:.3e})"
        );
        let (_, hu) = exact_product(model, &theta, &u, device, &tangent_loss);
        let (uhv, vhu): (f64, f64) = (
            u.iter().zip(&hv).map(|(a, b)| a * b).sum(),
            v.iter().zip(&hu).map(|(a, b)| a * b).sum(),
        );
        assert!(
            (uhv - vhu).abs() <= 1e-10 * uhv.abs().max(vhu.abs()),
            "u.Hv = {uhv} but v.Hu = {vhu}"
        );
    }
}
