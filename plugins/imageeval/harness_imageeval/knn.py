"""The ``knn`` protocol: weighted k-nearest-neighbour classification on frozen features.

Every val image votes with its ``k`` most similar train images (cosine similarity of
L2-normalised features); a neighbour's vote for its class weighs ``exp(similarity / T)``, as in
InstDisc, DINO and mmselfsup (k = 20, T = 0.07). The number of classes is the dataset's, never
taken from the labels present in the val set.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from harness.api import (EvalRequest, FEATURE_KEYS, FeatureProtocol, Features, integer, number,
                         top_ks)


def knn_scores(train_x: Tensor, train_y: Tensor, test_x: Tensor, num_classes: int, *,
               k: int = 20, temperature: float = 0.07, chunk: int = 1024) -> Tensor:
    """Class scores ``[len(test_x), num_classes]``: per test row, the sum over its ``k`` most
    cosine-similar train rows of ``exp(sim / temperature)`` into each one's class. ``k`` is
    capped at the number of train rows; test rows are processed ``chunk`` at a time."""
    if k < 1 or temperature <= 0:
        raise ValueError(f'kNN needs k >= 1 and temperature > 0, got k={k}, '
                         f'temperature={temperature}')
    train = F.normalize(train_x.double(), dim=1)
    test = F.normalize(test_x.double(), dim=1)
    k = min(k, len(train))
    scores = []
    for start in range(0, len(test), chunk):
        sims, index = (test[start:start + chunk] @ train.T).topk(k, dim=1)
        votes = torch.zeros(len(sims), num_classes, dtype=torch.float64)
        votes.scatter_add_(1, train_y[index], (sims / temperature).exp())
        scores.append(votes)
    return torch.cat(scores).float()


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
