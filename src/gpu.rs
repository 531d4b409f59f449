//! What wgpu says about this machine's adapters: their names, whether they are CPU adapters
//! (lavapipe), and the largest buffer a device may allocate, from which the PINN's batch size
//! on wgpu is chosen.

use toposcape_models::convection::ConvectionConfig;
use toposcape_models::kernel::stacked_row_count;
use toposcape_models::pinn::PinnConfig;

/// One adapter wgpu finds.
#[derive(Debug, Clone)]
pub struct Adapter {
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

#[cfg(not(feature = "wgpu"))]
pub fn adapters() -> Vec<Adapter> {
    Vec::new()
}

/// The adapter burn's runtime settles on: a GPU when there is one (as cubecl chooses), else
/// the first.
pub fn chosen() -> Option<Adapter> {
    let all = adapters();
    all.iter().find(|a| !a.cpu).or(all.first()).cloned()
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
    let limit = chosen()?.max_allocation;
    Some((limit / bytes_per_point(pinn, convection)).max(1) as usize)
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
}
