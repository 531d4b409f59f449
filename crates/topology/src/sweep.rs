//! The union-find sweep that builds an augmented merge tree from a vertex order.
//!
//! Vertices are added in order. A vertex with no earlier neighbour starts a component (a leaf:
//! a minimum of the join tree); one whose earlier neighbours lie in one component joins it; one
//! that touches several components merges them (a saddle), and by the elder rule every merged
//! component except the one with the oldest leaf dies there. The last vertex of each connected
//! component becomes the root of its tree. Per vertex the sweep keeps 8 bytes of union-find data
//! (parent and, at set roots, the component's current node, side by side for cache locality)
//! and writes its 4-byte segment label.

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
#[derive(Debug, Clone, Copy)]
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

#[derive(Clone, Copy)]
#[repr(C)]
struct Cell {
    /// Union-find parent, or [`NONE`] while the vertex has not been reached.
    parent: u32,
    /// At a set root: the component's current node (the lower end of the arc it grows).
    node: u32,
}

#[inline]
fn find(cells: &mut [Cell], mut x: u32) -> u32 {
    loop {
        let parent = cells[x as usize].parent;
        if parent == x {
            return x;
        }
        let grandparent = cells[parent as usize].parent;
        cells[x as usize].parent = grandparent; // path halving
        x = grandparent;
    }
}

/// Builds the merge tree of the vertices taken in `order` (every vertex exactly once).
pub(crate) fn sweep<N: Neighbourhood>(order: &[u32], domain: &N) -> SweepResult {
    let n = order.len();
    let mut cells = vec![
        Cell {
            parent: NONE,
            node: NONE,
        };
        n
    ];
    let mut segmentation = vec![NONE; n];
    let mut nodes: Vec<RawNode> = Vec::new();
    // The sweep position at which each leaf was born, for the elder rule.
    let mut leaf_position: Vec<u32> = Vec::new();
    let mut components = Vec::with_capacity(domain.max_degree());
    let mut open_components = 0usize;

    for (position, &v) in order.iter().enumerate() {
        components.clear();
        let mut last = NONE;
        domain.for_each_neighbour(v, |u| {
            if cells[u as usize].parent == NONE {
                return; // not reached yet
            }
            let root = find(&mut cells, u);
            if root != last && !components.contains(&root) {
                components.push(root);
            }
            last = root;
        });
        match components.len() {
            0 => {
                let id = nodes.len() as u32;
                nodes.push(RawNode {
                    vertex: v,
                    kind: RawKind::Leaf,
                    parent: NONE,
                    branch: id,
                    death: NONE,
                    child_count: 0,
                });
                leaf_position.resize(nodes.len(), NONE);
                leaf_position[id as usize] = position as u32;
                cells[v as usize] = Cell {
                    parent: v,
                    node: id,
                };
                segmentation[v as usize] = id;
                open_components += 1;
            }
            1 => {
                let root = components[0];
                cells[v as usize].parent = root;
                segmentation[v as usize] = cells[root as usize].node;
            }
            merged => {
                let saddle = nodes.len() as u32;
                let elder = *components
                    .iter()
                    .min_by_key(|&&root| {
                        let branch = nodes[cells[root as usize].node as usize].branch;
                        leaf_position[branch as usize]
                    })
                    .expect("at least two components");
                for &root in &components {
                    let child = cells[root as usize].node as usize;
                    nodes[child].parent = saddle;
                    if root != elder {
                        let dying = nodes[child].branch as usize;
                        nodes[dying].death = saddle;
                        cells[root as usize].parent = elder;
                    }
                }
                let branch = nodes[cells[elder as usize].node as usize].branch;
                nodes.push(RawNode {
                    vertex: v,
                    kind: RawKind::Saddle,
                    parent: NONE,
                    branch,
                    death: NONE,
                    child_count: merged as u32,
                });
                cells[elder as usize].node = saddle;
                cells[v as usize].parent = elder;
                segmentation[v as usize] = saddle;
                open_components -= merged - 1;
            }
        }
    }

    // The last vertex of each connected component is its root. Walk the order backwards until
    // every component has been given one (a grid has exactly one).
    const DONE: u32 = NONE - 1;
    let mut rooted = 0;
    for &v in order.iter().rev() {
        if rooted == open_components {
            break;
        }
        let root = find(&mut cells, v);
        let current = cells[root as usize].node;
        if current == DONE {
            continue;
        }
        if nodes[current as usize].vertex == v {
            // The top vertex is itself a node: a merging saddle, or a lone vertex.
            nodes[current as usize].kind = RawKind::Root;
        } else {
            let id = nodes.len() as u32;
            let branch = nodes[current as usize].branch;
            nodes.push(RawNode {
                vertex: v,
                kind: RawKind::Root,
                parent: NONE,
                branch,
                death: NONE,
                child_count: 1,
            });
            nodes[current as usize].parent = id;
            segmentation[v as usize] = id;
        }
        cells[root as usize].node = DONE;
        rooted += 1;
    }
    SweepResult {
        nodes,
        segmentation,
    }
}
