//! Scalar summaries of a merge tree, as used in the loss-landscape topology papers.
//!
//! Sources: Xie et al., "Evaluating Loss Landscapes from a Topology Perspective" (arXiv
//! 2411.09807) define the counts, the average persistence and the saddle-minimum average distance
//! (SMAD); Geniesse et al., "Visualizing Loss Functions as Topological Landscape Profiles" (arXiv
//! 2411.12136) use them beside the profiles. `smad`, `smad_normalized` and `smad_weighted` are
//! computed as the authors' package, Landscaper 1.3.1, computes them (`LossLandscape.smad` with
//! `normalize` and `weighted`): on the contour tree, with basin volumes from the Morse-Smale
//! complex's steepest-descent basins. The `merge_tree_smad` family and the persistence totals
//! are toposcape's, on the merge tree alone, defined below.

use crate::basins::Basins;
use crate::contour::ContourTree;
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
    /// Saddle-minimum average distance as Landscaper 1.3.1 computes it: the mean of
    /// `|f(saddle) - f(minimum)|` over the contour-tree arcs that join a local minimum (a vertex
    /// with no neighbour below) to a node with two or more arcs (a "branch": a saddle, or on a
    /// path an interior extremum), finite gaps only. 0 when no node has two arcs (Landscaper's
    /// convention). `None` for a tree alone ([`Metrics::of`]) or without such an arc.
    pub smad: Option<f64>,
    /// The mean of the same gaps each divided by the finite loss range `loss_max - loss_min`
    /// (Landscaper's `smad(normalize=True)`).
    pub smad_normalized: Option<f64>,
    /// `sum(gap * volume) / count` over the same arcs, where `volume` is the number of vertices
    /// in the minimum's steepest-descent basin over all vertices (Landscaper's
    /// `smad(weighted=True)`): a sum over the pairs divided by their count, not a weighted mean.
    pub smad_weighted: Option<f64>,
    /// Whether the contour tree behind the three values above has the field's join and split
    /// trees ([`ContourTree::is_consistent`]); `None` for a tree alone.
    pub contour_tree_consistent: Option<bool>,
    /// toposcape's merge-tree SMAD: the mean of `f(saddle) - f(minimum)` over the merge tree's
    /// arcs from a minimum straight up to a saddle (Xie et al.'s reading on the join tree),
    /// finite gaps only. On a simplified tree it follows the simplification.
    pub merge_tree_smad: Option<f64>,
    /// `merge_tree_smad` divided by the finite loss range `loss_max - loss_min`.
    pub merge_tree_smad_normalized: Option<f64>,
    /// The mean of the same gaps weighted by each minimum's basin share `size / N` (the number
    /// of vertices in the minimum's merge-tree segment over all vertices): `sum(w gap) / sum(w)`.
    pub merge_tree_smad_weighted: Option<f64>,
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
    /// The metrics of a field: its join tree's, and Landscaper's SMADs from its contour tree and
    /// basins (all three of the same field and domain).
    pub fn of_field(tree: &MergeTree, contour: &ContourTree, basins: &Basins) -> Self {
        let mut metrics = Self::of(tree);
        (metrics.smad, metrics.smad_normalized, metrics.smad_weighted) =
            landscaper_smad(contour, basins, tree.finite_range());
        metrics.contour_tree_consistent = Some(contour.is_consistent());
        metrics
    }

    /// The metrics of a tree alone (a simplified one, say): Landscaper's SMADs, which need the
    /// field's contour tree, are `None`.
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
        let merge_tree_smad = mean(&plain);
        let merge_tree_smad_normalized = range
            .map(|(low, high)| high - low)
            .filter(|&r| r > 0.0)
            .and_then(|r| merge_tree_smad.map(|s| s / r));
        let weight: f64 = gaps.iter().map(|g| g.1).sum();
        let merge_tree_smad_weighted =
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
            smad: None,
            smad_normalized: None,
            smad_weighted: None,
            contour_tree_consistent: None,
            merge_tree_smad,
            merge_tree_smad_normalized,
            merge_tree_smad_weighted,
            loss_min: range.map(|r| r.0),
            loss_max: range.map(|r| r.1),
            nonfinite: tree.nonfinite_count(),
            largest_basins: sizes,
        }
    }
}

/// Landscaper 1.3.1's `smad()`, `smad(normalize=True)` and `smad(weighted=True)` (see the
/// fields of [`Metrics`]); `range` is the finite loss range.
fn landscaper_smad(
    contour: &ContourTree,
    basins: &Basins,
    range: Option<(f64, f64)>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let nodes = contour.nodes();
    if nodes.iter().all(|node| node.degree() < 2) {
        return (Some(0.0), Some(0.0), Some(0.0));
    }
    let n = basins.vertex_count() as f64;
    let branch = |id: u32| nodes[id as usize].degree() >= 2;
    let basin = |id: u32| basins.basin_of_minimum(nodes[id as usize].vertex);
    // (gap, the minimum's basin volume) of every arc from a minimum to a branch.
    let pairs: Vec<(f64, f64)> = contour
        .arcs()
        .iter()
        .filter_map(|arc| {
            let minimum = if branch(arc.up) && basin(arc.down).is_some() {
                basin(arc.down)
            } else if branch(arc.down) {
                basin(arc.up)
            } else {
                None
            }?;
            let gap = contour.arc_gap(arc);
            gap.is_finite()
                .then(|| (gap, basins.sizes()[minimum as usize] as f64 / n))
        })
        .collect();
    if pairs.is_empty() {
        return (None, None, None);
    }
    let count = pairs.len() as f64;
    let smad = pairs.iter().map(|p| p.0).sum::<f64>() / count;
    let normalized = range
        .map(|(low, high)| high - low)
        .filter(|&r| r > 0.0)
        .map(|r| pairs.iter().map(|p| p.0 / r).sum::<f64>() / count);
    let weighted = pairs.iter().map(|(gap, volume)| gap * volume).sum::<f64>() / count;
    (Some(smad), normalized, Some(weighted))
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
        assert_eq!(m.merge_tree_smad, Some(2.75));
        assert_eq!(m.merge_tree_smad_normalized, Some(2.75 / 7.0));
        // (2/9 * 4 + 1/9 * (5.5 + 1 + 0.5)) / (5/9) = 15 / 5.
        assert!((m.merge_tree_smad_weighted.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(
            (m.smad, m.smad_normalized, m.smad_weighted),
            (None, None, None)
        );
        assert_eq!((m.loss_min, m.loss_max), (Some(0.0), Some(7.0)));
        // Dying basins: v3's (with v5's and v4: 3 vertices) at v2, v5's and v7's (1 each).
        assert_eq!(m.largest_basins, vec![3, 1, 1]);

        // After removing the pairs below 1 (v5's), v3 hangs from v2 directly: its gap is 3.
        let simple = Metrics::of(&tree.simplify(Threshold::Absolute(1.0)).unwrap());
        assert_eq!((simple.minima, simple.saddles), (3, 2));
        assert_eq!(simple.average_persistence, Some(4.25));
        assert_eq!(simple.merge_tree_smad, Some((4.0 + 5.5 + 3.0) / 3.0));
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
            (
                m.merge_tree_smad,
                m.merge_tree_smad_normalized,
                m.merge_tree_smad_weighted
            ),
            (None, None, None)
        );
    }

    #[test]
    fn landscaper_smad_of_a_hand_worked_path() {
        // The tree above's field. Its contour tree is the path itself (see contour.rs): minima
        // 1, 3, 5, 7 with two arcs up each, maxima between them and at the ends 0 and 8. Every
        // arc from a minimum ends at a node of two arcs except those to the ends:
        //   1-2 (gap 4), 3-2 (3), 3-4 (1), 5-4 (0.5), 5-6 (4.5), 7-6 (5.5).
        let values = [3.0f64, 0.0, 4.0, 1.0, 2.0, 1.5, 6.0, 0.5, 7.0];
        let grid = Grid::new(&[9], Connectivity::Axis).unwrap();
        let tree = join_tree(&values, &grid).unwrap();
        let contour = crate::contour_tree(&values, &grid).unwrap();
        let basins = crate::basins(&values, &grid).unwrap();
        // Steepest-descent basins: 0 and 2 fall to 1 (2 drops 4 to 1, 3 to 3), 4 to 3 (a drop
        // of 1 against 0.5 to 5), 6 and 8 to 7 (6 drops 5.5 to 7, 4.5 to 5); 5 is alone.
        let size = |v: u32| basins.sizes()[basins.basin_of_minimum(v).unwrap() as usize];
        assert_eq!((size(1), size(3), size(5), size(7)), (3, 2, 1, 3));
        let m = Metrics::of_field(&tree, &contour, &basins);
        let gaps = [4.0, 3.0, 1.0, 0.5, 4.5, 5.5];
        assert_eq!(m.smad, Some(gaps.iter().sum::<f64>() / 6.0));
        assert_eq!(
            m.smad_normalized,
            Some(gaps.iter().map(|g| g / 7.0).sum::<f64>() / 6.0)
        );
        let weighted = (4.0 * 3.0 + 3.0 * 2.0 + 1.0 * 2.0 + 0.5 + 4.5 + 5.5 * 3.0) / 9.0 / 6.0;
        assert!((m.smad_weighted.unwrap() - weighted).abs() < 1e-15);
        assert_eq!(m.contour_tree_consistent, Some(true));
        // The merge-tree metrics are those of the tree alone.
        assert_eq!(m.merge_tree_smad, Some(2.75));

        // A monotone field's contour tree is one arc: Landscaper returns 0.
        let ramp = [0.0f32, 1.0, 2.0];
        let line = Grid::new(&[3], Connectivity::Axis).unwrap();
        let m = Metrics::of_field(
            &join_tree(&ramp, &line).unwrap(),
            &crate::contour_tree(&ramp, &line).unwrap(),
            &crate::basins(&ramp, &line).unwrap(),
        );
        assert_eq!(
            (m.smad, m.smad_normalized, m.smad_weighted),
            (Some(0.0), Some(0.0), Some(0.0))
        );
    }
}
