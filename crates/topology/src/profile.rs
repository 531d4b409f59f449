//! The topological landscape profile: the geometry of the basins of a merge tree.
//!
//! Every node of a (possibly simplified) join tree stands for a basin. Its **size** is the
//! number of vertices in its subtree: its own segment and all segments below it. Its **width at
//! level y** is the number of those vertices with value at most y, so a leaf basin narrows to its
//! minimum (width 1), a saddle has a flat floor as wide as its children together (plus the
//! saddle itself), and the root spans all N vertices at the maximum. A node is drawn from its own
//! value up to its parent's value; below its own value its children take over. Within that band
//! only the node's own segment adds width, so the width steps up by one at each vertex of the
//! segment: the polygons of all basins together have O(N) corners.
//!
//! **Layout**: the root occupies x in [0, N]; the drawn children of a node sit side by side
//! under it, largest first (ties by node id), as one block centred in the parent's interval, each
//! in an interval exactly as wide as its size; a basin is centred in its interval. The roots of a
//! forest (a disconnected graph) sit side by side in [0, N], largest first.
//!
//! **Readability**: a landscape with 10^5 tiny basins would draw 10^5 slivers. Basins smaller
//! than [`ProfileOptions::min_size_fraction`] of N (default 1/2000, under one pixel of a
//! 2000-pixel-wide figure) are hidden with everything below them, and their count is reported;
//! their vertices still count in their ancestors' widths. A node left with a single drawn child
//! (a regular root, or a saddle whose other children are hidden) continues that child's basin:
//! the two are drawn as one polygon, a **chain** from a bottom node to a top node, so a rough
//! landscape's long chains of tiny merges draw as one basin. Simplifying the tree first
//! ([`MergeTree::simplify`]) removes shallow basins instead of small ones. Each polygon keeps at
//! most [`ProfileOptions::max_points_per_side`] corners per side, taken exactly from the width
//! curve (evenly spaced along it, the first and last included).
//!
//! Non-finite values (NaN, infinities) cannot be drawn: in polygons and colours they are placed
//! at the nearest finite extreme (NaN and +inf at the largest finite value).

use crate::TopologyError;
use crate::sweep::NONE;
use crate::tree::{MergeTree, NodeId, NodeKind, TreeKind};
use crate::value::FieldValue;

/// Options of [`landscape_profile`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileOptions {
    /// Basins with fewer than this fraction of all vertices are hidden (0 shows every basin).
    pub min_size_fraction: f64,
    /// The most corners kept on each side of a polygon (at least 2).
    pub max_points_per_side: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        Self {
            min_size_fraction: 1.0 / 2000.0,
            max_points_per_side: 256,
        }
    }
}

/// One drawn basin of a profile: a chain of tree nodes from `node` up to `top_node` (the same
/// node unless a node above continues it).
#[derive(Debug, Clone, PartialEq)]
pub struct Basin {
    /// The bottom node: a minimum, or a node where two or more drawn basins meet.
    pub node: NodeId,
    /// The top node of the chain.
    pub top_node: NodeId,
    /// The basin this one hangs from (its bottom node), `None` at a root.
    pub parent: Option<NodeId>,
    /// The bottom node's kind.
    pub kind: NodeKind,
    /// The number of vertices in the top node's subtree.
    pub size: u64,
    /// The interval `[left, right]` of width `size` the basin is centred in.
    pub x: [f64; 2],
    /// The bottom node's value: the bottom of the drawn polygon.
    pub bottom: f64,
    /// The value of the top node's parent (its own for a root): the top of the polygon.
    pub top: f64,
    /// The mean value over the chain's own segments (the vertices its polygon adds); finite
    /// values only, NaN if it has none.
    pub mean_value: f64,
    /// The outline: up the left side from the bottom, then down the right side, as
    /// `[x, value]` points.
    pub polygon: Vec<[f64; 2]>,
}

/// The geometry of a topological landscape profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// N: the number of vertices, the width of the whole profile.
    pub vertex_count: u64,
    /// The drawn basins, in the order of their bottom nodes.
    pub basins: Vec<Basin>,
    /// How many tree nodes were too small to draw (with everything below them).
    pub hidden_basins: usize,
    /// The smallest and largest finite value (the profile's vertical extent).
    pub value_range: (f64, f64),
}

/// The profile of a join tree of `values` (the tree must have been computed from them).
pub fn landscape_profile<V: FieldValue>(
    tree: &MergeTree,
    values: &[V],
    options: ProfileOptions,
) -> Result<Profile, TopologyError> {
    check(tree, values.len(), options)?;
    let layout = Layout::new(tree, options.min_size_fraction);
    let mut segments = Segments::new(tree, values);
    let (low, high) = layout.range;
    let count = tree.nodes().len();
    let mut basins: Vec<Basin> = (0..count)
        .filter(|&id| !layout.hidden[id] && layout.is_top(id))
        .map(|top| layout.basin(top, &mut segments, options.max_points_per_side))
        .collect();
    basins.sort_by_key(|b| b.node);
    Ok(Profile {
        vertex_count: tree.vertex_count() as u64,
        basins,
        hidden_basins: layout.hidden.iter().filter(|&&h| h).count(),
        value_range: (low, high),
    })
}

fn check(tree: &MergeTree, values: usize, options: ProfileOptions) -> Result<(), TopologyError> {
    if values != tree.vertex_count() {
        return Err(TopologyError::LengthMismatch {
            values,
            vertices: tree.vertex_count(),
        });
    }
    if tree.kind() != TreeKind::Join {
        return Err(TopologyError::InvalidProfileOption(
            "a landscape profile is drawn from a join tree (minima), not a split tree".into(),
        ));
    }
    let fraction = options.min_size_fraction;
    if !(0.0..=1.0).contains(&fraction) || options.max_points_per_side < 2 {
        return Err(TopologyError::InvalidProfileOption(format!(
            "min_size_fraction must be in [0, 1] (got {fraction}) and max_points_per_side at least 2 (got {})",
            options.max_points_per_side
        )));
    }
    Ok(())
}

/// Where every visible node of a tree is drawn: which nodes are hidden, each node's interval,
/// and the chain each belongs to.
struct Layout<'a> {
    tree: &'a MergeTree,
    /// Vertices in each node's subtree.
    size: Vec<u64>,
    /// Children of every node, largest first, in one flat array (CSR).
    child_start: Vec<usize>,
    children: Vec<NodeId>,
    hidden: Vec<bool>,
    /// The left end of each visible node's interval.
    left: Vec<f64>,
    /// The bottom node of every visible node's chain.
    chain_bottom: Vec<NodeId>,
    /// The smallest and largest finite value.
    range: (f64, f64),
}

impl<'a> Layout<'a> {
    fn new(tree: &'a MergeTree, fraction: f64) -> Self {
        let count = tree.nodes().len();
        let mut layout = Layout {
            tree,
            size: tree.subtree_sizes(),
            child_start: vec![0; count + 1],
            children: Vec::new(),
            hidden: vec![false; count],
            left: vec![0.0; count],
            chain_bottom: vec![NONE; count],
            range: tree.finite_range().unwrap_or((0.0, 0.0)),
        };
        layout.children();
        layout.hide(fraction * tree.vertex_count() as f64);
        layout.intervals();
        layout.chains();
        layout
    }

    fn by_size(&self, list: &mut [NodeId]) {
        list.sort_by_key(|&c| (std::cmp::Reverse(self.size[c as usize]), c));
    }

    fn children(&mut self) {
        let nodes = self.tree.nodes();
        let count = nodes.len();
        for node in nodes {
            if let Some(p) = node.parent {
                self.child_start[p as usize + 1] += 1;
            }
        }
        for i in 0..count {
            self.child_start[i + 1] += self.child_start[i];
        }
        let mut children = vec![NONE; self.child_start[count]];
        let mut fill = self.child_start.clone();
        for (id, node) in nodes.iter().enumerate() {
            if let Some(p) = node.parent {
                children[fill[p as usize]] = id as NodeId;
                fill[p as usize] += 1;
            }
        }
        for i in 0..count {
            self.by_size(&mut children[self.child_start[i]..self.child_start[i + 1]]);
        }
        self.children = children;
    }

    /// Hidden basins: too small, or below a hidden one (ancestors first, by descending id).
    fn hide(&mut self, min_size: f64) {
        let nodes = self.tree.nodes();
        for id in (0..nodes.len()).rev() {
            let parent_hidden = nodes[id].parent.is_some_and(|p| self.hidden[p as usize]);
            self.hidden[id] =
                nodes[id].parent.is_some() && (parent_hidden || (self.size[id] as f64) < min_size);
        }
    }

    fn visible_children(&self, id: usize) -> impl Iterator<Item = NodeId> + '_ {
        self.children[self.child_start[id]..self.child_start[id + 1]]
            .iter()
            .copied()
            .filter(|&c| !self.hidden[c as usize])
    }

    /// A node with exactly one visible child continues that child's basin upwards: drawn as
    /// one.
    fn continues(&self, id: usize) -> bool {
        self.visible_children(id).count() == 1
    }

    /// Whether node `id`'s parent does not continue its chain.
    fn is_top(&self, id: usize) -> bool {
        self.tree.nodes()[id]
            .parent
            .is_none_or(|p| !self.continues(p as usize))
    }

    /// Intervals, top down (parents have larger ids than their children): the visible children
    /// of a node as one block centred in its interval, largest first.
    fn intervals(&mut self) {
        let mut roots: Vec<NodeId> = self.tree.roots().collect();
        self.by_size(&mut roots);
        let mut x = 0.0;
        for &r in &roots {
            self.left[r as usize] = x;
            x += self.size[r as usize] as f64;
        }
        for id in (0..self.tree.nodes().len()).rev() {
            if self.hidden[id] {
                continue;
            }
            let visible: Vec<NodeId> = self.visible_children(id).collect();
            let total: u64 = visible.iter().map(|&c| self.size[c as usize]).sum();
            let mut x = self.left[id] + (self.size[id] - total) as f64 / 2.0;
            for c in visible {
                self.left[c as usize] = x;
                x += self.size[c as usize] as f64;
            }
        }
    }

    /// Each drawn basin is a chain: from a bottom node (a leaf, or a node where two or more
    /// visible basins meet) up through the nodes that continue it, to a top node whose parent
    /// does not continue it. The bottom node of every visible node's chain, bottom up.
    fn chains(&mut self) {
        for id in 0..self.tree.nodes().len() {
            if !self.hidden[id] {
                self.chain_bottom[id] = if self.continues(id) {
                    let child = self.visible_children(id).next().expect("one visible child");
                    self.chain_bottom[child as usize]
                } else {
                    id as NodeId
                };
            }
        }
    }

    /// A value placed where it can be drawn: non-finite ones at the nearest finite extreme.
    fn drawable(&self, v: f64) -> f64 {
        if v.is_finite() {
            v
        } else if v == f64::NEG_INFINITY {
            self.range.0
        } else {
            self.range.1
        }
    }

    /// The drawn basin whose chain ends at `top_id`.
    fn basin<V: FieldValue>(
        &self,
        top_id: usize,
        segments: &mut Segments<V>,
        limit: usize,
    ) -> Basin {
        let nodes = self.tree.nodes();
        let bottom_id = self.chain_bottom[top_id] as usize;
        // The chain's nodes, bottom up.
        let mut chain = vec![top_id];
        while *chain.last().expect("non-empty") != bottom_id {
            let k = *chain.last().expect("non-empty");
            chain.push(self.visible_children(k).next().expect("a continued child") as usize);
        }
        chain.reverse();
        let (curve, mean_value) = self.width_curve(&chain, segments);
        let curve = thin(curve, limit);
        let (left, size) = (self.left[top_id], self.size[top_id]);
        let centre = left + size as f64 / 2.0;
        let mut polygon: Vec<[f64; 2]> =
            curve.iter().map(|&(w, y)| [centre - w / 2.0, y]).collect();
        polygon.extend(curve.iter().rev().map(|&(w, y)| [centre + w / 2.0, y]));
        let (bottom, top) = (&nodes[bottom_id], &nodes[top_id]);
        Basin {
            node: bottom_id as NodeId,
            top_node: top_id as NodeId,
            parent: top.parent.map(|p| self.chain_bottom[p as usize]),
            kind: bottom.kind,
            size,
            x: [left, left + size as f64],
            bottom: self.drawable(bottom.value),
            top: self.drawable(top.parent.map_or(top.value, |p| nodes[p as usize].value)),
            mean_value,
            polygon,
        }
    }

    /// The width curve of a chain, bottom up, and the mean finite value of its segments (NaN
    /// without one): inside node k's band (from its value to its parent's) the width is the
    /// size of k's subtree below its own segment plus the segment vertices reached.
    fn width_curve<V: FieldValue>(
        &self,
        chain: &[usize],
        segments: &mut Segments<V>,
    ) -> (Vec<(f64, f64)>, f64) {
        let nodes = self.tree.nodes();
        let mut curve: Vec<(f64, f64)> = Vec::new();
        let (mut sum, mut finite) = (0.0, 0usize);
        for &k in chain {
            // In a simplified tree a segment also holds removed basins, which lie below the
            // node; they count from the node's level up, as if filled to it (which is what the
            // simplified tree describes).
            let floor = segments.values[nodes[k].vertex as usize];
            let segment = segments.sorted(k);
            let base = self.size[k] - segment.len() as u64;
            for (j, &v) in segment.iter().enumerate() {
                if v.to_f64().is_finite() {
                    sum += v.to_f64();
                    finite += 1;
                }
                let level = if v.order_key() < floor.order_key() {
                    floor
                } else {
                    v
                };
                curve.push(((base + j as u64 + 1) as f64, self.drawable(level.to_f64())));
            }
            if let Some(p) = nodes[k].parent {
                let level = self.drawable(nodes[p as usize].value);
                if curve.last().is_some_and(|&(_, y)| level > y) {
                    curve.push((self.size[k] as f64, level));
                }
            }
        }
        let mean = if finite == 0 {
            f64::NAN
        } else {
            sum / finite as f64
        };
        (curve, mean)
    }
}

/// The values of every node's segment, grouped by node (a counting sort).
struct Segments<'v, V> {
    values: &'v [V],
    start: Vec<usize>,
    grouped: Vec<V>,
}

impl<'v, V: FieldValue> Segments<'v, V> {
    fn new(tree: &MergeTree, values: &'v [V]) -> Self {
        let count = tree.nodes().len();
        let mut start = vec![0usize; count + 1];
        for &s in tree.segmentation() {
            start[s as usize + 1] += 1;
        }
        for i in 0..count {
            start[i + 1] += start[i];
        }
        let mut grouped: Vec<V> = vec![values[0]; values.len()];
        let mut fill = start.clone();
        for (v, &s) in tree.segmentation().iter().enumerate() {
            grouped[fill[s as usize]] = values[v];
            fill[s as usize] += 1;
        }
        Segments {
            values,
            start,
            grouped,
        }
    }

    /// Node `k`'s segment values, sorted.
    fn sorted(&mut self, k: usize) -> &[V] {
        let segment = &mut self.grouped[self.start[k]..self.start[k + 1]];
        segment.sort_unstable_by_key(|v| v.order_key());
        segment
    }
}

/// At most `limit` points of a monotone curve: the first, the last, and evenly spaced ones
/// between (exact points of the curve, not interpolations).
fn thin(curve: Vec<(f64, f64)>, limit: usize) -> Vec<(f64, f64)> {
    let m = curve.len();
    if m <= limit {
        return curve;
    }
    (0..limit)
        .map(|i| curve[i * (m - 1) / (limit - 1)])
        .collect()
}
