"""Writing the files of the nyuv2 layout, atomically (a temporary file in the same folder, then
renamed), so that an interrupted demo or conversion never leaves a half-written file that a
resumed run would take for a finished one.

- RGB: :func:`write_rgb`, a JPEG written by OpenCV from an RGB array (BGR on disk, as usual);
- depth: :func:`write_depth`, a uint16 PNG in millimetres, 0 = invalid (the BTS convention);
- normals: :func:`write_normals`, a MATLAB v5 ``.mat`` with ``nx``, ``ny``, ``nz`` float32 and
  ``depthValid`` uint8 [H, W], the per-image layout of MarrRevisited/Fouhey (``nm_%06d.mat``).

The readers are in :mod:`harness_nyudata.nyuv2`.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

#: the largest depth a uint16 millimetre PNG holds (65.535 m)
MAX_DEPTH_MM = 65535
#: the free text of a MATLAB v5 header (its first 116 bytes), fixed so that the same normals
#: give the same file
MAT_HEADER = b'MATLAB 5.0 MAT-file, written by ssl-harness (harness_nyudata)'.ljust(116)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`harness.io.atomic_write_bytes`)."""
    from harness.api import atomic_write_bytes

    return atomic_write_bytes(path, data)


def write_rgb(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """Write RGB uint8 ``rgb`` [H, W, 3] as a JPEG (OpenCV, quality 95, BGR on disk)."""
    from harness.api import synth  # cv2 is only needed when writing

    return synth.write_image(path, np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1]))


def depth_mm(depth: np.ndarray) -> np.ndarray:
    """Depth in metres (float [H, W]) as uint16 millimetres, rounded; NaN, <= 0 and values
    rounding to 0 become 0 (invalid), values beyond 65.535 m are clipped."""
    depth = np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(np.round(depth * 1000.0), 0, MAX_DEPTH_MM).astype(np.uint16)


def write_depth(path: str | os.PathLike, depth: np.ndarray) -> Path:
    """Write depth in metres (float [H, W], 0 = invalid) as a uint16 millimetre PNG."""
    import cv2  # only needed when writing

    ok, encoded = cv2.imencode('.png', depth_mm(depth))
    if not ok:
        raise OSError(f'OpenCV cannot encode {Path(path).name}')
    return write_bytes(path, encoded.tobytes())


def write_normals(path: str | os.PathLike, normals: np.ndarray, valid: np.ndarray) -> Path:
    """Write ``normals`` (float [H, W, 3]) and ``valid`` (bool [H, W]) as a MATLAB v5 ``.mat``:
    ``nx``, ``ny``, ``nz`` float32 [H, W] and ``depthValid`` uint8 [H, W] (1 valid)."""
    import scipy.io  # only needed when writing

    normals = np.asarray(normals, dtype=np.float32)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, dict(
        nx=normals[:, :, 0], ny=normals[:, :, 1], nz=normals[:, :, 2],
        depthValid=np.asarray(valid).astype(np.uint8)), do_compression=True)
    data = bytearray(buffer.getvalue())
    data[:len(MAT_HEADER)] = MAT_HEADER  # scipy's text has the time: files would differ
    return write_bytes(path, bytes(data))
