//! The analysis of a trained model's loss landscape: directions (Hessian, random, PCA,
//! interpolation or a file), the sampled landscape, and its topology, into a run directory
//! (docs/ARCHITECTURE.md, contract 4).
//!
//! Everything a caller can get wrong (the options, the config, the weights, the output folder)
//! is checked before the long work starts. Points are stored in chunks as they finish (in a
//! hidden folder of the output, removed at the end), so an analysis that is killed and started
//! again with the same options resumes and ends with the same landscape bit for bit.

mod directions;
pub mod explore;
mod files;
pub mod hessian;
pub mod problem;
pub mod sampling;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::prelude::*;
use toposcape_perturb::model::LandscapeModel;
use toposcape_perturb::params::{ParamLayout, flatten};
use toposcape_perturb::plan::norm;
use toposcape_perturb::sample::Directions;
use toposcape_perturb::store::{ChunkStore, Fingerprint, StoreDescription, StoreError};

use crate::backend::{EvalBackend, load_weights};
use crate::config::{self, PlanName, RegionName, RunConfig, Task};
use crate::documents::MetricsDocument;
use crate::error::{Error, Result};
use crate::gpu::{self, Adapter};
use crate::progress::{Progress, Stage};
use crate::rundir::RunDir;
use crate::team::{self, Solo, Team};

pub use directions::DirectionKind;
pub use explore::{Axes, ExploreOptions, Explored, explore};
pub use hessian::HessianReport;
pub use problem::{Evaluation, Problem};
pub use sampling::Sampling;

/// The most analysis threads per core of the machine: more only cost memory (each holds an
/// evaluator of its own).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// What to analyse and how. [`AnalysisOptions::new`] gives the analysis of a run directory
/// with its config's `[landscape]` settings; every `Option` left `None` is the config's.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// A run directory of training (config.toml, theta0.safetensors), or a weights file
    /// (.safetensors or .bpk) with `config`.
    pub input: PathBuf,
    /// The run config [default: config.toml in the run directory].
    pub config: Option<PathBuf>,
    /// hessian, random, pca (of the run's checkpoints), interp (towards `through`), or an .npy
    /// file of DIMS x P rows (relative to the working directory).
    pub directions: Option<String>,
    /// interp: the checkpoints the axes point to, one or two.
    pub through: Option<Vec<PathBuf>>,
    /// Grid axes, 1 to 8.
    pub dims: Option<usize>,
    /// Points per axis.
    pub points: Option<usize>,
    /// Half-width of each axis, as a multiple of ||theta0|| unless `absolute`.
    pub range: Option<f64>,
    /// `grid`, or scattered points: `sobol` or `random`.
    pub plan: Option<PlanName>,
    /// Scattered plans: the number of points, theta0 included.
    pub samples: Option<usize>,
    /// Scattered plans: neighbours per point in the graph [default: 2 dims + 2].
    pub neighbours: Option<usize>,
    /// Scattered plans: fill the box or the ball of the range.
    pub region: Option<RegionName>,
    /// Read `range` as an absolute distance along each direction.
    pub absolute: bool,
    /// The output directory [default: the run directory; runs/<file stem> for a weights file].
    pub out: Option<PathBuf>,
    /// Where points are evaluated.
    pub backend: EvalBackend,
    /// flex, ndarray or wgpu: points per forward pass [default on wgpu: for the PINN the
    /// largest power of two up to 1024 that the adapter's largest buffer holds, for the UNet
    /// 1; 1 on the CPU backends].
    pub batch: Option<usize>,
    /// Worker threads [default: the number of cores; 1 on wgpu].
    pub threads: Option<usize>,
    /// Replace the landscape files of an earlier analysis in the output directory.
    pub force: bool,
}

impl AnalysisOptions {
    /// The analysis of `input` (a run directory, or a weights file with `config`) as its
    /// config says, on `backend`.
    pub fn new(input: impl Into<PathBuf>, backend: EvalBackend) -> Self {
        AnalysisOptions {
            input: input.into(),
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
            threads: None,
            force: false,
        }
    }
}

/// What an analysis did and found: for a caller to report.
#[derive(Debug, Clone)]
pub struct AnalysisSummary {
    /// The run directory written.
    pub out: PathBuf,
    /// The landscape's shape (a scattered plan's is its point count).
    pub shape: Vec<usize>,
    /// `grid` or `scattered`.
    pub plan: &'static str,
    /// The landscape's axes.
    pub dims: usize,
    /// Scattered plans: the k of the nearest-neighbour graph.
    pub neighbours: Option<usize>,
    /// The directions' name (`hessian`, ..., or the file).
    pub directions: String,
    /// The absolute half-width of each axis, and the range it came from.
    pub half_width: f64,
    /// Whether `range` was relative to ||theta0||.
    pub relative: bool,
    /// The range as given.
    pub range: f64,
    /// ||theta0||.
    pub theta0_norm: f64,
    /// What `hessian.json` says.
    pub hessian: HessianReport,
    /// Points computed now, and points taken from an interrupted analysis.
    pub computed: usize,
    /// Points taken from an interrupted analysis.
    pub resumed: usize,
    /// Seconds of sampling.
    pub sampling_seconds: f64,
    /// How the points were evaluated (on rank 0, with several ranks).
    pub evaluation: Evaluation,
    /// The processes that sampled the landscape: 1, or an MPI job's ranks.
    pub ranks: usize,
    /// wgpu: the adapter the points were evaluated on.
    pub adapter: Option<Adapter>,
    /// The loss at theta0, in the loss's own precision.
    pub loss_at_theta0: f64,
    /// The loss at the plan's centre (theta0 itself), as sampled.
    pub centre_loss: Option<f32>,
    /// The smallest and largest finite sampled loss.
    pub loss_min: f32,
    /// The largest finite sampled loss.
    pub loss_max: f32,
    /// Sampled points whose loss is not finite.
    pub nonfinite: usize,
    /// `metrics.json` as written.
    pub metrics: MetricsDocument,
    /// Seconds the whole analysis took.
    pub seconds: f64,
    /// What the caller should know although the analysis succeeded (stored chunks that failed
    /// their checksum and were computed again, weights stored in less precision).
    pub warnings: Vec<String>,
}

/// Analyses the landscape that `options` describe into their output directory, reporting
/// [`Stage::Hessian`] and [`Stage::Landscape`] to `progress`.
pub fn analyse(options: &AnalysisOptions, progress: &dyn Progress) -> Result<AnalysisSummary> {
    Ok(analyse_on(&Solo, options, progress)?.expect("rank 0 of one has the summary"))
}

/// [`analyse`] on every rank of `team`, which share the sampling (see [`crate::team`]): every
/// rank calls it with the same options. Rank 0 computes the directions, keeps the store, writes
/// the files, reports to `progress` and returns the summary; the other ranks return `None`.
pub fn analyse_on(
    team: &dyn Team,
    options: &AnalysisOptions,
    progress: &dyn Progress,
) -> Result<Option<AnalysisSummary>> {
    let started = std::time::Instant::now();
    let mut summary = analyse_prepared(team, options, progress)?;
    if let Some(summary) = &mut summary {
        summary.seconds = started.elapsed().as_secs_f64();
    }
    Ok(summary)
}

fn analyse_prepared(
    team: &dyn Team,
    options: &AnalysisOptions,
    progress: &dyn Progress,
) -> Result<Option<AnalysisSummary>> {
    let ready = (|| {
        let prepared = prepare(options)?;
        check_memory(team, options, &prepared)?;
        // One writer per output folder, held until the files are in place: rank 0.
        let lock = match team.rank() {
            0 => Some(RunDir::new(&prepared.out).lock("out")?),
            _ => None,
        };
        if team.size() > 1 {
            crate::gpu::use_local_gpu(team.local().1);
        }
        let device = options.backend.burn().device()?;
        Ok((prepared, lock, device))
    })();
    let (prepared, _lock, device) = team::agree(team, ready)?;
    let analysis = Analysis {
        team,
        options,
        prepared: &prepared,
        device: device.clone(),
        progress,
    };
    let config = &prepared.config;
    match config.task {
        Task::PinnConvection => analysis.run((|| {
            let model = load_weights(config.pinn_config().init(&device), &prepared.weights)?;
            Ok(problem::pinn_problem(
                config,
                model,
                &device,
                options.backend,
            ))
        })()),
        Task::UnetShapes | Task::UnetPet => analysis.run((|| {
            let train_set =
                problem::unet_train_set(config, &prepared.config_dir, &prepared.config_path)?;
            let model = load_weights(config.unet_config().init(&device), &prepared.weights)?;
            Ok(problem::unet_problem(config, model, &train_set, &device))
        })()),
    }
}

/// The options resolved and checked against the files: what the analysis reads and writes.
struct Prepared {
    config_path: PathBuf,
    config_dir: PathBuf,
    /// The config with the options applied.
    config: RunConfig,
    weights: PathBuf,
    /// The checkpoints of the run, for PCA directions.
    checkpoints: Option<PathBuf>,
    out: PathBuf,
    kind: DirectionKind,
}

fn prepare(options: &AnalysisOptions) -> Result<Prepared> {
    let (config_path, weights, checkpoints, out) = resolve_input(options)?;
    let mut config = config::load(&config_path)?;
    apply_options(options, &mut config)?;
    check_out(&out, options.force)?;
    let config_dir = config::folder_of(&config_path);
    let kind = directions::resolve(options, &mut config, &config_dir)?;
    Ok(Prepared {
        config_path,
        config_dir,
        config,
        weights,
        checkpoints,
        out,
        kind,
    })
}

/// The config, the weights, the checkpoints folder and the output directory of the input.
fn resolve_input(
    options: &AnalysisOptions,
) -> Result<(PathBuf, PathBuf, Option<PathBuf>, PathBuf)> {
    let input = &options.input;
    if input.is_dir() {
        let run = RunDir::new(input);
        let weights = run.weights();
        if !weights.is_file() {
            return Err(Error::Input(format!(
                "{}: no theta0.safetensors; expected a run directory of `toposcape train`",
                input.display()
            )));
        }
        let config = options.config.clone().unwrap_or_else(|| run.config());
        let out = options.out.clone().unwrap_or_else(|| input.clone());
        Ok((config, weights, Some(run.checkpoints()), out))
    } else if input.is_file() {
        let extension = input.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(extension, "safetensors" | "bpk") {
            return Err(Error::Input(format!(
                "{}: expected a run directory, a .safetensors or a .bpk file",
                input.display()
            )));
        }
        let Some(config) = options.config.clone() else {
            return Err(Error::option_as_a_whole(
                "config",
                format!(
                    "{}: a weights file needs the run config it was trained with",
                    input.display()
                ),
            ));
        };
        let stem = input.file_stem().unwrap_or_default();
        let checkpoints = input.parent().map(|p| p.join("checkpoints"));
        let out = options
            .out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(stem));
        Ok((config, input.clone(), checkpoints, out))
    } else {
        Err(Error::Input(format!(
            "{}: no such file or folder",
            input.display()
        )))
    }
}

/// The options over the config's `[landscape]` section, checked by the config's own rules and
/// reported under the option's name.
fn apply_options(options: &AnalysisOptions, config: &mut RunConfig) -> Result<()> {
    let l = &mut config.landscape;
    if let Some(d) = &options.directions {
        l.directions = d.clone();
    }
    l.dims = options.dims.unwrap_or(l.dims);
    l.points = options.points.unwrap_or(l.points);
    l.range = options.range.unwrap_or(l.range);
    l.relative &= !options.absolute;
    l.plan = options.plan.unwrap_or(l.plan);
    l.region = options.region.unwrap_or(l.region);
    l.samples = options.samples.unwrap_or(l.samples);
    // In a config 0 neighbours means "the default"; as an option it is a mistake.
    if let Some(0) = options.neighbours {
        return Err(Error::option(
            "neighbours",
            0,
            "expected at least one neighbour",
        ));
    }
    l.neighbours = options.neighbours.unwrap_or(l.neighbours);
    if let Some(0) = options.threads {
        return Err(Error::option("threads", 0, "expected at least one thread"));
    }
    // Each thread holds an evaluator of its own; past the cores they only cost memory.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(threads) = options
        .threads
        .filter(|&t| t > MAX_THREADS_PER_CORE * cores)
    {
        return Err(Error::option(
            "threads",
            threads,
            format!(
                "expected at most {} ({MAX_THREADS_PER_CORE} per core of this machine's \
                 {cores}): every thread holds an evaluator, and more threads than cores only \
                 cost memory",
                MAX_THREADS_PER_CORE * cores
            ),
        ));
    }
    // The config file was checked when it was read, so a value out of range now came from an
    // option.
    config.check_landscape().map_err(|(key, what)| {
        let key = key.strip_prefix("landscape.").unwrap_or(&key).to_string();
        Error::option_as_a_whole(key, what)
    })
}

/// The grid and the evaluators fit this machine's memory (before the weights are read into a
/// model of the config's shape); a grid too large is blamed on the option that set it.
fn check_memory(team: &dyn Team, options: &AnalysisOptions, prepared: &Prepared) -> Result<()> {
    let need = crate::memory::analysis(
        &prepared.config,
        threads(team, options),
        options.batch.unwrap_or(1),
    );
    need.check(crate::memory::available())
        .map_err(|(key, what)| match key.as_str() {
            "landscape.points" if options.points.is_some() => {
                Error::option_as_a_whole("points", what)
            }
            "landscape.samples" if options.samples.is_some() => {
                Error::option_as_a_whole("samples", what)
            }
            _ => Error::Input(format!(
                "{}: key {key}: {what}",
                prepared.config_path.display()
            )),
        })
}

/// The analysis's worker threads: `threads`, else every core of this rank's share of the
/// machine (one on wgpu).
fn threads(team: &dyn Team, options: &AnalysisOptions) -> usize {
    options.threads.unwrap_or_else(|| {
        if options.backend == EvalBackend::Wgpu {
            1
        } else {
            team::cores(team)
        }
    })
}

fn check_out(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::option(
            "out",
            out.display(),
            "is a file; expected a folder",
        ));
    }
    if !force && RunDir::new(out).state().is_analysed() {
        return Err(Error::option(
            "out",
            out.display(),
            "holds a finished landscape; refusing to overwrite it (pass `force` to replace \
             it, or `out` another folder)",
        ));
    }
    Ok(())
}

/// One analysis in progress.
struct Analysis<'a> {
    team: &'a dyn Team,
    options: &'a AnalysisOptions,
    prepared: &'a Prepared,
    device: Device,
    progress: &'a dyn Progress,
}

/// The landscape as sampled, and what it was sampled along.
struct Sampled {
    layout: ParamLayout,
    directions: Directions,
    plan: Sampling,
    half: f64,
    theta0_norm: f64,
    values: Vec<f32>,
    computed: usize,
    resumed: usize,
    seconds: f64,
    warnings: Vec<String>,
}

impl Analysis<'_> {
    /// The analysis of `problem` (built on every rank, which agree that it was): rank 0's
    /// summary, `None` on the other ranks.
    fn run<M: Module + Clone + 'static>(
        &self,
        problem: Result<Problem<M>>,
    ) -> Result<Option<AnalysisSummary>> {
        let ready = problem.and_then(|problem| {
            let evaluation = self.evaluation(&problem)?;
            let theta0 = flatten(&problem.model);
            let nonfinite = theta0.iter().filter(|w| !w.is_finite()).count();
            if nonfinite > 0 {
                return Err(Error::Input(format!(
                    "{}: {nonfinite} of its {} weights are not finite (a diverged training?); \
                     a landscape needs finite weights",
                    self.prepared.weights.display(),
                    theta0.len()
                )));
            }
            Ok((problem, evaluation, theta0))
        });
        let (problem, evaluation, theta0) = team::agree(self.team, ready)?;
        if self.team.rank() == 0 {
            self.run_root(&problem, evaluation, &theta0).map(Some)
        } else {
            self.run_member(&problem, evaluation, &theta0)?;
            Ok(None)
        }
    }

    /// Rank 0: the directions (shared with the other ranks), the sampling (with them) and the
    /// files.
    fn run_root<M: Module + Clone + 'static>(
        &self,
        problem: &Problem<M>,
        evaluation: Evaluation,
        theta0: &[f32],
    ) -> Result<AnalysisSummary> {
        let layout = ParamLayout::of(&problem.model);
        let mut reference = problem.module_loss_with_tangent(&self.device);
        let loss_at_theta0 = reference.loss(theta0);
        let ready =
            self.directions(&layout, theta0, &mut reference)
                .map(|(rows, analysis, hessian)| {
                    let directions = Directions::from_rows(&rows);
                    let plan = self.plan(theta0);
                    let description =
                        self.store_description(&plan.0, problem, theta0, &directions, evaluation);
                    (directions, plan, description, analysis, hessian)
                });
        // The other ranks get the directions, or word that rank 0 failed (its error is its
        // own to report).
        let shared = match &ready {
            Ok((directions, _, description, ..)) => Ok(share(directions, description)),
            Err(e) => Err(Error::Elsewhere {
                rank: 0,
                input: e.is_input(),
            }),
        };
        team::from_root(self.team, Some(shared)).ok();
        // The other ranks check that they were given the same analysis; then rank 0 opens the
        // store, so that nothing is written for an analysis refused.
        let (directions, plan, description, analysis, hessian) = team::agree(self.team, ready)?;
        let store = team::agree(self.team, self.open_store(description))?;
        team::finish(
            self.team,
            (|| {
                let sampled = self.sample(
                    problem, layout, theta0, directions, plan, &store, evaluation,
                )?;
                let metrics = files::write(self, problem, &sampled, &analysis, &hessian)?;
                store.remove()?;
                Ok(self.summary(sampled, hessian, evaluation, loss_at_theta0, metrics))
            })(),
        )
    }

    /// A rank other than 0: rank 0's directions, checked to describe the same landscape as
    /// this rank's options, and the chunks rank 0 hands out.
    fn run_member<M: Module + Clone + 'static>(
        &self,
        problem: &Problem<M>,
        evaluation: Evaluation,
        theta0: &[f32],
    ) -> Result<()> {
        let checked = team::from_root(self.team, None).and_then(|bytes| {
            let (directions, root) = unshare(&bytes);
            let (plan, ..) = self.plan(theta0);
            let mine = self.store_description(&plan, problem, theta0, &directions, evaluation);
            if mine != root {
                return Err(Error::Input(format!(
                    "this rank was given another analysis than rank 0 (its landscape would be \
                     {} points in chunks of {}, fingerprint {}; rank 0's is {} in chunks of {}, \
                     fingerprint {}): every rank needs the same command, config and weights",
                    mine.points,
                    mine.chunk,
                    mine.fingerprint,
                    root.points,
                    root.chunk,
                    root.fingerprint
                )));
            }
            Ok((directions, plan, root))
        });
        let (directions, plan, description) = team::agree(self.team, checked)?;
        // Rank 0 opens the store.
        team::agree(self.team, Ok(()))?;
        let workers = problem.evaluators(theta0, &directions, evaluation, &self.device);
        team::sample_member(self.team, plan.plan(), &description, workers);
        team::final_status(self.team)
    }

    /// Points per forward pass and threads: `batch`, else for the PINN on wgpu the largest
    /// power of two up to 1024 whose largest tensor fits the device's largest buffer, and 1
    /// elsewhere (batching was slower on the CPU backends: docs/ARCHITECTURE.md,
    /// "Performance", and `toposcape bench`); `threads`, else every core (one on wgpu).
    fn evaluation<M>(&self, problem: &Problem<M>) -> Result<Evaluation> {
        let backend = self.options.backend;
        let batch = match self.options.batch {
            Some(0) => {
                return Err(Error::option(
                    "batch",
                    0,
                    "expected at least one point per pass",
                ));
            }
            Some(b) if b > 1 && backend == EvalBackend::Cpu => {
                return Err(Error::option(
                    "batch",
                    b,
                    "`backend` cpu evaluates one point at a time; batches are for `backend` \
                     flex, ndarray or wgpu",
                ));
            }
            Some(b) => b,
            None if backend == EvalBackend::Wgpu => match &problem.pinn {
                Some((pinn, convection)) => gpu::default_batch(pinn, convection),
                None => 1,
            },
            None => 1,
        };
        Ok(Evaluation {
            backend,
            batch,
            threads: threads(self.team, self.options),
        })
    }

    /// The plan around theta0, its half-width and ||theta0||.
    fn plan(&self, theta0: &[f32]) -> (Sampling, f64, f64) {
        let config = &self.prepared.config;
        let landscape = &config.landscape;
        let theta0_norm = norm(theta0);
        let half = if landscape.relative {
            landscape.range * theta0_norm
        } else {
            landscape.range
        };
        let plan = Sampling::new(landscape, landscape.dims, half, config.seed);
        (plan, half, theta0_norm)
    }

    /// The plan around theta0 along `directions`, sampled into the chunk store of the output
    /// (resuming what an interrupted analysis stored) by every rank.
    #[allow(clippy::too_many_arguments)]
    fn sample<M: Module + Clone + 'static>(
        &self,
        problem: &Problem<M>,
        layout: ParamLayout,
        theta0: &[f32],
        directions: Directions,
        (plan, half, theta0_norm): (Sampling, f64, f64),
        store: &ChunkStore,
        evaluation: Evaluation,
    ) -> Result<Sampled> {
        let mut warnings: Vec<String> =
            crate::backend::narrow_weights_warning(&self.prepared.weights)?
                .into_iter()
                .collect();
        let damaged = store.discard_damaged()?;
        if let Some(first) = damaged.first() {
            warnings.push(format!(
                "{}: {} stored chunk(s) failed their check and were computed again (chunk {}: {})",
                store.dir().display(),
                damaged.len(),
                first.chunk,
                first.reason
            ));
        }
        let missing = store.missing()?;
        let resumed =
            plan.point_count() - missing.iter().map(|&k| store.range(k).len()).sum::<usize>();
        self.progress.start(
            Stage::Landscape,
            Some(plan.point_count() as u64),
            resumed as u64,
        );
        let started = Instant::now();
        let progress = |done: usize| self.progress.set((resumed + done) as u64);
        let workers = problem.evaluators(theta0, &directions, evaluation, &self.device);
        let computed = team::sample_root(self.team, plan.plan(), store, workers, &progress)?;
        self.progress.finish();
        let seconds = started.elapsed().as_secs_f64();
        let values = store.assemble()?;
        // The store's chunks go once the files are in place.
        Ok(Sampled {
            layout,
            directions,
            plan,
            half,
            theta0_norm,
            values,
            computed,
            resumed,
            seconds,
            warnings,
        })
    }

    /// What the store of this analysis holds, keyed by everything the values depend on.
    fn store_description<M>(
        &self,
        plan: &Sampling,
        problem: &Problem<M>,
        theta0: &[f32],
        directions: &Directions,
        evaluation: Evaluation,
    ) -> StoreDescription {
        let mut fingerprint = Fingerprint::default();
        fingerprint
            .f32s(theta0)
            .f32s(&directions.values)
            .text(&model_section_toml(&self.prepared.config))
            .text(evaluation.backend.name())
            .text(&evaluation.batch.to_string());
        plan.fingerprint(&mut fingerprint);
        StoreDescription {
            points: plan.point_count(),
            chunk: sampling::chunk_size(
                plan.point_count(),
                problem.kernel.is_some(),
                evaluation.batch,
            ),
            fingerprint: fingerprint.hex(),
        }
    }

    /// The chunk store of the output directory; one of another analysis is replaced with
    /// `force`, else refused.
    fn open_store(&self, description: StoreDescription) -> Result<ChunkStore> {
        let out = &self.prepared.out;
        fs::create_dir_all(out)
            .map_err(|e| Error::option("out", out.display(), format!("cannot create: {e}")))?;
        let run = RunDir::new(out);
        let store_dir = run.chunk_store();
        match ChunkStore::open(&store_dir, description.clone()) {
            Err(StoreError::Mismatch { .. } | StoreError::Corrupt { .. }) if self.options.force => {
                fs::remove_dir_all(&store_dir)?;
                Ok(ChunkStore::open(&store_dir, description)?)
            }
            Err(e @ (StoreError::Mismatch { .. } | StoreError::Corrupt { .. })) => {
                Err(Error::option(
                    "out",
                    out.display(),
                    format!("{e}; pass `force` to discard it"),
                ))
            }
            other => Ok(other?),
        }
    }

    fn summary(
        &self,
        sampled: Sampled,
        hessian: HessianReport,
        evaluation: Evaluation,
        loss_at_theta0: f64,
        metrics: MetricsDocument,
    ) -> AnalysisSummary {
        let landscape = &self.prepared.config.landscape;
        let values = &sampled.values;
        let (loss_min, loss_max) = values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (neighbours, shape) = match &sampled.plan {
            Sampling::Grid(grid) => (None, grid.shape()),
            Sampling::Scattered(_, k, _) => (Some(*k), vec![values.len()]),
        };
        AnalysisSummary {
            out: self.prepared.out.clone(),
            shape,
            plan: sampled.plan.name(),
            dims: landscape.dims,
            neighbours,
            directions: self.prepared.kind.name(),
            half_width: sampled.half,
            relative: landscape.relative,
            range: landscape.range,
            theta0_norm: sampled.theta0_norm,
            hessian,
            computed: sampled.computed,
            resumed: sampled.resumed,
            sampling_seconds: sampled.seconds,
            evaluation,
            ranks: self.team.size(),
            adapter: (evaluation.backend == EvalBackend::Wgpu)
                .then(gpu::chosen)
                .flatten(),
            loss_at_theta0,
            centre_loss: sampled.plan.centre().map(|c| values[c]),
            loss_min,
            loss_max,
            nonfinite: values.iter().filter(|v| !v.is_finite()).count(),
            metrics,
            // Set by `analyse` when it is over.
            seconds: 0.0,
            warnings: sampled.warnings,
        }
    }

    /// The weights of a checkpoint file of this config's model, as a flat vector.
    fn load_flat(&self, file: &Path) -> Result<Vec<f32>> {
        let config = &self.prepared.config;
        Ok(match config.task {
            Task::PinnConvection => flatten(&load_weights(
                config.pinn_config().init(&self.device),
                file,
            )?),
            _ => flatten(&load_weights(
                config.unet_config().init(&self.device),
                file,
            )?),
        })
    }
}

/// Rank 0's directions and store description, for the other ranks.
fn share(directions: &Directions, description: &StoreDescription) -> Vec<u8> {
    let mut bytes = (directions.count as u64).to_le_bytes().to_vec();
    bytes.extend((directions.len as u64).to_le_bytes());
    bytes.extend(team::f32_bytes(&directions.values));
    bytes.extend(serde_json::to_vec(description).expect("serialisable"));
    bytes
}

/// What [`share`] sent.
fn unshare(bytes: &[u8]) -> (Directions, StoreDescription) {
    let word =
        |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8")) as usize;
    let (count, len) = (word(0), word(1));
    let end = 16 + 4 * count * len;
    let directions = Directions {
        count,
        len,
        values: team::bytes_f32(&bytes[16..end]),
    };
    let description = serde_json::from_slice(&bytes[end..]).expect("rank 0's description");
    (directions, description)
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
