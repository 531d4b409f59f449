//! A physics-informed network for 1-D convection: a tanh MLP `u(x, t)` whose first derivatives
//! `u_x` and `u_t` are propagated forward beside its value.
//!
//! burn 0.22 cannot differentiate a loss that itself contains a gradient through its high-level
//! API (a second backward panics), so the input tangents are carried through the network by
//! hand: for a dense layer `z = h W + b` the tangent is `dh W`, and for `a = tanh(z)` it is
//! `(1 - a^2) dz`. `u`, `u_x` and `u_t` then come out of ordinary first-order operations, and
//! the parameter gradient of any loss built from them is one ordinary backward pass.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use toposcape_perturb::tangent::{self, Dual};

/// The shape of the MLP.
#[derive(Config, Debug)]
pub struct PinnConfig {
    /// Layer widths from the input (x, t) to the output u: 2 -> 50 x 4 -> 1 as in the PINN
    /// literature (Krishnapriyan et al. 2021).
    #[config(default = "vec![2, 50, 50, 50, 50, 1]")]
    pub widths: Vec<usize>,
}

impl PinnConfig {
    /// A freshly initialised network on `device` (burn's default uniform initialisation).
    pub fn init(&self, device: &Device) -> Pinn {
        let layers = self
            .widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Pinn { layers }
    }

    /// The number of parameters [`PinnConfig::init`] makes, counted without making them (in
    /// `f64`, so that no width overflows it): a memory estimate's start.
    pub fn num_params(&self) -> f64 {
        self.widths
            .windows(2)
            .map(|w| (w[0] as f64 + 1.0) * w[1] as f64)
            .sum()
    }

    /// The activations one input point passes through: every layer's output.
    pub fn activations_per_point(&self) -> f64 {
        self.widths.iter().skip(1).map(|&w| w as f64).sum()
    }
}

/// The network: dense layers with tanh between them, none after the last.
#[derive(Module, Debug)]
pub struct Pinn {
    layers: Vec<Linear>,
}

/// The network's output and its derivatives with respect to the inputs, each `[N, 1]`.
#[derive(Debug, Clone)]
pub struct WithDerivatives {
    pub u: Tensor<2>,
    pub u_x: Tensor<2>,
    pub u_t: Tensor<2>,
}

/// tanh through one exponential: burn's own tanh was measured several times slower on the CPU
/// backends. Saturates correctly: exp overflowing to infinity gives 1, underflowing to 0 gives -1.
pub fn fast_tanh<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    let e = (z * 2.0).exp();
    (e + 1.0).recip().mul_scalar(-2.0).add_scalar(1.0)
}

/// [`fast_tanh`] on dual tensors: the same operations for the value, and the tangent
/// `4 e / (e + 1)^2 z'` (`sech^2 z z'`, free of the cancellation of `1 - tanh^2` near
/// saturation).
pub fn fast_tanh_dual<const D: usize>(z: Dual<D>) -> Dual<D> {
    z.mul_scalar(2.0)
        .exp()
        .add_scalar(1.0)
        .recip()
        .mul_scalar(-2.0)
        .add_scalar(1.0)
}

impl Pinn {
    /// `u` at `inputs` and, with `along` (input tangents, one row per point), its derivative
    /// along them (`(beta, 1)` at every point gives `u_t + beta u_x`), each with its tangent
    /// along the parameters of `tangent` (a copy of the network holding a direction): the
    /// pieces of the loss's directional derivative, and of exact Hessian-vector products.
    pub fn forward_dual(
        &self,
        tangent: &Pinn,
        inputs: Tensor<2>,
        along: Option<Tensor<2>>,
    ) -> (Dual<2>, Option<Dual<2>>) {
        let mut h = Dual::constant(inputs);
        let mut derivative = along.map(Dual::constant);
        let last = self.layers.len() - 1;
        for (i, (layer, direction)) in self.layers.iter().zip(&tangent.layers).enumerate() {
            let weight = tangent::parameter(&layer.weight, &direction.weight);
            h = tangent::linear(layer, Some(direction), h);
            derivative = derivative.map(|d| d.matmul(weight));
            if i < last {
                h = fast_tanh_dual(h);
                let slope = h.clone().square().mul_scalar(-1.0).add_scalar(1.0);
                derivative = derivative.map(|d| d * slope);
            }
        }
        (h, derivative)
    }

    /// `u` at the points `inputs` (`[N, 2]`, columns x and t).
    pub fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut h = inputs;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = fast_tanh(h);
            }
        }
        h
    }

    /// `u`, `u_x` and `u_t` at the points `inputs` (`[N, 2]`, columns x and t).
    pub fn forward_with_derivatives(&self, inputs: Tensor<2>) -> WithDerivatives {
        let [n, _] = inputs.dims();
        let (device, dtype) = (inputs.device(), inputs.dtype());
        // The tangents of the inputs: d(x, t)/dx = (1, 0), d(x, t)/dt = (0, 1).
        let direction = |column: usize| {
            let mut unit = vec![0.0f32; 2];
            unit[column] = 1.0;
            Tensor::<1>::from_floats(unit.as_slice(), &device)
                .reshape([1, 2])
                .repeat_dim(0, n)
                .cast(dtype)
        };
        let (mut h, mut dx, mut dt) = (inputs, direction(0), direction(1));
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let weight = layer.weight.val();
            h = layer.forward(h);
            dx = dx.matmul(weight.clone());
            dt = dt.matmul(weight);
            if i < last {
                h = fast_tanh(h);
                let slope = h.clone().powi_scalar(2).neg().add_scalar(1.0);
                dx = dx * slope.clone();
                dt = dt * slope;
            }
        }
        WithDerivatives {
            u: h,
            u_x: dx,
            u_t: dt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU backends: flex, and ndarray (deprecated in burn 0.22 in favour of flex, but the
    /// one the user asked for, so both stay tested).
    fn cpu_devices() -> [Device; 2] {
        #[allow(deprecated)]
        let ndarray = Device::ndarray();
        [Device::flex(), ndarray]
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32 data")
    }

    #[test]
    fn parameters_counted_without_making_them() {
        for widths in [vec![2, 50, 50, 50, 50, 1], vec![2, 1], vec![2, 7, 3, 1]] {
            let config = PinnConfig::new().with_widths(widths);
            let made = config.init(&Device::flex()).num_params();
            assert_eq!(config.num_params(), made as f64);
        }
        let huge = PinnConfig::new().with_widths(vec![2, usize::MAX, 1]);
        assert!(huge.num_params() > 1e19);
    }

    #[test]
    fn fast_tanh_matches_tanh_and_saturates() {
        for device in cpu_devices() {
            fast_tanh_on(&device);
        }
    }

    fn fast_tanh_on(device: &Device) {
        let z = Tensor::<1>::from_floats(
            [-500.0f32, -3.0, -0.5, 0.0, 0.25, 2.0, 400.0].as_slice(),
            device,
        )
        .reshape([1, 7]);
        let ours = values(fast_tanh(z.clone()));
        let reference = values(z.tanh());
        for (a, b) in ours.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!((ours[0], ours[6]), (-1.0, 1.0));
    }

    #[test]
    fn input_derivatives_match_finite_differences() {
        for device in cpu_devices() {
            derivatives_on(&device);
        }
    }

    fn derivatives_on(device: &Device) {
        device.seed(7);
        let model = PinnConfig::new().init(device);
        let points: Vec<[f32; 2]> = (0..16).map(|i| [0.4 * i as f32, 0.06 * i as f32]).collect();
        let flat: Vec<f32> = points.iter().flatten().copied().collect();
        let inputs = Tensor::<1>::from_floats(flat.as_slice(), device).reshape([16, 2]);
        let derivatives = model.forward_with_derivatives(inputs.clone());
        let u = values(derivatives.u);
        let plain = values(model.forward(inputs));
        assert_eq!(u, plain, "the value is the plain forward pass");
        let eps = 1e-2f32;
        for (column, analytic) in [(0, values(derivatives.u_x)), (1, values(derivatives.u_t))] {
            let shifted = |sign: f32| {
                let moved: Vec<f32> = points
                    .iter()
                    .flat_map(|p| {
                        let mut p = *p;
                        p[column] += sign * eps;
                        p
                    })
                    .collect();
                let moved = Tensor::<1>::from_floats(moved.as_slice(), device).reshape([16, 2]);
                values(model.forward(moved))
            };
            let (plus, minus) = (shifted(1.0), shifted(-1.0));
            for i in 0..16 {
                let numeric = (plus[i] - minus[i]) / (2.0 * eps);
                let scale = analytic[i].abs().max(0.1);
                assert!(
                    (numeric - analytic[i]).abs() < 2e-3 * scale.max(1.0),
                    "point {i}, input {column}: analytic {} vs numeric {numeric}",
                    analytic[i]
                );
            }
        }
    }
}
