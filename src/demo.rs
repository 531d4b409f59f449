//! `toposcape demo`: the quick PINN beta sweep shipped in configs/ (embedded in the binary),
//! run into one folder, ending with the path of its report and three lines on what it found:
//! the error at each beta, the shape of the landscapes, and how the two go together.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use toposcape::report::number;
use toposcape::{EvalBackend, SweepOptions, SweepSummary};

use crate::error::InputError;

const BASE: &str = include_str!("../configs/pinn-convection.toml");
const SWEEP: &str = include_str!("../configs/sweeps/pinn-beta-quick.toml");

/// Arguments of `toposcape demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's folder (its sweep, runs and report) [default: runs/demo]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Runs at once; the cores are shared among them [default: 2, or 1 on one core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A reduced demo for tests: smaller networks, fewer epochs, coarser grids
    #[arg(long, hide = true)]
    pub smoke: bool,
}

/// The reduced demo's changes to the sweep: a small network trained briefly, 9^2 grids.
const SMOKE_VALUES: &str = r#"
"pinn.widths" = [[2, 16, 16, 1]]
"convection.collocation_points" = [200]
"convection.initial_points" = [50]
"convection.boundary_points" = [50]
"training.epochs" = [8]
"training.checkpoint_every" = [0]
"landscape.dims" = [2]
"landscape.points" = [9]
"#;

pub fn run(args: &DemoArgs) -> Result<()> {
    // Checked before anything is written (the sweep checks it again).
    if args.jobs == Some(0) {
        crate::bail_input!("--jobs 0: expected at least one job");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join("demo"));
    let inputs = out.join("inputs");
    let sweeps = inputs.join("sweeps");
    fs::create_dir_all(&sweeps)
        .map_err(|e| InputError(format!("--out {}: cannot create: {e}", out.display())))?;
    fs::write(inputs.join("pinn-convection.toml"), BASE)?;
    let mut sweep_text = SWEEP.to_string();
    if args.smoke {
        let mut table: toml::Table = sweep_text.parse()?;
        let smoke: toml::Table = SMOKE_VALUES.parse()?;
        let values = table["values"]
            .as_table_mut()
            .expect("the shipped sweep has values");
        values.extend(smoke);
        sweep_text = toml::to_string(&table)?;
    }
    let sweep_path = sweeps.join("pinn-beta-quick.toml");
    fs::write(&sweep_path, &sweep_text)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores.min(2));
    println!(
        "demo: PINNs for u_t + beta u_x = 0 at three betas, two seeds each, trained and their \
         landscapes analysed ({jobs} at a time) into {}",
        out.display()
    );
    let outcome = crate::summary::sweep(
        &toposcape::team::Solo,
        &SweepOptions {
            out: Some(out.clone()),
            execution: crate::args::execution(jobs)?,
            ..SweepOptions::new(sweep_path, EvalBackend::Cpu)
        },
    )?
    .expect("a process alone has the summary");
    println!();
    println!("Open {}", out.join("report.html").display());
    for line in summary(&outcome) {
        println!("{line}");
    }
    Ok(())
}

/// The mean of `column` over the runs with `beta`.
fn mean(outcome: &SweepSummary, beta: &str, column: &str) -> Option<f64> {
    outcome.mean(column, "convection.beta", beta)
}

/// Three lines: the error at each beta, the landscapes' minima and floors, and the rank
/// correlation of the error with the landscapes' complexity.
pub fn summary(outcome: &SweepSummary) -> Vec<String> {
    let mut betas: Vec<String> = Vec::new();
    for run in &outcome.plan.runs {
        let beta = run.value("convection.beta").unwrap_or_default();
        if !betas.contains(&beta) {
            betas.push(beta);
        }
    }
    let short = |b: &str| b.trim_end_matches(".0").to_string();
    let error: Vec<String> = betas
        .iter()
        .map(|b| match mean(outcome, b, "relative_l2_error") {
            Some(e) => format!("beta {}: {}%", short(b), number(100.0 * e)),
            None => format!("beta {}: -", short(b)),
        })
        .collect();
    let shape: Vec<String> = betas
        .iter()
        .map(|b| {
            match (
                mean(outcome, b, "minima"),
                mean(outcome, b, "loss_min"),
                mean(outcome, b, "loss_max"),
            ) {
                (Some(m), Some(low), Some(high)) => format!(
                    "beta {}: {} minim{}, loss {low:.1e} at the bottom, {:.0} decades deep",
                    short(b),
                    (m * 10.0).round() / 10.0,
                    if m == 1.0 { "um" } else { "a" },
                    (high / low).log10()
                ),
                _ => format!("beta {}: -", short(b)),
            }
        })
        .collect();
    // The sweep's own correlations of the relative L2 error with the metrics.
    let rhos: Vec<(&str, Option<f64>)> = ["minima", "total_persistence", "loss_min"]
        .iter()
        .map(|&m| (m, outcome.rho(m)))
        .collect();
    let shown: Vec<String> = rhos
        .iter()
        .map(|(m, r)| match r {
            Some(r) => format!("{} {r:+.2}", m.replace('_', " ")),
            None => format!("{} -", m.replace('_', " ")),
        })
        .collect();
    // How strongly the error follows the landscape's complexity (its minima and their
    // persistence); with six runs only a clear correlation is called one.
    let weakest = rhos[..2]
        .iter()
        .map(|(_, r)| r.unwrap_or(f64::NEG_INFINITY))
        .fold(f64::INFINITY, f64::min);
    let finding = if weakest >= 0.5 {
        "lower error goes with simpler landscapes (fewer and shallower extra basins)"
    } else if weakest > 0.0 {
        "lower error goes weakly with simpler landscapes"
    } else {
        "this sweep does not show simpler landscapes for the better-trained models"
    };
    vec![
        format!(
            "error      {} (relative L2, mean over seeds)",
            error.join(", ")
        ),
        format!("landscape  {}", shape.join("; ")),
        format!(
            "finding    {finding}: Spearman's rho of the error with {}",
            shown.join(", ")
        ),
    ]
}
