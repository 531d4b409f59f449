//! `toposcape compare A B`: the flags of [`toposcape::compare`], and the two landscapes'
//! metrics side by side with the distances between their diagrams.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use toposcape::compare::{CompareOptions, Distances, Wasserstein};
use toposcape::documents::{DiagramJson, MetricValue, MetricsJson};

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

/// Runs the command.
pub fn run(args: &CompareArgs) -> Result<()> {
    let options = CompareOptions {
        a: args.a.clone(),
        b: args.b.clone(),
        tree: args.tree.options(),
        wasserstein_error: args.wasserstein_error,
        exact: args.exact,
    };
    let c = toposcape::compare::compare(&options, &Bars::default())?;
    for (name, d) in [("A", &c.a), ("B", &c.b)] {
        println!(
            "{name}  {} ({}, {} connectivity)",
            d.field,
            shape_text(&d.shape),
            d.connectivity
        );
    }
    if c.a.connectivity != c.b.connectivity {
        println!("note: the two trees use different connectivities");
    }
    print_comparison(
        (&c.a.metrics, &c.a.diagram),
        (&c.b.metrics, &c.b.diagram),
        &c.distances,
    );
    match (&c.a.simplified, &c.b.simplified, &c.simplified) {
        (Some(sa), Some(sb), Some(distances)) => {
            println!();
            println!(
                "simplified (A below {}, B below {})",
                format_value(sa.threshold),
                format_value(sb.threshold)
            );
            print_comparison(
                (&sa.metrics, &sa.diagram),
                (&sb.metrics, &sb.diagram),
                distances,
            );
        }
        (None, None, _) => {}
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

/// The scalar metrics, the largest basin and the diagram's points.
fn rows(m: &MetricsJson, d: &DiagramJson) -> Vec<(&'static str, MetricValue)> {
    let mut rows = m.scalars().to_vec();
    let largest = m.largest_basins.first().map_or(0, |&s| s as usize);
    rows.push(("largest_basin", MetricValue::Count(largest)));
    rows.push((
        "diagram_points",
        MetricValue::Count(d.points.len() + d.essential.len()),
    ));
    rows
}

fn print_comparison(
    a: (&MetricsJson, &DiagramJson),
    b: (&MetricsJson, &DiagramJson),
    distances: &Distances,
) {
    println!("{:<26} {:>16} {:>16} {:>16}", "", "A", "B", "B - A");
    for ((name, x), (_, y)) in rows(a.0, a.1).into_iter().zip(rows(b.0, b.1)) {
        let (x, y, difference) = match (x, y) {
            (MetricValue::Count(x), MetricValue::Count(y)) => (
                x.to_string(),
                y.to_string(),
                format!("{:+}", y as i128 - x as i128),
            ),
            (x, y) => {
                let text = |v: Option<f64>| v.map_or("-".to_string(), format_value);
                let (x, y) = (x.as_f64(), y.as_f64());
                let difference = x.zip(y).map(|(x, y)| y - x);
                (text(x), text(y), text(difference))
            }
        };
        println!("{name:<26} {x:>16} {y:>16} {difference:>16}");
    }
    println!(
        "{:<26} {:>16}  (exact)",
        "bottleneck distance",
        format_value(distances.bottleneck)
    );
    match distances.wasserstein {
        Wasserstein::Exact(value) => println!(
            "{:<26} {:>16}  (exact)",
            "1-Wasserstein distance",
            format_value(value)
        ),
        Wasserstein::Estimate {
            value,
            relative_error,
            lower_bound,
        } => println!(
            "{:<26} {:>16}  (within {:.2}%, at least {})",
            "1-Wasserstein distance",
            format_value(value),
            100.0 * relative_error,
            format_value(lower_bound)
        ),
    }
}
