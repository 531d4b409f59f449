//! What the pipeline's steps did, printed for the user: one line per aspect, as `analyze`,
//! `run` and `sweep` show it.

use std::time::Instant;

use anyhow::Result;
use toposcape::config::Task;
use toposcape::landscape::hessian::DENSITY_FILE;
use toposcape::training::TrainingOptions;
use toposcape::{AnalysisOptions, AnalysisSummary};

use crate::progress::Bars;

/// Runs one training with a progress bar and prints what it reached.
pub fn train(options: &TrainingOptions) -> Result<()> {
    let s = toposcape::training::train(options, &Bars::default())?;
    if let Some(path) = &s.loaded {
        println!("loaded {} instead of training", path.display());
    }
    let e = s.evaluation;
    println!(
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
    );
    println!("run directory: {}", s.out.display());
    Ok(())
}

/// Runs one analysis with progress bars and prints its summary.
pub fn analyse(options: &AnalysisOptions) -> Result<()> {
    let started = Instant::now();
    let summary = toposcape::analyse(options, &Bars::default())?;
    print_summary(&summary, started);
    Ok(())
}

/// Numbers in a list, in short scientific notation.
fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.3e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(s: &AnalysisSummary, started: Instant) {
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
    println!(
        "landscape    {points} points ({layout}), {} directions, range +-{:.4e} ({})",
        s.directions,
        s.half_width,
        if s.relative {
            format!("{} x ||theta0|| = {:.4}", s.range, s.theta0_norm)
        } else {
            "absolute".into()
        }
    );
    print_hessian(s);
    print_sampling(s);
    println!(
        "loss         {:.6e} at theta0{}; {:.6e} to {:.6e} on the grid; {} non-finite",
        s.loss_at_theta0,
        s.centre_loss
            .map_or(String::new(), |c| format!(" (grid centre {c:.6e})")),
        s.loss_min,
        s.loss_max,
        s.nonfinite
    );
    let m = &s.metrics.metrics;
    println!(
        "topology     {} minima, {} saddles, average persistence {}",
        m.minima,
        m.saddles,
        m.average_persistence
            .map_or("-".into(), |p| format!("{p:.4e}"))
    );
    println!(
        "time         {:.1} s; run directory {}",
        started.elapsed().as_secs_f64(),
        s.out.display()
    );
}

fn print_hessian(s: &AnalysisSummary) {
    let hessian = &s.hessian;
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
}

fn print_sampling(s: &AnalysisSummary) {
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
    details.push(format!(
        "{threads} thread{}",
        if threads == 1 { "" } else { "s" }
    ));
    println!(
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
    );
}

/// A number for people: fixed-point in the usual range, scientific outside it.
pub fn format_value(x: f64) -> String {
    if x != 0.0 && x.is_finite() && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.4e}")
    } else {
        format!("{x:.6}")
    }
}
