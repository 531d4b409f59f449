//! The PINN loss as a CPU kernel outside burn, for landscape sampling: the same network, data
//! and loss as [`crate::convection::ConvectionConfig::loss`], read straight from a flat
//! parameter vector, so moving to another landscape point costs nothing but the perturbation.
//!
//! Why by hand: sampling evaluates the loss millions of times at one fixed shape, and burn's
//! CPU backends spend most of that time on per-operation overhead and on elementwise passes
//! (docs/ARCHITECTURE.md, "Performance": tanh alone cost ten matmuls). Here each layer is one matrix product
//! (the `gemm` crate) over a single stacked matrix holding the values at every point and one
//! input tangent at each collocation point, followed by one fused pass that adds the bias,
//! applies tanh and scales the tangent by its slope. Only the forward pass exists: gradients
//! (for the Hessian) stay with burn.
//!
//! One tangent, not two: the residual `u_t + beta u_x` is the derivative of `u` along the
//! direction `(beta, 1)` in `(x, t)`, and tangents propagate linearly, so carrying that single
//! direction gives the residual directly, with a third fewer rows than carrying `u_x` and `u_t`
//! (the burn model carries both; the two agree to rounding).
//!
//! Float64 throughout (the parameters come as f32 and are widened): near a trained PINN's
//! minimum the loss is a mean of squares of differences of O(1) outputs that agree to 1e-3, and
//! f32's resolution of those outputs (1.2e-7) alone puts f32 losses 1e-4 off (measured: the
//! initial-condition term 1.3e-4, the boundary term up to 4e-4, on every f32 path); in float64
//! the kernel agrees with an independent float64 evaluation to 1e-12.
//!
//! tanh is `1 - 2 / (exp(2z) + 1)`, the formula the burn model uses ([`crate::pinn::fast_tanh`]),
//! with `exp` by range reduction to `2^k e^r`, `|r| <= ln 2 / 2`, and the degree-10 Taylor
//! polynomial of `e^r` (truncation error below 2.2e-13 relative; degree 12, for f64's
//! resolution, was 12% slower): branch-free, so the compiler vectorises the pass.

use crate::convection::{ConvectionConfig, ConvectionPoints};
use crate::pinn::PinnConfig;

/// A layer's place in the flat parameter vector: burn's `Linear`, weight `[in, out]` then bias.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: usize,
    pub bias: usize,
}

/// The dense layers of a network of these widths, in the order of the burn model's
/// [`toposcape_perturb::params::ParamLayout`]: for each layer its weight, then its bias.
pub(crate) fn dense_layers(widths: &[usize]) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut offset = 0;
    for w in widths.windows(2) {
        layers.push(Layer {
            inputs: w[0],
            outputs: w[1],
            weight: offset,
            bias: offset + w[0] * w[1],
        });
        offset += w[0] * w[1] + w[1];
    }
    layers
}

/// The rows every layer transforms, as `(x, t)` pairs: the collocation, initial, left and right
/// boundary points (values), then the input tangent along the characteristic direction
/// `(beta, 1)` at each collocation point (its output tangent is `u_t + beta u_x`). Also the
/// point counts `(collocation, initial, boundary)` and the initial targets.
pub(crate) fn stacked_rows(convection: &ConvectionConfig) -> (Vec<f32>, [usize; 3], Vec<f32>) {
    let ConvectionPoints {
        collocation,
        initial,
        initial_target,
        boundary_left,
        boundary_right,
    } = convection.points();
    let counts = [
        collocation.len() / 2,
        initial.len() / 2,
        boundary_left.len() / 2,
    ];
    let mut rows = Vec::new();
    for part in [&collocation, &initial, &boundary_left, &boundary_right] {
        rows.extend_from_slice(part);
    }
    let direction = [convection.beta as f32, 1.0];
    for _ in 0..counts[0] {
        rows.extend_from_slice(&direction);
    }
    (rows, counts, initial_target)
}

/// The number of rows of [`stacked_rows`] without building them: the values at every point
/// (collocation, initial, both boundaries) and one tangent per collocation point.
pub fn stacked_row_count(convection: &ConvectionConfig) -> usize {
    2 * convection.collocation_points + convection.initial_points + 2 * convection.boundary_points
}

/// The PINN loss at any parameter vector, on the CPU.
#[derive(Debug, Clone)]
pub struct PinnKernel {
    layers: Vec<Layer>,
    /// Rows of the stacked matrix: collocation, initial, left, right (values), then the
    /// tangents along `(beta, 1)` at the collocation points.
    collocation: usize,
    values: usize,
    initial: usize,
    boundary: usize,
    /// The first layer's input: every row's (x, t) or tangent direction.
    input: Vec<f64>,
    target: Vec<f64>,
    weights: [f64; 3],
    /// The parameters, in float64.
    theta: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

/// `theta`'s length for a network of these widths.
pub fn parameter_count(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

impl PinnKernel {
    /// The kernel for the network `pinn` and the problem `convection`. The parameter vector is
    /// in the order of [`toposcape_perturb::params::ParamLayout`] of the burn model: for each
    /// layer its weight `[in, out]`, then its bias.
    pub fn new(pinn: &PinnConfig, convection: &ConvectionConfig) -> Self {
        let layers = dense_layers(&pinn.widths);
        let (input, [nc, ni, nb], initial_target) = stacked_rows(convection);
        let rows = nc + ni + 2 * nb + nc;
        let widest = pinn.widths.iter().copied().max().unwrap_or(1);
        PinnKernel {
            layers,
            collocation: nc,
            values: nc + ni + 2 * nb,
            initial: ni,
            boundary: nb,
            input: input.iter().map(|&x| f64::from(x)).collect(),
            target: initial_target.iter().map(|&x| f64::from(x)).collect(),
            theta: Vec::new(),
            weights: [
                convection.initial_weight,
                convection.residual_weight,
                convection.boundary_weight,
            ],
            a: vec![0.0; rows * widest],
            b: vec![0.0; rows * widest],
        }
    }

    /// The number of parameters the kernel reads.
    pub fn parameter_count(&self) -> usize {
        self.layers.last().map_or(0, |l| l.bias + l.outputs)
    }

    /// The loss at `theta` (f32 or f64 values), computed in float64.
    ///
    /// # Panics
    /// If `theta` has the wrong length.
    pub fn loss<T: Copy + Into<f64>>(&mut self, theta: &[T]) -> f64 {
        assert_eq!(
            theta.len(),
            self.parameter_count(),
            "parameter vector length"
        );
        self.theta.clear();
        self.theta.extend(theta.iter().map(|&x| x.into()));
        let rows = self.values + self.collocation;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let input: &[f64] = if i == 0 { &self.input } else { &self.a };
            let weight = &self.theta[layer.weight..layer.bias];
            let bias = &self.theta[layer.bias..layer.bias + layer.outputs];
            let (k, n) = (layer.inputs, layer.outputs);
            let out = &mut self.b[..rows * n];
            // SAFETY: `input` holds rows x k values, `weight` k x n and `out` rows x n, all
            // row-major with the strides given; the three do not overlap.
            unsafe {
                gemm::gemm(
                    rows,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    input.as_ptr(),
                    1,
                    k as isize,
                    weight.as_ptr(),
                    1,
                    n as isize,
                    0.0f64,
                    1.0f64,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            let (values, tangents) = out.split_at_mut(self.values * n);
            if i < last {
                activate(values, tangents, bias, self.collocation, n);
            } else {
                for row in values.chunks_exact_mut(n) {
                    for (v, b) in row.iter_mut().zip(bias) {
                        *v += b;
                    }
                }
            }
            std::mem::swap(&mut self.a, &mut self.b);
        }
        // The network's output is one column.
        let n = self.layers[last].outputs;
        debug_assert_eq!(n, 1, "a scalar output");
        let out = &self.a[..rows];
        let (nc, ni, nb) = (self.collocation, self.initial, self.boundary);
        let tangent = &out[self.values..self.values + nc];
        let residual = mean_square(tangent.iter().copied());
        let initial = mean_square((0..ni).map(|j| out[nc + j] - self.target[j]));
        let left = &out[nc + ni..nc + ni + nb];
        let right = &out[nc + ni + nb..nc + ni + 2 * nb];
        let boundary = mean_square((0..nb).map(|j| left[j] - right[j]));
        let [wi, wr, wb] = self.weights;
        wi * initial + wr * residual + wb * boundary
    }
}

fn mean_square(terms: impl ExactSizeIterator<Item = f64>) -> f64 {
    let count = terms.len();
    let sum: f64 = terms.map(|x| x * x).sum();
    sum / count.max(1) as f64
}

/// Adds the bias and applies tanh to the value rows, then scales the tangent rows by the slope
/// `1 - tanh^2` at their collocation rows (the first `collocation` value rows).
fn activate(values: &mut [f64], tangents: &mut [f64], bias: &[f64], collocation: usize, n: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { activate_avx2(values, tangents, bias, collocation, n) };
        return;
    }
    activate_portable(values, tangents, bias, collocation, n);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn activate_avx2(
    values: &mut [f64],
    tangents: &mut [f64],
    bias: &[f64],
    collocation: usize,
    n: usize,
) {
    activate_portable(values, tangents, bias, collocation, n);
}

#[inline(always)]
fn activate_portable(
    values: &mut [f64],
    tangents: &mut [f64],
    bias: &[f64],
    collocation: usize,
    n: usize,
) {
    for row in values.chunks_exact_mut(n) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = tanh(*v + b);
        }
    }
    debug_assert_eq!(tangents.len(), collocation * n);
    for (h, d) in values.chunks_exact(n).zip(tangents.chunks_exact_mut(n)) {
        for (d, h) in d.iter_mut().zip(h) {
            *d *= 1.0 - h * h;
        }
    }
}

/// `e^x` for f64, branch-free; accurate to 3e-13 relative for `x` in [-708, 709] (ample for
/// losses accurate to 1e-9), clamped outside.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with its low 21 bits zero, so that k * LN2_HI is exact
    // for the |k| < 2^11 of the clamped range and the reduction loses nothing.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding and subtracting 1.5 * 2^52 rounds to the nearest integer in f64.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let k = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // The degree-10 Taylor polynomial (truncation below 2.2e-13 relative for |r| <= ln 2 / 2).
    const C: [f64; 11] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
    ];
    let mut p = C[10];
    for c in C[..10].iter().rev() {
        p = p * r + c;
    }
    let scale = f64::from_bits((((k as i64) + 1023) as u64) << 52);
    p * scale
}

/// `tanh z` as `1 - 2 / (e^(2z) + 1)`: 1 and -1 in the limits, never NaN for finite `z`.
#[inline(always)]
pub fn tanh(z: f64) -> f64 {
    1.0 - 2.0 / (exp(2.0 * z) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_count_is_that_of_the_stacked_rows() {
        let convection = ConvectionConfig::new()
            .with_collocation_points(37)
            .with_initial_points(11)
            .with_boundary_points(5);
        let (rows, _, _) = stacked_rows(&convection);
        assert_eq!(stacked_row_count(&convection), rows.len() / 2);
    }

    #[test]
    fn exp_is_accurate_to_2e_13() {
        let mut worst = 0.0f64;
        for i in -708_000..=709_000 {
            let x = i as f64 * 1e-3;
            let exact = x.exp();
            worst = worst.max((exp(x) - exact).abs() / exact);
        }
        assert!(worst < 5e-13, "worst relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-708.0));
        assert!(exp(1000.0).is_finite());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn tanh_saturates_and_matches() {
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        for i in -2000..=2000 {
            let z = i as f64 * 5e-3;
            assert!((tanh(z) - z.tanh()).abs() < 1e-12, "tanh({z})");
        }
    }

    #[test]
    fn parameter_count_matches_the_layout() {
        let kernel = PinnKernel::new(&PinnConfig::new(), &ConvectionConfig::new());
        assert_eq!(
            kernel.parameter_count(),
            parameter_count(&[2, 50, 50, 50, 50, 1])
        );
        assert_eq!(parameter_count(&[2, 50, 50, 50, 50, 1]), 7851);
    }
}
