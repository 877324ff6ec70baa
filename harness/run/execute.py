"""Executing a run: plan its jobs, then walk them: pretrain (or reuse) each pretraining once,
evaluate each job, combine the results and write one record."""
from __future__ import annotations

import glob
import json
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from harness.api import EvalResult
from harness.engine import main_process_first, prepare_work_dir
from harness.errors import HarnessError
from harness.plugins import PluginManager
from harness.pretrain import Pretrained, PretrainJob
from harness.io import atomic_write_text, folder_lock
from harness.run.jobs import Job, plan_jobs
from harness.run.plan import RunPlan
from harness.run.record import build_record, combine_runs
from harness.run.space import warn_if_short

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
    if plan.weights is not None:
        return (f"{'dry run' if plan.dry_run else 'evaluation'}: {plan.weights.describe()}, "
                f'named {plan.weights.label}{" (supervised)" if plan.weights.supervised else ""}'
                f'; eval {plan.evaluator.info.name}/{plan.protocol.name} (config '
                f"{plan.eval_config[0]}), split {', '.join(plan.splits)}, data "
                f"{plan.eval_data.label} ({plan.eval_data.root}), seed "
                f"{', '.join(map(str, plan.seeds))}; records to {plan.records_dir}")
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
            if work.batch is not None:
                log(f'pretraining across processes:\n{work.batch.describe()}')
        log(f'evaluation {plan.evaluator.info.name}/{plan.protocol.name} split '
            f'{job.split.name} seed {job.seed} in {job.request.work_dir}; merged config:\n'
            f'{job.prepared.cfg.pretty_text}')
    log('dry run: nothing was trained and no record was written')


@contextmanager
def only_this_run(work_dir: Path, log: Log) -> Iterator[None]:
    """Keep other harness runs of this machine out of ``work_dir`` (a pretraining's or an
    evaluation's folder) during the block: two runs that share one (the same command started
    twice, or two commands sharing a pretraining) take turns instead of clearing each other's
    files. Under a launcher (several processes) the folders are the scheduler's to keep apart:
    no lock is taken."""
    from mmengine.dist import get_world_size

    if get_world_size() > 1:
        yield
        return
    with folder_lock(work_dir, on_wait=lambda: log(
            f'another harness run is working in {work_dir}: waiting for it to finish')):
        yield


def run_pretraining(pm: PluginManager, plan: RunPlan, job: PretrainJob, log: Log
                    ) -> tuple[Pretrained, bool]:
    """Run (or reuse) a planned pretraining: ``(its result, whether it was reused)``; one
    another run finished while this one waited for it is reused. Stops when it left exported
    tensors untrained that its config does not name (:func:`harness.pretrain.check_untrained`)."""
    from harness.pretrain import check_untrained, pretrain, read_result

    with only_this_run(job.work_dir, log):
        finished = job.finished or read_result(job.work_dir)
        if finished is not None:
            log(f'pretraining reused from cache: {job.work_dir} (trained '
                f"{finished.provenance.get('started_at', '?')})")
            result = finished
        else:
            started = time.monotonic()
            result = pretrain(job, resume=plan.resume, log=log)
            log(f'pretraining done in {time.monotonic() - started:.0f}s: {job.work_dir}')
    check_untrained(result, job.cfg)
    pm.pretrain_end(plan, result.backbone_path, finished is not None)
    return result, finished is not None


def other_settings(work_dir: Path) -> list[Path]:
    """Folders of the same evaluation (method, backbone, pretraining, protocol, config, split,
    seed) made under another key (:func:`harness.run.jobs.keyed`)."""
    stem = work_dir.name.rsplit('_', 1)[0]
    return sorted(p for p in work_dir.parent.glob(f'{glob.escape(stem)}_*')
                  if p != work_dir and p.name.rsplit('_', 1)[0] == stem)


def run_evaluation(plan: RunPlan, job: Job, log: Log) -> EvalResult:
    """Evaluate one job. A finished evaluation with the same key (the same settings, data and
    code: :func:`harness.run.jobs.evaluation_key`) is reused with ``--resume`` (so an
    interrupted ``--split all`` continues where it stopped); one made with other settings is
    kept and not reused."""
    with only_this_run(job.request.work_dir, log):
        return evaluate_job(plan, job, log)


def evaluate_job(plan: RunPlan, job: Job, log: Log) -> EvalResult:
    """:func:`run_evaluation` once its folder is this run's."""
    from mmengine.dist import is_main_process

    request = job.request
    done = request.work_dir / 'result.json'
    if plan.resume and done.is_file():
        log(f'split {request.split}: finished evaluation reused from {done}')
        return EvalResult(**json.loads(done.read_text()))
    if plan.resume and not request.work_dir.exists():
        others = other_settings(request.work_dir)
        if others:
            log(f'split {request.split}: the evaluation in {others[0]} was made with other '
                f'settings (options, data or code); this one starts anew in '
                f'{request.work_dir}')
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
    warn_if_short(plan.work_dir, jobs, log)
    if plan.dry_run:
        show_plan(plan, jobs, log)
        return None, None
    pm.run_start(plan)
    finished: dict[str, Pretrained] = {}
    reused: set[str] = set()
    runs = {}
    for job in jobs:
        work = job.pretraining
        if work is None and plan.weights is not None:
            pass  # described in the first line (describe)
        elif work is None:
            log(f'{plan.method.info.name}: no pretraining (random initialisation)')
        elif work.key not in finished:  # once for the jobs that share it
            finished[work.key], was_reused = run_pretraining(pm, plan, work, log)
            reused |= {work.key} if was_reused else set()
        runs[job.seed, job.split.name] = run_evaluation(plan, job, log)
        if len(jobs) > 1:
            log(f'seed {job.seed}, split {job.split.name}: ' +
                ', '.join(f'{k} {v}' for k, v in runs[job.seed, job.split.name].metrics.items()))
    result = combine_runs(runs)
    record = build_record(plan, jobs, finished, result, reused=reused, started_at=started_at,
                          duration_s=time.monotonic() - started)
    path = plan.records_dir / f'{results.record_id(record)}.json'
    if is_main_process():
        try:
            path, state = results.write_record(record, plan.records_dir)
        except OSError as exc:
            raise HarnessError(
                f'the record could not be written to {plan.records_dir} ({exc.strerror or exc}); '
                f'the results are kept in {plan.work_dir}: once there is room, run the same '
                'command with --resume to write it without training again') from exc
        if state == 'unchanged':
            log(f'{path} already holds this result (same settings, same metrics): kept as it '
                'was')
        elif state == 'beside':
            log(f'{plan.records_dir / (results.record_id(record) + ".json")} holds another '
                f'result of the same settings; this one is kept beside it as {path.name}')
        pm.record_written(plan, record, path)
    return record, path
