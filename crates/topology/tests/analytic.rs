//! Landscapes whose minima are known analytically.

use toposcape_topology::{Connectivity, Grid, MergeTree, Threshold, join_tree, split_tree};

/// Samples `f` on a grid of `points` per axis over `[low, high]^dims` (C order).
fn sample(dims: usize, points: usize, low: f64, high: f64, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let total = points.pow(dims as u32);
    let step = (high - low) / (points - 1) as f64;
    let mut x = vec![0.0; dims];
    (0..total)
        .map(|mut v| {
            for axis in (0..dims).rev() {
                x[axis] = low + (v % points) as f64 * step;
                v /= points;
            }
            f(&x)
        })
        .collect()
}

fn minima_coordinates(tree: &MergeTree, grid: &Grid, low: f64, step: f64) -> Vec<Vec<f64>> {
    tree.pairs()
        .iter()
        .map(|p| {
            grid.coordinates(p.birth_vertex)
                .iter()
                .map(|&c| low + c as f64 * step)
                .collect()
        })
        .collect()
}

fn himmelblau(x: &[f64]) -> f64 {
    (x[0] * x[0] + x[1] - 11.0).powi(2) + (x[0] + x[1] * x[1] - 7.0).powi(2)
}

fn rastrigin(x: &[f64]) -> f64 {
    10.0 * x.len() as f64
        + x.iter()
            .map(|v| v * v - 10.0 * (2.0 * std::f64::consts::PI * v).cos())
            .sum::<f64>()
}

#[test]
fn himmelblau_has_its_four_minima() {
    let (points, low, high) = (201, -5.0, 5.0);
    let step = (high - low) / (points - 1) as f64;
    let values = sample(2, points, low, high, himmelblau);
    let known = [
        [3.0, 2.0],
        [-2.805118, 3.131312],
        [-3.779310, -3.283186],
        [3.584428, -1.848126],
    ];
    for connectivity in Connectivity::ALL {
        let grid = Grid::new(&[points, points], connectivity).unwrap();
        let tree = join_tree(&values, &grid).unwrap();
        if connectivity == Connectivity::Axis {
            // Without diagonal edges, two grid points that are diagonal neighbours in the
            // narrow valley at (-3.78, -3.28) are both minima: a discretisation artefact of
            // the axis connectivity (one reason Freudenthal is the default). It is shallow.
            assert_eq!(tree.leaf_count(), 5);
            let simple = tree.simplify(Threshold::Absolute(0.1)).unwrap();
            assert_eq!(simple.leaf_count(), 4);
        } else {
            assert_eq!(tree.leaf_count(), 4, "{connectivity}");
            assert_eq!(tree.saddle_count(), 3, "{connectivity}");
        }
        for found in minima_coordinates(&tree, &grid, low, step) {
            let nearest = known
                .iter()
                .map(|k| ((k[0] - found[0]).powi(2) + (k[1] - found[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest <= step * 2f64.sqrt(),
                "{connectivity}: minimum at {found:?}"
            );
        }
        // The split tree has one maximum: Himmelblau's local maximum at (-0.2708, -0.9230)
        // lies inside; the others are on the boundary corners.
        let maxima = split_tree(&values, &grid).unwrap();
        let inner = minima_coordinates(&maxima, &grid, low, step)
            .into_iter()
            .filter(|c| c.iter().all(|x| x.abs() < 4.9))
            .count();
        assert_eq!(inner, 1, "{connectivity}");
    }
}

#[test]
fn rastrigin_has_one_minimum_per_integer_point() {
    // In 2-D over [-5.12, 5.12]: integer points -5..=5 on each axis, 121 minima. The local
    // minimum near the integer k sits where 2x + 20 pi sin(2 pi x) = 0, at about
    // k (1 - 1 / (20 pi^2)).
    let (points, low, high) = (257, -5.12, 5.12);
    let values = sample(2, points, low, high, rastrigin);
    let grid = Grid::new(&[points, points], Connectivity::Freudenthal).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    assert_eq!(tree.leaf_count(), 121);
    let step = (high - low) / (points - 1) as f64;
    let shrink = 1.0 - 1.0 / (20.0 * std::f64::consts::PI.powi(2));
    for c in minima_coordinates(&tree, &grid, low, step) {
        for x in c {
            let exact = (x / shrink).round() * shrink;
            assert!((x - exact).abs() <= step, "{x} vs {exact}");
        }
    }
    // The global minimum 0 at the origin is the essential pair.
    let essential: Vec<_> = tree
        .pairs()
        .into_iter()
        .filter(|p| p.death.is_none())
        .collect();
    assert_eq!(essential.len(), 1);
    assert!(essential[0].birth.abs() < 1e-12);

    // In 4-D over [-1.5, 1.5]: 3^4 = 81 minima, with each connectivity.
    let values = sample(4, 25, -1.5, 1.5, rastrigin);
    for connectivity in Connectivity::ALL {
        let grid = Grid::new(&[25; 4], connectivity).unwrap();
        assert_eq!(
            join_tree(&values, &grid).unwrap().leaf_count(),
            81,
            "{connectivity}"
        );
    }
}

#[test]
fn simplification_keeps_only_deep_rastrigin_basins() {
    // 1-D Rastrigin over [-4.5, 4.5]: minima at -4..=4. A basin at integer k dies where it
    // meets the next basin towards the origin, at the local maximum between them: every pair's
    // persistence is at least ~ 20 (the cosine's swing) minus the bowl's slope, so a threshold
    // above every finite persistence leaves only the global basin.
    let values = sample(1, 901, -4.5, 4.5, rastrigin);
    let grid = Grid::new(&[901], Connectivity::Freudenthal).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    assert_eq!(tree.leaf_count(), 9);
    let largest = tree.max_finite_persistence().unwrap();
    let smallest = tree
        .pairs()
        .iter()
        .map(|p| p.persistence)
        .fold(f64::INFINITY, f64::min);
    assert!(smallest > 10.0, "{smallest}");
    let simple = tree
        .simplify(Threshold::Absolute(largest * 1.0001))
        .unwrap();
    assert_eq!(simple.leaf_count(), 1);
    assert_eq!(simple.nodes().len(), 2, "one minimum and the root");
    let root = simple.roots().next().unwrap();
    let sizes: Vec<u64> = simple.nodes().iter().map(|n| n.segment_size).collect();
    assert_eq!(sizes.iter().sum::<u64>(), 901);
    assert_eq!(simple.node(root).segment_size, 1);
    // A threshold between the smallest and largest keeps the basins whose pairs are above it.
    let middle = (smallest + largest) / 2.0;
    let kept = tree
        .pairs()
        .iter()
        .filter(|p| p.persistence >= middle)
        .count();
    let simple = tree.simplify(Threshold::Absolute(middle)).unwrap();
    assert_eq!(simple.leaf_count(), kept);
    assert!(kept > 1 && kept < 9);
}

#[test]
fn hand_worked_simplification_in_one_dimension() {
    // Vertex:  0  1  2  3  4  5  6  7  8
    // Value:   3  0  4  1  2  1.5 6  0.5 7
    // Minima 0 (v1), 1 (v3), 1.5 (v5), 0.5 (v7). v4 (2) merges v3's and v5's basins: v5 dies
    // (persistence 0.5). v2 (4) merges v1's and v3's: v3 dies (3). v6 (6) merges v1's and v7's:
    // v7 dies (5.5). v8 (7) is the root.
    let values = [3.0, 0.0, 4.0, 1.0, 2.0, 1.5, 6.0, 0.5, 7.0];
    let grid = Grid::new(&[9], Connectivity::Axis).unwrap();
    let tree = join_tree(&values, &grid).unwrap();
    let mut pairs: Vec<(u32, Option<u32>, f64)> = tree
        .pairs()
        .iter()
        .map(|p| (p.birth_vertex, p.death_vertex, p.persistence))
        .collect();
    pairs.sort_by_key(|p| p.0);
    assert_eq!(
        pairs,
        vec![
            (1, None, f64::INFINITY),
            (3, Some(2), 3.0),
            (5, Some(4), 0.5),
            (7, Some(6), 5.5)
        ]
    );
    let label = |t: &MergeTree| -> Vec<u32> {
        t.segmentation().iter().map(|&s| t.node(s).vertex).collect()
    };
    // Segments, as the vertex of their node: each node owns itself and the regular vertices
    // above it on its arc. v0 (3) is on v1's arc, v5's arc is just v5.
    assert_eq!(label(&tree), vec![1, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Removing v5's pair (persistence 0.5): v4 is no longer a saddle, so v3's arc runs through
    // it, and v5's branch joins the segment holding its death saddle v4: v3's.
    let simple = tree.simplify(Threshold::Absolute(1.0)).unwrap();
    assert_eq!(label(&simple), vec![1, 1, 2, 3, 3, 3, 6, 7, 8]);
    // Removing v3's pair too (persistence 3): v2 is regular on v1's arc, and v3's basin with
    // everything hanging from it joins v1's segment.
    let simple = tree.simplify(Threshold::Absolute(4.0)).unwrap();
    assert_eq!(label(&simple), vec![1, 1, 1, 1, 1, 1, 6, 7, 8]);
    // Relative to the range 7: 80% is 5.6, above every finite pair.
    let simple = tree.simplify(Threshold::FractionOfRange(0.8)).unwrap();
    assert_eq!(label(&simple), vec![1, 1, 1, 1, 1, 1, 1, 1, 8]);
    assert!(tree.simplify(Threshold::Absolute(-1.0)).is_err());
    assert!(tree.simplify(Threshold::FractionOfRange(f64::NAN)).is_err());
}
