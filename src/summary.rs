//! What the pipeline's steps did, for the user: one line per aspect, as `train`, `analyze`,
//! `run` and `sweep` show it (and as a sweep's runs log it).

use std::fs;
use std::io::Write as _;

use anyhow::Result;
use toposcape::config::Task;
use toposcape::landscape::hessian::DENSITY_FILE;
use toposcape::sweep::SweepRun;
use toposcape::team::Team;
use toposcape::training::{TrainingOptions, TrainingSummary};
use toposcape::{
    AnalysisOptions, AnalysisSummary, RunEvent, RunOptions, SweepOptions, SweepSummary,
};

use crate::progress::Bars;

fn print(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Runs one training with a progress bar and prints what it reached.
pub fn train(options: &TrainingOptions) -> Result<()> {
    let summary = toposcape::training::train(options, &Bars::default())?;
    print(&training_lines(&summary));
    Ok(())
}

/// Runs one analysis with progress bars and prints its summary.
pub fn analyse(team: &dyn Team, options: &AnalysisOptions) -> Result<()> {
    // Rank 0 speaks for the job; the other ranks only compute.
    if let Some(summary) = toposcape::landscape::analyse_on(team, options, &Bars::default())? {
        print(&analysis_lines(&summary));
    }
    Ok(())
}

/// Trains and analyses one run with progress bars, printing what it does.
pub fn run(options: &RunOptions) -> Result<()> {
    let out = options.run_dir().path().to_path_buf();
    toposcape::run::run(options, &Bars::default(), &mut |event| {
        print(&event_lines(&event, &out));
    })?;
    Ok(())
}

/// Runs a sweep with progress bars (its runs in this process log what they do to
/// `logs/<run>.log`, as child processes do), prints what it found, and fails when a run did.
/// On several MPI ranks rank 0 draws and prints; the others run their share of the runs
/// silently (each run still logs to `logs/<run>.log`) and return `None`.
pub fn sweep(team: &dyn Team, options: &SweepOptions) -> Result<Option<SweepSummary>> {
    let logs = options.out_dir().join("logs");
    let mut log = |run: &SweepRun, event: RunEvent<'_>| {
        let out = options.out_dir().join("runs").join(&run.name);
        let text: String = event_lines(&event, &out)
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        // A log that cannot be written loses only the log.
        let _ = fs::create_dir_all(&logs).and_then(|()| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logs.join(format!("{}.log", run.name)))?
                .write_all(text.as_bytes())
        });
    };
    let rank0 = team.rank() == 0;
    // Reading a large sweep checks every combination first (10^4 of them take seconds).
    if rank0 {
        println!(
            "sweep        {}: checking every combination, then running those not complete",
            options.sweep.display()
        );
    }
    let (bars, silent) = (Bars::default(), toposcape::progress::Silent);
    let progress: &dyn toposcape::Progress = if rank0 { &bars } else { &silent };
    let Some(summary) = toposcape::sweep::sweep_on(team, options, progress, &mut log)? else {
        return Ok(None);
    };
    print(&sweep_lines(&summary));
    for f in &summary.failures {
        eprintln!("toposcape: run failed: {}: {}", f.run, f.why);
    }
    let failed = summary.failures.len();
    if failed > 0 {
        let total = summary.plan.runs.len();
        // Bad input of every failed run (a file, a key, too little memory) is the user's to
        // fix: exit status 2; any failure inside toposcape makes it 1.
        if summary.failures.iter().all(|f| f.input) {
            crate::bail_input!(
                "{failed} of {total} runs failed on their input (see logs/<run>.log)"
            );
        }
        anyhow::bail!("{failed} of {total} runs failed (see logs/<run>.log)");
    }
    Ok(Some(summary))
}

/// What a run event says, for the run in `out`.
fn event_lines(event: &RunEvent<'_>, out: &std::path::Path) -> Vec<String> {
    match event {
        RunEvent::Complete => vec![format!(
            "run directory {} is complete (trained and analysed); --force starts over",
            out.display()
        )],
        RunEvent::TrainedFound => {
            vec![format!(
                "trained model found in {}; analysing",
                out.display()
            )]
        }
        RunEvent::Retraining => vec![format!(
            "{}: an interrupted training; training again",
            out.display()
        )],
        RunEvent::Trained(s) => training_lines(s),
        RunEvent::Diverged => vec![format!(
            "warning: {}: the training diverged; the run ends without a landscape",
            out.display()
        )],
        RunEvent::Analysed(s) => analysis_lines(s),
        RunEvent::Checkpoint {
            epoch,
            index,
            count,
        } => vec![format!(
            "checkpoint   epoch {epoch} ({} of {count}): analysing its landscape",
            index + 1
        )],
        RunEvent::Epochs { count, figure } => vec![format!(
            "epochs       {count} checkpoint landscapes; profiles over training in {}",
            figure.display()
        )],
        RunEvent::Report(path) => vec![format!("report       {}", path.display())],
        _ => Vec::new(),
    }
}

fn training_lines(s: &TrainingSummary) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(path) = &s.loaded {
        lines.push(format!("loaded {} instead of training", path.display()));
    }
    let e = s.evaluation;
    lines.push(format!(
        "trained {} ({} parameters, {} epochs) in {:.1} s: loss {:.4e}{}",
        match s.task {
            Task::PinnConvection => "the PINN",
            _ => "the UNet",
        },
        s.parameters,
        s.epochs,
        s.seconds,
        s.final_loss,
        match (e.relative_l2_error, e.pixel_accuracy, e.mean_iou) {
            (Some(e), _, _) => format!(", relative L2 error {:.2}%", 100.0 * e),
            (_, Some(a), Some(m)) => format!(", pixel accuracy {a:.3}, mean IoU {m:.3}"),
            _ => String::new(),
        }
    ));
    lines.push(format!("run directory: {}", s.out.display()));
    lines.extend(s.warnings.iter().map(|w| format!("warning: {w}")));
    lines
}

/// Numbers in a list, in short scientific notation.
fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.3e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn analysis_lines(s: &AnalysisSummary) -> Vec<String> {
    let mut lines = Vec::new();
    let layout = match s.neighbours {
        None => s
            .shape
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" x "),
        Some(k) => format!(
            "{}, {} axes, graph of {k} nearest neighbours",
            s.plan, s.dims
        ),
    };
    let points: usize = s.shape.iter().product();
    lines.push(format!(
        "landscape    {points} points ({layout}), {} directions, range +-{:.4e} ({})",
        s.directions,
        s.half_width,
        if s.relative {
            format!("{} x ||theta0|| = {:.4}", s.range, s.theta0_norm)
        } else {
            "absolute".into()
        }
    ));
    hessian_lines(s, &mut lines);
    lines.push(sampling_line(s));
    lines.push(format!(
        "loss         {:.6e} at theta0{}; {:.6e} to {:.6e} on the grid; {} non-finite",
        s.loss_at_theta0,
        s.centre_loss
            .map_or(String::new(), |c| format!(" (grid centre {c:.6e})")),
        s.loss_min,
        s.loss_max,
        s.nonfinite
    ));
    let m = &s.metrics.metrics;
    lines.push(format!(
        "topology     {} minima, {} saddles, average persistence {}",
        m.minima,
        m.saddles,
        m.average_persistence
            .map_or("-".into(), |p| format!("{p:.4e}"))
    ));
    lines.push(format!(
        "time         {:.1} s; run directory {}",
        s.seconds,
        s.out.display()
    ));
    lines.extend(s.warnings.iter().map(|w| format!("warning: {w}")));
    lines
}

fn hessian_lines(s: &AnalysisSummary, lines: &mut Vec<String>) {
    let hessian = &s.hessian;
    if hessian.computed {
        lines.push(format!(
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
        ));
    }
    if !hessian.finite_difference_errors.is_empty() {
        lines.push(format!(
            "             finite differences (no exact product for this model): relative errors of about {}",
            list(&hessian.finite_difference_errors)
        ));
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
        lines.push(format!("spectrum     {}", spectrum.join("; ")));
    }
}

fn sampling_line(s: &AnalysisSummary) -> String {
    let evaluation = s.evaluation;
    // Which adapter wgpu runs on (a GPU, or a CPU one such as lavapipe), the batch, the
    // threads.
    let mut details = Vec::new();
    if let Some(a) = &s.adapter {
        let kind = if a.cpu { "a CPU adapter" } else { "a GPU" };
        details.push(format!("{}, {kind}", a.name));
    }
    if evaluation.batch > 1 {
        details.push(format!("batches of {}", evaluation.batch));
    }
    let threads = evaluation.threads;
    if s.ranks > 1 {
        details.push(format!("{} MPI ranks", s.ranks));
    }
    details.push(format!(
        "{threads} thread{}{}",
        if threads == 1 { "" } else { "s" },
        if s.ranks > 1 { " on rank 0" } else { "" }
    ));
    format!(
        "sampling     {} computed{} in {:.1} s: {} points/s on {} ({})",
        s.computed,
        if s.resumed > 0 {
            format!(", {} resumed from an interrupted run", s.resumed)
        } else {
            String::new()
        },
        s.sampling_seconds,
        // Small rates keep their decimals: the UNet on a CPU adapter does 0.36 points/s.
        match s.computed as f64 / s.sampling_seconds.max(1e-9) {
            r if r >= 100.0 => format!("{r:.0}"),
            r if r >= 10.0 => format!("{r:.1}"),
            r => format!("{r:.2}"),
        },
        evaluation.backend.name(),
        details.join(", "),
    )
}

/// A number for people: fixed-point in the usual range, scientific outside it.
pub fn format_value(x: f64) -> String {
    if x != 0.0 && x.is_finite() && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.4e}")
    } else {
        format!("{x:.6}")
    }
}

/// What a sweep wrote and found.
fn sweep_lines(s: &SweepSummary) -> Vec<String> {
    let out = &s.out;
    let keys = &s.plan.keys;
    let mut lines = vec![
        format!(
            "sweep        {} runs ({} keys: {}) in {}",
            s.plan.runs.len(),
            keys.len(),
            keys.join(", "),
            out.display()
        ),
        format!("table        {}", out.join("runs.csv").display()),
        format!("error        {}", out.join("error.png").display()),
        format!(
            "profiles     {} ({} scale)",
            out.join("profiles.png").display(),
            if s.own_scale {
                "each run's own"
            } else {
                "one shared"
            }
        ),
    ];
    let shown: Vec<String> = s
        .correlations
        .iter()
        .filter_map(|c| c.rho.map(|r| format!("{} {r:+.2}", c.metric)))
        .collect();
    lines.push(if shown.is_empty() {
        "correlation  too few complete runs for rank correlations".to_string()
    } else {
        format!(
            "correlation  Spearman's rho of {} with: {}",
            s.measure.label(),
            shown.join(", ")
        )
    });
    lines.push(format!(
        "scatter      {}",
        out.join("scatter.png").display()
    ));
    if !s.seed_pairs.is_empty() {
        lines.push(format!(
            "seeds        {} pairs of seeds compared in seed_distances.csv",
            s.seed_pairs.len()
        ));
    }
    let diverged: Vec<&str> = s
        .plan
        .runs
        .iter()
        .zip(&s.rows)
        .filter(|(_, row)| row.diverged)
        .map(|(run, _)| run.name.as_str())
        .collect();
    if !diverged.is_empty() {
        lines.push(format!(
            "warning: {} of {} runs diverged in training and have no landscape: {}",
            diverged.len(),
            s.plan.runs.len(),
            diverged.join(", ")
        ));
    }
    lines.push(format!(
        "report       {}",
        out.join("report.html").display()
    ));
    lines
}
