//! `toposcape topo`: the merge tree of a landscape stored in a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use npyz::WriterBuilder;
use serde::{Serialize, Serializer};
use toposcape_topology::{
    Connectivity, Grid, MergeTree, Neighbourhood, NodeKind, Threshold, TreeKind,
};

use crate::bail_input;
use crate::field::{FieldValues, load_field};
use crate::output::{Outputs, check_output_path};

/// Command-line names of the grid connectivities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ConnectivityArg {
    /// Kuhn/Freudenthal triangulation: 2^(n+1)-2 neighbours (the exact piecewise-linear merge tree)
    #[default]
    Freudenthal,
    /// Axis-aligned neighbours only: 2n
    Axis,
    /// Every neighbour in the surrounding 3^n block: 3^n-1
    Full,
}

impl From<ConnectivityArg> for Connectivity {
    fn from(arg: ConnectivityArg) -> Self {
        match arg {
            ConnectivityArg::Freudenthal => Connectivity::Freudenthal,
            ConnectivityArg::Axis => Connectivity::Axis,
            ConnectivityArg::Full => Connectivity::Full,
        }
    }
}

/// Arguments of `toposcape topo`.
#[derive(Debug, Args)]
pub struct TopoArgs {
    /// The landscape: a .npy file of float32 or float64 values with 1 to 8 dimensions, or a .npz
    /// archive (as the Python package Landscaper writes)
    pub field: PathBuf,
    /// The array to read from a .npz archive [default: loss]
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
    /// Which grid vertices are neighbours
    #[arg(long, value_enum, default_value_t = ConnectivityArg::Freudenthal)]
    pub connectivity: ConnectivityArg,
    /// Remove persistence pairs below X: an absolute loss difference (0.05), or a percentage of
    /// the finite loss range (1%)
    #[arg(long, value_name = "X", value_parser = parse_threshold, allow_hyphen_values = true)]
    pub simplify: Option<Threshold>,
    /// Compute the split tree (maxima) instead of the join tree (minima)
    #[arg(long)]
    pub split: bool,
    /// Write the merge tree as JSON (shape, connectivity, nodes, arcs, pairs)
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write every vertex's node id (uint32, the field's shape) as a .npy file
    #[arg(long, value_name = "OUT.npy")]
    pub segmentation: Option<PathBuf>,
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    let expected = "expected a non-negative number (0.05) or a percentage of the loss range (1%)";
    let (number, percent) = match text.strip_suffix('%') {
        Some(number) => (number, true),
        None => (text, false),
    };
    let value: f64 = number.trim().parse().map_err(|_| expected.to_string())?;
    if value.is_nan() || value < 0.0 || value.is_infinite() {
        return Err(expected.to_string());
    }
    Ok(if percent {
        Threshold::FractionOfRange(value / 100.0)
    } else {
        Threshold::Absolute(value)
    })
}

/// Runs the command; `started` is when the process started, for the time it reports.
pub fn run(args: &TopoArgs, started: Instant) -> Result<()> {
    let outputs: Vec<(&str, &PathBuf)> = [
        ("--json", &args.json),
        ("--segmentation", &args.segmentation),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_ref().map(|p| (flag, p)))
    .collect();
    for &(flag, path) in &outputs {
        check_output_path(flag, path, &[&args.field])?;
    }
    if let (Some(a), Some(b)) = (&args.json, &args.segmentation)
        && a == b
    {
        bail_input!(
            "--json and --segmentation both name {}; give two different files",
            a.display()
        );
    }

    let field = load_field(&args.field, args.key.as_deref())?;
    let loaded = Instant::now();
    let connectivity = Connectivity::from(args.connectivity);
    let grid = match Grid::new(&field.shape, connectivity) {
        Ok(grid) => grid,
        Err(e) => bail_input!("{}: {e}", args.field.display()),
    };
    let kind = if args.split {
        TreeKind::Split
    } else {
        TreeKind::Join
    };
    let bar = progress_bar(grid.vertex_count());
    let mut report = |done: usize| bar.set_position(done as u64);
    let tree = match &field.values {
        FieldValues::F32(values) => {
            MergeTree::compute_with_progress(values, &grid, kind, &mut report)?
        }
        FieldValues::F64(values) => {
            MergeTree::compute_with_progress(values, &grid, kind, &mut report)?
        }
    };
    bar.finish_and_clear();
    let simplified = match args.simplify {
        None => None,
        Some(threshold) => match tree.simplify(threshold) {
            Ok(simple) => Some((tree.threshold_value(threshold)?, simple)),
            Err(e) => bail_input!("--simplify: {e}"),
        },
    };
    let computed = Instant::now();
    let reported = simplified.as_ref().map_or(&tree, |(_, simple)| simple);

    let mut files = Outputs::default();
    if let Some(path) = &args.json {
        let document = TreeDocument::new(
            reported,
            &field.shape,
            connectivity,
            simplified.as_ref().map(|(t, _)| *t),
        );
        files.write("--json", path, |w| {
            serde_json::to_writer(&mut *w, &document)?;
            w.write_all(b"\n")?;
            Ok(())
        })?;
    }
    if let Some(path) = &args.segmentation {
        files.write("--segmentation", path, |w| {
            write_segmentation(w, reported, &field.shape)
        })?;
    }
    files.commit()?;
    let written = Instant::now();

    print_summary(
        args,
        &field.shape,
        field.dtype_name(),
        &tree,
        simplified.as_ref(),
    );
    println!(
        "time         {:.3} s (read {:.3} s, tree {:.3} s, write {:.3} s)",
        written.duration_since(started).as_secs_f64(),
        loaded.duration_since(started).as_secs_f64(),
        computed.duration_since(loaded).as_secs_f64(),
        written.duration_since(computed).as_secs_f64(),
    );
    Ok(())
}

/// Fields below this many vertices take a second or less: no progress bar for them.
const PROGRESS_BAR_VERTICES: usize = 1 << 24;

/// A progress bar on stderr for large fields (hidden when stderr is not a terminal).
fn progress_bar(vertices: usize) -> ProgressBar {
    if vertices < PROGRESS_BAR_VERTICES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(vertices as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "merge tree {bar:40} {percent:>3}% of {human_len} vertices, {eta} left",
        )
        .expect("a valid progress template"),
    );
    bar
}

fn print_summary(
    args: &TopoArgs,
    shape: &[usize],
    dtype: &str,
    tree: &MergeTree,
    simplified: Option<&(f64, MergeTree)>,
) {
    let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    let leaves = match tree.kind() {
        TreeKind::Join => "minima",
        TreeKind::Split => "maxima",
    };
    println!(
        "field        {} ({}, {dtype})",
        args.field.display(),
        dims.join(" x ")
    );
    println!("vertices     {}", tree.vertex_count());
    println!(
        "tree         {}, {} connectivity",
        tree.kind().name(),
        Connectivity::from(args.connectivity)
    );
    println!("{leaves:<12} {}", tree.leaf_count());
    println!("saddles      {}", tree.saddle_count());
    println!("non-finite   {}", tree.nonfinite_count());
    match tree.max_finite_persistence() {
        Some(p) => println!("largest persistence {}", format_value(p)),
        None => println!("largest persistence none (no pair dies at a finite level)"),
    }
    if let Some((threshold, simple)) = simplified {
        println!(
            "simplified   below {}: {} {leaves} and {} saddles remain",
            format_value(*threshold),
            simple.leaf_count(),
            simple.saddle_count()
        );
    }
}

fn format_value(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
        format!("{x:.4e}")
    } else {
        format!("{x:.6}")
    }
}

fn write_segmentation(w: &mut BufWriter<File>, tree: &MergeTree, shape: &[usize]) -> Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(w)
        .begin_nd()?;
    writer.extend(tree.segmentation().iter().copied())?;
    writer.finish()?;
    Ok(())
}

/// A value in JSON: a number when finite, else the string "nan", "inf" or "-inf" (which
/// Python's `float()` reads back).
#[derive(Clone, Copy)]
struct JsonNumber(f64);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            x if x.is_finite() => s.serialize_f64(x),
            x if x.is_nan() => s.serialize_str("nan"),
            x if x > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }
}

/// The merge-tree JSON of DESIGN.md contract 3.
#[derive(Serialize)]
struct TreeDocument {
    shape: Vec<usize>,
    connectivity: &'static str,
    tree: &'static str,
    /// The absolute persistence threshold the tree was simplified with, if any.
    simplification_threshold: Option<JsonNumber>,
    vertex_count: usize,
    nonfinite_count: usize,
    nodes: Vec<NodeJson>,
    arcs: Vec<ArcJson>,
    pairs: Vec<PairJson>,
}

#[derive(Serialize)]
struct NodeJson {
    id: u32,
    vertex: u32,
    value: JsonNumber,
    kind: &'static str,
}

#[derive(Serialize)]
struct ArcJson {
    down: u32,
    up: u32,
    size: u64,
}

#[derive(Serialize)]
struct PairJson {
    birth: JsonNumber,
    death: Option<JsonNumber>,
    birth_vertex: u32,
    death_vertex: Option<u32>,
    persistence: JsonNumber,
}

impl TreeDocument {
    fn new(
        tree: &MergeTree,
        shape: &[usize],
        connectivity: Connectivity,
        threshold: Option<f64>,
    ) -> Self {
        let nodes = tree
            .nodes()
            .iter()
            .enumerate()
            .map(|(id, node)| NodeJson {
                id: id as u32,
                vertex: node.vertex,
                value: JsonNumber(node.value),
                kind: match node.kind {
                    NodeKind::Leaf => tree.kind().leaf_name(),
                    NodeKind::Saddle => "saddle",
                    NodeKind::Root => "root",
                },
            })
            .collect();
        let arcs = tree
            .arcs()
            .map(|arc| ArcJson {
                down: arc.down,
                up: arc.up,
                size: arc.size,
            })
            .collect();
        let pairs = tree
            .pairs()
            .iter()
            .map(|p| PairJson {
                birth: JsonNumber(p.birth),
                death: p.death.map(JsonNumber),
                birth_vertex: p.birth_vertex,
                death_vertex: p.death_vertex,
                persistence: JsonNumber(p.persistence),
            })
            .collect();
        Self {
            shape: shape.to_vec(),
            connectivity: connectivity.name(),
            tree: tree.kind().name(),
            simplification_threshold: threshold.map(JsonNumber),
            vertex_count: tree.vertex_count(),
            nonfinite_count: tree.nonfinite_count(),
            nodes,
            arcs,
            pairs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        assert_eq!(parse_threshold("0.5"), Ok(Threshold::Absolute(0.5)));
        assert_eq!(parse_threshold("2%"), Ok(Threshold::FractionOfRange(0.02)));
        assert!(parse_threshold("-1").is_err());
        assert!(parse_threshold("nan").is_err());
        assert!(parse_threshold("abc%").is_err());
    }
}
