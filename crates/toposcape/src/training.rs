//! Training a run config's model into a run directory (docs/ARCHITECTURE.md, contract 4).
//!
//! The run directory gets the resolved `config.toml` first, then, as training goes,
//! `train_curve.csv` (one line per epoch, flushed) and `checkpoints/epoch-NNNNNN.bpk` every
//! `training.checkpoint_every` epochs, and at the end `theta0.safetensors`, `theta0.bpk`,
//! `train_curve.png` and `train_metrics.json`. `train_metrics.json` is written last: a folder
//! without it is an interrupted run.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;
use toposcape_models::checkpoint::{save_checkpoint, save_safetensors};
use toposcape_models::convection::model_error;
use toposcape_models::segmentation::SegmentationSet;
use toposcape_models::train::{EpochReport, scalar, train as train_model};
use toposcape_models::unet::{Unet, segmentation_scores};
use toposcape_topology::render::{self, FigureOptions, Series};

use crate::backend::{Backend, load_weights};
use crate::config::{self, RunConfig, Task};
use crate::documents::JsonNumber;
use crate::error::{Error, Result};
use crate::progress::{Progress, Stage};
use crate::rundir::RunDir;

/// What to train and where.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingOptions {
    /// The run config (TOML).
    pub config: PathBuf,
    /// The run directory to create [default: runs/<config name>].
    pub out: Option<PathBuf>,
    /// The compute backend.
    pub backend: Backend,
    /// Replace an existing run directory.
    pub force: bool,
}

impl TrainingOptions {
    /// Training of `config` on `backend` into runs/<config name>.
    pub fn new(config: impl Into<PathBuf>, backend: Backend) -> Self {
        TrainingOptions {
            config: config.into(),
            out: None,
            backend,
            force: false,
        }
    }
}

/// What a training did and reached.
#[derive(Debug, Clone)]
pub struct TrainingSummary {
    /// The run directory written.
    pub out: PathBuf,
    /// What was trained.
    pub task: Task,
    /// The model's parameters.
    pub parameters: usize,
    /// Epochs trained: 0 when `training.weights` were loaded instead.
    pub epochs: usize,
    /// The weights loaded instead of training (`training.weights`).
    pub loaded: Option<PathBuf>,
    /// Seconds from the start of training.
    pub seconds: f64,
    /// The loss of the final weights.
    pub final_loss: f64,
    /// The final weights' error or scores.
    pub evaluation: Evaluation,
    /// Whether the training diverged: the final loss or a weight is not finite. Such weights
    /// have no landscape; `toposcape run` stops after training them.
    pub diverged: bool,
    /// What the caller should know: a divergence, weights loaded from half precision.
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
struct TrainMetrics {
    task: Task,
    backend: &'static str,
    epochs: usize,
    parameters: usize,
    final_loss: JsonNumber,
    /// The final loss or a weight is not finite.
    diverged: bool,
    /// The first epoch whose loss was not finite.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_nonfinite_epoch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_l2_error: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pixel_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean_iou: Option<f64>,
    seconds: f64,
}

/// The evaluation of a trained model: relative L2 error, or accuracy and mean IoU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evaluation {
    /// The PINN's relative L2 error against the exact solution.
    pub relative_l2_error: Option<f64>,
    /// The UNet's pixel accuracy and mean IoU on the held-out split.
    pub pixel_accuracy: Option<f64>,
    /// The mean intersection over union.
    pub mean_iou: Option<f64>,
}

impl Evaluation {
    /// The one number the curve shows: the error, or the mean IoU.
    pub fn headline(&self) -> Option<f64> {
        self.relative_l2_error.or(self.mean_iou)
    }
}

/// Trains the model of `options.config` into its run directory, reporting [`Stage::Training`]
/// to `progress`.
pub fn train(options: &TrainingOptions, progress: &dyn Progress) -> Result<TrainingSummary> {
    let config = config::load(&options.config)?;
    let config_dir = config::folder_of(&options.config);
    let out = match &options.out {
        Some(dir) => dir.clone(),
        None => {
            let stem = options.config.file_stem().unwrap_or_default();
            Path::new("runs").join(stem)
        }
    };
    // Everything the caller can get wrong is checked before the run directory is created.
    crate::memory::training(&config)
        .check(crate::memory::available())
        .map_err(|(key, what)| {
            Error::Input(format!("{}: key {key}: {what}", options.config.display()))
        })?;
    let data = training_data(&config, &config_dir, &options.config)?;
    let device = options.backend.device()?;
    let weights = match &config.training.weights {
        None => None,
        Some(file) => {
            let path = config_dir.join(file);
            if !path.is_file() {
                return Err(Error::Input(format!(
                    "{}: key training.weights: {}: no such file",
                    options.config.display(),
                    path.display()
                )));
            }
            Some(path)
        }
    };
    let lock = prepare_run_dir(&out, options.force)?;
    let run_dir = RunDir::new(&out);
    let result = fs::write(run_dir.config(), config.to_toml())
        .map_err(|e| Error::file("write", &run_dir.config(), e))
        .and_then(|()| train_into(&config, &out, options, device, weights, data, progress));
    if result.is_err() {
        // A training is not resumed from its checkpoints, so nothing of a failed one is worth
        // keeping; the folder holds only what this call wrote (it was new, or emptied by
        // `force`), so removing it loses nothing, and leaves no folder that looks started.
        let _ = run_dir.remove("out");
        drop(lock);
        let _ = fs::remove_dir(&out);
    }
    result
}

/// Trains into the prepared run directory `out`.
fn train_into(
    config: &RunConfig,
    out: &Path,
    options: &TrainingOptions,
    device: Device,
    weights: Option<PathBuf>,
    data: Option<(SegmentationSet, SegmentationSet)>,
    progress: &dyn Progress,
) -> Result<TrainingSummary> {
    let run = Run {
        config,
        out,
        backend: options.backend,
        device,
        started: Instant::now(),
        weights,
        progress,
    };
    match data {
        None => run.pinn(),
        Some((train_set, test_set)) => run.unet(train_set, test_set),
    }
}

/// The UNet's training and held-out images (none for the PINN).
fn training_data(
    config: &RunConfig,
    config_dir: &Path,
    config_path: &Path,
) -> Result<Option<(SegmentationSet, SegmentationSet)>> {
    Ok(match config.task {
        Task::PinnConvection => None,
        Task::UnetShapes => Some(config.shapes_config().generate()),
        Task::UnetPet => {
            let pet = config
                .pet_config(config_dir)
                .expect("checked: [pet] present");
            let sets = pet.load().map_err(|e| {
                Error::Input(format!("{}: key pet.root: {e}", config_path.display()))
            })?;
            if sets.1.is_empty() {
                return Err(Error::Input(format!(
                    "{}: key pet.test_fraction: no image left for the held-out split",
                    config_path.display()
                )));
            }
            Some(sets)
        }
    })
}

/// Creates the run directory and takes its lock; an existing one is an error of `out` unless
/// `force`.
fn prepare_run_dir(out: &Path, force: bool) -> Result<crate::lock::FolderLock> {
    let run = RunDir::new(out);
    let lock = if out.exists() {
        if !force {
            let state = if run.is_trained() {
                "holds a finished run"
            } else {
                "exists (an interrupted run, or another folder)"
            };
            return Err(Error::option(
                "out",
                out.display(),
                format!("{state}; refusing to overwrite it (pass `force` to replace it)"),
            ));
        }
        let lock = run.lock("out")?;
        run.remove("out")?;
        lock
    } else {
        run.lock("out")?
    };
    fs::create_dir_all(run.checkpoints())
        .map_err(|e| Error::option("out", out.display(), format!("cannot create: {e}")))?;
    Ok(lock)
}

struct Run<'a> {
    config: &'a RunConfig,
    out: &'a Path,
    backend: Backend,
    /// The backend's plain (no autodiff) device.
    device: Device,
    started: Instant,
    /// Trained weights to load instead of training (`training.weights`).
    weights: Option<PathBuf>,
    progress: &'a dyn Progress,
}

/// Writes `train_curve.csv` line by line.
struct Curve {
    file: BufWriter<File>,
    points: Vec<(usize, f64, Option<f64>)>,
    eval_name: &'static str,
}

impl Curve {
    fn create(out: &Path, eval_name: &'static str) -> Result<Curve> {
        let path = out.join("train_curve.csv");
        let mut file =
            BufWriter::new(File::create(&path).map_err(|e| Error::file("create", &path, e))?);
        writeln!(file, "epoch,loss,{eval_name},seconds")?;
        file.flush()?;
        Ok(Curve {
            file,
            points: Vec::new(),
            eval_name,
        })
    }

    fn push(&mut self, epoch: usize, loss: f64, eval: Option<f64>, seconds: f64) -> Result<()> {
        let eval_text = eval.map(|v| format!("{v:.6e}")).unwrap_or_default();
        writeln!(self.file, "{epoch},{loss:.9e},{eval_text},{seconds:.3}")?;
        self.file.flush()?;
        self.points.push((epoch, loss, eval));
        Ok(())
    }

    fn png(&self) -> Result<Vec<u8>> {
        let loss = Series {
            name: "training loss".into(),
            points: self.points.iter().map(|&(e, l, _)| (e as f64, l)).collect(),
        };
        let eval = Series {
            name: self.eval_name.replace('_', " "),
            points: self
                .points
                .iter()
                .filter_map(|&(e, _, v)| v.map(|v| (e as f64, v)))
                .collect(),
        };
        let options = FigureOptions {
            title: "Training curve".into(),
            log_scale: true,
            ..FigureOptions::default()
        };
        Ok(render::curve_png(
            &[loss, eval],
            "epoch",
            "value (log scale)",
            &options,
        )?)
    }
}

impl Run<'_> {
    fn checkpoint_due(&self, epoch: usize) -> bool {
        let every = self.config.training.checkpoint_every;
        every > 0 && epoch.is_multiple_of(every)
    }

    /// The per-epoch work shared by both models: progress, the curve line, checkpoints.
    fn on_epoch<M: burn::module::Module + Clone>(
        &self,
        curve: &mut Curve,
        report: &EpochReport<'_, M>,
        evaluate: impl Fn(&M) -> Evaluation,
    ) -> Result<()> {
        let due = self.checkpoint_due(report.epoch);
        let eval = if due {
            evaluate(report.model).headline()
        } else {
            None
        };
        curve.push(
            report.epoch,
            report.loss,
            eval,
            self.started.elapsed().as_secs_f64(),
        )?;
        if due {
            let path = RunDir::new(self.out).checkpoint(report.epoch);
            save_checkpoint(report.model, &path)?;
        }
        self.progress.message(&format!("{:.4e}", report.loss));
        self.progress.set(report.epoch as u64);
        Ok(())
    }

    /// Trains, reporting epochs, writing the curve and checkpoints as epochs finish.
    /// `loss(model, batch)` is one batch's loss; `evaluate` runs at checkpoint epochs.
    fn train_with_curve<M: burn::module::Module + Clone>(
        &self,
        model: M,
        batches: usize,
        eval_name: &'static str,
        mut loss: impl FnMut(&M, usize) -> Tensor<1>,
        evaluate: impl Fn(&M) -> Evaluation,
    ) -> Result<(M, Curve)> {
        let mut curve = Curve::create(self.out, eval_name)?;
        if let Some(path) = &self.weights {
            return Ok((load_weights(model, path)?, curve));
        }
        let epochs = self.config.training.epochs as u64;
        self.progress.start(Stage::Training, Some(epochs), 0);
        let model = train_model(
            model,
            &self.config.train_settings(),
            batches,
            |m, _, b| loss(m, b),
            |report| self.on_epoch(&mut curve, &report, &evaluate),
        )?;
        self.progress.finish();
        Ok((model, curve))
    }

    fn finish<M: burn::module::Module + Clone>(
        &self,
        model: &M,
        final_loss: f64,
        eval: Evaluation,
        curve: Curve,
    ) -> Result<TrainingSummary> {
        let run = RunDir::new(self.out);
        let nonfinite = toposcape_perturb::params::flatten(model)
            .iter()
            .filter(|w| !w.is_finite())
            .count();
        let diverged = nonfinite > 0 || !final_loss.is_finite();
        let first_nonfinite_epoch = curve.points.iter().find(|p| !p.1.is_finite()).map(|p| p.0);
        let mut warnings = Vec::new();
        if let Some(path) = &self.weights {
            warnings.extend(crate::backend::narrow_weights_warning(path)?);
        }
        if diverged {
            let when = match first_nonfinite_epoch {
                Some(epoch) => format!("its loss is not finite from epoch {epoch}"),
                None => format!("its final loss is {final_loss}"),
            };
            warnings.push(format!(
                "the training diverged: {when}, and {nonfinite} of the {} weights are not \
                 finite; there is no landscape to analyse (a smaller training.learning_rate \
                 may train)",
                model.num_params()
            ));
        }
        save_checkpoint(model, &run.file("theta0.bpk"))?;
        let metadata = self.config.weights_metadata();
        save_safetensors(model, &run.weights(), &metadata)?;
        let png = run.file("train_curve.png");
        fs::write(&png, curve.png()?).map_err(|e| Error::file("write", &png, e))?;
        let metrics = TrainMetrics {
            task: self.config.task,
            backend: self.backend.name(),
            epochs: if self.weights.is_some() {
                0
            } else {
                self.config.training.epochs
            },
            parameters: model.num_params(),
            final_loss: JsonNumber(final_loss),
            diverged,
            first_nonfinite_epoch,
            relative_l2_error: eval.relative_l2_error,
            pixel_accuracy: eval.pixel_accuracy,
            mean_iou: eval.mean_iou,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&metrics)? + "\n";
        // Written last, through a rename: its presence means trained.
        let partial = run.file(".train_metrics.json.partial");
        fs::write(&partial, text).map_err(|e| Error::file("write", &partial, e))?;
        fs::rename(&partial, run.train_metrics())
            .map_err(|e| Error::file("move into place", &run.train_metrics(), e))?;
        Ok(TrainingSummary {
            out: self.out.to_path_buf(),
            task: self.config.task,
            parameters: metrics.parameters,
            epochs: metrics.epochs,
            loaded: self.weights.clone(),
            seconds: metrics.seconds,
            final_loss,
            evaluation: eval,
            diverged,
            warnings,
        })
    }

    fn pinn(&self) -> Result<TrainingSummary> {
        let device = self.device.clone().autodiff();
        device.seed(self.config.seed);
        let problem = self.config.convection_config();
        let data = problem.data(&device);
        let model = self.config.pinn_config().init(&device);
        let beta = problem.beta;
        let evaluate = |m: &toposcape_models::pinn::Pinn| Evaluation {
            relative_l2_error: Some(model_error(m, beta, &device)),
            ..Evaluation::default()
        };
        let (model, curve) = self.train_with_curve(
            model,
            1,
            "relative_l2_error",
            |m, _| problem.loss(m, &data).total,
            evaluate,
        )?;
        let final_loss = scalar(problem.loss(&model, &data).total);
        self.finish(&model, final_loss, evaluate(&model), curve)
    }

    fn unet(
        &self,
        train_set: SegmentationSet,
        test_set: SegmentationSet,
    ) -> Result<TrainingSummary> {
        let device = self.device.clone().autodiff();
        device.seed(self.config.seed);
        let unet = self.config.unet_config();
        let model = unet.init(&device);
        let batch = self.config.training.batch_size.min(train_set.len());
        let batches = train_set.len() / batch;
        let classes = unet.classes;
        let evaluate = |m: &Unet| {
            let plain = m.valid();
            let plain_device = &self.device;
            let mut predicted = Vec::with_capacity(test_set.labels.len());
            for start in (0..test_set.len()).step_by(batch) {
                let count = batch.min(test_set.len() - start);
                let (images, _) = test_set.batch(start, count, plain_device);
                let p: Vec<i64> = plain
                    .predict(images)
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec()
                    .expect("int predictions");
                predicted.extend(p);
            }
            let scores = segmentation_scores(&predicted, &test_set.labels, classes);
            Evaluation {
                pixel_accuracy: Some(scores.pixel_accuracy),
                mean_iou: Some(scores.mean_iou),
                ..Evaluation::default()
            }
        };
        let (model, curve) = self.train_with_curve(
            model,
            batches,
            "mean_iou",
            |m, b| {
                let (x, y) = train_set.batch(b * batch, batch, &device);
                m.loss(x, y)
            },
            evaluate,
        )?;
        // The final loss over the whole training set, batch by batch.
        let mut total = 0.0;
        for b in 0..batches {
            let (x, y) = train_set.batch(b * batch, batch, &device);
            total += scalar(model.loss(x, y));
        }
        self.finish(&model, total / batches as f64, evaluate(&model), curve)
    }
}
