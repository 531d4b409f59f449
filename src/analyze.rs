//! `toposcape analyze`: the flags of [`toposcape::landscape`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use toposcape::AnalysisOptions;
use toposcape::team::Team;

use crate::args::{EvalBackendArg, PlanArg, RegionArg};

/// Arguments of `toposcape analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A run directory of `toposcape train` (config.toml, theta0.safetensors), or a weights
    /// file (.safetensors or .bpk) with --config
    pub input: PathBuf,
    /// The run config [default: config.toml in the run directory]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// hessian, random, pca (of the run's checkpoints), interp (towards --through), or an .npy
    /// file of DIMS x P rows
    /// [default: landscape.directions of the config, hessian]
    #[arg(long, value_name = "KIND|FILE")]
    pub directions: Option<String>,
    /// interp: the checkpoints (.bpk or .safetensors) the axes point to, one or two, comma
    /// separated; coordinate 1 on axis i is checkpoint i [default: landscape.through]
    #[arg(long, value_name = "FILE[,FILE]", value_delimiter = ',')]
    pub through: Option<Vec<PathBuf>>,
    /// Grid axes, 1 to 8 [default: landscape.dims, 2]
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,
    /// Points per axis [default: landscape.points, 41]
    #[arg(long, value_name = "P")]
    pub points: Option<usize>,
    /// Half-width of each axis, as a multiple of ||theta0|| (as Landscaper's distance) unless
    /// --absolute [default: landscape.range, 0.01]
    #[arg(long, value_name = "R", allow_hyphen_values = true)]
    pub range: Option<f64>,
    /// grid, or scattered points with a nearest-neighbour graph: sobol or random
    /// [default: landscape.plan, grid]
    #[arg(long, value_enum)]
    pub plan: Option<PlanArg>,
    /// Scattered plans: the number of points, theta0 included [default: landscape.samples, 4096]
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Scattered plans: neighbours per point in the graph [default: 2 dims + 2]
    #[arg(long, value_name = "K")]
    pub neighbours: Option<usize>,
    /// Scattered plans: fill the box or the ball of the range [default: box]
    #[arg(long, value_enum)]
    pub region: Option<RegionArg>,
    /// Read --range as an absolute distance along each direction
    #[arg(long)]
    pub absolute: bool,
    /// The output directory [default: the run directory; runs/<file stem> for a weights file]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where points are evaluated
    #[arg(long, value_enum, default_value_t = EvalBackendArg::Cpu)]
    pub backend: EvalBackendArg,
    /// flex, ndarray or wgpu: points per forward pass, as a batch dimension (the UNet's B
    /// models as B groups of channels) [default on wgpu: for the PINN the largest power of two
    /// up to 1024 that the adapter's largest buffer holds (256 on lavapipe), for the UNet 1;
    /// 1 on the CPU backends]
    #[arg(long, value_name = "B")]
    pub batch: Option<usize>,
    /// Worker threads [default: the number of cores; 1 on wgpu]
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Replace the landscape files of an earlier analysis in the output directory
    #[arg(long)]
    pub force: bool,
}

impl From<&AnalyzeArgs> for AnalysisOptions {
    fn from(args: &AnalyzeArgs) -> Self {
        AnalysisOptions {
            input: args.input.clone(),
            config: args.config.clone(),
            directions: args.directions.clone(),
            through: args.through.clone(),
            dims: args.dims,
            points: args.points,
            range: args.range,
            plan: args.plan.map(Into::into),
            samples: args.samples,
            neighbours: args.neighbours,
            region: args.region.map(Into::into),
            absolute: args.absolute,
            out: args.out.clone(),
            backend: args.backend.into(),
            batch: args.batch,
            threads: args.threads,
            force: args.force,
        }
    }
}

/// Analyses on every rank of `team`; rank 0 draws the progress and prints the summary.
pub fn run(args: &AnalyzeArgs, team: &dyn Team) -> Result<()> {
    crate::summary::analyse(team, &AnalysisOptions::from(args))
}
