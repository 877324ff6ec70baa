"""The ``retrieval`` protocol (docs/methods.md §0): split 1; a video's feature is the mean of
its clips' pooled features (10 uniformly spaced clips); test videos query the train videos by
cosine similarity; R@k is the percentage of test videos with a same-class train video among
their k nearest (:func:`harness_videoeval.recall.recall_at_k`)."""
from __future__ import annotations

from harness.api import EvalRequest, EvalResult
from harness.config import config_sha256, load_eval_config, summarize
from harness_videoeval.features import split_features
from harness_videoeval.finetune import views_of
from harness_videoeval.recall import recall_at_k


def retrieval(request: EvalRequest) -> EvalResult:
    cfg = load_eval_config(request)
    train_x, train_y, test_x, test_y, weights = split_features(request, cfg)
    ks = tuple(cfg.ks)
    recalls = recall_at_k(test_x.mean(1), test_y, train_x.mean(1), train_y, ks=ks)
    metrics = {f'R@{k}': round(100 * recalls[k], 2) for k in ks}
    clips, crops = views_of(cfg.feature_pipeline)
    return EvalResult(metrics=metrics, higher_is_better={name: True for name in metrics},
                      units={name: '%' for name in metrics}, splits=[request.split],
                      clips=clips, crops=crops, config_sha256=config_sha256(cfg),
                      weights=weights, settings=summarize(cfg))
