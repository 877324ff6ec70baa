"""Image samples for mmengine pipelines.

- Evaluation: mmcv's transforms load, resize and crop (``mmcv.LoadImageFromFile``,
  ``mmcv.Resize``, ``mmcv.CenterCrop``); :class:`PackImage` hands the crop on.
- Pretraining: :class:`SampleImageViews` reads an image once and prepares several views of it,
  each resized to its fixed intermediate size (uint8) with its augmentation parameters drawn,
  as :class:`harness.data.views.SampleViews` does for clips; the pixels are augmented batched
  on the model's device (:class:`harness.data.augment.AugmentViews`, an image being a clip of
  one frame).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from harness.data.augment import resize_clip, sample_augment
from harness.data.views import ViewSpec
from harness.registry import TRANSFORMS


def read_image(path: str) -> np.ndarray:
    """An image file as ``uint8 [H, W, 3]`` RGB (OpenCV, as mmcv's loader; grey images are
    repeated on three channels). An unreadable file raises ``OSError``."""
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f'OpenCV cannot read the image {path}')
    return np.ascontiguousarray(image[:, :, ::-1])


def prepare_image(image: np.ndarray, spec: ViewSpec) -> dict[str, Any]:
    """One view of an RGB image as the worker hands it on: ``image`` resized to the view's
    square intermediate size (``uint8 [3, D, D]``) and the view's augmentation parameters,
    drawn on the image's own height and width (so crop boxes cover what they would on the
    original)."""
    frames = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)  # [1, 3, H, W]
    return {'image': resize_clip(frames, spec.intermediate)[:, 0],
            'augment': sample_augment(image.shape[0], image.shape[1], spec.size, spec.augment)}


@TRANSFORMS.register_module()
class SampleImageViews:
    """mmengine transform: ``results['filename']`` -> ``results['inputs'] = {name: view}``.

    views: ``{name: spec}``, spec a dict of :class:`~harness.data.views.ViewSpec` fields
    without ``frames``/``stride`` (``size``, ``augment``, ``decode_size``: the intermediate
    square, by default 8/7 of ``size``). A view is ``{'image': uint8 [3, D, D], 'augment':
    parameters}``, which the model's ``AugmentViews`` preprocessor turns into
    ``float [3, S, S]``. The image is read once.

    geometry: also hand on where each view lies in the image, ``inputs['geometry'] = {name:
    {'box': (top, left, height, width) as fractions of the image, 'flip': bool}}`` (the crop
    is taken first, then flipped): the drawn crop and flip parameters, for methods that relate
    the views' positions to each other (e.g. to match their overlapping regions).
    """

    def __init__(self, views: Mapping[str, Mapping[str, Any]], geometry: bool = False):
        self.views = {name: ViewSpec(frames=1, **dict(spec)) for name, spec in views.items()}
        self.geometry = geometry

    def __call__(self, results: dict) -> dict:
        image = read_image(results['filename'])
        inputs = {name: prepare_image(image, spec) for name, spec in self.views.items()}
        if self.geometry:
            inputs['geometry'] = {name: {'box': view['augment']['box'],
                                         'flip': view['augment']['flip']}
                                  for name, view in inputs.items()}
        results['inputs'] = inputs
        return results

    def random_inputs(self, batch_size: int) -> dict[str, Any]:
        """Random batched inputs shaped like the model receives them after augmentation (for
        model tests)."""
        inputs: dict[str, Any] = {name: torch.randn(batch_size, 3, spec.size, spec.size)
                                  for name, spec in self.views.items()}
        if self.geometry:
            inputs['geometry'] = {name: random_geometry(batch_size) for name in self.views}
        return inputs

    def __repr__(self) -> str:
        return f'{type(self).__name__}(views={self.views}, geometry={self.geometry})'


def random_geometry(batch_size: int) -> dict[str, torch.Tensor]:
    """Random crop boxes inside the image (fractions, sides 0.3-1) and flips, batched."""
    sides = 0.3 + 0.7 * torch.rand(batch_size, 2)
    corners = (1 - sides) * torch.rand(batch_size, 2)
    return {'box': torch.cat([corners, sides], dim=1),
            'flip': torch.rand(batch_size) < 0.5}


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
