//! toposcape-perturb: sampling a loss landscape around trained weights.
//!
//! Not written yet. This crate will hold the model-as-one-parameter-vector trait, the directions
//! (Hessian top-k by Lanczos, filter-normalised random directions, PCA of checkpoints,
//! interpolation), the sampling plans (grids of 1 to 8 dimensions, scattered points with a
//! nearest-neighbour graph), the batched evaluators for CPU and GPU backends, and the resumable
//! landscape store.
