"""The multi-view clip sampler: indices, looping padding, one decode per video."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from harness.data import views
from harness.data.augment import AugmentViews
from harness.data.views import SampleViews, ViewSpec, sample_start, sample_view_indices, view_indices


def test_view_indices_follow_stride():
    spec = ViewSpec(frames=4, stride=3)
    assert view_indices(100, spec, start=10).tolist() == [10, 13, 16, 19]
    assert spec.span == 10


def test_short_video_is_looped():
    # 10 frames, 8 frames every 2: 0 2 4 6 8 then the sequence repeats
    assert view_indices(10, ViewSpec(frames=8, stride=2), start=0).tolist() == \
        [0, 2, 4, 6, 8, 0, 2, 4]
    assert view_indices(3, ViewSpec(frames=5, stride=1), start=0).tolist() == [0, 1, 2, 0, 1]


def test_start_keeps_window_inside_video():
    rng = np.random.default_rng(0)
    starts = {sample_start(20, 11, rng) for _ in range(500)}
    assert starts == set(range(10))  # 0..9: a window of 11 frames fits exactly
    assert sample_start(5, 11, rng) == 0


def test_shared_start_places_narrow_at_broad_start():
    rng = np.random.default_rng(1)
    specs = {'narrow': [ViewSpec(frames=4, stride=2)], 'broad': [ViewSpec(frames=8, stride=4)]}
    for _ in range(50):
        idx = sample_view_indices(60, specs, rng)
        assert idx['narrow'][0][0] == idx['broad'][0][0]
        assert idx['narrow'][0][-1] < 60  # the narrow view fits; the broad one may loop
        start = idx['narrow'][0][0]
        assert idx['broad'][0].tolist() == [(start + 4 * i) % 60 for i in range(8)]


def test_shared_start_on_a_video_shorter_than_the_broad_view_covers_it_all():
    """BraVe's official sampler: the narrow start is uniform over [0, len - narrow span] (the
    narrow view always fits), the broad view starts at the same frame and loops. A 40-frame
    video, narrow 4 frames every 2 (span 7), broad 16 frames every 4 (span 61 > 40)."""
    rng = np.random.default_rng(0)
    specs = {'narrow': [ViewSpec(frames=4, stride=2)], 'broad': [ViewSpec(frames=16, stride=4)]}
    starts = []
    for _ in range(2000):
        idx = sample_view_indices(40, specs, rng)
        start = int(idx['narrow'][0][0])
        starts.append(start)
        assert idx['narrow'][0].tolist() == [start, start + 2, start + 4, start + 6]
        assert idx['broad'][0][0] == start
        # 16 frames every 4 from the start, looped: frame start + 4 i of the repeated video
        assert idx['broad'][0].tolist() == [(start + 4 * i) % 40 for i in range(16)]
    assert set(starts) == set(range(34))  # 0..33: every start where the narrow view fits
    # uniform: each of the 34 starts about 2000 / 34 = 59 times
    assert min(np.bincount(starts)) > 30


def test_shared_start_on_a_video_shorter_than_every_view_starts_at_zero():
    specs = {'narrow': [ViewSpec(frames=4, stride=2)], 'broad': [ViewSpec(frames=8, stride=4)]}
    idx = sample_view_indices(5, specs, np.random.default_rng(0))
    assert idx['narrow'][0].tolist() == [0, 2, 4, 1]
    assert idx['broad'][0].tolist() == [0, 4, 3, 2, 1, 0, 4, 3]


def test_shared_start_with_equal_views_keeps_them_inside_the_video():
    rng = np.random.default_rng(2)
    specs = {'a': [ViewSpec(frames=4, stride=2)], 'b': [ViewSpec(frames=4, stride=2)]}
    starts = {int(sample_view_indices(12, specs, rng)['a'][0][0]) for _ in range(300)}
    assert starts == set(range(6))  # span 7 in 12 frames: starts 0..5


def test_placement_is_validated():
    with pytest.raises(ValueError, match='placement'):
        sample_view_indices(10, {'a': [ViewSpec(frames=2)]}, np.random.default_rng(0), 'x')


class FakeReader:
    def __init__(self, frames: int, size: int = 24):
        self.video = np.random.default_rng(0).integers(0, 255, (frames, size, size, 3),
                                                       dtype=np.uint8)

    def __len__(self):
        return len(self.video)


def test_one_open_and_one_decode_per_sample(monkeypatch):
    opened, decoded = [], []
    reader = FakeReader(20)

    def fake_open(path):
        opened.append(path)
        return reader

    def fake_read(r, indices):
        decoded.append(list(indices))
        return r.video[list(indices)]

    monkeypatch.setattr(views, 'open_video', fake_open)
    monkeypatch.setattr(views, 'read_frames', fake_read)
    transform = SampleViews(views=dict(
        narrow=dict(frames=4, stride=2, size=16),
        broad=[dict(frames=8, stride=4, size=12), dict(frames=8, stride=4, size=12)]))
    out = transform({'filename': 'v.avi'})
    assert opened == ['v.avi'] and len(decoded) == 1
    assert len(decoded[0]) == len(set(decoded[0]))  # each frame decoded once
    narrow, broad = out['inputs']['narrow'], out['inputs']['broad']
    # the worker hands on uint8 frames at the intermediate size (8/7 of the view) ...
    assert narrow['video'].dtype == torch.uint8 and narrow['video'].shape == (3, 4, 18, 18)
    assert [v['video'].shape for v in broad] == [(3, 8, 14, 14)] * 2
    # ... and each view's own augmentation, which the device applies
    assert narrow['augment']['size'] == 16 and broad[0]['augment']['size'] == 12
    assert not torch.equal(broad[0]['augment']['box'], broad[1]['augment']['box'])
    batch = AugmentViews()(default_collate([out, out]))['inputs']
    assert batch['narrow'].shape == (2, 3, 4, 16, 16) and batch['narrow'].dtype == torch.float32
    assert [v.shape for v in batch['broad']] == [(2, 3, 8, 12, 12)] * 2
