"""The ``linear`` and ``svm`` protocols: a linear classifier on frozen, pooled backbone features.

Train: every clip of every train video is one sample with its video's label. Test: the
classifier's scores of a test video's clips are averaged (as a multi-clip test averages
predictions) and the top-1 accuracy is mmaction2's ``top_k_accuracy``.

- ``linear``: standardized features, scikit-learn's multinomial ``LogisticRegression``
  (``classifier.C``, ``classifier.max_iter``); clip probabilities averaged.
- ``svm``: BraVe's classifier (docs/methods.md §0): standardized features, ``LinearSVC`` with
  ``classifier.C`` (BraVe's README: 1e-4); clip decision values averaged. BraVe trains it on
  augmented random clips over 10 passes; here the train clips are the same uniformly spaced
  ones as the test clips.
"""
from __future__ import annotations

import numpy as np
import torch

from harness.api import (EvalRequest, FEATURE_KEYS, FeatureProtocol, Features, integer, number,
                         one_of)
from harness_videoeval.finetune import views_of


#: What the ``classifier`` of a config may hold (:func:`build_classifier` reads it).
CLASSIFIER_KEYS = {'classifier.C': number(above=0, required=False),
                   'classifier.max_iter': integer(1, required=False)}


def build_classifier(spec: dict):
    """A scikit-learn pipeline: StandardScaler, then the classifier ``spec`` names."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    kind = spec.get('type')
    if kind == 'logistic':
        model = LogisticRegression(C=spec.get('C', 1.0), max_iter=spec.get('max_iter', 1000))
    elif kind == 'svm':
        model = LinearSVC(C=spec.get('C', 1e-4), max_iter=spec.get('max_iter', 10000))
    else:
        raise ValueError(f"classifier type must be 'logistic' or 'svm', got {kind!r}")
    return make_pipeline(StandardScaler(), model)


def clip_scores(classifier, features: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-clip class scores ``[N, num_classes]`` (probabilities for a model that has them,
    decision values otherwise); classes absent from training score -inf."""
    if hasattr(classifier, 'predict_proba'):
        raw = classifier.predict_proba(features)
    else:
        raw = classifier.decision_function(features)
        if raw.ndim == 1:  # two classes: one decision value for the second
            raw = np.stack([-raw, raw], axis=1)
    scores = np.full((len(features), num_classes), -np.inf)
    scores[:, classifier.classes_] = raw
    return scores


def fit_and_score(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                  test_y: torch.Tensor, spec: dict, num_classes: int) -> float:
    """Top-1 (percent) of a classifier fit on the train clips, test clip scores averaged per
    video. ``*_x``: ``[videos, clips, D]``; ``*_y``: ``[videos]``."""
    from mmaction.evaluation.functional import top_k_accuracy

    clips = train_x.shape[1]
    classifier = build_classifier(spec)
    classifier.fit(train_x.flatten(0, 1).numpy(), train_y.repeat_interleave(clips).numpy())
    scores = clip_scores(classifier, test_x.flatten(0, 1).numpy(), num_classes)
    per_video = scores.reshape(len(test_x), test_x.shape[1], num_classes).mean(1)
    (top1,) = top_k_accuracy(list(per_video), test_y.numpy(), topk=(1,))
    return round(100 * float(top1), 2)


class LinearClassifier(FeatureProtocol):
    """``linear`` and ``svm``: the config's ``classifier`` fit on the train clips' features."""

    keys = {**FEATURE_KEYS, **CLASSIFIER_KEYS,
            'classifier.type': one_of('logistic', 'svm')}

    def score(self, features: Features, cfg, request: EvalRequest, log) -> dict[str, float]:
        num_classes = len(request.read_split().classes)
        log(f'{request.protocol.name}: {cfg.classifier.type} on '
            f'{tuple(features.train_x.shape)} train and {tuple(features.test_x.shape)} test '
            'features')
        return {'top1': fit_and_score(features.train_x, features.train_y, features.test_x,
                                      features.test_y, dict(cfg.classifier), num_classes)}

    def views(self, cfg) -> tuple[int, int]:
        return views_of(cfg.feature_pipeline)
