//! toposcape-perturb: sampling a loss landscape around trained weights.
//!
//! Written so far:
//! - [`params`]: any burn module's parameters as one flat vector (layout by parameter path,
//!   flattening, loading a vector back, gradients as a vector);
//! - [`model`]: the [`model::LandscapeModel`] trait (loss, gradient and batched losses at any
//!   parameter vector) with a generic one-point implementation for any burn module;
//! - [`tangent`]: forward-mode tangents through burn's layers, for exact Hessian-vector
//!   products by reverse over forward;
//! - [`hessian`]: Hessian-vector products (exact, or finite differences with a measured error),
//!   Lanczos for the top eigenpairs, Hutchinson's trace and the spectral density;
//! - [`directions`]: seeded filter-normalised random directions;
//! - [`plan`]: sampling plans: grids of 1 to 8 axes, and scattered (Sobol or random) points
//!   with their k-nearest-neighbour graph;
//! - [`sample`]: the directions as a matrix, the [`sample::PointEvaluator`] trait (one point at
//!   a time from any loss of a parameter vector, or with the perturbation on a burn device) and
//!   the multi-threaded driver that fills a [`store::ChunkStore`], the resumable landscape store.

pub mod directions;
pub mod hessian;
pub mod model;
pub mod params;
pub mod plan;
pub mod random;
pub mod sample;
pub mod store;
pub mod tangent;
