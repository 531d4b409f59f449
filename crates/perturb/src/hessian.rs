//! The Hessian at a point through Hessian-vector products: the top eigenpairs by Lanczos, the
//! trace by Hutchinson's estimator, and the eigenvalue density by stochastic Lanczos
//! quadrature.
//!
//! Products are exact where the model provides them
//! ([`LandscapeModel::hessian_vector_product`]: reverse over forward, see [`crate::tangent`]).
//! Otherwise they are central differences of gradients,
//! `H v ~ (g(theta + h v) - g(theta - h v)) / (2 h)` for a unit `v`, whose error (truncation
//! O(h^2), rounding O(u |g| / h), and across ReLU kinks no convergence at all) is not known in
//! advance; [`Hvp::error_estimate`] measures it for a vector as the relative difference of the
//! products at steps `h` and `2 h`.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::model::LandscapeModel;
use crate::random::SplitMix64;

/// How [`Hvp`] computes its products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProductMethod {
    /// The model's exact product.
    Exact,
    /// Central differences of gradients with this step along a unit vector.
    FiniteDifference { step: f64 },
}

impl ProductMethod {
    /// `exact` or `finite-difference`, as `hessian.json` names it.
    pub fn name(&self) -> &'static str {
        match self {
            ProductMethod::Exact => "exact",
            ProductMethod::FiniteDifference { .. } => "finite-difference",
        }
    }
}

/// Hessian-vector products of a model at a point, counted.
pub struct Hvp<'a, L: LandscapeModel + ?Sized> {
    model: &'a mut L,
    theta: Vec<f32>,
    method: ProductMethod,
    /// Products computed so far (a finite-difference product is two gradients).
    pub count: usize,
}

impl<'a, L: LandscapeModel + ?Sized> Hvp<'a, L> {
    /// Exact products when the model has them, else central differences with `step`.
    pub fn new(model: &'a mut L, theta: &[f32], step: f64) -> Self {
        let method = if model.has_exact_products() {
            ProductMethod::Exact
        } else {
            ProductMethod::FiniteDifference { step }
        };
        Hvp {
            model,
            theta: theta.to_vec(),
            method,
            count: 0,
        }
    }

    /// Central differences with `step` even where exact products exist (to compare them).
    pub fn finite_difference(model: &'a mut L, theta: &[f32], step: f64) -> Self {
        Hvp {
            model,
            theta: theta.to_vec(),
            method: ProductMethod::FiniteDifference { step },
            count: 0,
        }
    }

    pub fn method(&self) -> ProductMethod {
        self.method
    }

    /// `H v` at the point.
    pub fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        self.count += 1;
        match self.method {
            ProductMethod::Exact => {
                let direction: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                self.model
                    .hessian_vector_product(&self.theta, &direction)
                    .expect("the model has exact products")
                    .into_iter()
                    .map(f64::from)
                    .collect()
            }
            ProductMethod::FiniteDifference { step } => self.difference(v, step),
        }
    }

    /// The central difference at `step` along `v / |v|`, scaled back to `v`.
    fn difference(&mut self, v: &[f64], step: f64) -> Vec<f64> {
        let norm = norm(v);
        if norm == 0.0 {
            return vec![0.0; v.len()];
        }
        let step = step / norm;
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
        // The step taken in f32 differs from `step` below f32's resolution of theta: part of
        // the rounding error.
        g_plus
            .iter()
            .zip(&g_minus)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)) / (2.0 * step))
            .collect()
    }

    /// For finite-difference products, `|H v(h) - H v(2 h)| / |H v(h)|`: of the order of the
    /// product's relative error (about three times it where the O(h^2) truncation dominates,
    /// about it where rounding or kinks do). Two more products. `None` for exact products.
    pub fn error_estimate(&mut self, v: &[f64]) -> Option<f64> {
        let ProductMethod::FiniteDifference { step } = self.method else {
            return None;
        };
        self.count += 2;
        let at_step = self.difference(v, step);
        let at_double = self.difference(v, 2.0 * step);
        let gap: Vec<f64> = at_step.iter().zip(&at_double).map(|(a, b)| a - b).collect();
        Some(norm(&gap) / norm(&at_step).max(f64::MIN_POSITIVE))
    }
}

/// Options of [`top_eigenpairs`].
#[derive(Debug, Clone, PartialEq)]
pub struct LanczosOptions {
    /// How many of the largest (algebraic) eigenvalues.
    pub k: usize,
    /// Converged when every wanted pair has `|H v - lambda v| <= tol * |lambda|`, measured.
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
    /// Whether every pair's measured residual met the tolerance.
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// A seeded unit vector of `n` components: Rademacher signs (`rademacher`) or uniform in
/// [-1, 1], normalised.
fn start_vector(n: usize, random: &mut SplitMix64, rademacher: bool) -> Vec<f64> {
    let mut q: Vec<f64> = (0..n)
        .map(|_| {
            let x = random.between(-1.0, 1.0);
            if rademacher { x.signum() } else { x }
        })
        .collect();
    let q_norm = norm(&q);
    q.iter_mut().for_each(|x| *x /= q_norm);
    q
}

/// A Lanczos run with full reorthogonalisation (twice, classical Gram-Schmidt): the basis and
/// the tridiagonal matrix's diagonal and off-diagonal.
struct Lanczos {
    basis: Vec<Vec<f64>>,
    alphas: Vec<f64>,
    betas: Vec<f64>,
    /// The next basis vector's unnormalised residual and its norm.
    residual: Vec<f64>,
    beta: f64,
}

impl Lanczos {
    fn new(start: Vec<f64>) -> Self {
        Lanczos {
            beta: 1.0,
            residual: start,
            basis: Vec::new(),
            alphas: Vec::new(),
            betas: Vec::new(),
        }
    }

    /// One step (one product); false after a breakdown (an invariant subspace: no new
    /// direction), when nothing was added.
    fn step(&mut self, apply: &mut impl FnMut(&[f64]) -> Vec<f64>) -> bool {
        if !self.basis.is_empty() {
            if self.beta <= 1e-12 * self.alphas.iter().fold(1.0f64, |m, a| m.max(a.abs())) {
                return false;
            }
            self.betas.push(self.beta);
        }
        let q: Vec<f64> = self.residual.iter().map(|x| x / self.beta).collect();
        let mut w = apply(&q);
        let alpha = dot(&w, &q);
        self.basis.push(q);
        for _ in 0..2 {
            for b in &self.basis {
                let c = dot(&w, b);
                w.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
            }
        }
        self.alphas.push(alpha);
        self.beta = norm(&w);
        self.residual = w;
        true
    }

    /// The eigenvalues of the tridiagonal matrix, largest first, and its eigenvectors as
    /// columns in the same order.
    fn ritz(&self) -> (Vec<f64>, DMatrix<f64>) {
        let m = self.basis.len();
        let mut t = DMatrix::<f64>::zeros(m, m);
        for i in 0..m {
            t[(i, i)] = self.alphas[i];
            if i + 1 < m {
                t[(i, i + 1)] = self.betas[i];
                t[(i + 1, i)] = self.betas[i];
            }
        }
        let eigen = SymmetricEigen::new(t);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let values = order.iter().map(|&i| eigen.eigenvalues[i]).collect();
        let vectors = DMatrix::from_fn(m, m, |r, c| eigen.eigenvectors[(r, order[c])]);
        (values, vectors)
    }
}

/// The `k` largest algebraic eigenvalues of a symmetric operator `apply` on vectors of length
/// `n`, with their eigenvectors, by Lanczos with full reorthogonalisation. When the residuals
/// the iteration predicts meet `tol`, each pair's true residual is measured with one more
/// product; the run is converged only if those meet it too, and otherwise goes on (up to
/// `max_steps`).
pub fn top_eigenpairs(
    n: usize,
    mut apply: impl FnMut(&[f64]) -> Vec<f64>,
    options: &LanczosOptions,
) -> Eigenpairs {
    let k = options.k.min(n).max(1);
    let max_steps = options.max_steps.max(k).min(n);
    let mut random = SplitMix64(options.seed ^ 0x1a2c_3e4f_5a6b_7c8d);
    let mut lanczos = Lanczos::new(start_vector(n, &mut random, false));
    let mut products = 0;
    loop {
        let grew = lanczos.step(&mut apply);
        products += usize::from(grew);
        let m = lanczos.basis.len();
        let (values, coefficients) = lanczos.ritz();
        let last = !grew || m >= max_steps;
        // The residual of a Ritz pair is beta times the last component of its vector.
        let predicted = m >= k
            && (0..k).all(|i| {
                (lanczos.beta * coefficients[(m - 1, i)]).abs()
                    <= options.tol * values[i].abs().max(1e-300)
            });
        if !(predicted || last) {
            continue;
        }
        let k = k.min(m);
        let mut vectors = Vec::with_capacity(k);
        let mut residuals = Vec::with_capacity(k);
        for i in 0..k {
            let mut v = vec![0.0; n];
            for (j, b) in lanczos.basis.iter().enumerate() {
                let c = coefficients[(j, i)];
                v.iter_mut().zip(b).for_each(|(x, y)| *x += c * y);
            }
            let v_norm = norm(&v);
            v.iter_mut().for_each(|x| *x /= v_norm);
            let hv = apply(&v);
            products += 1;
            let r: Vec<f64> = hv.iter().zip(&v).map(|(a, b)| a - values[i] * b).collect();
            residuals.push(norm(&r));
            vectors.push(v);
        }
        let converged = k == options.k.min(n).max(1)
            && residuals
                .iter()
                .zip(&values)
                .all(|(r, v)| *r <= options.tol * v.abs());
        if converged || last {
            return Eigenpairs {
                values: values[..k].to_vec(),
                vectors,
                residuals,
                products,
                steps: m,
                converged,
            };
        }
    }
}

/// Hutchinson's estimate of the trace, `mean(z^T H z)` over Rademacher probes `z` (PyHessian's
/// and Landscaper's `trace()`, with a fixed number of probes instead of their stopping rule).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEstimate {
    pub estimate: f64,
    /// The standard error of the mean: the samples' standard deviation over sqrt(probes).
    pub standard_error: f64,
    /// `z^T H z` of each probe.
    pub samples: Vec<f64>,
}

/// The trace of the symmetric operator `apply` on vectors of length `n` from `probes` seeded
/// Rademacher probes (one product each).
pub fn hutchinson_trace(
    n: usize,
    mut apply: impl FnMut(&[f64]) -> Vec<f64>,
    probes: usize,
    seed: u64,
) -> TraceEstimate {
    let mut random = SplitMix64(seed ^ 0x7a5c_e0f1_4a7c_e5ed);
    let samples: Vec<f64> = (0..probes)
        .map(|_| {
            let z: Vec<f64> = (0..n).map(|_| random.between(-1.0, 1.0).signum()).collect();
            dot(&z, &apply(&z))
        })
        .collect();
    let count = samples.len().max(1) as f64;
    let estimate = samples.iter().sum::<f64>() / count;
    let variance = if samples.len() > 1 {
        samples.iter().map(|s| (s - estimate).powi(2)).sum::<f64>() / (count - 1.0)
    } else {
        f64::NAN
    };
    TraceEstimate {
        estimate,
        standard_error: (variance / count).sqrt(),
        samples,
    }
}

/// The quadrature of stochastic Lanczos (Ubaru, Chen and Saad 2017; PyHessian's `density()`):
/// for each probe, the Ritz values of its Lanczos tridiagonal matrix as nodes and the squares
/// of the first components of their eigenvectors as weights (each probe's weights sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralQuadrature {
    pub nodes: Vec<Vec<f64>>,
    pub weights: Vec<Vec<f64>>,
    /// Products used.
    pub products: usize,
}

/// `probes` seeded unit Rademacher probes, `steps` Lanczos steps each (full
/// reorthogonalisation; the symmetric tridiagonal eigenproblem, the squared first components,
/// as PyHessian computes them since its pull request #23).
pub fn spectral_quadrature(
    n: usize,
    mut apply: impl FnMut(&[f64]) -> Vec<f64>,
    probes: usize,
    steps: usize,
    seed: u64,
) -> SpectralQuadrature {
    let mut random = SplitMix64(seed ^ 0x51c0_d3e5_1797_0a11);
    let mut out = SpectralQuadrature {
        nodes: Vec::new(),
        weights: Vec::new(),
        products: 0,
    };
    for _ in 0..probes {
        let mut lanczos = Lanczos::new(start_vector(n, &mut random, true));
        while lanczos.basis.len() < steps.min(n) && lanczos.step(&mut apply) {
            out.products += 1;
        }
        let (values, vectors) = lanczos.ritz();
        out.weights
            .push((0..values.len()).map(|j| vectors[(0, j)].powi(2)).collect());
        out.nodes.push(values);
    }
    out
}

/// The eigenvalue density of a [`SpectralQuadrature`] on a grid: the mean over probes of
/// `sum_j w_j N(x; lambda_j, sigma^2)`, with `sigma = width` times the span of the nodes (or
/// `width` itself when they all coincide), on `bins` points from `sigma * 6` below the lowest
/// node to as far above the highest, so the grid holds the whole mass: the density integrates
/// to 1 and its mean is the quadrature's mean eigenvalue, `trace / n`. Returns the grid, the
/// density and sigma.
pub fn density_on_grid(
    quadrature: &SpectralQuadrature,
    bins: usize,
    width: f64,
) -> (Vec<f64>, Vec<f64>, f64) {
    let all = quadrature.nodes.iter().flatten();
    let low = all.clone().copied().fold(f64::INFINITY, f64::min);
    let high = all.copied().fold(f64::NEG_INFINITY, f64::max);
    if !(low.is_finite() && high.is_finite()) || bins < 2 {
        return (Vec::new(), Vec::new(), f64::NAN);
    }
    let span = high - low;
    let sigma = if span > 0.0 { width * span } else { width };
    let (start, end) = (low - 6.0 * sigma, high + 6.0 * sigma);
    let grid: Vec<f64> = (0..bins)
        .map(|i| start + (end - start) * i as f64 / (bins - 1) as f64)
        .collect();
    let probes = quadrature.nodes.len() as f64;
    let scale = 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * sigma * probes);
    let density = grid
        .iter()
        .map(|&x| {
            quadrature
                .nodes
                .iter()
                .zip(&quadrature.weights)
                .flat_map(|(nodes, weights)| nodes.iter().zip(weights))
                .map(|(l, w)| w * (-0.5 * ((x - l) / sigma).powi(2)).exp())
                .sum::<f64>()
                * scale
        })
        .collect();
    (grid, density, sigma)
}

/// What [`analyse_hessian`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct HessianOptions {
    /// The top eigenpairs (`None`: none).
    pub eigenpairs: Option<LanczosOptions>,
    /// The finite-difference step, for models without exact products.
    pub step: f64,
    /// Hutchinson probes for the trace (0: no trace).
    pub trace_probes: usize,
    /// Stochastic Lanczos quadrature probes for the density (0: no density), and the Lanczos
    /// steps of each.
    pub density_probes: usize,
    pub density_steps: usize,
    /// The density's grid points, and its Gaussians' standard deviation as a fraction of the
    /// span of the quadrature nodes ([`density_on_grid`]).
    pub density_bins: usize,
    pub density_width: f64,
    /// Seed of the start vector and the probes.
    pub seed: u64,
}

impl Default for HessianOptions {
    fn default() -> Self {
        HessianOptions {
            eigenpairs: Some(LanczosOptions::default()),
            step: 1e-3,
            trace_probes: 0,
            density_probes: 0,
            density_steps: 0,
            density_bins: 1001,
            density_width: 0.01,
            seed: 0,
        }
    }
}

/// The eigenvalue density on a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Density {
    pub quadrature: SpectralQuadrature,
    pub grid: Vec<f64>,
    pub density: Vec<f64>,
    /// The standard deviation of each node's Gaussian.
    pub sigma: f64,
}

/// What [`analyse_hessian`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct HessianAnalysis {
    pub method: ProductMethod,
    pub eigenpairs: Option<Eigenpairs>,
    /// Finite-difference products only: [`Hvp::error_estimate`] along each eigenvector.
    pub product_errors: Vec<f64>,
    pub trace: Option<TraceEstimate>,
    pub density: Option<Density>,
    /// Hessian-vector products in all.
    pub products: usize,
}

/// The parts of the analysis, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HessianStage {
    Eigenpairs,
    Trace,
    Density,
}

/// The top eigenpairs, the trace and the density of `model`'s Hessian at `theta`, as
/// `options` asks, with exact products where the model has them. `progress(stage, products)`
/// is told of every product.
pub fn analyse_hessian<L: LandscapeModel + ?Sized>(
    model: &mut L,
    theta: &[f32],
    options: &HessianOptions,
    mut progress: impl FnMut(HessianStage, usize),
) -> HessianAnalysis {
    let n = theta.len();
    let mut hvp = Hvp::new(model, theta, options.step);
    let mut counted = |hvp: &mut Hvp<'_, L>, stage, v: &[f64]| {
        let product = hvp.apply(v);
        progress(stage, hvp.count);
        product
    };
    let eigenpairs = options.eigenpairs.as_ref().map(|lanczos| {
        top_eigenpairs(
            n,
            |v| counted(&mut hvp, HessianStage::Eigenpairs, v),
            lanczos,
        )
    });
    let product_errors = eigenpairs
        .iter()
        .flat_map(|pairs| pairs.vectors.iter())
        .filter_map(|v| hvp.error_estimate(v))
        .collect();
    let trace = (options.trace_probes > 0).then(|| {
        hutchinson_trace(
            n,
            |v| counted(&mut hvp, HessianStage::Trace, v),
            options.trace_probes,
            options.seed,
        )
    });
    let density = (options.density_probes > 0 && options.density_steps > 0).then(|| {
        let quadrature = spectral_quadrature(
            n,
            |v| counted(&mut hvp, HessianStage::Density, v),
            options.density_probes,
            options.density_steps,
            options.seed,
        );
        let (grid, density, sigma) =
            density_on_grid(&quadrature, options.density_bins, options.density_width);
        Density {
            quadrature,
            grid,
            density,
            sigma,
        }
    });
    HessianAnalysis {
        method: hvp.method(),
        eigenpairs,
        product_errors,
        trace,
        density,
        products: hvp.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric matrix with known eigenvalues: Q diag(lambda) Q^T for a seeded orthogonal
    /// Q (Householder reflections of random vectors).
    fn known(n: usize, eigenvalues: &[f64]) -> DMatrix<f64> {
        let mut random = SplitMix64(42);
        let mut q = DMatrix::<f64>::identity(n, n);
        for _ in 0..3 {
            let v: Vec<f64> = (0..n).map(|_| random.normal()).collect();
            let v = nalgebra::DVector::from_vec(v).normalize();
            let h = DMatrix::<f64>::identity(n, n) - 2.0 * &v * v.transpose();
            q = h * q;
        }
        &q * DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(eigenvalues)) * q.transpose()
    }

    fn apply_matrix(a: &DMatrix<f64>) -> impl FnMut(&[f64]) -> Vec<f64> + '_ {
        move |v: &[f64]| {
            (a * nalgebra::DVector::from_row_slice(v))
                .as_slice()
                .to_vec()
        }
    }

    #[test]
    fn lanczos_finds_the_largest_algebraic_eigenvalues_and_measures_their_residuals() {
        let n = 60;
        let mut eigenvalues: Vec<f64> = (0..n).map(|i| (i as f64 - 20.0) * 0.1).collect();
        eigenvalues[7] = 9.0;
        eigenvalues[3] = 7.5;
        eigenvalues[0] = -50.0; // the largest magnitude, but not wanted
        let a = known(n, &eigenvalues);
        let pairs = top_eigenpairs(
            n,
            apply_matrix(&a),
            &LanczosOptions {
                k: 3,
                tol: 1e-8,
                ..LanczosOptions::default()
            },
        );
        assert!(pairs.converged);
        let expected = [9.0, 7.5, 3.9];
        for (got, want) in pairs.values.iter().zip(expected) {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        for (v, (&lambda, &r)) in pairs
            .vectors
            .iter()
            .zip(pairs.values.iter().zip(&pairs.residuals))
        {
            let hv = apply_matrix(&a)(v);
            let true_residual = norm(
                &hv.iter()
                    .zip(v)
                    .map(|(a, b)| a - lambda * b)
                    .collect::<Vec<_>>(),
            );
            assert!((true_residual - r).abs() < 1e-12);
            assert!(r <= 1e-8 * lambda.abs());
        }
        assert_eq!(
            pairs.products,
            pairs.steps + 3,
            "one product per step and per measured residual"
        );
    }

    #[test]
    fn converged_is_false_when_the_measured_residuals_miss_the_tolerance() {
        // An operator that is symmetric only up to noise of relative size 1e-3: the Ritz
        // estimate can be met while the true residuals, measured with the same noisy product,
        // cannot reach 1e-9.
        let n = 40;
        let eigenvalues: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let a = known(n, &eigenvalues);
        let mut random = SplitMix64(3);
        let noisy = |v: &[f64]| -> Vec<f64> {
            let exact = apply_matrix(&a)(v);
            exact
                .into_iter()
                .map(|x| x * (1.0 + 1e-3 * random.normal()))
                .collect()
        };
        let pairs = top_eigenpairs(
            n,
            noisy,
            &LanczosOptions {
                k: 2,
                tol: 1e-9,
                max_steps: 30,
                seed: 0,
            },
        );
        assert!(!pairs.converged);
        assert!(pairs.residuals.iter().any(|r| *r > 1e-9 * 39.0));
        assert_eq!(pairs.steps, 30);
    }

    #[test]
    fn hutchinson_is_within_its_standard_error_of_the_trace_and_unbiased() {
        let n = 50;
        let eigenvalues: Vec<f64> = (0..n)
            .map(|i| (i as f64 * 0.37).sin() * 3.0 + 0.5)
            .collect();
        let a = known(n, &eigenvalues);
        let exact: f64 = eigenvalues.iter().sum();
        let estimate = hutchinson_trace(n, apply_matrix(&a), 400, 7);
        assert_eq!(estimate.samples.len(), 400);
        let z = (estimate.estimate - exact) / estimate.standard_error;
        assert!(z.abs() < 3.0, "{} vs {exact}: z = {z}", estimate.estimate);
        // z^T A z for Rademacher z is the diagonal's sum plus off-diagonal terms of mean zero:
        // a diagonal matrix's estimate is exact.
        let diagonal = DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(&eigenvalues));
        let exact_diagonal = hutchinson_trace(n, apply_matrix(&diagonal), 3, 1);
        assert!((exact_diagonal.estimate - exact).abs() < 1e-9);
        assert!(exact_diagonal.standard_error < 1e-9);
    }

    #[test]
    fn slq_weights_sum_to_one_and_the_density_integrates_to_one_with_the_mean_eigenvalue() {
        let n = 80;
        let eigenvalues: Vec<f64> = (0..n)
            .map(|i| {
                if i < 4 {
                    20.0 + i as f64
                } else {
                    (i as f64 * 0.11).cos()
                }
            })
            .collect();
        let a = known(n, &eigenvalues);
        let quadrature = spectral_quadrature(n, apply_matrix(&a), 3, 30, 5);
        assert_eq!(quadrature.nodes.len(), 3);
        assert_eq!(quadrature.products, 90);
        for w in &quadrature.weights {
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Each probe's quadrature mean sum_j w_j lambda_j is v^T A v exactly.
        let (grid, density, sigma) = density_on_grid(&quadrature, 2001, 0.01);
        assert!(sigma > 0.0);
        let dx = grid[1] - grid[0];
        let integral: f64 = density.iter().sum::<f64>() * dx;
        assert!((integral - 1.0).abs() < 1e-6, "integral {integral}");
        let mean: f64 = grid.iter().zip(&density).map(|(x, d)| x * d).sum::<f64>() * dx;
        let quadrature_mean: f64 = quadrature
            .nodes
            .iter()
            .zip(&quadrature.weights)
            .map(|(l, w)| l.iter().zip(w).map(|(l, w)| l * w).sum::<f64>())
            .sum::<f64>()
            / 3.0;
        assert!(
            (mean - quadrature_mean).abs() < 1e-6,
            "{mean} vs {quadrature_mean}"
        );
        // The outliers 20..23 carry about 4/80 of the mass, and the top node is the top
        // eigenvalue (Lanczos finds the extremes first).
        let top = quadrature.nodes[0]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        assert!((top - 23.0).abs() < 1e-6, "{top}");
        let upper: f64 = grid
            .iter()
            .zip(&density)
            .filter(|(x, _)| **x > 10.0)
            .map(|(_, d)| d)
            .sum::<f64>()
            * dx;
        assert!((upper - 4.0 / 80.0).abs() < 0.04, "{upper}");
    }
}
