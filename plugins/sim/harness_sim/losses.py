"""SiameseIM's objective as pure functions: UniGrad on dense tokens (docs/methods.md §3)."""
from __future__ import annotations

import torch
from torch import Tensor


def token_correlation(target: Tensor) -> Tensor:
    """UniGrad's ``F``: the ``[D, D]`` second-moment matrix ``Z^T Z / M`` of the ``M`` target
    tokens ``Z [M, D]``, averaged over the processes of a distributed run (the all-reduce is
    skipped in a single process). No gradient flows through it."""
    from mmengine.dist import all_reduce

    with torch.no_grad():
        correlation = target.T @ target / len(target)
        all_reduce(correlation, op='mean')  # a no-op outside a process group
    return correlation


def unigrad(prediction: Tensor, target: Tensor, neg_weight: float = 0.02,
            correlation: Tensor | None = None) -> Tensor:
    """UniGrad, as SiameseIM trains it:

        (mean_i ||p_i - z_i||^2  +  neg_weight * mean_i p_i^T F p_i) / D

    prediction ``[M, D]`` (p, the online predictions), target ``[M, D]`` (z, the normalised
    target tokens, no gradient), F = :func:`token_correlation` of the targets unless given.
    The first term pulls each prediction to its target, the second pushes predictions away
    from the directions every target shares (what keeps the features from collapsing)."""
    if correlation is None:
        correlation = token_correlation(target)
    positive = (prediction - target).pow(2).sum(-1).mean()
    negative = ((prediction @ correlation) * prediction).sum(-1).mean()
    return (positive + neg_weight * negative) / prediction.shape[-1]
