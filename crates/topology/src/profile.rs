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
    if values.len() != tree.vertex_count() {
        return Err(TopologyError::LengthMismatch {
            values: values.len(),
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
    let nodes = tree.nodes();
    let count = nodes.len();
    let n = tree.vertex_count() as u64;
    let (low, high) = tree.finite_range().unwrap_or((0.0, 0.0));
    let drawable = |v: f64| {
        if v.is_finite() {
            v
        } else if v == f64::NEG_INFINITY {
            low
        } else {
            high
        }
    };

    let size = tree.subtree_sizes();

    // Children of every node, largest first, in one flat array (CSR).
    let mut child_start = vec![0usize; count + 1];
    for node in nodes {
        if let Some(p) = node.parent {
            child_start[p as usize + 1] += 1;
        }
    }
    for i in 0..count {
        child_start[i + 1] += child_start[i];
    }
    let mut children = vec![NONE; child_start[count]];
    let mut fill = child_start.clone();
    for (id, node) in nodes.iter().enumerate() {
        if let Some(p) = node.parent {
            children[fill[p as usize]] = id as NodeId;
            fill[p as usize] += 1;
        }
    }
    let by_size =
        |list: &mut [NodeId]| list.sort_by_key(|&c| (std::cmp::Reverse(size[c as usize]), c));
    for i in 0..count {
        by_size(&mut children[child_start[i]..child_start[i + 1]]);
    }

    // Hidden basins: too small, or below a hidden one (ancestors first, by descending id).
    let min_size = fraction * n as f64;
    let mut hidden = vec![false; count];
    for id in (0..count).rev() {
        let parent_hidden = nodes[id].parent.is_some_and(|p| hidden[p as usize]);
        hidden[id] = nodes[id].parent.is_some() && (parent_hidden || (size[id] as f64) < min_size);
    }
    let visible_children = |id: usize| {
        children[child_start[id]..child_start[id + 1]]
            .iter()
            .copied()
            .filter(|&c| !hidden[c as usize])
    };
    // A node with exactly one visible child continues that child's basin upwards: drawn as one.
    let continues = |id: usize| visible_children(id).count() == 1;

    // Intervals, top down (parents have larger ids than their children): the visible children
    // of a node as one block centred in its interval, largest first.
    let mut left = vec![0.0f64; count];
    let mut roots: Vec<NodeId> = tree.roots().collect();
    by_size(&mut roots);
    let mut x = 0.0;
    for &r in &roots {
        left[r as usize] = x;
        x += size[r as usize] as f64;
    }
    for id in (0..count).rev() {
        if hidden[id] {
            continue;
        }
        let total: u64 = visible_children(id).map(|c| size[c as usize]).sum();
        let mut x = left[id] + (size[id] - total) as f64 / 2.0;
        for c in visible_children(id) {
            left[c as usize] = x;
            x += size[c as usize] as f64;
        }
    }

    // The values of every node's segment, grouped by node (a counting sort).
    let mut segment_start = vec![0usize; count + 1];
    for &s in tree.segmentation() {
        segment_start[s as usize + 1] += 1;
    }
    for i in 0..count {
        segment_start[i + 1] += segment_start[i];
    }
    let mut segment_values: Vec<V> = vec![values[0]; n as usize];
    let mut fill = segment_start.clone();
    for (v, &s) in tree.segmentation().iter().enumerate() {
        segment_values[fill[s as usize]] = values[v];
        fill[s as usize] += 1;
    }

    // Each drawn basin is a chain: from a bottom node (a leaf, or a node where two or more
    // visible basins meet) up through the nodes that continue it, to a top node whose parent
    // does not continue it. The bottom node of every visible node's chain, bottom up:
    let mut chain_bottom = vec![NONE; count];
    for id in 0..count {
        if !hidden[id] {
            chain_bottom[id] = if continues(id) {
                let child = visible_children(id).next().expect("one visible child");
                chain_bottom[child as usize]
            } else {
                id as NodeId
            };
        }
    }
    let is_top = |id: usize| nodes[id].parent.is_none_or(|p| !continues(p as usize));

    let mut basins = Vec::new();
    for top_id in (0..count).filter(|&id| !hidden[id] && is_top(id)) {
        let bottom_id = chain_bottom[top_id] as usize;
        // The chain's nodes, bottom up.
        let mut chain = vec![top_id];
        while *chain.last().expect("non-empty") != bottom_id {
            let k = *chain.last().expect("non-empty");
            chain.push(visible_children(k).next().expect("a continued child") as usize);
        }
        chain.reverse();
        // The width curve: inside node k's band (from its value to its parent's) the width is
        // the size of k's subtree below its own segment plus the segment vertices reached.
        let mut curve: Vec<(f64, f64)> = Vec::new();
        let (mut sum, mut finite) = (0.0, 0usize);
        for &k in &chain {
            let segment = &mut segment_values[segment_start[k]..segment_start[k + 1]];
            segment.sort_unstable_by_key(|v| v.order_key());
            let base = size[k] - segment.len() as u64;
            // In a simplified tree a segment also holds removed basins, which lie below the
            // node; they count from the node's level up, as if filled to it (which is what the
            // simplified tree describes).
            let floor = values[nodes[k].vertex as usize];
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
                curve.push(((base + j as u64 + 1) as f64, drawable(level.to_f64())));
            }
            if let Some(p) = nodes[k].parent {
                let level = drawable(nodes[p as usize].value);
                if curve.last().is_some_and(|&(_, y)| level > y) {
                    curve.push((size[k] as f64, level));
                }
            }
        }
        let curve = thin(curve, options.max_points_per_side);
        let centre = left[top_id] + size[top_id] as f64 / 2.0;
        let mut polygon: Vec<[f64; 2]> =
            curve.iter().map(|&(w, y)| [centre - w / 2.0, y]).collect();
        polygon.extend(curve.iter().rev().map(|&(w, y)| [centre + w / 2.0, y]));
        let bottom = &nodes[bottom_id];
        let top = &nodes[top_id];
        basins.push(Basin {
            node: bottom_id as NodeId,
            top_node: top_id as NodeId,
            parent: top.parent.map(|p| chain_bottom[p as usize]),
            kind: bottom.kind,
            size: size[top_id],
            x: [left[top_id], left[top_id] + size[top_id] as f64],
            bottom: drawable(bottom.value),
            top: drawable(top.parent.map_or(top.value, |p| nodes[p as usize].value)),
            mean_value: if finite == 0 {
                f64::NAN
            } else {
                sum / finite as f64
            },
            polygon,
        });
    }
    basins.sort_by_key(|b| b.node);
    Ok(Profile {
        vertex_count: n,
        basins,
        hidden_basins: hidden.iter().filter(|&&h| h).count(),
        value_range: (low, high),
    })
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
