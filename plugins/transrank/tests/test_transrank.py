"""TransRank: the ranking loss and its CE control against hand values, and learning."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from harness.registry import MODELS
from harness_transrank.losses import classification_loss, ranking_loss
from harness_transrank.model import TransformationRecognizer


def test_ranking_loss_is_zero_when_every_margin_is_met():
    scores = torch.tensor([[[3.0, 0.0], [0.0, 3.0]]])
    assert ranking_loss(scores, torch.tensor([[0, 1]])).item() == 0.0


def test_ranking_loss_hand_values():
    # K = 2: clip 0 (t0) scores 0 on t0 but clip 1 scores 1 there: 1 - 0 + 1 = 2; clip 1 fine
    scores = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    assert ranking_loss(scores, torch.tensor([[0, 1]])).item() == pytest.approx(1.0)
    # K = 3 with permuted labels (hinges 4, 7, 0, 4, 0, 0 over 6 pairs)
    scores = torch.arange(1.0, 10.0).view(1, 3, 3)
    assert ranking_loss(scores, torch.tensor([[2, 0, 1]])).item() == pytest.approx(15 / 6)
    # the margin is a parameter
    assert ranking_loss(scores, torch.tensor([[2, 0, 1]]), margin=0.0).item() == \
        pytest.approx((3 + 6 + 0 + 3 + 0 + 0) / 6)


def test_ranking_compares_clips_not_transformations():
    """A clip that scores high on every column does not satisfy the others' columns."""
    scores = torch.tensor([[[5.0, 5.0], [0.0, 0.0]]])
    # column 1: clip 1 (received t1) scores 0 < clip 0's 5 -> hinge 1 - 0 + 5 = 6; column 0 met
    assert ranking_loss(scores, torch.tensor([[0, 1]])).item() == pytest.approx(3.0)
    # CE on rows is indifferent to the other clip's scores
    assert classification_loss(scores, torch.tensor([[0, 1]])).item() == pytest.approx(math.log(2))


def test_classification_loss_hand_values():
    scores = torch.tensor([[[0.0, 0.0], [0.0, math.log(3.0)]]])
    expected = (math.log(2) + math.log(4 / 3)) / 2
    assert classification_loss(scores, torch.tensor([[0, 1]])).item() == pytest.approx(expected)


@MODELS.register_module(force=True)
class TinyClipNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv3d(8, 16, 3, stride=2, padding=1))

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize('loss', ['rank', 'ce'])
def test_loss_falls_over_a_few_steps(loss):
    torch.manual_seed(0)
    model = TransformationRecognizer(backbone=dict(type='harness.TinyClipNet'), feat_dim=16, num_temporal=3,
                      rotation=True, loss=loss, hidden_dim=32)
    inputs = {'clips': torch.randn(4, 3, 3, 4, 12, 12),
              'temporal': torch.arange(3).repeat(4, 1),
              'rotation': torch.stack([torch.randperm(4)[:3] for _ in range(4)])}
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        total = sum(model(inputs).values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="'rank' or 'ce'"):
        TransformationRecognizer(backbone=dict(type='harness.TinyClipNet'), feat_dim=16, num_temporal=3,
                  loss='hinge')


def test_aspect_family_adds_its_own_score_matrix_and_loss():
    torch.manual_seed(0)
    model = TransformationRecognizer(backbone=dict(type='harness.TinyClipNet'), feat_dim=16,
                                     num_temporal=0, num_aspect=3, hidden_dim=32)
    inputs = {'clips': torch.randn(2, 3, 3, 4, 12, 12),
              'aspect': torch.stack([torch.randperm(3) for _ in range(2)])}
    losses = model(inputs)
    assert set(losses) == {'loss_aspect'} and model.aspect_head[-1].out_features == 3
    losses['loss_aspect'].backward()
    assert model.aspect_head[0].weight.grad.abs().sum() > 0


PAIRS = ['pace', 'rotnet3d', 'rtt', 'aot', 'speednet', 'transrank', 'transrank_cls']


@pytest.mark.parametrize('method', PAIRS)
def test_demo_and_paper_configs_differ_only_in_scale_and_the_head_fits_the_sampler(method):
    """A method's transformations are stated once (_base_/models/<method>.py): its demo and
    paper configs draw the same ones, and the temporal head has one score per transformation
    (none where the only one is 1x)."""
    from importlib.resources import files

    from harness.config import load_pretrain_config

    configs = files('harness_transrank') / 'configs'
    demo, paper = (load_pretrain_config(configs / f'{method}_{scale}.py')
                   for scale in ('demo', 'paper'))
    samplers = [cfg.train_dataloader.dataset.pipeline[0] for cfg in (demo, paper)]
    scale = ('frames', 'size')
    assert [(s.frames, s.size) for s in samplers] == [(8, 32), (16, 112)]
    assert {k: v for k, v in samplers[0].items() if k not in scale} == \
        {k: v for k, v in samplers[1].items() if k not in scale}
    assert demo.model == paper.model
    temporal = samplers[0].temporal
    assert demo.model.num_temporal == (0 if temporal == ['1x'] else len(temporal))
    assert demo.model.rotation == samplers[0].rotation


def test_the_aspect_family_is_switched_on_by_the_options_the_demo_config_names():
    """transrank_demo.py's header: two --cfg-options turn the aspect-ratio family on (both keys
    exist, so neither needs a '+'), and the model and the sampler then agree on three ratios."""
    import shlex
    from importlib.resources import files

    from harness.cli import parse_cfg_options
    from harness.config import apply_cfg_options, load_pretrain_config

    path = files('harness_transrank') / 'configs' / 'transrank_demo.py'
    header = path.read_text().split('--cfg-options', 1)[1].splitlines()[0]
    options = parse_cfg_options(shlex.split(header))
    cfg = apply_cfg_options(load_pretrain_config(path), options, label='pretraining config')
    assert cfg.model.num_aspect == 3
    assert list(cfg.train_dataloader.dataset.pipeline[0].aspect) == [0.5, 1.0, 2.0]
