//! The model as a function of one parameter vector: what the directions and the sampler need.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::DType;

use crate::params::{
    ParamLayout, flat_gradient, flatten, load_flat, load_flat_constant, load_flat_trainable,
    tensor_f64, to_f64s,
};

/// A loss that can be evaluated at any parameter vector of a fixed layout.
///
/// Implementations own their copy of the model: evaluating at other parameters never changes
/// the caller's weights.
pub trait LandscapeModel {
    /// The names, shapes and offsets of the parameter vector.
    fn layout(&self) -> &ParamLayout;

    /// The trained parameters theta0, in layout order.
    fn theta0(&self) -> &[f32];

    /// The loss at `theta`.
    fn loss(&mut self, theta: &[f32]) -> f64;

    /// The loss at a float64 parameter vector (a landscape point, [`crate::sample`]). The
    /// default rounds it to f32; a model that computes in float64 takes it as it is.
    fn loss_at(&mut self, theta: &[f64]) -> f64 {
        let rounded: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        self.loss(&rounded)
    }

    /// The loss and its gradient at `theta`.
    fn loss_and_gradient(&mut self, theta: &[f32]) -> (f64, Vec<f32>);

    /// The losses at several parameter vectors. The default evaluates them one at a time;
    /// a model may batch them.
    fn losses(&mut self, thetas: &[Vec<f32>]) -> Vec<f64> {
        thetas.iter().map(|t| self.loss(t)).collect()
    }

    /// Whether [`LandscapeModel::hessian_vector_product`] is exact (not `None`).
    fn has_exact_products(&self) -> bool {
        false
    }

    /// `H v`, the Hessian of the loss at `theta` times `v`, computed exactly (up to rounding),
    /// or `None` when the model has no exact product; [`crate::hessian::Hvp`] then takes
    /// central differences of gradients instead.
    fn hessian_vector_product(&mut self, _theta: &[f32], _v: &[f32]) -> Option<Vec<f32>> {
        None
    }
}

/// The directional derivative of a module's loss along a tangent module's parameters
/// (`grad L(model) . tangent`), built with [`crate::tangent`]: what makes a [`ModuleLoss`]'s
/// Hessian-vector products exact.
pub type TangentLoss<M> = Box<dyn Fn(&M, &M) -> Tensor<1> + Send + Sync>;

/// Any burn module with a loss function, one point at a time: the fallback that lets a user's
/// own model be analysed.
pub struct ModuleLoss<M, F> {
    layout: ParamLayout,
    theta0: Vec<f32>,
    /// A copy on the plain device, for losses.
    plain: Option<M>,
    /// A copy on the autodiff device, for gradients.
    tracked: Option<M>,
    /// With a tangent loss: a copy whose parameters hold the product's direction, constants on
    /// the autodiff device.
    direction: Option<M>,
    tangent_loss: Option<TangentLoss<M>>,
    device: Device,
    /// The float type the parameters are loaded in.
    dtype: DType,
    loss: F,
}

impl<M, F> ModuleLoss<M, F>
where
    M: Module + Clone,
    F: Fn(&M) -> Tensor<1>,
{
    /// Wraps `model` (created on `device`, which must not be an autodiff device itself) and its
    /// loss. `loss` must build its data on the device of the module it is given. The model is
    /// copied; the original is never modified.
    pub fn new(model: &M, device: &Device, loss: F) -> Self {
        let theta0 = flatten(model);
        let layout = ParamLayout::of(model);
        let autodiff = device.clone().autodiff();
        let tracked = load_flat_trainable(
            model.clone(),
            Tensor::<1>::from_floats(theta0.as_slice(), &autodiff),
        );
        ModuleLoss {
            layout,
            theta0,
            plain: Some(model.clone()),
            tracked: Some(tracked),
            direction: None,
            tangent_loss: None,
            device: device.clone(),
            dtype: DType::F32,
            loss,
        }
    }

    /// Parameters loaded as `dtype` (float64 where f32 losses are not accurate enough; the
    /// loss's data must be of the same type). The default is f32.
    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The loss with the plain copy's parameters replaced by `vector`.
    fn loss_of(&mut self, vector: Tensor<1>) -> f64 {
        let model = load_flat(self.plain.take().expect("model"), vector);
        let value = to_f64s((self.loss)(&model))[0];
        self.plain = Some(model);
        value
    }

    /// `theta` as a tensor of the loss's float type on `device`.
    fn vector(&self, theta: &[f32], device: &Device) -> Tensor<1> {
        Tensor::<1>::from_floats(theta, device).cast(self.dtype)
    }

    /// Exact Hessian-vector products by reverse over forward: `tangent_loss(model, tangent)`
    /// must return `grad L(model) . tangent`, the loss's derivative along the parameters of
    /// `tangent` (a copy of the module holding the direction), computed from `model`'s tracked
    /// parameters with [`crate::tangent`]. One backward pass of it is `H v`.
    pub fn with_tangent(
        mut self,
        tangent_loss: impl Fn(&M, &M) -> Tensor<1> + Send + Sync + 'static,
    ) -> Self {
        self.direction = self.plain.clone();
        self.tangent_loss = Some(Box::new(tangent_loss));
        self
    }
}

impl<M, F> LandscapeModel for ModuleLoss<M, F>
where
    M: Module + Clone,
    F: Fn(&M) -> Tensor<1>,
{
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn theta0(&self) -> &[f32] {
        &self.theta0
    }

    fn loss(&mut self, theta: &[f32]) -> f64 {
        let vector = self.vector(theta, &self.device);
        self.loss_of(vector)
    }

    fn loss_at(&mut self, theta: &[f64]) -> f64 {
        let vector = tensor_f64(theta, &self.device).cast(self.dtype);
        self.loss_of(vector)
    }

    fn loss_and_gradient(&mut self, theta: &[f32]) -> (f64, Vec<f32>) {
        let device = self.device.clone().autodiff();
        let model = load_flat_trainable(
            self.tracked.take().expect("model"),
            self.vector(theta, &device),
        );
        let loss = (self.loss)(&model);
        let gradient = flat_gradient(&model, &loss.backward());
        let value = to_f64s(loss)[0];
        self.tracked = Some(model);
        (value, gradient)
    }

    fn has_exact_products(&self) -> bool {
        self.tangent_loss.is_some()
    }

    fn hessian_vector_product(&mut self, theta: &[f32], v: &[f32]) -> Option<Vec<f32>> {
        let tangent_loss = self.tangent_loss.as_ref()?;
        let device = self.device.clone().autodiff();
        let model = load_flat_trainable(
            self.tracked.take().expect("model"),
            self.vector(theta, &device),
        );
        let direction = load_flat_constant(
            self.direction.take().expect("model"),
            self.vector(v, &device),
        );
        let directional = tangent_loss(&model, &direction);
        let product = flat_gradient(&model, &directional.backward());
        self.tracked = Some(model);
        self.direction = Some(direction);
        Some(product)
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};

    use super::*;

    #[test]
    fn the_callers_model_is_never_modified() {
        let device = Device::flex();
        let model: Linear = LinearConfig::new(3, 2).init(&device);
        let before = flatten(&model);
        let x = Tensor::<1>::from_floats([0.5f32, -1.0, 2.0].as_slice(), &device).reshape([1, 3]);
        let mut loss = ModuleLoss::new(&model, &device, move |m: &Linear| {
            m.forward(x.clone().to_device(&m.weight.device()))
                .powi_scalar(2)
                .sum()
        });
        let moved: Vec<f32> = before.iter().map(|v| v + 1.0).collect();
        let at_moved = loss.loss(&moved);
        let (again, gradient) = loss.loss_and_gradient(&moved);
        assert_eq!(at_moved, again);
        assert!(gradient.iter().any(|g| *g != 0.0));
        assert_ne!(loss.loss(&before), at_moved);
        assert_eq!(flatten(&model), before, "the original weights, bit for bit");
    }
}
