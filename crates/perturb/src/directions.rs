//! Random directions with filter normalisation (Li et al. 2018, "Visualizing the Loss
//! Landscape of Neural Nets").
//!
//! A direction is drawn from a standard normal distribution, then each filter is rescaled to
//! the norm of the same filter of theta0. A filter is one output unit's weights: for a
//! convolution weight `[out, in, kh, kw]` the slice of one output channel; for a dense weight
//! in burn's `[in, out]` layout the column of one output; for a dense weight stored `[out, in]`
//! the row. One-dimensional parameters (biases and normalisation scales and shifts) are set to
//! zero, as Li et al. do, so the direction moves only the weights. Hessian directions are never
//! normalised this way: they stay orthonormal.

use crate::params::ParamLayout;
use crate::random::SplitMix64;

/// How a parameter tensor's filters are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAxis {
    /// Filters along the first axis (convolutions `[out, in, kh, kw]`, PyTorch-style dense).
    First,
    /// Filters along the last axis (burn's dense weights `[in, out]`).
    Last,
}

/// The filter axis toposcape assumes: 2-D tensors are burn dense weights (`[in, out]`, filters
/// are columns), tensors of 3 or more dimensions are convolutions (filters along the first axis).
pub fn burn_filter_axis(shape: &[usize]) -> FilterAxis {
    if shape.len() == 2 {
        FilterAxis::Last
    } else {
        FilterAxis::First
    }
}

/// The indices of each filter of a tensor of `shape` at `offset` in the flat vector.
fn filters(shape: &[usize], offset: usize, axis: FilterAxis) -> Vec<Vec<usize>> {
    let numel: usize = shape.iter().product();
    match axis {
        FilterAxis::First => {
            let count = shape[0];
            let size = numel / count.max(1);
            (0..count)
                .map(|f| (offset + f * size..offset + (f + 1) * size).collect())
                .collect()
        }
        FilterAxis::Last => {
            let count = *shape.last().expect("a shape");
            let rows = numel / count.max(1);
            (0..count)
                .map(|f| (0..rows).map(|r| offset + r * count + f).collect())
                .collect()
        }
    }
}

/// `count` filter-normalised random directions for `theta0` of `layout`, from `seed`.
/// `axis` says where each tensor's filters lie ([`burn_filter_axis`] for burn modules).
pub fn filter_normalised(
    layout: &ParamLayout,
    theta0: &[f32],
    count: usize,
    seed: u64,
    axis: impl Fn(&[usize]) -> FilterAxis,
) -> Vec<Vec<f32>> {
    let mut random = SplitMix64(seed ^ 0xd1_7ec7_1075);
    (0..count)
        .map(|_| {
            let mut d: Vec<f64> = (0..layout.len()).map(|_| random.normal()).collect();
            for entry in &layout.entries {
                if entry.shape.len() < 2 {
                    d[entry.offset..entry.offset + entry.numel()].fill(0.0);
                    continue;
                }
                for filter in filters(&entry.shape, entry.offset, axis(&entry.shape)) {
                    let norm = |v: &dyn Fn(usize) -> f64| {
                        filter.iter().map(|&i| v(i).powi(2)).sum::<f64>().sqrt()
                    };
                    let target = norm(&|i| f64::from(theta0[i]));
                    let current = norm(&|i| d[i]);
                    let scale = if current > 0.0 { target / current } else { 0.0 };
                    for &i in &filter {
                        d[i] *= scale;
                    }
                }
            }
            d.into_iter().map(|x| x as f32).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamEntry;

    fn layout() -> ParamLayout {
        let shapes = [vec![3, 4], vec![4], vec![2, 3, 2, 2], vec![2]];
        let mut offset = 0;
        let entries = ["dense.weight", "dense.bias", "conv.weight", "conv.bias"]
            .iter()
            .zip(shapes)
            .map(|(name, shape)| {
                let entry = ParamEntry {
                    name: name.to_string(),
                    shape: shape.clone(),
                    offset,
                };
                offset += entry.numel();
                entry
            })
            .collect();
        ParamLayout { entries }
    }

    #[test]
    fn every_filter_has_the_norm_of_theta0s_and_biases_are_zero() {
        let layout = layout();
        let theta0: Vec<f32> = (0..layout.len()).map(|i| (i as f32 * 0.37).sin()).collect();
        let directions = filter_normalised(&layout, &theta0, 3, 9, burn_filter_axis);
        assert_eq!(directions.len(), 3);
        assert_ne!(directions[0], directions[1]);
        assert_eq!(
            filter_normalised(&layout, &theta0, 3, 9, burn_filter_axis),
            directions
        );
        let norm = |v: &[f32], idx: &[usize]| {
            idx.iter()
                .map(|&i| f64::from(v[i]).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        for d in &directions {
            // Dense [3, 4] at 0: filters are the 4 columns (stride 4).
            for f in 0..4 {
                let idx: Vec<usize> = (0..3).map(|r| r * 4 + f).collect();
                assert!((norm(d, &idx) - norm(&theta0, &idx)).abs() < 1e-5);
            }
            // Conv [2, 3, 2, 2] at 16: filters are the 2 blocks of 12.
            for f in 0..2 {
                let idx: Vec<usize> = (16 + 12 * f..16 + 12 * (f + 1)).collect();
                assert!((norm(d, &idx) - norm(&theta0, &idx)).abs() < 1e-5);
            }
            assert!(d[12..16].iter().all(|&x| x == 0.0));
            assert!(d[40..42].iter().all(|&x| x == 0.0));
        }
        // Rows instead of columns with FilterAxis::First.
        let rows = filter_normalised(&layout, &theta0, 1, 9, |_| FilterAxis::First);
        for r in 0..3 {
            let idx: Vec<usize> = (r * 4..r * 4 + 4).collect();
            assert!((norm(&rows[0], &idx) - norm(&theta0, &idx)).abs() < 1e-5);
        }
    }
}
