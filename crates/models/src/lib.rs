//! toposcape-models: the neural networks whose loss landscapes toposcape analyses.
//!
//! Not written yet. This crate will hold the burn modules (a tanh MLP PINN for 1-D convection and a
//! UNet for segmentation), their data generators and loaders, the training loops (Adam and L-BFGS),
//! checkpoints and evaluation metrics, and the implementation of `toposcape-perturb`'s model trait
//! for both models.
