"""TransRank's objective and its classification control, as pure functions
(docs/methods.md §1a).

``scores[b, k, j]``: the score clip k of video b gets for transformation j;
``labels[b, k]``: the transformation clip k received (distinct within a video).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def ranking_loss(scores: Tensor, labels: Tensor, margin: float = 1.0) -> Tensor:
    """Margin ranking within each transformation's column, across the clips of one video:

    ``mean_{b, k, k' != k} max(0, m - S[b, k, y_bk] + S[b, k', y_bk])``

    the clip that received transformation y must score higher on y than every other clip of its
    video, by ``margin``. With labels ``arange(K)`` and K transformations this is
    ``1/(K(K-1)) sum_j sum_{k != j} max(0, m - S[j, j] + S[k, j])`` per video.
    """
    batch, k, _ = scores.shape
    if k < 2:
        raise ValueError('ranking needs at least two clips per video')
    columns = scores.gather(2, labels.unsqueeze(1).expand(batch, k, k))  # [b, k', k]: S[b,k',y_bk]
    positive = columns.diagonal(dim1=1, dim2=2)  # [b, k]: S[b, k, y_bk]
    hinge = F.relu(margin - positive.unsqueeze(1) + columns)  # [b, k', k]
    off_diagonal = ~torch.eye(k, dtype=torch.bool, device=scores.device)
    return hinge[:, off_diagonal].mean()


def classification_loss(scores: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of each clip's row against the transformation it received (TransCls)."""
    return F.cross_entropy(scores.flatten(0, 1), labels.flatten())
