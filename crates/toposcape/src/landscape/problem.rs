//! What the analysis of one model needs besides its weights (its loss on the device, the data
//! for `eval_data.npz`, the kernel when there is one), and the evaluators of its landscape's
//! points: one factory for `analyze`, `bench` and programs of their own.

use std::path::Path;
use std::sync::Arc;

use burn::module::Module;
use burn::prelude::*;
use toposcape_models::batched::PinnBatched;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::PinnKernel;
use toposcape_models::pinn::{Pinn, PinnConfig};
use toposcape_models::segmentation::SegmentationSet;
use toposcape_models::unet::{Unet, UnetConfig};
use toposcape_models::unet_batched::UnetBatched;
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::params::widest_float;
use toposcape_perturb::sample::{Directions, OnDevice, Perturbed, PointEvaluator};

use crate::backend::EvalBackend;
use crate::config::{RunConfig, Task};
use crate::error::{Error, Result};
use crate::output::NpyArray;

/// A model and its loss, ready for Hessian directions and for sampling.
pub struct Problem<M> {
    /// The model at theta0.
    pub model: M,
    /// The loss on the plain device the model lives on.
    pub loss: Arc<dyn Fn(&M) -> Tensor<1> + Send + Sync>,
    /// The loss's derivative along a tangent module's parameters (`grad L . v`), for exact
    /// Hessian-vector products.
    pub tangent_loss: Arc<TangentLoss<M>>,
    /// The float type the loss is computed in (its data's).
    pub dtype: burn::tensor::DType,
    /// The data the loss is computed on, as `eval_data.npz` holds it.
    pub eval_data: Vec<(&'static str, NpyArray)>,
    /// toposcape's own CPU kernel of the loss, when it has one.
    pub kernel: Option<PinnKernel>,
    /// The PINN's shape and problem, for the batched evaluator.
    pub pinn: Option<(PinnConfig, ConvectionConfig)>,
    /// The UNet's shape, images and labels, for its batched evaluator.
    pub unet: Option<(UnetConfig, Tensor<4>, Tensor<3, Int>)>,
}

/// The directional derivative of a loss along a tangent module ([`ModuleLoss::with_tangent`]).
pub type TangentLoss<M> = dyn Fn(&M, &M) -> Tensor<1> + Send + Sync;

/// How landscape points are evaluated: where, how many in one forward pass, on how many
/// threads (one evaluator each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// Where points are evaluated.
    pub backend: EvalBackend,
    /// Points per forward pass.
    pub batch: usize,
    /// Evaluators, one per thread.
    pub threads: usize,
}

/// The PINN of `config` with the weights `model`, its loss on the convection problem, and (on
/// `backend` cpu) its CPU kernel.
pub fn pinn_problem(
    config: &RunConfig,
    model: Pinn,
    device: &Device,
    backend: EvalBackend,
) -> Problem<Pinn> {
    let pinn = config.pinn_config();
    let convection = config.convection_config();
    let data = convection.data(device);
    let points = convection.points();
    let pairs = |v: &Vec<f32>| NpyArray::F32(vec![v.len() / 2, 2], v.clone());
    let scalar = |x: f64| NpyArray::F64(vec![], vec![x]);
    let eval_data = vec![
        ("collocation", pairs(&points.collocation)),
        ("initial", pairs(&points.initial)),
        (
            "initial_target",
            NpyArray::F32(vec![points.initial_target.len()], points.initial_target),
        ),
        ("boundary_left", pairs(&points.boundary_left)),
        ("boundary_right", pairs(&points.boundary_right)),
        ("beta", scalar(convection.beta)),
        ("initial_weight", scalar(convection.initial_weight)),
        ("residual_weight", scalar(convection.residual_weight)),
        ("boundary_weight", scalar(convection.boundary_weight)),
        (
            "widths",
            NpyArray::I64(
                vec![pinn.widths.len()],
                pinn.widths.iter().map(|&w| w as i64).collect(),
            ),
        ),
    ];
    let kernel = (backend == EvalBackend::Cpu).then(|| PinnKernel::new(&pinn, &convection));
    let batched = Some((pinn, convection.clone()));
    // In float64 where the device has it (not on wgpu): in f32 the loss near a trained minimum
    // is 1e-4 off (toposcape_models::kernel says why).
    let dtype = widest_float(device);
    let data = data.cast(dtype);
    let (tangent_problem, tangent_data) = (convection.clone(), data.clone());
    Problem {
        model,
        loss: Arc::new(move |m| convection.loss(m, &data).total),
        tangent_loss: Arc::new(move |m, t| tangent_problem.loss_tangent(m, t, &tangent_data)),
        dtype,
        eval_data,
        kernel,
        pinn: batched,
        unet: None,
    }
}

/// The UNet of `config` with the weights `model`, its loss on the first
/// `landscape.max_images` images of `train_set`.
pub fn unet_problem(
    config: &RunConfig,
    model: Unet,
    train_set: &SegmentationSet,
    device: &Device,
) -> Problem<Unet> {
    let count = config.landscape.max_images.min(train_set.len());
    let (images, labels) = train_set.batch(0, count, device);
    let s = train_set.size;
    let eval_data = vec![
        (
            "images",
            NpyArray::F32(
                vec![count, 3, s, s],
                train_set.images[..count * 3 * s * s].to_vec(),
            ),
        ),
        (
            "labels",
            NpyArray::I64(
                vec![count, s, s],
                train_set.labels[..count * s * s].to_vec(),
            ),
        ),
    ];
    let batched = Some((config.unet_config(), images.clone(), labels.clone()));
    let (tangent_images, tangent_labels) = (images.clone(), labels.clone());
    Problem {
        model,
        loss: Arc::new(move |m| m.loss(images.clone(), labels.clone())),
        tangent_loss: Arc::new(move |m, t| {
            m.loss_tangent(t, tangent_images.clone(), tangent_labels.clone())
        }),
        // f32: the UNet's losses agree with float64 to 1e-6 in f32 already.
        dtype: burn::tensor::DType::F32,
        eval_data,
        kernel: None,
        pinn: None,
        unet: batched,
    }
}

/// The training set of a UNet config: the synthetic shapes, or the Pet images under `pet.root`
/// (relative to `config_dir`); `config_path` names the config in messages.
pub fn unet_train_set(
    config: &RunConfig,
    config_dir: &Path,
    config_path: &Path,
) -> Result<SegmentationSet> {
    Ok(match config.task {
        Task::UnetShapes => config.shapes_config().generate().0,
        _ => {
            let pet = config.pet_config(config_dir).expect("checked: [pet]");
            pet.load()
                .map_err(|e| Error::Input(format!("{}: key pet.root: {e}", config_path.display())))?
                .0
        }
    })
}

impl<M: Module + Clone + 'static> Problem<M> {
    /// The loss as a [`LandscapeModel`] on `device`, in the problem's float type.
    pub fn module_loss(&self, device: &Device) -> impl LandscapeModel + Send + use<M> {
        let loss = Arc::clone(&self.loss);
        ModuleLoss::new(&self.model, device, move |m: &M| loss(m)).with_dtype(self.dtype)
    }

    /// The loss with exact Hessian-vector products (reverse over forward).
    pub fn module_loss_with_tangent(&self, device: &Device) -> impl LandscapeModel + Send + use<M> {
        let (loss, tangent) = (Arc::clone(&self.loss), Arc::clone(&self.tangent_loss));
        ModuleLoss::new(&self.model, device, move |m: &M| loss(m))
            .with_dtype(self.dtype)
            .with_tangent(move |m: &M, t: &M| tangent(m, t))
    }

    /// One evaluator per thread of `evaluation`, around `theta0` along `directions`: the CPU
    /// kernel where there is one, a batched model for batches of more than one point, the
    /// model on the device on wgpu, and else the burn model one point at a time.
    pub fn evaluators<'a>(
        &'a self,
        theta0: &'a [f32],
        directions: &'a Directions,
        evaluation: Evaluation,
        device: &Device,
    ) -> Vec<Box<dyn PointEvaluator + 'a>> {
        let Evaluation {
            backend,
            batch,
            threads,
        } = evaluation;
        let one = |_| -> Box<dyn PointEvaluator + 'a> {
            if let Some(kernel) = &self.kernel {
                let mut k = kernel.clone();
                return Box::new(Perturbed::new(
                    move |t: &[f64]| k.loss(t) as f32,
                    theta0,
                    directions,
                ));
            }
            if batch > 1 {
                if let Some((pinn, convection)) = &self.pinn {
                    return Box::new(PinnBatched::new(
                        pinn, convection, theta0, directions, batch, device,
                    ));
                }
                if let Some((unet, images, labels)) = &self.unet {
                    return Box::new(UnetBatched::new(
                        unet,
                        theta0,
                        directions,
                        images.clone(),
                        labels.clone(),
                        batch,
                        device,
                    ));
                }
            }
            if backend == EvalBackend::Wgpu {
                let loss = Arc::clone(&self.loss);
                return Box::new(OnDevice::new(
                    self.model.clone(),
                    theta0,
                    directions,
                    device,
                    move |m: &M| loss(m),
                ));
            }
            Box::new(Perturbed::of_model(
                self.module_loss(device),
                theta0,
                directions,
            ))
        };
        (0..threads.max(1)).map(one).collect()
    }
}
