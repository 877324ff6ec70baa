"""SiameseIM's claim at demo scale: predicting *another* view's features beats predicting the
same view's (Tao et al. 2023, their ablation: +7-13 linear top-1 on ImageNet).

Both variants pretrain the same network from the same seed through the harness (``harness run
--method sim --eval imagenet --protocol knn``) and differ only in ``model.target_view``:
``other`` (the method: the masked first view predicts the second view at its relative
positions) or ``same`` (it predicts its own unmasked self). They are compared by kNN top-1
with random init as the floor, on a *validation* image demo: the imagenet demo generated with
seed 1 and ``--val-per-class`` val images per class (never the default demo's val split).

    .venv/bin/python experiments/sim_views.py [--seeds 0,1] [--work-dir /tmp/sim_views]
        [--val-per-class 60] [--backbone vit-tiny8] [-- --cfg-options ...]

Arguments after ``--`` go to both pretrainings (e.g. a longer schedule). Work directories
(``VARIANT-seedS``) are kept, so a second call reuses finished runs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from harness_imagedata import imagenet
from run_args import run_or_reuse

VALIDATION_SEED = 1  # the default demo is seed 0: its val split is never looked at here
VARIANTS = {'random': None, 'sim-other': 'other', 'sim-same': 'same'}


def with_option(args: list[str], option: str) -> list[str]:
    """``harness run`` arguments with ``option`` added to their ``--cfg-options`` (one list:
    a second ``--cfg-options`` would replace the first)."""
    if '--cfg-options' in args:
        at = args.index('--cfg-options') + 1
        return [*args[:at], option, *args[at:]]
    return [*args, '--cfg-options', option]


def run_variant(variant: str, seed: int, work_dir: Path, data: Path, backbone: str,
                extra: list[str]) -> float:
    """The kNN top-1 of one variant and seed (its run reused when its record exists)."""
    records = work_dir / 'records'
    target = VARIANTS[variant]
    command = [sys.executable, '-m', 'harness.cli', 'run',
               '--method', 'random' if target is None else 'sim', '--backbone', backbone,
               '--eval', 'imagenet', '--protocol', 'knn', '--data', str(data),
               '--work-dir', str(work_dir), '--records-dir', str(records), '--seed', str(seed)]
    if target is not None:
        command += ['--pretrain-data', 'imagenet',
                    *with_option(extra, f'model.target_view={target}')]
    record = run_or_reuse(f'{variant} seed {seed}', command, records,
                          work_dir.parent / f'{work_dir.name}.log', tag='sim_views')
    return float(record['metrics']['top1']['value'])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index('--') + 1:] if '--' in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', default='0')
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/sim_views'))
    parser.add_argument('--val-per-class', type=int, default=60)
    parser.add_argument('--backbone', default='vit-tiny8')
    args = parser.parse_args(argv[:argv.index('--')] if '--' in argv else argv)

    root = args.work_dir.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    data = imagenet.generate_demo(root / 'imagenet_validation', seed=VALIDATION_SEED,
                                  val_per_class=args.val_per_class)
    split = imagenet.read_split(data, 'val')
    seeds = [int(s) for s in args.seeds.split(',')]
    print(f'[sim_views] validation demo: {len(split.train)} train, {len(split.test)} val '
          f'images (one is {100 / len(split.test):.2g} points); {args.backbone}', flush=True)

    rows = []
    for variant in VARIANTS:
        per_seed = [run_variant(variant, seed, root / f'{variant}-seed{seed}', data,
                                args.backbone, extra) for seed in seeds]
        spread = statistics.stdev(per_seed) if len(per_seed) > 1 else float('nan')
        rows.append((variant, statistics.fmean(per_seed), spread, per_seed))
        print(f'[sim_views] {variant}: {", ".join(f"{s:.2f}" for s in per_seed)}', flush=True)

    print('\n| variant | kNN top-1 (mean over seeds) | std | per seed |\n|---|---|---|---|')
    for variant, mean, spread, per_seed in rows:
        print(f'| {variant} | {mean:.2f} | {spread:.2f} | '
              f'{", ".join(f"{s:.2f}" for s in per_seed)} |')


if __name__ == '__main__':
    main()
