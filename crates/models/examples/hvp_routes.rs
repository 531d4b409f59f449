//! The two exact routes to Hessian-vector products in burn 0.22.1, measured side by side (the
//! figures of BENCHMARKS.md's "Exact Hessian-vector products"):
//!
//! - reverse over forward, toposcape's (`toposcape_perturb::tangent`): the model's forward pass
//!   on dual tensors through burn's modules, then one first-order backward pass;
//! - reverse over reverse, nested autodiff decorators at the backend level,
//!   `Autodiff<Autodiff<Flex>>`: burn's high-level `Tensor` API cannot nest (a second backward
//!   panics), so the loss is written again on backend primitives; the outer gradient is a
//!   tracked tensor of the inner graph, and the inner backward of `grad . v` is `H v`.
//!
//! On the PINN (2-50x4-1, 1000 collocation points, flex, one thread of work): the time of each
//! product against a gradient of the same code, and the two products against each other. On
//! the UNet the nested route stops at max pooling, whose backward burn cannot differentiate:
//! shown on one pooling layer.
//!
//!     cargo run --release -p toposcape-models --example hvp_routes

use std::time::Instant;

use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Flex};
use burn::prelude::*;
use burn::tensor::{Scalar, TensorData};
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::pinn::{Pinn, PinnConfig};
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::params::flatten;

type Inner = Autodiff<Flex>;
type Outer = Autodiff<Inner>;

/// The PINN loss on backend primitives: per layer `z = h W + b`, tanh through `exp`, the
/// derivative along `(beta, 1)` carried beside the collocation values.
struct Primitive {
    widths: Vec<usize>,
    collocation: Vec<f32>,
    initial: Vec<f32>,
    target: Vec<f32>,
    left: Vec<f32>,
    right: Vec<f32>,
    beta: f32,
}

fn scalar(x: f64) -> Scalar {
    Scalar::Float(x)
}

impl Primitive {
    fn tensor<B: Backend>(values: &[f32], shape: [usize; 2], device: &B::Device) -> FloatTensor<B> {
        B::float_from_data(TensorData::new(values.to_vec(), shape), device)
    }

    fn tanh<B: Backend>(z: FloatTensor<B>) -> FloatTensor<B> {
        let e = B::float_exp(B::float_mul_scalar(z, scalar(2.0)));
        let r = B::float_recip(B::float_add_scalar(e, scalar(1.0)));
        B::float_add_scalar(B::float_mul_scalar(r, scalar(-2.0)), scalar(1.0))
    }

    fn mean_square<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
        B::float_mean(B::float_mul(x.clone(), x))
    }

    fn loss<B: Backend>(&self, theta: FloatTensor<B>, device: &B::Device) -> FloatTensor<B> {
        let rows = |v: &[f32]| Self::tensor::<B>(v, [v.len() / 2, 2], device);
        let nc = self.collocation.len() / 2;
        let along: Vec<f32> = (0..nc).flat_map(|_| [self.beta, 1.0]).collect();
        let mut streams = [
            rows(&self.collocation),
            rows(&self.initial),
            rows(&self.left),
            rows(&self.right),
        ];
        let mut derivative = rows(&along);
        let mut offset = 0;
        let last = self.widths.len() - 2;
        for (i, w) in self.widths.windows(2).enumerate() {
            let (k, n) = (w[0], w[1]);
            let slice = |start: usize, len: usize, shape: [usize; 2]| {
                let flat = B::float_slice(
                    theta.clone(),
                    &[burn::tensor::Slice::new(
                        start as isize,
                        Some((start + len) as isize),
                        1,
                    )],
                );
                B::float_reshape(flat, shape.into())
            };
            let weight = slice(offset, k * n, [k, n]);
            let bias = slice(offset + k * n, n, [1, n]);
            offset += k * n + n;
            derivative = B::float_matmul(derivative, weight.clone());
            for s in streams.iter_mut() {
                let z = B::float_add(B::float_matmul(s.clone(), weight.clone()), bias.clone());
                *s = if i < last { Self::tanh::<B>(z) } else { z };
            }
            if i < last {
                let h = streams[0].clone();
                let slope =
                    B::float_add_scalar(B::float_neg(B::float_mul(h.clone(), h)), scalar(1.0));
                derivative = B::float_mul(derivative, slope);
            }
        }
        let [_, initial, left, right] = streams;
        let target = Self::tensor::<B>(&self.target, [self.target.len(), 1], device);
        let residual = Self::mean_square::<B>(derivative);
        let initial = Self::mean_square::<B>(B::float_sub(initial, target));
        let boundary = Self::mean_square::<B>(B::float_sub(left, right));
        B::float_add(B::float_add(residual, initial), boundary)
    }
}

fn flat<B: Backend>(values: &[f32], device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

fn host<B: Backend>(t: FloatTensor<B>) -> Vec<f32> {
    let data = burn::tensor::try_read_sync(B::float_into_data(t))
        .expect("read")
        .expect("data");
    data.convert::<f32>().try_into_vec::<f32>().expect("f32")
}

/// Seconds per call: the median of five runs of `reps` calls, after one warm-up call.
fn seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    pinn_routes();
    unet_pooling();
}

/// `H v` by reverse over reverse: `Autodiff<Autodiff<Flex>>` on the loss's primitives.
fn nested_hvp(primitive: &Primitive, theta: &[f32], v: &[f32]) -> Vec<f32> {
    let flex = burn::backend::flex::FlexDevice;
    let inner_theta = Inner::float_set_require_grad(flat::<Inner>(theta, &flex), true);
    let outer_theta = Outer::float_set_require_grad(Outer::from_inner(inner_theta.clone()), true);
    let loss = primitive.loss::<Outer>(outer_theta.clone(), &flex);
    let grads = Outer::backward(loss);
    let gradient = Outer::grad(&outer_theta, &grads).expect("a gradient");
    let directional = Inner::float_sum(Inner::float_mul(gradient, flat::<Inner>(v, &flex)));
    let grads = Inner::backward(directional);
    host::<Flex>(Inner::grad(&inner_theta, &grads).expect("H v"))
}

/// The gradient of the same primitives, for the nested route's cost in gradients.
fn primitive_gradient(primitive: &Primitive, theta: &[f32]) -> Vec<f32> {
    let flex = burn::backend::flex::FlexDevice;
    let theta = Inner::float_set_require_grad(flat::<Inner>(theta, &flex), true);
    let loss = primitive.loss::<Inner>(theta.clone(), &flex);
    let grads = Inner::backward(loss);
    host::<Flex>(Inner::grad(&theta, &grads).expect("a gradient"))
}

/// ||a - b|| / ||b||.
fn relative_difference(a: &[f32], b: &[f32]) -> f64 {
    let norm = |x: &mut dyn Iterator<Item = f64>| x.map(|d| d * d).sum::<f64>().sqrt();
    norm(&mut a.iter().zip(b).map(|(x, y)| f64::from(x - y)))
        / norm(&mut b.iter().map(|&y| f64::from(y)))
}

/// The PINN's products by both routes: their agreement and their times.
fn pinn_routes() {
    let device = Device::flex();
    device.seed(0);
    let pinn = PinnConfig::new();
    let convection = ConvectionConfig::new().with_beta(5.0);
    let model: Pinn = pinn.init(&device);
    let theta = flatten(&model);
    let n = theta.len();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) / (n as f32).sqrt())
        .collect();
    let points = convection.points();
    let primitive = Primitive {
        widths: pinn.widths.clone(),
        collocation: points.collocation,
        initial: points.initial,
        target: points.initial_target,
        left: points.boundary_left,
        right: points.boundary_right,
        beta: convection.beta as f32,
    };
    // Reverse over forward: toposcape's products through the burn module.
    let data = convection.data(&device);
    let (problem, tangent, tangent_data) = (convection.clone(), convection.clone(), data.clone());
    let mut module = ModuleLoss::new(&model, &device, move |m: &Pinn| {
        problem.loss(m, &data).total
    })
    .with_tangent(move |m: &Pinn, t: &Pinn| tangent.loss_tangent(m, t, &tangent_data));
    let by_tangents = module.hessian_vector_product(&theta, &v).expect("exact");
    let difference = relative_difference(&nested_hvp(&primitive, &theta, &v), &by_tangents);
    let reps = 20;
    let t_nested = seconds(reps, || {
        std::hint::black_box(nested_hvp(&primitive, &theta, &v));
    });
    let t_primitive_gradient = seconds(reps, || {
        std::hint::black_box(primitive_gradient(&primitive, &theta));
    });
    let t_tangents = seconds(reps, || {
        std::hint::black_box(module.hessian_vector_product(&theta, &v));
    });
    let t_module_gradient = seconds(reps, || {
        std::hint::black_box(module.loss_and_gradient(&theta));
    });
    println!("PINN 2-50x4-1, {n} parameters, flex, f32:");
    println!("  the two products differ by {difference:.1e} (relative 2-norm)");
    println!(
        "  reverse over forward (toposcape): {:.2} ms, {:.2} gradients of the module ({:.2} ms)",
        1e3 * t_tangents,
        t_tangents / t_module_gradient,
        1e3 * t_module_gradient
    );
    println!(
        "  reverse over reverse (nested):    {:.2} ms, {:.2} gradients of the same primitives ({:.2} ms)",
        1e3 * t_nested,
        t_nested / t_primitive_gradient,
        1e3 * t_primitive_gradient
    );
    println!(
        "  nested / toposcape: {:.2}x the time",
        t_nested / t_tangents
    );
}

/// The UNet's max pooling under nested autodiff.
fn unet_pooling() {
    let flex = burn::backend::flex::FlexDevice;
    // burn panics there; the message is the answer, so the default hook stays quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let pooled = std::panic::catch_unwind(|| {
        let x: Vec<f32> = (0..64).map(|i| ((i * 37 % 64) as f32).sin()).collect();
        let inner = Inner::float_set_require_grad(
            Inner::float_from_data(TensorData::new(x, [1, 1, 8, 8]), &flex),
            true,
        );
        let outer = Outer::float_set_require_grad(Outer::from_inner(inner.clone()), true);
        let y = Outer::max_pool2d(outer.clone(), [2, 2], [2, 2], [0, 0], [1, 1], false);
        let loss = Outer::float_sum(Outer::float_mul(y.clone(), y));
        let grads = Outer::backward(loss);
        let gradient = Outer::grad(&outer, &grads).expect("a gradient");
        let grads = Inner::backward(Inner::float_sum(Inner::float_mul(
            gradient.clone(),
            gradient,
        )));
        Inner::grad(&inner, &grads).is_some()
    });
    std::panic::set_hook(hook);
    match pooled {
        Ok(_) => println!("UNet: nested autodiff differentiates max pooling's backward"),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            println!("UNet: nested autodiff stops at max pooling: \"{message}\"");
        }
    }
}
