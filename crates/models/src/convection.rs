//! The 1-D convection problem the PINN solves: `u_t + beta u_x = 0` on `x` in `[0, 2 pi]`,
//! `t` in `[0, 1]`, with `u(x, 0) = sin x` and the periodic boundary `u(0, t) = u(2 pi, t)`.
//! Its exact solution is `sin(x - beta t)` (Krishnapriyan et al. 2021).

use std::f64::consts::TAU;

use burn::prelude::*;

use toposcape_perturb::random::SplitMix64;
use toposcape_perturb::tangent::{Dual, accurate_mean};

use crate::pinn::Pinn;

/// The problem, its sample points and the weights of the loss terms.
#[derive(Config, Debug)]
pub struct ConvectionConfig {
    /// The convection speed: the PDE is `u_t + beta u_x = 0`.
    #[config(default = 1.0)]
    pub beta: f64,
    /// Interior points where the PDE residual is enforced.
    #[config(default = 1000)]
    pub collocation_points: usize,
    /// Points on `t = 0` where `u = sin x` is enforced.
    #[config(default = 100)]
    pub initial_points: usize,
    /// Times at which `u(0, t) = u(2 pi, t)` is enforced.
    #[config(default = 100)]
    pub boundary_points: usize,
    #[config(default = 1.0)]
    pub initial_weight: f64,
    #[config(default = 1.0)]
    pub residual_weight: f64,
    #[config(default = 1.0)]
    pub boundary_weight: f64,
    /// Seed of the sample points (the same points on every backend).
    #[config(default = 0)]
    pub seed: u64,
}

/// The exact solution `sin(x - beta t)`.
pub fn exact_solution(x: f64, t: f64, beta: f64) -> f64 {
    (x - beta * t).sin()
}

/// The sample points of the loss as f32 values: pairs `(x, t)` flattened row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvectionPoints {
    pub collocation: Vec<f32>,
    pub initial: Vec<f32>,
    /// `sin x` at the initial points.
    pub initial_target: Vec<f32>,
    pub boundary_left: Vec<f32>,
    pub boundary_right: Vec<f32>,
}

/// The sample points of the loss, as `[N, 2]` tensors of `(x, t)`.
#[derive(Debug, Clone)]
pub struct ConvectionData {
    pub collocation: Tensor<2>,
    pub initial: Tensor<2>,
    /// `sin x` at the initial points, `[N, 1]`.
    pub initial_target: Tensor<2>,
    /// `(0, t)` and `(2 pi, t)` at the same times.
    pub boundary_left: Tensor<2>,
    pub boundary_right: Tensor<2>,
}

fn points(pairs: &[(f64, f64)], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = pairs
        .iter()
        .flat_map(|&(x, t)| [x as f32, t as f32])
        .collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([pairs.len(), 2])
}

impl ConvectionData {
    /// The same points as `dtype` tensors (float64 for losses accurate near a minimum).
    pub fn cast(self, dtype: burn::tensor::DType) -> Self {
        ConvectionData {
            collocation: self.collocation.cast(dtype),
            initial: self.initial.cast(dtype),
            initial_target: self.initial_target.cast(dtype),
            boundary_left: self.boundary_left.cast(dtype),
            boundary_right: self.boundary_right.cast(dtype),
        }
    }
}

/// The loss and its three terms (each a mean of squares), as one-element tensors.
#[derive(Debug, Clone)]
pub struct LossTerms {
    pub total: Tensor<1>,
    pub initial: Tensor<1>,
    pub residual: Tensor<1>,
    pub boundary: Tensor<1>,
}

impl ConvectionConfig {
    /// The seeded sample points, as f32 values (the values every backend receives).
    pub fn points(&self) -> ConvectionPoints {
        let mut random = SplitMix64(self.seed);
        let collocation: Vec<(f64, f64)> = (0..self.collocation_points)
            .map(|_| (TAU * random.uniform(), random.uniform()))
            .collect();
        let initial: Vec<(f64, f64)> = (0..self.initial_points)
            .map(|_| (TAU * random.uniform(), 0.0))
            .collect();
        let times: Vec<f64> = (0..self.boundary_points)
            .map(|_| random.uniform())
            .collect();
        let flat = |pairs: &mut dyn Iterator<Item = (f64, f64)>| -> Vec<f32> {
            pairs.flat_map(|(x, t)| [x as f32, t as f32]).collect()
        };
        ConvectionPoints {
            collocation: flat(&mut collocation.iter().copied()),
            initial: flat(&mut initial.iter().copied()),
            initial_target: initial.iter().map(|&(x, _)| x.sin() as f32).collect(),
            boundary_left: flat(&mut times.iter().map(|&t| (0.0, t))),
            boundary_right: flat(&mut times.iter().map(|&t| (TAU, t))),
        }
    }

    /// The seeded sample points on `device`.
    pub fn data(&self, device: &Device) -> ConvectionData {
        let points = self.points();
        let pairs =
            |flat: &[f32]| Tensor::<1>::from_floats(flat, device).reshape([flat.len() / 2, 2]);
        ConvectionData {
            collocation: pairs(&points.collocation),
            initial: pairs(&points.initial),
            initial_target: Tensor::<1>::from_floats(points.initial_target.as_slice(), device)
                .reshape([points.initial_target.len(), 1]),
            boundary_left: pairs(&points.boundary_left),
            boundary_right: pairs(&points.boundary_right),
        }
    }

    /// The PINN loss: the weighted sum of the initial-condition, PDE-residual and boundary
    /// mean squared errors (each mean summed in two levels, [`accurate_mean`]).
    pub fn loss(&self, model: &Pinn, data: &ConvectionData) -> LossTerms {
        let initial = accurate_mean(
            (model.forward(data.initial.clone()) - data.initial_target.clone()).powi_scalar(2),
        );
        let inside = model.forward_with_derivatives(data.collocation.clone());
        let residual =
            accurate_mean((inside.u_t + inside.u_x.mul_scalar(self.beta)).powi_scalar(2));
        let boundary = accurate_mean(
            (model.forward(data.boundary_left.clone())
                - model.forward(data.boundary_right.clone()))
            .powi_scalar(2),
        );
        let total = initial.clone().mul_scalar(self.initial_weight)
            + residual.clone().mul_scalar(self.residual_weight)
            + boundary.clone().mul_scalar(self.boundary_weight);
        LossTerms {
            total,
            initial,
            residual,
            boundary,
        }
    }
}

impl ConvectionConfig {
    /// The loss's derivative along the parameters of `tangent` (`grad L . v`, with the
    /// direction `v` held as `tangent`'s parameters): one backward pass of it on an autodiff
    /// device is the exact Hessian-vector product `H v`. The residual is taken as the
    /// derivative of `u` along `(beta, 1)` in `(x, t)`, as the kernel takes it (the same
    /// function as `u_t + beta u_x`).
    pub fn loss_tangent(&self, model: &Pinn, tangent: &Pinn, data: &ConvectionData) -> Tensor<1> {
        let collocation = data.collocation.dims()[0];
        let along = Tensor::<1>::from_floats(
            [self.beta as f32, 1.0].as_slice(),
            &data.collocation.device(),
        )
        .reshape([1, 2])
        .repeat_dim(0, collocation)
        .cast(data.collocation.dtype());
        let (_, residual) = model.forward_dual(tangent, data.collocation.clone(), Some(along));
        let residual = residual
            .expect("a derivative along (beta, 1)")
            .square()
            .mean();
        let value = |points: &Tensor<2>| model.forward_dual(tangent, points.clone(), None).0;
        let initial = (value(&data.initial) - Dual::constant(data.initial_target.clone()))
            .square()
            .mean();
        let boundary = (value(&data.boundary_left) - value(&data.boundary_right))
            .square()
            .mean();
        (initial.mul_scalar(self.initial_weight)
            + residual.mul_scalar(self.residual_weight)
            + boundary.mul_scalar(self.boundary_weight))
        .tangent
        .expect("the tangent network's parameters give a tangent")
    }
}

/// The relative L2 error `||u - u_exact|| / ||u_exact||` of a solution on the standard 256 x 100
/// grid of `(x, t)` in `[0, 2 pi] x [0, 1]` (endpoints included). `solution` maps the grid
/// points to the values of `u` there, in the same order.
pub fn relative_l2_error(beta: f64, solution: impl Fn(&[(f64, f64)]) -> Vec<f64>) -> f64 {
    let grid: Vec<(f64, f64)> = (0..256)
        .flat_map(|i| (0..100).map(move |j| (TAU * i as f64 / 255.0, j as f64 / 99.0)))
        .collect();
    let u = solution(&grid);
    let (mut error, mut norm) = (0.0, 0.0);
    for (&(x, t), v) in grid.iter().zip(u) {
        let exact = exact_solution(x, t, beta);
        error += (v - exact).powi(2);
        norm += exact * exact;
    }
    (error / norm).sqrt()
}

/// The relative L2 error of a trained network.
pub fn model_error(model: &Pinn, beta: f64, device: &Device) -> f64 {
    relative_l2_error(beta, |grid| {
        let u = model.forward(points(grid, device));
        u.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 values")
            .into_iter()
            .map(f64::from)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use burn::optim::{AdamConfig, GradientsParams};

    use super::*;
    use crate::pinn::{Pinn, PinnConfig};

    fn scalar(t: Tensor<1>) -> f64 {
        f64::from(
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32")[0],
        )
    }

    #[test]
    fn the_error_of_the_exact_solution_is_zero_and_of_a_shifted_one_is_known() {
        assert_eq!(
            relative_l2_error(3.0, |g| g
                .iter()
                .map(|&(x, t)| exact_solution(x, t, 3.0))
                .collect()),
            0.0
        );
        // u = 1.1 u_exact has relative error exactly 0.1.
        let e = relative_l2_error(2.0, |g| {
            g.iter()
                .map(|&(x, t)| 1.1 * exact_solution(x, t, 2.0))
                .collect()
        });
        assert!((e - 0.1).abs() < 1e-12, "{e}");
    }

    #[test]
    fn loss_terms_match_a_direct_computation() {
        let device = Device::flex();
        device.seed(3);
        let model = PinnConfig::new()
            .with_widths(vec![2, 16, 16, 1])
            .init(&device);
        let config = ConvectionConfig::new()
            .with_beta(5.0)
            .with_collocation_points(64)
            .with_initial_points(32)
            .with_boundary_points(16);
        let data = config.data(&device);
        let terms = config.loss(&model, &data);
        let column = |t: Tensor<2>| -> Vec<f64> {
            t.into_data()
                .try_to_vec::<f32>()
                .expect("f32")
                .into_iter()
                .map(f64::from)
                .collect()
        };
        let mean_square = |v: Vec<f64>| v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
        let d = model.forward_with_derivatives(data.collocation.clone());
        let residual: Vec<f64> = column(d.u_t)
            .iter()
            .zip(column(d.u_x))
            .map(|(t, x)| t + 5.0 * x)
            .collect();
        let initial_x = column(data.initial.clone());
        let initial: Vec<f64> = column(model.forward(data.initial.clone()))
            .iter()
            .zip(initial_x.chunks(2))
            .map(|(u, p)| u - (p[0] as f32).sin() as f64)
            .collect();
        let boundary: Vec<f64> = column(model.forward(data.boundary_left.clone()))
            .iter()
            .zip(column(model.forward(data.boundary_right.clone())))
            .map(|(a, b)| a - b)
            .collect();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs().max(1e-3);
        assert!(close(scalar(terms.residual.clone()), mean_square(residual)));
        assert!(close(scalar(terms.initial.clone()), mean_square(initial)));
        assert!(close(scalar(terms.boundary.clone()), mean_square(boundary)));
        let sum = scalar(terms.residual) + scalar(terms.initial) + scalar(terms.boundary);
        assert!(close(scalar(terms.total), sum));
        // The sample points lie in the domain, and the same seed gives the same points.
        assert!(
            initial_x
                .chunks(2)
                .all(|p| (0.0..=TAU).contains(&p[0]) && p[1] == 0.0)
        );
        assert_eq!(
            column(config.data(&device).collocation),
            column(data.collocation)
        );
    }

    #[test]
    fn exact_hessian_vector_products_are_float64_differences_of_gradients() {
        let device = Device::flex();
        device.seed(5);
        let model = PinnConfig::new()
            .with_widths(vec![2, 12, 12, 1])
            .init(&device);
        let config = ConvectionConfig::new()
            .with_beta(7.0)
            // Powers of two: burn's backward passes apply scalars such as a mean's 1 / n in
            // f32, exact only for these, which would otherwise show at 1e-8 in float64.
            .with_collocation_points(32)
            .with_initial_points(16)
            .with_boundary_points(8);
        let data = config.data(&device).cast(burn::tensor::DType::F64);
        let (c2, d2) = (config.clone(), data.clone());
        crate::float64::check_exact_products(
            &model,
            &device,
            move |m: &Pinn| config.loss(m, &data).total,
            move |m: &Pinn, t: &Pinn| c2.loss_tangent(m, t, &d2),
            1e-6,
            1e-7,
        );
    }

    #[test]
    fn adam_training_lowers_the_loss_and_the_error() {
        let device = Device::flex().autodiff();
        device.seed(11);
        let config = ConvectionConfig::new()
            .with_beta(1.0)
            .with_collocation_points(256)
            .with_initial_points(64)
            .with_boundary_points(32);
        let data = config.data(&device);
        let mut model = PinnConfig::new()
            .with_widths(vec![2, 32, 32, 1])
            .init(&device);
        let mut optimizer = AdamConfig::new().init();
        let first = scalar(config.loss(&model, &data).total);
        let error_before = model_error(&model, 1.0, &device);
        for _ in 0..300 {
            let loss = config.loss(&model, &data).total;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(5e-3, model, grads);
        }
        let last = scalar(config.loss(&model, &data).total);
        let error_after = model_error(&model, 1.0, &device);
        assert!(last < first / 10.0, "loss {first} -> {last}");
        assert!(
            error_after < error_before / 2.0,
            "relative L2 error {error_before} -> {error_after}"
        );
    }
}
