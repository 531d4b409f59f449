//! Merge-tree benchmark: vertices per second and peak extra memory of the join tree on 41^3 and
//! 41^4 grids, for each connectivity, on a smooth field (a few basins) and a noisy one (the same
//! plus uniform noise of amplitude 0.5 against a smooth range of about 3: thousands of minima).
//! The baseline, measured in the same run, is the same sweep over an explicit adjacency list
//! (a CSR graph) of the same grid, which is what a generic graph-based merge-tree code does.
//!
//!     cargo bench -p toposcape-topology --bench merge_tree            # all rows
//!     cargo bench -p toposcape-topology --bench merge_tree -- quick   # 41^3 only
//!     cargo bench -p toposcape-topology --bench merge_tree -- parallel  # the fourth table
//!     cargo bench -p toposcape-topology --bench merge_tree -- passes 41 5  # per pass, 41^5
//!
//! A second table times the landscape profile (default options) of each Freudenthal tree
//! against the tree itself, and a third the contour tree (two sweeps, the leaf pruning and the
//! consistency check) and the steepest-descent basins against the join tree: what
//! `topo --metrics` and `analyze` add for Landscaper's SMADs. The first three tables use the
//! default [`Parallelism::Auto`] (every core).
//!
//! The fourth times the sequential sweep against the parallel algorithm on one thread and on
//! every core, on 41^4 (within the 32 MB cache of the machine it was written on) and 41^5
//! (116M vertices, 464 MB of input: far beyond it; left out by `quick`, and its sequential
//! sweep takes minutes), and checks that all three give the same tree; 41^3 shows where
//! [`Parallelism::Auto`] should start using threads. Its times are the fastest of 21 (41^3),
//! 11 (41^4) or 1 (41^5) interleaved rounds: the machine is shared, its second core is at
//! times taken by a neighbour, and the minimum is the least disturbed run. Its last line is
//! the machine's own scaling at the time, from one thread to all: a kernel that only computes,
//! and one that streams memory.
//!
//! Times are medians over repeats; the memory column is the peak of bytes allocated during the
//! computation (input excluded, output included) divided by the vertex count, counted by a
//! wrapping global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use std::num::NonZeroUsize;

use toposcape_topology::{
    Connectivity, Graph, Grid, MergeTree, Neighbourhood, Parallelism, ProfileOptions, TreeKind,
    basins, contour_tree, join_tree, landscape_profile,
};

struct CountingAllocator;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A deterministic smooth landscape: a tilted bowl with a few Gaussian bumps and dips, scaled
/// like a loss (positive, range a few units), optionally with uniform noise of the given
/// amplitude.
fn landscape(side: usize, dims: usize, noise: f32) -> Vec<f32> {
    let n = side.pow(dims as u32);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let bumps: Vec<(Vec<f64>, f64, f64)> = (0..8)
        .map(|_| {
            let centre: Vec<f64> = (0..dims).map(|_| random() * 2.0 - 1.0).collect();
            (centre, 0.15 + 0.3 * random(), random() * 2.0 - 1.0)
        })
        .collect();
    let mut x = vec![0.0f64; dims];
    (0..n)
        .map(|mut v| {
            for axis in (0..dims).rev() {
                x[axis] = (v % side) as f64 / (side - 1) as f64 * 2.0 - 1.0;
                v /= side;
            }
            let bowl: f64 = x.iter().map(|c| c * c).sum::<f64>() + 0.2 * x[0];
            let extra: f64 = bumps
                .iter()
                .map(|(c, w, a)| {
                    let r2: f64 = x.iter().zip(c).map(|(p, q)| (p - q) * (p - q)).sum();
                    a * (-r2 / (2.0 * w * w)).exp()
                })
                .sum();
            (1.0 + bowl + extra) as f32 + noise * (random() as f32 - 0.5)
        })
        .collect()
}

fn explicit_graph(grid: &Grid) -> Graph {
    let n = grid.vertex_count();
    let mut offsets = Vec::with_capacity(n + 1);
    let mut neighbours = Vec::new();
    offsets.push(0);
    for v in 0..n as u32 {
        grid.neighbours(v, &mut neighbours);
        offsets.push(neighbours.len());
    }
    Graph::from_csr(offsets, neighbours).expect("a grid's adjacency is a valid graph")
}

/// Median seconds and peak extra bytes of `repeats` runs of `f`.
fn measure(repeats: usize, f: impl FnMut() -> usize) -> (f64, usize) {
    let (seconds, peak, _) = measure_keeping(repeats, f);
    (seconds, peak)
}

/// As [`measure`], returning the last run's result too (each earlier one is dropped before the
/// next run starts, so no run's peak counts another's output).
fn measure_keeping<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, usize, T) {
    let mut times = Vec::with_capacity(repeats);
    let mut peak = 0;
    let mut last = None;
    for _ in 0..repeats {
        drop(last.take());
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        last = Some(std::hint::black_box(f()));
        times.push(start.elapsed().as_secs_f64());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
    }
    times.sort_by(f64::total_cmp);
    (times[repeats / 2], peak, last.expect("at least one repeat"))
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "passes") {
        let number = |i: usize, default: f64| {
            args.get(at + i)
                .and_then(|a| a.parse::<f64>().ok())
                .unwrap_or(default)
        };
        let (side, dims, noise) = (number(1, 41.0), number(2, 4.0), number(3, 0.0));
        passes_table(side as usize, dims as usize, noise as f32);
        return;
    }
    if std::env::args().any(|a| a == "parallel") {
        parallel_table(quick);
        return;
    }
    let mut sizes = vec![(41usize, 3usize)];
    if !quick {
        sizes.push((41, 4));
    }
    println!(
        "{:<8} {:<7} {:<12} {:>9} {:>10} {:>8} {:>9} {:>13} {:>8}",
        "grid",
        "field",
        "connectivity",
        "minima",
        "ms",
        "Mvert/s",
        "B/vertex",
        "explicit ms",
        "ratio"
    );
    for (side, dims) in sizes {
        let n = side.pow(dims as u32);
        let repeats = if n > 1_000_000 { 5 } else { 15 };
        for (label, noise) in [("smooth", 0.0f32), ("noisy", 0.5)] {
            let values = landscape(side, dims, noise);
            for connectivity in Connectivity::ALL {
                let grid = Grid::new(&vec![side; dims], connectivity).unwrap();
                let minima = join_tree(&values, &grid).unwrap().leaf_count();
                let (seconds, peak) =
                    measure(repeats, || join_tree(&values, &grid).unwrap().leaf_count());
                // The explicit baseline's adjacency is built outside the timing, and skipped where
                // it would need more than ~1 GB.
                let baseline = (n * connectivity.interior_degree(dims) * 4 < 1 << 30).then(|| {
                    let graph = explicit_graph(&grid);
                    let (s, _) =
                        measure(repeats, || join_tree(&values, &graph).unwrap().leaf_count());
                    let check = join_tree(&values, &graph).unwrap().leaf_count();
                    assert_eq!(check, minima, "the baseline computes the same tree");
                    s
                });
                println!(
                    "{:<8} {:<7} {:<12} {:>9} {:>10.1} {:>8.2} {:>9.1} {:>13} {:>8}",
                    format!("{side}^{dims}"),
                    label,
                    connectivity.name(),
                    minima,
                    seconds * 1e3,
                    n as f64 / seconds / 1e6,
                    peak as f64 / n as f64,
                    baseline.map_or("-".into(), |b| format!("{:.1}", b * 1e3)),
                    baseline.map_or("-".into(), |b| format!("{:.2}x", b / seconds)),
                );
            }
        }
    }
    println!();
    println!(
        "{:<8} {:<7} {:>10} {:>12} {:>8} {:>8}",
        "grid", "field", "tree ms", "profile ms", "ratio", "basins"
    );
    for (side, dims) in [(41usize, 3usize), (41, 4)]
        .into_iter()
        .take(if quick { 1 } else { 2 })
    {
        let repeats = if dims == 4 { 5 } else { 15 };
        for (label, noise) in [("smooth", 0.0f32), ("noisy", 0.5)] {
            let values = landscape(side, dims, noise);
            let grid = Grid::new(&vec![side; dims], Connectivity::Freudenthal).unwrap();
            let (tree_seconds, _) =
                measure(repeats, || join_tree(&values, &grid).unwrap().leaf_count());
            let tree = join_tree(&values, &grid).unwrap();
            let options = ProfileOptions::default();
            let (profile_seconds, _) = measure(repeats, || {
                landscape_profile(&tree, &values, options)
                    .unwrap()
                    .basins
                    .len()
            });
            let basins = landscape_profile(&tree, &values, options)
                .unwrap()
                .basins
                .len();
            println!(
                "{:<8} {:<7} {:>10.1} {:>12.1} {:>7.2}x {:>8}",
                format!("{side}^{dims}"),
                label,
                tree_seconds * 1e3,
                profile_seconds * 1e3,
                profile_seconds / tree_seconds,
                basins
            );
        }
    }
    println!();
    println!(
        "{:<8} {:<7} {:<12} {:>10} {:>12} {:>8} {:>9} {:>10} {:>8} {:>9}",
        "grid",
        "field",
        "connectivity",
        "tree ms",
        "contour ms",
        "ratio",
        "B/vertex",
        "basins ms",
        "ratio",
        "consistent"
    );
    for (side, dims) in [(41usize, 3usize), (41, 4)]
        .into_iter()
        .take(if quick { 1 } else { 2 })
    {
        let n = side.pow(dims as u32);
        let repeats = if dims == 4 { 3 } else { 9 };
        for (label, noise) in [("smooth", 0.0f32), ("noisy", 0.5)] {
            let values = landscape(side, dims, noise);
            for connectivity in [Connectivity::Freudenthal, Connectivity::Axis] {
                let grid = Grid::new(&vec![side; dims], connectivity).unwrap();
                let (tree_seconds, _) =
                    measure(repeats, || join_tree(&values, &grid).unwrap().leaf_count());
                let (contour_seconds, peak) = measure(repeats, || {
                    contour_tree(&values, &grid).unwrap().nodes().len()
                });
                let (basin_seconds, _) =
                    measure(repeats, || basins(&values, &grid).unwrap().minima().len());
                let consistent = contour_tree(&values, &grid).unwrap().is_consistent();
                println!(
                    "{:<8} {:<7} {:<12} {:>10.1} {:>12.1} {:>7.2}x {:>9.1} {:>10.1} {:>7.2}x {:>9}",
                    format!("{side}^{dims}"),
                    label,
                    connectivity.name(),
                    tree_seconds * 1e3,
                    contour_seconds * 1e3,
                    contour_seconds / tree_seconds,
                    peak as f64 / n as f64,
                    basin_seconds * 1e3,
                    basin_seconds / tree_seconds,
                    consistent
                );
            }
        }
    }
    println!();
    parallel_table(quick);
}

/// The machine's own scaling from one thread to `threads`, for the parallel table's context: a
/// kernel that only computes (registers, no memory) and one that streams a 256 MB array
/// (memory bandwidth), each the fastest of `rounds` interleaved runs.
fn machine_scaling(threads: usize, rounds: usize) -> (f64, f64) {
    fn compute(steps: u64, seed: u64) -> u64 {
        let (mut state, mut sum) = (seed | 1, 0u64);
        for _ in 0..steps {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            sum = sum.wrapping_add(state >> 3);
        }
        sum
    }
    let data: Vec<u64> = (0..1u64 << 25).collect();
    let stream = |part: &[u64]| part.iter().fold(0u64, |a, &x| a.wrapping_add(x));
    let on_threads = |count: usize, work: &(dyn Fn(usize) -> u64 + Sync)| {
        let start = Instant::now();
        let total: u64 = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count).map(|t| scope.spawn(move || work(t))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        std::hint::black_box(total);
        start.elapsed().as_secs_f64()
    };
    let steps = 100_000_000u64;
    let (mut c1, mut cn, mut s1, mut sn) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        c1 = c1.min(on_threads(1, &|t| compute(steps, t as u64)));
        cn = cn.min(on_threads(threads, &|t| {
            compute(steps / threads as u64, t as u64)
        }));
        s1 = s1.min(on_threads(1, &|_| stream(&data)));
        let chunk = data.len().div_ceil(threads);
        sn = sn.min(on_threads(threads, &|t| {
            stream(&data[(t * chunk).min(data.len())..((t + 1) * chunk).min(data.len())])
        }));
    }
    (c1 / cn, s1 / sn)
}

/// `-- passes SIDE DIMS [NOISE]`: the parallel algorithm's time in each of its passes (taken
/// from its progress reports, one after each pass), in nanoseconds per vertex, on one thread
/// and on every core, on a Freudenthal grid; the fastest of 3 interleaved rounds.
fn passes_table(side: usize, dims: usize, noise: f32) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let n = side.pow(dims as u32);
    let values = landscape(side, dims, noise);
    let grid = Grid::new(&vec![side; dims], Connectivity::Freudenthal).unwrap();
    let mut best: Vec<Vec<f64>> = vec![Vec::new(); 2];
    for _ in 0..3 {
        for (row, count) in [1, threads].into_iter().enumerate() {
            let mut marks = vec![Instant::now()];
            let parallelism = Parallelism::Threads(NonZeroUsize::new(count).unwrap());
            let tree =
                MergeTree::compute_with(&values, &grid, TreeKind::Join, parallelism, &mut |_| {
                    marks.push(Instant::now())
                })
                .unwrap();
            drop(tree);
            let times: Vec<f64> = marks
                .windows(2)
                .map(|w| (w[1] - w[0]).as_secs_f64() / n as f64 * 1e9)
                .collect();
            if best[row].is_empty() {
                best[row] = times;
            } else {
                for (b, t) in best[row].iter_mut().zip(times) {
                    *b = b.min(t);
                }
            }
        }
    }
    println!(
        "{side}^{dims} noise {noise}: ns per vertex in each pass (descend, resolve, candidates, saddles, segment)"
    );
    for (row, count) in [1, threads].into_iter().enumerate() {
        let cells: Vec<String> = best[row].iter().map(|t| format!("{t:7.1}")).collect();
        let total: f64 = best[row].iter().sum();
        println!("{count} thr: {} | total {total:7.1}", cells.join(" "));
    }
}

/// The fourth table: the sequential sweep against the parallel algorithm on one thread and on
/// every core, on fields within and beyond the cache, with a check that all three trees are the
/// same node for node and vertex for vertex.
fn parallel_table(quick: bool) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "{:<6} {:<7} {:<12} {:>7} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>8} {:>9} {:>9}",
        "grid",
        "field",
        "connectivity",
        "minima",
        "seq ms",
        "1 thr ms",
        format!("{threads} thr ms"),
        "seq/1",
        format!("seq/{threads}"),
        format!("1/{threads}"),
        "ns/vert",
        "B/vertex",
        "identical"
    );
    let mut cases = vec![
        (41usize, 3usize, "smooth", 0.0f32, Connectivity::Freudenthal),
        (41, 3, "noisy", 0.5, Connectivity::Freudenthal),
        (41, 4, "smooth", 0.0, Connectivity::Freudenthal),
        (41, 4, "noisy", 0.5, Connectivity::Freudenthal),
        (41, 4, "smooth", 0.0, Connectivity::Axis),
    ];
    if !quick {
        cases.push((41, 5, "smooth", 0.0, Connectivity::Freudenthal));
    }
    // `-- parallel smooth` or `-- parallel noisy` keeps the rows of that field only.
    let only: Vec<String> = std::env::args()
        .filter(|a| a == "smooth" || a == "noisy")
        .collect();
    cases.retain(|case| only.is_empty() || only.iter().any(|o| o == case.2));
    for (side, dims, label, noise, connectivity) in cases {
        let n = side.pow(dims as u32);
        let rounds = if n > 10_000_000 {
            1
        } else if n > 1_000_000 {
            11
        } else {
            21
        };
        let values = landscape(side, dims, noise);
        let grid = Grid::new(&vec![side; dims], connectivity).unwrap();
        let tree = |parallelism| {
            MergeTree::compute_with(&values, &grid, TreeKind::Join, parallelism, &mut |_| {})
                .unwrap()
        };
        let one = Parallelism::Threads(NonZeroUsize::MIN);
        let all = Parallelism::Threads(NonZeroUsize::new(threads).unwrap());
        // Rounds of the three, interleaved, and the fastest of each: on a shared machine the
        // second core is sometimes taken, and the minimum is the least disturbed run.
        let (mut seq, mut single, mut multi, mut peak) = (f64::MAX, f64::MAX, f64::MAX, 0);
        let mut identical = true;
        let mut leaves = 0;
        for _ in 0..rounds {
            let (s, _, reference) = measure_keeping(1, || tree(Parallelism::Sequential));
            let same = |other: &MergeTree| {
                other.nodes() == reference.nodes()
                    && other.segmentation() == reference.segmentation()
            };
            let (t1, _, single_tree) = measure_keeping(1, || tree(one));
            identical &= same(&single_tree);
            drop(single_tree);
            let (tn, p, multi_tree) = measure_keeping(1, || tree(all));
            identical &= same(&multi_tree);
            drop(multi_tree);
            leaves = reference.leaf_count();
            (seq, single, multi) = (seq.min(s), single.min(t1), multi.min(tn));
            peak = peak.max(p);
        }
        println!(
            "{:<6} {:<7} {:<12} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>6.2}x {:>6.2}x {:>6.2}x {:>8.1} {:>9.1} {:>9}",
            format!("{side}^{dims}"),
            label,
            connectivity.name(),
            leaves,
            seq * 1e3,
            single * 1e3,
            multi * 1e3,
            seq / single,
            seq / multi,
            single / multi,
            multi / n as f64 * 1e9,
            peak as f64 / n as f64,
            identical
        );
    }
    let (compute, stream) = machine_scaling(threads, 5);
    println!(
        "the machine, 1 against {threads} threads (fastest of 5): computing {compute:.2}x, streaming memory {stream:.2}x"
    );
}
