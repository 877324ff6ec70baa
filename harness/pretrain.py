"""Pretraining through mmengine's Runner, cached by the merged config's sha256.

The method's config is completed with the backbone, the data and the seed; its hash names the
pretraining directory. A finished pretraining leaves ``backbone.pth`` (the exported backbone
weights) and ``pretrain.json``; a later run with the same hash reuses them instead of training.
An unfinished one is continued with ``--resume`` (mmengine's resume from the last checkpoint).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from mmengine.config import Config

from harness.api import BackboneInfo, MethodInfo, resolve_config
from harness.config import config_sha256, file_sha256


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


def cached(directory: Path) -> PretrainResult | None:
    """The finished pretraining in ``directory``, if there is one."""
    meta = directory / 'pretrain.json'
    if not (meta.is_file() and (directory / 'backbone.pth').is_file()):
        return None
    result = PretrainResult(**json.loads(meta.read_text()))
    result.reused = True
    return result


def run_pretraining(cfg: Config, directory: Path, *, resume: bool) -> PretrainResult:
    """Train with mmengine's Runner in ``directory`` and export the backbone weights."""
    import torch
    from mmengine.dist import is_main_process

    from harness.engine import build_runner

    sha = config_sha256(cfg)
    if not resume and directory.exists():
        shutil.rmtree(directory)  # an interrupted pretraining without --resume starts over
    directory.mkdir(parents=True, exist_ok=True)
    cfg.work_dir = str(directory)
    cfg.resume = resume
    cfg.experiment_name = 'pretrain'
    runner = build_runner(cfg)
    print(f'[harness] pretraining log: {runner.log_dir}', flush=True)
    runner.train()
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    result = None
    if is_main_process():
        target = directory / 'backbone.pth'
        tmp = target.with_suffix('.tmp')
        torch.save({k: v.detach().cpu() for k, v in model.backbone_state_dict().items()}, tmp)
        os.replace(tmp, target)
        epochs = cfg.train_cfg.get('max_epochs')
        result = PretrainResult(str(target), sha, file_sha256(target), runner.iter, epochs,
                                False, str(directory))
        meta = directory / 'pretrain.json'
        meta.with_suffix('.tmp').write_text(json.dumps(asdict(result), indent=2))
        os.replace(meta.with_suffix('.tmp'), meta)
    return result


def pretrain(cfg: Config, work_root: Path, method: str, backbone: str, *, resume: bool
             ) -> PretrainResult:
    """Reuse the cached pretraining for this config, or run it."""
    sha = config_sha256(cfg)
    directory = pretrain_dir(work_root, method, backbone, sha)
    found = cached(directory)
    if found is not None:
        return found
    return run_pretraining(cfg, directory, resume=resume)
