//! The topological landscape profile: the geometry of the basins of a merge tree.
//!
//! Every node of a (possibly simplified) join tree is drawn as one basin. Its **size** is the
//! number of vertices in its subtree: its own segment and all segments below it. Its **width at
//! level y** is the number of those vertices with value at most y, so a leaf basin narrows to its
//! minimum (width 1), a saddle has a flat floor as wide as its children together (plus the
//! saddle itself), and the root spans all N vertices at the maximum. A node is drawn from its own
//! value up to its parent's value; below its own value its children take over. Within that band
//! only the node's own segment adds width, so the width steps up by one at each vertex of the
//! segment: the polygons of all basins together have O(N) corners.
//!
//! **Layout**: the root occupies x in [0, N]; the children of a node sit side by side under it,
//! largest first (ties by node id), as one block centred in the parent's interval, each in an
//! interval exactly as wide as its size; a basin is centred in its interval. The roots of a
//! forest (a disconnected graph) sit side by side in [0, N], largest first.
//!
//! **Readability**: a landscape with 10^5 tiny basins would draw 10^5 slivers. Basins smaller
//! than [`ProfileOptions::min_size_fraction`] of N (default 1/2000, under one pixel of a
//! 2000-pixel-wide figure) are hidden with everything below them, and their count is reported;
//! their vertices still count in their ancestors' widths. Simplifying the tree first
//! ([`MergeTree::simplify`]) removes shallow basins instead of small ones. Each polygon keeps at
//! most [`ProfileOptions::max_points_per_side`] corners of the width curve per side, taken
//! exactly from it (evenly spaced in width, the first and last included), plus the top corner.
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
    /// The most corners of the width curve kept on each side of a polygon (at least 2).
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

/// One basin of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Basin {
    /// The tree node the basin is drawn for.
    pub node: NodeId,
    /// Its parent's node, `None` for a root.
    pub parent: Option<NodeId>,
    pub kind: NodeKind,
    /// The number of vertices in the node's subtree.
    pub size: u64,
    /// The interval `[left, right]` of width `size` the basin is centred in.
    pub x: [f64; 2],
    /// The node's value: the bottom of the drawn band.
    pub bottom: f64,
    /// The parent's value (the node's own for a root): the top of the drawn band.
    pub top: f64,
    /// The mean value of the node's own segment (the vertices the band adds); finite values
    /// only, NaN if it has none.
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
    /// The drawn basins, in node order.
    pub basins: Vec<Basin>,
    /// How many basins were too small to draw.
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

    // Intervals, top down: parents have larger ids than their children.
    let mut left = vec![0.0f64; count];
    let mut roots: Vec<NodeId> = tree.roots().collect();
    by_size(&mut roots);
    let mut x = 0.0;
    for &r in &roots {
        left[r as usize] = x;
        x += size[r as usize] as f64;
    }
    for id in (0..count).rev() {
        let kids = &children[child_start[id]..child_start[id + 1]];
        let total: u64 = kids.iter().map(|&c| size[c as usize]).sum();
        let mut x = left[id] + (size[id] - total) as f64 / 2.0;
        for &c in kids {
            left[c as usize] = x;
            x += size[c as usize] as f64;
        }
    }

    // Hidden basins: too small, or below a hidden one (ancestors first, by descending id).
    let min_size = fraction * n as f64;
    let mut hidden = vec![false; count];
    for id in (0..count).rev() {
        let parent_hidden = nodes[id].parent.is_some_and(|p| hidden[p as usize]);
        hidden[id] = nodes[id].parent.is_some() && (parent_hidden || (size[id] as f64) < min_size);
    }

    // The values of every drawn node's segment, sorted by the total order.
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

    let mut basins = Vec::with_capacity(count);
    for (id, node) in nodes.iter().enumerate() {
        if hidden[id] {
            continue;
        }
        let segment = &mut segment_values[segment_start[id]..segment_start[id + 1]];
        segment.sort_unstable_by_key(|v| v.order_key());
        let finite: Vec<f64> = segment
            .iter()
            .map(|v| v.to_f64())
            .filter(|v| v.is_finite())
            .collect();
        let mean_value = if finite.is_empty() {
            f64::NAN
        } else {
            finite.iter().sum::<f64>() / finite.len() as f64
        };
        let bottom = node.value;
        let top = node.parent.map_or(bottom, |p| nodes[p as usize].value);
        let base = size[id] - segment.len() as u64;
        let centre = left[id] + size[id] as f64 / 2.0;
        // Corners of the width curve: after the k-th segment vertex (k = 1..=m) the width is
        // base + k at that vertex's value; keep at most max_points_per_side of them.
        let m = segment.len();
        let keep = options.max_points_per_side.min(m);
        let mut side: Vec<(f64, f64)> = (0..keep)
            .map(|i| {
                let k = if keep == 1 {
                    0
                } else {
                    i * (m - 1) / (keep - 1)
                };
                ((base + k as u64 + 1) as f64, drawable(segment[k].to_f64()))
            })
            .collect();
        let (top, last) = (
            drawable(top),
            side.last().map_or(f64::NEG_INFINITY, |s| s.1),
        );
        if top > last {
            side.push((size[id] as f64, top));
        }
        let mut polygon: Vec<[f64; 2]> = side.iter().map(|&(w, y)| [centre - w / 2.0, y]).collect();
        polygon.extend(side.iter().rev().map(|&(w, y)| [centre + w / 2.0, y]));
        basins.push(Basin {
            node: id as NodeId,
            parent: node.parent,
            kind: node.kind,
            size: size[id],
            x: [left[id], left[id] + size[id] as f64],
            bottom: drawable(bottom),
            top,
            mean_value,
            polygon,
        });
    }
    Ok(Profile {
        vertex_count: n,
        basins,
        hidden_basins: hidden.iter().filter(|&&h| h).count(),
        value_range: (low, high),
    })
}
