//! Property tests of the contour tree and the basins against brute force on random small grids
//! and graphs, with ties, NaN and infinities.
//!
//! The contour tree's oracle is its defining property: a tree whose join and split trees are the
//! field's. For every pair of vertices the level at which they first lie in one connected
//! sublevel set (the least, over all paths between them in the domain, of the highest vertex on
//! the path) must be the highest vertex on their one path in the tree, and the same for
//! superlevel sets with lowest and highest exchanged. Both sides are computed here by brute
//! force, in ranks of the total order, with no union-find and no leaf pruning.

mod common;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use common::{compare, connectivity_strategy, grid_edges, grid_neighbours, value_strategy};
use proptest::prelude::*;
use toposcape_topology::{
    Connectivity, ContourNodeKind, ContourTree, Graph, Grid, NODE_VERTEX, Neighbourhood, basins,
    contour_tree, join_tree,
};

/// Small shapes of 1 to 4 axes (the oracle is quadratic in the vertices).
const MAX_LEN: &[usize] = &[40, 9, 5, 3];

fn field_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Connectivity)> {
    (common::field_strategy(MAX_LEN), connectivity_strategy())
        .prop_map(|((shape, values), connectivity)| (shape, values, connectivity))
}

/// Every vertex's position in the total order.
fn ranks(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| compare(values, a, b));
    let mut rank = vec![0; values.len()];
    for (i, &v) in order.iter().enumerate() {
        rank[v] = i;
    }
    rank
}

/// For every target, the least over paths from `source` of the highest rank on the path
/// (`lowest = false`), or the greatest of the lowest rank (`lowest = true`): Dijkstra's search
/// with the path's extreme in place of its length.
fn bottleneck_levels(
    neighbours: &[Vec<usize>],
    rank: &[usize],
    source: usize,
    lowest: bool,
) -> Vec<usize> {
    // Work in "badness": the rank itself for sublevel sets, its reverse for superlevel ones.
    let n = rank.len();
    let bad = |v: usize| if lowest { n - 1 - rank[v] } else { rank[v] };
    let mut best = vec![usize::MAX; n];
    let mut heap = BinaryHeap::from([Reverse((bad(source), source))]);
    while let Some(Reverse((level, v))) = heap.pop() {
        if best[v] != usize::MAX {
            continue;
        }
        best[v] = level;
        for &u in &neighbours[v] {
            if best[u] == usize::MAX {
                heap.push(Reverse((level.max(bad(u)), u)));
            }
        }
    }
    best
}

/// The augmented tree as neighbour lists: each arc's inside vertices chained in the order
/// between its two nodes.
fn augmented_neighbours(tree: &ContourTree, rank: &[usize]) -> Vec<Vec<usize>> {
    let n = tree.vertex_count();
    let mut inside: Vec<Vec<usize>> = vec![Vec::new(); tree.arcs().len()];
    for (v, &arc) in tree.segmentation().iter().enumerate() {
        if arc != NODE_VERTEX {
            inside[arc as usize].push(v);
        }
    }
    let mut neighbours = vec![Vec::new(); n];
    for (arc, vertices) in tree.arcs().iter().zip(&mut inside) {
        vertices.sort_by_key(|&v| rank[v]);
        let mut chain = vec![tree.nodes()[arc.down as usize].vertex as usize];
        chain.extend(vertices.iter());
        chain.push(tree.nodes()[arc.up as usize].vertex as usize);
        for pair in chain.windows(2) {
            neighbours[pair[0]].push(pair[1]);
            neighbours[pair[1]].push(pair[0]);
        }
    }
    neighbours
}

/// Checks the tree's structure, and returns whether it passes the brute-force oracle.
fn check(tree: &ContourTree, values: &[f64], neighbours: &[Vec<usize>]) -> bool {
    let n = values.len();
    let rank = ranks(values);
    let nodes = tree.nodes();
    // Nodes in the order; arcs from a lower node to a higher one; degrees add up.
    assert!(
        nodes
            .windows(2)
            .all(|w| rank[w[0].vertex as usize] < rank[w[1].vertex as usize])
    );
    let mut degree = vec![(0u32, 0u32); nodes.len()];
    for arc in tree.arcs() {
        let (down, up) = (&nodes[arc.down as usize], &nodes[arc.up as usize]);
        assert!(rank[down.vertex as usize] < rank[up.vertex as usize]);
        degree[arc.down as usize].1 += 1;
        degree[arc.up as usize].0 += 1;
    }
    for (node, &(down, up)) in nodes.iter().zip(&degree) {
        assert_eq!((node.down_degree, node.up_degree), (down, up));
        assert!(
            !(down == 1 && up == 1),
            "a regular vertex is a node: {node:?}"
        );
        assert_eq!(node.value.to_bits(), values[node.vertex as usize].to_bits());
    }
    let inside: u64 = tree.arcs().iter().map(|a| a.size).sum();
    assert_eq!(inside as usize + nodes.len(), n);

    // A tree (a forest on a disconnected domain): as many arcs as vertices less components.
    let tree_neighbours = augmented_neighbours(tree, &rank);
    let edges: usize = tree_neighbours.iter().map(Vec::len).sum::<usize>() / 2;
    let components = (0..n)
        .filter(|&v| {
            let reach = bottleneck_levels(neighbours, &rank, v, false);
            (0..v).all(|u| reach[u] == usize::MAX)
        })
        .count();
    assert_eq!(edges, n - components);

    (0..n).all(|s| {
        [false, true].into_iter().all(|lowest| {
            bottleneck_levels(neighbours, &rank, s, lowest)
                == bottleneck_levels(&tree_neighbours, &rank, s, lowest)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn grid_contour_trees_match_the_oracle((shape, values, connectivity) in field_strategy()) {
        let grid = Grid::new(&shape, connectivity).unwrap();
        let tree = contour_tree(&values, &grid).unwrap();
        let passes = check(&tree, &values, &grid_neighbours(&shape, connectivity));
        // The flag is measured: it says exactly whether the tree has the field's join and
        // split trees.
        prop_assert_eq!(tree.is_consistent(), passes);
        // On a simplicial complex (any Freudenthal grid, and every grid of one axis) there is
        // always such a tree, and this is it.
        if connectivity == Connectivity::Freudenthal || shape.len() == 1 {
            prop_assert!(passes, "no contour tree on a simplicial grid");
        }
    }

    #[test]
    fn graph_contour_trees_are_checked(
        n in 1usize..30,
        raw_edges in prop::collection::vec((0u32..30, 0u32..30), 0..60),
        seed_values in prop::collection::vec(value_strategy(), 30),
    ) {
        let edges: Vec<(u32, u32)> = raw_edges
            .into_iter()
            .filter(|&(a, b)| (a as usize) < n && (b as usize) < n)
            .collect();
        let graph = Graph::from_edges(n, &edges).unwrap();
        let values = &seed_values[..n];
        let mut neighbours = vec![Vec::new(); n];
        for &(a, b) in &edges {
            if a != b {
                neighbours[a as usize].push(b as usize);
                neighbours[b as usize].push(a as usize);
            }
        }
        let tree = contour_tree(values, &graph).unwrap();
        let passes = check(&tree, values, &neighbours);
        prop_assert_eq!(tree.is_consistent(), passes);
        // A forest's join and split trees always come from the forest itself.
        if is_forest(n, &edges) {
            prop_assert!(passes);
        }
    }

    #[test]
    fn basins_follow_the_steepest_descent((shape, values, connectivity) in field_strategy()) {
        let grid = Grid::new(&shape, connectivity).unwrap();
        let b = basins(&values, &grid).unwrap();
        let rank = ranks(&values);
        let neighbours = grid_neighbours(&shape, connectivity);
        // The minima are the join tree's leaves, the vertices with no neighbour below.
        let tree = join_tree(&values, &grid).unwrap();
        let mut leaves: Vec<u32> = tree.nodes().iter().filter(|n| n.is_leaf()).map(|n| n.vertex).collect();
        leaves.sort_unstable();
        let mut minima = b.minima().to_vec();
        minima.sort_unstable();
        prop_assert_eq!(&minima, &leaves);
        let coords = |v: usize| grid.coordinates(v as u32);
        for v in 0..values.len() {
            let below: Vec<usize> = neighbours[v].iter().copied().filter(|&u| rank[u] < rank[v]).collect();
            let label = b.labels()[v] as usize;
            if below.is_empty() {
                prop_assert_eq!(b.minima()[label] as usize, v);
                continue;
            }
            // The steepest neighbour, by a slope computed here from coordinates.
            let slope = |u: usize| {
                let length = (coords(v).iter().zip(coords(u)).filter(|(a, b)| *a != b).count() as f64).sqrt();
                let (fv, fu) = (values[v], values[u]);
                if fv.is_finite() && fu.is_finite() {
                    (fv - fu) / length
                } else if class(fu) < class(fv) {
                    f64::INFINITY
                } else {
                    0.0
                }
            };
            let steepest = below
                .iter()
                .copied()
                .max_by(|&a, &c| slope(a).total_cmp(&slope(c)).then(rank[c].cmp(&rank[a])))
                .unwrap();
            prop_assert_eq!(label, b.labels()[steepest] as usize, "vertex {}", v);
        }
        let total: u64 = b.sizes().iter().sum();
        prop_assert_eq!(total as usize, values.len());
        for (basin, &size) in b.sizes().iter().enumerate() {
            let count = b.labels().iter().filter(|&&l| l as usize == basin).count();
            prop_assert_eq!(size as usize, count);
        }
    }
}

/// Below, among or above the finite values: -inf, finite, +inf, NaN.
fn class(x: f64) -> u8 {
    if x.is_nan() {
        3
    } else if x == f64::INFINITY {
        2
    } else if x == f64::NEG_INFINITY {
        0
    } else {
        1
    }
}

fn is_forest(n: usize, edges: &[(u32, u32)]) -> bool {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            x = parent[x];
        }
        x
    }
    let mut seen = std::collections::BTreeSet::new();
    for &(a, b) in edges {
        let (a, b) = (a.min(b) as usize, a.max(b) as usize);
        if a == b || !seen.insert((a, b)) {
            continue;
        }
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra == rb {
            return false;
        }
        parent[ra] = rb;
    }
    true
}

#[test]
fn axis_grids_can_have_no_contour_tree_and_say_so() {
    // On the 2x3 axis grid
    //     0 1 4
    //     3 5 2
    // the 4 is a local maximum that joins two basins (of 0 and of 2) and the 2 a local minimum
    // where two superlevel components (of 5 and of 4) split: along axis edges the sublevel and
    // superlevel sets do not fit together, and no tree has this join tree and split tree.
    let values = [0.0f64, 1.0, 4.0, 3.0, 5.0, 2.0];
    let grid = Grid::new(&[2, 3], Connectivity::Axis).unwrap();
    let tree = contour_tree(&values, &grid).unwrap();
    assert!(!tree.is_consistent());
    assert!(!check(
        &tree,
        &values,
        &grid_neighbours(&[2, 3], Connectivity::Axis)
    ));
    // Triangulated, the same field has its contour tree.
    let grid = Grid::new(&[2, 3], Connectivity::Freudenthal).unwrap();
    let tree = contour_tree(&values, &grid).unwrap();
    assert!(tree.is_consistent());
    assert!(check(
        &tree,
        &values,
        &grid_neighbours(&[2, 3], Connectivity::Freudenthal)
    ));
}

#[test]
fn larger_freudenthal_grids_are_consistent() {
    // 12^3 random values: the consistency check itself (two sweeps over the tree) on a field
    // with thousands of critical points.
    let shape = [12, 12, 12];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let values: Vec<f32> = (0..1728)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32
        })
        .collect();
    let grid = Grid::new(&shape, Connectivity::Freudenthal).unwrap();
    let tree = contour_tree(&values, &grid).unwrap();
    assert!(tree.is_consistent());
    assert_eq!(tree.arcs().len(), tree.nodes().len() - 1);
    let minima = tree
        .nodes()
        .iter()
        .filter(|n| n.kind() == ContourNodeKind::Minimum)
        .count();
    let leaves = join_tree(&values, &grid).unwrap().leaf_count();
    assert_eq!(minima, leaves);
    assert!(minima > 50, "{minima}");
    // The grid as an explicit graph gives the same tree.
    let graph = Graph::from_edges(
        grid.vertex_count(),
        &grid_edges(&shape, Connectivity::Freudenthal),
    )
    .unwrap();
    let same = contour_tree(&values, &graph).unwrap();
    assert_eq!(same.nodes(), tree.nodes());
    assert_eq!(same.arcs(), tree.arcs());
    assert_eq!(same.segmentation(), tree.segmentation());
}
