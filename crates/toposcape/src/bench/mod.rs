//! Measured speed of the pieces a landscape is made of, on each CPU backend (and wgpu in a wgpu
//! build), with ratios against a baseline measured in the same run: landscape points per
//! second of the PINN and the UNet (one point at a time, batched, and the PINN's CPU kernel; on
//! a GPU several batch sizes, the fastest marked), Hessian-vector products per second and the
//! cost of the top four eigenpairs, merge-tree vertices per second on 41^3 and 41^4 grids, and
//! the end-to-end time of a small run. `toposcape bench` prints it and writes `bench.json`.
//!
//! The models are freshly initialised (seeded) with the shipped configs' shapes: speed does not
//! depend on trained weights. Points lie within 0.01 ||theta0|| of theta0 along two random unit
//! directions, as a default landscape does. Every evaluator and loss comes from the factory
//! `analyze` uses ([`crate::landscape::Problem`]), so the rows time what an analysis runs.

mod figures;
mod peers;
mod rows;

use std::path::PathBuf;

use burn::prelude::*;
use serde::Serialize;

pub use figures::Figure;
pub use peers::Peers;

use crate::config::{self, RunConfig};
use crate::output::Outputs;
use crate::{Error, EvalBackend, Result};

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// Repeats of each measurement (the figures keep every sample and their median).
    pub repeats: usize,
    /// Small work sizes: a quick look (and the tests), not figures to quote.
    pub quick: bool,
    /// Where the figures go (JSON).
    pub out: PathBuf,
    /// Also run the Python peers of `benches/peers/` on the shipped `models/pinn-beta1`.
    pub peers: Option<Peers>,
    /// Batch sizes of the batched PINN rows on wgpu (`None`: 64, 256, 1024 and 4096 on a GPU,
    /// up to what its largest buffer holds; 64 on a CPU adapter, as on the CPU backends).
    pub batches: Option<Vec<usize>>,
    /// The nominal f32 rate (TFLOP/s) of the wgpu device, for the FLOP rate as a fraction of
    /// it (`None`: from toposcape's table of GPUs by the adapter's name).
    pub nominal_tflops: Option<f64>,
}

/// What a benchmark tells its caller as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum BenchEvent<'a> {
    /// A figure is measured (its ratio comes later, when its comparison is made).
    Figure(&'a Figure),
    /// Something worth saying: the adapters found, rows skipped, a peer's agreement.
    Note(&'a str),
}

/// What a benchmark measured, as `bench.json` holds it.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// toposcape's version.
    pub toposcape: &'static str,
    /// burn's version.
    pub burn: &'static str,
    /// The machine it ran on.
    pub machine: Machine,
    /// Repeats of each measurement.
    pub repeats: usize,
    /// Whether the sizes were the quick ones.
    pub quick: bool,
    /// What the GPU rows need and why they are missing, when they are.
    pub gpu: String,
    /// The adapters wgpu found: name and whether it is a CPU adapter.
    pub wgpu_adapters: Vec<(String, bool)>,
    /// The wgpu device's nominal f32 rate, when known.
    pub nominal_f32: Option<Nominal>,
    /// Floating-point operations of one PINN loss evaluation, counted as the CPU kernel does
    /// them (the products of every layer over the stacked value and tangent rows).
    pub pinn_flop_per_point: f64,
    /// Every figure, in the order measured.
    pub figures: Vec<Figure>,
}

/// The machine a benchmark ran on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// The CPU's model name.
    pub cpu: String,
    /// Its cores.
    pub cores: usize,
    /// The operating system.
    pub os: &'static str,
    /// The architecture.
    pub arch: &'static str,
}

/// The nominal f32 rate the wgpu rows are compared with, and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Nominal {
    /// The device it is the rate of.
    pub device: String,
    /// TFLOP/s.
    pub tflops: f64,
    /// Where the number came from.
    pub source: &'static str,
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

/// A backend burn evaluates on: its name in the figures, the evaluator factory's backend, the
/// device.
struct BurnDevice {
    name: &'static str,
    backend: EvalBackend,
    device: Device,
}

/// The backends burn evaluates on: the CPU ones, and wgpu when this build has it and an
/// adapter answers, named `wgpu-gpu` or `wgpu-cpu` (a CPU adapter such as lavapipe: never
/// reported as a GPU).
fn burn_devices(adapters: &[(String, bool)]) -> Result<Vec<BurnDevice>> {
    let mut devices = Vec::new();
    for backend in [EvalBackend::Flex, EvalBackend::Ndarray] {
        devices.push(BurnDevice {
            name: backend.name(),
            backend,
            device: backend.burn().device()?,
        });
    }
    if let Ok(device) = EvalBackend::Wgpu.burn().device() {
        let gpu = adapters.iter().any(|(_, cpu)| !cpu);
        devices.push(BurnDevice {
            name: if gpu { "wgpu-gpu" } else { "wgpu-cpu" },
            backend: EvalBackend::Wgpu,
            device,
        });
    }
    Ok(devices)
}

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
fn nominal_rate(tflops: Option<f64>, adapters: &[crate::gpu::Adapter]) -> Option<Nominal> {
    let chosen = crate::gpu::choose(adapters);
    match tflops {
        Some(tflops) => Some(Nominal {
            device: chosen.map_or("the wgpu device".into(), |a| a.name.clone()),
            tflops,
            source: "--nominal-tflops",
        }),
        None => chosen
            .filter(|a| !a.cpu)
            .and_then(|a| crate::gpu::nominal_f32(&a.name))
            .map(|n| Nominal {
                device: n.device.to_string(),
                tflops: n.tflops,
                source: "vendor datasheet, plain FP32, from toposcape's table",
            }),
    }
}

/// Why there are no wgpu rows (or `available`).
fn wgpu_absence() -> String {
    match EvalBackend::Wgpu.burn().device() {
        Ok(_) => "available".into(),
        Err(Error::Option { message, .. }) => message,
        Err(e) => e.to_string(),
    }
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Checks the options before anything is measured.
fn check(options: &BenchOptions) -> Result<()> {
    if options.repeats == 0 {
        return Err(Error::option("repeats", 0, "expected at least one repeat"));
    }
    if let Some(list) = &options.batches
        && (list.is_empty() || list.contains(&0))
    {
        return Err(Error::option_as_a_whole(
            "batches",
            "expected batch sizes of at least 1, comma separated",
        ));
    }
    if let Some(t) = options.nominal_tflops
        && !(t.is_finite() && t > 0.0)
    {
        return Err(Error::option(
            "nominal_tflops",
            t,
            "expected a positive rate in TFLOP/s",
        ));
    }
    crate::output::check_output_path("out", &options.out, &[])?;
    if let Some(peers) = &options.peers {
        peers.check()?;
    }
    Ok(())
}

/// The shipped configs' models, for the rows.
fn parse_config(text: &str) -> Result<RunConfig> {
    config::parse(text, "the benchmark's config")
}

const PINN: &str = "task = \"pinn-convection\"\n[training]\noptimizer = \"lbfgs\"\n\
                    learning_rate = 1.0\nepochs = 1\n";
const UNET: &str = "task = \"unet-shapes\"\n[training]\noptimizer = \"adam\"\n\
                    learning_rate = 0.01\nepochs = 1\n";

/// What `gpu` of bench.json says.
fn gpu_text(devices: &[BurnDevice], nominal: Option<&Nominal>) -> String {
    let wgpu = devices.iter().any(|d| d.backend == EvalBackend::Wgpu);
    if devices.iter().any(|d| d.name == "wgpu-gpu") {
        match nominal {
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
    }
}

/// Tells the caller which adapters wgpu found (or why there are none).
fn note_adapters(bench: &mut figures::Bench<'_>, found: &[crate::gpu::Adapter], wgpu: bool) {
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
        bench.note(&format!("wgpu adapters: {}", names.join(", ")));
    } else {
        bench.note(&format!("(wgpu: not measured: {})", wgpu_absence()));
    }
}

/// Measures every figure, writes them to `options.out`, and returns them.
pub fn bench(
    options: &BenchOptions,
    events: &mut dyn FnMut(BenchEvent<'_>),
) -> Result<BenchReport> {
    check(options)?;
    let sizes = Sizes::of(options.quick);
    let found = crate::gpu::adapters();
    let adapters: Vec<(String, bool)> = found.iter().map(|a| (a.name.clone(), a.cpu)).collect();
    let devices = burn_devices(&adapters)?;
    let wgpu = devices.iter().any(|d| d.backend == EvalBackend::Wgpu);
    if options.nominal_tflops.is_some() && !wgpu {
        return Err(Error::option_as_a_whole(
            "nominal_tflops",
            format!(
                "there are no wgpu rows to compare with it: {}",
                wgpu_absence()
            ),
        ));
    }
    let nominal = nominal_rate(options.nominal_tflops, &found);
    let mut bench = figures::Bench {
        repeats: options.repeats,
        figures: Vec::new(),
        events,
    };
    note_adapters(&mut bench, &found, wgpu);
    let pinn = parse_config(PINN)?;
    let flops = rows::pinn_rows(&mut bench, &pinn, &devices, &sizes, options)?;
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
    rows::pinn_hessian_rows(&mut bench, &pinn, &devices, &sizes)?;
    rows::unet_rows(&mut bench, &parse_config(UNET)?, &devices, &sizes)?;
    rows::tree_rows(&mut bench, &sizes)?;
    rows::end_to_end(&mut bench, options.quick)?;
    if let Some(peers) = &options.peers {
        peers.run(&mut bench, options.quick)?;
    }
    let report = BenchReport {
        toposcape: env!("CARGO_PKG_VERSION"),
        burn: "0.22.1",
        machine: Machine {
            cpu: cpu_name(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        },
        repeats: options.repeats,
        quick: options.quick,
        gpu: gpu_text(&devices, nominal.as_ref()),
        wgpu_adapters: adapters,
        nominal_f32: nominal,
        pinn_flop_per_point: flops,
        figures: bench.figures,
    };
    let mut files = Outputs::default();
    files.bytes(
        "out",
        &options.out,
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    files.commit()?;
    Ok(report)
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
