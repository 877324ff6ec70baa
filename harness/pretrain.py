"""Pretraining through mmengine's Runner, cached by the pretraining's identity.

The method's config is completed with the backbone, the data and the seed. Its identity
(:func:`harness.identity.pretrain_key`: the merged config's hash, the versions of the
distributions involved and the hash of the code that trains it) names the pretraining
directory. A finished pretraining leaves ``backbone.pth`` (the exported backbone weights) and
``pretrain.json`` (its identity and its own provenance: commit, dirty flag, time); a later run
with the same identity reuses them instead of training. An unfinished one is continued with
``--resume`` (mmengine's resume from the last checkpoint).
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from mmengine.config import Config

from harness.api import BackboneExporter, BackboneInfo
from harness.config import apply_cfg_options, config_sha256, file_sha256, load_pretrain_config
from harness.errors import HarnessError
from harness.identity import pretrain_key, source_sha256
from harness.io import atomic_torch_save, atomic_write_text


@dataclass
class PretrainResult:
    """A finished pretraining, as ``pretrain.json`` describes it.

    key: its identity (cache key); sources: package/module -> sha256 of the code that trained
    it; versions: distribution -> version; provenance: commit, dirty flag, harness version,
    device and times of the run that trained it (kept when a later run reuses it).
    """

    backbone_path: str
    key: str
    config_sha256: str
    checkpoint_sha256: str
    iters: int | None
    epochs: float | None
    reused: bool
    work_dir: str
    sources: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


def config_imports(cfg: Config) -> list[str]:
    return list(cfg.get('custom_imports', {}).get('imports', []))


def build_pretrain_config(config: Path, backbone: BackboneInfo, *, data_root: Path,
                          ann_file: Path, data_identity: Mapping[str, Any], seed: int,
                          launcher: str, cfg_options: Mapping[str, Any]) -> Config:
    """The merged pretraining config: the method's config file over the runtime base, then the
    harness's fields (``model.backbone``, ``model.feat_dim``, the train dataset's
    ``data_root``/``ann_file``, ``pretrain_data`` (the identity of the file list, so the hash
    changes when the data does), the seed, the backbone's imports), then ``cfg_options``."""
    cfg = load_pretrain_config(config)
    cfg.model.backbone = dict(backbone.cfg)
    cfg.model.feat_dim = backbone.feat_dim
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.dataset.ann_file = str(ann_file)
    cfg.pretrain_data = dict(data_identity)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.launcher = launcher
    imports = config_imports(cfg)
    imports += [m for m in backbone.imports if m not in imports]
    cfg.custom_imports = dict(imports=imports, allow_failed_imports=False)
    return apply_cfg_options(cfg, cfg_options, label='pretraining config')


def pretrain_dir(work_root: Path, method: str, backbone: str, key: str) -> Path:
    return work_root / 'pretrain' / f'{method}_{backbone}_{key[:12]}'


def read_result(directory: Path) -> PretrainResult | None:
    """The finished pretraining in ``directory``, if there is one."""
    meta = directory / 'pretrain.json'
    if not (meta.is_file() and (directory / 'backbone.pth').is_file()):
        return None
    fields = json.loads(meta.read_text())
    if 'key' not in fields:  # written by an older harness: not comparable, train again
        return None
    return PretrainResult(**fields)


def changed_code(result: PretrainResult) -> tuple[Path, list[str]] | None:
    """A finished pretraining beside ``result``'s directory with the same config whose code or
    versions differ: (its directory, what changed), to tell the user why it is not reused."""
    for meta in sorted(Path(result.work_dir).parent.glob('*/pretrain.json')):
        other = read_result(meta.parent)
        if other is None or other.config_sha256 != result.config_sha256:
            continue
        changed = sorted(name for name in set(other.sources) | set(result.sources)
                         if other.sources.get(name) != result.sources.get(name))
        changed += sorted(f'{name} {other.versions.get(name)} -> {result.versions.get(name)}'
                          for name in set(other.versions) | set(result.versions)
                          if other.versions.get(name) != result.versions.get(name))
        if changed:
            return meta.parent, changed
    return None


def export_backbone(model, directory: Path, planned: PretrainResult, iters: int, epochs,
                    provenance: Mapping[str, Any]) -> None:
    """Write ``backbone.pth`` (the weights evaluators load) and ``pretrain.json``, atomically;
    ``pretrain.json`` last, so its presence means the pretraining finished."""
    target = directory / 'backbone.pth'
    with unwrapped_children(model):
        weights = {k: v.detach().cpu() for k, v in model.backbone_state_dict().items()}
    atomic_torch_save(weights, target)
    result = PretrainResult(**{**asdict(planned), 'backbone_path': str(target),
                               'checkpoint_sha256': file_sha256(target), 'iters': iters,
                               'epochs': epochs, 'provenance': dict(provenance)})
    atomic_write_text(directory / 'pretrain.json', json.dumps(asdict(result), indent=2))


def check_distributable(wrapped, model) -> None:
    """mmengine's DistributedDataParallel wrapper runs its own train step, so a model with a
    train_step of its own (several optimizers in turn, e.g. VideoMoCo's adversarial step)
    would silently lose it: refuse that, before training. Such a model runs under
    ``MMSeparateDistributedDataParallel``, which wraps each child module in DDP and calls the
    model's own train_step (its config sets ``model_wrapper_cfg``)."""
    from mmengine.model import BaseModel, MMDistributedDataParallel

    if isinstance(wrapped, MMDistributedDataParallel) and \
            type(model).train_step is not BaseModel.train_step:
        raise HarnessError(f'{type(model).__name__} trains with a train_step of its own, which '
                           "mmengine's DistributedDataParallel wrapper would skip: set "
                           "model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel', "
                           'find_unused_parameters=True) in its config, or run it with '
                           '--launcher none')


@contextmanager
def unwrapped_children(model):
    """``model`` with its child modules out of their DDP wrappers for the block (under
    ``MMSeparateDistributedDataParallel`` each child is wrapped, and its state_dict keys would
    gain a ``module.`` prefix); the wrappers are put back afterwards."""
    from mmengine.model import is_model_wrapper

    wrapped = {name: child for name, child in model.named_children() if is_model_wrapper(child)}
    for name, wrapper in wrapped.items():
        setattr(model, name, wrapper.module)
    try:
        yield model
    finally:
        for name, wrapper in wrapped.items():
            setattr(model, name, wrapper)


def run_pretraining(cfg: Config, directory: Path, planned: PretrainResult, *, resume: bool
                    ) -> PretrainResult:
    """Train with mmengine's Runner in ``directory`` and export the backbone weights."""
    from mmengine.dist import barrier, is_main_process

    from harness import __version__
    from harness.engine import build_runner, main_process_first, prepare_work_dir
    from harness.provenance import device_name, git_commit

    with main_process_first():
        prepare_work_dir(directory, resume=resume, finished=False, what='pretraining')
    cfg.work_dir = str(directory)
    cfg.resume = resume
    cfg.experiment_name = 'pretrain'
    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    commit, dirty = git_commit()
    runner = build_runner(cfg)
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    check_distributable(runner.model, model)
    if not isinstance(model, BackboneExporter):
        raise HarnessError(f'{type(model).__name__} has no backbone_state_dict(): a method model '
                           f'must say which weights to transfer (harness.api.BackboneExporter)')
    print(f'[harness] pretraining log: {runner.log_dir}', flush=True)
    runner.train()
    if is_main_process():
        provenance = {'harness_version': __version__, 'git_commit': commit, 'git_dirty': dirty,
                      'device': device_name(), 'started_at': started_at,
                      'duration_s': round(time.monotonic() - started, 1)}
        export_backbone(model, directory, planned, runner.iter,
                        cfg.train_cfg.get('max_epochs'), provenance)
    barrier()
    return read_result(directory)


def plan_pretraining(cfg: Config, work_root: Path, method: str, backbone: str,
                     versions: Mapping[str, str]) -> PretrainResult:
    """The finished pretraining with ``cfg``'s identity (``reused`` True), or the plan of one:
    its key, directory and the weights file it will write (nothing trained yet)."""
    sha = config_sha256(cfg)
    sources = source_sha256(config_imports(cfg))
    key = pretrain_key(sha, versions, sources)
    directory = pretrain_dir(work_root, method, backbone, key)
    found = read_result(directory)
    if found is not None:
        found.reused = True
        return found
    return PretrainResult(str(directory / 'backbone.pth'), key, sha, '', None, None, False,
                          str(directory), sources, dict(versions))


def pretrain(cfg: Config, planned: PretrainResult, *, resume: bool,
             log: Callable[[str], None] = print) -> PretrainResult:
    """Run (or resume) the ``planned`` pretraining; a finished one is returned as it is. When
    the same config was trained by other code, the log says what changed."""
    if planned.reused:
        return planned
    stale = changed_code(planned)
    if stale is not None:
        log(f"the pretraining in {stale[0]} has the same config but was trained by other code "
            f"({', '.join(stale[1])}): training again")
    return run_pretraining(cfg, Path(planned.work_dir), planned, resume=resume)
