//! The files of an analysed run directory (docs/ARCHITECTURE.md, contract 4), written
//! together: all of them are moved into place only once every one is complete.

use std::path::PathBuf;

use burn::module::Module;
use serde::Serialize;
use toposcape_models::checkpoint::safetensors_bytes;
use toposcape_perturb::hessian::HessianAnalysis;
use toposcape_topology::render::{self, FigureOptions};
use toposcape_topology::{Diagram, ProfileOptions, landscape_profile};

use super::hessian::{DENSITY_FILE, steps_of};
use super::sampling::{AxesJson, LandscapeTopology};
use super::{Analysis, HessianReport, Problem, Sampled, Sampling};
use crate::documents::{FieldTopology, MetricsDocument, TreeDocument};
use crate::error::{Error, Result};
use crate::output::{Outputs, write_json, write_npy, write_npz};

/// `params.json`: where each parameter sits in the flat vector.
#[derive(Serialize)]
struct ParamsJson<'a> {
    /// The length of the flat vector.
    length: usize,
    layout_note: &'static str,
    parameters: Vec<ParamJson<'a>>,
}

#[derive(Serialize)]
struct ParamJson<'a> {
    name: &'a str,
    shape: &'a [usize],
    offset: usize,
}

/// The output files being written, by name in the run directory.
struct Files {
    out: PathBuf,
    outputs: Outputs,
    /// The run directory's name, for the figures' titles.
    name: String,
}

impl Files {
    fn write(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
    ) -> Result<()> {
        self.outputs.write("out", &self.out.join(name), write)
    }

    fn bytes(&mut self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        self.outputs.bytes("out", &self.out.join(name), bytes)
    }

    fn json(&mut self, name: &str, document: &impl Serialize) -> Result<()> {
        self.write(name, |w| write_json(w, document))
    }

    fn figure(&self, title: &str) -> FigureOptions {
        FigureOptions {
            title: format!("{title}: {}", self.name),
            ..FigureOptions::default()
        }
    }
}

/// Writes every file of the analysis, removes the chunk store, and returns `metrics.json`.
pub(super) fn write<M: Module + Clone + 'static>(
    analysis: &Analysis<'_>,
    problem: &Problem<M>,
    sampled: &Sampled,
    hessian_analysis: &HessianAnalysis,
    hessian: &HessianReport,
) -> Result<MetricsDocument> {
    let out = analysis.prepared.out.clone();
    let name = out
        .file_name()
        .map_or_else(|| out.display().to_string(), |n| n.to_string_lossy().into());
    let mut files = Files {
        out: out.clone(),
        outputs: Outputs::default(),
        name,
    };
    let topology = sampled
        .plan
        .topology(&sampled.values, analysis.options.threads)?;
    landscape_files(&mut files, analysis, sampled, &topology)?;
    model_files(&mut files, problem, sampled, analysis)?;
    files.json("hessian.json", hessian)?;
    if let Some(density) = &hessian_analysis.density {
        density_files(&mut files, density)?;
    }
    figures(&mut files, sampled, &topology)?;
    let LandscapeTopology {
        shape,
        connectivity,
        tree,
        contour,
        basins,
    } = &topology;
    let field = FieldTopology {
        tree,
        contour,
        basins,
    };
    let metrics = MetricsDocument::new("landscape.npy", shape, connectivity, field, None);
    files.json("metrics.json", &metrics)?;
    files.outputs.commit()?;
    Ok(metrics)
}

/// The landscape, its axes (and a scattered plan's points and graph), the config it was
/// sampled with, and its merge tree.
fn landscape_files(
    files: &mut Files,
    analysis: &Analysis<'_>,
    sampled: &Sampled,
    topology: &LandscapeTopology,
) -> Result<()> {
    let config = &analysis.prepared.config;
    let landscape = &config.landscape;
    let (values, shape, dims) = (&sampled.values, &topology.shape, landscape.dims);
    files.bytes("config.toml", config.to_toml())?;
    files.write("landscape.npy", |w| write_npy(w, shape, values))?;
    let plan = &sampled.plan;
    let axes = AxesJson {
        shape: shape.clone(),
        plan: plan.name(),
        directions: analysis.prepared.kind.name(),
        relative: landscape.relative,
        range: landscape.range,
        theta0_norm: sampled.theta0_norm,
        half_widths: vec![sampled.half; dims],
        axes: match plan {
            Sampling::Grid(grid) => Some(&grid.axes),
            Sampling::Scattered(..) => None,
        },
        points_file: match plan {
            Sampling::Grid(_) => None,
            Sampling::Scattered(..) => Some("points.npy"),
        },
        neighbours: match plan {
            Sampling::Grid(_) => None,
            Sampling::Scattered(_, k, _) => Some(*k),
        },
    };
    if let Sampling::Scattered(scattered, _, edges) = plan {
        files.write("points.npy", |w| {
            write_npy(w, &[values.len(), dims], &scattered.coords)
        })?;
        let flat: Vec<i64> = edges
            .iter()
            .flat_map(|&(a, b)| [i64::from(a), i64::from(b)])
            .collect();
        files.write("graph.npy", |w| write_npy(w, &[edges.len(), 2], &flat))?;
    }
    files.json("axes.json", &axes)?;
    let document = TreeDocument::new(&topology.tree, shape, topology.connectivity, None);
    files.json("tree.json", &document)
}

/// The weights, their layout, the directions and the data the loss was computed on.
fn model_files<M: Module + Clone + 'static>(
    files: &mut Files,
    problem: &Problem<M>,
    sampled: &Sampled,
    analysis: &Analysis<'_>,
) -> Result<()> {
    let layout = &sampled.layout;
    let params = ParamsJson {
        length: layout.len(),
        layout_note: "burn layout: dense weights are [in, out]; offsets index the flat vector of directions.npy rows",
        parameters: layout
            .entries
            .iter()
            .map(|e| ParamJson {
                name: &e.name,
                shape: &e.shape,
                offset: e.offset,
            })
            .collect(),
    };
    files.json("params.json", &params)?;
    let metadata = analysis.prepared.config.weights_metadata();
    let bytes = safetensors_bytes(&problem.model, &metadata).map_err(Error::Internal)?;
    files.bytes("theta0.safetensors", bytes)?;
    let directions = &sampled.directions;
    files.write("directions.npy", |w| {
        write_npy(w, &[directions.count, directions.len], &directions.values)
    })?;
    let mut npz = std::io::Cursor::new(Vec::new());
    write_npz(&mut npz, &problem.eval_data)?;
    files.bytes("eval_data.npz", npz.get_ref())
}

/// The Hessian's eigenvalue density as rows and as a figure.
fn density_files(files: &mut Files, density: &toposcape_perturb::hessian::Density) -> Result<()> {
    let rows: Vec<f64> = density
        .grid
        .iter()
        .zip(&density.density)
        .flat_map(|(x, d)| [*x, *d])
        .collect();
    files.write(DENSITY_FILE, |w| {
        write_npy(w, &[density.grid.len(), 2], &rows)
    })?;
    // On a log scale, as PyHessian draws it, floored at 1e-10 of the peak so the tails
    // between separated eigenvalues stay on the chart.
    let peak = density.density.iter().copied().fold(0.0f64, f64::max);
    let series = render::Series {
        name: format!(
            "{} probes x {} Lanczos steps, sigma {:.2e}",
            density.quadrature.nodes.len(),
            steps_of(&density.quadrature),
            density.sigma
        ),
        points: density
            .grid
            .iter()
            .zip(&density.density)
            .map(|(x, d)| (*x, d.max(1e-10 * peak)))
            .collect(),
    };
    let options = FigureOptions {
        log_scale: true,
        ..files.figure("Hessian eigenvalue density")
    };
    let png = render::curve_png(&[series], "eigenvalue", "density", &options)?;
    files.bytes("spectral_density.png", png)
}

/// The profile, the merge tree, the persistence diagram and (on a grid) the landscape.
fn figures(files: &mut Files, sampled: &Sampled, topology: &LandscapeTopology) -> Result<()> {
    let values = &sampled.values;
    let profile = landscape_profile(&topology.tree, values, ProfileOptions::default())?;
    let title = files.figure("Topological landscape profile");
    files.bytes("profile.png", render::profile_png(&profile, &title)?)?;
    files.bytes("profile.svg", render::profile_svg(&profile, &title)?)?;
    let png = render::merge_tree_png(&profile, &files.figure("Merge tree"))?;
    files.bytes("merge_tree.png", png)?;
    let diagram = Diagram::of(&topology.tree);
    let png = render::persistence_png(&diagram, &files.figure("Persistence"))?;
    files.bytes("persistence.png", png)?;
    if let Sampling::Grid(_) = &sampled.plan {
        let title = if topology.shape.len() == 2 {
            "Landscape"
        } else {
            "Landscape slices through the centre"
        };
        let png = render::landscape_png(values, &topology.shape, &files.figure(title))?;
        files.bytes("landscape.png", png)?;
    }
    Ok(())
}
