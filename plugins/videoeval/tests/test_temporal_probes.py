"""The temporal probes: exact clip indices of the order / sync / motion samplers, balanced and
reproducible labels, and end-to-end evaluations on small videos, including one whose pixels
encode the frame index, so that the probe provably learns order and sync from features that
carry them (and stays at chance on features that do not)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.model import BaseModule
from torch import nn

from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo
from harness.errors import DataError, PluginError
from harness.evaluate import evaluate
from harness.registry import MODELS
from harness_videoeval import plugin
from harness_videoeval.temporal import (balanced_labels, clip_spec,
                                        order_min_frames, order_pair, pair_features, sync_pair,
                                        uniform_clips)

UCF101 = DatasetInfo('ucf101', 'UCF101', 'video', 'harness_videodata.ucf101')


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------- sampling


def test_balanced_labels_are_balanced_in_every_prefix_and_reproducible():
    labels = balanced_labels(20, 3, rng(1))
    assert labels.shape == (20,) and set(labels) == {0, 1, 2}
    for m in range(1, 21):
        counts = np.bincount(labels[:m], minlength=3)
        assert counts.max() - counts.min() <= 1, (m, counts)
    assert (balanced_labels(20, 3, rng(1)) == labels).all()
    assert (balanced_labels(20, 3, rng(2)) != labels).any()
    assert len(balanced_labels(0, 2, rng())) == 0


def test_order_pair_with_no_room_is_exact():
    spec = clip_spec(3, 2)  # span 5
    assert order_min_frames(spec, 1) == 11
    early, late = order_pair(11, spec, 1, 1, rng())
    assert early.tolist() == [0, 2, 4] and late.tolist() == [6, 8, 10]
    first, second = order_pair(11, spec, 1, 0, rng())
    assert first.tolist() == [6, 8, 10] and second.tolist() == [0, 2, 4]
    first, second = order_pair(10, spec, 0, 1, rng())  # gap 0: adjacent spans
    assert first.tolist() == [0, 2, 4] and second.tolist() == [5, 7, 9]


def test_order_pairs_never_overlap_keep_the_gap_and_cover_every_placement():
    spec = clip_spec(3, 2)
    seen = set()
    for seed in range(300):
        early, late = order_pair(13, spec, 1, 1, rng(seed))
        gap = late[0] - (early[0] + spec.span)
        assert gap >= 1 and late[-1] <= 12 and early[0] >= 0
        seen.add((int(early[0]), int(gap)))
    # gap in [1, 3], start in [0, 13 - 10 - gap]
    assert seen == {(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (0, 3)}
    with pytest.raises(ValueError, match='no two clips'):
        order_pair(10, spec, 1, 1, rng())
    with pytest.raises(ValueError, match='0 or 1'):
        order_pair(13, spec, 0, 2, rng())


def test_sync_offsets_are_minus_zero_plus_half_a_clip():
    spec = clip_spec(4, 1)  # span 4, h = 2; 8 frames = T + 2h: a single placement
    pairs = [sync_pair(8, spec, label, rng()) for label in (0, 1, 2)]
    assert [a.tolist() for a, _ in pairs] == [[2, 3, 4, 5]] * 3
    assert [b.tolist() for _, b in pairs] == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]


def test_sync_shifts_by_whole_sampled_frames_and_stays_inside_the_video():
    spec = clip_spec(3, 2)  # span 5, h = (3 // 2) * 2 = 2
    for seed in range(50):
        for label in (0, 1, 2):
            a, b = sync_pair(12, spec, label, rng(seed))
            assert a[0] >= 2 and a[-1] <= 9 and 0 <= b.min() and b.max() <= 11
            assert b[0] - a[0] == 2 * (label - 1)
        a, b = sync_pair(12, spec, 0, rng(seed))
        assert b[1:].tolist() == a[:-1].tolist()  # A's frames shifted by one sampled frame
        # A's placement does not depend on the label, so it cannot give the label away
        starts = {int(sync_pair(12, spec, label, rng(seed))[0][0]) for label in (0, 1, 2)}
        assert len(starts) == 1


def test_sync_in_a_short_video_starts_at_h_and_loops():
    spec = clip_spec(4, 1)
    a, b0 = sync_pair(5, spec, 0, rng())
    _, b2 = sync_pair(5, spec, 2, rng())
    assert a.tolist() == [2, 3, 4, 0] and b0.tolist() == [0, 1, 2, 3]
    assert b2.tolist() == [4, 0, 1, 2]


def test_uniform_clips_start_at_the_first_and_end_at_the_last_frame():
    spec = clip_spec(4, 1)
    clips = uniform_clips(20, spec, 3)
    assert [c.tolist() for c in clips] == [[0, 1, 2, 3], [8, 9, 10, 11], [16, 17, 18, 19]]
    assert [c.tolist() for c in uniform_clips(3, spec, 2)] == [[0, 1, 2, 0]] * 2


def test_sampling_is_reproducible_from_the_seed():
    spec = clip_spec(4, 2)

    def draw(seed):
        g = rng(seed)
        return [np.concatenate(order_pair(40, spec, 0, 1, g) + sync_pair(40, spec, 2, g))
                for _ in range(5)]

    assert all((x == y).all() for x, y in zip(draw(3), draw(3)))
    assert any((x != y).any() for x, y in zip(draw(3), draw(4)))


def test_pair_features_are_a_b_and_their_difference():
    f = torch.tensor([[[1.0, 2.0], [5.0, 3.0]]])
    assert pair_features(f).tolist() == [[1.0, 2.0, 5.0, 3.0, -4.0, -1.0]]


# ---------------------------------------------------------------------------- end to end


@MODELS.register_module(force=True)
class TemporalProbeNet(BaseModule):
    """One Conv3d: ``[N, 3, T, H, W]`` -> ``[N, 4, T, H/2, W/2]``."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv = nn.Conv3d(3, 4, 3, stride=(1, 2, 2), padding=1)

    def forward(self, x):
        return self.conv(x)


@MODELS.register_module(force=True)
class TemporalProbeClock(BaseModule):
    """The mean brightness of each frame: ``[N, 1, T]``; pooled, the clip's mean brightness,
    which is the mean frame index on the videos of :func:`clock_dataset`."""

    def forward(self, x):
        return x.mean(dim=(1, 3, 4)).unsqueeze(1)


@MODELS.register_module(force=True)
class TemporalProbeBlind(BaseModule):
    """The same feature for every clip: a probe on it cannot beat chance."""

    def forward(self, x):
        return torch.ones(len(x), 2, 1)


def protocol(name: str) -> ProtocolInfo:
    """The protocol as the videoeval plugin registers it."""
    found = []
    plugin.harness_register_evaluators(found.append)
    return next(e for e in found if e.name == 'temporal').protocol(name)


def make_request(name: str, root: Path, work_dir: Path, backbone: str = 'TemporalProbeNet',
            weights: Path | None = None, **options) -> EvalRequest:
    return EvalRequest(
        protocol=protocol(name),
        backbone=BackboneInfo(name=backbone, summary='test', modality='video',
                              cfg=dict(type=f'harness.{backbone}'), feat_dim=4),
        backbone_weights=weights, dataset=UCF101, data_root=root,
        work_dir=work_dir, split='1', seed=0, cfg_options=options)


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    from harness_videodata.ucf101 import generate_demo

    return generate_demo(tmp_path_factory.mktemp('ucf101-demo'), groups=4, clips_per_group=2,
                         frames=24, size=64)


def clock_video(video: int) -> str:
    """The path of clock video ``video`` under UCF-101/; even videos are class Tick, odd Tock."""
    cls = ('Tick', 'Tock')[video % 2]
    return f'{cls}/v_{cls}_g{video // 2 + 1:02d}_c01.avi'


def clock_rate(video: int) -> int:
    """Brightness steps per frame of clock video ``video``: 3 for every third video, else 6."""
    return 3 if video % 3 == 0 else 6


@pytest.fixture(scope='module')
def clock(tmp_path_factory) -> Path:
    """A UCF101 layout of 12 videos (8 train, 4 test) of 32 flat grey frames each, frame ``i``
    of brightness ``offset + rate * i`` with a per-video offset in [0, 30] and the video's
    :func:`clock_rate`."""
    from harness.data.synth import write_video

    root = tmp_path_factory.mktemp('clock')
    lists = root / 'ucfTrainTestlist'
    lists.mkdir()
    (lists / 'classInd.txt').write_text('1 Tick\n2 Tock\n')
    offsets = np.random.default_rng(0).integers(0, 31, size=12)
    train, test = [], []
    for v, offset in enumerate(offsets):
        rel = clock_video(v)
        values = offset + clock_rate(v) * np.arange(32)
        frames = np.broadcast_to(values[:, None, None, None], (32, 64, 64, 3)).astype(np.uint8)
        write_video(root / 'UCF-101' / rel, np.ascontiguousarray(frames))
        if v < 8:
            train.append(f'{rel} {v % 2 + 1}\n')
        else:
            test.append(f'{rel}\n')
    (lists / 'trainlist01.txt').write_text(''.join(train))
    (lists / 'testlist01.txt').write_text(''.join(test))
    return root


def check_result(result, clips: int) -> None:
    assert set(result.metrics) == {'accuracy'}
    assert 0.0 <= result.metrics['accuracy'] <= 100.0
    assert result.higher_is_better == {'accuracy': True}
    assert result.units == {'accuracy': '%'}
    assert result.splits == ['1'] and result.clips == clips and result.crops == 1
    assert len(result.config_sha256) == 64


def test_order_end_to_end(demo, tmp_path, capsys):
    result = evaluate(
        make_request('order', demo, tmp_path, frame_interval=1, pairs_per_video=2))
    check_result(result, clips=2)
    assert result.weights is None  # random init
    out = capsys.readouterr().out
    assert ('temporal order: 40 train samples from 20 videos, 40 test samples from '
            '20 videos') in out


def test_sync_end_to_end_with_pretrained_weights(demo, tmp_path):
    net = TemporalProbeNet()
    torch.save(net.state_dict(), tmp_path / 'backbone.pth')
    result = evaluate(
        make_request('sync', demo, tmp_path, weights=tmp_path / 'backbone.pth',
                     frame_interval=1, pairs_per_video=1))
    check_result(result, clips=2)
    assert result.weights['loaded'] == result.weights['total'] == 2
    assert result.weights['missing'] == [] and result.weights['unexpected'] == []


def test_order_without_videos_long_enough_is_a_one_line_data_error(demo, tmp_path):
    with pytest.raises(DataError, match='no train samples') as err:
        # clips of 8 frames every 2 frames: an order pair needs 30 frames, the videos have 24
        evaluate(make_request('order', demo, tmp_path))
    assert '\n' not in str(err.value) and '20 train and 20 test videos shorter than 30' in str(
        err.value)


def test_a_protocol_without_an_implementation_is_a_one_line_error(demo, tmp_path):
    speed = ProtocolInfo(name='speed', version='1', summary='',
                         configs={'demo': 'harness_videoeval:configs/temporal_demo.py'})
    req = replace(make_request('order', demo, tmp_path), protocol=speed)
    with pytest.raises(PluginError, match="protocol 'speed' names no implementation"):
        evaluate(req)


@pytest.mark.parametrize('name', ['order', 'sync'])
def test_features_that_encode_time_are_probed_perfectly(clock, tmp_path, name):
    options = dict(clip_len=4, frame_interval=2, pairs_per_video=4, classifier=dict(C=100.0))
    result = evaluate(make_request(name, clock, tmp_path, 'TemporalProbeClock', **options))
    assert result.metrics['accuracy'] >= 95.0
    blind = evaluate(make_request(name, clock, tmp_path, 'TemporalProbeBlind', **options))
    # 16 test samples with balanced labels: a constant prediction is right on 8 (order) or on
    # 5 or 6 (sync: 6, 5, 5 samples per class)
    assert blind.metrics['accuracy'] in ((50.0,) if name == 'order' else (31.25, 37.5))


def test_motion_features_that_encode_speed_are_probed_perfectly(clock, tmp_path):
    """Motion label 'slow' / 'fast' by the clock's rate: the mean brightness of uniformly
    spaced clips is ``offset + rate * 15.5`` (46-77 slow, 93-123 fast), linearly separable."""
    import shutil

    from harness_videodata.motion import write_motion_labels

    root = Path(shutil.copytree(clock, tmp_path / 'clock'))
    write_motion_labels(root, [(f'UCF-101/{clock_video(v)}', 'slow' if clock_rate(v) == 3
                                else 'fast') for v in range(12)])
    result = evaluate(make_request(
        'motion', root, tmp_path, 'TemporalProbeClock', clip_len=4, frame_interval=2,
        motion_clips=3, classifier=dict(C=100.0)))
    check_result(result, clips=3)
    assert result.metrics['accuracy'] == 100.0
    blind = evaluate(make_request(
        'motion', root, tmp_path, 'TemporalProbeBlind', motion_clips=3))
    assert blind.metrics['accuracy'] in (25.0, 75.0)  # test videos: 1 slow, 3 fast


def test_motion_without_motion_labels_is_a_one_line_data_error(clock, tmp_path):
    with pytest.raises(DataError) as err:
        evaluate(make_request('motion', clock, tmp_path))
    assert 'motionLabels.txt' in str(err.value) and '\n' not in str(err.value)


def test_motion_end_to_end(demo, tmp_path):
    motion = pytest.importorskip('harness_videodata.motion')
    try:
        names, labels = motion.read_motion_labels(demo)
    except DataError:
        pytest.skip('the demo generator does not write motionLabels.txt yet')
    result = evaluate(
        make_request('motion', demo, tmp_path, frame_interval=1, motion_clips=2))
    check_result(result, clips=2)
    assert len(names) >= 2 and set(labels.values()) <= set(range(len(names)))


def test_samples_are_reproducible_from_the_request_seed(clock, tmp_path):
    from harness.config import load_eval_config
    from harness.features import frozen_backbone
    from harness_videoeval.temporal import Sync, extract

    def samples(seed: int, part: str = 'train'):
        req = replace(make_request('sync', clock, tmp_path, 'TemporalProbeClock', clip_len=4,
                                   frame_interval=2, pairs_per_video=3), seed=seed)
        cfg = load_eval_config(req, runtime=False)
        probe, train, test = Sync().probe(req, cfg)
        model = frozen_backbone(req, cfg)
        return extract(req, model, cfg, train if part == 'train' else test, part, probe)

    x, y, skipped = samples(0)
    assert x.shape == (24, 3) and skipped == 0 and np.bincount(y).tolist() == [8, 8, 8]
    again, y_again, _ = samples(0)
    assert (again == x).all() and (y_again == y).all()
    other, y_other, _ = samples(1)
    assert (other != x).any() and (y_other != y).any()
    test_x, test_y, _ = samples(0, 'test')
    assert test_x.shape == (12, 3) and np.bincount(test_y).tolist() == [4, 4, 4]
