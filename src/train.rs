//! `toposcape train CONFIG`: trains the config's model into a run directory.
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

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use toposcape_models::checkpoint::{save_checkpoint, save_safetensors};
use toposcape_models::convection::model_error;
use toposcape_models::segmentation::SegmentationSet;
use toposcape_models::train::{EpochReport, scalar, train};
use toposcape_models::unet::{Unet, segmentation_scores};
use toposcape_topology::render::{self, FigureOptions, Series};

use crate::bail_input;
use crate::config::{self, RunConfig, Task};
use crate::error::InputError;

/// The compute backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn's ndarray CPU backend
    Ndarray,
    /// burn's flex CPU backend (ndarray's successor)
    Flex,
    /// burn's wgpu backend: a GPU, or a CPU Vulkan adapter (needs the `wgpu` build feature)
    Wgpu,
}

impl Backend {
    /// The backend's device. wgpu is initialised here, so a machine without an adapter is
    /// told so at once (an input error: the flag cannot be honoured here).
    pub fn device(self) -> Result<Device, InputError> {
        match self {
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            Backend::Flex => Ok(Device::flex()),
            Backend::Wgpu => wgpu_device(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Ndarray => "ndarray",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, InputError> {
    use std::sync::OnceLock;
    // The runtime can be initialised once per process; later calls reuse its device.
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .init()
                .map_err(|e| e.to_string().replace('\n', " "))
        })
        .clone()
        .map_err(|e| InputError(format!("--backend wgpu: no usable wgpu adapter: {e}")))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device, InputError> {
    Err(InputError(
        "--backend wgpu: this toposcape was built without the wgpu feature (build it with \
         `cargo install --path . --features wgpu`)"
            .into(),
    ))
}

/// Arguments of `toposcape train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The run config (TOML; see configs/README.md)
    pub config: PathBuf,
    /// The run directory to create [default: runs/<config name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The compute backend (flex is the default: measured 12x faster than ndarray per UNet step)
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// Replace an existing run directory
    #[arg(long)]
    pub force: bool,
}

#[derive(Serialize)]
struct TrainMetrics {
    task: Task,
    backend: &'static str,
    epochs: usize,
    parameters: usize,
    final_loss: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_l2_error: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pixel_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean_iou: Option<f64>,
    seconds: f64,
}

/// The evaluation of a trained model: relative L2 error, or accuracy and mean IoU.
#[derive(Debug, Clone, Copy, Default)]
struct Evaluation {
    relative_l2_error: Option<f64>,
    pixel_accuracy: Option<f64>,
    mean_iou: Option<f64>,
}

impl Evaluation {
    /// The one number the curve shows: the error, or the mean IoU.
    fn headline(&self) -> Option<f64> {
        self.relative_l2_error.or(self.mean_iou)
    }
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let config = config::load(&args.config)?;
    let config_dir = config::folder_of(&args.config);
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            let stem = args.config.file_stem().unwrap_or_default();
            Path::new("runs").join(stem)
        }
    };
    // Everything the user can get wrong is checked before the run directory is created.
    let data = match config.task {
        Task::PinnConvection => None,
        Task::UnetShapes => Some(config.shapes_config().generate()),
        Task::UnetPet => {
            let pet = config
                .pet_config(&config_dir)
                .expect("checked: [pet] present");
            let sets = pet
                .load()
                .map_err(|e| InputError(format!("{}: key pet.root: {e}", args.config.display())))?;
            if sets.1.is_empty() {
                bail_input!(
                    "{}: key pet.test_fraction: no image left for the held-out split",
                    args.config.display()
                );
            }
            Some(sets)
        }
    };
    let device = args.backend.device()?;
    let weights = match &config.training.weights {
        None => None,
        Some(file) => {
            let path = config_dir.join(file);
            if !path.is_file() {
                bail_input!(
                    "{}: key training.weights: {}: no such file",
                    args.config.display(),
                    path.display()
                );
            }
            Some(path)
        }
    };
    prepare_run_dir(&out, args.force)?;
    fs::write(out.join("config.toml"), config.to_toml())
        .with_context(|| format!("cannot write {}", out.join("config.toml").display()))?;
    let run = Run {
        config: &config,
        out: &out,
        backend: args.backend,
        device,
        started: Instant::now(),
        weights,
    };
    match data {
        None => run.pinn(),
        Some((train_set, test_set)) => run.unet(train_set, test_set),
    }
}

/// Creates the run directory; an existing one is an input error unless `force`.
fn prepare_run_dir(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        if !force {
            let state = if out.join("train_metrics.json").is_file() {
                "holds a finished run"
            } else {
                "exists (an interrupted run, or another folder)"
            };
            bail_input!(
                "--out {}: {state}; refusing to overwrite it (pass --force to replace it)",
                out.display()
            );
        }
        if !out.is_dir() {
            bail_input!("--out {}: is a file; expected a folder", out.display());
        }
        fs::remove_dir_all(out).with_context(|| format!("cannot remove {}", out.display()))?;
    }
    fs::create_dir_all(out.join("checkpoints"))
        .map_err(|e| InputError(format!("--out {}: cannot create: {e}", out.display())))?;
    Ok(())
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
        let mut file = BufWriter::new(
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
        );
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

fn progress(epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "training {bar:30} epoch {pos}/{len} · loss {msg} · {elapsed} elapsed, ETA {eta}",
        )
        .expect("a valid template"),
    );
    bar
}

impl Run<'_> {
    fn checkpoint_due(&self, epoch: usize) -> bool {
        let every = self.config.training.checkpoint_every;
        every > 0 && epoch.is_multiple_of(every)
    }

    /// The per-epoch work shared by both models: progress, the curve line, checkpoints.
    fn on_epoch<M: burn::module::Module + Clone>(
        &self,
        bar: &ProgressBar,
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
            let path = self
                .out
                .join("checkpoints")
                .join(format!("epoch-{:06}.bpk", report.epoch));
            save_checkpoint(report.model, &path)?;
        }
        bar.set_message(format!("{:.4e}", report.loss));
        bar.set_position(report.epoch as u64);
        Ok(())
    }

    /// Trains with a progress bar, writing the curve and checkpoints as epochs finish.
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
            println!("loading {} instead of training", path.display());
            return Ok((crate::analyze::load_weights(model, path)?, curve));
        }
        let bar = progress(self.config.training.epochs);
        let model = train(
            model,
            &self.config.train_settings(),
            batches,
            |m, _, b| loss(m, b),
            |report| self.on_epoch(&bar, &mut curve, &report, &evaluate),
        )?;
        bar.finish_and_clear();
        Ok((model, curve))
    }

    fn finish<M: burn::module::Module + Clone>(
        &self,
        model: &M,
        final_loss: f64,
        eval: Evaluation,
        curve: Curve,
    ) -> Result<()> {
        save_checkpoint(model, &self.out.join("theta0.bpk"))?;
        let metadata = self.config.weights_metadata();
        save_safetensors(model, &self.out.join("theta0.safetensors"), &metadata)?;
        fs::write(self.out.join("train_curve.png"), curve.png()?)?;
        let metrics = TrainMetrics {
            task: self.config.task,
            backend: self.backend.name(),
            epochs: if self.weights.is_some() {
                0
            } else {
                self.config.training.epochs
            },
            parameters: model.num_params(),
            final_loss,
            relative_l2_error: eval.relative_l2_error,
            pixel_accuracy: eval.pixel_accuracy,
            mean_iou: eval.mean_iou,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&metrics)? + "\n";
        let path = self.out.join("train_metrics.json");
        let partial = self.out.join(".train_metrics.json.partial");
        fs::write(&partial, text)?;
        fs::rename(&partial, &path)?;
        println!(
            "trained {} ({} parameters, {} epochs) in {:.1} s: loss {:.4e}{}",
            match self.config.task {
                Task::PinnConvection => "the PINN",
                _ => "the UNet",
            },
            metrics.parameters,
            metrics.epochs,
            metrics.seconds,
            final_loss,
            match (eval.relative_l2_error, eval.pixel_accuracy, eval.mean_iou) {
                (Some(e), _, _) => format!(", relative L2 error {:.2}%", 100.0 * e),
                (_, Some(a), Some(m)) => format!(", pixel accuracy {a:.3}, mean IoU {m:.3}"),
                _ => String::new(),
            }
        );
        println!("run directory: {}", self.out.display());
        Ok(())
    }

    fn pinn(&self) -> Result<()> {
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

    fn unet(&self, train_set: SegmentationSet, test_set: SegmentationSet) -> Result<()> {
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
