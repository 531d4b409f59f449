//! Regular grids and their implicit neighbourhoods.

use std::fmt;
use std::str::FromStr;

use crate::TopologyError;

/// The most axes a grid may have.
pub const MAX_DIMENSIONS: usize = 8;

/// The largest number of vertices a field may have (vertex and node ids are `u32`; the top few
/// values are reserved as markers).
pub const MAX_VERTICES: u64 = u32::MAX as u64 - 3;

/// Which grid vertices are neighbours: the edges of the grid's 1-skeleton.
///
/// A neighbour of a vertex sits at an offset whose components are each -1, 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Connectivity {
    /// The Kuhn/Freudenthal triangulation of the grid (as in TTK's implicit triangulation): the
    /// offsets whose non-zero components are all +1 or all -1, `2^(n+1) - 2` of them. Every grid
    /// cube is split into simplices along its main diagonal, so the grid is a simplicial complex
    /// and the merge tree is that of the piecewise-linear interpolant.
    #[default]
    Freudenthal,
    /// Only the axis-aligned offsets: `2n` neighbours.
    Axis,
    /// Every non-zero offset: `3^n - 1` neighbours.
    Full,
}

impl Connectivity {
    /// All connectivities, in the order of their documentation.
    pub const ALL: [Connectivity; 3] = [Self::Freudenthal, Self::Axis, Self::Full];

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Freudenthal => "freudenthal",
            Self::Axis => "axis",
            Self::Full => "full",
        }
    }

    /// How many neighbours an interior vertex has on a grid of `dimensions` axes.
    pub fn interior_degree(self, dimensions: usize) -> usize {
        let d = dimensions as u32;
        match self {
            Self::Freudenthal => (1usize << (d + 1)) - 2,
            Self::Axis => 2 * dimensions,
            Self::Full => 3usize.pow(d) - 1,
        }
    }

    fn includes(self, offset: &[i8]) -> bool {
        let nonzero = offset.iter().filter(|&&c| c != 0).count();
        match self {
            Self::Freudenthal => {
                nonzero > 0 && (offset.iter().all(|&c| c >= 0) || offset.iter().all(|&c| c <= 0))
            }
            Self::Axis => nonzero == 1,
            Self::Full => nonzero > 0,
        }
    }
}

impl fmt::Display for Connectivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown connectivity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown connectivity '{0}': expected freudenthal, axis or full")]
pub struct UnknownConnectivity(pub String);

impl FromStr for Connectivity {
    type Err = UnknownConnectivity;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| UnknownConnectivity(name.to_string()))
    }
}

/// One neighbour offset of a grid: its flat distance and the boundaries it crosses.
#[derive(Debug, Clone, Copy)]
struct Offset {
    /// Flat (C-order) index difference.
    delta: isize,
    /// Axes along which the offset is -1: the vertex must not be on that axis' low boundary.
    down_axes: u8,
    /// Axes along which the offset is +1: the vertex must not be on that axis' high boundary.
    up_axes: u8,
}

impl Offset {
    /// The Euclidean length in index units: the square root of the number of axes it moves.
    fn length(&self) -> f64 {
        f64::from((self.down_axes | self.up_axes).count_ones()).sqrt()
    }
}

/// A regular grid of 1 to [`MAX_DIMENSIONS`] axes in C order with a connectivity.
///
/// Neighbours are enumerated from the shape on the fly; no adjacency is stored.
#[derive(Debug, Clone)]
pub struct Grid {
    shape: Vec<usize>,
    strides: Vec<usize>,
    connectivity: Connectivity,
    offsets: Vec<Offset>,
    /// The offsets whose last component is 0: one per cache line of the neighbourhood.
    prefetch_deltas: Vec<isize>,
    /// Every offset's flat distance, in order, as a `u32` to add with wrapping (vertex ids are
    /// `u32`s): the neighbours of an interior vertex are then a vector add.
    deltas: Vec<u32>,
    /// For up to 128 offsets: bit `j` of entry `i` is set when offsets `i` and `j` differ by an
    /// offset of the connectivity (so the two neighbours are neighbours of each other).
    adjacency: Option<Vec<u128>>,
    /// `0..offsets.len()` as slots, for an interior vertex (empty beyond 128 offsets).
    all_slots: Vec<u8>,
    vertex_count: usize,
}

/// The vertex count of a grid of `shape`, when it can be one.
fn check_shape(shape: &[usize]) -> Result<usize, TopologyError> {
    if shape.is_empty() {
        return Err(TopologyError::NoDimensions);
    }
    if shape.len() > MAX_DIMENSIONS {
        return Err(TopologyError::TooManyDimensions {
            dimensions: shape.len(),
            max: MAX_DIMENSIONS,
        });
    }
    if let Some(axis) = shape.iter().position(|&n| n == 0) {
        return Err(TopologyError::EmptyAxis { axis });
    }
    let count: u128 = shape.iter().map(|&n| n as u128).product();
    if count > u128::from(MAX_VERTICES) {
        return Err(TopologyError::TooManyVertices {
            count,
            max: MAX_VERTICES,
        });
    }
    Ok(count as usize)
}

/// The offsets in {-1, 0, 1}^dims that `connectivity` makes neighbours, in odometer order,
/// with their index deltas for a grid of `strides`.
fn neighbour_offsets(strides: &[usize], connectivity: Connectivity) -> Vec<Offset> {
    let dims = strides.len();
    let mut offsets = Vec::with_capacity(connectivity.interior_degree(dims));
    let mut offset = vec![-1i8; dims];
    loop {
        if connectivity.includes(&offset) {
            let mut o = Offset {
                delta: 0,
                down_axes: 0,
                up_axes: 0,
            };
            for (axis, &c) in offset.iter().enumerate() {
                o.delta += isize::from(c) * strides[axis] as isize;
                match c {
                    -1 => o.down_axes |= 1 << axis,
                    1 => o.up_axes |= 1 << axis,
                    _ => {}
                }
            }
            offsets.push(o);
        }
        // Next offset in {-1, 0, 1}^dims, odometer style.
        let Some(axis) = offset.iter().rposition(|&c| c < 1) else {
            break;
        };
        offset[axis] += 1;
        offset[axis + 1..].fill(-1);
    }
    offsets
}

/// For at most 128 offsets: which offsets are neighbours of each other (bit j of entry i).
fn adjacency(offsets: &[Offset], dims: usize, connectivity: Connectivity) -> Option<Vec<u128>> {
    let components = |o: &Offset| -> Vec<i8> {
        (0..dims)
            .map(|axis| {
                i8::from(o.up_axes >> axis & 1 == 1) - i8::from(o.down_axes >> axis & 1 == 1)
            })
            .collect()
    };
    (offsets.len() <= 128).then(|| {
        offsets
            .iter()
            .map(|a| {
                let a = components(a);
                offsets.iter().enumerate().fold(0u128, |mask, (j, b)| {
                    let difference: Vec<i8> =
                        components(b).iter().zip(&a).map(|(y, x)| y - x).collect();
                    let adjacent = difference.iter().all(|d| d.abs() <= 1)
                        && connectivity.includes(&difference);
                    mask | (u128::from(adjacent) << j)
                })
            })
            .collect()
    })
}

impl Grid {
    /// A grid of the given shape (C order: the last axis varies fastest).
    pub fn new(shape: &[usize], connectivity: Connectivity) -> Result<Self, TopologyError> {
        let count = check_shape(shape)?;
        let dims = shape.len();
        let mut strides = vec![1usize; dims];
        for axis in (0..dims - 1).rev() {
            strides[axis] = strides[axis + 1] * shape[axis + 1];
        }
        let offsets = neighbour_offsets(&strides, connectivity);
        let last_axis = 1u8 << (dims - 1);
        let prefetch_deltas = offsets
            .iter()
            .filter(|o| (o.down_axes | o.up_axes) & last_axis == 0)
            .map(|o| o.delta)
            .collect();
        let adjacency = adjacency(&offsets, dims, connectivity);
        let all_slots = if adjacency.is_some() {
            (0..offsets.len() as u8).collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            shape: shape.to_vec(),
            strides,
            connectivity,
            deltas: offsets.iter().map(|o| o.delta as i32 as u32).collect(),
            adjacency,
            all_slots,
            offsets,
            prefetch_deltas,
            vertex_count: count,
        })
    }

    /// The grid's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The grid's connectivity.
    pub fn connectivity(&self) -> Connectivity {
        self.connectivity
    }

    /// The coordinates of a vertex.
    pub fn coordinates(&self, vertex: u32) -> Vec<usize> {
        let mut rest = vertex as usize;
        let mut coords = vec![0; self.shape.len()];
        for axis in (0..self.shape.len()).rev() {
            coords[axis] = rest % self.shape[axis];
            rest /= self.shape[axis];
        }
        coords
    }

    /// The vertex at the given coordinates.
    pub fn vertex(&self, coordinates: &[usize]) -> u32 {
        coordinates
            .iter()
            .zip(&self.strides)
            .map(|(c, s)| c * s)
            .sum::<usize>() as u32
    }

    /// Bit masks of the axes on whose low and high boundary the vertex lies.
    #[inline]
    fn boundary_masks(&self, vertex: u32) -> (u8, u8) {
        let mut rest = vertex as usize;
        let (mut low, mut high) = (0u8, 0u8);
        for axis in (0..self.shape.len()).rev() {
            let n = self.shape[axis];
            let c = rest % n;
            rest /= n;
            low |= u8::from(c == 0) << axis;
            high |= u8::from(c + 1 == n) << axis;
        }
        (low, high)
    }
}

impl crate::Neighbourhood for Grid {
    fn vertex_count(&self) -> usize {
        self.vertex_count
    }

    fn max_degree(&self) -> usize {
        self.offsets.len()
    }

    #[inline]
    fn prefetch_neighbours<T>(&self, vertex: u32, data: &[T]) {
        // Without the boundary test: at a boundary some hints point elsewhere, which is harmless.
        // Offsets that differ only along the last axis share a cache line, so one hint per line.
        crate::prefetch(data, vertex as usize);
        for &delta in &self.prefetch_deltas {
            crate::prefetch(data, (vertex as isize).wrapping_add(delta) as usize);
        }
    }

    fn for_each_neighbourhood<F: FnMut(u32, &[u32], Option<crate::Slots<'_>>)>(
        &self,
        range: std::ops::Range<u32>,
        mut visit: F,
    ) {
        if range.is_empty() {
            return;
        }
        let last = self.shape.len() - 1;
        let mut coords = self.coordinates(range.start);
        let mut out = Vec::with_capacity(self.offsets.len());
        let mut slots: Vec<u8> = Vec::with_capacity(self.offsets.len());
        // At the boundary: the deltas and slots of the offsets that stay inside, for the masks
        // they were kept for (along a row the masks change only at its two ends).
        let mut kept: Vec<u32> = Vec::with_capacity(self.offsets.len());
        let mut kept_for = None;
        // The boundary masks of every axis but the last change only when a row ends.
        let row_masks = |coords: &[usize]| {
            let (mut low, mut high) = (0u8, 0u8);
            for (axis, (&c, &n)) in coords[..last].iter().zip(&self.shape).enumerate() {
                low |= u8::from(c == 0) << axis;
                high |= u8::from(c + 1 == n) << axis;
            }
            (low, high)
        };
        let (mut row_low, mut row_high) = row_masks(&coords);
        let row_length = self.shape[last];
        for v in range {
            let c = coords[last];
            let low = row_low | u8::from(c == 0) << last;
            let high = row_high | u8::from(c + 1 == row_length) << last;
            out.clear();
            if low | high == 0 {
                out.extend(self.deltas.iter().map(|&d| v.wrapping_add(d)));
                let slots = self.adjacency.as_deref().map(|adjacency| crate::Slots {
                    slots: &self.all_slots,
                    adjacency,
                    in_order: true,
                });
                visit(v, &out, slots);
            } else {
                if kept_for != Some((low, high)) {
                    slots.clear();
                    kept.clear();
                    kept_for = Some((low, high));
                    for (slot, o) in self.offsets.iter().enumerate() {
                        if o.down_axes & low == 0 && o.up_axes & high == 0 {
                            kept.push(self.deltas[slot]);
                            slots.push(slot as u8);
                        }
                    }
                }
                out.extend(kept.iter().map(|&d| v.wrapping_add(d)));
                let slots = self.adjacency.as_deref().map(|adjacency| crate::Slots {
                    slots: &slots,
                    adjacency,
                    in_order: false,
                });
                visit(v, &out, slots);
            }
            // The next vertex's coordinates, odometer style.
            coords[last] += 1;
            if coords[last] == row_length {
                let mut axis = last;
                while axis > 0 && coords[axis] == self.shape[axis] {
                    coords[axis] = 0;
                    axis -= 1;
                    coords[axis] += 1;
                }
                (row_low, row_high) = row_masks(&coords);
            }
        }
    }

    fn edge_length(&self, a: u32, b: u32) -> f64 {
        let (mut a, mut b) = (a as usize, b as usize);
        let mut moved = 0u32;
        for &n in self.shape.iter().rev() {
            moved += u32::from(a % n != b % n);
            a /= n;
            b /= n;
        }
        f64::from(moved).sqrt()
    }

    fn neighbours_with_lengths(&self, vertex: u32, out: &mut Vec<(u32, f64)>) {
        let (low, high) = self.boundary_masks(vertex);
        let v = vertex as isize;
        out.extend(
            self.offsets
                .iter()
                .filter(|o| o.down_axes & low == 0 && o.up_axes & high == 0)
                .map(|o| ((v + o.delta) as u32, o.length())),
        );
    }

    #[inline]
    fn neighbours(&self, vertex: u32, out: &mut Vec<u32>) {
        let (low, high) = self.boundary_masks(vertex);
        let v = vertex as isize;
        if low | high == 0 {
            out.extend(self.offsets.iter().map(|o| (v + o.delta) as u32));
        } else {
            out.extend(
                self.offsets
                    .iter()
                    .filter(|o| o.down_axes & low == 0 && o.up_axes & high == 0)
                    .map(|o| (v + o.delta) as u32),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Neighbourhood;

    fn neighbours(grid: &Grid, v: u32) -> Vec<u32> {
        let mut out = Vec::new();
        grid.neighbours(v, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn interior_degrees_match_the_formulas() {
        for dims in 1..=5 {
            let shape = vec![3; dims];
            let centre = vec![1; dims];
            for c in Connectivity::ALL {
                let grid = Grid::new(&shape, c).unwrap();
                let v = grid.vertex(&centre);
                assert_eq!(
                    neighbours(&grid, v).len(),
                    c.interior_degree(dims),
                    "{c} {dims}"
                );
            }
        }
        assert_eq!(Connectivity::Freudenthal.interior_degree(4), 30);
        assert_eq!(Connectivity::Full.interior_degree(8), 6560);
    }

    #[test]
    fn freudenthal_2d_corner_and_centre() {
        let grid = Grid::new(&[3, 3], Connectivity::Freudenthal).unwrap();
        // Centre (1,1) = 4: all but the anti-diagonal neighbours (0,2)=2 and (2,0)=6.
        assert_eq!(neighbours(&grid, 4), vec![0, 1, 3, 5, 7, 8]);
        // Corner (0,2) = 2: (0,1)=1 and (1,2)=5; (1,1) is at offset (1,-1), not a Freudenthal edge.
        assert_eq!(neighbours(&grid, 2), vec![1, 5]);
        // Corner (0,0): (0,1), (1,0), (1,1).
        assert_eq!(neighbours(&grid, 0), vec![1, 3, 4]);
    }

    #[test]
    fn neighbourhoods_are_symmetric_and_inside() {
        for c in Connectivity::ALL {
            let grid = Grid::new(&[3, 1, 4, 2], c).unwrap();
            for v in 0..grid.vertex_count() as u32 {
                for u in neighbours(&grid, v) {
                    assert!((u as usize) < grid.vertex_count());
                    assert!(neighbours(&grid, u).contains(&v), "{c}: {v} -> {u}");
                    let (a, b) = (grid.coordinates(v), grid.coordinates(u));
                    assert!(a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 1));
                }
            }
        }
    }

    #[test]
    fn neighbourhood_walk_matches_neighbours_and_slots_say_adjacency() {
        for c in Connectivity::ALL {
            for shape in [&[5usize][..], &[3, 4], &[3, 1, 4, 2], &[2, 3, 2, 2, 3]] {
                let grid = Grid::new(shape, c).unwrap();
                let n = grid.vertex_count() as u32;
                let mut seen = 0;
                grid.for_each_neighbourhood(1..n, |v, list, slots| {
                    seen += 1;
                    let mut expected = Vec::new();
                    grid.neighbours(v, &mut expected);
                    assert_eq!(list, &expected[..], "{c} {shape:?} {v}");
                    let Some(slots) = slots else {
                        assert!(c.interior_degree(shape.len()) > 128, "{c} {shape:?}");
                        return;
                    };
                    assert_eq!(slots.slots.len(), list.len());
                    if slots.in_order {
                        assert_eq!(slots.slots.len(), slots.adjacency.len());
                        assert!(
                            slots
                                .slots
                                .iter()
                                .enumerate()
                                .all(|(i, &s)| s as usize == i)
                        );
                    }
                    for (i, &a) in list.iter().enumerate() {
                        for (j, &b) in list.iter().enumerate() {
                            let said =
                                slots.adjacency[slots.slots[i] as usize] >> slots.slots[j] & 1 == 1;
                            assert_eq!(said, neighbours(&grid, a).contains(&b), "{c} {a} {b}");
                        }
                    }
                });
                assert_eq!(seen, n - 1);
            }
        }
        let wide = Grid::new(&[3; 5], Connectivity::Full).unwrap();
        wide.for_each_neighbourhood(0..3, |_, _, slots| assert!(slots.is_none()));
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(
            Grid::new(&[], Connectivity::Axis).unwrap_err(),
            TopologyError::NoDimensions
        );
        assert!(matches!(
            Grid::new(&[2; 9], Connectivity::Axis),
            Err(TopologyError::TooManyDimensions { dimensions: 9, .. })
        ));
        assert_eq!(
            Grid::new(&[4, 0], Connectivity::Axis).unwrap_err(),
            TopologyError::EmptyAxis { axis: 1 }
        );
        assert!(matches!(
            Grid::new(&[1 << 16, 1 << 16], Connectivity::Axis),
            Err(TopologyError::TooManyVertices { .. })
        ));
    }

    #[test]
    fn parses_names() {
        assert_eq!("axis".parse::<Connectivity>().unwrap(), Connectivity::Axis);
        assert!("diagonal".parse::<Connectivity>().is_err());
    }
}
