"""Metrics under the command line's names and values, and Landscaper's SMADs against Landscaper
1.3.1 itself, through the adapter."""

import json
import math

import numpy as np
import pytest

import toposcape
import toposcape.landscaper
from conftest import ROOT

EXAMPLES = [
    ROOT / "examples/landscapes/himmelblau.npy",
    ROOT / "examples/landscapes/rastrigin-3d.npz",
]


def load(path):
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return archive["loss"]
    return np.load(path)


@pytest.mark.parametrize("connectivity", ["freudenthal", "axis"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_metrics_equal_the_cli_json(tmp_path, cli, path, connectivity):
    out = tmp_path / "metrics.json"
    status, _, err = cli("topo", path, "--metrics", out, "--connectivity", connectivity, "--simplify", "2%")
    assert status == 0, err
    theirs = json.loads(out.read_text())
    ours = toposcape.metrics_document(load(path), connectivity=connectivity, simplify="2%", name=str(path))
    assert ours == theirs
    assert toposcape.metrics(load(path), connectivity=connectivity) == theirs["metrics"]
    assert set(theirs["metrics"]) >= {"minima", "saddles", "smad", "smad_normalized", "smad_weighted"}


def bowl(n, dims, roughness, seed):
    rng = np.random.default_rng(seed)
    axes = [np.linspace(-1, 1, n)] * dims
    grid = np.meshgrid(*axes, indexing="ij")
    loss = sum(g**2 for g in grid) + roughness * rng.standard_normal((n,) * dims)
    return loss, axes


def contour_tree_is_a_tree(ll):
    """Whether Landscaper's contour tree (topopy's, pruned once each way) is one tree."""
    import networkx as nx

    ct = ll.get_contour_tree()
    g = nx.Graph()
    g.add_nodes_from(ct.nodes)
    g.add_edges_from(ct.edges)
    return nx.is_connected(g) and g.number_of_edges() == g.number_of_nodes() - 1


# Landscaper's contour tree is one tree on the smoother fields and a forest on the rough ones
# (bowl-2d-rough, rastrigin-2d), where only the basins compare.
FIELDS = [
    ("bowl-2d-smooth", lambda: bowl(15, 2, 0.02, 1)),
    ("bowl-2d-6-minima", lambda: bowl(16, 2, 0.05, 8)),
    ("bowl-2d-rough", lambda: bowl(12, 2, 0.2, 2)),
    ("bowl-3d", lambda: bowl(7, 3, 0.05, 3)),
    ("bowl-3d-3-minima", lambda: bowl(7, 3, 0.1, 11)),
    ("bowl-3d-4-minima", lambda: bowl(6, 3, 0.2, 10)),
    ("rastrigin-2d", lambda: rastrigin(17)),
]


def rastrigin(n):
    axes = [np.linspace(-2.2, 2.2, n)] * 2
    x, y = np.meshgrid(*axes, indexing="ij")
    loss = 20 + x**2 - 10 * np.cos(2 * np.pi * x) + y**2 - 10 * np.cos(2 * np.pi * y)
    # Distinct float32 values: topopy works in float32 and breaks ties its own way.
    loss = loss + 1e-6 * np.arange(loss.size).reshape(loss.shape)
    return loss, axes


@pytest.mark.parametrize("name,make", FIELDS, ids=[f[0] for f in FIELDS])
def test_smad_equals_landscapers(landscaper, tmp_path, name, make):
    loss, axes = make()
    assert len(np.unique(loss.astype(np.float32))) == loss.size
    ll = landscaper.LossLandscape(loss, axes)
    ll.get_sublevel_tree()
    # Both ways in: the LossLandscape, and the .npz Landscaper saves.
    ours = toposcape.landscaper.analyse(ll)
    path = tmp_path / f"{name}.npz"
    ll.save(str(path))
    from_file = toposcape.landscaper.analyse(path)
    assert from_file.metrics == ours.metrics
    # Landscaper's basins: the Morse-Smale complex's unstable manifolds, on every field.
    manifolds = ll.get_ms_complex().get_unstable_manifolds()
    theirs = sorted((int(m), len(v)) for m, v in manifolds.items())
    mine = sorted(zip(ours.basins["minima"].tolist(), ours.basins["sizes"].tolist()))
    assert mine == theirs
    assert ours.tree.minima == len(theirs)
    if not contour_tree_is_a_tree(ll):
        pytest.skip("Landscaper's contour tree is a forest here: its SMADs are not defined")
    for key, kwargs in [
        ("smad", {}),
        ("smad_normalized", {"normalize": True}),
        ("smad_weighted", {"weighted": True}),
    ]:
        theirs = float(ll.smad(**kwargs))
        # Landscaper's weighted sum goes through exp(log(gap) + log(volume)): a few ulps.
        assert math.isclose(ours.metrics[key], theirs, rel_tol=1e-9, abs_tol=1e-12), (key, ours.metrics[key], theirs)


def test_landscaper_adapter_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz: no such file"):
        toposcape.landscaper.analyse(tmp_path / "nothere.npz")
    path = tmp_path / "other.npz"
    np.savez(path, values=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has no array 'loss': it holds values"):
        toposcape.landscaper.analyse(path)
    with pytest.raises(TypeError, match="expected a Landscaper LossLandscape"):
        toposcape.landscaper.analyse(42)
