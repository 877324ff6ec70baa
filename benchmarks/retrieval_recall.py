"""Benchmark: retrieval R@k by :func:`harness_videoeval.recall.recall_at_k` (rank of the first
same-class gallery item, no sorting) against scikit-learn's brute-force cosine nearest
neighbours (the 50 nearest, then a hit check on their labels), on the same features, in one
process.

    .venv/bin/python benchmarks/retrieval_recall.py [--n 10000] [--dim 512] [--classes 101]
                                                    [--repeats 3] [--threads 1]

Random float32 features (class centres plus noise, so recalls are neither 0 nor 1) for n
queries and n gallery items. Asserts that both give the same R@1/5/10/20/50 (random floats have
no ties), then prints both times (best of repeats) and their ratio (scikit-learn / ours). Both
run with the same number of threads (torch's and the BLAS / OpenMP pools).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from harness_videoeval.recall import recall_at_k

KS = (1, 5, 10, 20, 50)


def sklearn_recall(query, query_labels, gallery, gallery_labels, ks=KS) -> dict[int, float]:
    knn = NearestNeighbors(n_neighbors=max(ks), metric='cosine', algorithm='brute')
    neighbours = knn.fit(gallery).kneighbors(query, return_distance=False)
    hit = gallery_labels[neighbours] == query_labels[:, None]
    return {k: int(hit[:, :k].any(1).sum()) / len(query) for k in ks}


def ours(query, query_labels, gallery, gallery_labels) -> dict[int, float]:
    return recall_at_k(query, query_labels, gallery, gallery_labels, ks=KS)


def best_time(fn, args, repeats: int):
    best, result = float('inf'), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def features(n: int, centres: np.ndarray, rng):
    """n vectors of random classes: their class centre plus 5x as much noise."""
    labels = rng.integers(0, len(centres), n)
    x = centres[labels] + 5.0 * rng.normal(size=(n, centres.shape[1])).astype(np.float32)
    return x.astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=10000, help='queries, and gallery items')
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--classes', type=int, default=101)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.classes, args.dim)).astype(np.float32)
    gallery, gallery_labels = features(args.n, centres, rng)
    query, query_labels = features(args.n, centres, rng)
    data = (query, query_labels, gallery, gallery_labels)
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        ours_s, ours_r = best_time(ours, data, args.repeats)
        sk_s, sk_r = best_time(sklearn_recall, data, args.repeats)
    assert ours_r == sk_r, f'recalls differ: ours {ours_r}, scikit-learn {sk_r}'
    print(f'{args.n} queries x {args.n} gallery, dim {args.dim}, {args.classes} classes, '
          f'float32, {args.threads} thread(s), best of {args.repeats}')
    print('R@k (both): ' + ', '.join(f'R@{k} {100 * v:.2f}%' for k, v in ours_r.items()))
    print(f'recall_at_k {ours_s:7.3f} s, scikit-learn NearestNeighbors {sk_s:7.3f} s, '
          f'ratio {sk_s / ours_s:5.2f}x')


if __name__ == '__main__':
    main()
