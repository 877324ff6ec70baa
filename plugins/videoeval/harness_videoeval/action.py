"""The ucf101 and hmdb51 evaluators: one class runs every action-recognition protocol."""
from __future__ import annotations

from harness.api import EvalRequest, EvalResult, import_object

#: protocol name -> 'module:function' running it (imported only when that protocol runs).
PROTOCOLS = {
    'finetune': 'harness_videoeval.finetune:finetune',
    'linear': 'harness_videoeval.linear:linear_probe',
    'svm': 'harness_videoeval.linear:linear_probe',
    'retrieval': 'harness_videoeval.retrieval:retrieval',
}


class ActionEvaluator:
    """Action recognition on a video dataset layout (UCF101, HMDB51)."""

    def config(self, request: EvalRequest):
        if request.protocol.name == 'finetune':
            from harness_videoeval.finetune import build_config

            return build_config(request, *request.split_lists())
        from harness.config import load_eval_config

        return load_eval_config(request)

    def evaluate(self, request: EvalRequest) -> EvalResult:
        return import_object(PROTOCOLS[request.protocol.name])(request)
