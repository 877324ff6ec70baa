"""One run: resolve names -> merge configs -> pretrain (cached) -> evaluate -> record."""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import harness
from harness import data as datasets
from harness.api import EvalRequest, EvalResult, ProtocolInfo, import_object
from harness.config import split_cfg_options
from mmengine.dist import is_main_process

from harness.engine import prepare_work_dir
from harness.errors import HarnessError, PluginError
from harness.plugins import PluginManager, Registered
from harness.pretrain import PretrainResult
from harness.leaderboard import DEFAULT_RECORDS
from harness.provenance import device_name, git_commit, package_versions
from harness.results import atomic_write_text

#: Core modules that register what pretraining configs build (datasets, views, hooks).
PRETRAIN_IMPORTS = ('harness.datasets', 'harness.data.views', 'harness.data.transformed',
                    'harness.hooks')


@dataclass
class RunOptions:
    """What ``harness run`` was asked to do."""

    method: str
    eval: str
    backbone: str | None = None
    protocol: str | None = None
    data: str = 'demo'
    split: str = '1'
    work_dir: str = 'work_dirs'
    seed: int = 0
    resume: bool = False
    launcher: str = 'none'
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    records_dir: str | None = None
    max_unreadable: float = 0.05


@dataclass
class RunPlan:
    """A resolved run: the components, the data, and where things go.

    splits: the splits evaluated (``--split all``: every split of the evaluator); the first one's
    train list is what the method pretrains on. data_split: that split, read once while
    planning (its unreadable videos are removed before pretraining).
    """

    method: Registered
    backbone: Registered
    evaluator: Registered
    protocol: ProtocolInfo
    data_root: Path
    is_demo: bool
    splits: tuple[str, ...]
    work_dir: Path
    seed: int
    resume: bool
    launcher: str
    cfg_options: Mapping[str, Any]
    records_dir: Path
    data_split: Any = None
    max_unreadable: float = 0.05
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def split(self) -> str:
        """The split the method pretrains on (the first evaluated split)."""
        return self.splits[0]

    @property
    def data_label(self) -> str:
        return 'demo' if self.is_demo else 'real'


def plan_run(pm: PluginManager, options: RunOptions) -> RunPlan:
    """Resolve every name and the data root; any problem is a one-line HarnessError."""
    method = pm.get('method', options.method)
    evaluator = pm.get('evaluator', options.eval)
    backbone = pm.get('backbone', options.backbone or method.info.default_backbone)
    if method.info.data not in ('any', backbone.info.data):
        raise HarnessError(f"backbone '{backbone.info.name}' takes {backbone.info.data} but "
                           f"method '{method.info.name}' trains on {method.info.data}; "
                           f"pick a {method.info.data} backbone (see 'harness list')")
    protocols = [p.name for p in evaluator.info.protocols]
    protocol_name = options.protocol or protocols[0]
    if protocol_name not in protocols:
        raise PluginError(f"evaluator '{evaluator.info.name}' has no protocol "
                          f"'{protocol_name}'; its protocols: {', '.join(protocols)}")
    protocol = evaluator.info.protocol(protocol_name)
    splits = resolve_splits(evaluator.info.name, evaluator.info.splits, protocol, options.split)
    if not 0 <= options.max_unreadable <= 1:
        raise HarnessError(f'--max-unreadable is a fraction in [0, 1], got '
                           f'{options.max_unreadable}')
    work_dir = Path(options.work_dir).expanduser().resolve()
    data_root, is_demo = datasets.resolve_data_root(options.data, evaluator.info.dataset,
                                                   work_dir)
    split = datasets.layout(evaluator.info.dataset).read_split(data_root, splits[0])
    records = Path(options.records_dir) if options.records_dir else DEFAULT_RECORDS
    return RunPlan(method, backbone, evaluator, protocol, data_root, is_demo, splits, work_dir,
                   options.seed, options.resume, options.launcher, options.cfg_options,
                   records.resolve(), split, options.max_unreadable)


def resolve_splits(evaluator: str, available, protocol: ProtocolInfo, requested: str
                   ) -> tuple[str, ...]:
    """``--split`` as the splits to evaluate: one name, or 'all' (every split the protocol is
    defined on)."""
    allowed = tuple(protocol.splits or available)
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


def remove_unreadable(plan: RunPlan, split: Any, log: Callable[[str], None]) -> Any:
    """``split`` without its unreadable videos (counted in ``plan.skipped``); a DataError when
    more than ``plan.max_unreadable`` of them are unreadable."""
    from harness.data.probe import check_unreadable, probe_videos

    items = split.train + split.test
    cache = plan.work_dir / 'probe' / f'{plan.evaluator.info.dataset}_{plan.data_label}.json'
    bad = set(probe_videos(plan.data_root, items, cache_file=cache).unreadable)
    plan.skipped[split.name] = {'missing': split.missing, 'unreadable': len(bad)}
    if split.missing:
        log(f'warning: {split.missing} videos listed in split {split.name} are not on disk and '
            f'were skipped')
    check_unreadable(len(bad), len(items), plan.max_unreadable, examples=sorted(bad))
    if not bad:
        return split
    log(f"warning: {len(bad)} unreadable videos in split {split.name} skipped (e.g. "
        f"{sorted(bad)[0]}); counted in the record")
    return replace(split, train=tuple(i for i in split.train if i.path not in bad),
                   test=tuple(i for i in split.test if i.path not in bad))


def run_pretrain(pm: PluginManager, plan: RunPlan, log: Callable[[str], None]
                 ) -> tuple[PretrainResult | None, dict[str, Any] | None]:
    """Pretrain the method (or reuse the cached pretraining); None for methods that do not."""
    from harness.pretrain import build_pretrain_config, pretrain

    method, backbone = plan.method.info, plan.backbone.info
    if not method.pretrains:
        log(f'{method.name}: no pretraining (random initialisation)')
        return None, None
    split = plan.data_split
    files_sha = datasets.list_sha256(split.train)
    ann_file = datasets.annotation_list(plan.work_dir / 'lists',
                                        f'{plan.evaluator.info.dataset}_train{split.name}',
                                        split.train)
    identity = {'dataset': plan.evaluator.info.dataset, 'data': plan.data_label,
                'split': split.name, 'num_videos': len(split.train), 'files_sha256': files_sha}
    pretrain_options, _ = split_cfg_options(plan.cfg_options)
    cfg = build_pretrain_config(method, backbone, data_root=plan.data_root, ann_file=ann_file,
                                data_identity=identity, seed=plan.seed, launcher=plan.launcher,
                                cfg_options=pretrain_options,
                                imports=PRETRAIN_IMPORTS + tuple(method.imports)
                                + tuple(backbone.imports))
    started = time.monotonic()
    result = pretrain(cfg, plan.work_dir, method.name, backbone.name, resume=plan.resume)
    if result.reused:
        log(f'pretraining reused from cache: {result.work_dir} (config {result.config_sha256[:12]})')
    else:
        log(f'pretraining done in {time.monotonic() - started:.0f}s: {result.work_dir}')
    pm.pretrain_end(plan, result.backbone_path, result.reused)
    return result, identity


def run_evaluation(plan: RunPlan, pretrained: PretrainResult | None, split: Any,
                   log: Callable[[str], None]) -> EvalResult:
    """Evaluate one split. A finished evaluation of the same pretraining, protocol and split is
    reused with ``--resume`` (so an interrupted ``--split all`` continues where it stopped)."""
    evaluator = import_object(plan.evaluator.info.evaluator)()
    _, eval_options = split_cfg_options(plan.cfg_options)
    tag = pretrained.config_sha256[:12] if pretrained else 'random'
    work_dir = (plan.work_dir / 'eval' /
                f'{plan.method.info.name}_{plan.backbone.info.name}_{tag}_'
                f'{plan.evaluator.info.name}_{plan.protocol.name}_split{split.name}_'
                f'seed{plan.seed}')
    request = EvalRequest(
        protocol=plan.protocol, backbone=plan.backbone.info,
        backbone_weights=Path(pretrained.backbone_path) if pretrained else None,
        dataset=plan.evaluator.info.dataset, data_root=plan.data_root, is_demo=plan.is_demo,
        work_dir=work_dir, split=split.name, seed=plan.seed, resume=plan.resume,
        launcher=plan.launcher, cfg_options=eval_options,
        imports=tuple(plan.backbone.info.imports), data_split=split,
        backbone_sha256=pretrained.checkpoint_sha256 if pretrained else None,
        cache_dir=plan.work_dir / 'features')
    done = work_dir / 'result.json'
    if plan.resume and done.is_file():
        log(f'split {split.name}: finished evaluation reused from {done}')
        return EvalResult(**json.loads(done.read_text()))
    prepare_work_dir(work_dir, resume=plan.resume, finished=done.is_file(), what='evaluation')
    result = evaluator.evaluate(request)
    if is_main_process():
        atomic_write_text(done, json.dumps(asdict(result), indent=2, default=str))
    return result


def combine_splits(results: list[EvalResult]) -> EvalResult:
    """One result for several splits: each metric's mean, its sample standard deviation and the
    value of every split (the config hash and weight report are the first split's)."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    metrics, per_split, std = {}, {}, {}
    for name in first.metrics:
        values = [r.metrics[name] for r in results]
        metrics[name] = round(statistics.fmean(values), 2)
        std[name] = round(statistics.stdev(values), 2)
        per_split[name] = {s: r.metrics[name] for r in results for s in r.splits}
    return replace(first, metrics=metrics, splits=[s for r in results for s in r.splits],
                   std=std, per_split=per_split)


def build_record(plan: RunPlan, pretrained: PretrainResult | None,
                 identity: Mapping[str, Any] | None, result: EvalResult, *, started_at: str,
                 duration_s: float) -> dict[str, Any]:
    """The result record of DESIGN.md §4 (validated when written)."""
    commit, dirty = git_commit()

    def component(entry: Registered) -> dict[str, str]:
        return {'name': entry.info.name, 'distribution': entry.plugin.distribution or
                entry.plugin.module, 'version': entry.plugin.version or 'unknown'}

    pretrain = None
    if pretrained is not None:
        pretrain = dict(identity, epochs=pretrained.epochs, iters=pretrained.iters,
                        config_sha256=pretrained.config_sha256,
                        checkpoint_sha256=pretrained.checkpoint_sha256, reused=pretrained.reused)
    plugin_dists = tuple(sorted({e.plugin.distribution for e in
                                 (plan.method, plan.backbone, plan.evaluator)
                                 if e.plugin.distribution}))
    return {
        'schema_version': 1,
        'method': component(plan.method),
        'backbone': component(plan.backbone),
        'pretrain': pretrain,
        'eval': {'name': plan.evaluator.info.name, 'protocol': plan.protocol.name,
                 'protocol_version': plan.protocol.version, 'splits': result.splits,
                 'clips': result.clips, 'crops': result.crops,
                 'config_sha256': result.config_sha256, 'weights': result.weights,
                 'skipped_videos': plan.skipped},
        'metrics': {name: metric_entry(result, name) for name in result.metrics},
        'seeds': [plan.seed],
        'data': plan.data_label,
        'source': 'reproduced',
        'citation': None,
        'provenance': {'harness_version': harness.__version__, 'git_commit': commit,
                       'git_dirty': dirty, 'packages': package_versions(plugin_dists),
                       'device': device_name(), 'started_at': started_at,
                       'duration_s': round(duration_s, 1), 'command': ' '.join(sys.argv)},
    }


def metric_entry(result: EvalResult, name: str) -> dict[str, Any]:
    """A metric of the record: value, direction, unit, and for several splits std and values."""
    entry: dict[str, Any] = {'value': result.metrics[name],
                             'higher_is_better': result.higher_is_better[name]}
    if name in result.units:
        entry['unit'] = result.units[name]
    if name in result.std:
        entry['std'] = result.std[name]
        entry['per_split'] = result.per_split[name]
    return entry


def execute(pm: PluginManager, plan: RunPlan, log: Callable[[str], None] = print
            ) -> tuple[dict[str, Any], Path]:
    """Run the plan; returns the written record and its path."""
    from harness import leaderboard, results

    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    pm.run_start(plan)
    log(f"run: method {plan.method.info.name}, backbone {plan.backbone.info.name}, eval "
        f"{plan.evaluator.info.name}/{plan.protocol.name}, split {', '.join(plan.splits)}, "
        f"data {plan.data_label} ({plan.data_root}), seed {plan.seed}")
    plan.data_split = remove_unreadable(plan, plan.data_split, log)
    pretrained, identity = run_pretrain(pm, plan, log)
    layout = datasets.layout(plan.evaluator.info.dataset)
    per_split = []
    for name in plan.splits:
        split = plan.data_split if name == plan.data_split.name else \
            remove_unreadable(plan, layout.read_split(plan.data_root, name), log)
        per_split.append(run_evaluation(plan, pretrained, split, log))
        if len(plan.splits) > 1:
            log(f'split {name}: ' +
                ', '.join(f'{k} {v}' for k, v in per_split[-1].metrics.items()))
    result = combine_splits(per_split)
    record = build_record(plan, pretrained, identity, result, started_at=started_at,
                          duration_s=time.monotonic() - started)
    path = plan.records_dir / f'{results.record_id(record)}.json'
    if is_main_process():
        results.write_record(record, plan.records_dir)
        pm.record_written(plan, record, path)
        board = plan.records_dir.parent / 'README.md'
        if leaderboard.render(plan.records_dir, board):
            log(f'leaderboard regenerated: {board}')
    return record, path
