"""Image samples for mmengine pipelines.

- Evaluation: mmcv's transforms load, resize and crop (``mmcv.LoadImageFromFile``,
  ``mmcv.Resize``, ``mmcv.CenterCrop``); :class:`PackImage` hands the crop on.
- Pretraining: :class:`SampleImageViews` reads an image once and prepares several views of it,
  each with its augmentation parameters drawn and its pixels at a fixed intermediate size
  (uint8), as :class:`harness.data.views.SampleViews` does for clips; the pixels are augmented
  batched on the model's device (:class:`harness.data.augment.AugmentViews`, an image being a
  clip of one frame).

Crops come from the full-resolution image, as torchvision's ``RandomResizedCrop`` cuts them:
the worker draws the view's crop box on the image's own pixels, cuts that box out of the image
and resizes it (antialiased bilinear, torchvision's ``resized_crop``) to the view's
intermediate square, at least the view's size; the device's crop step then takes the whole
intermediate and resizes it to the view's size (the identity when the two sizes are equal).
So a crop keeps the source resolution torchvision's would have (pixels of the original per
output pixel), whatever the image's size; the intermediate is a fixed size, so views still
batch. (Clips, :func:`harness.data.views.prepare_clip`, are resized whole to their
intermediate and cropped on the device: their frames are small already.)
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from harness.data.augment import WHOLE_BOX, resize_clip, sample_augment
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


def intermediate_size(spec: ViewSpec) -> int:
    """The side of the square the worker resizes an image view's crop to: the view's
    ``decode_size``, else its ``size``, and never less than ``size`` (a smaller one would
    lower the crop's resolution below the output's)."""
    return max(spec.decode_size or spec.size, spec.size)


def cut_view(image: np.ndarray, spec: ViewSpec) -> tuple[dict[str, Any], torch.Tensor]:
    """One view of an RGB image ``uint8 [H, W, 3]`` as the worker hands it on, and its crop
    box as drawn (top, left, height, width as fractions of the image). The view's
    augmentation parameters are drawn on the image's own height and width; its crop box is cut
    out of the full-resolution image and resized to the intermediate square
    (:func:`intermediate_size`): ``{'image': uint8 [3, D, D], 'augment': parameters}``, whose
    ``box`` is then the whole intermediate (:data:`WHOLE_BOX`) for the device's crop step."""
    height, width = image.shape[:2]
    augment = sample_augment(height, width, spec.size, spec.augment)
    frames = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0)
    side = intermediate_size(spec)
    box = augment.get('box')
    if box is None:  # no crop drawn: the whole image
        return {'image': resize_clip(frames, side)[:, 0], 'augment': augment}, \
            torch.tensor(WHOLE_BOX)
    top, left, h, w = (round(float(fraction) * extent) for fraction, extent in
                       zip(box, (height, width, height, width)))
    crop = TF.resized_crop(frames, top, left, h, w, [side, side], antialias=True)
    return {'image': crop[0], 'augment': dict(augment, box=torch.tensor(WHOLE_BOX))}, box


def prepare_image(image: np.ndarray, spec: ViewSpec) -> dict[str, Any]:
    """One view of an RGB image as the worker hands it on (:func:`cut_view`): its crop cut
    from the full-resolution image and resized to the view's intermediate square
    (``uint8 [3, D, D]``, D at least the view's size), and the view's augmentation
    parameters, drawn on the image's own height and width, the crop box the whole
    intermediate."""
    return cut_view(image, spec)[0]


@TRANSFORMS.register_module()
class SampleImageViews:
    """mmengine transform: ``results['filename']`` -> ``results['inputs'] = {name: view}``.

    views: ``{name: spec}``, spec a dict of :class:`~harness.data.views.ViewSpec` fields
    without ``frames``/``stride`` (``size``, ``augment``, ``decode_size``: the intermediate
    square the crop is resized to in the worker, by default and at least ``size``,
    :func:`intermediate_size`). A view is ``{'image': uint8 [3, D, D], 'augment':
    parameters}``, its crop cut from the full-resolution image (:func:`cut_view`), which the
    model's ``AugmentViews`` preprocessor turns into ``float [3, S, S]``. The image is read
    once.

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
        cut = {name: cut_view(image, spec) for name, spec in self.views.items()}
        inputs: dict[str, Any] = {name: view for name, (view, _) in cut.items()}
        if self.geometry:
            inputs['geometry'] = {name: {'box': box, 'flip': view['augment']['flip']}
                                  for name, (view, box) in cut.items()}
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
