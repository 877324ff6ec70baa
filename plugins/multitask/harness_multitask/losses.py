"""The losses of Multi-task SSL's four tasks (docs/methods.md §6), pure functions of the heads'
outputs and the targets. The joint loss is their sum (each task weighted 1, as the paper's
jointly trained network).

- relative position (Doersch 2015): 8-way cross-entropy over where the second patch lies
  around the first (:func:`relative_position_loss`);
- colorization (Zhang 2016): per-pixel cross-entropy over quantised ab bins
  (:func:`colorization_loss`; the bins: :mod:`harness_multitask.colour`);
- exemplar (Dosovitskiy 2014), as the paper trains it: a triplet loss where two augmentations
  of one image are the positive pair and every other image of the batch a negative
  (:func:`exemplar_loss`);
- motion segmentation (Pathak 2017): per-pixel sigmoid cross-entropy against the mask of
  moving pixels (:func:`motion_segmentation_loss`).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

#: the 8 neighbours of the centre cell of a 3 x 3 grid, as (row offset, column offset), in
#: reading order: label k is the k-th of these
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
IGNORE_INDEX = -1


def relative_position_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of ``[N, 8]`` logits against labels in ``0..7`` (:data:`NEIGHBOURS`)."""
    if logits.dim() != 2 or logits.shape[1] != len(NEIGHBOURS):
        raise ValueError(f'relative position logits are [N, 8], got {tuple(logits.shape)}')
    return F.cross_entropy(logits.float(), labels.long())


def colorization_loss(logits: Tensor, bins: Tensor) -> Tensor:
    """Mean per-pixel cross-entropy of ``[N, Q, h, w]`` logits against ``[N, h, w]`` bin
    indices (:data:`IGNORE_INDEX` ignored: pixels outside the image or of no colour)."""
    if logits.dim() != 4 or bins.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f'colorization logits [N, Q, h, w] and bins [N, h, w], got '
                         f'{tuple(logits.shape)} and {tuple(bins.shape)}')
    if not (bins != IGNORE_INDEX).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), bins.long(), ignore_index=IGNORE_INDEX)


def exemplar_loss(embeddings: Tensor, margin: float = 0.5) -> Tensor:
    """Triplet loss of a batch ``[2N, D]`` holding two augmentations of each of N images
    (rows ``2k`` and ``2k + 1``). With unit embeddings and ``d(x, y) = 1 - cos(x, y)``, each
    row is an anchor, its twin the positive and every row of another image a negative:
    the mean over all such triplets of ``max(0, d(a, p) - d(a, n) + margin)``."""
    if embeddings.dim() != 2 or embeddings.shape[0] % 2 or embeddings.shape[0] < 4:
        raise ValueError(f'exemplar embeddings are [2N, D] with N >= 2 images, got '
                         f'{tuple(embeddings.shape)}')
    unit = F.normalize(embeddings.float(), dim=1)
    distance = 1.0 - unit @ unit.t()
    index = torch.arange(distance.shape[0], device=distance.device)
    image, twin = index // 2, index ^ 1
    positive = distance.gather(1, twin[:, None])  # [2N, 1]
    negatives = image[:, None] != image[None, :]
    losses = F.relu(positive - distance + margin)[negatives]
    return losses.mean()


def motion_segmentation_loss(logits: Tensor, masks: Tensor, valid: Tensor | None = None
                             ) -> Tensor:
    """Mean per-pixel sigmoid cross-entropy of ``[N, 1, h, w]`` (or ``[N, h, w]``) logits
    against moving-pixel masks of the same spatial size (1 moving, 0 still), over the
    ``valid`` pixels (all when None)."""
    logits = logits.squeeze(1) if logits.dim() == 4 else logits
    if logits.shape != masks.shape:
        raise ValueError(f'motion logits {tuple(logits.shape)} and masks '
                         f'{tuple(masks.shape)} differ')
    losses = F.binary_cross_entropy_with_logits(logits.float(), masks.float(), reduction='none')
    if valid is None:
        return losses.mean()
    valid = valid.bool()
    return losses[valid].mean() if valid.any() else logits.sum() * 0.0
