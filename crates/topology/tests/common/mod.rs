//! A brute-force oracle for merge trees, written independently of the crate's algorithm: explicit
//! neighbour lists from coordinates, a comparison sort, and connected components recomputed from
//! scratch by breadth-first search for every vertex.

#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use toposcape_topology::{Connectivity, MergeTree};

/// A small shape: `max_len[d - 1]` bounds each axis of a grid of `d` axes, for 1 to
/// `max_len.len()` axes.
pub fn shape_strategy(max_len: &'static [usize]) -> impl Strategy<Value = Vec<usize>> {
    (1usize..=max_len.len())
        .prop_flat_map(move |dims| prop::collection::vec(1..=max_len[dims - 1], dims))
}

/// Values from a small set (many ties), sometimes NaN or infinite.
pub fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => (0i32..6).prop_map(f64::from),
        4 => -10.0f64..10.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

/// A shape and one value per vertex.
pub fn field_strategy(max_len: &'static [usize]) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    shape_strategy(max_len).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        (Just(shape), prop::collection::vec(value_strategy(), n))
    })
}

pub fn connectivity_strategy() -> impl Strategy<Value = Connectivity> {
    prop::sample::select(Connectivity::ALL.to_vec())
}

/// Whether two grid points whose coordinates differ by `d` are joined by an edge.
fn offset_is_edge(d: &[i64], connectivity: Connectivity) -> bool {
    let nonzero = d.iter().filter(|&&x| x != 0).count();
    let unit = d.iter().all(|x| x.abs() <= 1);
    unit && nonzero > 0
        && match connectivity {
            Connectivity::Axis => nonzero == 1,
            Connectivity::Full => true,
            Connectivity::Freudenthal => d.iter().all(|&x| x >= 0) || d.iter().all(|&x| x <= 0),
        }
}

/// Explicit neighbour lists of a C-order grid, by comparing coordinates of every pair.
pub fn grid_neighbours(shape: &[usize], connectivity: Connectivity) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let coords: Vec<Vec<i64>> = (0..n)
        .map(|mut v| {
            let mut c = vec![0i64; shape.len()];
            for axis in (0..shape.len()).rev() {
                c[axis] = (v % shape[axis]) as i64;
                v /= shape[axis];
            }
            c
        })
        .collect();
    (0..n)
        .map(|a| {
            (0..n)
                .filter(|&b| {
                    let d: Vec<i64> = coords[a]
                        .iter()
                        .zip(&coords[b])
                        .map(|(x, y)| y - x)
                        .collect();
                    offset_is_edge(&d, connectivity)
                })
                .collect()
        })
        .collect()
}

/// The same neighbour lists built in O(N 3^n) by stepping through every offset in coordinates,
/// for grids too large for the pairwise comparison; returned as undirected edges (each once).
pub fn grid_edges(shape: &[usize], connectivity: Connectivity) -> Vec<(u32, u32)> {
    let dims = shape.len();
    let n: usize = shape.iter().product();
    let offsets: Vec<Vec<i64>> = (0..3usize.pow(dims as u32))
        .map(|mut k| {
            (0..dims)
                .map(|_| {
                    let c = (k % 3) as i64 - 1;
                    k /= 3;
                    c
                })
                .collect::<Vec<i64>>()
        })
        .filter(|d| offset_is_edge(d, connectivity))
        .collect();
    let mut edges = Vec::new();
    for a in 0..n {
        let mut coords = vec![0i64; dims];
        let mut rest = a;
        for axis in (0..dims).rev() {
            coords[axis] = (rest % shape[axis]) as i64;
            rest /= shape[axis];
        }
        for d in &offsets {
            let mut b = 0i64;
            let mut inside = true;
            for axis in 0..dims {
                let c = coords[axis] + d[axis];
                inside &= c >= 0 && c < shape[axis] as i64;
                b = b * shape[axis] as i64 + c;
            }
            if inside && (a as i64) < b {
                edges.push((a as u32, b as u32));
            }
        }
    }
    edges
}

/// The total order of the crate's contract: NaN above everything, then by value, then by id.
pub fn compare(values: &[f64], a: usize, b: usize) -> Ordering {
    let (x, y) = (values[a], values[b]);
    let rank = |v: f64| u8::from(v.is_nan());
    rank(x)
        .cmp(&rank(y))
        .then_with(|| x.partial_cmp(&y).unwrap_or(Ordering::Equal))
        .then(a.cmp(&b))
}

/// What the oracle finds, all in vertex ids (node ids differ between implementations).
#[derive(Debug, PartialEq, Eq)]
pub struct Expected {
    pub leaves: BTreeSet<usize>,
    /// Vertices where two or more components merge.
    pub saddles: BTreeSet<usize>,
    pub roots: BTreeSet<usize>,
    /// Node vertex -> parent node vertex.
    pub parents: BTreeMap<usize, Option<usize>>,
    /// (birth vertex, death vertex) by the elder rule.
    pub pairs: BTreeSet<(usize, Option<usize>)>,
    /// Every vertex's segment, as the vertex of its node.
    pub segment_vertex: Vec<usize>,
}

/// The oracle's merge tree for the vertices taken in `order`.
pub fn oracle(neighbours: &[Vec<usize>], order: &[usize]) -> Expected {
    let n = order.len();
    let mut position = vec![0; n];
    for (i, &v) in order.iter().enumerate() {
        position[v] = i;
    }
    let mut processed = vec![false; n];
    let mut is_node = vec![false; n];
    let mut parents: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let mut leaves = BTreeSet::new();
    let mut saddles = BTreeSet::new();
    let mut pairs = BTreeSet::new();
    let mut segment_vertex = vec![usize::MAX; n];

    // The component of `start` among processed vertices.
    let component = |processed: &[bool], start: usize| -> Vec<usize> {
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from([start]);
        seen[start] = true;
        let mut out = vec![];
        while let Some(x) = queue.pop_front() {
            out.push(x);
            for &y in &neighbours[x] {
                if processed[y] && !seen[y] {
                    seen[y] = true;
                    queue.push_back(y);
                }
            }
        }
        out
    };

    for &v in order {
        // Components of the processed set adjacent to v, each named by its oldest vertex.
        let mut adjacent: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &u in &neighbours[v] {
            if processed[u] {
                let comp = component(&processed, u);
                let oldest = *comp.iter().min_by_key(|&&x| position[x]).unwrap();
                adjacent.insert(position[oldest], comp);
            }
        }
        processed[v] = true;
        if adjacent.is_empty() {
            leaves.insert(v);
        } else if adjacent.len() >= 2 {
            saddles.insert(v);
            for (i, (&birth_position, _)) in adjacent.iter().enumerate() {
                if i > 0 {
                    pairs.insert((order[birth_position], Some(v)));
                }
            }
        }
        if adjacent.len() != 1 {
            is_node[v] = true;
            let comp = component(&processed, v);
            for &x in &comp {
                if x != v && is_node[x] && !parents.contains_key(&x) {
                    parents.insert(x, Some(v));
                }
            }
        }
        let comp = component(&processed, v);
        let newest_node = comp
            .iter()
            .filter(|&&x| is_node[x])
            .max_by_key(|&&x| position[x])
            .unwrap();
        segment_vertex[v] = *newest_node;
    }
    // Roots: the last vertex of every component; the oldest vertex's pair never dies.
    let mut roots = BTreeSet::new();
    let mut assigned = vec![false; n];
    for &v in order.iter().rev() {
        if assigned[v] {
            continue;
        }
        let comp = component(&processed, v);
        for &x in &comp {
            assigned[x] = true;
        }
        roots.insert(v);
        let oldest = *comp.iter().min_by_key(|&&x| position[x]).unwrap();
        pairs.insert((oldest, None));
        if !is_node[v] {
            is_node[v] = true;
            segment_vertex[v] = v;
            for &x in &comp {
                if x != v && is_node[x] && !parents.contains_key(&x) {
                    parents.insert(x, Some(v));
                }
            }
        }
        parents.insert(v, None);
    }
    Expected {
        leaves,
        saddles,
        roots,
        parents,
        pairs,
        segment_vertex,
    }
}

/// The same facts read off a computed tree.
pub fn observed(tree: &MergeTree) -> Expected {
    let nodes = tree.nodes();
    let vertex = |id: u32| nodes[id as usize].vertex as usize;
    Expected {
        leaves: nodes
            .iter()
            .filter(|n| n.is_leaf())
            .map(|n| n.vertex as usize)
            .collect(),
        saddles: nodes
            .iter()
            .filter(|n| n.is_saddle())
            .map(|n| n.vertex as usize)
            .collect(),
        roots: tree.roots().map(vertex).collect(),
        parents: nodes
            .iter()
            .map(|n| (n.vertex as usize, n.parent.map(vertex)))
            .collect(),
        pairs: tree
            .pairs()
            .iter()
            .map(|p| (p.birth_vertex as usize, p.death_vertex.map(|d| d as usize)))
            .collect(),
        segment_vertex: tree.segmentation().iter().map(|&s| vertex(s)).collect(),
    }
}
