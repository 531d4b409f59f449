//! The union-find sweep that builds an augmented merge tree from a vertex order.
//!
//! Vertices are added in order. A vertex with no earlier neighbour starts a component (a leaf:
//! a minimum of the join tree); one whose earlier neighbours lie in one component joins it; one
//! that touches several components merges them (a saddle), and by the elder rule every merged
//! component except the one with the oldest leaf dies there. The last vertex of each connected
//! component becomes the root of its tree. Per vertex the sweep keeps 8 bytes of union-find data
//! (the parent, and at set roots the component's current node) and writes its 4-byte segment
//! label. The union-find entries of the neighbours of the vertex a few steps ahead in the order
//! are prefetched, so the cache misses of the random accesses overlap instead of queueing.

use crate::Neighbourhood;

/// Marks "no vertex / no node".
pub(crate) const NONE: u32 = u32::MAX;

/// The structural kind of a node, before values are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    Leaf,
    Saddle,
    Root,
}

/// A node as the sweep builds it; ids are creation order, so a node's id is larger than its
/// children's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawNode {
    pub vertex: u32,
    pub kind: RawKind,
    /// Parent node, or [`NONE`] for a root.
    pub parent: u32,
    /// The leaf whose branch (by the elder rule) passes through this node.
    pub branch: u32,
    /// For a leaf: the node where its branch ends, or [`NONE`] if it never dies.
    pub death: u32,
    pub child_count: u32,
}

/// The sweep's result: nodes and the node of every vertex's segment.
pub(crate) struct SweepResult {
    pub nodes: Vec<RawNode>,
    pub segmentation: Vec<u32>,
}

/// The union-find root of `x`, halving the path on the way.
#[inline]
pub(crate) fn find(parent: &mut [u32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize];
        let grandparent = parent[p as usize];
        if grandparent == p {
            return p; // also when x is the root itself (then p == x)
        }
        parent[x as usize] = grandparent; // path halving; never a write when nothing changes
        x = grandparent;
    }
}

/// Makes `v`, the last vertex of a component whose top node so far is `current`, the
/// component's root: that node itself if it is `v`'s (a merging saddle, or a lone vertex), else a
/// new node above it, whose id is returned.
pub(crate) fn add_root(nodes: &mut Vec<RawNode>, current: u32, v: u32) -> Option<u32> {
    let id = nodes.len() as u32;
    let top = &mut nodes[current as usize];
    if top.vertex == v {
        top.kind = RawKind::Root;
        return None;
    }
    let branch = top.branch;
    top.parent = id;
    nodes.push(RawNode {
        vertex: v,
        kind: RawKind::Root,
        parent: NONE,
        branch,
        death: NONE,
        child_count: 1,
    });
    Some(id)
}

/// How many vertices ahead of the sweep the union-find entries of neighbours are prefetched.
pub(crate) const LOOKAHEAD: usize = 12;

/// How often (in vertices) the sweep reports its progress.
const PROGRESS_INTERVAL: usize = 1 << 18;

/// Adds a leaf for `v` at `position`; its id.
#[inline]
fn leaf(nodes: &mut Vec<RawNode>, positions: &mut Vec<u32>, v: u32, position: usize) -> u32 {
    let id = nodes.len() as u32;
    nodes.push(RawNode {
        vertex: v,
        kind: RawKind::Leaf,
        parent: NONE,
        branch: id,
        death: NONE,
        child_count: 0,
    });
    positions.push(position as u32);
    id
}

/// `v` at `position` merges the components whose union-find roots are `components`: a saddle,
/// where every component but the one with the oldest leaf dies. Returns the saddle and the
/// surviving root.
#[inline]
fn merge(
    nodes: &mut Vec<RawNode>,
    positions: &mut Vec<u32>,
    current_node: &[u32],
    parent: &mut [u32],
    v: u32,
    position: usize,
    components: &[u32],
) -> (u32, u32) {
    let saddle = nodes.len() as u32;
    let elder = *components
        .iter()
        .min_by_key(|&&root| {
            let branch = nodes[current_node[root as usize] as usize].branch;
            positions[branch as usize]
        })
        .expect("at least two components");
    for &root in components {
        let child = current_node[root as usize] as usize;
        nodes[child].parent = saddle;
        if root != elder {
            let dying = nodes[child].branch as usize;
            nodes[dying].death = saddle;
            parent[root as usize] = elder;
        }
    }
    let branch = nodes[current_node[elder as usize] as usize].branch;
    nodes.push(RawNode {
        vertex: v,
        kind: RawKind::Saddle,
        parent: NONE,
        branch,
        death: NONE,
        child_count: components.len() as u32,
    });
    positions.push(position as u32);
    (saddle, elder)
}

/// The last vertex of each connected component is its root. Walks the order backwards until
/// `open` components have been given one (a grid has exactly one).
fn add_roots(
    order: &[u32],
    open: usize,
    (parent, current_node): (&mut [u32], &mut [u32]),
    nodes: &mut Vec<RawNode>,
    segmentation: &mut [u32],
) {
    const DONE: u32 = NONE - 1;
    let mut rooted = 0;
    for &v in order.iter().rev() {
        if rooted == open {
            break;
        }
        let root = find(parent, v);
        let current = current_node[root as usize];
        if current == DONE {
            continue;
        }
        if let Some(id) = add_root(nodes, current, v) {
            segmentation[v as usize] = id;
        }
        current_node[root as usize] = DONE;
        rooted += 1;
    }
}

/// Builds the merge tree of the vertices taken in `order` (every vertex exactly once), calling
/// `progress` with the number of vertices swept every [`PROGRESS_INTERVAL`] vertices and at the
/// end.
pub(crate) fn sweep<N: Neighbourhood>(
    order: &[u32],
    domain: &N,
    progress: &mut dyn FnMut(usize),
) -> SweepResult {
    let n = order.len();
    // Union-find parent of every reached vertex, NONE before. Kept alone in its array so the
    // random accesses of the sweep touch 4 bytes per vertex.
    let mut parent = vec![NONE; n];
    // At a union-find root: the component's current node (the lower end of the arc it grows).
    // Only roots' entries are read, so this array stays mostly out of the cache's way.
    let mut current_node = vec![NONE; n];
    let mut segmentation = vec![NONE; n];
    let mut nodes: Vec<RawNode> = Vec::new();
    // The position in the order of every node created in the loop; a leaf's decides the elder
    // rule.
    let mut positions: Vec<u32> = Vec::new();
    let mut components = Vec::with_capacity(domain.max_degree());
    let mut neighbours = Vec::with_capacity(domain.max_degree());
    let mut open_components = 0usize;
    for (position, &v) in order.iter().enumerate() {
        if position % PROGRESS_INTERVAL == 0 {
            progress(position);
        }
        if let Some(&ahead) = order.get(position + LOOKAHEAD) {
            domain.prefetch_neighbours(ahead, &parent);
            crate::prefetch(&segmentation, ahead as usize);
        }
        components.clear();
        neighbours.clear();
        domain.neighbours(v, &mut neighbours);
        // Keep the neighbours reached already, without a branch on that coin flip: each is
        // written, and the count only advances past the reached ones.
        let mut reached = 0;
        for i in 0..neighbours.len() {
            let u = neighbours[i];
            neighbours[reached] = u;
            reached += usize::from(parent[u as usize] != NONE);
        }
        let mut last = NONE;
        for &u in &neighbours[..reached] {
            let root = find(&mut parent, u);
            if root != last && !components.contains(&root) {
                components.push(root);
            }
            last = root;
        }
        match components.len() {
            0 => {
                let id = leaf(&mut nodes, &mut positions, v, position);
                parent[v as usize] = v;
                current_node[v as usize] = id;
                segmentation[v as usize] = id;
                open_components += 1;
            }
            1 => {
                let root = components[0];
                parent[v as usize] = root;
                segmentation[v as usize] = current_node[root as usize];
            }
            merged => {
                let found = (&mut nodes, &mut positions);
                let (saddle, elder) = merge(
                    found.0,
                    found.1,
                    &current_node,
                    &mut parent,
                    v,
                    position,
                    &components,
                );
                current_node[elder as usize] = saddle;
                parent[v as usize] = elder;
                segmentation[v as usize] = saddle;
                open_components -= merged - 1;
            }
        }
    }
    progress(n);
    let arrays = (&mut parent[..], &mut current_node[..]);
    add_roots(
        order,
        open_components,
        arrays,
        &mut nodes,
        &mut segmentation,
    );
    SweepResult {
        nodes,
        segmentation,
    }
}
