"""Transitive Invariance: do the transitive pairs beat either edge type alone? (docs/methods.md §4)

The paper's ablation at demo scale: the same mining, the same first stage (the intra-edge
iterations before the graph is built) and the same number of steps, trained on the three pair
sets the method's configs name, each evaluated by the same protocol through the harness
(``harness run --method transitive --config C --eval E``), with random initialisation as the
reference row:

- ``demo``: intra-instance, inter-instance and transitive pairs (the paper's method);
- ``intra_demo``: the tracked pairs alone (Wang & Gupta 2015);
- ``inter_demo``: the clustered pairs alone.

    .venv/bin/python experiments/transitive_pairs.py [--eval voc07] [--protocol P]
        [--seeds 0,1,2] [--work-dir /tmp/transitive_pairs] [-- harness run arguments]

All runs share one work dir (the demo data and the mined patches are made once); each
variant's records go to ``records-<variant>`` there, so a second call reuses finished runs.
The table gives each metric's mean (and standard deviation over ``--seeds``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from run_args import run_or_reuse

#: row label -> (method, its config or None)
VARIANTS = {
    'intra + inter + transitive': ('transitive', 'demo'),
    'intra-instance alone': ('transitive', 'intra_demo'),
    'inter-instance alone': ('transitive', 'inter_demo'),
    'random init': ('random', None),
}


def command(method: str, config: str | None, args, records: Path, extra: list[str]
            ) -> list[str]:
    """The ``harness run`` command of one variant."""
    line = [sys.executable, '-m', 'harness.cli', 'run', '--method', method, '--eval',
            args.eval, '--work-dir', str(args.work_dir), '--records-dir', str(records),
            '--seeds', args.seeds, '--backbone', args.backbone]
    if config:
        line += ['--config', config]
    if args.protocol:
        line += ['--protocol', args.protocol]
    return line + extra


def run_variant(label: str, method: str, config: str | None, args, extra: list[str]) -> dict:
    """One variant's record (the run is skipped when its record exists)."""
    records = args.work_dir / f"records-{config or method}"
    return run_or_reuse(label, command(method, config, args, records, extra), records,
                        args.work_dir / f'{config or method}.log', tag='transitive_pairs')


def table(records: dict[str, dict]) -> str:
    """A markdown table: one row per variant, one column per metric (mean ± std)."""
    names = list(next(iter(records.values()))['metrics'])
    lines = ['| pairs | ' + ' | '.join(names) + ' |', '|---' * (len(names) + 1) + '|']
    for label, record in records.items():
        cells = []
        for name in names:
            metric = record['metrics'][name]
            std = metric.get('std')
            cells.append(f"{metric['value']:.2f}" + (f' ± {std:.2f}' if std else ''))
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index('--') + 1:] if '--' in argv else []
    argv = argv[:argv.index('--')] if '--' in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--eval', default='voc07')
    parser.add_argument('--protocol', default=None)
    parser.add_argument('--seeds', default='0')
    parser.add_argument('--backbone', default='resnet18-slim',
                        help="every variant's backbone (the demo's default: resnet18-slim)")
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/transitive_pairs'))
    args = parser.parse_args(argv)
    records = {label: run_variant(label, method, config, args, extra)
               for label, (method, config) in VARIANTS.items()}
    print(f"\n{args.eval}/{next(iter(records.values()))['eval']['protocol']}, seeds "
          f'{args.seeds}, demo data\n')
    print(table(records))
    return 0


if __name__ == '__main__':
    sys.exit(main())
