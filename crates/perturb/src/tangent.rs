//! Forward-mode tangents through burn's layers: the pieces of exact Hessian-vector products by
//! reverse over forward (Pearlmutter 1994, "Fast exact multiplication by the Hessian").
//!
//! For a loss `L(theta)` and a direction `v`, every activation `h` carries its derivative along
//! `v`, `h' = (dh/dtheta) v`, computed from a second copy of the module that holds `v` as its
//! parameters (the *tangent module*). The loss's tangent is the directional derivative
//! `L' = grad L(theta) . v`, built from ordinary tensor operations on the tracked parameters,
//! so one ordinary first-order backward pass of `L'` gives `d/dtheta (grad L . v) = H v`, exact
//! up to rounding. burn 0.22 has no second backward pass; this needs none.
//!
//! ReLU and max pooling are piecewise linear: their tangents are those of the piece the point
//! lies on, as in every autodiff framework's double backward, so the product is the Hessian of
//! the smooth piece around `theta`. Central differences of gradients straddle the kinks and are
//! off by 10-30% on a ReLU UNet at any step size; these products are not.
//!
//! A [`Dual`] is a value with an optional tangent (`None` for data and constants, so the
//! first layer does not multiply zeros). The layer functions take the module and its tangent
//! module and return exactly what the module's own `forward` returns as the value.

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::pool::MaxPool2d;
use burn::nn::{GroupNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::activation::softmax;
use burn::tensor::module::max_pool2d_with_indices;
use burn::tensor::ops::MaxPoolOptions;

/// A tensor and its derivative along the tangent direction; `None` is a zero tangent.
#[derive(Debug, Clone)]
pub struct Dual<const D: usize> {
    pub value: Tensor<D>,
    pub tangent: Option<Tensor<D>>,
}

fn add_tangents<const D: usize>(a: Option<Tensor<D>>, b: Option<Tensor<D>>) -> Option<Tensor<D>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

impl<const D: usize> Dual<D> {
    /// A value whose tangent is zero (data, targets, constants).
    pub fn constant(value: Tensor<D>) -> Self {
        Dual {
            value,
            tangent: None,
        }
    }

    pub fn new(value: Tensor<D>, tangent: Tensor<D>) -> Self {
        Dual {
            value,
            tangent: Some(tangent),
        }
    }

    /// The tangent, zeros where it is `None`.
    pub fn tangent_or_zeros(&self) -> Tensor<D> {
        self.tangent
            .clone()
            .unwrap_or_else(|| self.value.zeros_like())
    }

    /// A linear map applied to the value and the tangent alike (reshapes, slices,
    /// permutations, sums).
    pub fn map<const E: usize>(self, f: impl Fn(Tensor<D>) -> Tensor<E>) -> Dual<E> {
        Dual {
            value: f(self.value),
            tangent: self.tangent.map(f),
        }
    }

    pub fn mul_scalar(self, factor: f64) -> Self {
        self.map(|t| t.mul_scalar(factor))
    }

    pub fn add_scalar(self, offset: f64) -> Self {
        Dual {
            value: self.value.add_scalar(offset),
            tangent: self.tangent,
        }
    }

    /// `exp(x)' = exp(x) x'`.
    pub fn exp(self) -> Self {
        let value = self.value.exp();
        Dual {
            tangent: self.tangent.map(|t| t * value.clone()),
            value,
        }
    }

    /// `(1 / x)' = -x' / x^2`.
    pub fn recip(self) -> Self {
        let value = self.value.recip();
        Dual {
            tangent: self
                .tangent
                .map(|t| t.neg() * value.clone() * value.clone()),
            value,
        }
    }

    /// `(x^2)' = 2 x x'`.
    pub fn square(self) -> Self {
        Dual {
            tangent: self.tangent.map(|t| t * self.value.clone().mul_scalar(2.0)),
            value: self.value.powi_scalar(2),
        }
    }

    /// The matrix product (of the last two axes): `(a b)' = a' b + a b'`.
    pub fn matmul(self, other: Dual<D>) -> Self {
        let tangent = add_tangents(
            self.tangent.map(|t| t.matmul(other.value.clone())),
            other.tangent.map(|t| self.value.clone().matmul(t)),
        );
        Dual {
            value: self.value.matmul(other.value),
            tangent,
        }
    }

    /// The mean of every element, accurately ([`accurate_mean`]).
    pub fn mean(self) -> Dual<1> {
        self.map(accurate_mean)
    }
}

impl<const D: usize> std::ops::Add for Dual<D> {
    type Output = Dual<D>;

    fn add(self, other: Dual<D>) -> Dual<D> {
        Dual {
            value: self.value + other.value,
            tangent: add_tangents(self.tangent, other.tangent),
        }
    }
}

impl<const D: usize> std::ops::Sub for Dual<D> {
    type Output = Dual<D>;

    fn sub(self, other: Dual<D>) -> Dual<D> {
        Dual {
            value: self.value - other.value,
            tangent: add_tangents(self.tangent, other.tangent.map(Tensor::neg)),
        }
    }
}

/// The elementwise product: `(a b)' = a' b + a b'`.
impl<const D: usize> std::ops::Mul for Dual<D> {
    type Output = Dual<D>;

    fn mul(self, other: Dual<D>) -> Dual<D> {
        let tangent = add_tangents(
            self.tangent.map(|t| t * other.value.clone()),
            other.tangent.map(|t| t * self.value.clone()),
        );
        Dual {
            value: self.value * other.value,
            tangent,
        }
    }
}

/// A float parameter of a module and of its tangent module, as a dual tensor.
pub fn parameter<const D: usize>(
    value: &burn::module::Param<Tensor<D>>,
    tangent: &burn::module::Param<Tensor<D>>,
) -> Dual<D> {
    Dual::new(value.val(), tangent.val())
}

/// The sum of each row of `rows` (`[b, n]`), added in two levels of about `sqrt(n)` terms:
/// blocks of `sqrt(n)` summed, then the block sums. burn's CPU backends add a reduction's terms
/// one after the other in f32, whose rounding error grows with the count and, for terms of one
/// sign, has one sign (the mean cross-entropy of 65k pixels came out 1.1e-4 low on flex); two
/// levels shrink it by about `sqrt(n)`, on every backend alike.
pub fn accurate_row_sums(rows: Tensor<2>) -> Tensor<1> {
    let [b, n] = rows.dims();
    if n <= 64 {
        return rows.sum_dim(1).reshape([b]);
    }
    // Blocks of a divisor of n near sqrt(n) when there is one (no copy), else of sqrt(n) with
    // zeros after the last.
    let root = (n as f64).sqrt() as usize;
    let width = (root.div_ceil(4)..=root)
        .rev()
        .find(|d| n.is_multiple_of(*d))
        .unwrap_or(root + 1);
    let blocks = n.div_ceil(width);
    let padded = if blocks * width > n {
        let zeros = Tensor::<2>::zeros([b, blocks * width - n], (&rows.device(), rows.dtype()));
        Tensor::cat(vec![rows, zeros], 1)
    } else {
        rows
    };
    padded
        .reshape([b, blocks, width])
        .sum_dim(2)
        .reshape([b, blocks])
        .sum_dim(1)
        .reshape([b])
}

/// The mean of each row of `rows` (`[b, n]`), summed by [`accurate_row_sums`].
pub fn accurate_row_means(rows: Tensor<2>) -> Tensor<1> {
    let n = rows.dims()[1];
    accurate_row_sums(rows).div_scalar(n as f64)
}

/// The sum of every element of `tensor` as a one-element tensor ([`accurate_row_sums`]).
pub fn accurate_sum<const D: usize>(tensor: Tensor<D>) -> Tensor<1> {
    let n = tensor.shape().num_elements();
    accurate_row_sums(tensor.reshape([1, n]))
}

/// The mean of every element of `tensor`, summed by [`accurate_row_sums`].
pub fn accurate_mean<const D: usize>(tensor: Tensor<D>) -> Tensor<1> {
    let n = tensor.shape().num_elements();
    accurate_sum(tensor).div_scalar(n as f64)
}

/// burn's `Linear` (weight `[in, out]`): `y = x W + b`, `y' = x' W + x W' + b'`, the last two
/// terms being the tangent module applied to `x` (zero without a tangent module).
pub fn linear(layer: &Linear, tangent: Option<&Linear>, x: Dual<2>) -> Dual<2> {
    let parameters = tangent.map(|t| t.forward(x.value.clone()));
    let input = x.tangent.map(|t| t.matmul(layer.weight.val()));
    Dual {
        value: layer.forward(x.value),
        tangent: add_tangents(parameters, input),
    }
}

/// A convolution: linear in its input, and in its weight and bias together.
trait Convolution: Clone {
    fn apply(&self, x: Tensor<4>) -> Tensor<4>;
    /// The same layer without its bias: the input's tangent goes through the weight alone.
    fn unbiased(&self) -> Self;
}

impl Convolution for Conv2d {
    fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward(x)
    }
    fn unbiased(&self) -> Self {
        let mut layer = self.clone();
        layer.bias = None;
        layer
    }
}

impl Convolution for ConvTranspose2d {
    fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward(x)
    }
    fn unbiased(&self) -> Self {
        let mut layer = self.clone();
        layer.bias = None;
        layer
    }
}

/// `y = conv(x, W) + b`, `y' = conv(x', W) + conv(x, W') + b'`: the last two terms are the
/// tangent layer applied to `x`.
fn convolution<L: Convolution>(layer: &L, tangent: Option<&L>, x: Dual<4>) -> Dual<4> {
    let parameters = tangent.map(|t| t.apply(x.value.clone()));
    let input = x.tangent.map(|t| layer.unbiased().apply(t));
    Dual {
        value: layer.apply(x.value),
        tangent: add_tangents(parameters, input),
    }
}

/// burn's `Conv2d` on a dual tensor ([`convolution`]).
pub fn conv2d(layer: &Conv2d, tangent: Option<&Conv2d>, x: Dual<4>) -> Dual<4> {
    convolution(layer, tangent, x)
}

/// burn's `ConvTranspose2d` on a dual tensor ([`convolution`]).
pub fn conv_transpose2d(
    layer: &ConvTranspose2d,
    tangent: Option<&ConvTranspose2d>,
    x: Dual<4>,
) -> Dual<4> {
    convolution(layer, tangent, x)
}

/// The mean over the last axis of `[b, g, n]`, as `[b, g, 1]` ([`accurate_row_means`]).
pub fn group_means(x: Tensor<3>) -> Tensor<3> {
    let [b, g, n] = x.dims();
    accurate_row_means(x.reshape([b * g, n])).reshape([b, g, 1])
}

/// Group normalisation with the parameters of burn's `GroupNorm` (its formula: biased
/// variance, `epsilon` inside the square root), its two means over each group summed by
/// [`accurate_row_sums`] (burn's own are sequential: 2048 terms per group in the shipped UNet).
/// Over each group, with `c = x - mean x`, `s = sqrt(mean c^2 + eps)` and `n = c / s`:
/// `c' = x' - mean x'`, `s' = mean(c c') / s`, `n' = c' / s - n s' / s`, and the affine
/// `y = n gamma + beta` gives `y' = n' gamma + n gamma' + beta'`. With a constant `x` and
/// tangent module this is the plain forward pass.
///
/// # Panics
/// If the input has fewer than three axes (as burn's does).
pub fn group_norm<const D: usize>(
    layer: &GroupNorm,
    tangent: Option<&GroupNorm>,
    x: Dual<D>,
) -> Dual<D> {
    let shape = x.value.shape();
    assert!(D >= 3, "group norm needs [batch, channels, ...] inputs");
    let (batch, channels) = (shape[0], shape[1]);
    let groups = layer.num_groups;
    let hidden = shape.num_elements() / batch / groups;
    let x = x.map(|t| t.reshape([batch, groups, hidden]));
    let centred = x.value.clone() - group_means(x.value);
    let variance = group_means(centred.clone().square());
    let scale = variance.add_scalar(layer.epsilon).sqrt();
    let normalised = centred.clone().div(scale.clone());
    let normalised_tangent = x.tangent.map(|t| {
        let centred_tangent = t.clone() - group_means(t);
        let scale_tangent = group_means(centred * centred_tangent.clone()).div(scale.clone());
        (centred_tangent - normalised.clone() * scale_tangent).div(scale)
    });
    let normalised = Dual {
        value: normalised,
        tangent: normalised_tangent,
    }
    .map(|t| t.reshape(shape.clone()));
    if !layer.affine {
        return normalised;
    }
    let mut affine_shape = [1; D];
    affine_shape[1] = channels;
    let affine = |p: &Option<burn::module::Param<Tensor<1>>>| -> Tensor<D> {
        p.as_ref()
            .expect("an affine group norm has gamma and beta")
            .val()
            .reshape(affine_shape)
    };
    let gamma = Dual {
        value: affine(&layer.gamma),
        tangent: tangent.map(|t| affine(&t.gamma)),
    };
    let beta = Dual {
        value: affine(&layer.beta),
        tangent: tangent.map(|t| affine(&t.beta)),
    };
    normalised * gamma + beta
}

/// `relu(x)' = x'` where `x > 0`, else 0.
pub fn relu<const D: usize>(x: Dual<D>) -> Dual<D> {
    let off = x.value.clone().lower_equal_elem(0.0);
    Dual {
        tangent: x.tangent.map(|t| t.mask_fill(off.clone(), 0.0)),
        value: burn::tensor::activation::relu(x.value),
    }
}

/// burn's `MaxPool2d`: the tangent of each window is the tangent at its maximum (the element
/// burn's own gradient picks).
///
/// # Panics
/// With `Same` padding or dilation other than 1, which toposcape's models do not use.
pub fn max_pool2d(pool: &MaxPool2d, x: Dual<4>) -> Dual<4> {
    let padding = match pool.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => panic!("max_pool2d tangent: `Same` padding is not supported"),
    };
    assert_eq!(pool.dilation, [1, 1], "max_pool2d tangent: dilation 1 only");
    let options = MaxPoolOptions::new(pool.kernel_size)
        .with_stride(pool.stride)
        .with_padding_pairs(padding)
        .with_ceil_mode(pool.ceil_mode);
    let Some(tangent) = x.tangent else {
        return Dual::constant(pool.forward(x.value));
    };
    let (value, indices) = max_pool2d_with_indices(x.value, options);
    let [b, c, h, w] = tangent.dims();
    let [_, _, ho, wo] = value.dims();
    let picked = tangent
        .reshape([b, c, h * w])
        .gather(2, indices.reshape([b, c, ho * wo]))
        .reshape([b, c, ho, wo]);
    Dual::new(value, picked)
}

/// Concatenation along `dim`.
pub fn cat<const D: usize>(parts: Vec<Dual<D>>, dim: usize) -> Dual<D> {
    let any_tangent = parts.iter().any(|p| p.tangent.is_some());
    let tangent = any_tangent.then(|| {
        Tensor::cat(
            parts.iter().map(Dual::tangent_or_zeros).collect::<Vec<_>>(),
            dim,
        )
    });
    Dual {
        value: Tensor::cat(parts.into_iter().map(|p| p.value).collect(), dim),
        tangent,
    }
}

/// The mean cross-entropy of `logits` (`[N, classes]`) against class ids `targets` (`[N]`),
/// the mean summed by [`accurate_sum`]: the value is burn's `CrossEntropyLoss` (log-softmax,
/// the target's entry, the mean), the tangent `mean(softmax(z) . z' - z'[target])`.
pub fn cross_entropy(logits: Dual<2>, targets: Tensor<1, Int>) -> Dual<1> {
    let [n, _] = logits.value.dims();
    let index = targets.reshape([n, 1]);
    let picked = log_softmax(logits.value.clone(), 1).gather(1, index.clone());
    let value = accurate_mean(picked).neg();
    let tangent = logits.tangent.map(|t| {
        let expected = (softmax(logits.value, 1) * t.clone()).sum_dim(1);
        accurate_mean(expected - t.gather(1, index))
    });
    Dual { value, tangent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{ParamLayout, load_flat, tensor_f64, to_f64s as f64s};
    use crate::random::SplitMix64;
    use burn::module::Module;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::nn::pool::MaxPool2dConfig;
    use burn::nn::{GroupNormConfig, LinearConfig};

    /// A float64 tensor of `values`: the tests below run in f64, so central differences at a
    /// step of 1e-6 are accurate to about 1e-10 and any wrong tangent rule shows.
    fn f64_tensor<const D: usize>(values: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
        tensor_f64(values, device).reshape(shape)
    }

    fn normals(n: usize, seed: u64) -> Vec<f64> {
        let mut random = SplitMix64(seed);
        (0..n).map(|_| random.normal()).collect()
    }

    /// `module` with float64 parameters `theta`.
    fn module_at<M: Module>(module: &M, theta: &[f64], device: &Device) -> M {
        load_flat(module.clone(), f64_tensor(theta, [theta.len()], device))
    }

    /// `eval(h, tangent)` evaluates at `p + h d`, with the tangent along `d` when asked. The
    /// tangent at `h = 0` must equal the central difference of the values at `+-1e-6`, and
    /// the value must be the same with and without the tangent.
    fn check_tangent<const E: usize>(name: &str, eval: impl Fn(f64, bool) -> Dual<E>) {
        let h = 1e-6;
        let exact = eval(0.0, true);
        let value = f64s(exact.value);
        assert_eq!(value, f64s(eval(0.0, false).value), "{name}: the value");
        let tangent = f64s(exact.tangent.expect("a tangent"));
        let (plus, minus) = (f64s(eval(h, false).value), f64s(eval(-h, false).value));
        let scale = tangent.iter().fold(1e-12f64, |m, t| m.max(t.abs()));
        let mut worst = 0.0f64;
        for ((t, p), m) in tangent.iter().zip(&plus).zip(&minus) {
            worst = worst.max((t - (p - m) / (2.0 * h)).abs() / scale);
        }
        assert!(
            worst < 1e-7,
            "{name}: tangent off the central difference by {worst:.2e}"
        );
        assert!(scale > 1e-6, "{name}: a tangent that is not zero");
    }

    /// A module's float parameters at `theta0 + h d` and, with `tangent`, its tangent module
    /// holding `d`; an input at `x0 + h dx` with tangent `dx`.
    fn layer_case<M: Module, const D: usize>(
        module: M,
        input: [usize; D],
        device: &Device,
        seed: u64,
    ) -> impl Fn(f64, bool) -> (M, Option<M>, Dual<D>) {
        let n = ParamLayout::of(&module).len();
        let numel: usize = input.iter().product();
        let theta0 = normals(n, seed);
        let d = normals(n, seed + 1);
        let x0 = normals(numel, seed + 2);
        let dx = normals(numel, seed + 3);
        let device = device.clone();
        move |h: f64, tangent: bool| {
            let at = |base: &[f64], dir: &[f64]| -> Vec<f64> {
                base.iter().zip(dir).map(|(a, b)| a + h * b).collect()
            };
            let m = module_at(&module, &at(&theta0, &d), &device);
            let t = tangent.then(|| module_at(&module, &d, &device));
            let x = f64_tensor(&at(&x0, &dx), input, &device);
            let x = if tangent {
                Dual::new(x, f64_tensor(&dx, input, &device))
            } else {
                Dual::constant(x)
            };
            (m, t, x)
        }
    }

    #[test]
    fn layer_tangents_are_the_derivatives_of_the_layers() {
        let device = Device::flex();
        let case = layer_case(LinearConfig::new(5, 3).init(&device), [4, 5], &device, 1);
        check_tangent("linear", |h, t| {
            let (m, tm, x) = case(h, t);
            linear(&m, tm.as_ref(), x)
        });
        let conv = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let case = layer_case(conv, [2, 3, 6, 5], &device, 2);
        check_tangent("conv2d", |h, t| {
            let (m, tm, x) = case(h, t);
            conv2d(&m, tm.as_ref(), x)
        });
        let up = ConvTranspose2dConfig::new([4, 3], [2, 2])
            .with_stride([2, 2])
            .init(&device);
        let case = layer_case(up, [2, 4, 3, 3], &device, 3);
        check_tangent("conv_transpose2d", |h, t| {
            let (m, tm, x) = case(h, t);
            conv_transpose2d(&m, tm.as_ref(), x)
        });
        let norm = GroupNormConfig::new(2, 6).init(&device);
        let case = layer_case(norm, [3, 6, 4, 5], &device, 4);
        check_tangent("group_norm", |h, t| {
            let (m, tm, x) = case(h, t);
            group_norm(&m, tm.as_ref(), x)
        });
        // Random inputs lie far (in units of the step) from ReLU's kink and from ties in the
        // pooling windows.
        let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
        let case = layer_case(
            LinearConfig::new(1, 1).init(&device),
            [2, 3, 6, 4],
            &device,
            5,
        );
        check_tangent("relu", |h, t| relu(case(h, t).2));
        check_tangent("max_pool2d", |h, t| max_pool2d(&pool, case(h, t).2));
        let other = layer_case(
            LinearConfig::new(1, 1).init(&device),
            [2, 2, 6, 4],
            &device,
            6,
        );
        check_tangent("cat", |h, t| cat(vec![case(h, t).2, other(h, t).2], 1));
        let logits = layer_case(LinearConfig::new(1, 1).init(&device), [50, 3], &device, 7);
        let targets = Tensor::<1, Int>::from_ints(
            (0..50)
                .map(|i| (i * 7 % 3) as i64)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        );
        check_tangent("cross_entropy", |h, t| {
            cross_entropy(logits(h, t).2, targets.clone())
        });
        check_tangent("arithmetic", |h, t| {
            let x = case(h, t).2;
            let y = other(h, t).2;
            let z = cat(vec![x.clone(), y], 1).mean();
            let product = x.clone() * x.clone().exp()
                - x.clone().square().add_scalar(1.0).recip().mul_scalar(3.0);
            product
                .map(|t| t.reshape([2, 72]))
                .matmul(x.map(|t| t.reshape([72, 2])))
                .mean()
                + z
        });
    }

    #[test]
    fn the_cross_entropy_is_burns_and_its_mean_is_accurate() {
        let device = Device::flex();
        let n = 65536;
        let logits: Vec<f32> = normals(3 * n, 9).iter().map(|&x| x as f32).collect();
        let targets: Vec<i64> = (0..n as i64).map(|i| i * 5 % 3).collect();
        let logits_tensor = Tensor::<1>::from_floats(logits.as_slice(), &device).reshape([n, 3]);
        let targets_tensor = Tensor::<1, Int>::from_ints(targets.as_slice(), &device);
        let ours = f64s(
            cross_entropy(
                Dual::constant(logits_tensor.clone()),
                targets_tensor.clone(),
            )
            .value,
        )[0];
        let burns = f64s(
            burn::nn::loss::CrossEntropyLossConfig::new()
                .init(&device)
                .forward(logits_tensor, targets_tensor),
        )[0];
        // float64 by hand from the same f32 logits.
        let exact = logits
            .chunks_exact(3)
            .zip(&targets)
            .map(|(z, &t)| {
                let z: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
                let top = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v - top).exp()).sum();
                top + sum.ln() - z[t as usize]
            })
            .sum::<f64>()
            / n as f64;
        assert!(
            (ours - exact).abs() / exact < 1e-6,
            "ours {ours} vs {exact}"
        );
        // burn's own mean adds the 65536 terms one by one in f32 on flex.
        assert!(
            (burns - exact).abs() / exact < 1e-3,
            "burn {burns} vs {exact}"
        );
        // Odd sizes are padded with zeros, and small ones summed directly.
        for n in [1usize, 63, 64, 65, 1000, 4097] {
            let v: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32 * 0.125).collect();
            let exact: f64 = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
            let got = f64s(accurate_mean(Tensor::<1>::from_floats(
                v.as_slice(),
                &device,
            )))[0];
            assert!(
                (got - exact).abs() < 1e-6 * exact,
                "n = {n}: {got} vs {exact}"
            );
        }
    }
}
