"""The detection evaluators ``voc07`` and ``coco``: protocol ``finetune``, an mmdet Faster R-CNN
fine-tuned end to end from the SSL backbone by mmengine's Runner, then tested on the last
model.

The protocol config (``configs/``) is an mmdet config whose backbone- and data-dependent values
are None; :func:`build_config` fills them (:func:`harness_deteval.detector.fit_detector`,
:mod:`harness_deteval.data`) and adds the protocol's metrics (:mod:`harness_deteval.metrics`).
After training, each module that took SSL weights reports what loaded (``harness.SSLPretrained``
fails the run when most of a module's weights did not); the record keeps the reports per
module (:func:`harness.weights.merge_load_reports`).
"""
from __future__ import annotations

import copy
from operator import attrgetter

from mmengine.config import Config

from harness.api import EvalRequest, EvalResult
from harness.errors import ConfigError


def _metrics(dataset: str, ann_file: str | None) -> list[dict]:
    from harness_deteval import metrics

    return metrics.voc_metrics() if dataset == 'voc07' else [metrics.coco_metric(ann_file)]


def _scores(dataset: str, results) -> dict[str, float]:
    from harness_deteval import metrics

    return metrics.voc_scores(results) if dataset == 'voc07' else metrics.coco_scores(results)


def build_config(request: EvalRequest):
    """``(config, data)``: the Runner config of the protocol for ``request`` (its config with
    ``--cfg-options`` applied, the detector fitted to the backbone, the datasets, metrics and
    seed) and the :class:`~harness_deteval.data.DetectionData` whose files it reads."""
    from harness.config import load_eval_config, use_amp
    from harness_deteval import data as det_data
    from harness_deteval.detector import check_no_downloads, fit_detector

    protocol = load_eval_config(request)
    cfg = copy.deepcopy(protocol.to_dict())
    split = request.read_split()
    lists = request.work_dir.parent / 'lists'
    train_sets = cfg.pop('train_sets', None)
    train, test = cfg['train_dataloader']['dataset'], cfg['test_dataloader']['dataset']
    name = request.dataset.name
    if name == 'voc07':
        data = det_data.voc_data(train, test, request.data_root, split,
                                 train_sets or ['VOC2007'], lists)
    elif name == 'coco':
        if train_sets is not None:
            raise ConfigError(f'detection config: train_sets={train_sets!r} is for VOC; a '
                              'coco config trains on train2017')
        data = det_data.coco_data(train, test, request.data_root, split, lists)
    else:
        raise ConfigError(f"the detection protocols read voc07 or coco, not '{name}'")
    cfg['train_dataloader']['dataset'] = data.train
    cfg['test_dataloader']['dataset'] = data.test
    cfg['model'] = fit_detector(cfg['model'], request.backbone.name, len(split.classes),
                                request.backbone_weights)
    check_no_downloads(cfg['model'])
    if cfg.get('test_evaluator') is not None:
        raise ConfigError('detection config: test_evaluator is the protocol\'s metrics, set '
                          'by the harness; leave it None')
    cfg['test_evaluator'] = _metrics(name, data.ann_file)
    cfg['launcher'] = request.launcher
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    imports += [m for m in ('harness.weights', 'harness.hooks', 'harness_deteval.modules')
                if m not in imports]
    cfg['custom_imports'] = dict(imports=imports, allow_failed_imports=False)
    cfg['custom_hooks'] = list(cfg.get('custom_hooks', [])) + [
        dict(type='harness.ProgressBarHook', desc='detection')]
    return use_amp(Config(cfg, filename=protocol.filename), request.amp), data


def weight_report(model, modules: list[str]) -> dict | None:
    """The load reports of ``modules`` of the built detector, merged; None when nothing was
    loaded (random init)."""
    from harness.weights import merge_load_reports

    reports = {name: getattr(attrgetter(name)(model), 'weight_load_report', None)
               for name in modules}
    if not any(reports.values()):
        return None
    unloaded = [name for name, report in reports.items() if report is None]
    if unloaded:
        raise RuntimeError(f"SSL weights reached {', '.join(n for n in reports if reports[n])} "
                           f"but not {', '.join(unloaded)}")
    return merge_load_reports(reports)


class DetectionEvaluator:
    """Fine-tunes an mmdet detector from the backbone and scores it on the dataset's test
    side: VOC07 (11-point AP50 and AP[.50:.95]) or COCO (box AP, AP50, AP75)."""

    def config(self, request: EvalRequest):
        return build_config(request)[0]

    def evaluate(self, request: EvalRequest) -> EvalResult:
        from mmengine.dist import is_main_process
        from mmengine.model import is_model_wrapper

        from harness.checks import check_config
        from harness.config import config_sha256, summarize
        from harness.engine import build_runner, main_process_first
        from harness_deteval.detector import family, weight_modules

        cfg, data = build_config(request)
        check_config(cfg, 'evaluation config')
        sha = config_sha256(cfg)
        with main_process_first():  # the lists every process reads, written once
            if is_main_process():
                data.write()
        cfg.work_dir = str(request.work_dir)
        cfg.resume = request.resume
        cfg.experiment_name = 'detection'
        runner = build_runner(cfg)
        if is_main_process():
            print(f'[harness] {request.dataset.name}/{request.protocol.name}: '
                  f'{family(cfg.model)} detector, {data.train_images} train images; log: '
                  f'{runner.log_dir}', flush=True)
        runner.train()
        results = runner.test()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        scores = _scores(request.dataset.name, results)
        settings = dict(summarize(cfg), detector=family(cfg.model),
                        train_images=data.train_images)
        return EvalResult(metrics=scores, higher_is_better={k: True for k in scores},
                          units={k: '%' for k in scores}, splits=[request.split], clips=1,
                          crops=1, config_sha256=sha,
                          weights=weight_report(model, weight_modules(cfg.model)),
                          settings=settings)
