"""The pipeline from Python (train, analyze, run, sweep through the library, with progress), run
directories read back, and bad input: Python exceptions with the command line's own line."""

import json
import shutil

import numpy as np
import pytest

import toposcape
from conftest import ROOT

TINY = ROOT / "tests/fixtures/tiny-pinn.toml"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny PINN trained and analysed by toposcape.run, with every progress call kept."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    calls = []
    path = toposcape.run(TINY, out=out, threads=1, progress=lambda *a: calls.append(a))
    return path, calls


def test_run_reports_progress_and_writes_a_run(tiny_run):
    path, calls = tiny_run
    assert path.is_dir()
    stages = [c[0] for c in calls]
    assert "training" in stages and "landscape" in stages
    # The training's last report is its last epoch: 4 of 4.
    training = [c for c in calls if c[0] == "training"]
    assert training[-1][1:3] == (4, 4)
    landscape = [c for c in calls if c[0] == "landscape"]
    assert landscape[-1][1] == landscape[-1][2] == 25


def test_load_run_reads_every_file_back(tiny_run):
    path, _ = tiny_run
    run = toposcape.load_run(path)
    assert run.state == "analysed" and not run.diverged
    assert run.config["task"] == "pinn-convection"
    assert run.config["landscape"]["points"] == 5
    assert run.landscape.dtype == np.float32 and run.landscape.shape == (5, 5)
    assert run.directions.shape[0] == 2
    # The widths [2, 8, 8, 1]: (2 + 1) 8 + (8 + 1) 8 + (8 + 1) 1 parameters, one direction a row.
    assert run.params["length"] == 24 + 72 + 9 == run.directions.shape[1]
    assert sum(int(np.prod(p["shape"])) for p in run.params["parameters"]) == run.params["length"]
    assert run.train_metrics is not None and run.hessian is not None and run.axes is not None
    # The run's metrics.json and tree.json are what the package computes from its landscape.
    connectivity = run.metrics["connectivity"]
    assert toposcape.metrics(run.landscape, connectivity=connectivity) == run.metrics["metrics"]
    assert json.loads(run.merge_tree().to_json()) == run.tree
    assert run.profile().vertex_count == 25
    assert "analysed" in repr(run)


def test_rerun_finds_the_finished_run(tiny_run):
    path, _ = tiny_run
    before = (path / "landscape.npy").read_bytes()
    again = toposcape.run(TINY, out=path, threads=1)
    assert again == path and (path / "landscape.npy").read_bytes() == before


def test_train_then_analyze(tmp_path):
    out = tmp_path / "trained"
    assert toposcape.train(TINY, out=out) == out
    assert toposcape.load_run(out).state == "trained"
    analysed = toposcape.analyze(out, dims=1, points=7, threads=1)
    run = toposcape.load_run(analysed)
    assert run.state == "analysed" and run.landscape.shape == (7,)


def test_sweep_runs_in_process(tmp_path):
    config = tmp_path / "tiny.toml"
    shutil.copy(TINY, config)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "tiny.toml"\n[values]\n"training.learning_rate" = [0.01, 0.02]\n')
    seen = []
    out = toposcape.sweep(sweep, out=tmp_path / "out", progress=lambda *a: seen.append(a))
    lines = (out / "runs.csv").read_text().splitlines()
    assert len(lines) == 3
    assert ("sweep", 2, 2, None) in seen


def test_progress_errors_reach_python(tmp_path):
    def fail(*_):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        toposcape.train(TINY, out=tmp_path / "x", progress=fail)


def cli_error(cli, *args):
    status, _, err = cli(*args)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0].removeprefix("toposcape: error: ")


def test_bad_config_key_has_the_cli_message(tmp_path, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.read_text().replace("epochs = 4", "epochs = -3"))
    message = cli_error(cli, "train", bad, "--out", tmp_path / "cli")
    with pytest.raises(ValueError) as raised:
        toposcape.train(bad, out=tmp_path / "py")
    assert str(raised.value) == message
    assert not (tmp_path / "py").exists()


def test_bad_field_file_has_the_cli_message(tmp_path, cli):
    ints = tmp_path / "ints.npy"
    np.save(ints, np.arange(12).reshape(3, 4))
    message = cli_error(cli, "topo", ints)
    assert "expected float32 or float64" in message
    with pytest.raises(TypeError, match="values: has dtype int64; expected float32 or float64"):
        toposcape.merge_tree(np.load(ints))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: toposcape.merge_tree(np.zeros((2,) * 9)), ValueError, "values: .*at most 8"),
        (lambda: toposcape.merge_tree(np.zeros(0)), ValueError, "values: "),
        (lambda: toposcape.merge_tree(np.zeros((3, 3)), connectivity="diag"), ValueError,
         "connectivity: unknown connectivity 'diag': expected freudenthal, axis or full"),
        (lambda: toposcape.merge_tree(np.zeros((3, 3)), simplify="-1"), ValueError, "simplify -1: expected a non-negative"),
        (lambda: toposcape.merge_tree(np.zeros((3, 3)), simplify=[1]), TypeError, "simplify: expected a number"),
        (lambda: toposcape.merge_tree(np.zeros(4), edges=np.zeros((3, 3), dtype=np.uint32)), ValueError, "edges: has shape"),
        (lambda: toposcape.merge_tree(np.zeros(4), edges=[[0, 9]]), ValueError, "edges: "),
        (lambda: toposcape.merge_tree("abc"), TypeError, "values: "),
        (lambda: toposcape.profile(np.zeros((3, 3)), hide_below=2), ValueError, "hide_below 2"),
        (lambda: toposcape.profile(np.zeros((3, 3)), log_loss=True), ValueError, "log_loss: the lowest loss is 0"),
        (lambda: toposcape.bottleneck(np.zeros((2, 3)), np.zeros((1, 2))), ValueError, "a: has shape"),
        (lambda: toposcape.knn_graph(np.zeros((4, 2)), 0), ValueError, "k 0"),
        (lambda: toposcape.load_run("/nonexistent/run"), OSError, "is not a run directory"),
        (lambda: toposcape.train("/nonexistent.toml"), FileNotFoundError, "no such config file"),
        (lambda: toposcape.run(TINY, backend="tpu"), ValueError, "backend tpu: expected cpu, flex, ndarray or wgpu"),
    ],
)
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_readonly_and_strided_arrays_are_accepted():
    values = np.random.default_rng(4).standard_normal((20, 20))
    values.flags.writeable = False
    assert toposcape.merge_tree(values).minima == toposcape.merge_tree(values.copy()).minima
    strided = np.random.default_rng(4).standard_normal((40, 40))[::2, ::2]
    assert np.array_equal(toposcape.merge_tree(strided).pairs, toposcape.merge_tree(strided.copy()).pairs)
    assert toposcape.merge_tree([[1.0, 0.0], [2.0, 3.0]]).minima == 1
