"""Profiles: their geometry against the command line's, their figures, and how they show
themselves in Jupyter."""

import json
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import toposcape
from conftest import ROOT

HIMMELBLAU = ROOT / "examples/landscapes/himmelblau.npy"


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_profile_geometry_equals_the_cli(tmp_path, cli):
    out = tmp_path / "profile.json"
    status, _, err = cli("topo", HIMMELBLAU, "--profile-json", out, "--hide-below", "0.001")
    assert status == 0, err
    profile = toposcape.profile(np.load(HIMMELBLAU), hide_below=0.001)
    assert json.loads(profile.to_json()) == json.loads(out.read_text())
    basins = profile.basins
    assert len(basins) == len(json.loads(out.read_text())["basins"])
    # The four minima are drawn, each polygon spanning its interval.
    assert sum(b["kind"] == "minimum" for b in basins) == 4
    for b in basins:
        assert b["polygon"].shape[1] == 2
        assert b["polygon"][:, 0].min() >= b["x"][0] - 1e-9 and b["polygon"][:, 0].max() <= b["x"][1] + 1e-9
    assert profile.vertex_count == 101 * 101


def test_figures_are_pictures(tmp_path):
    values = np.load(HIMMELBLAU)
    profile = toposcape.profile(values)
    assert png_size(profile.png(640, 480)) == (640, 480)
    svg = ET.fromstring(profile.svg(640, 480))
    assert svg.tag.endswith("svg")
    assert png_size(profile.tree_figure()) == (1200, 800)
    tree = toposcape.merge_tree(values)
    assert png_size(tree.persistence_figure(width=300, height=200)) == (300, 200)
    assert ET.fromstring(tree.persistence_figure(svg=True)).tag.endswith("svg")
    assert png_size(toposcape.landscape_figure(values)) == (1200, 800)
    for name in ("p.png", "p.svg", "p.json"):
        profile.save(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "p.json").read_text()) == json.loads(profile.to_json())
    with pytest.raises(ValueError, match="expected a .png, .svg or .json"):
        profile.save(tmp_path / "p.gif")
    with pytest.raises(ValueError, match="width 10"):
        profile.png(10, 10)


def test_jupyter_shows_a_profile():
    """IPython's display formatters call `_repr_png_` and `_repr_svg_`: what they get is a
    picture of the profile."""
    profile = toposcape.profile(np.load(HIMMELBLAU))
    assert png_size(profile._repr_png_()) == (900, 600)
    assert ET.fromstring(profile._repr_svg_()).tag.endswith("svg")
    assert "4 basins drawn" in repr(profile) or "basins drawn" in repr(profile)
    try:
        from IPython.core.formatters import PNGFormatter, SVGFormatter
    except ImportError:
        return
    assert PNGFormatter()(profile) == profile._repr_png_()
    assert SVGFormatter()(profile) == profile._repr_svg_()
