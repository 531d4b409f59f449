//! Persistence diagrams of merge trees and the distances between them, for comparing landscapes
//! across seeds and hyperparameters.
//!
//! Both distances use the L-infinity distance between points, `max(|b - b'|, |d - d'|)`, and let
//! any point be matched to the diagonal at cost `|d - b| / 2` (Cohen-Steiner, Edelsbrunner and
//! Harer 2007 for the bottleneck distance; the 1-Wasserstein distance as in Edelsbrunner and
//! Harer's "Computational Topology" and in gudhi/Hera). Points that never die (essential
//! classes) are matched only among themselves, in order of birth, which is optimal on a line;
//! if the two diagrams have different numbers of them the distance is infinite.

use crate::matching::WassersteinEstimate;
use crate::tree::MergeTree;

/// The 0-dimensional persistence diagram of a tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    /// `(birth, death)` of every pair with a finite, non-zero persistence.
    pub points: Vec<(f64, f64)>,
    /// The births of the pairs that never die (or die at a non-finite level).
    pub essential: Vec<f64>,
}

impl Diagram {
    /// The diagram of a tree's pairs. Pairs on the diagonal (zero persistence) are left out, as
    /// they are at distance 0 from it; so are pairs born at a non-finite level.
    pub fn of(tree: &MergeTree) -> Self {
        let mut diagram = Diagram::default();
        for pair in tree.pairs() {
            if !pair.birth.is_finite() {
                continue;
            }
            match pair.death {
                Some(death) if pair.persistence.is_finite() => {
                    if pair.persistence > 0.0 {
                        diagram.points.push((pair.birth, death));
                    }
                }
                _ => diagram.essential.push(pair.birth),
            }
        }
        diagram
    }
}

fn point_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).abs().max((a.1 - b.1).abs())
}

fn diagonal_distance(a: (f64, f64)) -> f64 {
    (a.1 - a.0).abs() / 2.0
}

/// The square cost matrix of matching `a` against `b` with diagonal slots: rows are `a`'s
/// points then one diagonal slot per point of `b`; columns are `b`'s points then one diagonal
/// slot per point of `a`.
fn cost_matrix(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let size = a.len() + b.len();
    let mut cost = vec![vec![0.0; size]; size];
    for (i, row) in cost.iter_mut().enumerate() {
        for (j, c) in row.iter_mut().enumerate() {
            *c = match (a.get(i), b.get(j)) {
                (Some(&p), Some(&q)) => point_distance(p, q),
                (Some(&p), None) => diagonal_distance(p),
                (None, Some(&q)) => diagonal_distance(q),
                (None, None) => 0.0,
            };
        }
    }
    cost
}

fn essential_costs(a: &Diagram, b: &Diagram) -> Option<Vec<f64>> {
    if a.essential.len() != b.essential.len() {
        return None;
    }
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (x, y) = (sorted(&a.essential), sorted(&b.essential));
    Some(x.iter().zip(&y).map(|(p, q)| (p - q).abs()).collect())
}

/// The bottleneck distance: the smallest `t` such that the diagrams can be matched (points to
/// points or to the diagonal) with every matched pair at most `t` apart. Exact, by matchings
/// over k-d trees without the n^2 matrix ([`crate::bottleneck_geometric`]).
pub fn bottleneck_distance(a: &Diagram, b: &Diagram) -> f64 {
    let Some(essential) = essential_costs(a, b) else {
        return f64::INFINITY;
    };
    let essential = essential.into_iter().fold(0.0, f64::max);
    crate::bottleneck_geometric(&a.points, &b.points).max(essential)
}

/// The 1-Wasserstein distance to within a relative error `delta`, by the auction of
/// [`crate::wasserstein_auction`]; the essential classes' births add their exact differences
/// (infinite when the diagrams have different numbers of them).
pub fn wasserstein_estimate(a: &Diagram, b: &Diagram, delta: f64) -> WassersteinEstimate {
    let Some(essential) = essential_costs(a, b) else {
        return WassersteinEstimate {
            value: f64::INFINITY,
            lower_bound: f64::INFINITY,
            relative_error: 0.0,
        };
    };
    let essential: f64 = essential.iter().sum();
    let finite = crate::wasserstein_auction(&a.points, &b.points, delta);
    let (value, lower_bound) = (finite.value + essential, finite.lower_bound + essential);
    WassersteinEstimate {
        value,
        lower_bound,
        relative_error: if value == lower_bound {
            0.0
        } else {
            (value - lower_bound) / lower_bound
        },
    }
}

/// The bottleneck distance by a binary search over the sorted n^2 entries of the cost matrix,
/// each step a Hopcroft-Karp matching: the reference [`bottleneck_distance`] is checked
/// against, O(n^2) memory.
pub fn bottleneck_distance_by_matrix(a: &Diagram, b: &Diagram) -> f64 {
    let Some(essential) = essential_costs(a, b) else {
        return f64::INFINITY;
    };
    let essential = essential.into_iter().fold(0.0, f64::max);
    let cost = cost_matrix(&a.points, &b.points);
    let mut candidates: Vec<f64> = cost.iter().flatten().copied().collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    // The largest candidate always admits a perfect matching (every edge allowed).
    let (mut low, mut high) = (0, candidates.len().saturating_sub(1));
    while low < high {
        let middle = (low + high) / 2;
        if has_perfect_matching(&cost, candidates[middle]) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    candidates.get(low).copied().unwrap_or(0.0).max(essential)
}

/// The 1-Wasserstein distance: the smallest total cost of a matching of the diagrams (points
/// to points or to the diagonal). Exact, by the Hungarian method: O(n^3) time and O(n^2)
/// memory for n points in both diagrams together; [`wasserstein_estimate`] scales.
pub fn wasserstein_distance(a: &Diagram, b: &Diagram) -> f64 {
    let Some(essential) = essential_costs(a, b) else {
        return f64::INFINITY;
    };
    let cost = cost_matrix(&a.points, &b.points);
    let assignment = min_cost_assignment(&cost);
    let matched: f64 = assignment
        .iter()
        .enumerate()
        .map(|(i, &j)| cost[i][j])
        .sum();
    matched + essential.iter().sum::<f64>()
}

/// Whether the bipartite graph of the entries `<= limit` has a perfect matching
/// (Hopcroft-Karp).
fn has_perfect_matching(cost: &[Vec<f64>], limit: f64) -> bool {
    let n = cost.len();
    let edges: Vec<Vec<usize>> = cost
        .iter()
        .map(|row| (0..n).filter(|&j| row[j] <= limit).collect())
        .collect();
    const FREE: usize = usize::MAX;
    let mut row_match = vec![FREE; n];
    let mut column_match = vec![FREE; n];
    let mut distance = vec![0usize; n];
    let mut matched = 0;
    loop {
        // Breadth-first layering from the free rows.
        let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        for i in 0..n {
            if row_match[i] == FREE {
                distance[i] = 0;
                queue.push_back(i);
            } else {
                distance[i] = usize::MAX;
            }
        }
        let mut found = false;
        while let Some(i) = queue.pop_front() {
            for &j in &edges[i] {
                match column_match[j] {
                    FREE => found = true,
                    k if distance[k] == usize::MAX => {
                        distance[k] = distance[i] + 1;
                        queue.push_back(k);
                    }
                    _ => {}
                }
            }
        }
        if !found {
            return matched == n;
        }
        // Depth-first augmentation along the layers.
        fn augment(
            i: usize,
            edges: &[Vec<usize>],
            row_match: &mut [usize],
            column_match: &mut [usize],
            distance: &mut [usize],
        ) -> bool {
            for &j in &edges[i] {
                let k = column_match[j];
                let next = k == usize::MAX
                    || (distance[k] == distance[i] + 1
                        && augment(k, edges, row_match, column_match, distance));
                if next {
                    row_match[i] = j;
                    column_match[j] = i;
                    return true;
                }
            }
            distance[i] = usize::MAX;
            false
        }
        for i in 0..n {
            if row_match[i] == FREE
                && augment(i, &edges, &mut row_match, &mut column_match, &mut distance)
            {
                matched += 1;
            }
        }
    }
}

/// The column assigned to every row in a minimum-cost perfect assignment of a square matrix
/// (the Hungarian algorithm with potentials, O(n^3)).
fn min_cost_assignment(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    // 1-based arrays with a sentinel column 0, as in the classic formulation.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut row_of_column = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        row_of_column[0] = i;
        let mut column = 0;
        let mut slack = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[column] = true;
            let row = row_of_column[column];
            let mut delta = f64::INFINITY;
            let mut next = 0;
            for j in 1..=n {
                if !used[j] {
                    let reduced = cost[row - 1][j - 1] - u[row] - v[j];
                    if reduced < slack[j] {
                        slack[j] = reduced;
                        way[j] = column;
                    }
                    if slack[j] < delta {
                        delta = slack[j];
                        next = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[row_of_column[j]] += delta;
                    v[j] -= delta;
                } else {
                    slack[j] -= delta;
                }
            }
            column = next;
            if row_of_column[column] == 0 {
                break;
            }
        }
        loop {
            let previous = way[column];
            row_of_column[column] = row_of_column[previous];
            column = previous;
            if column == 0 {
                break;
            }
        }
    }
    let mut assignment = vec![0; n];
    for j in 1..=n {
        if row_of_column[j] > 0 {
            assignment[row_of_column[j] - 1] = j - 1;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram(points: &[(f64, f64)], essential: &[f64]) -> Diagram {
        Diagram {
            points: points.to_vec(),
            essential: essential.to_vec(),
        }
    }

    #[test]
    fn identical_diagrams_are_at_distance_zero() {
        let a = diagram(&[(0.0, 4.0), (1.0, 2.5), (0.5, 0.75)], &[0.0]);
        assert_eq!(bottleneck_distance(&a, &a), 0.0);
        assert_eq!(wasserstein_distance(&a, &a), 0.0);
        let empty = Diagram::default();
        assert_eq!(bottleneck_distance(&empty, &empty), 0.0);
        assert_eq!(wasserstein_distance(&empty, &empty), 0.0);
    }

    #[test]
    fn known_distances() {
        // One point moved by 1: matching the points costs 1; sending both to the diagonal
        // would cost 2 and 1.5.
        let a = diagram(&[(0.0, 4.0)], &[]);
        let b = diagram(&[(1.0, 4.0)], &[]);
        assert_eq!(bottleneck_distance(&a, &b), 1.0);
        assert_eq!(wasserstein_distance(&a, &b), 1.0);
        // A lone point goes to the diagonal: half its persistence.
        let empty = Diagram::default();
        assert_eq!(bottleneck_distance(&a, &empty), 2.0);
        assert_eq!(wasserstein_distance(&a, &empty), 2.0);
        // Two extra small points: the bottleneck is the larger, Wasserstein the sum.
        let c = diagram(&[(0.0, 4.0), (0.0, 1.0), (2.0, 2.5)], &[]);
        assert_eq!(bottleneck_distance(&a, &c), 0.5);
        assert_eq!(wasserstein_distance(&a, &c), 0.75);
        // Essential classes add |birth - birth'|; different counts are infinitely far.
        let d = diagram(&[(1.0, 4.0)], &[0.5]);
        let e = diagram(&[(0.0, 4.0)], &[0.0]);
        assert_eq!(bottleneck_distance(&d, &e), 1.0);
        assert_eq!(wasserstein_distance(&d, &e), 1.5);
        assert_eq!(bottleneck_distance(&d, &a), f64::INFINITY);
        assert_eq!(wasserstein_distance(&d, &a), f64::INFINITY);
    }

    /// Every perfect matching of the augmented problem, by brute force.
    fn brute_force(a: &[(f64, f64)], b: &[(f64, f64)]) -> (f64, f64) {
        let cost = cost_matrix(a, b);
        let n = cost.len();
        let mut permutation: Vec<usize> = (0..n).collect();
        fn visit(k: usize, p: &mut Vec<usize>, cost: &[Vec<f64>], best: &mut (f64, f64)) {
            if k == p.len() {
                let costs = p.iter().enumerate().map(|(i, &j)| cost[i][j]);
                best.0 = best.0.min(costs.clone().fold(0.0, f64::max));
                best.1 = best.1.min(costs.sum());
                return;
            }
            for i in k..p.len() {
                p.swap(k, i);
                visit(k + 1, p, cost, best);
                p.swap(k, i);
            }
        }
        let mut best = (f64::INFINITY, f64::INFINITY);
        visit(0, &mut permutation, &cost, &mut best);
        best
    }

    #[test]
    fn distances_match_brute_force_on_random_diagrams() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f64 / 100.0
        };
        for round in 0..300 {
            let mut make = |count: usize| -> Vec<(f64, f64)> {
                (0..count)
                    .map(|_| {
                        let b = random();
                        (b, b + random())
                    })
                    .collect()
            };
            let a = make(round % 4);
            let b = make((round / 4) % 4);
            let (bottleneck, wasserstein) = brute_force(&a, &b);
            let (da, db) = (diagram(&a, &[]), diagram(&b, &[]));
            assert_eq!(bottleneck_distance(&da, &db), bottleneck, "{a:?} {b:?}");
            assert_eq!(
                bottleneck_distance_by_matrix(&da, &db),
                bottleneck,
                "{a:?} {b:?}"
            );
            let w = wasserstein_distance(&da, &db);
            assert!(
                (w - wasserstein).abs() < 1e-9,
                "{a:?} {b:?}: {w} vs {wasserstein}"
            );
        }
    }
}
