"""The BatchNorm-calibrated reference: statistics fitted exactly, nothing else moved, and the
weights are the random row's."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.runner import set_random_seed
from torch import nn

from harness.registry import MODELS
from harness_random.model import BNCalibration


@MODELS.register_module(force=True)
class _ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        return self.bn(self.conv(x))


def calibration(backbone=None) -> BNCalibration:
    return BNCalibration(backbone or dict(type='_ConvBN'),
                         data_preprocessor=dict(type=BaseDataPreprocessor))


def test_statistics_are_the_average_of_every_batch_and_no_parameter_moves():
    model = calibration()
    before = {k: v.clone() for k, v in model.backbone.named_parameters()}
    batches = [dict(view1=torch.randn(4, 2, 5, 5), view2=torch.randn(4, 2, 5, 5) * 3 + 1)
               for _ in range(2)]
    for batch in batches:
        out = model.train_step({'inputs': batch}, optim_wrapper=None)
        assert float(out['loss']) == 0.0
    with torch.no_grad():
        conv = model.backbone.conv
        maps = [conv(view) for batch in batches for view in batch.values()]
    means = torch.stack([m.mean(dim=(0, 2, 3)) for m in maps]).mean(0)
    variances = torch.stack([m.transpose(0, 1).flatten(1).var(dim=1) for m in maps]).mean(0)
    bn = model.backbone.bn
    torch.testing.assert_close(bn.running_mean, means)
    torch.testing.assert_close(bn.running_var, variances)
    assert int(bn.num_batches_tracked) == 4
    for name, value in model.backbone.named_parameters():
        assert torch.equal(value, before[name]), name


def test_a_backbone_without_batchnorm_has_nothing_to_calibrate():
    @MODELS.register_module(force=True)
    class _NoNorm(nn.Linear):
        def __init__(self):
            super().__init__(2, 2)

    with pytest.raises(ValueError, match='_NoNorm has no BatchNorm layer'):
        calibration(dict(type='_NoNorm'))


@pytest.mark.parametrize('backbone', ['resnet18-slim', 'r3d18-slim'])
def test_its_weights_are_the_random_rows_of_the_same_seed(backbone, harness_plugins):
    """An evaluator builds a random backbone as harness.features.frozen_backbone does: seed,
    build, init_weights. The calibration model, built right after the Runner sets the same
    seed, starts from exactly those weights."""
    import importlib

    info = harness_plugins.get('backbone', backbone).info
    for module in info.imports:
        importlib.import_module(module)
    set_random_seed(7)
    random_row = MODELS.build(dict(info.cfg))
    random_row.init_weights()
    set_random_seed(7)
    model = calibration(dict(info.cfg))
    calibrated = model.backbone_state_dict()
    assert calibrated.keys() == random_row.state_dict().keys()
    for name, value in random_row.named_parameters():
        assert torch.equal(calibrated[name], value), name
