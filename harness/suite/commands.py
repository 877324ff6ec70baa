"""``harness suite run`` and ``harness suite status``: load the suite, plan every run, then run
the missing ones (or report their state), print the summary and render the suite's board."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from harness.errors import HarnessError
from harness.plugins import PluginManager
from harness.suite.executors import check_executor, run_local, run_parallel, run_submitit
from harness.suite.planning import PlannedRun, SuitePlanError, groups, plan_suite
from harness.suite.report import counts, status_table, summary_table, table
from harness.suite.spec import Suite, load_suite, parse_data_options

#: the suite's board, under its work folder
BOARD = Path('board') / 'README.md'


def log(message: str) -> None:
    print(f'[suite] {message}', flush=True)


def folders(suite: Suite, args) -> tuple[Path, Path]:
    """The suite's work folder (default ``work_dirs/suites/NAME``) and records folder (default
    ``WORK_DIR/records``)."""
    work_dir = Path(args.work_dir or Path('work_dirs') / 'suites' / suite.name)
    work_dir = work_dir.expanduser().resolve()
    records = Path(args.records_dir).expanduser().resolve() if args.records_dir else \
        work_dir / 'records'
    return work_dir, records


def plan(args, launcher: str = 'none') -> tuple[PluginManager, Suite, list[PlannedRun], Path,
                                                Path]:
    """Load and plan the suite of ``args``; each run that cannot run is one line on stderr, then
    the SuitePlanError (exit 2)."""
    suite = load_suite(args.suite)
    data = parse_data_options(args.data)
    work_dir, records_dir = folders(suite, args)
    pm = PluginManager(args.plugins)
    pm.check_hooks()
    log(f'suite {suite.name} ({suite.path}): planning {len(suite.runs)} runs in {work_dir}')
    try:
        planned = plan_suite(pm, suite, work_dir=work_dir, records_dir=records_dir, data=data,
                             launcher=launcher, log=log)
    except SuitePlanError as exc:
        for line in exc.problems:
            print(f'harness: error: {line}', file=sys.stderr)
        raise
    return pm, suite, planned, work_dir, records_dir


def plan_table(planned: Sequence[PlannedRun]) -> str:
    """Each run with its state, the job it belongs to (runs sharing a pretraining share one)
    and its work: pretrainings to train or reused, evaluations."""
    job_of = {run.index: number for number, group in enumerate(groups(planned), 1)
              for run in group}
    rows = []
    for run in planned:
        pretrainings = {job.pretraining.key: job.pretraining for job in run.jobs
                        if job.pretraining is not None}
        trained = sum(p.finished is not None for p in pretrainings.values())
        work = (f'{len(pretrainings)} pretraining(s) ({trained} finished), '
                if pretrainings else 'no pretraining, ')
        rows.append((run.label, 'finished' if run.finished else 'to run',
                     str(job_of[run.index]), f'{work}{len(run.jobs)} evaluation(s)'))
    return table(('run', 'state', 'job', 'work'), rows)


def cmd_run(args) -> int:
    from harness.engine import use_fast_paths

    use_fast_paths()  # as harness run: before any thread or worker starts
    if not args.dry_run:
        check_executor(args.executor)
    if args.jobs < 1 or (args.jobs > 1 and args.executor == 'slurm'):
        raise HarnessError(f'--jobs {args.jobs}: ' + (
            'the number of jobs at once is 1 or more' if args.jobs < 1 else
            'is for the local executors; --executor slurm submits every job at once'))
    pm, suite, planned, work_dir, records_dir = plan(args)
    finished = sum(run.finished for run in planned)
    log(f'{len(planned)} runs planned: {finished} finished (reused), '
        f'{len(planned) - finished} to run, in {len(groups(planned))} job(s) by pretraining; '
        f'records to {records_dir}')
    if args.dry_run:
        print(plan_table(planned))
        print("dry run: nothing was trained ('harness run ... --dry-run' shows a run's merged "
              'configs)')
        return 0
    try:
        if args.executor == 'local' and args.jobs == 1:
            outcomes = run_local(pm, planned, log, debug=args.debug)
        elif args.executor == 'local':
            outcomes = run_parallel(suite, planned, jobs=args.jobs, work_dir=work_dir,
                                    records_dir=records_dir, data=parse_data_options(args.data),
                                    plugins=args.plugins, log=log)
        else:
            outcomes = run_submitit(suite, planned, executor=args.executor, work_dir=work_dir,
                                    records_dir=records_dir, data=parse_data_options(args.data),
                                    plugins=args.plugins, log=log, jobs=args.jobs)
    except KeyboardInterrupt:
        print(f"harness: interrupted; run 'harness suite run {args.suite}' again to continue "
              '(finished runs are reused, the interrupted one resumes)', file=sys.stderr)
        return 130
    print(summary_table(outcomes))
    print(f'suite {suite.name}: {counts(outcomes)}')
    if any(o.record for o in outcomes):
        from harness import leaderboard

        board = work_dir / BOARD
        leaderboard.render(records_dir, board, notice=(
            f'This file is generated by `harness suite run {suite.name}` from the records in '
            f'`{records_dir}`; do not edit it by hand.'))
        print(f'board: {board}')
    return 1 if any(o.state == 'failed' for o in outcomes) else 0


def cmd_status(args) -> int:
    _, suite, planned, _, records_dir = plan(args)
    print(status_table(planned))
    finished = sum(run.finished for run in planned)
    print(f'suite {suite.name}: {finished} of {len(planned)} runs finished (records in '
          f'{records_dir})')
    return 0


def add_parser(sub, parser_class) -> None:
    """The ``suite`` command and its ``run`` and ``status`` subcommands."""
    from harness.suite.executors import EXECUTORS

    suite = sub.add_parser('suite', help='run a benchmark suite (many runs) and see its state')
    commands = suite.add_subparsers(dest='suite_command', required=True,
                                    parser_class=parser_class)
    for name, text in (('run', 'plan every run, then run the ones without a record'),
                       ('status', 'each run: finished (its record), started or missing')):
        command = commands.add_parser(name, help=text)
        command.add_argument('suite', metavar='NAME|FILE',
                             help='a suite shipped in harness/suites/ (demo, one per paper) or a '
                                  'suite file')
        command.add_argument('--work-dir', help='default: work_dirs/suites/NAME')
        command.add_argument('--records-dir', help='default: WORK_DIR/records')
        command.add_argument('--data', action='append', default=[], metavar='DATASET=ROOT',
                             help="a dataset's root (repeat for several; default: the "
                                  "suite's data, else demo)")
        if name == 'run':
            command.add_argument('--executor', choices=EXECUTORS, default='local',
                                 help='local: here, run after run (default); slurm: one '
                                      'submitit job per pretraining and its evaluations; '
                                      'submitit-local: those jobs as local processes')
            command.add_argument('--jobs', type=int, default=1, metavar='N',
                                 help='local executors: N jobs (a pretraining and its '
                                      'evaluations) at once, each process with 1/N of the '
                                      'cores (default 1)')
            command.add_argument('--dry-run', action='store_true',
                                 help='plan and check every run, train nothing')


def main(args) -> int:
    return cmd_run(args) if args.suite_command == 'run' else cmd_status(args)
