//! Saving and loading weights: burn's own record files (`.bpk`, burnpack) for checkpoints, and
//! `.safetensors` for exchange, each tensor named by its parameter path (`layers.0.weight`).
//!
//! Tensors are stored in burn's layout: a dense layer's weight is `[in, out]` (PyTorch's
//! `nn.Linear` holds the transpose), a convolution's `[out, in, kh, kw]` as in PyTorch.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};

/// Why weights could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {message}")]
    Record { path: String, message: String },
}

fn record_error(path: &Path, message: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Record {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes `model`'s parameters as a burn record file (burnpack).
pub fn save_checkpoint<M: Module + Clone>(model: &M, path: &Path) -> Result<(), CheckpointError> {
    model
        .clone()
        .save_file(path)
        .map_err(|e| record_error(path, e))
}

/// `model` with the parameters of a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint<M: Module>(model: M, path: &Path) -> Result<M, CheckpointError> {
    model.try_load_file(path).map_err(|e| record_error(path, e))
}

/// Writes `model`'s parameters as a `.safetensors` file named by parameter path, with the given
/// metadata (string pairs, e.g. the config).
pub fn save_safetensors<M: Module + Clone>(
    model: &M,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<(), CheckpointError> {
    let bytes = safetensors_bytes(model, metadata).map_err(|e| record_error(path, e))?;
    std::fs::write(path, bytes).map_err(|e| record_error(path, e))
}

/// `model`'s parameters as the bytes of a `.safetensors` file (see [`save_safetensors`]), for a
/// caller that writes them itself. Errors are burn-store's messages.
pub fn safetensors_bytes<M: Module + Clone>(
    model: &M,
    metadata: &[(&str, String)],
) -> Result<Vec<u8>, String> {
    // Through memory, so the file gets the usual permissions (burn-store's file writer makes
    // owner-only temporaries).
    let mut store = SafetensorsStore::from_bytes(None);
    for (key, value) in metadata {
        store = store.metadata(*key, value.clone());
    }
    model.save_into(&mut store).map_err(|e| e.to_string())?;
    store.get_bytes().map_err(|e| e.to_string())
}

/// `model` with the parameters of a `.safetensors` file; every parameter must be present with
/// its shape.
pub fn load_safetensors<M: Module>(mut model: M, path: &Path) -> Result<M, CheckpointError> {
    let mut store = SafetensorsStore::from_file(path).allow_partial(false);
    let result = model
        .load_from(&mut store)
        .map_err(|e| record_error(path, e))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(record_error(
            path,
            format!(
                "does not match the model (missing {:?}, errors {:?})",
                result.missing, result.errors
            ),
        ));
    }
    Ok(model)
}
