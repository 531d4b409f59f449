//! The pipeline through the library, in this process: a module of the test's own explored in
//! memory against its analytic landscape, and a shipped model analysed into a run directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use burn::module::Param;
use burn::prelude::*;
use toposcape::documents::MetricsDocument;
use toposcape::landscape::{Axes, ExploreOptions, explore};
use toposcape::progress::{Progress, Silent, Stage};
use toposcape::{AnalysisOptions, Error, EvalBackend, RunDir, RunState, analyse};

/// A quadratic bowl with its own curvatures: loss(p) = sum_i a_i p_i^2.
#[derive(Module, Debug)]
struct Bowl {
    p: Param<Tensor<1>>,
}

const CURVATURES: [f32; 3] = [3.0, 1.0, 0.25];

fn bowl_loss(bowl: &Bowl, device: &Device) -> Tensor<1> {
    let a = Tensor::<1>::from_floats(CURVATURES.as_slice(), device);
    (bowl.p.val().powf_scalar(2.0) * a).sum()
}

#[test]
fn a_module_of_ones_own_has_its_analytic_landscape() {
    let device = Device::flex();
    let p0 = [0.4f32, -0.3, 0.2];
    let bowl = Bowl {
        p: Param::from_tensor(Tensor::<1>::from_floats(p0.as_slice(), &device)),
    };
    let options = ExploreOptions {
        points: 9,
        range: 0.5,
        ..ExploreOptions::default()
    };
    let loss_device = device.clone();
    let found = explore(
        &bowl,
        &device,
        move |b: &Bowl| bowl_loss(b, &loss_device),
        &options,
        &Silent,
    )
    .unwrap();
    // The Hessian is diag(2 a): its top two eigenvalues are 6 and 2, along the first two axes.
    assert!(found.converged);
    for (got, want) in found.eigenvalues.iter().zip([6.0, 2.0]) {
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
    }
    // Recomputed in f64 from the formula at theta0 + x d_0 + y d_1, the axes d_0 = +-e_0 and
    // d_1 = +-e_1 (an eigenvector has no sign of its own): one choice of signs must match.
    let norm = p0.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    let half = 0.5 * norm;
    let coordinate = |i: usize| -half + 2.0 * half * i as f64 / 8.0;
    let analytic = |sx: f64, sy: f64, i: usize, j: usize| {
        let q = [
            f64::from(p0[0]) + sx * coordinate(i),
            f64::from(p0[1]) + sy * coordinate(j),
            f64::from(p0[2]),
        ];
        q.iter()
            .zip(CURVATURES)
            .map(|(q, a)| f64::from(a) * q * q)
            .sum::<f64>()
    };
    let error = |sx: f64, sy: f64| {
        (0..81)
            .map(|k| (f64::from(found.values[k]) - analytic(sx, sy, k / 9, k % 9)).abs())
            .fold(0.0, f64::max)
    };
    let best = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
        .map(|(sx, sy)| error(sx, sy))
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    assert!(best < 1e-5, "largest difference from the formula {best}");
    assert_eq!(found.shape, vec![9, 9]);
    // A bowl: one minimum, no saddle, every point in its basin.
    assert_eq!((found.metrics.minima, found.metrics.saddles), (1, 0));
    assert!((found.loss_at_theta0 - analytic(0.0, 0.0, 4, 4)).abs() < 1e-6);
}

#[test]
fn bad_options_are_errors_of_the_option() {
    let device = Device::flex();
    let bowl = Bowl {
        p: Param::from_tensor(Tensor::<1>::from_floats(
            [1.0f32, 2.0, 3.0].as_slice(),
            &device,
        )),
    };
    let loss_device = device.clone();
    let options = ExploreOptions {
        dims: 9,
        axes: Axes::Random,
        ..ExploreOptions::default()
    };
    let error = explore(
        &bowl,
        &device,
        move |b: &Bowl| bowl_loss(b, &loss_device),
        &options,
        &Silent,
    )
    .unwrap_err();
    assert!(error.is_input());
    assert_eq!(error.with_flags(), "--dims 9: expected 1 to 8 axes");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("toposcape-lib-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Progress as a list of what was reported.
#[derive(Default)]
struct Recorded(Mutex<Vec<(Stage, Option<u64>)>>, Mutex<u64>);

impl Progress for Recorded {
    fn start(&self, stage: Stage, total: Option<u64>, _done: u64) {
        self.0.lock().unwrap().push((stage, total));
    }
    fn set(&self, done: u64) {
        let mut last = self.1.lock().unwrap();
        *last = (*last).max(done);
    }
}

#[test]
fn a_shipped_model_is_analysed_in_process() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/pinn-beta1");
    let out = scratch("analyse").join("run");
    let options = AnalysisOptions {
        out: Some(out.clone()),
        points: Some(7),
        directions: Some("random".into()),
        threads: Some(2),
        ..AnalysisOptions::new(&models, EvalBackend::Cpu)
    };
    let progress = Recorded::default();
    let summary = analyse(&options, &progress).unwrap();
    let run = RunDir::new(&out);
    assert_eq!(run.state(), RunState::Analysed);
    assert!(!run.chunk_store().exists());
    assert_eq!(summary.shape, vec![7, 7]);
    assert_eq!(summary.computed, 49);
    assert_eq!(
        *progress.0.lock().unwrap().last().unwrap(),
        (Stage::Landscape, Some(49))
    );
    assert_eq!(*progress.1.lock().unwrap(), 49);
    // What the summary says is what metrics.json holds.
    let written = MetricsDocument::from_json(&fs::read_to_string(run.metrics()).unwrap()).unwrap();
    assert_eq!(written, summary.metrics);
    // theta0 is the grid's centre: its sampled loss is the loss at theta0 (f32 against f64).
    let centre = f64::from(summary.centre_loss.unwrap());
    assert!((centre - summary.loss_at_theta0).abs() <= 1e-5 * summary.loss_at_theta0);
    // Analysed: a second analysis into it is refused, naming the option.
    let again = analyse(&options, &Silent).unwrap_err();
    assert!(
        matches!(&again, Error::Option { key, .. } if key == "out"),
        "{again}"
    );
    assert!(
        again.with_flags().contains("--force"),
        "{}",
        again.with_flags()
    );
    fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

/// A small PINN config: a fraction of a second to train and analyse (the end-to-end tests
/// use it too).
const TINY_PINN: &str = include_str!("../../../tests/fixtures/tiny-pinn.toml");

/// Sweep progress as (done, total, current run).
#[derive(Default)]
struct SweepRecord(Mutex<Vec<(usize, usize, Option<String>)>>);

impl Progress for SweepRecord {
    fn sweep(&self, done: usize, total: usize, current: Option<&str>) {
        let entry = (done, total, current.map(String::from));
        self.0.lock().unwrap().push(entry);
    }
}

#[test]
fn a_sweep_runs_in_process_and_its_rows_are_its_runs_files() {
    use toposcape::run::RunEvent;
    use toposcape::sweep::{SweepOptions, sweep};
    let dir = scratch("sweep");
    fs::write(dir.join("base.toml"), TINY_PINN).unwrap();
    let file = dir.join("s.toml");
    fs::write(&file, "base = \"base.toml\"\n[values]\nseed = [3, 4]\n").unwrap();
    let options = SweepOptions {
        out: Some(dir.join("out")),
        ..SweepOptions::new(&file, EvalBackend::Cpu)
    };
    let progress = SweepRecord::default();
    let mut events: Vec<(String, &'static str)> = Vec::new();
    let summary = sweep(&options, &progress, &mut |run, event| {
        let what = match event {
            RunEvent::Trained(_) => "trained",
            RunEvent::Analysed(_) => "analysed",
            RunEvent::Report(_) => "report",
            _ => "other",
        };
        events.push((run.name.clone(), what));
    })
    .unwrap();
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    // One run after another, each trained, analysed and reported, then the sweep is over.
    let names = ["seed=3", "seed=4"];
    let expected: Vec<(String, &str)> = names
        .iter()
        .flat_map(|n| ["trained", "analysed", "report"].map(|w| (n.to_string(), w)))
        .collect();
    assert_eq!(events, expected);
    assert_eq!(
        *progress.0.lock().unwrap(),
        vec![
            (0, 2, Some("seed=3".into())),
            (1, 2, Some("seed=4".into())),
            (2, 2, None)
        ]
    );
    // Each typed row holds what its run directory's files say.
    for (run, row) in summary.plan.runs.iter().zip(&summary.rows) {
        let dir = RunDir::new(dir.join("out/runs").join(&run.name));
        assert!(row.complete && dir.state().is_analysed());
        let train: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.train_metrics()).unwrap()).unwrap();
        assert_eq!(row.final_loss, train["final_loss"].as_f64());
        assert_eq!(
            row.get("relative_l2_error"),
            train["relative_l2_error"].as_f64()
        );
        let metrics =
            MetricsDocument::from_json(&fs::read_to_string(dir.metrics()).unwrap()).unwrap();
        assert_eq!(row.metrics.as_ref(), Some(&metrics.metrics));
        assert_eq!(row.get("minima"), Some(metrics.metrics.minima as f64));
    }
    // The two seeds are a pair of seed_distances.csv.
    assert_eq!(summary.seed_pairs.len(), 1);
    assert_eq!(
        (
            summary.seed_pairs[0].a.as_str(),
            summary.seed_pairs[0].b.as_str()
        ),
        ("seed=3", "seed=4")
    );
    // Run again, everything is complete: nothing trains.
    let mut trained = 0;
    sweep(&options, &Silent, &mut |_, event| {
        trained += usize::from(matches!(event, RunEvent::Trained(_)));
    })
    .unwrap();
    assert_eq!(trained, 0);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn weights_that_are_not_finite_are_refused_before_anything_is_written() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/pinn-beta1");
    let dir = scratch("nan-weights");
    // The shipped weights with their first value made NaN (a diverged training's).
    let mut bytes = fs::read(models.join("theta0.safetensors")).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + header..12 + header].copy_from_slice(&f32::NAN.to_le_bytes());
    let weights = dir.join("theta0.safetensors");
    fs::write(&weights, bytes).unwrap();
    let out = dir.join("out");
    let options = AnalysisOptions {
        config: Some(models.join("config.toml")),
        out: Some(out.clone()),
        points: Some(5),
        directions: Some("random".into()),
        ..AnalysisOptions::new(&weights, EvalBackend::Cpu)
    };
    let error = analyse(&options, &Silent).unwrap_err();
    assert!(error.is_input(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("theta0.safetensors: 1 of its") && text.contains("not finite"),
        "{text}"
    );
    assert!(!RunDir::new(&out).metrics().exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// `analyse_on` on every rank of a team of threads, each with its own options; what each rank
/// returned, in rank order.
fn analyse_on_threads(
    options: &[AnalysisOptions],
) -> Vec<toposcape::Result<Option<toposcape::AnalysisSummary>>> {
    use toposcape::team::Threads;
    std::thread::scope(|scope| {
        let handles: Vec<_> = Threads::team(options.len())
            .into_iter()
            .zip(options)
            .map(|(team, options)| {
                scope.spawn(move || toposcape::landscape::analyse_on(&team, options, &Silent))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn ranks_of_a_team_sample_the_landscape_of_one_process() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/pinn-beta1");
    let dir = scratch("team");
    let options = |out: &str, points: usize| AnalysisOptions {
        out: Some(dir.join(out)),
        points: Some(points),
        directions: Some("hessian".into()),
        threads: Some(1),
        ..AnalysisOptions::new(&models, EvalBackend::Cpu)
    };
    analyse(&options("alone", 9), &Silent).unwrap();
    let ranks = analyse_on_threads(&vec![options("team", 9); 3]);
    let summary = ranks[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(summary.computed, 81);
    assert!(ranks[1..].iter().all(|r| matches!(r, Ok(None))));
    for file in ["landscape.npy", "directions.npy", "tree.json"] {
        assert_eq!(
            fs::read(dir.join("alone").join(file)).unwrap(),
            fs::read(dir.join("team").join(file)).unwrap(),
            "{file} bit for bit"
        );
    }

    // A rank given another grid is found out before anything is written; it reports, the
    // others only know that it failed.
    let ranks = analyse_on_threads(&[options("refused", 9), options("refused", 7)]);
    let reported = ranks[1].as_ref().unwrap_err();
    assert!(reported.is_input());
    assert!(
        reported.to_string().starts_with(
            "this rank was given another analysis than rank 0 (its landscape would be 49 points"
        ),
        "{reported}"
    );
    assert!(
        matches!(
            ranks[0],
            Err(Error::Elsewhere {
                rank: 1,
                input: true
            })
        ),
        "{:?}",
        ranks[0]
    );
    assert!(!RunDir::new(dir.join("refused")).chunk_store().exists());
    fs::remove_dir_all(&dir).unwrap();
}
