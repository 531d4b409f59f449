//! `toposcape topo`: the merge tree, profile and metrics of a landscape stored in a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use toposcape_topology::render::{self, FigureOptions};
use toposcape_topology::vtk::VtkValues;
use toposcape_topology::{ContourNodeKind, Diagram, MergeTree, ProfileOptions, TreeKind};

use crate::bail_input;
use toposcape::documents::{
    ContourTreeDocument, FieldTopology, MetricsDocument, ProfileDocument, TreeDocument,
};
use toposcape::field::{FieldTree, load_field};

use crate::args::TreeOptions;
use crate::progress::Bars;
use crate::summary::format_value;
use toposcape::output::{Outputs, check_output_path, write_npy};

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

/// Runs the command; `started` is when the process started, for the time it reports.
pub fn run(args: &TopoArgs, started: Instant) -> Result<()> {
    let outputs: Vec<(&'static str, &PathBuf)> = [
        ("json", &args.json),
        ("segmentation", &args.segmentation),
        ("contour_tree", &args.contour_tree),
        ("contour_segmentation", &args.contour_segmentation),
        ("basins", &args.basins),
        ("vtk", &args.vtk),
        ("profile", &args.profile),
        ("svg", &args.svg),
        ("profile_json", &args.profile_json),
        ("metrics", &args.metrics),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_ref().map(|p| (flag, p)))
    .collect();
    for (i, &(flag, path)) in outputs.iter().enumerate() {
        check_output_path(flag, path, &[&args.field])?;
        if let Some((other, _)) = outputs[..i].iter().find(|(_, p)| *p == path) {
            bail_input!(
                "--{} and --{} both name {}; give different files",
                other.replace('_', "-"),
                flag.replace('_', "-"),
                path.display()
            );
        }
    }
    // The figures' folder is checked now but created only when the results are ready.
    let figures: Vec<(&'static str, PathBuf)> = match &args.figures {
        None => Vec::new(),
        Some(dir) => {
            if dir.exists() && !dir.is_dir() {
                bail_input!("--figures {}: exists and is not a folder", dir.display());
            }
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            if !dir.exists() && parent.is_some_and(|p| !p.is_dir()) {
                bail_input!(
                    "--figures {}: its parent folder does not exist",
                    dir.display()
                );
            }
            FIGURE_FILES
                .iter()
                .map(|&name| (name, dir.join(name)))
                .collect()
        }
    };
    for (_, path) in figures.iter().filter(|(_, path)| path.exists()) {
        check_output_path("figures", path, &[&args.field])?;
    }
    let wants_profile = args.profile.is_some()
        || args.svg.is_some()
        || args.profile_json.is_some()
        || !figures.is_empty();
    if args.split && (wants_profile || args.metrics.is_some()) {
        bail_input!("--split: profiles and metrics describe the join tree (minima); drop --split");
    }
    let wants_contour = args.metrics.is_some()
        || args.contour_tree.is_some()
        || args.contour_segmentation.is_some()
        || args.basins.is_some()
        || args.vtk.is_some();

    let kind = if args.split {
        TreeKind::Split
    } else {
        TreeKind::Join
    };
    let field = load_field(&args.field, args.tree.key.as_deref())?;
    let loaded = Instant::now();
    let name = args.field.display().to_string();
    let analysis = FieldTree::of(field, &name, &args.tree.options(), kind, &Bars::default())?;
    if args.vtk.is_some() && analysis.field.shape.len() > 3 {
        bail_input!(
            "--vtk: VTK image data has 1 to 3 axes; {} has {}",
            args.field.display(),
            analysis.field.shape.len()
        );
    }
    let reported = analysis.reported();
    let shape = &analysis.field.shape;
    let connectivity = analysis.connectivity.name();
    let profile = if wants_profile {
        let options = ProfileOptions {
            min_size_fraction: args.hide_below,
            ..ProfileOptions::default()
        };
        Some(analysis.field.values.profile(reported, options)?)
    } else {
        None
    };
    let topology = if wants_contour {
        Some(analysis.contour_and_basins()?)
    } else {
        None
    };
    let computed = Instant::now();

    let mut files = Outputs::default();
    if let Some(path) = &args.json {
        let threshold = analysis.simplified.as_ref().map(|(t, _)| *t);
        let document = TreeDocument::new(reported, shape, connectivity, threshold);
        files.write("json", path, |w| write_json(w, &document))?;
    }
    if let Some(path) = &args.segmentation {
        files.write("segmentation", path, |w| {
            write_segmentation(w, reported, shape)
        })?;
    }
    if let Some((contour, basins)) = &topology {
        if let Some(path) = &args.contour_tree {
            let document = ContourTreeDocument::new(contour, shape, connectivity);
            files.write("contour_tree", path, |w| write_json(w, &document))?;
        }
        if let Some(path) = &args.contour_segmentation {
            files.write("contour_segmentation", path, |w| {
                write_npy(w, shape, contour.segmentation())
            })?;
        }
        if let Some(path) = &args.basins {
            files.write("basins", path, |w| write_npy(w, shape, basins.labels()))?;
        }
        if let Some(path) = &args.vtk {
            let arrays = [
                ("loss", analysis.field.values.vtk_values()),
                (
                    "merge_tree_segment",
                    VtkValues::UInt32(reported.segmentation()),
                ),
                ("basin", VtkValues::UInt32(basins.labels())),
                ("contour_arc", VtkValues::UInt32(contour.segmentation())),
            ];
            let bytes = toposcape_topology::vtk::image_data(shape, &arrays)?;
            files.bytes("vtk", path, bytes)?;
        }
    }
    if let Some(profile) = &profile {
        if args.log_loss && profile.value_range.0 <= 0.0 {
            bail_input!(
                "--log-loss: the loss must be positive for a logarithmic scale; its minimum is {}",
                profile.value_range.0
            );
        }
        let name = file_name(&args.field);
        let figure = |title: &str| FigureOptions {
            title: format!("{title}: {name}"),
            log_scale: args.log_loss,
            ..FigureOptions::default()
        };
        let profile_figure = figure("Topological landscape profile");
        if let Some(path) = &args.profile {
            let png = render::profile_png(profile, &profile_figure)?;
            files.bytes("profile", path, png)?;
        }
        if let Some(path) = &args.svg {
            let svg = render::profile_svg(profile, &profile_figure)?;
            files.bytes("svg", path, svg)?;
        }
        if let Some(dir) = &args.figures
            && !dir.exists()
            && let Err(e) = std::fs::create_dir(dir)
        {
            bail_input!("--figures {}: cannot create the folder: {e}", dir.display());
        }
        let diagram = Diagram::of(reported);
        let values = &analysis.field.values;
        let persistence_figure = figure("Persistence");
        let tree_figure = figure("Merge tree");
        let landscape_figure = figure(if shape.len() == 2 {
            "Landscape"
        } else {
            "Landscape slices through the centre"
        });
        for (name, path) in &figures {
            let bytes = match *name {
                "profile.png" => render::profile_png(profile, &profile_figure)?,
                "profile.svg" => render::profile_svg(profile, &profile_figure)?.into_bytes(),
                "persistence.png" => render::persistence_png(&diagram, &persistence_figure)?,
                "persistence.svg" => {
                    render::persistence_svg(&diagram, &persistence_figure)?.into_bytes()
                }
                "tree.png" => render::merge_tree_png(profile, &tree_figure)?,
                "tree.svg" => render::merge_tree_svg(profile, &tree_figure)?.into_bytes(),
                "landscape.png" => values.landscape_figure(shape, &landscape_figure, false)?,
                _ => values.landscape_figure(shape, &landscape_figure, true)?,
            };
            files.bytes("figures", path, bytes)?;
        }
    }
    if let (Some(path), Some(profile)) = (&args.profile_json, &profile) {
        let document = ProfileDocument::new(reported, profile);
        files.write("profile_json", path, |w| write_json(w, &document))?;
    }
    if let (Some(path), Some((contour, basins))) = (&args.metrics, &topology) {
        let simplified = analysis.simplified.as_ref().map(|(t, simple)| (*t, simple));
        let name = args.field.display().to_string();
        let topology = FieldTopology {
            tree: &analysis.tree,
            contour,
            basins,
        };
        let document = MetricsDocument::new(&name, shape, connectivity, topology, simplified);
        files.write("metrics", path, |w| write_json(w, &document))?;
    }
    files.commit()?;
    let written = Instant::now();

    print_summary(args, &analysis);
    if let Some((contour, basins)) = &topology {
        let saddles = contour
            .nodes()
            .iter()
            .filter(|n| n.kind() == ContourNodeKind::Saddle)
            .count();
        println!(
            "contour tree {} nodes ({saddles} saddles), {} arcs; {}",
            contour.nodes().len(),
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
    if let Some(profile) = &profile {
        println!(
            "profile      {} basins drawn; {} tree nodes hidden (under {} of the vertices)",
            profile.basins.len(),
            profile.hidden_basins,
            args.hide_below
        );
    }
    println!(
        "time         {:.3} s (read {:.3} s, tree {:.3} s, write {:.3} s)",
        written.duration_since(started).as_secs_f64(),
        loaded.duration_since(started).as_secs_f64(),
        computed.duration_since(loaded).as_secs_f64(),
        written.duration_since(computed).as_secs_f64(),
    );
    Ok(())
}

/// The files `--figures` writes, in its folder.
const FIGURE_FILES: [&str; 8] = [
    "profile.png",
    "profile.svg",
    "persistence.png",
    "persistence.svg",
    "tree.png",
    "tree.svg",
    "landscape.png",
    "landscape.svg",
];

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
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

fn write_json(w: &mut BufWriter<File>, document: &impl Serialize) -> toposcape::Result<()> {
    serde_json::to_writer(&mut *w, document)?;
    w.write_all(b"\n")?;
    Ok(())
}

fn write_segmentation(
    w: &mut BufWriter<File>,
    tree: &MergeTree,
    shape: &[usize],
) -> toposcape::Result<()> {
    write_npy(w, shape, tree.segmentation())
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
