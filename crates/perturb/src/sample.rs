//! Evaluating the loss at many points `theta0 + sum_i c_i d_i`: the directions as one matrix,
//! the evaluator trait, and a driver that keeps every worker busy and stores chunks as they
//! finish.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::prelude::*;

use crate::model::LandscapeModel;
use crate::params::{load_flat, to_vec};
use crate::plan::Plan;
use crate::store::{ChunkStore, StoreError};

/// `count` directions of length `len`, row-major (`count x len`): the layout of
/// `directions.npy`.
#[derive(Debug, Clone, PartialEq)]
pub struct Directions {
    pub count: usize,
    pub len: usize,
    pub values: Vec<f32>,
}

impl Directions {
    /// Directions from rows of equal length.
    ///
    /// # Panics
    /// If the rows differ in length or there are none.
    pub fn from_rows<T: Copy + Into<f64>>(rows: &[Vec<T>]) -> Self {
        assert!(!rows.is_empty(), "at least one direction");
        let len = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == len), "rows of equal length");
        Directions {
            count: rows.len(),
            len,
            values: rows
                .iter()
                .flat_map(|r| r.iter().map(|&x| x.into() as f32))
                .collect(),
        }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.len..(i + 1) * self.len]
    }

    /// `theta0 + sum_i coords[i] * d_i` into `out`, in float64, adding the directions in
    /// order: the one definition of a landscape point that the host evaluators use (theta0 and
    /// the directions are f32 values; the point is not rounded to f32, which would move a loss
    /// away from theta0 by up to 3e-5 of itself).
    pub fn perturb_into(&self, theta0: &[f32], coords: &[f64], out: &mut [f64]) {
        debug_assert_eq!(coords.len(), self.count);
        for (o, &t) in out.iter_mut().zip(theta0) {
            *o = f64::from(t);
        }
        for (i, &c) in coords.iter().enumerate() {
            for (o, &d) in out.iter_mut().zip(self.row(i)) {
                *o += c * f64::from(d);
            }
        }
    }
}

/// Something that evaluates the loss at landscape points: a model with its directions and
/// theta0 fixed.
pub trait PointEvaluator: Send {
    /// The loss at each point of `coords` (`out.len()` points of `dims` coordinates each,
    /// row-major), written to `out`. Non-finite losses are written as they are.
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]);
}

/// A boxed evaluator, so that evaluators of different types can be chosen at run time (one
/// virtual call a chunk of points).
impl<E: PointEvaluator + ?Sized> PointEvaluator for Box<E> {
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
        (**self).evaluate(coords, out);
    }
}

/// A loss function of the parameter vector as a point evaluator: one point at a time, the
/// parameter vector built by [`Directions::perturb_into`] into a buffer reused across points.
/// `loss` may be a [`LandscapeModel`]'s (see [`Perturbed::of_model`]) or a specialised kernel.
pub struct Perturbed<'a, F> {
    loss: F,
    theta0: &'a [f32],
    directions: &'a Directions,
    theta: Vec<f64>,
}

impl<'a, F: FnMut(&[f64]) -> f32 + Send> Perturbed<'a, F> {
    pub fn new(loss: F, theta0: &'a [f32], directions: &'a Directions) -> Self {
        assert_eq!(
            theta0.len(),
            directions.len,
            "directions of theta0's length"
        );
        Perturbed {
            loss,
            theta0,
            directions,
            theta: vec![0.0; theta0.len()],
        }
    }
}

impl<'a> Perturbed<'a, ()> {
    /// A [`LandscapeModel`]'s loss (which owns its copy of the model) as a point evaluator.
    pub fn of_model<L: LandscapeModel + Send + 'a>(
        mut model: L,
        theta0: &'a [f32],
        directions: &'a Directions,
    ) -> Perturbed<'a, impl FnMut(&[f64]) -> f32 + Send + 'a> {
        Perturbed::new(move |theta| model.loss_at(theta) as f32, theta0, directions)
    }
}

impl<F: FnMut(&[f64]) -> f32 + Send> PointEvaluator for Perturbed<'_, F> {
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
        let dims = self.directions.count;
        for (point, slot) in coords.chunks_exact(dims).zip(out) {
            self.directions
                .perturb_into(self.theta0, point, &mut self.theta);
            *slot = (self.loss)(&self.theta);
        }
    }
}

/// Any burn module's loss at landscape points with the perturbation on the module's device:
/// theta0 and the directions live there, each point's parameters are `theta0 + c D` computed
/// there and loaded by slicing (no copy through the host), and only the coordinates go up and
/// the loss comes back. One point per pass: the generic GPU path (a model-specific evaluator
/// may batch points, as the PINN's does).
pub struct OnDevice<M, F> {
    model: Option<M>,
    theta0: Tensor<1>,
    directions: Tensor<2>,
    device: Device,
    loss: F,
}

impl<M: Module, F: Fn(&M) -> Tensor<1>> OnDevice<M, F> {
    /// `model` must live on `device` (a plain device); it is moved in, so the caller's copy is
    /// untouched.
    pub fn new(
        model: M,
        theta0: &[f32],
        directions: &Directions,
        device: &Device,
        loss: F,
    ) -> Self {
        OnDevice {
            model: Some(model),
            theta0: Tensor::from_floats(theta0, device),
            directions: Tensor::<1>::from_floats(directions.values.as_slice(), device)
                .reshape([directions.count, directions.len]),
            device: device.clone(),
            loss,
        }
    }
}

impl<M: Module + Send, F: Fn(&M) -> Tensor<1> + Send> PointEvaluator for OnDevice<M, F> {
    fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
        let [dims, len] = self.directions.dims();
        for (point, slot) in coords.chunks_exact(dims).zip(out) {
            let c: Vec<f32> = point.iter().map(|&x| x as f32).collect();
            let c = Tensor::<1>::from_floats(c.as_slice(), &self.device).reshape([1, dims]);
            let theta = self.theta0.clone() + c.matmul(self.directions.clone()).reshape([len]);
            let model = load_flat(self.model.take().expect("model"), theta);
            *slot = to_vec((self.loss)(&model))[0];
            self.model = Some(model);
        }
    }
}

/// Where a sampler's workers get the chunks to compute and where they put what they computed:
/// a [`ChunkStore`] in one process ([`StoreChunks`]), or the rank that owns the store when
/// several processes share one landscape (the `toposcape` crate's `team` module).
pub trait ChunkSource: Sync {
    /// The next chunk to compute, or `None` when none is left for this process.
    fn next(&self) -> Option<usize>;
    /// The point indices of chunk `k`.
    fn range(&self, k: usize) -> Range<usize>;
    /// Takes chunk `k`'s values, as they were computed.
    fn put(&self, k: usize, values: &[f32]) -> Result<(), StoreError>;
}

/// The chunks a store lacks, handed out in order, each stored as it is put.
pub struct StoreChunks<'a> {
    store: &'a ChunkStore,
    missing: Vec<usize>,
    next: AtomicUsize,
}

impl<'a> StoreChunks<'a> {
    /// The chunks missing from `store` now.
    pub fn missing(store: &'a ChunkStore) -> Result<Self, StoreError> {
        Ok(StoreChunks {
            missing: store.missing()?,
            store,
            next: AtomicUsize::new(0),
        })
    }

    /// The number of points in the chunks not yet handed out.
    pub fn points_left(&self) -> usize {
        let taken = self.next.load(Ordering::Relaxed).min(self.missing.len());
        self.missing[taken..]
            .iter()
            .map(|&k| self.store.range(k).len())
            .sum()
    }
}

impl ChunkSource for StoreChunks<'_> {
    fn next(&self) -> Option<usize> {
        self.missing
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .copied()
    }

    fn range(&self, k: usize) -> Range<usize> {
        self.store.range(k)
    }

    fn put(&self, k: usize, values: &[f32]) -> Result<(), StoreError> {
        self.store.write(k, values)
    }
}

/// Samples every chunk of `plan` missing from `store`, with one thread per evaluator, and
/// stores each chunk as it finishes. `progress` is called with the number of points finished
/// in this call so far. Returns the number of points computed (0 if the store was complete).
pub fn sample<P: Plan + ?Sized, E: PointEvaluator>(
    plan: &P,
    store: &ChunkStore,
    evaluators: Vec<E>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize, StoreError> {
    sample_from(plan, &StoreChunks::missing(store)?, evaluators, progress)
}

/// Computes the chunks `source` hands out, with one thread per evaluator, until it has none
/// left or putting one fails. `progress` is called with the number of points computed in this
/// call so far. Returns that number.
pub fn sample_from<P: Plan + ?Sized, E: PointEvaluator>(
    plan: &P,
    source: &dyn ChunkSource,
    evaluators: Vec<E>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize, StoreError> {
    assert!(!evaluators.is_empty(), "at least one evaluator");
    let done = AtomicUsize::new(0);
    let failure: Mutex<Option<StoreError>> = Mutex::new(None);
    let dims = plan.dims();
    std::thread::scope(|scope| {
        for mut evaluator in evaluators {
            let (done, failure) = (&done, &failure);
            scope.spawn(move || {
                let mut coords = Vec::new();
                let mut values = Vec::new();
                loop {
                    if failure.lock().expect("lock").is_some() {
                        break;
                    }
                    let Some(k) = source.next() else { break };
                    let range = source.range(k);
                    coords.resize(range.len() * dims, 0.0);
                    for (i, point) in range.clone().zip(coords.chunks_exact_mut(dims)) {
                        plan.point_into(i, point);
                    }
                    values.resize(range.len(), 0.0);
                    evaluator.evaluate(&coords, &mut values);
                    if let Err(e) = source.put(k, &values) {
                        failure.lock().expect("lock").get_or_insert(e);
                        break;
                    }
                    let total = done.fetch_add(range.len(), Ordering::Relaxed) + range.len();
                    progress(total);
                }
            });
        }
    });
    match failure.into_inner().expect("lock") {
        Some(e) => Err(e),
        None => Ok(done.into_inner()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::GridPlan;
    use crate::store::StoreDescription;

    /// A quadratic bowl: loss = sum theta^2, with theta0 = (1, 2, 3).
    struct Bowl;

    impl PointEvaluator for (Bowl, Directions) {
        fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
            let theta0 = [1.0f32, 2.0, 3.0];
            let mut theta = [0.0f64; 3];
            for (point, slot) in coords.chunks_exact(self.1.count).zip(out) {
                self.1.perturb_into(&theta0, point, &mut theta);
                *slot = theta.iter().map(|t| t * t).sum::<f64>() as f32;
            }
        }
    }

    #[test]
    fn perturb_adds_the_directions_in_order() {
        let d = Directions::from_rows(&[vec![1.0f32, 0.0, 0.0], vec![0.0f32, 0.5, 0.5]]);
        let mut out = [0.0f64; 3];
        d.perturb_into(&[1.0, 2.0, 3.0], &[2.0, -2.0], &mut out);
        assert_eq!(out, [3.0, 1.0, 2.0]);
    }

    #[test]
    fn sampling_fills_every_point_with_several_workers_and_resumes() {
        let d = Directions::from_rows(&[vec![1.0f32, 0.0, 0.0], vec![0.0f32, 1.0, 0.0]]);
        let plan = GridPlan::centred(&[7, 5], &[3.0, 2.0]);
        let dir = std::env::temp_dir().join(format!("toposcape-sample-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let description = StoreDescription {
            points: plan.len(),
            chunk: 4,
            fingerprint: "bowl".into(),
        };
        let store = ChunkStore::open(&dir, description.clone()).unwrap();
        // A partial run: only chunk 3 exists when the "interrupted" run is resumed.
        store.write(3, &[-1.0; 4]).unwrap();
        let workers = vec![(Bowl, d.clone()), (Bowl, d.clone()), (Bowl, d.clone())];
        let computed = sample(&plan, &store, workers, &|_| {}).unwrap();
        assert_eq!(computed, plan.len() - 4);
        let values = store.assemble().unwrap();
        for (i, v) in values.iter().enumerate() {
            if store.range(3).contains(&i) {
                assert_eq!(*v, -1.0, "a stored chunk is not recomputed");
                continue;
            }
            let c = plan.point(i);
            let expected = (1.0 + c[0]).powi(2) + (2.0 + c[1]).powi(2) + 9.0;
            assert!(
                (f64::from(*v) - expected).abs() < 1e-4,
                "{i}: {v} vs {expected}"
            );
        }
        assert_eq!(sample(&plan, &store, vec![(Bowl, d)], &|_| {}).unwrap(), 0);
        store.remove().unwrap();
    }
}
