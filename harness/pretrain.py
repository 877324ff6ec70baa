"""Pretraining through mmengine's Runner, cached by the merged config's sha256.

The method's config is completed with the backbone, the data and the seed; its hash names the
pretraining directory. A finished pretraining leaves ``backbone.pth`` (the exported backbone
weights) and ``pretrain.json``; a later run with the same hash reuses them instead of training.
An unfinished one is continued with ``--resume`` (mmengine's resume from the last checkpoint).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from mmengine.config import Config

from harness.api import BackboneExporter, BackboneInfo, MethodInfo, resolve_config
from harness.config import config_sha256, file_sha256
from harness.errors import HarnessError


@dataclass
class PretrainResult:
    backbone_path: str
    config_sha256: str
    checkpoint_sha256: str
    iters: int | None
    epochs: float | None
    reused: bool
    work_dir: str


def build_pretrain_config(method: MethodInfo, backbone: BackboneInfo, *, data_root: Path,
                          ann_file: Path, data_identity: Mapping[str, Any], seed: int,
                          launcher: str, cfg_options: Mapping[str, Any],
                          imports: tuple[str, ...]) -> Config:
    """The merged pretraining config. The harness sets ``model.backbone``, ``model.feat_dim``,
    the train dataset's ``data_root``/``ann_file``, the seed and ``pretrain_data`` (the
    identity of the file list, so the hash changes when the data does)."""
    cfg = Config.fromfile(str(resolve_config(method.config)))
    cfg.model.backbone = dict(backbone.cfg)
    cfg.model.feat_dim = backbone.feat_dim
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.dataset.ann_file = str(ann_file)
    cfg.pretrain_data = dict(data_identity)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.launcher = launcher
    cfg.custom_imports = dict(imports=list(imports), allow_failed_imports=False)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    return cfg


def pretrain_dir(work_root: Path, method: str, backbone: str, sha: str) -> Path:
    return work_root / 'pretrain' / f'{method}_{backbone}_{sha[:12]}'


def read_result(directory: Path) -> PretrainResult | None:
    """The finished pretraining in ``directory``, if there is one."""
    meta = directory / 'pretrain.json'
    if not (meta.is_file() and (directory / 'backbone.pth').is_file()):
        return None
    return PretrainResult(**json.loads(meta.read_text()))


def export_backbone(model, directory: Path, sha: str, iters: int, epochs) -> None:
    """Write ``backbone.pth`` (the weights evaluators load) and ``pretrain.json``, atomically;
    ``pretrain.json`` last, so its presence means the pretraining finished."""
    import torch

    target = directory / 'backbone.pth'
    tmp = target.with_suffix('.tmp')
    torch.save({k: v.detach().cpu() for k, v in model.backbone_state_dict().items()}, tmp)
    os.replace(tmp, target)
    result = PretrainResult(str(target), sha, file_sha256(target), iters, epochs, False,
                            str(directory))
    meta = directory / 'pretrain.json'
    meta.with_suffix('.tmp').write_text(json.dumps(asdict(result), indent=2))
    os.replace(meta.with_suffix('.tmp'), meta)


def run_pretraining(cfg: Config, directory: Path, *, resume: bool) -> PretrainResult:
    """Train with mmengine's Runner in ``directory`` and export the backbone weights."""
    from mmengine.dist import barrier, is_main_process

    from harness.engine import build_runner, prepare_work_dir

    sha = config_sha256(cfg)
    prepare_work_dir(directory, resume=resume, finished=False, what='pretraining')
    cfg.work_dir = str(directory)
    cfg.resume = resume
    cfg.experiment_name = 'pretrain'
    runner = build_runner(cfg)
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    if not isinstance(model, BackboneExporter):
        raise HarnessError(f'{type(model).__name__} has no backbone_state_dict(): a method model '
                           f'must say which weights to transfer (harness.api.BackboneExporter)')
    print(f'[harness] pretraining log: {runner.log_dir}', flush=True)
    runner.train()
    if is_main_process():
        export_backbone(model, directory, sha, runner.iter, cfg.train_cfg.get('max_epochs'))
    barrier()
    return read_result(directory)


def pretrain(cfg: Config, work_root: Path, method: str, backbone: str, *, resume: bool
             ) -> PretrainResult:
    """Reuse the finished pretraining for this config, or run (or resume) it."""
    directory = pretrain_dir(work_root, method, backbone, config_sha256(cfg))
    found = read_result(directory)
    if found is not None:
        found.reused = True
        return found
    return run_pretraining(cfg, directory, resume=resume)
