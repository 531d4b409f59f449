//! `toposcape run CONFIG`: the flags of [`toposcape::run`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use toposcape::RunOptions;

use crate::args::EvalBackendArg;

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
    crate::summary::run(&RunOptions {
        config: args.config.clone(),
        out: args.out.clone(),
        backend: args.backend.into(),
        threads: args.threads,
        force: args.force,
    })
}
