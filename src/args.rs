//! The values of flags that name the library's choices: clap's enums, turned into the
//! library's own (which know nothing of clap).

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use toposcape::config::{PlanName, RegionName};
use toposcape::{Backend, EvalBackend, Execution};
use toposcape_topology::{Connectivity, Threshold};

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

/// Command-line names of the grid connectivities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ConnectivityArg {
    /// Kuhn/Freudenthal triangulation: 2^(n+1)-2 neighbours (the exact piecewise-linear merge tree)
    #[default]
    Freudenthal,
    /// Axis-aligned neighbours only: 2n
    Axis,
    /// Every neighbour in the surrounding 3^n block: 3^n-1
    Full,
}

impl From<ConnectivityArg> for Connectivity {
    fn from(arg: ConnectivityArg) -> Self {
        match arg {
            ConnectivityArg::Freudenthal => Connectivity::Freudenthal,
            ConnectivityArg::Axis => Connectivity::Axis,
            ConnectivityArg::Full => Connectivity::Full,
        }
    }
}

/// How a field is read and its tree computed (shared by `topo` and `compare`).
#[derive(Debug, Args)]
pub struct TreeOptions {
    /// The array to read from a .npz archive [default: loss]
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
    /// Which grid vertices are neighbours
    #[arg(long, value_enum, default_value_t = ConnectivityArg::Freudenthal)]
    pub connectivity: ConnectivityArg,
    /// Remove persistence pairs below X: an absolute loss difference (0.05), or a percentage of
    /// the finite loss range (1%)
    #[arg(long, value_name = "X", value_parser = parse_threshold, allow_hyphen_values = true)]
    pub simplify: Option<Threshold>,
}

impl TreeOptions {
    /// The library's options of these flags.
    pub fn options(&self) -> toposcape::field::TreeOptions {
        toposcape::field::TreeOptions {
            key: self.key.clone(),
            connectivity: self.connectivity.into(),
            simplify: self.simplify,
        }
    }
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    text.parse()
        .map_err(|e: toposcape_topology::InvalidThresholdText| e.to_string())
}

/// How `jobs` runs at a time are executed: here for one, else as child processes of this
/// binary.
pub fn execution(jobs: usize) -> anyhow::Result<Execution> {
    Ok(if jobs == 1 {
        Execution::InProcess
    } else {
        Execution::Processes {
            program: std::env::current_exe().context("the toposcape binary's path")?,
            jobs,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        assert_eq!(parse_threshold("0.5"), Ok(Threshold::Absolute(0.5)));
        assert_eq!(parse_threshold("2%"), Ok(Threshold::FractionOfRange(0.02)));
        assert!(parse_threshold("-1").is_err());
        assert!(parse_threshold("nan").is_err());
        assert!(parse_threshold("abc%").is_err());
    }
}
