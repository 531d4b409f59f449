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

/// Where sampling points lie: what the driver in [`crate::sample`] needs of a plan.
pub trait Plan: Sync {
    /// Coordinates per point.
    fn dims(&self) -> usize;
    /// The number of points.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The coordinates of point `index`, written into `out`.
    fn point_into(&self, index: usize, out: &mut [f64]);
}

impl Plan for GridPlan {
    fn dims(&self) -> usize {
        GridPlan::dims(self)
    }
    fn len(&self) -> usize {
        GridPlan::len(self)
    }
    fn point_into(&self, index: usize, out: &mut [f64]) {
        GridPlan::point_into(self, index, out)
    }
}

/// How scattered points fill the region around theta0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scatter {
    /// Owen-scrambled Sobol points (low discrepancy), seeded.
    Sobol,
    /// Independent uniform points, seeded.
    Random,
}

/// The region scattered points fill: `[-h_i, h_i]` on each axis, or the ellipsoid with those
/// half-widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Box,
    Ball,
}

/// Scattered points, for more dimensions than a grid can afford. Point 0 is theta0 itself
/// (all coordinates 0); the others are seeded.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatteredPlan {
    pub dims: usize,
    /// `len x dims`, row-major.
    pub coords: Vec<f64>,
}

/// The most points a Sobol plan can have (the `sobol_burley` sequence's length).
pub const MAX_SOBOL_POINTS: usize = 1 << 16;

impl ScatteredPlan {
    /// `count` points (theta0 first) in `region` with the given half-widths.
    ///
    /// # Panics
    /// If `count` is 0, there are no half-widths, or a Sobol plan asks for more than
    /// [`MAX_SOBOL_POINTS`] (callers check their input first).
    pub fn new(
        count: usize,
        half_widths: &[f64],
        scatter: Scatter,
        region: Region,
        seed: u64,
    ) -> Self {
        let dims = half_widths.len();
        assert!(count >= 1 && dims >= 1, "points and axes");
        let mut coords = vec![0.0; dims];
        let mut random = crate::random::SplitMix64(seed ^ 0x5ca7_7e7e_d000);
        let mut unit = vec![0.0; dims];
        let mut index: u32 = 0;
        let mut draw = |unit: &mut [f64]| match scatter {
            Scatter::Sobol => {
                assert!(
                    (index as usize) < MAX_SOBOL_POINTS,
                    "a Sobol plan of at most 2^16 points"
                );
                for (d, u) in unit.iter_mut().enumerate() {
                    *u = f64::from(sobol_burley::sample(index, d as u32, seed as u32)) * 2.0 - 1.0;
                }
                index += 1;
            }
            Scatter::Random => unit.iter_mut().for_each(|u| *u = random.between(-1.0, 1.0)),
        };
        while coords.len() < count * dims {
            draw(&mut unit);
            if region == Region::Ball && unit.iter().map(|u| u * u).sum::<f64>() > 1.0 {
                continue;
            }
            coords.extend(unit.iter().zip(half_widths).map(|(u, h)| u * h));
        }
        ScatteredPlan { dims, coords }
    }

    pub fn point(&self, index: usize) -> &[f64] {
        &self.coords[index * self.dims..(index + 1) * self.dims]
    }

    /// The undirected graph joining every point to its `k` nearest neighbours (Euclidean, in
    /// coordinates scaled by `half_widths` so every axis counts alike; ties by index), as
    /// edges for [`toposcape_topology`]-style graph input: [`knn_edges`] of the scaled points.
    pub fn knn_edges(&self, k: usize, half_widths: &[f64]) -> Vec<(u32, u32)> {
        let scaled: Vec<f64> = self
            .coords
            .chunks_exact(self.dims)
            .flat_map(|p| p.iter().zip(half_widths).map(|(c, h)| c / h))
            .collect();
        knn_edges(&scaled, self.dims, k)
    }
}

/// The undirected graph joining each of the points (`dims` coordinates each, one after
/// another) to its `k` nearest neighbours, Euclidean, ties by index: edges `(a, b)` with
/// `a < b`, sorted, without repeats. Exact, by brute force: O(N^2 dims).
pub fn knn_edges(points: &[f64], dims: usize, k: usize) -> Vec<(u32, u32)> {
    let n = points.len() / dims.max(1);
    let point = |i: usize| &points[i * dims..(i + 1) * dims];
    let mut edges = Vec::with_capacity(n * k);
    let mut candidates: Vec<(f64, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        candidates.clear();
        let a = point(i);
        for j in (0..n).filter(|&j| j != i) {
            let d: f64 = a.iter().zip(point(j)).map(|(x, y)| (x - y) * (x - y)).sum();
            candidates.push((d, j));
        }
        let take = k.min(candidates.len());
        if take == 0 {
            continue;
        }
        candidates.select_nth_unstable_by(take - 1, |x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(_, j) in &candidates[..take] {
            let (a, b) = if i < j { (i, j) } else { (j, i) };
            edges.push((a as u32, b as u32));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    edges
}

impl Plan for ScatteredPlan {
    fn dims(&self) -> usize {
        self.dims
    }
    fn len(&self) -> usize {
        self.coords.len() / self.dims
    }
    fn point_into(&self, index: usize, out: &mut [f64]) {
        out.copy_from_slice(self.point(index));
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

    #[test]
    fn scattered_points_fill_their_region_from_theta0() {
        for scatter in [Scatter::Sobol, Scatter::Random] {
            let h = [1.0, 0.5, 2.0];
            let plan = ScatteredPlan::new(500, &h, scatter, Region::Box, 7);
            assert_eq!(Plan::len(&plan), 500);
            assert_eq!(plan.point(0), &[0.0, 0.0, 0.0]);
            for i in 1..500 {
                assert!(plan.point(i).iter().zip(&h).all(|(c, h)| c.abs() <= *h));
            }
            // Every octant is visited.
            let mut octants = [false; 8];
            for i in 1..500 {
                let p = plan.point(i);
                let o = usize::from(p[0] > 0.0)
                    | usize::from(p[1] > 0.0) << 1
                    | usize::from(p[2] > 0.0) << 2;
                octants[o] = true;
            }
            assert!(octants.iter().all(|&o| o));
            assert_eq!(
                plan,
                ScatteredPlan::new(500, &h, scatter, Region::Box, 7),
                "seeded"
            );
            assert_ne!(plan, ScatteredPlan::new(500, &h, scatter, Region::Box, 8));
            let ball = ScatteredPlan::new(300, &h, scatter, Region::Ball, 7);
            for i in 0..300 {
                let r: f64 = ball
                    .point(i)
                    .iter()
                    .zip(&h)
                    .map(|(c, h)| (c / h).powi(2))
                    .sum();
                assert!(r <= 1.0);
            }
        }
    }

    #[test]
    fn nearest_neighbours_match_a_direct_search() {
        let h = [1.0, 3.0];
        let plan = ScatteredPlan::new(60, &h, Scatter::Random, Region::Box, 1);
        let edges = plan.knn_edges(4, &h);
        // Each point's 4 nearest (by scaled distance) are among its edges.
        for i in 0..60 {
            let mut others: Vec<(f64, usize)> = (0..60)
                .filter(|&j| j != i)
                .map(|j| {
                    let d: f64 = plan
                        .point(i)
                        .iter()
                        .zip(plan.point(j))
                        .zip(&h)
                        .map(|((a, b), h)| ((a - b) / h).powi(2))
                        .sum();
                    (d, j)
                })
                .collect();
            others.sort_by(|a, b| a.0.total_cmp(&b.0));
            for &(_, j) in &others[..4] {
                let e = (i.min(j) as u32, i.max(j) as u32);
                assert!(edges.binary_search(&e).is_ok(), "{i}-{j}");
            }
        }
        assert!(edges.len() <= 60 * 4 && edges.len() >= 60 * 2);
    }
}
