//! toposcape-topology: exact merge trees of scalar fields on n-dimensional grids and graphs.
//!
//! Given values on the vertices of a regular grid of 1 to 8 dimensions (C order) or of an
//! explicit undirected graph, this crate computes the augmented join tree of sublevel sets (the
//! merge tree of a loss landscape: leaves are minima, inner nodes are where basins merge, the
//! root is the global maximum), the segment of every vertex, the 0-dimensional persistence pairs
//! by the elder rule, and persistence simplification. The split tree (maxima) is the same
//! computation on the reversed order. [`contour_tree`] combines the two into the augmented
//! contour tree (with a measured flag for domains, such as the axis grid, where none may exist),
//! [`basins`] finds every vertex's steepest-descent minimum, and [`Metrics`] summarises them,
//! Landscaper's saddle-minimum distances included.
//!
//! Vertices are totally ordered by (value, vertex id), so ties behave as simulation of
//! simplicity; NaN and `+inf` order above every finite value and are counted, never replaced.
//! Large fields are computed on every core ([`Parallelism`]): each vertex finds its steepest
//! descent and whether its lower neighbours fall apart into groups, descent paths label every
//! vertex with its minimum, the few vertices that may merge labels are decided in order with a
//! union-find over the minima alone, and a search of the tree's branches gives every vertex its
//! segment. Every pass over all vertices reads memory in vertex order and none sorts them, so
//! fields far larger than the cache run at nearly the speed of small ones; working memory
//! peaks at about 8 bytes per vertex for `f32` input on a smooth field (input excluded, output
//! included; more where there are many minima and saddles). Small fields
//! take one union-find sweep in value order, with the same result.
//!
//! ```
//! use toposcape_topology::{Connectivity, Grid, join_tree};
//!
//! // Two basins on a 1-D grid, separated by the value 5 at vertex 2.
//! let values = [1.0f32, 0.0, 5.0, 2.0, 3.0];
//! let grid = Grid::new(&[5], Connectivity::Freudenthal).unwrap();
//! let tree = join_tree(&values, &grid).unwrap();
//! assert_eq!(tree.leaf_count(), 2);
//! let pairs = tree.pairs();
//! assert_eq!(pairs[0].death, None); // the global minimum never dies
//! assert_eq!((pairs[1].birth, pairs[1].death), (2.0, Some(5.0)));
//! ```

mod basins;
mod contour;
mod diagram;
mod error;
mod graph;
mod grid;
mod matching;
mod metrics;
mod par;
mod parallel;
mod profile;
#[cfg(feature = "render")]
pub mod render;
mod sort;
mod sweep;
mod tree;
mod value;
pub mod vtk;

pub use basins::{Basins, basins};
pub use contour::{
    ContourArc, ContourArcId, ContourNode, ContourNodeId, ContourNodeKind, ContourTree,
    NODE_VERTEX, contour_tree,
};
pub use diagram::{
    Diagram, bottleneck_distance, bottleneck_distance_by_matrix, wasserstein_distance,
    wasserstein_estimate,
};
pub use error::TopologyError;
pub use graph::Graph;
pub use grid::{Connectivity, Grid, MAX_DIMENSIONS, MAX_VERTICES, UnknownConnectivity};
pub use matching::{WassersteinEstimate, bottleneck_geometric, wasserstein_auction};
pub use metrics::{LARGEST_BASINS, Metrics};
pub use profile::{Basin, Profile, ProfileOptions, landscape_profile};
pub use tree::{
    Arc, InvalidThresholdText, MergeTree, Node, NodeId, NodeKind, PARALLEL_MIN_VERTICES,
    Parallelism, PersistencePair, Threshold, TreeKind, join_tree, split_tree,
};
pub use value::FieldValue;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

/// A domain whose vertices a merge tree is computed on: which vertices are neighbours.
///
/// Implemented by [`Grid`] (neighbours enumerated from the shape) and [`Graph`] (explicit
/// adjacency). The relation must be symmetric. A domain is `Sync`: the merge tree reads it from
/// several threads.
pub trait Neighbourhood: Sync {
    /// The number of vertices, with ids `0..vertex_count()`.
    fn vertex_count(&self) -> usize;
    /// The largest number of neighbours any vertex has.
    fn max_degree(&self) -> usize;
    /// Appends every neighbour of `vertex` to `out` (which the caller has cleared).
    fn neighbours(&self, vertex: u32, out: &mut Vec<u32>);
    /// The length of the edge between two neighbours, for steepest descent ([`basins`]): 1 by
    /// default (a graph's edges are all alike); a grid's is the Euclidean length of the offset
    /// in index units, the square root of the number of axes it moves along.
    fn edge_length(&self, a: u32, b: u32) -> f64 {
        let _ = (a, b);
        1.0
    }
    /// Appends every neighbour of `vertex` with the length of its edge ([`Self::edge_length`]).
    fn neighbours_with_lengths(&self, vertex: u32, out: &mut Vec<(u32, f64)>) {
        let mut ids = Vec::with_capacity(self.max_degree());
        self.neighbours(vertex, &mut ids);
        out.extend(ids.into_iter().map(|u| (u, self.edge_length(vertex, u))));
    }
    /// Calls `visit` for every vertex of `range`, in increasing order, with the vertex, its
    /// neighbours as [`Self::neighbours`] lists them, and, where the domain knows which of them
    /// are neighbours of each other, their [`Slots`]. The default calls [`Self::neighbours`]
    /// per vertex and gives no slots; a grid walks its coordinates instead of decoding every
    /// vertex id, and gives slots when a vertex has at most 128 neighbours.
    fn for_each_neighbourhood<F: FnMut(u32, &[u32], Option<Slots<'_>>)>(
        &self,
        range: std::ops::Range<u32>,
        mut visit: F,
    ) {
        let mut out = Vec::with_capacity(self.max_degree());
        for v in range {
            out.clear();
            self.neighbours(v, &mut out);
            visit(v, &out, None);
        }
    }
    /// A hint that the entries of `data` at the neighbours of `vertex` will be read soon. The
    /// default does nothing; an implementation may issue prefetches (it must not fault on a
    /// vertex at the boundary).
    fn prefetch_neighbours<T>(&self, vertex: u32, data: &[T]) {
        let _ = (vertex, data);
    }
}

/// Which neighbours of a vertex are adjacent to each other, for
/// [`Neighbourhood::for_each_neighbourhood`]: every neighbour has a slot (below 128), and two
/// neighbours are adjacent exactly when the adjacency mask of one's slot has the other's bit.
#[derive(Debug, Clone, Copy)]
pub struct Slots<'a> {
    /// The slot of each neighbour, in the order of the neighbour list.
    pub slots: &'a [u8],
    /// For each slot, the bit mask of the slots adjacent to it.
    pub adjacency: &'a [u128],
    /// Whether `slots` is `0, 1, 2, ...` up to `adjacency.len()` (an interior vertex of a grid):
    /// then the slot of each neighbour is its place in the list, and users may skip `slots`.
    pub in_order: bool,
}

/// Asks the processor to bring `data[index]` into the cache. Never faults: an index out of range
/// only wastes the hint.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let address = data.as_ptr().wrapping_add(index) as *const i8;
        // SAFETY: prefetch instructions never fault and do not access memory architecturally.
        unsafe { std::arch::x86_64::_mm_prefetch(address, std::arch::x86_64::_MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, index);
}
