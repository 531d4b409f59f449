//! Hessian-vector products against analytic Hessians, and Lanczos against operators whose
//! spectrum is known.

use burn::module::{Module, Param};
use burn::prelude::*;
use nalgebra::{DMatrix, DVector, SymmetricEigen};
use toposcape_perturb::hessian::{Hvp, LanczosOptions, top_eigenpairs};
use toposcape_perturb::model::{LandscapeModel, ModuleLoss};
use toposcape_perturb::params::flatten;

/// A deterministic uniform generator in [-1, 1].
fn uniform(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// A random orthogonal matrix (Q of the QR of a random matrix).
fn orthogonal(n: usize, seed: u64) -> DMatrix<f64> {
    let mut state = seed;
    DMatrix::from_fn(n, n, |_, _| uniform(&mut state)).qr().q()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn lanczos_finds_the_largest_algebraic_eigenvalues_of_a_known_operator() {
    let n = 300;
    // Four wanted eigenvalues, a larger-magnitude negative one that must not be returned, and
    // a bulk in [-5, 5].
    let mut spectrum: Vec<f64> = (0..n).map(|i| -5.0 + 10.0 * i as f64 / n as f64).collect();
    spectrum[0] = 50.0;
    spectrum[1] = 40.0;
    spectrum[2] = -100.0;
    spectrum[3] = 30.0;
    spectrum[4] = 25.0;
    let q = orthogonal(n, 7);
    let a = &q * DMatrix::from_diagonal(&DVector::from_vec(spectrum)) * q.transpose();
    let apply = |v: &[f64]| (&a * DVector::from_column_slice(v)).as_slice().to_vec();
    let options = LanczosOptions {
        k: 4,
        tol: 1e-6,
        ..LanczosOptions::default()
    };
    let result = top_eigenpairs(n, apply, &options);
    eprintln!(
        "values {:?}, residuals {:?}, {} products in {} steps",
        result.values, result.residuals, result.products, result.steps
    );
    assert!(result.converged);
    for (got, want) in result.values.iter().zip([50.0, 40.0, 30.0, 25.0]) {
        assert!((got - want).abs() <= 1e-4 * want, "{got} vs {want}");
    }
    for (i, column) in [0, 1, 3, 4].into_iter().enumerate() {
        let exact: Vec<f64> = q.column(column).iter().copied().collect();
        let alignment = dot(&result.vectors[i], &exact);
        assert!(alignment.abs() > 1.0 - 1e-6, "vector {i}: {alignment}");
        assert!(result.residuals[i] <= 1e-4 * result.values[i]);
    }
    for i in 0..4 {
        for j in 0..4 {
            let d = dot(&result.vectors[i], &result.vectors[j]);
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((d - want).abs() < 1e-9, "<v{i}, v{j}> = {d}");
        }
    }
    assert!(result.products < 100, "{} products", result.products);
    assert_eq!(result.products, result.steps + 4);
}

/// loss(x) = sum(x^4) / 4 + x^T A x / 2 with a fixed symmetric A: H(x) = diag(3 x^2) + A.
#[derive(Module, Debug)]
struct Quartic {
    x: Param<Tensor<1>>,
}

const N: usize = 6;

fn matrix_a() -> Vec<f32> {
    let mut state = 3;
    let mut a = vec![0.0f32; N * N];
    for i in 0..N {
        for j in 0..=i {
            let v = uniform(&mut state) as f32;
            a[i * N + j] = v;
            a[j * N + i] = v;
        }
        a[i * N + i] += 2.0;
    }
    a
}

fn quartic_loss(m: &Quartic) -> Tensor<1> {
    let x = m.x.val();
    let device = x.device();
    let a = Tensor::<1>::from_floats(matrix_a().as_slice(), &device).reshape([N, N]);
    let column = x.clone().reshape([N, 1]);
    let quadratic = column
        .clone()
        .transpose()
        .matmul(a.matmul(column))
        .reshape([1]);
    x.powi_scalar(4).sum().div_scalar(4.0) + quadratic.div_scalar(2.0)
}

fn analytic_hessian(x: &[f32]) -> DMatrix<f64> {
    let a = matrix_a();
    DMatrix::from_fn(N, N, |i, j| {
        let diagonal = if i == j {
            3.0 * f64::from(x[i]).powi(2)
        } else {
            0.0
        };
        f64::from(a[i * N + j]) + diagonal
    })
}

#[test]
fn hessian_vector_products_match_the_analytic_hessian() {
    let device = Device::flex();
    let x0 = [0.5f32, -1.0, 0.25, 1.5, -0.75, 0.1];
    let model = Quartic {
        x: Param::from_tensor(Tensor::<1>::from_floats(x0.as_slice(), &device)),
    };
    let before = flatten(&model);
    let mut landscape = ModuleLoss::new(&model, &device, quartic_loss);
    // The loss at theta0 is the model's own loss.
    let direct = f64::from(quartic_loss(&model).into_scalar::<f32>());
    assert_eq!(landscape.loss(&x0), direct);
    let h = analytic_hessian(&x0);
    let mut hvp = Hvp::new(&mut landscape, &x0, 1e-2);
    let mut state = 11;
    let mut worst = 0.0f64;
    for _ in 0..5 {
        let v: Vec<f64> = (0..N).map(|_| uniform(&mut state)).collect();
        let got = hvp.apply(&v);
        let want = &h * DVector::from_column_slice(&v);
        let error = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        worst = worst.max(error / want.norm());
    }
    eprintln!("worst relative HVP error {worst:.2e}");
    assert!(worst < 1e-3, "relative HVP error {worst}");
    assert_eq!(hvp.count, 5);

    // Lanczos through the products finds the analytic Hessian's top eigenvalues.
    let mut exact: Vec<f64> = SymmetricEigen::new(h).eigenvalues.iter().copied().collect();
    exact.sort_by(|a, b| b.total_cmp(a));
    let options = LanczosOptions {
        k: 3,
        tol: 1e-4,
        ..LanczosOptions::default()
    };
    let result = top_eigenpairs(N, |v| hvp.apply(v), &options);
    for (got, want) in result.values.iter().zip(&exact) {
        assert!(
            (got - want).abs() < 1e-3 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    // The caller's model was never modified.
    assert_eq!(flatten(&model), before);
}

/// The quartic's directional derivative along the tangent module's `x` (`v`):
/// `sum(x^3 v) + v^T A x`.
fn quartic_tangent(m: &Quartic, t: &Quartic) -> Tensor<1> {
    let (x, v) = (m.x.val(), t.x.val());
    let device = x.device();
    let a = Tensor::<1>::from_floats(matrix_a().as_slice(), &device).reshape([N, N]);
    let ax = a.matmul(x.clone().reshape([N, 1])).reshape([N]);
    (x.powi_scalar(3) * v.clone()).sum() + (ax * v).sum()
}

#[test]
fn exact_products_the_trace_and_the_density_of_a_known_hessian() {
    use toposcape_perturb::hessian::{HessianOptions, ProductMethod, analyse_hessian};

    let device = Device::flex();
    let x0 = [0.5f32, -1.0, 0.25, 1.5, -0.75, 0.1];
    let model = Quartic {
        x: Param::from_tensor(Tensor::<1>::from_floats(x0.as_slice(), &device)),
    };
    let h = analytic_hessian(&x0);
    let mut exact_model =
        ModuleLoss::new(&model, &device, quartic_loss).with_tangent(quartic_tangent);
    assert!(exact_model.has_exact_products());
    let mut hvp = Hvp::new(&mut exact_model, &x0, 1e-2);
    assert_eq!(hvp.method(), ProductMethod::Exact);
    // The exact trace: sum of e_i . H e_i, from N exact products, equals the analytic one.
    let mut trace_by_products = 0.0;
    for i in 0..N {
        let mut e = vec![0.0; N];
        e[i] = 1.0;
        let column = hvp.apply(&e);
        for (j, value) in column.iter().enumerate() {
            assert!((value - h[(j, i)]).abs() < 1e-5 * h[(j, i)].abs().max(1.0));
        }
        trace_by_products += column[i];
    }
    let exact_trace = h.trace();
    assert!((trace_by_products - exact_trace).abs() < 1e-5 * exact_trace);
    assert!(
        hvp.error_estimate(&[1.0; N]).is_none(),
        "exact products have no error estimate"
    );

    let options = HessianOptions {
        trace_probes: 200,
        density_probes: 50,
        density_steps: N,
        ..HessianOptions::default()
    };
    let analysis = analyse_hessian(&mut exact_model, &x0, &options, |_, _| {});
    assert_eq!(analysis.method, ProductMethod::Exact);
    let pairs = analysis.eigenpairs.as_ref().unwrap();
    assert!(pairs.converged);
    let trace = analysis.trace.as_ref().unwrap();
    let z = (trace.estimate - exact_trace) / trace.standard_error;
    eprintln!(
        "trace {} +- {} against {exact_trace} (z = {z:.2})",
        trace.estimate, trace.standard_error
    );
    assert!(z.abs() < 2.0, "the trace is {z:.2} standard errors off");
    assert_eq!(trace.samples.len(), 200);
    // The density integrates to 1 and its mean times N is a Hutchinson estimate of the trace
    // (each probe's quadrature mean is v^T H v for its unit probe, exactly with N steps).
    let density = analysis.density.as_ref().unwrap();
    let dx = density.grid[1] - density.grid[0];
    let integral: f64 = density.density.iter().sum::<f64>() * dx;
    assert!((integral - 1.0).abs() < 1e-6, "{integral}");
    let mean: f64 = density
        .grid
        .iter()
        .zip(&density.density)
        .map(|(x, d)| x * d)
        .sum::<f64>()
        * dx;
    let samples: Vec<f64> = density
        .quadrature
        .nodes
        .iter()
        .zip(&density.quadrature.weights)
        .map(|(l, w)| N as f64 * l.iter().zip(w).map(|(l, w)| l * w).sum::<f64>())
        .collect();
    let sample_mean = samples.iter().sum::<f64>() / samples.len() as f64;
    assert!((mean * N as f64 - sample_mean).abs() < 1e-6 * sample_mean.abs());
    let spread = (samples
        .iter()
        .map(|s| (s - sample_mean).powi(2))
        .sum::<f64>()
        / (samples.len() - 1) as f64
        / samples.len() as f64)
        .sqrt();
    assert!(
        (sample_mean - exact_trace).abs() < 3.0 * spread,
        "density mean x N = {sample_mean} vs trace {exact_trace} (+- {spread})"
    );
    // N Lanczos steps of a probe are the whole spectrum: its nodes are the eigenvalues.
    let mut eigenvalues: Vec<f64> = SymmetricEigen::new(h.clone())
        .eigenvalues
        .iter()
        .copied()
        .collect();
    eigenvalues.sort_by(f64::total_cmp);
    let mut nodes = density.quadrature.nodes[0].clone();
    nodes.sort_by(f64::total_cmp);
    for (a, b) in nodes.iter().zip(&eigenvalues) {
        assert!(
            (a - b).abs() < 1e-4 * b.abs().max(1.0),
            "node {a} vs eigenvalue {b}"
        );
    }

    // Without a tangent the products are central differences, with a measured error.
    let mut differences = ModuleLoss::new(&model, &device, quartic_loss);
    let analysis = analyse_hessian(&mut differences, &x0, &HessianOptions::default(), |_, _| {});
    assert_eq!(
        analysis.method,
        ProductMethod::FiniteDifference { step: 1e-3 }
    );
    let errors = &analysis.product_errors;
    assert_eq!(errors.len(), 4);
    assert!(errors.iter().all(|e| *e > 0.0 && *e < 1e-2), "{errors:?}");
}
