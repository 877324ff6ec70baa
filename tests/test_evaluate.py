"""The evaluation engine (harness.evaluate): finding a protocol's class, the result it assembles,
the files written before a run, and one frozen-feature protocol run end to end on a fake
extraction."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from harness import features
from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo
from harness.data.splits import DataItem
from harness.errors import PluginError
from harness.evaluate import (FeatureProtocol, Features, Filled, Prepared, evaluate,
                              protocol_for, write_files)


class NearestMean(FeatureProtocol):
    """Top-1 of the nearest class mean of the train features; its error rate in 'm'."""

    units = {'top1': '%', 'error': 'm'}
    higher_is_better = {'error': False}

    def settings(self, cfg) -> dict:
        return {'rule': 'nearest mean'}

    def score(self, found: Features, cfg, request, log) -> dict[str, float]:
        means = torch.stack([found.train_x[found.train_y == c, 0].mean(0) for c in (0, 1)])
        predicted = torch.cdist(found.test_x[:, 0], means).argmin(1)
        top1 = 100 * float((predicted == found.test_y).float().mean())
        return {'top1': round(top1, 2), 'error': round(100 - top1, 2)}


class NotAProtocol:
    pass


def request_for(tmp_path: Path, implementation: str) -> EvalRequest:
    items = [DataItem(f'{side}/{c}/{i}.png', c) for side in ('train', 'val')
             for c in (0, 1) for i in range(2)]
    for item in items:
        (tmp_path / item.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item.path).write_bytes(item.path.encode())
    split = SimpleNamespace(train=tuple(items[:4]), test=tuple(items[4:]), classes=('a', 'b'))
    config = tmp_path / 'feature_protocol.py'
    config.write_text("feature_pipeline = [dict(type='mmcv.LoadImageFromFile')]\n"
                      "data_preprocessor = dict(type='ImgDataPreprocessor')\n"
                      "feature_loader = dict(batch_size=2, num_workers=0)\n")
    return EvalRequest(
        protocol=ProtocolInfo('nearest', '1', '', implementation=implementation),
        backbone=BackboneInfo('tiny', '', 'image', {'type': 'harness.Tiny'}, 2),
        backbone_weights=None, dataset=DatasetInfo('imagenet', '', 'image', 'x'),
        data_root=tmp_path, work_dir=tmp_path / 'eval', split='val', seed=0, config=config,
        data_split=split, cache_dir=tmp_path / 'features')


def test_a_protocol_without_implementation_or_of_another_kind_is_a_one_line_error(tmp_path):
    with pytest.raises(PluginError, match="protocol 'p' names no implementation"):
        protocol_for(ProtocolInfo('p', '1', ''))
    with pytest.raises(PluginError, match='test_evaluate:NotAProtocol is no harness.evaluate'):
        protocol_for(ProtocolInfo('p', '1', '', implementation=f'{__name__}:NotAProtocol'))
    assert isinstance(protocol_for(ProtocolInfo('p', '1', '',
                                                implementation=f'{__name__}:NearestMean')),
                      NearestMean)


def test_a_feature_protocol_scores_the_split_features_with_its_units(tmp_path, monkeypatch):
    """Train features at -1 / +1 by class, test features the same: every test item is right;
    each item is extracted once, in the order of the list the cache wrote."""
    calls = []

    def extract(request, cfg, list_file, size, allocate):
        paths = [line.split()[0] for line in Path(list_file).read_text().splitlines()]
        calls.append(paths)
        out = allocate((1, 2))
        out[:] = torch.tensor([[[-1.0 if '/0/' in path else 1.0] * 2] for path in paths])
        return torch.from_numpy(out), None

    monkeypatch.setattr(features, 'extract', extract)
    result = evaluate(request_for(tmp_path, f'{__name__}:NearestMean'), log=lambda _: None)
    assert result.metrics == {'top1': 100.0, 'error': 0.0}
    assert result.units == {'top1': '%', 'error': 'm'}
    assert result.higher_is_better == {'top1': True, 'error': False}
    assert result.settings['rule'] == 'nearest mean' and result.weights is None
    assert (result.splits, result.clips, result.crops) == (['val'], 1, 1)
    assert len(calls) == 1 and len(calls[0]) == 8


def test_files_are_written_once_and_computed_only_when_the_run_starts(tmp_path):
    computed = []

    def codebook() -> bytes:
        computed.append(1)
        return b'\x00\x01'

    prepared = Prepared(Config({}), Filled(files={tmp_path / 'a' / 'list.txt': 'x 1\n',
                                                  tmp_path / 'codebook.npy': codebook}))
    assert computed == []  # preparing (a dry run) computes nothing
    write_files(prepared.filled.files)
    assert (tmp_path / 'a' / 'list.txt').read_text() == 'x 1\n'
    assert (tmp_path / 'codebook.npy').read_bytes() == b'\x00\x01' and computed == [1]


def test_what_a_reader_drops_is_logged_and_recorded_by_any_protocol(tmp_path):
    """harness.evaluate states a split's dropped counts (e.g. an image folder's empty class
    folders) in the settings and one log line."""
    from harness.evaluate import dropped, log_dropped

    request = SimpleNamespace(read_split=lambda: SimpleNamespace(dropped={'empty_class': 2}),
                              dataset=SimpleNamespace(name='imagenet'), split='val')
    prepared = Prepared(Config({}), Filled())
    assert dropped(request, prepared) == {'empty_class': 2}
    lines = []
    log_dropped(request, prepared, lines.append)
    assert lines == ['warning: imagenet split val: left out 2 empty class (counted in the '
                     'record: eval.dropped)']
    own = Prepared(Config({}), Filled(settings={'dropped': {'invalid_box': 0}}))
    assert dropped(request, own) == {'invalid_box': 0}
    lines.clear()
    log_dropped(request, own, lines.append)
    assert lines == []
