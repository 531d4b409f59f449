//! Cross-check of the diagram distances with independent implementations: gudhi's exact
//! bottleneck distance and Hera's 1-Wasserstein distance (at a relative error of 1e-9), on
//! diagrams of up to a few thousand points (fixtures made by `fixtures/distances/make_fixtures.py`).

use std::fs;
use std::path::Path;

use serde::Deserialize;
use toposcape_topology::{Diagram, bottleneck_distance, wasserstein_estimate};

#[derive(Deserialize)]
struct Fixture {
    name: String,
    a: Vec<(f64, f64)>,
    b: Vec<(f64, f64)>,
    bottleneck: f64,
    wasserstein: f64,
    wasserstein_relative_error: f64,
}

#[test]
fn distances_match_gudhi_and_hera() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/distances");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let f: Fixture = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let diagram = |points: &[(f64, f64)]| Diagram {
            points: points.to_vec(),
            essential: Vec::new(),
        };
        let (a, b) = (diagram(&f.a), diagram(&f.b));
        let bottleneck = bottleneck_distance(&a, &b);
        assert!(
            (bottleneck - f.bottleneck).abs() <= 1e-12 * f.bottleneck,
            "{}: bottleneck {bottleneck} against gudhi's {}",
            f.name,
            f.bottleneck
        );
        for delta in [0.01, 1e-4] {
            let estimate = wasserstein_estimate(&a, &b, delta);
            assert!(estimate.relative_error <= delta, "{}: {estimate:?}", f.name);
            // Hera's value is within its own 1e-9 of the distance, which lies in our bounds.
            let slack = 1.0 + f.wasserstein_relative_error + 1e-12;
            assert!(
                estimate.lower_bound <= f.wasserstein * slack
                    && f.wasserstein <= estimate.value * slack,
                "{}: {estimate:?} against Hera's {}",
                f.name,
                f.wasserstein
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3, "every fixture was found and checked");
}
