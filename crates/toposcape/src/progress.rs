//! How long work tells its caller how far it is: the command line draws bars from it, a
//! program can log it or ignore it ([`Silent`]).

/// A stage of the pipeline that takes long enough to report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Training: steps are epochs.
    Training,
    /// The Hessian's eigenpairs, trace and density: no known total; messages say what is
    /// being computed and how many Hessian-vector products it took so far.
    Hessian,
    /// Sampling the landscape: steps are points.
    Landscape,
    /// A merge tree of a field read from a file: steps are vertices.
    MergeTree,
}

/// Receives the progress of long work. Every method has an empty default, and all may be
/// called from worker threads.
pub trait Progress: Sync {
    /// `stage` starts with `total` steps (unknown for `None`), `done` of them already done
    /// (by an interrupted run that is resumed).
    fn start(&self, stage: Stage, total: Option<u64>, done: u64) {
        let _ = (stage, total, done);
    }

    /// `done` steps of the current stage are done, counted from its start.
    fn set(&self, done: u64) {
        let _ = done;
    }

    /// What the current stage is doing now.
    fn message(&self, text: &str) {
        let _ = text;
    }

    /// The current stage is over.
    fn finish(&self) {}

    /// A sweep has finished `done` of its `total` runs; `current` is the run that starts now
    /// (`None` once the sweep is over). The runs' own stages report in between.
    fn sweep(&self, done: usize, total: usize, current: Option<&str>) {
        let _ = (done, total, current);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
