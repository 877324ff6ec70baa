"""The run's result: the evaluations of its jobs combined (means and spreads over splits and
seeds) and the record built from the jobs and their results."""
from __future__ import annotations

import statistics
import sys
from dataclasses import replace
from typing import Any, Collection, Mapping, Sequence

import harness
from harness.api import EvalResult
from harness.engine import fast_paths
from harness.identity import record_identity
from harness.plugins import Registered
from harness.pretrain import Pretrained, PretrainJob
from harness.provenance import (device_name, distributions_provenance, git_commit,
                                 package_versions)
from harness.schema import SCHEMA_VERSION
from harness.sources import unverified_settings
from harness.run.jobs import Job
from harness.run.plan import RunPlan


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


def build_record(plan: RunPlan, jobs: Sequence[Job], finished: Mapping[str, Pretrained],
                 result: EvalResult, *, reused: Collection[str] = (), started_at: str,
                 duration_s: float) -> dict[str, Any]:
    """The result record (validated when written) of the run's ``jobs``, their ``finished``
    pretrainings (key -> :class:`Pretrained`; ``reused``: the keys of those found finished)
    and their combined ``result``."""
    commit, dirty = git_commit()

    def component(entry: Registered) -> dict[str, str]:
        return {'name': entry.info.name, 'distribution': entry.plugin.distribution or
                entry.plugin.module, 'version': entry.plugin.version or 'unknown'}

    plugin_dists = tuple(sorted({e.plugin.distribution for e in
                                 (plan.method, plan.backbone, plan.evaluator)
                                 if e.plugin.distribution}))
    return {
        'schema_version': SCHEMA_VERSION,
        'identity': record_identity(job.key for job in jobs),
        'method': component(plan.method),
        **({'variant': plan.reference_variant} if plan.reference_variant else {}),
        **({'external_weights': plan.weights.record()} if plan.weights is not None else {}),
        'backbone': backbone_entry(component(plan.backbone), plan.backbone.info),
        'pretrain': pretrain_record(jobs, finished, reused),
        'eval': {'name': plan.evaluator.info.name, 'protocol': plan.protocol.name,
                 'protocol_version': plan.protocol.version, 'config': plan.eval_config[0],
                 'splits': result.splits, 'clips': result.clips, 'crops': result.crops,
                 'config_sha256': result.config_sha256, 'weights': result.weights,
                 'skipped_items': {job.split.name: dict(job.split.skipped) for job in jobs},
                 'test_items': {job.split.name: len(job.split.split.test) for job in jobs},
                 'unverified': unverified_settings(plan.eval_config[1]),
                 **result.settings},
        'metrics': {name: metric_entry(result, name) for name in result.metrics},
        'seeds': list(plan.seeds),
        'data': plan.data_label,
        'source': 'reproduced',
        'citation': None,
        'provenance': {'harness_version': harness.__version__, 'git_commit': commit,
                       'git_dirty': dirty, 'packages': package_versions(plugin_dists),
                       'distributions': distributions_provenance(
                           (*plugin_dists, *plan.distributions)),
                       'device': device_name(), 'started_at': started_at,
                       'duration_s': round(duration_s, 1), 'command': ' '.join(sys.argv),
                       'fast_paths': fast_paths()},
    }


def backbone_entry(entry: dict[str, str], info) -> dict[str, str]:
    """The record's backbone; for one cut by the pretraining config (``backbone_stage``),
    also the registered backbone it was cut from and the stage it ends at (what every
    evaluation read)."""
    if info.out_stage:
        return dict(entry, cut_from=info.cut_from, out_stage=info.out_stage)
    return entry


def pretrain_record(jobs: Sequence[Job], finished: Mapping[str, Pretrained],
                    reused: Collection[str] = ()) -> dict[str, Any] | None:
    """The record's ``pretrain``: the one pretraining every job used; with several, the first
    plus all of them, so that each number's weights stay identified: ``per_split`` (split ->
    block) for one seed, else ``per_seed`` (seed -> split -> block)."""
    distinct: dict[str, tuple[int, PretrainJob]] = {}
    for job in jobs:
        if job.pretraining is not None:
            distinct.setdefault(job.pretraining.key, (job.seed, job.pretraining))
    if not distinct:
        return None
    blocks = [(str(seed), pretrain_block(finished[work.key], work, work.key in reused))
              for seed, work in distinct.values()]
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


def pretrain_block(result: Pretrained, job: PretrainJob, reused: bool) -> dict[str, Any]:
    """The record's account of one pretraining: the data it read, its settings, its identity,
    whether this run found it finished (``reused``), and the provenance of the run that
    trained it (a reused one keeps its own)."""
    block = dict(job.data, epochs=result.epochs, iters=result.iters, key=result.key,
                 config_sha256=result.config_sha256, checkpoint_sha256=result.checkpoint_sha256,
                 sources=result.sources, versions=result.versions,
                 reused=reused, untrained=result.untrained,
                 provenance=result.provenance)
    if result.distributed is not None:  # as the run that trained it ran
        block['distributed'] = result.distributed
    if result.param_groups is not None:  # as its optimizer was built
        block['param_groups'] = result.param_groups
    return block


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
