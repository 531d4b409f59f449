//! toposcape-perturb: sampling a loss landscape around trained weights.
//!
//! Written so far:
//! - [`params`]: any burn module's parameters as one flat vector (layout by parameter path,
//!   flattening, loading a vector back, gradients as a vector);
//! - [`model`]: the [`model::LandscapeModel`] trait (loss, gradient and batched losses at any
//!   parameter vector) with a generic one-point implementation for any burn module;
//! - [`hessian`]: Hessian-vector products and Lanczos for the top eigenpairs;
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
