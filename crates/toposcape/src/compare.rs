//! How two landscapes differ: the distances between their persistence diagrams (and between
//! those of their simplified trees), beside their metrics. Each landscape is a field or a
//! `metrics.json`.

use std::fs;
use std::path::{Path, PathBuf};

use toposcape_topology::{
    Diagram, TreeKind, bottleneck_distance, wasserstein_distance, wasserstein_estimate,
};

use crate::documents::{DiagramJson, MAX_EXACT_POINTS, MetricsDocument};
use crate::field::{FieldTree, TreeOptions};
use crate::{Error, Progress, Result};

/// Two landscapes to compare, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// The first landscape: a field (.npy or .npz), or a metrics file.
    pub a: PathBuf,
    /// The second landscape, in either form.
    pub b: PathBuf,
    /// How fields are read and their trees computed (metrics files carry their own).
    pub tree: TreeOptions,
    /// The relative error the 1-Wasserstein distance is computed to (an auction whose dual
    /// bound certifies it).
    pub wasserstein_error: f64,
    /// The 1-Wasserstein distance exactly (the Hungarian method, for diagrams of at most
    /// [`MAX_EXACT_POINTS`] finite points together).
    pub exact: bool,
}

/// The 1-Wasserstein distance as computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wasserstein {
    /// By the Hungarian method.
    Exact(f64),
    /// By the auction: within `relative_error` of the distance, which is at least
    /// `lower_bound`.
    Estimate {
        /// The estimate.
        value: f64,
        /// Its certified relative error.
        relative_error: f64,
        /// The dual bound.
        lower_bound: f64,
    },
}

/// The distances between two diagrams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distances {
    /// The bottleneck distance (exact).
    pub bottleneck: f64,
    /// The 1-Wasserstein distance.
    pub wasserstein: Wasserstein,
}

/// Two landscapes' documents and the distances between their diagrams.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The first landscape's metrics and diagram.
    pub a: MetricsDocument,
    /// The second's.
    pub b: MetricsDocument,
    /// The distances between the unsimplified diagrams.
    pub distances: Distances,
    /// The distances between the simplified diagrams, when both have one.
    pub simplified: Option<Distances>,
}

/// Reads a metrics file, or analyses a field into the same document.
pub fn load(
    path: &Path,
    options: &TreeOptions,
    progress: &dyn Progress,
) -> Result<MetricsDocument> {
    let text_start = fs::read(path)
        .ok()
        .and_then(|bytes| bytes.iter().copied().find(|b| !b.is_ascii_whitespace()));
    if text_start == Some(b'{') {
        let text = fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("{}: cannot read: {e}", path.display())))?;
        return MetricsDocument::from_json(&text).map_err(|e| {
            Error::Input(format!(
                "{}: not a metrics file written by toposcape topo --metrics: {e}",
                path.display()
            ))
        });
    }
    let analysis = FieldTree::read(path, options, TreeKind::Join, progress)?;
    analysis.metrics_document(&path.display().to_string())
}

fn distances(a: &DiagramJson, b: &DiagramJson, options: &CompareOptions) -> Distances {
    let (a, b) = (Diagram::from(a), Diagram::from(b));
    let wasserstein = if options.exact {
        Wasserstein::Exact(wasserstein_distance(&a, &b))
    } else {
        let estimate = wasserstein_estimate(&a, &b, options.wasserstein_error);
        Wasserstein::Estimate {
            value: estimate.value,
            relative_error: estimate.relative_error,
            lower_bound: estimate.lower_bound,
        }
    };
    Distances {
        bottleneck: bottleneck_distance(&a, &b),
        wasserstein,
    }
}

/// Reads both landscapes and measures how far apart their diagrams are.
pub fn compare(options: &CompareOptions, progress: &dyn Progress) -> Result<Comparison> {
    let a = load(&options.a, &options.tree, progress)?;
    let b = load(&options.b, &options.tree, progress)?;
    let points = |x: &DiagramJson, y: &DiagramJson| x.points.len() + y.points.len();
    let both = a.simplified.as_ref().zip(b.simplified.as_ref());
    if options.exact {
        let mut largest = points(&a.diagram, &b.diagram);
        if let Some((sa, sb)) = both {
            largest = largest.max(points(&sa.diagram, &sb.diagram));
        }
        if largest > MAX_EXACT_POINTS {
            return Err(Error::option_as_a_whole(
                "exact",
                format!(
                    "the diagrams have {largest} finite points together, at most \
                     {MAX_EXACT_POINTS} for the exact method; drop `exact` for the auction \
                     (`wasserstein_error`)"
                ),
            ));
        }
    }
    Ok(Comparison {
        distances: distances(&a.diagram, &b.diagram, options),
        simplified: both.map(|(sa, sb)| distances(&sa.diagram, &sb.diagram, options)),
        a,
        b,
    })
}
