//! Where models live and where landscape points are evaluated: burn's backends, their devices,
//! and weights loaded into a model.

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use toposcape_models::checkpoint::{load_checkpoint, load_safetensors};

use crate::error::{Error, Result};

/// burn's backends: where a model is trained, its gradients and Hessian taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// burn's ndarray CPU backend.
    Ndarray,
    /// burn's flex CPU backend (ndarray's successor).
    Flex,
    /// burn's wgpu backend: a GPU, or a CPU Vulkan adapter (needs the `wgpu` feature).
    Wgpu,
}

impl Backend {
    /// The backend's device. wgpu is initialised here, so a machine without an adapter is
    /// told so at once (an error of the option `backend`: it cannot be honoured here).
    pub fn device(self) -> Result<Device> {
        match self {
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            Backend::Flex => Ok(Device::flex()),
            Backend::Wgpu => wgpu_device(),
        }
    }

    /// The backend's name: `ndarray`, `flex` or `wgpu`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ndarray => "ndarray",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    use std::sync::OnceLock;
    // The runtime can be initialised once per process; later calls reuse its device.
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let mut options = Device::wgpu_options();
            // A rank of several on this machine takes its own GPU.
            if let Some(index) = crate::gpu::local_gpu_index(&crate::gpu::adapters()) {
                options = options.device_kind(burn::tensor::DeviceKind::DiscreteGpu(index));
            }
            options.init().map_err(|e| e.to_string().replace('\n', " "))
        })
        .clone()
        .map_err(|e| Error::option("backend", "wgpu", format!("no usable wgpu adapter: {e}")))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device> {
    Err(Error::option(
        "backend",
        "wgpu",
        "this toposcape was built without the wgpu feature (build it with \
         `cargo install --path . --features wgpu`)",
    ))
}

/// Where landscape points are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalBackend {
    /// The CPU: toposcape's own PINN kernel on every core; the UNet through burn's flex.
    Cpu,
    /// burn's flex CPU backend, one model copy per core.
    Flex,
    /// burn's ndarray CPU backend, one model copy per core.
    Ndarray,
    /// burn's wgpu backend (needs the `wgpu` feature).
    Wgpu,
}

impl EvalBackend {
    /// The burn backend of the model (gradients, Hessian, and points when not the kernel).
    pub fn burn(self) -> Backend {
        match self {
            EvalBackend::Cpu | EvalBackend::Flex => Backend::Flex,
            EvalBackend::Ndarray => Backend::Ndarray,
            EvalBackend::Wgpu => Backend::Wgpu,
        }
    }

    /// The evaluator's name: `cpu`, or its burn backend's.
    pub fn name(self) -> &'static str {
        match self {
            EvalBackend::Cpu => "cpu",
            other => other.burn().name(),
        }
    }
}

/// Loads weights into `model` from a `.safetensors` or `.bpk` file.
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M> {
    let loaded = if path.extension().is_some_and(|e| e == "bpk") {
        load_checkpoint(model, path)
    } else {
        load_safetensors(model, path)
    };
    // burn's loading errors run over several lines (a table of tensors): keep the first.
    loaded.map_err(|e| {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(':');
        Error::Input(format!(
            "{first} (do the weights match the config's model?)"
        ))
    })
}

/// A warning when the `.safetensors` file `path` holds tensors narrower than `f32`: they are
/// widened exactly, so the model is the rounded one, not the one that was trained.
pub fn narrow_weights_warning(path: &Path) -> Result<Option<String>> {
    let narrow = toposcape_models::checkpoint::narrow_tensors(path)?;
    let Some((name, dtype)) = narrow.first() else {
        return Ok(None);
    };
    Ok(Some(format!(
        "{}: {} of its tensors ({name} the first) are stored as {dtype}, not F32; they are read \
         as f32 exactly, so the model is the one rounded to {dtype}, not the one that was \
         trained",
        path.display(),
        narrow.len()
    )))
}
