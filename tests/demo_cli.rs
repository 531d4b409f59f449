//! `toposcape demo`, reduced (`--smoke`: small networks, short training, 9^2 grids): the shipped
//! beta sweep runs end to end, writes its report, and ends with the report's path and a
//! three-line summary whose numbers are the runs' own.

mod common;

use std::fs;

use common::{csv_fields, scratch, stderr, stdout, toposcape};

#[test]
fn the_reduced_demo_runs_and_summarises() {
    let dir = scratch("demo");
    let out = dir.join("demo");
    let o = toposcape(&["demo", "--smoke", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    assert!(n >= 4, "{text}");
    assert_eq!(
        lines[n - 4],
        format!("Open {}", out.join("report.html").display())
    );
    assert!(out.join("report.html").is_file());
    assert!(lines[n - 3].starts_with("error "), "{text}");
    assert!(lines[n - 2].starts_with("landscape "), "{text}");
    assert!(lines[n - 1].starts_with("finding "), "{text}");

    // Six runs (beta 1, 5, 30 x seeds 0, 1); the summary's errors are the runs' means.
    let csv = fs::read_to_string(out.join("runs.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().map(csv_fields).collect();
    assert_eq!(rows.len(), 7, "{csv}");
    let col = |name: &str| rows[0].iter().position(|h| *h == name).unwrap();
    let mean_error = |beta: &str| {
        let errors: Vec<f64> = rows[1..]
            .iter()
            .filter(|r| r[col("convection.beta")] == beta)
            .map(|r| r[col("relative_l2_error")].parse::<f64>().unwrap())
            .collect();
        assert_eq!(errors.len(), 2);
        errors.iter().sum::<f64>() / 2.0
    };
    let (low, high) = (mean_error("1.0"), mean_error("30.0"));
    for (beta, error) in [("1", low), ("30", high)] {
        let percent = 100.0 * error;
        let shown = lines[n - 3]
            .split(&format!("beta {beta}: "))
            .nth(1)
            .and_then(|rest| rest.split('%').next())
            .unwrap();
        let shown: f64 = shown.parse().unwrap();
        assert!(
            (shown - percent).abs() <= 1e-3 * percent,
            "beta {beta}: summary {shown}%, runs {percent}%"
        );
    }
    // The paper's headline, even at this size: beta 30 is where the PINN fails.
    assert!(high > 5.0 * low, "beta 1: {low}, beta 30: {high}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_demo_flag_writes_nothing() {
    let dir = scratch("demo-bad");
    let out = dir.join("demo");
    let o = toposcape(&["demo", "--jobs", "0", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--jobs 0"), "{}", stderr(&o));
    assert!(!out.exists());
    fs::remove_dir_all(&dir).unwrap();
}
