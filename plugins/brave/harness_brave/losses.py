"""BraVe's objective as pure functions (docs/methods.md §2a)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def normalized_mse(prediction: Tensor, target: Tensor, eps: float = 1e-5) -> Tensor:
    """Per-sample ``0.5 * || p/|p| - t/|t| ||^2`` (= 1 - cos(p, t)), averaged over the batch.

    The target is used as given: callers pass a stop-gradient (detached) projection.
    """
    p = prediction / prediction.norm(dim=-1, keepdim=True).clamp_min(eps)
    t = target / target.norm(dim=-1, keepdim=True).clamp_min(eps)
    return 0.5 * (p - t).pow(2).sum(-1).mean()


def brave_loss(narrow_projection: Tensor, narrow_prediction: Tensor,
               broad_projections: Sequence[Tensor], broad_predictions: Sequence[Tensor]) -> Tensor:
    """The mean over both directions and every broad view of the normalized MSE:

    ``mean_b( l(p_b, sg(z_n)), l(p_n, sg(z_b)) )``

    z are projections g(f(x)), p predictions q(z); sg is stop-gradient (applied here).
    """
    if len(broad_projections) != len(broad_predictions) or not broad_projections:
        raise ValueError('need one prediction per broad projection, and at least one broad view')
    terms = []
    for z_b, p_b in zip(broad_projections, broad_predictions):
        terms.append(normalized_mse(p_b, narrow_projection.detach()))
        terms.append(normalized_mse(narrow_prediction, z_b.detach()))
    return torch.stack(terms).mean()
