"""The imagenet evaluator: one class runs every image-classification protocol."""
from __future__ import annotations

from harness.api import EvalRequest, EvalResult, import_object

#: protocol name -> 'module:function' running it (imported only when that protocol runs).
PROTOCOLS = {
    'knn': 'harness_imageeval.knn:knn_probe',
    'linear': 'harness_imageeval.linear:linear_probe',
}


class ImageNetEvaluator:
    """Classification probes on an ImageNet-style image folder."""

    def config(self, request: EvalRequest):
        from harness.config import load_eval_config

        return load_eval_config(request)

    def evaluate(self, request: EvalRequest) -> EvalResult:
        return import_object(PROTOCOLS[request.protocol.name])(request)
