//! Sampling plans: where in the space spanned by the directions the loss is evaluated.
//!
//! Coordinates are absolute: the point with coordinates `c` is `theta0 + sum_i c_i d_i`. A
//! range "relative to ||theta0||" (the unit of the Python package Landscaper, whose `distance`
//! spans `+-distance * ||theta0||`) is converted to absolute coordinates here, once, and the
//! absolute values are what `axes.json` records. For unit directions (Hessian eigenvectors) a
//! coordinate is a distance in parameter space.

/// A regular grid of 1 to 8 axes, each with its own coordinates, in C order (the last axis
/// varies fastest): the order of `landscape.npy` and of the topology crate's vertex ids.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPlan {
    pub axes: Vec<Vec<f64>>,
}

/// The most axes a grid may have (the topology crate's limit).
pub const MAX_DIMS: usize = 8;

impl GridPlan {
    /// `points` evenly spaced coordinates in `[-range, range]` on each axis. With an odd
    /// number of points the middle one is exactly 0, so theta0 itself is a grid vertex.
    ///
    /// # Panics
    /// If there are no axes or more than [`MAX_DIMS`], fewer than 2 points on an axis, or a
    /// range that is not positive and finite (callers check their input first).
    pub fn centred(points: &[usize], ranges: &[f64]) -> Self {
        assert!(
            (1..=MAX_DIMS).contains(&points.len()) && points.len() == ranges.len(),
            "1 to {MAX_DIMS} axes, one range each"
        );
        let axes = points
            .iter()
            .zip(ranges)
            .map(|(&p, &r)| {
                assert!(
                    p >= 2 && r.is_finite() && r > 0.0,
                    "axis of {p} points, range {r}"
                );
                (0..p)
                    .map(|i| {
                        // Symmetric by construction: coordinate i is minus coordinate p-1-i.
                        let twice = 2 * i as i64 - (p as i64 - 1);
                        r * twice as f64 / (p - 1) as f64
                    })
                    .collect()
            })
            .collect();
        GridPlan { axes }
    }

    /// The number of points on each axis.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(Vec::len).collect()
    }

    pub fn dims(&self) -> usize {
        self.axes.len()
    }

    /// The number of grid points.
    pub fn len(&self) -> usize {
        self.axes.iter().map(Vec::len).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The coordinates of grid point `index` (a flat C-order index), written into `out`.
    pub fn point_into(&self, index: usize, out: &mut [f64]) {
        let mut rest = index;
        for (axis, slot) in self.axes.iter().zip(out.iter_mut()).rev() {
            *slot = axis[rest % axis.len()];
            rest /= axis.len();
        }
    }

    /// The coordinates of grid point `index`.
    pub fn point(&self, index: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.dims()];
        self.point_into(index, &mut out);
        out
    }

    /// The flat index of the grid's centre when every axis has an odd number of points (theta0
    /// itself), else `None`.
    pub fn centre(&self) -> Option<usize> {
        let mut index = 0;
        for axis in &self.axes {
            if axis.len() % 2 == 0 {
                return None;
            }
            index = index * axis.len() + axis.len() / 2;
        }
        Some(index)
    }
}

/// The Euclidean norm of a parameter vector, accumulated in f64.
pub fn norm(theta: &[f32]) -> f64 {
    theta
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_axes_are_symmetric_with_an_exact_zero() {
        let plan = GridPlan::centred(&[5, 4], &[1.0, 0.3]);
        assert_eq!(plan.axes[0], vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(plan.axes[1][0], -0.3);
        assert_eq!(plan.axes[1][3], 0.3);
        assert_eq!(plan.axes[1][1], -plan.axes[1][2]);
        assert_eq!(plan.shape(), vec![5, 4]);
        assert_eq!(plan.len(), 20);
        assert_eq!(plan.centre(), None);
        let odd = GridPlan::centred(&[41, 41, 41], &[0.01, 0.01, 0.01]);
        assert_eq!(odd.axes[0][20], 0.0);
        assert_eq!(odd.point(odd.centre().unwrap()), vec![0.0; 3]);
    }

    #[test]
    fn points_are_in_c_order() {
        let plan = GridPlan::centred(&[3, 2, 5], &[1.0, 2.0, 4.0]);
        let mut index = 0;
        for a in &plan.axes[0] {
            for b in &plan.axes[1] {
                for c in &plan.axes[2] {
                    assert_eq!(plan.point(index), vec![*a, *b, *c]);
                    index += 1;
                }
            }
        }
        assert_eq!(index, plan.len());
    }
}
