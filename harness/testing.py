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
