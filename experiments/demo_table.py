"""The demo table: every method on its default evaluator's frozen demo protocol with 3 seeds,
against both reference rows, and the image methods on the detection and NYUv2 demos.

The shipped suite ``demo`` (``harness suite run demo``, README "Suites") lists the same runs
and replaces this script: it plans them all first, reuses finished records by identity and
renders their board; the script stays for the table it prints.

Each row is one ``harness run --seeds 0,1,2`` (the demo configs, the default demo data and
backbones), so every number goes through exactly the protocol every other does:

- video methods: ``--eval ucf101 --protocol linear``;
- image methods: ``--eval imagenet --protocol knn``, ``--eval voc07`` and
  ``--eval nyuv2 --protocol normals``;
- the reference rows ``random`` (as initialised) and ``random --config bn_calibrated`` on each
  backbone a method of that data trains (its demo stand-in), so a method is read against random
  weights of its own network.

An evaluation a backbone cannot run (a detector family without a ViT) is shown as ``n/a``.

The table (mean ± sample std over the seeds of each evaluation's first metric) is printed and
written to ``WORK_DIR/demo_table.md``; the records stay in ``WORK_DIR/records/<row>/``, ready for
``harness leaderboard add --replace``. A second call reuses every record already written and
resumes the row that was interrupted (``--resume``: finished pretrainings and evaluations of the
same settings are reused, an unfinished one continues from its last checkpoint), so an
interrupted table continues where it stopped.

    .venv/bin/python experiments/demo_table.py [--work-dir /tmp/demo_table] [--seeds 0,1,2]
        [--only METHOD,...] [--evals ucf101/linear,...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.plugins import PluginManager
from run_args import run_or_reuse

#: the evaluations of each modality: (evaluator, protocol)
EVALUATIONS = {'video': [('ucf101', 'linear')],
               'image': [('imagenet', 'knn'), ('voc07', 'finetune'), ('nyuv2', 'normals')]}
#: the reference rows: (label, --config or None)
REFERENCES = [('random', None), ('random (bn_calibrated)', 'bn_calibrated')]


def demo_backbone(pm: PluginManager, name: str) -> str:
    """The backbone a demo run uses for a method defaulting to ``name`` (its demo stand-in)."""
    return pm.get('backbone', name).info.demo_standin or name


def rows(pm: PluginManager, only: set[str]
         ) -> list[tuple[str, str, str, str | None, str | None]]:
    """(label, method, modality, --config, --backbone) of every row, each modality's reference
    rows first (one pair per backbone its methods train)."""
    found = []
    for modality in EVALUATIONS:
        methods = [(name, variant) for name, entry in sorted(pm.components['method'].items())
                   if not entry.info.reference
                   for variant in (entry.info, *entry.info.also) if variant.modality == modality]
        backbones = sorted({demo_backbone(pm, v.default_backbone) for _, v in methods})
        found += [(f'{label} [{backbone}]', 'random', modality, config, backbone)
                  for backbone in backbones for label, config in REFERENCES]
        found += [(name, name, modality, None, None) for name, _ in methods]
    return [row for row in found if not only or row[1] in only or row[0] in only]


def mean_std(record: dict) -> str:
    name = next(iter(record['metrics']))
    entry = record['metrics'][name]
    return f"{entry['value']:.1f} ± {entry.get('std', 0.0):.1f} {name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/demo_table'))
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--only', default='',
                        help='methods (or row labels) to run, comma-separated')
    parser.add_argument('--evals', default='', help='evaluator/protocol pairs to run')
    args = parser.parse_args(argv)
    only = {m for m in args.only.split(',') if m}
    wanted = {tuple(e.split('/')) for e in args.evals.split(',') if e}
    pm = PluginManager()
    table: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for label, method, modality, config, backbone in rows(pm, only):
        for evaluator, protocol in EVALUATIONS[modality]:
            if wanted and (evaluator, protocol) not in wanted:
                continue
            column = f'{evaluator}/{protocol}'
            columns += [column] if column not in columns else []
            slug = ''.join(c if c.isalnum() or c in '-_' else '-' for c in label).strip('-')
            name = f'{slug}_{evaluator}_{protocol}'
            command = [sys.executable, '-m', 'harness.cli', 'run', '--method', method,
                       '--eval', evaluator, '--protocol', protocol, '--seeds', args.seeds,
                       '--resume',  # a row interrupted mid-way continues from its checkpoints
                       '--work-dir', args.work_dir / f'{slug}-{modality}',
                       '--records-dir', args.work_dir / 'records' / name]
            command += ['--config', config] if config else []
            command += ['--backbone', backbone] if backbone else []
            try:
                record = run_or_reuse(f'{label} on {column}', command,
                                      args.work_dir / 'records' / name,
                                      args.work_dir / 'logs' / f'{name}.log', tag='demo_table')
                cell = mean_std(record)
            except SystemExit as failed:  # e.g. a detector family that holds no ViT
                print(f'[demo_table] {failed}', flush=True)
                cell = 'n/a'
            table.setdefault(f'{label} ({modality})', {})[column] = cell
    lines = ['| row | ' + ' | '.join(columns) + ' |', '|---|' + '---|' * len(columns)]
    lines += [f'| {row} | ' + ' | '.join(cells.get(c, '') for c in columns) + ' |'
              for row, cells in table.items()]
    text = '\n'.join(lines) + '\n'
    print(text)
    (args.work_dir / 'demo_table.md').write_text(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
