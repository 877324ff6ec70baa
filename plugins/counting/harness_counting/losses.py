"""Learning to Count's objective as pure functions (docs/methods.md §5a).

    L(x, y) = || φ(D∘x) − Σ_j φ(T_j∘x) ||²  +  max(0, M − || φ(D∘y) − Σ_j φ(T_j∘x) ||² )

φ: the counting network (non-negative count vectors), D: 2x downsampling, T_1..T_4: the four
quadrant tiles, y: another image, M = 10. The norm version of the paper: the hinge is on the
squared distance of whole count vectors (the clvrai TF code applies it per element, which is a
different loss).
"""
from __future__ import annotations

from torch import Tensor


def counting_terms(down_x: Tensor, tiles_x: Tensor, down_y: Tensor, margin: float = 10.0
                   ) -> tuple[Tensor, Tensor]:
    """Per-sample ``(equivariance, hinge)``, each ``[N]``.

    down_x: ``φ(D∘x)`` ``[N, K]``; tiles_x: ``φ(T_j∘x)`` ``[N, 4, K]`` (any number of tiles,
    summed over dim 1); down_y: ``φ(D∘y)`` ``[N, K]`` of another image.
    equivariance: ``|| φ(D∘x) − Σ_j φ(T_j∘x) ||²``;
    hinge: ``max(0, margin − || φ(D∘y) − Σ_j φ(T_j∘x) ||²)``.
    """
    if tiles_x.dim() != 3 or tiles_x.shape[0] != down_x.shape[0] or \
            tiles_x.shape[2] != down_x.shape[1] or down_y.shape != down_x.shape:
        raise ValueError(f'counting loss needs down_x [N, K], tiles_x [N, T, K] and down_y '
                         f'[N, K]; got {tuple(down_x.shape)}, {tuple(tiles_x.shape)} and '
                         f'{tuple(down_y.shape)}')
    tile_sum = tiles_x.sum(1)
    equivariance = (down_x - tile_sum).pow(2).sum(-1)
    hinge = (margin - (down_y - tile_sum).pow(2).sum(-1)).clamp_min(0)
    return equivariance, hinge


def counting_loss(down_x: Tensor, tiles_x: Tensor, down_y: Tensor, margin: float = 10.0,
                  contrastive_weight: float = 1.0) -> Tensor:
    """The batch mean of ``equivariance + contrastive_weight * hinge``
    (:func:`counting_terms`); ``contrastive_weight=0`` leaves the trivial solution φ = 0 open,
    which is what the paper's hinge prevents."""
    equivariance, hinge = counting_terms(down_x, tiles_x, down_y, margin)
    return (equivariance + contrastive_weight * hinge).mean()
