//! Mutation fuzzing of what toposcape reads from users: `.npy` files and `.npz` archives, run
//! configs and sweep files. Valid inputs are mutated byte by byte (bits flipped, bytes
//! replaced, inserted, deleted, runs repeated, the end cut off) and read; every outcome must be
//! a value or an error, never a panic, an abort or a hang. proptest draws the mutations from a
//! fixed seed, so CI runs the same cases every time, a bounded number of them
//! (`TOPOSCAPE_FUZZ_CASES`, default 1500 per reader), and shrinks any failure to a small one.

mod common;

use std::fs;
use std::path::Path;

use common::{npy_bytes, npz_bytes, scratch};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use toposcape::field::load_field;
use toposcape::sweep::SweepPlan;

/// One change to a byte string; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Repeat(usize, usize),
    Truncate(usize),
    /// A byte from the inputs' own vocabulary: digits, quotes, brackets, signs.
    Token(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = b"0123456789-+.eE'\"()[]{},:= \n\\xinfatrue";
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1usize..32).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Repeat(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0..tokens.len()).prop_map(move |(i, t)| Mutation::Token(i, tokens[t])),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        bytes.push(0);
    }
    let at = |i: usize| i % bytes.len();
    match m {
        Mutation::FlipBit(i, bit) => {
            let i = at(*i);
            bytes[i] ^= 1 << bit;
        }
        Mutation::Set(i, v) | Mutation::Token(i, v) => {
            let i = at(*i);
            bytes[i] = *v;
        }
        Mutation::Insert(i, v) => {
            let i = at(*i);
            bytes.splice(i..i, v.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = at(*i);
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Repeat(i, n) => {
            let i = at(*i);
            let end = (i + n).min(bytes.len());
            let run = bytes[i..end].to_vec();
            bytes.splice(end..end, run);
        }
        Mutation::Truncate(i) => {
            let i = at(*i);
            bytes.truncate(i);
        }
    }
}

/// A seed chosen from `seeds` and one to eight mutations of it.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (0..seeds.len(), proptest::collection::vec(mutation(), 1..8)).prop_map(move |(k, mutations)| {
        let mut bytes = seeds[k].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        bytes
    })
}

/// The same cases on every run: a fixed seed, no failure persistence files.
fn runner() -> TestRunner {
    let cases = std::env::var("TOPOSCAPE_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1500);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

fn floats(n: usize) -> (Vec<u8>, Vec<u8>) {
    let f32s = (0..n)
        .flat_map(|i| ((i as f32) * 0.37).sin().to_le_bytes())
        .collect();
    let f64s = (0..n)
        .flat_map(|i| ((i as f64) * 0.37).cos().to_le_bytes())
        .collect();
    (f32s, f64s)
}

#[test]
fn mutated_arrays_never_panic() {
    let (f32s, f64s) = floats(60);
    let grid = npy_bytes("<f4", false, &[5, 12], &f32s);
    let seeds = vec![
        grid.clone(),
        npy_bytes("<f8", true, &[3, 4, 5], &f64s),
        npy_bytes(">f4", false, &[60], &f32s),
        npy_bytes("<f8", false, &[2, 2, 3, 5], &f64s),
        npz_bytes(&[("loss", grid.clone())], false),
        npz_bytes(
            &[
                ("loss", npy_bytes("<f8", false, &[6, 10], &f64s)),
                ("other", grid),
            ],
            true,
        ),
    ];
    let dir = scratch("arrays");
    let path = dir.join("input.npy");
    runner()
        .run(&mutated(seeds), |bytes| {
            fs::write(&path, &bytes).unwrap();
            // Both the default array and a named one of an archive.
            for key in [None, Some("loss")] {
                if let Ok(field) = load_field(&path, key) {
                    let count: usize = field.shape.iter().product();
                    let len = match &field.values {
                        toposcape::field::FieldValues::F32(v) => v.len(),
                        toposcape::field::FieldValues::F64(v) => v.len(),
                    };
                    prop_assert_eq!(count, len);
                }
            }
            Ok(())
        })
        .unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

/// The configs a user starts from: the shipped ones and the tests' tiny PINN.
fn config_seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<Vec<u8>> = ["configs/pinn-convection.toml", "configs/unet-shapes.toml"]
        .iter()
        .map(|f| fs::read(root.join(f)).unwrap())
        .collect();
    seeds.push(fs::read(root.join("tests/fixtures/tiny-pinn.toml")).unwrap());
    seeds
}

#[test]
fn mutated_configs_never_panic_and_what_parses_round_trips() {
    runner()
        .run(&mutated(config_seeds()), |bytes| {
            let text = String::from_utf8_lossy(&bytes);
            match toposcape::config::parse(&text, "c.toml") {
                Ok(config) => {
                    // A config that is read is one toposcape can write back and read again.
                    let again = toposcape::config::parse(&config.to_toml(), "resolved.toml");
                    prop_assert_eq!(again.ok(), Some(config));
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.starts_with("c.toml"), "{}", message);
                    prop_assert!(!message.contains('\n'), "{}", message);
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Values that find the edges of a config's checks: zero, negative, huge, non-finite, of
/// the wrong type.
fn edge_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value;
    let ints = [
        0,
        1,
        2,
        3,
        7,
        -1,
        255,
        65_536,
        1 << 31,
        (1 << 32) + 1,
        i64::MAX,
        i64::MIN,
    ];
    let floats = [
        0.0,
        -0.0,
        1e-300,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.5,
        -2.5,
    ];
    let strings = [
        "",
        "x",
        "hessian",
        "random",
        "a.npy",
        "../x.safetensors",
        "\u{0}",
    ];
    prop_oneof![
        proptest::sample::select(ints.to_vec()).prop_map(Value::Integer),
        proptest::sample::select(floats.to_vec()).prop_map(Value::Float),
        proptest::sample::select(strings.to_vec()).prop_map(|s| Value::String(s.into())),
        any::<bool>().prop_map(Value::Boolean),
        proptest::collection::vec(proptest::sample::select(ints.to_vec()), 0..5)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::Integer).collect())),
        Just(Value::Table(toml::Table::new())),
    ]
}

/// Every key of a table, dotted, down to its values.
fn dotted_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        out.push(path.clone());
        if let toml::Value::Table(inner) = value {
            dotted_keys(inner, &format!("{path}."), out);
        }
    }
}

fn set_dotted(table: &mut toml::Table, key: &str, value: Option<toml::Value>) {
    match key.split_once('.') {
        None => match value {
            Some(v) => {
                table.insert(key.to_string(), v);
            }
            None => {
                table.remove(key);
            }
        },
        Some((head, rest)) => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(head) {
                set_dotted(inner, rest, value);
            }
        }
    }
}

/// The seeds resolved (every key present, defaults written out) with one to four keys set to
/// an edge value or removed: the checks themselves, which byte mutations rarely reach.
#[test]
fn configs_with_edge_values_never_panic() {
    let seeds: Vec<toml::Table> = config_seeds()
        .iter()
        .map(|bytes| {
            let config =
                toposcape::config::parse(std::str::from_utf8(bytes).unwrap(), "seed").unwrap();
            toml::from_str(&config.to_toml()).unwrap()
        })
        .collect();
    let keys: Vec<Vec<String>> = seeds
        .iter()
        .map(|t| {
            let mut keys = Vec::new();
            dotted_keys(t, "", &mut keys);
            keys
        })
        .collect();
    let changes = proptest::collection::vec(
        (
            any::<proptest::sample::Index>(),
            proptest::option::weighted(0.9, edge_value()),
        ),
        1..5,
    );
    let refused = std::cell::Cell::new(0);
    let accepted = std::cell::Cell::new(0);
    runner()
        .run(&(0..seeds.len(), changes), |(k, changes)| {
            let mut table = seeds[k].clone();
            for (index, value) in changes {
                let key: &String = index.get(&keys[k]);
                set_dotted(&mut table, key, value);
            }
            let text = toml::to_string(&table).unwrap();
            match toposcape::config::parse(&text, "c.toml") {
                Ok(config) => {
                    accepted.set(accepted.get() + 1);
                    // What it needs in memory is counted without overflow or panic.
                    let _ = toposcape::memory::training(&config).check(Some(1e12));
                    let _ = toposcape::memory::analysis(&config, 64, 1024).check(Some(1e12));
                    let again = toposcape::config::parse(&config.to_toml(), "resolved.toml");
                    prop_assert_eq!(again.ok(), Some(config));
                }
                Err(e) => {
                    refused.set(refused.get() + 1);
                    let message = e.to_string();
                    prop_assert!(message.starts_with("c.toml: "), "{}", message);
                    prop_assert!(!message.contains('\n'), "{}", message);
                }
            }
            Ok(())
        })
        .unwrap();
    // Both outcomes are reached, so the checks are exercised both ways.
    let (accepted, refused) = (accepted.get(), refused.get());
    assert!(
        accepted > 50 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn mutated_sweeps_never_panic() {
    let dir = scratch("sweeps");
    fs::write(dir.join("base.toml"), common::TINY_PINN).unwrap();
    let seeds = vec![
        b"base = \"base.toml\"\n[values]\n\"convection.beta\" = [1.0, 4.0]\nseed = [0, 1]\n"
            .to_vec(),
        b"base = \"base.toml\"\n[values]\n\"training.learning_rate\" = [0.01, 0.1]\n\"landscape.points\" = [5]\n"
            .to_vec(),
    ];
    let path = dir.join("s.toml");
    runner()
        .run(&mutated(seeds), |bytes| {
            fs::write(&path, &bytes).unwrap();
            if let Err(e) = SweepPlan::read(&path) {
                let message = e.to_string();
                prop_assert!(!message.contains('\n'), "{}", message);
            }
            Ok(())
        })
        .unwrap();
    fs::remove_dir_all(&dir).unwrap();
}
