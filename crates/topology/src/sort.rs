//! Sorting vertices into the total order (value, vertex id) by an LSD radix sort.
//!
//! Each vertex becomes one integer whose high bits are the value's order key and whose low 32
//! bits are the vertex id. A stable least-significant-digit radix sort over the key bits alone
//! then leaves equal keys in ascending id order, which is exactly the tie-break of simulation of
//! simplicity. Passes whose digit is the same for every vertex (common: a loss landscape spans a
//! narrow range of exponents) are skipped.

use crate::value::FieldValue;

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// An integer that can be sorted by a range of its bits.
trait RadixItem: Copy + Default {
    fn digit(self, shift: u32) -> usize;
}

impl RadixItem for u64 {
    #[inline]
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
}

impl RadixItem for u128 {
    #[inline]
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
}

/// Returns the vertex ids `0..values.len()` sorted by (value, id).
///
/// The caller guarantees `values.len() < u32::MAX`.
pub(crate) fn sorted_vertices<V: FieldValue>(values: &[V]) -> Vec<u32> {
    debug_assert!(values.len() < u32::MAX as usize);
    if V::KEY_BITS <= 32 {
        let mut items: Vec<u64> = values
            .iter()
            .enumerate()
            .map(|(id, value)| (value.order_key() << 32) | id as u64)
            .collect();
        radix_sort(&mut items, 32, V::KEY_BITS);
        items.into_iter().map(|item| item as u32).collect()
    } else {
        let mut items: Vec<u128> = values
            .iter()
            .enumerate()
            .map(|(id, value)| (u128::from(value.order_key()) << 64) | id as u128)
            .collect();
        radix_sort(&mut items, 64, V::KEY_BITS);
        items.into_iter().map(|item| item as u32).collect()
    }
}

/// Stable LSD radix sort of `items` by bits `[first_bit, first_bit + key_bits)`.
fn radix_sort<T: RadixItem>(items: &mut Vec<T>, first_bit: u32, key_bits: u32) {
    let passes = key_bits.div_ceil(DIGIT_BITS) as usize;
    // One read of the data counts the digits of every pass.
    let mut histograms = vec![[0usize; BUCKETS]; passes];
    for &item in items.iter() {
        for (pass, histogram) in histograms.iter_mut().enumerate() {
            histogram[item.digit(first_bit + pass as u32 * DIGIT_BITS)] += 1;
        }
    }
    let len = items.len();
    let mut scratch: Vec<T> = Vec::new();
    for (pass, histogram) in histograms.iter().enumerate() {
        if histogram.contains(&len) {
            continue; // every item has the same digit here: the pass would not move anything
        }
        if scratch.is_empty() {
            scratch = vec![T::default(); len];
        }
        let shift = first_bit + pass as u32 * DIGIT_BITS;
        let mut next = [0usize; BUCKETS];
        let mut total = 0;
        for (slot, &count) in next.iter_mut().zip(histogram.iter()) {
            *slot = total;
            total += count;
        }
        for &item in items.iter() {
            let digit = item.digit(shift);
            scratch[next[digit]] = item;
            next[digit] += 1;
        }
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
    }

    #[test]
    fn constant_field_keeps_id_order() {
        let values = vec![0.5f32; 100];
        assert_eq!(sorted_vertices(&values), (0..100).collect::<Vec<u32>>());
    }
}
