"""The detection metrics through the configs the evaluators use: a hand-computed 11-point VOC
mAP, and COCO's empty prediction set scored 0 instead of a crash."""
from __future__ import annotations

import json

import pytest
import torch

from harness_deteval.metrics import coco_metric, coco_scores, voc_metrics, voc_scores


def build(config: dict, classes):
    from mmdet.utils import register_all_modules
    from mmengine.registry import METRICS

    register_all_modules(init_default_scope=False)
    metric = METRICS.build(config)
    metric.dataset_meta = dict(classes=tuple(classes))
    return metric


def sample(gt_boxes, pred_boxes, scores, image_id=0):
    """A data sample as mmdet's detectors and datasets leave it (one class, label 0)."""
    empty = torch.zeros(0, 4)
    return {'img_id': image_id, 'ori_shape': (100, 100),
            'gt_instances': {'bboxes': torch.tensor(gt_boxes, dtype=torch.float32).view(-1, 4),
                             'labels': torch.zeros(len(gt_boxes), dtype=torch.long)},
            'ignored_instances': {'bboxes': empty, 'labels': torch.zeros(0, dtype=torch.long)},
            'pred_instances': {'bboxes': torch.tensor(pred_boxes,
                                                      dtype=torch.float32).view(-1, 4),
                               'scores': torch.tensor(scores, dtype=torch.float32),
                               'labels': torch.zeros(len(scores), dtype=torch.long)}}


def test_voc_11_point_map_hand_value():
    """Two images, one object each. Image 1: a hit (score 0.9) and a false positive (0.8);
    image 2: nothing found. Ranked: TP, FP -> recall 0.5, 0.5 and precision 1, 0.5. The
    11-point AP takes the best precision at recall >= t for t = 0, 0.1, ..., 1: 1 for the six
    t <= 0.5, 0 for the five above: AP = 6/11 = 54.55%, at every IoU threshold (the hit is
    exact)."""
    samples = [sample([[10, 10, 50, 50]], [[10, 10, 50, 50], [60, 60, 90, 90]], [0.9, 0.8]),
               sample([[20, 20, 40, 40]], [], [], image_id=1)]
    results = {}
    for config in voc_metrics():  # evaluate() prefixes the names as mmengine's Evaluator does
        metric = build(config, ['thing'])
        metric.process({}, samples)
        results.update(metric.evaluate(len(samples)))
    assert voc_scores(results) == {'AP50': pytest.approx(54.5, abs=0.06),
                                   'AP': pytest.approx(54.5, abs=0.06)}
    # a detection off by half its width overlaps IoU 1/3: no hit at 0.5, so AP50 = 0
    shifted = [sample([[10, 10, 50, 50]], [[30, 10, 70, 50]], [0.9])]
    metric = build(voc_metrics()[0], ['thing'])
    metric.process({}, shifted)
    assert metric.compute_metrics(metric.results)['mAP'] == 0.0


def test_coco_without_any_detection_scores_zero(tmp_path):
    ann = tmp_path / 'instances_val2017.json'
    ann.write_text(json.dumps({
        'info': {}, 'licenses': [],
        'images': [{'id': 1, 'file_name': '000000000001.jpg', 'width': 100, 'height': 100}],
        'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [10, 10, 40, 40],
                         'area': 1600, 'iscrowd': 0}],
        'categories': [{'id': 1, 'name': 'thing'}]}))
    metric = build(coco_metric(str(ann)), ['thing'])
    metric.process({}, [sample([[10, 10, 50, 50]], [], [], image_id=1)])
    results = metric.evaluate(1)
    assert coco_scores(results) == {'AP': 0.0, 'AP50': 0.0, 'AP75': 0.0}
    # and a perfect detection scores 100 on all three
    metric = build(coco_metric(str(ann)), ['thing'])
    metric.process({}, [sample([[10, 10, 50, 50]], [[10, 10, 50, 50]], [0.9], image_id=1)])
    assert coco_scores(metric.evaluate(1)) == {'AP': 100.0, 'AP50': 100.0, 'AP75': 100.0}
