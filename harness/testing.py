"""A pytest plugin for plugin authors (loaded through the ``pytest11`` entry point).

Fixtures:
- ``harness_plugins``: a :class:`harness.plugins.PluginManager` over the installed plugins.

Helpers:
- :func:`assert_trains`: one optimizer step on a method model changes its parameters and gives
  a finite loss (the conformance check every method should pass).
"""
from __future__ import annotations

import pytest


@pytest.fixture
def harness_plugins():
    from harness.plugins import PluginManager

    return PluginManager()


def assert_trains(model, inputs, lr: float = 1e-2) -> float:
    """Forward in 'loss' mode, backward, one SGD step; the loss is finite and every parameter
    that received a non-negligible gradient changed (a bias right before a BatchNorm gets only
    rounding noise). Returns the loss."""
    import torch

    model.train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = model(inputs, mode='loss')
    loss = sum(v for v in losses.values())
    assert torch.isfinite(loss), f'loss is not finite: {loss}'
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=lr).step()
    trained = [name for name, p in model.named_parameters()
               if p.grad is not None and p.grad.abs().max() > 1e-6]
    assert trained, 'no parameter received a gradient'
    unchanged = [name for name in trained
                 if torch.equal(before[name], dict(model.named_parameters())[name])]
    assert not unchanged, f'parameters with gradients did not change: {unchanged[:5]}'
    return float(loss.detach())


def build_method_model(method, backbone, **model_overrides):
    """Build a method's pretraining model from its config with ``backbone`` plugged in, as
    the runner does (``method``/``backbone`` are MethodInfo/BackboneInfo)."""
    import importlib

    from mmengine.config import Config

    from harness.api import resolve_config
    from harness.registry import MODELS

    for module in (*method.imports, *backbone.imports):
        importlib.import_module(module)
    cfg = Config.fromfile(str(resolve_config(method.config)))
    cfg.model.backbone = dict(backbone.cfg)
    cfg.model.feat_dim = backbone.feat_dim
    cfg.model.update(model_overrides)
    return MODELS.build(cfg.model), cfg


def random_view_inputs(cfg, batch_size: int = 2) -> dict:
    """Random model inputs shaped like what the config's sampling transform produces (the
    first pipeline step with a ``random_inputs`` method, e.g. SampleViews)."""
    from harness.registry import TRANSFORMS

    import harness.data.transformed  # noqa: F401  (registers the samplers)
    import harness.data.views  # noqa: F401

    for step in cfg.train_dataloader.dataset.pipeline:
        transform = TRANSFORMS.build(step)
        if hasattr(transform, 'random_inputs'):
            return transform.random_inputs(batch_size)
    raise ValueError('the config has no sampling transform with random_inputs()')
