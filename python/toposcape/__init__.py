"""toposcape: the topology of loss landscapes, from Python.

Exact merge trees, persistence pairs, contour trees, basins, topological landscape profiles and
Landscaper's metrics of landscapes held in numpy arrays (1 to 8 dimensions, float32 or float64,
or any values on a graph), run directories of the ``toposcape`` command read back into numpy,
and the pipeline itself (``train``, ``analyze``, ``run``, ``sweep``) from a config file. The
numbers are the Rust library's, so they equal the command line's: ``metrics(values)`` is the
``metrics`` object of ``toposcape topo FIELD --metrics``.

Arrays are read in place when they are C-contiguous float32/float64 (any other layout is copied
once into C order); the GIL is released while Rust computes. Bad input raises ``ValueError``
(or ``TypeError`` for a wrong type, ``OSError`` for a missing file) with the one-line message
the command line prints, with options named as the keyword arguments they are here.

    >>> import numpy as np, toposcape
    >>> x = np.linspace(-2, 2, 101)
    >>> himmelblau = (x[:, None] ** 2 + x - 11) ** 2 + (x[:, None] + x ** 2 - 7) ** 2
    >>> toposcape.merge_tree(himmelblau).minima
    4
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from . import _native
from ._native import MergeTree, Profile, __version__

__all__ = [
    "MergeTree",
    "Profile",
    "Run",
    "analyze",
    "basins",
    "bottleneck",
    "contour_tree",
    "knn_graph",
    "landscape_figure",
    "load_run",
    "merge_tree",
    "metrics",
    "metrics_document",
    "print_progress",
    "profile",
    "run",
    "sweep",
    "train",
    "wasserstein",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]
ProgressCallback = Callable[[str, int, Optional[int], Optional[str]], Any]


def _field(values: Any, name: str = "values") -> np.ndarray:
    """The values as a C-contiguous float32/float64 array: an array of either dtype as it is
    (copied only when not C-contiguous), anything else (a list) as float64."""
    if isinstance(values, np.ndarray):
        if values.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: has dtype {values.dtype}; expected float32 or float64")
        return values if values.flags.c_contiguous else np.ascontiguousarray(values)
    try:
        return np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: expected a numpy array of float32 or float64 ({e})") from None


def _edges(edges: Any) -> Optional[np.ndarray]:
    if edges is None:
        return None
    e = np.asarray(edges)
    if e.dtype.kind not in "iu":
        raise TypeError(f"edges: has dtype {e.dtype}; expected integer vertex ids")
    if e.size and (e.min() < 0 or e.max() > np.iinfo(np.uint32).max):
        raise ValueError("edges: has a vertex id outside 0 to 2^32 - 1")
    return np.ascontiguousarray(e, dtype=np.uint32)


def merge_tree(
    values: Any,
    connectivity: str = "freudenthal",
    split: bool = False,
    simplify: Union[float, str, None] = None,
    edges: Any = None,
) -> MergeTree:
    """The merge tree of a landscape, as ``toposcape topo`` computes it.

    values: an array of 1 to 8 dimensions (C order; vertex ids are flat C-order indices), or
        with ``edges`` any array of values on a graph.
    connectivity: which grid points are neighbours: ``freudenthal`` (the Kuhn triangulation:
        the tree of the piecewise-linear interpolation), ``axis`` (2n neighbours, Landscaper's
        graph on a regular grid) or ``full`` (3^n - 1).
    split: the split tree of superlevel sets (maxima) instead of the join tree (minima).
    simplify: remove persistence pairs below this threshold: an absolute loss difference
        (``0.05``) or a percentage of the finite loss range (``"1%"``).
    edges: an m x 2 array of vertex pairs: the tree of the values on that graph instead
        (``knn_graph`` makes one over scattered points).

    Returns a ``MergeTree`` with ``.pairs`` (n x 2 float64 (birth, death), death ``inf`` for the
    essential class), ``.segmentation`` (each vertex's node, the shape of ``values``),
    ``.nodes`` and ``.arcs`` (dicts of columns), ``.minima``, ``.saddles`` and ``.to_json()``.
    """
    return _native.merge_tree(_field(values), connectivity, split, simplify, _edges(edges))


def contour_tree(values: Any, connectivity: str = "freudenthal", edges: Any = None) -> Dict[str, Any]:
    """The augmented contour tree: a dict of ``nodes`` and ``arcs`` (dicts of columns),
    ``segmentation`` (each vertex's arc), ``saddles`` and ``consistent`` (whether its join and
    split trees are the field's, measured)."""
    return _native.contour_tree(_field(values), connectivity, _edges(edges))


def basins(values: Any, connectivity: str = "freudenthal", edges: Any = None) -> Dict[str, Any]:
    """The basins of attraction of steepest descent: a dict of ``labels`` (each vertex's basin,
    lowest minimum first, the shape of ``values``), ``minima`` (their vertices) and ``sizes``."""
    return _native.basins(_field(values), connectivity, _edges(edges))


def metrics_document(
    values: Any,
    connectivity: str = "freudenthal",
    simplify: Union[float, str, None] = None,
    edges: Any = None,
    name: str = "<array>",
) -> Dict[str, Any]:
    """The whole ``metrics.json`` of ``toposcape topo --metrics``: ``metrics``, the persistence
    ``diagram``, the ``basins`` of attraction and, with ``simplify``, the ``simplified`` tree's.
    Non-finite numbers are the strings ``"inf"``, ``"-inf"`` and ``"nan"``, as in the file."""
    text = _native.metrics_json(_field(values), connectivity, simplify, _edges(edges), name)
    return json.loads(text)


def metrics(
    values: Any,
    connectivity: str = "freudenthal",
    simplify: Union[float, str, None] = None,
    edges: Any = None,
) -> Dict[str, Any]:
    """The topology metrics of a landscape, keyed and valued as ``metrics.json``'s
    ``metrics``: ``minima``, ``saddles``, ``average_persistence``, ``total_persistence``,
    ``max_persistence``, Landscaper's ``smad``, ``smad_normalized`` and ``smad_weighted`` (from
    the contour tree; with ``connectivity="axis"`` on a regular grid they are Landscaper's own
    ``LossLandscape.smad()`` values), ``contour_tree_consistent``, the ``merge_tree_smad*``
    variants, ``loss_min``, ``loss_max``, ``nonfinite`` and ``largest_basins``. Undefined values
    are None. ``simplify`` adds nothing here; see ``metrics_document``."""
    return metrics_document(values, connectivity, simplify, edges)["metrics"]


def profile(
    values: Any,
    connectivity: str = "freudenthal",
    simplify: Union[float, str, None] = None,
    edges: Any = None,
    hide_below: float = 0.0005,
    log_loss: bool = False,
) -> Profile:
    """The topological landscape profile of the join tree of ``values``: every basin drawn as
    deep as it is and as wide as the vertices it holds, nested as the basins merge.

    hide_below: hide basins with fewer than this fraction of all vertices.
    log_loss: draw the loss on a logarithmic scale (needs positive losses).

    Returns a ``Profile``: ``.basins`` (the geometry), ``.png()``, ``.svg()``,
    ``.tree_figure()``, ``.to_json()`` and ``.save(path)``; in Jupyter it shows itself.
    """
    return _native.profile(_field(values), connectivity, simplify, _edges(edges), hide_below, log_loss)


def landscape_figure(
    values: Any, svg: bool = False, width: int = 1200, height: int = 800, log_loss: bool = False
) -> bytes:
    """A picture of the landscape itself (a heat map in 2-D, slices through the minimum in 3-D
    and more, a curve in 1-D): PNG bytes, or SVG text as bytes."""
    return _native.landscape_figure(_field(values), svg, width, height, log_loss)


def _pairs(diagram: Any, name: str) -> np.ndarray:
    if isinstance(diagram, MergeTree):
        return diagram.pairs
    d = np.ascontiguousarray(diagram, dtype=np.float64)
    if d.size == 0:
        d = d.reshape(0, 2)
    return d


def bottleneck(a: Any, b: Any) -> float:
    """The bottleneck distance between two persistence diagrams, exact: each a ``MergeTree`` or
    an n x 2 array of (birth, death) with death ``inf`` for an essential class (pairs on the
    diagonal are left out, as ``toposcape compare`` does). ``inf`` when their numbers of
    essential classes differ."""
    return _native.bottleneck(_pairs(a, "a"), _pairs(b, "b"))


def wasserstein(a: Any, b: Any, relative_error: Optional[float] = None) -> float:
    """The 1-Wasserstein distance between two persistence diagrams (as for ``bottleneck``):
    exact when ``relative_error`` is None (the Hungarian method, for small diagrams), else the
    auction's estimate within that relative error."""
    return _native.wasserstein(_pairs(a, "a"), _pairs(b, "b"), relative_error)


def knn_graph(points: Any, k: int) -> np.ndarray:
    """The undirected graph joining each point (rows of an n x d array) to its ``k`` nearest
    neighbours, Euclidean, ties by index: an m x 2 uint32 array of edges for ``edges=``."""
    p = np.ascontiguousarray(points, dtype=np.float64)
    return _native.knn_graph(p, int(k))


# ---------------------------------------------------------------------------------------------
# Run directories


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: is not valid JSON ({e})") from None


class Run:
    """A run directory of ``toposcape train`` / ``analyze`` / ``run``, read back: every file of
    docs/ARCHITECTURE.md's contract 4 that is there, as numpy arrays and dicts (None where a
    file is absent).

    Attributes: ``path``, ``state`` (``empty``, ``interrupted``, ``trained`` or ``analysed``),
    ``diverged``, ``config`` (config.toml as a dict), ``train_metrics``, ``landscape`` (float32,
    axis i along direction i), ``axes``, ``directions`` (dims x P float32), ``params``,
    ``hessian``, ``metrics`` (the whole metrics.json), ``tree`` (tree.json), and for scattered
    plans ``points`` and ``graph``.
    """

    path: Path
    state: str
    diverged: bool
    config: Optional[Dict[str, Any]]

    _arrays = {"landscape": "landscape.npy", "directions": "directions.npy", "points": "points.npy", "graph": "graph.npy"}
    _documents = {
        "axes": "axes.json",
        "params": "params.json",
        "hessian": "hessian.json",
        "metrics": "metrics.json",
        "tree": "tree.json",
        "train_metrics": "train_metrics.json",
    }

    def __init__(self, path: PathLike):
        self.path = Path(path)
        known = _native.read_run(self.path)
        self.state = known["state"]
        self.diverged = known["diverged"]
        self.config = json.loads(known["config_json"]) if known["config_json"] is not None else None
        for attr, name in self._arrays.items():
            file = self.path / name
            setattr(self, attr, np.load(file) if file.is_file() else None)
        for attr, name in self._documents.items():
            file = self.path / name
            setattr(self, attr, _read_json(file) if file.is_file() else None)

    def file(self, name: str) -> Path:
        """The path of one of the run directory's files."""
        return self.path / name

    def _landscape(self) -> np.ndarray:
        if self.landscape is None:
            raise ValueError(f"{self.path}: has no landscape.npy (state: {self.state}); analyse it first")
        return self.landscape

    def _domain(self) -> Dict[str, Any]:
        if self.graph is not None:
            return {"edges": self.graph}
        connectivity = (self.metrics or {}).get("connectivity", "freudenthal")
        return {"connectivity": connectivity}

    def merge_tree(self, simplify: Union[float, str, None] = None) -> MergeTree:
        """The landscape's merge tree, on the run's own grid connectivity or graph."""
        return merge_tree(self._landscape(), simplify=simplify, **self._domain())

    def profile(self, hide_below: float = 0.0005, log_loss: bool = False) -> Profile:
        """The landscape's profile, on the run's own grid connectivity or graph."""
        return profile(self._landscape(), hide_below=hide_below, log_loss=log_loss, **self._domain())

    def __repr__(self) -> str:
        shape = None if self.landscape is None else tuple(self.landscape.shape)
        return f"<toposcape.Run {str(self.path)!r}: {self.state}, landscape {shape}>"


def load_run(path: PathLike) -> Run:
    """Reads a run directory (see ``Run``)."""
    return Run(path)


# ---------------------------------------------------------------------------------------------
# The pipeline


def print_progress(stage: str, done: int, total: Optional[int], message: Optional[str]) -> None:
    """A progress callable that writes one updating line to stderr."""
    if message:
        line = f"{stage}: {message}"
    elif total:
        line = f"{stage}: {done}/{total} ({100.0 * done / total:.0f}%)"
    else:
        line = f"{stage}: {done}"
    sys.stderr.write("\r" + line[:100].ljust(100))
    if total is not None and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _progress(progress: Union[ProgressCallback, bool, None]) -> Optional[ProgressCallback]:
    if progress is True:
        return print_progress
    if progress is False or progress is None:
        return None
    if not callable(progress):
        raise TypeError("progress: expected a callable (stage, done, total, message), True or None")
    return progress


def _path(path: Optional[PathLike]) -> Optional[str]:
    return None if path is None else os.fspath(path)


def _existing(path: PathLike, what: str) -> str:
    text = os.fspath(path)
    if not os.path.exists(text):
        raise FileNotFoundError(f"{text}: no such {what}")
    return text


def train(
    config: PathLike,
    out: Optional[PathLike] = None,
    backend: str = "flex",
    force: bool = False,
    progress: Union[ProgressCallback, bool, None] = None,
) -> Path:
    """Trains the model of a run config (TOML) into a run directory (default
    ``runs/<config name>``), as ``toposcape train``. ``progress``: a callable
    ``(stage, done, total, message)``, or True for a line on stderr. Returns the directory."""
    config = _existing(config, "config file")
    return Path(_native.train(config, _path(out), backend, force, _progress(progress)))


def analyze(
    input: PathLike,
    config: Optional[PathLike] = None,
    directions: Optional[str] = None,
    dims: Optional[int] = None,
    points: Optional[int] = None,
    range: Optional[float] = None,
    out: Optional[PathLike] = None,
    backend: str = "cpu",
    threads: Optional[int] = None,
    force: bool = False,
    progress: Union[ProgressCallback, bool, None] = None,
) -> Path:
    """Samples the landscape of a trained run directory (or a weights file with its
    ``config``) and writes its files, as ``toposcape analyze``; None takes the config's
    ``[landscape]`` setting. Returns the output directory."""
    input = _existing(input, "run directory or weights file")
    return Path(
        _native.analyze(
            input, _path(config), directions, dims, points, range, _path(out), backend, threads, force, _progress(progress)
        )
    )


def run(
    config: PathLike,
    out: Optional[PathLike] = None,
    backend: str = "cpu",
    threads: Optional[int] = None,
    force: bool = False,
    progress: Union[ProgressCallback, bool, None] = None,
) -> Path:
    """Trains and analyses a run config end to end (or finishes an interrupted run), as
    ``toposcape run``. Returns the run directory; ``load_run`` reads it."""
    config = _existing(config, "config file")
    return Path(_native.run(config, _path(out), backend, threads, force, _progress(progress)))


def sweep(
    path: PathLike,
    out: Optional[PathLike] = None,
    backend: str = "cpu",
    progress: Union[ProgressCallback, bool, None] = None,
) -> Path:
    """Runs a sweep file (its runs one after another, in this process) into its sweep
    directory with runs.csv, the figures and report.html, as ``toposcape sweep --jobs 1``.
    Returns the sweep directory."""
    path = _existing(path, "sweep file")
    return Path(_native.sweep(path, _path(out), backend, _progress(progress)))
