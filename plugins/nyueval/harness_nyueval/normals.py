"""NYUv2 surface normals: the angular error metrics, the 40-word codebook of the ``classify40``
protocol and the ``1 - cos`` loss of the ``regress`` protocol (docs/image-evals.md §4).

Conventions (every function here):

- normals are channel-last, ``[..., 3]`` (one image ``[H, W, 3]`` or a batch ``[N, H, W, 3]``);
  a network's ``[N, 3, H, W]`` output is ``.permute(0, 2, 3, 1)``-ed by the caller;
- ``valid`` is a boolean mask of the normals' shape without the last axis (the ground truth's
  ``depthValid``); only valid pixels are scored, labelled or trained on;
- ground-truth normals need not be unit length (they are normalised), but a zero-length or
  non-finite one at a valid pixel is a data error (ValueError);
- a **zero-length prediction** counts as orthogonal to the ground truth (cosine 0, 90
  degrees, a loss of 1): the score of an uninformative guess. It is not dropped (dropping it
  would reward a model for giving up on hard pixels) and does not crash the evaluation. A
  non-finite prediction at a valid pixel raises ValueError.

The metrics follow ssl-transfer (Goyal et al. 2019): float64 ``arccos`` of the clipped cosine in
degrees, **pooled over all valid pixels of the whole test set** (the median of a set is not
the mean of the medians of its parts), reported as mean and median (lower is better) and the
percent of pixels strictly below 11.25, 22.5 and 30 degrees (higher is better).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

#: the thresholds (degrees) of the ``within_*`` metrics
THRESHOLDS = (11.25, 22.5, 30.0)
#: the metric names :func:`normal_metrics` returns, in order
METRICS = ('mean', 'median', *(f'within_{t:g}' for t in THRESHOLDS))
#: which of them are better when higher (the ``within_*`` percentages)
HIGHER_IS_BETTER = {name: name.startswith('within_') for name in METRICS}
#: their units
UNITS = {name: '%' if name.startswith('within_') else 'deg' for name in METRICS}
#: the label of pixels without ground truth (``make_SN_labels.py`` writes 255)
IGNORE_INDEX = 255


def as_float64(array: Any) -> np.ndarray:
    """A float64 numpy copy (or view) of a numpy array, a torch tensor (any device) or a list."""
    if isinstance(array, Tensor):
        array = array.detach().cpu().double().numpy()
    return np.asarray(array, dtype=np.float64)


def as_mask(valid: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``valid`` as a boolean numpy array of ``shape`` (ValueError on another shape)."""
    if isinstance(valid, Tensor):
        valid = valid.detach().cpu().numpy()
    valid = np.asarray(valid).astype(bool)
    if valid.shape != tuple(shape):
        raise ValueError(f'valid mask of shape {valid.shape}, expected {tuple(shape)} (the '
                         f'normals without their last axis)')
    return valid


def _check_normals(normals: np.ndarray, name: str) -> None:
    if normals.ndim < 2 or normals.shape[-1] != 3:
        raise ValueError(f'{name} normals must be channel-last [..., 3], got shape '
                         f'{normals.shape}')


def _unit_ground_truth(gt: np.ndarray, name: str = 'ground-truth') -> np.ndarray:
    """Valid ground-truth normals ``[M, 3]`` scaled to unit length; ValueError on zero-length
    or non-finite ones."""
    if not np.isfinite(gt).all():
        raise ValueError(f'{name} normals at valid pixels are not all finite')
    norms = np.linalg.norm(gt, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f'{int((norms == 0).sum())} {name} normals at valid pixels have zero '
                         f'length: mark them invalid')
    return gt / norms


# ---------------------------------------------------------------------------------- metrics


def angular_errors(pred: Any, gt: Any, valid: Any) -> np.ndarray:
    """The angle in degrees (float64) between predicted and ground-truth normals at each valid
    pixel, in row-major pixel order: ``arccos(clip(cos, -1, 1))`` of the normalised vectors.

    pred, gt: ``[H, W, 3]`` or ``[N, H, W, 3]`` of the same shape (numpy or torch); valid:
    their shape without the last axis. A zero-length prediction scores 90 degrees (see the
    module's conventions). Returns a 1-D array with one entry per valid pixel.
    """
    pred, gt = as_float64(pred), as_float64(gt)
    _check_normals(pred, 'predicted')
    _check_normals(gt, 'ground-truth')
    if pred.shape != gt.shape:
        raise ValueError(f'predicted normals {pred.shape} and ground truth {gt.shape} differ '
                         f'in shape (resize the prediction to the ground truth first)')
    valid = as_mask(valid, gt.shape[:-1])
    pred, gt = pred[valid], _unit_ground_truth(gt[valid])
    if not np.isfinite(pred).all():
        raise ValueError('predicted normals at valid pixels are not all finite')
    norms = np.linalg.norm(pred, axis=-1)
    dots = np.einsum('ij,ij->i', pred, gt)
    cosines = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def normal_metrics(errors: Any) -> dict[str, float]:
    """Mean and median angular error (degrees) and the percent of errors strictly below 11.25,
    22.5 and 30 degrees, over all the errors given, pooled (pass the whole test set's errors,
    not per-image summaries), in float64. ValueError when there are none."""
    errors = as_float64(errors).ravel()
    if errors.size == 0:
        raise ValueError('no valid pixels to score: the normal metrics are undefined')
    if not np.isfinite(errors).all():
        raise ValueError('angular errors are not all finite')
    metrics = {'mean': float(np.mean(errors)), 'median': float(np.median(errors))}
    for threshold in THRESHOLDS:
        metrics[f'within_{threshold:g}'] = float(100.0 * np.mean(errors < threshold))
    return metrics


class NormalErrorPool:
    """Collects the angular errors of a test set image by image (float64, every valid pixel:
    8 bytes each, about 1.3 GB for NYUv2's 654 test images at 480 x 640) and scores them
    pooled at the end, so the median is the median of all the test set's pixels."""

    def __init__(self) -> None:
        self._errors: list[np.ndarray] = []

    def add(self, pred: Any, gt: Any, valid: Any) -> np.ndarray:
        """Add the errors of one image (or batch), as :func:`angular_errors` takes them;
        returns them."""
        errors = angular_errors(pred, gt, valid)
        self._errors.append(errors)
        return errors

    def add_errors(self, errors: Any) -> None:
        """Add angular errors (degrees) computed elsewhere."""
        self._errors.append(as_float64(errors).ravel())

    @property
    def count(self) -> int:
        """The number of pixels collected so far."""
        return sum(len(e) for e in self._errors)

    def errors(self) -> np.ndarray:
        """All errors collected, in the order they came (float64, 1-D)."""
        return np.concatenate(self._errors) if self._errors else np.zeros(0)

    def metrics(self) -> dict[str, float]:
        """:func:`normal_metrics` of everything collected."""
        return normal_metrics(self.errors())


# --------------------------------------------------------------------------------- codebook


def _unit_codebook(codebook: Any) -> np.ndarray:
    codebook = as_float64(codebook)
    if codebook.ndim != 2 or codebook.shape[1] != 3 or len(codebook) == 0:
        raise ValueError(f'a codebook is [K, 3], got shape {codebook.shape}')
    if len(codebook) > IGNORE_INDEX:
        raise ValueError(f'a codebook of {len(codebook)} words collides with the ignore '
                         f'label {IGNORE_INDEX}')
    return _unit_ground_truth(codebook, 'codebook')


def codebook_labels(normals: Any, valid: Any, codebook: Any) -> np.ndarray:
    """The index of the nearest codeword (largest cosine; the lowest index on a tie) of each
    pixel's normal, :data:`IGNORE_INDEX` (255) where not valid: the ``classify40`` training
    labels (ssl-transfer's ``make_SN_labels.py``). normals ``[..., 3]``; valid their shape
    without the last axis; codebook ``[K, 3]`` with K < 255. Returns int64 of valid's shape."""
    normals = as_float64(normals)
    _check_normals(normals, 'ground-truth')
    valid = as_mask(valid, normals.shape[:-1])
    words = _unit_codebook(codebook)
    labels = np.full(valid.shape, IGNORE_INDEX, dtype=np.int64)
    labels[valid] = np.argmax(_unit_ground_truth(normals[valid]) @ words.T, axis=-1)
    return labels


def decode_classes(probabilities: Any, codebook: Any) -> Any:
    """ssl-transfer's prediction rule: ``normalize(sum_k p_k c_k)`` per pixel.

    probabilities: ``[N, K, H, W]`` (softmax over the K classes; a torch tensor or numpy
    array); codebook ``[K, 3]``. Returns channel-last normals ``[N, H, W, 3]``, of the same
    kind (torch on the probabilities' device and dtype, or numpy float64); a pixel whose
    weighted sum is zero stays the zero vector (scored 90 degrees).
    """
    is_numpy = not isinstance(probabilities, Tensor)
    probs = torch.as_tensor(as_float64(probabilities)) if is_numpy else probabilities
    if probs.dim() != 4:
        raise ValueError(f'probabilities are [N, K, H, W], got shape {tuple(probs.shape)}')
    words = torch.as_tensor(_unit_codebook(codebook), dtype=probs.dtype, device=probs.device)
    if probs.shape[1] != len(words):
        raise ValueError(f'{probs.shape[1]} class probabilities for a codebook of '
                         f'{len(words)} words')
    normals = F.normalize(torch.einsum('nkhw,kc->nhwc', probs, words), dim=-1)
    return normals.numpy() if is_numpy else normals


def kmeans_codebook(normals: Any, k: int = 40, *, seed: int = 0, iters: int = 100,
                    valid: Any = None, max_samples: int = 200_000) -> np.ndarray:
    """A ``[k, 3]`` codebook of unit vectors by spherical k-means of training normals, for
    when no ``vocab40.mat`` is given (the record must say so).

    normals: ``[..., 3]``, all valid unless ``valid`` (their shape without the last axis) says
    which are; at most ``max_samples`` of them are drawn (without replacement) to cluster.
    k-means++ seeding on the cosine distance, then Lloyd iterations (assign each normal to the
    codeword of largest cosine, move each codeword to its members' normalised mean) until no
    assignment changes or ``iters`` rounds; a codeword left without members moves to the
    normal farthest from its own codeword. Deterministic for a given ``seed``. float64.
    """
    normals = as_float64(normals)
    _check_normals(normals, 'training')
    if valid is not None:
        normals = normals[as_mask(valid, normals.shape[:-1])]
    points = _unit_ground_truth(normals.reshape(-1, 3), 'training')
    if k < 1 or len(points) < k:
        raise ValueError(f'{len(points)} normals cannot make a codebook of {k} words')
    rng = np.random.default_rng(seed)
    if len(points) > max_samples:
        points = points[rng.choice(len(points), size=max_samples, replace=False)]

    centres = np.empty((k, 3))
    centres[0] = points[rng.integers(len(points))]
    distance = 1.0 - points @ centres[0]
    for i in range(1, k):  # k-means++: the next seed drawn proportionally to the distance
        weights = np.clip(distance, 0.0, None)
        total = weights.sum()
        if total > 0:
            pick = rng.choice(len(points), p=weights / total)
        else:  # every normal sits on a codeword already
            pick = rng.integers(len(points))
        centres[i] = points[pick]
        distance = np.minimum(distance, 1.0 - points @ centres[i])

    assignment = None
    for _ in range(iters):
        cosines = points @ centres.T
        new = np.argmax(cosines, axis=1)
        if assignment is not None and np.array_equal(new, assignment):
            break
        assignment = new
        sums = np.zeros((k, 3))
        np.add.at(sums, assignment, points)
        norms = np.linalg.norm(sums, axis=1)
        own = cosines[np.arange(len(points)), assignment]
        for word in range(k):
            if norms[word] > 0:
                centres[word] = sums[word] / norms[word]
            else:  # empty (or perfectly cancelling) cluster: take the worst-fitted normal
                far = int(np.argmin(own))
                centres[word] = points[far]
                own[far] = np.inf
    return centres


# ----------------------------------------------------------------------------------- losses


def cosine_loss(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """The ``regress`` protocol's loss: the mean over valid pixels of ``1 - cos`` between the
    predicted and ground-truth normals (channel-last ``[..., 3]`` torch tensors; valid their
    shape without the last axis). The prediction is normalised (a zero-length one costs 1),
    the ground truth is taken as unit length. With no valid pixel, a zero that still belongs
    to the graph (so a batch without ground truth trains nothing instead of giving NaN)."""
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ValueError(f'pred {tuple(pred.shape)} and gt {tuple(gt.shape)} must be the same '
                         f'channel-last [..., 3] shape')
    if tuple(valid.shape) != tuple(pred.shape[:-1]):
        raise ValueError(f'valid mask of shape {tuple(valid.shape)}, expected '
                         f'{tuple(pred.shape[:-1])}')
    valid = valid.bool()
    if not valid.any():
        return pred.sum() * 0.0
    cosines = (F.normalize(pred[valid], dim=-1) * gt[valid].to(pred.dtype)).sum(-1)
    return (1.0 - cosines).mean()


def classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """The ``classify40`` protocol's loss: cross-entropy of logits ``[N, K, H, W]`` against
    codeword labels ``[N, H, W]`` (int64, :data:`IGNORE_INDEX` ignored), averaged over the
    labelled pixels (ssl-transfer's ``NLLLoss(ignore_index=-1)`` of the log-softmax). With no
    labelled pixel, a zero that still belongs to the graph."""
    labels = labels.long()
    if not (labels != IGNORE_INDEX).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX)
