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
    canonical_header(&store.get_bytes().map_err(|e| e.to_string())?)
}

/// The bytes of a `.safetensors` file with its header in one order: the metadata by key
/// (the safetensors crate writes them in a hash map's order, which differs from one call to
/// the next, so identical runs wrote weight files that differed in bytes), then the tensors
/// in the order of their data. The data bytes are unchanged; so are their offsets, which
/// count from the end of the header.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("burn-store wrote a .safetensors file with {what}");
    let length: [u8; 8] = bytes
        .get(..8)
        .ok_or_else(|| bad("no header"))?
        .try_into()
        .unwrap();
    let end = usize::try_from(u64::from_le_bytes(length))
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| bad("a header past its end"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| bad(&e.to_string()))?;
    let mut metadata = std::collections::BTreeMap::new();
    let mut tensors = Vec::new();
    for (key, value) in header {
        if key == "__metadata__" {
            let map = value
                .as_object()
                .ok_or_else(|| bad("metadata that is not a map"))?;
            metadata.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        } else {
            let start = value["data_offsets"][0]
                .as_u64()
                .ok_or_else(|| bad("no offsets"))?;
            tensors.push((start, key, value));
        }
    }
    tensors.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let entry = |key: &str, value: &serde_json::Value| {
        serde_json::to_string(key)
            .and_then(|k| Ok(format!("{k}:{}", serde_json::to_string(value)?)))
    };
    let mut entries = Vec::with_capacity(tensors.len() + 1);
    if !metadata.is_empty() {
        let map = serde_json::to_string(&metadata).map_err(|e| e.to_string())?;
        entries.push(format!("\"__metadata__\":{map}"));
    }
    for (_, key, value) in &tensors {
        entries.push(entry(key, value).map_err(|e| e.to_string())?);
    }
    let mut text = format!("{{{}}}", entries.join(","));
    // The data starts 8-byte aligned, as the safetensors crate pads it.
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - end);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    Ok(out)
}

/// The tensors of a `.safetensors` file stored in a float type narrower than `f32` (F16,
/// BF16, F8_*): loading widens them exactly, but the weights are then the rounded ones.
/// `(name, dtype)` pairs by name; empty for any other file.
pub fn narrow_tensors(path: &Path) -> Result<Vec<(String, String)>, CheckpointError> {
    if path.extension().is_none_or(|e| e != "safetensors") {
        return Ok(Vec::new());
    }
    let mut file = std::fs::File::open(path).map_err(|e| record_error(path, e))?;
    let mut length = [0u8; 8];
    use std::io::Read;
    if file.read_exact(&mut length).is_err() {
        return Ok(Vec::new());
    }
    // The loader refuses a header that is not one; here only a readable one is looked at.
    let n = u64::from_le_bytes(length);
    if n > 100_000_000 {
        return Ok(Vec::new());
    }
    let mut header = vec![0u8; n as usize];
    if file.read_exact(&mut header).is_err() {
        return Ok(Vec::new());
    }
    let Ok(header) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
    else {
        return Ok(Vec::new());
    };
    let mut narrow: Vec<(String, String)> = header
        .iter()
        .filter_map(|(name, info)| {
            let dtype = info.get("dtype")?.as_str()?;
            matches!(
                dtype,
                "F16" | "BF16" | "F8_E4M3" | "F8_E5M2" | "F8_E8M0" | "F4" | "F6_E2M3" | "F6_E3M2"
            )
            .then(|| (name.clone(), dtype.to_string()))
        })
        .collect();
    narrow.sort();
    Ok(narrow)
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
