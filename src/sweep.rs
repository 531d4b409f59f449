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

use crate::analyze::EvalBackend;
use crate::bail_input;
use crate::config;
use crate::error::InputError;

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
    #[arg(long, value_enum, default_value_t = EvalBackend::Cpu)]
    pub backend: EvalBackend,
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
    values: Vec<(String, toml::Value)>,
    config: String,
}

/// Keys whose values are paths, resolved against the base config's folder when the configs are
/// written elsewhere.
const PATH_KEYS: [&str; 2] = ["pet.root", "landscape.through"];

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
fn show(value: &toml::Value) -> String {
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

pub fn run(args: &SweepArgs) -> Result<()> {
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
                        args.backend.name(),
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
    let table = collect(&out, &keys, &runs)?;
    let csv = out.join("runs.csv");
    let partial = out.join(".runs.csv.partial");
    fs::write(&partial, table)?;
    fs::rename(&partial, &csv)?;
    let columns = values_of_last_varying(&runs);
    let grid = profile_grid(&out, &runs, columns, args.own_scale)?;
    let partial = out.join(".profiles.png.partial");
    fs::write(&partial, grid)?;
    fs::rename(&partial, out.join("profiles.png"))?;
    let heatmap = error_heatmap(&out, &keys, &runs)?;
    let partial = out.join(".error.png.partial");
    fs::write(&partial, heatmap)?;
    fs::rename(&partial, out.join("error.png"))?;
    let failures = failures.into_inner().expect("lock");
    println!(
        "sweep        {} runs ({} keys: {}) in {}",
        runs.len(),
        keys.len(),
        keys.join(", "),
        out.display()
    );
    println!("table        {}", csv.display());
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
    Ok(())
}

/// The number of values of the last key that varies (the columns of the profile grid).
fn values_of_last_varying(runs: &[Combination]) -> usize {
    let keys = runs.first().map_or(0, |r| r.values.len());
    (0..keys)
        .rev()
        .map(|k| {
            let mut seen: Vec<String> = runs.iter().map(|r| show(&r.values[k].1)).collect();
            seen.sort();
            seen.dedup();
            seen.len()
        })
        .find(|&n| n > 1)
        .unwrap_or(1)
}

/// profiles.png: every complete grid run's profile in sweep order (the last varying key across,
/// the others down), on one shared loss scale (logarithmic when every loss is positive) so the
/// shapes compare, or each on its own with `own_scale`.
fn profile_grid(
    out: &Path,
    runs: &[Combination],
    columns: usize,
    own_scale: bool,
) -> Result<Vec<u8>> {
    use toposcape_topology::render::{FigureOptions, ProfileCell, profile_grid_png};
    use toposcape_topology::{Connectivity, Grid, ProfileOptions, TreeKind};
    let mut profiles = Vec::with_capacity(runs.len());
    for combination in runs {
        let dir = out.join("runs").join(&combination.name);
        let axes = read_json(&dir.join("axes.json"));
        let landscape = dir.join("landscape.npy");
        if !dir.join("metrics.json").is_file() || axes["plan"] != "grid" {
            profiles.push(None);
            continue;
        }
        let field = crate::field::load_field(&landscape, None)?;
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
    let cells: Vec<ProfileCell<'_>> = runs
        .iter()
        .zip(&profiles)
        .map(|(combination, profile)| ProfileCell {
            title: combination.name.clone(),
            profile: profile.as_ref(),
        })
        .collect();
    Ok(profile_grid_png(&cells, columns, &options)?)
}

/// error.png: the error (PINN: relative L2 error; UNet: mean IoU) as a heat map over the first
/// two keys that vary (rows, columns), each cell the mean over the other keys' values (seeds).
fn error_heatmap(out: &Path, keys: &[String], runs: &[Combination]) -> Result<Vec<u8>> {
    use toposcape_topology::render::{FigureOptions, heatmap_png};
    let distinct = |k: usize| {
        let mut seen: Vec<String> = Vec::new();
        for run in runs {
            let v = show(&run.values[k].1);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen
    };
    let varying: Vec<usize> = (0..keys.len()).filter(|&k| distinct(k).len() > 1).collect();
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

/// A run's JSON file, or null when it is missing (an incomplete run) or unreadable.
fn read_json(path: &Path) -> Value {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// The numbers of runs.csv from one run directory's JSON files.
fn numbers(dir: &Path) -> Vec<(String, String)> {
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
    let metrics = read("metrics.json");
    for key in [
        "minima",
        "saddles",
        "average_persistence",
        "total_persistence",
        "max_persistence",
        "smad",
        "smad_normalized",
        "smad_weighted",
        "loss_min",
        "loss_max",
        "nonfinite",
    ] {
        out.push((key.to_string(), text(&metrics["metrics"][key])));
    }
    out
}

/// runs.csv: the run's name, the swept values, whether it completed, and its numbers.
fn collect(out: &Path, keys: &[String], runs: &[Combination]) -> Result<String> {
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
        let row = numbers(&dir);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
