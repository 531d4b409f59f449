//! toposcape-perturb: sampling a loss landscape around trained weights.
//!
//! Written so far: [`params`], any burn module's parameters as one flat vector (layout by
//! parameter path, flattening, loading a vector back, gradients as a vector). Still to come
//! (issue "perturbation"): the model trait, the directions (Hessian top-k by Lanczos,
//! filter-normalised random directions, PCA of checkpoints, interpolation), the sampling plans,
//! the batched evaluators, and the resumable landscape store.

pub mod hessian;
pub mod model;
pub mod params;
