//! Reading landscapes: `.npy` files and `.npz` archives of float32 or float64 arrays.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek};
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};
use toposcape_topology::render::{self, FigureOptions, RenderError};
use toposcape_topology::vtk::VtkValues;
use toposcape_topology::{
    Basins, Connectivity, ContourTree, Grid, MAX_DIMENSIONS, MergeTree, Neighbourhood, Profile,
    ProfileOptions, Threshold, TopologyError, TreeKind, landscape_profile,
};

use crate::documents::{FieldTopology, MetricsDocument};
use crate::error::Error;
use crate::progress::{Progress, Stage};

/// The array name Landscaper (the authors' Python package) saves its landscapes under.
pub const DEFAULT_NPZ_KEY: &str = "loss";

/// A field's values in the precision they were stored in.
pub enum FieldValues {
    /// float32 values.
    F32(Vec<f32>),
    /// float64 values.
    F64(Vec<f64>),
}

impl FieldValues {
    /// The merge tree of these values on `grid`, reporting progress as vertices are swept.
    pub fn merge_tree(
        &self,
        grid: &Grid,
        kind: TreeKind,
        progress: &mut dyn FnMut(usize),
    ) -> Result<MergeTree, TopologyError> {
        match self {
            Self::F32(v) => MergeTree::compute_with_progress(v, grid, kind, progress),
            Self::F64(v) => MergeTree::compute_with_progress(v, grid, kind, progress),
        }
    }

    /// The contour tree of these values on `grid`.
    pub fn contour_tree(&self, grid: &Grid) -> Result<ContourTree, TopologyError> {
        match self {
            Self::F32(v) => ContourTree::compute(v, grid),
            Self::F64(v) => ContourTree::compute(v, grid),
        }
    }

    /// The basins of attraction of these values on `grid`.
    pub fn basins(&self, grid: &Grid) -> Result<Basins, TopologyError> {
        match self {
            Self::F32(v) => Basins::compute(v, grid),
            Self::F64(v) => Basins::compute(v, grid),
        }
    }

    /// The values as a VTK point-data array.
    pub fn vtk_values(&self) -> VtkValues<'_> {
        match self {
            Self::F32(v) => VtkValues::Float32(v),
            Self::F64(v) => VtkValues::Float64(v),
        }
    }

    /// The landscape figure (heat map or slices): PNG bytes, or SVG text as bytes.
    pub fn landscape_figure(
        &self,
        shape: &[usize],
        options: &FigureOptions,
        svg: bool,
    ) -> Result<Vec<u8>, RenderError> {
        match (self, svg) {
            (Self::F32(v), false) => render::landscape_png(v, shape, options),
            (Self::F64(v), false) => render::landscape_png(v, shape, options),
            (Self::F32(v), true) => {
                render::landscape_svg(v, shape, options).map(String::into_bytes)
            }
            (Self::F64(v), true) => {
                render::landscape_svg(v, shape, options).map(String::into_bytes)
            }
        }
    }

    /// The landscape profile of `tree`, a join tree of these values.
    pub fn profile(
        &self,
        tree: &MergeTree,
        options: ProfileOptions,
    ) -> Result<Profile, TopologyError> {
        match self {
            Self::F32(v) => landscape_profile(tree, v, options),
            Self::F64(v) => landscape_profile(tree, v, options),
        }
    }
}

/// A landscape read from a file: C-order values and their shape.
pub struct Field {
    /// The array's shape, C order.
    pub shape: Vec<usize>,
    /// The values, C order.
    pub values: FieldValues,
}

impl Field {
    /// `"float32"` or `"float64"`.
    pub fn dtype_name(&self) -> &'static str {
        match self.values {
            FieldValues::F32(_) => "float32",
            FieldValues::F64(_) => "float64",
        }
    }
}

/// Reads the field in `path`: a `.npy` file, or the array `key` (default `loss`) of a `.npz`
/// archive. The format is recognised by the file's first bytes, not its name.
pub fn load_field(path: &Path, key: Option<&str>) -> Result<Field, Error> {
    let name = path.display();
    let fail = |what: String| Error::Input(format!("{name}: {what}"));
    let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 6];
    let read =
        read_prefix(&mut reader, &mut magic).map_err(|e| fail(format!("cannot read: {e}")))?;
    reader
        .rewind()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if magic[..read].starts_with(b"\x93NUMPY") && read == 6 {
        if let Some(key) = key {
            return Err(fail(format!(
                "--key {key} was given, but this is a .npy file, which holds one array; --key is for .npz archives"
            )));
        }
        let npy = NpyFile::new(reader).map_err(|e| fail(header_problem(e)))?;
        read_array(npy).map_err(fail)
    } else if magic[..read].starts_with(b"PK") {
        let key = key.unwrap_or(DEFAULT_NPZ_KEY);
        let mut archive = zip::ZipArchive::new(reader)
            .map_err(|e| fail(format!("not a valid .npz archive: {e}")))?;
        let entry_name = format!("{key}.npy");
        if archive.index_for_name(&entry_name).is_none() {
            let mut names: Vec<String> = archive
                .file_names()
                .filter_map(|n| Some(n.ok()?.strip_suffix(".npy")?.to_string()))
                .collect();
            names.sort_unstable();
            let hint = if names.is_empty() {
                "it holds no arrays".to_string()
            } else {
                format!("it holds {}; choose one with --key", names.join(", "))
            };
            return Err(fail(format!("has no array '{key}': {hint}")));
        }
        let entry = archive
            .by_name(&entry_name)
            .map_err(|e| fail(format!("cannot read array '{key}': {e}")))?;
        let npy = NpyFile::new(entry)
            .map_err(|e| fail(format!("array '{key}': {}", header_problem(e))))?;
        read_array(npy).map_err(|what| fail(format!("array '{key}': {what}")))
    } else {
        Err(fail(
            "not a .npy file or .npz archive (expected a NumPy array saved with numpy.save or numpy.savez)".into(),
        ))
    }
}

fn header_problem(e: std::io::Error) -> String {
    match e.kind() {
        ErrorKind::UnexpectedEof => "is truncated: it ends inside the .npy header".into(),
        // npyz's parse errors run over several lines (the header text and a caret under the
        // fault): one line, and not without end.
        _ => {
            let text = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let short: String = text.chars().take(200).collect();
            let more = if short.len() < text.len() { " ..." } else { "" };
            format!("not a valid .npy header: {short}{more}")
        }
    }
}

fn read_prefix(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn read_array<R: Read>(npy: NpyFile<R>) -> Result<Field, String> {
    let shape: Vec<usize> = npy.shape().iter().map(|&n| n as usize).collect();
    if shape.is_empty() {
        return Err("is a 0-dimensional scalar; expected an array of 1 to 8 dimensions".into());
    }
    if shape.len() > MAX_DIMENSIONS {
        return Err(format!(
            "has {} dimensions (shape {shape:?}); at most {MAX_DIMENSIONS} are supported",
            shape.len()
        ));
    }
    if shape.contains(&0) {
        return Err(format!(
            "is empty (shape {shape:?}); expected at least one value"
        ));
    }
    let fortran = npy.order() == Order::Fortran;
    let dtype = npy.dtype();
    let width = match &dtype {
        DType::Plain(ts) if ts.type_char() == TypeChar::Float => ts.size_field(),
        _ => 0,
    };
    let truncated = |e: std::io::Error| match e.kind() {
        ErrorKind::UnexpectedEof => format!(
            "is truncated: it ends before all {} values of shape {shape:?}",
            shape.iter().product::<usize>()
        ),
        _ => format!("cannot read its data: {e}"),
    };
    let values = match width {
        4 => FieldValues::F32(c_order(
            npy.into_vec::<f32>().map_err(truncated)?,
            &shape,
            fortran,
        )),
        8 => FieldValues::F64(c_order(
            npy.into_vec::<f64>().map_err(truncated)?,
            &shape,
            fortran,
        )),
        _ => {
            return Err(format!(
                "has dtype {}; expected float32 or float64",
                dtype.descr()
            ));
        }
    };
    Ok(Field { shape, values })
}

/// Reorders Fortran-order data (first axis fastest) into C order (last axis fastest).
fn c_order<T: Copy>(data: Vec<T>, shape: &[usize], fortran: bool) -> Vec<T> {
    if !fortran || shape.len() == 1 {
        return data;
    }
    let dims = shape.len();
    let mut fortran_strides = vec![1usize; dims];
    for axis in 1..dims {
        fortran_strides[axis] = fortran_strides[axis - 1] * shape[axis - 1];
    }
    let mut out = Vec::with_capacity(data.len());
    let mut index = vec![0usize; dims];
    for _ in 0..data.len() {
        let source: usize = index.iter().zip(&fortran_strides).map(|(i, s)| i * s).sum();
        out.push(data[source]);
        for axis in (0..dims).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::c_order;

    #[test]
    fn fortran_data_is_reordered() {
        // A 2x3 array [[0, 1, 2], [3, 4, 5]] stored in Fortran order is 0 3 1 4 2 5.
        assert_eq!(
            c_order(vec![0, 3, 1, 4, 2, 5], &[2, 3], true),
            vec![0, 1, 2, 3, 4, 5]
        );
        assert_eq!(c_order(vec![0, 1, 2], &[3], true), vec![0, 1, 2]);
    }
}

/// How a field is read and its tree computed (`topo` and `compare`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TreeOptions {
    /// The array to read from a .npz archive [default: loss].
    pub key: Option<String>,
    /// Which grid vertices are neighbours.
    pub connectivity: Connectivity,
    /// Remove persistence pairs below this threshold.
    pub simplify: Option<Threshold>,
}

/// A field and its merge tree, simplified too if asked.
pub struct FieldTree {
    /// The field as read.
    pub field: Field,
    /// The grid's connectivity the tree was computed on.
    pub connectivity: Connectivity,
    /// The field's merge tree.
    pub tree: MergeTree,
    /// The absolute threshold and the simplified tree.
    pub simplified: Option<(f64, MergeTree)>,
}

impl FieldTree {
    /// Reads `path` and computes its tree of the given kind.
    pub fn read(
        path: &Path,
        options: &TreeOptions,
        kind: TreeKind,
        progress: &dyn Progress,
    ) -> Result<Self, Error> {
        let field = load_field(path, options.key.as_deref())?;
        Self::of(field, &path.display().to_string(), options, kind, progress)
    }

    /// The tree of a field already in memory; `name` names it in messages. Progress is
    /// reported as [`Stage::MergeTree`], in vertices.
    pub fn of(
        field: Field,
        name: &str,
        options: &TreeOptions,
        kind: TreeKind,
        progress: &dyn Progress,
    ) -> Result<Self, Error> {
        let connectivity = options.connectivity;
        let grid = Grid::new(&field.shape, connectivity)
            .map_err(|e| Error::Input(format!("{name}: {e}")))?;
        progress.start(Stage::MergeTree, Some(grid.vertex_count() as u64), 0);
        let tree = field
            .values
            .merge_tree(&grid, kind, &mut |done| progress.set(done as u64))?;
        progress.finish();
        let simplified = match options.simplify {
            None => None,
            Some(threshold) => match tree.simplify(threshold) {
                Ok(simple) => Some((tree.threshold_value(threshold)?, simple)),
                Err(e) => return Err(Error::option_as_a_whole("simplify", e.to_string())),
            },
        };
        Ok(Self {
            field,
            connectivity,
            tree,
            simplified,
        })
    }

    /// The field's contour tree and basins of attraction, on the same grid as its tree.
    pub fn contour_and_basins(&self) -> Result<(ContourTree, Basins), Error> {
        let grid = Grid::new(&self.field.shape, self.connectivity)?;
        let values = &self.field.values;
        Ok((values.contour_tree(&grid)?, values.basins(&grid)?))
    }

    /// The tree that outputs describe: the simplified one if there is one.
    pub fn reported(&self) -> &MergeTree {
        self.simplified
            .as_ref()
            .map_or(&self.tree, |(_, simple)| simple)
    }

    /// `metrics.json` of the field (`name` its file), of the simplified tree too.
    pub fn metrics_document(&self, name: &str) -> Result<MetricsDocument, Error> {
        let simplified = self.simplified.as_ref().map(|(t, simple)| (*t, simple));
        let (contour, basins) = self.contour_and_basins()?;
        let topology = FieldTopology {
            tree: &self.tree,
            contour: &contour,
            basins: &basins,
        };
        Ok(MetricsDocument::new(
            name,
            &self.field.shape,
            self.connectivity.name(),
            topology,
            simplified,
        ))
    }
}
