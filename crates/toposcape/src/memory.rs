//! The memory a training or an analysis needs, counted from its config before anything is
//! allocated, against what the machine has.
//!
//! An allocation the system cannot give aborts the process (exit status 134), leaving
//! half-written folders; a model or a grid too large for the machine is refused up front
//! instead, with exit status 2 and the key that makes it large. The counts are lower bounds
//! (the largest buffers only, at 4 bytes a value), so a refusal is certain to be right and a
//! run that passes may still need more.

use crate::config::{OptimizerName, PlanName, RunConfig, Task};

/// Bytes per value: the models and the landscape hold `f32`.
const VALUE: f64 = 4.0;

/// Working bytes per grid vertex beyond its value while the merge tree is computed
/// (`toposcape_topology::parallel`: labels and keys, about 8 bytes a vertex).
const TREE_BYTES_PER_VERTEX: f64 = 8.0;

/// What a step needs: its parts, each with the config key that makes it large.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// The step, for messages: "training", "the analysis".
    pub step: &'static str,
    /// (key, bytes, what the bytes are), largest part first.
    pub parts: Vec<(&'static str, f64, String)>,
}

impl Need {
    /// The bytes of all parts together.
    pub fn bytes(&self) -> f64 {
        self.parts.iter().map(|p| p.1).sum()
    }

    /// A (key, message) pair where the need exceeds `available` bytes, naming the largest
    /// part's key; `None` available (an unknown system) is never refused.
    pub fn check(&self, available: Option<f64>) -> Result<(), (String, String)> {
        let Some(available) = available else {
            return Ok(());
        };
        let total = self.bytes();
        if total <= available {
            return Ok(());
        }
        let (key, _, what) = &self.parts[0];
        Err((
            key.to_string(),
            format!(
                "{} needs at least {} of memory ({what}), and this machine has {} available",
                self.step,
                size(total),
                size(available)
            ),
        ))
    }

    fn sorted(step: &'static str, mut parts: Vec<(&'static str, f64, String)>) -> Need {
        parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        Need { step, parts }
    }
}

/// What training the model of `config` needs: the weights with their gradient and the
/// optimiser's state, the activations of one step, and the images.
pub fn training(config: &RunConfig) -> Need {
    let (model_key, params) = parameters(config);
    let t = &config.training;
    // Weights and gradient, then Adam's two moments, or L-BFGS's direction and its history
    // of steps and gradient changes.
    let copies = match t.optimizer {
        OptimizerName::Adam => 4.0,
        OptimizerName::Lbfgs => 3.0 + 2.0 * t.lbfgs_history as f64,
    };
    let mut parts = vec![(
        model_key,
        copies * params * VALUE,
        format!("{} parameters, {copies} copies", count(params)),
    )];
    match config.task {
        Task::PinnConvection => {
            let pinn = config.pinn_config();
            let points = pinn_points(config);
            // The residual carries u, u_x and u_t through every layer.
            let activations = 3.0 * points * pinn.activations_per_point();
            parts.push((
                "pinn.widths",
                activations * VALUE,
                format!(
                    "{} activations over {} points",
                    count(activations),
                    count(points)
                ),
            ));
        }
        Task::UnetShapes | Task::UnetPet => {
            let (size, images, key) = unet_images(config);
            let batch = (t.batch_size as f64).min(images);
            // Every activation and its gradient.
            let activations = 2.0 * batch * config.unet_config().activations_per_image(size);
            parts.push((
                "training.batch_size",
                activations * VALUE,
                format!("{} activations for a batch of {batch}", count(activations)),
            ));
            // Three channels and a label per pixel.
            let pixels = images * (size * size) as f64;
            parts.push((
                key,
                4.0 * pixels * VALUE,
                format!("{} images", count(images)),
            ));
        }
    }
    Need::sorted("training", parts)
}

/// What analysing `config` (its `[landscape]` with the options applied) needs: the grid of
/// values and the merge tree's working memory, and per thread an evaluator of `batch` points,
/// each a copy of the weights with its activations.
pub fn analysis(config: &RunConfig, threads: usize, batch: usize) -> Need {
    let (model_key, params) = parameters(config);
    let l = &config.landscape;
    let (grid_key, vertices) = match l.plan {
        PlanName::Grid => ("landscape.points", (l.points as f64).powi(l.dims as i32)),
        PlanName::Sobol | PlanName::Random => ("landscape.samples", l.samples as f64),
    };
    let evaluators = (threads * batch) as f64;
    let activations = match config.task {
        Task::PinnConvection => pinn_points(config) * config.pinn_config().activations_per_point(),
        Task::UnetShapes | Task::UnetPet => {
            let (size, images, _) = unet_images(config);
            (l.max_images as f64).min(images) * config.unet_config().activations_per_image(size)
        }
    };
    Need::sorted(
        "the analysis",
        vec![
            (
                grid_key,
                vertices * (VALUE + TREE_BYTES_PER_VERTEX),
                format!("{} grid points", count(vertices)),
            ),
            (
                model_key,
                // The trained weights and one direction per axis, and each evaluator's copy.
                ((l.dims as f64 + 1.0) + evaluators) * params * VALUE,
                format!("{} parameters", count(params)),
            ),
            (
                model_key,
                evaluators * activations * VALUE,
                format!("{} activations per point", count(activations)),
            ),
        ],
    )
}

/// Bytes the system can still give: available memory and free swap, from `/proc/meminfo`;
/// `None` where that cannot be read.
pub fn available() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<f64>()
            .ok()
    };
    Some((kib("MemAvailable:")? + kib("SwapFree:").unwrap_or(0.0)) * 1024.0)
}

/// The model's parameter count and the key that sets its size.
fn parameters(config: &RunConfig) -> (&'static str, f64) {
    match config.task {
        Task::PinnConvection => ("pinn.widths", config.pinn_config().num_params()),
        Task::UnetShapes | Task::UnetPet => ("unet.base_width", config.unet_config().num_params()),
    }
}

/// The points of the PINN's loss: collocation, initial and both boundaries.
fn pinn_points(config: &RunConfig) -> f64 {
    let c = config.convection_config();
    (c.collocation_points + c.initial_points + 2 * c.boundary_points) as f64
}

/// The UNet's image size, its number of images, and the key that sets that number.
fn unet_images(config: &RunConfig) -> (usize, f64, &'static str) {
    match (&config.shapes, &config.pet) {
        (Some(s), _) => (
            s.size,
            (s.train_images + s.test_images) as f64,
            "shapes.train_images",
        ),
        (None, Some(p)) => (p.size, p.max_images as f64, "pet.max_images"),
        (None, None) => (0, 0.0, "unet"),
    }
}

/// A count in a short form: 412, 5.0e8.
fn count(x: f64) -> String {
    if x < 1e6 {
        format!("{x:.0}")
    } else {
        format!("{x:.1e}")
    }
}

/// Bytes in binary units: 512 B, 3.2 GiB.
pub fn size(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[0])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn a_huge_model_is_refused_naming_its_key() {
        let config = parse(
            "task = \"pinn-convection\"\n[pinn]\nwidths = [2, 100000000, 1]\n",
            "c.toml",
        )
        .unwrap();
        let need = training(&config);
        // 4e8 parameters, four copies for Adam, 6.4 GB; the activations far more.
        assert!(need.bytes() > 4.0 * 4e8 * 4.0);
        let (key, message) = need.check(Some(24.0 * 1024f64.powi(3))).unwrap_err();
        assert_eq!(key, "pinn.widths");
        assert!(message.starts_with("training needs at least "), "{message}");
        assert!(
            message.ends_with("and this machine has 24.0 GiB available"),
            "{message}"
        );
        // Unknown memory is never a reason to refuse.
        assert!(need.check(None).is_ok());
    }

    #[test]
    fn the_defaults_fit_and_their_counts_are_the_models() {
        let pinn = parse("task = \"pinn-convection\"\n", "c.toml").unwrap();
        let need = training(&pinn);
        assert!(need.check(Some(1024f64.powi(3))).is_ok(), "{need:?}");
        let params = pinn.pinn_config().num_params();
        // The default PINN: 2 -> 50 x 4 -> 1.
        assert_eq!(params, (3 * 50 + 3 * 51 * 50 + 51) as f64);
        let unet = parse("task = \"unet-shapes\"\n", "c.toml").unwrap();
        assert!(training(&unet).check(Some(1024f64.powi(3))).is_ok());
        assert!(analysis(&unet, 2, 1).check(Some(1024f64.powi(3))).is_ok());
    }

    #[test]
    fn a_large_grid_is_blamed_on_its_points() {
        let config = parse(
            "task = \"pinn-convection\"\n[landscape]\npoints = 1200\ndims = 3\n",
            "c.toml",
        )
        .unwrap();
        let need = analysis(&config, 1, 1);
        // 1.728e9 vertices, 12 bytes each.
        assert_eq!(need.parts[0].1, 1.728e9 * 12.0);
        let (key, _) = need.check(Some(16e9)).unwrap_err();
        assert_eq!(key, "landscape.points");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(512.0), "512 B");
        assert_eq!(size(3.5 * 1024f64.powi(3)), "3.5 GiB");
        assert!(available().is_none_or(|bytes| bytes > 0.0));
    }
}
