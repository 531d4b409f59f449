//! A burn module's float parameters as one flat vector.
//!
//! The order is the module's visiting order (its fields in declaration order, `Vec` elements by
//! index), each tensor flattened in C order. Every parameter is named by its path in the module
//! (`layers.0.weight`), the names safetensors files and `params.json` use. Running statistics
//! that burn stores as float parameters (batch norm) would be included too; toposcape's models
//! have none.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Gradients;

/// One parameter tensor's place in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamEntry {
    /// The path in the module, dot-separated: `layers.0.weight`.
    pub name: String,
    pub shape: Vec<usize>,
    /// Index of the first element in the flat vector.
    pub offset: usize,
}

impl ParamEntry {
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The names, shapes and offsets of a module's float parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamLayout {
    pub entries: Vec<ParamEntry>,
}

impl ParamLayout {
    /// The layout of `module`'s float parameters.
    pub fn of<M: Module>(module: &M) -> Self {
        let mut visitor = LayoutVisitor::default();
        module.visit(&mut visitor);
        ParamLayout {
            entries: visitor.entries,
        }
    }

    /// The length of the flat vector.
    pub fn len(&self) -> usize {
        self.entries.last().map_or(0, |e| e.offset + e.numel())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Default)]
struct LayoutVisitor {
    path: Vec<String>,
    entries: Vec<ParamEntry>,
    offset: usize,
}

impl ModuleVisitor for LayoutVisitor {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let shape = param.lazy_shape().dims::<D>().to_vec();
        let numel: usize = shape.iter().product();
        self.entries.push(ParamEntry {
            name: self.path.join("."),
            shape,
            offset: self.offset,
        });
        self.offset += numel;
    }
}

/// `module`'s float parameters as one flat tensor, in [`ParamLayout`] order.
pub fn flatten_tensor<M: Module>(module: &M) -> Tensor<1> {
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().detach().flatten(0, D - 1));
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    Tensor::cat(collect.0, 0)
}

/// `module`'s float parameters as one flat vector of f32, in [`ParamLayout`] order.
pub fn flatten<M: Module>(module: &M) -> Vec<f32> {
    to_vec(flatten_tensor(module))
}

/// A tensor's values as f32.
pub fn to_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float tensor data converts to f32")
}

/// `module` with its float parameters replaced by the slices of `flat` (a tensor of the layout's
/// length, on the module's device). Parameter ids are kept (optimiser state stays attached), and
/// a parameter that required gradients still does, as a fresh leaf.
///
/// # Panics
/// If `flat` is shorter than the layout.
pub fn load_flat<M: Module>(module: M, flat: Tensor<1>) -> M {
    load(module, flat, Requires::Keep)
}

/// Like [`load_flat`], but every float parameter becomes a fresh leaf that requires gradients
/// (`flat` must be on an autodiff device): the way to differentiate a loss with respect to
/// parameters loaded from a vector, whatever state the module was in.
pub fn load_flat_trainable<M: Module>(module: M, flat: Tensor<1>) -> M {
    load(module, flat, Requires::Gradient)
}

/// Like [`load_flat`], but no parameter requires gradients: a module of constants, such as the
/// tangent module of [`crate::tangent`] on an autodiff device.
pub fn load_flat_constant<M: Module>(module: M, flat: Tensor<1>) -> M {
    load(module, flat, Requires::Nothing)
}

/// Whether loaded parameters require gradients.
#[derive(Clone, Copy, PartialEq)]
enum Requires {
    /// As the parameter they replace did.
    Keep,
    Gradient,
    Nothing,
}

fn load<M: Module>(module: M, flat: Tensor<1>, requires: Requires) -> M {
    struct Load {
        flat: Tensor<1>,
        offset: usize,
        requires: Requires,
    }
    impl ModuleMapper for Load {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|old| {
                let shape = old.shape();
                let numel = shape.num_elements();
                let require_grad = match self.requires {
                    Requires::Keep => old.is_require_grad(),
                    Requires::Gradient => true,
                    Requires::Nothing => false,
                };
                let new = self
                    .flat
                    .clone()
                    .narrow(0, self.offset, numel)
                    .reshape(shape)
                    .detach();
                self.offset += numel;
                if require_grad {
                    new.require_grad()
                } else {
                    new
                }
            })
        }
    }
    module.map(&mut Load {
        flat,
        offset: 0,
        requires,
    })
}

/// `module` with its float parameters replaced by the values of `flat`.
pub fn load_flat_values<M: Module>(module: M, flat: &[f32], device: &Device) -> M {
    load_flat(module, Tensor::<1>::from_floats(flat, device))
}

/// The gradient of a loss with respect to `module`'s float parameters, as one flat vector in
/// [`ParamLayout`] order; zero for parameters the loss does not depend on.
pub fn flat_gradient<M: Module>(module: &M, grads: &Gradients) -> Vec<f32> {
    to_vec(flat_gradient_tensor(module, grads))
}

/// [`flat_gradient`] as one tensor, in the parameters' own float type (float64 parameters give
/// a float64 gradient).
pub fn flat_gradient_tensor<M: Module>(module: &M, grads: &Gradients) -> Tensor<1> {
    struct Grad<'a> {
        grads: &'a Gradients,
        parts: Vec<Tensor<1>>,
    }
    impl ModuleVisitor for Grad<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            let gradient = value
                .grad(self.grads)
                .unwrap_or_else(|| value.inner().zeros_like());
            self.parts.push(gradient.flatten(0, D - 1));
        }
    }
    let mut visitor = Grad {
        grads,
        parts: Vec::new(),
    };
    module.visit(&mut visitor);
    Tensor::cat(visitor.parts, 0)
}

/// A float64 vector on `device`, whatever the device's default float type: for computations
/// checked against independent float64 ones.
pub fn tensor_f64(values: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(
        burn::tensor::TensorData::new(values.to_vec(), [values.len()]),
        burn::tensor::TensorCreationOptions::new(device.clone())
            .with_dtype(burn::tensor::DType::F64),
    )
}

/// The widest float type `device` computes in exactly: float64 on burn's CPU backends (flex,
/// ndarray), f32 elsewhere. wgpu is f32 even where the adapter reports float64 (lavapipe does):
/// measured on burn 0.22.1 with lavapipe, the PINN's batched loss in f64 on wgpu came out 1.98
/// where the CPU gives 1.20, and a one-point pass failed wgpu's validation (a buffer bound with
/// 4 bytes where the shader expects 8).
pub fn widest_float(device: &Device) -> burn::tensor::DType {
    use burn::backend::DispatchDevice;
    use burn::tensor::{DType, FloatDType};
    let inner = device.clone().without_autodiff();
    let cpu = matches!(
        inner.as_dispatch(),
        DispatchDevice::Flex(_) | DispatchDevice::NdArray(_)
    );
    if cpu && inner.supports_dtype(FloatDType::F64) {
        DType::F64
    } else {
        DType::F32
    }
}

/// A tensor's values as f64.
pub fn to_f64s<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .expect("float tensor data converts to f64")
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};

    use super::*;

    #[derive(Module, Debug)]
    struct Net {
        first: Linear,
        rest: Vec<Linear>,
    }

    fn net(device: &Device) -> Net {
        Net {
            first: LinearConfig::new(3, 4).init(device),
            rest: vec![
                LinearConfig::new(4, 2).init(device),
                LinearConfig::new(2, 1).with_bias(false).init(device),
            ],
        }
    }

    #[test]
    fn layout_names_shapes_and_offsets() {
        let device = Device::flex();
        let layout = ParamLayout::of(&net(&device));
        let described: Vec<(&str, Vec<usize>, usize)> = layout
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.shape.clone(), e.offset))
            .collect();
        assert_eq!(
            described,
            vec![
                ("first.weight", vec![3, 4], 0),
                ("first.bias", vec![4], 12),
                ("rest.0.weight", vec![4, 2], 16),
                ("rest.0.bias", vec![2], 24),
                ("rest.1.weight", vec![2, 1], 26),
            ]
        );
        assert_eq!(layout.len(), 28);
        assert_eq!(layout.len(), net(&device).num_params());
    }

    #[test]
    #[allow(deprecated)] // burn 0.22 deprecates ndarray; it stays a backend we support.
    fn the_cpu_backends_compute_in_float64() {
        use burn::tensor::DType;
        for device in [Device::flex(), Device::ndarray(), Device::flex().autodiff()] {
            assert_eq!(widest_float(&device), DType::F64, "{device:?}");
        }
    }

    #[test]
    fn flatten_and_load_round_trip_in_layout_order() {
        let device = Device::flex();
        let model = net(&device);
        let flat = flatten(&model);
        // The flat vector holds each tensor's values in C order at its offset.
        let bias = to_vec(model.rest[0].bias.as_ref().unwrap().val());
        assert_eq!(&flat[24..26], bias.as_slice());
        let weight = to_vec(model.first.weight.val());
        assert_eq!(&flat[0..12], weight.as_slice());

        let replacement: Vec<f32> = (0..flat.len()).map(|i| i as f32 * 0.5 - 3.0).collect();
        let loaded = load_flat_values(model, &replacement, &device);
        assert_eq!(flatten(&loaded), replacement);
        let w = to_vec(loaded.rest[1].weight.val());
        assert_eq!(w, vec![26.0 * 0.5 - 3.0, 27.0 * 0.5 - 3.0]);
    }

    #[test]
    fn flat_gradient_matches_finite_differences_and_load_keeps_grads() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let model = net(&device);
        let x = Tensor::<1>::from_floats([0.3f32, -1.2, 0.7, 1.0, 0.1, -0.4].as_slice(), &device)
            .reshape([2, 3]);
        let loss_of = |m: &Net| {
            let mut h = m.first.forward(x.clone()).tanh();
            for layer in &m.rest {
                h = layer.forward(h);
            }
            h.powi_scalar(2).sum()
        };
        // Load a vector first, so the gradient is taken through loaded parameters.
        let theta: Vec<f32> = flatten(&model).iter().map(|v| v * 0.9 + 0.01).collect();
        let model = load_flat_values(model, &theta, &device);
        let grads = loss_of(&model).backward();
        let gradient = flat_gradient(&model, &grads);
        assert_eq!(gradient.len(), theta.len());
        let value = |v: &[f32]| {
            let m = load_flat_values(net(&device), v, &device);
            f64::from(to_vec(loss_of(&m))[0])
        };
        let eps = 1e-2f32;
        for i in 0..theta.len() {
            let (mut plus, mut minus) = (theta.clone(), theta.clone());
            plus[i] += eps;
            minus[i] -= eps;
            let numeric = (value(&plus) - value(&minus)) / (2.0 * f64::from(eps));
            let analytic = f64::from(gradient[i]);
            assert!(
                (numeric - analytic).abs() < 2e-3 * analytic.abs().max(1.0),
                "parameter {i}: analytic {analytic} vs numeric {numeric}"
            );
        }
    }
}
