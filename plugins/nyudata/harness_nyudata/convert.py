"""Converting the official NYU Depth v2 files into the nyuv2 layout (images, depth, splits).

- ``nyu_depth_v2_labeled.mat`` is MATLAB v7.3, i.e. HDF5, read with h5py. MATLAB's
  ``images`` [480 x 640 x 3 x 1449] and ``depths`` [480 x 640 x 1449] appear transposed there:
  ``images`` [1449, 3, 640, 480] uint8 and ``depths`` [1449, 640, 480] float metres, so image
  ``i`` (1-based) is ``images[i - 1].T`` (480 x 640 x 3, RGB) and its depth ``depths[i - 1].T``
  (docs/image-evals.md §4, as cleinc/bts's extraction script reads them). ``depths`` are the
  in-painted (filled) maps of the toolbox, so they have no holes; 0 and NaN become invalid.
- ``splits.mat`` is MATLAB v5, read with scipy: ``trainNdxs`` (795) and ``testNdxs`` (654),
  column vectors of 1-based indices into the labeled file.

Image ``i`` becomes ``images/<i:06d>_rgb.jpg`` and ``depth/<i:06d>_depth.png``; the lists go to
``splits/{train,test}list.txt`` unchanged (still 1-based). Files already on disk are kept
(each is written atomically, so one that exists is complete): an interrupted conversion
resumes where it stopped. The labeled file holds no normals; they come separately
(:func:`harness_nyudata.nyuv2.prepare` says so).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from harness.api import DataError
from harness_nyudata import nyuv2


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_splits_mat(path: str | os.PathLike, count: int) -> tuple[list[int], list[int]]:
    """``(train, test)``: the 1-based indices of ``splits.mat``, each checked to lie in
    ``1..count``. A file that is not this layout is a one-line DataError."""
    data = nyuv2.read_mat(path, ('trainNdxs', 'testNdxs'), 'splits.mat')
    out = []
    for key in ('trainNdxs', 'testNdxs'):
        values = np.asarray(data[key]).ravel()
        if not values.size or not np.issubdtype(values.dtype, np.number) \
                or not np.all(values == np.round(values)):
            raise DataError(f'{path}: {key} must be a vector of 1-based image indices; got '
                            f'{values.dtype} {np.shape(data[key])}')
        indices = [int(v) for v in values]
        if min(indices) < 1 or max(indices) > count:
            raise DataError(f'{path}: {key} holds indices outside 1..{count} (the images of the '
                            f'labeled file); the indices are 1-based')
        out.append(indices)
    return out[0], out[1]


def _check_layout(handle, path: Path) -> int:
    """The number of images of an open labeled file, after checking its datasets."""
    images, depths = handle.get('images'), handle.get('depths')
    if images is None or depths is None or not hasattr(images, 'shape') \
            or not hasattr(depths, 'shape'):
        raise DataError(f'{path} has no images and depths datasets; it is not '
                        f'{nyuv2.LABELED_MAT} (download it again from the NYU Depth v2 page)')
    if images.ndim != 4 or images.shape[1] != 3 or depths.ndim != 3 \
            or depths.shape != (images.shape[0],) + images.shape[2:]:
        raise DataError(f'{path}: images {images.shape} and depths {depths.shape} are not the '
                        'labeled layout (h5py shapes [N, 3, W, H] and [N, W, H]); it is not '
                        f'{nyuv2.LABELED_MAT}')
    return int(images.shape[0])


def convert_labeled(root: str | os.PathLike) -> list[str]:
    """Write ``images/``, ``depth/`` and ``splits/`` under ``root`` from its
    ``nyu_depth_v2_labeled.mat`` and ``splits.mat`` (see the module docstring); return the
    lines ``harness data prepare`` prints. A missing ``splits.mat`` or a file that is not the
    expected layout is a one-line DataError."""
    import h5py

    from harness.api import atomic_write_text
    from harness_nyudata import formats

    root = Path(root).expanduser()
    mat, splits = root / nyuv2.LABELED_MAT, root / nyuv2.SPLITS_MAT
    if not splits.is_file():
        raise DataError(f'{root} holds {mat.name} but no {splits.name}; put the official '
                        f'{splits.name} (trainNdxs, testNdxs) next to it')
    try:
        handle = h5py.File(mat, 'r')
    except OSError as exc:
        raise DataError(f'cannot open {mat} as HDF5 (MATLAB v7.3): {_first_line(exc)}; '
                        'download it again from the NYU Depth v2 page') from None
    written = kept = 0
    with handle:
        count = _check_layout(handle, mat)
        train, test = read_splits_mat(splits, count)
        images, depths = handle['images'], handle['depths']
        for index in sorted(set(train) | set(test)):
            rgb, depth = root / nyuv2.rgb_path(index), root / nyuv2.depth_path(index)
            if rgb.is_file() and depth.is_file():
                kept += 1
                continue
            try:
                if not rgb.is_file():
                    formats.write_rgb(rgb, np.asarray(images[index - 1], dtype=np.uint8).T)
                if not depth.is_file():
                    formats.write_depth(depth, np.asarray(depths[index - 1]).T)
            except (OSError, ValueError, TypeError) as exc:
                raise DataError(f'cannot convert image {index} of {mat}: '
                                f'{_first_line(exc)}') from None
            written += 1
    atomic_write_text(root / nyuv2.LISTS / nyuv2.TRAIN_LIST, ''.join(f'{i}\n' for i in train))
    atomic_write_text(root / nyuv2.LISTS / nyuv2.TEST_LIST, ''.join(f'{i}\n' for i in test))
    return [f'nyuv2: {written} images converted from {mat.name} into images/ and depth/ '
            f'({kept} already there); splits/{nyuv2.TRAIN_LIST} ({len(train)} indices) and '
            f'{nyuv2.TEST_LIST} ({len(test)}) from {splits.name}']
