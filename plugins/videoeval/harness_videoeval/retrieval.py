"""The ``retrieval`` protocol (docs/methods.md §0): split 1; a video's feature is the mean of
its clips' pooled features (10 uniformly spaced clips); test videos query the train videos by
cosine similarity; R@k is the percentage of test videos with a same-class train video among
their k nearest (:func:`harness_videoeval.recall.recall_at_k`)."""
from __future__ import annotations

from harness.api import EvalRequest, FEATURE_KEYS, FeatureProtocol, Features, integer_list
from harness_videoeval.finetune import views_of
from harness_videoeval.recall import recall_at_k


class Retrieval(FeatureProtocol):
    """Nearest train videos of each test video; R@k for the config's ``ks``."""

    keys = {**FEATURE_KEYS, 'ks': integer_list(1)}

    def score(self, features: Features, cfg, request: EvalRequest, log) -> dict[str, float]:
        ks = tuple(cfg.ks)
        recalls = recall_at_k(features.test_x.mean(1), features.test_y,
                              features.train_x.mean(1), features.train_y, ks=ks)
        return {f'R@{k}': round(100 * recalls[k], 2) for k in ks}

    def views(self, cfg) -> tuple[int, int]:
        return views_of(cfg.feature_pipeline)
