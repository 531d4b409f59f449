//! The rows of a benchmark: landscape points, Hessian-vector products and eigenpairs of the
//! PINN and the UNet on each backend, merge trees, and a small run end to end.

use std::time::Instant;

use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::stacked_row_count;
use toposcape_perturb::directions::unit_rows;
use toposcape_perturb::hessian::{Hvp, LanczosOptions, ProductMethod, top_eigenpairs};
use toposcape_perturb::model::LandscapeModel;
use toposcape_perturb::params::flatten;
use toposcape_perturb::plan::norm;
use toposcape_perturb::random::SplitMix64;
use toposcape_perturb::sample::{Directions, PointEvaluator};
use toposcape_topology::{Connectivity, Grid, join_tree};

use super::figures::Bench;
use super::{BenchOptions, BurnDevice, Sizes, batch_sizes};
use crate::config::RunConfig;
use crate::landscape::Evaluation;
use crate::landscape::problem::{Problem, pinn_problem, unet_problem};
use crate::{EvalBackend, Result};

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

/// A problem's landscape around its initial weights: theta0 and two random unit directions.
struct Around {
    theta0: Vec<f32>,
    directions: Directions,
    half: f64,
}

impl Around {
    fn of<M: burn::module::Module>(model: &M) -> Self {
        let theta0 = flatten(model);
        Around {
            directions: unit_directions(2, theta0.len(), 1),
            half: 0.01 * norm(&theta0),
            theta0,
        }
    }

    /// The evaluators `analyze` would use for `evaluation`.
    fn evaluators<'a, M: burn::module::Module + Clone + 'static>(
        &'a self,
        problem: &'a Problem<M>,
        evaluation: Evaluation,
        device: &burn::prelude::Device,
    ) -> Vec<Box<dyn PointEvaluator + 'a>> {
        problem.evaluators(&self.theta0, &self.directions, evaluation, device)
    }
}

/// Points/s of `evaluator` on `points` points, one evaluator.
fn points_rate(
    bench: &mut Bench<'_>,
    row: (&'static str, &str, &str),
    evaluator: &mut dyn PointEvaluator,
    coords: &[f64],
) -> usize {
    let mut out = vec![0.0; coords.len() / 2];
    bench.rate(row, "points/s", || {
        evaluator.evaluate(coords, &mut out);
        out.len()
    })
}

/// Points/s of the batched evaluators of `problem` on `device` (rows named "points/s,
/// batches of B" and `note`) for each size of `sizes` (`passes` batches per repeat), each
/// divided by `baseline`; the fastest of several is marked `(best batch)`, and the sizes that
/// do not fit are reported.
#[allow(clippy::too_many_arguments)]
fn batched_rows<M: burn::module::Module + Clone + 'static>(
    bench: &mut Bench<'_>,
    (group, device, note): (&'static str, &BurnDevice, &str),
    (batches, skipped): (Vec<usize>, Vec<usize>),
    passes: usize,
    baseline: usize,
    problem: &Problem<M>,
    around: &Around,
) {
    if !skipped.is_empty() {
        bench.note(&format!(
            "({group} batches {skipped:?} skipped on {}: more points than its largest buffer holds)",
            device.name
        ));
    }
    let mut rows = Vec::new();
    for batch in batches {
        let coords = coordinates(batch * passes, around.half, 3);
        let evaluation = Evaluation {
            backend: device.backend,
            batch,
            threads: 1,
        };
        let mut evaluators = around.evaluators(problem, evaluation, &device.device);
        let name = format!("points/s, batches of {batch}{note}");
        let index = points_rate(
            bench,
            (group, &name, device.name),
            evaluators[0].as_mut(),
            &coords,
        );
        bench.compare(index, baseline);
        rows.push(index);
    }
    bench.mark_best(&rows);
}

/// Floating-point operations of one PINN loss, as the kernel does them: a multiply and an add
/// per weight for every row, over the values at all points and one tangent at the collocation
/// points (activations and the reductions left out: they are under 2%).
fn pinn_flops(widths: &[usize], convection: &ConvectionConfig) -> f64 {
    let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    2.0 * (weights * stacked_row_count(convection)) as f64
}

/// The PINN's landscape points: one at a time on each backend, batched, and the CPU kernel on
/// one thread and on every core; the FLOPs of one point.
pub(super) fn pinn_rows(
    bench: &mut Bench<'_>,
    config: &RunConfig,
    devices: &[BurnDevice],
    sizes: &Sizes,
    options: &BenchOptions,
) -> Result<f64> {
    let (pinn, convection) = (config.pinn_config(), config.convection_config());
    let mut baseline = None;
    let one = |backend| Evaluation {
        backend,
        batch: 1,
        threads: 1,
    };
    for device in devices {
        device.device.seed(0);
        let problem = pinn_problem(
            config,
            pinn.init(&device.device),
            &device.device,
            device.backend,
        );
        let around = Around::of(&problem.model);
        let coords = coordinates(sizes.burn_points, around.half, 2);
        let mut evaluators = around.evaluators(&problem, one(device.backend), &device.device);
        let row = ("pinn", "points/s, one at a time", device.name);
        let index = points_rate(bench, row, evaluators[0].as_mut(), &coords);
        bench.against(index, &mut baseline);
        // On wgpu the batch is what the device is for: several sizes, the best one marked.
        let batches = batch_sizes(
            device.name,
            options.batches.as_deref(),
            (sizes.batch, &[64, 256, 1024, 4096]),
            sizes.quick,
            crate::gpu::largest_batch(&pinn, &convection),
        );
        let base = baseline.expect("set above");
        batched_rows(
            bench,
            ("pinn", device, ""),
            batches,
            sizes.batches,
            base,
            &problem,
            &around,
        );
    }
    let baseline = baseline.expect("flex is always measured");
    kernel_rows(bench, config, sizes, baseline)?;
    Ok(pinn_flops(&pinn.widths, &convection))
}

/// The PINN's CPU kernel on one thread and on every core, against `baseline`.
fn kernel_rows(
    bench: &mut Bench<'_>,
    config: &RunConfig,
    sizes: &Sizes,
    baseline: usize,
) -> Result<()> {
    let device = EvalBackend::Flex.burn().device()?;
    device.seed(0);
    let problem = pinn_problem(
        config,
        config.pinn_config().init(&device),
        &device,
        EvalBackend::Cpu,
    );
    let around = Around::of(&problem.model);
    let coords = coordinates(sizes.kernel_points, around.half, 2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores] {
        let evaluation = Evaluation {
            backend: EvalBackend::Cpu,
            batch: 1,
            threads,
        };
        let mut workers = around.evaluators(&problem, evaluation, &device);
        let per = sizes.kernel_points.div_ceil(threads);
        let name = format!(
            "points/s, kernel, {threads} thread{}",
            if threads == 1 { "" } else { "s" }
        );
        let index = bench.rate(("pinn", &name, "cpu"), "points/s", || {
            std::thread::scope(|scope| {
                for (worker, c) in workers.iter_mut().zip(coords.chunks(2 * per)) {
                    scope.spawn(move || {
                        let mut out = vec![0.0; c.len() / 2];
                        worker.evaluate(c, &mut out);
                    });
                }
            });
            sizes.kernel_points
        });
        bench.compare(index, baseline);
        if cores == 1 {
            break;
        }
    }
    Ok(())
}

/// Hessian-vector products and the top four eigenpairs of the PINN on each backend (the
/// eigenpairs on flex alone with `quick`: tens of seconds on a CPU Vulkan adapter).
pub(super) fn pinn_hessian_rows(
    bench: &mut Bench<'_>,
    config: &RunConfig,
    devices: &[BurnDevice],
    sizes: &Sizes,
) -> Result<()> {
    let (mut gradient_baseline, mut hvp_baseline) = (None, None);
    for device in devices {
        device.device.seed(0);
        let model = config.pinn_config().init(&device.device);
        let problem = pinn_problem(config, model, &device.device, device.backend);
        let theta0 = flatten(&problem.model);
        let mut loss = problem.module_loss_with_tangent(&device.device);
        let lanczos = !sizes.quick || device.name == "flex";
        let work = (sizes.hvps, 1e-3, lanczos);
        let (gradients, exact) =
            hessian_figures(bench, ("pinn", device.name), &mut loss, &theta0, work)?;
        bench.against(gradients, &mut gradient_baseline);
        bench.against(exact, &mut hvp_baseline);
    }
    Ok(())
}

/// The UNet: one point at a time and batched on each backend, and its Hessian on flex and on a
/// GPU.
pub(super) fn unet_rows(
    bench: &mut Bench<'_>,
    config: &RunConfig,
    devices: &[BurnDevice],
    sizes: &Sizes,
) -> Result<()> {
    let unet = config.unet_config();
    let images = config.landscape.max_images;
    let train_set = config.shapes_config().generate().0;
    let mut baseline = None;
    let (mut gradient_baseline, mut hvp_baseline) = (None, None);
    for device in devices {
        device.device.seed(0);
        let model = unet.init(&device.device);
        let problem = unet_problem(config, model, &train_set, &device.device);
        let around = Around::of(&problem.model);
        let coords = coordinates(sizes.unet_points, around.half, 2);
        let one = Evaluation {
            backend: device.backend,
            batch: 1,
            threads: 1,
        };
        let mut evaluators = around.evaluators(&problem, one, &device.device);
        let name = format!("points/s, one at a time ({images} images)");
        let index = points_rate(
            bench,
            ("unet", &name, device.name),
            evaluators[0].as_mut(),
            &coords,
        );
        bench.against(index, &mut baseline);
        // Batched: B models as B groups of channels; on a GPU several sizes.
        let batches = batch_sizes(
            device.name,
            None,
            (sizes.unet_batch, &[4, 16, 64]),
            sizes.quick,
            crate::gpu::largest_unet_batch(&unet, images, train_set.size),
        );
        let note = format!(" ({images} images)");
        let base = baseline.expect("set above");
        batched_rows(
            bench,
            ("unet", device, &note),
            batches,
            sizes.unet_passes,
            base,
            &problem,
            &around,
        );
        // The UNet's Hessian on flex, and on a GPU: ndarray took 187 s for the top four pairs
        // (0.18 HVP/s, 0.09x flex, 2026-11-29), a CPU adapter longer.
        if device.name == "flex" || device.name == "wgpu-gpu" {
            let mut loss = problem.module_loss_with_tangent(&device.device);
            let work = (sizes.unet_hvps, 1e-2, sizes.unet_lanczos);
            let (gradients, exact) = hessian_figures(
                bench,
                ("unet", device.name),
                &mut loss,
                &around.theta0,
                work,
            )?;
            bench.against(gradients, &mut gradient_baseline);
            bench.against(exact, &mut hvp_baseline);
        }
    }
    Ok(())
}

/// Gradients per second, exact Hessian-vector products per second (and how many gradients one
/// costs), finite-difference products per second (two gradients each, compared with the exact
/// ones) on `backend`, and (with `lanczos`) the time and products of the top four eigenpairs by
/// exact products: `work` is (products per repeat, the finite differences' step, `lanczos`).
/// Returns the indices of the gradient and exact-product figures.
fn hessian_figures<L: LandscapeModel>(
    bench: &mut Bench<'_>,
    (group, backend): (&'static str, &str),
    loss: &mut L,
    theta0: &[f32],
    (hvps, eps, lanczos): (usize, f64, bool),
) -> Result<(usize, usize)> {
    let n = theta0.len();
    let v = unit_directions(1, n, 5).values;
    let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
    let gradients = bench.rate((group, "gradients/s", backend), "gradients/s", || {
        for _ in 0..hvps {
            std::hint::black_box(loss.loss_and_gradient(theta0));
        }
        hvps
    });
    let row = (group, "Hessian-vector products/s", backend);
    let exact = bench.rate(row, "HVP/s", || {
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
    let row = (group, "gradients per exact Hessian-vector product", backend);
    bench.push(row, "gradients", vec![cost]);
    let row = (
        group,
        "Hessian-vector products/s, finite differences",
        backend,
    );
    let differences = bench.rate(row, "HVP/s", || {
        let mut hvp = Hvp::finite_difference(&mut *loss, theta0, eps);
        for _ in 0..hvps {
            std::hint::black_box(hvp.apply(&v));
        }
        hvps
    });
    bench.compare(differences, exact);
    if lanczos {
        // One Lanczos run per repeat would dominate the UNet's time; one run, timed once.
        let started = Instant::now();
        let mut hvp = Hvp::new(&mut *loss, theta0, eps);
        let options = LanczosOptions {
            k: 4,
            seed: 0,
            ..LanczosOptions::default()
        };
        let pairs = top_eigenpairs(n, |x| hvp.apply(x), &options);
        let seconds = started.elapsed().as_secs_f64();
        let name = format!("seconds, top 4 eigenpairs ({} exact HVPs)", pairs.products);
        bench.push((group, &name, backend), "s", vec![seconds]);
    }
    Ok((gradients, exact))
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

/// Merge trees of a smooth field plus noise on 41^d grids.
pub(super) fn tree_rows(bench: &mut Bench<'_>, sizes: &Sizes) -> Result<()> {
    for &dims in sizes.tree_dims {
        let shape = vec![41; dims];
        let values = noisy_field(&shape);
        let grid = Grid::new(&shape, Connectivity::Freudenthal)?;
        let name = format!("vertices/s, join tree of 41^{dims}");
        bench.rate(("tree", &name, "cpu"), "vertices/s", || {
            let tree = join_tree(&values, &grid).expect("a valid grid");
            std::hint::black_box(&tree);
            values.len()
        });
    }
    Ok(())
}

/// Seconds of a whole run (train, analyse, report) of a small PINN config, through the
/// library, `repeats` times (once with `quick`).
pub(super) fn end_to_end(bench: &mut Bench<'_>, quick: bool) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("toposcape-bench-{}", std::process::id()));
    let io = |e| crate::Error::file("write", &dir, e);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let config = dir.join("small.toml");
    let epochs = if quick { 2 } else { 20 };
    let text = format!(
        "task = \"pinn-convection\"\n[pinn]\nwidths = [2, 20, 20, 20, 1]\n[training]\n\
         optimizer = \"lbfgs\"\nlearning_rate = 1.0\nepochs = {epochs}\n[landscape]\n\
         points = 21\n"
    );
    std::fs::write(&config, text).map_err(io)?;
    let mut seconds = Vec::new();
    for i in 0..if quick { 1 } else { bench.repeats } {
        let options = crate::run::RunOptions {
            out: Some(dir.join(format!("run-{i}"))),
            ..crate::run::RunOptions::new(&config, EvalBackend::Cpu)
        };
        let started = Instant::now();
        crate::run::run(&options, &crate::progress::Silent, &mut |_| {})?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    std::fs::remove_dir_all(&dir).map_err(io)?;
    let row = ("run", "seconds, toposcape run (small PINN, 21^2)", "cpu");
    bench.push(row, "s", seconds);
    Ok(())
}
