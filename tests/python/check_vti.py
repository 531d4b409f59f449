"""Reads a .vti file that `toposcape topo --vtk` wrote with VTK's own XML reader and checks its
arrays and point order against the field and the .npy files written beside it. Not run by CI
(the `vtk` wheel is about 570 MB installed); CI reads the files with a strict XML parse instead
(tests/topo_cli.rs).

    pip install numpy vtk
    toposcape topo F.npy --vtk F.vti --segmentation SEG.npy --basins BASINS.npy
    python tests/python/check_vti.py F.vti F.npy SEG.npy BASINS.npy
"""

import sys

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOXML import vtkXMLImageDataReader


def main(path, field, segmentation, basins):
    reader = vtkXMLImageDataReader()
    reader.SetFileName(path)
    reader.Update()
    image = reader.GetOutput()
    values = np.load(field)
    data = image.GetPointData()
    loss = vtk_to_numpy(data.GetArray("loss"))
    assert np.array_equal(loss, values.ravel()), "loss"
    assert np.array_equal(vtk_to_numpy(data.GetArray("merge_tree_segment")), np.load(segmentation).ravel())
    assert np.array_equal(vtk_to_numpy(data.GetArray("basin")), np.load(basins).ravel())
    # VTK's x is the field's last axis: the point at VTK (i, j, k) is field[k, j, i].
    dims = image.GetDimensions()
    for ijk in [(0, 0, 0), (dims[0] - 1, 0, 0), (1, dims[1] - 1, dims[2] - 1)]:
        index = tuple(reversed(ijk[: values.ndim]))
        assert loss[image.ComputePointId(list(ijk))] == values[index], ijk
    print(f"{path}: VTK reads {dims} points and {data.GetNumberOfArrays()} arrays as written")


if __name__ == "__main__":
    main(*sys.argv[1:5])
