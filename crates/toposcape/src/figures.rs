//! Figures of several run directories side by side: a sweep's `profiles.png` and a run's
//! `profiles_over_epochs.png`.

use std::path::PathBuf;

use toposcape_topology::render::{FigureOptions, ProfileCell, profile_grid_png};
use toposcape_topology::{Connectivity, Grid, ProfileOptions, TreeKind};

use crate::Result;
use crate::output::read_json;
use crate::rundir::RunDir;

/// The profiles of analysed run directories `(title, dir)` in a grid of `columns`, on one
/// shared loss scale (logarithmic when every loss is positive) so the shapes compare, or each
/// on its own with `own_scale`. Directories without a finished grid landscape are drawn as
/// missing.
pub fn profile_grid(
    cells: &[(String, PathBuf)],
    columns: usize,
    own_scale: bool,
) -> Result<Vec<u8>> {
    let mut profiles = Vec::with_capacity(cells.len());
    for (_, dir) in cells {
        let run = RunDir::new(dir);
        let axes = read_json(&run.file("axes.json"));
        if !run.state().is_analysed() || axes["plan"] != "grid" {
            profiles.push(None);
            continue;
        }
        let field = crate::field::load_field(&run.landscape(), None)?;
        let grid = Grid::new(&field.shape, Connectivity::Freudenthal)?;
        let tree = field
            .values
            .merge_tree(&grid, TreeKind::Join, &mut |_| {})?;
        profiles.push(Some(
            field.values.profile(&tree, ProfileOptions::default())?,
        ));
    }
    let present = profiles.iter().flatten();
    let low = present
        .clone()
        .map(|p| p.value_range.0)
        .fold(f64::INFINITY, f64::min);
    let high = present
        .map(|p| p.value_range.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let shared = !own_scale && low.is_finite() && high.is_finite();
    let options = FigureOptions {
        width: 520,
        height: 420,
        log_scale: shared && low > 0.0,
        loss_range: shared.then_some((low, high)),
        ..FigureOptions::default()
    };
    let cells: Vec<ProfileCell<'_>> = cells
        .iter()
        .zip(&profiles)
        .map(|((title, _), profile)| ProfileCell {
            title: title.clone(),
            profile: profile.as_ref(),
        })
        .collect();
    Ok(profile_grid_png(&cells, columns, &options)?)
}
