"""NYUv2 depth: the metrics of Multi-task Self-Supervised Visual Learning's depth transfer
(docs/methods.md §6: the percent of pixels with ``max(d/d*, d*/d) < 1.25``), with the two
usual companions, and the training loss.

Conventions: predicted depth ``d`` and ground truth ``d*`` in metres, arrays of one shape
(``[H, W]``, ``[N, H, W]``, ...; numpy or torch), and a boolean ``valid`` mask of that shape
(pixels with a depth reading). Every metric is **pooled over all valid pixels** given (to an
accumulator: of the whole test set), in float64:

- ``delta_1.25``: percent of pixels with ``max(d/d*, d*/d) < 1.25`` (higher is better); a
  prediction of zero or less is never within (its ratio is infinite);
- ``abs_rel``: mean of ``|d - d*| / d*`` (lower is better);
- ``rmse``: square root of the mean of ``(d - d*)^2``, metres (lower is better).

Predictions are scored as given: no clamping to a depth range (clamp in the evaluator, and
record it, if the protocol wants it). A ground truth of zero or less, or a non-finite value,
at a valid pixel is a data error (ValueError).

The training loss is **L1** on valid pixels (:func:`depth_l1_loss`), not berHu: berHu's switch
point is 0.2 of the largest residual *in the batch*, so its value for a pixel depends on the
rest of the batch, and it adds a hyperparameter the papers do not pin down; L1 is what berHu
is on small residuals, robust to NYU's noisy depth, and has no threshold to record.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import Tensor

from .normals import as_float64, as_mask

#: the metric names :func:`depth_metrics` returns, in order
METRICS = ('delta_1.25', 'abs_rel', 'rmse')
HIGHER_IS_BETTER = {'delta_1.25': True, 'abs_rel': False, 'rmse': False}
UNITS = {'delta_1.25': '%', 'abs_rel': '', 'rmse': 'm'}
#: the ratio threshold of ``delta_1.25``
DELTA = 1.25


def _sums(pred: Any, gt: Any, valid: Any) -> tuple[int, int, float, float]:
    """(valid pixels, pixels within the ratio, sum of |d - d*| / d*, sum of (d - d*)^2)."""
    pred, gt = as_float64(pred), as_float64(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'predicted depth {pred.shape} and ground truth {gt.shape} differ in '
                         f'shape (resize the prediction to the ground truth first)')
    valid = as_mask(valid, gt.shape)
    pred, gt = pred[valid], gt[valid]
    if not np.isfinite(gt).all() or (gt <= 0).any():
        raise ValueError('ground-truth depth at valid pixels must be finite and positive: '
                         'mark missing readings invalid')
    if not np.isfinite(pred).all():
        raise ValueError('predicted depth at valid pixels is not all finite')
    positive = pred > 0
    ratio = np.full(pred.shape, np.inf)
    ratio[positive] = np.maximum(pred[positive] / gt[positive], gt[positive] / pred[positive])
    error = pred - gt
    return (int(pred.size), int((ratio < DELTA).sum()), float(np.sum(np.abs(error) / gt)),
            float(np.sum(error * error)))


def _metrics(count: int, within: int, abs_rel: float, squared: float) -> dict[str, float]:
    if count == 0:
        raise ValueError('no valid pixels to score: the depth metrics are undefined')
    return {'delta_1.25': 100.0 * within / count, 'abs_rel': abs_rel / count,
            'rmse': math.sqrt(squared / count)}


def depth_metrics(pred: Any, gt: Any, valid: Any) -> dict[str, float]:
    """``delta_1.25`` (%), ``abs_rel`` and ``rmse`` (metres) over all valid pixels of
    ``pred`` against ``gt`` (see the module's conventions). ValueError when none is valid."""
    return _metrics(*_sums(pred, gt, valid))


class DepthErrorPool:
    """Accumulates the depth metrics image by image, pooled over every valid pixel (float64
    running sums: counts, sum of relative errors, sum of squared errors; nothing per pixel is
    kept, as no metric needs a median)."""

    def __init__(self) -> None:
        self.count = 0
        self._within = 0
        self._abs_rel = 0.0
        self._squared = 0.0

    def add(self, pred: Any, gt: Any, valid: Any) -> int:
        """Add one image (or batch), as :func:`depth_metrics` takes it; returns its number of
        valid pixels."""
        count, within, abs_rel, squared = _sums(pred, gt, valid)
        self.count += count
        self._within += within
        self._abs_rel += abs_rel
        self._squared += squared
        return count

    def metrics(self) -> dict[str, float]:
        """The metrics of every pixel added."""
        return _metrics(self.count, self._within, self._abs_rel, self._squared)


def depth_l1_loss(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """The mean absolute depth error (metres) over valid pixels (torch tensors of one shape);
    with no valid pixel, a zero that still belongs to the graph."""
    if pred.shape != gt.shape or tuple(valid.shape) != tuple(pred.shape):
        raise ValueError(f'pred {tuple(pred.shape)}, gt {tuple(gt.shape)} and valid '
                         f'{tuple(valid.shape)} must have one shape')
    valid = valid.bool()
    if not valid.any():
        return pred.sum() * 0.0
    return (pred[valid] - gt[valid].to(pred.dtype)).abs().mean()
