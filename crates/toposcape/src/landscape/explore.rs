//! The landscape of any burn module, in memory: the top Hessian directions of its loss (or
//! filter-normalised random ones), the loss on a grid around its weights, and that grid's
//! merge tree, profile and metrics. No config and no run directory: for a program's own model.

use burn::module::Module;
use burn::prelude::*;
use toposcape_perturb::directions::{burn_filter_axis, filter_normalised, unit_rows};
use toposcape_perturb::hessian::{HessianOptions, LanczosOptions, analyse_hessian};
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::params::{ParamLayout, flatten};
use toposcape_perturb::plan::{GridPlan, norm};
use toposcape_perturb::sample::{Directions, Perturbed, PointEvaluator};
use toposcape_topology::{
    Basins, Connectivity, ContourTree, Grid, MergeTree, Metrics, Profile, ProfileOptions, TreeKind,
    landscape_profile,
};

use crate::documents::MetricsJson;
use crate::error::{Error, Result};
use crate::progress::{Progress, Stage};

/// The directions of an in-memory landscape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axes {
    /// The Hessian's top eigenvectors (by Lanczos, with finite-difference Hessian-vector
    /// products: a module of the caller's has no exact ones).
    Hessian,
    /// Filter-normalised Gaussian directions (Li et al.), seeded.
    Random,
}

/// The grid of an in-memory landscape.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreOptions {
    /// Hessian or random axes.
    pub axes: Axes,
    /// Grid axes, 1 to 8.
    pub dims: usize,
    /// Points per axis (odd, so that the weights themselves are a grid point).
    pub points: usize,
    /// The half-width of each axis, as a multiple of ||theta0||.
    pub range: f64,
    /// The finite-difference step of Hessian-vector products.
    pub step: f64,
    /// Seed of Lanczos' start vector and of random axes.
    pub seed: u64,
}

impl Default for ExploreOptions {
    /// Hessian axes, a 2-D grid of 41 x 41 points, 1% of ||theta0|| each way.
    fn default() -> Self {
        ExploreOptions {
            axes: Axes::Hessian,
            dims: 2,
            points: 41,
            range: 0.01,
            step: 1e-3,
            seed: 0,
        }
    }
}

/// A module's landscape and its topology.
#[derive(Debug, Clone)]
pub struct Explored {
    /// The loss at the module's own weights.
    pub loss_at_theta0: f64,
    /// ||theta0||.
    pub theta0_norm: f64,
    /// Hessian axes: their eigenvalues, and whether every pair met Lanczos' tolerance.
    pub eigenvalues: Vec<f64>,
    /// Whether every Hessian pair met Lanczos' tolerance (false for random axes).
    pub converged: bool,
    /// The grid's shape and the loss at each of its points, in C order.
    pub shape: Vec<usize>,
    /// The loss at each grid point, C order.
    pub values: Vec<f32>,
    /// The grid's join tree.
    pub tree: MergeTree,
    /// The topological landscape profile.
    pub profile: Profile,
    /// What `metrics.json` would say of it.
    pub metrics: MetricsJson,
}

/// The landscape of `model`'s `loss` (computed on `device`) around its weights, along the axes
/// `options` ask for, with its topology. `progress` hears of the Hessian and of the points.
pub fn explore<M, F>(
    model: &M,
    device: &Device,
    loss: F,
    options: &ExploreOptions,
    progress: &dyn Progress,
) -> Result<Explored>
where
    M: Module + Clone + Send,
    F: Fn(&M) -> Tensor<1> + Send,
{
    if !(1..=8).contains(&options.dims) {
        return Err(Error::option("dims", options.dims, "expected 1 to 8 axes"));
    }
    if options.points < 2 {
        return Err(Error::option(
            "points",
            options.points,
            "expected at least 2 per axis",
        ));
    }
    let theta0 = flatten(model);
    let mut landscape = ModuleLoss::new(model, device, loss);
    let loss_at_theta0 = landscape.loss(&theta0);
    let (rows, eigenvalues, converged) = axes(&mut landscape, model, &theta0, options, progress);
    let directions = Directions::from_rows(&rows);
    let theta0_norm = norm(&theta0);
    let half = options.range * theta0_norm;
    let plan = GridPlan::centred(
        &vec![options.points; options.dims],
        &vec![half; options.dims],
    );
    let values = evaluate(
        &plan,
        Perturbed::of_model(landscape, &theta0, &directions),
        progress,
    );
    let shape = plan.shape();
    let grid = Grid::new(&shape, Connectivity::Freudenthal)?;
    let tree = MergeTree::compute(&values, &grid, TreeKind::Join)?;
    let contour = ContourTree::compute(&values, &grid)?;
    let basins = Basins::compute(&values, &grid)?;
    let profile = landscape_profile(&tree, &values, ProfileOptions::default())?;
    let metrics = MetricsJson::from(&Metrics::of_field(&tree, &contour, &basins));
    Ok(Explored {
        loss_at_theta0,
        theta0_norm,
        eigenvalues,
        converged,
        metrics,
        shape,
        values,
        tree,
        profile,
    })
}

/// The axes as rows, and for Hessian axes their eigenvalues and whether they converged.
fn axes<L: LandscapeModel, M: Module>(
    landscape: &mut L,
    model: &M,
    theta0: &[f32],
    options: &ExploreOptions,
    progress: &dyn Progress,
) -> (Vec<Vec<f64>>, Vec<f64>, bool) {
    if options.axes == Axes::Random {
        let layout = ParamLayout::of(model);
        let mut rows: Vec<Vec<f64>> = filter_normalised(
            &layout,
            theta0,
            options.dims,
            options.seed,
            burn_filter_axis,
        )
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect();
        unit_rows(&mut rows);
        return (rows, Vec::new(), false);
    }
    let hessian = HessianOptions {
        eigenpairs: Some(LanczosOptions {
            k: options.dims,
            seed: options.seed,
            ..LanczosOptions::default()
        }),
        step: options.step,
        seed: options.seed,
        ..HessianOptions::default()
    };
    progress.start(Stage::Hessian, None, 0);
    let analysis = analyse_hessian(landscape, theta0, &hessian, |_, products| {
        progress.message(&format!(
            "top eigenpairs: {products} Hessian-vector products"
        ));
    });
    progress.finish();
    let pairs = analysis.eigenpairs.expect("asked for");
    (pairs.vectors, pairs.values, pairs.converged)
}

/// The loss at every point of `plan`, one row of the grid at a time.
fn evaluate(
    plan: &GridPlan,
    mut evaluator: impl PointEvaluator,
    progress: &dyn Progress,
) -> Vec<f32> {
    let (n, dims) = (plan.len(), plan.dims());
    progress.start(Stage::Landscape, Some(n as u64), 0);
    let mut values = vec![0.0f32; n];
    let mut coords = vec![0.0; dims];
    let row = plan.axes.last().map_or(1, Vec::len);
    for (start, chunk) in (0..n).step_by(row).zip(values.chunks_mut(row)) {
        let mut batch = Vec::with_capacity(chunk.len() * dims);
        for index in start..start + chunk.len() {
            plan.point_into(index, &mut coords);
            batch.extend_from_slice(&coords);
        }
        evaluator.evaluate(&batch, chunk);
        progress.set((start + chunk.len()) as u64);
    }
    progress.finish();
    values
}
