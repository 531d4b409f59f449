//! Data parallelism on scoped threads: contiguous ranges of an index space, one per thread, and
//! a slice that threads write at disjoint positions.

use std::marker::PhantomData;
use std::ops::Range;

/// The number of threads the machine offers (1 if it cannot tell).
pub(crate) fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Splits `0..len` into `parts` contiguous ranges of near-equal length (none empty unless `len`
/// is smaller than `parts`), in order.
pub(crate) fn split(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|p| (len * p / parts)..(len * (p + 1) / parts))
        .collect()
}

/// Runs `work` on every range of `split(len, threads)`, each on its own thread (the first on the
/// calling one), and returns the results in range order.
pub(crate) fn map_ranges<R: Send>(
    len: usize,
    threads: usize,
    work: impl Fn(usize, Range<usize>) -> R + Sync,
) -> Vec<R> {
    let ranges = split(len, threads);
    if ranges.len() == 1 {
        return vec![work(0, ranges[0].clone())];
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = ranges[1..]
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let range = range.clone();
                scope.spawn(move || work(i + 1, range))
            })
            .collect();
        let mut results = Vec::with_capacity(ranges.len());
        results.push(work(0, ranges[0].clone()));
        for handle in handles {
            match handle.join() {
                Ok(result) => results.push(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

/// Runs `work` on the ranges `0..len` cut into pieces of `chunk` (the last shorter), which
/// `threads` threads take in turn as each finishes one, and returns the results in range
/// order. The threads thus stay close together in the index space: where each piece reads a
/// window around it (a grid's neighbours), they share one window in the cache instead of
/// needing one each.
pub(crate) fn map_chunks<R: Send>(
    len: usize,
    chunk: usize,
    threads: usize,
    work: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let chunk = chunk.max(1);
    let pieces = len.div_ceil(chunk);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || {
        let mut results = Vec::new();
        loop {
            let piece = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if piece >= pieces {
                return results;
            }
            let range = piece * chunk..((piece + 1) * chunk).min(len);
            results.push((piece, work(range)));
        }
    };
    let mut all: Vec<(usize, R)> = map_ranges(
        threads.min(pieces).max(1),
        threads.min(pieces).max(1),
        |_, _| worker(),
    )
    .into_iter()
    .flatten()
    .collect();
    all.sort_unstable_by_key(|(piece, _)| *piece);
    all.into_iter().map(|(_, result)| result).collect()
}

/// Calls `work(start, chunk)` for the chunks of `out` at the ranges of
/// `split(out.len(), threads)`, each on its own thread (the first on the calling one).
pub(crate) fn for_each_chunk_mut<T: Send>(
    out: &mut [T],
    threads: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let ranges = split(out.len(), threads);
    let mut chunks = Vec::with_capacity(ranges.len());
    let mut rest = out;
    for range in &ranges {
        let (chunk, tail) = rest.split_at_mut(range.len());
        chunks.push((range.start, chunk));
        rest = tail;
    }
    let work = &work;
    std::thread::scope(|scope| {
        let mut chunks = chunks.into_iter();
        let (first_start, first) = chunks.next().expect("at least one range");
        let handles: Vec<_> = chunks
            .map(|(start, chunk)| scope.spawn(move || work(start, chunk)))
            .collect();
        work(first_start, first);
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// A mutable slice that several threads write at once, each at positions no other thread
/// touches. Safe code cannot express "disjoint but interleaved", so the writes are `unsafe`.
pub(crate) struct DisjointSlice<'a, T> {
    start: *mut T,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: the slice is only written through `write`, whose contract forbids two threads from
// writing (or one writing while another reads) the same position; T itself moves between threads.
unsafe impl<T: Send> Sync for DisjointSlice<'_, T> {}
unsafe impl<T: Send> Send for DisjointSlice<'_, T> {}

impl<'a, T> DisjointSlice<'a, T> {
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        Self {
            start: slice.as_mut_ptr(),
            len: slice.len(),
            _borrow: PhantomData,
        }
    }

    /// Writes `value` at `index` (bounds-checked).
    ///
    /// # Safety
    /// While this slice is shared, no other thread may access position `index`.
    #[inline]
    pub(crate) unsafe fn write(&self, index: usize, value: T) {
        assert!(index < self.len, "index {index} out of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { *self.start.add(index) = value };
    }

    /// Copies `values` to positions `index..index + values.len()` (bounds-checked).
    ///
    /// # Safety
    /// While this slice is shared, no other thread may access those positions.
    #[inline]
    pub(crate) unsafe fn write_all(&self, index: usize, values: &[T])
    where
        T: Copy,
    {
        assert!(
            index <= self.len && values.len() <= self.len - index,
            "positions {index}..+{} out of {}",
            values.len(),
            self.len
        );
        // An element loop, not `copy_nonoverlapping`: the lists copied are a few items long,
        // shorter than a call to `memmove` is worth.
        for (k, &value) in values.iter().enumerate() {
            // SAFETY: in bounds (checked above); exclusive by the caller's contract.
            unsafe { *self.start.add(index + k) = value };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_range_in_order() {
        for len in [0, 1, 5, 100, 101] {
            for parts in 1..6 {
                let ranges = split(len, parts);
                assert_eq!(ranges.len(), parts);
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[parts - 1].end, len);
                for pair in ranges.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len().abs_diff(pair[1].len()) <= 1);
                }
            }
        }
    }

    #[test]
    fn map_ranges_returns_results_in_order_and_writes_disjointly() {
        let mut out = vec![0usize; 1000];
        let slice = DisjointSlice::new(&mut out);
        let sums = map_ranges(1000, 3, |part, range| {
            for i in range.clone() {
                // SAFETY: the ranges are disjoint.
                unsafe { slice.write(i, i * 2 + part) };
            }
            range.sum::<usize>()
        });
        assert_eq!(sums.iter().sum::<usize>(), 999 * 1000 / 2);
        let ranges = split(1000, 3);
        for (part, range) in ranges.iter().enumerate() {
            assert!(range.clone().all(|i| out[i] == i * 2 + part));
        }
        let pieces = map_chunks(1003, 10, 3, |range| range);
        assert_eq!(pieces.len(), 101);
        assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!((pieces[0].start, pieces[100].end), (0, 1003));
        for_each_chunk_mut(&mut out, 4, |start, chunk| {
            for (i, x) in chunk.iter_mut().enumerate() {
                *x = start + i;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &x)| x == i));
    }
}
