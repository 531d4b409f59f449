//! `toposcape train CONFIG`: the flags of [`toposcape::training`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use toposcape::training::TrainingOptions;

use crate::args::BackendArg;

/// Arguments of `toposcape train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The run config (TOML; see configs/README.md)
    pub config: PathBuf,
    /// The run directory to create [default: runs/<config name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The compute backend (flex is the default: measured 12x faster than ndarray per UNet step)
    #[arg(long, value_enum, default_value_t = BackendArg::Flex)]
    pub backend: BackendArg,
    /// Replace an existing run directory
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    crate::summary::train(&TrainingOptions {
        config: args.config.clone(),
        out: args.out.clone(),
        backend: args.backend.into(),
        force: args.force,
    })
}
