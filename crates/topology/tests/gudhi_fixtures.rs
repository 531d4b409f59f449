//! Cross-check with an independent library: gudhi's cubical persistence (fixtures made by
//! `fixtures/gudhi/make_fixtures.py`) gives the same off-diagonal 0-dimensional pairs as the
//! `axis` merge tree (vertex-valued complex) and the `full` merge tree (top-cell complex).

use std::fs;
use std::path::Path;

use serde::Deserialize;
use toposcape_topology::{Connectivity, Grid, join_tree};

#[derive(Deserialize)]
struct Fixture {
    name: String,
    connectivity: String,
    shape: Vec<usize>,
    values: Vec<f64>,
    pairs: Vec<(f64, Option<f64>)>,
}

fn sorted(mut pairs: Vec<(f64, Option<f64>)>) -> Vec<(f64, Option<f64>)> {
    pairs.sort_by(|a, b| {
        a.0.total_cmp(&b.0).then(
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY)),
        )
    });
    pairs
}

#[test]
fn merge_tree_pairs_match_gudhi_cubical_persistence() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gudhi");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let fixture: Fixture = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let connectivity: Connectivity = fixture.connectivity.parse().unwrap();
        let grid = Grid::new(&fixture.shape, connectivity).unwrap();
        let tree = join_tree(&fixture.values, &grid).unwrap();
        let ours: Vec<(f64, Option<f64>)> = tree
            .pairs()
            .iter()
            .filter(|p| p.persistence > 0.0)
            .map(|p| (p.birth, p.death))
            .collect();
        assert!(!fixture.pairs.is_empty());
        assert_eq!(
            sorted(ours),
            sorted(fixture.pairs.clone()),
            "{} with {} connectivity",
            fixture.name,
            fixture.connectivity
        );
        checked += 1;
    }
    assert_eq!(checked, 16, "every fixture was found and checked");
}
