//! Field values and their total order.
//!
//! Vertices are ordered by (value, vertex id). Values are compared through an order-preserving
//! unsigned integer key: `-inf` < finite values < `+inf` < NaN, with `-0.0` equal to `+0.0` and
//! every NaN equal to every other NaN. Ties are broken by the vertex id, which is simulation of
//! simplicity: no two vertices compare equal, so no tie creates a spurious critical point and
//! every result is deterministic.

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type a field can be made of: `f32` or `f64`.
pub trait FieldValue: Copy + Send + Sync + sealed::Sealed + 'static {
    /// The value as `f64` (exact for both types).
    fn to_f64(self) -> f64;
    /// The order-preserving key of the value, widened to `u64`; only the low
    /// [`FieldValue::KEY_BITS`] bits can be non-zero.
    fn order_key(self) -> u64;
    /// How many bits the key uses (32 for `f32`, 64 for `f64`).
    const KEY_BITS: u32;
}

impl FieldValue for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline]
    fn order_key(self) -> u64 {
        // Selects rather than branches (the compiler makes them conditional moves): keys are
        // computed for every neighbour of every vertex, and signs can be a coin flip.
        let bits = self.to_bits();
        let flipped = if bits & 0x8000_0000 != 0 {
            !bits
        } else {
            bits | 0x8000_0000
        };
        // Both zeros map to the key of +0.0; every NaN to the top.
        let key = if self == 0.0 { 0x8000_0000 } else { flipped };
        u64::from(if self.is_nan() { u32::MAX } else { key })
    }

    const KEY_BITS: u32 = 32;
}

impl FieldValue for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }

    #[inline]
    fn order_key(self) -> u64 {
        if self.is_nan() {
            u64::MAX
        } else if self == 0.0 {
            0x8000_0000_0000_0000
        } else {
            let bits = self.to_bits();
            if bits & 0x8000_0000_0000_0000 != 0 {
                !bits
            } else {
                bits | 0x8000_0000_0000_0000
            }
        }
    }

    const KEY_BITS: u32 = 64;
}

/// Where a value sits in the total order, coarsely: below, among, or above the finite values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ValueClass {
    NegativeInfinity,
    Finite,
    PositiveInfinity,
    NotANumber,
}

impl ValueClass {
    pub(crate) fn of(value: f64) -> Self {
        if value.is_nan() {
            Self::NotANumber
        } else if value == f64::INFINITY {
            Self::PositiveInfinity
        } else if value == f64::NEG_INFINITY {
            Self::NegativeInfinity
        } else {
            Self::Finite
        }
    }
}

/// The distance between two values of the total order, `high` at or above `low`: their
/// difference when both are finite, 0 when both sit at the same non-finite level (two NaNs, or
/// two infinities of one sign), and `+inf` when they lie in different classes.
pub(crate) fn level_gap(low: f64, high: f64) -> f64 {
    let (a, b) = (ValueClass::of(low), ValueClass::of(high));
    match (a, b) {
        (ValueClass::Finite, ValueClass::Finite) => high - low,
        _ if a == b => 0.0,
        _ => f64::INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_keys_follow_the_total_order() {
        let ordered = [
            f32::NEG_INFINITY,
            f32::MIN,
            -1.5,
            -f32::MIN_POSITIVE,
            -1e-45,
            0.0,
            1e-45,
            f32::MIN_POSITIVE,
            2.0,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0].order_key() < pair[1].order_key(), "{pair:?}");
        }
        assert_eq!((-0.0f32).order_key(), 0.0f32.order_key());
        assert_eq!((-f32::NAN).order_key(), f32::NAN.order_key());
    }

    #[test]
    fn f64_keys_follow_the_total_order() {
        let ordered = [
            f64::NEG_INFINITY,
            f64::MIN,
            -1.5,
            -5e-324,
            0.0,
            5e-324,
            3.0,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0].order_key() < pair[1].order_key(), "{pair:?}");
        }
        assert_eq!((-0.0f64).order_key(), 0.0f64.order_key());
    }

    #[test]
    fn level_gap_of_classes() {
        assert_eq!(level_gap(1.0, 3.5), 2.5);
        assert_eq!(level_gap(f64::NAN, f64::NAN), 0.0);
        assert_eq!(level_gap(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(level_gap(1.0, f64::NAN), f64::INFINITY);
        assert_eq!(level_gap(f64::NEG_INFINITY, 0.0), f64::INFINITY);
        assert_eq!(level_gap(f64::INFINITY, f64::NAN), f64::INFINITY);
    }
}
