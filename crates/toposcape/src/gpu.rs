//! What wgpu says about this machine's adapters: their names, whether they are CPU adapters
//! (lavapipe), and the largest buffer a device may allocate, from which the PINN's batch size
//! on wgpu is chosen.

use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::stacked_row_count;
use toposcape_models::pinn::PinnConfig;
use toposcape_models::unet::UnetConfig;

/// One adapter wgpu finds.
#[derive(Debug, Clone)]
pub struct Adapter {
    /// The adapter's name, as its driver gives it.
    pub name: String,
    /// A CPU adapter (Mesa's lavapipe, "llvmpipe"): never reported as a GPU.
    pub cpu: bool,
    /// The largest buffer a device on it may bind: min(max storage binding, max buffer).
    pub max_allocation: u64,
}

/// The adapters of Vulkan, Metal and DX12, the graphics APIs burn's wgpu runtime tries first
/// (probing OpenGL too would print errors on headless machines). Empty without the `wgpu`
/// feature.
#[cfg(feature = "wgpu")]
pub fn adapters() -> Vec<Adapter> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut future = std::pin::pin!(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    // Native enumeration completes at once; a pending future is reported as no adapters.
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(adapters) => adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                let limits = a.limits();
                Adapter {
                    name: info.name,
                    cpu: info.device_type == wgpu::DeviceType::Cpu,
                    max_allocation: limits
                        .max_storage_buffer_binding_size
                        .min(limits.max_buffer_size),
                }
            })
            .collect(),
        Poll::Pending => Vec::new(),
    }
}

/// Without the `wgpu` feature there are none.
#[cfg(not(feature = "wgpu"))]
pub fn adapters() -> Vec<Adapter> {
    Vec::new()
}

/// The adapter burn's runtime settles on: a GPU when there is one (as cubecl chooses; the
/// local rank's, see [`use_local_gpu`]), else the first.
pub fn chosen() -> Option<Adapter> {
    choose(&adapters()).cloned()
}

/// The one of `all` that burn's runtime settles on: the first GPU (the local rank's, see
/// [`use_local_gpu`]), else the first adapter.
pub fn choose(all: &[Adapter]) -> Option<&Adapter> {
    let mut gpus = all.iter().filter(|a| !a.cpu);
    gpus.nth(local_gpu_index(all).unwrap_or(0)).or(all.first())
}

static LOCAL_GPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Ranks of one job on one machine take a GPU each: the machine's `index`-th rank the
/// `index`-th GPU (modulo the machine's GPUs). Called before the wgpu device is made, once per
/// process; later calls change nothing.
pub fn use_local_gpu(index: usize) {
    let _ = LOCAL_GPU.set(index);
}

/// The local rank's GPU index of [`use_local_gpu`], if it was called.
pub fn local_gpu() -> Option<usize> {
    LOCAL_GPU.get().copied()
}

/// The GPUs among `all`, the index of the local rank's one among them.
pub fn local_gpu_index(all: &[Adapter]) -> Option<usize> {
    let gpus = all.iter().filter(|a| !a.cpu).count();
    local_gpu().filter(|_| gpus > 0).map(|index| index % gpus)
}

/// Bytes of the batched PINN's largest tensor per point: every stacked row (values at all
/// points, one tangent at the collocation points) at the widest layer, in f32.
fn bytes_per_point(pinn: &PinnConfig, convection: &ConvectionConfig) -> u64 {
    let width = pinn.widths.iter().copied().max().unwrap_or(1);
    (stacked_row_count(convection) * width * 4) as u64
}

/// The most points per pass whose largest tensor fits the chosen adapter's largest buffer
/// (`None` without an adapter).
pub fn largest_batch(pinn: &PinnConfig, convection: &ConvectionConfig) -> Option<usize> {
    points_that_fit(bytes_per_point(pinn, convection))
}

/// How many points of `bytes` each the chosen adapter's largest buffer holds (at least one).
fn points_that_fit(bytes: u64) -> Option<usize> {
    Some((chosen()?.max_allocation / bytes).max(1) as usize)
}

/// A bound on the bytes of the batched UNet's largest buffer per point: the unfolded input
/// of its widest 3x3 convolution (2 x the level's width x 9 values per pixel: a decoder block
/// on the level's own and the skip's channels) over `images` images of `size` x `size`, should
/// a backend unfold it (im2col), in f32.
fn unet_bytes_per_point(unet: &UnetConfig, images: usize, size: usize) -> u64 {
    let widest = (0..=unet.depth)
        .map(|level| 2 * (unet.base_width << level) * 9 * (size >> level).pow(2))
        .max()
        .unwrap_or(1);
    (widest * images * 4) as u64
}

/// The most UNet points per pass whose largest buffer fits the chosen adapter's (`None`
/// without an adapter).
pub fn largest_unet_batch(unet: &UnetConfig, images: usize, size: usize) -> Option<usize> {
    points_that_fit(unet_bytes_per_point(unet, images, size))
}

/// The PINN's default batch on wgpu: the largest power of two up to 1024 that fits the
/// device's largest buffer; 256 when no adapter answers the probe.
pub fn default_batch(pinn: &PinnConfig, convection: &ConvectionConfig) -> usize {
    match largest_batch(pinn, convection) {
        None => 256,
        Some(largest) => {
            let capped = largest.min(1024);
            1 << (usize::BITS - 1 - capped.leading_zeros())
        }
    }
}

/// A device's nominal f32 rate: plain FP32 arithmetic (not tensor cores, which burn's wgpu
/// matrix products in f32 do not use), at boost clock, as its vendor's datasheet gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nominal {
    /// The device the figure is for, as its datasheet names it.
    pub device: &'static str,
    /// The nominal f32 rate, TFLOP/s.
    pub tflops: f64,
}

/// Datasheet FP32 rates (TFLOP/s) of common compute GPUs, matched by the tokens of the
/// adapter's name; a more specific entry comes before the one it refines (H100 PCIe before
/// H100, whose plain name is the SXM part's).
const NOMINAL: &[(&[&str], &str, f64)] = &[
    (&["h200", "nvl"], "NVIDIA H200 NVL", 60.0),
    (&["gh200"], "NVIDIA GH200", 67.0),
    (&["h200"], "NVIDIA H200 SXM", 67.0),
    (&["h100", "pcie"], "NVIDIA H100 PCIe", 51.0),
    (&["h100", "nvl"], "NVIDIA H100 NVL", 60.0),
    (&["h100"], "NVIDIA H100 SXM", 67.0),
    (&["a100"], "NVIDIA A100", 19.5),
    (&["a10"], "NVIDIA A10", 31.2),
    (&["a40"], "NVIDIA A40", 37.4),
    (&["l40s"], "NVIDIA L40S", 91.6),
    (&["l40"], "NVIDIA L40", 90.5),
    (&["l4"], "NVIDIA L4", 30.3),
    (&["t4"], "NVIDIA T4", 8.1),
    (&["v100", "sxm2"], "NVIDIA V100 SXM2", 15.7),
    (&["v100"], "NVIDIA V100 PCIe", 14.0),
    (&["rtx", "a6000"], "NVIDIA RTX A6000", 38.7),
    (&["rtx", "4090"], "NVIDIA GeForce RTX 4090", 82.6),
    (&["rtx", "3090"], "NVIDIA GeForce RTX 3090", 35.6),
    (&["mi300x"], "AMD Instinct MI300X", 163.4),
];

/// The nominal f32 rate of the GPU an adapter name belongs to, when toposcape's table knows
/// it: every token of an entry (lower case, split at anything not a letter or digit) must be
/// one of the name's, so "A10" does not match "A100-SXM4-80GB".
pub fn nominal_f32(adapter: &str) -> Option<Nominal> {
    let lower = adapter.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    NOMINAL
        .iter()
        .find(|(pattern, _, _)| pattern.iter().all(|p| tokens.contains(p)))
        .map(|&(_, device, tflops)| Nominal { device, tflops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pinn_needs_460_kilobytes_a_point() {
        let config = crate::config::parse(
            "task = \"pinn-convection\"\n[training]\noptimizer = \"lbfgs\"\nlearning_rate = 1.0\nepochs = 1\n",
            "t.toml",
        )
        .unwrap();
        // 2300 rows x 50 wide x 4 bytes: a 128 MiB binding (wgpu's default limit) holds 291.
        let bytes = bytes_per_point(&config.pinn_config(), &config.convection_config());
        assert_eq!(bytes, 2300 * 50 * 4);
        assert_eq!((128u64 << 20) / bytes, 291);
    }

    #[test]
    fn the_default_unet_needs_at_most_38_megabytes_a_point() {
        // 64 images of 32 x 32: a decoder block's 16 channels x 9 x 1024 pixels x 64 x 4 bytes.
        let bytes = unet_bytes_per_point(&UnetConfig::new(), 64, 32);
        assert_eq!(bytes, 16 * 9 * 1024 * 64 * 4);
        assert_eq!((128u64 << 20) / bytes, 3);
    }

    #[test]
    fn nominal_rates_are_found_by_the_names_drivers_give() {
        let rate = |name: &str| nominal_f32(name).map(|n| (n.device, n.tflops));
        // Names as Vulkan and nvidia-smi report them.
        assert_eq!(rate("NVIDIA H200"), Some(("NVIDIA H200 SXM", 67.0)));
        assert_eq!(rate("NVIDIA H200 NVL"), Some(("NVIDIA H200 NVL", 60.0)));
        assert_eq!(
            rate("NVIDIA H100 80GB HBM3"),
            Some(("NVIDIA H100 SXM", 67.0))
        );
        assert_eq!(rate("NVIDIA H100 PCIe"), Some(("NVIDIA H100 PCIe", 51.0)));
        assert_eq!(rate("NVIDIA A100-SXM4-80GB"), Some(("NVIDIA A100", 19.5)));
        assert_eq!(rate("NVIDIA A10"), Some(("NVIDIA A10", 31.2)));
        assert_eq!(rate("NVIDIA L40S"), Some(("NVIDIA L40S", 91.6)));
        assert_eq!(
            rate("Tesla V100-SXM2-16GB"),
            Some(("NVIDIA V100 SXM2", 15.7))
        );
        assert_eq!(rate("Tesla T4"), Some(("NVIDIA T4", 8.1)));
        assert_eq!(
            rate("NVIDIA GeForce RTX 4090"),
            Some(("NVIDIA GeForce RTX 4090", 82.6))
        );
        assert_eq!(
            rate("AMD Instinct MI300X (RADV GFX942)"),
            Some(("AMD Instinct MI300X", 163.4))
        );
        // Unknown devices and CPU adapters have no entry.
        assert_eq!(rate("llvmpipe (LLVM 15.0.6, 256 bits)"), None);
        assert_eq!(rate("NVIDIA GeForce RTX 2080"), None);
        assert_eq!(rate("Apple M2 Max"), None);
    }
}
