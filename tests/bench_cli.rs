//! `toposcape bench --quick`: every group measured, the JSON's statistics and ratios consistent
//! with its own samples, and bad flags refused. Speed itself is not asserted (shared machines).

mod common;

use std::collections::HashMap;
use std::fs;

use common::{scratch, stderr, stdout, toposcape};
use serde_json::Value;

#[test]
fn a_quick_bench_writes_consistent_figures() {
    let dir = scratch("bench");
    let out = dir.join("bench.json");
    let o = toposcape(&[
        "bench",
        "--quick",
        "--repeats",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["repeats"], 2);
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
    let figures = json["figures"].as_array().unwrap();
    let mut by_label: HashMap<String, f64> = HashMap::new();
    for f in figures {
        let label = format!(
            "{}/{}/{}",
            f["group"].as_str().unwrap(),
            f["name"].as_str().unwrap(),
            f["backend"].as_str().unwrap()
        );
        by_label.insert(label, f["median"].as_f64().unwrap());
    }
    for group in ["pinn", "unet", "tree", "run"] {
        assert!(
            figures.iter().any(|f| f["group"] == group),
            "no {group} figure"
        );
    }
    for backend in ["flex", "ndarray", "cpu"] {
        assert!(figures.iter().any(|f| f["backend"] == backend), "{backend}");
    }
    for f in figures {
        let samples: Vec<f64> = f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(!samples.is_empty() && samples.iter().all(|s| s.is_finite() && *s > 0.0));
        let (median, min, max) = (
            f["median"].as_f64().unwrap(),
            f["min"].as_f64().unwrap(),
            f["max"].as_f64().unwrap(),
        );
        let lowest = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = samples.iter().copied().fold(0.0, f64::max);
        assert_eq!((min, max), (lowest, highest), "{f}");
        assert!(min <= median && median <= max, "{f}");
        if let Some(baseline) = f["baseline"].as_str() {
            let expected = median / by_label[baseline];
            let ratio = f["ratio"].as_f64().unwrap();
            assert!((ratio - expected).abs() <= 1e-12 * expected, "{f}");
        }
    }
    // HVPs on each CPU backend, compared with flex's; GFLOP/s on the PINN's points/s rows only.
    let ndarray_hvps = figures
        .iter()
        .find(|f| {
            f["group"] == "pinn"
                && f["name"] == "Hessian-vector products/s"
                && f["backend"] == "ndarray"
        })
        .unwrap();
    assert_eq!(
        ndarray_hvps["baseline"],
        "pinn/Hessian-vector products/s/flex"
    );
    for f in figures {
        let flop_row = f["group"] == "pinn" && f["unit"] == "points/s";
        assert_eq!(f.get("gflop_per_s").is_some(), flop_row, "{f}");
        if !cfg!(feature = "wgpu") {
            assert!(
                f.get("of_nominal").is_none(),
                "no wgpu rows to have one: {f}"
            );
        }
    }
    // The batched and kernel rows are compared with burn flex one point at a time.
    let kernel = figures
        .iter()
        .find(|f| f["name"] == "points/s, kernel, 1 thread")
        .unwrap();
    assert_eq!(kernel["baseline"], "pinn/points/s, one at a time/flex");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_bench_flags_exit_2() {
    let dir = scratch("bench-bad");
    // --peers needs the checkout's scripts and a Python with the peers' packages; both are
    // checked before anything is measured.
    let outside = std::process::Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args(["bench", "--peers"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(outside.status.code(), Some(2), "{}", stderr(&outside));
    assert!(
        stderr(&outside).contains("benches/peers"),
        "{}",
        stderr(&outside)
    );
    let no_python = toposcape(&["bench", "--peers", "--python", "/nonexistent/python3"]);
    assert_eq!(no_python.status.code(), Some(2), "{}", stderr(&no_python));
    assert!(
        stderr(&no_python).contains("--python"),
        "{}",
        stderr(&no_python)
    );
    let mut cases = vec![
        (vec!["bench", "--repeats", "0"], "--repeats"),
        (
            vec!["bench", "--out", "/nonexistent-folder/b.json"],
            "--out",
        ),
        (vec!["bench", "--batches", "64,0"], "--batches"),
        (vec!["bench", "--nominal-tflops=-3"], "--nominal-tflops"),
        (vec!["bench", "--nominal-tflops", "nan"], "--nominal-tflops"),
    ];
    if !cfg!(feature = "wgpu") {
        // A nominal rate with no wgpu rows to divide is refused, not ignored.
        cases.push((vec!["bench", "--nominal-tflops", "67"], "--nominal-tflops"));
    }
    for (args, expected) in cases {
        let o = toposcape(&args);
        let message = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{message}");
        assert!(message.contains(expected), "{message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
        // Refused before anything is measured or printed.
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    }
    fs::remove_dir_all(&dir).unwrap();
}
