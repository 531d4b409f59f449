//! A whole run, as `toposcape run` does it: train a config's model, then analyse its landscape,
//! into one run directory. Run again after an interruption, it picks up where it stopped: a
//! finished training is kept (the landscape's chunks resume), an interrupted one starts over
//! (training has no resume yet), and a finished run is reported and left alone.

use std::path::{Path, PathBuf};

use crate::config::{self, RunConfig};
use crate::landscape::{AnalysisOptions, AnalysisSummary, analyse};
use crate::output::Outputs;
use crate::rundir::RunDir;
use crate::training::{TrainingOptions, TrainingSummary, train};
use crate::{Error, EvalBackend, Progress, Result};

/// What to run, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// The run config (TOML): the model, its training and the `[landscape]` to sample.
    pub config: PathBuf,
    /// The run directory; `None` for `runs/<config name>`.
    pub out: Option<PathBuf>,
    /// Where the model trains (the CPU trains on flex) and its landscape is evaluated.
    pub backend: EvalBackend,
    /// Worker threads of the analysis (`None`: the number of cores; 1 on wgpu).
    pub threads: Option<usize>,
    /// Start over: replace an existing run directory.
    pub force: bool,
}

impl RunOptions {
    /// A run of `config` on `backend` into `runs/<config name>`.
    pub fn new(config: impl Into<PathBuf>, backend: EvalBackend) -> Self {
        RunOptions {
            config: config.into(),
            out: None,
            backend,
            threads: None,
            force: false,
        }
    }

    /// The run directory these options name.
    pub fn run_dir(&self) -> RunDir {
        RunDir::new(
            self.out.clone().unwrap_or_else(|| {
                Path::new("runs").join(self.config.file_stem().unwrap_or_default())
            }),
        )
    }
}

/// What a run is doing, for its caller to tell the user.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// The run directory already holds the finished run: only the checkpoints' landscapes
    /// that are missing and the report are made.
    Complete,
    /// A finished training is there: only the analysis runs.
    TrainedFound,
    /// An interrupted training is there: it starts over.
    Retraining,
    /// The model is trained.
    Trained(&'a TrainingSummary),
    /// The training diverged (its loss or weights are not finite): there is no landscape to
    /// analyse, and the run ends here.
    Diverged,
    /// A landscape is analysed (the run's own, or a checkpoint's).
    Analysed(&'a AnalysisSummary),
    /// The landscape of the checkpoint of `epoch` (the `index`-th of `count`, from 0) is
    /// being analysed.
    Checkpoint {
        /// The checkpoint's epoch.
        epoch: usize,
        /// Which of the checkpoints, from 0.
        index: usize,
        /// The checkpoints that get a landscape.
        count: usize,
    },
    /// Every checkpoint has its landscape; their profiles are in `figure`.
    Epochs {
        /// The checkpoints with a landscape.
        count: usize,
        /// `profiles_over_epochs.png`.
        figure: &'a Path,
    },
    /// The run's report is written.
    Report(&'a Path),
}

/// Trains and analyses a run (or finishes an interrupted one), telling `events` what it does.
pub fn run(
    options: &RunOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunDir> {
    let config = config::load(&options.config)?;
    let run = options.run_dir();
    let out = run.path().to_path_buf();
    let trained = run.is_trained();
    let interrupted = !trained && run.config().is_file();
    // A run directory's config must be this config (its landscape section aside, which the
    // analysis writes back as used).
    if (trained || interrupted) && !options.force {
        let existing = config::load(&run.config())?;
        if !config::same_model_and_training(&existing, &config) {
            return Err(Error::option(
                "out",
                out.display(),
                format!(
                    "holds {} run of a different config; pass `force` to replace it, or `out` \
                     another folder",
                    if trained { "a" } else { "an interrupted" }
                ),
            ));
        }
    }
    let analysis = AnalysisOptions {
        threads: options.threads,
        ..AnalysisOptions::new(&out, options.backend)
    };
    if trained && !options.force && run.state().is_analysed() {
        events(RunEvent::Complete);
    } else if trained && !options.force && run.is_diverged() {
        events(RunEvent::Diverged);
        return finish(&out, events).map(|()| run);
    } else {
        if trained && !options.force {
            events(RunEvent::TrainedFound);
        } else {
            if interrupted {
                events(RunEvent::Retraining);
            }
            let summary = train(
                &TrainingOptions {
                    out: Some(out.clone()),
                    force: options.force || interrupted,
                    ..TrainingOptions::new(&options.config, options.backend.burn())
                },
                progress,
            )?;
            events(RunEvent::Trained(&summary));
            if summary.diverged {
                events(RunEvent::Diverged);
                return finish(&out, events).map(|()| run);
            }
        }
        events(RunEvent::Analysed(&analyse(&analysis, progress)?));
    }
    if config.landscape.checkpoints {
        analyse_checkpoints(&run, &config, &analysis, progress, events)?;
    }
    finish(&out, events)?;
    Ok(run)
}

/// The run's report.
fn finish(out: &Path, events: &mut dyn FnMut(RunEvent<'_>)) -> Result<()> {
    crate::report::write_run_report(out)?;
    events(RunEvent::Report(&out.join("report.html")));
    Ok(())
}

/// `[landscape] checkpoints = true`: the landscape around every checkpoint's weights (each
/// along its own directions) into `epochs/epoch-N/`, skipping those already analysed and the
/// last epoch's (the run's own landscape), and `profiles_over_epochs.png`: their profiles and
/// the final one in a row on one loss scale.
fn analyse_checkpoints(
    run: &RunDir,
    config: &RunConfig,
    analysis: &AnalysisOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(RunEvent<'_>),
) -> Result<()> {
    let epochs = config.training.epochs;
    // The checkpoint of the last epoch holds the final weights: its landscape is the run's own.
    let found: Vec<_> = run
        .checkpoint_files()?
        .into_iter()
        .filter(|(epoch, _)| *epoch != epochs)
        .collect();
    let mut cells = Vec::with_capacity(found.len() + 1);
    for (index, (epoch, file)) in found.iter().enumerate() {
        let dir = run.epoch(*epoch);
        if !dir.state().is_analysed() {
            events(RunEvent::Checkpoint {
                epoch: *epoch,
                index,
                count: found.len(),
            });
            let summary = analyse(
                &AnalysisOptions {
                    input: file.clone(),
                    config: Some(run.config()),
                    out: Some(dir.path().to_path_buf()),
                    ..analysis.clone()
                },
                progress,
            )?;
            events(RunEvent::Analysed(&summary));
        }
        cells.push((format!("epoch {epoch}"), dir.path().to_path_buf()));
    }
    cells.push((format!("epoch {epochs} (final)"), run.path().to_path_buf()));
    let png = crate::figures::profile_grid(&cells, cells.len(), false)?;
    let figure = run.file("profiles_over_epochs.png");
    let mut files = Outputs::default();
    files.bytes("out", &figure, png)?;
    files.commit()?;
    events(RunEvent::Epochs {
        count: found.len(),
        figure: &figure,
    });
    Ok(())
}
