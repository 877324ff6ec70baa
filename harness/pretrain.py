"""Pretraining through mmengine's Runner, cached by the pretraining's identity.

The method's config is completed with the backbone, the data and the seed. Its identity
(:func:`harness.identity.pretrain_key`: the merged config's hash, the versions of the
distributions involved and the hash of the code that trains it) names the pretraining
directory. A finished pretraining leaves ``backbone.pth`` (the exported backbone weights) and
``pretrain.json`` (its identity and its own provenance: commit, dirty flag, time); a later run
with the same identity reuses them instead of training. A planned pretraining is a
:class:`PretrainJob`, a finished one a :class:`Pretrained`. An unfinished one is continued with
``--resume`` (mmengine's resume from the last checkpoint).
"""
from __future__ import annotations

import copy
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from mmengine.config import Config

from harness.api import BackboneExporter, BackboneInfo
from harness.config import (apply_cfg_options, config_imports, config_sha256, file_sha256,
                            load_pretrain_config)
from harness.errors import ConfigError, HarnessError
from harness.identity import pretrain_key, source_sha256
from harness.io import atomic_torch_save, atomic_write_text
from harness.schema import RENAMED_IN_V2

#: The files a finished pretraining leaves: the exported backbone weights, and its record
#: (written last: its presence means the pretraining finished).
WEIGHTS_FILE, META_FILE = 'backbone.pth', 'pretrain.json'
#: The digests of the exported tensors as training started (after their initialisation),
#: written when a pretraining starts; a resumed one keeps its first start's.
INITIAL_FILE = 'initial_tensors.json'
#: The config key naming the exported tensors a method means to leave as initialised
#: (fnmatch patterns of state-dict names, e.g. a norm its pretraining never runs).
UNTRAINED_KEY = 'untrained_tensors'


@dataclass(frozen=True)
class Pretrained:
    """A finished pretraining, as ``pretrain.json`` describes it.

    key: its identity (cache key); backbone_path: the exported backbone weights;
    checkpoint_sha256: their sha256; sources: package/module -> sha256 of the code that trained
    it; versions: distribution -> version; provenance: commit, dirty flag, harness version,
    device and times of the run that trained it (kept when a later run reuses it).
    untrained: the exported tensors the pretraining left exactly as initialised (None: not
    known, for a pretraining from an older harness or resumed without its initial digests).
    distributed: how it ran across processes (:meth:`harness.distributed.BatchPlan.as_record`:
    world size, per-process batch, accumulation, effective batch, learning rate,
    normalisation, gathers; None for a pretraining from an older harness).
    param_groups: the param groups its optimizer was built with, each distinct lr (before any
    schedule) and weight decay with its size (:func:`harness.optimizers.param_group_summary`;
    None for a pretraining from an older harness).
    """

    backbone_path: str
    key: str
    config_sha256: str
    checkpoint_sha256: str
    iters: int | None
    epochs: float | None
    work_dir: str
    sources: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    untrained: list[str] | None = None
    distributed: dict[str, Any] | None = None
    param_groups: list[dict[str, Any]] | None = None


@dataclass(frozen=True, eq=False)
class PretrainJob:
    """A pretraining a run needs, planned before anything is trained: its merged config, its
    identity (``key``: :func:`harness.identity.pretrain_key`), the folder it trains in, the
    identity of its data for the record (``data``), the finished pretraining with the same
    identity found in that folder (``finished``), which the run reuses, and how it runs across
    processes (``batch``: :class:`harness.distributed.BatchPlan`)."""

    cfg: Config
    key: str
    config_sha256: str
    work_dir: Path
    sources: Mapping[str, str]
    versions: Mapping[str, str]
    data: Mapping[str, Any]
    finished: Pretrained | None = None
    model_bytes: int | None = None  # the model's parameters and buffers (when it will train)
    batch: Any = None  # harness.distributed.BatchPlan (None: planned without it)

    @property
    def backbone_path(self) -> Path:
        """Where the exported backbone weights are (or will be)."""
        return self.work_dir / WEIGHTS_FILE


#: The top-level key of a pretraining config that says how deep the method trains the
#: backbone: the name of the last stage its loss reaches (one of ``BackboneInfo.stages``).
#: The backbone is then cut after that stage (:meth:`harness.api.BackboneInfo.up_to`) in
#: pretraining and in every evaluation of its weights, so no evaluator reads a stage the
#: pretraining never trained. Absent: the whole backbone.
STAGE_KEY = 'backbone_stage'


def config_stage(config: Path, cfg_options: Mapping[str, Any]) -> str | None:
    """The :data:`STAGE_KEY` of the pretraining config ``config`` with the pretraining's
    ``--cfg-options`` (``cfg_options``, already split from the evaluation's), or None."""
    from harness.config import NEW_KEY, load_config

    for key in (STAGE_KEY, NEW_KEY + STAGE_KEY):
        if key in cfg_options:
            return cfg_options[key]
    return load_config(config, label='pretraining config').get(STAGE_KEY)


def trained_backbone(config: Path, backbone: BackboneInfo, cfg_options: Mapping[str, Any]
                     ) -> BackboneInfo:
    """``backbone`` as the method's config ``config`` trains it: cut after the config's
    :data:`STAGE_KEY` when it names one (one-line ConfigError for a stage the backbone does
    not have), else as it is."""
    return backbone.up_to(config_stage(config, cfg_options))


def build_pretrain_config(config: Path, backbone: BackboneInfo, *, data_root: Path,
                          ann_file: Path, data_identity: Mapping[str, Any], seed: int,
                          launcher: str, cfg_options: Mapping[str, Any]) -> Config:
    """The merged pretraining config: the method's config file over the runtime base, then the
    harness's fields (``model.backbone``, ``model.feat_dim``, the train dataset's
    ``data_root``/``ann_file``, ``pretrain_data`` (the identity of the file list, so the hash
    changes when the data does), the seed, the backbone's imports), then ``cfg_options``.
    A config with a :data:`STAGE_KEY` takes the backbone cut there (:func:`trained_backbone`);
    a whole one is a ConfigError."""
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
    cfg = apply_cfg_options(cfg, cfg_options, label='pretraining config')
    stage = cfg.get(STAGE_KEY)
    if stage is not None and backbone.up_to(stage) is not backbone:
        raise ConfigError(f"pretraining config: {STAGE_KEY}={stage!r} but backbone "
                          f"'{backbone.name}' goes on past it: build the config with the "
                          'backbone cut there (harness.pretrain.trained_backbone), as the runner '
                          'does')
    return cfg


#: Keys of the pretraining data's identity that only count what was left out: the items
#: themselves are identified by ``files_sha256``, so these stay out of the cache key (they are
#: recorded). A pretraining is then the same whichever evaluation asks for it.
BOOKKEEPING_KEYS = ('skipped_items',)


def config_data_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The pretraining data's identity as the merged config's ``pretrain_data`` holds it: what
    decides the items trained on (not :data:`BOOKKEEPING_KEYS`), with the key names of record
    schema 1 (``num_videos``). That config's hash is part of the pretraining cache key, so
    keeping these names when the record's were renamed (schema 2) keeps every finished
    pretraining reusable."""
    old_names = {new: old for old, new in RENAMED_IN_V2['pretrain'].items()}
    return {old_names.get(key, key): value for key, value in identity.items()
            if key not in BOOKKEEPING_KEYS}


def pretrain_dir(work_root: Path, method: str, backbone: str, key: str) -> Path:
    return work_root / 'pretrain' / f'{method}_{backbone}_{key[:12]}'


def read_result(directory: Path) -> Pretrained | None:
    """The finished pretraining in ``directory``, if there is one."""
    meta = directory / META_FILE
    if not (meta.is_file() and (directory / WEIGHTS_FILE).is_file()):
        return None
    fields = json.loads(meta.read_text())
    if 'key' not in fields:  # written by an older harness: not comparable, train again
        return None
    fields.pop('reused', None)  # kept there by earlier harness versions
    return Pretrained(**fields)


def changed_code(result: PretrainJob) -> tuple[Path, list[str]] | None:
    """A finished pretraining beside ``result``'s directory with the same config whose code or
    versions differ: (its directory, what changed), to tell the user why it is not reused."""
    for meta in sorted(Path(result.work_dir).parent.glob(f'*/{META_FILE}')):
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


def tensor_digests(weights: Mapping[str, Any]) -> dict[str, str]:
    """name -> sha256 of the tensor's bytes (its dtype and shape included)."""
    import hashlib

    import torch

    digests = {}
    for name, tensor in weights.items():
        tensor = tensor.detach().cpu().contiguous()
        digest = hashlib.sha256(f'{tensor.dtype} {tuple(tensor.shape)}'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        digests[name] = digest.hexdigest()
    return digests


def exported_weights(model) -> dict[str, Any]:
    """The weights ``model`` transfers (its ``backbone_state_dict``), on the CPU."""
    with unwrapped_children(model):
        return {k: v.detach().cpu() for k, v in model.backbone_state_dict().items()}


def untrained_tensors(weights: Mapping[str, Any], initial_file: Path) -> list[str] | None:
    """The names of ``weights`` whose values equal those recorded in ``initial_file`` as
    training started (None when it was not recorded)."""
    if not initial_file.is_file():
        return None
    initial = json.loads(initial_file.read_text())
    return sorted(name for name, digest in tensor_digests(weights).items()
                  if initial.get(name) == digest)


def initial_weights_hook(model, initial_file: Path, *, resume: bool):
    """A Runner hook that records the digests of ``model``'s exported weights when training
    starts (after mmengine initialised or resumed them): on a fresh start always, on a resumed
    one never (the first start's stay; without them the untrained tensors are unknown)."""
    from mmengine.dist import is_main_process
    from mmengine.hooks import Hook

    class InitialWeights(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner) -> None:
            if is_main_process() and not resume:
                atomic_write_text(initial_file,
                                  json.dumps(tensor_digests(exported_weights(model))))

    return InitialWeights()


def param_groups_hook(model, found: dict):
    """A Runner hook that puts the param groups of the optimizer the Runner built for
    ``model`` (:func:`harness.optimizers.param_group_summary`) into ``found['param_groups']``
    when training starts (after ``auto_scale_lr`` and the schedulers' first values)."""
    from mmengine.hooks import Hook

    from harness.optimizers import param_group_summary

    class ParamGroups(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner) -> None:
            from mmengine.optim import OptimWrapper

            if isinstance(runner.optim_wrapper, OptimWrapper):  # OptimWrapperDict too
                found['param_groups'] = param_group_summary(runner.optim_wrapper, model)

    return ParamGroups()


def export_backbone(model, job: PretrainJob, iters: int, epochs,
                    provenance: Mapping[str, Any],
                    param_groups: list[dict[str, Any]] | None = None) -> None:
    """Write the backbone weights evaluators load and the pretraining's record, atomically; the
    record last, so its presence means the pretraining finished."""
    target = job.backbone_path
    weights = exported_weights(model)
    atomic_torch_save(weights, target)
    result = Pretrained(backbone_path=str(target), key=job.key,
                        config_sha256=job.config_sha256, checkpoint_sha256=file_sha256(target),
                        iters=iters, epochs=epochs, work_dir=str(job.work_dir),
                        sources=dict(job.sources), versions=dict(job.versions),
                        provenance=dict(provenance),
                        untrained=untrained_tensors(weights, job.work_dir / INITIAL_FILE),
                        distributed=job.batch.as_record() if job.batch is not None else None,
                        param_groups=param_groups)
    atomic_write_text(job.work_dir / META_FILE, json.dumps(asdict(result), indent=2))


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


def run_pretraining(job: PretrainJob, *, resume: bool, log: Callable[[str], None] = print
                    ) -> Pretrained:
    """Train ``job`` with mmengine's Runner in its folder and export the backbone weights."""
    from mmengine.dist import barrier, is_main_process
    from mmengine.model import is_model_wrapper

    from harness import __version__
    from harness.engine import build_runner, main_process_first, prepare_work_dir
    from harness.provenance import device_name, distributions_provenance, git_commit

    directory = job.work_dir
    cfg = copy.deepcopy(job.cfg)  # the job's config stays as planned
    with main_process_first():
        prepare_work_dir(directory, resume=resume, finished=False, what='pretraining')
    cfg.work_dir = str(directory)
    cfg.resume = resume
    cfg.experiment_name = 'pretrain'
    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    commit, dirty = git_commit()
    distributions = distributions_provenance(job.versions)  # as the code was when it started
    runner = build_runner(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check_distributable(runner.model, model)
    if not isinstance(model, BackboneExporter):
        raise HarnessError(f'{type(model).__name__} has no backbone_state_dict(): a method model '
                           f'must say which weights to transfer (harness.api.BackboneExporter)')
    runner.register_hook(initial_weights_hook(model, directory / INITIAL_FILE, resume=resume))
    found: dict[str, Any] = {}
    runner.register_hook(param_groups_hook(model, found))
    register_distributed_hooks(runner, cfg, job)
    log(f'pretraining log: {runner.log_dir}')
    try:
        runner.train()
    finally:
        from harness import modules

        modules.TARGET_UPDATES['enabled'] = True
    if is_main_process():
        provenance = {'harness_version': __version__, 'git_commit': commit, 'git_dirty': dirty,
                      'distributions': distributions,
                      'device': device_name(), 'started_at': started_at,
                      'duration_s': round(time.monotonic() - started, 1)}
        export_backbone(model, job, runner.iter, cfg.train_cfg.get('max_epochs'), provenance,
                        found.get('param_groups'))
    barrier()
    return read_result(directory)


def register_distributed_hooks(runner, cfg: Config, job: PretrainJob) -> None:
    """The hooks a pretraining across processes or with gradient accumulation needs: each
    process reseeded by its rank (:func:`harness.distributed.rank_seed_hook`), and target
    networks moved once per optimizer step (:func:`harness.distributed.target_update_hook`)."""
    from harness.distributed import rank_seed_hook, target_update_hook

    runner.register_hook(rank_seed_hook(int((cfg.get('randomness') or {}).get('seed') or 0)))
    accumulation = job.batch.accumulation if job.batch is not None else 1
    if accumulation > 1:
        runner.register_hook(target_update_hook(accumulation))


def plan_pretraining(cfg: Config, work_root: Path, method: str, backbone: str,
                     versions: Mapping[str, str], data: Mapping[str, Any] | None = None,
                     world_size: int = 1) -> PretrainJob:
    """The pretraining with ``cfg``'s identity: its key and folder, and the finished one found
    there (nothing is trained here). ``cfg`` is first fitted to ``world_size`` processes
    (:func:`harness.distributed.plan_batch`: the accumulation that keeps its paper batch, or
    its learning rate scaled), so the identity covers what will run. When no finished one is
    found, the model is built once (:func:`harness.checks.check_model_builds`): a value its
    constructor rejects is a one-line ConfigError now, not a traceback when the Runner
    starts."""
    from harness.checks import check_model_builds
    from harness.distributed import plan_batch

    batch = plan_batch(cfg, world_size)
    sha = config_sha256(cfg)
    sources = source_sha256(config_imports(cfg))
    key = pretrain_key(sha, versions, sources)
    directory = pretrain_dir(work_root, method, backbone, key)
    finished = read_result(directory)
    model_bytes = check_model_builds(cfg, 'pretraining config') if finished is None else None
    return PretrainJob(cfg, key, sha, directory, sources, dict(versions), dict(data or {}),
                       finished, model_bytes, batch)


def pretrain(job: PretrainJob, *, resume: bool, log: Callable[[str], None] = print
             ) -> Pretrained:
    """Run (or resume) ``job``; a finished one is returned as it is. When the same config was
    trained by other code, the log says what changed."""
    if job.finished is not None:
        return job.finished
    stale = changed_code(job)
    if stale is not None:
        log(f"the pretraining in {stale[0]} has the same config but was trained by other code "
            f"({', '.join(stale[1])}): training again")
    return run_pretraining(job, resume=resume, log=log)


def check_untrained(result: Pretrained, cfg: Config) -> None:
    """Stop (one line) when the pretraining left exported tensors as initialised that its
    config does not name as meant to be (:data:`UNTRAINED_KEY`): an evaluator would read
    untrained weights as if they were learnt."""
    from fnmatch import fnmatchcase

    meant = list(cfg.get(UNTRAINED_KEY) or [])
    unexpected = [name for name in result.untrained or []
                  if not any(fnmatchcase(name, pattern) for pattern in meant)]
    if unexpected:
        shown = ', '.join(unexpected[:4]) + (f' and {len(unexpected) - 4} more'
                                             if len(unexpected) > 4 else '')
        raise HarnessError(f'the pretraining in {result.work_dir} left {len(unexpected)} exported '
                           f'tensors exactly as initialised ({shown}): evaluators would read them '
                           f'as learnt weights; if that is meant, name them in the method '
                           f"config's {UNTRAINED_KEY} (fnmatch patterns)")
