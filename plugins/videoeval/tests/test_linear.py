"""The linear / svm classifiers on known features: exact accuracies, clip averaging, classes
missing from training, and the configuration errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness_videoeval.linear import build_classifier, clip_scores, fit_and_score


def separable(videos_per_class: int, clips: int, classes: int, seed: int = 0):
    """Features whose class is written in one coordinate each (plus small noise)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), videos_per_class)
    x = rng.normal(0, 0.1, (len(labels), clips, classes + 3))
    x[np.arange(len(labels)), :, labels] += 3.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels)


@pytest.mark.parametrize('kind', ['logistic', 'svm'])
def test_separable_features_are_classified_perfectly(kind):
    train_x, train_y = separable(6, 4, 3)
    test_x, test_y = separable(3, 4, 3, seed=1)
    spec = {'type': kind, 'C': 1.0}
    assert fit_and_score(train_x, train_y, test_x, test_y, spec, num_classes=3) == 100.0


def test_a_video_is_classified_by_the_average_of_its_clips():
    """Test video 0 has one clip that looks like class 1 and two like class 0: averaged over
    its clips it is class 0, so top-1 is 100%, though a third of its clips are wrong."""
    train_x, train_y = separable(8, 3, 2)
    test_x = torch.zeros(2, 3, 5)
    test_x[0, :, 0] = 3.0
    test_x[0, 2] = 0
    test_x[0, 2, 1] = 3.0
    test_x[1, :, 1] = 3.0
    score = fit_and_score(train_x, train_y, test_x, torch.tensor([0, 1]),
                          {'type': 'logistic'}, num_classes=2)
    assert score == 100.0
    wrong = fit_and_score(train_x, train_y, test_x, torch.tensor([1, 1]), {'type': 'logistic'},
                          num_classes=2)
    assert wrong == 50.0


def test_classes_absent_from_training_never_win():
    x, y = separable(5, 1, 2)
    classifier = build_classifier({'type': 'svm', 'C': 1.0}).fit(x[:, 0].numpy(), y.numpy())
    scores = clip_scores(classifier, x[:, 0].numpy(), num_classes=4)
    assert scores.shape == (10, 4)
    assert np.isneginf(scores[:, 2:]).all()
    assert (scores[:, :2].argmax(1) == y.numpy()).all()  # binary decision values, both columns


def test_unknown_classifier_is_rejected():
    with pytest.raises(ValueError, match="'logistic' or 'svm'"):
        build_classifier({'type': 'knn'})
