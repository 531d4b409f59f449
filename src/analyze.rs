//! `toposcape analyze`: directions, the sampled landscape, and its topology, into a run
//! directory (docs/ARCHITECTURE.md, contract 4).
//!
//! Everything the user can get wrong (flags, the config, the weights, the output folder) is
//! checked before the long work starts. Points are stored in chunks as they finish (in a
//! hidden folder of the output, removed at the end), so a run that is killed and started again
//! with the same command resumes and ends with the same landscape bit for bit.

use std::fs;
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use burn::module::Module;
use burn::prelude::*;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use toposcape_models::batched::PinnBatched;
use toposcape_models::checkpoint::{load_checkpoint, load_safetensors, safetensors_bytes};
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::PinnKernel;
use toposcape_models::pinn::PinnConfig;
use toposcape_models::unet::UnetConfig;
use toposcape_models::unet_batched::UnetBatched;
use toposcape_perturb::directions::{burn_filter_axis, filter_normalised, principal, unit_rows};
use toposcape_perturb::hessian::{
    HessianAnalysis, HessianOptions, HessianStage, LanczosOptions, ProductMethod, analyse_hessian,
};
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::params::{ParamLayout, flatten, widest_float};
use toposcape_perturb::plan::{GridPlan, Plan, Region, Scatter, ScatteredPlan, norm};
use toposcape_perturb::sample::{Directions, OnDevice, Perturbed, PointEvaluator, sample};
use toposcape_perturb::store::{ChunkStore, Fingerprint, StoreDescription, StoreError};
use toposcape_topology::render::{self, FigureOptions};
use toposcape_topology::{
    Basins, Connectivity, ContourTree, Graph, Grid, MergeTree, Neighbourhood, Parallelism,
    ProfileOptions, TreeKind, landscape_profile,
};

use crate::bail_input;
use crate::config::{self, LandscapeSection, PlanName, RegionName, RunConfig, Task};
use crate::documents::{FieldTopology, MetricsDocument, TreeDocument};
use crate::error::InputError;
use crate::field::FieldValues;
use crate::output::{Outputs, write_npy};
use crate::train::Backend;

/// Where landscape points are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalBackend {
    /// The CPU: toposcape's own PINN kernel on every core; the UNet through burn's flex
    Cpu,
    /// burn's flex CPU backend, one model copy per core
    Flex,
    /// burn's ndarray CPU backend, one model copy per core
    Ndarray,
    /// burn's wgpu backend (needs the `wgpu` build feature)
    Wgpu,
}

impl EvalBackend {
    /// The burn backend of the model (gradients, Hessian, and points when not the kernel).
    pub fn burn(self) -> Backend {
        match self {
            EvalBackend::Cpu | EvalBackend::Flex => Backend::Flex,
            EvalBackend::Ndarray => Backend::Ndarray,
            EvalBackend::Wgpu => Backend::Wgpu,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EvalBackend::Cpu => "cpu",
            other => other.burn().name(),
        }
    }
}

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
    pub plan: Option<PlanName>,
    /// Scattered plans: the number of points, theta0 included [default: landscape.samples, 4096]
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Scattered plans: neighbours per point in the graph [default: 2 dims + 2]
    #[arg(long, value_name = "K")]
    pub neighbours: Option<usize>,
    /// Scattered plans: fill the box or the ball of the range [default: box]
    #[arg(long, value_enum)]
    pub region: Option<RegionName>,
    /// Read --range as an absolute distance along each direction
    #[arg(long)]
    pub absolute: bool,
    /// The output directory [default: the run directory; runs/<file stem> for a weights file]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where points are evaluated
    #[arg(long, value_enum, default_value_t = EvalBackend::Cpu)]
    pub backend: EvalBackend,
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

impl AnalyzeArgs {
    /// The analysis of a run directory with its config's `[landscape]` settings.
    pub fn for_run(run_dir: &Path, backend: EvalBackend, threads: Option<usize>) -> Self {
        AnalyzeArgs {
            input: run_dir.to_path_buf(),
            config: None,
            directions: None,
            through: None,
            dims: None,
            points: None,
            range: None,
            plan: None,
            samples: None,
            neighbours: None,
            region: None,
            absolute: false,
            out: None,
            backend,
            batch: None,
            threads,
            force: false,
        }
    }
}

/// The kinds of directions.
#[derive(Debug, Clone, PartialEq)]
enum DirectionKind {
    Hessian,
    Random,
    Pca,
    /// Towards one or two other checkpoints: axis i is `checkpoint_i - theta0`.
    Interp(Vec<PathBuf>),
    File(PathBuf),
}

impl DirectionKind {
    fn parse(text: &str, relative_to: &Path) -> Self {
        match text {
            "hessian" => DirectionKind::Hessian,
            "random" => DirectionKind::Random,
            "pca" => DirectionKind::Pca,
            "interp" => DirectionKind::Interp(Vec::new()),
            path => DirectionKind::File(relative_to.join(path)),
        }
    }

    fn name(&self) -> String {
        match self {
            DirectionKind::Hessian => "hessian".into(),
            DirectionKind::Random => "random".into(),
            DirectionKind::Pca => "pca".into(),
            DirectionKind::Interp(_) => "interp".into(),
            DirectionKind::File(p) => p.display().to_string(),
        }
    }
}

/// What `analyze` reads.
struct Input {
    config_path: PathBuf,
    weights: PathBuf,
    /// The checkpoints of the run, for PCA directions.
    checkpoints: Option<PathBuf>,
    out: PathBuf,
}

fn resolve_input(args: &AnalyzeArgs) -> Result<Input, InputError> {
    let input = &args.input;
    if input.is_dir() {
        let weights = input.join("theta0.safetensors");
        if !weights.is_file() {
            return Err(InputError(format!(
                "{}: no theta0.safetensors; expected a run directory of `toposcape train`",
                input.display()
            )));
        }
        Ok(Input {
            config_path: args
                .config
                .clone()
                .unwrap_or_else(|| input.join("config.toml")),
            weights,
            checkpoints: Some(input.join("checkpoints")),
            out: args.out.clone().unwrap_or_else(|| input.clone()),
        })
    } else if input.is_file() {
        let extension = input.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(extension, "safetensors" | "bpk") {
            return Err(InputError(format!(
                "{}: expected a run directory, a .safetensors or a .bpk file",
                input.display()
            )));
        }
        let Some(config_path) = args.config.clone() else {
            return Err(InputError(format!(
                "{}: a weights file needs --config (the run config it was trained with)",
                input.display()
            )));
        };
        let stem = input.file_stem().unwrap_or_default();
        Ok(Input {
            config_path,
            weights: input.clone(),
            checkpoints: input.parent().map(|p| p.join("checkpoints")),
            out: args
                .out
                .clone()
                .unwrap_or_else(|| Path::new("runs").join(stem)),
        })
    } else {
        Err(InputError(format!(
            "{}: no such file or folder",
            input.display()
        )))
    }
}

/// The flags over the config's `[landscape]` section, checked by the config's own rules and
/// reported under the flag's name.
fn apply_flags(args: &AnalyzeArgs, config: &mut RunConfig) -> Result<(), InputError> {
    let l = &mut config.landscape;
    if let Some(d) = &args.directions {
        l.directions = d.clone();
    }
    if let Some(dims) = args.dims {
        l.dims = dims;
    }
    if let Some(points) = args.points {
        l.points = points;
    }
    if let Some(range) = args.range {
        l.range = range;
    }
    if args.absolute {
        l.relative = false;
    }
    if let Some(plan) = args.plan {
        l.plan = plan;
    }
    if let Some(region) = args.region {
        l.region = region;
    }
    if let Some(samples) = args.samples {
        l.samples = samples;
    }
    // In a config 0 neighbours means "the default"; on the command line it is a mistake.
    if let Some(0) = args.neighbours {
        bail_input!("--neighbours 0: expected at least one neighbour");
    }
    if let Some(k) = args.neighbours {
        l.neighbours = k;
    }
    if let Some(0) = args.threads {
        bail_input!("--threads 0: expected at least one thread");
    }
    // The config file was checked when it was read, so a value out of range now came from a
    // flag.
    config.check_landscape().map_err(|(key, what)| {
        let flag = key
            .strip_prefix("landscape.")
            .unwrap_or(&key)
            .replace('_', "-");
        InputError(format!("--{flag}: {what}"))
    })
}

/// The hidden folder of the chunk store inside the output directory.
const STORE_DIR: &str = ".landscape-chunks";

fn check_out(out: &Path, force: bool) -> Result<(), InputError> {
    if out.exists() && !out.is_dir() {
        bail_input!("--out {}: is a file; expected a folder", out.display());
    }
    if !force && out.join("landscape.npy").exists() && out.join("metrics.json").exists() {
        bail_input!(
            "--out {}: holds a finished landscape; refusing to overwrite it (pass --force to \
             replace it, or --out another folder)",
            out.display()
        );
    }
    Ok(())
}

/// What the analysis of one model needs besides its weights: the loss on the device, the data
/// for `eval_data.npz`, and the kernel when there is one.
struct Problem<M> {
    model: M,
    /// The loss on the plain device the model lives on.
    loss: Arc<dyn Fn(&M) -> Tensor<1> + Send + Sync>,
    /// The loss's derivative along a tangent module's parameters (`grad L . v`), for exact
    /// Hessian-vector products.
    tangent_loss: Arc<TangentLoss<M>>,
    /// The float type the loss is computed in (its data's).
    dtype: burn::tensor::DType,
    eval_data: Vec<(&'static str, NpyArray)>,
    kernel: Option<PinnKernel>,
    /// The PINN's shape and problem, for the batched evaluator.
    pinn: Option<(PinnConfig, ConvectionConfig)>,
    /// The UNet's shape, images and labels, for its batched evaluator.
    unet: Option<(UnetConfig, Tensor<4>, Tensor<3, Int>)>,
}

/// The directional derivative of a loss along a tangent module ([`ModuleLoss::with_tangent`]).
type TangentLoss<M> = dyn Fn(&M, &M) -> Tensor<1> + Send + Sync;

/// An array for an `.npz` file.
enum NpyArray {
    F32(Vec<usize>, Vec<f32>),
    F64(Vec<usize>, Vec<f64>),
    I64(Vec<usize>, Vec<i64>),
}

impl NpyArray {
    fn bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            NpyArray::F32(shape, values) => write_npy(&mut out, shape, values)?,
            NpyArray::F64(shape, values) => write_npy(&mut out, shape, values)?,
            NpyArray::I64(shape, values) => write_npy(&mut out, shape, values)?,
        }
        Ok(out)
    }
}

fn write_npz(w: &mut (impl Write + std::io::Seek), arrays: &[(&str, NpyArray)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(w);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, array) in arrays {
        zip.start_file(format!("{name}.npy"), options)?;
        zip.write_all(&array.bytes()?)?;
    }
    zip.finish()?;
    Ok(())
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let started = Instant::now();
    let input = resolve_input(args)?;
    let mut config = config::load(&input.config_path)?;
    apply_flags(args, &mut config)?;
    check_out(&input.out, args.force)?;
    let config_dir = config::folder_of(&input.config_path);
    let mut kind = match &args.directions {
        // A file named on the command line is relative to the working directory; one named
        // in the config, to the config's folder.
        Some(text) => DirectionKind::parse(text, Path::new("")),
        None => DirectionKind::parse(&config.landscape.directions, &config_dir),
    };
    if let DirectionKind::Interp(through) = &mut kind {
        *through = match &args.through {
            Some(files) => files.clone(),
            None => config
                .landscape
                .through
                .iter()
                .map(|f| config_dir.join(f))
                .collect(),
        };
        if !(1..=2).contains(&through.len()) {
            bail_input!(
                "--through: interp directions need one or two checkpoints (--through A.bpk[,B.bpk]), got {}",
                through.len()
            );
        }
        if let Some(missing) = through.iter().find(|f| !f.is_file()) {
            bail_input!("--through {}: no such file", missing.display());
        }
        // The axes are the checkpoints' differences from theta0, in their units: coordinate 1
        // is the checkpoint, so the range is absolute (1.5 unless given: both ends and beyond).
        config.landscape.dims = through.len();
        config.landscape.through = through.iter().map(|f| f.display().to_string()).collect();
        config.landscape.relative = false;
        if args.range.is_none() {
            config.landscape.range = 1.5;
        }
    } else if args.through.is_some() {
        bail_input!("--through: only used with --directions interp");
    }
    if let DirectionKind::File(path) = &kind
        && !path.is_file()
    {
        bail_input!(
            "--directions {}: expected hessian, random, pca, interp or an existing .npy file",
            path.display()
        );
    }
    let device = args.backend.burn().device()?;
    let analyze = Analyze {
        args,
        input: &input,
        config: &config,
        kind,
        device: device.clone(),
        started,
    };
    match config.task {
        Task::PinnConvection => analyze.go(pinn_problem(
            &config,
            &device,
            args.backend,
            &input.weights,
        )?),
        Task::UnetShapes | Task::UnetPet => {
            analyze.go(unet_problem(&config, &config_dir, &device, &input)?)
        }
    }
}

/// Loads weights into `model` from a `.safetensors` or `.bpk` file.
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M, InputError> {
    let loaded = if path.extension().is_some_and(|e| e == "bpk") {
        load_checkpoint(model, path)
    } else {
        load_safetensors(model, path)
    };
    // burn's loading errors run over several lines (a table of tensors): keep the first.
    loaded.map_err(|e| {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(':');
        InputError(format!(
            "{first} (do the weights match the config's model?)"
        ))
    })
}

fn pinn_problem(
    config: &RunConfig,
    device: &Device,
    backend: EvalBackend,
    weights: &Path,
) -> Result<Problem<toposcape_models::pinn::Pinn>> {
    let pinn = config.pinn_config();
    let convection = config.convection_config();
    let model = load_weights(pinn.init(device), weights)?;
    let data = convection.data(device);
    let points = convection.points();
    let pairs = |v: &Vec<f32>| NpyArray::F32(vec![v.len() / 2, 2], v.clone());
    let scalar = |x: f64| NpyArray::F64(vec![], vec![x]);
    let eval_data = vec![
        ("collocation", pairs(&points.collocation)),
        ("initial", pairs(&points.initial)),
        (
            "initial_target",
            NpyArray::F32(vec![points.initial_target.len()], points.initial_target),
        ),
        ("boundary_left", pairs(&points.boundary_left)),
        ("boundary_right", pairs(&points.boundary_right)),
        ("beta", scalar(convection.beta)),
        ("initial_weight", scalar(convection.initial_weight)),
        ("residual_weight", scalar(convection.residual_weight)),
        ("boundary_weight", scalar(convection.boundary_weight)),
        (
            "widths",
            NpyArray::I64(
                vec![pinn.widths.len()],
                pinn.widths.iter().map(|&w| w as i64).collect(),
            ),
        ),
    ];
    let kernel = (backend == EvalBackend::Cpu).then(|| PinnKernel::new(&pinn, &convection));
    let batched = Some((pinn.clone(), convection.clone()));
    // In float64 where the device has it (not on wgpu): in f32 the loss near a trained minimum
    // is 1e-4 off (toposcape_models::kernel says why).
    let dtype = widest_float(device);
    let data = data.cast(dtype);
    let (tangent_problem, tangent_data) = (convection.clone(), data.clone());
    Ok(Problem {
        model,
        loss: Arc::new(move |m| convection.loss(m, &data).total),
        tangent_loss: Arc::new(move |m, t| tangent_problem.loss_tangent(m, t, &tangent_data)),
        dtype,
        eval_data,
        kernel,
        pinn: batched,
        unet: None,
    })
}

fn unet_problem(
    config: &RunConfig,
    config_dir: &Path,
    device: &Device,
    input: &Input,
) -> Result<Problem<toposcape_models::unet::Unet>> {
    let train_set = match config.task {
        Task::UnetShapes => config.shapes_config().generate().0,
        _ => {
            let pet = config.pet_config(config_dir).expect("checked: [pet]");
            pet.load()
                .map_err(|e| {
                    InputError(format!(
                        "{}: key pet.root: {e}",
                        input.config_path.display()
                    ))
                })?
                .0
        }
    };
    let count = config.landscape.max_images.min(train_set.len());
    let (images, labels) = train_set.batch(0, count, device);
    let s = train_set.size;
    let unet = config.unet_config();
    let model = load_weights(unet.init(device), &input.weights)?;
    let eval_data = vec![
        (
            "images",
            NpyArray::F32(
                vec![count, 3, s, s],
                train_set.images[..count * 3 * s * s].to_vec(),
            ),
        ),
        (
            "labels",
            NpyArray::I64(
                vec![count, s, s],
                train_set.labels[..count * s * s].to_vec(),
            ),
        ),
    ];
    let batched = Some((unet, images.clone(), labels.clone()));
    let (tangent_images, tangent_labels) = (images.clone(), labels.clone());
    Ok(Problem {
        model,
        loss: Arc::new(move |m| m.loss(images.clone(), labels.clone())),
        tangent_loss: Arc::new(move |m, t| {
            m.loss_tangent(t, tangent_images.clone(), tangent_labels.clone())
        }),
        // f32: the UNet's losses agree with float64 to 1e-6 in f32 already.
        dtype: burn::tensor::DType::F32,
        eval_data,
        kernel: None,
        pinn: None,
        unet: batched,
    })
}

/// One analysis in progress.
struct Analyze<'a> {
    args: &'a AnalyzeArgs,
    input: &'a Input,
    config: &'a RunConfig,
    kind: DirectionKind,
    device: Device,
    started: Instant,
}

#[derive(Serialize)]
struct AxesJson<'a> {
    shape: Vec<usize>,
    /// grid, sobol or random.
    plan: &'static str,
    directions: String,
    /// Whether `range` was given relative to ||theta0||.
    relative: bool,
    range: f64,
    theta0_norm: f64,
    /// The absolute half-width of each axis.
    half_widths: Vec<f64>,
    /// A grid's coordinates on each axis: point (i, j, ...) is theta0 + axes[0][i] d_0 + ...
    #[serde(skip_serializing_if = "Option::is_none")]
    axes: Option<&'a Vec<Vec<f64>>>,
    /// Scattered plans: the file of the points' coordinates (`N x dims`; point i is
    /// theta0 + sum_j points[i, j] d_j) and the k of the nearest-neighbour graph (graph.npy).
    #[serde(skip_serializing_if = "Option::is_none")]
    points_file: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    neighbours: Option<usize>,
}

/// A grid, or scattered points with their nearest-neighbour graph.
enum Sampling {
    Grid(GridPlan),
    /// The points, k, and the graph's edges.
    Scattered(ScatteredPlan, usize, Vec<(u32, u32)>),
}

impl Sampling {
    fn new(landscape: &LandscapeSection, dims: usize, half: f64, seed: u64) -> Self {
        let widths = vec![half; dims];
        let scatter = match landscape.plan {
            PlanName::Grid => {
                return Sampling::Grid(GridPlan::centred(&vec![landscape.points; dims], &widths));
            }
            PlanName::Sobol => Scatter::Sobol,
            PlanName::Random => Scatter::Random,
        };
        let region = match landscape.region {
            RegionName::Box => Region::Box,
            RegionName::Ball => Region::Ball,
        };
        let plan = ScatteredPlan::new(landscape.samples, &widths, scatter, region, seed);
        let k = if landscape.neighbours == 0 {
            2 * dims + 2
        } else {
            landscape.neighbours
        };
        let edges = plan.knn_edges(k, &widths);
        Sampling::Scattered(plan, k, edges)
    }

    fn name(&self) -> &'static str {
        match self {
            Sampling::Grid(_) => "grid",
            Sampling::Scattered(..) => "scattered",
        }
    }

    fn fingerprint(&self, fingerprint: &mut Fingerprint) {
        match self {
            Sampling::Grid(grid) => {
                fingerprint.text("grid");
                for axis in &grid.axes {
                    fingerprint.f64s(axis);
                }
            }
            Sampling::Scattered(plan, ..) => {
                fingerprint.text("scattered").f64s(&plan.coords);
            }
        }
    }

    fn centre(&self) -> Option<usize> {
        match self {
            Sampling::Grid(grid) => grid.centre(),
            Sampling::Scattered(..) => Some(0),
        }
    }

    fn plan(&self) -> &dyn Plan {
        match self {
            Sampling::Grid(grid) => grid,
            Sampling::Scattered(plan, ..) => plan,
        }
    }

    fn len(&self) -> usize {
        self.plan().len()
    }

    fn sample<E: PointEvaluator>(
        &self,
        store: &ChunkStore,
        workers: Vec<E>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize, StoreError> {
        sample(self.plan(), store, workers, progress)
    }

    /// The field's shape, the connectivity's name, and the join tree, contour tree and basins
    /// of `values`; the join tree on at most `threads` threads.
    fn topology(&self, values: &[f32], threads: Option<usize>) -> Result<LandscapeTopology> {
        let parallelism = match threads.and_then(NonZeroUsize::new) {
            Some(most) => Parallelism::AtMost(most),
            None => Parallelism::Auto,
        };
        fn on<N: Neighbourhood>(
            values: &[f32],
            domain: &N,
            shape: Vec<usize>,
            connectivity: &'static str,
            parallelism: Parallelism,
        ) -> Result<LandscapeTopology> {
            Ok(LandscapeTopology {
                shape,
                connectivity,
                tree: MergeTree::compute_with(
                    values,
                    domain,
                    TreeKind::Join,
                    parallelism,
                    &mut |_| {},
                )?,
                contour: ContourTree::compute(values, domain)?,
                basins: Basins::compute(values, domain)?,
            })
        }
        match self {
            Sampling::Grid(grid) => {
                let shape = grid.shape();
                let domain = Grid::new(&shape, Connectivity::Freudenthal)?;
                on(values, &domain, shape, "freudenthal", parallelism)
            }
            Sampling::Scattered(_, _, edges) => {
                let graph = Graph::from_edges(values.len(), edges)?;
                on(values, &graph, vec![values.len()], "knn", parallelism)
            }
        }
    }
}

/// A sampled landscape's topology: what metrics.json and the figures are made of.
struct LandscapeTopology {
    shape: Vec<usize>,
    connectivity: &'static str,
    tree: MergeTree,
    contour: ContourTree,
    basins: Basins,
}

#[derive(Serialize)]
struct ParamsJson<'a> {
    /// The length of the flat vector.
    length: usize,
    layout_note: &'static str,
    parameters: Vec<ParamJson<'a>>,
}

#[derive(Serialize)]
struct ParamJson<'a> {
    name: &'a str,
    shape: &'a [usize],
    offset: usize,
}

#[derive(Serialize, Default)]
struct HessianJson {
    /// Whether the directions are the Hessian's top eigenvectors (`eigenvalues` and the rest).
    computed: bool,
    directions: String,
    /// How the Hessian-vector products were computed: `exact` (reverse over forward) or
    /// `finite-difference`.
    products: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    eigenvalues: Vec<f64>,
    /// ||H v - lambda v|| of each pair (v a unit vector), each from one more Hessian-vector
    /// product.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    residuals: Vec<f64>,
    /// The residuals divided by |lambda|: what `tolerance` bounds when `converged`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relative_residuals: Vec<f64>,
    hessian_vector_products: usize,
    lanczos_steps: usize,
    /// Whether every pair's measured relative residual is at most `tolerance`.
    converged: bool,
    tolerance: f64,
    /// Finite-difference products only: their step, and along each eigenvector the relative
    /// difference of the products at the step and twice it (of the order of their error).
    #[serde(skip_serializing_if = "Option::is_none")]
    finite_difference_step: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    finite_difference_errors: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<TraceJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    density: Option<DensityJson>,
    seconds: f64,
    /// PCA only: the fraction of the trajectory's variance along each direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    explained_variance: Vec<f64>,
}

/// Hutchinson's trace estimate (PyHessian's `trace()`, a fixed number of Rademacher probes).
#[derive(Serialize)]
struct TraceJson {
    estimate: f64,
    standard_error: f64,
    probes: usize,
    /// z^T H z of each probe.
    samples: Vec<f64>,
}

/// The eigenvalue density by stochastic Lanczos quadrature (PyHessian's `density()`).
#[derive(Serialize)]
struct DensityJson {
    /// The density on a grid: (eigenvalue, density) rows.
    file: &'static str,
    probes: usize,
    lanczos_steps: usize,
    /// The standard deviation of the Gaussian each node is broadened by.
    sigma: f64,
    /// Per probe: the nodes (Ritz values) and weights (squared first components).
    nodes: Vec<Vec<f64>>,
    weights: Vec<Vec<f64>>,
}

/// The Lanczos steps of a quadrature's probes (each probe's node count).
fn steps_of(quadrature: &toposcape_perturb::hessian::SpectralQuadrature) -> usize {
    quadrature.nodes.first().map_or(0, Vec::len)
}

/// The density's file in the run directory.
const DENSITY_FILE: &str = "spectral_density.npy";

impl HessianJson {
    /// What `hessian.json` says of an analysis.
    fn new(directions: String, analysis: &HessianAnalysis, options: &HessianOptions) -> Self {
        let mut json = HessianJson {
            directions,
            products: analysis.method.name(),
            hessian_vector_products: analysis.products,
            tolerance: options.eigenpairs.as_ref().map_or(0.0, |l| l.tol),
            finite_difference_errors: analysis.product_errors.clone(),
            ..HessianJson::default()
        };
        if let ProductMethod::FiniteDifference { step } = analysis.method {
            json.finite_difference_step = Some(step);
        }
        if let Some(pairs) = &analysis.eigenpairs {
            json.computed = true;
            json.eigenvalues = pairs.values.clone();
            json.residuals = pairs.residuals.clone();
            json.relative_residuals = pairs
                .residuals
                .iter()
                .zip(&pairs.values)
                .map(|(r, v)| r / v.abs().max(f64::MIN_POSITIVE))
                .collect();
            json.lanczos_steps = pairs.steps;
            json.converged = pairs.converged;
        }
        json.trace = analysis.trace.as_ref().map(|t| TraceJson {
            estimate: t.estimate,
            standard_error: t.standard_error,
            probes: t.samples.len(),
            samples: t.samples.clone(),
        });
        json.density = analysis.density.as_ref().map(|d| DensityJson {
            file: DENSITY_FILE,
            probes: d.quadrature.nodes.len(),
            lanczos_steps: steps_of(&d.quadrature),
            sigma: d.sigma,
            nodes: d.quadrature.nodes.clone(),
            weights: d.quadrature.weights.clone(),
        });
        json
    }
}

/// Points per stored chunk: at least 64 chunks, so every worker stays busy to the end, and at
/// most 1024 points (64 for burn's slower evaluators), so a chunk finishes within seconds.
/// A batched evaluator gets one batch per chunk. It does not depend on the thread count: a run
/// resumed with other `--threads` keeps its chunks.
fn chunk_size(total: usize, kernel: bool, batch: usize) -> usize {
    if batch > 1 {
        return batch.min(total).max(1);
    }
    let cap = if kernel { 1024 } else { 64 };
    (total / 64).clamp(1, cap)
}

impl Analyze<'_> {
    fn go<M: Module + Clone + 'static>(&self, problem: Problem<M>) -> Result<()> {
        let landscape = &self.config.landscape;
        let dims = landscape.dims;
        let batch = self.batch(&problem)?;
        let layout = ParamLayout::of(&problem.model);
        let theta0 = flatten(&problem.model);
        let model_loss = |p: &Problem<M>| {
            let loss = Arc::clone(&p.loss);
            ModuleLoss::new(&p.model, &self.device, move |m: &M| loss(m)).with_dtype(p.dtype)
        };
        let tangent_loss = Arc::clone(&problem.tangent_loss);
        let mut reference =
            model_loss(&problem).with_tangent(move |m: &M, t: &M| tangent_loss(m, t));
        let loss_at_theta0 = reference.loss(&theta0);

        // Directions.
        let (rows, analysis, hessian) = self.directions(&layout, &theta0, &mut reference)?;
        let directions = Directions::from_rows(&rows);
        let theta0_norm = norm(&theta0);
        let half = if landscape.relative {
            landscape.range * theta0_norm
        } else {
            landscape.range
        };
        let plan = Sampling::new(landscape, dims, half, self.config.seed);

        // The store, keyed by everything the values depend on.
        let kernel = problem.kernel.is_some();
        let mut fingerprint = Fingerprint::default();
        fingerprint
            .f32s(&theta0)
            .f32s(&directions.values)
            .text(&model_section_toml(self.config))
            .text(self.args.backend.name())
            .text(&batch.to_string());
        plan.fingerprint(&mut fingerprint);
        fs::create_dir_all(&self.input.out).map_err(|e| {
            InputError(format!(
                "--out {}: cannot create: {e}",
                self.input.out.display()
            ))
        })?;
        let store_dir = self.input.out.join(STORE_DIR);
        let description = StoreDescription {
            points: plan.len(),
            chunk: chunk_size(plan.len(), kernel, batch),
            fingerprint: fingerprint.hex(),
        };
        let store = match ChunkStore::open(&store_dir, description.clone()) {
            Err(toposcape_perturb::store::StoreError::Mismatch { .. }) if self.args.force => {
                fs::remove_dir_all(&store_dir)?;
                ChunkStore::open(&store_dir, description)?
            }
            Err(e @ toposcape_perturb::store::StoreError::Mismatch { .. }) => {
                bail_input!(
                    "--out {}: {e}; pass --force to discard it",
                    self.input.out.display()
                )
            }
            other => other?,
        };
        let missing = store.missing()?;
        let already = plan.len() - missing.iter().map(|&k| store.range(k).len()).sum::<usize>();

        // Sampling.
        let threads = self.args.threads.unwrap_or_else(|| {
            if self.args.backend == EvalBackend::Wgpu {
                1
            } else {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            }
        });
        let bar = ProgressBar::new(plan.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "landscape {bar:30} {human_pos}/{human_len} points · {per_sec} · {elapsed} elapsed, ETA {eta}",
            )
            .expect("a valid template"),
        );
        bar.set_position(already as u64);
        bar.reset_eta();
        // Which adapter wgpu runs on (a GPU, or a CPU one such as lavapipe), the batch, the
        // threads: for the summary.
        let mut details = Vec::new();
        if self.args.backend == EvalBackend::Wgpu
            && let Some(a) = crate::gpu::chosen()
        {
            let kind = if a.cpu { "a CPU adapter" } else { "a GPU" };
            details.push(format!("{}, {kind}", a.name));
        }
        if batch > 1 {
            details.push(format!("batches of {batch}"));
        }
        details.push(format!(
            "{threads} thread{}",
            if threads == 1 { "" } else { "s" }
        ));
        let sampling = Instant::now();
        let progress = |done: usize| bar.set_position((already + done) as u64);
        let computed = match (&problem.kernel, &problem.pinn) {
            (Some(kernel), _) => {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let mut k = kernel.clone();
                        Perturbed::new(move |t: &[f64]| k.loss(t) as f32, &theta0, &directions)
                    })
                    .collect();
                plan.sample(&store, workers, &progress)?
            }
            (None, Some((pinn, convection))) if batch > 1 => {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        PinnBatched::new(
                            pinn,
                            convection,
                            &theta0,
                            &directions,
                            batch,
                            &self.device,
                        )
                    })
                    .collect();
                plan.sample(&store, workers, &progress)?
            }
            (None, None) if batch > 1 && problem.unet.is_some() => {
                let (unet, images, labels) = problem.unet.as_ref().expect("checked");
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        UnetBatched::new(
                            unet,
                            &theta0,
                            &directions,
                            images.clone(),
                            labels.clone(),
                            batch,
                            &self.device,
                        )
                    })
                    .collect();
                plan.sample(&store, workers, &progress)?
            }
            _ if self.args.backend == EvalBackend::Wgpu => {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let loss = Arc::clone(&problem.loss);
                        OnDevice::new(
                            problem.model.clone(),
                            &theta0,
                            &directions,
                            &self.device,
                            move |m: &M| loss(m),
                        )
                    })
                    .collect();
                plan.sample(&store, workers, &progress)?
            }
            _ => {
                let workers: Vec<_> = (0..threads)
                    .map(|_| Perturbed::of_model(model_loss(&problem), &theta0, &directions))
                    .collect();
                plan.sample(&store, workers, &progress)?
            }
        };
        bar.finish_and_clear();
        let sampling_seconds = sampling.elapsed().as_secs_f64();
        let values = store.assemble()?;
        let nonfinite = values.iter().filter(|v| !v.is_finite()).count();

        // Topology and files.
        let LandscapeTopology {
            shape,
            connectivity,
            tree,
            contour,
            basins,
        } = plan.topology(&values, self.args.threads)?;
        let profile = landscape_profile(&tree, &values, ProfileOptions::default())?;
        let out = &self.input.out;
        let mut files = Outputs::default();
        let path = |name: &str| out.join(name);
        files.bytes("--out", &path("config.toml"), self.config.to_toml())?;
        files.write("--out", &path("landscape.npy"), |w| {
            write_npy(w, &shape, &values)
        })?;
        let axes = AxesJson {
            shape: shape.clone(),
            plan: plan.name(),
            directions: self.kind.name(),
            relative: landscape.relative,
            range: landscape.range,
            theta0_norm,
            half_widths: vec![half; dims],
            axes: match &plan {
                Sampling::Grid(grid) => Some(&grid.axes),
                Sampling::Scattered(..) => None,
            },
            points_file: match &plan {
                Sampling::Grid(_) => None,
                Sampling::Scattered(..) => Some("points.npy"),
            },
            neighbours: match &plan {
                Sampling::Grid(_) => None,
                Sampling::Scattered(_, k, _) => Some(*k),
            },
        };
        if let Sampling::Scattered(scattered, _, edges) = &plan {
            files.write("--out", &path("points.npy"), |w| {
                write_npy(w, &[values.len(), dims], &scattered.coords)
            })?;
            let flat: Vec<i64> = edges
                .iter()
                .flat_map(|&(a, b)| [i64::from(a), i64::from(b)])
                .collect();
            files.write("--out", &path("graph.npy"), |w| {
                write_npy(w, &[edges.len(), 2], &flat)
            })?;
        }
        files.write("--out", &path("axes.json"), |w| json(w, &axes))?;
        let params = ParamsJson {
            length: layout.len(),
            layout_note: "burn layout: dense weights are [in, out]; offsets index the flat vector of directions.npy rows",
            parameters: layout
                .entries
                .iter()
                .map(|e| ParamJson {
                    name: &e.name,
                    shape: &e.shape,
                    offset: e.offset,
                })
                .collect(),
        };
        files.write("--out", &path("params.json"), |w| json(w, &params))?;
        let bytes = safetensors_bytes(&problem.model, &self.config.weights_metadata())
            .map_err(anyhow::Error::msg)?;
        files.bytes("--out", &path("theta0.safetensors"), bytes)?;
        files.write("--out", &path("directions.npy"), |w| {
            write_npy(w, &[directions.count, directions.len], &directions.values)
        })?;
        let mut npz = std::io::Cursor::new(Vec::new());
        write_npz(&mut npz, &problem.eval_data)?;
        files.bytes("--out", &path("eval_data.npz"), npz.get_ref())?;
        files.write("--out", &path("hessian.json"), |w| json(w, &hessian))?;
        let document = TreeDocument::new(&tree, &shape, connectivity, None);
        files.write("--out", &path("tree.json"), |w| json(w, &document))?;
        let name = out
            .file_name()
            .map_or_else(|| out.display().to_string(), |n| n.to_string_lossy().into());
        let figure = |title: &str| FigureOptions {
            title: format!("{title}: {name}"),
            ..FigureOptions::default()
        };
        if let Some(density) = &analysis.density {
            let rows: Vec<f64> = density
                .grid
                .iter()
                .zip(&density.density)
                .flat_map(|(x, d)| [*x, *d])
                .collect();
            files.write("--out", &path(DENSITY_FILE), |w| {
                write_npy(w, &[density.grid.len(), 2], &rows)
            })?;
            // On a log scale, as PyHessian draws it, floored at 1e-10 of the peak so the
            // tails between separated eigenvalues stay on the chart.
            let peak = density.density.iter().copied().fold(0.0f64, f64::max);
            let series = render::Series {
                name: format!(
                    "{} probes x {} Lanczos steps, sigma {:.2e}",
                    density.quadrature.nodes.len(),
                    steps_of(&density.quadrature),
                    density.sigma
                ),
                points: density
                    .grid
                    .iter()
                    .zip(&density.density)
                    .map(|(x, d)| (*x, d.max(1e-10 * peak)))
                    .collect(),
            };
            let png = render::curve_png(
                &[series],
                "eigenvalue",
                "density",
                &FigureOptions {
                    log_scale: true,
                    ..figure("Hessian eigenvalue density")
                },
            )?;
            files.bytes("--out", &path("spectral_density.png"), png)?;
        }
        let png = render::profile_png(&profile, &figure("Topological landscape profile"))?;
        files.bytes("--out", &path("profile.png"), png)?;
        let svg = render::profile_svg(&profile, &figure("Topological landscape profile"))?;
        files.bytes("--out", &path("profile.svg"), svg)?;
        let png = render::merge_tree_png(&profile, &figure("Merge tree"))?;
        files.bytes("--out", &path("merge_tree.png"), png)?;
        let diagram = toposcape_topology::Diagram::of(&tree);
        let png = render::persistence_png(&diagram, &figure("Persistence"))?;
        files.bytes("--out", &path("persistence.png"), png)?;
        if let Sampling::Grid(_) = &plan {
            let title = if dims == 2 {
                "Landscape"
            } else {
                "Landscape slices through the centre"
            };
            let png = render::landscape_png(&values, &shape, &figure(title))?;
            files.bytes("--out", &path("landscape.png"), png)?;
        }
        let topology = FieldTopology {
            tree: &tree,
            contour: &contour,
            basins: &basins,
        };
        let metrics = MetricsDocument::new("landscape.npy", &shape, connectivity, topology, None);
        files.write("--out", &path("metrics.json"), |w| json(w, &metrics))?;
        files.commit()?;
        store.remove()?;

        // Summary.
        let centre = plan.centre().map(|c| values[c]);
        let plan_len = values.len();
        let (low, high) = values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        println!(
            "landscape    {} points ({}), {} directions, range +-{:.4e} ({})",
            plan_len,
            match &plan {
                Sampling::Grid(_) => shape
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" x "),
                Sampling::Scattered(_, k, _) => format!(
                    "{}, {dims} axes, graph of {k} nearest neighbours",
                    plan.name()
                ),
            },
            self.kind.name(),
            half,
            if landscape.relative {
                format!("{} x ||theta0|| = {:.4}", landscape.range, theta0_norm)
            } else {
                "absolute".into()
            }
        );
        let list = |values: &[f64]| {
            values
                .iter()
                .map(|v| format!("{v:.3e}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if hessian.computed {
            println!(
                "hessian      eigenvalues {} (relative residuals {}, {}; {} {} Hessian-vector products in all, {:.1} s)",
                list(&hessian.eigenvalues),
                list(&hessian.relative_residuals),
                if hessian.converged {
                    format!("converged to {:.0e}", hessian.tolerance)
                } else {
                    format!(
                        "NOT converged to {:.0e} in {} Lanczos steps",
                        hessian.tolerance, hessian.lanczos_steps
                    )
                },
                hessian.hessian_vector_products,
                hessian.products,
                hessian.seconds
            );
        }
        if !hessian.finite_difference_errors.is_empty() {
            println!(
                "             finite differences (no exact product for this model): relative errors of about {}",
                list(&hessian.finite_difference_errors)
            );
        }
        let probes = |n: usize| format!("{n} probe{}", if n == 1 { "" } else { "s" });
        let spectrum: Vec<String> = [
            hessian.trace.as_ref().map(|t| {
                format!(
                    "trace {:.4e} +- {:.1e} (Hutchinson, {})",
                    t.estimate,
                    t.standard_error,
                    probes(t.probes)
                )
            }),
            hessian.density.as_ref().map(|d| {
                format!(
                    "density from {} x {} Lanczos steps in {DENSITY_FILE}",
                    probes(d.probes),
                    d.lanczos_steps
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !spectrum.is_empty() {
            println!("spectrum     {}", spectrum.join("; "));
        }
        println!(
            "sampling     {} computed{} in {:.1} s: {} points/s on {} ({})",
            computed,
            if already > 0 {
                format!(", {already} resumed from an interrupted run")
            } else {
                String::new()
            },
            sampling_seconds,
            // Small rates keep their decimals: the UNet on a CPU adapter does 0.36 points/s.
            match computed as f64 / sampling_seconds.max(1e-9) {
                r if r >= 100.0 => format!("{r:.0}"),
                r if r >= 10.0 => format!("{r:.1}"),
                r => format!("{r:.2}"),
            },
            self.args.backend.name(),
            details.join(", "),
        );
        println!(
            "loss         {:.6e} at theta0{}; {:.6e} to {:.6e} on the grid; {} non-finite",
            loss_at_theta0,
            centre.map_or(String::new(), |c| format!(" (grid centre {c:.6e})")),
            low,
            high,
            nonfinite
        );
        let m = &metrics.metrics;
        println!(
            "topology     {} minima, {} saddles, average persistence {}",
            m.minima,
            m.saddles,
            m.average_persistence
                .map_or("-".into(), |p| format!("{p:.4e}"))
        );
        println!(
            "time         {:.1} s; run directory {}",
            self.started.elapsed().as_secs_f64(),
            out.display()
        );
        Ok(())
    }

    /// Points per forward pass: `--batch`, else for the PINN on wgpu the largest power of two
    /// up to 1024 whose largest tensor fits the device's largest buffer, and 1 elsewhere
    /// (batching was slower on the CPU backends: docs/ARCHITECTURE.md, "Performance", and
    /// `toposcape bench`).
    fn batch<M>(&self, problem: &Problem<M>) -> Result<usize, InputError> {
        match self.args.batch {
            Some(0) => bail_input!("--batch 0: expected at least one point per pass"),
            Some(b) if b > 1 && self.args.backend == EvalBackend::Cpu => {
                bail_input!(
                    "--batch {b}: --backend cpu evaluates one point at a time; batches are for --backend flex, ndarray or wgpu"
                )
            }
            Some(b) => Ok(b),
            None if self.args.backend == EvalBackend::Wgpu => Ok(match &problem.pinn {
                Some((pinn, convection)) => crate::gpu::default_batch(pinn, convection),
                None => 1,
            }),
            None => Ok(1),
        }
    }

    /// The directions as rows, the Hessian's analysis (its top eigenpairs when they are the
    /// directions, its trace and density as `[hessian]` asks) and what `hessian.json` says.
    fn directions<L: LandscapeModel>(
        &self,
        layout: &ParamLayout,
        theta0: &[f32],
        model: &mut L,
    ) -> Result<(Vec<Vec<f64>>, HessianAnalysis, HessianJson)> {
        let dims = self.config.landscape.dims;
        let started = Instant::now();
        let h = &self.config.hessian;
        // The finite-difference step for models without exact products (toposcape's own have
        // them), measured on the shipped models: the sharp PINN is best at 1e-3, the ReLU UNet
        // at 1e-2 (and off by 5-16% there: differences of gradients across ReLU kinks).
        let step = match self.config.task {
            Task::PinnConvection => 1e-3,
            Task::UnetShapes | Task::UnetPet => 1e-2,
        };
        let options = HessianOptions {
            eigenpairs: (self.kind == DirectionKind::Hessian).then_some(LanczosOptions {
                k: dims,
                tol: h.tolerance,
                max_steps: h.max_steps,
                seed: self.config.seed,
            }),
            step,
            trace_probes: h.trace_probes,
            density_probes: h.density_probes,
            density_steps: h.density_steps,
            seed: self.config.seed,
            ..HessianOptions::default()
        };
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("hessian {spinner} {msg} · {elapsed}")
                .expect("a valid template"),
        );
        let analysis = analyse_hessian(model, theta0, &options, |stage, products| {
            let what = match stage {
                HessianStage::Eigenpairs => "top eigenpairs",
                HessianStage::Trace => "trace",
                HessianStage::Density => "spectral density",
            };
            spinner.set_message(format!("{what}: {products} Hessian-vector products"));
        });
        spinner.finish_and_clear();
        let mut info = HessianJson::new(self.kind.name(), &analysis, &options);
        let rows = match &self.kind {
            DirectionKind::Hessian => analysis
                .eigenpairs
                .as_ref()
                .expect("asked for")
                .vectors
                .clone(),
            DirectionKind::Random => {
                let mut rows: Vec<Vec<f64>> =
                    filter_normalised(layout, theta0, dims, self.config.seed, burn_filter_axis)
                        .into_iter()
                        .map(|r| r.into_iter().map(f64::from).collect())
                        .collect();
                unit_rows(&mut rows);
                rows
            }
            DirectionKind::Pca => {
                let checkpoints = self.trajectory(layout)?;
                let (rows, explained) = principal(&checkpoints, theta0, dims)
                    .map_err(|e| InputError(format!("--directions pca: {e}")))?;
                info.explained_variance = explained;
                rows
            }
            DirectionKind::Interp(through) => {
                let mut rows = Vec::with_capacity(through.len());
                for file in through {
                    let other = self.load_flat(file)?;
                    if other == theta0 {
                        bail_input!("--through {}: the same weights as theta0", file.display());
                    }
                    rows.push(
                        other
                            .iter()
                            .zip(theta0)
                            .map(|(a, b)| f64::from(*a) - f64::from(*b))
                            .collect(),
                    );
                }
                rows
            }
            DirectionKind::File(path) => read_directions(path, dims, theta0.len())?,
        };
        info.seconds = started.elapsed().as_secs_f64();
        Ok((rows, analysis, info))
    }

    /// The run's checkpoints as flat vectors, in epoch order.
    fn trajectory(&self, layout: &ParamLayout) -> Result<Vec<Vec<f32>>> {
        let Some(dir) = self.input.checkpoints.as_ref().filter(|d| d.is_dir()) else {
            bail_input!(
                "--directions pca: needs the run's checkpoints/ folder beside the weights (train with training.checkpoint_every > 0)"
            );
        };
        let mut files: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "bpk"))
            .collect();
        files.sort();
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            let flat = self.load_flat(&file)?;
            if flat.len() != layout.len() {
                bail_input!("{}: does not match the model", file.display());
            }
            out.push(flat);
        }
        Ok(out)
    }

    /// The weights of a checkpoint file of this config's model, as a flat vector.
    fn load_flat(&self, file: &Path) -> Result<Vec<f32>> {
        Ok(match self.config.task {
            Task::PinnConvection => flatten(&load_weights(
                self.config.pinn_config().init(&self.device),
                file,
            )?),
            _ => flatten(&load_weights(
                self.config.unet_config().init(&self.device),
                file,
            )?),
        })
    }
}

/// The config's sections that define the loss (everything but `[landscape]`, `[hessian]` and
/// `[training]`), as TOML, for the store's fingerprint.
fn model_section_toml(config: &RunConfig) -> String {
    let mut copy = config.clone();
    copy.landscape = Default::default();
    copy.hessian = Default::default();
    copy.training = Default::default();
    copy.to_toml()
}

fn read_directions(path: &Path, dims: usize, len: usize) -> Result<Vec<Vec<f64>>> {
    let field = crate::field::load_field(path, None)?;
    let name = path.display();
    if field.shape.len() != 2 || field.shape[1] != len {
        bail_input!(
            "--directions {name}: expected an array of shape ({dims}, {len}) (rows in the order of params.json), got {:?}",
            field.shape
        );
    }
    if field.shape[0] < dims {
        bail_input!(
            "--directions {name}: {} rows, fewer than the {dims} axes asked for",
            field.shape[0]
        );
    }
    let values: Vec<f64> = match field.values {
        FieldValues::F32(v) => v.into_iter().map(f64::from).collect(),
        FieldValues::F64(v) => v,
    };
    if values.iter().any(|v| !v.is_finite()) {
        bail_input!("--directions {name}: holds non-finite values");
    }
    Ok(values
        .chunks_exact(len)
        .take(dims)
        .map(<[f64]>::to_vec)
        .collect())
}

fn json(w: &mut impl Write, document: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, document)?;
    w.write_all(b"\n")?;
    Ok(())
}
