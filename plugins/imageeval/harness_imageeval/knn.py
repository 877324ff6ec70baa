"""The ``knn`` protocol: weighted k-nearest-neighbour classification on frozen features.

Every val image votes with its ``k`` most similar train images (cosine similarity of
L2-normalised features); a neighbour's vote for its class weighs ``exp(similarity / T)``, as in
InstDisc, DINO and mmselfsup (k = 20, T = 0.07). The number of classes is the dataset's, never
taken from the labels present in the val set.

The neighbours are searched in float32 on the evaluation device, streaming over the val and the
train features (:mod:`harness_imageeval.neighbours`), so an ImageNet-sized train set (1.28M x
2048, memory-mapped from the feature cache) needs memory for a chunk, not a copy of it; the
scores agree with a float64 search up to the order of exactly tied neighbours.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from harness.api import (EvalRequest, FEATURE_KEYS, FeatureProtocol, Features, integer, number,
                         top_ks)
from harness_imageeval.neighbours import cosine_topk


def knn_scores(train_x: Any, train_y: Tensor, test_x: Any, num_classes: int, *,
               k: int = 20, temperature: float = 0.07, chunk: int = 1024,
               bank_chunk: int = 16384, device: torch.device | str | None = None) -> Tensor:
    """Class scores ``[len(test_x), num_classes]`` (float32, CPU): per test row, the sum over
    its ``k`` most cosine-similar train rows of ``exp(sim / temperature)`` into each one's
    class. ``k`` is capped at the number of train rows. The neighbours are found by
    :func:`harness_imageeval.neighbours.cosine_topk` in float32 on ``device`` (default: the
    evaluation device), ``chunk`` test rows against ``bank_chunk`` train rows at a time, so
    memory is bounded by the chunks, not by the train set (which may be memory-mapped)."""
    if k < 1 or temperature <= 0:
        raise ValueError(f'kNN needs k >= 1 and temperature > 0, got k={k}, '
                         f'temperature={temperature}')
    k = min(k, len(train_x))
    sims, index = cosine_topk(test_x, train_x, k, device=device, query_chunk=chunk,
                              bank_chunk=bank_chunk)
    votes = torch.zeros(len(sims), num_classes, dtype=torch.float64)
    votes.scatter_add_(1, torch.as_tensor(train_y)[index], (sims.double() / temperature).exp())
    return votes.float()


class Knn(FeatureProtocol):
    """The config's ``knn`` (``k``, ``temperature``) over the train images' features; top-1
    (and top-5 with at least 5 classes) of the val images."""

    keys = {**FEATURE_KEYS, 'knn.k': integer(1), 'knn.temperature': number(above=0)}

    def settings(self, cfg) -> dict:
        try:
            return dict(knn=dict(k=int(cfg.knn.k), temperature=float(cfg.knn.temperature)))
        except (AttributeError, TypeError, ValueError):  # a bad value: check() reports it
            return {}

    def score(self, features: Features, cfg, request: EvalRequest, log) -> dict[str, float]:
        from mmaction.evaluation.functional import top_k_accuracy

        num_classes = len(request.read_split().classes)
        k, temperature = int(cfg.knn.k), float(cfg.knn.temperature)
        log(f'{request.protocol.name}: k={k}, T={temperature} over {len(features.train_x)} '
            f'train and {len(features.test_x)} val images')
        scores = knn_scores(features.train_x[:, 0], features.train_y, features.test_x[:, 0],
                            num_classes, k=k, temperature=temperature)
        ks = top_ks(num_classes)
        accuracy = top_k_accuracy(list(scores.numpy()), features.test_y.numpy(), topk=ks)
        return {f'top{n}': round(100 * float(value), 2) for n, value in zip(ks, accuracy)}
