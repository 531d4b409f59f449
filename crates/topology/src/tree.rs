//! The augmented merge tree: nodes, arcs, segmentation and persistence pairs.

use crate::sweep::{NONE, RawKind, RawNode, SweepResult, sweep};
use crate::value::{FieldValue, ValueClass, level_gap};
use crate::{Neighbourhood, TopologyError, par, parallel, sort};
use std::num::NonZeroUsize;

/// Index of a node in [`MergeTree::nodes`].
pub type NodeId = u32;

/// Which sublevel structure a tree follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeKind {
    /// The join tree of sublevel sets `{x : f(x) <= y}` as `y` rises: leaves are minima, nodes
    /// are where basins merge. This is the merge tree of the loss-landscape papers.
    Join,
    /// The split tree of superlevel sets as `y` falls: leaves are maxima. It is the join tree
    /// of the reversed order.
    Split,
}

impl TreeKind {
    /// `"join"` or `"split"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Split => "split",
        }
    }

    /// What a leaf of this tree is called: `"minimum"` or `"maximum"`.
    pub fn leaf_name(self) -> &'static str {
        match self {
            Self::Join => "minimum",
            Self::Split => "maximum",
        }
    }
}

/// What a node of a merge tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A leaf: a local minimum of a join tree (a maximum of a split tree), where a component is
    /// born.
    Leaf,
    /// A saddle, where two or more components merge.
    Saddle,
    /// The top of a connected component's tree: its last vertex in the order (the global
    /// maximum of a grid's join tree). A root can also merge components (then it has two or
    /// more children) or be a lone vertex (then it has none, and it is also a leaf).
    Root,
}

impl NodeKind {
    /// What a node of this kind is called in a tree of `tree`'s kind: `"minimum"` or
    /// `"maximum"` for a leaf (as [`TreeKind::leaf_name`]), `"saddle"` or `"root"`.
    pub fn name(self, tree: TreeKind) -> &'static str {
        match self {
            Self::Leaf => tree.leaf_name(),
            Self::Saddle => "saddle",
            Self::Root => "root",
        }
    }
}

/// One node of a merge tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// The vertex where the node sits.
    pub vertex: u32,
    /// The field's value there.
    pub value: f64,
    pub kind: NodeKind,
    /// The node above, or `None` for a root.
    pub parent: Option<NodeId>,
    /// How many arcs end at this node from below.
    pub child_count: u32,
    /// The number of vertices in this node's segment: the node's own vertex and the regular
    /// vertices on the arc from it up to its parent. A root's segment is its vertex alone (in a
    /// simplified tree, also the removed branches that died at the root).
    pub segment_size: u64,
    /// The leaf whose branch passes through this node: the oldest leaf below it (elder rule).
    pub branch: NodeId,
    /// For a leaf that dies: the node where its component merges into an elder one.
    pub death: Option<NodeId>,
}

impl Node {
    /// True for a leaf: a node with no children (a root of a lone vertex included).
    pub fn is_leaf(&self) -> bool {
        self.child_count == 0
    }

    /// True for a node where two or more components merge (a root included).
    pub fn is_saddle(&self) -> bool {
        self.child_count >= 2
    }
}

/// An arc of the tree: from a node up to its parent, with the size of the lower node's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    pub down: NodeId,
    pub up: NodeId,
    /// The number of vertices whose segment this arc is: the lower node and the regular vertices
    /// above it, below the upper node.
    pub size: u64,
}

/// A 0-dimensional persistence pair: a component born at a leaf and dying, by the elder rule,
/// where it merges into a component with an older leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersistencePair {
    pub birth_vertex: u32,
    pub birth: f64,
    /// `None` for a component that never dies (the global minimum of a connected domain).
    pub death_vertex: Option<u32>,
    pub death: Option<f64>,
    /// `|death - birth|`; `+inf` for a component that never dies or that dies at a non-finite
    /// level above a finite birth; 0 between two NaNs (or two equal infinities), which the total
    /// order treats as one level.
    pub persistence: f64,
}

/// A persistence threshold for [`MergeTree::simplify`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Pairs whose persistence is below this value are removed.
    Absolute(f64),
    /// A fraction of the finite value range `max - min` (0.01 is 1% of the range).
    FractionOfRange(f64),
}

/// The error of parsing a threshold that is not a non-negative number or percentage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a non-negative number (0.05) or a percentage of the loss range (1%)")]
pub struct InvalidThresholdText;

impl std::str::FromStr for Threshold {
    type Err = InvalidThresholdText;

    /// `0.05` is an absolute persistence, `1%` a percentage of the finite value range.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (number, percent) = match text.strip_suffix('%') {
            Some(number) => (number, true),
            None => (text, false),
        };
        let value: f64 = number.trim().parse().map_err(|_| InvalidThresholdText)?;
        if value.is_nan() || value < 0.0 || value.is_infinite() {
            return Err(InvalidThresholdText);
        }
        Ok(if percent {
            Threshold::FractionOfRange(value / 100.0)
        } else {
            Threshold::Absolute(value)
        })
    }
}

/// How a merge tree is computed: the result is the same, node for node, whichever is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Every core the machine offers for fields of [`PARALLEL_MIN_VERTICES`] vertices or more,
    /// the sequential sweep below.
    #[default]
    Auto,
    /// As [`Parallelism::Auto`], on at most this many threads (one: the sequential sweep).
    AtMost(NonZeroUsize),
    /// The parallel algorithm (descent labels, candidate saddles, a search of the tree's
    /// branches for every vertex's segment) on this many threads, whatever the field's size;
    /// the sequential sweep above 2^31 vertices.
    Threads(NonZeroUsize),
    /// One union-find sweep over the vertices in value order, on one thread.
    Sequential,
}

/// The smallest field that [`Parallelism::Auto`] computes on several threads. Measured: on a 41^3
/// grid (69K vertices, in the cache) the sequential sweep is as fast as the parallel algorithm
/// on one thread and faster than it on two; on 41^4 (2.8M) two threads are 2-4 times faster
/// than the sweep.
pub const PARALLEL_MIN_VERTICES: usize = 1 << 20;

/// An augmented merge tree of a scalar field: its nodes, the segment of every vertex, and the
/// persistence pairs of its branches.
#[derive(Debug, Clone)]
pub struct MergeTree {
    kind: TreeKind,
    nodes: Vec<Node>,
    segmentation: Vec<NodeId>,
    nonfinite_count: usize,
    finite_range: Option<(f64, f64)>,
}

/// The join tree (minima) of a field on a domain: a [`crate::Grid`] or a [`crate::Graph`].
pub fn join_tree<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
) -> Result<MergeTree, TopologyError> {
    MergeTree::compute(values, domain, TreeKind::Join)
}

/// The split tree (maxima) of a field: the join tree of the reversed order.
pub fn split_tree<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
) -> Result<MergeTree, TopologyError> {
    MergeTree::compute(values, domain, TreeKind::Split)
}

impl MergeTree {
    /// The merge tree of the given kind of `values` on `domain`.
    pub fn compute<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
        kind: TreeKind,
    ) -> Result<Self, TopologyError> {
        Self::compute_with_progress(values, domain, kind, &mut |_| {})
    }

    /// As [`MergeTree::compute`], calling `progress` from time to time and once at the end with
    /// a count of work done that ends at the vertex count, for progress bars.
    pub fn compute_with_progress<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
        kind: TreeKind,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Self, TopologyError> {
        Self::compute_with(values, domain, kind, Parallelism::Auto, progress)
    }

    /// As [`MergeTree::compute_with_progress`], on the threads `parallelism` asks for. The
    /// result does not depend on it.
    pub fn compute_with<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
        kind: TreeKind,
        parallelism: Parallelism,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Self, TopologyError> {
        check_domain(values.len(), domain)?;
        let n = values.len();
        let threads = match parallelism {
            _ if n > parallel::MAX_VERTICES => None,
            Parallelism::Sequential => None,
            Parallelism::Threads(threads) => Some(threads.get()),
            Parallelism::Auto | Parallelism::AtMost(_) if n < PARALLEL_MIN_VERTICES => None,
            Parallelism::Auto => Some(par::available_threads()),
            Parallelism::AtMost(most) if most.get() == 1 => None,
            Parallelism::AtMost(most) => Some(par::available_threads().min(most.get())),
        };
        let descending = kind == TreeKind::Split;
        let SweepResult {
            nodes: raw,
            segmentation,
        } = match threads {
            Some(threads) => parallel::descent_sweep(values, domain, descending, threads, progress),
            None => {
                let mut order = sort::sorted_vertices(values);
                if descending {
                    order.reverse();
                }
                sweep(&order, domain, progress)
            }
        };
        let (nonfinite_count, finite_range) = value_summary(values);
        let nodes = finish_nodes(&raw, &segmentation, |v| values[v as usize].to_f64());
        Ok(Self {
            kind,
            nodes,
            segmentation,
            nonfinite_count,
            finite_range,
        })
    }

    /// Join or split.
    pub fn kind(&self) -> TreeKind {
        self.kind
    }

    /// All nodes; a node's id is its index. Children come before their parents.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with the given id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The node of every vertex's segment (see [`Node::segment_size`]), indexed by vertex id.
    pub fn segmentation(&self) -> &[NodeId] {
        &self.segmentation
    }

    /// The number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.segmentation.len()
    }

    /// The arcs, one per non-root node, in the order of their lower node.
    pub fn arcs(&self) -> impl Iterator<Item = Arc> + '_ {
        self.nodes.iter().enumerate().filter_map(|(id, node)| {
            node.parent.map(|up| Arc {
                down: id as NodeId,
                up,
                size: node.segment_size,
            })
        })
    }

    /// The number of vertices in every node's subtree (its segment and all segments below it),
    /// indexed by node id.
    pub fn subtree_sizes(&self) -> Vec<u64> {
        let mut size: Vec<u64> = self.nodes.iter().map(|n| n.segment_size).collect();
        // Children come before their parents.
        for (id, node) in self.nodes.iter().enumerate() {
            if let Some(p) = node.parent {
                size[p as usize] += size[id];
            }
        }
        size
    }

    /// The roots, one per connected component of the domain.
    pub fn roots(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent.is_none())
            .map(|(id, _)| id as NodeId)
    }

    /// The number of leaves (minima of a join tree, maxima of a split tree).
    pub fn leaf_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf()).count()
    }

    /// The number of nodes where components merge.
    pub fn saddle_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_saddle()).count()
    }

    /// How many values are NaN or infinite.
    pub fn nonfinite_count(&self) -> usize {
        self.nonfinite_count
    }

    /// The smallest and largest finite value, or `None` if no value is finite.
    pub fn finite_range(&self) -> Option<(f64, f64)> {
        self.finite_range
    }

    /// The persistence pairs, one per leaf, in the order of their leaves.
    pub fn pairs(&self) -> Vec<PersistencePair> {
        self.nodes
            .iter()
            .filter(|n| n.is_leaf())
            .map(|leaf| self.pair_of(leaf))
            .collect()
    }

    fn pair_of(&self, leaf: &Node) -> PersistencePair {
        let death = leaf.death.map(|d| self.node(d));
        let persistence = match death {
            None => f64::INFINITY,
            Some(d) => match self.kind {
                TreeKind::Join => level_gap(leaf.value, d.value),
                TreeKind::Split => level_gap(d.value, leaf.value),
            },
        };
        PersistencePair {
            birth_vertex: leaf.vertex,
            birth: leaf.value,
            death_vertex: death.map(|d| d.vertex),
            death: death.map(|d| d.value),
            persistence,
        }
    }

    /// The largest finite persistence of any pair, if one has a finite persistence.
    pub fn max_finite_persistence(&self) -> Option<f64> {
        self.pairs()
            .iter()
            .map(|p| p.persistence)
            .filter(|p| p.is_finite())
            .reduce(f64::max)
    }

    /// The absolute persistence value a threshold stands for on this tree.
    pub fn threshold_value(&self, threshold: Threshold) -> Result<f64, TopologyError> {
        let (Threshold::Absolute(x) | Threshold::FractionOfRange(x)) = threshold;
        if x.is_nan() || x < 0.0 || x.is_infinite() {
            return Err(TopologyError::InvalidThreshold(x));
        }
        Ok(match threshold {
            Threshold::Absolute(x) => x,
            Threshold::FractionOfRange(f) => {
                f * self.finite_range.map_or(0.0, |(low, high)| high - low)
            }
        })
    }

    /// The tree with every persistence pair below the threshold removed.
    ///
    /// A removed leaf's branch, with every branch hanging from it (those are less persistent,
    /// so they are removed too), is merged into the segment that holds its death saddle in the
    /// simplified tree: this is the tree of the field with that basin filled up to its saddle.
    /// A saddle at which no remaining pair dies becomes a regular vertex of the arc through it.
    /// The pairs that remain are exactly the original pairs with persistence at or above the
    /// threshold, unchanged.
    pub fn simplify(&self, threshold: Threshold) -> Result<MergeTree, TopologyError> {
        let t = self.threshold_value(threshold)?;
        let kept = self.kept_nodes(t);
        let representative = self.representatives(&kept);
        let count = self.nodes.len();
        // New ids keep the creation order; parents are the nearest kept ancestors.
        let mut new_id = vec![NONE; count];
        let mut next = 0;
        for id in 0..count {
            if kept[id] {
                new_id[id] = next;
                next += 1;
            }
        }
        let mut kept_ancestor = vec![NONE; count];
        for id in (0..count).rev() {
            if let Some(p) = self.nodes[id].parent {
                kept_ancestor[id] = if kept[p as usize] {
                    p
                } else {
                    kept_ancestor[p as usize]
                };
            }
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(next as usize);
        for (id, node) in self.nodes.iter().enumerate() {
            if !kept[id] {
                continue;
            }
            let parent = node.parent.map(|_| new_id[kept_ancestor[id] as usize]);
            nodes.push(Node {
                parent,
                child_count: 0,
                segment_size: 0,
                branch: new_id[node.branch as usize],
                death: node.death.map(|d| new_id[d as usize]),
                ..*node
            });
        }
        for id in 0..nodes.len() {
            if let Some(p) = nodes[id].parent {
                nodes[p as usize].child_count += 1;
            }
        }
        let segmentation: Vec<NodeId> = self
            .segmentation
            .iter()
            .map(|&s| new_id[representative[s as usize] as usize])
            .collect();
        for &s in &segmentation {
            nodes[s as usize].segment_size += 1;
        }
        Ok(MergeTree {
            kind: self.kind,
            nodes,
            segmentation,
            nonfinite_count: self.nonfinite_count,
            finite_range: self.finite_range,
        })
    }

    /// The nodes a simplification at persistence `t` keeps: the leaves of pairs at or above it
    /// with their death saddles, and the roots.
    fn kept_nodes(&self, t: f64) -> Vec<bool> {
        let mut kept = vec![false; self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate() {
            if node.is_leaf() && self.pair_of(node).persistence >= t {
                kept[id] = true;
                if let Some(d) = node.death {
                    kept[d as usize] = true;
                }
            }
            if node.kind == NodeKind::Root {
                kept[id] = true;
            }
        }
        kept
    }

    /// The kept node whose segment takes over each node's segment.
    fn representatives(&self, kept: &[bool]) -> Vec<u32> {
        let count = self.nodes.len();
        let mut representative = vec![NONE; count];
        // Along kept branches (bottom up: ids grow along a branch), a dropped saddle joins the
        // segment below it on the same branch.
        let mut current = vec![NONE; count];
        for (id, node) in self.nodes.iter().enumerate() {
            let branch = node.branch as usize;
            if kept[branch] {
                if kept[id] {
                    current[branch] = id as u32;
                }
                representative[id] = current[branch];
            }
        }
        // A removed branch joins the segment of its death saddle (top down: the saddle's id is
        // larger than every id on the branch).
        for id in (0..count).rev() {
            let branch = self.nodes[id].branch as usize;
            if !kept[branch] {
                let death = self.nodes[branch]
                    .death
                    .expect("a removed pair has a death");
                representative[id] = representative[death as usize];
            }
        }
        representative
    }
}

/// That a field of `values` values fits `domain`: one value per vertex, at least one vertex.
pub(crate) fn check_domain<N: Neighbourhood>(
    values: usize,
    domain: &N,
) -> Result<(), TopologyError> {
    if values != domain.vertex_count() {
        return Err(TopologyError::LengthMismatch {
            values,
            vertices: domain.vertex_count(),
        });
    }
    if values == 0 {
        return Err(TopologyError::NoVertices);
    }
    Ok(())
}

fn value_summary<V: FieldValue>(values: &[V]) -> (usize, Option<(f64, f64)>) {
    let mut nonfinite = 0;
    let mut range: Option<(f64, f64)> = None;
    for v in values {
        let v = v.to_f64();
        if ValueClass::of(v) == ValueClass::Finite {
            range = Some(match range {
                None => (v, v),
                Some((low, high)) => (low.min(v), high.max(v)),
            });
        } else {
            nonfinite += 1;
        }
    }
    (nonfinite, range)
}

fn finish_nodes(raw: &[RawNode], segmentation: &[u32], value: impl Fn(u32) -> f64) -> Vec<Node> {
    let mut nodes: Vec<Node> = raw
        .iter()
        .map(|r| Node {
            vertex: r.vertex,
            value: value(r.vertex),
            kind: match r.kind {
                RawKind::Leaf => NodeKind::Leaf,
                RawKind::Saddle => NodeKind::Saddle,
                RawKind::Root => NodeKind::Root,
            },
            parent: (r.parent != NONE).then_some(r.parent),
            child_count: r.child_count,
            segment_size: 0,
            branch: r.branch,
            death: (r.death != NONE).then_some(r.death),
        })
        .collect();
    for &s in segmentation {
        nodes[s as usize].segment_size += 1;
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connectivity, Graph, Grid};

    #[test]
    fn rejects_empty_domains_and_wrong_lengths() {
        let empty = Graph::from_csr(vec![0], vec![]).unwrap();
        assert_eq!(
            join_tree::<f32, _>(&[], &empty).unwrap_err(),
            TopologyError::NoVertices
        );
        let grid = Grid::new(&[3, 2], Connectivity::Axis).unwrap();
        assert_eq!(
            join_tree(&[1.0f32; 5], &grid).unwrap_err(),
            TopologyError::LengthMismatch {
                values: 5,
                vertices: 6
            }
        );
    }

    #[test]
    fn every_parallelism_gives_the_same_tree() {
        // 2^20 vertices: at the threshold where `Auto` and `AtMost` start using threads.
        let grid = Grid::new(&[1 << 10, 1 << 10], Connectivity::Freudenthal).unwrap();
        let mut state = 0x853c_49e6_748f_ea9bu64;
        let values: Vec<f32> = (0..grid.vertex_count())
            .map(|v| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let (x, y) = ((v % 1024) as f32 / 64.0, (v / 1024) as f32 / 64.0);
                x.sin() * y.cos() + (state >> 40) as f32 / (1u64 << 26) as f32
            })
            .collect();
        let tree = |parallelism| {
            MergeTree::compute_with(&values, &grid, TreeKind::Join, parallelism, &mut |_| {})
                .unwrap()
        };
        let reference = tree(Parallelism::Sequential);
        let two = NonZeroUsize::new(2).unwrap();
        for parallelism in [
            Parallelism::Auto,
            Parallelism::AtMost(NonZeroUsize::MIN),
            Parallelism::AtMost(two),
            Parallelism::Threads(two),
        ] {
            let other = tree(parallelism);
            assert_eq!(other.nodes(), reference.nodes(), "{parallelism:?}");
            assert_eq!(
                other.segmentation(),
                reference.segmentation(),
                "{parallelism:?}"
            );
        }
    }

    #[test]
    fn a_single_vertex_is_a_leaf_and_the_root() {
        let grid = Grid::new(&[1], Connectivity::Freudenthal).unwrap();
        let tree = join_tree(&[2.5f64], &grid).unwrap();
        assert_eq!(tree.nodes().len(), 1);
        assert_eq!(tree.node(0).kind, NodeKind::Root);
        assert_eq!((tree.leaf_count(), tree.saddle_count()), (1, 0));
        assert_eq!(tree.pairs()[0].death, None);
        assert_eq!(tree.arcs().count(), 0);
    }

    #[test]
    fn a_disconnected_graph_gives_a_forest() {
        // Components {0, 1, 2} (a path with two minima) and {3, 4}, and the lone vertex 5.
        let graph = Graph::from_edges(6, &[(0, 1), (1, 2), (3, 4)]).unwrap();
        let values = [1.0f32, 5.0, 0.0, 2.0, 3.0, 4.0];
        let tree = join_tree(&values, &graph).unwrap();
        let mut roots: Vec<(u32, u32)> = tree
            .roots()
            .map(|r| (tree.node(r).vertex, tree.node(r).child_count))
            .collect();
        roots.sort_unstable();
        // The path's maximum merges its two minima; vertex 4 tops its edge; 5 stands alone.
        assert_eq!(roots, vec![(1, 2), (4, 1), (5, 0)]);
        let mut essential: Vec<u32> = tree
            .pairs()
            .iter()
            .filter(|p| p.death.is_none())
            .map(|p| p.birth_vertex)
            .collect();
        essential.sort_unstable();
        assert_eq!(essential, vec![2, 3, 5]);
        assert_eq!(tree.leaf_count(), 4);
        // The pair that dies: vertex 0 (value 1) merges with vertex 2's basin at vertex 1.
        let finite: Vec<_> = tree
            .pairs()
            .into_iter()
            .filter(|p| p.death.is_some())
            .collect();
        assert_eq!(finite.len(), 1);
        assert_eq!(
            (finite[0].birth_vertex, finite[0].death_vertex),
            (0, Some(1))
        );
        assert_eq!(finite[0].persistence, 4.0);
    }
}
