"""The baselines' objectives as pure functions (docs/methods.md §7)."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def info_nce(query: Tensor, key: Tensor, queue: Tensor, temperature: float) -> Tensor:
    """MoCo's InfoNCE: each query's positive is its key, the negatives are the queue.

    query, key: ``[N, D]`` L2-normalised; queue: ``[K, D]`` L2-normalised negatives.
    ``-log exp(q.k/t) / (exp(q.k/t) + sum_j exp(q.n_j/t))``, averaged over the batch.
    """
    return _nce(query, key, query @ queue.t(), temperature)


def decayed_info_nce(query: Tensor, key: Tensor, queue: Tensor, queue_age: Tensor,
                     temperature: float, decay: float) -> Tensor:
    """VideoMoCo's InfoNCE with a temporally decayed queue: a negative that entered the queue
    ``age`` enqueue steps ago has its similarity scaled by ``decay ** age``.

    query, key: ``[N, D]``; queue: ``[K, D]``; queue_age: ``[K]`` (integers).
    ``-log exp(q.k/t) / (exp(q.k/t) + sum_j exp(decay^age_j q.n_j/t))``, averaged over the
    batch. As in tinapan-pt/VideoMoCo ``moco/builder.py`` (``MoCo.forward``): the queued keys
    are multiplied by ``0.99999 ** count`` before the dot product, so the weight scales the
    similarity inside the exponential, and the logits are divided by the temperature after
    (the order does not matter, both are products). ``decay = 1`` is :func:`info_nce`.
    """
    weight = decay ** queue_age.to(query.dtype)
    return _nce(query, key, (query @ queue.t()) * weight, temperature)


def _nce(query: Tensor, key: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """Cross-entropy with the positive logit ``q.k`` first and ``negatives`` ``[N, K]`` after."""
    positive = (query * key).sum(-1, keepdim=True)
    logits = torch.cat([positive, negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(query), dtype=torch.long, device=query.device))


def nt_xent(z1: Tensor, z2: Tensor, temperature: float, extra_negatives: Tensor | None = None
            ) -> Tensor:
    """SimCLR's NT-Xent over the 2N views of N images: view ``i`` of ``z1`` and view ``i`` of
    ``z2`` are each other's positive, the other 2N - 2 views (and ``extra_negatives``, e.g.
    other processes' views) are negatives; cosine similarities over ``temperature``,
    cross-entropy averaged over all 2N anchors.

    z1, z2: ``[N, D]`` projections (normalised here); extra_negatives: ``[M, D]``.
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    others = z if extra_negatives is None else torch.cat(
        [z, F.normalize(extra_negatives, dim=1)])
    logits = z @ others.t() / temperature
    logits[torch.arange(2 * n), torch.arange(2 * n)] = float('-inf')  # not its own negative
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positive)


def symmetric_key_contrast(query: Tensor, key: Tensor, temperature: float) -> Tensor:
    """MoCo v3's contrastive term for one direction: each query's positive is the key of the
    same image, the other keys of the batch are its negatives; cross-entropy over
    ``q.k / temperature`` scaled by ``2 * temperature`` (as MoCo v3's code does).

    query: ``[N, D]``; key: ``[M, D]`` with the batch's own keys first (``M >= N``: keys of
    other processes after them); both normalised here.
    """
    logits = F.normalize(query, dim=1) @ F.normalize(key, dim=1).t() / temperature
    labels = torch.arange(len(query), device=query.device)
    return 2 * temperature * F.cross_entropy(logits, labels)


def negative_cosine(prediction: Tensor, target: Tensor) -> Tensor:
    """SimSiam's D(p, z) = -cos(p, sg(z)), averaged over the batch (stop-gradient applied)."""
    return -F.cosine_similarity(prediction, target.detach(), dim=-1).mean()


def byol_regression(prediction: Tensor, target: Tensor) -> Tensor:
    """BYOL's 2 - 2 cos(q(z_online), sg(z_target)), averaged over the batch."""
    return 2 + 2 * negative_cosine(prediction, target)
