"""The ``finetune`` protocol: mmaction2's Recognizer3D with the SSL backbone, trained on the
split's train list and tested multi-clip x multi-crop on its test list with mmaction2's
AccMetric; the last model is tested (no model selection on the test set)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from harness.api import EvalRequest, RunnerProtocol, top_ks

CROPS = {'ThreeCrop': 3, 'TenCrop': 10}


def views_of(pipeline: Sequence[dict]) -> tuple[int, int]:
    """(clips, crops) per video that an mmaction2 test pipeline produces."""
    clips, crops = 1, 1
    for step in pipeline:
        if step['type'].endswith('SampleFrames'):
            clips = step.get('num_clips', 1)
        crops = CROPS.get(step['type'].split('.')[-1], crops)
    return clips, crops


class Finetune(RunnerProtocol):
    """All layers trained from the SSL backbone; top-1 and top-5 of the test videos (top-5
    only with more than 5 classes)."""

    def fill(self, cfg: dict, request: EvalRequest) -> None:
        num_classes, train_list, test_list = request.split_lists()
        cfg['model']['backbone'] = request.backbone_config()
        cfg['model']['cls_head'].update(num_classes=num_classes,
                                        in_channels=request.backbone.feat_dim)
        for loader, ann in (('train_dataloader', train_list), ('test_dataloader', test_list)):
            cfg[loader]['dataset'].update(ann_file=str(ann),
                                          data_prefix=dict(video=str(request.data_root)))

    def scores(self, metrics: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        classes = len(request.read_split().classes)
        return {f'top{k}': round(100 * float(metrics[f'acc/top{k}']), 2) for k in top_ks(classes)}

    def views(self, cfg: Any) -> tuple[int, int]:
        return views_of(cfg.test_dataloader.dataset.pipeline)
