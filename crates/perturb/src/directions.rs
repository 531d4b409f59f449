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

/// The principal directions of a training trajectory (Li et al. 2018, section 7): the top
/// `count` principal components of the checkpoints' differences from `theta0` (the final
/// weights), as orthonormal rows, with the fraction of the trajectory's variance each explains.
/// Computed through the small Gram matrix of the differences (checkpoints x checkpoints).
///
/// # Panics
/// If a checkpoint's length differs from `theta0`'s.
pub fn principal(
    checkpoints: &[Vec<f32>],
    theta0: &[f32],
    count: usize,
) -> Result<(Vec<Vec<f64>>, Vec<f64>), String> {
    let m = checkpoints.len();
    if count > m {
        return Err(format!(
            "{count} principal directions need at least {count} checkpoints besides the final weights, found {m}"
        ));
    }
    let diffs: Vec<Vec<f64>> = checkpoints
        .iter()
        .map(|c| {
            assert_eq!(c.len(), theta0.len(), "checkpoint length");
            c.iter()
                .zip(theta0)
                .map(|(a, b)| f64::from(*a) - f64::from(*b))
                .collect()
        })
        .collect();
    let gram = nalgebra::DMatrix::<f64>::from_fn(m, m, |i, j| {
        diffs[i].iter().zip(&diffs[j]).map(|(a, b)| a * b).sum()
    });
    let eigen = nalgebra::SymmetricEigen::new(gram);
    let mut order: Vec<usize> = (0..m).collect();
    let values: Vec<f64> = eigen.eigenvalues.iter().copied().collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let mut rows = Vec::with_capacity(count);
    let mut explained = Vec::with_capacity(count);
    for &k in order.iter().take(count) {
        let value = values[k];
        if value <= total * 1e-12 || value <= 0.0 {
            return Err(format!(
                "the checkpoints span fewer than {count} directions (component {} has no variance)",
                rows.len() + 1
            ));
        }
        // The component in parameter space: X^T v / sqrt(lambda), a unit vector.
        let mut row = vec![0.0; theta0.len()];
        for (i, d) in diffs.iter().enumerate() {
            let w = eigen.eigenvectors[(i, k)] / value.sqrt();
            for (r, x) in row.iter_mut().zip(d) {
                *r += w * x;
            }
        }
        rows.push(row);
        explained.push(value / total);
    }
    Ok((rows, explained))
}

/// Scales each row to unit length (zero rows stay zero).
pub fn unit_rows(rows: &mut [Vec<f64>]) {
    for row in rows {
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
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

    #[test]
    fn principal_directions_of_a_planar_trajectory() {
        // Checkpoints on the plane spanned by e0 and e1 around theta0, mostly along e0.
        let theta0 = vec![1.0f32, 2.0, 3.0, 4.0];
        let checkpoints: Vec<Vec<f32>> = [(3.0, 0.5), (-2.0, -0.4), (1.0, -0.3), (-1.5, 0.6)]
            .iter()
            .map(|&(a, b)| vec![1.0 + a, 2.0 + b, 3.0, 4.0])
            .collect();
        let (rows, explained) = principal(&checkpoints, &theta0, 2).unwrap();
        assert!(explained[0] > explained[1] && explained[0] + explained[1] > 1.0 - 1e-9);
        for (i, a) in rows.iter().enumerate() {
            for (j, b) in rows.iter().enumerate() {
                let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-9);
            }
            assert!(a[2].abs() < 1e-9 && a[3].abs() < 1e-9, "in the plane");
        }
        assert!(rows[0][0].abs() > 0.9, "mostly along e0: {:?}", rows[0]);
        assert!(principal(&checkpoints, &theta0, 3).is_err(), "rank 2");
        assert!(principal(&checkpoints[..1], &theta0, 2).is_err());
    }
}
