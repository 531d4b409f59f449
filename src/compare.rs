//! `toposcape compare A B`: how two landscapes differ, by the distances between their
//! persistence diagrams and the differences of their metrics.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use toposcape_topology::{
    Diagram, TreeKind, bottleneck_distance, wasserstein_distance, wasserstein_estimate,
};

use crate::bail_input;
use crate::error::InputError;
use toposcape::documents::{DiagramJson, MAX_EXACT_POINTS, MetricsDocument, MetricsJson};
use toposcape::field::FieldTree;

use crate::args::TreeOptions;
use crate::progress::Bars;
use crate::summary::format_value;

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
    /// The relative error the 1-Wasserstein distance is computed to (an auction whose dual
    /// bound certifies it)
    #[arg(long, value_name = "FRACTION", default_value_t = 0.01, value_parser = parse_error)]
    pub wasserstein_error: f64,
    /// Compute the 1-Wasserstein distance exactly (the Hungarian method, for diagrams of at most
    /// 2000 finite points together)
    #[arg(long)]
    pub exact: bool,
}

fn parse_error(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err("expected a fraction between 0 and 1, such as 0.01".into()),
    }
}

/// Reads a metrics file, or analyses a field into the same document.
fn load(path: &Path, options: &TreeOptions) -> Result<MetricsDocument> {
    let text_start = fs::read(path)
        .ok()
        .and_then(|bytes| bytes.iter().copied().find(|b| !b.is_ascii_whitespace()));
    if text_start == Some(b'{') {
        let text = fs::read_to_string(path)
            .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
        return MetricsDocument::from_json(&text).map_err(|e| {
            InputError(format!(
                "{}: not a metrics file written by toposcape topo --metrics: {e}",
                path.display()
            ))
            .into()
        });
    }
    let analysis = FieldTree::read(path, &options.options(), TreeKind::Join, &Bars::default())?;
    Ok(analysis.metrics_document(&path.display().to_string())?)
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
    let exact_points = |x: &DiagramJson, y: &DiagramJson| x.points.len() + y.points.len();
    if args.exact {
        let mut largest = exact_points(&a.diagram, &b.diagram);
        if let (Some(sa), Some(sb)) = (&a.simplified, &b.simplified) {
            largest = largest.max(exact_points(&sa.diagram, &sb.diagram));
        }
        if largest > MAX_EXACT_POINTS {
            bail_input!(
                "--exact: the diagrams have {largest} finite points together, at most \
                 {MAX_EXACT_POINTS} for the exact method; drop --exact for the auction \
                 (--wasserstein-error)"
            );
        }
    }
    let distances = Distances {
        exact: args.exact,
        error: args.wasserstein_error,
    };
    print_comparison(&a.metrics, &a.diagram, &b.metrics, &b.diagram, distances);
    match (&a.simplified, &b.simplified) {
        (Some(sa), Some(sb)) => {
            println!();
            println!(
                "simplified (A below {}, B below {})",
                format_value(sa.threshold),
                format_value(sb.threshold)
            );
            print_comparison(
                &sa.metrics,
                &sa.diagram,
                &sb.metrics,
                &sb.diagram,
                distances,
            );
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

/// How the 1-Wasserstein distance is computed.
#[derive(Clone, Copy)]
struct Distances {
    exact: bool,
    error: f64,
}

fn print_comparison(
    a: &MetricsJson,
    da: &DiagramJson,
    b: &MetricsJson,
    db: &DiagramJson,
    distances: Distances,
) {
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
        (
            "merge_tree_smad",
            Cell::Value(a.merge_tree_smad),
            Cell::Value(b.merge_tree_smad),
        ),
        (
            "merge_tree_smad_normalized",
            Cell::Value(a.merge_tree_smad_normalized),
            Cell::Value(b.merge_tree_smad_normalized),
        ),
        (
            "merge_tree_smad_weighted",
            Cell::Value(a.merge_tree_smad_weighted),
            Cell::Value(b.merge_tree_smad_weighted),
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
    println!("{:<26} {:>16} {:>16} {:>16}", "", "A", "B", "B - A");
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
        println!("{name:<26} {x:>16} {y:>16} {difference:>16}");
    }
    let (da, db) = (Diagram::from(da), Diagram::from(db));
    println!(
        "{:<26} {:>16}  (exact)",
        "bottleneck distance",
        format_value(bottleneck_distance(&da, &db))
    );
    if distances.exact {
        println!(
            "{:<26} {:>16}  (exact)",
            "1-Wasserstein distance",
            format_value(wasserstein_distance(&da, &db))
        );
    } else {
        let estimate = wasserstein_estimate(&da, &db, distances.error);
        println!(
            "{:<26} {:>16}  (within {:.2}%, at least {})",
            "1-Wasserstein distance",
            format_value(estimate.value),
            100.0 * estimate.relative_error,
            format_value(estimate.lower_bound)
        );
    }
}
