"""The spatial transformations of the transformation-recognition methods as augmentation steps
(:mod:`harness.data.augment_steps`), registered on import (:mod:`harness_transrank.sampler`
imports this module).

They draw nothing themselves: :class:`harness_transrank.sampler.SampleTransformedClips` chooses
each clip's transformation (its label) and writes it into the clip's augment parameters:
``turns`` (:data:`TURNS`, a number of quarter turns) and ``stretch`` (:data:`STRETCH`, a
width-over-height ratio). On the device both run after the normalisation, turns first.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor
from harness.api import on_clips, AugmentStep, register_augment_step, resize_boxes

#: The augment parameter keys the sampler writes.
TURNS, STRETCH = 'turns', 'stretch'


def rotate_quarters(frames: Tensor, turns: Tensor) -> Tensor:
    """Each clip of ``[N, T, 3, H, W]`` turned by its own number of quarter turns
    (counter-clockwise, square frames)."""
    out = frames
    for k in (1, 2, 3):
        turned = (turns == k).view(-1, *([1] * (frames.dim() - 1)))
        out = torch.where(turned, torch.rot90(frames, k, dims=(-2, -1)), out)
    return out


def stretch(frames: Tensor, ratio: Tensor) -> Tensor:
    """Each clip's aspect changed by its ``ratio`` (width over height) at the same size: the
    central part that fills the frame once stretched, resized bilinearly."""
    n, t, c, h, w = frames.shape
    keep_w = torch.where(ratio > 1, torch.clamp(torch.round(w / ratio), min=1), torch.full_like(
        ratio, float(w)))
    keep_h = torch.where(ratio < 1, torch.clamp(torch.round(h * ratio), min=1), torch.full_like(
        ratio, float(h)))
    left, top = torch.div(w - keep_w, 2, rounding_mode='floor'), \
        torch.div(h - keep_h, 2, rounding_mode='floor')
    corners = torch.stack([left, top, left + keep_w, top + keep_h], dim=1)
    return resize_boxes(frames.reshape(n, t * c, h, w), corners, (h, w),
                        sampling_ratio=1).view_as(frames)


def apply_turns(frames: Tensor, params: Mapping[str, Any]) -> Tensor:
    return rotate_quarters(frames, params[TURNS])


def apply_stretch(frames: Tensor, params: Mapping[str, Any]) -> Tensor:
    """The stretch on the clips whose ratio is not 1."""
    return on_clips(frames, params[STRETCH] != 1, stretch, params[STRETCH])


# after the normalisation (100), on normalised values
QUARTER_TURNS = register_augment_step(AugmentStep(TURNS, 110, apply_turns, params=(TURNS,)))
ASPECT_STRETCH = register_augment_step(AugmentStep(STRETCH, 120, apply_stretch,
                                                   params=(STRETCH,)))
