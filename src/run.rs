//! `toposcape run CONFIG`: train the config's model, then analyse its landscape, into one run
//! directory. Run again after an interruption, it picks up where it stopped: a finished
//! training is kept (the landscape's chunks resume), an interrupted one starts over (training
//! has no resume yet), and a finished run is reported and left alone.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use toposcape::AnalysisOptions;
use toposcape::training::TrainingOptions;

use crate::args::EvalBackendArg;
use crate::bail_input;
use crate::summary;
use toposcape::config;
use toposcape::report;

/// Arguments of `toposcape run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run config (TOML; see configs/README.md): the model, its training and the
    /// `[landscape]` to sample
    pub config: PathBuf,
    /// The run directory [default: runs/<config name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the model trains (cpu trains on flex) and its landscape is evaluated
    #[arg(long, value_enum, default_value_t = EvalBackendArg::Cpu)]
    pub backend: EvalBackendArg,
    /// Worker threads of the analysis [default: the number of cores; 1 on wgpu]
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Start over: replace an existing run directory
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let config = config::load(&args.config)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(args.config.file_stem().unwrap_or_default()));
    let trained = out.join("train_metrics.json").is_file();
    let interrupted = out.exists() && !trained && out.join("config.toml").is_file();
    // A run directory's config must be this config (its landscape section aside, which the
    // analysis writes back as used).
    if (trained || interrupted) && !args.force {
        let existing = config::load(&out.join("config.toml"))?;
        if !config::same_model_and_training(&existing, &config) {
            bail_input!(
                "--out {}: holds {} run of a different config; pass --force to replace it, or \
                 --out another folder",
                out.display(),
                if trained { "a" } else { "an interrupted" }
            );
        }
    }
    if trained && !args.force {
        if out.join("metrics.json").is_file() && out.join("landscape.npy").is_file() {
            println!(
                "run directory {} is complete (trained and analysed); --force starts over",
                out.display()
            );
            if config.landscape.checkpoints {
                analyse_checkpoints(&out, args, config.training.epochs)?;
            }
            report::write_run_report(&out)?;
            return Ok(());
        }
        println!("trained model found in {}; analysing", out.display());
    } else {
        if interrupted {
            println!("{}: an interrupted training; training again", out.display());
        }
        summary::train(&TrainingOptions {
            out: Some(out.clone()),
            force: args.force || interrupted,
            ..TrainingOptions::new(
                &args.config,
                toposcape::EvalBackend::from(args.backend).burn(),
            )
        })?;
    }
    summary::analyse(&AnalysisOptions {
        threads: args.threads,
        ..AnalysisOptions::new(&out, args.backend.into())
    })?;
    if config.landscape.checkpoints {
        analyse_checkpoints(&out, args, config.training.epochs)?;
    }
    report::write_run_report(&out)?;
    println!("report       {}", out.join("report.html").display());
    Ok(())
}

/// The training checkpoints of a run directory, `(epoch, file)`, in epoch order.
fn checkpoints(out: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(out.join("checkpoints")) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        let epoch = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("epoch-")?.strip_suffix(".bpk")?.parse().ok());
        if let Some(epoch) = epoch {
            found.push((epoch, path));
        }
    }
    found.sort();
    Ok(found)
}

/// `[landscape] checkpoints = true`: the landscape around every checkpoint's weights (each
/// along its own directions) into `epochs/epoch-N/`, skipping those already analysed and the
/// last epoch's (the run's own landscape), and `profiles_over_epochs.png`: their profiles and
/// the final one in a row on one loss scale.
fn analyse_checkpoints(out: &Path, args: &RunArgs, epochs: usize) -> Result<()> {
    // The checkpoint of the last epoch holds the final weights: its landscape is the run's own.
    let found: Vec<_> = checkpoints(out)?
        .into_iter()
        .filter(|(epoch, _)| *epoch != epochs)
        .collect();
    let mut cells = Vec::with_capacity(found.len() + 1);
    for (i, (epoch, file)) in found.iter().enumerate() {
        let dir = out.join("epochs").join(format!("epoch-{epoch:06}"));
        if !(dir.join("metrics.json").is_file() && dir.join("landscape.npy").is_file()) {
            println!(
                "checkpoint   epoch {epoch} ({} of {}): analysing its landscape",
                i + 1,
                found.len()
            );
            summary::analyse(&AnalysisOptions {
                config: Some(out.join("config.toml")),
                out: Some(dir.clone()),
                threads: args.threads,
                ..AnalysisOptions::new(file, args.backend.into())
            })?;
        }
        cells.push((format!("epoch {epoch}"), dir));
    }
    cells.push((format!("epoch {epochs} (final)"), out.to_path_buf()));
    let png = crate::sweep::profile_grid(&cells, cells.len(), false)?;
    let mut files = toposcape::output::Outputs::default();
    files.write("out", &out.join("profiles_over_epochs.png"), |w| {
        Ok(std::io::Write::write_all(w, &png)?)
    })?;
    files.commit()?;
    println!(
        "epochs       {} checkpoint landscapes; profiles over training in {}",
        found.len(),
        out.join("profiles_over_epochs.png").display()
    );
    Ok(())
}
