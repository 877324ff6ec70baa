"""The detection protocol ``finetune`` of ``voc07`` and ``coco``: an mmdet Faster R-CNN
fine-tuned end to end from the SSL backbone by mmengine's Runner, then tested on the last
model.

The protocol config is an mmdet config whose backbone- and data-dependent values are None;
:meth:`DetectionFinetune.fill` fills them (:func:`harness_deteval.detector.fit_detector`,
:mod:`harness_deteval.data`) and adds the protocol's metrics (:mod:`harness_deteval.metrics`).
After training, each module that took SSL weights reports what loaded (``harness.SSLPretrained``
fails the run when most of a module's weights did not); the record keeps the reports per
module (:func:`harness.weights.merge_load_reports`).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Mapping

from harness.api import EvalRequest, ConfigError, Filled, RunnerProtocol


def weight_report(model, modules: list[str]) -> dict | None:
    """The load reports of ``modules`` of the built detector, merged; None when nothing was
    loaded (random init)."""
    from harness.api import merge_load_reports

    reports = {name: getattr(attrgetter(name)(model), 'weight_load_report', None)
               for name in modules}
    if not any(reports.values()):
        return None
    unloaded = [name for name, report in reports.items() if report is None]
    if unloaded:
        raise RuntimeError(f"SSL weights reached {', '.join(n for n in reports if reports[n])} "
                           f"but not {', '.join(unloaded)}")
    return merge_load_reports(reports)


class DetectionFinetune(RunnerProtocol):
    """Fine-tunes an mmdet detector from the backbone and scores it on the dataset's test
    side. Subclasses give the datasets (:meth:`data`), the metrics and their scores."""

    imports = ('harness_deteval.modules',)

    def data(self, cfg: dict, request: EvalRequest):
        """The :class:`~harness_deteval.data.DetectionData` of the request's split."""
        raise NotImplementedError

    def metrics(self, ann_file: str | None) -> list[dict]:
        raise NotImplementedError

    def fill(self, cfg: dict, request: EvalRequest) -> Filled:
        from harness_deteval.detector import check_no_downloads, family, fit_detector

        data = self.data(cfg, request)
        cfg['train_dataloader']['dataset'] = data.train
        cfg['test_dataloader']['dataset'] = data.test
        backbone = request.backbone
        cfg['model'] = fit_detector(cfg['model'], backbone.registered_name,
                                    len(request.read_split().classes), request.backbone_weights,
                                    out_stage=backbone.out_stage)
        check_no_downloads(cfg['model'])
        if cfg.get('test_evaluator') is not None:
            raise ConfigError('detection config: test_evaluator is the protocol\'s metrics, set '
                              'by the harness; leave it None')
        cfg['test_evaluator'] = self.metrics(data.ann_file)
        detector = family(cfg['model'])
        split = request.read_split()
        dropped = {reason: n + data.dropped.get(reason, 0)
                   for reason, n in dict(getattr(split, 'dropped', None) or {}).items()}
        settings = dict(detector=detector, train_images=data.train_images, dropped=dropped)
        note = f'{detector} detector, {data.train_images} train images'
        if backbone.out_stage:  # fit_detector let only C4 on a trunk cut after layer3 through
            settings['res5_head'] = (f'random init: the backbone ends at {backbone.out_stage}, '
                                     'the last stage its pretraining trains')
            note += f"; res5 head {settings['res5_head']}"
        return Filled(files=data.files, settings=settings, note=note)

    def weights(self, model: Any, cfg: Any) -> dict | None:
        from harness_deteval.detector import weight_modules

        return weight_report(model, weight_modules(cfg.model))


class VocFinetune(DetectionFinetune):
    """VOC07 test: 11-point AP50 and AP[.50:.95]; trained on the trainval of ``train_sets``
    (the config's, default VOC2007)."""

    def data(self, cfg: dict, request: EvalRequest):
        from harness_deteval import data

        train_sets = cfg.pop('train_sets', None)
        return data.voc_data(cfg['train_dataloader']['dataset'],
                             cfg['test_dataloader']['dataset'], request.data_root,
                             request.read_split(), train_sets or ['VOC2007'], request.lists)

    def metrics(self, ann_file: str | None) -> list[dict]:
        from harness_deteval import metrics

        return metrics.voc_metrics()

    def scores(self, results: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        from harness_deteval import metrics

        return metrics.voc_scores(results)


class CocoFinetune(DetectionFinetune):
    """COCO val2017: box AP, AP50, AP75; trained on train2017."""

    def data(self, cfg: dict, request: EvalRequest):
        from harness_deteval import data

        train_sets = cfg.pop('train_sets', None)
        if train_sets is not None:
            raise ConfigError(f'detection config: train_sets={train_sets!r} is for VOC; a '
                              'coco config trains on train2017')
        return data.coco_data(cfg['train_dataloader']['dataset'],
                              cfg['test_dataloader']['dataset'], request.data_root,
                              request.read_split(), request.lists)

    def metrics(self, ann_file: str | None) -> list[dict]:
        from harness_deteval import metrics

        return [metrics.coco_metric(ann_file)]

    def scores(self, results: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        from harness_deteval import metrics

        return metrics.coco_scores(results)
