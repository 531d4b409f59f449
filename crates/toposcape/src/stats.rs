//! Rank statistics for sweeps: how well a topology metric orders the runs by their error.

/// Ranks from 1, ties given the average of the ranks they span.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = rank;
        }
        start = end;
    }
    out
}

/// Spearman's rank correlation of the pairs whose both values are finite: Pearson's correlation
/// of their ranks (average ranks for ties). `None` with fewer than three such pairs or when
/// either side is constant.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = pairs
        .iter()
        .copied()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .unzip();
    if x.len() < 3 {
        return None;
    }
    let (rx, ry) = (ranks(&x), ranks(&y));
    let mean = (x.len() + 1) as f64 / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        let (a, b) = (a - mean, b - mean);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
        x.iter().copied().zip(y.iter().copied()).collect()
    }

    #[test]
    fn matches_scipy() {
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233 (a tie).
        let rho = spearman(&pairs(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[5.0, 6.0, 7.0, 8.0, 7.0],
        ));
        assert!((rho.unwrap() - 0.8207826816681233).abs() < 1e-12);
        // Without ties: 1 - 6 sum d^2 / (n (n^2 - 1)); ranks of y are 2 1 4 3 5, sum d^2 = 4.
        let rho = spearman(&pairs(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[20.0, 10.0, 40.0, 30.0, 50.0],
        ));
        assert!((rho.unwrap() - (1.0 - 6.0 * 4.0 / 120.0)).abs() < 1e-12);
        // Monotone but not linear: exactly 1; reversed: -1.
        let x = [0.1, 0.5, 2.0, 30.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
        assert_eq!(spearman(&pairs(&x, &y)), Some(1.0));
        let y: Vec<f64> = y.iter().map(|v| -v).collect();
        assert_eq!(spearman(&pairs(&x, &y)), Some(-1.0));
    }

    #[test]
    fn too_few_or_constant_is_none() {
        assert_eq!(spearman(&pairs(&[1.0, 2.0], &[1.0, 2.0])), None);
        assert_eq!(spearman(&pairs(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0])), None);
        // Non-finite pairs are dropped before counting.
        assert_eq!(
            spearman(&pairs(&[1.0, 2.0, f64::NAN], &[1.0, 2.0, 3.0])),
            None
        );
    }
}
