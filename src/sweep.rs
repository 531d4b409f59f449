//! `toposcape sweep SWEEP.toml`: a base config and lists of values for any of its keys; every
//! combination becomes a run directory (`toposcape run`), and the sweep directory gets
//! `runs.csv`, one row per run with its values, its error and its topology metrics.
//!
//! A sweep file:
//!
//! ```toml
//! base = "../pinn-convection.toml"     # relative to this file
//! [values]
//! "convection.beta" = [1.0, 5.0, 30.0]
//! seed = [0, 1]
//! ```
//!
//! Every combination is checked as a config before anything runs. Runs that are complete are
//! skipped, so an interrupted sweep resumes; `--jobs N` runs N at once, each as a child
//! `toposcape run` with its output in `logs/<run>.log`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::Value;

use crate::args::EvalBackendArg;
use crate::bail_input;
use crate::error::InputError;
use toposcape::config;
use toposcape::output::{Outputs, read_json};
use toposcape::report::{Cell, Page, escape, image_tag, number};

/// Arguments of `toposcape sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (TOML: `base` and a `[values]` table of key = [values])
    pub sweep: PathBuf,
    /// The sweep directory [default: runs/<sweep name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Runs at once; the cores are shared among them
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Draw each profile of profiles.png on its own loss scale instead of the shared one
    #[arg(long)]
    pub own_scale: bool,
    /// Where each run trains and is analysed
    #[arg(long, value_enum, default_value_t = EvalBackendArg::Cpu)]
    pub backend: EvalBackendArg,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    base: String,
    values: toml::Table,
}

/// One combination: its name, the swept keys' values, and its config text.
struct Combination {
    name: String,
    values: Values,
    config: String,
}

/// Keys whose values are paths, resolved against the base config's folder when the configs are
/// written elsewhere.
const PATH_KEYS: [&str; 3] = ["pet.root", "landscape.through", "training.weights"];

fn set_key(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().ok_or("an empty key")?;
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a section"))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

fn get_key<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// A value as it appears in a run's name and in runs.csv.
pub(crate) fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A run's name from the values of the keys that vary (all of them when none does).
fn run_name(values: &[(String, toml::Value)], varies: &[bool]) -> String {
    let shown: Vec<_> = values
        .iter()
        .zip(varies)
        .filter(|(_, v)| **v || !varies.contains(&true))
        .map(|(kv, _)| kv)
        .collect();
    shown
        .into_iter()
        .map(|(key, value)| {
            let short = key.rsplit('.').next().unwrap_or(key);
            let text: String = show(value)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("{short}={text}")
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The keys of the `[values]` table in the order their lines appear in the sweep file.
fn key_order(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut in_values = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_values = line
                .trim_start_matches('[')
                .trim_start()
                .starts_with("values");
            continue;
        }
        if let Some((key, _)) = line.split_once('=')
            && in_values
        {
            keys.push(
                key.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string(),
            );
        }
    }
    keys
}

/// Reads the sweep file and checks every combination as a config.
fn combinations(path: &Path) -> Result<(PathBuf, Vec<String>, Vec<Combination>), InputError> {
    let name = path.display().to_string();
    let text = fs::read_to_string(path)
        .map_err(|e| InputError(format!("{name}: cannot read the sweep: {e}")))?;
    let sweep: SweepFile = config::parse_toml(&text, &name)?;
    let base_path = config::folder_of(path).join(&sweep.base);
    let base_text = fs::read_to_string(&base_path).map_err(|e| {
        InputError(format!(
            "{name}: key base: cannot read {}: {e}",
            base_path.display()
        ))
    })?;
    // The base must be a valid config itself.
    config::parse(&base_text, &base_path.display().to_string())?;
    let mut base: toml::Table = base_text.parse().expect("parsed above");
    let base_dir = config::folder_of(&base_path);
    for key in PATH_KEYS {
        let absolute = |v: &toml::Value| match v {
            toml::Value::String(s) => toml::Value::String(base_dir.join(s).display().to_string()),
            other => other.clone(),
        };
        if let Some(value) = get_key(&base, key).cloned() {
            let resolved = match &value {
                toml::Value::Array(items) => {
                    toml::Value::Array(items.iter().map(absolute).collect())
                }
                other => absolute(other),
            };
            set_key(&mut base, key, resolved).expect("an existing key");
        }
    }
    let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
    for (key, values) in &sweep.values {
        let toml::Value::Array(list) = values else {
            bail_input!("{name}: key values.{key}: expected a list of values");
        };
        if list.is_empty() {
            bail_input!("{name}: key values.{key}: expected at least one value");
        }
        axes.push((key.clone(), list.clone()));
    }
    if axes.is_empty() {
        bail_input!("{name}: key values: expected at least one key with a list of values");
    }
    // TOML tables come back sorted by key; the sweep keeps the file's order (the first key
    // varies slowest, and the first two are the heat map's rows and columns).
    let order = key_order(&text);
    axes.sort_by_key(|(key, _)| order.iter().position(|k| k == key).unwrap_or(usize::MAX));
    let count: usize = axes.iter().map(|(_, v)| v.len()).product();
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let mut rest = index;
        let mut chosen = Vec::new();
        for (key, list) in axes.iter().rev() {
            chosen.push((key.clone(), list[rest % list.len()].clone()));
            rest /= list.len();
        }
        chosen.reverse();
        let mut table = base.clone();
        for (key, value) in &chosen {
            set_key(&mut table, key, value.clone())
                .map_err(|e| InputError(format!("{name}: key values.{key}: {e}")))?;
        }
        let varies: Vec<bool> = axes.iter().map(|(_, list)| list.len() > 1).collect();
        let run = run_name(&chosen, &varies);
        let text = toml::to_string(&table).expect("a table serialises");
        let checked = config::parse(&text, &format!("{name} (run {run})"))?;
        out.push(Combination {
            name: run,
            values: chosen,
            config: checked.to_toml(),
        });
    }
    let keys = axes.into_iter().map(|(k, _)| k).collect();
    Ok((base_path, keys, out))
}

/// A run's swept keys and their values.
pub type Values = Vec<(String, toml::Value)>;
/// A run's row of runs.csv after its swept values: (column, text).
pub type Numbers = Vec<(String, String)>;

/// What a finished sweep found: each run's swept values and its runs.csv numbers.
pub struct Outcome {
    pub runs: Vec<(Values, Numbers)>,
    /// Spearman's rho of the error (or mean IoU) with each metric, as printed and plotted.
    correlations: Vec<Correlation>,
}

impl Outcome {
    /// Spearman's rho of the error with `metric` over the complete runs (`None`: too few runs,
    /// no spread, or not a metric the sweep correlates).
    pub fn rho(&self, metric: &str) -> Option<f64> {
        self.correlations
            .iter()
            .find(|c| c.metric == metric)
            .and_then(|c| c.rho)
    }

    /// A number of one run's row of runs.csv.
    pub fn number(row: &[(String, String)], key: &str) -> Option<f64> {
        value_of(row, key)
    }
}

pub fn run(args: &SweepArgs) -> Result<()> {
    sweep(args).map(|_| ())
}

pub fn sweep(args: &SweepArgs) -> Result<Outcome> {
    if args.jobs == 0 {
        bail_input!("--jobs 0: expected at least one job");
    }
    let (_, keys, runs) = combinations(&args.sweep)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(args.sweep.file_stem().unwrap_or_default()));
    let configs = out.join("configs");
    fs::create_dir_all(&configs)
        .map_err(|e| InputError(format!("--out {}: cannot create: {e}", out.display())))?;
    for combination in &runs {
        fs::write(
            configs.join(format!("{}.toml", combination.name)),
            &combination.config,
        )?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / args.jobs).max(1);
    let bar = ProgressBar::new(runs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "sweep {bar:30} {pos}/{len} runs · {msg} · {elapsed} elapsed, ETA {eta}",
        )
        .expect("a valid template"),
    );
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let binary = std::env::current_exe().context("the toposcape binary's path")?;
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(runs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(combination) = runs.get(i) else {
                        break;
                    };
                    let dir = out.join("runs").join(&combination.name);
                    bar.set_message(combination.name.clone());
                    let result = run_one(
                        &binary,
                        &configs,
                        &dir,
                        combination,
                        threads,
                        toposcape::EvalBackend::from(args.backend).name(),
                    );
                    if let Err(e) = result {
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("{}: {e:#}", combination.name));
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let rows: Vec<Numbers> = runs
        .iter()
        .map(|c| numbers(&out.join("runs").join(&c.name)))
        .collect();
    let measure = Measure::of(&rows);
    let correlations = correlations(&rows, measure);
    let pairs = seed_distances(&out, &keys, &runs)?;
    let mut files = Outputs::default();
    let table = collect(&out, &keys, &runs, &rows)?;
    files.bytes("out", &out.join("runs.csv"), table)?;
    let (order, columns) = grid_layout(&keys, &runs);
    let cells: Vec<(String, PathBuf)> = order
        .iter()
        .map(|&i| (runs[i].name.clone(), out.join("runs").join(&runs[i].name)))
        .collect();
    let grid = profile_grid(&cells, columns, args.own_scale)?;
    files.bytes("out", &out.join("profiles.png"), grid)?;
    let heatmap = error_heatmap(&out, &keys, &runs)?;
    files.bytes("out", &out.join("error.png"), heatmap)?;
    let scatter = scatter_png(&rows, measure, &correlations)?;
    files.bytes("out", &out.join("scatter.png"), scatter)?;
    let text = seeds_csv(&pairs);
    files.bytes("out", &out.join("seed_distances.csv"), text)?;
    files.commit()?;
    let sweep_text = fs::read_to_string(&args.sweep).unwrap_or_default();
    let html = sweep_report(&SweepReport {
        out: &out,
        sweep_name: &args.sweep.display().to_string(),
        sweep_text: &sweep_text,
        keys: &keys,
        runs: &runs,
        rows: &rows,
        order: &order,
        columns,
        own_scale: args.own_scale,
        measure,
        correlations: &correlations,
        pairs: &pairs,
    });
    let mut files = Outputs::default();
    files.bytes("out", &out.join("report.html"), html)?;
    files.commit()?;
    let failures = failures.into_inner().expect("lock");
    println!(
        "sweep        {} runs ({} keys: {}) in {}",
        runs.len(),
        keys.len(),
        keys.join(", "),
        out.display()
    );
    println!("table        {}", out.join("runs.csv").display());
    println!("error        {}", out.join("error.png").display());
    println!(
        "profiles     {} ({} scale)",
        out.join("profiles.png").display(),
        if args.own_scale {
            "each run's own"
        } else {
            "one shared"
        }
    );
    let shown: Vec<String> = correlations
        .iter()
        .filter_map(|c| c.rho.map(|r| format!("{} {r:+.2}", c.metric)))
        .collect();
    if shown.is_empty() {
        println!("correlation  too few complete runs for rank correlations");
    } else {
        println!(
            "correlation  Spearman's rho of {} with: {}",
            measure.label(),
            shown.join(", ")
        );
    }
    println!("scatter      {}", out.join("scatter.png").display());
    if !pairs.is_empty() {
        println!(
            "seeds        {} pairs of seeds compared in seed_distances.csv",
            pairs.len()
        );
    }
    println!("report       {}", out.join("report.html").display());
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("toposcape: run failed: {failure}");
        }
        anyhow::bail!(
            "{} of {} runs failed (see their run.log)",
            failures.len(),
            runs.len()
        );
    }
    Ok(Outcome {
        runs: runs.into_iter().map(|c| c.values).zip(rows).collect(),
        correlations,
    })
}

/// The distinct values of key `k` over the runs, in the sweep file's order.
fn distinct(runs: &[Combination], k: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for run in runs {
        let v = show(&run.values[k].1);
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen
}

/// The keys that vary, in file order but with `seed` last: the first two are the heat map's
/// rows and columns (the mean over the rest, the seeds).
fn layout_keys(keys: &[String], runs: &[Combination]) -> Vec<usize> {
    let mut varying: Vec<usize> = (0..keys.len())
        .filter(|&k| distinct(runs, k).len() > 1)
        .collect();
    varying.sort_by_key(|&k| keys[k] == "seed");
    varying
}

/// The profile grid's layout: the runs' indices in reading order and the number of columns.
/// Seeds sit side by side: the columns are the seeds of each value of the last other varying
/// key (or just the seeds when one other key varies), the rows the remaining keys; without a
/// `seed` key the last varying key goes across.
fn grid_layout(keys: &[String], runs: &[Combination]) -> (Vec<usize>, usize) {
    let layout = layout_keys(keys, runs);
    let seeds = layout.last().is_some_and(|&k| keys[k] == "seed");
    let across = match (seeds, layout.len()) {
        (_, 0) => 0,
        (true, n) if n >= 3 => 2,
        _ => 1,
    };
    let lists: Vec<Vec<String>> = (0..keys.len()).map(|k| distinct(runs, k)).collect();
    let position = |run: &Combination, k: usize| {
        lists[k]
            .iter()
            .position(|v| *v == show(&run.values[k].1))
            .unwrap_or(0)
    };
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| {
        layout
            .iter()
            .map(|&k| position(&runs[i], k))
            .collect::<Vec<_>>()
    });
    let columns = layout[layout.len() - across..]
        .iter()
        .map(|&k| lists[k].len())
        .product::<usize>()
        .max(1);
    (order, columns)
}

/// The profiles of analysed run directories `(title, dir)` in a grid of `columns` (the sweep's
/// profiles.png, laid out by [`grid_layout`]), on one shared loss scale
/// (logarithmic when every loss is positive) so the shapes compare, or each on its own with
/// `own_scale`. Directories without a finished grid landscape are drawn as missing.
pub fn profile_grid(
    cells: &[(String, PathBuf)],
    columns: usize,
    own_scale: bool,
) -> Result<Vec<u8>> {
    use toposcape_topology::render::{FigureOptions, ProfileCell, profile_grid_png};
    use toposcape_topology::{Connectivity, Grid, ProfileOptions, TreeKind};
    let mut profiles = Vec::with_capacity(cells.len());
    for (_, dir) in cells {
        let axes = read_json(&dir.join("axes.json"));
        let landscape = dir.join("landscape.npy");
        if !dir.join("metrics.json").is_file() || axes["plan"] != "grid" {
            profiles.push(None);
            continue;
        }
        let field = toposcape::field::load_field(&landscape, None)?;
        let grid = Grid::new(&field.shape, Connectivity::Freudenthal)?;
        let tree = field
            .values
            .merge_tree(&grid, TreeKind::Join, &mut |_| {})?;
        profiles.push(Some(
            field.values.profile(&tree, ProfileOptions::default())?,
        ));
    }
    let present = profiles.iter().flatten();
    let low = present
        .clone()
        .map(|p| p.value_range.0)
        .fold(f64::INFINITY, f64::min);
    let high = present
        .map(|p| p.value_range.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let shared = !own_scale && low.is_finite() && high.is_finite();
    let options = FigureOptions {
        width: 520,
        height: 420,
        log_scale: shared && low > 0.0,
        loss_range: shared.then_some((low, high)),
        ..FigureOptions::default()
    };
    let cells: Vec<ProfileCell<'_>> = cells
        .iter()
        .zip(&profiles)
        .map(|((title, _), profile)| ProfileCell {
            title: title.clone(),
            profile: profile.as_ref(),
        })
        .collect();
    Ok(profile_grid_png(&cells, columns, &options)?)
}

/// error.png: the error (PINN: relative L2 error; UNet: mean IoU) as a heat map over the first
/// two keys that vary (rows, columns; `seed` only when one other key varies), each cell the mean
/// over the other keys' values (the seeds).
fn error_heatmap(out: &Path, keys: &[String], runs: &[Combination]) -> Result<Vec<u8>> {
    use toposcape_topology::render::{FigureOptions, heatmap_png};
    let distinct = |k: usize| distinct(runs, k);
    let varying = layout_keys(keys, runs);
    let row_key = varying.first().copied();
    let column_key = varying.get(1).copied();
    let rows = row_key.map_or_else(|| vec!["all".to_string()], distinct);
    let columns = column_key.map_or_else(|| vec!["all".to_string()], distinct);
    let mut sums = vec![(0.0, 0usize); rows.len() * columns.len()];
    let mut measure = "relative L2 error";
    for run in runs {
        let train = read_json(&out.join("runs").join(&run.name).join("train_metrics.json"));
        let value = match (
            train["relative_l2_error"].as_f64(),
            train["mean_iou"].as_f64(),
        ) {
            (Some(e), _) => e,
            (None, Some(m)) => {
                measure = "mean IoU";
                m
            }
            _ => continue,
        };
        let index = |key: Option<usize>, labels: &[String]| {
            key.map_or(0, |k| {
                labels
                    .iter()
                    .position(|l| *l == show(&run.values[k].1))
                    .unwrap_or(0)
            })
        };
        let cell = index(row_key, &rows) * columns.len() + index(column_key, &columns);
        sums[cell].0 += value;
        sums[cell].1 += 1;
    }
    let values: Vec<Option<f64>> = sums
        .iter()
        .map(|&(sum, n)| (n > 0).then(|| sum / n as f64))
        .collect();
    let name = |key: Option<usize>| key.map_or("", |k| keys[k].as_str());
    let options = FigureOptions {
        width: (240 + 130 * columns.len() as u32).min(2400),
        height: (200 + 70 * rows.len() as u32).min(2400),
        title: format!("{measure}, mean over the other keys"),
        ..FigureOptions::default()
    };
    Ok(heatmap_png(
        (name(row_key), &rows),
        (name(column_key), &columns),
        &values,
        &options,
    )?)
}

/// One run as a child process, its output appended to the run directory's `run.log`.
fn run_one(
    binary: &Path,
    configs: &Path,
    dir: &Path,
    combination: &Combination,
    threads: usize,
    backend: &str,
) -> Result<()> {
    let config = configs.join(format!("{}.toml", combination.name));
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    let logs = configs.with_file_name("logs");
    fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{}.log", combination.name));
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let status = Command::new(binary)
        .args(["run"])
        .arg(&config)
        .arg("--out")
        .arg(dir)
        .args(["--backend", backend, "--threads", &threads.to_string()])
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .status()?;
    if !status.success() {
        anyhow::bail!("exit status {status}; see {}", log_path.display());
    }
    Ok(())
}

/// The numbers of runs.csv from one run directory's JSON files.
fn numbers(dir: &Path) -> Numbers {
    let read = |name: &str| read_json(&dir.join(name));
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    let train = read("train_metrics.json");
    for key in [
        "final_loss",
        "relative_l2_error",
        "pixel_accuracy",
        "mean_iou",
    ] {
        out.push((key.to_string(), text(&train[key])));
    }
    let hessian = read("hessian.json");
    for i in 0..4 {
        out.push((
            format!("eigenvalue_{}", i + 1),
            text(&hessian["eigenvalues"][i]),
        ));
    }
    out.push(("hessian_trace".into(), text(&hessian["trace"]["estimate"])));
    out.push((
        "hessian_trace_error".into(),
        text(&hessian["trace"]["standard_error"]),
    ));
    let metrics = read("metrics.json");
    let merge_tree = [
        "merge_tree_smad",
        "merge_tree_smad_normalized",
        "merge_tree_smad_weighted",
        "loss_max",
        "nonfinite",
    ];
    for key in TOPOLOGY_METRICS.iter().chain(&merge_tree) {
        out.push((key.to_string(), text(&metrics["metrics"][key])));
    }
    out
}

/// runs.csv: the run's name, the swept values, whether it completed, and its numbers.
fn collect(out: &Path, keys: &[String], runs: &[Combination], rows: &[Numbers]) -> Result<String> {
    let mut csv = String::new();
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for (i, combination) in runs.iter().enumerate() {
        let dir = out.join("runs").join(&combination.name);
        let complete = dir.join("metrics.json").is_file();
        let row = rows[i].clone();
        if i == 0 {
            let mut header = vec!["run".to_string()];
            header.extend(keys.iter().cloned());
            header.push("complete".into());
            header.extend(row.iter().map(|(k, _)| k.clone()));
            writeln!(
                csv,
                "{}",
                header
                    .iter()
                    .map(|h| quote(h))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
        }
        let mut cells = vec![combination.name.clone()];
        cells.extend(combination.values.iter().map(|(_, v)| show(v)));
        cells.push(complete.to_string());
        cells.extend(row.into_iter().map(|(_, v)| v));
        writeln!(
            csv,
            "{}",
            cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",")
        )?;
    }
    Ok(csv)
}

/// What the runs are judged by: the PINN's relative L2 error or the UNet's mean IoU.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    RelativeError,
    MeanIou,
}

impl Measure {
    /// The relative error when any run has one, else the mean IoU.
    fn of(rows: &[Numbers]) -> Self {
        let has_error = rows
            .iter()
            .any(|r| value_of(r, "relative_l2_error").is_some());
        if has_error {
            Measure::RelativeError
        } else {
            Measure::MeanIou
        }
    }

    fn key(self) -> &'static str {
        match self {
            Measure::RelativeError => "relative_l2_error",
            Measure::MeanIou => "mean_iou",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Measure::RelativeError => "the relative L2 error",
            Measure::MeanIou => "the mean IoU",
        }
    }
}

/// A number of a runs.csv row (`None`: empty or not a number).
fn value_of(row: &[(String, String)], key: &str) -> Option<f64> {
    row.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse::<f64>().ok())
}

/// The columns of runs.csv plotted against the error: the topology metrics, the top Hessian
/// eigenvalue and the Hessian's trace.
fn scatter_metrics() -> impl Iterator<Item = &'static str> {
    TOPOLOGY_METRICS
        .into_iter()
        .chain(["eigenvalue_1", "hessian_trace"])
}

/// The metrics of metrics.json that runs.csv and the scatter plots show.
const TOPOLOGY_METRICS: [&str; 9] = [
    "minima",
    "saddles",
    "average_persistence",
    "total_persistence",
    "max_persistence",
    "smad",
    "smad_normalized",
    "smad_weighted",
    "loss_min",
];

/// Spearman's rho of the measure against one metric over the runs that have both.
struct Correlation {
    metric: &'static str,
    rho: Option<f64>,
    /// The runs that have both numbers.
    n: usize,
}

fn pairs_of(rows: &[Numbers], measure: Measure, metric: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some((value_of(r, metric)?, value_of(r, measure.key())?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect()
}

fn correlations(rows: &[Numbers], measure: Measure) -> Vec<Correlation> {
    scatter_metrics()
        .map(|metric| {
            let pairs = pairs_of(rows, measure, metric);
            Correlation {
                metric,
                rho: toposcape::stats::spearman(&pairs),
                n: pairs.len(),
            }
        })
        .collect()
}

/// scatter.png: the measure against each metric, one panel each, rho in the caption.
fn scatter_png(
    rows: &[Numbers],
    measure: Measure,
    correlations: &[Correlation],
) -> Result<Vec<u8>> {
    use toposcape_topology::render::{FigureOptions, ScatterPanel, scatter_grid_png};
    let panels: Vec<ScatterPanel> = correlations
        .iter()
        .map(|c| ScatterPanel {
            title: match c.rho {
                Some(rho) => format!("{}: rho = {rho:+.2} (n = {})", c.metric, c.n),
                None if c.n < 3 => format!("{}: too few runs", c.metric),
                None => format!("{}: no spread", c.metric),
            },
            x_desc: c.metric.replace('_', " "),
            points: pairs_of(rows, measure, c.metric),
        })
        .collect();
    let positive = rows
        .iter()
        .filter_map(|r| value_of(r, measure.key()))
        .all(|v| v > 0.0);
    let options = FigureOptions {
        width: 460,
        height: 360,
        log_scale: measure == Measure::RelativeError && positive,
        ..FigureOptions::default()
    };
    let y_desc = match measure {
        Measure::RelativeError => "relative L2 error",
        Measure::MeanIou => "mean IoU",
    };
    Ok(scatter_grid_png(&panels, 6, y_desc, &options)?)
}

/// The diagram distances of two seeds' landscapes with all other values equal.
struct SeedPair {
    /// The other keys' values.
    cell: String,
    a: String,
    b: String,
    /// Exact.
    bottleneck: f64,
    /// Exact for diagrams of at most `toposcape::documents::MAX_EXACT_POINTS` points together, else to a
    /// relative error of at most `SEED_WASSERSTEIN_ERROR`.
    wasserstein: f64,
}

/// The relative error of `seed_distances.csv`'s 1-Wasserstein distances between large diagrams.
const SEED_WASSERSTEIN_ERROR: f64 = 1e-3;

/// Every pair of complete runs that differ only in `seed` (no pairs when the sweep has no
/// `seed` key): the bottleneck and 1-Wasserstein distances of their persistence diagrams, the
/// spread of landscape shapes that initialisation alone causes.
fn seed_distances(out: &Path, keys: &[String], runs: &[Combination]) -> Result<Vec<SeedPair>> {
    use toposcape_topology::{
        Diagram, bottleneck_distance, wasserstein_distance, wasserstein_estimate,
    };
    if !keys.iter().any(|k| k == "seed") {
        return Ok(Vec::new());
    }
    // A cell: the values of the other keys that vary.
    let others: Vec<usize> = layout_keys(keys, runs)
        .into_iter()
        .filter(|&k| keys[k] != "seed")
        .collect();
    let cell_of = |c: &Combination| {
        let parts: Vec<String> = others
            .iter()
            .map(|&k| {
                let (key, value) = &c.values[k];
                format!("{}={}", key.rsplit('.').next().unwrap_or(key), show(value))
            })
            .collect();
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(" ")
        }
    };
    let mut diagrams: Vec<Option<Diagram>> = Vec::with_capacity(runs.len());
    for c in runs {
        let path = out.join("runs").join(&c.name).join("metrics.json");
        let diagram = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<toposcape::documents::MetricsDocument>(&t).ok())
            .map(|d| Diagram::from(&d.diagram));
        diagrams.push(diagram);
    }
    let mut pairs = Vec::new();
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            if cell_of(&runs[i]) != cell_of(&runs[j]) {
                continue;
            }
            let (Some(a), Some(b)) = (&diagrams[i], &diagrams[j]) else {
                continue;
            };
            let small = a.points.len() + b.points.len() <= toposcape::documents::MAX_EXACT_POINTS;
            pairs.push(SeedPair {
                cell: cell_of(&runs[i]),
                a: runs[i].name.clone(),
                b: runs[j].name.clone(),
                bottleneck: bottleneck_distance(a, b),
                wasserstein: if small {
                    wasserstein_distance(a, b)
                } else {
                    wasserstein_estimate(a, b, SEED_WASSERSTEIN_ERROR).value
                },
            });
        }
    }
    Ok(pairs)
}

fn seeds_csv(pairs: &[SeedPair]) -> String {
    let mut csv = String::from("cell,run_a,run_b,bottleneck,wasserstein\n");
    let text = |v: f64| format!("{v:e}");
    for p in pairs {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            p.cell,
            p.a,
            p.b,
            text(p.bottleneck),
            text(p.wasserstein)
        );
    }
    csv
}

/// What the sweep's report shows.
struct SweepReport<'a> {
    out: &'a Path,
    sweep_name: &'a str,
    sweep_text: &'a str,
    keys: &'a [String],
    runs: &'a [Combination],
    /// runs.csv's numbers of each run.
    rows: &'a [Numbers],
    /// The runs in the profile grid's reading order, and its columns.
    order: &'a [usize],
    columns: usize,
    own_scale: bool,
    measure: Measure,
    correlations: &'a [Correlation],
    pairs: &'a [SeedPair],
}

/// report.html of the sweep: the error heat map, the profile grid (each cell a link to its
/// run's report), the scatter plots and rank correlations, the seed distances, and every run.
fn sweep_report(r: &SweepReport<'_>) -> String {
    let mut page = Page::new(&format!("toposcape sweep: {}", r.sweep_name));
    let complete = r
        .runs
        .iter()
        .filter(|c| {
            r.out
                .join("runs")
                .join(&c.name)
                .join("metrics.json")
                .is_file()
        })
        .count();
    let varying = layout_keys(r.keys, r.runs);
    let names: Vec<&str> = varying.iter().map(|&k| r.keys[k].as_str()).collect();
    page.note(&format!(
        "{} runs over {} ({} complete). Every run has its own report: follow a profile or a \
         name below; the sweep file at the end has the values every run shares.",
        r.runs.len(),
        names.join(", "),
        complete
    ));
    page.heading("Error");
    page.image_file(&r.out.join("error.png"), "error heat map");

    page.heading("Topological landscape profiles");
    page.note(if r.own_scale {
        "Each profile on its own loss scale (--own-scale): compare shapes, not heights."
    } else {
        "All profiles on one shared loss scale (logarithmic when every loss is positive), so \
         heights and depths compare across cells."
    });
    if let Some(img) = image_tag(&r.out.join("profiles.png"), "profiles of every run") {
        // Links laid over the grid's cells, placed in percentages so they follow the image
        // when it is scaled to the page.
        let columns = r.columns.clamp(1, r.runs.len().max(1));
        let rows = r.runs.len().div_ceil(columns).max(1);
        let mut html = format!("<div class=\"grid\">{img}");
        for (i, c) in r.order.iter().map(|&k| &r.runs[k]).enumerate() {
            let (row, column) = (i / columns, i % columns);
            let _ = write!(
                html,
                "<a href=\"runs/{0}/report.html\" title=\"{0}\" style=\"left:{1:.4}%;top:{2:.4}%;\
                 width:{3:.4}%;height:{4:.4}%\"></a>",
                escape(&c.name),
                100.0 * column as f64 / columns as f64,
                100.0 * row as f64 / rows as f64,
                100.0 / columns as f64,
                100.0 / rows as f64
            );
        }
        html.push_str("</div>");
        page.raw(&html);
    } else {
        page.note("(profiles.png is not there)");
    }

    page.heading("Error against topology");
    page.note(&format!(
        "Spearman's rank correlation of {} with each metric over the complete runs: +1 when \
         the metric orders the runs exactly as the error does.",
        r.measure.label()
    ));
    page.image_file(&r.out.join("scatter.png"), "error against each metric");
    let rows: Vec<Vec<Cell>> = r
        .correlations
        .iter()
        .map(|c| {
            vec![
                c.metric.into(),
                c.rho.map_or("-".into(), |v| format!("{v:+.3}")).into(),
                c.n.to_string().into(),
            ]
        })
        .collect();
    page.table(&["metric", "Spearman's rho", "runs"], &rows);

    page.heading("Spread across seeds");
    if r.pairs.is_empty() {
        page.note("No pairs of complete runs that differ only in `seed`.");
    } else {
        page.note(
            "Distances between the persistence diagrams of runs that differ only in their seed, \
             in loss units (seed_distances.csv).",
        );
        let rows: Vec<Vec<Cell>> = r
            .pairs
            .iter()
            .map(|p| {
                vec![
                    p.cell.clone().into(),
                    Cell::Html(format!(
                        "<a href=\"runs/{0}/report.html\">{0}</a>",
                        escape(&p.a)
                    )),
                    Cell::Html(format!(
                        "<a href=\"runs/{0}/report.html\">{0}</a>",
                        escape(&p.b)
                    )),
                    number(p.bottleneck).into(),
                    number(p.wasserstein).into(),
                ]
            })
            .collect();
        page.table(
            &["cell", "run", "run", "bottleneck", "1-Wasserstein"],
            &rows,
        );
    }

    page.heading("Runs");
    let mut header: Vec<&str> = vec!["run"];
    header.extend(names.iter().copied());
    header.extend(["final loss", "error / mIoU", "minima", "avg. persistence"]);
    let rows: Vec<Vec<Cell>> = r
        .runs
        .iter()
        .zip(r.rows)
        .map(|(c, numbers)| {
            let get = |k: &str| value_of(numbers, k).map_or("-".to_string(), number);
            let mut row = vec![Cell::Html(format!(
                "<a href=\"runs/{0}/report.html\">{0}</a>",
                escape(&c.name)
            ))];
            row.extend(varying.iter().map(|&k| Cell::from(show(&c.values[k].1))));
            row.push(get("final_loss").into());
            row.push(get(r.measure.key()).into());
            row.push(get("minima").into());
            row.push(get("average_persistence").into());
            row
        })
        .collect();
    page.table(&header, &rows);
    page.heading("Sweep file");
    page.preformatted(r.sweep_text);
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_grids_put_seeds_side_by_side() {
        let combination = |beta: f64, seed: i64, rate: f64| Combination {
            name: format!("{beta}-{seed}-{rate}"),
            values: vec![
                ("convection.beta".into(), toml::Value::Float(beta)),
                ("seed".into(), toml::Value::Integer(seed)),
                ("training.learning_rate".into(), toml::Value::Float(rate)),
            ],
            config: String::new(),
        };
        let keys: Vec<String> = ["convection.beta", "seed", "training.learning_rate"]
            .map(String::from)
            .to_vec();
        // File order: beta slowest, then seed, then the rate.
        let mut runs = Vec::new();
        for beta in [1.0, 30.0] {
            for seed in [0, 1] {
                for rate in [0.1, 0.01] {
                    runs.push(combination(beta, seed, rate));
                }
            }
        }
        // Rows: beta; across: each rate's two seeds.
        let (order, columns) = grid_layout(&keys, &runs);
        let names: Vec<&str> = order.iter().map(|&i| runs[i].name.as_str()).collect();
        assert_eq!(columns, 4);
        assert_eq!(
            names,
            [
                "1-0-0.1",
                "1-1-0.1",
                "1-0-0.01",
                "1-1-0.01",
                "30-0-0.1",
                "30-1-0.1",
                "30-0-0.01",
                "30-1-0.01"
            ]
        );
        // The heat map: beta down, the rate across, the mean over seeds.
        assert_eq!(layout_keys(&keys, &runs), [0, 2, 1]);
        // Only beta and seed vary: seeds across.
        let combination_like = |c: &Combination| Combination {
            name: c.name.clone(),
            values: c.values.clone(),
            config: String::new(),
        };
        let few: Vec<Combination> = runs
            .iter()
            .filter(|c| c.name.ends_with("-0.1"))
            .map(combination_like)
            .collect();
        let (order, columns) = grid_layout(&keys, &few);
        assert_eq!(columns, 2);
        assert_eq!(order, [0, 1, 2, 3]);
        // Seeds not varied: the last varying key (the rate) across.
        let one_seed: Vec<Combination> = (0..runs.len())
            .filter(|i| i % 4 < 2)
            .map(|i| combination_like(&runs[i]))
            .collect();
        let (order, columns) = grid_layout(&keys, &one_seed);
        assert_eq!(columns, 2);
        assert_eq!(order, [0, 1, 2, 3]);
    }

    #[test]
    fn run_names_show_the_varying_keys() {
        let values = vec![
            ("convection.beta".to_string(), toml::Value::Float(5.0)),
            ("landscape.dims".to_string(), toml::Value::Integer(3)),
            ("pet.root".to_string(), toml::Value::String("a b/c".into())),
        ];
        assert_eq!(
            run_name(&values, &[true, false, true]),
            "beta=5.0_root=a-b-c"
        );
        assert_eq!(run_name(&values[..2], &[false, false]), "beta=5.0_dims=3");
        let mut table = toml::Table::new();
        set_key(&mut table, "a.b.c", toml::Value::Integer(1)).unwrap();
        assert_eq!(get_key(&table, "a.b.c"), Some(&toml::Value::Integer(1)));
        assert!(set_key(&mut table, "a.b.c.d", toml::Value::Integer(1)).is_err());
        let text = "base = \"b.toml\"\n[values]\nseed = [0, 1]\n\"convection.beta\" = [\n  1.0,\n]\n'training.epochs' = [2]\n";
        assert_eq!(
            key_order(text),
            vec!["seed", "convection.beta", "training.epochs"]
        );
    }
}
