//! toposcape-perturb: sampling a loss landscape around trained weights.
//!
//! Written so far:
//! - [`params`]: any burn module's parameters as one flat vector (layout by parameter path,
//!   flattening, loading a vector back, gradients as a vector);
//! - [`model`]: the [`model::LandscapeModel`] trait (loss, gradient and batched losses at any
//!   parameter vector) with a generic one-point implementation for any burn module;
//! - [`hessian`]: Hessian-vector products and Lanczos for the top eigenpairs;
//! - [`directions`]: seeded filter-normalised random directions.
//!
//! Still to come (issue "perturbation"): PCA and interpolation directions, sampling plans, the
//! fast evaluators for the PINN and the UNet, the resumable landscape store, `toposcape analyze`.

pub mod directions;
pub mod hessian;
pub mod model;
pub mod params;
pub mod random;
