//! The values of flags that name the library's choices: clap's enums, turned into the
//! library's own (which know nothing of clap).

use clap::ValueEnum;
use toposcape::config::{PlanName, RegionName};
use toposcape::{Backend, EvalBackend};

/// `--backend` of `train`: where a model trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// burn's ndarray CPU backend
    Ndarray,
    /// burn's flex CPU backend (ndarray's successor)
    Flex,
    /// burn's wgpu backend: a GPU, or a CPU Vulkan adapter (needs the `wgpu` build feature)
    Wgpu,
}

impl From<BackendArg> for Backend {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Ndarray => Backend::Ndarray,
            BackendArg::Flex => Backend::Flex,
            BackendArg::Wgpu => Backend::Wgpu,
        }
    }
}

/// `--backend` of `analyze`, `run` and `sweep`: where landscape points are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalBackendArg {
    /// The CPU: toposcape's own PINN kernel on every core; the UNet through burn's flex
    Cpu,
    /// burn's flex CPU backend, one model copy per core
    Flex,
    /// burn's ndarray CPU backend, one model copy per core
    Ndarray,
    /// burn's wgpu backend (needs the `wgpu` build feature)
    Wgpu,
}

impl From<EvalBackendArg> for EvalBackend {
    fn from(arg: EvalBackendArg) -> Self {
        match arg {
            EvalBackendArg::Cpu => EvalBackend::Cpu,
            EvalBackendArg::Flex => EvalBackend::Flex,
            EvalBackendArg::Ndarray => EvalBackend::Ndarray,
            EvalBackendArg::Wgpu => EvalBackend::Wgpu,
        }
    }
}

/// `--plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanArg {
    /// A regular grid, points^dims
    Grid,
    /// Owen-scrambled Sobol points (seeded) with a k-nearest-neighbour graph
    Sobol,
    /// Uniform random points (seeded) with a k-nearest-neighbour graph
    Random,
}

impl From<PlanArg> for PlanName {
    fn from(arg: PlanArg) -> Self {
        match arg {
            PlanArg::Grid => PlanName::Grid,
            PlanArg::Sobol => PlanName::Sobol,
            PlanArg::Random => PlanName::Random,
        }
    }
}

/// `--region`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegionArg {
    Box,
    Ball,
}

impl From<RegionArg> for RegionName {
    fn from(arg: RegionArg) -> Self {
        match arg {
            RegionArg::Box => RegionName::Box,
            RegionArg::Ball => RegionName::Ball,
        }
    }
}
