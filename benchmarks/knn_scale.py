"""Benchmark: the kNN protocol at ImageNet scale, time and peak memory of the harness's
:func:`harness_imageeval.knn.knn_scores` (float32, streamed over query and train chunks with a
running top-k) against a plain matrix-multiply reference, on the same device.

    .venv/bin/python benchmarks/knn_scale.py [--train 50000,200000,1280000] [--queries 10000]
        [--dim 2048] [--classes 1000] [--k 20] [--device cpu|cuda] [--threads N]
        [--work-dir DIR] [--keep]

The train bank (the largest ``--train`` size; smaller sizes use its first rows), its labels and
the queries are written, a chunk at a time from a seeded generator, to float32 files in a new
folder under ``--work-dir`` (default: the system's temporary folder), deleted afterwards unless
``--keep``. Rows are random class centres plus noise, L2-normalised. Each measurement runs in
a child process of its own that maps the bank (``numpy.memmap``) rather than holding a copy:

- **harness**: ``knn_scores`` (k = 20, T = 0.07) over the mapped bank;
- **plain**: per chunk of queries the whole ``queries @ bank.T`` (the chunk sized so that
  block is about 1 GiB, at most 1024 queries), ``topk`` and the same vote; the bank is
  used as mapped on the CPU and copied whole to a GPU.

For each size it prints the bank's size, each one's peak RSS (``VmHWM``: it counts the
pages of the mapped bank a process touched, so walking the whole bank costs 1x the bank) as
a multiple of the bank, its seconds per query (search and vote, excluding start-up and
mapping), the ratio harness / plain, and how many top-1 predictions of the two agree
(random floats have no exact ties), and the harness child's resident memory before the
search (the interpreter and torch, counted in its peak).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

K, TEMPERATURE = 20, 0.07
WRITE_CHUNK = 8192


def write_features(path: Path, rows: int, centres: torch.Tensor, generator: torch.Generator
                   ) -> np.ndarray:
    """Write ``rows`` L2-normalised features (a random centre plus noise each) to ``path``
    in chunks; returns their class labels."""
    out = np.memmap(path, dtype=np.float32, mode='w+', shape=(rows, centres.shape[1]))
    labels = np.empty(rows, dtype=np.int64)
    for start in range(0, rows, WRITE_CHUNK):
        n = min(WRITE_CHUNK, rows - start)
        label = torch.randint(0, len(centres), (n,), generator=generator)
        noise = torch.randn(n, centres.shape[1], generator=generator)
        out[start:start + n] = F.normalize(centres[label] + 2.0 * noise, dim=1).numpy()
        labels[start:start + n] = label.numpy()
    out.flush()
    del out
    return labels


def make_data(folder: Path, train: int, queries: int, dim: int, classes: int, seed: int = 0
              ) -> None:
    """bank.f32 ``[train, dim]``, queries.f32 ``[queries, dim]`` and labels.npy in ``folder``."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=generator)
    labels = write_features(folder / 'bank.f32', train, centres, generator)
    write_features(folder / 'queries.f32', queries, centres, generator)
    np.save(folder / 'labels.npy', labels)


def plain(queries: torch.Tensor, bank: torch.Tensor, labels: torch.Tensor, classes: int,
          device: torch.device) -> torch.Tensor:
    """Scores by the whole similarity matrix of each chunk of queries and its top-k (rows
    normalised already)."""
    bank = bank.to(device)
    labels = labels.to(device)
    chunk = max(1, min(1024, (1 << 28) // len(bank)))
    scores = torch.zeros(len(queries), classes, dtype=torch.float64)
    for start in range(0, len(queries), chunk):
        sims, index = (queries[start:start + chunk].to(device) @ bank.T).topk(K, dim=1)
        votes = torch.zeros(len(sims), classes, dtype=torch.float64, device=device)
        votes.scatter_add_(1, labels[index], (sims.double() / TEMPERATURE).exp())
        scores[start:start + chunk] = votes.cpu()
    return scores.float()


def resident(field: str = 'VmRSS') -> int:
    """This process's resident memory in bytes: now (``VmRSS``) or its peak (``VmHWM``, which
    starts afresh in a new program, unlike ``ru_maxrss``, which a child inherits from the
    process that forked it)."""
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(f'{field}:'):
            return 1024 * int(line.split()[1])
    raise RuntimeError(f'no {field} in /proc/self/status')


def measure(args) -> None:
    """The child: one measurement, printed as one JSON line."""
    from harness_imageeval.knn import knn_scores

    torch.set_num_threads(args.threads)
    folder, device = Path(args.work_dir), torch.device(args.device)
    labels = torch.from_numpy(np.load(folder / 'labels.npy')[:args.size])
    bank = torch.from_numpy(np.memmap(folder / 'bank.f32', dtype=np.float32, mode='c',
                                      shape=(args.size, args.dim)))
    queries = torch.from_numpy(np.memmap(folder / 'queries.f32', dtype=np.float32, mode='c',
                                         shape=(args.queries, args.dim)))
    start_rss = resident()
    start = time.perf_counter()
    if args.measure == 'harness':
        scores = knn_scores(bank, labels, queries, args.classes, k=K, temperature=TEMPERATURE,
                            device=device)
    else:
        scores = plain(queries, bank, labels, args.classes, device)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    np.save(folder / f'{args.measure}-{args.size}.npy', scores.argmax(1).numpy())
    peak_gpu = torch.cuda.max_memory_allocated() if device.type == 'cuda' else 0
    print(json.dumps({'seconds': seconds, 'start_rss': start_rss, 'peak_rss': resident('VmHWM'),
                      'peak_gpu': peak_gpu}))


def run_child(args, which: str, size: int) -> dict:
    """One measurement in a new process."""
    command = [sys.executable, __file__, '--measure', which, '--size', str(size),
               '--queries', str(args.queries), '--dim', str(args.dim),
               '--classes', str(args.classes), '--device', args.device,
               '--threads', str(args.threads), '--work-dir', str(args.folder)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f'{which} at {size} failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', default='50000,200000,1280000',
                        help='train bank sizes, comma-separated')
    parser.add_argument('--queries', type=int, default=10000)
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--classes', type=int, default=1000)
    parser.add_argument('--device', default=None, help='default: the evaluation device')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--work-dir', default=None,
                        help='where the data folder is made (default: the temporary folder)')
    parser.add_argument('--keep', action='store_true', help='keep the data folder')
    parser.add_argument('--measure', choices=('harness', 'plain'), help=argparse.SUPPRESS)
    parser.add_argument('--size', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args)
    if args.device is None:
        from harness.api import device
        args.device = str(device())
    sizes = sorted(int(n) for n in args.train.split(','))
    args.folder = Path(tempfile.mkdtemp(prefix='knn_scale-', dir=args.work_dir))
    try:
        print(f'writing {sizes[-1]} x {args.dim} train and {args.queries} query features to '
              f'{args.folder}', flush=True)
        make_data(args.folder, sizes[-1], args.queries, args.dim, args.classes)
        print(f'device {args.device}, {args.threads} threads, {args.queries} queries, k {K}')
        print(f'{"train":>9} {"bank GB":>8} {"harness RSS/bank":>17} {"plain RSS/bank":>15} '
              f'{"harness s/query":>16} {"plain s/query":>14} {"ratio":>6} {"top-1 agree":>12} '
              f'{"start RSS GB":>13}',
              flush=True)
        for size in sizes:
            bank = size * args.dim * 4
            ours = run_child(args, 'harness', size)
            ref = run_child(args, 'plain', size)
            agree = np.mean(np.load(args.folder / f'harness-{size}.npy')
                            == np.load(args.folder / f'plain-{size}.npy'))
            per_query = [r['seconds'] / args.queries for r in (ours, ref)]
            print(f'{size:>9} {bank / 1e9:>8.2f} {ours["peak_rss"] / bank:>17.2f} '
                  f'{ref["peak_rss"] / bank:>15.2f} {per_query[0]:>16.4g} {per_query[1]:>14.4g} '
                  f'{per_query[0] / per_query[1]:>6.2f} {100 * agree:>11.2f}% '
                  f'{ours["start_rss"] / 1e9:>13.2f}', flush=True)
            if ours['peak_gpu']:
                print(f'{"":>9} peak GPU memory: harness {ours["peak_gpu"] / bank:.2f}x, plain '
                      f'{ref["peak_gpu"] / bank:.2f}x the bank')
        print('ratio harness / plain: s/query above (below 1: the harness is faster)')
    finally:
        if args.keep:
            print(f'kept {args.folder}')
        else:
            shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == '__main__':
    main()
