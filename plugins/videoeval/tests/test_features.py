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
    """extract() that writes a video's index in the file list it was given into the array
    ``allocate`` gives, and counts calls."""
    calls = []

    def extract(req, cfg, list_file, size, allocate):
        listed = [line.split()[0] for line in Path(list_file).read_text().splitlines()]
        assert len(listed) == size
        calls.append(listed)
        out = allocate((2, 3))
        for i, path in enumerate(listed):
            out[i] = float(path.split('_')[-1][:-4])
        return torch.from_numpy(out), {'loaded': 1, 'total': 1}

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


def test_gathered_batches_land_at_their_dataset_index(monkeypatch):
    """Three processes held DefaultSampler's interleaved shares of 7 videos (padded to 9), in
    batches of 2: every batch is gathered with the item index of each row, padding dropped."""
    import mmengine.dist

    from harness.features import gather_batch

    order = list(range(7)) + [0, 1]
    shares = [torch.tensor([float(i) for i in order[rank::3]]) for rank in range(3)]
    monkeypatch.setattr(mmengine.dist, 'get_world_size', lambda: 3)
    out = torch.full((7,), -1.0)
    for done in (0, 2):
        monkeypatch.setattr(mmengine.dist, 'all_gather_object',
                            lambda rows, done=done: [s[done:done + 2] for s in shares])
        for index, rows in gather_batch(done, shares[0][done:done + 2], 7):
            assert (out[torch.as_tensor(index)] == -1).all()
            out[torch.as_tensor(index)] = rows
    assert out.tolist() == list(range(7))


def mapped_file(tensor: torch.Tensor) -> str | None:
    """The file whose memory map holds ``tensor``'s data (None: not a mapped file)."""
    for line in Path('/proc/self/maps').read_text().splitlines():
        fields = line.split(maxsplit=5)
        start, end = (int(n, 16) for n in fields[0].split('-'))
        if start <= tensor.data_ptr() < end:
            return fields[5] if len(fields) > 5 else None
    return None


def test_features_are_memory_mapped_from_the_store(tmp_path, fake_extract):
    """Items in the store's row order come back as a view of its mapped file; in another order
    they are gathered into an anonymous file in the store's folder; changing them in place
    leaves the store as it was."""
    from harness import feature_store

    by_path = sorted(ITEMS, key=lambda item: item.path)
    first, _ = features.cached_features(request(tmp_path), by_path, CFG)
    assert mapped_file(first).endswith(feature_store.DATA)
    first[0] = 99.0  # copy-on-write
    again, _ = features.cached_features(request(tmp_path), ITEMS, CFG)
    assert again[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 5] and len(fake_extract) == 1
    gathered = mapped_file(again)
    assert gathered.startswith(str(tmp_path / 'features')) and gathered.endswith('(deleted)')


def test_a_store_of_the_old_format_is_not_read(tmp_path, fake_extract):
    """Version 1 was one torch.save file per key; a folder whose index names another format
    or key counts as empty and is extracted again."""
    import json

    from harness import feature_store

    req = request(tmp_path)
    features.cached_features(req, ITEMS, CFG)
    (index_file,) = (tmp_path / 'features').glob(f'*/{feature_store.INDEX}')
    index = json.loads(index_file.read_text())
    index_file.write_text(json.dumps({**index, 'format': 1}))
    features.cached_features(req, ITEMS, CFG)
    assert len(fake_extract) == 2
    assert json.loads(index_file.read_text())['format'] == feature_store.FORMAT_VERSION
