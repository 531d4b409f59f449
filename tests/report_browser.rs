//! The HTML reports in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) opens a sweep's report and a run's report and must find no console messages,
//! every inline image decoded, and a screenshot with the profile's blues in it.
//!
//! The browser is `$TOPOSCAPE_CHROMIUM` or the first of chromium, chromium-browser,
//! google-chrome on the PATH; without one this test fails and says what to install.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{TINY_PINN, scratch, stderr, toposcape_out};

fn browser() -> String {
    if let Ok(path) = std::env::var("TOPOSCAPE_CHROMIUM") {
        return path;
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return name.to_string();
        }
    }
    panic!(
        "no Chromium found: install Debian's chromium package (.ci/run does) or set \
         TOPOSCAPE_CHROMIUM to a Chromium or Chrome binary"
    );
}

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr).
fn chromium(page: &Path, profile: &Path, extra: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let output = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("Chromium runs");
    assert!(output.status.success(), "{}", stderr(&output));
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Loads the page: no console messages (errors, warnings or logs) and every image decoded;
/// returns the number of images.
fn check_loads(page: &Path, profile: &Path) -> usize {
    let (dom, log) = chromium(page, profile, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "{}: {console:?}", page.display());
    // The page's own script records "decoded/total" on <body> once it has loaded.
    let marker = "data-images=\"";
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{}: the load script did not run", page.display()))
        + marker.len();
    let value = &dom[start..start + dom[start..].find('"').unwrap()];
    let (decoded, total) = value.split_once('/').unwrap();
    assert_eq!(decoded, total, "{}: images decoded", page.display());
    total.parse().unwrap()
}

/// A screenshot of the page's top: (fraction of non-white pixels, pixels in the profile's
/// blues, strongly blue-dominant).
fn screenshot(page: &Path, profile: &Path, dir: &Path) -> (f64, usize) {
    let shot = dir.join(format!(
        "{}.png",
        page.parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
    ));
    chromium(
        page,
        profile,
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(fs::read(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let mut ink = 0;
    let mut blue = 0;
    let all = pixels
        .chunks(channels)
        .take((info.width * info.height) as usize);
    let count = info.width as usize * info.height as usize;
    for p in all {
        if p[0] < 235 || p[1] < 235 || p[2] < 235 {
            ink += 1;
        }
        if u16::from(p[2]) > u16::from(p[0]) + 60 && p[2] > p[1] {
            blue += 1;
        }
    }
    (ink as f64 / count as f64, blue)
}

#[test]
fn reports_load_in_headless_chromium() {
    let dir = scratch("browser");
    fs::write(dir.join("base.toml"), TINY_PINN).unwrap();
    let sweep = dir.join("s.toml");
    fs::write(
        &sweep,
        "base = \"base.toml\"\n[values]\n\"convection.beta\" = [1.0, 4.0]\nseed = [0, 1]\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = toposcape_out("sweep", &sweep, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let profile = dir.join("chromium-profile");

    let sweep_report = out.join("report.html");
    // error.png, profiles.png, scatter.png.
    assert_eq!(check_loads(&sweep_report, &profile), 3);
    let run_report = out.join("runs/beta=1.0_seed=0/report.html");
    // profile, merge tree, persistence, slices, Hessian eigenvalue density, training curve.
    assert_eq!(check_loads(&run_report, &profile), 6);

    // Rendered, not blank: the run report's profile sits near the top and fills its basins
    // with blues.
    let (ink, blue) = screenshot(&run_report, &profile, &dir);
    assert!(ink > 0.03, "run report: {:.1}% non-white", 100.0 * ink);
    assert!(blue > 5000, "run report: {blue} blue pixels");
    let (ink, blue) = screenshot(&sweep_report, &profile, &dir);
    assert!(ink > 0.03, "sweep report: {:.1}% non-white", 100.0 * ink);
    assert!(blue > 5000, "sweep report: {blue} blue pixels");
    fs::remove_dir_all(&dir).unwrap();
}
