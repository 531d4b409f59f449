//! A run directory (docs/ARCHITECTURE.md, contract 4): the names of its files, and how far
//! the run in it has got.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Every name toposcape writes at the top of a run directory (an epoch's folder holds a subset).
const RUN_ENTRIES: [&str; 29] = [
    ".landscape-chunks",
    crate::lock::LOCK_FILE,
    "axes.json",
    "checkpoints",
    "config.toml",
    "directions.npy",
    "epochs",
    "eval_data.npz",
    "graph.npy",
    "hessian.json",
    "landscape.npy",
    "landscape.png",
    "merge_tree.png",
    "metrics.json",
    "params.json",
    "persistence.png",
    "points.npy",
    "profile.png",
    "profile.svg",
    "profiles_over_epochs.png",
    "report.html",
    "spectral_density.npy",
    "spectral_density.png",
    "theta0.bpk",
    "theta0.safetensors",
    "train_curve.csv",
    "train_curve.png",
    "train_metrics.json",
    "tree.json",
];

/// Whether `name` is one toposcape writes in a folder of `kind`: a run directory, its
/// `checkpoints/` (`epoch-N.bpk`) or its `epochs/` (`epoch-NNNNNN/`), or a temporary file of
/// one of those names (`.name.partial-PID`).
fn ours(name: &str, kind: Folder) -> bool {
    let known = |n: &str| match kind {
        Folder::Run => RUN_ENTRIES.contains(&n),
        Folder::Checkpoints => n.strip_suffix(".bpk").and_then(epoch_of).is_some(),
        Folder::Epochs => epoch_of(n).is_some(),
    };
    let temporary = name
        .strip_prefix('.')
        .and_then(|n| n.split_once(".partial"))
        .is_some_and(|(n, _)| known(n));
    known(name) || temporary
}

/// The epoch N of a checkpoint's or an epoch folder's name `epoch-N` (N all digits).
fn epoch_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("epoch-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[derive(Clone, Copy)]
enum Folder {
    Run,
    Checkpoints,
    Epochs,
}

/// The first entry below `dir` (a folder of `kind`) that toposcape did not write, if any.
fn foreign(dir: &Path, kind: Folder) -> std::io::Result<Option<PathBuf>> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| ours(n, kind)) else {
            return Ok(Some(path));
        };
        let is_dir = entry.file_type()?.is_dir();
        let inner = match (kind, name) {
            (Folder::Run, "checkpoints") if is_dir => foreign(&path, Folder::Checkpoints)?,
            (Folder::Run, "epochs") if is_dir => foreign(&path, Folder::Epochs)?,
            (Folder::Epochs, _) if is_dir => foreign(&path, Folder::Run)?,
            (Folder::Epochs, _) => Some(path),
            _ => None,
        };
        if inner.is_some() {
            return Ok(inner);
        }
    }
    Ok(None)
}

/// How far a run directory's run has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunState {
    /// Nothing of a run (the folder may not exist).
    Empty,
    /// A training started (its config is there) and did not finish.
    Interrupted,
    /// Trained: `train_metrics.json` is written last, when the weights are in place.
    Trained,
    /// A landscape is analysed: `metrics.json` and `landscape.npy`, moved into place together.
    /// (A weights file's analysis is analysed without a training of its own.)
    Analysed,
}

impl RunState {
    /// Whether a finished landscape is there.
    pub fn is_analysed(self) -> bool {
        self == RunState::Analysed
    }
}

/// The files of one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    /// The run directory at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunDir { dir: dir.into() }
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A file of the run directory by its name.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The run config, fully resolved.
    pub fn config(&self) -> PathBuf {
        self.file("config.toml")
    }

    /// The trained weights (the landscape's theta0).
    pub fn weights(&self) -> PathBuf {
        self.file("theta0.safetensors")
    }

    /// The training's checkpoints, `epoch-N.bpk`.
    pub fn checkpoints(&self) -> PathBuf {
        self.file("checkpoints")
    }

    /// What training measured; written last, so its presence means trained.
    pub fn train_metrics(&self) -> PathBuf {
        self.file("train_metrics.json")
    }

    /// The landscape's metrics; moved into place with the landscape.
    pub fn metrics(&self) -> PathBuf {
        self.file("metrics.json")
    }

    /// The sampled landscape.
    pub fn landscape(&self) -> PathBuf {
        self.file("landscape.npy")
    }

    /// The hidden folder where an analysis keeps its points until the files are written.
    pub fn chunk_store(&self) -> PathBuf {
        self.file(".landscape-chunks")
    }

    /// The training's checkpoint of `epoch`.
    pub fn checkpoint(&self, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("epoch-{epoch:06}.bpk"))
    }

    /// The training's checkpoints, `(epoch, file)`, in epoch order (none without the folder).
    pub fn checkpoint_files(&self) -> Result<Vec<(usize, PathBuf)>> {
        let folder = self.checkpoints();
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Ok(found);
        };
        for entry in entries {
            let path = entry.map_err(|e| Error::file("read", &folder, e))?.path();
            let epoch = path
                .file_name()
                .and_then(|n| n.to_str()?.strip_suffix(".bpk"))
                .and_then(epoch_of);
            if let Some(epoch) = epoch {
                found.push((epoch, path));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The landscape of the checkpoint of `epoch` (`landscape.checkpoints = true`).
    pub fn epoch(&self, epoch: usize) -> RunDir {
        RunDir::new(self.dir.join("epochs").join(format!("epoch-{epoch:06}")))
    }

    /// Whether its training finished.
    pub fn is_trained(&self) -> bool {
        self.train_metrics().is_file()
    }

    /// Whether its training diverged (`train_metrics.json` says so): its weights are not
    /// finite, and it has no landscape.
    pub fn is_diverged(&self) -> bool {
        std::fs::read_to_string(self.train_metrics())
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|doc| doc["diverged"] == serde_json::Value::Bool(true))
    }

    /// Takes this run directory's lock ([`crate::lock`]), creating the folder if needed: a
    /// second writer is refused as an error of option `key`.
    pub fn lock(&self, key: &str) -> Result<crate::lock::FolderLock> {
        crate::lock::lock(&self.dir, key)
    }

    /// Empties the run directory so that a run can start over (`force`), keeping the folder
    /// and its lock: only when everything in it is a file or folder toposcape writes into run
    /// directories. A folder that holds anything else (the user's own files, another program's
    /// output, a project) is refused as an error of option `key`, naming what toposcape did not
    /// write, and nothing is deleted.
    pub fn remove(&self, key: &str) -> Result<()> {
        let dir = &self.dir;
        if !dir.is_dir() {
            return Err(Error::option(
                key,
                dir.display(),
                "is a file; expected a folder",
            ));
        }
        let found = foreign(dir, Folder::Run).map_err(|e| Error::file("read", dir, e))?;
        if let Some(path) = found {
            return Err(Error::option(
                key,
                dir.display(),
                format!(
                    "holds {}, which toposcape did not write; `force` replaces only a run \
                     directory, so move that away or choose another folder",
                    path.display()
                ),
            ));
        }
        for entry in std::fs::read_dir(dir).map_err(|e| Error::file("read", dir, e))? {
            let entry = entry.map_err(|e| Error::file("read", dir, e))?;
            let path = entry.path();
            if entry.file_name() == crate::lock::LOCK_FILE {
                continue;
            }
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| Error::file("remove", &path, e))?;
        }
        Ok(())
    }

    /// How far its run has got.
    pub fn state(&self) -> RunState {
        if self.metrics().is_file() && self.landscape().is_file() {
            RunState::Analysed
        } else if self.is_trained() {
            RunState::Trained
        } else if self.config().is_file() {
            RunState::Interrupted
        } else {
            RunState::Empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_removes_only_what_toposcape_wrote() {
        let dir = std::env::temp_dir().join(format!("toposcape-remove-{}", std::process::id()));
        let run = RunDir::new(&dir);
        let epoch = run.epoch(2);
        std::fs::create_dir_all(epoch.path()).unwrap();
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        for file in [
            run.config(),
            run.metrics(),
            run.checkpoints().join("epoch-2.bpk"),
            epoch.landscape(),
            run.file(".metrics.json.partial-12"),
        ] {
            std::fs::write(file, "").unwrap();
        }
        // A file of the user's anywhere in it: refused, naming it, and nothing deleted.
        for own in [
            run.file("notes.txt"),
            run.checkpoints().join("mine.bpk"),
            epoch.file("notes.txt"),
            run.file("epochs").join("keep.txt"),
            run.file(".notes.txt.partial-1"),
        ] {
            std::fs::write(&own, "mine").unwrap();
            let error = run.remove("out").unwrap_err();
            let text = error.with_flags();
            assert!(text.starts_with("--out "), "{text}");
            assert!(text.contains(&own.display().to_string()), "{text}");
            assert!(
                text.contains("--force replaces only a run directory"),
                "{text}"
            );
            assert!(own.is_file() && run.config().is_file());
            std::fs::remove_file(&own).unwrap();
        }
        // Its lock file is toposcape's too, and stays (the caller holds it).
        std::fs::write(run.file(crate::lock::LOCK_FILE), "1 host -").unwrap();
        run.remove("out").unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [crate::lock::LOCK_FILE]);
        std::fs::remove_dir_all(&dir).unwrap();
        // A file where the folder should be is refused too.
        std::fs::write(&dir, "").unwrap();
        assert!(run.remove("out").is_err() && dir.is_file());
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn the_state_follows_the_files() {
        let dir = std::env::temp_dir().join(format!("toposcape-rundir-{}", std::process::id()));
        let run = RunDir::new(&dir);
        assert_eq!(run.state(), RunState::Empty);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(run.config(), "").unwrap();
        assert_eq!(run.state(), RunState::Interrupted);
        std::fs::write(run.train_metrics(), "{}").unwrap();
        assert_eq!(run.state(), RunState::Trained);
        std::fs::write(run.metrics(), "{}").unwrap();
        // The metrics alone are not a landscape.
        assert_eq!(run.state(), RunState::Trained);
        std::fs::write(run.landscape(), "").unwrap();
        assert!(run.state().is_analysed());
        std::fs::remove_file(run.train_metrics()).unwrap();
        assert_eq!(run.state(), RunState::Analysed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
