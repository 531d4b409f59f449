//! Diagram-distance benchmark: the 1-Wasserstein distance by the auction (relative error at
//! most 1%, certified by its dual bound) and the exact bottleneck distance over k-d trees,
//! against the exact O(n^3) Hungarian method and the O(n^2)-matrix bottleneck search measured in
//! the same run, on the persistence diagrams of two noisy landscapes (merge trees of a bowl
//! plus uniform noise, two noise seeds: many points near the diagonal, a few far from it).
//!
//!     cargo bench -p toposcape-topology --bench diagram_distances           # all rows
//!     cargo bench -p toposcape-topology --bench diagram_distances -- quick  # up to 10^4 points

use std::time::Instant;

use toposcape_topology::{
    Connectivity, Diagram, Grid, bottleneck_distance_by_matrix, bottleneck_geometric, join_tree,
    wasserstein_auction, wasserstein_distance,
};

/// The diagram of a side x side Freudenthal landscape: a bowl plus uniform noise.
fn diagram(side: usize, seed: u64) -> Diagram {
    let mut state = seed;
    let values: Vec<f32> = (0..side * side)
        .map(|v| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (x, y) = (
                (v / side) as f32 / side as f32 - 0.5,
                (v % side) as f32 / side as f32 - 0.5,
            );
            x * x + y * y + 0.05 * (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    let grid = Grid::new(&[side, side], Connectivity::Freudenthal).unwrap();
    Diagram::of(&join_tree(&values, &grid).unwrap())
}

fn seconds(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let sides: &[usize] = if quick {
        &[60, 120, 260]
    } else {
        &[60, 90, 120, 260, 600, 860]
    };
    println!(
        "{:>5} {:>7} | {:>10} {:>9} {:>9} {:>9} {:>7} | {:>10} {:>9} {:>9} {:>7}",
        "side",
        "points",
        "W1",
        "error",
        "auction",
        "exact",
        "ratio",
        "bottleneck",
        "k-d tree",
        "exact",
        "ratio"
    );
    for &side in sides {
        let (a, b) = (
            diagram(side, 0x2545_f491_4f6c_dd1d),
            diagram(side, 0x9e37_79b9_7f4a_7c15),
        );
        let points = a.points.len() + b.points.len();
        let mut estimate = None;
        let auction = seconds(|| estimate = Some(wasserstein_auction(&a.points, &b.points, 0.01)));
        let estimate = estimate.unwrap();
        let mut bottleneck = 0.0;
        let geometric = seconds(|| bottleneck = bottleneck_geometric(&a.points, &b.points));
        let time = |s: f64| format!("{s:.3} s");
        // The exact methods only where they finish in reasonable time.
        let (exact_w, exact_b) = if points <= 2500 {
            // Both methods over the finite points alone (the auction does not see essential
            // classes; the exact method adds their births' differences).
            let finite = |d: &Diagram| Diagram {
                points: d.points.clone(),
                essential: Vec::new(),
            };
            let (a, b) = (finite(&a), finite(&b));
            let mut w = 0.0;
            let w_s = seconds(|| w = wasserstein_distance(&a, &b));
            let mut exact = 0.0;
            let b_s = seconds(|| exact = bottleneck_distance_by_matrix(&a, &b));
            assert_eq!(exact, bottleneck, "the k-d tree bottleneck is exact");
            let tolerance = 1.0 + 1e-12;
            assert!(estimate.lower_bound <= w * tolerance && w <= estimate.value * tolerance);
            (Some(w_s), Some(b_s))
        } else {
            (None, None)
        };
        let ratio = |exact: Option<f64>, ours: f64| {
            exact.map_or("-".into(), |e| format!("{:.0}x", e / ours))
        };
        println!(
            "{side:>5} {points:>7} | {:>10.6} {:>9.2e} {:>9} {:>9} {:>7} | {:>10.6} {:>9} {:>9} {:>7}",
            estimate.value,
            estimate.relative_error,
            time(auction),
            exact_w.map_or("-".into(), time),
            ratio(exact_w, auction),
            bottleneck,
            time(geometric),
            exact_b.map_or("-".into(), time),
            ratio(exact_b, geometric),
        );
    }
}
