//! The contour tree: the join and split trees combined (Carr, Snoeyink and Axen, "Computing
//! contour trees in all dimensions", 2003).
//!
//! The augmented join tree (sublevel sets, leaves at minima) and split tree (superlevel sets,
//! leaves at maxima) are built by two union-find sweeps over the same vertex order. Leaves are
//! then taken off one at a time: a vertex with no children in one tree and at most one in the
//! other is a leaf of the contour tree, its arc is the one to its parent in the first tree, and
//! it is spliced out of the second. What is left after the last arc is the augmented contour
//! tree; its nodes are the vertices that are not regular (one arc down and one up), and every
//! regular vertex lies inside one arc between two nodes.
//!
//! On a simplicial complex (the Freudenthal grid) the join and split trees always come from one
//! contour tree, and this is it. On a graph whose sublevel and superlevel connectivities do not
//! fit together (the axis grid in two or more dimensions, where a vertex can merge two basins
//! and still be a local maximum) no tree may have both as its join and split trees; the
//! algorithm still ends with a tree, which then depends on the order leaves are taken off.
//! [`ContourTree::is_consistent`] says which case a tree is in: it recomputes the join and
//! split trees of the result, as a graph, and compares them with the field's.

use crate::sweep::{LOOKAHEAD, NONE, find};
use crate::value::{FieldValue, level_gap};
use crate::{Neighbourhood, TopologyError, sort};

/// Index of a node in [`ContourTree::nodes`].
pub type ContourNodeId = u32;

/// Index of an arc in [`ContourTree::arcs`].
pub type ContourArcId = u32;

/// What a contour-tree node is, from its arcs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContourNodeKind {
    /// No arc below: a local minimum (a lone vertex too).
    Minimum,
    /// No arc above: a local maximum.
    Maximum,
    /// Arcs below and above, more than one on some side: where contours merge or split.
    Saddle,
}

impl ContourNodeKind {
    /// `"minimum"`, `"maximum"` or `"saddle"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Minimum => "minimum",
            Self::Maximum => "maximum",
            Self::Saddle => "saddle",
        }
    }
}

/// One node of a contour tree: a vertex that is not regular.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContourNode {
    pub vertex: u32,
    pub value: f64,
    /// The number of arcs that reach the node from below.
    pub down_degree: u32,
    /// The number of arcs that leave it upwards.
    pub up_degree: u32,
}

impl ContourNode {
    /// Minimum, maximum or saddle.
    pub fn kind(&self) -> ContourNodeKind {
        if self.down_degree == 0 {
            ContourNodeKind::Minimum
        } else if self.up_degree == 0 {
            ContourNodeKind::Maximum
        } else {
            ContourNodeKind::Saddle
        }
    }

    /// The number of arcs at the node.
    pub fn degree(&self) -> u32 {
        self.down_degree + self.up_degree
    }
}

/// An arc of a contour tree, from a lower node to a higher one, with the number of regular
/// vertices inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContourArc {
    pub down: ContourNodeId,
    pub up: ContourNodeId,
    pub size: u64,
}

/// The contour tree of a field, augmented with its segmentation: the arc of every regular
/// vertex.
#[derive(Debug, Clone)]
pub struct ContourTree {
    nodes: Vec<ContourNode>,
    arcs: Vec<ContourArc>,
    segmentation: Vec<u32>,
    consistent: bool,
}

/// The label [`ContourTree::segmentation`] gives the vertices of nodes.
pub const NODE_VERTEX: u32 = u32::MAX;

/// The contour tree of a field on a domain (a [`crate::Grid`] or a [`crate::Graph`]). A
/// disconnected domain gives a forest, one tree per component.
pub fn contour_tree<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
) -> Result<ContourTree, TopologyError> {
    ContourTree::compute(values, domain)
}

impl ContourTree {
    /// See [`contour_tree`].
    pub fn compute<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
    ) -> Result<Self, TopologyError> {
        crate::tree::check_domain(values.len(), domain)?;
        let n = values.len();
        let mut order = sort::sorted_vertices(values);
        let join = augmented_parents(&order, domain);
        order.reverse();
        let split = augmented_parents(&order, domain);
        order.reverse();
        let edges = merge_trees(&join, &split);

        // The result as a graph must have the field's join and split trees.
        let graph = TreeGraph::new(n, &edges);
        let consistent = augmented_parents(&order, &graph) == join && {
            order.reverse();
            let same = augmented_parents(&order, &graph) == split;
            order.reverse();
            same
        };
        drop((join, split, graph));
        Ok(Self::from_augmented(values, &edges, consistent))
    }

    /// Condenses the augmented tree (edges from the lower vertex to the upper one) into nodes,
    /// arcs and the segmentation.
    fn from_augmented<V: FieldValue>(values: &[V], edges: &[(u32, u32)], consistent: bool) -> Self {
        let n = values.len();
        let mut down = vec![0u32; n];
        // Upward adjacency in CSR form: the vertices above each vertex.
        let mut start = vec![0u32; n + 1];
        for &(low, high) in edges {
            start[low as usize + 1] += 1;
            down[high as usize] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut above = vec![0u32; edges.len()];
        for &(low, high) in edges {
            above[fill[low as usize] as usize] = high;
            fill[low as usize] += 1;
        }
        drop(fill);
        let up = |v: usize| start[v + 1] - start[v];
        let regular = |v: usize| down[v] == 1 && up(v) == 1;

        // Nodes in the order of their vertices' values (ties by vertex id).
        let mut node_vertices: Vec<u32> = (0..n as u32).filter(|&v| !regular(v as usize)).collect();
        let keys: Vec<(u64, u32)> = node_vertices
            .iter()
            .map(|&v| (values[v as usize].order_key(), v))
            .collect();
        let mut by_order: Vec<usize> = (0..node_vertices.len()).collect();
        by_order.sort_unstable_by_key(|&i| keys[i]);
        node_vertices = by_order.iter().map(|&i| node_vertices[i]).collect();
        let mut node_of = vec![NONE; n];
        for (id, &v) in node_vertices.iter().enumerate() {
            node_of[v as usize] = id as u32;
        }
        let nodes: Vec<ContourNode> = node_vertices
            .iter()
            .map(|&v| ContourNode {
                vertex: v,
                value: values[v as usize].to_f64(),
                down_degree: down[v as usize],
                up_degree: up(v as usize),
            })
            .collect();

        let mut segmentation = vec![NODE_VERTEX; n];
        let mut arcs = Vec::new();
        for (id, &v) in node_vertices.iter().enumerate() {
            let row = start[v as usize] as usize..start[v as usize + 1] as usize;
            for &first in &above[row] {
                let arc = arcs.len() as u32;
                let mut w = first as usize;
                let mut size = 0u64;
                while regular(w) {
                    segmentation[w] = arc;
                    size += 1;
                    w = above[start[w] as usize] as usize;
                }
                arcs.push(ContourArc {
                    down: id as u32,
                    up: node_of[w],
                    size,
                });
            }
        }
        Self {
            nodes,
            arcs,
            segmentation,
            consistent,
        }
    }

    /// The nodes, in the order of their values (ties by vertex id).
    pub fn nodes(&self) -> &[ContourNode] {
        &self.nodes
    }

    /// The arcs, ordered by their lower node.
    pub fn arcs(&self) -> &[ContourArc] {
        &self.arcs
    }

    /// For every vertex, the arc it lies inside, or [`NODE_VERTEX`] for the vertex of a node.
    pub fn segmentation(&self) -> &[u32] {
        &self.segmentation
    }

    /// The number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.segmentation.len()
    }

    /// True when the tree's own join and split trees are the field's, as measured after it was
    /// built: always on a simplicial domain (Freudenthal), not always on the axis and full
    /// grids (see the module documentation).
    pub fn is_consistent(&self) -> bool {
        self.consistent
    }

    /// `|f(up) - f(down)|` of an arc in the total order's sense: the difference of finite
    /// values, 0 between two equal non-finite levels, `+inf` across classes.
    pub fn arc_gap(&self, arc: &ContourArc) -> f64 {
        level_gap(
            self.nodes[arc.down as usize].value,
            self.nodes[arc.up as usize].value,
        )
    }
}

/// The augmented contour tree as a domain, for recomputing its join and split trees: both
/// directions of every edge in compressed rows, built without [`crate::Graph`]'s validation (the edges
/// are a forest by construction).
struct TreeGraph {
    start: Vec<u32>,
    neighbours: Vec<u32>,
}

impl TreeGraph {
    fn new(n: usize, edges: &[(u32, u32)]) -> Self {
        let mut start = vec![0u32; n + 1];
        for &(a, b) in edges {
            start[a as usize + 1] += 1;
            start[b as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut neighbours = vec![0u32; 2 * edges.len()];
        for &(a, b) in edges {
            neighbours[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
            neighbours[fill[b as usize] as usize] = a;
            fill[b as usize] += 1;
        }
        Self { start, neighbours }
    }
}

impl Neighbourhood for TreeGraph {
    fn vertex_count(&self) -> usize {
        self.start.len() - 1
    }

    fn max_degree(&self) -> usize {
        self.start
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0)
    }

    fn neighbours(&self, vertex: u32, out: &mut Vec<u32>) {
        let v = vertex as usize;
        out.extend_from_slice(&self.neighbours[self.start[v] as usize..self.start[v + 1] as usize]);
    }
}

/// The augmented merge tree of the vertices taken in `order`: for every vertex the next vertex
/// above it on its arc (in the order's sense), or [`NONE`] at the top of a component.
pub(crate) fn augmented_parents<N: Neighbourhood>(order: &[u32], domain: &N) -> Vec<u32> {
    let n = order.len();
    // Union-find parents (NONE until a vertex is reached), and at each set's root the set's
    // highest vertex so far: the one the next arriving neighbour attaches to. A new vertex
    // joins the set of its first reached neighbour, and further sets join that one, so roots
    // are old vertices and paths stay short.
    let mut set = vec![NONE; n];
    let mut top = vec![NONE; n];
    let mut parent = vec![NONE; n];
    let mut neighbours = Vec::with_capacity(domain.max_degree());
    for (position, &v) in order.iter().enumerate() {
        // As in the merge tree's sweep: overlap the cache misses of the vertices ahead.
        if let Some(&ahead) = order.get(position + LOOKAHEAD) {
            domain.prefetch_neighbours(ahead, &set);
        }
        neighbours.clear();
        domain.neighbours(v, &mut neighbours);
        let mut own = NONE;
        for &u in &neighbours {
            if set[u as usize] == NONE {
                continue;
            }
            let root = find(&mut set, u);
            if root == own {
                continue;
            }
            parent[top[root as usize] as usize] = v;
            if own == NONE {
                own = root;
                set[v as usize] = root;
            } else {
                set[root as usize] = own;
            }
            top[own as usize] = v;
        }
        if own == NONE {
            set[v as usize] = v;
            top[v as usize] = v;
        }
    }
    parent
}

/// Carr et al.'s leaf pruning: the augmented contour tree's edges, each as (lower, upper), from
/// the augmented join tree (`join[v]` above `v`) and split tree (`split[v]` below `v`).
fn merge_trees(join: &[u32], split: &[u32]) -> Vec<(u32, u32)> {
    let n = join.len();
    // Per tree: the parent, the number of children and the xor of the children's ids, which
    // is the child itself when there is exactly one.
    let mut parent = [join.to_vec(), split.to_vec()];
    let mut children = [vec![0u32; n], vec![0u32; n]];
    let mut xor = [vec![0u32; n], vec![0u32; n]];
    for t in 0..2 {
        for (v, &p) in parent[t].iter().enumerate() {
            if p != NONE {
                children[t][p as usize] += 1;
                xor[t][p as usize] ^= v as u32;
            }
        }
    }
    let mut removed = vec![false; n];
    // Which tree a vertex can be taken off as a leaf of: one where it has no children and a
    // parent, while it has at most one child in the other.
    let leaf_of = |v: usize, parent: &[Vec<u32>; 2], children: &[Vec<u32>; 2]| {
        (0..2).find(|&t| children[t][v] == 0 && children[1 - t][v] <= 1 && parent[t][v] != NONE)
    };
    let mut stack: Vec<u32> = (0..n as u32)
        .rev()
        .filter(|&v| leaf_of(v as usize, &parent, &children).is_some())
        .collect();
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    while let Some(v) = stack.pop() {
        let v = v as usize;
        if removed[v] {
            continue;
        }
        let Some(t) = leaf_of(v, &parent, &children) else {
            continue;
        };
        let o = 1 - t;
        let u = parent[t][v];
        // The join tree's parent is above, the split tree's below.
        edges.push(if t == 0 { (v as u32, u) } else { (u, v as u32) });
        removed[v] = true;
        children[t][u as usize] -= 1;
        xor[t][u as usize] ^= v as u32;
        stack.push(u);
        // Splice v out of the other tree: its one child (if any) moves to v's parent there.
        let p = parent[o][v];
        if children[o][v] == 1 {
            let c = xor[o][v];
            parent[o][c as usize] = p;
            if p != NONE {
                xor[o][p as usize] ^= v as u32 ^ c;
            }
            stack.push(c);
        } else if p != NONE {
            children[o][p as usize] -= 1;
            xor[o][p as usize] ^= v as u32;
        }
        if p != NONE {
            stack.push(p);
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connectivity, Grid};

    fn grid(shape: &[usize], c: Connectivity) -> Grid {
        Grid::new(shape, c).unwrap()
    }

    #[test]
    fn a_path_is_its_own_contour_tree() {
        // Vertex:  0  1  2  3  4
        // Value:   3  0  4  1  2
        // On a path the contours are points: the tree is the path with its extrema as nodes.
        // The interior maximum 2 has two arcs below it (the points on either side meet there)
        // and the interior minima 1 and 3 two arcs above; the ends 0 and 4 are maxima.
        let values = [3.0f64, 0.0, 4.0, 1.0, 2.0];
        let tree = contour_tree(&values, &grid(&[5], Connectivity::Axis)).unwrap();
        assert!(tree.is_consistent());
        let nodes: Vec<(u32, ContourNodeKind, u32, u32)> = tree
            .nodes()
            .iter()
            .map(|n| (n.vertex, n.kind(), n.down_degree, n.up_degree))
            .collect();
        use ContourNodeKind::{Maximum, Minimum};
        assert_eq!(
            nodes,
            vec![
                (1, Minimum, 0, 2),
                (3, Minimum, 0, 2),
                (4, Maximum, 1, 0),
                (0, Maximum, 1, 0),
                (2, Maximum, 2, 0),
            ]
        );
        let mut arcs: Vec<(u32, u32)> = tree
            .arcs()
            .iter()
            .map(|a| {
                let vertex = |id: u32| tree.nodes()[id as usize].vertex;
                (vertex(a.down), vertex(a.up))
            })
            .collect();
        arcs.sort_unstable();
        assert_eq!(arcs, vec![(1, 0), (1, 2), (3, 2), (3, 4)]);
        assert!(tree.arcs().iter().all(|a| a.size == 0));
        assert!(tree.segmentation().iter().all(|&s| s == NODE_VERTEX));
    }

    #[test]
    fn regular_vertices_lie_inside_arcs() {
        // A bowl on a 2-D Freudenthal grid: one minimum, the corners' maxima and saddles on
        // the boundary between them; every other vertex is inside an arc.
        let shape = [5, 6];
        let g = grid(&shape, Connectivity::Freudenthal);
        let values: Vec<f64> = (0..30)
            .map(|v| {
                let c = g.coordinates(v);
                let (x, y) = (c[0] as f64 - 2.1, c[1] as f64 - 2.3);
                x * x + y * y
            })
            .collect();
        let tree = contour_tree(&values, &g).unwrap();
        assert!(tree.is_consistent());
        let minima = tree
            .nodes()
            .iter()
            .filter(|n| n.kind() == ContourNodeKind::Minimum)
            .count();
        assert_eq!(minima, 1);
        assert_eq!(tree.arcs().len(), tree.nodes().len() - 1);
        let inside: u64 = tree.arcs().iter().map(|a| a.size).sum();
        assert_eq!(inside as usize + tree.nodes().len(), 30);
        for (v, &arc) in tree.segmentation().iter().enumerate() {
            if arc == NODE_VERTEX {
                assert!(tree.nodes().iter().any(|n| n.vertex == v as u32));
            } else {
                // A regular vertex's value lies between its arc's ends.
                let a = tree.arcs()[arc as usize];
                let (low, high) = (tree.nodes()[a.down as usize], tree.nodes()[a.up as usize]);
                assert!(low.value <= values[v] && values[v] <= high.value);
            }
        }
    }
}
