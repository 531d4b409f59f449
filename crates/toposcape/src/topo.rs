//! The topology of a landscape stored in a file, as `toposcape topo` writes it: the merge
//! tree, its segmentation, the contour tree, the basins of attraction, the profile, the
//! figures, VTK image data and the metrics.

use std::path::{Path, PathBuf};
use std::time::Instant;

use toposcape_topology::render::{self, FigureOptions};
use toposcape_topology::vtk::VtkValues;
use toposcape_topology::{
    Basins, ContourNodeKind, ContourTree, Diagram, Profile, ProfileOptions, TreeKind,
};

use crate::documents::{
    ContourTreeDocument, FieldTopology, MetricsDocument, ProfileDocument, TreeDocument,
};
use crate::field::{FieldTree, TreeOptions, load_field};
use crate::output::{Outputs, check_output_path, write_json, write_npy};
use crate::{Error, Progress, Result};

/// What to compute of a field and which files to write; every output is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct TopoOptions {
    /// The landscape: a .npy file of float32 or float64 values with 1 to 8 dimensions, or a
    /// .npz archive.
    pub field: PathBuf,
    /// The tree's connectivity, simplification and the archive's key.
    pub tree: TreeOptions,
    /// The split tree (maxima) instead of the join tree (minima).
    pub split: bool,
    /// The merge tree as JSON.
    pub json: Option<PathBuf>,
    /// Every vertex's node id, as `.npy`.
    pub segmentation: Option<PathBuf>,
    /// The contour tree as JSON.
    pub contour_tree: Option<PathBuf>,
    /// Every vertex's contour-tree arc id, as `.npy`.
    pub contour_segmentation: Option<PathBuf>,
    /// VTK ImageData (1-3 axes) with the loss, the segmentations and the basins.
    pub vtk: Option<PathBuf>,
    /// Every vertex's basin of attraction, as `.npy`.
    pub basins: Option<PathBuf>,
    /// The profile as PNG.
    pub profile: Option<PathBuf>,
    /// The profile as SVG.
    pub svg: Option<PathBuf>,
    /// The profile's geometry as JSON.
    pub profile_json: Option<PathBuf>,
    /// A folder for every figure ([`FIGURE_FILES`]).
    pub figures: Option<PathBuf>,
    /// The loss on a logarithmic scale in profiles.
    pub log_loss: bool,
    /// The metrics and persistence diagram as JSON.
    pub metrics: Option<PathBuf>,
    /// In profiles, hide basins with fewer than this fraction of all vertices.
    pub hide_below: f64,
}

impl TopoOptions {
    /// The join tree of `field`, freudenthal, unsimplified, writing nothing.
    pub fn new(field: impl Into<PathBuf>) -> Self {
        TopoOptions {
            field: field.into(),
            tree: TreeOptions::default(),
            split: false,
            json: None,
            segmentation: None,
            contour_tree: None,
            contour_segmentation: None,
            vtk: None,
            basins: None,
            profile: None,
            svg: None,
            profile_json: None,
            figures: None,
            log_loss: false,
            metrics: None,
            hide_below: ProfileOptions::default().min_size_fraction,
        }
    }

    /// The single files asked for, by option.
    fn files(&self) -> Vec<(&'static str, &PathBuf)> {
        [
            ("json", &self.json),
            ("segmentation", &self.segmentation),
            ("contour_tree", &self.contour_tree),
            ("contour_segmentation", &self.contour_segmentation),
            ("basins", &self.basins),
            ("vtk", &self.vtk),
            ("profile", &self.profile),
            ("svg", &self.svg),
            ("profile_json", &self.profile_json),
            ("metrics", &self.metrics),
        ]
        .into_iter()
        .filter_map(|(key, path)| path.as_ref().map(|p| (key, p)))
        .collect()
    }

    fn wants_profile(&self) -> bool {
        self.profile.is_some()
            || self.svg.is_some()
            || self.profile_json.is_some()
            || self.figures.is_some()
    }

    fn wants_contour(&self) -> bool {
        self.metrics.is_some()
            || self.contour_tree.is_some()
            || self.contour_segmentation.is_some()
            || self.basins.is_some()
            || self.vtk.is_some()
    }
}

/// The files `figures` writes, in its folder.
pub const FIGURE_FILES: [&str; 8] = [
    "profile.png",
    "profile.svg",
    "persistence.png",
    "persistence.svg",
    "tree.png",
    "tree.svg",
    "landscape.png",
    "landscape.svg",
];

/// What `topo` computed, for its caller to report.
pub struct TopoSummary {
    /// The field, its tree and the simplified tree.
    pub tree: FieldTree,
    /// The contour tree and the basins of attraction, when an output needed them.
    pub contour: Option<(ContourTree, Basins)>,
    /// The profile, when an output needed it.
    pub profile: Option<Profile>,
    /// Seconds reading the field, computing, and writing the files.
    pub seconds: (f64, f64, f64),
}

impl TopoSummary {
    /// The contour tree's saddles.
    pub fn contour_saddles(&self) -> usize {
        self.contour.as_ref().map_or(0, |(contour, _)| {
            contour
                .nodes()
                .iter()
                .filter(|n| n.kind() == ContourNodeKind::Saddle)
                .count()
        })
    }
}

/// The outputs checked before anything is read: none is the input or another output, and the
/// figures' folder can be made. The files of the figures' folder, by name.
fn check(options: &TopoOptions) -> Result<Vec<(&'static str, PathBuf)>> {
    let outputs = options.files();
    for &(key, path) in &outputs {
        check_output_path(key, path, &[&options.field])?;
    }
    // The figures' folder is checked now but created only when the results are ready.
    let figures: Vec<(&'static str, PathBuf)> = match &options.figures {
        None => Vec::new(),
        Some(dir) => {
            let fail = |what: &str| Err(Error::option("figures", dir.display(), what));
            if dir.exists() && !dir.is_dir() {
                return fail("exists and is not a folder");
            }
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            if !dir.exists() && parent.is_some_and(|p| !p.is_dir()) {
                return fail("its parent folder does not exist");
            }
            FIGURE_FILES
                .iter()
                .map(|&name| (name, dir.join(name)))
                .collect()
        }
    };
    for (_, path) in figures.iter().filter(|(_, path)| path.exists()) {
        check_output_path("figures", path, &[&options.field])?;
    }
    // No file is two outputs, whatever its spellings (`./x.json` and `x.json`, `figures D` and
    // `profile D/profile.png`): the second would overwrite the first half-way.
    let named = outputs
        .iter()
        .map(|&(key, path)| (key, Path::new(path)))
        .chain(figures.iter().map(|(_, path)| ("figures", path.as_path())));
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for (key, path) in named {
        let identity = crate::output::file_identity(path);
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == identity) {
            return Err(Error::Options(format!(
                "`{other}` and `{key}` both name {}; give different files",
                path.display()
            )));
        }
        seen.push((key, identity));
    }
    if options.split && (options.wants_profile() || options.metrics.is_some()) {
        return Err(Error::option_as_a_whole(
            "split",
            "profiles and metrics describe the join tree (minima); drop `split`",
        ));
    }
    Ok(figures)
}

/// Reads the field, computes what the outputs need, and writes them (all or none).
pub fn topo(options: &TopoOptions, progress: &dyn Progress) -> Result<TopoSummary> {
    let started = Instant::now();
    let figures = check(options)?;
    let kind = if options.split {
        TreeKind::Split
    } else {
        TreeKind::Join
    };
    let field = load_field(&options.field, options.tree.key.as_deref())?;
    let loaded = Instant::now();
    let name = options.field.display().to_string();
    let tree = FieldTree::of(field, &name, &options.tree, kind, progress)?;
    let axes = tree.field.shape.len();
    if options.vtk.is_some() && axes > 3 {
        return Err(Error::option_as_a_whole(
            "vtk",
            format!("VTK image data has 1 to 3 axes; {name} has {axes}"),
        ));
    }
    let profile = if options.wants_profile() {
        let profile_options = ProfileOptions {
            min_size_fraction: options.hide_below,
            ..ProfileOptions::default()
        };
        let profile = tree
            .field
            .values
            .profile(tree.reported(), profile_options)?;
        if options.log_loss && profile.value_range.0 <= 0.0 {
            return Err(Error::option_as_a_whole(
                "log_loss",
                format!(
                    "the loss must be positive for a logarithmic scale; its minimum is {}",
                    profile.value_range.0
                ),
            ));
        }
        Some(profile)
    } else {
        None
    };
    let contour = if options.wants_contour() {
        Some(tree.contour_and_basins()?)
    } else {
        None
    };
    let computed = Instant::now();
    let summary = TopoSummary {
        tree,
        contour,
        profile,
        seconds: (0.0, 0.0, 0.0),
    };
    let mut files = Outputs::default();
    tree_files(&mut files, options, &summary)?;
    if let Some(profile) = &summary.profile {
        profile_files(&mut files, options, &summary.tree, profile, &figures)?;
    }
    files.commit()?;
    let seconds = |a: Instant, b: Instant| b.duration_since(a).as_secs_f64();
    Ok(TopoSummary {
        seconds: (
            seconds(started, loaded),
            seconds(loaded, computed),
            seconds(computed, Instant::now()),
        ),
        ..summary
    })
}

/// The tree's, the contour tree's and the basins' files, and the metrics.
fn tree_files(files: &mut Outputs, options: &TopoOptions, s: &TopoSummary) -> Result<()> {
    let analysis = &s.tree;
    let reported = analysis.reported();
    let shape = &analysis.field.shape;
    let connectivity = analysis.connectivity.name();
    if let Some(path) = &options.json {
        let threshold = analysis.simplified.as_ref().map(|(t, _)| *t);
        let document = TreeDocument::new(reported, shape, connectivity, threshold);
        files.write("json", path, |w| write_json(w, &document))?;
    }
    if let Some(path) = &options.segmentation {
        files.write("segmentation", path, |w| {
            write_npy(w, shape, reported.segmentation())
        })?;
    }
    let Some((contour, basins)) = &s.contour else {
        return Ok(());
    };
    if let Some(path) = &options.contour_tree {
        let document = ContourTreeDocument::new(contour, shape, connectivity);
        files.write("contour_tree", path, |w| write_json(w, &document))?;
    }
    if let Some(path) = &options.contour_segmentation {
        files.write("contour_segmentation", path, |w| {
            write_npy(w, shape, contour.segmentation())
        })?;
    }
    if let Some(path) = &options.basins {
        files.write("basins", path, |w| write_npy(w, shape, basins.labels()))?;
    }
    if let Some(path) = &options.vtk {
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
    if let Some(path) = &options.metrics {
        let simplified = analysis.simplified.as_ref().map(|(t, simple)| (*t, simple));
        let name = options.field.display().to_string();
        let topology = FieldTopology {
            tree: &analysis.tree,
            contour,
            basins,
        };
        let document = MetricsDocument::new(&name, shape, connectivity, topology, simplified);
        files.write("metrics", path, |w| write_json(w, &document))?;
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The profile's files and the figures' folder.
fn profile_files(
    files: &mut Outputs,
    options: &TopoOptions,
    analysis: &FieldTree,
    profile: &Profile,
    figures: &[(&'static str, PathBuf)],
) -> Result<()> {
    let name = file_name(&options.field);
    let figure = |title: &str| FigureOptions {
        title: format!("{title}: {name}"),
        log_scale: options.log_loss,
        ..FigureOptions::default()
    };
    let profile_figure = figure("Topological landscape profile");
    if let Some(path) = &options.profile {
        files.bytes(
            "profile",
            path,
            render::profile_png(profile, &profile_figure)?,
        )?;
    }
    if let Some(path) = &options.svg {
        files.bytes("svg", path, render::profile_svg(profile, &profile_figure)?)?;
    }
    if let Some(path) = &options.profile_json {
        let document = ProfileDocument::new(analysis.reported(), profile);
        files.write("profile_json", path, |w| write_json(w, &document))?;
    }
    if let Some(dir) = &options.figures
        && !dir.exists()
        && let Err(e) = std::fs::create_dir(dir)
    {
        return Err(Error::option(
            "figures",
            dir.display(),
            format!("cannot create the folder: {e}"),
        ));
    }
    let diagram = Diagram::of(analysis.reported());
    let (values, shape) = (&analysis.field.values, &analysis.field.shape);
    let persistence = figure("Persistence");
    let tree = figure("Merge tree");
    let landscape = figure(if shape.len() == 2 {
        "Landscape"
    } else {
        "Landscape slices through the centre"
    });
    for (name, path) in figures {
        let bytes = match *name {
            "profile.png" => render::profile_png(profile, &profile_figure)?,
            "profile.svg" => render::profile_svg(profile, &profile_figure)?.into_bytes(),
            "persistence.png" => render::persistence_png(&diagram, &persistence)?,
            "persistence.svg" => render::persistence_svg(&diagram, &persistence)?.into_bytes(),
            "tree.png" => render::merge_tree_png(profile, &tree)?,
            "tree.svg" => render::merge_tree_svg(profile, &tree)?.into_bytes(),
            "landscape.png" => values.landscape_figure(shape, &landscape, false)?,
            _ => values.landscape_figure(shape, &landscape, true)?,
        };
        files.bytes("figures", path, bytes)?;
    }
    Ok(())
}
