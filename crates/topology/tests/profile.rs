//! Profile geometry: invariants on random fields, and a hand-worked field whose polygons are
//! written out exactly.

use proptest::prelude::*;
use toposcape_topology::{
    Connectivity, Grid, NodeKind, ProfileOptions, Threshold, join_tree, landscape_profile,
};

const SHOW_ALL: ProfileOptions = ProfileOptions {
    min_size_fraction: 0.0,
    max_points_per_side: usize::MAX,
};

#[test]
fn hand_worked_profile_in_one_dimension() {
    // Vertex:  0  1  2  3  4  5    6  7    8
    // Value:   3  0  4  1  2  1.5  6  0.5  7
    // Nodes in creation order: n0 leaf v1 (0), n1 leaf v7 (0.5), n2 leaf v3 (1), n3 leaf v5
    // (1.5), n4 saddle v4 (2), n5 saddle v2 (4), n6 saddle v6 (6), n7 root v8 (7). Segments:
    // n0 = {v1, v0}, every other node its own vertex. Subtree sizes: n0 2, n1..n3 1, n4 3,
    // n5 6, n6 8, n7 9.
    let values = [3.0f64, 0.0, 4.0, 1.0, 2.0, 1.5, 6.0, 0.5, 7.0];
    let grid = Grid::new(&[9], Connectivity::Axis).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    let profile = landscape_profile(&tree, &values, SHOW_ALL).unwrap();
    assert_eq!(profile.vertex_count, 9);
    assert_eq!(profile.hidden_basins, 0);
    let by_vertex = |v: u32| {
        profile
            .basins
            .iter()
            .find(|b| tree.node(b.node).vertex == v)
            .unwrap()
    };
    // Layout: root [0, 9]; n6 (8) centred in it (drawn with the root, see below); under n6, n5 (6) then n1 (1),
    // a block of 7 from 1.0: [1, 7] and [7, 8]; under n5, n4 (3) then n0 (2), a block of 5
    // from 1.5: [1.5, 4.5] and [4.5, 6.5]; under n4, n2 then n3 (equal sizes, by id), a block
    // of 2 from 2: [2, 3] and [3, 4].
    let expected: [(u32, [f64; 2], Vec<[f64; 2]>); 7] = [
        // Leaf v3 (1) under the saddle at 2: width 1 from 1 to 2.
        (
            3,
            [2.0, 3.0],
            vec![[2.0, 1.0], [2.0, 2.0], [3.0, 2.0], [3.0, 1.0]],
        ),
        (
            5,
            [3.0, 4.0],
            vec![[3.0, 1.5], [3.0, 2.0], [4.0, 2.0], [4.0, 1.5]],
        ),
        // Saddle v4 (2): a floor of 3 (two children and itself), up to its parent at 4.
        (
            4,
            [1.5, 4.5],
            vec![[1.5, 2.0], [1.5, 4.0], [4.5, 4.0], [4.5, 2.0]],
        ),
        // Leaf v1 (0) with v0 (3) on its arc: width 1 at 0, 2 at 3, up to its parent at 4.
        (
            1,
            [4.5, 6.5],
            vec![
                [5.0, 0.0],
                [4.5, 3.0],
                [4.5, 4.0],
                [6.5, 4.0],
                [6.5, 3.0],
                [6.0, 0.0],
            ],
        ),
        (
            7,
            [7.0, 8.0],
            vec![[7.0, 0.5], [7.0, 6.0], [8.0, 6.0], [8.0, 0.5]],
        ),
        (
            2,
            [1.0, 7.0],
            vec![[1.0, 4.0], [1.0, 6.0], [7.0, 6.0], [7.0, 4.0]],
        ),
        // The root has one child, so it continues the basin of the saddle v6 (6): one polygon
        // from 6 up to 7, 8 wide below 7 and all 9 vertices at 7.
        (
            6,
            [0.0, 9.0],
            vec![
                [0.5, 6.0],
                [0.5, 7.0],
                [0.0, 7.0],
                [9.0, 7.0],
                [8.5, 7.0],
                [8.5, 6.0],
            ],
        ),
    ];
    for (vertex, x, polygon) in expected {
        let basin = by_vertex(vertex);
        assert_eq!(basin.x, x, "vertex {vertex}");
        assert_eq!(basin.polygon, polygon, "vertex {vertex}");
    }
    let leaf = by_vertex(1);
    assert_eq!((leaf.bottom, leaf.top, leaf.mean_value), (0.0, 4.0, 1.5));
    assert_eq!(profile.basins.len(), 7);
    let top = by_vertex(6);
    assert_eq!(tree.node(top.top_node).kind, NodeKind::Root);
    assert_eq!(
        (top.size, top.bottom, top.top, top.parent),
        (9, 6.0, 7.0, None)
    );

    // Hiding: basins of fewer than 2 of the 9 vertices go (v7's, v3's, v5's). v4's saddle is
    // then drawn alone, and v6's saddle, left with one drawn child (v2's), continues it up to
    // the root: three basins.
    let options = ProfileOptions {
        min_size_fraction: 2.0 / 9.0,
        ..SHOW_ALL
    };
    let profile = landscape_profile(&tree, &values, options).unwrap();
    assert_eq!(profile.hidden_basins, 3);
    let drawn: Vec<(u32, u32, u64)> = profile
        .basins
        .iter()
        .map(|b| {
            (
                tree.node(b.node).vertex,
                tree.node(b.top_node).vertex,
                b.size,
            )
        })
        .collect();
    assert_eq!(drawn, vec![(1, 1, 2), (4, 4, 3), (2, 8, 9)]);
    // Hidden children leave their room empty: v2's two drawn children (3 and 2 wide) are
    // centred in its 6-wide interval, itself centred in the root's 9 (v6 adds only hidden v7).
    let chain = profile.basins.iter().find(|b| b.size == 9).unwrap();
    assert_eq!(chain.x, [0.0, 9.0]);
    let saddle = profile.basins.iter().find(|b| b.size == 3).unwrap();
    assert_eq!(saddle.x, [2.0, 5.0]);
}

#[test]
fn polygons_keep_exact_corners_when_thinned() {
    let values: Vec<f32> = (0..1000).map(|i| (i as f32 - 400.0).abs()).collect();
    let grid = Grid::new(&[1000], Connectivity::Freudenthal).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    let options = ProfileOptions {
        min_size_fraction: 0.0,
        max_points_per_side: 11,
    };
    let profile = landscape_profile(&tree, &values, options).unwrap();
    let basin = profile
        .basins
        .iter()
        .find(|b| b.kind == NodeKind::Leaf)
        .unwrap();
    // One basin of 999 vertices (vertex 400 up to 998) continued by the root (vertex 999,
    // value 599): a width curve of 999 + 2 corners (the step up to 599 at width 999, then all
    // 1000 vertices at 599), thinned to 11 exact ones per side, centred at 500.
    assert_eq!(basin.polygon.len(), 22);
    assert_eq!(basin.polygon[0], [500.0 - 0.5, 0.0]);
    // Corner 5 is curve point 500: the 501st smallest value (0, 1, 1, 2, 2, ...) is 250.
    assert_eq!(basin.polygon[5], [500.0 - 501.0 / 2.0, 250.0]);
    assert_eq!(basin.polygon[10], [0.0, 599.0]);
    assert_eq!(basin.polygon[11], [1000.0, 599.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn profile_invariants_on_random_fields(
        shape in prop::collection::vec(1usize..9, 1..4),
        seed in any::<u64>(),
        simplify in prop::option::of(0.0f64..3.0),
        connectivity in prop::sample::select(Connectivity::ALL.to_vec()),
    ) {
        let n: usize = shape.iter().product();
        let mut state = seed | 1;
        let values: Vec<f32> = (0..n).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 7) as f32
        }).collect();
        let grid = Grid::new(&shape, connectivity).unwrap();
        let mut tree = join_tree(&values, &grid).unwrap();
        if let Some(t) = simplify {
            tree = tree.simplify(Threshold::Absolute(t)).unwrap();
        }
        let profile = landscape_profile(&tree, &values, SHOW_ALL).unwrap();
        let basin_of = |node: u32| profile.basins.iter().find(|b| b.node == node).unwrap();
        let root_node = tree.roots().next().unwrap();
        let root = profile.basins.iter().find(|b| b.top_node == root_node).unwrap();
        // Every node is drawn in exactly one chain: the chains' node counts add up.
        let mut chained = 0;
        for b in &profile.basins {
            let mut k = b.node;
            chained += 1;
            while k != b.top_node {
                k = tree.node(k).parent.unwrap();
                chained += 1;
            }
        }
        prop_assert_eq!(chained, tree.nodes().len());
        prop_assert_eq!(root.size, n as u64);
        prop_assert_eq!(root.x, [0.0, n as f64]);
        for basin in &profile.basins {
            prop_assert_eq!(basin.x[1] - basin.x[0], basin.size as f64);
            if let Some(p) = basin.parent {
                let parent = basin_of(p);
                prop_assert!(basin.x[0] >= parent.x[0] && basin.x[1] <= parent.x[1]);
                prop_assert!(basin.top >= basin.bottom);
            }
            // Up the left side: levels never fall and the width never shrinks.
            let half = basin.polygon.len() / 2;
            let centre = (basin.x[0] + basin.x[1]) / 2.0;
            for w in basin.polygon[..half].windows(2) {
                prop_assert!(w[1][1] >= w[0][1]);
                prop_assert!(centre - w[1][0] >= centre - w[0][0]);
            }
            // The polygon is symmetric about the centre and fits in the interval.
            for (l, r) in basin.polygon[..half].iter().zip(basin.polygon[half..].iter().rev()) {
                prop_assert_eq!(l[1], r[1]);
                prop_assert!((centre - l[0] - (r[0] - centre)).abs() < 1e-9);
                prop_assert!(l[0] >= basin.x[0] - 1e-9 && r[0] <= basin.x[1] + 1e-9);
            }
            // At its top the basin is as wide as its size.
            let top = basin.polygon[half - 1];
            prop_assert_eq!(centre - top[0], basin.size as f64 / 2.0);
        }
        // Sibling intervals do not overlap.
        for a in &profile.basins {
            for b in &profile.basins {
                if a.node < b.node && a.parent.is_some() && a.parent == b.parent {
                    prop_assert!(a.x[1] <= b.x[0] || b.x[1] <= a.x[0]);
                }
            }
        }
    }
}
