//! Sorting vertices into the total order (value, vertex id) by an LSD radix sort.
//!
//! Each vertex becomes one integer whose high bits are the value's order key and whose low 32
//! bits are the vertex id. A stable least-significant-digit radix sort over the key bits alone
//! then leaves equal keys in ascending id order, which is exactly the tie-break of simulation of
//! simplicity. Passes whose digit is the same for every vertex (common: a loss landscape spans a
//! narrow range of exponents) are skipped.

use crate::par;
use crate::value::FieldValue;

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// The fewest items a thread of the sort gets.
const MIN_ITEMS_PER_THREAD: usize = 1024;

/// An integer that can be sorted by a range of its bits.
trait RadixItem: Copy + Default + Send + Sync {
    fn digit(self, shift: u32) -> usize;
    fn low_u32(self) -> u32;
    fn from_parts(key: u64, index: u32, key_shift: u32) -> Self;
}

impl RadixItem for u64 {
    #[inline]
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
    #[inline]
    fn low_u32(self) -> u32 {
        self as u32
    }
    #[inline]
    fn from_parts(key: u64, index: u32, key_shift: u32) -> Self {
        (key << key_shift) | u64::from(index)
    }
}

impl RadixItem for u128 {
    #[inline]
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
    #[inline]
    fn low_u32(self) -> u32 {
        self as u32
    }
    #[inline]
    fn from_parts(key: u64, index: u32, key_shift: u32) -> Self {
        (u128::from(key) << key_shift) | u128::from(index)
    }
}

/// Returns the vertex ids `0..values.len()` sorted by (value, id), on one thread.
///
/// The caller guarantees `values.len() < u32::MAX`.
pub(crate) fn sorted_vertices<V: FieldValue>(values: &[V]) -> Vec<u32> {
    sorted_indices::<V>(values.len(), |i| values[i].order_key(), 1)
}

/// Returns the indices `0..len` sorted by (`key(index)`, index), where `key` returns a value's
/// order key ([`FieldValue::order_key`] of `V`), using `threads` threads.
///
/// The caller guarantees `len < u32::MAX`.
pub(crate) fn sorted_indices<V: FieldValue>(
    len: usize,
    key: impl Fn(usize) -> u64 + Sync,
    threads: usize,
) -> Vec<u32> {
    debug_assert!(len < u32::MAX as usize);
    // Each pass spawns its threads anew: not worth it for a few thousand items.
    let threads = threads.clamp(1, len.div_ceil(MIN_ITEMS_PER_THREAD).max(1));
    if V::KEY_BITS <= 32 {
        sort_with::<u64>(len, &key, 32, V::KEY_BITS, threads)
    } else {
        sort_with::<u128>(len, &key, 64, V::KEY_BITS, threads)
    }
}

fn sort_with<T: RadixItem>(
    len: usize,
    key: &(impl Fn(usize) -> u64 + Sync),
    key_shift: u32,
    key_bits: u32,
    threads: usize,
) -> Vec<u32> {
    let mut items = vec![T::default(); len];
    par::for_each_chunk_mut(&mut items, threads, |start, chunk| {
        for (i, item) in chunk.iter_mut().enumerate() {
            let index = start + i;
            *item = T::from_parts(key(index), index as u32, key_shift);
        }
    });
    radix_sort(&mut items, key_shift, key_bits, threads);
    let mut sorted = vec![0u32; len];
    par::for_each_chunk_mut(&mut sorted, threads, |start, chunk| {
        for (out, item) in chunk.iter_mut().zip(&items[start..]) {
            *out = item.low_u32();
        }
    });
    sorted
}

/// Stable LSD radix sort of `items` by bits `[first_bit, first_bit + key_bits)` on `threads`
/// threads: each pass counts the digits of every thread's block, gives each (digit, block) its
/// own stretch of the output in digit-then-block order (which keeps the sort stable), and lets
/// every thread scatter its block.
fn radix_sort<T: RadixItem>(items: &mut Vec<T>, first_bit: u32, key_bits: u32, threads: usize) {
    let passes = key_bits.div_ceil(DIGIT_BITS) as usize;
    let len = items.len();
    let mut scratch: Vec<T> = Vec::new();
    for pass in 0..passes {
        let shift = first_bit + pass as u32 * DIGIT_BITS;
        let counts: Vec<Box<[usize; BUCKETS]>> = par::map_ranges(len, threads, |_, range| {
            let mut histogram = Box::new([0usize; BUCKETS]);
            for &item in &items[range] {
                histogram[item.digit(shift)] += 1;
            }
            histogram
        });
        let digit_total = |digit: usize| counts.iter().map(|h| h[digit]).sum::<usize>();
        if (0..BUCKETS).any(|digit| digit_total(digit) == len) {
            continue; // every item has the same digit here: the pass would not move anything
        }
        if scratch.is_empty() {
            scratch = vec![T::default(); len];
        }
        let mut starts: Vec<Box<[usize; BUCKETS]>> =
            counts.iter().map(|_| Box::new([0usize; BUCKETS])).collect();
        let mut total = 0;
        for digit in 0..BUCKETS {
            for (block, histogram) in counts.iter().enumerate() {
                starts[block][digit] = total;
                total += histogram[digit];
            }
        }
        let out = par::DisjointSlice::new(&mut scratch);
        let source = &items;
        let starts = &starts;
        par::map_ranges(len, threads, |block, range| {
            let mut next = starts[block].clone();
            for &item in &source[range] {
                let digit = item.digit(shift);
                // SAFETY: block `block` owns positions starts[block][d]..+counts[block][d] of
                // every digit d, which no other block's stretch overlaps.
                unsafe { out.write(next[digit], item) };
                next[digit] += 1;
            }
        });
        std::mem::swap(items, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_order<V: FieldValue>(values: &[V]) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..values.len() as u32).collect();
        ids.sort_by_key(|&id| (values[id as usize].order_key(), id));
        ids
    }

    #[test]
    fn sorts_f32_with_ties_nan_and_infinities() {
        let values = [
            3.0f32,
            f32::NAN,
            -1.0,
            3.0,
            f32::INFINITY,
            -0.0,
            0.0,
            f32::NEG_INFINITY,
            -1.0,
            f32::NAN,
            1e30,
            -1e-30,
        ];
        assert_eq!(sorted_vertices(&values), reference_order(&values));
    }

    #[test]
    fn sorts_f64_pseudo_random() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let values: Vec<f64> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Few distinct values, many ties, both signs, and wide exponents.
                ((state % 41) as f64 - 20.0) * 10f64.powi((state >> 40) as i32 % 9 - 4)
            })
            .collect();
        assert_eq!(sorted_vertices(&values), reference_order(&values));
        let narrow: Vec<f32> = values.iter().map(|&v| 1.0 + (v as f32) * 1e-6).collect();
        assert_eq!(sorted_vertices(&narrow), reference_order(&narrow));
        for threads in [2, 3, 7] {
            let sorted = sorted_indices::<f64>(values.len(), |i| values[i].order_key(), threads);
            assert_eq!(sorted, reference_order(&values), "{threads} threads");
            let sorted = sorted_indices::<f32>(narrow.len(), |i| narrow[i].order_key(), threads);
            assert_eq!(sorted, reference_order(&narrow), "{threads} threads");
        }
    }

    #[test]
    fn constant_field_keeps_id_order() {
        let values = vec![0.5f32; 100];
        assert_eq!(sorted_vertices(&values), (0..100).collect::<Vec<u32>>());
    }
}
