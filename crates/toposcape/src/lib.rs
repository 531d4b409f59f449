//! The toposcape pipeline as a library: run configs, training, Hessian directions, sampled loss
//! landscapes and their topology, run directories, sweeps and reports. The `toposcape` binary
//! is a thin shell over it (argument parsing, progress bars, printing, exit codes); the design
//! is in docs/ARCHITECTURE.md.
//!
//! Nothing here prints or parses a command line. Long work reports through a [`Progress`];
//! bad input is an [`Error::Input`] or an [`Error::Option`], which name the file, the config
//! key or the option.
//!
//! Two ways in:
//! - [`analyse`] a run directory (or a weights file and its config) as `toposcape analyze`
//!   does, into the files of docs/ARCHITECTURE.md, contract 4; [`training::train`] makes one.
//! - [`landscape::explore`] any burn module and loss of your own, in memory:
//!
//! ```
//! use burn::module::Param;
//! use burn::prelude::*;
//! use toposcape::landscape::{ExploreOptions, explore};
//! use toposcape::progress::Silent;
//!
//! // A model: any burn module; here one parameter vector and the loss 3 x^2 + y^2.
//! #[derive(Module, Debug)]
//! struct Bowl {
//!     p: Param<Tensor<1>>,
//! }
//!
//! let device = Device::flex();
//! let bowl = Bowl {
//!     p: Param::from_tensor(Tensor::<1>::from_floats([0.5f32, -0.5].as_slice(), &device)),
//! };
//! let weights = Tensor::<1>::from_floats([3.0f32, 1.0].as_slice(), &device);
//! let loss = move |b: &Bowl| (b.p.val().powf_scalar(2.0) * weights.clone()).sum();
//! let options = ExploreOptions { points: 11, ..ExploreOptions::default() };
//! let found = explore(&bowl, &device, loss, &options, &Silent)?;
//! // The Hessian is diag(6, 2); the landscape around the weights is one bowl.
//! assert!((found.eigenvalues[0] - 6.0).abs() < 1e-2);
//! assert_eq!(found.metrics.minima, 1);
//! # Ok::<(), toposcape::Error>(())
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod compare;
pub mod config;
pub mod documents;
pub mod error;
pub mod field;
pub mod figures;
pub mod gpu;
pub mod landscape;
pub mod lock;
pub mod memory;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod output;
pub mod progress;
pub mod report;
pub mod run;
pub mod rundir;
pub mod stats;
pub mod sweep;
pub mod team;
pub mod topo;
pub mod training;

pub use backend::{Backend, EvalBackend};
pub use config::RunConfig;
pub use error::{Error, Result};
pub use landscape::{AnalysisOptions, AnalysisSummary, analyse};
pub use progress::{Progress, Stage};
pub use run::{RunEvent, RunOptions};
pub use rundir::{RunDir, RunState};
pub use sweep::{Execution, SweepOptions, SweepSummary};
