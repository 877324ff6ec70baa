"""BraVe's `paper` optimizer against the official one (google-deepmind/brave:
brave/training/optimizers.py; optax 0.0.9's ``lars``): biases and normalisers neither decayed nor
adapted, the predictor's gradient x10 before LARS, and one (two) steps computed by hand."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from harness.api import MODELS, ConfigError, packaged_configs, resolve_config
from harness_brave.model import BraVe
from harness_brave.optim import BraveLARS  # noqa: F401  (registers the optimizer)


@MODELS.register_module(force=True)
class ConvBNNet(nn.Module):
    """A 3D conv (weight and bias) and a BatchNorm: every kind of parameter a backbone has."""

    feat_dim = 4

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.BatchNorm3d(4))

    def forward(self, x):
        return self.body(x)


def tiny_brave():
    return BraVe(backbone=dict(type='harness.ConvBNNet'), feat_dim=4, hidden_dim=8, proj_dim=4)


def paper_optim_wrapper(model):
    cfg = Config.fromfile(str(resolve_config(packaged_configs('harness_brave', 'brave')['paper'])))
    with DefaultScope.overwrite_default_scope('harness'):
        return build_optim_wrapper(model, cfg.optim_wrapper)


def groups_by_name(model, optimizer):
    names = {id(p): name for name, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        (param,) = group['params']
        out[names[id(param)]] = group
    return out


def test_paper_groups_leave_biases_and_norms_out_and_scale_the_predictor_gradient():
    model = tiny_brave()
    optimizer = paper_optim_wrapper(model).optimizer
    groups = groups_by_name(model, optimizer)
    assert set(groups) == {name for name, _ in model.named_parameters()}
    modules = dict(model.named_modules())
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    seen = set()
    for name, group in groups.items():
        module, _, leaf = name.rpartition('.')
        excluded = leaf == 'bias' or isinstance(modules[module], norms)
        seen.add((name.split('.')[0], excluded))
        assert group['lr'] == 1.0, name  # no lr_mult: the x10 is on the gradient
        assert group['weight_decay'] == (0.0 if excluded else 1e-2), name
        assert group['trust_ratio'] is (not excluded), name
        assert group['grad_scale'] == (10.0 if name.startswith('predictor.') else 1.0), name
        assert group['momentum'] == 0.9 and group['nesterov'] and group['eps'] == 0.0
        assert group['trust_coefficient'] == 0.001
    # every kind was there: decayed weights and excluded ones, in the backbones, the projector
    # and the predictor
    assert seen == {(part, excluded) for part in ('narrow_backbone', 'broad_backbone',
                                                  'projector', 'predictor')
                    for excluded in (False, True)}


class Tiny(nn.Module):
    """A weight matrix and a bias outside the predictor; the same, and a BatchNorm, inside."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(2, 1)
        self.predictor = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))


def test_two_steps_by_hand_follow_the_official_update_rule():
    """Official, per parameter (optax.chain(scale s, add_decayed_weights, trust ratio, lr,
    trace)): u = s g (+ wd w), u *= eta |w| / |u| (weights only), u *= lr, m = u + 0.9 m,
    w -= u + 0.9 m. wd 1e-2, eta 1e-3; lr 1.0 at the first step, 0.5 at the second (the
    momentum then holds the first step's lr-scaled update)."""
    model = Tiny().double()  # float64: the steps are small against the weights
    with torch.no_grad():
        for linear in (model.encoder, model.predictor[0]):
            linear.weight.copy_(torch.tensor([[3.0, 4.0]]))  # |w| = 5
            linear.bias.fill_(1.0)
        model.predictor[1].weight.fill_(1.0)
        model.predictor[1].bias.fill_(0.5)
    wrapper = paper_optim_wrapper(model)
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    grads = {'encoder.weight': [[0.1, 0.0]], 'encoder.bias': [0.2],
             'predictor.0.weight': [[0.1, 0.0]], 'predictor.0.bias': [0.2],
             'predictor.1.weight': [0.3], 'predictor.1.bias': [-0.1]}

    def step(lr):
        for group in wrapper.optimizer.param_groups:
            group['lr'] = lr
        for name, p in model.named_parameters():
            p.grad = torch.tensor(grads[name], dtype=torch.float64)
        wrapper.step()

    step(1.0)
    first = {name: (p.detach() - start[name]) for name, p in model.named_parameters()}
    step(0.5)
    both = {name: (p.detach() - start[name]) for name, p in model.named_parameters()}

    def weight_update(scale, w):
        # u = s g + wd w, then the trust ratio, for g = (0.1, 0), w as given
        u = [scale * 0.1 + 0.01 * w[0], 0.01 * w[1]]
        ratio = 0.001 * math.hypot(*w) / math.hypot(*u)
        return [ratio * x for x in u]

    for name, scale in (('encoder', 1.0), ('predictor.0', 10.0)):
        u1 = weight_update(scale, [3.0, 4.0])
        # step 1 (lr 1): m1 = u1, w1 = w0 - (u1 + 0.9 m1) = w0 - 1.9 u1
        expected1 = [-1.9 * x for x in u1]
        assert first[f'{name}.weight'][0].tolist() == pytest.approx(expected1, rel=1e-9)
        # the step's size is lr (1 + 0.9) eta |w| whatever the gradient scale
        assert math.hypot(*expected1) == pytest.approx(1.9 * 0.001 * 5)
        # step 2 (lr 0.5) at w1: u2 = 0.5 ratio(w1) (s g + wd w1); m2 = u2 + 0.9 m1
        w1 = [3.0 + expected1[0], 4.0 + expected1[1]]
        u2 = [0.5 * x for x in weight_update(scale, w1)]
        m2 = [a + 0.9 * b for a, b in zip(u2, u1)]
        expected2 = [w - w0 - (a + 0.9 * b) for w, w0, a, b in zip(w1, (3.0, 4.0), u2, m2)]
        assert both[f'{name}.weight'][0].tolist() == pytest.approx(expected2, rel=1e-9)
    # biases and BatchNorm: no decay, no trust ratio: u = s g; two steps move
    # -(1.9 s g) then -(0.5 s g + 0.9 (0.5 s g + 0.9 s g)) = -(1.76 s g): -3.66 s g in all
    for name, g, scale in (('encoder.bias', 0.2, 1.0), ('predictor.0.bias', 0.2, 10.0),
                           ('predictor.1.weight', 0.3, 10.0), ('predictor.1.bias', -0.1, 10.0)):
        assert first[name].item() == pytest.approx(-1.9 * scale * g, rel=1e-9), name
        assert both[name].item() == pytest.approx(-3.66 * scale * g, rel=1e-9), name


def test_the_constructor_refuses_an_optimizer_without_the_group_options():
    cfg = Config.fromfile(str(resolve_config(packaged_configs('harness_brave', 'brave')['paper'])))
    wrapper = cfg.optim_wrapper
    wrapper.optimizer = dict(type='SGD', lr=0.1, weight_decay=1e-2)
    with DefaultScope.overwrite_default_scope('harness'), \
            pytest.raises(ConfigError, match='BraveLARS'):
        build_optim_wrapper(Tiny(), wrapper)
