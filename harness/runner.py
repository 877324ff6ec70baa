"""One run: resolve names -> merge configs -> pretrain (cached) -> evaluate -> record."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
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


@dataclass
class RunPlan:
    """A resolved run: the components, the data, and where things go."""

    method: Registered
    backbone: Registered
    evaluator: Registered
    protocol: ProtocolInfo
    data_root: Path
    is_demo: bool
    split: str
    work_dir: Path
    seed: int
    resume: bool
    launcher: str
    cfg_options: Mapping[str, Any]
    records_dir: Path
    data_split: Any = None  # the dataset layout's split, read once while planning

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
    if options.split not in evaluator.info.splits:
        raise HarnessError(f"evaluator '{evaluator.info.name}' has no split '{options.split}'; "
                           f"its splits: {', '.join(evaluator.info.splits)}")
    work_dir = Path(options.work_dir).expanduser().resolve()
    data_root, is_demo = datasets.resolve_data_root(options.data, evaluator.info.dataset,
                                                   work_dir)
    split = datasets.layout(evaluator.info.dataset).read_split(data_root, options.split)
    records = Path(options.records_dir) if options.records_dir else DEFAULT_RECORDS
    return RunPlan(method, backbone, evaluator, evaluator.info.protocol(protocol_name),
                   data_root, is_demo, options.split, work_dir, options.seed, options.resume,
                   options.launcher, options.cfg_options, records.resolve(), split)


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
                                        f'{plan.evaluator.info.dataset}_train{plan.split}',
                                        split.train)
    identity = {'dataset': plan.evaluator.info.dataset, 'data': plan.data_label,
                'split': plan.split, 'num_videos': len(split.train), 'files_sha256': files_sha}
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


def run_evaluation(plan: RunPlan, pretrained: PretrainResult | None) -> EvalResult:
    evaluator = import_object(plan.evaluator.info.evaluator)()
    _, eval_options = split_cfg_options(plan.cfg_options)
    tag = pretrained.config_sha256[:12] if pretrained else 'random'
    work_dir = (plan.work_dir / 'eval' /
                f'{plan.method.info.name}_{plan.backbone.info.name}_{tag}_'
                f'{plan.evaluator.info.name}_{plan.protocol.name}_split{plan.split}_seed{plan.seed}')
    request = EvalRequest(
        protocol=plan.protocol, backbone=plan.backbone.info,
        backbone_weights=Path(pretrained.backbone_path) if pretrained else None,
        data_root=plan.data_root, is_demo=plan.is_demo, work_dir=work_dir, split=plan.split,
        seed=plan.seed, resume=plan.resume, launcher=plan.launcher, cfg_options=eval_options,
        imports=tuple(plan.backbone.info.imports))
    done = work_dir / 'result.json'
    prepare_work_dir(work_dir, resume=plan.resume, finished=done.is_file(), what='evaluation')
    result = evaluator.evaluate(request)
    if is_main_process():
        atomic_write_text(done, json.dumps(asdict(result), indent=2, default=str))
    return result


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
                 'config_sha256': result.config_sha256, 'weights': result.weights},
        'metrics': {name: {'value': value, 'higher_is_better': result.higher_is_better[name],
                           **({'unit': result.units[name]} if name in result.units else {})}
                    for name, value in result.metrics.items()},
        'seeds': [plan.seed],
        'data': plan.data_label,
        'source': 'reproduced',
        'citation': None,
        'provenance': {'harness_version': harness.__version__, 'git_commit': commit,
                       'git_dirty': dirty, 'packages': package_versions(plugin_dists),
                       'device': device_name(), 'started_at': started_at,
                       'duration_s': round(duration_s, 1), 'command': ' '.join(sys.argv)},
    }


def execute(pm: PluginManager, plan: RunPlan, log: Callable[[str], None] = print
            ) -> tuple[dict[str, Any], Path]:
    """Run the plan; returns the written record and its path."""
    from harness import leaderboard, results

    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    pm.run_start(plan)
    log(f"run: method {plan.method.info.name}, backbone {plan.backbone.info.name}, eval "
        f"{plan.evaluator.info.name}/{plan.protocol.name}, split {plan.split}, data "
        f"{plan.data_label} ({plan.data_root}), seed {plan.seed}")
    if plan.data_split.missing:
        log(f'warning: {plan.data_split.missing} videos listed in split {plan.split} are not on '
            f'disk and were skipped')
    pretrained, identity = run_pretrain(pm, plan, log)
    result = run_evaluation(plan, pretrained)
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
