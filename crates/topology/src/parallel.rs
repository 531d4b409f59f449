//! The merge tree on every core, in passes that read memory in vertex order.
//!
//! The union-find sweep of [`crate::sweep`] visits vertices in value order, so on a field larger
//! than the cache nearly every neighbour it looks at is a cache miss, and it runs on one core.
//! This module computes the same nodes and segmentation (node for node, vertex for vertex) from
//! facts that each vertex can establish on its own, in the spirit of ExTreeM (Lukasczyk, Will,
//! Wetzels, Weber and Garth, IEEE TVCG 2024), which builds merge trees from the extremum graph:
//!
//! 1. **Descent.** Every vertex points at its lowest neighbour before it in the order (a
//!    minimum at itself), and notes whether its earlier neighbours fall into two or more groups
//!    that no edge between them joins (on a triangulated grid: a disconnected lower link). Only
//!    such a vertex can merge components. Parallel, in vertex-id order, so neighbour reads
//!    stream through the cache.
//! 2. **Labels.** Following the pointers (with path compression) labels every vertex with the
//!    minimum it descends to. A descent path stays below its start, so when the sweep reaches a
//!    vertex, each of its earlier neighbours lies in the component of its label's minimum.
//! 3. **Candidates.** A noted vertex whose groups carry two or more labels may merge
//!    components; every other vertex is regular (or a minimum).
//! 4. **Saddles.** The candidates in order, with a union-find over the minima alone, decide
//!    which candidates merge components and build the tree's nodes exactly as the sweep does
//!    (elder rule included). One thread, but over candidates and minima only.
//! 5. **Segmentation.** A regular vertex lies on the arc its label's component was growing when
//!    the sweep reached it: the last node before it on the path from its minimum's leaf towards
//!    the root. Ranks grow along that path, which the elder rule cuts into branches, so a hop
//!    from branch to branch (while the vertex comes after the branch's death) and a binary
//!    search of the last branch's nodes find it. The same parallel pass, in vertex-id order,
//!    finds each component's last vertex, its root. No pass sorts all vertices: only the
//!    minima and the candidates are sorted.
//!
//! Working memory beyond the input, for `f32` values: 4 bytes of labels per vertex throughout,
//! 4 of keys until the candidates are known, then 4 of segmentation; the noted vertices (16
//! bytes each plus 4 per group), the candidates and the nodes besides. About 8 bytes a vertex
//! on a smooth field. On a domain that cannot tell which neighbours are adjacent (a
//! [`crate::Graph`], or a grid with more than 128 neighbours per vertex) every earlier
//! neighbour is its own group, so more vertices are noted: up to 4 bytes per edge.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use crate::Neighbourhood;
use crate::par::{self, DisjointSlice};
use crate::sort;
use crate::sweep::{NONE, RawKind, RawNode, SweepResult, add_root, find};
use crate::value::FieldValue;

/// Marks a resolved label (a minimum's rank); a descent pointer has this bit clear.
const RESOLVED: u32 = 1 << 31;

/// The most vertices a field may have for this algorithm: vertex ids stay below [`RESOLVED`].
pub(crate) const MAX_VERTICES: usize = RESOLVED as usize;

/// The number of progress reports, one after each pass.
const PASSES: usize = 5;

/// A vertex's place in the sweep order as one integer: (value key, id), bitwise inverted for
/// the descending order of a split tree. `u64` when keys have at most 32 bits (`f32`).
trait Rank: Copy + Ord + Send + Sync {
    /// The largest value: no rank is above it (a branch that dies at `NEVER` is never left).
    const NEVER: Self;
    /// A value's order key, inverted for a descending order: `u32` or `u64`.
    type Key: Copy + Default + Send + Sync;
    fn key(order_key: u64, descending: bool) -> Self::Key;
    /// The rank of `vertex` with the key [`Rank::key`] gave for the same `descending`.
    fn of(key: Self::Key, vertex: u32, descending: bool) -> Self;
    /// The vertex of a rank made by [`Rank::of`] with the same `descending`.
    fn vertex(self, descending: bool) -> u32;
}

impl Rank for u64 {
    const NEVER: Self = u64::MAX;
    type Key = u32;
    #[inline(always)]
    fn key(order_key: u64, descending: bool) -> u32 {
        let key = order_key as u32;
        if descending { !key } else { key }
    }
    #[inline(always)]
    fn of(key: u32, vertex: u32, descending: bool) -> Self {
        let vertex = if descending { !vertex } else { vertex };
        (u64::from(key) << 32) | u64::from(vertex)
    }
    #[inline(always)]
    fn vertex(self, descending: bool) -> u32 {
        if descending {
            !self as u32
        } else {
            self as u32
        }
    }
}

impl Rank for u128 {
    const NEVER: Self = u128::MAX;
    type Key = u64;
    #[inline(always)]
    fn key(order_key: u64, descending: bool) -> u64 {
        if descending { !order_key } else { order_key }
    }
    #[inline(always)]
    fn of(key: u64, vertex: u32, descending: bool) -> Self {
        let vertex = if descending { !vertex } else { vertex };
        (u128::from(key) << 32) | u128::from(vertex)
    }
    #[inline(always)]
    fn vertex(self, descending: bool) -> u32 {
        if descending {
            !self as u32
        } else {
            self as u32
        }
    }
}

/// Every vertex's [`Rank::Key`], computed once: passes 1 and 3 compare each vertex with all its
/// neighbours, so each key would otherwise be computed twice per edge. `Keys::rank` equals
/// [`Order::rank`], which the later passes use once per vertex, from the values.
struct Keys<R: Rank, const DESCENDING: bool> {
    keys: Vec<R::Key>,
}

impl<R: Rank, const DESCENDING: bool> Keys<R, DESCENDING> {
    fn new<V: FieldValue>(values: &[V], threads: usize) -> Self {
        let mut keys = vec![R::Key::default(); values.len()];
        par::for_each_chunk_mut(&mut keys, threads, |start, chunk| {
            for (key, value) in chunk.iter_mut().zip(&values[start..]) {
                *key = R::key(value.order_key(), DESCENDING);
            }
        });
        Self { keys }
    }

    #[inline(always)]
    fn rank(&self, v: u32) -> R {
        R::of(self.keys[v as usize], v, DESCENDING)
    }
}

/// A set of neighbour slots as a bit mask: `u64` where a vertex has at most 64 neighbours
/// (cheaper to build and to search), `u128` up to 128.
trait SlotMask:
    Copy
    + Eq
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitOrAssign
    + std::ops::BitAndAssign
    + std::ops::Not<Output = Self>
    + std::ops::Sub<Output = Self>
{
    const EMPTY: Self;
    const ONE: Self;
    fn with(self, slot: u8, set: bool) -> Self;
    fn only(slot: u32) -> Self;
    fn lowest(self) -> u32;
    fn wide(self) -> u128;
}

macro_rules! slot_mask {
    ($mask:ty) => {
        impl SlotMask for $mask {
            const EMPTY: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn with(self, slot: u8, set: bool) -> Self {
                self | (<$mask>::from(set) << (u32::from(slot) % <$mask>::BITS))
            }
            #[inline(always)]
            fn only(slot: u32) -> Self {
                1 << slot
            }
            #[inline(always)]
            fn lowest(self) -> u32 {
                self.trailing_zeros()
            }
            #[inline(always)]
            fn wide(self) -> u128 {
                u128::from(self)
            }
        }
    };
}

slot_mask!(u64);
slot_mask!(u128);

/// The earlier neighbours of a vertex of rank `own` as a slot mask, and the lowest rank among
/// them and `own`. With `IN_ORDER` the slot of each neighbour is its place in the list (an
/// interior grid vertex), else `slots` gives it and `slot_vertex` receives the vertex of every
/// slot. Without branches: on a noisy field "earlier or not" is a coin flip.
#[inline(always)]
fn earlier_slots<M: SlotMask, R: Rank, const D: bool, const IN_ORDER: bool>(
    keys: &Keys<R, D>,
    own: R,
    neighbours: &[u32],
    slots: &[u8],
    slot_vertex: &mut [u32; 128],
) -> (u128, R) {
    let mut earlier = M::EMPTY;
    let mut lowest = own;
    for (i, &u) in neighbours.iter().enumerate() {
        let rank = keys.rank(u);
        let slot = if IN_ORDER { i as u8 } else { slots[i] };
        earlier = earlier.with(slot, rank < own);
        if !IN_ORDER {
            slot_vertex[slot as usize & 127] = u;
        }
        lowest = lowest.min(rank);
    }
    (earlier.wide(), lowest)
}

/// The sweep's order on `values`: ascending (value, id), or descending for a split tree.
struct Order<'a, V, R, const DESCENDING: bool> {
    values: &'a [V],
    _rank: std::marker::PhantomData<R>,
}

impl<V: FieldValue, R: Rank, const DESCENDING: bool> Order<'_, V, R, DESCENDING> {
    #[inline(always)]
    fn rank(&self, v: u32) -> R {
        R::of(
            R::key(self.values[v as usize].order_key(), DESCENDING),
            v,
            DESCENDING,
        )
    }

    /// Indices `0..len` sorted by the sweep order of `vertex(index)`, where `vertex` is
    /// increasing in the index (so the index breaks ties as the vertex id does).
    fn sort(&self, len: usize, vertex: impl Fn(usize) -> u32 + Sync, threads: usize) -> Vec<u32> {
        let key = |i| self.values[vertex(i) as usize].order_key();
        let mut sorted = sort::sorted_indices::<V>(len, key, threads);
        if DESCENDING {
            sorted.reverse();
        }
        sorted
    }
}

/// Vertices in vertex-id order, each with a list: first the representatives of a noted
/// vertex's groups (one earlier neighbour per group), then a candidate's distinct labels.
#[derive(Default)]
struct Candidates {
    vertices: Vec<u32>,
    /// Where each vertex's list starts in `lists`; one more entry at the end.
    starts: Vec<usize>,
    lists: Vec<u32>,
}

impl Candidates {
    fn push(&mut self, vertex: u32, list: &[u32]) {
        self.vertices.push(vertex);
        self.starts.push(self.lists.len());
        self.lists.extend_from_slice(list);
    }

    /// Closes the last list, so that `list` works on every vertex.
    fn finish(mut self) -> Self {
        self.starts.push(self.lists.len());
        self
    }

    fn list(&self, i: usize) -> &[u32] {
        &self.lists[self.starts[i]..self.starts[i + 1]]
    }

    /// The vertices `order` lists (indices into these), in that order, with their lists: the
    /// sequential saddle pass then reads memory in order, while this gather's random reads run
    /// on every thread and overlap.
    fn permuted<R: Rank>(
        &self,
        order: &[u32],
        rank: impl Fn(u32) -> R + Sync,
        threads: usize,
    ) -> (Candidates, Vec<R>) {
        let count = order.len();
        let mut starts = Vec::with_capacity(count + 1);
        starts.push(0);
        for &i in order {
            let i = i as usize;
            let end = starts[starts.len() - 1] + (self.starts[i + 1] - self.starts[i]);
            starts.push(end);
        }
        let mut vertices = vec![0u32; count];
        let mut lists = vec![0u32; starts[count]];
        let mut ranks = vec![rank(0); count];
        let vertex_out = DisjointSlice::new(&mut vertices);
        let list_out = DisjointSlice::new(&mut lists);
        let rank_out = DisjointSlice::new(&mut ranks);
        let starts_in_order = &starts;
        par::map_ranges(count, threads, |_, range| {
            for at in range {
                let i = order[at] as usize;
                let v = self.vertices[i];
                // SAFETY: position `at` of `vertices` and `ranks`, and its stretch of `lists`,
                // belong to this thread's range of positions alone.
                unsafe {
                    vertex_out.write(at, v);
                    rank_out.write(at, rank(v));
                    list_out.write_all(starts_in_order[at], self.list(i));
                }
            }
        });
        let permuted = Candidates {
            vertices,
            starts,
            lists,
        };
        (permuted, ranks)
    }

    fn concatenate(parts: Vec<Candidates>) -> Candidates {
        let count: usize = parts.iter().map(|p| p.vertices.len()).sum();
        let list_len: usize = parts.iter().map(|p| p.lists.len()).sum();
        let mut all = Candidates {
            vertices: Vec::with_capacity(count),
            starts: Vec::with_capacity(count + 1),
            lists: Vec::with_capacity(list_len),
        };
        for part in parts {
            for i in 0..part.vertices.len() {
                all.push(part.vertices[i], part.list(i));
            }
        }
        all.finish()
    }
}

/// The merge tree of `values` on `domain` in the sweep order (descending for a split tree), on
/// `threads` threads: the same result as [`crate::sweep::sweep`] on the sorted order. Calls
/// `progress` after each pass with a count that reaches the vertex count at the end.
///
/// The caller guarantees `values.len() == domain.vertex_count() <= MAX_VERTICES`.
pub(crate) fn descent_sweep<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
    descending: bool,
    threads: usize,
    progress: &mut dyn FnMut(usize),
) -> SweepResult {
    descent_sweep_noting(
        values,
        domain,
        descending,
        threads,
        Tuning::DEFAULT,
        progress,
    )
}

/// The knobs of the passes (tests turn them to reach every path on small fields).
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// The most vertices pass 1 notes, as a fraction of a stretch: beyond it, grouping is not
    /// narrowing the search enough (on the axis grid no two neighbours are adjacent, so every
    /// vertex with two earlier neighbours would be noted), and pass 3 scans the stretch again.
    noted_fraction: f64,
    /// The vertices a thread takes at a time in passes 1 to 3; threads take the next free
    /// stretch, so they work side by side and share the cache's window of neighbours (on 41^5,
    /// two threads a half apart each needed a 23 MB window of a 32 MB cache).
    chunk: usize,
}

impl Tuning {
    const DEFAULT: Self = Self {
        noted_fraction: 1.0 / 4.0,
        chunk: 1 << 16,
    };
}

/// As [`descent_sweep`], with the given tuning.
fn descent_sweep_noting<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
    descending: bool,
    threads: usize,
    tuning: Tuning,
    progress: &mut dyn FnMut(usize),
) -> SweepResult {
    debug_assert!(values.len() <= MAX_VERTICES);
    let threads = threads.max(1);
    macro_rules! run_with {
        ($rank:ty, $descending:literal) => {
            run(
                &Order::<V, $rank, $descending> {
                    values,
                    _rank: std::marker::PhantomData,
                },
                domain,
                threads,
                tuning,
                progress,
            )
        };
    }
    match (V::KEY_BITS <= 32, descending) {
        (true, false) => run_with!(u64, false),
        (true, true) => run_with!(u64, true),
        (false, false) => run_with!(u128, false),
        (false, true) => run_with!(u128, true),
    }
}

fn run<V: FieldValue, R: Rank, N: Neighbourhood, const D: bool>(
    order_of: &Order<'_, V, R, D>,
    domain: &N,
    threads: usize,
    tuning: Tuning,
    progress: &mut dyn FnMut(usize),
) -> SweepResult {
    let n = order_of.values.len();
    let mut passes_done = 0;
    let mut report = |progress: &mut dyn FnMut(usize)| {
        passes_done += 1;
        progress(n * passes_done / PASSES);
    };

    let labels = zeroed_atomics(n);
    let keys = Keys::<R, D>::new(order_of.values, threads);
    let (minima, noted) = descend(order_of, &keys, domain, &labels, threads, tuning);
    report(progress);
    resolve(&labels, threads, tuning.chunk);
    report(progress);
    let label = |v: u32| labels[v as usize].load(Relaxed) & !RESOLVED;
    let candidates = candidates(&keys, domain, noted, &label, threads, tuning.chunk);
    drop(keys);
    report(progress);

    let mut forest = Forest::new(&minima);
    let sorted = order_of.sort(
        candidates.vertices.len(),
        |i| candidates.vertices[i],
        threads,
    );
    let (candidates, ranks) = candidates.permuted(&sorted, |v| order_of.rank(v), threads);
    drop(sorted);
    let minimum_ranks: Vec<R> = minima.iter().map(|&m| order_of.rank(m)).collect();
    for (c, &v) in candidates.vertices.iter().enumerate() {
        forest.visit_candidate(ranks[c], v, candidates.list(c), &minimum_ranks);
    }
    forest.finish_leaves();
    drop(candidates);
    report(progress);

    let segmentation = segment(order_of, &mut forest, &label, threads);
    report(progress);
    SweepResult {
        nodes: forest.nodes,
        segmentation,
    }
}

/// `n` atomics holding 0, as zeroed memory from the system: the threads of pass 1, which
/// write every entry, take its page faults in parallel (a loop storing zeros would take them
/// all on one thread first).
fn zeroed_atomics(n: usize) -> Vec<AtomicU32> {
    let mut zeros = std::mem::ManuallyDrop::new(vec![0u32; n]);
    let (pointer, len, capacity) = (zeros.as_mut_ptr(), zeros.len(), zeros.capacity());
    // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`, so the allocation
    // (whose ownership moves here: `zeros` is never dropped) holds `len` valid atomics and has
    // the layout a `Vec<AtomicU32>` of this capacity frees.
    unsafe { Vec::from_raw_parts(pointer.cast::<AtomicU32>(), len, capacity) }
}

/// The lowest rank of a vertex of rank `own` and its slotted neighbours; with `group`, and
/// two or more earlier neighbours, one representative of each group of adjacent earlier
/// neighbours goes into `found.1` (`found.0` is scratch for out-of-order slots).
#[inline(always)]
fn slotted_lowest<R: Rank, const D: bool>(
    keys: &Keys<R, D>,
    own: R,
    neighbours: &[u32],
    slots: &crate::Slots<'_>,
    narrow: bool,
    group: bool,
    (slot_vertex, representatives): (&mut [u32; 128], &mut Vec<u32>),
) -> R {
    // Each arm calls its own monomorphised copy, so the loop stays inlined.
    macro_rules! earlier {
        ($mask:ty, $in_order:literal) => {
            earlier_slots::<$mask, R, D, $in_order>(keys, own, neighbours, slots.slots, slot_vertex)
        };
    }
    let (earlier, lowest) = match (narrow, slots.in_order) {
        (true, true) => earlier!(u64, true),
        (false, true) => earlier!(u128, true),
        (true, false) => earlier!(u64, false),
        (false, false) => earlier!(u128, false),
    };
    if group && earlier & earlier.wrapping_sub(1) != 0 {
        // Two or more earlier neighbours: split them into groups.
        let vertex_of = if slots.in_order {
            neighbours
        } else {
            &slot_vertex[..]
        };
        for_each_group(earlier, slots.adjacency, |slot| {
            representatives.push(vertex_of[slot]);
        });
    }
    lowest
}

/// The lowest rank of a vertex of rank `own` and its listed neighbours (a domain without
/// slots); every earlier neighbour goes into `representatives`.
#[inline(always)]
fn listed_lowest<R: Rank, const D: bool>(
    keys: &Keys<R, D>,
    own: R,
    neighbours: &[u32],
    representatives: &mut Vec<u32>,
) -> R {
    let mut lowest = own;
    for &u in neighbours {
        let rank = keys.rank(u);
        if rank < own {
            representatives.push(u);
        }
        lowest = lowest.min(rank);
    }
    lowest
}

/// Pass 1: points every vertex at its lowest earlier neighbour, and notes the vertices whose
/// earlier neighbours fall into two or more groups. Returns the minima (the vertices with no
/// earlier neighbour) by rank in the order, each labelled with its rank, and the noted
/// vertices with one earlier neighbour per group, in vertex-id order, for each stretch of
/// `tuning.chunk` vertices (`None` where there were too many to keep).
fn descend<V: FieldValue, R: Rank, N: Neighbourhood, const D: bool>(
    order_of: &Order<'_, V, R, D>,
    keys: &Keys<R, D>,
    domain: &N,
    labels: &[AtomicU32],
    threads: usize,
    tuning: Tuning,
) -> (Vec<u32>, Vec<Option<Candidates>>) {
    let parts = par::map_chunks(labels.len(), tuning.chunk, threads, |range| {
        let mut minima = Vec::new();
        let limit = (range.len() as f64 * tuning.noted_fraction) as usize;
        let mut noted = Some(Candidates::default());
        let mut slot_vertex = [0u32; 128];
        let mut representatives = Vec::new();
        let range = range.start as u32..range.end as u32;
        domain.for_each_neighbourhood(range, |v, neighbours, slots| {
            let own = keys.rank(v);
            representatives.clear();
            let group = noted.is_some();
            let lowest_rank = match slots {
                Some(slots) => {
                    let narrow = domain.max_degree() <= 64;
                    let found = (&mut slot_vertex, &mut representatives);
                    slotted_lowest(keys, own, neighbours, &slots, narrow, group, found)
                }
                None => listed_lowest(keys, own, neighbours, &mut representatives),
            };
            if representatives.len() >= 2
                && let Some(list) = noted.as_mut()
            {
                list.push(v, &representatives);
                if list.vertices.len() > limit {
                    noted = None; // pass 3 scans this range again
                }
            }
            let lowest = lowest_rank.vertex(D);
            if lowest == v {
                minima.push(v);
            }
            labels[v as usize].store(lowest, Relaxed);
        });
        (minima, noted.map(Candidates::finish))
    });
    let (minima_parts, noted): (Vec<Vec<u32>>, Vec<Option<Candidates>>) = parts.into_iter().unzip();
    let by_id: Vec<u32> = minima_parts.concat();
    let ranks = order_of.sort(by_id.len(), |i| by_id[i], threads);
    let minima: Vec<u32> = ranks.iter().map(|&i| by_id[i as usize]).collect();
    for (rank, &m) in minima.iter().enumerate() {
        labels[m as usize].store(rank as u32 | RESOLVED, Relaxed);
    }
    (minima, noted)
}

/// Pass 2: replaces every descent pointer by the label of the minimum it leads to.
///
/// Threads may compress the same path at once: every value ever stored in an entry is either a
/// vertex further down its descent path or its final label, so any interleaving ends with every
/// entry holding its final label.
fn resolve(labels: &[AtomicU32], threads: usize, chunk: usize) {
    par::map_chunks(labels.len(), chunk, threads, |range| {
        for v in range {
            let first = labels[v].load(Relaxed);
            if first & RESOLVED != 0 {
                continue;
            }
            let mut x = first;
            let label = loop {
                let next = labels[x as usize].load(Relaxed);
                if next & RESOLVED != 0 {
                    break next;
                }
                x = next;
            };
            labels[v].store(label, Relaxed);
            let mut x = first;
            loop {
                let next = labels[x as usize].load(Relaxed);
                if next & RESOLVED != 0 {
                    break;
                }
                labels[x as usize].store(label, Relaxed);
                x = next;
            }
        }
    });
}

/// Splits the slots of `earlier` into the groups that `adjacency` connects, calling `found`
/// with the lowest slot of each group. Where a vertex has at most 64 neighbours the masks are
/// handled as `u64`s, half the loads.
#[inline]
fn for_each_group(earlier: u128, adjacency: &[u128], found: impl FnMut(usize)) {
    if adjacency.len() <= 64 {
        groups_of(earlier as u64, |slot| adjacency[slot] as u64, found);
    } else {
        groups_of(earlier, |slot| adjacency[slot], found);
    }
}

#[inline(always)]
fn groups_of<M: SlotMask>(earlier: M, adjacent: impl Fn(usize) -> M, mut found: impl FnMut(usize)) {
    let mut rest = earlier;
    while rest != M::EMPTY {
        let first = rest.lowest();
        let mut group = M::only(first);
        let mut frontier = group;
        while frontier != M::EMPTY {
            let mut reached = M::EMPTY;
            let mut bits = frontier;
            while bits != M::EMPTY {
                reached |= adjacent(bits.lowest() as usize);
                bits &= bits - M::ONE;
            }
            frontier = reached & rest & !group;
            group |= frontier;
        }
        rest &= !group;
        found(first as usize);
    }
}

/// Pass 3: the vertices whose groups of earlier neighbours carry two or more distinct labels,
/// with those labels, in vertex-id order. A thread's noted vertices are checked by their
/// representatives' labels; a range whose list overflowed is scanned again, vertex by vertex.
fn candidates<R: Rank, N: Neighbourhood, const D: bool>(
    keys: &Keys<R, D>,
    domain: &N,
    noted: Vec<Option<Candidates>>,
    label: &(impl Fn(u32) -> u32 + Sync),
    threads: usize,
    chunk: usize,
) -> Candidates {
    let len = keys.keys.len();
    let ranges: Vec<std::ops::Range<usize>> = (0..noted.len())
        .map(|p| p * chunk..((p + 1) * chunk).min(len))
        .collect();
    let (noted, ranges) = (&noted, &ranges);
    let parts = par::map_chunks(noted.len(), 1, threads, |parts| {
        let mut distinct = Vec::new();
        let add = |distinct: &mut Vec<u32>, l: u32| {
            if !distinct.contains(&l) {
                distinct.push(l);
            }
        };
        let mut slot_label = [0u32; 128];
        parts
            .map(|p| {
                let mut out = Candidates::default();
                if let Some(part) = &noted[p] {
                    for i in 0..part.vertices.len() {
                        distinct.clear();
                        for &u in part.list(i) {
                            add(&mut distinct, label(u));
                        }
                        if distinct.len() >= 2 {
                            out.push(part.vertices[i], &distinct);
                        }
                    }
                    return out.finish();
                }
                let range = ranges[p].start as u32..ranges[p].end as u32;
                domain.for_each_neighbourhood(range, |v, neighbours, slots| {
                    let own_label = label(v);
                    if neighbours.iter().all(|&u| label(u) == own_label) {
                        return; // inside a descent basin: regular, or its minimum
                    }
                    let own = keys.rank(v);
                    distinct.clear();
                    match slots {
                        Some(slots) => {
                            let mut earlier = 0u128;
                            for (&u, &slot) in neighbours.iter().zip(slots.slots) {
                                if keys.rank(u) < own {
                                    earlier |= 1 << slot;
                                    slot_label[slot as usize] = label(u);
                                }
                            }
                            for_each_group(earlier, slots.adjacency, |slot| {
                                add(&mut distinct, slot_label[slot]);
                            });
                        }
                        None => {
                            for &u in neighbours {
                                if keys.rank(u) < own {
                                    add(&mut distinct, label(u));
                                }
                            }
                        }
                    }
                    if distinct.len() >= 2 {
                        out.push(v, &distinct);
                    }
                });
                out.finish()
            })
            .collect::<Vec<_>>()
    });
    Candidates::concatenate(parts.into_iter().flatten().collect())
}

/// Pass 4's state: the nodes so far and a union-find over the minima's ranks, whose roots are
/// always the oldest minimum of their set (so a set's root is its branch's leaf).
struct Forest<'m> {
    nodes: Vec<RawNode>,
    minima: &'m [u32],
    /// The leaves created so far: minima `..next_leaf` by rank.
    next_leaf: usize,
    leaf_node: Vec<u32>,
    union_find: Vec<u32>,
    /// At a union-find root: the component's current node (its top so far).
    current: Vec<u32>,
    roots: Vec<u32>,
}

impl<'m> Forest<'m> {
    fn new(minima: &'m [u32]) -> Self {
        let k = minima.len();
        Self {
            nodes: Vec::with_capacity(k * 2),
            minima,
            next_leaf: 0,
            leaf_node: vec![NONE; k],
            union_find: (0..k as u32).collect(),
            current: vec![NONE; k],
            roots: Vec::new(),
        }
    }

    fn push_leaf(&mut self) {
        let rank = self.next_leaf;
        let id = self.nodes.len() as u32;
        self.nodes.push(RawNode {
            vertex: self.minima[rank],
            kind: RawKind::Leaf,
            parent: NONE,
            branch: id,
            death: NONE,
            child_count: 0,
        });
        self.leaf_node[rank] = id;
        self.current[rank] = id;
        self.next_leaf += 1;
    }

    /// Creates the leaves before `v`, then a saddle at `v` if its lower neighbours' labels lie
    /// in two or more components.
    /// `minimum_ranks` are the minima's ranks, `rank` the rank of `v`.
    fn visit_candidate<R: Rank>(&mut self, rank: R, v: u32, labels: &[u32], minimum_ranks: &[R]) {
        while self.next_leaf < self.minima.len() && minimum_ranks[self.next_leaf] < rank {
            self.push_leaf();
        }
        self.roots.clear();
        for &l in labels {
            let root = find(&mut self.union_find, l);
            if !self.roots.contains(&root) {
                self.roots.push(root);
            }
        }
        if self.roots.len() < 2 {
            return;
        }
        let saddle = self.nodes.len() as u32;
        // The elder: the set with the oldest minimum, which is the lowest rank.
        let elder = *self.roots.iter().min().expect("two roots");
        for &root in &self.roots {
            let child = self.current[root as usize] as usize;
            self.nodes[child].parent = saddle;
            if root != elder {
                let dying = self.leaf_node[root as usize] as usize;
                self.nodes[dying].death = saddle;
                self.union_find[root as usize] = elder;
            }
        }
        self.nodes.push(RawNode {
            vertex: v,
            kind: RawKind::Saddle,
            parent: NONE,
            branch: self.leaf_node[elder as usize],
            death: NONE,
            child_count: self.roots.len() as u32,
        });
        self.current[elder as usize] = saddle;
    }

    fn finish_leaves(&mut self) {
        while self.next_leaf < self.minima.len() {
            self.push_leaf();
        }
    }
}

/// Pass 5: the segment of every vertex, and the roots. A regular vertex `v` belongs to the
/// arc its label's component was growing when the sweep reached it: the highest node on the
/// path from its minimum's leaf towards the root that comes before `v` in the order. Ranks grow
/// along that path, which [`Branches`] searches branch by branch. The same pass, in vertex-id order on every thread, finds
/// each component's last vertex, which becomes its root as in the sweep; every node's vertex
/// is then its own segment.
fn segment<V: FieldValue, R: Rank, const D: bool>(
    order_of: &Order<'_, V, R, D>,
    forest: &mut Forest<'_>,
    label: &(impl Fn(u32) -> u32 + Sync),
    threads: usize,
) -> Vec<u32> {
    let n = order_of.values.len();
    let k = forest.minima.len();
    // The components, numbered by their oldest minimum, and each minimum's component.
    let mut component_of = vec![0u32; k];
    let mut elders = Vec::new();
    for m in 0..k {
        let root = find(&mut forest.union_find, m as u32) as usize;
        if root == m {
            component_of[m] = elders.len() as u32;
            elders.push(m);
        } else {
            component_of[m] = component_of[root];
        }
    }
    let branches = Branches::new(&forest.nodes, &forest.leaf_node, |vertex| {
        order_of.rank(vertex)
    });
    let component_of = &component_of;
    // Zeroed memory comes from the system untouched, so the threads, which write every entry,
    // take its page faults in parallel.
    let mut segmentation = vec![0u32; n];
    let out = DisjointSlice::new(&mut segmentation);
    let tops = par::map_ranges(n, threads, |_, range| {
        let mut top: Vec<Option<R>> = vec![None; elders.len()];
        for v in range.start as u32..range.end as u32 {
            let minimum = label(v) as usize;
            let rank = order_of.rank(v);
            let component = &mut top[component_of[minimum] as usize];
            *component = (*component).max(Some(rank));
            let arc = branches.arc(minimum as u32, rank);
            // SAFETY: each thread writes its own range of vertices.
            unsafe { out.write(v as usize, arc) };
        }
        top
    });
    // Each component's last vertex, and the roots in the sweep's order: from the last.
    let mut last: Vec<(R, usize)> = (0..elders.len())
        .map(|c| {
            let rank = tops.iter().filter_map(|top| top[c]).max();
            (rank.expect("every component has its minimum"), c)
        })
        .collect();
    last.sort_unstable_by(|a, b| b.cmp(a));
    let loop_nodes = forest.nodes.len();
    for (rank, c) in last {
        let v = rank.vertex(D);
        add_root(&mut forest.nodes, forest.current[elders[c]], v);
    }
    debug_assert!(
        forest.nodes[..loop_nodes]
            .iter()
            .all(|n| n.kind == RawKind::Root || n.parent != NONE)
    );
    for (id, node) in forest.nodes.iter().enumerate() {
        segmentation[node.vertex as usize] = id as u32;
    }
    segmentation
}

/// The loop nodes by branch (the elder rule's decomposition of the tree: a leaf's branch is the
/// nodes whose `branch` is that leaf, up to the saddle where it dies), in rank order, so that
/// the arc a regular vertex lies on is found by hopping from its minimum's branch to the elder
/// branch it dies into, as long as the vertex comes after the death, then by a binary search
/// of the last branch's ranks. Memory: about 17 bytes per node.
struct Branches<R> {
    /// By leaf rank: where the branch dies (its death saddle's rank; [`Rank::NEVER`] if it
    /// never does), and the leaf rank of the branch it dies into.
    hops: Vec<(R, u32)>,
    /// By leaf rank: the branch's stretch of `ranks` and `nodes`.
    starts: Vec<u32>,
    ranks: Vec<R>,
    nodes: Vec<u32>,
    /// By leaf rank: the branch's stretch of `samples`, every [`SAMPLE`]th of its ranks (a
    /// long branch, such as the trunk of a noisy field's tree, is searched there first: that
    /// array is small enough to stay in the nearest cache).
    sample_starts: Vec<u32>,
    samples: Vec<R>,
}

/// The spacing of [`Branches::samples`].
const SAMPLE: usize = 16;

impl<R: Rank> Branches<R> {
    /// `nodes` are the loop nodes in creation (so rank) order, `leaf_node` the leaf of every
    /// minimum by rank.
    fn new(nodes: &[RawNode], leaf_node: &[u32], rank: impl Fn(u32) -> R) -> Self {
        let k = leaf_node.len();
        let mut leaf_rank = vec![NONE; nodes.len()];
        for (minimum, &id) in leaf_node.iter().enumerate() {
            leaf_rank[id as usize] = minimum as u32;
        }
        let mut starts = vec![0u32; k + 1];
        for node in nodes {
            starts[leaf_rank[node.branch as usize] as usize + 1] += 1;
        }
        for b in 0..k {
            starts[b + 1] += starts[b];
        }
        let mut fill = starts.clone();
        let mut ids = vec![0u32; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            let b = leaf_rank[node.branch as usize] as usize;
            ids[fill[b] as usize] = id as u32;
            fill[b] += 1;
        }
        let ranks: Vec<R> = ids
            .iter()
            .map(|&id| rank(nodes[id as usize].vertex))
            .collect();
        let mut sample_starts = Vec::with_capacity(k + 1);
        let mut samples = Vec::new();
        sample_starts.push(0);
        for b in 0..k {
            let branch = &ranks[starts[b] as usize..starts[b + 1] as usize];
            samples.extend(branch.iter().step_by(SAMPLE));
            sample_starts.push(samples.len() as u32);
        }
        let hops = leaf_node
            .iter()
            .map(|&leaf| match nodes[leaf as usize].death {
                NONE => (R::NEVER, NONE),
                death => {
                    let saddle = &nodes[death as usize];
                    (rank(saddle.vertex), leaf_rank[saddle.branch as usize])
                }
            })
            .collect();
        Self {
            hops,
            starts,
            ranks,
            nodes: ids,
            sample_starts,
            samples,
        }
    }

    /// The last node before `rank` on the path from the leaf of minimum `minimum` towards the
    /// root, given that the minimum does not come after `rank` (at the minimum itself: its
    /// leaf).
    #[inline]
    fn arc(&self, minimum: u32, rank: R) -> u32 {
        let mut b = minimum as usize;
        while self.hops[b].0 < rank {
            b = self.hops[b].1 as usize;
        }
        // The ranks of the branch below `rank`: first counted among the samples (sample `j` is
        // the branch's rank `j * SAMPLE`), then within the one stretch between two samples
        // where the count can end.
        let (start, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let samples =
            &self.samples[self.sample_starts[b] as usize..self.sample_starts[b + 1] as usize];
        let sampled = samples.partition_point(|&r| r < rank);
        let from = start + sampled.saturating_sub(1) * SAMPLE;
        let to = (start + sampled * SAMPLE).min(end);
        let before = from - start + self.ranks[from..to].partition_point(|&r| r < rank);
        self.nodes[start + before.saturating_sub(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::sweep;
    use crate::{Connectivity, Graph, Grid};

    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// The sequential sweep's result, the reference.
    fn reference<V: FieldValue, N: Neighbourhood>(
        values: &[V],
        domain: &N,
        descending: bool,
    ) -> SweepResult {
        let mut order = sort::sorted_vertices(values);
        if descending {
            order.reverse();
        }
        sweep(&order, domain, &mut |_| {})
    }

    fn assert_same<V: FieldValue, N: Neighbourhood>(values: &[V], domain: &N, what: &str) {
        for descending in [false, true] {
            let expected = reference(values, domain, descending);
            let default = Tuning::DEFAULT;
            for (threads, noted_fraction, chunk) in [
                (1, default.noted_fraction, default.chunk),
                (2, default.noted_fraction, 5),
                (3, 0.0, 3),
                (5, f64::INFINITY, 16),
                (2, f64::INFINITY, default.chunk),
                (1, f64::INFINITY, 1),
            ] {
                let tuning = Tuning {
                    noted_fraction,
                    chunk,
                };
                let mut reports = Vec::new();
                let got =
                    descent_sweep_noting(values, domain, descending, threads, tuning, &mut |c| {
                        reports.push(c)
                    });
                assert_eq!(
                    got.nodes, expected.nodes,
                    "{what}, {descending}, {threads}, {tuning:?}"
                );
                assert_eq!(
                    got.segmentation, expected.segmentation,
                    "{what}, {descending}, {threads}, {tuning:?}"
                );
                assert_eq!(reports.last(), Some(&values.len()));
                assert!(reports.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }

    /// Smooth-ish fields (a bowl with ripples), noise, and fields with many ties.
    fn fields(n: usize, random: &mut Random) -> Vec<(String, Vec<f32>)> {
        let noise: Vec<f32> = (0..n).map(|_| (random.next() % 1000) as f32).collect();
        let ties: Vec<f32> = (0..n).map(|_| (random.next() % 3) as f32).collect();
        let ripples: Vec<f32> = (0..n)
            .map(|i| ((i as f32 * 0.37).sin() * 3.0 + (i as f32 * 0.05).cos()).round())
            .collect();
        vec![
            ("noise".into(), noise),
            ("ties".into(), ties),
            ("ripples".into(), ripples),
            ("constant".into(), vec![1.5; n]),
        ]
    }

    #[test]
    fn equals_the_sweep_on_grids() {
        let mut random = Random(0x1234_5678_9abc_def1);
        let shapes: [&[usize]; 7] = [
            &[1],
            &[2],
            &[37],
            &[9, 7],
            &[6, 5, 4],
            &[4, 3, 5, 3],
            &[1, 8, 1],
        ];
        for shape in shapes {
            let n = shape.iter().product();
            for (name, values) in fields(n, &mut random) {
                for connectivity in Connectivity::ALL {
                    let grid = Grid::new(shape, connectivity).unwrap();
                    assert_same(&values, &grid, &format!("{shape:?} {connectivity} {name}"));
                }
            }
        }
    }

    #[test]
    fn equals_the_sweep_on_graphs_with_several_components() {
        let mut random = Random(0x0bad_cafe_f00d_d00d);
        for trial in 0..40 {
            let n = 1 + (random.next() % 60) as usize;
            let edge_count = random.next() as usize % (2 * n);
            let edges: Vec<(u32, u32)> = (0..edge_count)
                .map(|_| {
                    let a = (random.next() % n as u64) as u32;
                    // Mostly short edges, so that several components form; some self-loops.
                    let b = (a as u64 + random.next() % 4).min(n as u64 - 1) as u32;
                    (a, b)
                })
                .collect();
            let graph = Graph::from_edges(n, &edges).unwrap();
            for (name, values) in fields(n, &mut random) {
                assert_same(&values, &graph, &format!("trial {trial} {name}"));
            }
        }
    }

    #[test]
    fn equals_the_sweep_with_non_finite_values_and_f64() {
        let mut random = Random(0x5eed);
        let grid = Grid::new(&[7, 6, 5], Connectivity::Freudenthal).unwrap();
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0];
        let values: Vec<f64> = (0..grid.vertex_count())
            .map(|_| match random.next() % 10 {
                k @ 0..=4 => specials[k as usize],
                _ => (random.next() % 100) as f64 * 1e-3,
            })
            .collect();
        assert_same(&values, &grid, "specials f64");
        let values32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        assert_same(&values32, &grid, "specials f32");
    }
}
