"""A run as a list of jobs, each built once: planning reads and probes the data, checks that
pretraining and testing stay disjoint, plans each pretraining (or finds it finished) and
prepares each evaluation (its merged config checked), before anything is trained.

A :class:`Job` is one (seed, split) evaluation: the split as read (unreadable items removed and
counted), the pretraining it uses (None for a method that does not pretrain; shared by the jobs
that use the same one), the request, the prepared evaluation and its key
(:func:`evaluation_key`), which names the evaluation's folder: a ``--resume`` finds there only an
evaluation made with the same settings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import harness
from harness import data as datasets
from harness.api import EvalRequest
from harness.config import split_cfg_options, summarize, use_amp
from harness.engine import main_process_first
from harness.errors import DataError
from harness.evaluate import Prepared, Protocol, protocol_for
from harness.plugins import Registered
from harness.pretrain import PretrainJob
from harness.run.plan import DataSource, RunPlan

Log = Callable[[str], None]


@dataclass(frozen=True)
class EvalSplit:
    """A split of the evaluation data as the run evaluates it: its items without the
    unreadable ones, and how many were left out (``missing`` on disk, ``unreadable``)."""

    split: Any
    skipped: Mapping[str, int]

    @property
    def name(self) -> str:
        return self.split.name


@dataclass(frozen=True, eq=False)
class Job:
    """One evaluation of a run (see the module doc)."""

    seed: int
    split: EvalSplit
    pretraining: PretrainJob | None
    request: EvalRequest
    protocol: Protocol
    prepared: Prepared
    key: str = ''


def readable(plan: RunPlan, source: DataSource, items: Sequence[Any], what: str, log: Log
             ) -> tuple[list[Any], int]:
    """``items`` without unreadable files, and how many were removed; a DataError when more
    than ``plan.max_unreadable`` of them are unreadable."""
    from harness.data.readable import NOUNS, check_unreadable, probe_items

    kind = source.dataset.modality
    cache = plan.work_dir / 'probe' / f'{source.name}_{source.label}.json'
    with main_process_first():  # probed once, the cache read by the others
        bad = set(probe_items(source.root, items, kind, cache_file=cache).unreadable)
    check_unreadable(len(bad), len(items), plan.max_unreadable, examples=sorted(bad),
                     noun=NOUNS[kind])
    if bad:
        log(f'warning: {len(bad)} unreadable {NOUNS[kind]} in {what} skipped (e.g. '
            f'{sorted(bad)[0]}); counted in the record')
    return [item for item in items if item.path not in bad], len(bad)


def eval_split(plan: RunPlan, name: str, log: Log) -> EvalSplit:
    """Split ``name`` of the evaluation data without its unreadable items."""
    from harness.data.readable import NOUNS

    split = plan.eval_data.read_split(name)
    if split.missing:
        log(f'warning: {split.missing} {NOUNS[plan.eval_data.dataset.modality]} listed in split '
            f'{name} are not on disk and were skipped')
    kept, bad = readable(plan, plan.eval_data, split.train + split.test, f'split {name}', log)
    kept_paths = {item.path for item in kept}
    split = replace(split, train=tuple(i for i in split.train if i.path in kept_paths),
                    test=tuple(i for i in split.test if i.path in kept_paths))
    return EvalSplit(split, {'missing': split.missing, 'unreadable': bad})


def file_sizes(root: Path, items: Sequence[Any]) -> dict[str, int]:
    """``{item path: size in bytes}`` of the items on disk (missing ones left out)."""
    sizes = {item.path: datasets.file_size(root, item.path) for item in items}
    return {path: size for path, size in sizes.items() if size >= 0}


def check_disjoint(pretrain: DataSource, items: Sequence[Any], evaluation: DataSource,
                   tests: Mapping[str, Sequence[Any]]) -> None:
    """No pretraining item may be a test item of an evaluated split: the same file (by its
    resolved path) or a copy of it anywhere (the same size and content, compared only for
    files whose sizes match, so a large set is stat-ed, not read)."""
    from harness.config import file_sha256
    from harness.data.readable import NOUNS

    pretrain_sizes = file_sizes(pretrain.root, items)
    pretrain_files = {os.path.realpath(pretrain.root / path) for path in pretrain_sizes}
    by_size: dict[int, list[str]] = {}
    for path, size in pretrain_sizes.items():
        by_size.setdefault(size, []).append(path)
    hashes: dict[str, str] = {}

    def digest(path: Path) -> str:
        key = os.path.realpath(path)
        if key not in hashes:
            hashes[key] = file_sha256(path)
        return hashes[key]

    for split, test in tests.items():
        shared = []
        for path, size in sorted(file_sizes(evaluation.root, test).items()):
            target = evaluation.root / path
            if os.path.realpath(target) in pretrain_files or (size > 0 and any(
                    digest(pretrain.root / other) == digest(target)
                    for other in by_size.get(size, ()))):
                shared.append(path)
        if shared:
            raise DataError(f'the pretraining set ({pretrain.name}, {pretrain.root}) holds '
                            f'{len(shared)} test {NOUNS[evaluation.dataset.modality]} of '
                            f'{evaluation.name} split {split} (e.g. {shared[0]}, the same file '
                            'or a copy of it); pretrain on a set without them')


def pretraining_set(plan: RunPlan, split: EvalSplit, tests: Mapping[str, Sequence[Any]],
                    log: Log) -> tuple[list[Any], dict[str, Any]]:
    """The items (videos or images) the method pretrains on for evaluated split ``split``, and
    their identity for the record: dataset, data, split used, number of items, the sha256 of
    their files with sizes (:func:`harness.data.files_sha256`), items left out. ``tests``: the
    test items of every evaluated split."""
    from harness.data.readable import NOUNS

    source = plan.pretrain_data
    skipped = None  # per-split pretraining: counted with the evaluated split
    if plan.pretrains_per_split:
        used, items = split.name, list(split.split.train)
        tests = {split.name: split.split.test}
    else:
        used = source.dataset.module().SPLITS[0]
        full = source.read_split(used)
        if full.missing:
            log(f'warning: {full.missing} {NOUNS[source.dataset.modality]} listed in {source.name} '
                'are not on disk and were skipped')
        items, bad = readable(plan, source, full.train, f'the {source.name} pretraining set',
                              log)
        skipped = {'missing': full.missing, 'unreadable': bad}
    check_disjoint(source, items, plan.eval_data, tests)
    if not items:
        raise DataError(f'the pretraining set {source.name} at {source.root} has no readable '
                        f'training {NOUNS[source.dataset.modality]}')
    identity = {'dataset': source.name, 'data': source.label, 'split': used,
                'num_items': len(items),
                'files_sha256': datasets.files_sha256(source.root, items)}
    if skipped is not None:
        identity['skipped_items'] = skipped
    return items, identity


def component_versions(*entries: Registered) -> dict[str, str]:
    """Versions of the harness and of the distributions of ``entries``."""
    versions = {'ssl-harness': harness.__version__}
    for entry in entries:
        versions[entry.plugin.distribution or entry.plugin.module] = \
            entry.plugin.version or 'unknown'
    return versions


def plan_pretraining_job(plan: RunPlan, items: Sequence[Any], identity: Mapping[str, Any],
                         seed: int) -> PretrainJob:
    """The pretraining of ``items`` with ``seed``: its merged config (checked) and identity."""
    from harness.checks import check_config
    from harness.pretrain import build_pretrain_config, config_data_identity, plan_pretraining
    from harness.sources import unverified_settings

    ann_file = datasets.annotation_list(
        plan.work_dir / 'lists', f'{plan.pretrain_data.name}_pretrain{identity["split"]}', items)
    pretrain_options, _ = split_cfg_options(plan.cfg_options)
    backbone = plan.backbone.info
    cfg = build_pretrain_config(plan.method_config[1], backbone,
                                data_root=plan.pretrain_data.root, ann_file=ann_file,
                                data_identity=config_data_identity(identity), seed=seed,
                                launcher=plan.launcher, cfg_options=pretrain_options)
    use_amp(cfg, plan.amp)
    check_config(cfg, 'pretraining config')
    data = dict(identity, config=plan.method_config[0], seed=seed,
                unverified=unverified_settings(plan.method_config[1]), **summarize(cfg))
    from mmengine.dist import get_world_size

    return plan_pretraining(cfg, plan.work_dir, plan.method.info.name, backbone.name,
                            component_versions(plan.method, plan.backbone), data,
                            world_size=get_world_size())


def eval_request(plan: RunPlan, pretraining: PretrainJob | None, split: Any, seed: int
                 ) -> EvalRequest:
    """The request of one evaluation; its folder (under the run's ``eval/``) is named by what
    it evaluates and ends with its :func:`evaluation_key` (see :func:`keyed`)."""
    _, eval_options = split_cfg_options(plan.cfg_options)
    tag = pretraining.key[:12] if pretraining else \
        f'external-{plan.weights.key[:12]}' if plan.weights else 'random'
    work_dir = (plan.work_dir / 'eval' /
                f'{plan.method.info.name}_{plan.backbone.info.name}_{tag}_'
                f'{plan.evaluator.info.name}_{plan.protocol.name}_'
                f'{Path(plan.eval_config[0]).stem}_split{split.name}_seed{seed}')
    return EvalRequest(
        protocol=plan.protocol, backbone=plan.backbone.info,
        backbone_weights=pretraining.backbone_path if pretraining else
        plan.weights.backbone_path if plan.weights else None,
        dataset=plan.eval_data.dataset, data_root=plan.eval_data.root, work_dir=work_dir,
        split=split.name, seed=seed, config=plan.eval_config[1], resume=plan.resume,
        launcher=plan.launcher, cfg_options=eval_options,
        imports=tuple(plan.backbone.info.imports), data_split=split,
        cache_dir=plan.work_dir / 'features', lists_dir=plan.work_dir / 'lists', amp=plan.amp)


def split_identity(plan: RunPlan, split: EvalSplit) -> dict[str, Any]:
    """The evaluated data as an evaluation's key holds it: dataset, split, and its train and
    test files with their sizes (:func:`harness.data.files_sha256`); computed once per split."""
    return {'dataset': plan.eval_data.name, 'split': split.name,
            'train': datasets.files_sha256(plan.eval_data.root, split.split.train),
            'test': datasets.files_sha256(plan.eval_data.root, split.split.test)}


def evaluation_key(plan: RunPlan, pretraining: PretrainJob | None, request: EvalRequest,
                   protocol: Protocol, data: Mapping[str, Any]) -> str:
    """The key of one evaluation (:func:`harness.identity.evaluation_key`): its config as
    loaded with the request's seed and ``--cfg-options``, the protocol, backbone, method,
    pretraining (or external weights: their file and key mapping), the evaluated data (``data``: :func:`split_identity`), the precision and the
    code that evaluates (the protocol's plugin and the config's imports)."""
    from harness.config import config_sha256, load_eval_config
    from harness.identity import evaluation_key as key, source_sha256

    cfg = load_eval_config(request)
    modules = [type(protocol).__module__, *request.imports,
               *cfg.get('custom_imports', {}).get('imports', [])]
    info = plan.backbone.info
    return key(config_sha256=config_sha256(cfg),
               protocol={'evaluator': plan.evaluator.info.name, 'name': plan.protocol.name,
                         'version': plan.protocol.version},
               backbone=f'{info.name}:{info.cut_from or ""}:{info.out_stage or ""}',
               method=f'{plan.method.info.name}:{plan.reference_variant or ""}',
               pretraining=pretraining.key if pretraining else
               f'external:{plan.weights.key}' if plan.weights else None, data=data,
               seed=request.seed, amp=request.amp, sources=source_sha256(modules))


def keyed(request: EvalRequest, key: str) -> EvalRequest:
    """``request`` with its folder named by ``key`` as well (its first 8 characters)."""
    return replace(request, work_dir=request.work_dir.with_name(
        f'{request.work_dir.name}_{key[:8]}'))


def plan_jobs(plan: RunPlan, log: Log) -> list[Job]:
    """Every job of the run, in run order (seeds, then splits). Each evaluated split is read
    and probed once; each pretraining is planned once: one per split when the pretraining set
    is the evaluation dataset, else one for all the splits of a seed (of
    ``plan.pretrain_seed`` when that is set); each evaluation config is built and checked
    once."""
    splits = {name: eval_split(plan, name, log) for name in plan.splits}
    identities = {name: split_identity(plan, split) for name, split in splits.items()}
    tests = {name: split.split.test for name, split in splits.items()}
    protocol = protocol_for(plan.protocol)
    sets: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    pretrainings: dict[tuple[int, str], PretrainJob] = {}
    jobs = []
    for seed in plan.seeds:
        for name, split in splits.items():
            pretraining = None
            if plan.pretrains:
                pretrain_seed = seed if plan.pretrain_seed is None else plan.pretrain_seed
                scope = name if plan.pretrains_per_split else ''
                if scope not in sets:
                    sets[scope] = pretraining_set(plan, split, tests, log)
                if (pretrain_seed, scope) not in pretrainings:
                    pretrainings[pretrain_seed, scope] = plan_pretraining_job(
                        plan, *sets[scope], pretrain_seed)
                pretraining = pretrainings[pretrain_seed, scope]
            request = eval_request(plan, pretraining, split.split, seed)
            key = evaluation_key(plan, pretraining, request, protocol, identities[name])
            request = keyed(request, key)
            prepared = protocol.prepare(request)
            protocol.check(prepared)
            jobs.append(Job(seed, split, pretraining, request, protocol, prepared, key))
    return jobs
