"""BraVe's random convolution as an augmentation step (:mod:`harness.data.augment_steps`),
registered on import (the BraVe configs import this module through their ``custom_imports``).

Option ``random_conv``: the probability that a clip is convolved (0.0 by default: off). The
worker draws parameter ``conv``, a ``3x3x11x11`` kernel, all zero for a clip that is not
convolved; on the device the step runs after solarize and before the normalisation.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor
from torch.nn import functional as F

from harness.api import chance, on_clips, AugmentStep, register_augment_step

MAX_CONV_KERNEL = 11  # odd kernels 1..11


def random_conv_kernel() -> Tensor:
    """A He-initialised 3x3xkxk kernel, k odd in 1..11, centred in a zero 11x11 kernel
    (convolving with it equals convolving with the kxk one)."""
    k = 2 * int(torch.randint(0, MAX_CONV_KERNEL // 2 + 1, (1,))) + 1
    kernel = torch.zeros(3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)
    at = (MAX_CONV_KERNEL - k) // 2
    kernel[:, :, at:at + k, at:at + k] = torch.randn(3, 3, k, k) * math.sqrt(2.0 / (3 * k * k))
    return kernel


def random_convolution(frames: Tensor, kernels: Tensor) -> Tensor:
    """Every frame of a clip ``[N, T, 3, H, W]`` convolved with the clip's random kernel
    ``[3, 3, k, k]`` (zero padding), then restandardised to the clip's mean and std."""
    n, t, c, h, w = frames.shape
    size = kernels.shape[-1]
    x = frames.permute(1, 0, 2, 3, 4).reshape(t, n * c, h, w)
    out = F.conv2d(x, kernels.to(frames.dtype).reshape(n * c, c, size, size),
                   padding=size // 2, groups=n)
    out = out.view(t, n, c, h, w).permute(1, 0, 2, 3, 4)
    dims = tuple(range(1, frames.dim()))
    out = (out - out.mean(dims, keepdim=True)) / (out.std(dims, keepdim=True) + 1e-6)
    return out * frames.std(dims, keepdim=True) + frames.mean(dims, keepdim=True)


def sample_random_conv(options: Mapping[str, Any], height: int, width: int
                       ) -> dict[str, Tensor]:
    """``{'conv': kernel}`` with ``random_conv`` > 0 (an all-zero kernel for a clip that is
    not convolved); nothing otherwise."""
    if options.get('random_conv', 0.0) <= 0:
        return {}
    convolved = chance(options['random_conv'])
    return {'conv': random_conv_kernel() if convolved else
            torch.zeros(3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)}


def apply_random_conv(frames: Tensor, params: Mapping[str, Any]) -> Tensor:
    """The random convolution on the clips whose kernel is not all zero."""
    return on_clips(frames, params['conv'].flatten(1).any(1), random_convolution, params['conv'])


# after solarize (60), before the normalisation (100): on colour values in [0, 1]
RANDOM_CONV = register_augment_step(AugmentStep(
    'random_conv', 70, apply_random_conv, params=('conv',), options=('random_conv',),
    sample=sample_random_conv))
