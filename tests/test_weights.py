"""Transferring backbone weights: key matching, the load report, and refusing a bad load."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseModule
from torch import nn

from harness.weights import WeightTransferError, load_backbone_weights


class Net(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)


def test_matching_weights_load_completely():
    source, target = Net(), Net()
    report = load_backbone_weights(target, source.state_dict())
    total = len(target.state_dict())  # conv 2, bn 5 (incl. num_batches_tracked), fc 2
    assert report == {'loaded': total, 'total': total, 'missing': [], 'unexpected': [],
                      'missing_modules': []}
    assert torch.equal(target.conv.weight, source.conv.weight)


def test_partial_load_reports_missing_and_unexpected_keys():
    state = Net().state_dict()
    del state['fc.weight'], state['fc.bias']
    state['head.weight'] = torch.zeros(1)
    state['bn.weight'] = torch.zeros(7)  # wrong shape: not loaded
    report = load_backbone_weights(Net(), state)
    assert report['missing'] == ['bn.weight', 'fc.bias', 'fc.weight']
    assert report['unexpected'] == ['bn.weight', 'head.weight']
    assert report['loaded'] == report['total'] - 3


def test_the_report_names_the_modules_that_kept_their_initialisation():
    """fc's two tensors and bn's running mean missing: fc as a whole, the one bn tensor by
    itself (bn's other tensors loaded)."""
    from harness.weights import describe_missing, missing_modules

    state = Net().state_dict()
    del state['fc.weight'], state['fc.bias'], state['bn.running_mean']
    report = load_backbone_weights(Net(), state)
    assert report['missing_modules'] == ['bn.running_mean', 'fc']
    assert describe_missing(report) == \
        'missing 3 (left at their initialisation: bn.running_mean, fc)'
    assert missing_modules(['a.b.x', 'a.b.y', 'a.c'], ['a.b.x', 'a.b.y', 'a.c', 'a.d']) == \
        ['a.b', 'a.c']
    assert missing_modules(['a.x', 'b.y'], ['a.x', 'b.y']) == ['a', 'b']
    assert describe_missing({'missing': [], 'missing_modules': []}) == 'missing 0'


def test_a_load_that_drops_most_weights_is_an_error():
    prefixed = {f'backbone.{k}': v for k, v in Net().state_dict().items()}
    with pytest.raises(WeightTransferError, match=r'only 0 of 9 backbone tensors loaded'):
        load_backbone_weights(Net(), prefixed, source='ckpt.pth')


def test_mmengine_initializer_loads_and_keeps_the_report(tmp_path):
    import harness.weights  # noqa: F401  (registers harness.SSLPretrained)

    source = Net()
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    target = Net(init_cfg=dict(type='harness.SSLPretrained', checkpoint=str(path)))
    target.init_weights()
    assert torch.equal(target.fc.weight, source.fc.weight)
    assert target.weight_load_report['loaded'] == 9


def test_a_prefix_loads_only_the_keys_under_it_with_the_prefix_removed(tmp_path):
    import harness.weights  # noqa: F401  (registers harness.SSLPretrained)

    source = Net()
    path = tmp_path / 'backbone.pth'
    torch.save({**{f'net.{k}': v for k, v in source.state_dict().items()},
                'head.fc.weight': torch.zeros(2, 4)}, path)
    target = Net(init_cfg=dict(type='harness.SSLPretrained', checkpoint=str(path),
                               prefix='net.'))
    target.init_weights()
    assert torch.equal(target.fc.weight, source.fc.weight)
    assert target.weight_load_report['loaded'] == 9
    assert target.weight_load_report['unexpected'] == []


def test_reports_of_several_modules_merge_into_one():
    from harness.weights import merge_load_reports

    merged = merge_load_reports({
        'backbone': {'loaded': 3, 'total': 3, 'missing': [],
                     'unexpected': ['layer4.w', 'other']},
        'roi_head.shared_head': {'loaded': 1, 'total': 2, 'missing': ['norm.weight'],
                                 'unexpected': ['conv1.w', 'layer1.w', 'other']}})
    assert merged['loaded'] == 4 and merged['total'] == 5
    assert merged['missing'] == ['roi_head.shared_head.norm.weight']
    assert merged['unexpected'] == ['other']  # the key no module took
    assert set(merged['modules']) == {'backbone', 'roi_head.shared_head'}
