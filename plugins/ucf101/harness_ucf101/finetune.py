"""The ``finetune`` protocol: mmaction2's Recognizer3D with the SSL backbone, trained on the
split's train list and tested multi-clip on its test list with mmaction2's AccMetric."""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config

from harness import data as datasets
from harness.api import EvalRequest, EvalResult, resolve_config
from harness.config import config_sha256

CROPS = {'ThreeCrop': 3, 'TenCrop': 10}


def test_views(cfg: Config) -> tuple[int, int]:
    """(clips, crops) per test video, read from the test pipeline."""
    clips, crops = 1, 1
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'].endswith('SampleFrames'):
            clips = step.get('num_clips', 1)
        crops = CROPS.get(step['type'].split('.')[-1], crops)
    return clips, crops


def build_config(request: EvalRequest, num_classes: int, train_list: Path, test_list: Path
                 ) -> Config:
    """The protocol's mmaction2 config with the harness's backbone, data, seed and options."""
    cfg = Config.fromfile(str(resolve_config(request.protocol.config)))
    backbone = dict(request.backbone.cfg)
    if request.backbone_weights is not None:
        backbone['init_cfg'] = dict(type='harness.SSLPretrained',
                                    checkpoint=str(request.backbone_weights))
    cfg.model.backbone = backbone
    cfg.model.cls_head.num_classes = num_classes
    cfg.model.cls_head.in_channels = request.backbone.feat_dim
    for loader, ann in ((cfg.train_dataloader, train_list), (cfg.test_dataloader, test_list)):
        loader.dataset.ann_file = str(ann)
        loader.dataset.data_prefix = dict(video=str(request.data_root))
    cfg.randomness = dict(seed=request.seed, deterministic=False)
    cfg.launcher = request.launcher
    cfg.custom_imports = dict(imports=['harness.weights', 'harness.hooks', *request.imports],
                              allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='harness.ProgressBarHook', desc='finetune')]
    if request.cfg_options:
        cfg.merge_from_dict(dict(request.cfg_options))
    return cfg


class FinetuneEvaluator:
    """Finetune all layers, then test the last model (no model selection on the test set)."""

    def evaluate(self, request: EvalRequest) -> EvalResult:
        from harness.engine import build_runner

        split = datasets.layout('ucf101').read_split(request.data_root, request.split)
        lists = request.work_dir.parent / 'lists'
        train_list = datasets.annotation_list(lists, f'ucf101_train{request.split}', split.train)
        test_list = datasets.annotation_list(lists, f'ucf101_test{request.split}', split.test)
        cfg = build_config(request, len(split.classes), train_list, test_list)
        sha = config_sha256(cfg)
        cfg.work_dir = str(request.work_dir)
        cfg.resume = request.resume
        cfg.experiment_name = 'finetune'
        runner = build_runner(cfg)
        print(f'[harness] finetune log: {runner.log_dir}', flush=True)
        runner.train()
        metrics = runner.test()
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        weights = getattr(model.backbone, 'weight_load_report', None)
        clips, crops = test_views(cfg)
        return EvalResult(
            metrics={'top1': round(100 * float(metrics['acc/top1']), 2),
                     'top5': round(100 * float(metrics['acc/top5']), 2)},
            higher_is_better={'top1': True, 'top5': True},
            units={'top1': '%', 'top5': '%'},
            splits=[request.split], clips=clips, crops=crops, config_sha256=sha,
            weights=weights)
