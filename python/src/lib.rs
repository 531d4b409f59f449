//! `toposcape._native`: the Python extension module under the `toposcape` package
//! (python/toposcape). Every function takes numpy arrays without copying them (readonly
//! views of C-contiguous float32/float64 data; the Python layer makes other input contiguous),
//! releases the GIL while Rust computes, and turns bad input into `ValueError`, `TypeError` or
//! `OSError` with the one-line message the command line prints. Nothing here computes a number
//! of its own: trees, metrics, profiles, figures and documents are the library's, so they are
//! the CLI's.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use toposcape::documents::{FieldTopology, MetricsDocument, ProfileDocument, TreeDocument};
use toposcape::{Backend, EvalBackend, Progress, Stage};
use toposcape_topology::render::{self, FigureOptions};
use toposcape_topology::{
    Basins, Connectivity, ContourNodeKind, ContourTree, Diagram, FieldValue, Graph, Grid,
    MergeTree as Tree, Neighbourhood, Profile as Geometry, ProfileOptions, Threshold, TreeKind,
    bottleneck_distance, landscape_profile, wasserstein_distance, wasserstein_estimate,
};

// ---------------------------------------------------------------------------------------------
// Errors

/// A library error as the Python exception a caller expects: bad input (a file, a config key,
/// an argument) is a `ValueError`, a file that cannot be read or written an `OSError`, anything
/// else a `RuntimeError`. Options are named as the keyword arguments they are here.
fn py_error(e: toposcape::Error) -> PyErr {
    use toposcape::Error as E;
    let text = e.to_string();
    match e {
        E::Input(_) | E::Option { .. } | E::Options(_) => PyValueError::new_err(text),
        E::File { .. } | E::Io(_) => PyOSError::new_err(text),
        E::Topology(_) => PyValueError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}

fn value_error(text: impl Into<String>) -> PyErr {
    PyValueError::new_err(text.into())
}

// ---------------------------------------------------------------------------------------------
// Fields: numpy arrays read in place, and the domain their vertices live on

/// A float32 or float64 numpy array, borrowed read-only.
enum Array<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

/// The values of a field, borrowed from its array, and its shape.
#[derive(Clone, Copy)]
enum Values<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

/// Runs `$body` with `$v` bound to the field's slice, whatever its precision.
macro_rules! with_values {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::F32($v) => $body,
            Values::F64($v) => $body,
        }
    };
}

impl<'py> Array<'py> {
    fn read(values: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(a) = values.extract::<PyReadonlyArrayDyn<'py, f32>>() {
            return Ok(Array::F32(a));
        }
        if let Ok(a) = values.extract::<PyReadonlyArrayDyn<'py, f64>>() {
            return Ok(Array::F64(a));
        }
        let dtype = values
            .getattr("dtype")
            .and_then(|d| d.str().map(|s| s.to_string()))
            .unwrap_or_else(|_| values.get_type().to_string());
        Err(PyTypeError::new_err(format!(
            "{name}: has dtype {dtype}; expected float32 or float64"
        )))
    }

    fn shape(&self) -> Vec<usize> {
        match self {
            Array::F32(a) => a.shape().to_vec(),
            Array::F64(a) => a.shape().to_vec(),
        }
    }

    fn values(&self, name: &str) -> PyResult<Values<'_>> {
        let not_contiguous = |_| {
            value_error(format!(
                "{name}: is not C-contiguous; pass numpy.ascontiguousarray({name})"
            ))
        };
        Ok(match self {
            Array::F32(a) => Values::F32(a.as_slice().map_err(not_contiguous)?),
            Array::F64(a) => Values::F64(a.as_slice().map_err(not_contiguous)?),
        })
    }
}

/// The vertices' neighbourhoods: a grid of the array's shape, or a graph given by its edges.
enum Domain {
    Grid(Grid),
    Graph(Graph),
}

impl Domain {
    fn connectivity_name(&self) -> &'static str {
        match self {
            Domain::Grid(grid) => grid.connectivity().name(),
            Domain::Graph(_) => "graph",
        }
    }
}

/// Runs `$body` with `$d` bound to the domain, whichever it is.
macro_rules! with_domain {
    ($domain:expr, $d:ident => $body:expr) => {
        match $domain {
            Domain::Grid($d) => $body,
            Domain::Graph($d) => $body,
        }
    };
}

/// A field and its domain, checked: the shape a tree's outputs take, too.
struct FieldInput<'py> {
    array: Array<'py>,
    shape: Vec<usize>,
    domain: Domain,
}

impl<'py> FieldInput<'py> {
    fn read(
        values: &Bound<'py, PyAny>,
        connectivity: &str,
        edges: Option<PyReadonlyArrayDyn<'py, u32>>,
    ) -> PyResult<Self> {
        let array = Array::read(values, "values")?;
        let shape = array.shape();
        let count: usize = shape.iter().product();
        let domain = match edges {
            None => {
                let connectivity: Connectivity = connectivity.parse().map_err(
                    |e: toposcape_topology::UnknownConnectivity| {
                        value_error(format!("connectivity: {e}"))
                    },
                )?;
                Domain::Grid(
                    Grid::new(&shape, connectivity)
                        .map_err(|e| value_error(format!("values: {e}")))?,
                )
            }
            Some(edges) => {
                let e_shape = edges.shape();
                if e_shape.len() != 2 || e_shape[1] != 2 {
                    return Err(value_error(format!(
                        "edges: has shape {e_shape:?}; expected (m, 2) vertex pairs"
                    )));
                }
                let flat = edges
                    .as_slice()
                    .map_err(|_| value_error("edges: is not C-contiguous"))?;
                let pairs: Vec<(u32, u32)> = flat.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                Domain::Graph(
                    Graph::from_edges(count, &pairs)
                        .map_err(|e| value_error(format!("edges: {e}")))?,
                )
            }
        };
        Ok(FieldInput {
            array,
            shape,
            domain,
        })
    }
}

fn parse_threshold(simplify: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Threshold>> {
    let Some(simplify) = simplify.filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    let text = match simplify.extract::<f64>() {
        Ok(x) => x.to_string(),
        Err(_) => simplify.extract::<String>().map_err(|_| {
            PyTypeError::new_err("simplify: expected a number (0.05) or a string such as '1%'")
        })?,
    };
    text.parse()
        .map(Some)
        .map_err(|e: toposcape_topology::InvalidThresholdText| {
            value_error(format!("simplify {text}: {e}"))
        })
}

fn tree_kind(split: bool) -> TreeKind {
    if split {
        TreeKind::Split
    } else {
        TreeKind::Join
    }
}

fn compute_tree<V: FieldValue, N: Neighbourhood>(
    values: &[V],
    domain: &N,
    kind: TreeKind,
    threshold: Option<Threshold>,
) -> Result<(Tree, Option<f64>), String> {
    let tree = Tree::compute(values, domain, kind).map_err(|e| format!("values: {e}"))?;
    match threshold {
        None => Ok((tree, None)),
        Some(t) => {
            let absolute = tree
                .threshold_value(t)
                .map_err(|e| format!("simplify: {e}"))?;
            let simple = tree.simplify(t).map_err(|e| format!("simplify: {e}"))?;
            Ok((simple, Some(absolute)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Merge trees

/// The merge tree of a field: its nodes, arcs, persistence pairs and segmentation.
#[pyclass(frozen, module = "toposcape", name = "MergeTree")]
struct MergeTree {
    tree: Tree,
    shape: Vec<usize>,
    connectivity: &'static str,
    threshold: Option<f64>,
}

#[pymethods]
impl MergeTree {
    /// `"join"` (minima, sublevel sets) or `"split"` (maxima).
    #[getter]
    fn kind(&self) -> &'static str {
        self.tree.kind().name()
    }

    /// The field's shape (a graph's: its vertex count).
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    /// `freudenthal`, `axis`, `full` or `graph`.
    #[getter]
    fn connectivity(&self) -> &'static str {
        self.connectivity
    }

    /// The absolute persistence threshold the tree was simplified with, or None.
    #[getter]
    fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// The number of vertices.
    #[getter]
    fn vertex_count(&self) -> usize {
        self.tree.vertex_count()
    }

    /// Vertices whose value is NaN or infinite (ordered above every finite value).
    #[getter]
    fn nonfinite(&self) -> usize {
        self.tree.nonfinite_count()
    }

    /// The number of leaves: minima of a join tree, maxima of a split tree.
    #[getter]
    fn minima(&self) -> usize {
        self.tree.leaf_count()
    }

    /// The number of saddles (nodes where two or more branches merge).
    #[getter]
    fn saddles(&self) -> usize {
        self.tree.saddle_count()
    }

    /// The 0-dimensional persistence pairs by the elder rule, as an n x 2 float64 array of
    /// (birth, death); the essential class (the global minimum) dies at `inf`.
    #[getter]
    fn pairs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let pairs = self.tree.pairs();
        let flat: Vec<f64> = pairs
            .iter()
            .flat_map(|p| [p.birth, p.death.unwrap_or(f64::INFINITY)])
            .collect();
        flat.into_pyarray(py).reshape(vec![pairs.len(), 2])
    }

    /// The vertices of the pairs: an n x 2 int64 array of (birth vertex, death vertex), -1
    /// where the pair never dies.
    #[getter]
    fn pair_vertices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<i64>>> {
        let pairs = self.tree.pairs();
        let flat: Vec<i64> = pairs
            .iter()
            .flat_map(|p| {
                [
                    i64::from(p.birth_vertex),
                    p.death_vertex.map_or(-1, i64::from),
                ]
            })
            .collect();
        flat.into_pyarray(py).reshape(vec![pairs.len(), 2])
    }

    /// Every vertex's node id (uint32, the shape of the field): the arc or node it lies on.
    #[getter]
    fn segmentation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<u32>>> {
        self.tree
            .segmentation()
            .to_vec()
            .into_pyarray(py)
            .reshape(self.shape.clone())
    }

    /// The nodes as columns: `id`, `vertex` (flat C-order index), `value`, `kind`
    /// (`minimum`/`maximum`, `saddle` or `root`) and `parent` (-1 at a root).
    #[getter]
    fn nodes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let nodes = self.tree.nodes();
        let dict = PyDict::new(py);
        let ids: Vec<u32> = (0..nodes.len() as u32).collect();
        dict.set_item("id", ids.into_pyarray(py))?;
        let vertices: Vec<u32> = nodes.iter().map(|n| n.vertex).collect();
        dict.set_item("vertex", vertices.into_pyarray(py))?;
        let values: Vec<f64> = nodes.iter().map(|n| n.value).collect();
        dict.set_item("value", values.into_pyarray(py))?;
        let tree_kind = self.tree.kind();
        let kinds: Vec<&str> = nodes.iter().map(|n| n.kind.name(tree_kind)).collect();
        dict.set_item("kind", PyList::new(py, kinds)?)?;
        let parents: Vec<i64> = nodes
            .iter()
            .map(|n| n.parent.map_or(-1, i64::from))
            .collect();
        dict.set_item("parent", parents.into_pyarray(py))?;
        Ok(dict)
    }

    /// The arcs as columns: `down` and `up` node ids and `size` (vertices on the arc).
    #[getter]
    fn arcs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let arcs: Vec<_> = self.tree.arcs().collect();
        let dict = PyDict::new(py);
        let column =
            |f: fn(&toposcape_topology::Arc) -> u64| -> Vec<u64> { arcs.iter().map(f).collect() };
        dict.set_item("down", column(|a| u64::from(a.down)).into_pyarray(py))?;
        dict.set_item("up", column(|a| u64::from(a.up)).into_pyarray(py))?;
        dict.set_item("size", column(|a| a.size).into_pyarray(py))?;
        Ok(dict)
    }

    /// The tree as the JSON text `toposcape topo --json` writes (docs/ARCHITECTURE.md,
    /// contract 3).
    fn to_json(&self) -> PyResult<String> {
        let document =
            TreeDocument::new(&self.tree, &self.shape, self.connectivity, self.threshold);
        serde_json::to_string_pretty(&document).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The persistence diagram as PNG bytes (`svg=True`: SVG text as bytes).
    #[pyo3(signature = (svg=false, width=1200, height=800))]
    fn persistence_figure<'py>(
        &self,
        py: Python<'py>,
        svg: bool,
        width: u32,
        height: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let diagram = Diagram::of(&self.tree);
        let options = figure_options(width, height, "Persistence diagram", false)?;
        let bytes = py
            .detach(|| {
                if svg {
                    render::persistence_svg(&diagram, &options).map(String::into_bytes)
                } else {
                    render::persistence_png(&diagram, &options)
                }
            })
            .map_err(|e| value_error(e.to_string()))?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn __repr__(&self) -> String {
        format!(
            "<toposcape.MergeTree {} of shape {:?} ({}): {} {}, {} saddles>",
            self.tree.kind().name(),
            self.shape,
            self.connectivity,
            self.tree.leaf_count(),
            if self.tree.kind() == TreeKind::Join {
                "minima"
            } else {
                "maxima"
            },
            self.tree.saddle_count()
        )
    }
}

/// merge_tree(values, connectivity="freudenthal", split=False, simplify=None, edges=None)
/// --
///
/// The merge tree of `values`, a C-contiguous float32/float64 array of 1 to 8 dimensions on
/// its grid (or, with `edges`, any array on the graph of those vertex pairs).
#[pyfunction]
#[pyo3(signature = (values, connectivity="freudenthal", split=false, simplify=None, edges=None))]
fn merge_tree<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    connectivity: &str,
    split: bool,
    simplify: Option<&Bound<'py, PyAny>>,
    edges: Option<PyReadonlyArrayDyn<'py, u32>>,
) -> PyResult<MergeTree> {
    let input = FieldInput::read(values, connectivity, edges)?;
    let threshold = parse_threshold(simplify)?;
    let values = input.array.values("values")?;
    let kind = tree_kind(split);
    let domain = &input.domain;
    let (tree, absolute) = py
        .detach(|| {
            with_domain!(domain, d => with_values!(values, v => compute_tree(v, d, kind, threshold)))
        })
        .map_err(value_error)?;
    Ok(MergeTree {
        tree,
        shape: input.shape,
        connectivity: input.domain.connectivity_name(),
        threshold: absolute,
    })
}

// ---------------------------------------------------------------------------------------------
// Contour trees and basins

/// contour_tree(values, connectivity="freudenthal", edges=None)
/// --
///
/// The augmented contour tree of `values`: a dict of `nodes` (vertex, value, kind, degree),
/// `arcs` (down, up, size), `segmentation` (each vertex's arc) and `consistent` (whether its
/// join and split trees are the field's, measured).
#[pyfunction]
#[pyo3(signature = (values, connectivity="freudenthal", edges=None))]
fn contour_tree<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    connectivity: &str,
    edges: Option<PyReadonlyArrayDyn<'py, u32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let input = FieldInput::read(values, connectivity, edges)?;
    let values = input.array.values("values")?;
    let domain = &input.domain;
    let tree = py
        .detach(|| with_domain!(domain, d => with_values!(values, v => ContourTree::compute(v, d))))
        .map_err(|e| value_error(format!("values: {e}")))?;
    let nodes = tree.nodes();
    let node_dict = PyDict::new(py);
    let vertices: Vec<u32> = nodes.iter().map(|n| n.vertex).collect();
    node_dict.set_item("vertex", vertices.into_pyarray(py))?;
    let values: Vec<f64> = nodes.iter().map(|n| n.value).collect();
    node_dict.set_item("value", values.into_pyarray(py))?;
    let kinds: Vec<&str> = nodes.iter().map(|n| n.kind().name()).collect();
    node_dict.set_item("kind", PyList::new(py, kinds)?)?;
    let degrees: Vec<u32> = nodes.iter().map(|n| n.degree()).collect();
    node_dict.set_item("degree", degrees.into_pyarray(py))?;
    let arcs = tree.arcs();
    let arc_dict = PyDict::new(py);
    let down: Vec<u32> = arcs.iter().map(|a| a.down).collect();
    let up: Vec<u32> = arcs.iter().map(|a| a.up).collect();
    let size: Vec<u64> = arcs.iter().map(|a| a.size).collect();
    arc_dict.set_item("down", down.into_pyarray(py))?;
    arc_dict.set_item("up", up.into_pyarray(py))?;
    arc_dict.set_item("size", size.into_pyarray(py))?;
    let dict = PyDict::new(py);
    dict.set_item("nodes", node_dict)?;
    dict.set_item("arcs", arc_dict)?;
    dict.set_item(
        "segmentation",
        tree.segmentation()
            .to_vec()
            .into_pyarray(py)
            .reshape(input.shape.clone())?,
    )?;
    dict.set_item(
        "saddles",
        nodes
            .iter()
            .filter(|n| n.kind() == ContourNodeKind::Saddle)
            .count(),
    )?;
    dict.set_item("consistent", tree.is_consistent())?;
    Ok(dict)
}

/// basins(values, connectivity="freudenthal", edges=None)
/// --
///
/// The basins of attraction of steepest descent: a dict of `labels` (each vertex's basin,
/// lowest minimum first, the shape of the field), `minima` (their vertices) and `sizes`.
#[pyfunction]
#[pyo3(signature = (values, connectivity="freudenthal", edges=None))]
fn basins<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    connectivity: &str,
    edges: Option<PyReadonlyArrayDyn<'py, u32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let input = FieldInput::read(values, connectivity, edges)?;
    let values = input.array.values("values")?;
    let domain = &input.domain;
    let found = py
        .detach(|| with_domain!(domain, d => with_values!(values, v => Basins::compute(v, d))))
        .map_err(|e| value_error(format!("values: {e}")))?;
    let dict = PyDict::new(py);
    dict.set_item(
        "labels",
        found
            .labels()
            .to_vec()
            .into_pyarray(py)
            .reshape(input.shape.clone())?,
    )?;
    dict.set_item("minima", found.minima().to_vec().into_pyarray(py))?;
    dict.set_item("sizes", found.sizes().to_vec().into_pyarray(py))?;
    Ok(dict)
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// metrics_json(values, connectivity="freudenthal", simplify=None, edges=None, name="<array>")
/// --
///
/// `metrics.json` of the field, as `toposcape topo --metrics` writes it, as JSON text.
#[pyfunction]
#[pyo3(signature = (values, connectivity="freudenthal", simplify=None, edges=None, name="<array>"))]
fn metrics_json<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    connectivity: &str,
    simplify: Option<&Bound<'py, PyAny>>,
    edges: Option<PyReadonlyArrayDyn<'py, u32>>,
    name: &str,
) -> PyResult<String> {
    let input = FieldInput::read(values, connectivity, edges)?;
    let threshold = parse_threshold(simplify)?;
    let values = input.array.values("values")?;
    let domain = &input.domain;
    let shape = &input.shape;
    let connectivity = input.domain.connectivity_name();
    py.detach(|| {
        with_domain!(domain, d => with_values!(values, v => {
            let tree = Tree::compute(v, d, TreeKind::Join).map_err(|e| format!("values: {e}"))?;
            let simplified = match threshold {
                None => None,
                Some(t) => {
                    let absolute = tree.threshold_value(t).map_err(|e| format!("simplify: {e}"))?;
                    Some((absolute, tree.simplify(t).map_err(|e| format!("simplify: {e}"))?))
                }
            };
            let contour = ContourTree::compute(v, d).map_err(|e| format!("values: {e}"))?;
            let basins = Basins::compute(v, d).map_err(|e| format!("values: {e}"))?;
            let topology = FieldTopology { tree: &tree, contour: &contour, basins: &basins };
            let document = MetricsDocument::new(
                name,
                shape,
                connectivity,
                topology,
                simplified.as_ref().map(|(t, s)| (*t, s)),
            );
            serde_json::to_string(&document).map_err(|e| e.to_string())
        }))
    })
    .map_err(value_error)
}

// ---------------------------------------------------------------------------------------------
// Profiles and figures

fn figure_options(width: u32, height: u32, title: &str, log: bool) -> PyResult<FigureOptions> {
    if !(64..=8192).contains(&width) || !(64..=8192).contains(&height) {
        return Err(value_error(format!(
            "width {width}, height {height}: expected 64 to 8192 pixels each"
        )));
    }
    Ok(FigureOptions {
        width,
        height,
        title: title.to_string(),
        log_scale: log,
        loss_range: None,
    })
}

/// A topological landscape profile: the geometry of the basins of a join tree, its figures.
#[pyclass(frozen, module = "toposcape", name = "Profile")]
struct Profile {
    geometry: Geometry,
    tree: Tree,
    log_loss: bool,
}

impl Profile {
    fn figure(&self, which: &str, svg: bool, width: u32, height: u32) -> PyResult<Vec<u8>> {
        let title = match which {
            "profile" => "Topological landscape profile",
            _ => "Merge tree",
        };
        let options = figure_options(width, height, title, self.log_loss)?;
        let drawn = match (which, svg) {
            ("profile", false) => render::profile_png(&self.geometry, &options),
            ("profile", true) => {
                render::profile_svg(&self.geometry, &options).map(String::into_bytes)
            }
            (_, false) => render::merge_tree_png(&self.geometry, &options),
            (_, true) => render::merge_tree_svg(&self.geometry, &options).map(String::into_bytes),
        };
        drawn.map_err(|e| value_error(e.to_string()))
    }
}

#[pymethods]
impl Profile {
    /// The number of vertices: the width of the whole profile.
    #[getter]
    fn vertex_count(&self) -> u64 {
        self.geometry.vertex_count
    }

    /// Basins too small to draw (below `hide_below`).
    #[getter]
    fn hidden_basins(&self) -> usize {
        self.geometry.hidden_basins
    }

    /// The finite loss range (min, max): the profile's vertical extent.
    #[getter]
    fn loss_range(&self) -> (f64, f64) {
        self.geometry.value_range
    }

    /// The drawn basins, as `toposcape topo --profile-json` lists them: dicts with `node`,
    /// `top_node`, `parent`, `kind`, `size`, `x`, `bottom`, `top`, `mean_loss` and `polygon`
    /// (a k x 2 float64 array of (x, loss) corners).
    #[getter]
    fn basins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let tree_kind = self.tree.kind();
        let list = PyList::empty(py);
        for b in &self.geometry.basins {
            let d = PyDict::new(py);
            d.set_item("node", b.node)?;
            d.set_item("top_node", b.top_node)?;
            d.set_item("parent", b.parent)?;
            d.set_item("kind", b.kind.name(tree_kind))?;
            d.set_item("size", b.size)?;
            d.set_item("x", (b.x[0], b.x[1]))?;
            d.set_item("bottom", b.bottom)?;
            d.set_item("top", b.top)?;
            d.set_item("mean_loss", b.mean_value)?;
            let flat: Vec<f64> = b.polygon.iter().flatten().copied().collect();
            d.set_item(
                "polygon",
                flat.into_pyarray(py).reshape(vec![b.polygon.len(), 2])?,
            )?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// The profile's geometry as the JSON text `toposcape topo --profile-json` writes.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&ProfileDocument::new(&self.tree, &self.geometry))
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The profile as PNG bytes.
    #[pyo3(signature = (width=1200, height=800))]
    fn png<'py>(&self, py: Python<'py>, width: u32, height: u32) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.figure("profile", false, width, height))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The profile as SVG text.
    #[pyo3(signature = (width=1200, height=800))]
    fn svg(&self, py: Python<'_>, width: u32, height: u32) -> PyResult<String> {
        let bytes = py.detach(|| self.figure("profile", true, width, height))?;
        String::from_utf8(bytes).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The merge tree drawn over the profile's layout: PNG bytes, or SVG text as bytes.
    #[pyo3(signature = (svg=false, width=1200, height=800))]
    fn tree_figure<'py>(
        &self,
        py: Python<'py>,
        svg: bool,
        width: u32,
        height: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.figure("tree", svg, width, height))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the profile to `path`: PNG, SVG or the geometry's JSON, by its extension.
    #[pyo3(signature = (path, width=1200, height=800))]
    fn save(&self, py: Python<'_>, path: PathBuf, width: u32, height: u32) -> PyResult<()> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let bytes = match extension.as_deref() {
            Some("png") => py.detach(|| self.figure("profile", false, width, height))?,
            Some("svg") => py.detach(|| self.figure("profile", true, width, height))?,
            Some("json") => self.to_json()?.into_bytes(),
            _ => {
                return Err(value_error(format!(
                    "path {}: expected a .png, .svg or .json file name",
                    path.display()
                )));
            }
        };
        std::fs::write(&path, bytes)
            .map_err(|e| PyOSError::new_err(format!("cannot write {}: {e}", path.display())))
    }

    /// Jupyter's picture of the profile.
    fn _repr_png_<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.png(py, 900, 600)
    }

    /// Jupyter's picture of the profile, as SVG.
    fn _repr_svg_(&self, py: Python<'_>) -> PyResult<String> {
        self.svg(py, 900, 600)
    }

    fn __repr__(&self) -> String {
        format!(
            "<toposcape.Profile of {} vertices: {} basins drawn, {} hidden, loss {:.6e} to {:.6e}>",
            self.geometry.vertex_count,
            self.geometry.basins.len(),
            self.geometry.hidden_basins,
            self.geometry.value_range.0,
            self.geometry.value_range.1
        )
    }
}

/// profile(values, connectivity="freudenthal", simplify=None, edges=None, hide_below=0.0005, log_loss=False)
/// --
///
/// The topological landscape profile of the join tree of `values`.
#[pyfunction]
#[pyo3(signature = (values, connectivity="freudenthal", simplify=None, edges=None, hide_below=ProfileOptions::default().min_size_fraction, log_loss=false))]
fn profile<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    connectivity: &str,
    simplify: Option<&Bound<'py, PyAny>>,
    edges: Option<PyReadonlyArrayDyn<'py, u32>>,
    hide_below: f64,
    log_loss: bool,
) -> PyResult<Profile> {
    if !(0.0..=1.0).contains(&hide_below) {
        return Err(value_error(format!(
            "hide_below {hide_below}: expected a fraction of the vertices from 0 to 1"
        )));
    }
    let input = FieldInput::read(values, connectivity, edges)?;
    let threshold = parse_threshold(simplify)?;
    let values = input.array.values("values")?;
    let domain = &input.domain;
    let options = ProfileOptions {
        min_size_fraction: hide_below,
        ..ProfileOptions::default()
    };
    let (tree, geometry) = py
        .detach(|| {
            with_domain!(domain, d => with_values!(values, v => {
                let (tree, _) = compute_tree(v, d, TreeKind::Join, threshold)?;
                let geometry = landscape_profile(&tree, v, options).map_err(|e| format!("values: {e}"))?;
                Ok::<_, String>((tree, geometry))
            }))
        })
        .map_err(value_error)?;
    if log_loss && geometry.value_range.0 <= 0.0 {
        return Err(value_error(format!(
            "log_loss: the lowest loss is {}; a logarithmic scale needs positive losses",
            geometry.value_range.0
        )));
    }
    Ok(Profile {
        geometry,
        tree,
        log_loss,
    })
}

/// landscape_figure(values, svg=False, width=1200, height=800, log_loss=False)
/// --
///
/// The landscape itself: a heat map of a 2-D field, slices through the minimum of a 3-D or
/// larger one, a curve of a 1-D one. PNG bytes, or SVG text as bytes.
#[pyfunction]
#[pyo3(signature = (values, svg=false, width=1200, height=800, log_loss=false))]
fn landscape_figure<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    svg: bool,
    width: u32,
    height: u32,
    log_loss: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let array = Array::read(values, "values")?;
    let shape = array.shape();
    let values = array.values("values")?;
    let options = figure_options(width, height, "Loss landscape", log_loss)?;
    let bytes = py
        .detach(|| {
            with_values!(values, v => if svg {
                render::landscape_svg(v, &shape, &options).map(String::into_bytes)
            } else {
                render::landscape_png(v, &shape, &options)
            })
        })
        .map_err(|e| value_error(e.to_string()))?;
    Ok(PyBytes::new(py, &bytes))
}

// ---------------------------------------------------------------------------------------------
// Diagram distances

fn diagram(pairs: &PyReadonlyArrayDyn<'_, f64>, name: &str) -> PyResult<Diagram> {
    let shape = pairs.shape();
    if shape.len() != 2 || shape[1] != 2 {
        return Err(value_error(format!(
            "{name}: has shape {shape:?}; expected an n x 2 array of (birth, death)"
        )));
    }
    let flat = pairs
        .as_slice()
        .map_err(|_| value_error(format!("{name}: is not C-contiguous")))?;
    let mut d = Diagram::default();
    for p in flat.chunks_exact(2) {
        let (birth, death) = (p[0], p[1]);
        if birth.is_nan() || death.is_nan() || death < birth {
            return Err(value_error(format!(
                "{name}: has the pair ({birth}, {death}); expected birth <= death, no NaN"
            )));
        }
        // As Diagram::of: no pair born at a non-finite level, none on the diagonal.
        if !birth.is_finite() {
            continue;
        }
        if death == f64::INFINITY {
            d.essential.push(birth);
        } else if death > birth {
            d.points.push((birth, death));
        }
    }
    Ok(d)
}

/// bottleneck(a, b)
/// --
///
/// The bottleneck distance between two persistence diagrams (n x 2 float64 arrays of
/// (birth, death), death `inf` for an essential class), exact; `inf` when their numbers of
/// essential classes differ.
#[pyfunction]
fn bottleneck(
    py: Python<'_>,
    a: PyReadonlyArrayDyn<'_, f64>,
    b: PyReadonlyArrayDyn<'_, f64>,
) -> PyResult<f64> {
    let (a, b) = (diagram(&a, "a")?, diagram(&b, "b")?);
    Ok(py.detach(|| bottleneck_distance(&a, &b)))
}

/// wasserstein(a, b, relative_error=None)
/// --
///
/// The 1-Wasserstein distance between two persistence diagrams: exact (the Hungarian method,
/// for small diagrams) when `relative_error` is None, else an auction estimate within that
/// relative error, as `toposcape compare` computes it.
#[pyfunction]
#[pyo3(signature = (a, b, relative_error=None))]
fn wasserstein(
    py: Python<'_>,
    a: PyReadonlyArrayDyn<'_, f64>,
    b: PyReadonlyArrayDyn<'_, f64>,
    relative_error: Option<f64>,
) -> PyResult<f64> {
    let (a, b) = (diagram(&a, "a")?, diagram(&b, "b")?);
    match relative_error {
        None => {
            let n = a.points.len() + b.points.len();
            if n > toposcape::documents::MAX_EXACT_POINTS {
                return Err(value_error(format!(
                    "a, b: {n} finite points together; the exact distance takes at most {} (give relative_error)",
                    toposcape::documents::MAX_EXACT_POINTS
                )));
            }
            Ok(py.detach(|| wasserstein_distance(&a, &b)))
        }
        Some(e) if e > 0.0 && e.is_finite() => {
            Ok(py.detach(|| wasserstein_estimate(&a, &b, e).value))
        }
        Some(e) => Err(value_error(format!(
            "relative_error {e}: expected a positive number"
        ))),
    }
}

/// knn_graph(points, k)
/// --
///
/// The undirected graph joining each point (the rows of an n x d float64 array) to its `k`
/// nearest neighbours (Euclidean; ties by index), as an m x 2 uint32 array of edges: the
/// graph toposcape builds over a scattered landscape's points.
#[pyfunction]
fn knn_graph<'py>(
    py: Python<'py>,
    points: PyReadonlyArrayDyn<'py, f64>,
    k: usize,
) -> PyResult<Bound<'py, PyArrayDyn<u32>>> {
    let shape = points.shape().to_vec();
    if shape.len() != 2 || shape[0] == 0 || shape[1] == 0 {
        return Err(value_error(format!(
            "points: has shape {shape:?}; expected an n x d array"
        )));
    }
    if k == 0 {
        return Err(value_error("k 0: expected at least one neighbour"));
    }
    let flat = points
        .as_slice()
        .map_err(|_| value_error("points: is not C-contiguous"))?;
    if flat.iter().any(|x| !x.is_finite()) {
        return Err(value_error("points: has a non-finite coordinate"));
    }
    let edges = py.detach(|| toposcape_perturb::plan::knn_edges(flat, shape[1], k));
    let flat: Vec<u32> = edges.iter().flat_map(|&(a, b)| [a, b]).collect();
    flat.into_pyarray(py).reshape(vec![edges.len(), 2])
}

// ---------------------------------------------------------------------------------------------
// Run directories and the pipeline

/// read_run(path)
/// --
///
/// What the library knows of a run directory: a dict of `state` (`empty`, `interrupted`,
/// `trained` or `analysed`), `diverged`, and `config` (config.toml as a dict, or None).
#[pyfunction]
fn read_run<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    if !path.is_dir() {
        return Err(PyOSError::new_err(format!(
            "{}: is not a run directory (no such folder)",
            path.display()
        )));
    }
    let run = toposcape::RunDir::new(&path);
    let state = match run.state() {
        toposcape::RunState::Empty => "empty",
        toposcape::RunState::Interrupted => "interrupted",
        toposcape::RunState::Trained => "trained",
        toposcape::RunState::Analysed => "analysed",
    };
    let dict = PyDict::new(py);
    dict.set_item("state", state)?;
    dict.set_item("diverged", run.is_diverged())?;
    let config = run.config();
    let config_json = if config.is_file() {
        let text = std::fs::read_to_string(&config)
            .map_err(|e| PyOSError::new_err(format!("{}: cannot read: {e}", config.display())))?;
        let value: toml::Value = toml::from_str(&text).map_err(|e| {
            value_error(format!(
                "{}: {}",
                config.display(),
                one_line(&e.to_string())
            ))
        })?;
        Some(serde_json::to_string(&value).map_err(|e| PyRuntimeError::new_err(e.to_string()))?)
    } else {
        None
    };
    dict.set_item("config_json", config_json)?;
    Ok(dict)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Progress of long work, handed to a Python callable `progress(stage, done, total, message)`
/// at most ten times a second (and at every start and finish), with the GIL taken for the call.
/// The first exception the callable raises is kept and raised when the work is over.
struct PyProgress {
    callback: Option<Py<PyAny>>,
    state: Mutex<ProgressState>,
}

struct ProgressState {
    stage: &'static str,
    total: Option<u64>,
    last: Option<Instant>,
    error: Option<PyErr>,
}

impl PyProgress {
    fn new(callback: Option<Py<PyAny>>) -> Self {
        PyProgress {
            callback,
            state: Mutex::new(ProgressState {
                stage: "",
                total: None,
                last: None,
                error: None,
            }),
        }
    }

    fn call(
        &self,
        force: bool,
        done: u64,
        message: Option<&str>,
        change: impl FnOnce(&mut ProgressState),
    ) {
        let Some(callback) = &self.callback else {
            return;
        };
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        change(&mut state);
        let now = Instant::now();
        if state.error.is_some()
            || (!force
                && state
                    .last
                    .is_some_and(|t| now - t < Duration::from_millis(100)))
        {
            return;
        }
        state.last = Some(now);
        let (stage, total) = (state.stage, state.total);
        let result = Python::attach(|py| {
            callback
                .call1(py, (stage, done, total, message))
                .map(|_| ())
        });
        if let Err(e) = result {
            state.error = Some(e);
        }
    }

    fn into_result<T>(self, result: toposcape::Result<T>) -> PyResult<T> {
        let error = self.state.into_inner().ok().and_then(|s| s.error);
        match (result, error) {
            (_, Some(e)) => Err(e),
            (Ok(v), None) => Ok(v),
            (Err(e), None) => Err(py_error(e)),
        }
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Training => "training",
        Stage::Hessian => "hessian",
        Stage::Landscape => "landscape",
        Stage::MergeTree => "merge_tree",
    }
}

impl Progress for PyProgress {
    fn start(&self, stage: Stage, total: Option<u64>, done: u64) {
        self.call(true, done, None, |s| {
            s.stage = stage_name(stage);
            s.total = total;
        });
    }

    fn set(&self, done: u64) {
        self.call(false, done, None, |_| {});
    }

    fn message(&self, text: &str) {
        self.call(false, 0, Some(text), |_| {});
    }

    fn finish(&self) {
        let done = self.state.lock().ok().and_then(|s| s.total).unwrap_or(0);
        self.call(true, done, None, |_| {});
    }

    fn sweep(&self, done: usize, total: usize, current: Option<&str>) {
        self.call(true, done as u64, current, |s| {
            s.stage = "sweep";
            s.total = Some(total as u64);
        });
    }
}

fn eval_backend(name: &str) -> PyResult<EvalBackend> {
    Ok(match name {
        "cpu" => EvalBackend::Cpu,
        "flex" => EvalBackend::Flex,
        "ndarray" => EvalBackend::Ndarray,
        "wgpu" => EvalBackend::Wgpu,
        _ => {
            return Err(value_error(format!(
                "backend {name}: expected cpu, flex, ndarray or wgpu"
            )));
        }
    })
}

fn train_backend(name: &str) -> PyResult<Backend> {
    Ok(match name {
        "flex" => Backend::Flex,
        "ndarray" => Backend::Ndarray,
        "wgpu" => Backend::Wgpu,
        _ => {
            return Err(value_error(format!(
                "backend {name}: expected flex, ndarray or wgpu"
            )));
        }
    })
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// train(config, out=None, backend="flex", force=False, progress=None)
/// --
///
/// Trains the model of a run config (TOML) into a run directory, as `toposcape train`;
/// returns the run directory's path.
#[pyfunction]
#[pyo3(signature = (config, out=None, backend="flex", force=false, progress=None))]
fn train(
    py: Python<'_>,
    config: PathBuf,
    out: Option<PathBuf>,
    backend: &str,
    force: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let mut options = toposcape::training::TrainingOptions::new(config, train_backend(backend)?);
    options.out = out;
    options.force = force;
    let progress = PyProgress::new(progress);
    let result = py.detach(|| toposcape::training::train(&options, &progress));
    progress.into_result(result).map(|s| path_text(&s.out))
}

/// analyze(input, config=None, directions=None, dims=None, points=None, range=None, out=None, backend="cpu", threads=None, force=False, progress=None)
/// --
///
/// Samples the landscape of a run directory (or a weights file with its config) and writes
/// its files, as `toposcape analyze`; returns the output directory's path.
#[pyfunction]
#[pyo3(signature = (input, config=None, directions=None, dims=None, points=None, range=None, out=None, backend="cpu", threads=None, force=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn analyze(
    py: Python<'_>,
    input: PathBuf,
    config: Option<PathBuf>,
    directions: Option<String>,
    dims: Option<usize>,
    points: Option<usize>,
    range: Option<f64>,
    out: Option<PathBuf>,
    backend: &str,
    threads: Option<usize>,
    force: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let mut options = toposcape::AnalysisOptions::new(input, eval_backend(backend)?);
    options.config = config;
    options.directions = directions;
    options.dims = dims;
    options.points = points;
    options.range = range;
    options.out = out;
    options.threads = threads;
    options.force = force;
    let progress = PyProgress::new(progress);
    let result = py.detach(|| toposcape::analyse(&options, &progress));
    progress.into_result(result).map(|s| path_text(&s.out))
}

/// run(config, out=None, backend="cpu", threads=None, force=False, progress=None)
/// --
///
/// Trains and analyses a run config end to end (or finishes an interrupted run), as
/// `toposcape run`; returns the run directory's path.
#[pyfunction]
#[pyo3(signature = (config, out=None, backend="cpu", threads=None, force=false, progress=None))]
fn run(
    py: Python<'_>,
    config: PathBuf,
    out: Option<PathBuf>,
    backend: &str,
    threads: Option<usize>,
    force: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let mut options = toposcape::RunOptions::new(config, eval_backend(backend)?);
    options.out = out;
    options.threads = threads;
    options.force = force;
    let progress = PyProgress::new(progress);
    let result = py.detach(|| toposcape::run::run(&options, &progress, &mut |_| {}));
    progress
        .into_result(result)
        .map(|dir| path_text(dir.path()))
}

/// sweep(path, out=None, backend="cpu", progress=None)
/// --
///
/// Runs a hyperparameter sweep file in this process, one run after another, into its sweep
/// directory with runs.csv, the figures and the report, as `toposcape sweep --jobs 1`; returns
/// the sweep directory's path.
#[pyfunction]
#[pyo3(signature = (path, out=None, backend="cpu", progress=None))]
fn sweep(
    py: Python<'_>,
    path: PathBuf,
    out: Option<PathBuf>,
    backend: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let mut options = toposcape::SweepOptions::new(path, eval_backend(backend)?);
    options.out = out;
    let progress = PyProgress::new(progress);
    let result = py.detach(|| toposcape::sweep::sweep(&options, &progress, &mut |_, _| {}));
    progress.into_result(result).map(|s| path_text(&s.out))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MergeTree>()?;
    m.add_class::<Profile>()?;
    m.add_function(wrap_pyfunction!(merge_tree, m)?)?;
    m.add_function(wrap_pyfunction!(contour_tree, m)?)?;
    m.add_function(wrap_pyfunction!(basins, m)?)?;
    m.add_function(wrap_pyfunction!(metrics_json, m)?)?;
    m.add_function(wrap_pyfunction!(profile, m)?)?;
    m.add_function(wrap_pyfunction!(landscape_figure, m)?)?;
    m.add_function(wrap_pyfunction!(bottleneck, m)?)?;
    m.add_function(wrap_pyfunction!(wasserstein, m)?)?;
    m.add_function(wrap_pyfunction!(knn_graph, m)?)?;
    m.add_function(wrap_pyfunction!(read_run, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
