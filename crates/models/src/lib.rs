//! toposcape-models: the neural networks whose loss landscapes toposcape analyses, their data,
//! and their training.
//!
//! - [`pinn`]: a tanh MLP whose input derivatives come out of its forward pass, and
//!   [`convection`]: the 1-D convection problem (seeded points, the three-term PINN loss, the
//!   relative L2 error against the exact solution).
//! - [`unet`]: a UNet for segmentation with pixel accuracy and mean IoU, and
//!   [`segmentation`]: seeded synthetic shapes and the Oxford-IIIT Pet layout;
//!   [`unet_batched`]: its loss at B points per pass as one network of B groups (the GPU path).
//! - [`kernel`]: the PINN loss as a CPU kernel outside burn, for fast landscape sampling;
//!   [`batched`]: the PINN loss at B points per pass on any burn device (the GPU path).
//! - [`train`]: one training loop with Adam or L-BFGS; [`checkpoint`]: burn records and
//!   safetensors named by parameter path.
//!
//! Models are plain burn 0.22 modules: the backend is the `Device` they are created on (flex,
//! ndarray, or wgpu when burn is built with it).

pub mod batched;
pub mod checkpoint;
pub mod convection;
pub mod kernel;
pub mod pinn;
pub mod segmentation;
pub mod train;
pub mod unet;
pub mod unet_batched;
