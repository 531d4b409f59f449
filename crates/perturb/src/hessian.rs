//! Top Hessian eigenpairs: Hessian-vector products by central differences of gradients, and
//! the Lanczos method with full reorthogonalisation for the largest algebraic eigenvalues.
//!
//! burn 0.22 cannot differentiate through a gradient with its high-level API, so the product
//! is `H v ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps)` for a unit `v`: its truncation
//! error is O(eps^2) (third derivatives) and its rounding error O(u |g| / eps) with u the f32
//! unit roundoff, balanced near eps = 1e-2 for the models here (burn-notes measured a relative
//! error of 2.4e-5 there; the tests check it against analytic Hessians).

use nalgebra::{DMatrix, SymmetricEigen};

use crate::model::LandscapeModel;
use crate::random::SplitMix64;

/// Counts Hessian-vector products of a model at a point.
pub struct Hvp<'a, L: LandscapeModel + ?Sized> {
    model: &'a mut L,
    theta: Vec<f32>,
    /// The finite-difference step along a unit vector.
    pub eps: f64,
    /// Products computed so far (two gradients each).
    pub count: usize,
}

impl<'a, L: LandscapeModel + ?Sized> Hvp<'a, L> {
    pub fn new(model: &'a mut L, theta: &[f32], eps: f64) -> Self {
        Hvp {
            model,
            theta: theta.to_vec(),
            eps,
            count: 0,
        }
    }

    /// `H v` at the point. `v` need not be a unit vector: the step is `eps` along `v / |v|`
    /// and the result is scaled back.
    pub fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return vec![0.0; v.len()];
        }
        let step = self.eps / norm;
        let shifted = |sign: f64| -> Vec<f32> {
            self.theta
                .iter()
                .zip(v)
                .map(|(t, d)| (f64::from(*t) + sign * step * d) as f32)
                .collect()
        };
        let (plus, minus) = (shifted(1.0), shifted(-1.0));
        let (_, g_plus) = self.model.loss_and_gradient(&plus);
        let (_, g_minus) = self.model.loss_and_gradient(&minus);
        self.count += 1;
        // The actual step taken in f32 may differ slightly from `step`; divide by the intended
        // one (the difference is below f32 resolution of theta, i.e. part of the rounding error).
        g_plus
            .iter()
            .zip(&g_minus)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)) / (2.0 * step))
            .collect()
    }
}

/// Options of [`top_eigenpairs`].
#[derive(Debug, Clone, PartialEq)]
pub struct LanczosOptions {
    /// How many of the largest (algebraic) eigenvalues.
    pub k: usize,
    /// Stop when every wanted Ritz pair has `|H v - lambda v| <= tol * |lambda|`.
    pub tol: f64,
    /// The most Lanczos steps (each one product).
    pub max_steps: usize,
    /// Seed of the start vector.
    pub seed: u64,
}

impl Default for LanczosOptions {
    fn default() -> Self {
        LanczosOptions {
            k: 4,
            tol: 1e-3,
            max_steps: 100,
            seed: 0,
        }
    }
}

/// The result of [`top_eigenpairs`].
#[derive(Debug, Clone, PartialEq)]
pub struct Eigenpairs {
    /// Largest first.
    pub values: Vec<f64>,
    /// Unit vectors, orthonormal, in the order of `values`.
    pub vectors: Vec<Vec<f64>>,
    /// `|H v - lambda v|` of each pair, measured with one more product each.
    pub residuals: Vec<f64>,
    /// Products used, the residual checks included.
    pub products: usize,
    /// Lanczos steps taken.
    pub steps: usize,
    /// Whether every pair met the tolerance (estimated during the iteration).
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The `k` largest algebraic eigenvalues of a symmetric operator `apply` on vectors of length
/// `n`, with their eigenvectors, by Lanczos with full reorthogonalisation (twice, classical
/// Gram-Schmidt). The small tridiagonal problem is solved with nalgebra.
pub fn top_eigenpairs(
    n: usize,
    mut apply: impl FnMut(&[f64]) -> Vec<f64>,
    options: &LanczosOptions,
) -> Eigenpairs {
    let k = options.k.min(n).max(1);
    let max_steps = options.max_steps.max(k).min(n);
    // A seeded start vector, uniform in [-1, 1] per component.
    let mut random = SplitMix64(options.seed ^ 0x1a2c_3e4f_5a6b_7c8d);
    let mut q: Vec<f64> = (0..n).map(|_| random.between(-1.0, 1.0)).collect();
    let q_norm = norm(&q);
    q.iter_mut().for_each(|x| *x /= q_norm);

    let mut basis: Vec<Vec<f64>> = Vec::new();
    let (mut alphas, mut betas) = (Vec::new(), Vec::new());
    let mut products = 0;
    let mut ritz: (Vec<f64>, DMatrix<f64>);
    let mut converged = false;
    loop {
        let mut w = apply(&q);
        products += 1;
        let alpha = dot(&w, &q);
        basis.push(q.clone());
        // w -= alpha q + beta q_prev, then reorthogonalise against the whole basis, twice.
        for _ in 0..2 {
            for b in &basis {
                let c = dot(&w, b);
                w.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
            }
        }
        alphas.push(alpha);
        let beta = norm(&w);
        let m = basis.len();
        // Ritz values and vectors of the tridiagonal matrix.
        let mut t = DMatrix::<f64>::zeros(m, m);
        for i in 0..m {
            t[(i, i)] = alphas[i];
            if i + 1 < m {
                t[(i, i + 1)] = betas[i];
                t[(i + 1, i)] = betas[i];
            }
        }
        let eigen = SymmetricEigen::new(t);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let values: Vec<f64> = order.iter().map(|&i| eigen.eigenvalues[i]).collect();
        let vectors = DMatrix::from_fn(m, m, |r, c| eigen.eigenvectors[(r, order[c])]);
        // The residual of a Ritz pair is beta times the last component of its vector.
        if m >= k {
            converged = (0..k).all(|i| {
                (beta * vectors[(m - 1, i)]).abs() <= options.tol * values[i].abs().max(1e-300)
            });
        }
        ritz = (values, vectors);
        if (converged && m >= k) || m >= max_steps || beta <= 1e-12 * alpha.abs().max(1.0) {
            break;
        }
        betas.push(beta);
        q = w.iter().map(|x| x / beta).collect();
    }
    let m = basis.len();
    let k = k.min(m);
    let (values, coefficients) = ritz;
    let mut out_vectors = Vec::with_capacity(k);
    let mut residuals = Vec::with_capacity(k);
    for i in 0..k {
        let mut v = vec![0.0; n];
        for (j, b) in basis.iter().enumerate() {
            let c = coefficients[(j, i)];
            v.iter_mut().zip(b).for_each(|(x, y)| *x += c * y);
        }
        let v_norm = norm(&v);
        v.iter_mut().for_each(|x| *x /= v_norm);
        let hv = apply(&v);
        products += 1;
        let r: f64 = hv
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - values[i] * b).powi(2))
            .sum::<f64>()
            .sqrt();
        residuals.push(r);
        out_vectors.push(v);
    }
    Eigenpairs {
        values: values[..k].to_vec(),
        vectors: out_vectors,
        residuals,
        products,
        steps: m,
        converged,
    }
}
