//! Cross-check with the authors' package: Landscaper 1.3.1's `smad()`, `smad(normalize=True)`,
//! `smad(weighted=True)` and basin volumes on fields it computed them for (fixtures made by
//! `fixtures/landscaper/make_fixtures.py`, which says how).
//!
//! The basins (the Morse-Smale complex's unstable manifolds) are compared on every field. The
//! SMADs are compared with Landscaper as released wherever its contour tree is a tree; topopy's
//! pruning stops early on rough fields and leaves a forest, and there they are compared with
//! Landscaper's own code run on topopy's tree with the pruning completed, on every field whose
//! contour tree is unique (consistent: see `ContourTree::is_consistent`).

use std::fs;
use std::path::Path;

use serde::Deserialize;
use toposcape_topology::{Connectivity, Grid, Metrics, basins, contour_tree, join_tree};

#[derive(Deserialize)]
struct Smads {
    smad: f64,
    smad_normalized: f64,
    smad_weighted: f64,
}

#[derive(Deserialize)]
struct Alternating {
    #[serde(flatten)]
    smads: Smads,
    contour_tree_complete: bool,
}

#[derive(Deserialize)]
struct Fixture {
    name: String,
    shape: Vec<usize>,
    connectivity: String,
    loss: Vec<f64>,
    #[serde(flatten)]
    released: Smads,
    contour_tree_complete: bool,
    /// (minimum vertex, basin size), by vertex.
    basins: Vec<(u32, u64)>,
    alternating: Alternating,
}

fn assert_same(name: &str, what: &str, ours: &Metrics, theirs: &Smads) {
    for (key, a, b) in [
        ("smad", ours.smad, theirs.smad),
        (
            "smad_normalized",
            ours.smad_normalized,
            theirs.smad_normalized,
        ),
        ("smad_weighted", ours.smad_weighted, theirs.smad_weighted),
    ] {
        let a = a.unwrap_or_else(|| panic!("{name}: no {key}"));
        // Landscaper's weighted sum goes through exp(log(gap) + log(volume)): a few ulps.
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "{name}: {key} {a} against Landscaper {what} {b}"
        );
    }
}

#[test]
fn smad_and_basins_match_landscaper() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/landscaper");
    let (mut fixtures, mut released, mut completed) = (0, 0, 0);
    let mut inconsistent = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let f: Fixture = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(f.connectivity, "axis");
        let grid = Grid::new(&f.shape, Connectivity::Axis).unwrap();
        let tree = join_tree(&f.loss, &grid).unwrap();
        let contour = contour_tree(&f.loss, &grid).unwrap();
        let b = basins(&f.loss, &grid).unwrap();

        let mut ours: Vec<(u32, u64)> = b
            .minima()
            .iter()
            .copied()
            .zip(b.sizes().iter().copied())
            .collect();
        ours.sort_unstable();
        assert_eq!(ours, f.basins, "{}: basins", f.name);
        assert_eq!(tree.leaf_count(), f.basins.len(), "{}: minima", f.name);

        let metrics = Metrics::of_field(&tree, &contour, &b);
        if f.contour_tree_complete {
            assert_same(&f.name, "as released", &metrics, &f.released);
            released += 1;
        }
        if contour.is_consistent() {
            assert!(f.alternating.contour_tree_complete, "{}", f.name);
            assert_same(
                &f.name,
                "with the pruning completed",
                &metrics,
                &f.alternating.smads,
            );
            completed += 1;
        } else {
            inconsistent.push(f.name.clone());
        }
        fixtures += 1;
    }
    assert_eq!(fixtures, 18, "every fixture was found and checked");
    // As measured when the fixtures were made: Landscaper's own tree is whole on 9 of them, and
    // 7 rough ones have no unique contour tree on the axis graph.
    inconsistent.sort();
    assert_eq!((released, completed), (9, 11), "{inconsistent:?}");
    assert_eq!(inconsistent.len(), 7, "{inconsistent:?}");
}
