//! A sweep file and its combinations: a base config and lists of values for any of its keys,
//! every combination checked as a config before anything runs.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{self, RunConfig};
use crate::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    base: String,
    values: toml::Table,
}

/// A run's swept keys and their values, in the sweep file's order.
pub type Values = Vec<(String, toml::Value)>;

/// One combination of a sweep: its run's name, the swept keys' values, and its config.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// The run's name (`beta=5.0_seed=1`): the values of the keys that vary.
    pub name: String,
    /// The swept keys' values.
    pub values: Values,
    /// The run's config, checked and fully resolved, as TOML.
    pub config: String,
}

impl SweepRun {
    /// The value of swept key `key` as it appears in run names and runs.csv.
    pub fn value(&self, key: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| show(v))
    }
}

/// A sweep file read and every combination checked.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// The base config's file.
    pub base: PathBuf,
    /// The swept keys in the file's order (the first varies slowest).
    pub keys: Vec<String>,
    /// Every combination, the last key varying fastest.
    pub runs: Vec<SweepRun>,
}

/// Keys whose values are paths, resolved against the base config's folder when the configs are
/// written elsewhere.
const PATH_KEYS: [&str; 4] = [
    "pet.root",
    "landscape.through",
    "training.weights",
    "landscape.directions",
];

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
pub fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A run's name from the values of the keys that vary (all of them when none does).
fn run_name(values: &[(String, toml::Value)], varies: &[bool]) -> String {
    values
        .iter()
        .zip(varies)
        .filter(|(_, v)| **v || !varies.contains(&true))
        .map(|((key, value), _)| {
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

/// The base config as a table, its path keys made absolute (the run configs live elsewhere).
fn base_table(name: &str, path: &Path) -> Result<toml::Table> {
    let text = fs::read_to_string(path).map_err(|e| {
        Error::Input(format!(
            "{name}: key base: cannot read {}: {e}",
            path.display()
        ))
    })?;
    // The base must be a valid config itself.
    config::parse(&text, &path.display().to_string())?;
    let mut base: toml::Table = text
        .parse()
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    resolve_paths(&mut base, &config::folder_of(path));
    Ok(base)
}

/// The path keys of `table` made absolute against `dir` (the folder of the file that named
/// them). The directions are a path only when they name an .npy file.
fn resolve_paths(table: &mut toml::Table, dir: &Path) {
    let absolute = |v: &toml::Value| match v {
        toml::Value::String(s) => toml::Value::String(dir.join(s).display().to_string()),
        other => other.clone(),
    };
    let is_path = |key: &str, value: &toml::Value| {
        key != "landscape.directions" || value.as_str().is_some_and(|s| s.ends_with(".npy"))
    };
    for key in PATH_KEYS {
        if let Some(value) = get_key(table, key).cloned().filter(|v| is_path(key, v)) {
            let resolved = match &value {
                toml::Value::Array(items) => {
                    toml::Value::Array(items.iter().map(absolute).collect())
                }
                other => absolute(other),
            };
            // The key was just read, so every section on its way is a table.
            set_key(table, key, resolved).expect("a key that is there");
        }
    }
}

/// The files a run's config names, each checked to exist, so that a sweep fails before it
/// runs anything rather than at the combination that names a missing file.
fn check_files(config: &RunConfig, what: &str) -> Result<()> {
    let mut files: Vec<(&str, &str)> = Vec::new();
    if let Some(weights) = &config.training.weights {
        files.push(("training.weights", weights));
    }
    if config.landscape.directions.ends_with(".npy") {
        files.push(("landscape.directions", &config.landscape.directions));
    }
    for through in &config.landscape.through {
        files.push(("landscape.through", through));
    }
    if let Some(pet) = &config.pet {
        files.push(("pet.root", &pet.root));
    }
    if let Some((key, file)) = files
        .into_iter()
        .find(|(_, file)| !Path::new(file).exists())
    {
        return Err(Error::Input(format!(
            "{what}: key {key}: {file}: no such file"
        )));
    }
    // A model or grid too large for this machine is refused before any run starts, as each
    // run would refuse it (with one thread: `--jobs` share the cores).
    let available = crate::memory::available();
    crate::memory::training(config)
        .check(available)
        .and_then(|()| crate::memory::analysis(config, 1, 1).check(available))
        .map_err(|(key, why)| Error::Input(format!("{what}: key {key}: {why}")))
}

/// The `[values]` lists, in the file's order (the first key varies slowest, and the first two
/// are the heat map's rows and columns).
fn axes(name: &str, text: &str, values: &toml::Table) -> Result<Vec<(String, Vec<toml::Value>)>> {
    let mut axes = Vec::new();
    for (key, values) in values {
        let toml::Value::Array(list) = values else {
            return Err(Error::Input(format!(
                "{name}: key values.{key}: expected a list of values"
            )));
        };
        if list.is_empty() {
            return Err(Error::Input(format!(
                "{name}: key values.{key}: expected at least one value"
            )));
        }
        if let Some(twice) = list
            .iter()
            .enumerate()
            .find(|(i, v)| list[..*i].contains(v))
        {
            return Err(Error::Input(format!(
                "{name}: key values.{key}: {} is listed twice; expected each value once \
                 (two runs of one combination would share a run directory)",
                show(twice.1)
            )));
        }
        axes.push((key.clone(), list.clone()));
    }
    if axes.is_empty() {
        return Err(Error::Input(format!(
            "{name}: key values: expected at least one key with a list of values"
        )));
    }
    // TOML tables come back sorted by key; the sweep keeps the file's order.
    let order = key_order(text);
    axes.sort_by_key(|(key, _)| order.iter().position(|k| k == key).unwrap_or(usize::MAX));
    Ok(axes)
}

impl SweepPlan {
    /// Reads the sweep file at `path` and checks every combination as a config.
    pub fn read(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let text = fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("{name}: cannot read the sweep: {e}")))?;
        let sweep: SweepFile = config::parse_toml(&text, &name)?;
        let base_path = config::folder_of(path).join(&sweep.base);
        let base = base_table(&name, &base_path)?;
        let axes = axes(&name, &text, &sweep.values)?;
        let varies: Vec<bool> = axes.iter().map(|(_, list)| list.len() > 1).collect();
        let count: usize = axes.iter().map(|(_, v)| v.len()).product();
        let mut runs = Vec::with_capacity(count);
        for index in 0..count {
            let mut rest = index;
            let mut chosen = Vec::new();
            for (key, list) in axes.iter().rev() {
                chosen.push((key.clone(), list[rest % list.len()].clone()));
                rest /= list.len();
            }
            chosen.reverse();
            let mut swept = toml::Table::new();
            for (key, value) in &chosen {
                set_key(&mut swept, key, value.clone())
                    .map_err(|e| Error::Input(format!("{name}: key values.{key}: {e}")))?;
            }
            // Paths among the values are the sweep file's, relative to its folder.
            resolve_paths(&mut swept, &config::folder_of(path));
            let mut table = base.clone();
            for (key, _) in &chosen {
                let value = get_key(&swept, key).cloned().expect("set above");
                set_key(&mut table, key, value)
                    .map_err(|e| Error::Input(format!("{name}: key values.{key}: {e}")))?;
            }
            let run = run_name(&chosen, &varies);
            let text = toml::to_string(&table).map_err(|e| Error::Internal(e.to_string()))?;
            let what = format!("{name} (run {run})");
            let checked = config::parse(&text, &what)?;
            check_files(&checked, &what)?;
            runs.push(SweepRun {
                name: run,
                values: chosen,
                config: checked.to_toml(),
            });
        }
        Ok(SweepPlan {
            base: base_path,
            keys: axes.into_iter().map(|(k, _)| k).collect(),
            runs,
        })
    }

    /// The distinct values of key `k` over the runs, in the sweep file's order.
    pub fn distinct(&self, k: usize) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for run in &self.runs {
            let v = show(&run.values[k].1);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen
    }

    /// The keys that vary, in file order but with `seed` last: the first two are the heat
    /// map's rows and columns (the mean over the rest, the seeds).
    pub fn layout_keys(&self) -> Vec<usize> {
        let mut varying: Vec<usize> = (0..self.keys.len())
            .filter(|&k| self.distinct(k).len() > 1)
            .collect();
        varying.sort_by_key(|&k| self.keys[k] == "seed");
        varying
    }

    /// The profile grid's layout: the runs' indices in reading order and the number of
    /// columns. Seeds sit side by side: the columns are the seeds of each value of the last
    /// other varying key (or just the seeds when one other key varies), the rows the remaining
    /// keys; without a `seed` key the last varying key goes across.
    pub fn grid_layout(&self) -> (Vec<usize>, usize) {
        let layout = self.layout_keys();
        let seeds = layout.last().is_some_and(|&k| self.keys[k] == "seed");
        let across = match (seeds, layout.len()) {
            (_, 0) => 0,
            (true, n) if n >= 3 => 2,
            _ => 1,
        };
        let lists: Vec<Vec<String>> = (0..self.keys.len()).map(|k| self.distinct(k)).collect();
        let position = |run: &SweepRun, k: usize| {
            lists[k]
                .iter()
                .position(|v| *v == show(&run.values[k].1))
                .unwrap_or(0)
        };
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_by_key(|&i| {
            layout
                .iter()
                .map(|&k| position(&self.runs[i], k))
                .collect::<Vec<_>>()
        });
        let columns = layout[layout.len() - across..]
            .iter()
            .map(|&k| lists[k].len())
            .product::<usize>()
            .max(1);
        (order, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(runs: Vec<SweepRun>) -> SweepPlan {
        SweepPlan {
            base: PathBuf::new(),
            keys: ["convection.beta", "seed", "training.learning_rate"]
                .map(String::from)
                .to_vec(),
            runs,
        }
    }

    #[test]
    fn profile_grids_put_seeds_side_by_side() {
        let combination = |beta: f64, seed: i64, rate: f64| SweepRun {
            name: format!("{beta}-{seed}-{rate}"),
            values: vec![
                ("convection.beta".into(), toml::Value::Float(beta)),
                ("seed".into(), toml::Value::Integer(seed)),
                ("training.learning_rate".into(), toml::Value::Float(rate)),
            ],
            config: String::new(),
        };
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
        let all = plan(runs.clone());
        let (order, columns) = all.grid_layout();
        let names: Vec<&str> = order.iter().map(|&i| all.runs[i].name.as_str()).collect();
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
        assert_eq!(all.layout_keys(), [0, 2, 1]);
        // Only beta and seed vary: seeds across.
        let few = plan(
            runs.iter()
                .filter(|c| c.name.ends_with("-0.1"))
                .cloned()
                .collect(),
        );
        let (order, columns) = few.grid_layout();
        assert_eq!(columns, 2);
        assert_eq!(order, [0, 1, 2, 3]);
        // Seeds not varied: the last varying key (the rate) across.
        let one_seed = plan(
            (0..runs.len())
                .filter(|i| i % 4 < 2)
                .map(|i| runs[i].clone())
                .collect(),
        );
        let (order, columns) = one_seed.grid_layout();
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
