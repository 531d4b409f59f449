//! Writing results without leaving half-written files: every output is written to a temporary
//! file beside its destination and renamed into place only when all outputs are complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Checks, before any work is done, that `path` can be an output: its folder exists and it is
/// not a folder itself, nor one of the inputs. `key` names the option it came from.
pub fn check_output_path(key: &'static str, path: &Path, inputs: &[&Path]) -> Result<()> {
    let fail = |what: &str| Error::option(key, path.display(), what);
    if path.is_dir() {
        return Err(fail("is a folder; expected a file path"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(fail("its folder does not exist"));
    }
    for input in inputs {
        if let (Ok(a), Ok(b)) = (fs::canonicalize(path), fs::canonicalize(input))
            && a == b
        {
            return Err(fail("is the input file; refusing to overwrite it"));
        }
    }
    Ok(())
}

/// The file `path` names, one path for every spelling of it: `x.json`, `./x.json` and
/// `d/../x.json` alike. A path that exists is resolved by the system (links and all); one that
/// does not yet is taken lexically (`.` dropped, `..` taking off one name) and its nearest
/// existing folder resolved.
pub fn file_identity(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    if let Ok(real) = fs::canonicalize(&absolute) {
        return real;
    }
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut rest = Vec::new();
    let mut base = lexical.as_path();
    loop {
        if let Ok(real) = fs::canonicalize(base) {
            return rest.iter().rev().fold(real, |p, name| p.join(name));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                base = parent;
            }
            _ => return lexical.clone(),
        }
    }
}

/// A set of output files written to temporaries and moved into place together by
/// [`Outputs::commit`]; dropped without commit, it removes its temporaries.
#[derive(Default)]
pub struct Outputs {
    pending: Vec<(PathBuf, PathBuf)>,
}

impl Outputs {
    /// Writes one output through `write` into a temporary file next to `path`. A file that
    /// cannot be created is the user's to fix (a read-only folder): an [`Error::Option`] of
    /// `key`. A failure while writing (a full disk) is not.
    pub fn write(
        &mut self,
        key: &'static str,
        path: &Path,
        write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
    ) -> Result<()> {
        let file_name = path
            .file_name()
            .ok_or_else(|| Error::option(key, path.display(), "expected a file name"))?;
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(file_name);
        temporary_name.push(format!(".partial-{}", std::process::id()));
        let temporary = path.with_file_name(temporary_name);
        let file = File::create(&temporary)
            .map_err(|e| Error::option(key, path.display(), format!("cannot create: {e}")))?;
        self.pending.push((temporary.clone(), path.to_path_buf()));
        let mut writer = BufWriter::new(file);
        write(&mut writer)?;
        writer.flush().map_err(|e| Error::file("write", path, e))?;
        Ok(())
    }

    /// Writes `bytes` as one output, as [`Outputs::write`] does.
    pub fn bytes(&mut self, key: &'static str, path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
        self.write(key, path, |w| {
            w.write_all(bytes.as_ref())
                .map_err(|e| Error::file("write", path, e))
        })
    }

    /// Moves every written output into place.
    pub fn commit(mut self) -> Result<()> {
        for (temporary, path) in std::mem::take(&mut self.pending) {
            fs::rename(&temporary, &path).map_err(|e| Error::file("move into place", &path, e))?;
        }
        Ok(())
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for (temporary, _) in &self.pending {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// `values` as a C-order `.npy` array of `shape`, in their own dtype.
pub fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    w: &mut impl Write,
    shape: &[usize],
    values: &[T],
) -> Result<()> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&shape)
        .writer(w)
        .begin_nd()?;
    writer.extend(values.iter().copied())?;
    writer.finish()?;
    Ok(())
}

/// `document` as pretty JSON and a newline.
pub fn write_json(w: &mut impl Write, document: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, document)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// A JSON file, or null when it is missing (an incomplete run) or unreadable.
pub fn read_json(path: &Path) -> serde_json::Value {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// An array for an `.npz` archive, in its own dtype.
pub enum NpyArray {
    /// A float32 array: its shape and values.
    F32(Vec<usize>, Vec<f32>),
    /// A float64 array.
    F64(Vec<usize>, Vec<f64>),
    /// An int64 array.
    I64(Vec<usize>, Vec<i64>),
}

impl NpyArray {
    /// The array as the bytes of an `.npy` file.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            NpyArray::F32(shape, values) => write_npy(&mut out, shape, values)?,
            NpyArray::F64(shape, values) => write_npy(&mut out, shape, values)?,
            NpyArray::I64(shape, values) => write_npy(&mut out, shape, values)?,
        }
        Ok(out)
    }
}

/// `arrays` as an uncompressed `.npz` archive (what `numpy.savez` writes): one `NAME.npy` per
/// array.
pub fn write_npz(w: &mut (impl Write + std::io::Seek), arrays: &[(&str, NpyArray)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(w);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, array) in arrays {
        zip.start_file(format!("{name}.npy"), options)?;
        zip.write_all(&array.bytes()?)?;
    }
    zip.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_file_is_one_identity() {
        let dir = std::env::temp_dir().join(format!("toposcape-identity-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        let plain = file_identity(&dir.join("x.json"));
        assert_eq!(file_identity(&dir.join("./x.json")), plain);
        assert_eq!(file_identity(&dir.join("sub/../x.json")), plain);
        // Through a folder that does not exist yet, and once the file exists.
        assert_eq!(
            file_identity(&dir.join("new/./p.png")),
            file_identity(&dir.join("new/p.png"))
        );
        fs::write(dir.join("x.json"), "{}").unwrap();
        assert_eq!(file_identity(&dir.join("sub/.././x.json")), plain);
        assert_ne!(file_identity(&dir.join("sub/x.json")), plain);
        fs::remove_dir_all(&dir).unwrap();
    }
}
