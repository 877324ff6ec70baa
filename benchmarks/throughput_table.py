"""The CPU throughput table: ``benchmarks/pretrain_throughput.py`` for every method at the
README's CPU sizes (and BraVe's and SimCLR's larger rows), one run after another, each in a
process of its own; prints one markdown row per run as it finishes.

    .venv/bin/python benchmarks/throughput_table.py [--rounds 3] [--only brave,counting] \
        [--log throughput.log]

Each row's figures are that run's own (harness / plain loop, the data-wait share, harness /
plain loop fed by the harness's dataloader); its whole output goes to ``--log``.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

VIDEO_CLIP = ['--batch', '8', '--clip', '8x32']
VIDEO_VIEW = ['--batch', '8', '--view', '8x32']
IMAGE = ['--batch', '32', '--image', '56']
#: (method, its options): the README's CPU sizes
ROWS = [
    ('brave', ['--batch', '8', '--narrow', '8x32', '--broad', '16x24']),
    *[(name, VIDEO_CLIP) for name in ('transrank', 'transrank-cls', 'aot', 'pace', 'rotnet3d',
                                      'rtt', 'speednet')],
    *[(name, VIDEO_VIEW) for name in ('moco', 'byol', 'simsiam', 'videomoco')],
    *[(name, IMAGE) for name in ('simclr', 'mocov3', 'sim', 'counting', 'transitive',
                                 'multitask')],
    ('simclr', ['--batch', '32', '--image', '64']),
]


def figures(output: str) -> tuple[str, str, str]:
    ratio = re.search(r'ratio harness / plain loop: ([\d.]+)x', output)
    fed = re.search(r'fed by the harness.s dataloader and preprocessor: ([\d.]+)x', output)
    wait = re.search(r'^harness\s+[\d.]+\s+[\d.]+\s+(\d+)%', output, re.M)
    return tuple(m.group(1) if m else '?' for m in (ratio, wait, fed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', default='3')
    parser.add_argument('--only', default='', help='methods to run, comma-separated')
    parser.add_argument('--log', type=Path, default=Path('throughput.log'))
    args = parser.parse_args()
    only = set(filter(None, args.only.split(',')))
    script = Path(__file__).with_name('pretrain_throughput.py')
    print('| method | options | harness / plain | data wait | harness / fed |')
    print('|---|---|---|---|---|', flush=True)
    failed = 0
    with args.log.open('a') as log:
        for method, options in ROWS:
            if only and method not in only:
                continue
            command = [sys.executable, str(script), '--method', method, '--rounds',
                       args.rounds, *options]
            done = subprocess.run(command, capture_output=True, text=True)
            log.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
            log.flush()
            ratio, wait, fed = figures(done.stdout)
            failed += done.returncode != 0
            note = '' if done.returncode == 0 else f' (exit {done.returncode}, see {args.log})'
            print(f"| {method} | {' '.join(options)} | {ratio}x{note} | {wait}% | {fed}x |",
                  flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
