"""BraVe's random convolution step: its kernels drawn as the paper draws them, its place in the
device order, and each convolved clip equal to torch's conv2d on that clip alone."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from harness.data import augment
from harness.data.augment import augment_clips
from harness.data.augment_steps import ordered_steps
from harness.testing import draw_augment as draw
from harness.testing import stack_augment as stack
from harness_brave.augment import MAX_CONV_KERNEL


def test_random_conv_runs_after_solarize_and_before_normalisation():
    names = [step.name for step in ordered_steps()]
    assert names[names.index('solarize') + 1:names.index('normalise') + 1] == \
        ['random_conv', 'normalise']


def test_kernel_statistics_match_the_option():
    p = stack(draw(4000, blur=0.5, random_conv=0.5))
    convolved = p['conv'].flatten(1).any(1)  # an all-zero kernel: no convolution
    assert convolved.float().mean() == pytest.approx(0.5, abs=0.03)
    # kernel sizes 1, 3, ..., 11 equally often, He-initialised
    kernels = p['conv'][convolved]
    assert kernels.shape[1:] == (3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)
    sizes = torch.tensor([int((k.abs().sum((0, 1, 2)) > 0).sum()) for k in kernels])
    assert set(sizes.tolist()) == {1, 3, 5, 7, 9, 11}
    assert np.bincount(sizes.numpy())[1::2].min() > 0.1 * len(sizes)
    ones = kernels[sizes == 1][:, :, :, 5, 5]
    assert ones.std().item() == pytest.approx(math.sqrt(2 / 3), rel=0.1)


def test_switched_off_draws_no_kernel():
    p = stack(draw(50, flip=0, color=0, grayscale=0))
    assert 'conv' not in p
    assert 'conv' not in stack(draw(5, random_conv=0.0))


def reference_conv(frames, weight):
    """One clip [T, 3, S, S] convolved with its kernel cropped to the used k x k, then
    restandardised to the clip's mean and std."""
    used = weight.abs().sum((0, 1)) > 0
    k = int(used.any(0).sum())
    at = (weight.shape[-1] - k) // 2
    weight = weight[:, :, at:at + k, at:at + k]
    out = F.conv2d(frames, weight, padding=k // 2)
    out = (out - out.mean()) / (out.std() + 1e-6)
    return out * frames.std() + frames.mean()


def test_batched_random_conv_equals_conv2d_per_clip_in_the_pipeline():
    """The clips with a kernel are, before normalisation, the same clips without the step
    convolved one by one; the others are left as they are."""
    torch.manual_seed(1)
    size = 24
    params = draw(6, height=30, width=40, size=size, color=1.0, grayscale=0.3, blur=0.7,
                  solarize=0.5, random_conv=0.5)
    batch = stack(params)
    convolved = batch['conv'].flatten(1).any(1)
    assert 0 < int(convolved.sum()) < 6
    video = torch.randint(0, 256, (6, 3, 5, 28, 28), dtype=torch.uint8)
    out = augment_clips(video, batch)
    plain = augment_clips(video, {k: v for k, v in batch.items() if k != 'conv'})
    mean = torch.tensor(augment.IMAGENET_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(augment.IMAGENET_STD).view(3, 1, 1, 1)
    for i in range(6):
        if not convolved[i]:
            assert torch.equal(out[i], plain[i]), i
            continue
        before = (plain[i] * std + mean).transpose(0, 1)  # [T, 3, S, S] in [0, 1]
        expected = (reference_conv(before, batch['conv'][i]).transpose(0, 1) - mean) / std
        assert torch.allclose(out[i], expected, atol=1e-4), i
