"""The quarter turns and the aspect stretch as augmentation steps: per clip, after the
normalisation, applied exactly when the sampler wrote their parameters."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from harness.data.augment import augment_clips, sample_augment
from harness.data.augment_steps import ordered_steps
from harness_transrank.augment import STRETCH, TURNS, rotate_quarters, stretch


def test_turns_then_stretch_run_after_the_normalisation():
    names = [step.name for step in ordered_steps()]
    assert names[names.index('normalise'):] == ['normalise', TURNS, STRETCH]


def test_quarter_turns_and_stretch_per_clip():
    torch.manual_seed(3)
    frames = torch.rand(4, 2, 3, 12, 12)
    turned = rotate_quarters(frames, torch.tensor([0, 1, 2, 3]))
    for k in range(4):
        assert torch.equal(turned[k], torch.rot90(frames[k], k, dims=(-2, -1)))
    ratios = torch.tensor([1.0, 2.0, 0.5, 1.5])
    stretched = stretch(frames, ratios)
    assert torch.equal(stretched[0], frames[0])
    # ratio 2: the central half of the width fills the frame (content twice as wide)
    centre = F.interpolate(frames[1][..., 3:9], size=(12, 12), mode='bilinear',
                           align_corners=False)
    assert (stretched[1] - centre)[..., 1:-1].abs().max() < 1e-5
    centre = F.interpolate(frames[2][..., 3:9, :], size=(12, 12), mode='bilinear',
                           align_corners=False)
    assert (stretched[2] - centre)[..., 1:-1, :].abs().max() < 1e-5


def test_the_pipeline_turns_and_stretches_the_normalised_clips():
    torch.manual_seed(4)
    params = [sample_augment(20, 20, 8, {}) for _ in range(4)]
    batch = {key: torch.stack([p[key] for p in params]) if key != 'size' else 8
             for key in params[0]}
    video = torch.randint(0, 256, (4, 3, 2, 10, 10), dtype=torch.uint8)
    plain = augment_clips(video, batch).transpose(1, 2)  # [N, T, 3, S, S]
    turns, ratios = torch.tensor([0, 1, 2, 3]), torch.tensor([1.0, 2.0, 0.5, 1.0])
    out = augment_clips(video, {**batch, TURNS: turns, STRETCH: ratios}).transpose(1, 2)
    assert torch.equal(out, stretch(rotate_quarters(plain, turns), ratios))
    assert torch.equal(augment_clips(video, {**batch, TURNS: turns}).transpose(1, 2),
                       rotate_quarters(plain, turns))
