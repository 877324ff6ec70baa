"""The baselines' heads, schedules and configs against the official code: MoCo v3's ResNet
heads and crops (facebookresearch/moco-v3), SimSiam's heads and fixed predictor lr
(facebookresearch/simsiam), SimCLR's projector (google-research/simclr), BYOL's cosine EMA on
video, and MoCo's single-process shuffle-BN substitute and demo queues."""
from __future__ import annotations

import inspect
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, DefaultScope
from torch import nn

from harness.api import HOOKS, MODELS, resolve_config
from harness_contrastive.models import MoCo, MoCoV3, SimCLR, SimSiam, VideoMoCo


def config(stem: str) -> Config:
    return Config.fromfile(str(resolve_config(f'harness_contrastive:configs/{stem}.py')))


@MODELS.register_module(force=True)
class TinyImageNet(nn.Module):
    def __init__(self, width: int = 8):
        super().__init__()
        self.body = nn.Conv2d(3, width, 3, stride=2, padding=1)

    def forward(self, x):
        return self.body(x)


def layers(module: nn.Sequential) -> list[tuple]:
    """A head as a list of (kind, sizes, bias / affine) rows."""
    rows = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            rows.append(('Linear', layer.in_features, layer.out_features, layer.bias is not None))
        elif isinstance(layer, nn.BatchNorm1d):
            rows.append(('BN', layer.num_features, layer.weight is not None,
                         layer.bias is not None))
        else:
            rows.append((type(layer).__name__,))
    return rows


def build(stem: str, **overrides):
    """The model of a shipped config with a tiny backbone of ``feat_dim`` 2048 in place of its
    ResNet (the heads are what is checked)."""
    model = dict(config(stem).model)
    model.pop('data_preprocessor')
    model.update(backbone=dict(type='harness.TinyImageNet'), feat_dim=2048, **overrides)
    return MODELS.build(model)


# -- MoCo v3 (facebookresearch/moco-v3: moco/builder.py MoCo_ResNet, _build_mlp; CONFIG.md) --

#: MoCo_ResNet: projector _build_mlp(2, 2048, 4096, 256), predictor _build_mlp(2, 256, 4096,
#: 256, last_bn=False); Linear without bias; BN + ReLU after the hidden layer; the projector's
#: last BN without affine parameters
MOCOV3_PROJECTOR = [('Linear', 2048, 4096, False), ('BN', 4096, True, True), ('ReLU',),
                    ('Linear', 4096, 256, False), ('BN', 256, False, False)]
MOCOV3_PREDICTOR = [('Linear', 256, 4096, False), ('BN', 4096, True, True), ('ReLU',),
                    ('Linear', 4096, 256, False)]


def test_mocov3_paper_model_has_the_resnet_heads():
    model = build('mocov3_paper')
    assert layers(model.projector) == MOCOV3_PROJECTOR
    assert layers(model.predictor) == MOCOV3_PREDICTOR
    assert layers(model.key_projector) == MOCOV3_PROJECTOR


def test_mocov3_defaults_are_the_resnet_recipe():
    model = MoCoV3(backbone=dict(type='harness.TinyImageNet'), feat_dim=2048)
    assert layers(model.projector) == MOCOV3_PROJECTOR
    assert layers(model.predictor) == MOCOV3_PREDICTOR


@pytest.mark.parametrize('stem', ['mocov3_paper', 'mocov3_demo'])
def test_mocov3_crops_start_at_area_0_2(stem):
    (views,) = [step['views'] for step in config(stem).train_dataloader.dataset.pipeline
                if step['type'] == 'SampleImageViews']
    assert [tuple(view['augment']['scale']) for view in views.values()] == [(0.2, 1.0)] * 2
