"""The task heads of Multi-task SSL (docs/methods.md §6). Each reads a trunk feature map
``[N, C, h, w]`` (the top stage, or its task's lasso combination of stages) and gives what its
loss (:mod:`harness_multitask.losses`) takes. The paper's heads are not described in
docs/methods.md; these are small ones: a hidden layer of ``hidden`` units and the output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import global_pool
from harness_multitask.losses import NEIGHBOURS


class RelativePositionHead(nn.Module):
    """The two patches' pooled features, concatenated (centre first) -> ``hidden`` -> the 8
    relative positions. ``forward(centre [N, C, h, w], neighbour [N, C, h, w]) -> [N, 8]``."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, len(NEIGHBOURS)))

    def forward(self, centre: Tensor, neighbour: Tensor) -> Tensor:
        return self.mlp(torch.cat([global_pool(centre), global_pool(neighbour)], dim=1))


class DenseHead(nn.Module):
    """Per-pixel outputs: 3 x 3 convolution to ``hidden`` channels, ReLU, 1 x 1 convolution to
    ``outputs``; the result is resized bilinearly to the target grid. ``forward(map, size) ->
    [N, outputs, *size]`` (colorization: ``outputs`` = the ab bins; motion: 1)."""

    def __init__(self, channels: int, hidden: int, outputs: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, outputs, 1))

    def forward(self, features: Tensor, size: tuple[int, int]) -> Tensor:
        logits = self.body(features)
        if tuple(logits.shape[-2:]) != tuple(size):
            logits = F.interpolate(logits, size=tuple(size), mode='bilinear',
                                   align_corners=False)
        return logits


class EmbeddingHead(nn.Module):
    """The exemplar embedding: pooled features -> ``hidden`` -> ``dim`` (the triplet loss
    normalises it). ``forward([N, C, h, w]) -> [N, dim]``."""

    def __init__(self, channels: int, hidden: int, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, dim))

    def forward(self, features: Tensor) -> Tensor:
        return self.mlp(global_pool(features))
