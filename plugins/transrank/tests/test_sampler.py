"""Temporal transformations (frame indices) and the shared transformation sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness_transrank import sampler as sampler_module, temporal
from harness_transrank.temporal import (periodic_indices, speed_indices, transform_indices,
                                   warp_indices)
from harness_transrank.sampler import SampleTransformedClips
from mmengine.dataset import default_collate

from harness.data.augment import AugmentViews
from harness_transrank.augment import stretch


def on_device(inputs: dict) -> dict:
    """One sampled video's inputs as the model sees them: a batch of one, augmented."""
    return AugmentViews()(default_collate([{'inputs': inputs}]))['inputs']


def test_speeds_step_through_the_video_and_loop():
    assert speed_indices(100, 4, 1.0, 10).tolist() == [10, 11, 12, 13]
    assert speed_indices(100, 4, 2.0, 10).tolist() == [10, 12, 14, 16]
    assert speed_indices(100, 4, 4.0, 0).tolist() == [0, 4, 8, 12]
    assert speed_indices(100, 4, 0.5, 0).tolist() == [0, 0, 1, 2]  # 0, 0.5, 1, 1.5 rounded (half to even)
    assert speed_indices(10, 5, 4.0, 0).tolist() == [0, 4, 8, 2, 6]  # looping padding


def test_periodic_goes_forward_then_backward():
    assert periodic_indices(100, 9, 3, 5).tolist() == [5, 6, 7, 6, 5, 6, 7, 6, 5]
    with pytest.raises(ValueError):
        periodic_indices(100, 8, 1, 0)


def test_warp_accumulates_skips():
    assert warp_indices(100, 4, np.array([1, 3, 2]), 5).tolist() == [5, 6, 9, 11]


def test_reverse_is_a_backwards_1x_clip():
    rng = np.random.default_rng(0)
    idx = transform_indices('reverse', 50, 6, rng)
    assert np.all(np.diff(idx) == -1)


def test_random_order_is_a_permutation_of_a_1x_clip():
    idx = transform_indices('random', 50, 8, np.random.default_rng(3))
    assert sorted(idx.tolist()) == list(range(idx.min(), idx.min() + 8))


def test_jittered_speeds_stay_within_bounds():
    rng = np.random.default_rng(1)
    for _ in range(200):
        idx = transform_indices('2x', 1000, 9, rng, jitter=(0.8, 1.2))
        step = (idx[-1] - idx[0]) / 8
        assert 2 * 0.8 - 0.07 <= step <= 2 * 1.2 + 0.07  # rounding moves the ends by <= 0.5
        assert idx[0] + 16 * 1.2 < 1000 or idx[0] == 0


def test_unknown_transformation_is_rejected():
    with pytest.raises(ValueError, match='unknown temporal transformation'):
        transform_indices('6x', 10, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match='distinct'):
        SampleTransformedClips(temporal=['1x', '1x'])


class FakeReader:
    def __init__(self, frames: int):
        self.video = np.random.default_rng(0).integers(0, 255, (frames, 20, 20, 3),
                                                       dtype=np.uint8)

    def __len__(self):
        return len(self.video)


def test_sampler_decodes_once_and_labels_clips(monkeypatch):
    opened, decoded = [], []
    reader = FakeReader(40)
    monkeypatch.setattr(sampler_module, 'open_video', lambda path: opened.append(path) or reader)
    monkeypatch.setattr('harness.data.views.read_frames',
                        lambda r, idx: decoded.append(list(idx)) or r.video[list(idx)])
    sampler = SampleTransformedClips(temporal=['1x', '2x', 'reverse'], frames=4, size=16,
                                     rotation=True)
    out = sampler({'filename': 'v.avi'})['inputs']
    assert opened == ['v.avi'] and len(decoded) == 1
    assert len(decoded[0]) == len(set(decoded[0]))
    assert out['clips']['video'].shape == (3, 3, 4, 18, 18)  # uint8 at 8/7 of the size
    assert on_device(out)['clips'].shape == (1, 3, 3, 4, 16, 16)
    assert out['temporal'].tolist() == [0, 1, 2]
    assert len(set(out['rotation'].tolist())) == 3 and out['rotation'].max() < 4


def test_rotation_turns_each_clip_by_its_label(monkeypatch):
    frame = np.zeros((10, 8, 8, 3), dtype=np.uint8)
    frame[:, 0, 0] = 255  # a bright top-left corner
    reader = FakeReader(10)
    reader.video = frame
    monkeypatch.setattr(sampler_module, 'open_video', lambda path: reader)
    monkeypatch.setattr('harness.data.views.read_frames', lambda r, idx: r.video[list(idx)])
    sampler = SampleTransformedClips(temporal=['1x', '2x', '4x'], frames=2, size=8,
                                     decode_size=8, rotation=True,
                                     augment=dict(scale=(1.0, 1.0), ratio=(1, 1), flip=0,
                                                  color=0, grayscale=0))
    out = on_device(sampler({'filename': 'v.avi'})['inputs'])
    corners = {0: (0, 0), 1: (7, 0), 2: (7, 7), 3: (0, 7)}  # rot90 counter-clockwise
    for clip, turns in zip(out['clips'][0], out['rotation'][0].tolist()):
        brightest = divmod(int(clip[0, 0].argmax()), 8)
        assert brightest == corners[turns]


def test_temporal_table_covers_the_issue_set():
    assert {'1x', '2x', '4x', 'reverse', 'periodic', 'random', 'warp'} <= set(temporal.TEMPORAL)
    assert torch.is_tensor(SampleTransformedClips(['1x', '2x']).random_inputs(2)['clips'])


def test_classification_baselines_sample_a_subset_of_transformations(monkeypatch):
    reader = FakeReader(60)
    monkeypatch.setattr(sampler_module, 'open_video', lambda path: reader)
    monkeypatch.setattr('harness.data.views.read_frames', lambda r, idx: r.video[list(idx)])
    sampler = SampleTransformedClips(temporal=['1x', '2x', '4x', 'periodic', 'warp'], frames=4,
                                     size=8, clips_per_video=2)
    seen = set()
    for _ in range(30):
        out = sampler({'filename': 'v.avi'})['inputs']
        labels = out['temporal'].tolist()
        assert out['clips']['video'].shape[0] == 2 and len(set(labels)) == 2
        seen.update(labels)
    assert seen == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match='clips_per_video'):
        SampleTransformedClips(temporal=['1x', '2x'], clips_per_video=3)


def test_stretch_changes_the_aspect_ratio_at_the_same_size():
    clip = torch.zeros(1, 1, 1, 8, 8)  # [N, T, C, H, W]
    clip[..., :, 3:5] = 1.0  # a vertical bar 2 px wide
    wide = stretch(clip, torch.tensor([2.0]))
    assert wide.shape == clip.shape
    assert int((wide[0, 0, 0, 0] > 0.5).sum()) == 4  # the bar is twice as wide
    tall = stretch(clip.transpose(-1, -2), torch.tensor([0.5]))
    assert int((tall[0, 0, 0, :, 0] > 0.5).sum()) == 4  # a horizontal bar twice as tall
    assert torch.equal(stretch(clip, torch.tensor([1.0])), clip)


def test_sampler_gives_each_clip_a_distinct_aspect_ratio(monkeypatch):
    reader = FakeReader(40)
    monkeypatch.setattr(sampler_module, 'open_video', lambda path: reader)
    monkeypatch.setattr('harness.data.views.read_frames', lambda r, idx: r.video[list(idx)])
    sampler = SampleTransformedClips(temporal=['1x', '2x', '4x'], frames=4, size=16,
                                     aspect=(0.5, 1.0, 2.0))
    out = sampler({'filename': 'v.avi'})['inputs']
    assert sorted(out['aspect'].tolist()) == [0, 1, 2]
    assert sorted(out['clips']['augment']['stretch'].tolist()) == [0.5, 1.0, 2.0]
    assert on_device(out)['clips'].shape == (1, 3, 3, 4, 16, 16)
    assert sampler.random_inputs(2)['aspect'].shape == (2, 3)
    with pytest.raises(ValueError, match='aspect ratios'):
        SampleTransformedClips(temporal=['1x', '2x', '4x'], aspect=(0.5, 2.0))
