"""SampleMultitask on small synthetic videos: one open per sample, every task's example shaped
as documented, moving pixels where the shape moves, and batches the model trains on whose
shapes random_inputs() copies."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from harness.data import synth
from harness.data.augment import AugmentViews
from harness_multitask import sampling
from harness_multitask.colour import ab_bins
from harness_multitask.sampling import SampleMultitask, fit_short_side, frame_indices

SPECS = dict(relative_position=dict(patch=12, gap=4, jitter=1),
             colorization=dict(size=32, target=8),
             exemplar=dict(crop=32, view=dict(size=24, decode_size=28,
                                              augment=dict(color=1.0, blur=0.5))),
             motion=dict(size=32, target=8, gap=1, threshold=1.0))


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """A 12-frame 64 x 64 clip of a square moving sideways (BGR frames, as OpenCV writes)."""
    clip = synth.render_clip('square', 'horizontal', frames=12, size=64, speed=1.0,
                             rng=np.random.default_rng(0))
    return str(synth.write_video(tmp_path_factory.mktemp('mt') / 'square.avi', clip))


def test_each_task_example_and_one_open_per_sample(video, monkeypatch):
    opened = []
    real = sampling.open_video
    monkeypatch.setattr(sampling, 'open_video', lambda path: opened.append(path) or real(path))
    sampler = SampleMultitask(frame_size=48, **SPECS)
    torch.manual_seed(0)
    labels, moving = set(), []
    for _ in range(12):
        inputs = sampler({'filename': video})['inputs']
        assert set(inputs) == set(sampling.TASKS)
        rp = inputs['relative_position']
        assert rp['patches'].shape == (2, 3, 12, 12) and rp['patches'].dtype == torch.uint8
        labels.add(int(rp['label']))
        colour = inputs['colorization']
        assert colour['lightness'].shape == (1, 32, 32) and colour['lightness'].dtype == \
            torch.uint8
        assert colour['bins'].shape == (8, 8)
        assert ((colour['bins'] >= 0) & (colour['bins'] < len(ab_bins(10.0)))).all()
        views = inputs['exemplar']
        assert len(views) == 2 and all(v['image'].shape == (3, 28, 28) for v in views)
        assert views[0]['augment']['size'] == 24
        motion = inputs['motion']
        assert motion['frame'].shape == (3, 32, 32) and motion['mask'].shape == (8, 8)
        assert motion['valid'].all() and set(motion['mask'].unique().tolist()) <= {0.0, 1.0}
        moving.append(float(motion['mask'].mean()))
    assert len(opened) == 12
    assert len(labels) > 3  # the neighbour is drawn per sample
    assert max(moving) > 0 and min(moving) < 1  # the square moves, the background does not


def test_only_the_configured_tasks_are_sampled_and_specs_are_checked(video):
    sampler = SampleMultitask(frame_size=48, motion=SPECS['motion'])
    assert sampler.tasks == ('motion',)
    assert set(sampler({'filename': video})['inputs']) == {'motion'}
    with pytest.raises(ValueError, match='unknown task'):
        SampleMultitask(frame_size=48, jigsaw=dict())
    with pytest.raises(ValueError, match='at least one'):
        SampleMultitask(frame_size=48)
    with pytest.raises(ValueError, match='colorization needs 64 x 64'):
        SampleMultitask(frame_size=48, colorization=dict(size=64, target=16))


def test_frame_indices_and_resizing():
    rng = np.random.default_rng(0)
    for _ in range(20):
        first, later = frame_indices(5, 2, rng)
        assert 0 <= first <= 2 and later == first + 2
    assert frame_indices(1, 1, rng) == [0]  # one frame: no later frame
    assert frame_indices(2, 5, rng) == [0, 1]  # the gap shrinks to fit
    frame = np.zeros((240, 320, 3), np.uint8)
    assert fit_short_side(frame, 60).shape == (60, 80, 3)
    assert fit_short_side(frame, 480).shape == (480, 640, 3)
    assert fit_short_side(frame, None) is frame


def test_a_one_frame_video_has_no_valid_motion_targets(tmp_path):
    clip = synth.render_clip('circle', 'vertical', frames=1, size=64, speed=1.0,
                             rng=np.random.default_rng(1))
    path = str(synth.write_video(tmp_path / 'still.avi', clip))
    inputs = SampleMultitask(frame_size=48, motion=SPECS['motion'])({'filename': path})
    assert not inputs['inputs']['motion']['valid'].any()


def test_collated_batch_matches_random_inputs_and_trains(video):
    """Samples collated and preprocessed as mmengine does have the shapes random_inputs()
    gives, and the model's loss on them is finite."""
    import importlib

    from harness_multitask.model import MultiTask

    importlib.import_module('harness_backbones.image')  # registers the ResNets

    sampler = SampleMultitask(frame_size=48, **SPECS)
    torch.manual_seed(0)
    batch = default_collate([{'inputs': sampler({'filename': video})['inputs']}
                             for _ in range(3)])
    data = AugmentViews()(batch)['inputs']
    fake = sampler.random_inputs(3)

    def shapes(value):
        if isinstance(value, dict):
            return {key: shapes(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [shapes(item) for item in value]
        return (tuple(value.shape), value.dtype)

    assert shapes(data) == shapes(fake)
    model = MultiTask(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128, hidden_dim=16)
    losses = model(data)
    assert set(losses) == {'loss_relative_position', 'loss_colorization', 'loss_exemplar',
                           'loss_motion'}
    assert all(torch.isfinite(v) for v in losses.values())
