//! seed_distances.csv: how far apart the landscapes of runs that differ only in their seed are.

use std::fmt::Write as _;

use toposcape_topology::{
    Diagram, bottleneck_distance, wasserstein_distance, wasserstein_estimate,
};

use super::plan::{SweepPlan, SweepRun, show};
use super::rows::RunRow;
use crate::documents::{MAX_EXACT_POINTS, MetricsDocument};
use crate::rundir::RunDir;

/// The diagram distances of two seeds' landscapes with all other values equal.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedPair {
    /// The other keys' values.
    pub cell: String,
    /// The first run's name.
    pub a: String,
    /// The second run's name.
    pub b: String,
    /// Exact.
    pub bottleneck: f64,
    /// Exact for diagrams of at most [`MAX_EXACT_POINTS`] points together, else to a
    /// relative error of at most `SEED_WASSERSTEIN_ERROR` (1e-3).
    pub wasserstein: f64,
}

/// The relative error of `seed_distances.csv`'s 1-Wasserstein distances between large diagrams.
const SEED_WASSERSTEIN_ERROR: f64 = 1e-3;

/// Every pair of complete runs that differ only in `seed` (no pairs when the sweep has no
/// `seed` key): the bottleneck and 1-Wasserstein distances of their persistence diagrams, the
/// spread of landscape shapes that initialisation alone causes.
pub fn seed_distances(plan: &SweepPlan, dirs: &[RunDir], rows: &[RunRow]) -> Vec<SeedPair> {
    if !plan.keys.iter().any(|k| k == "seed") {
        return Vec::new();
    }
    // A cell: the values of the other keys that vary.
    let others: Vec<usize> = plan
        .layout_keys()
        .into_iter()
        .filter(|&k| plan.keys[k] != "seed")
        .collect();
    let cell_of = |c: &SweepRun| {
        let parts: Vec<String> = others
            .iter()
            .map(|&k| {
                let (key, value) = &c.values[k];
                format!("{}={}", key.rsplit('.').next().unwrap_or(key), show(value))
            })
            .collect();
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(" ")
        }
    };
    let diagrams: Vec<Option<Diagram>> = dirs
        .iter()
        .zip(rows)
        .map(|(dir, row)| {
            let text = std::fs::read_to_string(dir.metrics()).ok()?;
            let document = MetricsDocument::from_json(&text).ok()?;
            row.complete.then(|| Diagram::from(&document.diagram))
        })
        .collect();
    let runs = &plan.runs;
    let mut pairs = Vec::new();
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            if cell_of(&runs[i]) != cell_of(&runs[j]) {
                continue;
            }
            let (Some(a), Some(b)) = (&diagrams[i], &diagrams[j]) else {
                continue;
            };
            let small = a.points.len() + b.points.len() <= MAX_EXACT_POINTS;
            pairs.push(SeedPair {
                cell: cell_of(&runs[i]),
                a: runs[i].name.clone(),
                b: runs[j].name.clone(),
                bottleneck: bottleneck_distance(a, b),
                wasserstein: if small {
                    wasserstein_distance(a, b)
                } else {
                    wasserstein_estimate(a, b, SEED_WASSERSTEIN_ERROR).value
                },
            });
        }
    }
    pairs
}

/// seed_distances.csv.
pub fn seeds_csv(pairs: &[SeedPair]) -> String {
    let mut csv = String::from("cell,run_a,run_b,bottleneck,wasserstein\n");
    for p in pairs {
        let _ = writeln!(
            csv,
            "{},{},{},{:e},{:e}",
            p.cell, p.a, p.b, p.bottleneck, p.wasserstein
        );
    }
    csv
}
