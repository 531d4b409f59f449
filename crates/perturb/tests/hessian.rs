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
