//! The wgpu backend computes the same losses and gradients as the CPU, and trains through the
//! binary. Runs with `cargo test --features wgpu --test wgpu_backend`; on a machine without a
//! GPU, Mesa's lavapipe Vulkan driver (Debian: mesa-vulkan-drivers, libvulkan1) gives wgpu a CPU
//! adapter, slow but exact enough to check the code path.
#![cfg(feature = "wgpu")]

use std::process::Command;

use burn::prelude::*;
use toposcape_models::convection::ConvectionConfig;
use toposcape_models::pinn::PinnConfig;
use toposcape_models::segmentation::ShapesConfig;
use toposcape_models::train::scalar;
use toposcape_models::unet::UnetConfig;
use toposcape_perturb::params::{flat_gradient, flatten, load_flat_values};

fn wgpu() -> Device {
    Device::wgpu_options()
        .init()
        .expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)")
}

fn relative(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm.max(1e-30)).sqrt()
}

#[test]
fn pinn_and_unet_losses_and_gradients_match_the_cpu() {
    let gpu = wgpu().autodiff();
    let cpu = Device::flex().autodiff();
    cpu.seed(5);

    // The PINN: default shape and points.
    let problem = ConvectionConfig::new().with_beta(5.0);
    let model = PinnConfig::new().init(&cpu);
    // The same weights as fresh leaves on the GPU (`to_device` would make them non-leaf
    // copies whose gradients flow back to the CPU tensors).
    let on_gpu = load_flat_values(PinnConfig::new().init(&gpu), &flatten(&model), &gpu);
    let cpu_loss = problem.loss(&model, &problem.data(&cpu)).total;
    let gpu_loss = problem.loss(&on_gpu, &problem.data(&gpu)).total;
    let (a, b) = (scalar(gpu_loss.clone()), scalar(cpu_loss.clone()));
    assert!(
        (a - b).abs() <= 1e-4 * b.abs(),
        "PINN loss: wgpu {a} vs cpu {b}"
    );
    let g_gpu = flat_gradient(&on_gpu, &gpu_loss.backward());
    let g_cpu = flat_gradient(&model, &cpu_loss.backward());
    let r = relative(&g_gpu, &g_cpu);
    eprintln!("PINN: loss {a} (wgpu) vs {b} (flex), gradient relative difference {r:.2e}");
    assert!(r < 1e-3, "PINN gradient: relative difference {r}");

    // The UNet on shapes; the labels exist before the forward pass (docs/ARCHITECTURE.md,
    // "Performance": a target built first once gave a wrong loss on lavapipe).
    let (images, _) = ShapesConfig::new()
        .with_size(16)
        .with_train_images(4)
        .with_test_images(1)
        .generate();
    let model = UnetConfig::new().init(&cpu);
    let on_gpu = load_flat_values(UnetConfig::new().init(&gpu), &flatten(&model), &gpu);
    let (x, y) = images.batch(0, 4, &cpu);
    let (xg, yg) = images.batch(0, 4, &gpu);
    let cpu_loss = model.loss(x, y);
    let gpu_loss = on_gpu.loss(xg, yg);
    let (a, b) = (scalar(gpu_loss.clone()), scalar(cpu_loss.clone()));
    assert!(
        (a - b).abs() <= 1e-4 * b.abs(),
        "UNet loss: wgpu {a} vs cpu {b}"
    );
    let r = relative(
        &flat_gradient(&on_gpu, &gpu_loss.backward()),
        &flat_gradient(&model, &cpu_loss.backward()),
    );
    eprintln!("UNet: loss {a} (wgpu) vs {b} (flex), gradient relative difference {r:.2e}");
    assert!(r < 1e-3, "UNet gradient: relative difference {r}");
}

#[test]
fn train_runs_on_wgpu() {
    let dir = std::env::temp_dir().join(format!("toposcape-wgpu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tiny.toml");
    std::fs::write(
        &config,
        "task = \"pinn-convection\"\n[pinn]\nwidths = [2, 8, 1]\n[convection]\n\
         collocation_points = 32\ninitial_points = 8\nboundary_points = 8\n\
         [training]\noptimizer = \"adam\"\nlearning_rate = 0.01\nepochs = 2\n",
    )
    .unwrap();
    let out = dir.join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args([
            "train",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "wgpu",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metrics = std::fs::read_to_string(out.join("train_metrics.json")).unwrap();
    assert!(metrics.contains("\"backend\": \"wgpu\""), "{metrics}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `toposcape analyze --backend wgpu` (the batched PINN evaluator, the generic on-device one
/// for the UNet and the batched UNet) gives the CPU's landscape.
#[test]
fn analyze_on_wgpu_matches_the_cpu() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = std::env::temp_dir().join(format!("toposcape-wgpu-analyze-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let landscape = |model: &str, backend: &str, extra: &[&str]| -> Vec<f32> {
        let out = dir.join(format!("{model}-{backend}-{}", extra.join("")));
        // The model's config without the Hessian's trace and density: this test is about the
        // landscape, and on a CPU Vulkan adapter the UNet's 40 products take minutes.
        let config = dir.join(format!("{model}.toml"));
        let shipped =
            std::fs::read_to_string(format!("{root}/models/{model}/config.toml")).unwrap();
        std::fs::write(
            &config,
            format!("{shipped}\n[hessian]\ntrace_probes = 0\ndensity_probes = 0\n"),
        )
        .unwrap();
        let mut args = vec![
            "analyze".to_string(),
            format!("{root}/models/{model}"),
            "--config".into(),
            config.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--backend".into(),
            backend.into(),
            "--directions".into(),
            "random".into(),
        ];
        args.extend(extra.iter().map(ToString::to_string));
        let output = Command::new(env!("CARGO_BIN_EXE_toposcape"))
            .args(&args)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes = std::fs::read(out.join("landscape.npy")).unwrap();
        npyz::NpyFile::new(&bytes[..])
            .unwrap()
            .into_vec::<f32>()
            .unwrap()
    };
    for (model, extra) in [
        ("pinn-beta1", &["--points", "5", "--range", "0.05"][..]),
        ("unet-shapes", &["--points", "3"][..]),
        // The batched UNet: 9 points in passes of 4 (the last one short).
        ("unet-shapes", &["--points", "3", "--batch", "4"][..]),
    ] {
        let gpu = landscape(model, "wgpu", extra);
        let cpu = landscape(model, "flex", extra);
        assert_eq!(gpu.len(), cpu.len());
        for (g, c) in gpu.iter().zip(&cpu) {
            let relative = (f64::from(*g) - f64::from(*c)).abs() / f64::from(*c).abs();
            assert!(relative < 1e-4, "{model}: wgpu {g} vs flex {c}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_names_the_adapter_and_never_calls_a_cpu_adapter_a_gpu() {
    let dir = std::env::temp_dir().join(format!("toposcape-wgpu-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("bench.json");
    let o = Command::new(env!("CARGO_BIN_EXE_toposcape"))
        .args([
            "bench",
            "--quick",
            "--repeats",
            "1",
            "--batches",
            "8,16,4096",
        ])
        .args(["--nominal-tflops", "0.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let adapters = json["wgpu_adapters"].as_array().unwrap();
    assert!(!adapters.is_empty(), "wgpu found no adapter");
    let any_gpu = adapters.iter().any(|a| a[1] == false);
    let expected = if any_gpu { "wgpu-gpu" } else { "wgpu-cpu" };
    let figures = json["figures"].as_array().unwrap();
    let wgpu_rows: Vec<&serde_json::Value> = figures
        .iter()
        .filter(|f| f["backend"].as_str().unwrap().starts_with("wgpu"))
        .collect();
    assert!(!wgpu_rows.is_empty());
    assert!(wgpu_rows.iter().all(|f| f["backend"] == expected));
    if !any_gpu {
        assert!(json["gpu"].as_str().unwrap().starts_with("no GPU"));
        // Lavapipe's 128 MiB buffers hold 291 points of the default PINN: 4096 is skipped.
        assert!(
            stdout.contains("batches [4096] skipped on wgpu-cpu"),
            "{stdout}"
        );
    }

    // The batch sweep: one row per size that fits, the fastest marked best.
    let batched: Vec<&serde_json::Value> = wgpu_rows
        .iter()
        .copied()
        .filter(|f| f["group"] == "pinn" && f["name"].as_str().unwrap().contains("batches of"))
        .collect();
    let fitted = if any_gpu { 3 } else { 2 };
    assert_eq!(batched.len(), fitted, "{batched:?}");
    let best: Vec<_> = batched
        .iter()
        .filter(|f| f["name"].as_str().unwrap().ends_with("(best batch)"))
        .collect();
    assert_eq!(best.len(), 1, "{batched:?}");
    let fastest = batched
        .iter()
        .map(|f| f["median"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(best[0]["median"].as_f64().unwrap(), fastest);

    // The batched UNet on wgpu, against the UNet one point at a time on flex.
    assert!(
        wgpu_rows.iter().any(|f| f["group"] == "unet"
            && f["name"]
                .as_str()
                .unwrap()
                .starts_with("points/s, batches of")
            && f["baseline"]
                .as_str()
                .unwrap()
                .starts_with("unet/points/s, one at a time")),
        "{wgpu_rows:?}"
    );

    // The PINN's Hessian-vector products on wgpu, against flex's.
    assert!(
        wgpu_rows
            .iter()
            .any(|f| f["name"] == "Hessian-vector products/s"
                && f["baseline"] == "pinn/Hessian-vector products/s/flex"),
        "{wgpu_rows:?}"
    );

    // The FLOP rate against the nominal rate given: on the wgpu PINN points/s rows only.
    assert_eq!(json["nominal_f32"]["tflops"], 0.5);
    assert_eq!(json["nominal_f32"]["source"], "--nominal-tflops");
    for f in figures {
        let on_wgpu_pinn =
            f["group"] == "pinn" && f["unit"] == "points/s" && f["backend"] == expected;
        match f.get("of_nominal") {
            Some(x) => {
                assert!(on_wgpu_pinn, "{f}");
                let gflops = f["gflop_per_s"].as_f64().unwrap();
                assert!((x.as_f64().unwrap() - gflops / 500.0).abs() <= 1e-12 * gflops);
            }
            None => assert!(!on_wgpu_pinn, "{f}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
