//! Hyperparameter sweeps: a base config and lists of values for any of its keys; every
//! combination becomes a run directory ([`crate::run`]), and the sweep directory gets
//! `runs.csv` (one [`RunRow`] per run), the figures, `seed_distances.csv` and `report.html`.
//!
//! A sweep file:
//!
//! ```toml
//! base = "../pinn-convection.toml"     # relative to this file
//! [values]
//! "convection.beta" = [1.0, 5.0, 30.0]
//! seed = [0, 1]
//! ```
//!
//! Every combination is checked as a config before anything runs. Runs that are complete are
//! skipped, so an interrupted sweep resumes.
//!
//! # Reproducibility
//!
//! A run's numbers depend only on its config: training seeds the backend's random number
//! generator with the config's `seed` as it starts, and the landscape's directions, probes and
//! chunks are seeded and ordered by the config alone. burn-flex's generator is one per process,
//! so two runs that trained at once in one process would draw from it in turns and depend on
//! each other's timing. [`Execution::InProcess`] therefore runs one run after another, and
//! [`Execution::Processes`] runs each in a process of its own: both give every run the numbers
//! it gets alone (the tests compare the two).

mod figures;
mod page;
mod plan;
mod rows;
mod seeds;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use figures::{Correlation, Measure};
pub use plan::{SweepPlan, SweepRun, Values, show};
pub use rows::RunRow;
pub use seeds::SeedPair;

use crate::output::Outputs;
use crate::run::{RunEvent, RunOptions};
use crate::rundir::RunDir;
use crate::team::{self, Solo, Team};
use crate::{Error, EvalBackend, Progress, Result};

/// The environment variable through which a sweep gives its child runs its process id
/// ([`Execution::Processes`]); see [`stop_with_sweep`].
pub const SWEEP_PARENT_ENV: &str = "TOPOSCAPE_SWEEP_PARENT";

/// In a child run of a sweep (the environment names the sweep's process): watches, on a
/// thread of its own, for the sweep to be gone (killed, even with -9), and then ends this
/// process with status 1 so that no orphaned run goes on writing into a folder the resumed
/// sweep will use. Every file a run writes is moved into place whole, so ending at any moment
/// leaves nothing half-written, and its folder's lock is taken over as stale. Does nothing
/// elsewhere.
pub fn stop_with_sweep() {
    #[cfg(unix)]
    {
        let Some(sweep) = std::env::var(SWEEP_PARENT_ENV)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
        else {
            return;
        };
        std::thread::spawn(move || {
            loop {
                // An orphan is adopted by another process: its parent changes.
                if std::os::unix::process::parent_id() != sweep {
                    eprintln!("toposcape: the sweep that started this run is gone; stopping");
                    std::process::exit(1);
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        });
    }
}

/// How a sweep's runs are executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// One run after another in this process, each with every core.
    InProcess,
    /// `jobs` runs at once, each a child process `program run CONFIG --out DIR --backend B
    /// --threads T` (the `toposcape` binary) with its output appended to `logs/<run>.log`;
    /// the cores are shared among them.
    Processes {
        /// The `toposcape` binary.
        program: PathBuf,
        /// Runs at once.
        jobs: usize,
    },
}

/// A sweep to run.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// The sweep file (TOML: `base` and a `[values]` table of key = [values]).
    pub sweep: PathBuf,
    /// The sweep directory; `None` for `runs/<sweep name>`.
    pub out: Option<PathBuf>,
    /// How the runs are executed.
    pub execution: Execution,
    /// Draw each profile of profiles.png on its own loss scale instead of the shared one.
    pub own_scale: bool,
    /// Where each run trains and is analysed.
    pub backend: EvalBackend,
}

impl SweepOptions {
    /// The sweep in file `sweep`, run in this process on `backend` into `runs/<sweep name>`.
    pub fn new(sweep: impl Into<PathBuf>, backend: EvalBackend) -> Self {
        SweepOptions {
            sweep: sweep.into(),
            out: None,
            execution: Execution::InProcess,
            own_scale: false,
            backend,
        }
    }

    /// The sweep directory these options name.
    pub fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(self.sweep.file_stem().unwrap_or_default()))
    }
}

/// What a sweep did and found.
#[derive(Debug, Clone)]
pub struct SweepSummary {
    /// The sweep directory.
    pub out: PathBuf,
    /// The sweep's combinations.
    pub plan: SweepPlan,
    /// runs.csv: each run's numbers, in the plan's order.
    pub rows: Vec<RunRow>,
    /// What the runs are judged by.
    pub measure: Measure,
    /// Spearman's rho of the measure with each plotted metric.
    pub correlations: Vec<Correlation>,
    /// seed_distances.csv.
    pub seed_pairs: Vec<SeedPair>,
    /// Whether profiles.png has each profile on its own scale.
    pub own_scale: bool,
    /// The runs that failed, in the plan's order.
    pub failures: Vec<RunFailure>,
}

/// A run of a sweep that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFailure {
    /// The run's name.
    pub run: String,
    /// Why, in one line.
    pub why: String,
    /// Whether it failed on its input (a file, a key, its memory need; exit status 2 for a
    /// child run) rather than inside toposcape.
    pub input: bool,
}

impl SweepSummary {
    /// Spearman's rho of the measure with `metric` over the complete runs (`None`: too few
    /// runs, no spread, or not a metric the sweep correlates).
    pub fn rho(&self, metric: &str) -> Option<f64> {
        self.correlations
            .iter()
            .find(|c| c.metric == metric)
            .and_then(|c| c.rho)
    }

    /// The mean of column `column` of runs.csv over the runs whose swept `key` shows as
    /// `value` (`None`: no such run has the number).
    pub fn mean(&self, column: &str, key: &str, value: &str) -> Option<f64> {
        let values: Vec<f64> = self
            .plan
            .runs
            .iter()
            .zip(&self.rows)
            .filter(|(run, _)| run.value(key).as_deref() == Some(value))
            .filter_map(|(_, row)| row.get(column))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Runs every combination of a sweep that is not complete, then tabulates and draws them all.
/// `events` hears what each run does when it runs in this process. A run that fails is
/// reported in [`SweepSummary::failures`] and the others go on.
pub fn sweep(
    options: &SweepOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(&SweepRun, RunEvent<'_>),
) -> Result<SweepSummary> {
    Ok(sweep_on(&Solo, options, progress, events)?.expect("rank 0 of one has the summary"))
}

/// [`sweep`] on every rank of `team` (see [`crate::team`]), each with the same options: rank 0
/// takes the sweep folder and writes the configs, every rank runs the runs rank 0 hands out
/// (one at a time, each whole on one rank, in this process), and rank 0 writes runs.csv and
/// the report when all are done and returns the summary; the other ranks return `None`.
pub fn sweep_on(
    team: &dyn Team,
    options: &SweepOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(&SweepRun, RunEvent<'_>),
) -> Result<Option<SweepSummary>> {
    let ready = (|| {
        match options.execution {
            Execution::Processes { jobs: 0, .. } => {
                return Err(Error::option("jobs", 0, "expected at least one job"));
            }
            Execution::Processes { jobs, .. } if team.size() > 1 => {
                return Err(Error::option(
                    "jobs",
                    jobs,
                    "a sweep on several MPI ranks spreads its runs over the ranks; start more \
                     ranks instead of jobs",
                ));
            }
            _ => {}
        }
        let plan = SweepPlan::read(&options.sweep)?;
        let out = options.out_dir();
        let configs = out.join("configs");
        let lock = match team.rank() {
            0 => Some(take_folder(&plan, &out, &configs)?),
            _ => None,
        };
        Ok((plan, out, configs, lock))
    })();
    let (plan, out, configs, _lock) = team::agree(team, ready)?;
    let dirs: Vec<RunDir> = plan
        .runs
        .iter()
        .map(|run| RunDir::new(out.join("runs").join(&run.name)))
        .collect();
    let runs = Runs {
        plan: &plan,
        dirs: &dirs,
        configs: &configs,
        backend: options.backend,
        progress,
        team,
    };
    if team.rank() > 0 {
        runs.member(events);
        return team::final_status(team).map(|()| None);
    }
    let failures = match &options.execution {
        Execution::InProcess if team.size() > 1 => runs.on_team(events),
        Execution::InProcess => runs.in_process(events),
        Execution::Processes { program, jobs } => runs.in_processes(program, *jobs),
    };
    team::finish(
        team,
        (|| {
            progress.sweep(plan.runs.len(), plan.runs.len(), None);
            let rows: Vec<RunRow> = dirs.iter().map(RunRow::read).collect();
            let measure = Measure::of(&rows);
            let summary = SweepSummary {
                correlations: figures::correlations(&rows, measure),
                seed_pairs: seeds::seed_distances(&plan, &dirs, &rows),
                out,
                plan,
                rows,
                measure,
                own_scale: options.own_scale,
                failures,
            };
            write_files(&summary, options)?;
            Ok(Some(summary))
        })(),
    )
}

/// Rank 0's hold on the sweep folder: the same sweep or none before (each run's folder has a
/// lock of its own as well), its lock, and the runs' configs written.
fn take_folder(plan: &SweepPlan, out: &Path, configs: &Path) -> Result<crate::lock::FolderLock> {
    check_same_sweep(plan, out, configs)?;
    let lock = crate::lock::lock(out, "out")?;
    fs::create_dir_all(configs)
        .map_err(|e| Error::option("out", out.display(), format!("cannot create: {e}")))?;
    for run in &plan.runs {
        let path = configs.join(format!("{}.toml", run.name));
        fs::write(&path, &run.config).map_err(|e| Error::file("write", &path, e))?;
    }
    Ok(lock)
}

/// The runs of a sweep and where they go.
struct Runs<'a> {
    plan: &'a SweepPlan,
    dirs: &'a [RunDir],
    configs: &'a Path,
    backend: EvalBackend,
    progress: &'a dyn Progress,
    team: &'a dyn Team,
}

impl Runs<'_> {
    fn config(&self, run: &SweepRun) -> PathBuf {
        self.configs.join(format!("{}.toml", run.name))
    }

    /// One run after another, here; the failures.
    fn in_process(&self, events: &mut dyn FnMut(&SweepRun, RunEvent<'_>)) -> Vec<RunFailure> {
        let total = self.plan.runs.len();
        (0..total)
            .filter_map(|i| {
                self.progress.sweep(i, total, Some(&self.plan.runs[i].name));
                self.one(i, events)
            })
            .collect()
    }

    /// Run `i` in this process (on this rank's share of the cores); its failure.
    fn one(&self, i: usize, events: &mut dyn FnMut(&SweepRun, RunEvent<'_>)) -> Option<RunFailure> {
        let (run, dir) = (&self.plan.runs[i], &self.dirs[i]);
        let options = RunOptions {
            out: Some(dir.path().to_path_buf()),
            threads: (self.team.size() > 1).then(|| team::cores(self.team)),
            ..RunOptions::new(self.config(run), self.backend)
        };
        let result = crate::run::run(&options, self.progress, &mut |event| events(run, event));
        self.progress.finish();
        result.err().map(|e| RunFailure {
            run: run.name.clone(),
            why: e.with_flags(),
            input: e.is_input(),
        })
    }

    /// Rank 0 of several: runs here and on the other ranks, each taking the next run not
    /// taken when it is free; the failures, in the plan's order.
    fn on_team(&self, events: &mut dyn FnMut(&SweepRun, RunEvent<'_>)) -> Vec<RunFailure> {
        let total = self.plan.runs.len();
        let next = AtomicUsize::new(0);
        let take = || Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < total);
        let done = AtomicUsize::new(0);
        let mut failures = std::thread::scope(|scope| {
            let served = scope.spawn(|| {
                let mut failures = Vec::new();
                team::hand_out(self.team, &take, &mut |i, bytes| {
                    failures.extend(decode_failure(&self.plan.runs[i], &bytes));
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    self.progress.sweep(finished, total, None);
                });
                failures
            });
            let mut failures = Vec::new();
            while let Some(i) = take() {
                let finished = done.load(Ordering::Relaxed);
                self.progress
                    .sweep(finished, total, Some(&self.plan.runs[i].name));
                failures.extend(self.one(i, events));
                done.fetch_add(1, Ordering::Relaxed);
            }
            failures.extend(served.join().expect("the run server"));
            failures
        });
        failures.sort_by_key(|f| self.plan.runs.iter().position(|r| r.name == f.run));
        failures
    }

    /// A rank other than 0: the runs rank 0 hands out, each reported back.
    fn member(&self, events: &mut dyn FnMut(&SweepRun, RunEvent<'_>)) {
        while let Some(i) = team::ask(self.team) {
            let failure = self.one(i, events);
            team::give(self.team, i, &encode_failure(failure.as_ref()));
        }
        team::done(self.team);
    }

    /// `jobs` child processes at a time; the failures.
    fn in_processes(&self, program: &Path, jobs: usize) -> Vec<RunFailure> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cores / jobs).max(1);
        let total = self.plan.runs.len();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failures = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(total) {
                scope.spawn(|| {
                    while let Some(i) =
                        Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < total)
                    {
                        let run = &self.plan.runs[i];
                        self.progress
                            .sweep(done.load(Ordering::Relaxed), total, Some(&run.name));
                        if let Err(failure) = self.child(program, run, &self.dirs[i], threads) {
                            let mut failures = failures.lock().unwrap_or_else(|p| p.into_inner());
                            failures.push(failure);
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
        // Threads finish in any order; report in the plan's.
        failures.sort_by_key(|f| self.plan.runs.iter().position(|r| r.name == f.run));
        failures
    }

    /// One run as a child process, its output appended to `logs/<run>.log`.
    fn child(
        &self,
        program: &Path,
        run: &SweepRun,
        dir: &RunDir,
        threads: usize,
    ) -> Result<(), RunFailure> {
        let logs = self.configs.with_file_name("logs");
        let log_path = logs.join(format!("{}.log", run.name));
        let fail = |what: &str, e: std::io::Error| RunFailure {
            run: run.name.clone(),
            why: format!("cannot {what}: {e}"),
            input: false,
        };
        if let Some(parent) = dir.path().parent() {
            fs::create_dir_all(parent).map_err(|e| fail("create the runs folder", e))?;
        }
        fs::create_dir_all(&logs).map_err(|e| fail("create logs/", e))?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| fail("open its log", e))?;
        let stdout = log.try_clone().map_err(|e| fail("open its log", e))?;
        let status = Command::new(program)
            .arg("run")
            .arg(self.config(run))
            .arg("--out")
            .arg(dir.path())
            .args([
                "--backend",
                self.backend.name(),
                "--threads",
                &threads.to_string(),
            ])
            .env(SWEEP_PARENT_ENV, std::process::id().to_string())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log))
            .status()
            .map_err(|e| fail(&format!("start {}", program.display()), e))?;
        if status.success() {
            return Ok(());
        }
        // The child's last line on stderr says why (its log holds the rest).
        let why = fs::read_to_string(&log_path)
            .ok()
            .and_then(|text| {
                text.lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("toposcape: "))
                    .map(|l| l.strip_prefix("error: ").unwrap_or(l).to_string())
            })
            .unwrap_or_else(|| status.to_string());
        Err(RunFailure {
            run: run.name.clone(),
            why: format!("{why} (see {})", log_path.display()),
            input: status.code() == Some(2),
        })
    }
}

/// A run's failure as bytes for rank 0: nothing for success, else whether it was bad input and
/// why.
fn encode_failure(failure: Option<&RunFailure>) -> Vec<u8> {
    failure.map_or_else(Vec::new, |f| {
        let mut bytes = vec![u8::from(f.input)];
        bytes.extend_from_slice(f.why.as_bytes());
        bytes
    })
}

fn decode_failure(run: &SweepRun, bytes: &[u8]) -> Option<RunFailure> {
    let (&input, why) = bytes.split_first()?;
    Some(RunFailure {
        run: run.name.clone(),
        why: String::from_utf8_lossy(why).into_owned(),
        input: input == 1,
    })
}

/// A sweep folder that holds runs of another sweep is refused: a run of this plan whose config
/// there (`configs/<run>.toml`) says otherwise would be reported from the old run's files
/// while its config was overwritten. The same sweep, or one that adds combinations, resumes.
fn check_same_sweep(plan: &SweepPlan, out: &Path, configs: &Path) -> Result<()> {
    for run in &plan.runs {
        let path = configs.join(format!("{}.toml", run.name));
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let same = match (
            crate::config::parse(&text, &path.display().to_string()),
            crate::config::parse(&run.config, &run.name),
        ) {
            (Ok(old), Ok(new)) => old == new,
            _ => false,
        };
        if !same {
            return Err(Error::option(
                "out",
                out.display(),
                format!(
                    "holds another sweep: its run {} has a different config ({}); choose \
                     another `out`, or remove that folder to start over",
                    run.name,
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// runs.csv, the figures and seed_distances.csv, then report.html (which shows the figures).
fn write_files(s: &SweepSummary, options: &SweepOptions) -> Result<()> {
    let out = &s.out;
    let mut files = Outputs::default();
    files.bytes(
        "out",
        &out.join("runs.csv"),
        rows::runs_csv(&s.plan, &s.rows),
    )?;
    let (order, columns) = s.plan.grid_layout();
    let cells: Vec<(String, PathBuf)> = order
        .iter()
        .map(|&i| {
            let run = &s.plan.runs[i];
            (run.name.clone(), out.join("runs").join(&run.name))
        })
        .collect();
    let grid = crate::figures::profile_grid(&cells, columns, s.own_scale)?;
    files.bytes("out", &out.join("profiles.png"), grid)?;
    files.bytes(
        "out",
        &out.join("error.png"),
        figures::error_heatmap(&s.plan, &s.rows)?,
    )?;
    let scatter = figures::scatter_png(&s.rows, s.measure, &s.correlations)?;
    files.bytes("out", &out.join("scatter.png"), scatter)?;
    files.bytes(
        "out",
        &out.join("seed_distances.csv"),
        seeds::seeds_csv(&s.seed_pairs),
    )?;
    files.commit()?;
    let sweep_text = fs::read_to_string(&options.sweep).unwrap_or_default();
    let html = page::sweep_report(s, &options.sweep.display().to_string(), &sweep_text);
    let mut files = Outputs::default();
    files.bytes("out", &out.join("report.html"), html)?;
    files.commit()
}
