//! Basins of attraction: every vertex's steepest-descent minimum, the descending manifolds of
//! the Morse-Smale complex on a grid or graph.
//!
//! From each vertex the path of steepest descent steps to the neighbour below it (in the total
//! order of (value, vertex id)) with the largest drop per unit of edge length,
//! `(f(v) - f(u)) / |v - u|` ([`crate::Neighbourhood::edge_length`]), until it reaches a vertex
//! with no neighbour below: a local minimum, the leaf of the join tree where its basin is born.
//! This is topopy's `steepest` gradient, whose Morse-Smale complex Landscaper reads its basin
//! volumes from; on a grid whose axes all have one spacing the steepest neighbour along axis
//! edges is the lowest one. Equal drops go to the neighbour lower in the order; a drop from a
//! non-finite value (or to `-inf`) counts as infinite, and one between two values of the same
//! non-finite level as zero.

use crate::sweep::NONE;
use crate::value::{FieldValue, ValueClass};
use crate::{Neighbourhood, TopologyError};

/// The basins of a field: one per local minimum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basins {
    labels: Vec<u32>,
    minima: Vec<u32>,
    sizes: Vec<u64>,
}

/// The basins of attraction of a field on a domain (a [`crate::Grid`] or a [`crate::Graph`]).
pub fn basins<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
) -> Result<Basins, TopologyError> {
    Basins::compute(values, domain)
}

impl Basins {
    /// See [`basins`].
    pub fn compute<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
    ) -> Result<Self, TopologyError> {
        crate::tree::check_domain(values.len(), domain)?;
        let n = values.len();
        let key = |v: u32| (values[v as usize].order_key(), v);
        // Each vertex's steepest neighbour below it (NONE at a minimum), in vertex order, which
        // walks the field's memory in order.
        let mut target = vec![NONE; n];
        let mut minima = Vec::new();
        let mut neighbours = Vec::with_capacity(domain.max_degree());
        for v in 0..n as u32 {
            neighbours.clear();
            domain.neighbours_with_lengths(v, &mut neighbours);
            let fv = values[v as usize].to_f64();
            let own = key(v);
            let mut best: Option<(f64, u32)> = None;
            for &(u, length) in &neighbours {
                if key(u) >= own {
                    continue;
                }
                let drop = descent(fv, values[u as usize].to_f64(), length);
                let better = match best {
                    None => true,
                    Some((d, w)) => drop > d || (drop == d && key(u) < key(w)),
                };
                if better {
                    best = Some((drop, u));
                }
            }
            match best {
                Some((_, u)) => target[v as usize] = u,
                None => minima.push(v),
            }
        }
        // Basins are numbered by their minima, lowest first; then every path is followed down
        // to a labelled vertex, and the vertices on it are labelled on the way back.
        minima.sort_unstable_by_key(|&m| key(m));
        let mut labels = vec![NONE; n];
        for (basin, &m) in minima.iter().enumerate() {
            labels[m as usize] = basin as u32;
        }
        let mut path = Vec::new();
        for v in 0..n {
            let mut w = v;
            while labels[w] == NONE {
                path.push(w);
                w = target[w] as usize;
            }
            let label = labels[w];
            for &p in &path {
                labels[p] = label;
            }
            path.clear();
        }
        let mut sizes = vec![0u64; minima.len()];
        for &label in &labels {
            sizes[label as usize] += 1;
        }
        Ok(Self {
            labels,
            minima,
            sizes,
        })
    }

    /// For every vertex, the index of its basin in [`Basins::minima`].
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The vertex of each basin's minimum, lowest first (in the total order).
    pub fn minima(&self) -> &[u32] {
        &self.minima
    }

    /// The number of vertices in each basin, in the order of [`Basins::minima`].
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// The number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.labels.len()
    }

    /// The basin whose minimum is `vertex`, if it is a minimum.
    pub fn basin_of_minimum(&self, vertex: u32) -> Option<u32> {
        let basin = self.labels[vertex as usize];
        (self.minima[basin as usize] == vertex).then_some(basin)
    }
}

/// The drop per unit length from `high` (the vertex) to `low` (a neighbour below it).
fn descent(high: f64, low: f64, length: f64) -> f64 {
    let (h, l) = (ValueClass::of(high), ValueClass::of(low));
    if h == ValueClass::Finite && l == ValueClass::Finite {
        (high - low) / length
    } else if l < h {
        f64::INFINITY
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connectivity, Grid};

    #[test]
    fn a_path_splits_at_its_maxima() {
        // Vertex:  0  1  2  3  4  5
        // Value:   3  0  4  1  2  5
        // Vertex 2 drops 4 to vertex 1 and 3 to vertex 3: it goes to 1.
        let values = [3.0f32, 0.0, 4.0, 1.0, 2.0, 5.0];
        let grid = Grid::new(&[6], Connectivity::Axis).unwrap();
        let b = basins(&values, &grid).unwrap();
        assert_eq!(b.minima(), &[1, 3]);
        assert_eq!(b.labels(), &[0, 0, 0, 1, 1, 1]);
        assert_eq!(b.sizes(), &[3, 3]);
        assert_eq!(b.basin_of_minimum(3), Some(1));
        assert_eq!(b.basin_of_minimum(4), None);
    }

    #[test]
    fn steepness_is_per_unit_length() {
        // On a 3x3 Freudenthal grid the centre (value 10) has two minima among its neighbours:
        // vertex 1 along an axis (8, a drop of 2 per unit) and vertex 8 along the diagonal
        // (7.5, lower, but a drop of 2.5 / sqrt 2 = 1.77 per unit). It descends to vertex 1.
        #[rustfmt::skip]
        let values = [
            20.0f64,  8.0, 21.0,
            22.0,    10.0, 23.0,
            24.0,    25.0,  7.5,
        ];
        let grid = Grid::new(&[3, 3], Connectivity::Freudenthal).unwrap();
        assert!((grid.edge_length(4, 8) - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(grid.edge_length(4, 1), 1.0);
        let b = basins(&values, &grid).unwrap();
        assert_eq!(b.minima(), &[8, 1]);
        assert_eq!(b.labels()[4], 1);
        // 5 (23) and 7 (25) drop most to 8 along an axis (15.5 and 17.5 per unit).
        assert_eq!(b.labels(), &[1, 1, 1, 1, 1, 0, 1, 0, 0]);
        assert_eq!(b.sizes(), &[3, 6]);
    }

    #[test]
    fn drops_from_and_to_non_finite_values() {
        assert_eq!(descent(10.0, 8.0, 2.0), 1.0);
        assert_eq!(descent(f64::NAN, 7.0, 1.0), f64::INFINITY);
        assert_eq!(descent(3.0, f64::NEG_INFINITY, 1.0), f64::INFINITY);
        assert_eq!(descent(f64::NAN, f64::NAN, 1.0), 0.0);
        // A NaN's basin is that of its lowest neighbour's path.
        let values = [1.0f32, f32::NAN, 0.5, 3.0];
        let grid = Grid::new(&[4], Connectivity::Axis).unwrap();
        let b = basins(&values, &grid).unwrap();
        assert_eq!(b.minima(), &[2, 0]);
        assert_eq!(b.labels(), &[1, 0, 0, 0]);
    }
}
