"""BraVe's own augmentation steps (:mod:`harness.data.augment_steps`), registered on import (the
BraVe configs import this module through their ``custom_imports``). Both follow the official
code (google-deepmind/brave: brave/datasets/augmentations.py, applied by
brave/models/brave/brave.py ``_transform_views``), which applies them to *every* clip:

``early_blur`` (option: the probability a clip is blurred, 0.0 by default: off; BraVe's configs
set 1.0). A Gaussian blur right after the crop, before the flip and the colour steps, as the
official ``random_gaussian_blur_video`` runs: sigma uniform in [0.1, 2.0] per clip (the same for
every frame), a separable kernel of ``(S // 10) | 1`` taps for ``S``-pixel views (the official
``kernel_size = width // 10``, made odd as its ``_gaussian_blur`` makes it: 23 at 224 px, 11 at
112) and zero padding (TensorFlow's 'SAME'). The worker draws parameter ``early_blur_sigma``
(0 for a clip that is not blurred). The core's own ``blur`` step (after the colour steps,
reflect padding, torchvision's) stays off in BraVe's configs.

``random_conv`` (option: the probability a clip is convolved, 0.0 by default: off; BraVe's
configs set 1.0 on the broad view). The official ``_random_convolve``: one random 3->3 channel
convolution per clip, the same for every frame, kernel size k uniform in {1, 3, ..., 11},
weights He-normal as TensorFlow draws them (a normal truncated at two standard deviations whose
standard deviation after truncation is sqrt(2 / (3 k^2))), zero padding and no renormalisation
of the output. The worker draws parameter ``conv``, a ``3x3x11x11`` kernel (the k x k one
centred in zeros), all zero for a clip that is not convolved. On the device the step runs after
the colour steps and before the normalisation, on colour values in [0, 1] as the official code
convolves them (the harness then normalises with ImageNet's mean and std, where the official
code feeds the [0, 1] values to the network).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor
from torch.nn import functional as F

from harness.api import chance, on_clips, AugmentStep, register_augment_step

MAX_CONV_KERNEL = 11  # odd kernels 1..11
BLUR_SIGMA = (0.1, 2.0)
#: the standard deviation of a standard normal truncated at +-2 (TensorFlow's VarianceScaling
#: divides by it so that the truncated draws have the wanted standard deviation)
TRUNCATED_NORMAL_STD = 0.87962566103423978


def blur_taps(size: int) -> int:
    """The blur kernel's width for ``size``-pixel views: ``size // 10`` made odd (1: no blur)."""
    return (size // 10) | 1


def zero_padded_blur(frames: Tensor, sigma: Tensor, kernel: int) -> Tensor:
    """Per-clip separable Gaussian blur of clips ``[N, T, 3, H, W]`` (``sigma [N]``) with a
    ``kernel``-tap filter and zero padding (the output keeps the input's size)."""
    n, t, c, h, w = frames.shape
    if kernel == 1:  # one normalised tap: the identity
        return frames
    x = torch.arange(kernel, device=frames.device, dtype=frames.dtype) - kernel // 2
    weights = torch.exp(-x ** 2 / (2 * sigma.to(frames.dtype)[:, None] ** 2))
    weights = (weights / weights.sum(1, keepdim=True)).repeat_interleave(t * c, dim=0)
    flat = frames.reshape(1, n * t * c, h, w)
    flat = F.conv2d(flat, weights.view(-1, 1, 1, kernel), padding=(0, kernel // 2),
                    groups=n * t * c)
    flat = F.conv2d(flat, weights.view(-1, 1, kernel, 1), padding=(kernel // 2, 0),
                    groups=n * t * c)
    return flat.view_as(frames)


def sample_early_blur(options: Mapping[str, Any], height: int, width: int
                      ) -> dict[str, Tensor]:
    """``{'early_blur_sigma': sigma}`` with ``early_blur`` > 0 (0 for a clip that is not
    blurred); nothing otherwise."""
    if options.get('early_blur', 0.0) <= 0:
        return {}
    blurred = chance(options['early_blur'])
    sigma = float(torch.empty(()).uniform_(*BLUR_SIGMA)) if blurred else 0.0
    return {'early_blur_sigma': torch.tensor(sigma)}


def apply_early_blur(frames: Tensor, params: Mapping[str, Any]) -> Tensor:
    """The blur on the clips whose sigma is not 0."""
    kernel = blur_taps(params['size'])
    return on_clips(frames, params['early_blur_sigma'] > 0,
                    lambda x, sigma: zero_padded_blur(x, sigma, kernel),
                    params['early_blur_sigma'])


def random_conv_kernel() -> Tensor:
    """A He-normal 3x3xkxk kernel as TensorFlow's ``he_normal`` draws it (truncated at two
    standard deviations, standard deviation sqrt(2 / (3 k^2)) after truncation), k odd and
    uniform in 1..11, centred in a zero 11x11 kernel (convolving with it equals convolving
    with the k x k one)."""
    k = 2 * int(torch.randint(0, MAX_CONV_KERNEL // 2 + 1, (1,))) + 1
    std = math.sqrt(2.0 / (3 * k * k)) / TRUNCATED_NORMAL_STD
    kernel = torch.zeros(3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)
    at = (MAX_CONV_KERNEL - k) // 2
    kernel[:, :, at:at + k, at:at + k] = torch.nn.init.trunc_normal_(
        torch.empty(3, 3, k, k), mean=0.0, std=std, a=-2 * std, b=2 * std)
    return kernel


def used_size(kernels: Tensor) -> list[int]:
    """For kernels ``[N, 3, 3, K, K]`` (K odd), each clip's smallest centred k x k window that
    holds all its non-zero taps (1 for an all-zero kernel)."""
    full = kernels.shape[-1]
    offset = torch.arange(full, device=kernels.device) - full // 2
    ring = torch.maximum(offset.abs()[:, None], offset.abs()[None, :])  # distance from centre
    used = kernels.abs().amax((1, 2)) > 0  # [N, K, K]
    return [2 * r + 1 for r in (ring * used).amax((1, 2)).tolist()]


def random_convolution(frames: Tensor, kernels: Tensor) -> Tensor:
    """Every frame of a clip ``[N, T, 3, H, W]`` convolved with the clip's random kernel
    ``[3, 3, k, k]`` (zero padding, output the input's size), nothing else: the output is not
    renormalised or clipped, as in the official code. Each clip is convolved with its kernel
    cropped to its k x k (the zeros around it change nothing but the cost), clip by clip: on a
    CPU 5-6 times faster than one grouped convolution of all clips with the 11 x 11 kernels."""
    full = kernels.shape[-1]
    kernels = kernels.to(frames.dtype)
    out = []
    for clip, kernel, k in zip(frames, kernels, used_size(kernels)):
        at = (full - k) // 2
        out.append(F.conv2d(clip, kernel[:, :, at:at + k, at:at + k], padding=k // 2))
    return torch.stack(out)


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


# after the crop (10), before the flip (20): the official blur comes before flip and colour
EARLY_BLUR = register_augment_step(AugmentStep(
    'early_blur', 15, apply_early_blur, params=('early_blur_sigma',), options=('early_blur',),
    sample=sample_early_blur))
# after solarize (60), before the normalisation (100): on colour values in [0, 1]
RANDOM_CONV = register_augment_step(AugmentStep(
    'random_conv', 70, apply_random_conv, params=('conv',), options=('random_conv',),
    sample=sample_random_conv))
