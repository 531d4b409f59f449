//! PINN training end to end: the known success at beta = 1 and failure at beta = 30 with the
//! same budget, bit-identical reruns, and checkpoints that load back to the same loss.

use burn::prelude::*;
use toposcape_models::checkpoint::{
    load_checkpoint, load_safetensors, narrow_tensors, safetensors_bytes, save_checkpoint,
    save_safetensors,
};
use toposcape_models::convection::{ConvectionConfig, model_error};
use toposcape_models::pinn::{Pinn, PinnConfig};
use toposcape_models::train::{OptimizerKind, TrainSettings, scalar, train};
use toposcape_perturb::params::{ParamLayout, flatten};

/// Trains the default PINN (2 -> 50 x 4 -> 1, 1000 collocation points) with L-BFGS at lr 1.0
/// for 10 epochs of 20 iterations, and returns it with its relative L2 error.
fn train_pinn(beta: f64, device: &Device) -> (Pinn, f64) {
    device.seed(0);
    let config = ConvectionConfig::new().with_beta(beta);
    let data = config.data(device);
    let settings = TrainSettings {
        optimizer: OptimizerKind::Lbfgs,
        learning_rate: 1.0,
        epochs: 10,
        lbfgs_iterations: 20,
        lbfgs_history: 100,
    };
    let model = train::<_, ()>(
        PinnConfig::new().init(device),
        &settings,
        1,
        |m, _, _| config.loss(m, &data).total,
        |_| Ok(()),
    )
    .unwrap();
    let error = model_error(&model, beta, device);
    (model, error)
}

#[test]
fn pinn_learns_beta_1_and_fails_at_beta_30_with_the_same_budget() {
    let device = Device::flex().autodiff();
    let (_, easy) = train_pinn(1.0, &device);
    let (_, hard) = train_pinn(30.0, &device);
    eprintln!("relative L2 error: beta 1 {easy:.4}, beta 30 {hard:.4}");
    assert!(easy < 0.05, "beta = 1 should train: error {easy}");
    assert!(hard > 0.30, "beta = 30 should fail: error {hard}");
}

fn small_adam_run(device: &Device) -> Pinn {
    device.seed(42);
    let config = ConvectionConfig::new()
        .with_beta(2.0)
        .with_collocation_points(128)
        .with_initial_points(32)
        .with_boundary_points(16);
    let data = config.data(device);
    let settings = TrainSettings {
        optimizer: OptimizerKind::Adam,
        learning_rate: 1e-2,
        epochs: 30,
        ..TrainSettings::default()
    };
    let model = PinnConfig::new()
        .with_widths(vec![2, 24, 24, 1])
        .init(device);
    train::<_, ()>(
        model,
        &settings,
        2,
        |m, _, _| config.loss(m, &data).total,
        |_| Ok(()),
    )
    .unwrap()
}

#[test]
fn training_is_bit_identical_on_ndarray_and_flex() {
    #[allow(deprecated)]
    let ndarray = Device::ndarray().autodiff();
    for device in [ndarray, Device::flex().autodiff()] {
        let first = flatten(&small_adam_run(&device));
        let second = flatten(&small_adam_run(&device));
        let initial = {
            device.seed(42);
            flatten(
                &PinnConfig::new()
                    .with_widths(vec![2, 24, 24, 1])
                    .init(&device),
            )
        };
        assert_ne!(first, initial, "training moved the weights");
        let same = first
            .iter()
            .zip(&second)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "two runs with one seed differ on {device:?}");
    }
}

#[test]
fn checkpoints_and_safetensors_load_back_to_the_same_loss() {
    let device = Device::flex().autodiff();
    let model = small_adam_run(&device);
    let config = ConvectionConfig::new().with_beta(2.0);
    let data = config.data(&device);
    let loss = |m: &Pinn| scalar(config.loss(m, &data).total);
    let folder = std::env::temp_dir().join(format!("toposcape-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let fresh = || {
        device.seed(999);
        PinnConfig::new()
            .with_widths(vec![2, 24, 24, 1])
            .init(&device)
    };
    assert_ne!(loss(&fresh()), loss(&model));

    let record = folder.join("epoch-30.bpk");
    save_checkpoint(&model, &record).unwrap();
    let restored = load_checkpoint(fresh(), &record).unwrap();
    assert_eq!(flatten(&restored), flatten(&model));
    assert_eq!(loss(&restored).to_bits(), loss(&model).to_bits());

    let exported = folder.join("theta0.safetensors");
    save_safetensors(&model, &exported, &[("beta", "2".to_string())]).unwrap();
    let restored = load_safetensors(fresh(), &exported).unwrap();
    assert_eq!(loss(&restored).to_bits(), loss(&model).to_bits());

    // Read independently of burn: names are the parameter paths, values the flat vector's.
    let bytes = std::fs::read(&exported).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let flat = flatten(&model);
    let layout = ParamLayout::of(&model);
    assert_eq!(file.len(), layout.entries.len());
    for entry in &layout.entries {
        let tensor = file.tensor(&entry.name).unwrap();
        assert_eq!(tensor.dtype(), safetensors::Dtype::F32);
        assert_eq!(tensor.shape(), entry.shape.as_slice(), "{}", entry.name);
        let values: Vec<f32> = tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(
            values,
            flat[entry.offset..entry.offset + entry.numel()],
            "{}",
            entry.name
        );
    }
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(
        metadata.metadata().as_ref().unwrap().get("beta").unwrap(),
        "2"
    );
    // The same model and metadata give the same bytes every time (the metadata were written
    // in a hash map's order, different from one call to the next).
    let many: Vec<(&str, String)> = ["task", "config", "layout", "a", "b", "c", "d", "e"]
        .iter()
        .map(|&k| (k, format!("value of {k}")))
        .collect();
    let first = safetensors_bytes(&model, &many).unwrap();
    for _ in 0..6 {
        assert_eq!(safetensors_bytes(&model, &many).unwrap(), first);
    }
    let (_, read) = safetensors::SafeTensors::read_metadata(&first).unwrap();
    // Ours, beside burn-store's own (its format and version).
    let read = read.metadata().as_ref().unwrap();
    for (key, value) in &many {
        assert_eq!(&read[*key], value);
    }
    assert_eq!(narrow_tensors(&exported).unwrap(), vec![]);
    // A file of half-precision tensors is named as such (loading widens them silently).
    let half = folder.join("half.safetensors");
    let data = [0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![4], &data).unwrap();
    safetensors::serialize_to_file([("w", view)], None, &half).unwrap();
    assert_eq!(
        narrow_tensors(&half).unwrap(),
        vec![("w".to_string(), "F16".to_string())]
    );
    // A file for another shape is refused with the path in the message.
    let wrong = PinnConfig::new().with_widths(vec![2, 8, 1]).init(&device);
    let error = load_safetensors(wrong, &exported).unwrap_err().to_string();
    assert!(error.contains("theta0.safetensors"), "{error}");
    std::fs::remove_dir_all(&folder).unwrap();
}
