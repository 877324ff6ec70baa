"""One run: resolve names and configs -> pretrain (cached) -> evaluate -> record.

The pretraining set (``--pretrain-data``) is chosen independently of the evaluation data
(``--eval``/``--data``). It never holds a test item (video or image) of an evaluated split:
when it is the evaluation dataset itself, each split pretrains on its own train list; otherwise
one pretraining serves every split, and a pretraining item that is also a test item of an
evaluated split (the same file) stops the run before anything is trained.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import harness
from harness import data as datasets
from harness.api import (DatasetInfo, EvalRequest, EvalResult, MethodInfo, ProtocolInfo,
                         import_object, pick_config)
from harness.config import split_cfg_options, summarize, use_amp
from harness.engine import init_distributed, main_process_first, prepare_work_dir
from harness.errors import DataError, HarnessError, PluginError
from harness.plugins import PluginManager, Registered
from harness.pretrain import PretrainResult
from harness.provenance import device_name, git_commit, package_versions
from harness.results import RENAMED_IN_V2, SCHEMA_VERSION, atomic_write_text

Log = Callable[[str], None]


@dataclass
class RunOptions:
    """What ``harness run`` was asked to do."""

    method: str
    eval: str
    backbone: str | None = None
    protocol: str | None = None
    data: str = 'demo'
    split: str | None = None  # None: the evaluator's first split
    work_dir: str = 'work_dirs'
    seeds: tuple[int, ...] | None = None  # None: the evaluation config's ``seeds``, else (0,)
    resume: bool = False
    launcher: str = 'none'
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    records_dir: str | None = None
    max_unreadable: float = 0.05
    config: str | None = None
    eval_config: str | None = None
    pretrain_data: str | None = None
    dry_run: bool = False
    amp: str | None = None


@dataclass
class DataSource:
    """A dataset on disk: the registered layout, its root, and whether it is demo data."""

    dataset: DatasetInfo
    root: Path
    is_demo: bool

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def label(self) -> str:
        return 'demo' if self.is_demo else 'real'

    def read_split(self, split: str):
        return self.dataset.module().read_split(self.root, split)


@dataclass
class RunPlan:
    """A resolved run: the components, their configs, the data, and where things go.

    method_config / eval_config: ``(name, file)`` of the configs used (``--config``,
    ``--eval-config``). splits: the splits evaluated (``--split all``: every split of the
    protocol). seeds: every seed runs the whole pretraining and evaluation (``--seeds``).
    pretrain_data: the pretraining set (None for a method that does not pretrain).
    """

    method: Registered
    backbone: Registered
    evaluator: Registered
    protocol: ProtocolInfo
    method_config: tuple[str, Path] | None
    eval_config: tuple[str, Path]
    eval_data: DataSource
    pretrain_data: DataSource | None
    splits: tuple[str, ...]
    work_dir: Path
    seeds: tuple[int, ...]
    resume: bool
    launcher: str
    cfg_options: Mapping[str, Any]
    records_dir: Path
    max_unreadable: float = 0.05
    dry_run: bool = False
    amp: str | None = None
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    test_items: dict[str, int] = field(default_factory=dict)
    pretrained: dict[tuple[int, str], PlannedPretraining] = field(default_factory=dict)
    #: the seed of the one pretraining every seed evaluates (the evaluation config's ``seeds``
    #: are fine-tuning trials of one pretrained model); None: each seed pretrains on its own
    pretrain_seed: int | None = None

    @property
    def pretrains_per_split(self) -> bool:
        """Whether each evaluated split pretrains on its own train list (the pretraining set
        is the evaluation dataset)."""
        return self.pretrain_data is not None and self.pretrain_data.name == self.eval_data.name

    @property
    def data_label(self) -> str:
        demo = self.eval_data.is_demo or (self.pretrain_data and self.pretrain_data.is_demo)
        return 'demo' if demo else 'real'


# ------------------------------------------------------------------------------- planning


def plan_run(pm: PluginManager, options: RunOptions) -> RunPlan:
    """Resolve every name, config and data root; any problem is a one-line HarnessError,
    raised before anything is trained."""
    from harness.checks import check_launcher

    method = pm.get('method', options.method)
    evaluator = pm.get('evaluator', options.eval)
    if options.backbone:  # the method's variant for the named backbone's kind of data
        kind = pm.get('backbone', options.backbone).info.data
    else:  # the variant for the evaluator's data
        kind = evaluator.info.data
    variant = method.info.for_data(kind)
    if variant is None:
        raise HarnessError(f"method '{method.info.name}' trains on "
                           f"{' and '.join(method.info.kinds)}, not on {kind}; pick a "
                           f"{' or '.join(method.info.kinds)} evaluator or backbone (see "
                           "'harness list')")
    method = replace(method, info=variant)
    backbone = pm.get('backbone', options.backbone or method.info.default_backbone)
    if method.info.data not in ('any', backbone.info.data):
        raise HarnessError(f"backbone '{backbone.info.name}' takes {backbone.info.data} but "
                           f"method '{method.info.name}' trains on {method.info.data}; "
                           f"pick a {method.info.data} backbone (see 'harness list')")
    if evaluator.info.data not in ('any', backbone.info.data):
        raise HarnessError(f"evaluator '{evaluator.info.name}' takes {evaluator.info.data} but "
                           f"backbone '{backbone.info.name}' takes {backbone.info.data}; pick "
                           f"a {evaluator.info.data} backbone with --backbone (see 'harness "
                           "list')")
    protocols = [p.name for p in evaluator.info.protocols]
    protocol_name = options.protocol or protocols[0]
    if protocol_name not in protocols:
        raise PluginError(f"evaluator '{evaluator.info.name}' has no protocol "
                          f"'{protocol_name}'; its protocols: {', '.join(protocols)}")
    protocol = evaluator.info.protocol(protocol_name)
    method_config = None
    if method.info.pretrains:
        method_config = pick_config(method.info.configs, options.config,
                                    f"method '{method.info.name}'")
    elif options.config:
        raise HarnessError(f"method '{method.info.name}' does not pretrain, so it takes no "
                           '--config; drop it')
    eval_config = pick_config(protocol.configs, options.eval_config,
                              f"protocol '{evaluator.info.name}/{protocol.name}'")
    splits = resolve_splits(evaluator.info.name, evaluator.info.splits, protocol, options.split)
    if not 0 <= options.max_unreadable <= 1:
        raise HarnessError(f'--max-unreadable is a fraction in [0, 1], got '
                           f'{options.max_unreadable}')
    check_launcher(options.launcher)
    check_amp(options.amp)
    init_distributed(options.launcher)
    work_dir = Path(options.work_dir).expanduser().resolve()
    records_dir = Path(options.records_dir).expanduser().resolve() if options.records_dir \
        else work_dir / 'records'
    check_writable(records_dir, '--records-dir')
    check_writable(work_dir, '--work-dir')
    eval_dataset = pm.get('dataset', evaluator.info.dataset).info
    eval_data = data_source(eval_dataset, options.data, work_dir, '--data')
    eval_data.read_split(splits[0])  # a root without the layout fails here, not after pretraining
    if options.backbone is None and eval_data.is_demo and backbone.info.demo_standin:
        # the default's cheaper sibling, so a CPU demo pretrains long enough to learn
        # something; every method on the demo gets it, random init included
        backbone = pm.get('backbone', backbone.info.demo_standin)
    if not method.info.trains(backbone.info.name):
        raise HarnessError(f"method '{method.info.name}' trains only the backbones "
                           f"{', '.join(method.info.backbones)}, not '{backbone.info.name}'; "
                           'pick one of them with --backbone')
    pretrain_data = None
    if method.info.pretrains:
        pretrain_data = resolve_pretrain_data(
            pm, options.pretrain_data, eval_data,
            method.info.demo_pretrain or evaluator.info.demo_pretrain, work_dir)
        check_pretrain_kind(method.info, pretrain_data)
    elif options.pretrain_data:
        raise HarnessError(f"method '{method.info.name}' does not pretrain, so it takes no "
                           '--pretrain-data; drop it')
    trials = None if options.seeds else config_seeds(eval_config[1])
    return RunPlan(method, backbone, evaluator, protocol, method_config, eval_config, eval_data,
                   pretrain_data, splits, work_dir, tuple(options.seeds or trials or (0,)),
                   options.resume, options.launcher, options.cfg_options, records_dir,
                   options.max_unreadable, options.dry_run, options.amp,
                   pretrain_seed=0 if trials else None)


def config_seeds(path: Path) -> tuple[int, ...] | None:
    """The fine-tuning trials an evaluation config runs when no seed is given (its top-level
    ``seeds``, e.g. the five trials a detection paper averages: one pretraining, seed 0,
    fine-tuned with each seed), or None."""
    from harness.config import load_config

    seeds = load_config(path, label='evaluation config').get('seeds')
    if seeds is None:
        return None
    if not isinstance(seeds, (list, tuple)) or not seeds or \
            not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds) or \
            len(set(seeds)) != len(seeds):
        raise HarnessError(f'evaluation config {path}: seeds={seeds!r} must be a list of '
                           'distinct integers')
    return tuple(seeds)


def check_amp(amp: str | None) -> None:
    """``--amp`` is mmengine's AmpOptimWrapper, which trains on CUDA (or NPU, MLU) only."""
    import torch

    if amp is not None and not torch.cuda.is_available():
        raise HarnessError(f'--amp {amp} needs a GPU (mmengine\'s AmpOptimWrapper autocasts on '
                           'CUDA) and torch sees none here; drop --amp to train in fp32')


def check_writable(directory: Path, option: str) -> None:
    """``directory`` exists and is writable, or can be created: checked before any work, so a
    result is never lost at the end of a long run. Creates nothing."""
    probe = directory
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise HarnessError(f'{option} {directory} cannot be written ({probe} is not a writable '
                           'folder); choose a folder you can write to')


def data_source(dataset: DatasetInfo, data: str, work_dir: Path, option: str) -> DataSource:
    with main_process_first():  # a demo is generated once
        root, is_demo = datasets.resolve_data_root(data, dataset, work_dir, option=option)
    return DataSource(dataset, root, is_demo)


def resolve_pretrain_data(pm: PluginManager, option: str | None, eval_data: DataSource,
                          demo_pretrain: str, work_dir: Path) -> DataSource:
    """``--pretrain-data NAME[=ROOT]`` as a :class:`DataSource`. Without ROOT: the evaluation
    data's root when NAME is the evaluation dataset, else the demo when the evaluation data is
    demo. Without the option, when the evaluation data is demo: the demo of the evaluator's
    ``demo_pretrain`` (e.g. Kinetics-400), or the evaluation set's train list."""
    if option is None:
        if not eval_data.is_demo:
            raise HarnessError('name the pretraining set with --pretrain-data NAME=ROOT (e.g. '
                               'kinetics400=/data/kinetics400, or '
                               f"{eval_data.name} to pretrain on the evaluation set's train "
                               "lists); see 'harness list' for the datasets")
        option = demo_pretrain or eval_data.name
    name, sep, root = option.partition('=')
    dataset = pm.get('dataset', name.strip()).info
    if sep:
        return data_source(dataset, root, work_dir, '--pretrain-data')
    if dataset.name == eval_data.name:
        return eval_data
    if eval_data.is_demo:
        return data_source(dataset, 'demo', work_dir, '--pretrain-data')
    raise HarnessError(f'--pretrain-data {name} needs its root: --pretrain-data '
                       f'{name}=/path/to/{name} (or {name}=demo)')


def check_pretrain_kind(method: MethodInfo, source: DataSource) -> None:
    """The pretraining set holds the kind of data the method's sampler reads."""
    kind = method.pretrain_kind
    if kind not in ('any', source.dataset.data):
        raise HarnessError(f"method '{method.name}' pretrains on {kind} but the pretraining "
                           f"set {source.name} holds {source.dataset.data}; name a {kind} "
                           "dataset with --pretrain-data (see 'harness list')")


def resolve_splits(evaluator: str, available, protocol: ProtocolInfo, requested: str
                   ) -> tuple[str, ...]:
    """``--split`` as the splits to evaluate: one name, 'all' (every split the protocol is
    defined on), or None (the first of those)."""
    allowed = tuple(protocol.splits or available)
    if requested is None:
        return allowed[:1]
    if requested == 'all':
        return allowed
    if requested not in available:
        raise HarnessError(f"evaluator '{evaluator}' has no split '{requested}'; its splits: "
                           f"{', '.join(available)} or all")
    if requested not in allowed:
        raise HarnessError(f"protocol '{protocol.name}' of '{evaluator}' is defined on split "
                           f"{', '.join(allowed)} only; drop --split or use --split "
                           f"{allowed[0]}")
    return (requested,)


# ----------------------------------------------------------------------------------- data


def readable(plan: RunPlan, source: DataSource, items: Sequence[Any], what: str, log: Log
             ) -> tuple[list[Any], int]:
    """``items`` without unreadable files, and how many were removed; a DataError when more
    than ``plan.max_unreadable`` of them are unreadable."""
    from harness.data.probe import NOUNS, check_unreadable, probe_items

    kind = source.dataset.data
    cache = plan.work_dir / 'probe' / f'{source.name}_{source.label}.json'
    with main_process_first():  # probed once, the cache read by the others
        bad = set(probe_items(source.root, items, kind, cache_file=cache).unreadable)
    check_unreadable(len(bad), len(items), plan.max_unreadable, examples=sorted(bad),
                     noun=NOUNS[kind])
    if bad:
        log(f'warning: {len(bad)} unreadable {NOUNS[kind]} in {what} skipped (e.g. '
            f'{sorted(bad)[0]}); counted in the record')
    return [item for item in items if item.path not in bad], len(bad)


def eval_split(plan: RunPlan, name: str, log: Log) -> Any:
    """Split ``name`` of the evaluation data without its unreadable items (counted in
    ``plan.skipped``; its test items in ``plan.test_items``)."""
    from harness.data.probe import NOUNS

    split = plan.eval_data.read_split(name)
    if split.missing:
        log(f'warning: {split.missing} {NOUNS[plan.eval_data.dataset.data]} listed in split '
            f'{name} are not on disk and were skipped')
    kept, bad = readable(plan, plan.eval_data, split.train + split.test, f'split {name}', log)
    plan.skipped[name] = {'missing': split.missing, 'unreadable': bad}
    kept_paths = {item.path for item in kept}
    split = replace(split, train=tuple(i for i in split.train if i.path in kept_paths),
                    test=tuple(i for i in split.test if i.path in kept_paths))
    plan.test_items[name] = len(split.test)
    return split


def check_disjoint(pretrain: DataSource, items: Sequence[Any], evaluation: DataSource,
                   tests: Mapping[str, Sequence[Any]]) -> None:
    """No pretraining item may be a test item of an evaluated split (same file on disk)."""
    from harness.data.probe import NOUNS

    pretrain_files = {os.path.realpath(pretrain.root / item.path) for item in items}
    for split, test in tests.items():
        shared = sorted(item.path for item in test
                        if os.path.realpath(evaluation.root / item.path) in pretrain_files)
        if shared:
            raise DataError(f'the pretraining set ({pretrain.name}) holds {len(shared)} test '
                            f'{NOUNS[evaluation.dataset.data]} of {evaluation.name} split '
                            f'{split} (e.g. {shared[0]}); '
                            'pretrain on a set without them')


def pretraining_set(plan: RunPlan, split: Any, log: Log) -> tuple[list[Any], dict[str, Any]]:
    """The items (videos or images) the method pretrains on for evaluated split ``split``, and
    their identity for the record: dataset, data, split used, number of items, file-list
    sha256, items left out."""
    from harness.data.probe import NOUNS

    source = plan.pretrain_data
    skipped = None  # per-split pretraining: counted with the evaluated split
    if plan.pretrains_per_split:
        used, items = split.name, list(split.train)
        tests = {split.name: split.test}
    else:
        used = source.dataset.module().SPLITS[0]
        full = source.read_split(used)
        if full.missing:
            log(f'warning: {full.missing} {NOUNS[source.dataset.data]} listed in {source.name} '
                'are not on disk and were skipped')
        items, bad = readable(plan, source, full.train, f'the {source.name} pretraining set',
                              log)
        skipped = {'missing': full.missing, 'unreadable': bad}
        tests = {name: plan.eval_data.read_split(name).test for name in plan.splits}
    check_disjoint(source, items, plan.eval_data, tests)
    if not items:
        raise DataError(f'the pretraining set {source.name} at {source.root} has no readable '
                        f'training {NOUNS[source.dataset.data]}')
    identity = {'dataset': source.name, 'data': source.label, 'split': used,
                'num_items': len(items), 'files_sha256': datasets.list_sha256(items)}
    if skipped is not None:
        identity['skipped_items'] = skipped
    return items, identity


def config_data_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The pretraining data's identity as the merged config's ``pretrain_data`` holds it: with
    the key names of record schema 1 (``num_videos``, ``skipped_videos``). That config's hash
    is part of the pretraining cache key, so keeping these names when the record's were renamed
    (schema 2) keeps every finished pretraining reusable."""
    old_names = {new: old for old, new in RENAMED_IN_V2['pretrain'].items()}
    return {old_names.get(key, key): value for key, value in identity.items()}


# ------------------------------------------------------------------------------ pretraining


@dataclass
class PlannedPretraining:
    """One pretraining a run needs: its merged config, the identity of its data for the record,
    and the finished pretraining to reuse or the plan of one (:func:`plan_pretraining`)."""

    cfg: Any
    identity: dict[str, Any]
    result: PretrainResult


def pretraining_for(plan: RunPlan, split: Any, seed: int, log: Log
                    ) -> PlannedPretraining | None:
    """The pretraining evaluated split ``split`` uses with ``seed`` (None for a method that
    does not pretrain): one per split when the pretraining set is the evaluation dataset, else
    one for all the splits of a seed (of ``plan.pretrain_seed`` when that is set). Its config
    is checked here, before anything is trained."""
    from harness.checks import check_config
    from harness.pretrain import build_pretrain_config, plan_pretraining

    if not plan.method.info.pretrains:
        return None
    seed = seed if plan.pretrain_seed is None else plan.pretrain_seed
    memo = (seed, split.name if plan.pretrains_per_split else '')
    if memo not in plan.pretrained:
        items, identity = pretraining_set(plan, split, log)
        ann_file = datasets.annotation_list(
            plan.work_dir / 'lists', f'{plan.pretrain_data.name}_pretrain{identity["split"]}',
            items)
        pretrain_options, _ = split_cfg_options(plan.cfg_options)
        backbone = plan.backbone.info
        cfg = build_pretrain_config(plan.method_config[1], backbone,
                                    data_root=plan.pretrain_data.root, ann_file=ann_file,
                                    data_identity=config_data_identity(identity), seed=seed,
                                    launcher=plan.launcher, cfg_options=pretrain_options)
        use_amp(cfg, plan.amp)
        check_config(cfg, 'pretraining config')
        planned = plan_pretraining(cfg, plan.work_dir, plan.method.info.name, backbone.name,
                                   component_versions(plan.method, plan.backbone))
        identity = dict(identity, config=plan.method_config[0], seed=seed, **summarize(cfg))
        plan.pretrained[memo] = PlannedPretraining(cfg, identity, planned)
    return plan.pretrained[memo]


def run_pretrain(pm: PluginManager, plan: RunPlan, work: PlannedPretraining | None, log: Log
                 ) -> None:
    """Run (or reuse) a planned pretraining (``work.result`` becomes the finished one)."""
    from harness.pretrain import pretrain

    if work is None:
        log(f'{plan.method.info.name}: no pretraining (random initialisation)')
        return
    if work.result.reused:
        log(f'pretraining reused from cache: {work.result.work_dir} (trained '
            f"{work.result.provenance.get('started_at', '?')})")
    else:
        started = time.monotonic()
        work.result = pretrain(work.cfg, work.result, resume=plan.resume, log=log)
        log(f'pretraining done in {time.monotonic() - started:.0f}s: {work.result.work_dir}')
    pm.pretrain_end(plan, work.result.backbone_path, work.result.reused)


def component_versions(*entries: Registered) -> dict[str, str]:
    """Versions of the harness and of the distributions of ``entries``."""
    versions = {'ssl-harness': harness.__version__}
    for entry in entries:
        versions[entry.plugin.distribution or entry.plugin.module] = \
            entry.plugin.version or 'unknown'
    return versions


# ------------------------------------------------------------------------------- evaluation


def eval_request(plan: RunPlan, pretrained: PretrainResult | None, split: Any, seed: int
                 ) -> EvalRequest:
    _, eval_options = split_cfg_options(plan.cfg_options)
    tag = pretrained.key[:12] if pretrained else 'random'
    work_dir = (plan.work_dir / 'eval' /
                f'{plan.method.info.name}_{plan.backbone.info.name}_{tag}_'
                f'{plan.evaluator.info.name}_{plan.protocol.name}_'
                f'{Path(plan.eval_config[0]).stem}_split{split.name}_seed{seed}')
    return EvalRequest(
        protocol=plan.protocol, backbone=plan.backbone.info,
        backbone_weights=Path(pretrained.backbone_path) if pretrained else None,
        dataset=plan.eval_data.dataset, data_root=plan.eval_data.root,
        is_demo=plan.eval_data.is_demo, work_dir=work_dir, split=split.name, seed=seed,
        resume=plan.resume, launcher=plan.launcher, cfg_options=eval_options,
        imports=tuple(plan.backbone.info.imports), data_split=split,
        backbone_sha256=(pretrained.checkpoint_sha256 or None) if pretrained else None,
        cache_dir=plan.work_dir / 'features', config=plan.eval_config[1], amp=plan.amp)


def evaluation_config(plan: RunPlan, evaluator: Any, request: EvalRequest) -> Any:
    """The merged evaluation config of ``request``, checked (before anything is trained)."""
    from harness.checks import check_config

    cfg = evaluator.config(request)
    check_config(cfg, 'evaluation config')
    return cfg


def run_evaluation(plan: RunPlan, evaluator: Any, request: EvalRequest, log: Log
                   ) -> EvalResult:
    """Evaluate one split. A finished evaluation of the same pretraining, protocol and split is
    reused with ``--resume`` (so an interrupted ``--split all`` continues where it stopped)."""
    from mmengine.dist import is_main_process

    done = request.work_dir / 'result.json'
    if plan.resume and done.is_file():
        log(f'split {request.split}: finished evaluation reused from {done}')
        return EvalResult(**json.loads(done.read_text()))
    with main_process_first():
        prepare_work_dir(request.work_dir, resume=plan.resume, finished=done.is_file(),
                         what='evaluation')
    result = evaluator.evaluate(request)
    if is_main_process():
        atomic_write_text(done, json.dumps(asdict(result), indent=2, default=str))
    return result


def combine_runs(runs: Mapping[tuple[int, str], EvalResult]) -> EvalResult:
    """One result for the runs of several splits and/or seeds (keys ``(seed, split)``): for
    each metric the mean and its sample standard deviation, over the splits for one seed (as
    papers report a 3-split mean), over the seeds when there are several (each seed's value
    being its mean over the splits); ``per_split`` and ``per_seed`` keep the values they
    average. The config hash and weight report are the first run's."""
    seeds = list(dict.fromkeys(seed for seed, _ in runs))
    splits = list(dict.fromkeys(split for _, split in runs))
    first = runs[seeds[0], splits[0]]
    if len(runs) == 1:
        return first

    def mean(values):
        return round(statistics.fmean(values), 2)

    by_seed = {seed: {name: mean([runs[seed, split].metrics[name] for split in splits])
                      for name in first.metrics} for seed in seeds}
    spread = seeds if len(seeds) > 1 else splits
    metrics, std, per_split, per_seed = {}, {}, {}, {}
    for name in first.metrics:
        values = [by_seed[seed][name] for seed in seeds] if len(seeds) > 1 else \
            [runs[seeds[0], split].metrics[name] for split in splits]
        metrics[name] = mean(values)
        std[name] = round(statistics.stdev(values), 2) if len(spread) > 1 else 0.0
        if len(splits) > 1:
            per_split[name] = {split: mean([runs[seed, split].metrics[name] for seed in seeds])
                               for split in splits}
        if len(seeds) > 1:
            per_seed[name] = {str(seed): by_seed[seed][name] for seed in seeds}
    return replace(first, metrics=metrics, splits=splits, std=std, per_split=per_split,
                   per_seed=per_seed)


# ---------------------------------------------------------------------------------- record


def build_record(plan: RunPlan, pretrained: list[tuple[int, PlannedPretraining]],
                 result: EvalResult, *, started_at: str, duration_s: float) -> dict[str, Any]:
    """The result record (validated when written). ``pretrained``: ``(seed, pretraining)`` of
    each distinct pretraining, in run order (one entry when every run shares it)."""
    commit, dirty = git_commit()

    def component(entry: Registered) -> dict[str, str]:
        return {'name': entry.info.name, 'distribution': entry.plugin.distribution or
                entry.plugin.module, 'version': entry.plugin.version or 'unknown'}

    plugin_dists = tuple(sorted({e.plugin.distribution for e in
                                 (plan.method, plan.backbone, plan.evaluator)
                                 if e.plugin.distribution}))
    return {
        'schema_version': SCHEMA_VERSION,
        'method': component(plan.method),
        'backbone': component(plan.backbone),
        'pretrain': pretrain_record(pretrained),
        'eval': {'name': plan.evaluator.info.name, 'protocol': plan.protocol.name,
                 'protocol_version': plan.protocol.version, 'config': plan.eval_config[0],
                 'splits': result.splits, 'clips': result.clips, 'crops': result.crops,
                 'config_sha256': result.config_sha256, 'weights': result.weights,
                 'skipped_items': plan.skipped, 'test_items': plan.test_items,
                 **result.settings},
        'metrics': {name: metric_entry(result, name) for name in result.metrics},
        'seeds': list(plan.seeds),
        'data': plan.data_label,
        'source': 'reproduced',
        'citation': None,
        'provenance': {'harness_version': harness.__version__, 'git_commit': commit,
                       'git_dirty': dirty, 'packages': package_versions(plugin_dists),
                       'device': device_name(), 'started_at': started_at,
                       'duration_s': round(duration_s, 1), 'command': ' '.join(sys.argv)},
    }


def pretrain_record(pretrained: list[tuple[int, PlannedPretraining]]) -> dict[str, Any] | None:
    """The record's ``pretrain``: the one pretraining every run used; with several, the first
    plus all of them, so that each number's weights stay identified: ``per_split`` (split ->
    block) for one seed, else ``per_seed`` (seed -> split -> block)."""
    if not pretrained:
        return None
    blocks = [(str(seed), pretrain_block(work.result, work.identity))
              for seed, work in pretrained]
    record = dict(blocks[0][1])
    if len(blocks) == 1:
        return record
    if len({block['split'] for _, block in blocks}) > 1:
        record['split'] = 'per evaluated split'
    by_seed: dict[str, dict[str, Any]] = {}
    for seed, block in blocks:
        by_seed.setdefault(seed, {})[block['split']] = block
    if len(by_seed) == 1:
        record['per_split'] = by_seed.popitem()[1]
    else:
        record['per_seed'] = by_seed
    return record


def pretrain_block(result: PretrainResult, identity: Mapping[str, Any]) -> dict[str, Any]:
    """The record's account of one pretraining: the data it read, its settings, its identity,
    and the provenance of the run that trained it (a reused one keeps its own)."""
    return dict(identity, epochs=result.epochs, iters=result.iters, key=result.key,
                config_sha256=result.config_sha256, checkpoint_sha256=result.checkpoint_sha256,
                sources=result.sources, versions=result.versions, reused=result.reused,
                provenance=result.provenance)


def metric_entry(result: EvalResult, name: str) -> dict[str, Any]:
    """A metric of the record: value, direction, unit, and for several splits std and values."""
    entry: dict[str, Any] = {'value': result.metrics[name],
                             'higher_is_better': result.higher_is_better[name]}
    if name in result.units:
        entry['unit'] = result.units[name]
    if name in result.std:
        entry['std'] = result.std[name]
    for values in ('per_split', 'per_seed'):
        if name in getattr(result, values):
            entry[values] = getattr(result, values)[name]
    return entry


def execute(pm: PluginManager, plan: RunPlan, log: Log = print
            ) -> tuple[dict[str, Any] | None, Path | None]:
    """Run the plan; returns the written record and its path ((None, None) in a dry run, which
    prints the merged configs and the planned work instead).

    Everything is resolved and checked first (the data of every split, every pretraining and
    evaluation config), so a mistake surfaces before hours of training, not after."""
    from mmengine.dist import is_main_process

    from harness import results

    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    source = plan.pretrain_data
    log(f"{'dry run' if plan.dry_run else 'run'}: method {plan.method.info.name} "
        f"(config {plan.method_config[0] if plan.method_config else '-'}), backbone "
        f'{plan.backbone.info.name}, pretraining data '
        f"{f'{source.name} ({source.label}, {source.root})' if source else '-'}"
        f'{", per evaluated split" if plan.pretrains_per_split else ""}; eval '
        f'{plan.evaluator.info.name}/{plan.protocol.name} (config {plan.eval_config[0]}), '
        f"split {', '.join(plan.splits)}, data {plan.eval_data.label} ({plan.eval_data.root}), "
        f"seed {', '.join(map(str, plan.seeds))}; records to {plan.records_dir}")
    evaluator = import_object(plan.evaluator.info.evaluator)()
    splits: dict[str, Any] = {}
    work = []
    for seed in plan.seeds:
        for name in plan.splits:
            split = splits[name] if name in splits else splits.setdefault(
                name, eval_split(plan, name, log))
            pretraining = pretraining_for(plan, split, seed, log)
            request = eval_request(plan, pretraining.result if pretraining else None, split, seed)
            eval_cfg = evaluation_config(plan, evaluator, request)
            if plan.dry_run:
                if pretraining is not None and all(p is not pretraining for *_, p in work):
                    state = 'finished, reused' if pretraining.result.reused else 'to train'
                    log(f'pretraining ({state}) in {pretraining.result.work_dir}; merged '
                        f'config:\n{pretraining.cfg.pretty_text}')
                log(f'evaluation {plan.evaluator.info.name}/{plan.protocol.name} split {name} '
                    f'seed {seed} in {request.work_dir}; merged config:\n{eval_cfg.pretty_text}')
            work.append((seed, split, pretraining))
    if plan.dry_run:
        log('dry run: nothing was trained and no record was written')
        return None, None
    pm.run_start(plan)
    runs, pretrained = {}, []
    for seed, split, pretraining in work:
        if pretraining is None or all(p is not pretraining for _, p in pretrained):
            run_pretrain(pm, plan, pretraining, log)  # once for the splits that share it
            pretrained += [(seed, pretraining)] if pretraining is not None else []
        request = eval_request(plan, pretraining.result if pretraining else None, split, seed)
        runs[seed, split.name] = run_evaluation(plan, evaluator, request, log)
        if len(work) > 1:
            log(f'seed {seed}, split {split.name}: ' +
                ', '.join(f'{k} {v}' for k, v in runs[seed, split.name].metrics.items()))
    result = combine_runs(runs)
    record = build_record(plan, pretrained, result, started_at=started_at,
                          duration_s=time.monotonic() - started)
    path = plan.records_dir / f'{results.record_id(record)}.json'
    if is_main_process():
        results.write_record(record, plan.records_dir)
        pm.record_written(plan, record, path)
    return record, path
