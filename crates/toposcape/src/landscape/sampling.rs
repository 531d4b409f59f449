//! Where the landscape is sampled: a grid, or scattered points with their nearest-neighbour
//! graph; and the topology of the sampled values on it.

use std::num::NonZeroUsize;

use serde::Serialize;
use toposcape_perturb::plan::{GridPlan, Plan, Region, Scatter, ScatteredPlan};
use toposcape_perturb::sample::{PointEvaluator, sample};
use toposcape_perturb::store::{ChunkStore, Fingerprint, StoreError};
use toposcape_topology::{
    Basins, Connectivity, ContourTree, Graph, Grid, MergeTree, Neighbourhood, Parallelism, TreeKind,
};

use crate::config::{LandscapeSection, PlanName, RegionName};
use crate::error::Result;

/// A grid, or scattered points with their nearest-neighbour graph.
pub enum Sampling {
    /// A regular grid.
    Grid(GridPlan),
    /// The points, k, and the graph's edges.
    Scattered(ScatteredPlan, usize, Vec<(u32, u32)>),
}

impl Sampling {
    /// The plan of `landscape` on `dims` axes of half-width `half` (scattered points seeded by `seed`).
    pub fn new(landscape: &LandscapeSection, dims: usize, half: f64, seed: u64) -> Self {
        let widths = vec![half; dims];
        let scatter = match landscape.plan {
            PlanName::Grid => {
                return Sampling::Grid(GridPlan::centred(&vec![landscape.points; dims], &widths));
            }
            PlanName::Sobol => Scatter::Sobol,
            PlanName::Random => Scatter::Random,
        };
        let region = match landscape.region {
            RegionName::Box => Region::Box,
            RegionName::Ball => Region::Ball,
        };
        let plan = ScatteredPlan::new(landscape.samples, &widths, scatter, region, seed);
        let k = if landscape.neighbours == 0 {
            2 * dims + 2
        } else {
            landscape.neighbours
        };
        let edges = plan.knn_edges(k, &widths);
        Sampling::Scattered(plan, k, edges)
    }

    /// `grid` or `scattered`.
    pub fn name(&self) -> &'static str {
        match self {
            Sampling::Grid(_) => "grid",
            Sampling::Scattered(..) => "scattered",
        }
    }

    /// Adds the plan's points to the store's fingerprint.
    pub fn fingerprint(&self, fingerprint: &mut Fingerprint) {
        match self {
            Sampling::Grid(grid) => {
                fingerprint.text("grid");
                for axis in &grid.axes {
                    fingerprint.f64s(axis);
                }
            }
            Sampling::Scattered(plan, ..) => {
                fingerprint.text("scattered").f64s(&plan.coords);
            }
        }
    }

    /// The index of theta0 itself, when the plan has it.
    pub fn centre(&self) -> Option<usize> {
        match self {
            Sampling::Grid(grid) => grid.centre(),
            Sampling::Scattered(..) => Some(0),
        }
    }

    /// The plan as the sampler takes it.
    pub fn plan(&self) -> &dyn Plan {
        match self {
            Sampling::Grid(grid) => grid,
            Sampling::Scattered(plan, ..) => plan,
        }
    }

    /// The number of points.
    pub fn point_count(&self) -> usize {
        self.plan().len()
    }

    /// Samples the plan into `store` with `workers`, reporting points done to `progress`.
    pub fn sample<E: PointEvaluator>(
        &self,
        store: &ChunkStore,
        workers: Vec<E>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize, StoreError> {
        sample(self.plan(), store, workers, progress)
    }

    /// The field's shape, the connectivity's name, and the join tree, contour tree and basins
    /// of `values`; the join tree on at most `threads` threads.
    pub fn topology(&self, values: &[f32], threads: Option<usize>) -> Result<LandscapeTopology> {
        let parallelism = match threads.and_then(NonZeroUsize::new) {
            Some(most) => Parallelism::AtMost(most),
            None => Parallelism::Auto,
        };
        fn on<N: Neighbourhood>(
            values: &[f32],
            domain: &N,
            shape: Vec<usize>,
            connectivity: &'static str,
            parallelism: Parallelism,
        ) -> Result<LandscapeTopology> {
            Ok(LandscapeTopology {
                shape,
                connectivity,
                tree: MergeTree::compute_with(
                    values,
                    domain,
                    TreeKind::Join,
                    parallelism,
                    &mut |_| {},
                )?,
                contour: ContourTree::compute(values, domain)?,
                basins: Basins::compute(values, domain)?,
            })
        }
        match self {
            Sampling::Grid(grid) => {
                let shape = grid.shape();
                let domain = Grid::new(&shape, Connectivity::Freudenthal)?;
                on(values, &domain, shape, "freudenthal", parallelism)
            }
            Sampling::Scattered(_, _, edges) => {
                let graph = Graph::from_edges(values.len(), edges)?;
                on(values, &graph, vec![values.len()], "knn", parallelism)
            }
        }
    }
}

/// A sampled landscape's topology: what metrics.json and the figures are made of.
pub struct LandscapeTopology {
    /// The field's shape.
    pub shape: Vec<usize>,
    /// `freudenthal` or `knn`.
    pub connectivity: &'static str,
    /// The join tree.
    pub tree: MergeTree,
    /// The contour tree.
    pub contour: ContourTree,
    /// The basins of steepest descent.
    pub basins: Basins,
}

/// `axes.json`: the axes of the sampled landscape (docs/ARCHITECTURE.md, contract 4).
#[derive(Serialize)]
pub struct AxesJson<'a> {
    /// The landscape's shape.
    pub shape: Vec<usize>,
    /// grid, sobol or random.
    pub plan: &'static str,
    /// The directions' name.
    pub directions: String,
    /// Whether `range` was given relative to ||theta0||.
    pub relative: bool,
    /// The range as given.
    pub range: f64,
    /// ||theta0||.
    pub theta0_norm: f64,
    /// The absolute half-width of each axis.
    pub half_widths: Vec<f64>,
    /// A grid's coordinates on each axis: point (i, j, ...) is theta0 + axes[0][i] d_0 + ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axes: Option<&'a Vec<Vec<f64>>>,
    /// Scattered plans: the file of the points' coordinates (`N x dims`; point i is
    /// theta0 + sum_j points[i, j] d_j) and the k of the nearest-neighbour graph (graph.npy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_file: Option<&'static str>,
    /// Scattered plans: the k of the graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
}

/// Points per stored chunk: at least 64 chunks, so every worker stays busy to the end, and at
/// most 1024 points (64 for burn's slower evaluators), so a chunk finishes within seconds.
/// A batched evaluator gets one batch per chunk. It does not depend on the thread count: a run
/// resumed with other `--threads` keeps its chunks.
pub fn chunk_size(total: usize, kernel: bool, batch: usize) -> usize {
    if batch > 1 {
        return batch.min(total).max(1);
    }
    let cap = if kernel { 1024 } else { 64 };
    (total / 64).clamp(1, cap)
}
