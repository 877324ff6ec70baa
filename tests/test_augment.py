"""Device-side clip augmentation: parameters drawn as torchvision draws them, each batched step
equal to torchvision's function applied to one clip at a time, and the registry of steps that
plugins extend (their own steps are tested in their plugins)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from harness.data import augment, augment_steps
from harness.data.augment import AugmentViews, augment_clips, on_clips, sample_augment
from harness.data.augment_steps import AugmentOptionError, AugmentStep, register_augment_step
from harness.errors import ConfigError
from harness.testing import draw_augment as draw
from harness.testing import stack_augment as stack


def reference_areas(count, height, width):
    rng = np.random.default_rng(0)
    areas = []
    for _ in range(count):
        for _ in range(10):
            area = rng.uniform(0.3, 1.0) * height * width
            ratio = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
            w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if 0 < w <= width and 0 < h <= height:
                areas.append(h * w / (height * width))
                break
        else:
            areas.append(1.0)  # 4:3 lies within the ratio range: the whole frame
    return np.array(areas)


def test_parameter_statistics_match_the_augmentation_options():
    p = stack(draw(4000, blur=0.5))
    top, left, h, w = p['box'].unbind(1)
    area, aspect = h * w, (w * 320) / (h * 240)  # aspect in the original video's pixels
    assert area.min() >= 0.3 - 5e-3 and area.max() <= 1.0  # boxes are whole pixels
    assert aspect.min() >= 0.5 - 0.02 and aspect.max() <= 2.0 + 0.02
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 1).all() and (left + w <= 1).all()
    # the documented RandomResizedCrop draw: area ~ U(0.3, 1), log-ratio ~ U(log 0.5, log 2),
    # redrawn (up to 10 times) until the box fits the frame
    expected = reference_areas(4000, 240, 320)
    for q in (0.1, 0.5, 0.9):
        assert area.quantile(q).item() == pytest.approx(np.quantile(expected, q), abs=0.03)
    assert p['flip'].float().mean() == pytest.approx(0.5, abs=0.03)
    coloured = (p['jitter'] != torch.tensor([1.0, 1.0, 1.0, 0.0])).any(1)
    assert coloured.float().mean() == pytest.approx(0.8, abs=0.03)
    b, c, s, hue = p['jitter'][coloured].unbind(1)
    assert b.min() >= 1 - 32 / 255 and b.max() <= 1 + 32 / 255
    assert c.min() >= 0.6 and c.max() <= 1.4 and s.min() >= 0.6 and s.max() <= 1.4
    assert hue.abs().max() <= 0.2 and hue.mean().abs() < 0.01
    assert (p['order'].sort(1).values == torch.arange(4)).all()  # each order a permutation
    first = p['order'][coloured][:, 0]
    assert torch.bincount(first, minlength=4).min() > 0.2 * coloured.sum()  # orders vary
    assert p['gray'].float().mean() == pytest.approx(0.2, abs=0.03)
    blurred = p['blur_sigma'] > 0
    assert blurred.float().mean() == pytest.approx(0.5, abs=0.03)
    assert p['blur_sigma'][blurred].min() >= 0.1 and p['blur_sigma'][blurred].max() <= 2.0
    assert p['blur_sigma'][blurred].mean() == pytest.approx(1.05, abs=0.05)


def test_switched_off_steps_draw_identity_parameters():
    p = stack(draw(50, flip=0, color=0, grayscale=0))
    assert not p['flip'].any() and not p['gray'].any()
    assert (p['jitter'] == torch.tensor([1.0, 1.0, 1.0, 0.0])).all()
    assert 'blur_sigma' not in p and 'solarize' not in p


def test_jitter_strengths_set_the_factor_ranges_and_solarize_its_share():
    """SimCLR's strong jitter (0.8, 0.8, 0.8, 0.2); BYOL's second view solarizes 20%."""
    p = stack(draw(3000, color=1.0, jitter=(0.8, 0.8, 0.8, 0.2), solarize=0.2))
    b, c, s, hue = p['jitter'].unbind(1)
    for factor in (b, c, s):
        assert factor.min() >= 0.2 and factor.max() <= 1.8
        assert factor.min() < 0.25 and factor.max() > 1.75 and factor.mean() == pytest.approx(
            1.0, abs=0.03)
    assert hue.abs().max() <= 0.2 and hue.abs().max() > 0.19
    assert p['solarize'].float().mean() == pytest.approx(0.2, abs=0.03)
    off = stack(draw(200, color=1.0, jitter=(0.4, 0.4, 0.0, 0.1)))
    assert (off['jitter'][:, 2] == 1.0).all()  # saturation switched off: the identity
    assert off['jitter'][:, 3].abs().max() <= 0.1 and off['jitter'][:, 0].min() >= 0.6


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="unknown augment option.*'colour'|colour"):
        sample_augment(10, 10, 8, {'colour': 0.5})
    # (plugins' options, e.g. a step between the crop and the flip, may come in between)
    with pytest.raises(ConfigError, match=r'known: scale, ratio, (.*, )?flip, color, '
                                          r'.*custom_imports'):
        sample_augment(10, 10, 8, {'colour': 0.5})


def test_core_steps_run_in_their_documented_order():
    # the core's own steps (plugins' steps imported by other tests may sit between them)
    core = [step.name for step in augment_steps.ordered_steps()
            if step.apply.__module__ == augment.__name__]
    assert core == ['crop', 'flip', 'jitter', 'grayscale', 'blur', 'solarize', 'normalise']
    assert augment_steps.NORMALISE_POSITION == 100


def reference(frames, params, kernel):
    """One clip after the crop, with torchvision's functions: [T, 3, S, S] float in [0, 1]."""
    if params['flip']:
        frames = TF.horizontal_flip(frames)
    adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    if not (params['jitter'] == torch.tensor([1.0, 1.0, 1.0, 0.0])).all():
        for op in params['order'].tolist():
            frames = adjust[op](frames, float(params['jitter'][op]))
    if params['gray']:
        frames = TF.rgb_to_grayscale(frames, num_output_channels=3)
    if params['blur_sigma'] > 0:
        sigma = float(params['blur_sigma'])
        frames = TF.gaussian_blur(frames, [kernel, kernel], [sigma, sigma])
    if params['solarize']:
        frames = TF.solarize(frames, augment.SOLARIZE_THRESHOLD)
    return TF.normalize(frames, list(augment.IMAGENET_MEAN), list(augment.IMAGENET_STD))


def test_batched_steps_equal_torchvision_per_clip():
    torch.manual_seed(1)
    size = 24
    params = draw(6, height=30, width=40, size=size, color=1.0, grayscale=0.3, blur=0.7,
                  solarize=0.5)
    assert 0 < sum(bool(p['solarize']) for p in params) < 6
    batch = stack(params)
    video = torch.randint(0, 256, (6, 3, 5, 28, 28), dtype=torch.uint8)
    out = augment_clips(video, batch)
    assert out.shape == (6, 3, 5, size, size)
    frames = video.transpose(1, 2).float() / 255
    cropped = augment.crop_resize(frames, batch['box'], size)
    for i, p in enumerate(params):
        expected = reference(cropped[i], p, augment.blur_kernel_size(size))
        assert torch.allclose(out[i].transpose(0, 1), expected, atol=1e-4), i


def test_crop_resize_matches_torchvision_resized_crop():
    # a smooth image: bilinear sampling of the box as torchvision's resized_crop does
    y, x = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 40), indexing='ij')
    image = torch.stack([x, y, x * y]).expand(2, 3, 40, 40)  # [T, 3, H, W]
    box = torch.tensor([[0.25, 0.5, 0.5, 0.25]])  # top 10, left 20, height 20, width 10
    out = augment.crop_resize(image.unsqueeze(0), box, 16)[0]
    expected = TF.resized_crop(image, 10, 20, 20, 10, [16, 16], antialias=True)
    assert (out - expected).abs().max() < 0.01


@pytest.mark.parametrize('sampling_ratio', [-1, 1, 2])
def test_resize_boxes_equals_roi_align(sampling_ratio):
    # boxes inside, across the border (samples clamped or zero beyond it), shrinking (several
    # samples averaged per output pixel) and enlarging
    from torchvision.ops import roi_align
    torch.manual_seed(3)
    images = torch.rand(5, 4, 23, 31)
    boxes = torch.tensor([[0.0, 0.0, 31.0, 23.0], [3.2, 1.7, 29.5, 20.1], [-4.0, -2.5, 12.0, 9.0],
                          [20.0, 15.0, 36.0, 27.5], [7.5, 4.0, 9.0, 6.5]])
    for size in [(11, 13), (40, 9)]:
        out = augment.resize_boxes(images, boxes, size, sampling_ratio)
        rois = torch.cat([torch.arange(5.0).view(-1, 1), boxes], dim=1)
        expected = roi_align(images, rois, size, 1.0, sampling_ratio, aligned=True)
        assert out.shape == expected.shape
        assert (out - expected).abs().max() < 1e-5, size


def test_crop_resize_returns_whole_boxes_at_their_size_as_they_are():
    frames = torch.rand(2, 3, 3, 12, 12)
    whole = torch.tensor([augment.WHOLE_BOX] * 2)
    assert augment.crop_resize(frames, whole, 12) is frames
    # the identity it stands for
    inner = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.5]])
    assert torch.allclose(augment.crop_resize(frames, inner, 12)[0], frames[0], atol=1e-6)
    assert augment.crop_resize(frames, whole, 6).shape == (2, 3, 3, 6, 6)


def test_hue_matches_torchvision():
    torch.manual_seed(2)
    frames = torch.rand(3, 2, 3, 8, 8)
    factors = torch.tensor([-0.2, 0.05, 0.17])
    out = augment.adjust_hue(frames, factors)
    for i, f in enumerate(factors.tolist()):
        assert torch.allclose(out[i], TF.adjust_hue(frames[i], f), atol=1e-5)


def test_preprocessor_augments_clips_and_moves_the_rest():
    params = draw(2, height=20, width=20, size=8)
    clip = {'video': torch.randint(0, 256, (2, 3, 4, 10, 10), dtype=torch.uint8),
            'augment': stack(params)}
    clip['augment']['size'] = torch.tensor([8, 8])  # as default_collate leaves it
    data = {'inputs': {'view': clip, 'labels': torch.tensor([1, 2]),
                       'views': [dict(clip), dict(clip)]}}
    out = AugmentViews()(data, True)
    assert out['inputs']['view'].shape == (2, 3, 4, 8, 8)
    assert [v.shape for v in out['inputs']['views']] == [(2, 3, 4, 8, 8)] * 2
    assert torch.equal(out['inputs']['labels'], torch.tensor([1, 2]))


def halve_on_clips(frames, params):
    return on_clips(frames, params['halve'], lambda x: x / 2)


def sample_halve(options, height, width):
    return {'halve': torch.tensor(augment.chance(options['halve']))} if 'halve' in options else {}


@pytest.fixture
def registry(monkeypatch):
    """The step registry, restored after the test."""
    monkeypatch.setattr(augment_steps, 'AUGMENT_STEPS', dict(augment_steps.AUGMENT_STEPS))
    return augment_steps.AUGMENT_STEPS


def test_a_registered_step_draws_its_option_and_runs_at_its_position(registry):
    """A step at 65 halves colour values between solarize (60) and normalisation (100)."""
    register_augment_step(AugmentStep('halve', 65, halve_on_clips, params=('halve',),
                                      options=('halve',), sample=sample_halve))
    params = draw(8, height=20, width=20, size=8, halve=0.5, solarize=0.5)
    assert list(params[0])[-3:] == ['solarize', 'halve', 'size']  # drawn in device order
    halved = torch.stack([p['halve'] for p in params])
    assert 0 < int(halved.sum()) < 8
    video = torch.randint(0, 256, (8, 3, 2, 10, 10), dtype=torch.uint8)
    out = augment_clips(video, stack(params))
    plain = augment_clips(video, {k: v for k, v in stack(params).items() if k != 'halve'})
    mean = torch.tensor(augment.IMAGENET_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(augment.IMAGENET_STD).view(3, 1, 1, 1)
    expected = torch.where(halved.view(8, 1, 1, 1, 1), ((plain * std + mean) / 2 - mean) / std,
                           plain)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.equal(out[~halved], plain[~halved])


def test_registering_is_idempotent_and_refuses_clashes(registry):
    step = AugmentStep('halve', 65, halve_on_clips, params=('halve',), options=('halve',),
                       sample=sample_halve)
    assert register_augment_step(step) is step
    assert register_augment_step(AugmentStep('halve', 65, halve_on_clips, params=('halve',),
                                             options=('halve',), sample=sample_halve)) is step
    with pytest.raises(ValueError, match="'halve' is already registered"):
        register_augment_step(AugmentStep('halve', 66, halve_on_clips))
    with pytest.raises(ValueError, match="takes the position 60 of step 'solarize'"):
        register_augment_step(AugmentStep('other', 60, halve_on_clips))
    with pytest.raises(ValueError, match="takes the option blur of step 'blur'"):
        register_augment_step(AugmentStep('other', 61, halve_on_clips, options=('blur',)))
    with pytest.raises(ValueError, match="takes the parameter gray of step 'grayscale'"):
        register_augment_step(AugmentStep('other', 61, halve_on_clips, params=('gray',)))
    assert 'other' not in registry


def test_parameters_of_no_registered_step_are_refused():
    params = stack(draw(2, height=10, width=10, size=8))
    video = torch.randint(0, 256, (2, 3, 2, 10, 10), dtype=torch.uint8)
    with pytest.raises(AugmentOptionError, match='parameter.*halve.*no registered'):
        augment_clips(video, {**params, 'halve': torch.tensor([True, False])})
