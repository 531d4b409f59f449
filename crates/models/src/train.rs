//! The training loop: Adam (burn's) or L-BFGS (burn's, with a strong Wolfe line search) over
//! any burn module and any loss.
//!
//! The loop knows nothing about files or terminals: after every epoch it hands the caller the
//! epoch's loss and the model, and the caller draws progress, writes curves and checkpoints, or
//! stops the run by returning an error.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, LBFGSConfig, LineSearchFn};
use burn::prelude::*;

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    Adam,
    /// Limited-memory BFGS with a strong Wolfe line search, the PINN literature's optimiser
    /// (run with learning rate 1.0).
    Lbfgs,
}

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    pub epochs: usize,
    /// L-BFGS only: the iterations of one step (one step per batch), and the number of past
    /// updates kept.
    pub lbfgs_iterations: usize,
    pub lbfgs_history: usize,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            epochs: 100,
            lbfgs_iterations: 20,
            lbfgs_history: 100,
        }
    }
}

/// What the loop reports after each epoch.
pub struct EpochReport<'a, M> {
    /// 1-based.
    pub epoch: usize,
    /// The mean of the epoch's batch losses, each taken before its update.
    pub loss: f64,
    pub model: &'a M,
}

/// The value of a one-element tensor.
pub fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

/// Trains `model` for `settings.epochs` epochs of `batches` batches each. `loss(model, epoch,
/// batch)` gives the loss of one batch (on an autodiff device); `on_epoch` sees every epoch's
/// report and may stop training by returning an error, which is passed on.
pub fn train<M, E>(
    mut model: M,
    settings: &TrainSettings,
    batches: usize,
    mut loss: impl FnMut(&M, usize, usize) -> Tensor<1>,
    mut on_epoch: impl FnMut(EpochReport<'_, M>) -> Result<(), E>,
) -> Result<M, E>
where
    M: Module + Clone,
{
    let batches = batches.max(1);
    match settings.optimizer {
        OptimizerKind::Adam => {
            let mut optimizer = AdamConfig::new().init();
            for epoch in 1..=settings.epochs {
                let mut total = 0.0;
                for batch in 0..batches {
                    let value = loss(&model, epoch, batch);
                    total += scalar(value.clone());
                    let grads = GradientsParams::from_grads(value.backward(), &model);
                    model = optimizer.step(settings.learning_rate, model, grads);
                }
                on_epoch(EpochReport {
                    epoch,
                    loss: total / batches as f64,
                    model: &model,
                })?;
            }
        }
        OptimizerKind::Lbfgs => {
            let mut optimizer = LBFGSConfig::new()
                .with_line_search_fn(LineSearchFn::StrongWolfe)
                .with_max_iter(settings.lbfgs_iterations.max(1))
                .with_history_size(settings.lbfgs_history.max(1))
                .init();
            for epoch in 1..=settings.epochs {
                let mut total = 0.0;
                for batch in 0..batches {
                    let mut first = None;
                    let closure = |m: M| {
                        let value = loss(&m, epoch, batch);
                        let grads = GradientsParams::from_grads(value.backward(), &m);
                        let value = scalar(value);
                        first.get_or_insert(value);
                        (value, grads)
                    };
                    model = optimizer.step(settings.learning_rate, model, closure).0;
                    total += first.unwrap_or(f64::NAN);
                }
                on_epoch(EpochReport {
                    epoch,
                    loss: total / batches as f64,
                    model: &model,
                })?;
            }
        }
    }
    Ok(model)
}
