//! Scalar summaries of a merge tree, as used in the loss-landscape topology papers.
//!
//! Sources: Xie et al., "Evaluating Loss Landscapes from a Topology Perspective" (arXiv
//! 2411.09807) define the counts, the average persistence and the saddle-minimum average distance
//! (SMAD); Geniesse et al., "Visualizing Loss Functions as Topological Landscape Profiles" (arXiv
//! 2411.12136) use them beside the profiles. The normalised and weighted SMAD and the persistence
//! totals are toposcape's, defined below.

use crate::tree::MergeTree;
use crate::value::level_gap;

/// How many of the largest basins [`Metrics::largest_basins`] lists.
pub const LARGEST_BASINS: usize = 10;

/// Scalar summaries of a join tree. `None` where the quantity is undefined (no finite pair, no
/// saddle-minimum arc, no finite value).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// The number of local minima: the leaves of the tree (Xie et al.).
    pub minima: usize,
    /// The number of nodes where two or more basins merge (Xie et al.).
    pub saddles: usize,
    /// The mean of `death - birth` over the pairs that die at a finite level (Xie et al.).
    pub average_persistence: Option<f64>,
    /// The sum of `death - birth` over the same pairs.
    pub total_persistence: f64,
    /// The largest `death - birth` among them.
    pub max_persistence: Option<f64>,
    /// Saddle-minimum average distance: the mean of `f(saddle) - f(minimum)` over the arcs that
    /// join a minimum to a saddle directly (Xie et al.), finite gaps only.
    pub smad: Option<f64>,
    /// The same mean with each gap divided by the finite loss range `loss_max - loss_min`.
    pub smad_normalized: Option<f64>,
    /// The mean of the same gaps weighted by each minimum's basin share `size / N` (the number
    /// of vertices in the minimum's segment over all vertices): `sum(w gap) / sum(w)`.
    pub smad_weighted: Option<f64>,
    /// The smallest finite value.
    pub loss_min: Option<f64>,
    /// The largest finite value.
    pub loss_max: Option<f64>,
    /// How many values are NaN or infinite.
    pub nonfinite: usize,
    /// The sizes of the largest basins, largest first (at most [`LARGEST_BASINS`]): for every
    /// minimum that dies, the number of vertices in its basin when it merges into an older one
    /// (its branch's subtree just below the merging saddle). The global minimum, whose basin is
    /// the whole domain, is not listed.
    pub largest_basins: Vec<u64>,
}

impl Metrics {
    /// The metrics of a tree.
    pub fn of(tree: &MergeTree) -> Self {
        let finite: Vec<f64> = tree
            .pairs()
            .iter()
            .filter(|p| p.death.is_some() && p.persistence.is_finite())
            .map(|p| p.persistence)
            .collect();
        let total_persistence = finite.iter().fold(0.0, |sum, p| sum + p);
        let range = tree.finite_range();
        let n = tree.vertex_count() as f64;
        let nodes = tree.nodes();
        // (gap, weight) of every arc from a minimum straight up to a saddle.
        let gaps: Vec<(f64, f64)> = nodes
            .iter()
            .filter(|node| node.is_leaf())
            .filter_map(|leaf| {
                let parent = &nodes[leaf.parent? as usize];
                let gap = level_gap(leaf.value, parent.value);
                (parent.is_saddle() && gap.is_finite())
                    .then_some((gap, leaf.segment_size as f64 / n))
            })
            .collect();
        let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
        let plain: Vec<f64> = gaps.iter().map(|g| g.0).collect();
        let smad = mean(&plain);
        let smad_normalized = range
            .map(|(low, high)| high - low)
            .filter(|&r| r > 0.0)
            .and_then(|r| smad.map(|s| s / r));
        let weight: f64 = gaps.iter().map(|g| g.1).sum();
        let smad_weighted =
            (weight > 0.0).then(|| gaps.iter().map(|(g, w)| g * w).sum::<f64>() / weight);
        let subtree = tree.subtree_sizes();
        let mut sizes: Vec<u64> = nodes
            .iter()
            .zip(&subtree)
            .filter(|(node, _)| {
                node.parent
                    .is_some_and(|p| nodes[p as usize].branch != node.branch)
            })
            .map(|(_, &size)| size)
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.truncate(LARGEST_BASINS);
        Metrics {
            minima: tree.leaf_count(),
            saddles: tree.saddle_count(),
            average_persistence: mean(&finite),
            total_persistence,
            max_persistence: finite.iter().copied().reduce(f64::max),
            smad,
            smad_normalized,
            smad_weighted,
            loss_min: range.map(|r| r.0),
            loss_max: range.map(|r| r.1),
            nonfinite: tree.nonfinite_count(),
            largest_basins: sizes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connectivity, Grid, Threshold, join_tree};

    #[test]
    fn metrics_of_a_hand_worked_tree() {
        // Vertex:  0  1  2  3  4  5    6  7    8
        // Value:   3  0  4  1  2  1.5  6  0.5  7
        // Minima v1 (0), v7 (0.5), v3 (1), v5 (1.5); saddles v4 (2), v2 (4), v6 (6); root v8.
        // Pairs: v3 dies at 4 (3), v5 at 2 (0.5), v7 at 6 (5.5); v1 never dies.
        // Minimum-to-saddle arcs: v1 -> v2 (gap 4, segment {v1, v0}: 2 of 9 vertices),
        // v7 -> v6 (5.5), v3 -> v4 (1), v5 -> v4 (0.5), one vertex each.
        let values = [3.0f64, 0.0, 4.0, 1.0, 2.0, 1.5, 6.0, 0.5, 7.0];
        let grid = Grid::new(&[9], Connectivity::Axis).unwrap();
        let tree = join_tree(&values, &grid).unwrap();
        let m = Metrics::of(&tree);
        assert_eq!((m.minima, m.saddles, m.nonfinite), (4, 3, 0));
        assert_eq!(m.average_persistence, Some(3.0));
        assert_eq!(m.total_persistence, 9.0);
        assert_eq!(m.max_persistence, Some(5.5));
        assert_eq!(m.smad, Some(2.75));
        assert_eq!(m.smad_normalized, Some(2.75 / 7.0));
        // (2/9 * 4 + 1/9 * (5.5 + 1 + 0.5)) / (5/9) = 15 / 5.
        assert!((m.smad_weighted.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!((m.loss_min, m.loss_max), (Some(0.0), Some(7.0)));
        // Dying basins: v3's (with v5's and v4: 3 vertices) at v2, v5's and v7's (1 each).
        assert_eq!(m.largest_basins, vec![3, 1, 1]);

        // After removing the pairs below 1 (v5's), v3 hangs from v2 directly: its gap is 3.
        let simple = Metrics::of(&tree.simplify(Threshold::Absolute(1.0)).unwrap());
        assert_eq!((simple.minima, simple.saddles), (3, 2));
        assert_eq!(simple.average_persistence, Some(4.25));
        assert_eq!(simple.smad, Some((4.0 + 5.5 + 3.0) / 3.0));
    }

    #[test]
    fn a_single_basin_has_no_finite_pairs() {
        let values = [2.0f32, 1.0, 0.0, 1.0, 2.0];
        let grid = Grid::new(&[5], Connectivity::Freudenthal).unwrap();
        let m = Metrics::of(&join_tree(&values, &grid).unwrap());
        assert_eq!((m.minima, m.saddles), (1, 0));
        assert_eq!(m.average_persistence, None);
        assert_eq!(m.total_persistence.to_bits(), 0.0f64.to_bits());
        assert!(m.largest_basins.is_empty());
        assert_eq!(
            (m.smad, m.smad_normalized, m.smad_weighted),
            (None, None, None)
        );
    }
}
