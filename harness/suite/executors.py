"""Running a planned suite: ``local`` (in this process, run after run; with ``jobs`` above 1,
that many groups of runs at once, each in a process of its own with its share of the cores) or
through submitit (``slurm``: each group of runs that share a pretraining is one SLURM job;
``submitit-local``: the same jobs as local processes, ``jobs`` at a time, which is how the tests
stand in for SLURM).

A run whose record is already in the records folder is not run again (``reused``); every other
run executes as ``harness run --resume`` would, so an interrupted run continues from its last
checkpoint. A failed run does not stop the others: it is reported as ``failed`` at the end.
Submitted jobs that fail are submitted again, up to the suite's ``slurm.retries`` times; the
runs a retry finds finished are not run again.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.errors import HarnessError
from harness.plugins import PluginManager
from harness.suite.planning import (PlannedRun, SuitePlanError, groups, plan_suite,
                                    records_by_identity)
from harness.suite.spec import Suite, load_suite

Log = Callable[[str], None]
EXECUTORS = ('local', 'slurm', 'submitit-local')


@dataclass(frozen=True)
class Outcome:
    """What became of a run: ``ran``, ``reused`` (its record was there) or ``failed``."""

    run: PlannedRun
    state: str
    record: Path | None = None
    message: str | None = None


def one_line(exc: BaseException) -> str:
    """An exception as one line: a HarnessError's message, else its type and message."""
    if isinstance(exc, HarnessError):
        return str(exc)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r'\w+(Error|Exception|Interrupt): ', line)]
    if raised:  # a failed job's message holds its traceback: the error it ended with
        return raised[-1]
    return f'{type(exc).__name__}: {lines[-1] if lines else ""}'.rstrip(': ')


def run_local(pm: PluginManager, planned: Sequence[PlannedRun], log: Log, *,
              debug: bool = False) -> list[Outcome]:
    """Run the unfinished runs in this process, in suite order; returns every run's outcome."""
    from harness.run import execute

    outcomes = []
    for number, run in enumerate(planned, 1):
        head = f'({number}/{len(planned)}) {run.label}'
        if run.finished:
            log(f'{head}: finished, its record is reused: {run.record}')
            outcomes.append(Outcome(run, 'reused', run.record))
            continue
        log(f'{head}: running')
        try:
            _, path = execute(pm, run.plan, log=lambda message, head=head: log(
                f'{head}: {message}'))
        except Exception as exc:  # noqa: BLE001 - one run's failure must not stop the others
            if debug:
                raise
            log(f'{head}: FAILED: {one_line(exc)}')
            outcomes.append(Outcome(run, 'failed', message=one_line(exc)))
            continue
        outcomes.append(Outcome(run, 'ran', path))
    return outcomes


def check_executor(executor: str) -> None:
    """Whether ``executor`` can run here: submitit importable, and for ``slurm`` the SLURM
    commands it calls on PATH; checked before planning, one line otherwise."""
    import shutil

    if executor == 'local':
        return
    try:
        import submitit  # noqa: F401
    except ImportError as exc:
        raise HarnessError(f'--executor {executor} needs submitit (pip install submitit)') \
            from exc
    missing = [tool for tool in ('sbatch', 'srun') if shutil.which(tool) is None]
    if executor == 'slurm' and missing:
        raise HarnessError(f"--executor slurm needs SLURM, but {' and '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not on PATH here; run it "
                           'on a login node of the cluster, or use --executor local')


@dataclass(frozen=True)
class GroupJob:
    """One submitted job: plans and runs the runs ``indices`` of the suite file in its own
    process(es), with ``launcher`` (``slurm``: one process per GPU, mmengine reading
    ``SLURM_PROCID``...). Fails (so that it is retried) when a run failed, after running the
    others. Picklable: submitit sends it to the job."""

    suite: str
    indices: tuple[int, ...]
    data: Mapping[str, str]
    work_dir: str
    records_dir: str
    launcher: str
    plugins: tuple[str, ...] = ()
    #: the record identities the runs had when submitted (a job of a suite file edited since
    #: then stops instead of running other runs)
    identities: tuple[str, ...] = ()
    #: torch's compute threads in the job's process (jobs sharing a machine share its cores);
    #: None: torch's default
    threads: int | None = None

    @classmethod
    def of(cls, suite: Suite, group: Sequence[PlannedRun], data: Mapping[str, str],
           work_dir: Path, records_dir: Path, launcher: str, plugins: Sequence[str],
           threads: int | None) -> 'GroupJob':
        """The job that runs ``group`` (planned runs of ``suite``) as they were planned."""
        return cls(str(suite.path), tuple(r.index for r in group), dict(data), str(work_dir),
                   str(records_dir), launcher, tuple(plugins), tuple(r.identity for r in group),
                   threads)

    def __call__(self) -> list[tuple[str, str, str | None]]:
        import torch
        from mmengine.dist import is_main_process

        from harness.engine import use_fast_paths

        if self.threads:  # before any compute thread starts, so that all of them flush
            torch.set_num_threads(self.threads)
        use_fast_paths()
        pm = PluginManager(list(self.plugins))
        pm.check_hooks()
        suite = load_suite(self.suite)
        suite = replace(suite, runs=tuple(suite.runs[i] for i in self.indices))
        try:
            planned = plan_suite(pm, suite, work_dir=Path(self.work_dir),
                                 records_dir=Path(self.records_dir), data=self.data,
                                 launcher=self.launcher, check_data=False,
                                 log=lambda message: print(f'[suite] {message}', flush=True))
        except SuitePlanError as exc:  # e.g. the suite file was edited since it was submitted
            raise HarnessError('; '.join(exc.problems)) from exc
        if self.identities and tuple(run.identity for run in planned) != self.identities:
            raise HarnessError(f'{self.suite} (or the code) changed since this job was '
                               'submitted, so its runs are not the ones planned; run the suite '
                               'again')
        main = is_main_process()
        outcomes = run_local(pm, planned, log=lambda message: main and print(
            f'[suite] {message}', flush=True))
        failed = [o for o in outcomes if o.state == 'failed']
        if failed:
            raise RuntimeError('; '.join(f'run {o.run.label} failed: {o.message}'
                                         for o in failed))
        return [(o.run.label, o.state, str(o.record) if o.record else None) for o in outcomes]

    def checkpoint(self) -> Any:
        """Called by submitit when the job times out or is preempted: submit it again (its
        finished runs are reused, the interrupted one resumes from its checkpoint)."""
        import submitit

        return submitit.helpers.DelayedSubmission(self)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int) -> int | None:
    """Each of ``jobs`` processes sharing this machine gets an equal share of its cores (at
    least one); a single job keeps torch's default."""
    return max(1, cores() // jobs) if jobs > 1 else None


def unfinished_groups(planned: Sequence[PlannedRun]) -> list[list[PlannedRun]]:
    """The groups of runs sharing a pretraining, each with its unfinished runs only; groups with
    none left out."""
    return [[r for r in group if not r.finished] for group in groups(planned)
            if any(not r.finished for r in group)]


def outcomes_from_records(planned: Sequence[PlannedRun], records_dir: Path,
                          errors: Mapping[int, str], no_record: str) -> list[Outcome]:
    """Every run's outcome once its job ended, read from the records folder: ``reused`` if it
    was finished when planned, ``ran`` if its record is there now, else ``failed`` with its
    job's error, or ``no_record`` if none was caught."""
    found = records_by_identity(records_dir)
    outcomes = []
    for run in planned:
        if run.finished:
            outcomes.append(Outcome(run, 'reused', run.record))
        elif run.identity in found:
            outcomes.append(Outcome(run, 'ran', found[run.identity]))
        else:
            outcomes.append(Outcome(run, 'failed', message=errors.get(run.index, no_record)))
    return outcomes


def unset_start_method() -> None:
    """In a job process the pool spawned: forget the start method ``spawn`` it was started
    with, so that the Runner sets the config's own (mmengine warns when it replaces one)."""
    import multiprocessing

    multiprocessing.set_start_method(None, force=True)


def run_parallel(suite: Suite, planned: Sequence[PlannedRun], *, jobs: int, work_dir: Path,
                 records_dir: Path, data: Mapping[str, str], plugins: Sequence[str] = (),
                 log: Log = print) -> list[Outcome]:
    """``--executor local --jobs N``: the groups of unfinished runs (a pretraining and its
    evaluations) in ``jobs`` processes at once, in suite order, each process with
    ``cores / jobs`` compute threads. A failed run does not stop the others; nothing is retried.
    Their lines on the console are interleaved, each naming its run."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    todo = unfinished_groups(planned)
    threads = threads_per_job(jobs)
    log(f'{len(todo)} job(s), {jobs} at a time, {threads} compute thread(s) each')
    errors: dict[int, str] = {}
    # spawn: each job starts from a clean interpreter, not from a copy of this one's threads
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context('spawn'),
                               initializer=unset_start_method)
    try:
        running = {pool.submit(GroupJob.of(suite, group, data, work_dir, records_dir, 'none',
                                           plugins, threads)): group
                   for group in todo}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                group = running.pop(future)
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - reported with its runs at the end
                    errors.update({r.index: one_line(exc) for r in group})
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # the jobs got the Ctrl-C too
        raise
    pool.shutdown(wait=True)
    return outcomes_from_records(planned, records_dir, errors,
                                 no_record='its job wrote no record (its lines are above)')


@dataclass
class Submitted:
    group: list[PlannedRun]
    attempt: int
    job: Any = field(default=None)


def job_parameters(suite: Suite, cluster: str) -> tuple[dict[str, Any], str]:
    """submitit's parameters for each job, and the launcher its processes use."""
    slurm = suite.slurm
    common = dict(timeout_min=slurm.timeout_min, name=f'harness-suite-{suite.name}')
    if cluster != 'slurm':  # one process on this machine, no GPU asked for
        return dict(common, nodes=1, tasks_per_node=1), 'none'
    params = dict(common, nodes=slurm.nodes, tasks_per_node=slurm.gpus_per_node,
                  gpus_per_node=slurm.gpus_per_node, cpus_per_task=slurm.cpus_per_task)
    if slurm.mem_gb:
        params['mem_gb'] = slurm.mem_gb
    if slurm.partition:
        params['slurm_partition'] = slurm.partition
    if slurm.additional_parameters:
        params['slurm_additional_parameters'] = dict(slurm.additional_parameters)
    return params, 'slurm'


def run_submitit(suite: Suite, planned: Sequence[PlannedRun], *, executor: str, work_dir: Path,
                 records_dir: Path, data: Mapping[str, str], plugins: Sequence[str] = (),
                 log: Log = print, poll_s: float | None = None, jobs: int = 1) -> list[Outcome]:
    """Submit each group of unfinished runs as one job (``executor``: ``slurm``, all at once, or
    ``submitit-local``, ``jobs`` at a time), resubmit failed jobs up to ``suite.slurm.retries``
    times, wait for all; every run's outcome is read from the records folder at the end."""
    import submitit

    check_executor(executor)
    cluster = 'slurm' if executor == 'slurm' else 'local'
    pool = submitit.AutoExecutor(folder=work_dir / 'submitit', cluster=cluster)
    params, launcher = job_parameters(suite, cluster)
    pool.update_parameters(**params)
    parallel = None if cluster == 'slurm' else jobs  # local jobs share this machine's cores
    threads = None if cluster == 'slurm' else threads_per_job(jobs)
    poll_s = poll_s if poll_s is not None else (30.0 if cluster == 'slurm' else 0.5)
    retries = suite.slurm.retries
    waiting = [Submitted(group, 0) for group in unfinished_groups(planned)]
    running: list[Submitted] = []
    errors: dict[int, str] = {}

    def submit(item: Submitted) -> None:
        labels = ', '.join(r.label for r in item.group)
        try:
            item.job = pool.submit(GroupJob.of(suite, item.group, data, work_dir, records_dir,
                                               launcher, plugins, threads))
        except Exception as exc:  # noqa: BLE001 - sbatch refused it (a partition, a limit)
            raise HarnessError(f'submitting the job of {labels} failed: {one_line(exc)}; the '
                               'jobs submitted before it go on: run the suite again once it is '
                               'fixed') from exc
        log(f'job {item.job.job_id} submitted (attempt {item.attempt + 1} of {retries + 1}): '
            f'{labels}')
        running.append(item)

    try:
        while waiting or running:
            while waiting and (parallel is None or len(running) < parallel):
                submit(waiting.pop(0))
            time.sleep(poll_s)
            for item in [i for i in running if i.job.done()]:
                running.remove(item)
                try:
                    item.job.result()
                    log(f'job {item.job.job_id} finished')
                except Exception as exc:  # noqa: BLE001 - a failed job is retried or reported
                    line = one_line(exc)
                    if item.attempt < retries:
                        log(f'job {item.job.job_id} failed ({line}); submitting it again')
                        waiting.append(Submitted(item.group, item.attempt + 1))
                    else:
                        log(f'job {item.job.job_id} failed ({line}), attempt {item.attempt + 1} '
                            f'of {retries + 1}; logs: {work_dir / "submitit"}')
                        errors.update({r.index: line for r in item.group})
    except KeyboardInterrupt:
        for item in running:
            item.job.cancel(check=False)
        log(f"interrupted: cancelled job(s) {', '.join(str(i.job.job_id) for i in running)}")
        raise
    return outcomes_from_records(planned, records_dir, errors, no_record=(
        f'its job wrote no record (see {work_dir / "submitit"})'))
