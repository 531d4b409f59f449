//! burn's L-BFGS (strong Wolfe line search), the optimiser toposcape trains PINNs with, on the
//! Rosenbrock function, whose minimum (1, ..., 1) with value 0 is known exactly.

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, LBFGSConfig, LineSearchFn};
use burn::prelude::*;

#[derive(Module, Debug)]
struct Point {
    x: Param<Tensor<1>>,
}

/// sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2
fn rosenbrock(x: Tensor<1>) -> Tensor<1> {
    let n = x.dims()[0];
    let head = x.clone().narrow(0, 0, n - 1);
    let tail = x.narrow(0, 1, n - 1);
    let valley = (tail - head.clone().powi_scalar(2))
        .powi_scalar(2)
        .mul_scalar(100.0);
    let slope = head.neg().add_scalar(1.0).powi_scalar(2);
    (valley + slope).sum()
}

fn minimise(start: &[f64], device: &Device) -> (Vec<f64>, f64, usize) {
    let mut point = Point {
        x: Param::from_tensor(Tensor::<1>::from_floats(start, device)),
    };
    let mut optimizer = LBFGSConfig::new()
        .with_line_search_fn(LineSearchFn::StrongWolfe)
        .with_max_iter(20)
        .init();
    let mut steps = 0;
    let mut loss = f64::INFINITY;
    for _ in 0..100 {
        let closure = |p: Point| {
            let loss = rosenbrock(p.x.val());
            let grads = GradientsParams::from_grads(loss.backward(), &p);
            (loss.into_scalar::<f64>(), grads)
        };
        let (next, value) = optimizer.step(1.0, point, closure);
        point = next;
        steps += 1;
        if value == loss {
            break;
        }
        loss = value;
    }
    let x = point
        .x
        .val()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    (x, rosenbrock(point.x.val()).into_scalar::<f64>(), steps)
}

#[test]
fn lbfgs_finds_the_rosenbrock_minimum() {
    let device = Device::flex().autodiff();
    for start in [vec![-1.2, 1.0], vec![-1.0, 1.5, 0.5, -0.5, 2.0, 1.0]] {
        let (x, value, steps) = minimise(&start, &device);
        eprintln!("start {start:?}: {value:e} after {steps} steps at {x:?}");
        assert!(value < 1e-6, "start {start:?}: value {value} at {x:?}");
        assert!(
            x.iter().all(|v| (v - 1.0).abs() < 1e-3),
            "start {start:?}: {x:?}"
        );
    }
}
