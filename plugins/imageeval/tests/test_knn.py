"""The kNN protocol's classifier: against a brute-force reference and a hand-worked case."""
from __future__ import annotations

import math

import pytest
import torch

from harness_imageeval.knn import knn_scores


def brute_force(train_x, train_y, test_x, num_classes, k, temperature):
    scores = []
    for row in test_x:
        sims = [float(torch.dot(row, t) / (row.norm() * t.norm())) for t in train_x]
        order = sorted(range(len(sims)), key=lambda i: -sims[i])[:k]
        votes = [0.0] * num_classes
        for i in order:
            votes[int(train_y[i])] += math.exp(sims[i] / temperature)
        scores.append(votes)
    return torch.tensor(scores)


@pytest.mark.parametrize('k,chunk,bank_chunk', [(20, 1024, 16384), (5, 7, 9), (500, 3, 4),
                                                (20, 4, 1)])
def test_knn_scores_equal_a_brute_force_reference_on_random_features(k, chunk, bank_chunk):
    """float32, streamed over test and train chunks, against a float64 brute force."""
    generator = torch.Generator().manual_seed(0)
    train_x = torch.randn(60, 16, generator=generator)
    train_y = torch.randint(0, 4, (60,), generator=generator)
    test_x = torch.randn(25, 16, generator=generator)
    ours = knn_scores(train_x, train_y, test_x, 6, k=k, temperature=0.07, chunk=chunk,
                      bank_chunk=bank_chunk)
    reference = brute_force(train_x, train_y, test_x, 6, min(k, 60), 0.07)
    assert torch.allclose(ours, reference.float(), rtol=1e-5)
    assert (ours[:, 4:] == 0).all()  # classes no train image has get no votes
    assert torch.equal(ours.argmax(1), reference.argmax(1))


def test_knn_scores_hand_worked():
    """Train rows at 0, 60 and 90 degrees (classes 0, 1, 1); the test row at 0 degrees. With
    k = 2 the neighbours are the rows at 0 (cos 1) and 60 degrees (cos 0.5)."""
    train_x = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 2.0]])
    scores = knn_scores(train_x, torch.tensor([0, 1, 1]), torch.tensor([[3.0, 0.0]]), 2, k=2,
                        temperature=0.5)
    assert torch.allclose(scores, torch.tensor([[math.exp(2.0), math.exp(1.0)]]))


def test_knn_rejects_bad_settings():
    with pytest.raises(ValueError, match='k >= 1'):
        knn_scores(torch.ones(2, 2), torch.tensor([0, 1]), torch.ones(1, 2), 2, k=0)
