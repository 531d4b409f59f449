//! Diagram distances for large diagrams, without the n^2 cost matrix: the 1-Wasserstein distance
//! by an auction with a certified relative error, and the exact bottleneck distance by
//! geometric Hopcroft-Karp matchings, both over a k-d tree of one diagram's points (after
//! Kerber, Morozov and Nigmetov, "Geometry helps to compare persistence diagrams", 2017, the
//! method of Hera).
//!
//! Matching to the diagonal: a point may go to the diagonal at its diagonal distance
//! `(d - b) / 2`. For the Wasserstein distance, with A the larger diagram, that is an assignment
//! of A's points to B's points and |A| - |B| interchangeable diagonal slots, at costs
//! `c(a, b) = min(|a - b|_inf, diag(a) + diag(b))` (a pair sent to the diagonal together instead
//! of matched) and `c(a, slot) = diag(a)`: an optimal assignment of it is an optimal matching
//! with the diagonal, at the same cost, with no pool of diagonal copies for bidders to fight
//! over. The bottleneck distance's threshold graphs are decided directly (see [`Matcher`]).

use std::collections::BTreeSet;

/// Diagram points are `(birth, death)`.
type Point = (f64, f64);

fn linf(p: Point, q: Point) -> f64 {
    (p.0 - q.0).abs().max((p.1 - q.1).abs())
}

fn to_diagonal(p: Point) -> f64 {
    (p.1 - p.0).abs() / 2.0
}

/// A total order on `f64` for ordered sets (no NaN reaches it).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(f64);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A depth-first stack of node ids on the call's own stack frame: a tree over fewer than 2^32
/// points is at most 32 levels deep below its leaves' size, and each level leaves at most one
/// sibling behind.
struct Stack {
    items: [u32; 72],
    len: usize,
}

impl Stack {
    fn new() -> Self {
        Self {
            items: [0; 72],
            len: 1,
        }
    }

    fn push(&mut self, k: usize) {
        self.items[self.len] = k as u32;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<usize> {
        (self.len > 0).then(|| {
            self.len -= 1;
            self.items[self.len] as usize
        })
    }
}

/// How many points a k-d tree leaf holds at most.
const LEAF: usize = 8;

/// A static 2-D k-d tree over points with a weight per point that can change: queries look for
/// the points with the smallest `|q - p|_inf + weight(p)`.
struct KdTree {
    /// The points in tree order, and the original id of each.
    points: Vec<Point>,
    ids: Vec<u32>,
    /// Tree position of every original id.
    position: Vec<u32>,
    weight: Vec<f64>,
    nodes: Vec<KdNode>,
    /// The leaf of every tree position.
    leaf_of: Vec<u32>,
}

struct KdNode {
    start: u32,
    end: u32,
    /// Children, or `u32::MAX` at a leaf.
    left: u32,
    right: u32,
    parent: u32,
    low: Point,
    high: Point,
    min_weight: f64,
}

impl KdTree {
    fn new(points: &[Point]) -> Self {
        let n = points.len();
        let mut ids: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::new();
        if n > 0 {
            build(points, &mut ids, 0, n, 0, u32::MAX, &mut nodes);
        }
        let ordered: Vec<Point> = ids.iter().map(|&i| points[i as usize]).collect();
        let mut position = vec![0u32; n];
        for (p, &id) in ids.iter().enumerate() {
            position[id as usize] = p as u32;
        }
        let mut leaf_of = vec![0u32; n];
        for (k, node) in nodes.iter().enumerate() {
            if node.left == u32::MAX {
                for p in node.start..node.end {
                    leaf_of[p as usize] = k as u32;
                }
            }
        }
        let mut tree = Self {
            points: ordered,
            ids,
            position,
            weight: vec![0.0; n],
            nodes,
            leaf_of,
        };
        for k in (0..tree.nodes.len()).rev() {
            tree.refresh(k);
        }
        tree
    }

    fn refresh(&mut self, k: usize) {
        let node = &self.nodes[k];
        let min = if node.left == u32::MAX {
            self.weight[node.start as usize..node.end as usize]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        } else {
            self.nodes[node.left as usize]
                .min_weight
                .min(self.nodes[node.right as usize].min_weight)
        };
        self.nodes[k].min_weight = min;
    }

    fn set_weight(&mut self, id: u32, weight: f64) {
        let p = self.position[id as usize] as usize;
        self.weight[p] = weight;
        let mut k = self.leaf_of[p];
        loop {
            let before = self.nodes[k as usize].min_weight;
            self.refresh(k as usize);
            let parent = self.nodes[k as usize].parent;
            // Above a node whose minimum did not change nothing changes.
            if parent == u32::MAX || self.nodes[k as usize].min_weight.to_bits() == before.to_bits()
            {
                break;
            }
            k = parent;
        }
    }

    /// The L-inf distance from `q` to a node's bounding box.
    fn box_distance(&self, k: usize, q: Point) -> f64 {
        let node = &self.nodes[k];
        let gap = |x: f64, low: f64, high: f64| (low - x).max(x - high).max(0.0);
        gap(q.0, node.low.0, node.high.0).max(gap(q.1, node.low.1, node.high.1))
    }

    /// The two smallest `|q - p| + weight(p)` below `limit`, with their ids (`u32::MAX` and
    /// infinity where there are fewer).
    fn best_two(&self, q: Point, limit: f64) -> [(f64, u32); 2] {
        let (mut best, mut id, mut second, mut second_id) =
            (f64::INFINITY, u32::MAX, f64::INFINITY, u32::MAX);
        if self.nodes.is_empty() {
            return [(best, id), (second, second_id)];
        }
        let mut stack = Stack::new();
        while let Some(k) = stack.pop() {
            let node = &self.nodes[k];
            if self.box_distance(k, q) + node.min_weight >= second.min(limit) {
                continue;
            }
            if node.left == u32::MAX {
                for p in node.start as usize..node.end as usize {
                    let value = linf(q, self.points[p]) + self.weight[p];
                    if value < best {
                        (second, second_id) = (best, id);
                        best = value;
                        id = self.ids[p];
                    } else if value < second {
                        second = value;
                        second_id = self.ids[p];
                    }
                }
            } else {
                let (l, r) = (node.left as usize, node.right as usize);
                let bound = |c: usize| self.box_distance(c, q) + self.nodes[c].min_weight;
                // Visit the more promising child first: push it last.
                if bound(l) < bound(r) {
                    stack.push(r);
                    stack.push(l);
                } else {
                    stack.push(l);
                    stack.push(r);
                }
            }
        }
        [(best, id), (second, second_id)]
    }

    /// Some point with `|q - p| + weight(p) <= limit`.
    fn any_within(&self, q: Point, limit: f64) -> Option<u32> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut stack = Stack::new();
        while let Some(k) = stack.pop() {
            let node = &self.nodes[k];
            if self.box_distance(k, q) + node.min_weight > limit {
                continue;
            }
            if node.left == u32::MAX {
                for p in node.start as usize..node.end as usize {
                    if linf(q, self.points[p]) + self.weight[p] <= limit {
                        return Some(self.ids[p]);
                    }
                }
            } else {
                stack.push(node.right as usize);
                stack.push(node.left as usize);
            }
        }
        None
    }

    /// Calls `f` with the id of every point with `|q - p| <= limit` (weights ignored).
    fn for_each_within(&self, q: Point, limit: f64, f: &mut impl FnMut(u32, f64)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = Stack::new();
        while let Some(k) = stack.pop() {
            if self.box_distance(k, q) > limit {
                continue;
            }
            let node = &self.nodes[k];
            if node.left == u32::MAX {
                for p in node.start as usize..node.end as usize {
                    let d = linf(q, self.points[p]);
                    if d <= limit {
                        f(self.ids[p], d);
                    }
                }
            } else {
                stack.push(node.left as usize);
                stack.push(node.right as usize);
            }
        }
    }
}

/// Builds the subtree of `ids[start..end]`, splitting at the median of the wider axis; returns
/// its node id.
fn build(
    points: &[Point],
    ids: &mut [u32],
    start: usize,
    end: usize,
    depth: usize,
    parent: u32,
    nodes: &mut Vec<KdNode>,
) -> u32 {
    let slice = &ids[start..end];
    let mut low = (f64::INFINITY, f64::INFINITY);
    let mut high = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &i in slice {
        let p = points[i as usize];
        low = (low.0.min(p.0), low.1.min(p.1));
        high = (high.0.max(p.0), high.1.max(p.1));
    }
    let k = nodes.len() as u32;
    nodes.push(KdNode {
        start: start as u32,
        end: end as u32,
        left: u32::MAX,
        right: u32::MAX,
        parent,
        low,
        high,
        min_weight: 0.0,
    });
    if end - start > LEAF {
        let by_death =
            high.1 - low.1 > high.0 - low.0 || (high.1 - low.1 == high.0 - low.0 && depth % 2 == 1);
        let middle = (end - start) / 2;
        let coordinate = |i: &u32| {
            let p = points[*i as usize];
            if by_death { p.1 } else { p.0 }
        };
        ids[start..end]
            .select_nth_unstable_by(middle, |a, b| coordinate(a).total_cmp(&coordinate(b)));
        let left = build(points, ids, start, start + middle, depth + 1, k, nodes);
        let right = build(points, ids, start + middle, end, depth + 1, k, nodes);
        nodes[k as usize].left = left;
        nodes[k as usize].right = right;
    }
    k
}

/// The result of [`wasserstein_auction`]: the cost of the matching found, a lower bound on the
/// optimum from the auction's prices (linear-programming duality), and so a measured bound on
/// the relative error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WassersteinEstimate {
    /// The cost of a matching: an upper bound on the distance.
    pub value: f64,
    /// A lower bound on the distance.
    pub lower_bound: f64,
    /// `(value - lower_bound) / lower_bound` (0 when both are 0): the distance lies within this
    /// fraction below `value`.
    pub relative_error: f64,
}

/// The 1-Wasserstein distance between the finite points of two diagrams to within a relative
/// error `delta` (the estimate's `relative_error` is at most `delta`, unless the bids reached
/// the resolution of `f64` first), by Bertsekas' auction with epsilon scaling.
pub fn wasserstein_auction(a: &[Point], b: &[Point], delta: f64) -> WassersteinEstimate {
    // A is the larger diagram: its points bid for B's points and the diagonal slots.
    let (a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    if a.is_empty() {
        return WassersteinEstimate {
            value: 0.0,
            lower_bound: 0.0,
            relative_error: 0.0,
        };
    }
    let mut auction = Auction::new(a, b);
    let max_cost = a
        .iter()
        .chain(b)
        .map(|&p| to_diagonal(p))
        .fold(0.0, f64::max)
        .max(1e-300);
    let mut epsilon = max_cost / 4.0;
    loop {
        let assigned = auction.round(epsilon);
        let estimate = auction.estimate(&assigned);
        if estimate.relative_error <= delta || epsilon < max_cost * 1e-15 {
            return estimate;
        }
        epsilon /= 5.0;
    }
}

/// An auction of B's points and `|A| - |B|` diagonal slots (objects `0..nb` and `nb..na`)
/// among A's points, with the prices it has reached.
struct Auction<'p> {
    a: &'p [Point],
    b: &'p [Point],
    /// B's points by position, weighted by their prices.
    tree: KdTree,
    price: Vec<f64>,
    /// B's points by diagonal distance plus price (what sending a pair to the diagonal costs
    /// beyond the bidder's own diagonal distance), and the slots by price.
    paired: BTreeSet<(Key, u32)>,
    pool: BTreeSet<(Key, u32)>,
}

impl<'p> Auction<'p> {
    fn new(a: &'p [Point], b: &'p [Point]) -> Self {
        let (na, nb) = (a.len(), b.len());
        Auction {
            a,
            b,
            tree: KdTree::new(b),
            price: vec![0.0f64; na],
            paired: (0..nb as u32)
                .map(|j| (Key(to_diagonal(b[j as usize])), j))
                .collect(),
            pool: (0..(na - nb) as u32)
                .map(|k| (Key(0.0), nb as u32 + k))
                .collect(),
        }
    }

    /// What matching A's point `i` to object `j` costs.
    fn cost(&self, i: usize, j: usize) -> f64 {
        let own = to_diagonal(self.a[i]);
        if j < self.b.len() {
            linf(self.a[i], self.b[j]).min(own + to_diagonal(self.b[j]))
        } else {
            own
        }
    }

    /// The two cheapest objects for bidder i at the current prices, as (cost + price, object).
    fn best_two(&self, i: usize) -> [(f64, u32); 2] {
        let own = to_diagonal(self.a[i]);
        let mut top = TopTwo::default();
        // The diagonal options first: the second of them bounds the tree's search, since
        // below it an object can be among the best two only through its distance.
        for &(k, j) in self.paired.iter().take(2).chain(self.pool.iter().take(2)) {
            top.offer(own + k.0, j);
        }
        for (value, j) in self.tree.best_two(self.a[i], top.0[1].0) {
            top.offer(value, j);
        }
        top.0
    }

    /// Raises object `o`'s price by `raise`, keeping the indices in order.
    fn raise(&mut self, o: usize, raise: f64) {
        let object = o as u32;
        let old = self.price[o];
        self.price[o] += raise;
        let new = self.price[o];
        if o < self.b.len() {
            self.tree.set_weight(object, new);
            let diagonal = to_diagonal(self.b[o]);
            self.paired.remove(&(Key(diagonal + old), object));
            self.paired.insert((Key(diagonal + new), object));
        } else {
            self.pool.remove(&(Key(old), object));
            self.pool.insert((Key(new), object));
        }
    }

    /// One round of bidding at `epsilon` until every bidder holds an object; the object of
    /// each bidder.
    fn round(&mut self, epsilon: f64) -> Vec<u32> {
        let na = self.a.len();
        let mut owner = vec![u32::MAX; na];
        let mut assigned = vec![u32::MAX; na];
        let mut unassigned: Vec<u32> = (0..na as u32).rev().collect();
        while let Some(bidder) = unassigned.pop() {
            let i = bidder as usize;
            let [(best, object), (second, _)] = self.best_two(i);
            let o = object as usize;
            let raise = if second.is_finite() {
                second - best
            } else {
                0.0
            } + epsilon;
            self.raise(o, raise);
            if owner[o] != u32::MAX {
                assigned[owner[o] as usize] = u32::MAX;
                unassigned.push(owner[o]);
            }
            owner[o] = bidder;
            assigned[i] = object;
        }
        assigned
    }

    /// The cost of an assignment, with the dual bound that certifies it: every bidder's
    /// cheapest object at these prices, less all prices.
    fn estimate(&self, assigned: &[u32]) -> WassersteinEstimate {
        let na = self.a.len();
        let value: f64 = (0..na).map(|i| self.cost(i, assigned[i] as usize)).sum();
        let lower: f64 =
            (0..na).map(|i| self.best_two(i)[0].0).sum::<f64>() - self.price.iter().sum::<f64>();
        let lower_bound = lower.max(0.0).min(value);
        let relative_error = if value == lower_bound {
            0.0
        } else if lower_bound > 0.0 {
            (value - lower_bound) / lower_bound
        } else {
            f64::INFINITY
        };
        WassersteinEstimate {
            value,
            lower_bound,
            relative_error,
        }
    }
}

/// The two smallest offers for distinct objects, as (value, object); an object offered twice
/// (its distance, and the diagonal) keeps the smaller value.
struct TopTwo([(f64, u32); 2]);

impl Default for TopTwo {
    fn default() -> Self {
        Self([(f64::INFINITY, u32::MAX); 2])
    }
}

impl TopTwo {
    fn offer(&mut self, value: f64, object: u32) {
        if object == u32::MAX {
            return;
        }
        let top = &mut self.0;
        if let Some(k) = top.iter().position(|t| t.1 == object) {
            top[k].0 = top[k].0.min(value);
        } else if value < top[1].0 {
            top[1] = (value, object);
        }
        if top[1].0 < top[0].0 {
            top.swap(0, 1);
        }
    }
}

/// The exact bottleneck distance between the finite points of two diagrams.
pub fn bottleneck_geometric(a: &[Point], b: &[Point]) -> f64 {
    let mut matcher = Matcher::new(a, b);
    // Sending everything to the diagonal is always possible.
    let mut high = a
        .iter()
        .chain(b)
        .map(|&p| to_diagonal(p))
        .fold(0.0, f64::max);
    let mut low = 0.0f64;
    if matcher.feasible(low) {
        return 0.0;
    }
    // Narrow (low, high] by bisection until few candidate values remain inside, then search
    // those: the distance is one of them (a pair's distance or a point's diagonal distance).
    let n = a.len() + b.len();
    loop {
        let mut candidates: Vec<f64> = a
            .iter()
            .chain(b)
            .map(|&p| to_diagonal(p))
            .filter(|&d| d > low && d <= high)
            .collect();
        let mut too_many = false;
        for &p in a {
            matcher.tree_b.for_each_within(p, high, &mut |_, d| {
                if d > low {
                    candidates.push(d);
                }
            });
            if candidates.len() > 8 * n + 64 {
                too_many = true;
                break;
            }
        }
        if !too_many {
            candidates.sort_by(f64::total_cmp);
            candidates.dedup();
            // The smallest feasible candidate; the last one (high, or the largest below it
            // where high itself is feasible) always is.
            let (mut lo, mut hi) = (0usize, candidates.len() - 1);
            if !candidates.contains(&high) {
                candidates.push(high);
                hi = candidates.len() - 1;
            }
            while lo < hi {
                let middle = (lo + hi) / 2;
                if matcher.feasible(candidates[middle]) {
                    hi = middle;
                } else {
                    lo = middle + 1;
                }
            }
            return candidates[lo];
        }
        let middle = 0.5 * (low + high);
        if middle <= low || middle >= high {
            return high;
        }
        if matcher.feasible(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
}

/// Decides whether two diagrams match within a threshold: by Mendelsohn and Dulmage's theorem,
/// exactly when the points of A too far from the diagonal can all be matched into B within it,
/// and those of B into A (each a Hopcroft-Karp matching over a k-d tree).
struct Matcher<'a> {
    a: &'a [Point],
    b: &'a [Point],
    tree_a: KdTree,
    tree_b: KdTree,
}

impl<'a> Matcher<'a> {
    fn new(a: &'a [Point], b: &'a [Point]) -> Self {
        Self {
            a,
            b,
            tree_a: KdTree::new(a),
            tree_b: KdTree::new(b),
        }
    }

    fn feasible(&mut self, t: f64) -> bool {
        saturates(self.a, self.b, &mut self.tree_b, t)
            && saturates(self.b, self.a, &mut self.tree_a, t)
    }
}

/// Whether every point of `left` farther than `t` from the diagonal can be matched to its own
/// point of `right` within `t` (`tree` is over `right`; its weights are 0 between calls).
///
/// Augmenting paths are found in phases: a breadth-first forest grows from every unmatched
/// hard point at once, each right point entering it once (taken out of the tree's queries by
/// an infinite weight); every tree of the forest that reaches an unmatched right point gives one
/// augmenting path, and paths of different trees are disjoint. A phase that finds none proves
/// the matching maximum.
fn saturates(left: &[Point], right: &[Point], tree: &mut KdTree, t: f64) -> bool {
    let hard: Vec<u32> = (0..left.len() as u32)
        .filter(|&i| to_diagonal(left[i as usize]) > t)
        .collect();
    if hard.len() > right.len() {
        return false;
    }
    let mut matching = Matching {
        left: vec![FREE; left.len()],
        right: vec![FREE; right.len()],
    };
    // Greedy start: each hard point takes a free neighbour if it finds one.
    let mut taken = Vec::new();
    for &i in &hard {
        if let Some(j) = tree.any_within(left[i as usize], t) {
            matching.pair(i, j);
            tree.set_weight(j, f64::INFINITY);
            taken.push(j);
        }
    }
    restore(tree, &mut taken);
    let mut forest = Forest {
        root: vec![FREE; left.len()],
        parent: vec![FREE; right.len()],
        done: vec![false; left.len()],
    };
    loop {
        let free: Vec<u32> = hard
            .iter()
            .copied()
            .filter(|&i| matching.left[i as usize] == FREE)
            .collect();
        if free.is_empty() {
            return true;
        }
        let ends = forest.grow(&free, (left, tree, t), &matching);
        if ends.is_empty() {
            return false;
        }
        for j in ends {
            matching.augment(j, &forest.parent);
        }
    }
}

/// Marks an unmatched point.
const FREE: u32 = u32::MAX;

/// Gives the points `taken` out of a tree's queries back to it.
fn restore(tree: &mut KdTree, taken: &mut Vec<u32>) {
    for j in taken.drain(..) {
        tree.set_weight(j, 0.0);
    }
}

/// A matching of left and right points: each one's mate, or [`FREE`].
struct Matching {
    left: Vec<u32>,
    right: Vec<u32>,
}

impl Matching {
    fn pair(&mut self, i: u32, j: u32) {
        self.left[i as usize] = j;
        self.right[j as usize] = i;
    }

    /// Flips the augmenting path that ends at the free right point `j`, following `parent`
    /// (the left point each right point was reached from) back to its free root.
    fn augment(&mut self, mut j: u32, parent: &[u32]) {
        loop {
            let i = parent[j as usize];
            let previous = self.left[i as usize];
            self.pair(i, j);
            if previous == FREE {
                break;
            }
            j = previous;
        }
    }
}

/// The breadth-first forest of one phase: each left point's root, each right point's parent
/// (the left point it was reached from), and whether a root's tree has found its path.
struct Forest {
    root: Vec<u32>,
    parent: Vec<u32>,
    done: Vec<bool>,
}

impl Forest {
    /// Grows a tree from every free left point at once; the free right points reached, one per
    /// tree.
    fn grow(
        &mut self,
        free: &[u32],
        (left, tree, t): (&[Point], &mut KdTree, f64),
        matching: &Matching,
    ) -> Vec<u32> {
        let mut queue = std::collections::VecDeque::new();
        for &i in free {
            self.root[i as usize] = i;
            self.done[i as usize] = false;
            queue.push_back(i);
        }
        let mut ends = Vec::new();
        let mut taken = Vec::new();
        while let Some(i) = queue.pop_front() {
            let r = self.root[i as usize] as usize;
            if self.done[r] {
                continue;
            }
            while let Some(j) = tree.any_within(left[i as usize], t) {
                tree.set_weight(j, f64::INFINITY);
                taken.push(j);
                self.parent[j as usize] = i;
                match matching.right[j as usize] {
                    FREE => {
                        ends.push(j);
                        self.done[r] = true;
                        break;
                    }
                    k => {
                        self.root[k as usize] = r as u32;
                        queue.push_back(k);
                    }
                }
            }
        }
        restore(tree, &mut taken);
        ends
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Diagram, bottleneck_distance_by_matrix, wasserstein_distance};

    fn random_diagrams(seed: u64, count: usize, rounds: usize) -> Vec<(Vec<Point>, Vec<Point>)> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..rounds)
            .map(|round| {
                let na = (next() as usize) % (count + 1);
                let nb = (next() as usize) % (count + 1);
                let mut make = |n: usize| -> Vec<Point> {
                    (0..n)
                        .map(|_| {
                            // Coarse values on even rounds (ties, repeated points), fine on odd.
                            let scale = if round % 2 == 0 { 4.0 } else { 1000.0 };
                            let b = (next() % 1000) as f64 / scale;
                            (b, b + (next() % 700) as f64 / scale)
                        })
                        .collect()
                };
                (make(na), make(nb))
            })
            .collect()
    }

    fn diagram(points: &[Point]) -> Diagram {
        Diagram {
            points: points.to_vec(),
            essential: Vec::new(),
        }
    }

    #[test]
    fn bottleneck_equals_the_exact_method() {
        for (a, b) in random_diagrams(0x5eed_1234_abcd_ef01, 30, 400) {
            let exact = bottleneck_distance_by_matrix(&diagram(&a), &diagram(&b));
            assert_eq!(bottleneck_geometric(&a, &b), exact, "{a:?} {b:?}");
        }
    }

    #[test]
    fn auction_brackets_the_exact_wasserstein_distance() {
        for (k, (a, b)) in random_diagrams(0x0bad_cafe_1234_5678, 40, 300)
            .into_iter()
            .enumerate()
        {
            let exact = wasserstein_distance(&diagram(&a), &diagram(&b));
            let delta = if k % 2 == 0 { 0.01 } else { 1e-6 };
            let e = wasserstein_auction(&a, &b, delta);
            let slack = 1e-9 * exact.max(1.0);
            assert!(
                e.lower_bound <= exact + slack && exact <= e.value + slack,
                "{e:?} {exact}"
            );
            assert!(e.relative_error <= delta, "{e:?}");
            assert!(e.value <= exact * (1.0 + delta) + slack, "{e:?} {exact}");
        }
    }

    #[test]
    fn larger_diagrams_against_the_exact_method() {
        for (a, b) in random_diagrams(0x1357_9bdf_2468_ace0, 400, 6) {
            let (da, db) = (diagram(&a), diagram(&b));
            assert_eq!(
                bottleneck_geometric(&a, &b),
                bottleneck_distance_by_matrix(&da, &db)
            );
            let exact = wasserstein_distance(&da, &db);
            let e = wasserstein_auction(&a, &b, 0.01);
            assert!(
                e.lower_bound <= exact * (1.0 + 1e-12) && exact <= e.value * (1.0 + 1e-12),
                "{e:?} {exact}"
            );
            assert!(e.relative_error <= 0.01);
        }
    }
}
