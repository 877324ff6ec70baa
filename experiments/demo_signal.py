"""Does pretraining beat random init on the demo? A low-noise answer, never on the demo's test split.

The default demo's linear probe tests 80 videos (one video = 1.25 points) after training on 40,
so two runs of one method differ by about 5 points. This script measures on a *validation* demo
instead: the UCF101 demo generated with another seed (1), 32 clips per group (160 train and 320
test videos of split 1). Each method is pretrained and its features extracted through the
harness (``harness run --protocol linear``, the default demo pretraining set and configs); the
probe is then fit on ``--subsets`` disjoint sets of ``--labels`` train videos per class (as
many labels as the default demo has) and tested on all 320 test videos. A row gives the mean
over subsets for each seed, and the mean and sample std over seeds, with the features'
effective dimension (participation ratio of the standardized train features' covariance
spectrum, (sum l)^2 / sum l^2): a method whose features collapse onto a few directions shows it
there before it shows in the top-1.

    .venv/bin/python experiments/demo_signal.py --methods random,brave,transrank [--seeds 0,1]
        [--work-dir /tmp/demo_signal] [--labels 8] [--subsets 4] [--tag T] [-- --cfg-options ...]

Arguments after ``--`` go to every ``harness run`` except random's (e.g. a pretraining length
to try; give each such variant its own ``--tag``). Work directories (``METHOD[-TAG]-seedS``) are
kept, so a second call reuses the pretrainings and features.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch

from harness_videodata import kinetics400, ucf101
from harness_videoeval.linear import fit_and_score
from run_args import run_or_reuse

VALIDATION_SEED = 1  # the default demo is seed 0: its test split is never looked at here
CLIPS_PER_GROUP = 32
PROBE = dict(type='logistic', C=1.0, max_iter=2000)  # the linear protocol's demo classifier


def label_subsets(train: list, labels: int, subsets: int) -> list[list]:
    """``subsets`` disjoint lists of ``labels`` train items per class, in list order."""
    by_class = defaultdict(list)
    for item in train:
        by_class[item.label].append(item)
    short = {c: len(items) for c, items in by_class.items() if len(items) < labels * subsets}
    if short:
        raise SystemExit(f'{labels} labels x {subsets} subsets need {labels * subsets} train '
                         f'videos per class; some classes have fewer: {short}')
    return [[item for items in by_class.values() for item in items[k * labels:(k + 1) * labels]]
            for k in range(subsets)]


def cached_features(work_dir: Path) -> tuple[torch.Tensor, dict[str, int]]:
    """The features the linear protocol cached in ``work_dir`` and their row of each video."""
    from harness import feature_store

    found = sorted(index.parent for index in
                   (work_dir / 'features').glob(f'ucf101_*/{feature_store.INDEX}'))
    if len(found) != 1:
        raise SystemExit(f'expected one ucf101 feature cache in {work_dir / "features"}, '
                         f'found {len(found)}')
    key = json.loads((found[0] / feature_store.INDEX).read_text())['key']
    store = feature_store.open_store(found[0], key)
    return feature_store.features(store), {path: row for path, (row, _) in store.rows.items()}


def effective_dimension(features: torch.Tensor) -> float:
    """Participation ratio of the covariance spectrum of standardized ``features`` [N, D]:
    D for isotropic features, 1 when they all lie on one line."""
    x = features.double()
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-8)
    spectrum = torch.linalg.eigvalsh(x.T @ x / (len(x) - 1))
    return float(spectrum.sum() ** 2 / spectrum.square().sum())


def probe(work_dir: Path, split, labels: int, subsets: int) -> tuple[list[float], float]:
    """Top-1 of the linear probe on each label subset, tested on every test video, and the
    effective dimension of the train clips' features."""
    features, rows = cached_features(work_dir)

    def xy(items):
        return (features[[rows[item.path] for item in items]],
                torch.tensor([item.label for item in items]))

    test_x, test_y = xy(split.test)
    scores = [fit_and_score(*xy(subset), test_x, test_y, PROBE, len(split.classes))
              for subset in label_subsets(list(split.train), labels, subsets)]
    return scores, effective_dimension(xy(split.train)[0].flatten(0, 1))


def run_harness(method: str, seed: int, work_dir: Path, data: Path, pool: Path,
                extra: list[str]) -> None:
    """Pretrain ``method`` and run the linear protocol, which caches the features the probes
    read; skipped when an earlier call finished it (its record exists)."""
    command = [sys.executable, '-m', 'harness.cli', 'run', '--method', method,
               '--eval', 'ucf101', '--protocol', 'linear', '--data', str(data),
               '--work-dir', str(work_dir), '--records-dir', str(work_dir / 'records'),
               '--seed', str(seed)]
    if method != 'random':
        command += ['--pretrain-data', f'kinetics400={pool}', *extra]
    run_or_reuse(f'{method} seed {seed}', command, work_dir / 'records',
                 work_dir.parent / f'{work_dir.name}.log', tag='demo_signal')


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index('--') + 1:] if '--' in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--methods', default='random,brave,transrank')
    parser.add_argument('--seeds', default='0')
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/demo_signal'))
    parser.add_argument('--labels', type=int, default=8, help='train videos per class')
    parser.add_argument('--subsets', type=int, default=4)
    parser.add_argument('--tag', default='', help='names the variant the arguments after -- make')
    args = parser.parse_args(argv[:argv.index('--')] if '--' in argv else argv)

    root = args.work_dir.expanduser().resolve()
    data = ucf101.generate_demo(root / 'ucf101_validation', seed=VALIDATION_SEED,
                                clips_per_group=CLIPS_PER_GROUP)
    pool = kinetics400.generate_demo(root / 'kinetics400')
    split = ucf101.read_split(data, '1')
    seeds = [int(s) for s in args.seeds.split(',')]
    print(f'[demo_signal] validation demo: {len(split.train)} train, {len(split.test)} test '
          f'videos; probe on {args.subsets} x {args.labels} labels per class', flush=True)

    table = []
    for method in args.methods.split(','):
        name = method if method == 'random' or not args.tag else f'{method}-{args.tag}'
        per_seed, dims = [], []
        for seed in seeds:
            work_dir = root / f'{name}-seed{seed}'
            run_harness(method, seed, work_dir, data, pool, extra)
            scores, dim = probe(work_dir, split, args.labels, args.subsets)
            per_seed.append(statistics.fmean(scores))
            dims.append(dim)
            print(f'[demo_signal] {name} seed {seed}: {per_seed[-1]:.2f} '
                  f'(subsets {", ".join(f"{s:.2f}" for s in scores)}), effective dimension '
                  f'{dim:.1f}', flush=True)
        spread = statistics.stdev(per_seed) if len(per_seed) > 1 else float('nan')
        table.append((name, statistics.fmean(per_seed), spread, per_seed,
                      statistics.fmean(dims)))

    print('\n| method | top-1 (mean over seeds) | std | per seed | effective dimension |\n'
          '|---|---|---|---|---|')
    for method, mean, spread, per_seed, dim in table:
        print(f'| {method} | {mean:.2f} | {spread:.2f} | '
              f'{", ".join(f"{s:.2f}" for s in per_seed)} | {dim:.1f} |')


if __name__ == '__main__':
    main()
