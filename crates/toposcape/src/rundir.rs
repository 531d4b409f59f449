//! A run directory (docs/ARCHITECTURE.md, contract 4): the names of its files, and how far
//! the run in it has got.

use std::path::{Path, PathBuf};

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

    /// The landscape of the checkpoint of `epoch` (`landscape.checkpoints = true`).
    pub fn epoch(&self, epoch: usize) -> RunDir {
        RunDir::new(self.dir.join("epochs").join(format!("epoch-{epoch:06}")))
    }

    /// Whether its training finished.
    pub fn is_trained(&self) -> bool {
        self.train_metrics().is_file()
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
