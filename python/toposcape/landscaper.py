"""From Landscaper to toposcape in one call.

Landscaper (the authors' package, ``pip install landscaper``) keeps a sampled landscape as a
``LossLandscape`` (``.loss``, an n-D array, and ``.ranges``, each axis' coordinates) and saves
it as an ``.npz`` with arrays ``loss`` and ``coordinates``. ``analyse`` takes either and returns
the merge tree, the profile and the metrics that Landscaper computes with topopy, computed
exactly by toposcape instead:

=====================================================  =============================================
Landscaper                                             toposcape
=====================================================  =============================================
``ll = LossLandscape.load_from_npz("l.npz")``          ``a = toposcape.landscaper.analyse("l.npz")``
``ll.get_sublevel_tree()``                             ``a.tree`` (``.pairs``, ``.nodes``, ...)
``ll.show_profile()``                                  ``a.profile`` (``.png()``, ``.save(path)``)
``ll.smad()``                                          ``a.metrics["smad"]``
``ll.smad(normalize=True)``                            ``a.metrics["smad_normalized"]``
``ll.smad(weighted=True)``                             ``a.metrics["smad_weighted"]``
``ll.get_ms_complex().get_unstable_manifolds()``       ``a.basins`` (``labels``, ``minima``, ``sizes``)
=====================================================  =============================================

Landscaper's graph over a grid of equally spaced axes is the axis-aligned neighbours (nglpy's
Gabriel graph), so ``analyse`` defaults to ``connectivity="axis"``: there its SMADs equal
Landscaper's wherever Landscaper's contour tree is a tree (topopy prunes the join and split
trees' leaves once each; on rough fields it stops early and leaves a forest, and
``a.metrics["contour_tree_consistent"]`` says whether the field has a unique contour tree at
all). ``connectivity="freudenthal"`` gives the merge tree of the piecewise-linear landscape.
"""

from __future__ import annotations

import os
from typing import Any, Dict, NamedTuple, Union

import numpy as np

from . import MergeTree, Profile, basins, merge_tree, metrics, profile


class Analysis(NamedTuple):
    """What ``analyse`` computes for one Landscaper landscape."""

    loss: np.ndarray
    tree: MergeTree
    profile: Profile
    metrics: Dict[str, Any]
    basins: Dict[str, Any]


def _loss(landscape: Any, key: str) -> np.ndarray:
    if isinstance(landscape, (str, os.PathLike)):
        path = os.fspath(landscape)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        with np.load(path) as archive:
            if key not in archive.files:
                held = ", ".join(sorted(archive.files)) or "no arrays"
                raise ValueError(f"{path}: has no array '{key}': it holds {held}; choose one with key=")
            loss = archive[key]
    elif hasattr(landscape, "loss"):
        loss = np.asarray(landscape.loss)
        ranges = getattr(landscape, "ranges", None)
        if ranges is not None and len(ranges) == loss.ndim:
            sides = tuple(len(r) for r in ranges)
            if sides != loss.shape:
                raise ValueError(
                    f"landscape: its loss has shape {loss.shape} but its ranges have lengths {sides}"
                )
    else:
        raise TypeError("landscape: expected a Landscaper LossLandscape or the path of its .npz file")
    if loss.dtype not in (np.float32, np.float64):
        loss = loss.astype(np.float64)
    return loss


def analyse(
    landscape: Union[Any, str, "os.PathLike[str]"],
    connectivity: str = "axis",
    simplify: Union[float, str, None] = None,
    hide_below: float = 0.0005,
    log_loss: bool = False,
    key: str = "loss",
) -> Analysis:
    """The merge tree, profile, metrics and basins of a Landscaper ``LossLandscape`` or of its
    saved ``.npz`` (array ``key``, default ``loss``), in one call."""
    loss = _loss(landscape, key)
    return Analysis(
        loss=loss,
        tree=merge_tree(loss, connectivity=connectivity, simplify=simplify),
        profile=profile(loss, connectivity=connectivity, simplify=simplify, hide_below=hide_below, log_loss=log_loss),
        metrics=metrics(loss, connectivity=connectivity),
        basins=basins(loss, connectivity=connectivity),
    )


def analyze(*args: Any, **kwargs: Any) -> Analysis:
    """``analyse`` under its American spelling."""
    return analyse(*args, **kwargs)


__all__ = ["Analysis", "analyse", "analyze"]
