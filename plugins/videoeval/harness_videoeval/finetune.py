"""The ``finetune`` protocol: mmaction2's Recognizer3D with the SSL backbone, trained on the
split's train list and tested multi-clip x multi-crop on its test list with mmaction2's
AccMetric."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mmengine.config import Config

from harness.api import EvalRequest, EvalResult
from harness.config import apply_cfg_options, config_sha256, load_config, summarize, use_amp

CROPS = {'ThreeCrop': 3, 'TenCrop': 10}


def views_of(pipeline: Sequence[dict]) -> tuple[int, int]:
    """(clips, crops) per video that an mmaction2 test pipeline produces."""
    clips, crops = 1, 1
    for step in pipeline:
        if step['type'].endswith('SampleFrames'):
            clips = step.get('num_clips', 1)
        crops = CROPS.get(step['type'].split('.')[-1], crops)
    return clips, crops


def build_config(request: EvalRequest, num_classes: int, train_list: Path, test_list: Path
                 ) -> Config:
    """The protocol's mmaction2 config with the harness's backbone, data, seed and options."""
    cfg = load_config(request.config, label='evaluation config')
    cfg.model.backbone = request.backbone_config()
    cfg.model.cls_head.num_classes = num_classes
    cfg.model.cls_head.in_channels = request.backbone.feat_dim
    for loader, ann in ((cfg.train_dataloader, train_list), (cfg.test_dataloader, test_list)):
        loader.dataset.ann_file = str(ann)
        loader.dataset.data_prefix = dict(video=str(request.data_root))
    cfg.randomness = dict(seed=request.seed, deterministic=False)
    cfg.launcher = request.launcher
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    imports += [m for m in ('harness.weights', 'harness.hooks', *request.imports)
                if m not in imports]
    cfg.custom_imports = dict(imports=imports, allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='harness.ProgressBarHook', desc='finetune')]
    apply_cfg_options(cfg, request.cfg_options, label='evaluation config', prefix='eval.')
    return use_amp(cfg, request.amp)


def finetune(request: EvalRequest) -> EvalResult:
    """Finetune all layers, then test the last model (no model selection on the test set)."""
    from harness.checks import check_config
    from harness.engine import build_runner

    cfg = build_config(request, *request.split_lists())
    check_config(cfg, 'evaluation config')
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
    clips, crops = views_of(cfg.test_dataloader.dataset.pipeline)
    return EvalResult(
        metrics={'top1': round(100 * float(metrics['acc/top1']), 2),
                 'top5': round(100 * float(metrics['acc/top5']), 2)},
        higher_is_better={'top1': True, 'top5': True},
        units={'top1': '%', 'top5': '%'},
        splits=[request.split], clips=clips, crops=crops, config_sha256=sha,
        weights=weights, settings=summarize(cfg))
