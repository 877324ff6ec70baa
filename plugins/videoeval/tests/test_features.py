"""The feature cache (harness.features) on the video protocols' sampling: keyed by weights,
videos and sampling; rows follow the caller's order."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo, resolve_config
from harness.data.splits import DataItem
from harness import features

ITEMS = [DataItem(f'UCF-101/C{i % 2}/v_{i}.avi', i % 2) for i in range(6)]

UCF101 = DatasetInfo('ucf101', 'UCF101', 'video', 'harness_videodata.ucf101')


def request(tmp_path: Path, weights: bytes | None = b'weights') -> EvalRequest:
    """A request whose backbone weights file holds ``weights`` (None: random init)."""
    path = None
    if weights is not None:
        path = tmp_path / f'weights-{weights.hex()}.pth'
        path.write_bytes(weights)
    for item in ITEMS:  # the cache stamps each video file with its size and mtime
        video = tmp_path / item.path
        if not video.exists():
            video.parent.mkdir(parents=True, exist_ok=True)
            video.write_bytes(b'video')
    return EvalRequest(
        protocol=ProtocolInfo('linear', '1', '', configs={'demo': 'harness_videoeval:configs/linear_demo.py'}),
        backbone=BackboneInfo('tiny', '', 'video', {'type': 'harness.Tiny3D'}, 32),
        backbone_weights=path, dataset=UCF101, data_root=tmp_path,
        work_dir=tmp_path / 'eval' / 'x', split='1', seed=0, cache_dir=tmp_path / 'features')


@pytest.fixture
def fake_extract(monkeypatch):
    """extract() that returns a video's index in the file list it was given, and counts calls."""
    calls = []

    def extract(req, cfg, list_file, size):
        listed = [line.split()[0] for line in Path(list_file).read_text().splitlines()]
        assert len(listed) == size
        calls.append(listed)
        rows = torch.tensor([[[float(path.split('_')[-1][:-4])]] for path in listed])
        return rows.expand(-1, 2, 3).clone(), {'loaded': 1, 'total': 1}

    monkeypatch.setattr(features, 'extract', extract)
    return calls


CFG = Config.fromfile(str(resolve_config('harness_videoeval:configs/linear_demo.py')))


def test_second_call_reuses_the_cache_and_rows_follow_the_callers_order(tmp_path, fake_extract,
                                                                          capsys):
    first, report = features.cached_features(request(tmp_path), ITEMS, CFG)
    assert first[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 5] and report == {'loaded': 1, 'total': 1}
    shuffled = [ITEMS[i] for i in (4, 0, 5, 1, 3, 2)]
    again, _ = features.cached_features(request(tmp_path), shuffled, CFG)
    assert again[:, 0, 0].tolist() == [4, 0, 5, 1, 3, 2]
    assert len(fake_extract) == 1
    assert 'features reused from cache' in capsys.readouterr().out


def test_other_weights_or_sampling_extract_again(tmp_path, fake_extract):
    features.cached_features(request(tmp_path), ITEMS, CFG)
    features.cached_features(request(tmp_path, weights=b'other weights'), ITEMS, CFG)
    features.cached_features(request(tmp_path, weights=None), ITEMS, CFG)
    other = CFG.copy()
    other.merge_from_dict({'feature_pipeline.1.num_clips': 5})
    features.cached_features(request(tmp_path), ITEMS, other)
    assert len(fake_extract) == 4


def test_the_splits_of_a_dataset_share_one_extraction(tmp_path, fake_extract):
    """Split 2 partitions the same videos differently: train/test rows come from the cache."""
    def split(train_ids):
        train = tuple(ITEMS[i] for i in train_ids)
        test = tuple(item for item in ITEMS if item not in train)
        return type('Split', (), {'train': train, 'test': test, 'classes': ('a', 'b')})()

    req = request(tmp_path)
    features.split_features(replace(req, data_split=split([0, 1, 2])), CFG)
    got = features.split_features(replace(req, data_split=split([5, 3])), CFG)
    assert len(fake_extract) == 1
    assert got.train_x[:, 0, 0].tolist() == [5, 3] and got.train_y.tolist() == [1, 1]
    assert got.test_x[:, 0, 0].tolist() == [0, 1, 2, 4]


def test_only_videos_missing_from_the_cache_or_changed_on_disk_are_extracted(tmp_path,
                                                                           fake_extract):
    req = request(tmp_path)
    features.cached_features(req, ITEMS[:4], CFG)
    both, _ = features.cached_features(req, ITEMS[2:], CFG)
    assert fake_extract == [sorted(item.path for item in ITEMS[:4]),
                            sorted(item.path for item in ITEMS[4:])]
    assert both[:, 0, 0].tolist() == [2, 3, 4, 5]
    (tmp_path / ITEMS[3].path).write_bytes(b'a re-encoded video')
    features.cached_features(req, ITEMS, CFG)
    assert fake_extract[-1] == [ITEMS[3].path]


def test_gathered_shares_come_back_in_dataset_order(monkeypatch):
    """Three processes held DefaultSampler's interleaved shares of 7 videos (padded to 9)."""
    import mmengine.dist

    from harness.features import gather_in_order

    rows = [torch.tensor([float(i)]) for i in range(7)]
    padded = rows + rows[:2]
    shares = [padded[rank::3] for rank in range(3)]
    monkeypatch.setattr(mmengine.dist, 'get_world_size', lambda: 3)
    monkeypatch.setattr(mmengine.dist, 'all_gather_object', lambda part: shares)
    gathered = gather_in_order(shares[1], 7)
    assert [int(r) for r in gathered] == list(range(7))
