//! `toposcape compare A B`: how two landscapes differ, by the distances between their
//! persistence diagrams and the differences of their metrics.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use toposcape_topology::{Diagram, TreeKind, bottleneck_distance, wasserstein_distance};

use crate::documents::{DiagramJson, MetricsDocument, MetricsJson};
use crate::error::InputError;
use crate::topo::{Analysis, TreeOptions, format_value};

/// The most finite diagram points (both diagrams together) whose distances are computed.
pub const MAX_MATCHED_POINTS: usize = 2000;

/// Arguments of `toposcape compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first landscape: a field (.npy or .npz), or a metrics file written by
    /// `toposcape topo --metrics`
    pub a: PathBuf,
    /// The second landscape, in either form
    pub b: PathBuf,
    /// How fields are read and their trees computed (metrics files carry their own)
    #[command(flatten)]
    pub tree: TreeOptions,
}

/// Reads a metrics file, or analyses a field into the same document.
fn load(path: &Path, options: &TreeOptions) -> Result<MetricsDocument> {
    let text_start = fs::read(path)
        .ok()
        .and_then(|bytes| bytes.iter().copied().find(|b| !b.is_ascii_whitespace()));
    if text_start == Some(b'{') {
        let text = fs::read_to_string(path)
            .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
        return serde_json::from_str(&text).map_err(|e| {
            InputError(format!(
                "{}: not a metrics file written by toposcape topo --metrics: {e}",
                path.display()
            ))
            .into()
        });
    }
    let analysis = Analysis::run(path, options, TreeKind::Join)?;
    let simplified = analysis.simplified.as_ref().map(|(t, simple)| (*t, simple));
    Ok(MetricsDocument::new(
        &path.display().to_string(),
        &analysis.field.shape,
        analysis.connectivity.name(),
        &analysis.tree,
        simplified,
    ))
}

/// Runs the command.
pub fn run(args: &CompareArgs) -> Result<()> {
    let a = load(&args.a, &args.tree)?;
    let b = load(&args.b, &args.tree)?;
    println!(
        "A  {} ({}, {} connectivity)",
        a.field,
        shape_text(&a.shape),
        a.connectivity
    );
    println!(
        "B  {} ({}, {} connectivity)",
        b.field,
        shape_text(&b.shape),
        b.connectivity
    );
    if a.connectivity != b.connectivity {
        println!("note: the two trees use different connectivities");
    }
    print_comparison(&a.metrics, &a.diagram, &b.metrics, &b.diagram);
    match (&a.simplified, &b.simplified) {
        (Some(sa), Some(sb)) => {
            println!();
            println!(
                "simplified (A below {}, B below {})",
                format_value(sa.threshold),
                format_value(sb.threshold)
            );
            print_comparison(&sa.metrics, &sa.diagram, &sb.metrics, &sb.diagram);
        }
        (None, None) => {}
        _ => {
            println!("note: only one of the two has a simplified tree; compared unsimplified only")
        }
    }
    Ok(())
}

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    dims.join(" x ")
}

fn print_comparison(a: &MetricsJson, da: &DiagramJson, b: &MetricsJson, db: &DiagramJson) {
    /// One row: a count (printed as an integer) or a measurement.
    enum Cell {
        Count(usize),
        Value(Option<f64>),
    }
    let largest = |m: &MetricsJson| m.largest_basins.first().map_or(0, |&s| s as usize);
    let rows = [
        ("minima", Cell::Count(a.minima), Cell::Count(b.minima)),
        ("saddles", Cell::Count(a.saddles), Cell::Count(b.saddles)),
        (
            "average_persistence",
            Cell::Value(a.average_persistence),
            Cell::Value(b.average_persistence),
        ),
        (
            "total_persistence",
            Cell::Value(Some(a.total_persistence)),
            Cell::Value(Some(b.total_persistence)),
        ),
        (
            "max_persistence",
            Cell::Value(a.max_persistence),
            Cell::Value(b.max_persistence),
        ),
        ("smad", Cell::Value(a.smad), Cell::Value(b.smad)),
        (
            "smad_normalized",
            Cell::Value(a.smad_normalized),
            Cell::Value(b.smad_normalized),
        ),
        (
            "smad_weighted",
            Cell::Value(a.smad_weighted),
            Cell::Value(b.smad_weighted),
        ),
        ("loss_min", Cell::Value(a.loss_min), Cell::Value(b.loss_min)),
        ("loss_max", Cell::Value(a.loss_max), Cell::Value(b.loss_max)),
        (
            "nonfinite",
            Cell::Count(a.nonfinite),
            Cell::Count(b.nonfinite),
        ),
        (
            "largest_basin",
            Cell::Count(largest(a)),
            Cell::Count(largest(b)),
        ),
        (
            "diagram_points",
            Cell::Count(da.points.len() + da.essential.len()),
            Cell::Count(db.points.len() + db.essential.len()),
        ),
    ];
    println!("{:<24} {:>16} {:>16} {:>16}", "", "A", "B", "B - A");
    for (name, x, y) in rows {
        let (x, y, difference) = match (x, y) {
            (Cell::Count(x), Cell::Count(y)) => (
                x.to_string(),
                y.to_string(),
                format!("{:+}", y as i128 - x as i128),
            ),
            (Cell::Value(x), Cell::Value(y)) => {
                let text = |v: Option<f64>| v.map_or("-".to_string(), format_value);
                let difference = x.zip(y).map(|(x, y)| y - x);
                (text(x), text(y), text(difference))
            }
            _ => unreachable!("both cells of a row have the same kind"),
        };
        println!("{name:<24} {x:>16} {y:>16} {difference:>16}");
    }
    let (da, db) = (Diagram::from(da), Diagram::from(db));
    let points = da.points.len() + db.points.len();
    if points > MAX_MATCHED_POINTS {
        println!(
            "distances: not computed for {points} finite diagram points (at most {MAX_MATCHED_POINTS}: \
             the exact matching takes O(n^3) time and O(n^2) memory); compare simplified trees (--simplify)"
        );
        return;
    }
    println!(
        "{:<24} {:>16}",
        "bottleneck distance",
        format_value(bottleneck_distance(&da, &db))
    );
    println!(
        "{:<24} {:>16}",
        "1-Wasserstein distance",
        format_value(wasserstein_distance(&da, &db))
    );
}
