"""Shared set-up of the Python package's tests: the repository's files, the `toposcape` binary
(for comparisons with the command line) and Landscaper (for comparisons with the peer)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]


def toposcape_binary():
    """The `toposcape` binary the CLI comparisons run: $TOPOSCAPE_BIN, else the cargo build's."""
    named = os.environ.get("TOPOSCAPE_BIN")
    if named:
        return Path(named)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "toposcape"
        if candidate.is_file():
            return candidate
    found = shutil.which("toposcape")
    if found:
        return Path(found)
    raise RuntimeError("no toposcape binary: set TOPOSCAPE_BIN or run cargo build first")


@pytest.fixture(scope="session")
def cli():
    """Runs the toposcape binary; returns (exit status, stdout, stderr)."""
    binary = toposcape_binary()

    def call(*args, cwd=None):
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, cwd=cwd)
        return done.returncode, done.stdout, done.stderr

    return call


@pytest.fixture(scope="session")
def landscaper():
    """Landscaper 1.3.1, imported with a stand-in for PyTorch, which it imports at import time
    for its Hessian and sampling modules (nothing used here touches them): about 5 GB not
    downloaded. numpy, scipy, sklearn, matplotlib and topopy are imported first, since they
    probe for a real torch."""
    import gudhi  # noqa: F401
    import matplotlib  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.neighbors  # noqa: F401
    import topopy  # noqa: F401

    sys.modules.setdefault("torch", mock.MagicMock())
    import landscaper

    return landscaper
