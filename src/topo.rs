//! `toposcape topo`: the flags of [`toposcape::topo`], and what it found, printed.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use toposcape::field::FieldTree;
use toposcape::topo::{TopoOptions, TopoSummary};
use toposcape_topology::TreeKind;

use crate::args::TreeOptions;
use crate::progress::Bars;
use crate::summary::format_value;

/// Arguments of `toposcape topo`.
#[derive(Debug, Args)]
pub struct TopoArgs {
    /// The landscape: a .npy file of float32 or float64 values with 1 to 8 dimensions, or a .npz
    /// archive (as the Python package Landscaper writes)
    pub field: PathBuf,
    #[command(flatten)]
    pub tree: TreeOptions,
    /// Compute the split tree (maxima) instead of the join tree (minima)
    #[arg(long)]
    pub split: bool,
    /// Write the merge tree as JSON (shape, connectivity, nodes, arcs, pairs)
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write every vertex's node id (uint32, the field's shape) as a .npy file
    #[arg(long, value_name = "OUT.npy")]
    pub segmentation: Option<PathBuf>,
    /// Write the contour tree (the join and split trees combined) as JSON: nodes, arcs with
    /// their sizes, and whether it is consistent with the field
    #[arg(long, value_name = "OUT.json")]
    pub contour_tree: Option<PathBuf>,
    /// Write every vertex's contour-tree arc id (uint32, the field's shape; 4294967295 at the
    /// vertices of nodes) as a .npy file
    #[arg(long, value_name = "OUT.npy")]
    pub contour_segmentation: Option<PathBuf>,
    /// Write the field as VTK ImageData (.vti, 1-3 axes; the last axis is VTK's x) with the
    /// loss, the merge-tree segmentation, the basins and the contour-tree arcs as point data,
    /// for ParaView and TTK
    #[arg(long, value_name = "OUT.vti")]
    pub vtk: Option<PathBuf>,
    /// Write every vertex's basin of attraction (uint32, the field's shape: the index of its
    /// steepest-descent minimum, lowest minimum first, as metrics.json lists basins) as a .npy
    /// file
    #[arg(long, value_name = "OUT.npy")]
    pub basins: Option<PathBuf>,
    /// Draw the topological landscape profile as a PNG image
    #[arg(long, value_name = "OUT.png")]
    pub profile: Option<PathBuf>,
    /// Draw the profile as an SVG image
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Write the landscape profile's geometry as JSON (basins with node, size, x, polygon)
    #[arg(long, value_name = "OUT.json")]
    pub profile_json: Option<PathBuf>,
    /// Write every figure into this folder (created if missing): profile, persistence diagram
    /// and barcode, merge tree, and the landscape (a heat map in 2-D, slices through the centre
    /// in more), each as PNG and SVG
    #[arg(long, value_name = "DIR")]
    pub figures: Option<PathBuf>,
    /// Draw profiles with the loss on a logarithmic scale (needs positive losses)
    #[arg(long)]
    pub log_loss: bool,
    /// Write the metrics and persistence diagram as JSON (of the simplified tree too, with
    /// --simplify)
    #[arg(long, value_name = "OUT.json")]
    pub metrics: Option<PathBuf>,
    /// In profiles, hide basins with fewer than this fraction of all vertices (0 draws all)
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0005, value_parser = parse_fraction)]
    pub hide_below: f64,
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err("expected a fraction between 0 and 1 (0.0005)".into()),
    }
}

impl From<&TopoArgs> for TopoOptions {
    fn from(args: &TopoArgs) -> Self {
        TopoOptions {
            field: args.field.clone(),
            tree: args.tree.options(),
            split: args.split,
            json: args.json.clone(),
            segmentation: args.segmentation.clone(),
            contour_tree: args.contour_tree.clone(),
            contour_segmentation: args.contour_segmentation.clone(),
            vtk: args.vtk.clone(),
            basins: args.basins.clone(),
            profile: args.profile.clone(),
            svg: args.svg.clone(),
            profile_json: args.profile_json.clone(),
            figures: args.figures.clone(),
            log_loss: args.log_loss,
            metrics: args.metrics.clone(),
            hide_below: args.hide_below,
        }
    }
}

/// Runs the command; `started` is when the process started, for the time it reports.
pub fn run(args: &TopoArgs, started: Instant) -> Result<()> {
    let s = toposcape::topo::topo(&TopoOptions::from(args), &Bars::default())?;
    print_summary(args, &s.tree);
    print_contour(&s);
    if let Some(profile) = &s.profile {
        println!(
            "profile      {} basins drawn; {} tree nodes hidden (under {} of the vertices)",
            profile.basins.len(),
            profile.hidden_basins,
            args.hide_below
        );
    }
    let (read, tree, write) = s.seconds;
    println!(
        "time         {:.3} s (read {read:.3} s, tree {tree:.3} s, write {write:.3} s)",
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

fn print_contour(s: &TopoSummary) {
    let Some((contour, basins)) = &s.contour else {
        return;
    };
    println!(
        "contour tree {} nodes ({} saddles), {} arcs; {}",
        contour.nodes().len(),
        s.contour_saddles(),
        contour.arcs().len(),
        if contour.is_consistent() {
            "its join and split trees are the field's"
        } else {
            "no tree has both the field's join and split trees on this connectivity, so it \
             depends on the order leaves are pruned (use --connectivity freudenthal)"
        }
    );
    println!(
        "basins       {} of steepest descent, the largest {} vertices",
        basins.minima().len(),
        basins.sizes().iter().max().copied().unwrap_or(0)
    );
}

fn print_summary(args: &TopoArgs, analysis: &FieldTree) {
    let tree = &analysis.tree;
    let dims: Vec<String> = analysis.field.shape.iter().map(|n| n.to_string()).collect();
    let leaves = match tree.kind() {
        TreeKind::Join => "minima",
        TreeKind::Split => "maxima",
    };
    println!(
        "field        {} ({}, {})",
        args.field.display(),
        dims.join(" x "),
        analysis.field.dtype_name()
    );
    println!("vertices     {}", tree.vertex_count());
    println!(
        "tree         {}, {} connectivity",
        tree.kind().name(),
        analysis.connectivity
    );
    println!("{leaves:<12} {}", tree.leaf_count());
    println!("saddles      {}", tree.saddle_count());
    println!("non-finite   {}", tree.nonfinite_count());
    match tree.max_finite_persistence() {
        Some(p) => println!("largest persistence {}", format_value(p)),
        None => println!("largest persistence none (no pair dies at a finite level)"),
    }
    if let Some((threshold, simple)) = &analysis.simplified {
        println!(
            "simplified   below {}: {} {leaves} and {} saddles remain",
            format_value(*threshold),
            simple.leaf_count(),
            simple.saddle_count()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse() {
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("-0.1").is_err());
    }
}
