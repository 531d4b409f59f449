//! `toposcape bench`: measured speed of the pieces a landscape is made of, on each CPU backend
//! (and wgpu in a wgpu build), with ratios against a baseline measured in the same run:
//! landscape points per second of the PINN and the UNet (one point at a time, batched, and the
//! PINN's CPU kernel; on a GPU several batch sizes, the fastest marked), Hessian-vector products per second and the cost of the top four
//! eigenpairs, merge-tree vertices per second on 41^3 and 41^4 grids, and the end-to-end time
//! of a small `toposcape run`. Prints a table and writes `bench.json`.
//!
//! The models are freshly initialised (seeded) with the shipped configs' shapes: speed does not
//! depend on trained weights. Points lie within 0.01 ||theta0|| of theta0 along two random unit
//! directions, as a default landscape does.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::Args;
use serde::Serialize;
use toposcape_models::batched::PinnBatched;
use toposcape_models::kernel::{PinnKernel, stacked_row_count};
use toposcape_models::unet_batched::UnetBatched;
use toposcape_perturb::directions::unit_rows;
use toposcape_perturb::hessian::{Hvp, LanczosOptions, ProductMethod, top_eigenpairs};
use toposcape_perturb::model::ModuleLoss;
use toposcape_perturb::params::flatten;
use toposcape_perturb::plan::norm;
use toposcape_perturb::random::SplitMix64;
use toposcape_perturb::sample::{Directions, Perturbed, PointEvaluator};
use toposcape_topology::{Connectivity, Grid, join_tree};

use crate::bail_input;
use toposcape::EvalBackend;
use toposcape::config::{self, RunConfig};

/// Arguments of `toposcape bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Repeats of each measurement; the table shows the median and the range
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub repeats: usize,
    /// Small work sizes: a quick look (and the test), not figures to quote
    #[arg(long)]
    pub quick: bool,
    /// Where the figures go (JSON)
    #[arg(long, value_name = "FILE", default_value = "bench.json")]
    pub out: PathBuf,
    /// Also run the Python peers of benches/peers/ (Landscaper, torch.func.vmap, PyHessian,
    /// gudhi) on the shipped models/pinn-beta1; run from the toposcape checkout
    #[arg(long)]
    pub peers: bool,
    /// The Python for --peers (with torch, landscaper, pyhessian, gudhi and numpy)
    #[arg(long, value_name = "PYTHON", default_value = "python3")]
    pub python: PathBuf,
    /// Batch sizes of the batched PINN rows on wgpu, comma separated [default: 64,256,1024,4096
    /// on a GPU, up to what its largest buffer holds; 64 on a CPU adapter, as on the CPU
    /// backends]
    #[arg(long, value_name = "B,..", value_delimiter = ',')]
    pub batches: Option<Vec<usize>>,
    /// The nominal f32 rate (TFLOP/s) of the wgpu device, for the FLOP rate as a fraction of
    /// it [default: from toposcape's table of GPUs by the adapter's name]
    #[arg(long, value_name = "TFLOPS")]
    pub nominal_tflops: Option<f64>,
}

/// What --peers needs from the working directory.
const PEER_DIR: &str = "benches/peers";
const PEER_MODEL: &str = "models/pinn-beta1";

/// Checks, before anything is measured, that --peers can run: the scripts, the model, and a
/// Python with the peers' packages.
fn check_peers(args: &BenchArgs) -> Result<(), crate::error::InputError> {
    for path in [PEER_DIR, PEER_MODEL] {
        if !std::path::Path::new(path).is_dir() {
            bail_input!(
                "--peers: no {path} here; run toposcape bench --peers from the toposcape checkout"
            );
        }
    }
    let probe = Command::new(&args.python)
        .args(["-c", "import torch, landscaper, pyhessian, gudhi, numpy"])
        .output();
    match probe {
        Err(e) => bail_input!("--python {}: cannot run it: {e}", args.python.display()),
        Ok(o) if !o.status.success() => {
            let text = String::from_utf8_lossy(&o.stderr);
            let last = text.lines().last().unwrap_or("").trim().to_string();
            bail_input!(
                "--python {}: lacks a peer package ({last}); pip install torch landscaper pyhessian gudhi numpy",
                args.python.display()
            )
        }
        Ok(_) => Ok(()),
    }
}

/// Runs one peer script with `--json`, returning its JSON.
fn peer_script(args: &BenchArgs, script: &str, extra: &[String]) -> Result<serde_json::Value> {
    let json = std::env::temp_dir().join(format!(
        "toposcape-peer-{}-{script}.json",
        std::process::id()
    ));
    let output = Command::new(&args.python)
        .arg(std::path::Path::new(PEER_DIR).join(script))
        .args(extra)
        .arg("--json")
        .arg(&json)
        .env("PYTHONPATH", PEER_DIR)
        .output()
        .with_context(|| format!("running {script}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = fs::read_to_string(&json)?;
    fs::remove_file(&json)?;
    Ok(serde_json::from_str(&text)?)
}

/// The peers' figures, each compared with toposcape's from the same script.
fn peers(bench: &mut Bench, args: &BenchArgs) -> Result<()> {
    println!("peers (Python, {}):", args.python.display());
    let binary = std::env::current_exe()?.display().to_string();
    let (points, landscaper) = if args.quick {
        ("11", "5")
    } else {
        ("41", "21")
    };
    let landscape = peer_script(
        args,
        "pinn_landscape.py",
        &[
            binary.clone(),
            PEER_MODEL.into(),
            "--points".into(),
            points.into(),
            "--landscaper-points".into(),
            landscaper.into(),
        ],
    )?;
    let mut ours = None;
    for row in landscape["rows"].as_array().into_iter().flatten() {
        let name = row["method"].as_str().unwrap_or("?");
        let rate = row["points_per_second"].as_f64().unwrap_or(f64::NAN);
        let backend = if name.starts_with("toposcape") {
            "cpu"
        } else if name.starts_with("Landscaper") {
            "landscaper"
        } else {
            "torch"
        };
        let index = bench.push(
            "peers",
            &format!("PINN points/s: {name}"),
            backend,
            "points/s",
            vec![rate],
        );
        match ours {
            None => ours = Some(index),
            Some(base) => bench.compare(index, base),
        }
    }
    let hessian = peer_script(
        args,
        "pyhessian_topk.py",
        &[binary.clone(), PEER_MODEL.into()],
    )?;
    let ours = bench.push(
        "peers",
        &format!(
            "seconds, top 4 eigenpairs, toposcape ({} HVPs)",
            hessian["toposcape"]["hvps"]
        ),
        "flex",
        "s",
        vec![hessian["toposcape"]["seconds"].as_f64().unwrap_or(f64::NAN)],
    );
    let theirs = bench.push(
        "peers",
        &format!(
            "seconds, top 4 eigenpairs, PyHessian ({} HVPs)",
            hessian["pyhessian"]["hvps"]
        ),
        "torch",
        "s",
        vec![hessian["pyhessian"]["seconds"].as_f64().unwrap_or(f64::NAN)],
    );
    bench.compare(theirs, ours);
    println!(
        "  eigenvalues: largest relative difference toposcape vs PyHessian {:.1e}",
        hessian["largest_relative_difference"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );
    let sizes: Vec<String> = if args.quick {
        vec![
            "--sizes".into(),
            "21x3".into(),
            "--repeats".into(),
            "1".into(),
        ]
    } else {
        vec![]
    };
    let mut extra = vec!["--toposcape".to_string(), binary];
    extra.extend(sizes);
    let gudhi = peer_script(args, "gudhi_cubical.py", &extra)?;
    for row in gudhi["rows"].as_array().into_iter().flatten() {
        let field = row["field"].as_str().unwrap_or("?");
        let ours = bench.push(
            "peers",
            &format!("seconds, 0-dim pairs of {field}, toposcape topo"),
            "cpu",
            "s",
            vec![row["toposcape_seconds"].as_f64().unwrap_or(f64::NAN)],
        );
        let theirs = bench.push(
            "peers",
            &format!("seconds, 0-dim pairs of {field}, gudhi cubical"),
            "gudhi",
            "s",
            vec![row["gudhi_seconds"].as_f64().unwrap_or(f64::NAN)],
        );
        bench.compare(theirs, ours);
    }
    Ok(())
}

/// One measured figure: its samples (one per repeat) and, when it has one, the index of the
/// figure it is compared with.
#[derive(Debug, Serialize)]
struct Figure {
    group: &'static str,
    name: String,
    backend: String,
    unit: &'static str,
    median: f64,
    min: f64,
    max: f64,
    samples: Vec<f64>,
    /// The figure this one is divided by (its `group/name/backend`), and the ratio of medians.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    /// PINN points/s rows: the achieved rate of the model's floating-point operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    gflop_per_s: Option<f64>,
    /// PINN rows on wgpu with a known nominal rate: `gflop_per_s` as a fraction of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    of_nominal: Option<f64>,
}

/// The nominal f32 rate the wgpu rows are compared with, and where it came from.
#[derive(Debug, Serialize)]
struct NominalJson {
    device: String,
    tflops: f64,
    source: &'static str,
}

#[derive(Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
    os: &'static str,
    arch: &'static str,
}

#[derive(Serialize)]
struct BenchJson<'a> {
    toposcape: &'static str,
    burn: &'static str,
    machine: Machine,
    repeats: usize,
    quick: bool,
    /// What the GPU rows need and why they are missing, when they are.
    gpu: String,
    /// The adapters wgpu found: name and whether it is a CPU adapter.
    wgpu_adapters: Vec<(String, bool)>,
    /// The wgpu device's nominal f32 rate, when known.
    nominal_f32: Option<NominalJson>,
    /// Floating-point operations of one PINN loss evaluation, counted as the CPU kernel does
    /// them (the products of every layer over the stacked value and tangent rows).
    pinn_flop_per_point: f64,
    figures: &'a [Figure],
}

/// Work sizes per repeat.
struct Sizes {
    kernel_points: usize,
    burn_points: usize,
    batch: usize,
    batches: usize,
    unet_points: usize,
    /// The batched UNet rows' batch on the CPU, and passes per repeat.
    unet_batch: usize,
    unet_passes: usize,
    hvps: usize,
    unet_hvps: usize,
    /// Whether the UNet's top eigenpairs are computed (tens of seconds).
    unet_lanczos: bool,
    tree_dims: &'static [usize],
    quick: bool,
}

impl Sizes {
    fn of(quick: bool) -> Self {
        if quick {
            Sizes {
                kernel_points: 64,
                burn_points: 8,
                batch: 16,
                batches: 1,
                unet_points: 1,
                unet_batch: 2,
                unet_passes: 1,
                hvps: 2,
                unet_hvps: 1,
                unet_lanczos: false,
                tree_dims: &[3],
                quick: true,
            }
        } else {
            Sizes {
                kernel_points: 2000,
                burn_points: 200,
                batch: 64,
                batches: 4,
                unet_points: 8,
                unet_batch: 4,
                unet_passes: 2,
                hvps: 20,
                unet_hvps: 4,
                unet_lanczos: true,
                tree_dims: &[3, 4],
                quick: false,
            }
        }
    }
}

fn stats(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

struct Bench {
    repeats: usize,
    figures: Vec<Figure>,
}

impl Bench {
    /// Measures `work` (which returns how much it did) `repeats` times, as work per second,
    /// after one untimed warm-up call.
    fn rate(
        &mut self,
        group: &'static str,
        name: &str,
        backend: &str,
        unit: &'static str,
        mut work: impl FnMut() -> usize,
    ) -> usize {
        work();
        let samples: Vec<f64> = (0..self.repeats)
            .map(|_| {
                let started = Instant::now();
                let done = work();
                done as f64 / started.elapsed().as_secs_f64().max(1e-12)
            })
            .collect();
        self.push(group, name, backend, unit, samples)
    }

    fn push(
        &mut self,
        group: &'static str,
        name: &str,
        backend: &str,
        unit: &'static str,
        samples: Vec<f64>,
    ) -> usize {
        let (median, min, max) = stats(&samples);
        println!(
            "  {group:<10} {name:<40} {backend:<10} {:>12} {unit}",
            short(median)
        );
        self.figures.push(Figure {
            group,
            name: name.to_string(),
            backend: backend.to_string(),
            unit,
            median,
            min,
            max,
            samples,
            baseline: None,
            ratio: None,
            gflop_per_s: None,
            of_nominal: None,
        });
        self.figures.len() - 1
    }

    /// Points/s of the batched evaluator `make(batch)` of `group` on `backend` (rows named
    /// "points/s, batches of B" and `note`) for each size of `sweep` that fits (`passes`
    /// batches per repeat, within `half` of theta0), each divided by `baseline`; the fastest
    /// of several is marked `(best batch)`, the sizes that do not fit are reported.
    fn batched_rows<E: PointEvaluator>(
        &mut self,
        (group, backend, note): (&'static str, &str, &str),
        (batches, skipped): (Vec<usize>, Vec<usize>),
        (passes, half): (usize, f64),
        baseline: usize,
        mut make: impl FnMut(usize) -> E,
    ) {
        if !skipped.is_empty() {
            println!(
                "  ({group} batches {skipped:?} skipped on {backend}: more points than its largest buffer holds)"
            );
        }
        let mut rows = Vec::new();
        for batch in batches {
            let points = batch * passes;
            let coords = coordinates(points, half, 3);
            let mut batched = make(batch);
            let mut out = vec![0.0; points];
            let name = format!("points/s, batches of {batch}{note}");
            let index = self.rate(group, &name, backend, "points/s", || {
                batched.evaluate(&coords, &mut out);
                points
            });
            self.compare(index, baseline);
            rows.push(index);
        }
        if rows.len() > 1 {
            let best = *rows
                .iter()
                .max_by(|&&a, &&b| self.figures[a].median.total_cmp(&self.figures[b].median))
                .expect("rows");
            self.figures[best].name.push_str(" (best batch)");
        }
    }

    /// Divides figure `index` by the first of its comparison, or makes it the first.
    fn against(&mut self, index: usize, baseline: &mut Option<usize>) {
        match *baseline {
            None => *baseline = Some(index),
            Some(b) => self.compare(index, b),
        }
    }

    /// Figure `index` divided by figure `baseline` (medians).
    fn compare(&mut self, index: usize, baseline: usize) {
        let b = &self.figures[baseline];
        let label = format!("{}/{}/{}", b.group, b.name, b.backend);
        let ratio = self.figures[index].median / b.median;
        let f = &mut self.figures[index];
        f.baseline = Some(label);
        f.ratio = Some(ratio);
    }
}

fn short(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// `count` random unit directions of length `len`.
fn unit_directions(count: usize, len: usize, seed: u64) -> Directions {
    let mut random = SplitMix64(seed);
    let mut rows: Vec<Vec<f64>> = (0..count)
        .map(|_| (0..len).map(|_| random.normal()).collect())
        .collect();
    unit_rows(&mut rows);
    Directions::from_rows(&rows)
}

/// `points` coordinates of two axes, uniform in `[-half, half]`, row-major.
fn coordinates(points: usize, half: f64, seed: u64) -> Vec<f64> {
    let mut random = SplitMix64(seed);
    (0..2 * points)
        .map(|_| random.between(-half, half))
        .collect()
}

fn parse_config(text: &str) -> Result<RunConfig> {
    Ok(config::parse(text, "the benchmark's config")?)
}

const PINN: &str = "task = \"pinn-convection\"\n[training]\noptimizer = \"lbfgs\"\n\
                    learning_rate = 1.0\nepochs = 1\n";
const UNET: &str = "task = \"unet-shapes\"\n[training]\noptimizer = \"adam\"\n\
                    learning_rate = 0.01\nepochs = 1\n";

/// The batch sizes of backend `name`'s batched rows (on wgpu the user's, or the `sweep` on a
/// GPU; else `one`), and those skipped on wgpu because more points than `largest` (what the
/// adapter's largest buffer holds) would not fit. The CPU backends keep one batch: batching
/// does not pay there, and large batches on them take minutes.
fn batch_sizes(
    name: &str,
    wanted: Option<&[usize]>,
    (one, sweep): (usize, &[usize]),
    quick: bool,
    largest: Option<usize>,
) -> (Vec<usize>, Vec<usize>) {
    if !name.starts_with("wgpu") {
        return (vec![one], Vec::new());
    }
    let wanted = match wanted {
        Some(list) => list.to_vec(),
        None if name == "wgpu-gpu" && !quick => sweep.to_vec(),
        None => vec![one],
    };
    match largest {
        Some(largest) => wanted.into_iter().partition(|&b| b <= largest),
        None => (wanted, Vec::new()),
    }
}

/// The nominal f32 rate the wgpu rows are compared with: the user's, or the table's for the
/// GPU burn's runtime chooses; none for a CPU adapter unless the user gives one.
fn nominal_rate(args: &BenchArgs, adapters: &[toposcape::gpu::Adapter]) -> Option<NominalJson> {
    let chosen = toposcape::gpu::choose(adapters);
    match args.nominal_tflops {
        Some(tflops) => Some(NominalJson {
            device: chosen.map_or("the wgpu device".into(), |a| a.name.clone()),
            tflops,
            source: "--nominal-tflops",
        }),
        None => chosen
            .filter(|a| !a.cpu)
            .and_then(|a| toposcape::gpu::nominal_f32(&a.name))
            .map(|n| NominalJson {
                device: n.device.to_string(),
                tflops: n.tflops,
                source: "vendor datasheet, plain FP32, from toposcape's table",
            }),
    }
}

/// The backends burn evaluates on, by name and device: the CPU ones, and wgpu when this build
/// has it and an adapter answers, named `wgpu-gpu` or `wgpu-cpu` (a CPU adapter such as
/// lavapipe: never reported as a GPU).
fn burn_devices(adapters: &[(String, bool)]) -> Vec<(&'static str, Device)> {
    #[allow(deprecated)]
    let mut devices = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    if let Ok(device) = EvalBackend::Wgpu.burn().device() {
        let gpu = adapters.iter().any(|(_, cpu)| !cpu);
        devices.push((if gpu { "wgpu-gpu" } else { "wgpu-cpu" }, device));
    }
    devices
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.repeats == 0 {
        bail_input!("--repeats 0: expected at least one repeat");
    }
    if let Some(list) = &args.batches
        && (list.is_empty() || list.contains(&0))
    {
        bail_input!("--batches: expected batch sizes of at least 1, comma separated");
    }
    if let Some(t) = args.nominal_tflops
        && !(t.is_finite() && t > 0.0)
    {
        bail_input!("--nominal-tflops {t}: expected a positive rate in TFLOP/s");
    }
    toposcape::output::check_output_path("out", &args.out, &[])?;
    if args.peers {
        check_peers(args)?;
    }
    let sizes = Sizes::of(args.quick);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut bench = Bench {
        repeats: args.repeats,
        figures: Vec::new(),
    };
    let found = toposcape::gpu::adapters();
    let adapters: Vec<(String, bool)> = found.iter().map(|a| (a.name.clone(), a.cpu)).collect();
    let devices = burn_devices(&adapters);
    let wgpu = devices.iter().any(|(name, _)| name.starts_with("wgpu"));
    if args.nominal_tflops.is_some() && !wgpu {
        bail_input!(
            "--nominal-tflops: there are no wgpu rows to compare with it: {}",
            wgpu_absence()
        );
    }
    println!(
        "toposcape bench: {} repeats per figure (median shown){}",
        args.repeats,
        if args.quick {
            "; --quick: small sizes, not figures to quote"
        } else {
            ""
        }
    );
    let nominal = nominal_rate(args, &found);
    if wgpu {
        let names: Vec<String> = found
            .iter()
            .map(|a| {
                format!(
                    "{} ({}, largest buffer {} MiB)",
                    a.name,
                    if a.cpu { "CPU adapter" } else { "GPU" },
                    a.max_allocation >> 20
                )
            })
            .collect();
        println!("  wgpu adapters: {}", names.join(", "));
    } else {
        println!("  (wgpu: not measured: {})", wgpu_absence());
    }

    // The PINN: one point at a time on each backend, batched, and the CPU kernel.
    let pinn_config = parse_config(PINN)?;
    let (pinn, convection) = (pinn_config.pinn_config(), pinn_config.convection_config());
    let mut baseline = None;
    for (name, device) in &devices {
        device.seed(0);
        let model = pinn.init(device);
        let theta0 = flatten(&model);
        let directions = unit_directions(2, theta0.len(), 1);
        let coords = coordinates(sizes.burn_points, 0.01 * norm(&theta0), 2);
        let data = convection.data(device);
        let problem = convection.clone();
        let loss = ModuleLoss::new(&model, device, move |m| problem.loss(m, &data).total);
        let mut one = Perturbed::of_model(loss, &theta0, &directions);
        let mut out = vec![0.0; sizes.burn_points];
        let index = bench.rate("pinn", "points/s, one at a time", name, "points/s", || {
            one.evaluate(&coords, &mut out);
            out.len()
        });
        bench.against(index, &mut baseline);
        // On wgpu the batch is what the device is for: several sizes, the best one marked.
        let sweep = batch_sizes(
            name,
            args.batches.as_deref(),
            (sizes.batch, &[64, 256, 1024, 4096]),
            sizes.quick,
            toposcape::gpu::largest_batch(&pinn, &convection),
        );
        bench.batched_rows(
            ("pinn", name, ""),
            sweep,
            (sizes.batches, 0.01 * norm(&theta0)),
            baseline.expect("set above"),
            |batch| PinnBatched::new(&pinn, &convection, &theta0, &directions, batch, device),
        );
    }
    let baseline = baseline.expect("flex is always measured");
    {
        let device = Device::flex();
        device.seed(0);
        let theta0 = flatten(&pinn.init(&device));
        let directions = unit_directions(2, theta0.len(), 1);
        let coords = coordinates(sizes.kernel_points, 0.01 * norm(&theta0), 2);
        for threads in [1, cores] {
            let mut workers: Vec<_> = (0..threads)
                .map(|_| {
                    let mut k = PinnKernel::new(&pinn, &convection);
                    Perturbed::new(move |t: &[f64]| k.loss(t) as f32, &theta0, &directions)
                })
                .collect();
            let per = sizes.kernel_points.div_ceil(threads);
            let index = bench.rate(
                "pinn",
                &format!(
                    "points/s, kernel, {threads} thread{}",
                    if threads == 1 { "" } else { "s" }
                ),
                "cpu",
                "points/s",
                || {
                    std::thread::scope(|scope| {
                        for (worker, c) in workers.iter_mut().zip(coords.chunks(2 * per)) {
                            scope.spawn(move || {
                                let mut out = vec![0.0; c.len() / 2];
                                worker.evaluate(c, &mut out);
                            });
                        }
                    });
                    sizes.kernel_points
                },
            );
            bench.compare(index, baseline);
            if cores == 1 {
                break;
            }
        }
    }

    let flops = pinn_flops(&pinn.widths, &convection);
    for f in bench
        .figures
        .iter_mut()
        .filter(|f| f.group == "pinn" && f.unit == "points/s")
    {
        let gflops = f.median * flops / 1e9;
        f.gflop_per_s = Some(gflops);
        if let Some(n) = nominal.as_ref().filter(|_| f.backend.starts_with("wgpu")) {
            f.of_nominal = Some(gflops / (n.tflops * 1e3));
        }
    }

    // Hessian-vector products and the top four eigenpairs of the PINN on each backend (the
    // eigenpairs on flex alone with --quick: tens of seconds on a CPU Vulkan adapter).
    let (mut gradient_baseline, mut hvp_baseline) = (None, None);
    for (name, device) in &devices {
        device.seed(0);
        let model = pinn.init(device);
        let theta0 = flatten(&model);
        let data = convection.data(device);
        let (problem, tangent_problem, tangent_data) =
            (convection.clone(), convection.clone(), data.clone());
        let mut loss = ModuleLoss::new(&model, device, move |m| problem.loss(m, &data).total)
            .with_tangent(move |m, t| tangent_problem.loss_tangent(m, t, &tangent_data));
        let lanczos = !sizes.quick || *name == "flex";
        let (gradients, exact) = hessian_figures(
            &mut bench, "pinn", name, &mut loss, &theta0, sizes.hvps, 1e-3, lanczos,
        )?;
        bench.against(gradients, &mut gradient_baseline);
        bench.against(exact, &mut hvp_baseline);
    }

    // The UNet, one point at a time on each backend.
    let unet_config = parse_config(UNET)?;
    let unet = unet_config.unet_config();
    let images = unet_config.landscape.max_images;
    let train_set = unet_config.shapes_config().generate().0;
    let mut unet_baseline = None;
    let (mut unet_gradient_baseline, mut unet_hvp_baseline) = (None, None);
    for (name, device) in &devices {
        device.seed(0);
        let model = unet.init(device);
        let theta0 = flatten(&model);
        let directions = unit_directions(2, theta0.len(), 1);
        let coords = coordinates(sizes.unet_points, 0.01 * norm(&theta0), 2);
        let (x, y) = train_set.batch(0, images.min(train_set.len()), device);
        let loss = ModuleLoss::new(&model, device, move |m: &toposcape_models::unet::Unet| {
            m.loss(x.clone(), y.clone())
        });
        let mut one = Perturbed::of_model(loss, &theta0, &directions);
        let mut out = vec![0.0; sizes.unet_points];
        let index = bench.rate(
            "unet",
            &format!("points/s, one at a time ({images} images)"),
            name,
            "points/s",
            || {
                one.evaluate(&coords, &mut out);
                out.len()
            },
        );
        bench.against(index, &mut unet_baseline);
        // Batched: B models as B groups of channels; on a GPU several sizes.
        let sweep = batch_sizes(
            name,
            None,
            (sizes.unet_batch, &[4, 16, 64]),
            sizes.quick,
            toposcape::gpu::largest_unet_batch(&unet, images, train_set.size),
        );
        bench.batched_rows(
            ("unet", name, &format!(" ({images} images)")),
            sweep,
            (sizes.unet_passes, 0.01 * norm(&theta0)),
            unet_baseline.expect("set above"),
            |batch| {
                let (x, y) = train_set.batch(0, images.min(train_set.len()), device);
                UnetBatched::new(&unet, &theta0, &directions, x, y, batch, device)
            },
        );
        // The UNet's Hessian on flex, and on a GPU: ndarray took 187 s for the top four pairs
        // (0.18 HVP/s, 0.09x flex, 2026-11-29), a CPU adapter longer.
        if *name == "flex" || *name == "wgpu-gpu" {
            use toposcape_models::unet::Unet;
            let (x, y) = train_set.batch(0, images.min(train_set.len()), device);
            let (tx, ty) = (x.clone(), y.clone());
            let mut loss =
                ModuleLoss::new(&model, device, move |m: &Unet| m.loss(x.clone(), y.clone()))
                    .with_tangent(move |m: &Unet, t: &Unet| {
                        m.loss_tangent(t, tx.clone(), ty.clone())
                    });
            let (gradients, exact) = hessian_figures(
                &mut bench,
                "unet",
                name,
                &mut loss,
                &theta0,
                sizes.unet_hvps,
                1e-2,
                sizes.unet_lanczos,
            )?;
            bench.against(gradients, &mut unet_gradient_baseline);
            bench.against(exact, &mut unet_hvp_baseline);
        }
    }

    // Merge trees of a smooth field plus noise.
    for &dims in sizes.tree_dims {
        let shape = vec![41; dims];
        let values = noisy_field(&shape);
        let grid = Grid::new(&shape, Connectivity::Freudenthal)?;
        bench.rate(
            "tree",
            &format!("vertices/s, join tree of 41^{dims}"),
            "cpu",
            "vertices/s",
            || {
                let tree = join_tree(&values, &grid).expect("a valid grid");
                std::hint::black_box(&tree);
                values.len()
            },
        );
    }

    // A small run end to end, as a child process.
    let seconds = end_to_end(bench.repeats, args.quick)?;
    bench.push(
        "run",
        "seconds, toposcape run (small PINN, 21^2)",
        "cpu",
        "s",
        seconds,
    );

    if args.peers {
        peers(&mut bench, args)?;
    }

    let gpu = if devices.iter().any(|(name, _)| *name == "wgpu-gpu") {
        match &nominal {
            Some(n) => format!(
                "wgpu rows measured on a GPU (wgpu-gpu); their FLOP rate against {}'s nominal \
                 f32 rate, {} TFLOP/s ({})",
                n.device, n.tflops, n.source
            ),
            None => "wgpu rows measured on a GPU (wgpu-gpu); its nominal f32 rate is not in \
                     toposcape's table: pass --nominal-tflops for the fraction"
                .to_string(),
        }
    } else if wgpu {
        "no GPU: the wgpu rows (wgpu-cpu) ran on a CPU adapter and are not GPU figures".to_string()
    } else {
        format!("no wgpu rows: {}", wgpu_absence())
    };
    let json = BenchJson {
        toposcape: env!("CARGO_PKG_VERSION"),
        burn: "0.22.1",
        machine: Machine {
            cpu: cpu_name(),
            cores,
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        },
        repeats: args.repeats,
        quick: args.quick,
        gpu,
        wgpu_adapters: adapters,
        nominal_f32: nominal,
        pinn_flop_per_point: flops,
        figures: &bench.figures,
    };
    let mut files = toposcape::output::Outputs::default();
    let text = serde_json::to_string_pretty(&json)? + "\n";
    files.write("out", &args.out, |w| {
        Ok(std::io::Write::write_all(w, text.as_bytes())?)
    })?;
    files.commit()?;
    print_table(&bench.figures);
    println!("figures      {}", args.out.display());
    Ok(())
}

fn wgpu_absence() -> String {
    match EvalBackend::Wgpu.burn().device() {
        Ok(_) => "available".into(),
        Err(toposcape::Error::Option { message, .. }) => message,
        Err(e) => e.to_string(),
    }
}

/// Gradients per second, exact Hessian-vector products per second (and how many gradients one
/// costs), finite-difference products per second (two gradients each, compared with the exact
/// ones) on `backend`, and (with `lanczos`) the time and products of the top four eigenpairs by
/// exact products; returns the indices of the gradient and exact-product figures.
#[allow(clippy::too_many_arguments)]
fn hessian_figures<L: toposcape_perturb::model::LandscapeModel>(
    bench: &mut Bench,
    group: &'static str,
    backend: &str,
    loss: &mut L,
    theta0: &[f32],
    hvps: usize,
    eps: f64,
    lanczos: bool,
) -> Result<(usize, usize)> {
    let n = theta0.len();
    let v = unit_directions(1, n, 5).values;
    let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
    let gradients = bench.rate(group, "gradients/s", backend, "gradients/s", || {
        for _ in 0..hvps {
            std::hint::black_box(loss.loss_and_gradient(theta0));
        }
        hvps
    });
    let exact = bench.rate(group, "Hessian-vector products/s", backend, "HVP/s", || {
        let mut hvp = Hvp::new(&mut *loss, theta0, eps);
        assert_eq!(
            hvp.method(),
            ProductMethod::Exact,
            "the model has exact products"
        );
        for _ in 0..hvps {
            std::hint::black_box(hvp.apply(&v));
        }
        hvps
    });
    let cost = bench.figures[gradients].median / bench.figures[exact].median;
    bench.push(
        group,
        "gradients per exact Hessian-vector product",
        backend,
        "gradients",
        vec![cost],
    );
    let differences = bench.rate(
        group,
        "Hessian-vector products/s, finite differences",
        backend,
        "HVP/s",
        || {
            let mut hvp = Hvp::finite_difference(&mut *loss, theta0, eps);
            for _ in 0..hvps {
                std::hint::black_box(hvp.apply(&v));
            }
            hvps
        },
    );
    bench.compare(differences, exact);
    if lanczos {
        // One Lanczos run per repeat would dominate the UNet's time; one run, timed once.
        let started = Instant::now();
        let mut hvp = Hvp::new(&mut *loss, theta0, eps);
        let pairs = top_eigenpairs(
            n,
            |x| hvp.apply(x),
            &LanczosOptions {
                k: 4,
                seed: 0,
                ..LanczosOptions::default()
            },
        );
        let seconds = started.elapsed().as_secs_f64();
        bench.push(
            group,
            &format!("seconds, top 4 eigenpairs ({} exact HVPs)", pairs.products),
            backend,
            "s",
            vec![seconds],
        );
    }
    Ok((gradients, exact))
}

/// Floating-point operations of one PINN loss, as the kernel does them: a multiply and an add
/// per weight for every row, over the values at all points and one tangent at the collocation
/// points (activations and the reductions left out: they are under 2%).
fn pinn_flops(
    widths: &[usize],
    convection: &toposcape_models::convection::ConvectionConfig,
) -> f64 {
    let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    2.0 * (weights * stacked_row_count(convection)) as f64
}

/// A smooth bowl with ripples plus seeded noise on a grid of `shape`.
fn noisy_field(shape: &[usize]) -> Vec<f32> {
    let count: usize = shape.iter().product();
    let mut random = SplitMix64(7);
    (0..count)
        .map(|mut v| {
            let mut value = 0.0;
            for &n in shape.iter().rev() {
                let x = (v % n) as f64 / (n - 1) as f64 * 2.0 - 1.0;
                value += x * x + 0.2 * (6.0 * x).sin();
                v /= n;
            }
            (value + 0.5 * random.uniform()) as f32
        })
        .collect()
}

/// Seconds of `toposcape run` on a small PINN config, `repeats` times (once with `quick`).
fn end_to_end(repeats: usize, quick: bool) -> Result<Vec<f64>> {
    let dir = std::env::temp_dir().join(format!("toposcape-bench-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let config = dir.join("small.toml");
    let epochs = if quick { 2 } else { 20 };
    fs::write(
        &config,
        format!(
            "task = \"pinn-convection\"\n[pinn]\nwidths = [2, 20, 20, 20, 1]\n[training]\n\
             optimizer = \"lbfgs\"\nlearning_rate = 1.0\nepochs = {epochs}\n[landscape]\n\
             points = 21\n"
        ),
    )?;
    let binary = std::env::current_exe().context("the toposcape binary's path")?;
    let mut seconds = Vec::new();
    for i in 0..if quick { 1 } else { repeats } {
        let out = dir.join(format!("run-{i}"));
        let started = Instant::now();
        let status = Command::new(&binary)
            .arg("run")
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            anyhow::bail!("the end-to-end run failed: {status}");
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    fs::remove_dir_all(&dir)?;
    Ok(seconds)
}

fn cpu_name() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn print_table(figures: &[Figure]) {
    let w = figures
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    println!();
    println!(
        "{:<6} {:<w$} {:<10} {:>12} {:>23} {:>9} {:>8} {:>8}",
        "model", "measure", "backend", "median", "range", "vs base", "GFLOP/s", "of peak"
    );
    for f in figures {
        println!(
            "{:<6} {:<w$} {:<10} {:>12} {:>23} {:>9} {:>8} {:>8}",
            f.group,
            f.name,
            f.backend,
            short(f.median),
            format!("{} - {}", short(f.min), short(f.max)),
            f.ratio.map_or(String::new(), |r| format!("{r:.2}x")),
            f.gflop_per_s.map_or(String::new(), |g| format!("{g:.1}")),
            f.of_nominal
                .map_or(String::new(), |x| format!("{:.2}%", 100.0 * x))
        );
    }
    println!();
    println!(
        "vs base: the median over the baseline's median, measured in this run: the pinn and unet \
         rows against burn flex one point at a time; a peer's row against toposcape's row of the \
         same script (points/s: below 1 is slower than toposcape; seconds: above 1 is slower)."
    );
    if figures.iter().any(|f| f.of_nominal.is_some()) {
        println!(
            "of peak: the row's GFLOP/s over the wgpu device's nominal f32 rate (bench.json's \
             nominal_f32 says which rate and where it came from)."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_sweep_on_a_gpu_and_skip_what_its_buffers_cannot_hold() {
        let pinn = (64, &[64, 256, 1024, 4096][..]);
        // CPU backends: the one default batch, whatever the user asks of wgpu.
        assert_eq!(
            batch_sizes("flex", None, pinn, false, Some(10)),
            (vec![64], vec![])
        );
        assert_eq!(
            batch_sizes("ndarray", Some(&[8, 4096]), pinn, false, Some(10)),
            (vec![64], vec![])
        );
        // A GPU sweeps four sizes up to what its largest buffer holds.
        assert_eq!(
            batch_sizes("wgpu-gpu", None, pinn, false, Some(2000)),
            (vec![64, 256, 1024], vec![4096])
        );
        assert_eq!(
            batch_sizes("wgpu-gpu", None, pinn, false, None),
            (vec![64, 256, 1024, 4096], vec![])
        );
        // A CPU adapter gets the one default; the user's list is filtered the same way.
        assert_eq!(
            batch_sizes("wgpu-cpu", None, pinn, false, Some(291)),
            (vec![64], vec![])
        );
        assert_eq!(
            batch_sizes("wgpu-cpu", Some(&[16, 256, 512]), pinn, false, Some(291)),
            (vec![16, 256], vec![512])
        );
        // --quick keeps the one batch even on a GPU.
        assert_eq!(
            batch_sizes("wgpu-gpu", None, (16, &[64, 256]), true, Some(2000)),
            (vec![16], vec![])
        );
    }
}
