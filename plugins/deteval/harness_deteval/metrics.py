"""The detection metrics the voc07 and coco evaluators run: mmdet's own ``VOCMetric`` and
``CocoMetric`` (pycocotools underneath), configured once here, and their results as the
harness reports them (percent, the names of the papers' tables).

- VOC07: 11-point mAP at IoU 0.5 (the 2007 protocol: ``AP50``) and its mean over IoU 0.50:0.05:0.95
  (detectron2's VOC "AP", which MoCo reports: ``AP``); difficult boxes are ignored.
- COCO: box AP over IoU 0.50:0.95, AP50 and AP75. A model that detects nothing scores 0 on
  all three (mmdet's CocoMetric returns no numbers at all then; that is recorded as 0, not
  as a crash).
"""
from __future__ import annotations

from typing import Mapping

#: IoU thresholds of the averaged VOC AP: 0.50, 0.55, ..., 0.95
VOC_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * k, 2) for k in range(10))
VOC_METRICS = ('AP50', 'AP')
COCO_METRICS = ('AP', 'AP50', 'AP75')


def voc_metrics() -> list[dict]:
    """mmdet metric configs of the VOC07 protocol: 11-point mAP at IoU 0.5, and averaged over
    :data:`VOC_IOU_THRESHOLDS` (prefixed ``all_iou``)."""
    return [dict(type='mmdet.VOCMetric', metric='mAP', eval_mode='11points', iou_thrs=[0.5]),
            dict(type='mmdet.VOCMetric', metric='mAP', eval_mode='11points',
                 iou_thrs=list(VOC_IOU_THRESHOLDS), prefix='all_iou')]


def coco_metric(ann_file: str) -> dict:
    """mmdet's CocoMetric config for box AP against the COCO annotation file ``ann_file``."""
    return dict(type='mmdet.CocoMetric', ann_file=ann_file, metric='bbox', format_only=False)


def voc_scores(results: Mapping[str, float]) -> dict[str, float]:
    """The VOC metrics' results (``pascal_voc/mAP``, ``all_iou/mAP``, fractions) as percent."""
    return {'AP50': round(100 * float(results['pascal_voc/mAP']), 2),
            'AP': round(100 * float(results['all_iou/mAP']), 2)}


def coco_scores(results: Mapping[str, float]) -> dict[str, float]:
    """CocoMetric's results (``coco/bbox_mAP``, ``_50``, ``_75``, fractions) as percent; all
    0 when there were no detections to score (CocoMetric then reports nothing)."""
    names = {'AP': 'coco/bbox_mAP', 'AP50': 'coco/bbox_mAP_50', 'AP75': 'coco/bbox_mAP_75'}
    return {ours: round(100 * float(results.get(theirs, 0.0)), 2)
            for ours, theirs in names.items()}
