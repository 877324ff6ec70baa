"""The nyuv2 evaluator's data: a list dataset of (image, dense target) pairs and the two steps
mmcv/mmdet do not have: reading a dense target and packing it.

A sample's dense target travels through the pipeline as ``gt_seg_map``, a float32 ``[H, W, C]``
array, so mmcv's ``Resize``/``RandomChoiceResize`` (nearest interpolation) and mmdet's
``RandomCrop`` move it with the image:

- ``normals``: ``C = 4``, the unit normal (x right, y down, towards the camera) and the valid
  mask (1 or 0) of each pixel;
- ``depth``: ``C = 2``, depth in metres and the valid mask.

:class:`PackDenseInputs` hands the model ``{'inputs': uint8 [3, H, W], 'target': float32
[H, W, C]}``; ``default_collate`` stacks them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset

from harness.api import DataError, DATASETS, TRANSFORMS

#: target kind -> channels of its ``gt_seg_map``
TARGET_CHANNELS = {'normals': 4, 'depth': 2}


@DATASETS.register_module()
class DenseListDataset(BaseDataset):
    """Images and their dense targets from a list file: one ``image target`` pair of paths
    per line, relative to ``data_root`` (what the evaluator writes from the run's split).
    Each sample is ``{'img_path', 'target_path'}`` for the pipeline."""

    def load_data_list(self) -> list[dict]:
        samples = []
        for number, line in enumerate(Path(self.ann_file).read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                raise DataError(f'{self.ann_file} line {number}: expected "image target", got '
                                f'{line!r}')
            image, target = (str(Path(self.data_root) / part) for part in parts)
            samples.append({'img_path': image, 'target_path': target})
        return samples


@TRANSFORMS.register_module()
class LoadDenseTarget(BaseTransform):
    """Read the dense target of ``results['target_path']`` into ``gt_seg_map`` (float32
    ``[H, W, C]``, see the module docstring): ``kind`` 'normals' (a Fouhey-style ``.mat``) or
    'depth' (a millimetre PNG), with nyudata's loaders. A target whose size differs from the
    image's is a one-line DataError."""

    def __init__(self, kind: str):
        if kind not in TARGET_CHANNELS:
            raise ValueError(f"kind must be one of {', '.join(TARGET_CHANNELS)}, got {kind!r}")
        self.kind = kind

    def transform(self, results: dict) -> dict:
        from harness_nyudata import nyuv2

        path = results['target_path']
        if self.kind == 'normals':
            normals, valid = nyuv2.load_normals(path)
            target = np.concatenate([normals, valid[..., None]], axis=-1)
        else:
            depth = nyuv2.load_depth(path)
            target = np.stack([depth, depth > 0], axis=-1)
        if target.shape[:2] != results['img'].shape[:2]:
            raise DataError(f'{path} is {target.shape[1]} x {target.shape[0]} but its image '
                            f"{results['img_path']} is {results['img'].shape[1]} x "
                            f"{results['img'].shape[0]}")
        results['gt_seg_map'] = np.ascontiguousarray(target, dtype=np.float32)
        return results


@TRANSFORMS.register_module()
class PackDenseInputs(BaseTransform):
    """``{'inputs': uint8 [3, H, W] (the image's channels as read), 'target': float32
    [H, W, C]}``; the model's data preprocessor converts and normalises the image."""

    def transform(self, results: dict) -> dict:
        image = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        return {'inputs': torch.from_numpy(image),
                'target': torch.from_numpy(np.ascontiguousarray(results['gt_seg_map']))}
