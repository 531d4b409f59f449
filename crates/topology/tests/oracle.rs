//! Property tests: the merge tree, its pairs and its segmentation agree with a brute-force oracle
//! on random small grids and graphs, with ties, NaN and infinities.

mod common;

use std::collections::BTreeSet;

use common::{
    compare, connectivity_strategy, field_strategy, grid_edges, grid_neighbours, observed, oracle,
    value_strategy,
};
use proptest::prelude::*;
use std::num::NonZeroUsize;

use toposcape_topology::{
    Connectivity, FieldValue, Graph, Grid, MergeTree, Neighbourhood, NodeKind, Parallelism,
    Threshold, TreeKind, join_tree, split_tree,
};

/// Small shapes of 1 to 5 axes, at most 256 vertices.
const MAX_LEN: &[usize] = &[60, 12, 6, 4, 3];

fn oracle_order(values: &[f64], kind: TreeKind) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| compare(values, a, b));
    if kind == TreeKind::Split {
        order.reverse();
    }
    order
}

/// The tree on `threads` threads of the parallel algorithm, or with the default (which takes
/// the sequential sweep on fields this small) for 0.
fn tree_on<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
    kind: TreeKind,
    threads: usize,
) -> MergeTree {
    let parallelism = NonZeroUsize::new(threads).map_or(Parallelism::Auto, Parallelism::Threads);
    MergeTree::compute_with(values, domain, kind, parallelism, &mut |_| {}).unwrap()
}

fn check_tree_consistency(tree: &MergeTree) {
    let nodes = tree.nodes();
    let total: u64 = nodes.iter().map(|n| n.segment_size).sum();
    assert_eq!(total, tree.vertex_count() as u64);
    for (id, node) in nodes.iter().enumerate() {
        let children = nodes.iter().filter(|c| c.parent == Some(id as u32)).count();
        assert_eq!(children, node.child_count as usize);
        if let Some(p) = node.parent {
            assert!(p as usize > id, "parents come after children");
        }
        assert_eq!(tree.segmentation()[node.vertex as usize], id as u32);
        match node.kind {
            NodeKind::Leaf => assert_eq!(node.child_count, 0),
            NodeKind::Saddle => assert!(node.child_count >= 2),
            NodeKind::Root => assert!(node.parent.is_none()),
        }
    }
    assert_eq!(tree.pairs().len(), tree.leaf_count());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn grid_trees_match_the_oracle(
        (shape, values) in field_strategy(MAX_LEN),
        connectivity in connectivity_strategy(),
        split in any::<bool>(),
        single in any::<bool>(),
        threads in 0usize..4,
    ) {
        let kind = if split { TreeKind::Split } else { TreeKind::Join };
        let grid = Grid::new(&shape, connectivity).unwrap();
        let tree = if single {
            let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            // Rounding to f32 can create new ties: the oracle must see the same values.
            let widened: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
            let tree = tree_on(&values, &grid, kind, threads);
            let expected = oracle(&grid_neighbours(&shape, connectivity), &oracle_order(&widened, kind));
            prop_assert_eq!(observed(&tree), expected);
            tree
        } else {
            let tree = tree_on(&values, &grid, kind, threads);
            let expected = oracle(&grid_neighbours(&shape, connectivity), &oracle_order(&values, kind));
            prop_assert_eq!(observed(&tree), expected);
            tree
        };
        check_tree_consistency(&tree);
        prop_assert_eq!(tree.roots().count(), 1);
        let nonfinite = values.iter().filter(|v| !v.is_finite()).count();
        prop_assert_eq!(tree.nonfinite_count(), nonfinite);
    }

    #[test]
    fn graph_trees_match_the_oracle(
        values in prop::collection::vec(value_strategy(), 1..40),
        edge_seeds in prop::collection::vec((any::<u32>(), any::<u32>()), 0..60),
        split in any::<bool>(),
        threads in 0usize..4,
    ) {
        let n = values.len() as u32;
        let edges: Vec<(u32, u32)> = edge_seeds.iter().map(|&(a, b)| (a % n, b % n)).collect();
        let graph = Graph::from_edges(n as usize, &edges).unwrap();
        let mut neighbours = vec![BTreeSet::new(); n as usize];
        for &(a, b) in &edges {
            if a != b {
                neighbours[a as usize].insert(b as usize);
                neighbours[b as usize].insert(a as usize);
            }
        }
        let neighbours: Vec<Vec<usize>> = neighbours.into_iter().map(|s| s.into_iter().collect()).collect();
        let kind = if split { TreeKind::Split } else { TreeKind::Join };
        let tree = tree_on(&values, &graph, kind, threads);
        prop_assert_eq!(observed(&tree), oracle(&neighbours, &oracle_order(&values, kind)));
        check_tree_consistency(&tree);
    }

    #[test]
    fn simplification_keeps_exactly_the_persistent_pairs(
        (shape, values) in field_strategy(MAX_LEN),
        connectivity in connectivity_strategy(),
        threshold in 0.0f64..8.0,
        second in 0.0f64..8.0,
    ) {
        let grid = Grid::new(&shape, connectivity).unwrap();
        let tree = join_tree(&values, &grid).unwrap();
        let simple = tree.simplify(Threshold::Absolute(threshold)).unwrap();
        check_tree_consistency(&simple);

        // The pairs that remain are the original pairs at or above the threshold.
        let key = |p: &toposcape_topology::PersistencePair| (p.birth_vertex, p.death_vertex);
        let expected: BTreeSet<_> = tree.pairs().iter().filter(|p| p.persistence >= threshold).map(key).collect();
        let got: BTreeSet<_> = simple.pairs().iter().map(key).collect();
        prop_assert_eq!(got, expected);

        // Each original segment lies within one simplified segment, and kept nodes keep theirs.
        for (v, &s) in tree.segmentation().iter().enumerate() {
            let node = tree.node(s);
            let merged = simple.segmentation()[node.vertex as usize];
            prop_assert_eq!(simple.segmentation()[v], merged);
        }

        // Simplifying twice is simplifying once by the larger threshold.
        let (low, high) = if threshold <= second { (threshold, second) } else { (second, threshold) };
        let once = tree.simplify(Threshold::Absolute(high)).unwrap();
        let twice = tree.simplify(Threshold::Absolute(low)).unwrap().simplify(Threshold::Absolute(high)).unwrap();
        prop_assert_eq!(observed(&once), observed(&twice));
    }
}

#[test]
fn split_tree_is_the_join_tree_of_the_negated_field_without_ties() {
    let values: Vec<f64> = (0..7 * 6).map(|i| ((i * 37 % 41) as f64).sin()).collect();
    let negated: Vec<f64> = values.iter().map(|v| -v).collect();
    let grid = Grid::new(&[7, 6], Connectivity::Freudenthal).unwrap();
    let split = split_tree(&values, &grid).unwrap();
    let join = join_tree(&negated, &grid).unwrap();
    let maxima: BTreeSet<u32> = split.pairs().iter().map(|p| p.birth_vertex).collect();
    let minima: BTreeSet<u32> = join.pairs().iter().map(|p| p.birth_vertex).collect();
    assert_eq!(maxima, minima);
    let persistence = |t: &MergeTree| {
        let mut p: Vec<f64> = t.pairs().iter().map(|p| p.persistence).collect();
        p.sort_by(f64::total_cmp);
        p
    };
    assert_eq!(persistence(&split), persistence(&join));
}

#[test]
fn larger_grids_agree_with_their_explicit_graphs() {
    // Too large for the brute-force oracle, so the implicit grid neighbourhood (with its
    // boundary masks and prefetching) is checked against the same sweep on an explicit graph
    // built independently from coordinates. Values are quantised for ties, with some NaN.
    let mut state = 0x853c_49e6_748f_ea9bu64;
    for shape in [
        vec![3000],
        vec![60, 45],
        vec![17, 13, 19],
        vec![9, 8, 7, 10],
        vec![4, 5, 3, 4, 5],
    ] {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if state.is_multiple_of(97) {
                    f32::NAN
                } else {
                    ((i as f32 * 0.01).sin() * 20.0 + (state % 8) as f32).round()
                }
            })
            .collect();
        for connectivity in Connectivity::ALL {
            let grid = Grid::new(&shape, connectivity).unwrap();
            let graph = Graph::from_edges(n, &grid_edges(&shape, connectivity)).unwrap();
            for kind in [TreeKind::Join, TreeKind::Split] {
                let implicit = MergeTree::compute(&values, &grid, kind).unwrap();
                let explicit = MergeTree::compute(&values, &graph, kind).unwrap();
                assert_eq!(
                    observed(&implicit),
                    observed(&explicit),
                    "{shape:?} {connectivity}"
                );
                assert!(
                    implicit.leaf_count() > 1,
                    "{shape:?}: a field with structure"
                );
            }
        }
    }
}
