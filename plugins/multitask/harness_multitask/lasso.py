"""Multi-task SSL's lasso (docs/methods.md §6): each task's head reads a linear combination of
features from several trunk layers, and an L1 penalty on the combination weights lets each task
pick (and the tasks share out) the layers it uses.

:class:`LayerCombination` holds one weight per (task, layer); the layers' maps are brought to
one size and channel count by the caller's adapters, so the combination is a weighted sum.
:func:`lasso_penalty` is the penalty, a pure function.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


def lasso_penalty(weights: Tensor, strength: float) -> Tensor:
    """``strength * sum |w|`` over every combination weight."""
    return strength * weights.abs().sum()


class LayerCombination(nn.Module):
    """Per task, a weighted sum of ``layers`` feature maps of one shape: ``forward(maps, task)``
    with ``maps`` a sequence of ``[N, C, H, W]`` tensors. Weights start at ``1 / layers`` for
    the last layer only when ``init='last'`` (the plain multi-head network: every head on the
    top layer), or uniformly (``init='uniform'``)."""

    def __init__(self, tasks: Sequence[str], layers: int, init: str = 'last'):
        super().__init__()
        if init not in ('last', 'uniform'):
            raise ValueError(f"init must be 'last' or 'uniform', got {init!r}")
        self.tasks = tuple(tasks)
        start = torch.zeros(len(self.tasks), layers)
        if init == 'last':
            start[:, -1] = 1.0
        else:
            start[:] = 1.0 / layers
        self.weights = nn.Parameter(start)

    def forward(self, maps: Sequence[Tensor], task: str) -> Tensor:
        if len(maps) != self.weights.shape[1]:
            raise ValueError(f'{len(maps)} maps for {self.weights.shape[1]} layers')
        row = self.weights[self.tasks.index(task)]
        return sum(weight * feature for weight, feature in zip(row, maps))

    def penalty(self, strength: float) -> Tensor:
        return lasso_penalty(self.weights, strength)
