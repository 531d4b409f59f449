//! The directions of a landscape: the Hessian's top eigenvectors, filter-normalised random
//! ones, the principal components of the training trajectory, the way to other checkpoints,
//! or rows read from a file.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use toposcape_perturb::directions::{burn_filter_axis, filter_normalised, principal, unit_rows};
use toposcape_perturb::hessian::{
    HessianAnalysis, HessianOptions, HessianStage, LanczosOptions, analyse_hessian,
};
use toposcape_perturb::model::LandscapeModel;
use toposcape_perturb::params::ParamLayout;

use super::{Analysis, AnalysisOptions, HessianReport};
use crate::config::{RunConfig, Task};
use crate::error::{Error, Result};
use crate::field::{FieldValues, load_field};
use crate::progress::Stage;

/// The kinds of directions.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectionKind {
    /// The Hessian's top eigenvectors at theta0.
    Hessian,
    /// Filter-normalised Gaussian directions, seeded.
    Random,
    /// The principal components of the training checkpoints about theta0.
    Pca,
    /// Towards one or two other checkpoints: axis i is `checkpoint_i - theta0`.
    Interp(Vec<PathBuf>),
    /// Rows of an `.npy` file.
    File(PathBuf),
}

impl DirectionKind {
    /// The kind `text` names; a file relative to `relative_to`.
    pub fn parse(text: &str, relative_to: &Path) -> Self {
        match text {
            "hessian" => DirectionKind::Hessian,
            "random" => DirectionKind::Random,
            "pca" => DirectionKind::Pca,
            "interp" => DirectionKind::Interp(Vec::new()),
            path => DirectionKind::File(relative_to.join(path)),
        }
    }

    /// The kind's name as `axes.json` and `hessian.json` record it.
    pub fn name(&self) -> String {
        match self {
            DirectionKind::Hessian => "hessian".into(),
            DirectionKind::Random => "random".into(),
            DirectionKind::Pca => "pca".into(),
            DirectionKind::Interp(_) => "interp".into(),
            DirectionKind::File(p) => p.display().to_string(),
        }
    }
}

/// The kind of directions the options and the config ask for, checked against the files; for
/// interp directions the config's landscape becomes the checkpoints' (their count of axes, an
/// absolute range).
pub(super) fn resolve(
    options: &AnalysisOptions,
    config: &mut RunConfig,
    config_dir: &Path,
) -> Result<DirectionKind> {
    let mut kind = match &options.directions {
        // A file named in the options is relative to the working directory; one named in the
        // config, to the config's folder.
        Some(text) => DirectionKind::parse(text, Path::new("")),
        None => DirectionKind::parse(&config.landscape.directions, config_dir),
    };
    if let DirectionKind::Interp(through) = &mut kind {
        *through = match &options.through {
            Some(files) => files.clone(),
            None => config
                .landscape
                .through
                .iter()
                .map(|f| config_dir.join(f))
                .collect(),
        };
        if !(1..=2).contains(&through.len()) {
            return Err(Error::option_as_a_whole(
                "through",
                format!(
                    "interp directions need one or two checkpoints (`through` A.bpk[,B.bpk]), got {}",
                    through.len()
                ),
            ));
        }
        if let Some(missing) = through.iter().find(|f| !f.is_file()) {
            return Err(Error::option("through", missing.display(), "no such file"));
        }
        // One axis per checkpoint: a `dims` that asks for another count is a contradiction,
        // not something to give up silently.
        if let Some(dims) = options.dims.filter(|&d| d != through.len()) {
            return Err(Error::option(
                "dims",
                dims,
                format!(
                    "interp directions have one axis per checkpoint, and `through` names {}",
                    through.len()
                ),
            ));
        }
        // The axes are the checkpoints' differences from theta0, in their units: coordinate 1
        // is the checkpoint, so the range is absolute (1.5 unless given: both ends and beyond).
        config.landscape.dims = through.len();
        config.landscape.through = through.iter().map(|f| f.display().to_string()).collect();
        config.landscape.relative = false;
        if options.range.is_none() {
            config.landscape.range = 1.5;
        }
    } else if options.through.is_some() {
        return Err(Error::option_as_a_whole(
            "through",
            "only used with `directions` interp",
        ));
    }
    if let DirectionKind::File(path) = &kind
        && !path.is_file()
    {
        return Err(Error::option(
            "directions",
            path.display(),
            "expected hessian, random, pca, interp or an existing .npy file",
        ));
    }
    Ok(kind)
}

impl Analysis<'_> {
    /// The directions as rows, the Hessian's analysis (its top eigenpairs when they are the
    /// directions, its trace and density as `[hessian]` asks) and what `hessian.json` says.
    pub(super) fn directions<L: LandscapeModel>(
        &self,
        layout: &ParamLayout,
        theta0: &[f32],
        model: &mut L,
    ) -> Result<(Vec<Vec<f64>>, HessianAnalysis, HessianReport)> {
        let config = &self.prepared.config;
        let kind = &self.prepared.kind;
        let dims = config.landscape.dims;
        let started = Instant::now();
        let options = hessian_options(config, *kind == DirectionKind::Hessian);
        self.progress.start(Stage::Hessian, None, 0);
        let analysis = analyse_hessian(model, theta0, &options, |stage, products| {
            let what = match stage {
                HessianStage::Eigenpairs => "top eigenpairs",
                HessianStage::Trace => "trace",
                HessianStage::Density => "spectral density",
            };
            self.progress
                .message(&format!("{what}: {products} Hessian-vector products"));
        });
        self.progress.finish();
        let mut info = HessianReport::new(kind.name(), &analysis, &options);
        let rows = match kind {
            DirectionKind::Hessian => analysis
                .eigenpairs
                .as_ref()
                .expect("asked for")
                .vectors
                .clone(),
            DirectionKind::Random => {
                let mut rows: Vec<Vec<f64>> =
                    filter_normalised(layout, theta0, dims, config.seed, burn_filter_axis)
                        .into_iter()
                        .map(|r| r.into_iter().map(f64::from).collect())
                        .collect();
                unit_rows(&mut rows);
                rows
            }
            DirectionKind::Pca => {
                let checkpoints = self.trajectory(layout)?;
                let (rows, explained) = principal(&checkpoints, theta0, dims)
                    .map_err(|e| Error::option("directions", "pca", e.to_string()))?;
                info.explained_variance = explained;
                rows
            }
            DirectionKind::Interp(through) => self.towards(through, theta0)?,
            DirectionKind::File(path) => read_directions(path, dims, theta0.len())?,
        };
        info.seconds = started.elapsed().as_secs_f64();
        Ok((rows, analysis, info))
    }

    /// The differences of the checkpoints `through` from theta0.
    fn towards(&self, through: &[PathBuf], theta0: &[f32]) -> Result<Vec<Vec<f64>>> {
        let mut rows = Vec::with_capacity(through.len());
        for file in through {
            let other = self.load_flat(file)?;
            if other == theta0 {
                return Err(Error::option(
                    "through",
                    file.display(),
                    "the same weights as theta0",
                ));
            }
            rows.push(
                other
                    .iter()
                    .zip(theta0)
                    .map(|(a, b)| f64::from(*a) - f64::from(*b))
                    .collect(),
            );
        }
        Ok(rows)
    }

    /// The run's checkpoints as flat vectors, in epoch order.
    fn trajectory(&self, layout: &ParamLayout) -> Result<Vec<Vec<f32>>> {
        let Some(dir) = self.prepared.checkpoints.as_ref().filter(|d| d.is_dir()) else {
            return Err(Error::option(
                "directions",
                "pca",
                "needs the run's checkpoints/ folder beside the weights (train with \
                 training.checkpoint_every > 0)",
            ));
        };
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| Error::file("read", dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "bpk"))
            .collect();
        files.sort();
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            let flat = self.load_flat(&file)?;
            if flat.len() != layout.len() {
                return Err(Error::Input(format!(
                    "{}: does not match the model",
                    file.display()
                )));
            }
            out.push(flat);
        }
        Ok(out)
    }
}

/// What the Hessian analysis computes: the top `landscape.dims` eigenpairs when they are the
/// directions, and the trace and density `[hessian]` asks for.
fn hessian_options(config: &RunConfig, eigenpairs: bool) -> HessianOptions {
    let h = &config.hessian;
    // The finite-difference step for models without exact products (toposcape's own have
    // them), measured on the shipped models: the sharp PINN is best at 1e-3, the ReLU UNet at
    // 1e-2 (and off by 5-16% there: differences of gradients across ReLU kinks).
    let step = match config.task {
        Task::PinnConvection => 1e-3,
        Task::UnetShapes | Task::UnetPet => 1e-2,
    };
    HessianOptions {
        eigenpairs: eigenpairs.then_some(LanczosOptions {
            k: config.landscape.dims,
            tol: h.tolerance,
            max_steps: h.max_steps,
            seed: config.seed,
        }),
        step,
        trace_probes: h.trace_probes,
        density_probes: h.density_probes,
        density_steps: h.density_steps,
        seed: config.seed,
        ..HessianOptions::default()
    }
}

/// `dims` direction rows of length `len` from an `.npy` file.
fn read_directions(path: &Path, dims: usize, len: usize) -> Result<Vec<Vec<f64>>> {
    let field = load_field(path, None)?;
    let fail = |message: String| Error::option("directions", path.display(), message);
    if field.shape.len() != 2 || field.shape[1] != len {
        return Err(fail(format!(
            "expected an array of shape ({dims}, {len}) (rows in the order of params.json), got {:?}",
            field.shape
        )));
    }
    if field.shape[0] != dims {
        return Err(fail(format!(
            "{} rows, expected one per axis: {dims} (set `dims` to {} to use them all, or save \
             only the rows to use)",
            field.shape[0], field.shape[0]
        )));
    }
    let values: Vec<f64> = match field.values {
        FieldValues::F32(v) => v.into_iter().map(f64::from).collect(),
        FieldValues::F64(v) => v,
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(fail("holds non-finite values".into()));
    }
    let rows: Vec<Vec<f64>> = values.chunks_exact(len).map(<[f64]>::to_vec).collect();
    independent(&rows).map_err(fail)?;
    Ok(rows)
}

/// Whether `rows` span as many axes as there are rows: none is zero and none is a combination
/// of the others (a repeated or parallel row would make two axes one), else why not.
/// Gram-Schmidt in float64: a row whose part orthogonal to the rows before it is below 1e-9 of
/// its length adds no axis.
fn independent(rows: &[Vec<f64>]) -> Result<(), String> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let length = dot(row, row).sqrt();
        if length == 0.0 {
            return Err(format!("row {i} is zero; expected a direction"));
        }
        let mut rest = row.clone();
        // Twice, for the rounding of the first pass.
        for _ in 0..2 {
            for b in &basis {
                let along = dot(&rest, b);
                rest.iter_mut().zip(b).for_each(|(r, b)| *r -= along * b);
            }
        }
        let left = dot(&rest, &rest).sqrt();
        if left <= 1e-9 * length {
            return Err(format!(
                "row {i} lies in the span of the rows before it (a repeated or parallel row); \
                 expected independent directions"
            ));
        }
        rest.iter_mut().for_each(|r| *r /= left);
        basis.push(rest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::independent;

    #[test]
    fn dependent_rows_are_named() {
        assert!(independent(&[vec![1.0, 0.0, 0.0], vec![1.0, 1e-3, 0.0]]).is_ok());
        let zero = independent(&[vec![1.0, 2.0], vec![0.0, 0.0]]).unwrap_err();
        assert!(zero.starts_with("row 1 is zero"), "{zero}");
        let repeated = independent(&[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]).unwrap_err();
        assert!(repeated.starts_with("row 1 lies in the span"), "{repeated}");
        let parallel = independent(&[vec![1.0, 2.0, 3.0], vec![-2.0, -4.0, -6.0]]).unwrap_err();
        assert!(parallel.starts_with("row 1"), "{parallel}");
        let combination = independent(&[
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![3.0, -2.0, 0.0],
        ])
        .unwrap_err();
        assert!(combination.starts_with("row 2"), "{combination}");
    }
}
