//! A UNet for semantic segmentation (Ronneberger et al. 2015), small and configurable.
//!
//! Each level is a block of two 3x3 convolutions, each followed by group normalisation and
//! ReLU; the encoder halves the resolution with 2x2 max pooling and doubles the width, the
//! decoder doubles the resolution with a 2x2 transposed convolution, concatenates the encoder's
//! output of the same level (the skip connection) and applies a block; a 1x1 convolution gives
//! one logit per class and pixel.
//!
//! Group normalisation rather than batch normalisation: its output depends only on the
//! parameters and the one image, so the loss is a function of the parameters alone (no running
//! statistics, no difference between training and evaluation), which is what a loss landscape
//! needs.
//!
//! The forward pass is written once, on [`Dual`] tensors ([`toposcape_perturb::tangent`]): with
//! a tangent module (a copy of the network holding a direction `v` as its parameters) it also
//! carries every activation's derivative along `v`, which gives the loss's directional
//! derivative and, by one backward pass, the exact Hessian-vector product; without one it is
//! the plain forward pass. Its means (group normalisation, the cross-entropy over pixels) are
//! summed in two levels, so the f32 loss agrees with a float64 recomputation on every backend.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig2d};
use burn::prelude::*;
use toposcape_perturb::tangent::{self, Dual};

/// The shape of the network.
#[derive(Config, Debug)]
pub struct UnetConfig {
    /// Image channels (3 for RGB).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Segmentation classes: 3 (background, foreground, border, like the Oxford-IIIT Pet
    /// trimaps) or 2 (background, foreground).
    #[config(default = 3)]
    pub classes: usize,
    /// Number of down-sampling steps; images must be divisible by 2^depth.
    #[config(default = 2)]
    pub depth: usize,
    /// Channels of the first level; each deeper level doubles them.
    #[config(default = 8)]
    pub base_width: usize,
    /// Groups of the group normalisation; must divide base_width.
    #[config(default = 4)]
    pub norm_groups: usize,
}

#[derive(Module, Debug)]
struct ConvBlock {
    conv1: Conv2d,
    norm1: GroupNorm,
    conv2: Conv2d,
    norm2: GroupNorm,
}

impl ConvBlock {
    fn new(input: usize, output: usize, groups: usize, device: &Device) -> Self {
        let conv = |i: usize| {
            Conv2dConfig::new([i, output], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let norm = || GroupNormConfig::new(groups, output).init(device);
        ConvBlock {
            conv1: conv(input),
            norm1: norm(),
            conv2: conv(output),
            norm2: norm(),
        }
    }

    fn forward(&self, tangent: Option<&ConvBlock>, x: Dual<4>) -> Dual<4> {
        let x = tangent::conv2d(&self.conv1, tangent.map(|t| &t.conv1), x);
        let x = tangent::relu(tangent::group_norm(
            &self.norm1,
            tangent.map(|t| &t.norm1),
            x,
        ));
        let x = tangent::conv2d(&self.conv2, tangent.map(|t| &t.conv2), x);
        tangent::relu(tangent::group_norm(
            &self.norm2,
            tangent.map(|t| &t.norm2),
            x,
        ))
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct Unet {
    encoder: Vec<ConvBlock>,
    bottom: ConvBlock,
    upsample: Vec<ConvTranspose2d>,
    decoder: Vec<ConvBlock>,
    head: Conv2d,
    pool: MaxPool2d,
}

impl UnetConfig {
    /// What is wrong with this shape, if anything: the field at fault and what it expected.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.classes < 2 {
            return Err((
                "classes",
                format!("expected at least 2, got {}", self.classes),
            ));
        }
        if self.in_channels == 0 {
            return Err(("in_channels", "expected a positive integer, got 0".into()));
        }
        if self.depth > 6 {
            return Err(("depth", format!("expected at most 6, got {}", self.depth)));
        }
        if self.base_width == 0 {
            return Err(("base_width", "expected a positive integer, got 0".into()));
        }
        if self.norm_groups == 0 || !self.base_width.is_multiple_of(self.norm_groups) {
            return Err((
                "norm_groups",
                format!(
                    "expected a positive divisor of base_width = {}, got {}",
                    self.base_width, self.norm_groups
                ),
            ));
        }
        Ok(())
    }

    /// The number of parameters [`UnetConfig::init`] makes, counted without making them (in
    /// `f64`, so that no width overflows it): a memory estimate's start.
    pub fn num_params(&self) -> f64 {
        let width = |level: usize| self.base_width as f64 * 2f64.powi(level as i32);
        // Two 3x3 convolutions with biases, each followed by a group norm's scale and shift.
        let block = |i: f64, o: f64| 9.0 * i * o + 9.0 * o * o + 6.0 * o;
        let mut count = 0.0;
        let mut input = self.in_channels as f64;
        for level in 0..=self.depth {
            count += block(input, width(level));
            input = width(level);
        }
        for level in 0..self.depth {
            // The 2x2 transposed convolution up from level + 1, then the block over it and the
            // skip connection.
            count += 4.0 * width(level + 1) * width(level) + width(level);
            count += block(2.0 * width(level), width(level));
        }
        count + (width(0) + 1.0) * self.classes as f64
    }

    /// The activations one `size` x `size` image passes through: the outputs of every
    /// convolution and norm at each level going down; coming up, the transposed convolution,
    /// its concatenation with the skip and the block over them.
    pub fn activations_per_image(&self, size: usize) -> f64 {
        let pixels = |level: usize| (size as f64 / 2f64.powi(level as i32)).powi(2);
        let width = |level: usize| self.base_width as f64 * 2f64.powi(level as i32);
        let down: f64 = (0..=self.depth).map(|l| 4.0 * width(l) * pixels(l)).sum();
        let up: f64 = (0..self.depth).map(|l| 7.0 * width(l) * pixels(l)).sum();
        down + up + self.classes as f64 * pixels(0)
    }

    /// A freshly initialised network (burn's default initialisations).
    ///
    /// # Panics
    /// If [`UnetConfig::check`] fails.
    pub fn init(&self, device: &Device) -> Unet {
        if let Err((field, problem)) = self.check() {
            panic!("invalid UNet config: {field}: {problem}");
        }
        let width = |level: usize| self.base_width << level;
        let groups = self.norm_groups;
        let encoder = (0..self.depth)
            .map(|level| {
                let input = if level == 0 {
                    self.in_channels
                } else {
                    width(level - 1)
                };
                ConvBlock::new(input, width(level), groups, device)
            })
            .collect();
        let bottom_input = if self.depth == 0 {
            self.in_channels
        } else {
            width(self.depth - 1)
        };
        let bottom = ConvBlock::new(bottom_input, width(self.depth), groups, device);
        let levels = (0..self.depth).rev();
        let upsample = levels
            .clone()
            .map(|level| {
                ConvTranspose2dConfig::new([width(level + 1), width(level)], [2, 2])
                    .with_stride([2, 2])
                    .init(device)
            })
            .collect();
        let decoder = levels
            .map(|level| ConvBlock::new(2 * width(level), width(level), groups, device))
            .collect();
        let head = Conv2dConfig::new([width(0), self.classes], [1, 1]).init(device);
        Unet {
            encoder,
            bottom,
            upsample,
            decoder,
            head,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        }
    }
}

impl Unet {
    /// Logits `[B, classes, H, W]` for images `[B, C, H, W]`; H and W divisible by 2^depth.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        self.forward_dual(None, images).value
    }

    /// The logits and, with a tangent network (this network's shape, a direction as its
    /// parameters), their derivative along that direction.
    pub fn forward_dual(&self, tangent: Option<&Unet>, images: Tensor<4>) -> Dual<4> {
        let mut skips = Vec::with_capacity(self.encoder.len());
        let mut h = Dual::constant(images);
        for (i, block) in self.encoder.iter().enumerate() {
            h = block.forward(tangent.map(|t| &t.encoder[i]), h);
            skips.push(h.clone());
            h = tangent::max_pool2d(&self.pool, h);
        }
        h = self.bottom.forward(tangent.map(|t| &t.bottom), h);
        for (i, skip) in skips.into_iter().rev().enumerate() {
            h = tangent::conv_transpose2d(&self.upsample[i], tangent.map(|t| &t.upsample[i]), h);
            h = self.decoder[i].forward(
                tangent.map(|t| &t.decoder[i]),
                tangent::cat(vec![h, skip], 1),
            );
        }
        tangent::conv2d(&self.head, tangent.map(|t| &t.head), h)
    }

    /// Mean cross-entropy over all pixels of `images` against `labels` (`[B, H, W]` class ids).
    pub fn loss(&self, images: Tensor<4>, labels: Tensor<3, Int>) -> Tensor<1> {
        self.loss_dual(None, images, labels).value
    }

    /// The loss's derivative along the parameters of `tangent` (`grad L . v`): one backward
    /// pass of it on an autodiff device is the Hessian-vector product `H v`.
    pub fn loss_tangent(
        &self,
        tangent: &Unet,
        images: Tensor<4>,
        labels: Tensor<3, Int>,
    ) -> Tensor<1> {
        self.loss_dual(Some(tangent), images, labels)
            .tangent
            .expect("a tangent network gives a tangent")
    }

    /// The loss and, with a tangent network, its derivative along it.
    pub fn loss_dual(
        &self,
        tangent: Option<&Unet>,
        images: Tensor<4>,
        labels: Tensor<3, Int>,
    ) -> Dual<1> {
        let logits = self.forward_dual(tangent, images);
        let [b, c, h, w] = logits.value.dims();
        let logits = logits.map(|t| t.permute([0, 2, 3, 1]).reshape([b * h * w, c]));
        tangent::cross_entropy(logits, labels.reshape([b * h * w]))
    }

    /// The predicted class of every pixel, `[B, H, W]`.
    pub fn predict(&self, images: Tensor<4>) -> Tensor<3, Int> {
        self.forward(images).argmax(1).squeeze_dim(1)
    }
}

/// Pixel accuracy and mean intersection over union of predicted against true classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentationScores {
    pub pixel_accuracy: f64,
    /// The mean over the classes present in the prediction or the truth of |P ∩ T| / |P ∪ T|.
    pub mean_iou: f64,
}

/// Scores of `predicted` against `truth` (class ids, same length) for `classes` classes.
pub fn segmentation_scores(predicted: &[i64], truth: &[i64], classes: usize) -> SegmentationScores {
    assert_eq!(predicted.len(), truth.len());
    let mut intersection = vec![0u64; classes];
    let mut union = vec![0u64; classes];
    let mut correct = 0u64;
    for (&p, &t) in predicted.iter().zip(truth) {
        if p == t {
            correct += 1;
            intersection[p as usize] += 1;
            union[p as usize] += 1;
        } else {
            union[p as usize] += 1;
            union[t as usize] += 1;
        }
    }
    let present: Vec<f64> = intersection
        .iter()
        .zip(&union)
        .filter(|(_, u)| **u > 0)
        .map(|(i, u)| *i as f64 / *u as f64)
        .collect();
    SegmentationScores {
        pixel_accuracy: correct as f64 / truth.len().max(1) as f64,
        mean_iou: present.iter().sum::<f64>() / present.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        // truth 0 0 1 1 2, predicted 0 1 1 1 0: accuracy 3/5.
        // IoU: class 0 1/3 (hit at 0; union {0,1,4}), class 1 2/3, class 2 0/1.
        let s = segmentation_scores(&[0, 1, 1, 1, 0], &[0, 0, 1, 1, 2], 3);
        assert!((s.pixel_accuracy - 0.6).abs() < 1e-12);
        assert!((s.mean_iou - (1.0 / 3.0 + 2.0 / 3.0 + 0.0) / 3.0).abs() < 1e-12);
        // A class absent from both does not count.
        let s = segmentation_scores(&[0, 1], &[0, 1], 3);
        assert_eq!(s.mean_iou, 1.0);
    }

    #[test]
    fn shapes_and_parameter_count() {
        let device = Device::flex();
        let config = UnetConfig::new()
            .with_depth(2)
            .with_base_width(4)
            .with_norm_groups(2);
        let model = config.init(&device);
        let images = Tensor::<4>::zeros([2, 3, 16, 12], &device);
        assert_eq!(model.forward(images.clone()).dims(), [2, 3, 16, 12]);
        assert_eq!(model.predict(images).dims(), [2, 16, 12]);
        // Count by hand: a block (i -> o) has 9 i o + o + 9 o o + o conv weights and biases and
        // 4 o norm parameters; up-sampling (2o -> o) 4 (2o) o + o; the head 4 * 3 + 3.
        let block = |i: usize, o: usize| 9 * i * o + o + 9 * o * o + o + 4 * o;
        let up = |o: usize| 4 * 2 * o * o + o;
        let expected = block(3, 4)
            + block(4, 8)
            + block(8, 16)
            + up(8)
            + block(16, 8)
            + up(4)
            + block(8, 4)
            + 4 * 3
            + 3;
        assert_eq!(model.num_params(), expected);
        assert_eq!(config.num_params(), expected as f64);
        for (depth, width, groups, classes) in [(0, 2, 1, 2), (3, 6, 3, 3), (1, 8, 4, 2)] {
            let config = UnetConfig::new()
                .with_depth(depth)
                .with_base_width(width)
                .with_norm_groups(groups)
                .with_classes(classes);
            assert_eq!(
                config.num_params(),
                config.init(&device).num_params() as f64
            );
        }
        assert_eq!(
            UnetConfig::new().with_norm_groups(3).check().unwrap_err().0,
            "norm_groups"
        );
        assert_eq!(
            UnetConfig::new().with_base_width(0).check().unwrap_err().0,
            "base_width"
        );
        assert_eq!(
            UnetConfig::new().with_depth(9).check().unwrap_err().0,
            "depth"
        );
    }

    /// Images and labels in float64 (the labels a fixed pattern of the classes).
    fn float64_data(
        count: usize,
        size: usize,
        classes: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<3, Int>) {
        let pixels = count * size * size;
        let images =
            toposcape_perturb::params::tensor_f64(&crate::float64::normals(3 * pixels, 5), device)
                .reshape([count, 3, size, size]);
        let labels: Vec<i64> = (0..pixels as i64)
            .map(|i| (i * 7 / 5) % classes as i64)
            .collect();
        let labels =
            Tensor::<1, Int>::from_ints(labels.as_slice(), device).reshape([count, size, size]);
        (images, labels)
    }

    #[test]
    fn exact_hessian_vector_products_are_float64_differences_of_gradients() {
        // Small enough that no ReLU or pooling kink lies within the step of the central
        // difference (at 1e-5 in float64 the differences are then accurate to about 1e-9).
        let device = Device::flex();
        device.seed(3);
        let model = UnetConfig::new()
            .with_depth(1)
            .with_base_width(4)
            .with_norm_groups(2)
            .init(&device);
        let (images, labels) = float64_data(2, 8, 3, &device);
        let (i2, l2) = (images.clone(), labels.clone());
        crate::float64::check_exact_products(
            &model,
            &device,
            move |m: &Unet| m.loss(images.clone(), labels.clone()),
            move |m: &Unet, t: &Unet| m.loss_tangent(t, i2.clone(), l2.clone()),
            1e-6,
            1e-7,
        );
    }

    #[test]
    fn the_forward_pass_is_burns_modules() {
        // The network written on dual tensors gives what burn's own layers give (its group
        // normalisation's means summed more accurately: equal to f32 rounding).
        let device = Device::flex();
        device.seed(4);
        let model = UnetConfig::new()
            .with_depth(1)
            .with_base_width(4)
            .with_norm_groups(2)
            .init(&device);
        let images =
            Tensor::<4>::random([2, 3, 8, 8], burn::tensor::Distribution::Default, &device);
        let block = &model.encoder[0];
        let by_modules = {
            let x = burn::tensor::activation::relu(
                block.norm1.forward(block.conv1.forward(images.clone())),
            );
            burn::tensor::activation::relu(block.norm2.forward(block.conv2.forward(x)))
        };
        let ours = block.forward(None, Dual::constant(images)).value;
        let (a, b) = (
            toposcape_perturb::params::to_vec(by_modules),
            toposcape_perturb::params::to_vec(ours),
        );
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{worst}");
    }
}
