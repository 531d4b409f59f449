//! The UNet's loss at B landscape points per pass, on any burn device. The B perturbed weight
//! sets `theta0 + C D` (one matrix product on the device) run as one network whose channels are
//! the B models' side by side: every convolution is grouped by model (B groups), group
//! normalisation takes B times the groups, the skip connections join each model's channels,
//! and the cross-entropy is averaged per model. A GPU then runs a few large kernels per pass
//! instead of B passes of small ones. Only the B coordinates go to the device and the B losses
//! come back.

use std::collections::HashMap;

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::module::{conv_transpose2d, conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use toposcape_perturb::params::ParamLayout;
use toposcape_perturb::sample::{Directions, PointEvaluator};
use toposcape_perturb::tangent::{accurate_row_means, group_means};

use crate::batched::{PointBatch, losses};
use crate::unet::UnetConfig;

/// burn's `GroupNorm` default.
const NORM_EPSILON: f64 = 1e-5;

/// Batched UNet landscape points on a burn device.
pub struct UnetBatched {
    points: PointBatch,
    /// Offset and shape of every parameter, by its path in the module.
    entries: HashMap<String, (usize, Vec<usize>)>,
    depth: usize,
    norm_groups: usize,
    /// `[N, C, H, W]`.
    images: Tensor<4>,
    /// `[N, H, W]` class ids.
    labels: Tensor<3, Int>,
    /// Points per forward pass.
    pub batch: usize,
}

impl UnetBatched {
    /// The evaluator of the network `config` at `theta0` along `directions`, its loss on
    /// `images` and `labels` (on `device`, a plain device), with `batch` points per pass.
    pub fn new(
        config: &UnetConfig,
        theta0: &[f32],
        directions: &Directions,
        images: Tensor<4>,
        labels: Tensor<3, Int>,
        batch: usize,
        device: &Device,
    ) -> Self {
        let layout = ParamLayout::of(&config.init(device));
        assert_eq!(layout.len(), theta0.len(), "theta0 of the network's length");
        UnetBatched {
            // f32: the UNet's losses agree with float64 to 1e-6 in f32 already.
            points: PointBatch::new(theta0, directions, device, burn::tensor::DType::F32),
            entries: layout
                .entries
                .into_iter()
                .map(|e| (e.name, (e.offset, e.shape)))
                .collect(),
            depth: config.depth,
            norm_groups: config.norm_groups,
            images,
            labels,
            batch: batch.max(1),
        }
    }

    /// Parameter `name` of every model: `[b, numel]`, and its shape in one model.
    fn param(&self, theta: &Tensor<2>, name: &str) -> (Tensor<2>, &[usize]) {
        let (offset, shape) = self
            .entries
            .get(name)
            .unwrap_or_else(|| panic!("the UNet has a parameter {name}"));
        let b = theta.dims()[0];
        let numel: usize = shape.iter().product();
        (theta.clone().slice([0..b, *offset..offset + numel]), shape)
    }

    /// The B models' biases of `name`, `[b * channels]`.
    fn bias(&self, theta: &Tensor<2>, name: &str) -> Tensor<1> {
        let (bias, shape) = self.param(theta, &format!("{name}.bias"));
        let b = theta.dims()[0];
        bias.reshape([b * shape[0]])
    }

    /// Convolution `name` of each model on its own channels (B groups).
    fn conv(&self, theta: &Tensor<2>, x: Tensor<4>, name: &str, padding: usize) -> Tensor<4> {
        let b = theta.dims()[0];
        let (weight, shape) = self.param(theta, &format!("{name}.weight"));
        let weight = weight.reshape([b * shape[0], shape[1], shape[2], shape[3]]);
        let options = ConvOptions::new([1, 1], [padding, padding], [1, 1], b);
        conv2d(x, weight, Some(self.bias(theta, name)), options)
    }

    /// Transposed 2x2 convolution with stride 2 (the decoder's up-sampling), B groups.
    fn up(&self, theta: &Tensor<2>, x: Tensor<4>, name: &str) -> Tensor<4> {
        let b = theta.dims()[0];
        let (weight, shape) = self.param(theta, &format!("{name}.weight"));
        // One model's weight is [in, out, 2, 2]; grouped, the inputs stack.
        let weight = weight.reshape([b * shape[0], shape[1], shape[2], shape[3]]);
        let options = ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], b);
        conv_transpose2d(x, weight, Some(self.bias(theta, name)), options)
    }

    /// Group normalisation of each model's channels with its own gamma and beta.
    fn norm(&self, theta: &Tensor<2>, x: Tensor<4>, name: &str) -> Tensor<4> {
        let b = theta.dims()[0];
        let [n, c, h, w] = x.dims();
        let groups = b * self.norm_groups;
        let x = x.reshape([n, groups, c / groups * h * w]);
        let centred = x.clone() - group_means(x);
        let variance = group_means(centred.clone().powi_scalar(2));
        let x = (centred / variance.add_scalar(NORM_EPSILON).sqrt()).reshape([n, c, h, w]);
        let (gamma, _) = self.param(theta, &format!("{name}.gamma"));
        let (beta, _) = self.param(theta, &format!("{name}.beta"));
        x * gamma.reshape([1, c, 1, 1]) + beta.reshape([1, c, 1, 1])
    }

    /// Two 3x3 convolutions, each followed by group normalisation and ReLU.
    fn block(&self, theta: &Tensor<2>, x: Tensor<4>, name: &str) -> Tensor<4> {
        let x = self.conv(theta, x, &format!("{name}.conv1"), 1);
        let x = relu(self.norm(theta, x, &format!("{name}.norm1")));
        let x = self.conv(theta, x, &format!("{name}.conv2"), 1);
        relu(self.norm(theta, x, &format!("{name}.norm2")))
    }

    /// The losses at `coords` (`b x dims`, row-major), b points in one pass.
    fn pass(&self, coords: &[f64]) -> Vec<f32> {
        let theta = self.points.thetas(coords);
        let b = theta.dims()[0];

        let pool = |x: Tensor<4>| max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]));
        let mut skips = Vec::with_capacity(self.depth);
        let mut h = self.images.clone().repeat_dim(1, b);
        for level in 0..self.depth {
            h = self.block(&theta, h, &format!("encoder.{level}"));
            skips.push(h.clone());
            h = pool(h);
        }
        h = self.block(&theta, h, "bottom");
        for (i, skip) in skips.into_iter().rev().enumerate() {
            h = self.up(&theta, h, &format!("upsample.{i}"));
            // Each model's up-sampled channels, then its skip channels.
            let [n, ch, height, width] = h.dims();
            let cs = skip.dims()[1];
            let joined = Tensor::cat(
                vec![
                    h.reshape([n, b, ch / b, height, width]),
                    skip.reshape([n, b, cs / b, height, width]),
                ],
                2,
            );
            h = self.block(
                &theta,
                joined.reshape([n, ch + cs, height, width]),
                &format!("decoder.{i}"),
            );
        }
        let logits = self.conv(&theta, h, "head", 0);
        let [n, bk, height, width] = logits.dims();
        let log_p = log_softmax(logits.reshape([n, b, bk / b, height, width]), 2);
        let labels = self
            .labels
            .clone()
            .reshape([n, 1, 1, height, width])
            .repeat_dim(1, b);
        // Mean cross-entropy per model over its N x H x W pixels.
        let picked = log_p.gather(2, labels).swap_dims(0, 1);
        let loss = accurate_row_means(picked.reshape([b, n * height * width])).neg();
        losses(loss)
    }
}

impl PointEvaluator for UnetBatched {
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
        self.points
            .evaluate(self.batch, coords, out, |c| self.pass(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmentation::ShapesConfig;
    use toposcape_perturb::params::{flatten, load_flat_values};

    /// The batched losses equal the module's own loss at each perturbed weight set.
    #[test]
    fn batched_losses_match_the_unet_at_each_point() {
        #[allow(deprecated)]
        for device in [Device::flex(), Device::ndarray()] {
            device.seed(3);
            let config = UnetConfig::new();
            let model = config.init(&device);
            let theta0 = flatten(&model);
            let n = theta0.len();
            // Two directions of weight-sized steps, so the points differ visibly.
            let rows: Vec<Vec<f32>> = (0..2)
                .map(|k| {
                    (0..n)
                        .map(|i| 0.05 * (((i * 7 + k * 13) % 11) as f32 / 5.0 - 1.0))
                        .collect()
                })
                .collect();
            let directions = Directions::from_rows(&rows);
            let (set, _) = ShapesConfig::new()
                .with_size(16)
                .with_train_images(3)
                .with_test_images(1)
                .generate();
            let (x, y) = set.batch(0, 3, &device);
            // Five points in batches of two: a short last batch too.
            let coords = [0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.7, 0.4, -0.3, 1.2];
            let mut batched = UnetBatched::new(
                &config,
                &theta0,
                &directions,
                x.clone(),
                y.clone(),
                2,
                &device,
            );
            let mut out = vec![0.0; 5];
            batched.evaluate(&coords, &mut out);
            for (point, &got) in coords.chunks(2).zip(&out) {
                let theta: Vec<f32> = (0..n)
                    .map(|i| {
                        theta0[i] + point[0] as f32 * rows[0][i] + point[1] as f32 * rows[1][i]
                    })
                    .collect();
                let moved = load_flat_values(config.init(&device), &theta, &device);
                let expected = moved
                    .loss(x.clone(), y.clone())
                    .into_data()
                    .try_into_vec::<f32>()
                    .unwrap()[0];
                assert!(
                    (got - expected).abs() <= 1e-5 * expected.abs(),
                    "{point:?}: batched {got} vs module {expected}"
                );
            }
            // The points differ: the test would see a model evaluated at the wrong weights.
            assert!(
                out.windows(2).all(|w| (w[0] - w[1]).abs() > 1e-4),
                "{out:?}"
            );
        }
    }
}
