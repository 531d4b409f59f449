"""Writes the small example landscapes shipped with toposcape (numpy only).

    python3 examples/landscapes/make_examples.py

himmelblau.npy   Himmelblau's function on a 101 x 101 grid over [-5, 5]^2, float32: four minima
                 of value 0 at (3, 2), (-2.805, 3.131), (-3.779, -3.283), (3.584, -1.848).
rastrigin-3d.npz Rastrigin's function on a 41^3 grid over [-2.5, 2.5]^3 under the key "loss",
                 the layout the Python package Landscaper saves: 125 minima, one per integer point.
"""

import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))

x = np.linspace(-5.0, 5.0, 101)
X, Y = np.meshgrid(x, x, indexing="ij")
himmelblau = (X**2 + Y - 11.0) ** 2 + (X + Y**2 - 7.0) ** 2
np.save(os.path.join(here, "himmelblau.npy"), himmelblau.astype(np.float32))

t = np.linspace(-2.5, 2.5, 41)
grids = np.meshgrid(t, t, t, indexing="ij")
rastrigin = 10.0 * 3 + sum(g**2 - 10.0 * np.cos(2.0 * np.pi * g) for g in grids)
np.savez(os.path.join(here, "rastrigin-3d.npz"), loss=rastrigin.astype(np.float32), coordinates=t)
