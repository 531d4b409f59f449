//! Run configs: TOML files read into serde structs that reject unknown keys, checked value by
//! value, and written back fully resolved (every default filled in) into the run directory.
//!
//! Every problem is an [`Error::Input`] on one line naming the file and the key.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::pinn::PinnConfig;
use toposcape_models::segmentation::{PetConfig, ShapesConfig};
use toposcape_models::train::{OptimizerKind, TrainSettings};
use toposcape_models::unet::UnetConfig;

use crate::error::Error;

/// What is trained on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// The PINN on 1-D convection.
    #[serde(rename = "pinn-convection")]
    PinnConvection,
    /// The UNet on synthetic shapes.
    #[serde(rename = "unet-shapes")]
    UnetShapes,
    /// The UNet on the Oxford-IIIT Pet layout.
    #[serde(rename = "unet-pet")]
    UnetPet,
}

/// A whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// What is trained on what.
    pub task: Task,
    /// Seed of the weight initialisation and of the data.
    #[serde(default)]
    pub seed: u64,
    /// The PINN's widths (task `pinn-convection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinn: Option<PinnSection>,
    /// The convection problem the PINN solves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convection: Option<ConvectionSection>,
    /// The UNet's shape (tasks `unet-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unet: Option<UnetSection>,
    /// The synthetic shapes data (task `unet-shapes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shapes: Option<ShapesSection>,
    /// The Oxford-IIIT Pet data (task `unet-pet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pet: Option<PetSection>,
    /// How the model is trained.
    #[serde(default)]
    pub training: TrainingSection,
    /// The landscape `analyze` samples.
    #[serde(default)]
    pub landscape: LandscapeSection,
    /// What `analyze` computes of the Hessian.
    #[serde(default)]
    pub hessian: HessianSection,
}

/// The Hessian at theta0 (`toposcape analyze`): its top eigenvectors (with `landscape.directions
/// = "hessian"`), its trace and its eigenvalue density, all from exact Hessian-vector products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HessianSection {
    /// Lanczos converges when every pair's measured residual |H v - lambda v| is at most this
    /// times |lambda|.
    pub tolerance: f64,
    /// The most Lanczos steps (one Hessian-vector product each).
    pub max_steps: usize,
    /// Rademacher probes of Hutchinson's trace estimate (0: no trace).
    pub trace_probes: usize,
    /// Probes of the stochastic Lanczos quadrature of the eigenvalue density (0: no density).
    pub density_probes: usize,
    /// Lanczos steps of each density probe.
    pub density_steps: usize,
}

impl Default for HessianSection {
    fn default() -> Self {
        HessianSection {
            tolerance: 1e-3,
            max_steps: 100,
            trace_probes: 16,
            density_probes: 1,
            density_steps: 24,
        }
    }
}

/// How the landscape is sampled (`toposcape analyze`; its flags override these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LandscapeSection {
    /// `hessian` (top eigenvectors, orthonormal), `random` (filter-normalised, seeded by
    /// `seed`), `pca` (of the run's checkpoints), or the path of an `.npy` of `dims x P` rows.
    pub directions: String,
    /// Grid axes, 1 to 8.
    pub dims: usize,
    /// `grid`, or scattered points for many axes: `sobol` (low discrepancy) or `random`.
    pub plan: PlanName,
    /// Points per axis of a grid (odd puts theta0 on the grid).
    pub points: usize,
    /// Scattered plans: the number of points (theta0 included; Sobol at most 65536).
    pub samples: usize,
    /// Scattered plans: the k of the k-nearest-neighbour graph (0: 2 dims + 2).
    pub neighbours: usize,
    /// Scattered plans: `box` or `ball` (the ellipsoid inside the box).
    pub region: RegionName,
    /// Half-width of each axis: a multiple of ||theta0|| when `relative`, else absolute.
    pub range: f64,
    /// Whether `range` is a multiple of ||theta0||.
    pub relative: bool,
    /// UNet: the training images the loss (and the Hessian) is evaluated on, from the first.
    pub max_images: usize,
    /// `interp` directions: the one or two checkpoints the axes point to (relative to the
    /// config file).
    pub through: Vec<String>,
    /// `toposcape run`: also analyse the landscape at every training checkpoint (saved every
    /// `training.checkpoint_every` epochs), each around its own weights along its own
    /// directions, into `epochs/epoch-N/`, and draw their profiles as a strip over epochs.
    pub checkpoints: bool,
}

/// Sampling plans in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanName {
    /// A regular grid, points^dims
    Grid,
    /// Owen-scrambled Sobol points (seeded) with a k-nearest-neighbour graph
    Sobol,
    /// Uniform random points (seeded) with a k-nearest-neighbour graph
    Random,
}

/// Regions of scattered plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionName {
    /// The whole box of the range.
    Box,
    /// The ellipsoid inside the box.
    Ball,
}

impl Default for LandscapeSection {
    fn default() -> Self {
        LandscapeSection {
            directions: "hessian".into(),
            dims: 2,
            plan: PlanName::Grid,
            points: 41,
            samples: 4096,
            neighbours: 0,
            region: RegionName::Box,
            range: 0.01,
            relative: true,
            max_images: 64,
            through: Vec::new(),
            checkpoints: false,
        }
    }
}

/// `[pinn]`: the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PinnSection {
    /// Layer widths, input (x, t) to output u.
    pub widths: Vec<usize>,
}

impl Default for PinnSection {
    fn default() -> Self {
        PinnSection {
            widths: PinnConfig::new().widths,
        }
    }
}

/// `[convection]`: the PDE and its loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConvectionSection {
    /// The convection speed of u_t + beta u_x = 0.
    pub beta: f64,
    /// Interior points of the residual term.
    pub collocation_points: usize,
    /// Points of the initial condition.
    pub initial_points: usize,
    /// Points of the periodic boundary condition.
    pub boundary_points: usize,
    /// Weight of the initial-condition term of the loss.
    pub initial_weight: f64,
    /// Weight of the residual term.
    pub residual_weight: f64,
    /// Weight of the boundary term.
    pub boundary_weight: f64,
}

impl Default for ConvectionSection {
    fn default() -> Self {
        let c = ConvectionConfig::new();
        ConvectionSection {
            beta: c.beta,
            collocation_points: c.collocation_points,
            initial_points: c.initial_points,
            boundary_points: c.boundary_points,
            initial_weight: c.initial_weight,
            residual_weight: c.residual_weight,
            boundary_weight: c.boundary_weight,
        }
    }
}

/// `[unet]`: the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnetSection {
    /// Down-sampling levels.
    pub depth: usize,
    /// Channels of the first level (doubled at each level down).
    pub base_width: usize,
    /// Groups of the group normalisation.
    pub norm_groups: usize,
    /// Segmentation classes.
    pub classes: usize,
}

impl Default for UnetSection {
    fn default() -> Self {
        let u = UnetConfig::new();
        UnetSection {
            depth: u.depth,
            base_width: u.base_width,
            norm_groups: u.norm_groups,
            classes: u.classes,
        }
    }
}

/// `[shapes]`: synthetic images of shapes to segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesSection {
    /// Image side in pixels.
    pub size: usize,
    /// Images to train on.
    pub train_images: usize,
    /// Held-out images.
    pub test_images: usize,
    /// The most shapes in one image.
    pub max_shapes: usize,
    /// Width of the border class around each shape, in pixels.
    pub border_width: usize,
    /// Standard deviation of the pixel noise.
    pub noise: f64,
}

impl Default for ShapesSection {
    fn default() -> Self {
        let s = ShapesConfig::new();
        ShapesSection {
            size: s.size,
            train_images: s.train_images,
            test_images: s.test_images,
            max_shapes: s.max_shapes,
            border_width: s.border_width,
            noise: s.noise,
        }
    }
}

/// `[pet]`: the Oxford-IIIT Pet images and trimaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetSection {
    /// The folder holding `images/` and `annotations/trimaps/`; relative to the config file.
    pub root: String,
    /// Image side after resizing, in pixels.
    #[serde(default = "pet_size")]
    pub size: usize,
    /// The most images read (0: all).
    #[serde(default)]
    pub max_images: usize,
    /// The held-out share of the images.
    #[serde(default = "pet_test_fraction")]
    pub test_fraction: f64,
}

fn pet_size() -> usize {
    64
}

fn pet_test_fraction() -> f64 {
    0.2
}

/// Optimiser names in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// Adam.
    Adam,
    /// L-BFGS with a strong-Wolfe line search.
    Lbfgs,
}

/// `[training]`: the optimiser and its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSection {
    /// `adam` or `lbfgs`.
    pub optimizer: OptimizerName,
    /// The optimiser's learning rate.
    pub learning_rate: f64,
    /// Passes over the data.
    pub epochs: usize,
    /// UNet only: images per step.
    #[serde(default = "batch_size")]
    pub batch_size: usize,
    /// Save a checkpoint every this many epochs (0: only the final weights).
    #[serde(default)]
    pub checkpoint_every: usize,
    /// L-BFGS only: the iterations of one step.
    #[serde(default = "lbfgs_iterations")]
    pub lbfgs_iterations: usize,
    /// L-BFGS only: the past updates kept.
    #[serde(default = "lbfgs_history")]
    pub lbfgs_history: usize,
    /// A trained model's weights (.safetensors or .bpk, relative to the config file) to load
    /// instead of training: the run evaluates and analyses them as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

fn batch_size() -> usize {
    16
}

fn lbfgs_iterations() -> usize {
    20
}

fn lbfgs_history() -> usize {
    100
}

impl Default for TrainingSection {
    fn default() -> Self {
        TrainingSection {
            optimizer: OptimizerName::Adam,
            learning_rate: 1e-3,
            epochs: 20,
            batch_size: batch_size(),
            checkpoint_every: 0,
            lbfgs_iterations: lbfgs_iterations(),
            lbfgs_history: lbfgs_history(),
            weights: None,
        }
    }
}

/// Whether two configs train the same model the same way (their `[landscape]` and `[hessian]`
/// sections aside).
pub fn same_model_and_training(a: &RunConfig, b: &RunConfig) -> bool {
    let strip = |c: &RunConfig| {
        let mut c = c.clone();
        c.landscape = LandscapeSection::default();
        c.hessian = HessianSection::default();
        c
    };
    strip(a) == strip(b)
}

/// The folder a config file is in, against which the paths in it are resolved.
pub fn folder_of(path: &Path) -> std::path::PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<RunConfig, Error> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Input(format!("{name}: cannot read the config: {e}")))?;
    parse(&text, &name.to_string())
}

/// Parses and checks config text; `name` is the file's name for messages.
pub fn parse(text: &str, name: &str) -> Result<RunConfig, Error> {
    let mut config: RunConfig = parse_toml(text, name)?;
    config.fill_sections();
    config
        .check()
        .map_err(|(key, what)| Error::Input(format!("{name}: key {key}: {what}")))?;
    Ok(config)
}

/// TOML text into `T`, every problem one line naming `name` and the key (or the line of a
/// syntax error): the reading of run configs and of sweep files.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<T, Error> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        Error::Input(format!(
            "{name}{at}: not valid TOML: {}",
            e.message().trim().replace('\n', " ")
        ))
    })?;
    serde_path_to_error::deserialize(table).map_err(|e| {
        let key = e.path().to_string();
        let message = e.inner().message().trim().replace('\n', " ");
        if key == "." || key.is_empty() {
            Error::Input(format!("{name}: {message}"))
        } else {
            Error::Input(format!("{name}: key {key}: {message}"))
        }
    })
}

fn positive(key: &str, value: usize) -> Result<(), (String, String)> {
    if value == 0 {
        return Err((key.into(), "expected a positive integer, got 0".into()));
    }
    Ok(())
}

fn finite(key: &str, value: f64, low: f64) -> Result<(), (String, String)> {
    if !(value.is_finite() && value >= low) {
        let expected = if low == f64::NEG_INFINITY {
            "expected a finite number".to_string()
        } else {
            format!("expected a finite number >= {low}")
        };
        return Err((key.into(), format!("{expected}, got {value}")));
    }
    Ok(())
}

impl RunConfig {
    /// The sections the task uses get their defaults when absent.
    fn fill_sections(&mut self) {
        match self.task {
            Task::PinnConvection => {
                self.pinn.get_or_insert_with(PinnSection::default);
                self.convection
                    .get_or_insert_with(ConvectionSection::default);
            }
            Task::UnetShapes => {
                self.unet.get_or_insert_with(UnetSection::default);
                self.shapes.get_or_insert_with(ShapesSection::default);
            }
            Task::UnetPet => {
                self.unet.get_or_insert_with(UnetSection::default);
            }
        }
    }

    /// Every value in range, and no section the task does not use.
    fn check(&self) -> Result<(), (String, String)> {
        self.check_sections()?;
        self.check_training()?;
        self.check_landscape()?;
        self.check_hessian()?;
        self.check_models()?;
        self.check_images()
    }

    /// No section the task does not use, and weights of a known format.
    fn check_sections(&self) -> Result<(), (String, String)> {
        let task = match self.task {
            Task::PinnConvection => "pinn-convection",
            Task::UnetShapes => "unet-shapes",
            Task::UnetPet => "unet-pet",
        };
        let unused = |key: &str, present: bool| {
            if present {
                Err((key.to_string(), format!("not used by task \"{task}\"")))
            } else {
                Ok(())
            }
        };
        if let Some(weights) = &self.training.weights
            && !(weights.ends_with(".safetensors") || weights.ends_with(".bpk"))
        {
            return Err((
                "training.weights".into(),
                format!("expected a .safetensors or .bpk file, got \"{weights}\""),
            ));
        }
        let is_pinn = self.task == Task::PinnConvection;
        unused("pinn", !is_pinn && self.pinn.is_some())?;
        unused("convection", !is_pinn && self.convection.is_some())?;
        unused("unet", is_pinn && self.unet.is_some())?;
        unused(
            "shapes",
            self.task != Task::UnetShapes && self.shapes.is_some(),
        )?;
        unused("pet", self.task != Task::UnetPet && self.pet.is_some())
    }

    fn check_training(&self) -> Result<(), (String, String)> {
        let t = &self.training;
        finite("training.learning_rate", t.learning_rate, 0.0)?;
        if t.learning_rate == 0.0 {
            return Err((
                "training.learning_rate".into(),
                "expected a positive number, got 0".into(),
            ));
        }
        positive("training.epochs", t.epochs)?;
        positive("training.batch_size", t.batch_size)?;
        positive("training.lbfgs_iterations", t.lbfgs_iterations)?;
        positive("training.lbfgs_history", t.lbfgs_history)
    }

    fn check_hessian(&self) -> Result<(), (String, String)> {
        let h = &self.hessian;
        if !(h.tolerance.is_finite() && h.tolerance > 0.0) {
            return Err((
                "hessian.tolerance".into(),
                format!("expected a positive finite number, got {}", h.tolerance),
            ));
        }
        positive("hessian.max_steps", h.max_steps)?;
        if h.density_probes > 0 && h.density_steps < 2 {
            return Err((
                "hessian.density_steps".into(),
                format!(
                    "expected at least 2 Lanczos steps per density probe, got {}",
                    h.density_steps
                ),
            ));
        }
        Ok(())
    }

    /// The PINN's, the convection problem's and the UNet's sections.
    fn check_models(&self) -> Result<(), (String, String)> {
        if let Some(p) = &self.pinn {
            let w = &p.widths;
            if w.len() < 2 || w[0] != 2 || w[w.len() - 1] != 1 || w.contains(&0) {
                return Err((
                    "pinn.widths".into(),
                    format!("expected positive widths from 2 (x, t) to 1 (u), got {w:?}"),
                ));
            }
        }
        if let Some(c) = &self.convection {
            finite("convection.beta", c.beta, f64::NEG_INFINITY)?;
            positive("convection.collocation_points", c.collocation_points)?;
            positive("convection.initial_points", c.initial_points)?;
            positive("convection.boundary_points", c.boundary_points)?;
            finite("convection.initial_weight", c.initial_weight, 0.0)?;
            finite("convection.residual_weight", c.residual_weight, 0.0)?;
            finite("convection.boundary_weight", c.boundary_weight, 0.0)?;
        }
        if let Some(u) = &self.unet {
            self.unet_config()
                .check()
                .map_err(|(field, what)| (format!("unet.{field}"), what))?;
            if !(2..=3).contains(&u.classes) {
                return Err((
                    "unet.classes".into(),
                    format!("expected 2 or 3, got {}", u.classes),
                ));
            }
        }
        Ok(())
    }

    /// The image sections: the synthetic shapes' and the Pet dataset's.
    fn check_images(&self) -> Result<(), (String, String)> {
        let multiple = 1usize << self.unet.as_ref().map_or(0, |u| u.depth);
        let size_ok = |key: &str, size: usize| {
            if size < 8 || !size.is_multiple_of(multiple) {
                Err((
                    key.to_string(),
                    format!(
                        "expected at least 8 and a multiple of 2^unet.depth = {multiple}, got {size}"
                    ),
                ))
            } else {
                Ok(())
            }
        };
        if let Some(s) = &self.shapes {
            size_ok("shapes.size", s.size)?;
            positive("shapes.train_images", s.train_images)?;
            positive("shapes.test_images", s.test_images)?;
            positive("shapes.max_shapes", s.max_shapes)?;
            finite("shapes.noise", s.noise, 0.0)?;
        }
        match (&self.pet, self.task) {
            (None, Task::UnetPet) => {
                return Err((
                    "pet".into(),
                    "task \"unet-pet\" needs a [pet] section with root".into(),
                ));
            }
            (Some(p), _) => {
                size_ok("pet.size", p.size)?;
                if !(p.test_fraction > 0.0 && p.test_fraction < 1.0) {
                    return Err((
                        "pet.test_fraction".into(),
                        format!("expected a number between 0 and 1, got {}", p.test_fraction),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The `[landscape]` section's values in range (also what `analyze` checks its flags by).
    pub fn check_landscape(&self) -> Result<(), (String, String)> {
        let l = &self.landscape;
        let named = ["hessian", "random", "pca", "interp"].contains(&l.directions.as_str());
        if !(named || l.directions.ends_with(".npy")) {
            return Err((
                "landscape.directions".into(),
                format!(
                    "expected hessian, random, pca, interp or the path of an .npy file, got \"{}\"",
                    l.directions
                ),
            ));
        }
        if !(1..=8).contains(&l.dims) {
            return Err((
                "landscape.dims".into(),
                format!("expected 1 to 8 axes, got {}", l.dims),
            ));
        }
        if l.points < 2 {
            return Err((
                "landscape.points".into(),
                format!("expected at least 2 points per axis, got {}", l.points),
            ));
        }
        // A grid of points^dims, counted without overflow, must fit a merge tree.
        let limit = toposcape_topology::MAX_VERTICES;
        let count = u64::try_from(l.points)
            .ok()
            .and_then(|p| p.checked_pow(l.dims as u32))
            .filter(|&n| n <= limit);
        if l.plan == PlanName::Grid && count.is_none() {
            return Err((
                "landscape.points".into(),
                format!(
                    "{}^{} grid points is more than the {limit} a landscape can have; expected \
                     fewer points per axis or fewer axes",
                    l.points, l.dims
                ),
            ));
        }
        if !(l.range.is_finite() && l.range > 0.0) {
            return Err((
                "landscape.range".into(),
                format!("expected a positive finite number, got {}", l.range),
            ));
        }
        positive("landscape.max_images", l.max_images)?;
        if l.checkpoints && self.training.checkpoint_every == 0 {
            return Err((
                "landscape.checkpoints".into(),
                "needs training.checkpoint_every > 0 (no checkpoints are saved)".into(),
            ));
        }
        if l.samples < 2 || (l.plan == PlanName::Sobol && l.samples > 65536) {
            return Err((
                "landscape.samples".into(),
                format!("expected 2 to 65536 points, got {}", l.samples),
            ));
        }
        Ok(())
    }

    /// The optimiser settings of `[training]`.
    pub fn train_settings(&self) -> TrainSettings {
        let t = &self.training;
        TrainSettings {
            optimizer: match t.optimizer {
                OptimizerName::Adam => OptimizerKind::Adam,
                OptimizerName::Lbfgs => OptimizerKind::Lbfgs,
            },
            learning_rate: t.learning_rate,
            epochs: t.epochs,
            lbfgs_iterations: t.lbfgs_iterations,
            lbfgs_history: t.lbfgs_history,
        }
    }

    /// The PINN of `[pinn]`.
    pub fn pinn_config(&self) -> PinnConfig {
        PinnConfig::new().with_widths(self.pinn.clone().unwrap_or_default().widths)
    }

    /// The problem of `[convection]`.
    pub fn convection_config(&self) -> ConvectionConfig {
        let c = self.convection.clone().unwrap_or_default();
        ConvectionConfig::new()
            .with_beta(c.beta)
            .with_collocation_points(c.collocation_points)
            .with_initial_points(c.initial_points)
            .with_boundary_points(c.boundary_points)
            .with_initial_weight(c.initial_weight)
            .with_residual_weight(c.residual_weight)
            .with_boundary_weight(c.boundary_weight)
            .with_seed(self.seed)
    }

    /// The UNet of `[unet]`.
    pub fn unet_config(&self) -> UnetConfig {
        let u = self.unet.clone().unwrap_or_default();
        UnetConfig::new()
            .with_depth(u.depth)
            .with_base_width(u.base_width)
            .with_norm_groups(u.norm_groups)
            .with_classes(u.classes)
    }

    /// The data of `[shapes]`.
    pub fn shapes_config(&self) -> ShapesConfig {
        let s = self.shapes.clone().unwrap_or_default();
        ShapesConfig::new()
            .with_size(s.size)
            .with_train_images(s.train_images)
            .with_test_images(s.test_images)
            .with_max_shapes(s.max_shapes)
            .with_border_width(s.border_width)
            .with_noise(s.noise)
            .with_classes(self.unet_config().classes)
            .with_seed(self.seed)
    }

    /// The Pet data's config, its root resolved against the config file's folder.
    pub fn pet_config(&self, config_dir: &Path) -> Option<PetConfig> {
        let p = self.pet.as_ref()?;
        Some(
            PetConfig::new(config_dir.join(&p.root).display().to_string())
                .with_size(p.size)
                .with_max_images(p.max_images)
                .with_test_fraction(p.test_fraction)
                .with_classes(self.unet_config().classes)
                .with_seed(self.seed),
        )
    }

    /// The metadata every `theta0.safetensors` carries: the task, this config, and the layout
    /// note (dense weights as burn holds them).
    pub fn weights_metadata(&self) -> [(&'static str, String); 3] {
        [
            ("task", format!("{:?}", self.task)),
            ("config", self.to_toml()),
            ("layout", "burn: dense weights are [in, out]".to_string()),
        ]
    }

    /// The resolved config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "c.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_in_and_round_trip() {
        let config = parse("task = \"pinn-convection\"\n", "c.toml").unwrap();
        assert_eq!(config.convection.as_ref().unwrap().beta, 1.0);
        assert_eq!(
            config.pinn.as_ref().unwrap().widths,
            vec![2, 50, 50, 50, 50, 1]
        );
        let again = parse(&config.to_toml(), "resolved.toml").unwrap();
        assert_eq!(again, config);
        let unet = parse("task = \"unet-shapes\"\n[unet]\ndepth = 3\n", "c.toml").unwrap();
        assert_eq!(unet.unet.as_ref().unwrap().base_width, 8);
        assert_eq!(parse(&unet.to_toml(), "r.toml").unwrap(), unet);
    }

    #[test]
    fn errors_name_the_file_and_key_on_one_line() {
        let cases = [
            (
                "task = \"pinn-convection\"\n[convection]\nbetta = 2\n",
                "key convection",
            ),
            (
                "task = \"pinn-convection\"\n[convection]\nbeta = \"fast\"\n",
                "key convection.beta",
            ),
            (
                "task = \"pinn-convection\"\n[convection]\nbeta = nan\n",
                "key convection.beta",
            ),
            (
                "task = \"pinn-convection\"\n[training]\noptimizer = \"sgd\"\nlearning_rate = 1\nepochs = 1\n",
                "key training.optimizer",
            ),
            (
                "task = \"pinn-convection\"\n[training]\noptimizer = \"adam\"\nlearning_rate = 1\nepochs = 0\n",
                "key training.epochs",
            ),
            (
                "task = \"pinn-convection\"\n[pinn]\nwidths = [3, 1]\n",
                "key pinn.widths",
            ),
            ("task = \"pinn-convection\"\n[unet]\n", "key unet: not used"),
            (
                "task = \"unet-shapes\"\n[shapes]\nsize = 30\n",
                "key shapes.size",
            ),
            (
                "task = \"unet-shapes\"\n[unet]\nnorm_groups = 3\n",
                "key unet.norm_groups: expected a positive divisor of base_width = 8, got 3",
            ),
            (
                "task = \"unet-shapes\"\n[unet]\ndepth = 9\n",
                "key unet.depth: expected at most 6, got 9",
            ),
            (
                "task = \"unet-shapes\"\n[unet]\nbase_width = 0\n",
                "key unet.base_width: expected a positive integer, got 0",
            ),
            (
                "task = \"pinn-convection\"\n[convection]\nbeta = inf\n",
                "key convection.beta: expected a finite number, got inf",
            ),
            ("task = \"unet-pet\"\n", "key pet"),
            ("task = \"gan\"\n", "key task"),
            ("seed = 1\n", "task"),
            ("task = \"pinn-convection\"\nseed = -1\n", "key seed"),
            ("task = \"pinn-convection\"\n[training\n", "line 2"),
            (
                "task = \"pinn-convection\"\n[landscape]\ndims = 9\n",
                "key landscape.dims",
            ),
            (
                "task = \"pinn-convection\"\n[landscape]\nrange = -1\n",
                "key landscape.range",
            ),
            // Checked when the config is read, before any training.
            (
                "task = \"pinn-convection\"\n[landscape]\ndirections = \"hesian\"\n",
                "key landscape.directions: expected hessian, random, pca, interp or the path of an .npy file, got \"hesian\"",
            ),
            (
                "task = \"pinn-convection\"\n[landscape]\npoints = 100000\ndims = 3\n",
                "key landscape.points: 100000^3 grid points",
            ),
            (
                "task = \"pinn-convection\"\n[landscape]\npoint = 3\n",
                "key landscape",
            ),
            (
                "task = \"pinn-convection\"\n[hessian]\ntolerance = 0\n",
                "key hessian.tolerance",
            ),
            (
                "task = \"pinn-convection\"\n[hessian]\ndensity_steps = 1\n",
                "key hessian.density_steps",
            ),
            (
                "task = \"pinn-convection\"\n[hessian]\nprobes = 3\n",
                "key hessian",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.starts_with("c.toml"), "{message}");
            assert!(message.contains(expected), "{text:?}: {message}");
            assert!(!message.contains('\n'), "{message}");
        }
        assert!(error("task = \"pinn-convection\"\n[convection]\nbetta = 2\n").contains("betta"));
    }
}
