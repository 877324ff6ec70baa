"""BraVe's augmentation steps against the official code (google-deepmind/brave:
brave/datasets/augmentations.py, brave/models/brave/brave.py ``_transform_views``): the blur
right after the crop with zero padding, the random convolution's kernels drawn as TensorFlow's
He-normal draws them, its output not renormalised, both applied to every clip by the configs."""
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
from harness.api import packaged_configs, resolve_config
from harness.config import load_pretrain_config
from harness_brave.augment import (MAX_CONV_KERNEL, TRUNCATED_NORMAL_STD, blur_taps,
                                   random_conv_kernel, random_convolution, used_size,
                                   zero_padded_blur)


def test_random_conv_runs_after_solarize_and_before_normalisation():
    names = [step.name for step in ordered_steps()]
    assert names[names.index('solarize') + 1:names.index('normalise') + 1] == \
        ['random_conv', 'normalise']


def test_early_blur_runs_after_the_crop_and_before_flip_and_colour():
    names = [step.name for step in ordered_steps()]
    assert names[:4] == ['crop', 'early_blur', 'flip', 'jitter']


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
    # TensorFlow's he_normal: a normal truncated at 2 of its standard deviations, scaled so
    # that the truncated draws have standard deviation sqrt(2 / fan_in), fan_in = 3 k^2
    for k in (1, 3, 11):
        weights = kernels[sizes == k]
        at = (MAX_CONV_KERNEL - k) // 2
        weights = weights[:, :, :, at:at + k, at:at + k]
        bound = 2 * math.sqrt(2 / (3 * k * k)) / TRUNCATED_NORMAL_STD
        assert weights.abs().max().item() <= bound
        assert weights.abs().max().item() > 0.9 * bound  # truncated there, not earlier
        assert weights.std().item() == pytest.approx(math.sqrt(2 / (3 * k * k)), rel=0.1)


def test_switched_off_draws_no_kernel():
    p = stack(draw(50, flip=0, color=0, grayscale=0))
    assert 'conv' not in p
    assert 'conv' not in stack(draw(5, random_conv=0.0))


def reference_conv(frames, weight):
    """One clip [T, 3, S, S] convolved with its kernel cropped to the used k x k (zero padding,
    nothing else)."""
    used = weight.abs().sum((0, 1)) > 0
    k = int(used.any(0).sum())
    at = (weight.shape[-1] - k) // 2
    weight = weight[:, :, at:at + k, at:at + k]
    return F.conv2d(frames, weight, padding=k // 2)


def test_random_convolution_by_hand_is_not_renormalised():
    """One clip of one 3 x 3 frame; a 3 x 3 kernel (centred in the 11 x 11 one) whose output
    channel 0 is 2 x input channel 1 and channel 2 the input's channel 0 moved one pixel down
    and right (its top-left tap; zero padding fills the first row and column); channel 1 is 0.
    The official code keeps these values as they are."""
    x = torch.arange(27, dtype=torch.float32).view(1, 1, 3, 3, 3) / 26  # [N, T, C, H, W]
    kernel = torch.zeros(1, 3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)
    kernel[0, 0, 1, 5, 5] = 2.0
    kernel[0, 2, 0, 4, 4] = 1.0
    out = random_convolution(x, kernel)[0, 0]
    c0 = x[0, 0, 0]
    expected = torch.stack([2 * x[0, 0, 1], torch.zeros(3, 3),
                            torch.tensor([[0, 0, 0], [0, c0[0, 0], c0[0, 1]],
                                          [0, c0[1, 0], c0[1, 1]]])])
    assert torch.equal(out, expected)


def test_each_kernel_size_convolves_as_the_whole_zero_padded_kernel():
    torch.manual_seed(3)
    kernels, sizes = [], []
    while set(sizes) != {1, 3, 5, 7, 9, 11}:  # every size drawn at least once
        kernels.append(random_conv_kernel())
        used = kernels[-1].abs().sum((0, 1)) > 0
        sizes.append(int(used.any(0).sum()))
    kernels = torch.stack(kernels)
    assert used_size(kernels) == sizes
    lopsided = torch.zeros(2, 3, 3, MAX_CONV_KERNEL, MAX_CONV_KERNEL)
    lopsided[1, 0, 2, 4, 5] = 1.0  # one tap a row above the centre: the centred 3 x 3 holds it
    assert used_size(lopsided) == [1, 3]  # and an all-zero kernel is a 1 x 1 zero
    frames = torch.rand(len(kernels), 4, 3, 16, 16)
    out = random_convolution(frames, kernels)
    for clip, kernel, got in zip(frames, kernels, out):  # the 11 x 11 kernel, zeros and all
        expected = F.conv2d(clip, kernel, padding=MAX_CONV_KERNEL // 2)
        assert torch.allclose(got, expected, atol=1e-5)


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


def test_blur_taps_follow_the_official_kernel_size():
    # official: kernel_size = width // 10, then 2 * (kernel_size // 2) + 1 taps
    assert [blur_taps(s) for s in (224, 112, 32, 24, 9)] == [23, 11, 3, 3, 1]


def test_early_blur_by_hand_pads_with_zeros():
    """A constant clip blurred with 3 taps (30-pixel views) and sigma 1: the 1-D weights are
    g = (e^-1/2, 1, e^-1/2) / (1 + 2 e^-1/2); inside, the value stays; on an edge one tap falls
    on the zero padding (factor 1 - g0), in a corner two (factor (1 - g0)^2)."""
    frames = torch.full((1, 2, 3, 30, 30), 0.5)
    out = zero_padded_blur(frames, torch.tensor([1.0]), blur_taps(30))
    g0 = math.exp(-0.5) / (1 + 2 * math.exp(-0.5))
    assert torch.allclose(out[..., 1:-1, 1:-1], frames[..., 1:-1, 1:-1])
    assert torch.allclose(out[..., 0, 1:-1], torch.tensor(0.5 * (1 - g0)))
    assert torch.allclose(out[..., 1:-1, -1], torch.tensor(0.5 * (1 - g0)))
    assert torch.allclose(out[..., 0, 0], torch.tensor(0.5 * (1 - g0) ** 2))
    # one clip with sigma 0 (not blurred) in the pipeline step is left as it is
    params = {'early_blur_sigma': torch.tensor([1.0, 0.0]), 'size': 30}
    both = torch.rand(2, 2, 3, 30, 30)
    from harness_brave.augment import apply_early_blur
    blurred = apply_early_blur(both, params)
    assert torch.equal(blurred[1], both[1])
    assert torch.allclose(blurred[0], zero_padded_blur(both[:1], torch.tensor([1.0]), 3)[0])


def view_options(name: str) -> dict:
    cfg = load_pretrain_config(resolve_config(packaged_configs('harness_brave', 'brave')[name]))
    step = next(s for s in cfg.train_dataloader.dataset.pipeline if s.type == 'SampleViews')
    views = step.views
    return {'narrow': dict(views.narrow.augment), 'broad': dict(views.broad[0].augment),
            'sizes': (views.narrow.size, views.broad[0].size)}


@pytest.mark.parametrize('name', ['paper', 'demo'])
def test_the_configs_blur_every_clip_and_convolve_every_broad_clip(name):
    """Official: the blur and the random convolution have no probability."""
    options = view_options(name)
    narrow_size, broad_size = options['sizes']
    narrow = stack(draw(300, size=narrow_size, **options['narrow']))
    broad = stack(draw(300, size=broad_size, **options['broad']))
    for p in (narrow, broad):
        sigma = p['early_blur_sigma']
        assert sigma.min() >= 0.1 and sigma.max() <= 2.0  # every clip: sigma in [0.1, 2]
        assert sigma.mean().item() == pytest.approx(1.05, abs=0.1)  # uniform
        assert 'blur_sigma' not in p  # the core's blur (after the colour steps) is off
    assert 'conv' not in narrow
    assert bool(broad['conv'].flatten(1).any(1).all())  # every broad clip is convolved
