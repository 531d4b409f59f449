//! The sweep's figures: the error heat map, the scatter plots of the error against each metric
//! with their rank correlations.

use toposcape_topology::render::{FigureOptions, ScatterPanel, heatmap_png, scatter_grid_png};

use super::plan::{SweepPlan, show};
use super::rows::RunRow;
use crate::Result;

/// What the runs are judged by: the PINN's relative L2 error or the UNet's mean IoU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// The PINN's relative L2 error.
    RelativeError,
    /// The UNet's mean IoU.
    MeanIou,
}

impl Measure {
    /// The relative error when any run has one, else the mean IoU.
    pub fn of(rows: &[RunRow]) -> Self {
        if rows.iter().any(|r| r.relative_l2_error.is_some()) {
            Measure::RelativeError
        } else {
            Measure::MeanIou
        }
    }

    /// Its column of runs.csv.
    pub fn key(self) -> &'static str {
        match self {
            Measure::RelativeError => "relative_l2_error",
            Measure::MeanIou => "mean_iou",
        }
    }

    /// Its name in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Measure::RelativeError => "the relative L2 error",
            Measure::MeanIou => "the mean IoU",
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Measure::RelativeError => "relative L2 error",
            Measure::MeanIou => "mean IoU",
        }
    }
}

/// The columns of runs.csv plotted against the error: the topology metrics, the top Hessian
/// eigenvalue and the Hessian's trace.
const SCATTERED: [&str; 11] = [
    "minima",
    "saddles",
    "average_persistence",
    "total_persistence",
    "max_persistence",
    "smad",
    "smad_normalized",
    "smad_weighted",
    "loss_min",
    "eigenvalue_1",
    "hessian_trace",
];

/// Spearman's rho of the measure against one metric over the runs that have both.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// The metric's column of runs.csv.
    pub metric: &'static str,
    /// Spearman's rho (`None`: fewer than three runs, or no spread).
    pub rho: Option<f64>,
    /// The runs that have both numbers.
    pub n: usize,
}

fn pairs_of(rows: &[RunRow], measure: Measure, metric: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some((r.get(metric)?, r.get(measure.key())?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect()
}

/// Spearman's rho of the measure with each plotted metric.
pub fn correlations(rows: &[RunRow], measure: Measure) -> Vec<Correlation> {
    SCATTERED
        .into_iter()
        .map(|metric| {
            let pairs = pairs_of(rows, measure, metric);
            Correlation {
                metric,
                rho: crate::stats::spearman(&pairs),
                n: pairs.len(),
            }
        })
        .collect()
}

/// scatter.png: the measure against each metric, one panel each, rho in the caption.
pub fn scatter_png(
    rows: &[RunRow],
    measure: Measure,
    correlations: &[Correlation],
) -> Result<Vec<u8>> {
    let panels: Vec<ScatterPanel> = correlations
        .iter()
        .map(|c| ScatterPanel {
            title: match c.rho {
                Some(rho) => format!("{}: rho = {rho:+.2} (n = {})", c.metric, c.n),
                None if c.n < 3 => format!("{}: too few runs", c.metric),
                None => format!("{}: no spread", c.metric),
            },
            x_desc: c.metric.replace('_', " "),
            points: pairs_of(rows, measure, c.metric),
        })
        .collect();
    let positive = rows
        .iter()
        .filter_map(|r| r.get(measure.key()))
        .all(|v| v > 0.0);
    let options = FigureOptions {
        width: 460,
        height: 360,
        log_scale: measure == Measure::RelativeError && positive,
        ..FigureOptions::default()
    };
    Ok(scatter_grid_png(&panels, 6, measure.axis(), &options)?)
}

/// error.png: the error (PINN: relative L2 error; UNet: mean IoU) as a heat map over the first
/// two keys that vary (rows, columns; `seed` only when one other key varies), each cell the mean
/// over the other keys' values (the seeds).
pub fn error_heatmap(plan: &SweepPlan, rows: &[RunRow]) -> Result<Vec<u8>> {
    let varying = plan.layout_keys();
    let row_key = varying.first().copied();
    let column_key = varying.get(1).copied();
    let labels =
        |key: Option<usize>| key.map_or_else(|| vec!["all".to_string()], |k| plan.distinct(k));
    let (row_labels, column_labels) = (labels(row_key), labels(column_key));
    let mut sums = vec![(0.0, 0usize); row_labels.len() * column_labels.len()];
    let mut measure = Measure::RelativeError;
    for (run, row) in plan.runs.iter().zip(rows) {
        let value = match (row.relative_l2_error, row.mean_iou) {
            (Some(e), _) if e.is_finite() => e,
            (_, Some(m)) if m.is_finite() => {
                measure = Measure::MeanIou;
                m
            }
            _ => continue,
        };
        let index = |key: Option<usize>, labels: &[String]| {
            key.map_or(0, |k| {
                labels
                    .iter()
                    .position(|l| *l == show(&run.values[k].1))
                    .unwrap_or(0)
            })
        };
        let cell =
            index(row_key, &row_labels) * column_labels.len() + index(column_key, &column_labels);
        sums[cell].0 += value;
        sums[cell].1 += 1;
    }
    let values: Vec<Option<f64>> = sums
        .iter()
        .map(|&(sum, n)| (n > 0).then(|| sum / n as f64))
        .collect();
    let name = |key: Option<usize>| key.map_or("", |k| plan.keys[k].as_str());
    let options = FigureOptions {
        width: (240 + 130 * column_labels.len() as u32).min(2400),
        height: (200 + 70 * row_labels.len() as u32).min(2400),
        title: format!("{}, mean over the other keys", measure.axis()),
        ..FigureOptions::default()
    };
    Ok(heatmap_png(
        (name(row_key), &row_labels),
        (name(column_key), &column_labels),
        &values,
        &options,
    )?)
}
