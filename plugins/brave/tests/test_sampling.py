"""BraVe's view placement as its shipped configs set it up, against the official sampler
(google-deepmind/brave: brave/models/brave/brave.py ``_brave_random_view_sampler``): the narrow
start is uniform over ``[0, max(len, narrow span) - narrow span]``, the broad view starts at the
same frame, and the video is looped to cover the broad view."""
from __future__ import annotations

import numpy as np
import pytest

from harness.api import packaged_configs, resolve_config
from harness.config import load_pretrain_config
from harness.data.views import SampleViews, sample_view_indices


def sampler(name: str) -> SampleViews:
    cfg = load_pretrain_config(resolve_config(packaged_configs('harness_brave', 'brave')[name]))
    step = next(s for s in cfg.train_dataloader.dataset.pipeline if s.type == 'SampleViews')
    return SampleViews(views=step.views, placement=step.placement)


@pytest.mark.parametrize('name,num_frames', [('paper', 250), ('demo', 48)])
def test_narrow_start_covers_a_video_shorter_than_the_broad_view(name, num_frames):
    """paper: a 10-s Kinetics clip at 25 fps (250 frames) against a broad span of 253; demo: the
    48-frame demo videos against a broad span of 61."""
    views, placement = sampler(name).views, sampler(name).placement
    narrow, broad = views['narrow'][0], views['broad'][0]
    assert broad.span > num_frames > narrow.span
    rng = np.random.default_rng(0)
    starts = []
    for _ in range(6000 if name == 'paper' else 1500):
        idx = sample_view_indices(num_frames, views, rng, placement)
        start = int(idx['narrow'][0][0])
        starts.append(start)
        assert idx['narrow'][0].tolist() == list(range(start, start + narrow.span, narrow.stride))
        assert idx['broad'][0].tolist() == [(start + i * broad.stride) % num_frames
                                            for i in range(broad.frames)]
    # every start where the narrow view fits: paper 0..219 (span 31), demo 0..33 (span 15)
    assert set(starts) == set(range(num_frames - narrow.span + 1))
