//! The PINN loss at B landscape points per forward pass, on any burn device: the GPU's lever
//! (docs/ARCHITECTURE.md, "Performance"). The B parameter vectors `theta0 + C D` are one matrix product on the device;
//! each layer is one batched matrix product `[B, R, in] x [B, in, out]` over the stacked rows
//! of the kernel ([`crate::kernel`]): the values at every point and the derivative along
//! `(beta, 1)` at the collocation points, whose output is the residual `u_t + beta u_x`. Only
//! the B coordinates go to the device and the B losses come back.

use burn::prelude::*;
use burn::tensor::DType;
use toposcape_perturb::params::widest_float;
use toposcape_perturb::sample::{Directions, PointEvaluator};
use toposcape_perturb::tangent::accurate_row_means;

use crate::convection::ConvectionConfig;
use crate::kernel::{Layer, dense_layers, parameter_count, stacked_rows};
use crate::pinn::{PinnConfig, fast_tanh};

/// theta0 and the directions, resident on a device: the parameter vectors of a batch of
/// landscape points as one matrix product there. Shared by the batched evaluators.
pub(crate) struct PointBatch {
    device: Device,
    dtype: DType,
    theta0: Tensor<1>,
    /// `[dims, P]`.
    directions: Tensor<2>,
}

impl PointBatch {
    /// theta0 and the directions on `device`, the parameter vectors computed in `dtype`.
    pub(crate) fn new(
        theta0: &[f32],
        directions: &Directions,
        device: &Device,
        dtype: DType,
    ) -> Self {
        PointBatch {
            device: device.clone(),
            dtype,
            theta0: Tensor::<1>::from_floats(theta0, device).cast(dtype),
            directions: Tensor::<1>::from_floats(directions.values.as_slice(), device)
                .reshape([directions.count, directions.len])
                .cast(dtype),
        }
    }

    /// `theta0 + C D` for the b points of `coords` (`b x dims`, row-major): `[b, P]`. Only the
    /// coordinates go to the device.
    pub(crate) fn thetas(&self, coords: &[f64]) -> Tensor<2> {
        let dims = self.directions.dims()[0];
        let b = coords.len() / dims;
        let c: Vec<f32> = coords.iter().map(|&x| x as f32).collect();
        let c = Tensor::<1>::from_floats(c.as_slice(), &self.device)
            .reshape([b, dims])
            .cast(self.dtype);
        self.theta0.clone().unsqueeze_dim::<2>(0) + c.matmul(self.directions.clone())
    }

    /// Fills `out` with `pass` over each run of `batch` points of `coords`.
    pub(crate) fn evaluate(
        &self,
        batch: usize,
        coords: &[f64],
        out: &mut [f32],
        pass: impl Fn(&[f64]) -> Vec<f32>,
    ) {
        let dims = self.directions.dims()[0];
        for (c, o) in coords.chunks(batch * dims).zip(out.chunks_mut(batch)) {
            o.copy_from_slice(&pass(c));
        }
    }
}

/// The B losses of a pass, back on the host.
pub(crate) fn losses(total: Tensor<1>) -> Vec<f32> {
    total
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 losses")
}

/// Batched PINN landscape points on a burn device.
pub struct PinnBatched {
    points: PointBatch,
    layers: Vec<Layer>,
    /// `[R, 2]`: collocation, initial, left, right points, then the collocation points' input
    /// tangent `(beta, 1)`.
    rows: Tensor<2>,
    /// `[1, Ni, 1]`.
    target: Tensor<3>,
    collocation: usize,
    initial: usize,
    boundary: usize,
    weights: [f64; 3],
    /// Points per forward pass.
    pub batch: usize,
}

impl PinnBatched {
    /// The evaluator for `theta0` and `directions` of the network `pinn` on `convection`, with
    /// `batch` points per pass, on `device` (a plain device, not an autodiff one), in float64
    /// where the device has it ([`widest_float`]): in f32 the loss near a trained minimum is
    /// 1e-4 off (see [`crate::kernel`]).
    pub fn new(
        pinn: &PinnConfig,
        convection: &ConvectionConfig,
        theta0: &[f32],
        directions: &Directions,
        batch: usize,
        device: &Device,
    ) -> Self {
        let layers = dense_layers(&pinn.widths);
        assert_eq!(
            parameter_count(&pinn.widths),
            theta0.len(),
            "theta0 of the network's length"
        );
        let (rows, [nc, ni, nb], target) = stacked_rows(convection);
        let count = rows.len() / 2;
        let dtype = widest_float(device);
        PinnBatched {
            points: PointBatch::new(theta0, directions, device, dtype),
            layers,
            rows: Tensor::<1>::from_floats(rows.as_slice(), device)
                .reshape([count, 2])
                .cast(dtype),
            target: Tensor::<1>::from_floats(target.as_slice(), device)
                .reshape([1, ni, 1])
                .cast(dtype),
            collocation: nc,
            initial: ni,
            boundary: nb,
            weights: [
                convection.initial_weight,
                convection.residual_weight,
                convection.boundary_weight,
            ],
            batch: batch.max(1),
        }
    }

    /// The losses at `coords` (`b x dims`, row-major), b points in one pass.
    fn pass(&self, coords: &[f64]) -> Vec<f32> {
        let theta = self.points.thetas(coords);
        let b = theta.dims()[0];
        let (nc, ni, nb) = (self.collocation, self.initial, self.boundary);
        let values = nc + ni + 2 * nb;
        let rows = values + nc;
        let mut x = self.rows.clone().unsqueeze_dim::<3>(0).repeat_dim(0, b);
        let last = self.layers.len() - 1;
        let mut out = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let (k, n) = (layer.inputs, layer.outputs);
            let weight = theta
                .clone()
                .slice([0..b, layer.weight..layer.bias])
                .reshape([b, k, n]);
            let bias = theta
                .clone()
                .slice([0..b, layer.bias..layer.bias + n])
                .reshape([b, 1, n]);
            let z = x.clone().matmul(weight);
            let v = z.clone().slice([0..b, 0..values, 0..n]) + bias;
            let t = z.slice([0..b, values..rows, 0..n]);
            if i < last {
                let h = fast_tanh(v);
                let slope = h
                    .clone()
                    .slice([0..b, 0..nc, 0..n])
                    .powi_scalar(2)
                    .neg()
                    .add_scalar(1.0);
                x = Tensor::cat(vec![h, t * slope], 1);
            } else {
                out = Some((v, t));
            }
        }
        let (u, tangent) = out.expect("at least one layer");
        let mean_square = |t: Tensor<3>| {
            let n = t.dims()[1];
            accurate_row_means(t.powi_scalar(2).reshape([b, n]))
        };
        let residual = mean_square(tangent);
        let initial = mean_square(u.clone().slice([0..b, nc..nc + ni, 0..1]) - self.target.clone());
        let boundary = mean_square(
            u.clone().slice([0..b, nc + ni..nc + ni + nb, 0..1])
                - u.slice([0..b, nc + ni + nb..values, 0..1]),
        );
        let [wi, wr, wb] = self.weights;
        let total = initial.mul_scalar(wi) + residual.mul_scalar(wr) + boundary.mul_scalar(wb);
        losses(total)
    }
}

impl PointEvaluator for PinnBatched {
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
        self.points
            .evaluate(self.batch, coords, out, |c| self.pass(c));
    }
}
