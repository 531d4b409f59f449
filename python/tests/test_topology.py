"""Merge trees, pairs, segmentations and diagram distances of numpy arrays, against gudhi (its
fixtures in the repository and gudhi itself) and a brute-force union-find written here."""

import json
import threading
import time
import tracemalloc

import gudhi
import numpy as np
import pytest

import toposcape
from conftest import ROOT

GUDHI_FIXTURES = sorted((ROOT / "crates/topology/tests/fixtures/gudhi").glob("*.json"))


def sorted_pairs(pairs):
    """Pairs as a sorted list of (birth, death) tuples, without those on the diagonal."""
    return sorted((float(b), float(d)) for b, d in pairs if d != b)


def gudhi_pairs(values, connectivity):
    """gudhi's 0-dimensional intervals: a V-construction cubical complex joins axis neighbours,
    a T-construction one every cell touching another (the `full` connectivity)."""
    if connectivity == "axis":
        complex_ = gudhi.CubicalComplex(vertices=values)
    else:
        complex_ = gudhi.CubicalComplex(top_dimensional_cells=values)
    complex_.compute_persistence()
    return complex_.persistence_intervals_in_dimension(0)


def union_find_pairs(values, edges):
    """0-dimensional persistence on a graph by the elder rule, brute force: vertices in order of
    (value, index), each edge entering at the higher of its two vertices."""
    n = len(values)
    order = sorted(range(n), key=lambda v: (values[v], v))
    rank = {v: i for i, v in enumerate(order)}
    neighbours = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    parent = list(range(n))
    birth = {}

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    pairs = []
    for v in order:
        roots = {find(u) for u in neighbours[v] if rank[u] < rank[v]}
        if not roots:
            birth[v] = v
            continue
        roots = sorted(roots, key=lambda r: rank[birth[r]])
        elder = roots[0]
        for young in roots[1:]:
            pairs.append((values[birth[young]], values[v]))
            parent[young] = elder
        parent[v] = elder
    for r in {find(v) for v in range(n)}:
        pairs.append((values[birth[r]], float("inf")))
    return pairs


@pytest.mark.parametrize("path", GUDHI_FIXTURES, ids=lambda p: p.stem)
def test_pairs_match_gudhi_fixtures(path):
    fixture = json.loads(path.read_text())
    values = np.array(fixture["values"], dtype=np.float64).reshape(fixture["shape"])
    tree = toposcape.merge_tree(values, connectivity=fixture["connectivity"])
    expected = [(b, float("inf") if d is None else d) for b, d in fixture["pairs"]]
    assert sorted_pairs(tree.pairs) == sorted_pairs(expected)
    assert tree.pairs.dtype == np.float64 and tree.pairs.shape[1] == 2


@pytest.mark.parametrize("connectivity", ["axis", "full"])
@pytest.mark.parametrize("shape", [(40,), (17, 23), (9, 8, 11), (5, 6, 4, 5)])
def test_pairs_match_gudhi(shape, connectivity):
    rng = np.random.default_rng(len(shape) * 10 + len(connectivity))
    values = rng.standard_normal(shape)
    ours = toposcape.merge_tree(values, connectivity=connectivity).pairs
    assert sorted_pairs(ours) == sorted_pairs(gudhi_pairs(values, connectivity))


def test_float32_gives_the_float32_tree():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((30, 30)).astype(np.float32)
    ours = toposcape.merge_tree(values, connectivity="axis").pairs
    theirs = gudhi_pairs(values.astype(np.float64), "axis")
    assert sorted_pairs(ours) == sorted_pairs(theirs)


def test_graph_pairs_match_union_find():
    rng = np.random.default_rng(11)
    points = rng.uniform(-1, 1, size=(300, 3))
    values = np.sin(3 * points[:, 0]) * np.cos(2 * points[:, 1]) + 0.3 * points[:, 2] ** 2
    edges = toposcape.knn_graph(points, 6)
    assert edges.dtype == np.uint32 and edges.shape[1] == 2
    assert np.all(edges[:, 0] < edges[:, 1])
    tree = toposcape.merge_tree(values, edges=edges)
    assert tree.connectivity == "graph"
    assert sorted_pairs(tree.pairs) == sorted_pairs(union_find_pairs(values.tolist(), edges.tolist()))


def test_knn_graph_is_the_brute_force_graph():
    rng = np.random.default_rng(5)
    points = rng.standard_normal((60, 2))
    k = 4
    expected = set()
    for i, p in enumerate(points):
        d = ((points - p) ** 2).sum(axis=1)
        d[i] = np.inf
        for j in sorted(range(len(points)), key=lambda j: (d[j], j))[:k]:
            expected.add((min(i, j), max(i, j)))
    assert set(map(tuple, toposcape.knn_graph(points, k).tolist())) == expected


def test_tree_of_himmelblau():
    x = np.linspace(-5, 5, 101)
    f = (x[:, None] ** 2 + x[None, :] - 11) ** 2 + (x[:, None] + x[None, :] ** 2 - 7) ** 2
    tree = toposcape.merge_tree(f)
    assert (tree.minima, tree.saddles) == (4, 3)
    assert tree.kind == "join" and tree.connectivity == "freudenthal"
    seg = tree.segmentation
    assert seg.shape == f.shape and seg.dtype == np.uint32
    nodes = tree.nodes
    # Every minimum's node is its own segment and lies at the lowest value of that segment.
    for node, vertex, kind in zip(nodes["id"], nodes["vertex"], nodes["kind"]):
        if kind == "minimum":
            assert seg.flat[vertex] == node
            assert f.flat[vertex] == f[seg == node].min()
    # The essential pair is born at the global minimum.
    pairs = tree.pairs
    assert np.isinf(pairs[:, 1]).sum() == 1
    assert pairs[np.isinf(pairs[:, 1])][0, 0] == f.min()
    split = toposcape.merge_tree(f, split=True)
    assert split.kind == "split" and split.nodes["kind"].count("maximum") == split.minima


def test_segmentation_and_json_agree_with_the_cli(tmp_path, cli):
    field = ROOT / "examples/landscapes/rastrigin-3d.npz"
    out = tmp_path / "tree.json"
    seg = tmp_path / "seg.npy"
    status, _, err = cli("topo", field, "--json", out, "--segmentation", seg, "--simplify", "1%")
    assert status == 0, err
    with np.load(field) as archive:
        loss = archive["loss"]
    tree = toposcape.merge_tree(loss, simplify="1%")
    assert json.loads(tree.to_json()) == json.loads(out.read_text())
    assert np.array_equal(tree.segmentation, np.load(seg))
    assert tree.threshold == json.loads(out.read_text())["simplification_threshold"]


def test_simplification_keeps_the_pairs_above_the_threshold():
    rng = np.random.default_rng(8)
    values = rng.standard_normal((25, 25))
    full = toposcape.merge_tree(values)
    persistence = full.pairs[:, 1] - full.pairs[:, 0]
    kept = full.pairs[persistence >= 0.5]
    simple = toposcape.merge_tree(values, simplify=0.5)
    assert sorted_pairs(simple.pairs) == sorted_pairs(kept)
    assert simple.threshold == 0.5


def test_contour_tree_and_basins():
    x = np.linspace(-5, 5, 61)
    f = (x[:, None] ** 2 + x[None, :] - 11) ** 2 + (x[:, None] + x[None, :] ** 2 - 7) ** 2
    contour = toposcape.contour_tree(f)
    assert contour["consistent"]
    assert contour["nodes"]["kind"].count("minimum") == 4
    assert contour["segmentation"].shape == f.shape
    found = toposcape.basins(f)
    assert len(found["minima"]) == 4 and found["sizes"].sum() == f.size
    # Lowest minimum first, and each label's minimum is where its basin is lowest.
    assert list(f.flat[found["minima"]]) == sorted(f.flat[found["minima"]])
    for label, vertex in enumerate(found["minima"]):
        assert f.flat[vertex] == f[found["labels"] == label].min()


def test_diagram_distances_match_gudhi():
    rng = np.random.default_rng(2)
    a = toposcape.merge_tree(rng.standard_normal((20, 20)))
    b = toposcape.merge_tree(rng.standard_normal((20, 20)))
    assert toposcape.bottleneck(a, a) == 0.0
    finite = lambda t: t.pairs[np.isfinite(t.pairs[:, 1])]  # noqa: E731
    expected = gudhi.bottleneck_distance(finite(a), finite(b))
    # Both have one essential class, born at each field's minimum.
    essential = abs(a.pairs[np.isinf(a.pairs[:, 1])][0, 0] - b.pairs[np.isinf(b.pairs[:, 1])][0, 0])
    assert toposcape.bottleneck(a, b) == pytest.approx(max(expected, essential), rel=1e-12)
    # The exact 1-Wasserstein distance against gudhi's (POT-free: gudhi.hera).
    from gudhi.hera import wasserstein_distance

    expected_w = wasserstein_distance(finite(a), finite(b), order=1, internal_p=np.inf) + essential
    assert toposcape.wasserstein(a, b) == pytest.approx(expected_w, rel=1e-9)
    assert toposcape.wasserstein(a, b, relative_error=0.01) == pytest.approx(expected_w, rel=0.011)


def test_c_contiguous_input_is_not_copied():
    """numpy reports its allocations to tracemalloc: computing the tree of a C-contiguous array
    allocates no numpy memory; a Fortran-ordered one is copied once, to C order."""
    values = np.random.default_rng(0).standard_normal((200, 200, 50)).astype(np.float32)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        toposcape.merge_tree(values)
        _, peak_c = tracemalloc.get_traced_memory()
        fortran = np.asfortranarray(values)
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        toposcape.merge_tree(fortran)
        _, peak_f = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_c < values.nbytes / 100
    assert peak_f - base >= values.nbytes


def test_the_gil_is_released_while_rust_computes():
    """Another Python thread runs while the tree is computed: the main thread's loop records
    timestamps inside the window of the call. Were the GIL held, none could be."""
    values = np.random.default_rng(1).standard_normal((160, 160, 160)).astype(np.float32)
    window = {}

    def compute():
        window["start"] = time.perf_counter()
        toposcape.merge_tree(values)
        window["end"] = time.perf_counter()

    worker = threading.Thread(target=compute)
    stamps = []
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    start, end = window["start"], window["end"]
    margin = (end - start) * 0.1
    inside = [t for t in stamps if start + margin < t < end - margin]
    assert inside, f"no Python ran during the {end - start:.3f} s call"
