"""Executing a run: plan its jobs, then walk them: pretrain (or reuse) each pretraining once,
evaluate each job, combine the results and write one record."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from harness.api import EvalResult
from harness.engine import main_process_first, prepare_work_dir
from harness.plugins import PluginManager
from harness.pretrain import Pretrained, PretrainJob
from harness.io import atomic_write_text
from harness.run.jobs import Job, plan_jobs
from harness.run.plan import RunPlan
from harness.run.record import build_record, combine_runs

Log = Callable[[str], None]


def describe_backbone(info) -> str:
    """The backbone as the run uses it; for one cut by the pretraining config
    (``backbone_stage``), where it ends and that the evaluators read that stage."""
    if not info.out_stage:
        return info.name
    return (f'{info.name} ({info.cut_from} cut after {info.out_stage}, the last stage the '
            f'pretraining trains: the evaluators read {info.out_stage}, {info.feat_dim}-d)')


def describe(plan: RunPlan) -> str:
    """One line saying what the run does."""
    source = plan.pretrain_data
    return (f"{'dry run' if plan.dry_run else 'run'}: method {plan.method.info.name} "
            f"(config {plan.method_config[0] if plan.method_config else '-'}), backbone "
            f'{describe_backbone(plan.backbone.info)}, pretraining data '
            f"{f'{source.name} ({source.label}, {source.root})' if source else '-'}"
            f'{", per evaluated split" if plan.pretrains_per_split else ""}; eval '
            f'{plan.evaluator.info.name}/{plan.protocol.name} (config {plan.eval_config[0]}), '
            f"split {', '.join(plan.splits)}, data {plan.eval_data.label} "
            f"({plan.eval_data.root}), seed {', '.join(map(str, plan.seeds))}; records to "
            f'{plan.records_dir}')


def show_plan(plan: RunPlan, jobs: list[Job], log: Log) -> None:
    """The dry run's account: each pretraining's and each evaluation's merged config, exactly
    as they would run."""
    shown: set[str] = set()
    for job in jobs:
        work = job.pretraining
        if work is not None and work.key not in shown:
            shown.add(work.key)
            state = 'finished, reused' if work.finished is not None else 'to train'
            log(f'pretraining ({state}) in {work.work_dir}; merged config:\n'
                f'{work.cfg.pretty_text}')
        log(f'evaluation {plan.evaluator.info.name}/{plan.protocol.name} split '
            f'{job.split.name} seed {job.seed} in {job.request.work_dir}; merged config:\n'
            f'{job.prepared.cfg.pretty_text}')
    log('dry run: nothing was trained and no record was written')


def run_pretraining(pm: PluginManager, plan: RunPlan, job: PretrainJob, log: Log
                    ) -> Pretrained:
    """Run (or reuse) a planned pretraining; stop when it left exported tensors untrained
    that its config does not name (:func:`harness.pretrain.check_untrained`)."""
    from harness.pretrain import check_untrained, pretrain

    if job.finished is not None:
        log(f'pretraining reused from cache: {job.work_dir} (trained '
            f"{job.finished.provenance.get('started_at', '?')})")
        result = job.finished
    else:
        started = time.monotonic()
        result = pretrain(job, resume=plan.resume, log=log)
        log(f'pretraining done in {time.monotonic() - started:.0f}s: {job.work_dir}')
    check_untrained(result, job.cfg)
    pm.pretrain_end(plan, result.backbone_path, job.finished is not None)
    return result


def run_evaluation(plan: RunPlan, job: Job, log: Log) -> EvalResult:
    """Evaluate one job. A finished evaluation of the same pretraining, protocol and split is
    reused with ``--resume`` (so an interrupted ``--split all`` continues where it stopped)."""
    from mmengine.dist import is_main_process

    request = job.request
    done = request.work_dir / 'result.json'
    if plan.resume and done.is_file():
        log(f'split {request.split}: finished evaluation reused from {done}')
        return EvalResult(**json.loads(done.read_text()))
    with main_process_first():
        prepare_work_dir(request.work_dir, resume=plan.resume, finished=done.is_file(),
                         what='evaluation')
    result = job.protocol.run(request, job.prepared, log)
    if is_main_process():
        atomic_write_text(done, json.dumps(asdict(result), indent=2, default=str))
    return result


def execute(pm: PluginManager, plan: RunPlan, log: Log = print
            ) -> tuple[dict[str, Any] | None, Path | None]:
    """Run the plan; returns the written record and its path ((None, None) in a dry run, which
    prints the merged configs and the planned work instead).

    Every job is planned first (the data of every split, every pretraining and evaluation
    config, checked), so a mistake surfaces before hours of training, not after."""
    from mmengine.dist import is_main_process

    from harness import results

    started_at = datetime.now(timezone.utc).isoformat(timespec='seconds')
    started = time.monotonic()
    log(describe(plan))
    jobs = plan_jobs(plan, log)
    if plan.dry_run:
        show_plan(plan, jobs, log)
        return None, None
    pm.run_start(plan)
    finished: dict[str, Pretrained] = {}
    runs = {}
    for job in jobs:
        work = job.pretraining
        if work is None:
            log(f'{plan.method.info.name}: no pretraining (random initialisation)')
        elif work.key not in finished:  # once for the jobs that share it
            finished[work.key] = run_pretraining(pm, plan, work, log)
        runs[job.seed, job.split.name] = run_evaluation(plan, job, log)
        if len(jobs) > 1:
            log(f'seed {job.seed}, split {job.split.name}: ' +
                ', '.join(f'{k} {v}' for k, v in runs[job.seed, job.split.name].metrics.items()))
    result = combine_runs(runs)
    record = build_record(plan, jobs, finished, result, started_at=started_at,
                          duration_s=time.monotonic() - started)
    path = plan.records_dir / f'{results.record_id(record)}.json'
    if is_main_process():
        results.write_record(record, plan.records_dir)
        pm.record_written(plan, record, path)
    return record, path
