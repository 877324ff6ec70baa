"""Image samples for mmengine pipelines: what a loaded (and cropped) image becomes before it is
batched. Loading, resizing and cropping are mmcv's transforms (``mmcv.LoadImageFromFile``,
``mmcv.Resize``, ``mmcv.CenterCrop``)."""
from __future__ import annotations

import numpy as np
import torch

from harness.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackImage:
    """mmengine transform: ``results['img']`` (``uint8 [H, W, C]``, BGR as mmcv loads it) ->
    ``{'inputs': uint8 [C, H, W] tensor, 'label': int}``; normalisation and the BGR -> RGB swap
    happen batched in the model's data preprocessor (mmengine's ``ImgDataPreprocessor``)."""

    def __call__(self, results: dict) -> dict:
        image = np.ascontiguousarray(results['img'])
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return {'inputs': torch.from_numpy(image).permute(2, 0, 1).contiguous(),
                'label': int(results.get('label', -1))}

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
