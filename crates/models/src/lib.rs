//! toposcape-models: the neural networks whose loss landscapes toposcape analyses.
//!
//! Written so far: the physics-informed network for 1-D convection ([`pinn`]), a tanh MLP whose
//! input derivatives come out of its forward pass, and the convection problem
//! ([`convection`]): seeded sample points, the three-term PINN loss, and the relative L2 error
//! against the exact solution. Still to come (issue "burn models"): the training command and
//! configs, L-BFGS, the UNet for segmentation, checkpoints, and the implementation of
//! `toposcape-perturb`'s model trait.

pub mod checkpoint;
pub mod convection;
pub mod pinn;
pub mod segmentation;
pub mod train;
pub mod unet;
