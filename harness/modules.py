"""Small network pieces shared by method plugins (projectors, predictors, pooling, the
momentum update of target networks)."""
from __future__ import annotations

import torch
from torch import Tensor, nn


def global_pool(features: Tensor) -> Tensor:
    """Average a feature map ``[N, D, ...]`` over everything after the channels: ``[N, D]``."""
    return features.flatten(2).mean(-1) if features.dim() > 2 else features


def mlp(in_dim: int, hidden_dim: int, out_dim: int, *, last_bn: bool) -> nn.Sequential:
    """Linear -> BN -> ReLU -> Linear [-> BN]: the projector/predictor of BYOL-style methods."""
    layers: list[nn.Module] = [
        nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, out_dim),
    ]
    if last_bn:
        layers.append(nn.BatchNorm1d(out_dim))
    return nn.Sequential(*layers)


#: Whether :func:`momentum_update` moves target networks now. The core closes it on the
#: micro-batches of a gradient accumulation after the first
#: (:func:`harness.distributed.target_update_hook`), so that an EMA steps once per optimizer
#: step, as the papers' do.
TARGET_UPDATES = {'enabled': True}


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online (parameters; buffers copied); a
    no-op while the core holds target updates back (:data:`TARGET_UPDATES`)."""
    if not TARGET_UPDATES['enabled']:
        return
    for p_online, p_target in zip(online.parameters(), target.parameters()):
        p_target.mul_(momentum).add_(p_online.detach(), alpha=1 - momentum)
    for b_online, b_target in zip(online.buffers(), target.buffers()):
        b_target.copy_(b_online)


@torch.no_grad()
def map_shape(backbone: nn.Module, size: int) -> tuple[int, ...]:
    """``(C, h, w)`` of the backbone's map of a ``size`` x ``size`` image, from one pass in
    eval mode (BN statistics untouched); the backbone's training mode is restored."""
    was_training = backbone.training
    backbone.eval()
    try:
        return tuple(backbone(torch.zeros(1, 3, size, size)).shape[1:])
    finally:
        backbone.train(was_training)
