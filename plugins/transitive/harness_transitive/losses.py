"""Transitive Invariance's loss: the cosine triplet ranking loss of Wang & Gupta's video triplet
network (the ``RankHardLoss`` layer of xiaolonw/caffe-video_triplet; docs/methods.md §4), as a
pure function of a batch of features.

A batch holds P positive pairs: ``features[2k]`` (the anchor) and ``features[2k + 1]`` (its
positive), and ``groups`` says which samples must never be each other's negatives (the patches
of one graph component). With unit features and ``D(x, y) = -x . y``:

1. each anchor's candidate negatives are the samples of other groups that violate the margin,
   ``D(a, p) - D(a, n) + M > 0``;
2. with at most ``neg_num`` candidates all are used; with more, the ``neg_num`` hardest (the
   most similar to the anchor) are the hard pool, ``hard_num = neg_num * hard_ratio`` of them
   are drawn at random, and ``rand_num = neg_num * rand_ratio`` more are drawn at random from
   everything left (the rest of the hard pool included);
3. each chosen negative costs both ends of the pair:
   ``max(0, D(a, p) - D(a, n) + M) + max(0, D(a, p) - D(p, n) + M)``;
4. the sum is divided by ``2 * neg_num * P`` (the layer's fixed normaliser, whatever the number
   of negatives actually chosen).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def select_negatives(similarity: Tensor, groups: Tensor, *, margin: float, neg_num: int = 4,
                     hard_ratio: float = 0.5, rand_ratio: float = 0.5,
                     generator: torch.Generator | None = None) -> Tensor:
    """The negatives of each pair: a bool mask ``[P, N]`` (row k: the negatives of pair k).

    similarity: ``[N, N]`` cosine similarities of the batch (no gradient needed); groups:
    ``[N]`` group ids. The selection rule is the module docstring's steps 1-2; ties between
    equally hard negatives go to the lower index. ``generator`` makes the random draws
    reproducible."""
    similarity = similarity.detach()
    pairs = similarity.shape[0] // 2
    hard_num, rand_num = int(neg_num * hard_ratio), int(neg_num * rand_ratio)
    mask = torch.zeros(pairs, similarity.shape[0], dtype=torch.bool, device=similarity.device)
    for k in range(pairs):
        anchor, positive = 2 * k, 2 * k + 1
        violation = similarity[anchor] - similarity[anchor, positive] + margin  # D(a,p)-D(a,n)+M
        candidates = torch.nonzero((groups != groups[anchor]) & (violation > 0)).flatten()
        if len(candidates) <= neg_num:
            mask[k, candidates] = True
            continue
        order = torch.argsort(-similarity[anchor, candidates], stable=True)
        hard, rest = candidates[order[:neg_num]], candidates[order[neg_num:]]
        hard = hard[torch.randperm(len(hard), generator=generator)]
        chosen, rest = hard[:hard_num], torch.cat([rest, hard[hard_num:]])
        rest = rest[torch.randperm(len(rest), generator=generator)]
        mask[k, chosen] = True
        mask[k, rest[:rand_num]] = True
    return mask


def triplet_ranking_loss(features: Tensor, groups: Tensor, *, margin: float = 1.0,
                         neg_num: int = 4, hard_ratio: float = 0.5, rand_ratio: float = 0.5,
                         generator: torch.Generator | None = None) -> Tensor:
    """The loss of a batch of P pairs (``features`` ``[2P, D]``, anchors at even rows, their
    positives at the odd rows after them; ``groups`` ``[2P]``), as the module docstring says.
    Features are L2-normalised here."""
    if features.dim() != 2 or features.shape[0] % 2 or features.shape[0] != groups.shape[0]:
        raise ValueError(f'features [2P, D] with one group id each, got {tuple(features.shape)} '
                         f'and {tuple(groups.shape)} group ids')
    unit = F.normalize(features.float(), dim=1)
    similarity = unit @ unit.t()
    mask = select_negatives(similarity, groups, margin=margin, neg_num=neg_num,
                            hard_ratio=hard_ratio, rand_ratio=rand_ratio, generator=generator)
    anchors, positives = similarity[0::2], similarity[1::2]  # rows: sim to every sample
    pair_sim = anchors.gather(1, torch.arange(1, similarity.shape[0], 2,
                                              device=features.device)[:, None])  # [P, 1]
    # D(a,p) - D(a,n) + M = s(a,n) - s(a,p) + M;  D(a,p) - D(p,n) + M = s(p,n) - s(a,p) + M
    from_anchor = F.relu(anchors - pair_sim + margin)
    from_positive = F.relu(positives - pair_sim + margin)
    total = ((from_anchor + from_positive) * mask).sum()
    return total / (2 * neg_num * anchors.shape[0])
