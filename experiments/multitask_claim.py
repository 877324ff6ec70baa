"""Multi-task SSL's claim at demo scale: does the joint network beat its best single task?
(docs/methods.md §6c: "combining tasks helps even with a naive multi-head net")

Pretrains the multitask method five times through the harness (``harness run --method
multitask --eval nyuv2 --protocol depth``), once per single-task config
(``relative_position_demo``, ``colorization_demo``, ``exemplar_demo``, ``motion_demo``) and
once with the joint config (``demo``: the four tasks, losses summed), each on the demo
Kinetics-400 videos with the same backbone, seed, batch and schedule, then evaluates each
backbone with the NYUv2 depth demo protocol. A random-init row (``--method random``) is the
reference. Prints one row per config (% of pixels within 1.25 of the true depth, abs-rel,
RMSE) and the joint network's headline minus the best single task's.

    .venv/bin/python experiments/multitask_claim.py [--configs demo,motion_demo,...]
        [--steps N] [--seeds 0,1,2] [--backbone resnet18-slim] [--no-random]
        [--work-dir /tmp/multitask_claim] [--dry-run] [-- HARNESS RUN ARGS ...]

``--steps`` shortens (or lengthens) every pretraining (default: the demo configs' 250).
``--seeds`` runs each config with several seeds (the record holds their mean and std).
``--dry-run`` prints the commands and exits. Arguments after ``--`` go to every ``harness
run``. All runs share one work directory (one copy of the demo data; pretrainings are cached
by their identity), each config with its own records directory, so a second call with the
same arguments reuses what is done. Demo numbers say whether the pipeline shows the direction
of the claim, nothing about the paper's numbers.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from run_args import run_or_reuse, split_cfg_options

SINGLE = ('relative_position_demo', 'colorization_demo', 'exemplar_demo', 'motion_demo')
JOINT = 'demo'
RANDOM = 'random'  # the reference row: no pretraining
METRICS = ('delta_1.25', 'abs_rel', 'rmse')  # the depth protocol's, headline first
WARMUP = 10  # the demo configs' linear warm-up steps


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The script's options and the ``harness run`` arguments given after ``--``."""
    extra: list[str] = []
    if '--' in argv:
        at = argv.index('--')
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', default=','.join((*SINGLE, JOINT)),
                        help='comma-separated multitask configs (default: the four single '
                             'tasks and the joint demo)')
    parser.add_argument('--steps', type=int, default=None,
                        help="pretraining iterations (default: the configs' own)")
    parser.add_argument('--seeds', default='0', help='comma-separated seeds (default: 0)')
    parser.add_argument('--backbone', default='resnet18-slim')
    parser.add_argument('--no-random', action='store_true',
                        help='leave out the random-init reference row')
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/multitask_claim'))
    parser.add_argument('--dry-run', action='store_true', help='print the commands and exit')
    args = parser.parse_args(argv)
    args.configs = [name for name in args.configs.split(',') if name]
    known = (*SINGLE, JOINT, 'lasso_demo')
    unknown = [name for name in args.configs if name not in known]
    if unknown or not args.configs:
        parser.error(f"--configs takes names from {', '.join(known)}; got {args.configs}")
    try:
        args.seeds = [int(seed) for seed in args.seeds.split(',')]
    except ValueError:
        parser.error(f'--seeds takes comma-separated integers, got {args.seeds!r}')
    if args.steps is not None and args.steps <= WARMUP:
        parser.error(f'--steps must be more than the {WARMUP} warm-up steps')
    return args, extra


def schedule_options(steps: int | None) -> list[str]:
    """``--cfg-options`` that set the number of pretraining steps (the cosine schedule after
    the demo's warm-up shortened to fit); none for the configs' own."""
    if steps is None:
        return []
    return [f'train_cfg.max_iters={steps}', f'param_scheduler.1.T_max={steps - WARMUP}']


def command(config: str, args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The ``harness run`` command of one row (``config`` a multitask config, or
    :data:`RANDOM`)."""
    records = args.work_dir / 'records' / config
    seeds = ['--seed', str(args.seeds[0])] if len(args.seeds) == 1 else \
        ['--seeds', ','.join(map(str, args.seeds))]
    method = ['--method', 'random'] if config == RANDOM else \
        ['--method', 'multitask', '--config', config]
    given, others = split_cfg_options(extra)
    if config == RANDOM:  # no pretraining config: only the evaluation's options apply
        options = [option for option in given if option.lstrip('+').startswith('eval.')]
    else:
        options = schedule_options(args.steps) + given
    return [sys.executable, '-m', 'harness.cli', 'run', *method, '--eval', 'nyuv2',
            '--protocol', 'depth', '--backbone', args.backbone, '--work-dir',
            str(args.work_dir), '--records-dir', str(records), *seeds, *others,
            *(['--cfg-options', *options] if options else [])]


def run_row(config: str, args: argparse.Namespace, extra: list[str]) -> dict:
    """Pretrain (unless random) and evaluate one row, or reuse its record; the record."""
    return run_or_reuse(config, command(config, args, extra), args.work_dir / 'records' / config,
                        args.work_dir / f'{config}.log', tag='multitask_claim')


def cell(metric: dict | None) -> str:
    if metric is None:
        return '-'
    text = f"{metric['value']:.3f}"
    return text + (f" ± {metric['std']:.3f}" if 'std' in metric else '')


def table(rows: dict[str, dict]) -> str:
    """One markdown row per config: the depth metrics of its record."""
    header = '| config | ' + ' | '.join(METRICS) + ' |'
    lines = [header, '|' + '---|' * (len(METRICS) + 1)]
    for config, record in rows.items():
        metrics = record['metrics']
        lines.append(f'| {config} | ' + ' | '.join(cell(metrics.get(m)) for m in METRICS)
                     + ' |')
    return '\n'.join(lines)


def verdict(rows: dict[str, dict]) -> str:
    """The joint network's headline (% within 1.25) minus the best single task's."""
    singles = {c: r['metrics'][METRICS[0]]['value'] for c, r in rows.items() if c in SINGLE}
    if JOINT not in rows or not singles:
        return 'joint vs best single task: needs the joint config and at least one single task'
    best = max(singles, key=singles.get)
    joint = rows[JOINT]['metrics'][METRICS[0]]['value']
    return (f'joint {METRICS[0]} {joint:.3f} vs best single task ({best}) {singles[best]:.3f}: '
            f'{joint - singles[best]:+.3f} points')


def main(argv: list[str]) -> None:
    args, extra = parse_args(argv)
    configs = [*args.configs] + ([] if args.no_random else [RANDOM])
    if args.dry_run:
        for config in configs:
            print(' '.join(command(config, args, extra)))
        return
    rows = {config: run_row(config, args, extra) for config in configs}
    print(table(rows))
    print(verdict(rows))
    print('(demo data: the direction of the claim at toy scale, not comparable to the paper)')


if __name__ == '__main__':
    main(sys.argv[1:])
