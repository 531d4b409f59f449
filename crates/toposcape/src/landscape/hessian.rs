//! `hessian.json`: what the Hessian analysis found, as the run directory records it.

use serde::Serialize;
use toposcape_perturb::hessian::{
    HessianAnalysis, HessianOptions, ProductMethod, SpectralQuadrature,
};

/// What `hessian.json` holds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct HessianReport {
    /// Whether the directions are the Hessian's top eigenvectors (`eigenvalues` and the rest).
    pub computed: bool,
    /// The landscape's directions.
    pub directions: String,
    /// How the Hessian-vector products were computed: `exact` (reverse over forward) or
    /// `finite-difference`.
    pub products: &'static str,
    /// The top eigenvalues, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eigenvalues: Vec<f64>,
    /// ||H v - lambda v|| of each pair (v a unit vector), each from one more Hessian-vector
    /// product.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub residuals: Vec<f64>,
    /// The residuals divided by |lambda|: what `tolerance` bounds when `converged`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relative_residuals: Vec<f64>,
    /// Hessian-vector products in all.
    pub hessian_vector_products: usize,
    /// Lanczos steps of the eigenpairs.
    pub lanczos_steps: usize,
    /// Whether every pair's measured relative residual is at most `tolerance`.
    pub converged: bool,
    /// The relative residual each pair must meet.
    pub tolerance: f64,
    /// Finite-difference products only: their step, and along each eigenvector the relative
    /// difference of the products at the step and twice it (of the order of their error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finite_difference_step: Option<f64>,
    /// Finite differences: per eigenvector, the relative difference of the products at the step and twice it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finite_difference_errors: Vec<f64>,
    /// Hutchinson's trace estimate, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceJson>,
    /// The eigenvalue density, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub density: Option<DensityJson>,
    /// Seconds the directions took.
    pub seconds: f64,
    /// PCA only: the fraction of the trajectory's variance along each direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explained_variance: Vec<f64>,
}

/// Hutchinson's trace estimate (PyHessian's `trace()`, a fixed number of Rademacher probes).
#[derive(Debug, Clone, Serialize)]
pub struct TraceJson {
    /// The mean of the probes.
    pub estimate: f64,
    /// The probes' standard error.
    pub standard_error: f64,
    /// Rademacher probes.
    pub probes: usize,
    /// z^T H z of each probe.
    pub samples: Vec<f64>,
}

/// The eigenvalue density by stochastic Lanczos quadrature (PyHessian's `density()`).
#[derive(Debug, Clone, Serialize)]
pub struct DensityJson {
    /// The density on a grid: (eigenvalue, density) rows.
    pub file: &'static str,
    /// Probes (random start vectors).
    pub probes: usize,
    /// Lanczos steps per probe.
    pub lanczos_steps: usize,
    /// The standard deviation of the Gaussian each node is broadened by.
    pub sigma: f64,
    /// Per probe: the nodes (Ritz values) and weights (squared first components).
    pub nodes: Vec<Vec<f64>>,
    /// Per probe: the weights of its nodes.
    pub weights: Vec<Vec<f64>>,
}

/// The Lanczos steps of a quadrature's probes (each probe's node count).
pub fn steps_of(quadrature: &SpectralQuadrature) -> usize {
    quadrature.nodes.first().map_or(0, Vec::len)
}

/// The density's file in the run directory.
pub const DENSITY_FILE: &str = "spectral_density.npy";

impl HessianReport {
    /// What `hessian.json` says of an analysis.
    pub fn new(directions: String, analysis: &HessianAnalysis, options: &HessianOptions) -> Self {
        let mut json = HessianReport {
            directions,
            products: analysis.method.name(),
            hessian_vector_products: analysis.products,
            tolerance: options.eigenpairs.as_ref().map_or(0.0, |l| l.tol),
            finite_difference_errors: analysis.product_errors.clone(),
            ..HessianReport::default()
        };
        if let ProductMethod::FiniteDifference { step } = analysis.method {
            json.finite_difference_step = Some(step);
        }
        if let Some(pairs) = &analysis.eigenpairs {
            json.computed = true;
            json.eigenvalues = pairs.values.clone();
            json.residuals = pairs.residuals.clone();
            json.relative_residuals = pairs
                .residuals
                .iter()
                .zip(&pairs.values)
                .map(|(r, v)| r / v.abs().max(f64::MIN_POSITIVE))
                .collect();
            json.lanczos_steps = pairs.steps;
            json.converged = pairs.converged;
        }
        json.trace = analysis.trace.as_ref().map(|t| TraceJson {
            estimate: t.estimate,
            standard_error: t.standard_error,
            probes: t.samples.len(),
            samples: t.samples.clone(),
        });
        json.density = analysis.density.as_ref().map(|d| DensityJson {
            file: DENSITY_FILE,
            probes: d.quadrature.nodes.len(),
            lanczos_steps: steps_of(&d.quadrature),
            sigma: d.sigma,
            nodes: d.quadrature.nodes.clone(),
            weights: d.quadrature.weights.clone(),
        });
        json
    }
}
