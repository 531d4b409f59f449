//! Explicit undirected graphs, for samples that do not lie on a grid.

use crate::TopologyError;
use crate::grid::MAX_VERTICES;

/// An undirected graph in compressed sparse row form: the neighbours of vertex `v` are
/// `neighbours[offsets[v]..offsets[v + 1]]`, and every edge is listed from both ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
    max_degree: usize,
}

impl Graph {
    /// A graph from its CSR arrays. `offsets` has one entry per vertex plus one, starts at 0,
    /// never decreases and ends at `neighbours.len()`; each neighbour is a vertex id, and the
    /// adjacency must be symmetric (if `u` lists `v`, `v` lists `u`). Self-loops and repeated
    /// edges are allowed and ignored.
    pub fn from_csr(offsets: Vec<usize>, mut neighbours: Vec<u32>) -> Result<Self, TopologyError> {
        let invalid = |message: String| Err(TopologyError::InvalidGraph(message));
        let Some(&last) = offsets.last() else {
            return invalid(
                "the offsets array is empty; it needs one entry per vertex plus one".into(),
            );
        };
        let vertex_count = offsets.len() - 1;
        if vertex_count as u64 > MAX_VERTICES {
            return Err(TopologyError::TooManyVertices {
                count: vertex_count as u128,
                max: MAX_VERTICES,
            });
        }
        if offsets[0] != 0 {
            return invalid(format!("offsets[0] is {}, expected 0", offsets[0]));
        }
        if last != neighbours.len() {
            return invalid(format!(
                "the last offset is {last} but there are {} neighbour entries",
                neighbours.len()
            ));
        }
        if let Some(v) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return invalid(format!("offsets decrease at vertex {v}"));
        }
        if let Some(&u) = neighbours.iter().find(|&&u| u as usize >= vertex_count) {
            return invalid(format!(
                "neighbour {u} is not a vertex (there are {vertex_count})"
            ));
        }
        let mut max_degree = 0;
        for w in offsets.windows(2) {
            neighbours[w[0]..w[1]].sort_unstable();
            max_degree = max_degree.max(w[1] - w[0]);
        }
        let graph = Self {
            offsets,
            neighbours,
            max_degree,
        };
        for v in 0..vertex_count as u32 {
            for &u in graph.row(v) {
                if graph.row(u).binary_search(&v).is_err() {
                    return invalid(format!(
                        "the edge {v} -> {u} has no reverse {u} -> {v}; list every edge from both ends"
                    ));
                }
            }
        }
        Ok(graph)
    }

    /// A graph of `vertex_count` vertices from a list of undirected edges, each given once (or
    /// more: duplicates are harmless).
    pub fn from_edges(vertex_count: usize, edges: &[(u32, u32)]) -> Result<Self, TopologyError> {
        if vertex_count as u64 > MAX_VERTICES {
            return Err(TopologyError::TooManyVertices {
                count: vertex_count as u128,
                max: MAX_VERTICES,
            });
        }
        let mut degree = vec![0usize; vertex_count + 1];
        for &(a, b) in edges {
            for v in [a, b] {
                if v as usize >= vertex_count {
                    return Err(TopologyError::InvalidGraph(format!(
                        "edge ({a}, {b}) names vertex {v}, but there are {vertex_count}"
                    )));
                }
            }
            degree[a as usize + 1] += 1;
            degree[b as usize + 1] += 1;
        }
        for v in 0..vertex_count {
            degree[v + 1] += degree[v];
        }
        let offsets = degree;
        let mut fill = offsets.clone();
        let mut neighbours = vec![0u32; offsets[vertex_count]];
        for &(a, b) in edges {
            neighbours[fill[a as usize]] = b;
            fill[a as usize] += 1;
            neighbours[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        Self::from_csr(offsets, neighbours)
    }

    /// The sorted neighbours of a vertex (with any repeats and self-loops it was given).
    pub fn row(&self, vertex: u32) -> &[u32] {
        let v = vertex as usize;
        &self.neighbours[self.offsets[v]..self.offsets[v + 1]]
    }
}

impl crate::Neighbourhood for Graph {
    fn vertex_count(&self) -> usize {
        self.offsets.len() - 1
    }

    fn max_degree(&self) -> usize {
        self.max_degree
    }

    #[inline]
    fn prefetch_neighbours<T>(&self, vertex: u32, data: &[T]) {
        for &u in self.row(vertex) {
            crate::prefetch(data, u as usize);
        }
    }

    #[inline]
    fn neighbours(&self, vertex: u32, out: &mut Vec<u32>) {
        out.extend_from_slice(self.row(vertex));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_edges() {
        let g = Graph::from_edges(4, &[(0, 1), (2, 1), (3, 3)]).unwrap();
        assert_eq!(g.row(1), &[0, 2]);
        assert_eq!(g.row(3), &[3, 3]);
    }

    #[test]
    fn rejects_invalid_csr() {
        let err = |o: Vec<usize>, n: Vec<u32>| Graph::from_csr(o, n).unwrap_err();
        assert!(matches!(
            err(vec![], vec![]),
            TopologyError::InvalidGraph(_)
        ));
        assert!(matches!(
            err(vec![1, 1], vec![0]),
            TopologyError::InvalidGraph(_)
        ));
        assert!(matches!(
            err(vec![0, 2, 1], vec![1, 0]),
            TopologyError::InvalidGraph(_)
        ));
        assert!(matches!(
            err(vec![0, 1, 1], vec![1]),
            TopologyError::InvalidGraph(_)
        ));
        assert!(matches!(
            err(vec![0, 1, 2], vec![5, 0]),
            TopologyError::InvalidGraph(_)
        ));
        assert!(matches!(
            Graph::from_edges(2, &[(0, 2)]),
            Err(TopologyError::InvalidGraph(_))
        ));
        assert!(Graph::from_csr(vec![0, 1, 2], vec![1, 0]).is_ok());
    }
}
