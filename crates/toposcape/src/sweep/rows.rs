//! runs.csv: one typed row per run, read from its run directory's documents.

use std::fmt::Write as _;

use serde_json::Value;

use super::plan::{SweepPlan, show};
use crate::documents::{MetricValue, MetricsDocument, MetricsJson};
use crate::output::read_json;
use crate::rundir::RunDir;

/// The top Hessian eigenvalues runs.csv shows.
const EIGENVALUES: usize = 4;

/// What one run of a sweep measured: its training, its Hessian and its landscape's topology
/// (`None` for what the run has not got to).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRow {
    /// Whether its landscape is analysed.
    pub complete: bool,
    /// Whether its training diverged (so it has no landscape).
    pub diverged: bool,
    /// The final training loss.
    pub final_loss: Option<f64>,
    /// The PINN's relative L2 error against the exact solution.
    pub relative_l2_error: Option<f64>,
    /// The UNet's pixel accuracy on the test set.
    pub pixel_accuracy: Option<f64>,
    /// The UNet's mean IoU on the test set.
    pub mean_iou: Option<f64>,
    /// The top Hessian eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    /// Hutchinson's estimate of the Hessian's trace.
    pub hessian_trace: Option<f64>,
    /// Its standard error.
    pub hessian_trace_error: Option<f64>,
    /// The landscape's metrics (of the unsimplified tree).
    pub metrics: Option<MetricsJson>,
}

/// A number of a document: JSON numbers, and the strings `nan`, `inf` and `-inf` that stand
/// for the non-finite ones.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "nan" => Some(f64::NAN),
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A number as runs.csv writes it: as JSON writes it, `nan`/`inf`/`-inf` when not finite.
fn text(value: MetricValue) -> String {
    match value {
        MetricValue::Count(n) => n.to_string(),
        MetricValue::Value(None) => String::new(),
        MetricValue::Value(Some(x)) => match serde_json::Number::from_f64(x) {
            Some(n) => n.to_string(),
            None if x.is_nan() => "nan".into(),
            None if x > 0.0 => "inf".into(),
            None => "-inf".into(),
        },
    }
}

impl RunRow {
    /// The row of the run in `run`, from the files it has.
    pub fn read(run: &RunDir) -> Self {
        let train = read_json(&run.train_metrics());
        let hessian = read_json(&run.file("hessian.json"));
        let metrics = std::fs::read_to_string(run.metrics())
            .ok()
            .and_then(|t| MetricsDocument::from_json(&t).ok());
        RunRow {
            complete: run.state().is_analysed(),
            diverged: train["diverged"] == true,
            final_loss: number(&train["final_loss"]),
            relative_l2_error: number(&train["relative_l2_error"]),
            pixel_accuracy: number(&train["pixel_accuracy"]),
            mean_iou: number(&train["mean_iou"]),
            eigenvalues: hessian["eigenvalues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(number)
                .collect(),
            hessian_trace: number(&hessian["trace"]["estimate"]),
            hessian_trace_error: number(&hessian["trace"]["standard_error"]),
            metrics: metrics.map(|d| d.metrics),
        }
    }

    /// The row's numbers by runs.csv's column names, in its order.
    pub fn columns(&self) -> Vec<(String, MetricValue)> {
        let value = |v: Option<f64>| MetricValue::Value(v);
        let mut out: Vec<(String, MetricValue)> = [
            ("final_loss", self.final_loss),
            ("relative_l2_error", self.relative_l2_error),
            ("pixel_accuracy", self.pixel_accuracy),
            ("mean_iou", self.mean_iou),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), value(v)))
        .collect();
        for i in 0..EIGENVALUES {
            out.push((
                format!("eigenvalue_{}", i + 1),
                value(self.eigenvalues.get(i).copied()),
            ));
        }
        out.push(("hessian_trace".into(), value(self.hessian_trace)));
        out.push((
            "hessian_trace_error".into(),
            value(self.hessian_trace_error),
        ));
        // A run without metrics has every column, empty.
        let metrics = match &self.metrics {
            Some(m) => m.scalars(),
            None => MetricsJson::default()
                .scalars()
                .map(|(k, _)| (k, MetricValue::Value(None))),
        };
        out.extend(metrics.into_iter().map(|(k, v)| (k.to_string(), v)));
        out
    }

    /// The number in column `key` of runs.csv (`None`: missing or undefined).
    pub fn get(&self, key: &str) -> Option<f64> {
        self.columns()
            .into_iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_f64())
    }
}

/// runs.csv: the run's name, the swept values, whether it completed, and its numbers.
pub fn runs_csv(plan: &SweepPlan, rows: &[RunRow]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let line =
        |cells: Vec<String>| cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n";
    let mut csv = String::new();
    let mut header = vec!["run".to_string()];
    header.extend(plan.keys.iter().cloned());
    header.push("complete".into());
    header.push("diverged".into());
    header.extend(RunRow::default().columns().into_iter().map(|(k, _)| k));
    csv.push_str(&line(header));
    for (run, row) in plan.runs.iter().zip(rows) {
        let mut cells = vec![run.name.clone()];
        cells.extend(run.values.iter().map(|(_, v)| show(v)));
        cells.push(row.complete.to_string());
        cells.push(row.diverged.to_string());
        cells.extend(row.columns().into_iter().map(|(_, v)| text(v)));
        let _ = write!(csv, "{}", line(cells));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_json_writes_them() {
        assert_eq!(text(MetricValue::Count(3)), "3");
        assert_eq!(text(MetricValue::Value(Some(1.0))), "1.0");
        assert_eq!(text(MetricValue::Value(Some(1.5e-7))), "1.5e-7");
        assert_eq!(text(MetricValue::Value(None)), "");
        assert_eq!(text(MetricValue::Value(Some(f64::NEG_INFINITY))), "-inf");
        assert_eq!(number(&Value::from("nan")).map(f64::is_nan), Some(true));
        assert_eq!(number(&serde_json::json!(2)), Some(2.0));
        // Every row has the same columns, whatever it has got to.
        let empty = RunRow::default().columns();
        assert_eq!(empty.len(), 4 + EIGENVALUES + 2 + 14);
        assert!(empty.iter().all(|(_, v)| text(*v).is_empty()));
    }
}
