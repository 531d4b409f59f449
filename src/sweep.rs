//! `toposcape sweep SWEEP.toml`: the flags of [`toposcape::sweep`]. One job runs the sweep's
//! runs one after another in this process; `--jobs N` runs N at once, each a child
//! `toposcape run`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use toposcape::SweepOptions;
use toposcape::team::Team;

use crate::args::EvalBackendArg;

/// Arguments of `toposcape sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (TOML: `base` and a `[values]` table of key = [values])
    pub sweep: PathBuf,
    /// The sweep directory [default: runs/<sweep name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Runs at once, each in a process of its own; the cores are shared among them
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Draw each profile of profiles.png on its own loss scale instead of the shared one
    #[arg(long)]
    pub own_scale: bool,
    /// Where each run trains and is analysed
    #[arg(long, value_enum, default_value_t = EvalBackendArg::Cpu)]
    pub backend: EvalBackendArg,
}

/// The sweep on every rank of `team` (its runs spread over them); rank 0 prints.
pub fn run(args: &SweepArgs, team: &dyn Team) -> Result<()> {
    crate::summary::sweep(
        team,
        &SweepOptions {
            sweep: args.sweep.clone(),
            out: args.out.clone(),
            execution: crate::args::execution(args.jobs)?,
            own_scale: args.own_scale,
            backend: args.backend.into(),
        },
    )?;
    Ok(())
}
