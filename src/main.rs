//! The `toposcape` command line: argument parsing, calls into the crates, error reporting.

mod analyze;
mod args;
mod bench;
mod compare;
mod demo;
mod error;
mod progress;
mod ranks;
mod run;
mod summary;
mod sweep;
mod topo;
mod train;

use std::process::ExitCode;
use std::time::Instant;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use crate::error::InputError;

/// Topological loss-landscape profiles of neural networks.
#[derive(Debug, Parser)]
#[command(name = "toposcape", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the shipped demo: a quick PINN sweep over beta (a few minutes on two cores), with
    /// its report and a summary of what it found
    Demo(demo::DemoArgs),
    /// Merge tree, persistence pairs and segmentation of a sampled landscape (.npy or .npz)
    Topo(topo::TopoArgs),
    /// Compare two landscapes (fields or metrics.json files): diagram distances and metric
    /// differences
    Compare(compare::CompareArgs),
    /// Train the model of a run config (PINN or UNet) into a run directory
    Train(train::TrainArgs),
    /// Sample the loss landscape of a trained model around its weights (Hessian, random, PCA
    /// or given directions) and compute its merge tree, profile and metrics
    Analyze(analyze::AnalyzeArgs),
    /// Train a config's model and analyse its landscape into one run directory (resumes an
    /// interrupted run)
    Run(run::RunArgs),
    /// Run every combination of a base config and lists of values (resumes an interrupted
    /// sweep) and tabulate them in runs.csv
    Sweep(sweep::SweepArgs),
    /// Measure landscape points/s, Hessian-vector products/s, merge-tree vertices/s and a
    /// small run end to end on each backend; writes bench.json
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let started = Instant::now();
    toposcape::sweep::stop_with_sweep();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let ranks = match ranks::Ranks::join() {
        Ok(ranks) => ranks,
        Err(error) => return report(&error.into(), ""),
    };
    let team = ranks.team();
    let result = match &cli.command {
        Command::Analyze(args) => analyze::run(args, team),
        Command::Sweep(args) => sweep::run(args, team),
        _ if team.size() > 1 => Err(ranks::alone(cli.command.name(), team)),
        Command::Demo(args) => demo::run(args),
        Command::Topo(args) => topo::run(args, started),
        Command::Compare(args) => compare::run(args),
        Command::Train(args) => train::run(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error, &ranks.prefix()),
    }
}

impl Command {
    /// The subcommand's name on the command line.
    fn name(&self) -> &'static str {
        match self {
            Command::Demo(_) => "demo",
            Command::Topo(_) => "topo",
            Command::Compare(_) => "compare",
            Command::Train(_) => "train",
            Command::Analyze(_) => "analyze",
            Command::Run(_) => "run",
            Command::Sweep(_) => "sweep",
            Command::Bench(_) => "bench",
        }
    }
}

/// Prints `error` as one line (after `prefix`, which names the MPI rank that failed) and gives
/// its exit status: 2 for bad input, else 1. An error that another rank reports is not printed
/// again.
fn report(error: &anyhow::Error, prefix: &str) -> ExitCode {
    let library = error.downcast_ref::<toposcape::Error>();
    if let Some(elsewhere @ toposcape::Error::Elsewhere { .. }) = library {
        return ExitCode::from(if elsewhere.is_input() { 2 } else { 1 });
    }
    if let Some(input) = error.downcast_ref::<InputError>() {
        eprintln!("toposcape: error: {prefix}{input}");
        ExitCode::from(2)
    } else if let Some(library) = library.filter(|e| e.is_input()) {
        // The library names options by key; here they are flags.
        eprintln!("toposcape: error: {prefix}{}", library.with_flags());
        ExitCode::from(2)
    } else {
        eprintln!("toposcape: internal error: {prefix}{error:#}");
        ExitCode::from(1)
    }
}

/// Help and version go to stdout as clap prints them; a usage error becomes one line on stderr
/// with exit status 2.
fn usage_error(error: clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        _ => {}
    }
    let rendered = error.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    eprintln!(
        "toposcape: error: {} (see toposcape --help)",
        parts.join(" ")
    );
    ExitCode::from(2)
}
