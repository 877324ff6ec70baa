"""Recall at k for video retrieval (docs/methods.md §0, "Video retrieval (R@k)").

Every query ranks the gallery by cosine similarity and is a hit at k when one of its k nearest
gallery items has its label; R@k is the fraction of queries that hit. :func:`recall_at_k` never
sorts the gallery: a query hits at k exactly when its first same-label gallery item (in ranking
order) has rank < k, so it is enough to find that item and count the items ranked before it. The
queries go a chunk at a time through four reused ``chunk_size x G`` buffers (three of the compute
dtype, one boolean: 13 bytes an entry in float32, ~130 MB for 1024 x 10,000).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

DEFAULT_KS = (1, 5, 10, 20, 50)


def recall_at_k(query: Any, query_labels: Any, gallery: Any, gallery_labels: Any,
                ks: Iterable[int] = DEFAULT_KS, chunk_size: int = 1024,
                dtype: torch.dtype = torch.float32) -> dict[int, float]:
    """For each k in ``ks``, the fraction (0..1) of queries with a same-label gallery item
    among their k most similar gallery items.

    Args:
        query: ``[Q, D]`` features (torch tensor or numpy array), ``Q >= 1``.
        query_labels: ``[Q]`` labels (integers, or anything numpy can compare and sort).
        gallery: ``[G, D]`` features.
        gallery_labels: ``[G]`` labels.
        ks: the cut-offs, positive integers; the result has one entry per distinct k, ascending.
        chunk_size: queries per step; the similarity matrix of a step is
            ``chunk_size x G``.
        dtype: floating dtype of the computation (float32 unless asked otherwise).

    Similarity is cosine: both sides are L2-normalised first (an all-zero vector stays zero
    and is 0-similar to everything). The computation runs on the query tensor's device (the
    CPU for numpy input).

    Ranking and ties: for each query the gallery is ordered by decreasing similarity, equal
    similarities by increasing gallery index (a stable sort, as
    ``np.argsort(-sim, kind='stable')``). Exact duplicate gallery vectors therefore tie exactly
    (each distinct gallery vector's similarity is computed once and shared by its copies: a
    tiled matrix product does not promise equal results for equal rows) and the one listed
    first ranks first. A k larger than ``G`` means the whole gallery. A query whose label is
    absent from the gallery never hits, whatever k.

    Raises:
        ValueError: on shapes that do not fit together, no queries, non-finite features, a
            k or ``chunk_size`` that is not a positive integer.
    """
    ks = _check_ks(ks)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise ValueError(f'chunk_size must be a positive integer, got {chunk_size!r}')
    if not dtype.is_floating_point:
        raise ValueError(f'dtype must be a floating dtype, got {dtype}')
    q = _features(query, 'query', dtype)
    g = _features(gallery, 'gallery', dtype).to(q.device)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f'query and gallery features differ in dimension: query '
                         f'{tuple(q.shape)}, gallery {tuple(g.shape)}')
    if q.shape[0] == 0:
        raise ValueError('recall_at_k needs at least one query, got 0')
    q_codes, g_codes = _label_codes(_labels(query_labels, 'query_labels', q.shape[0]),
                                    _labels(gallery_labels, 'gallery_labels', g.shape[0]))
    ranks = first_positive_ranks(q, torch.as_tensor(q_codes, device=q.device), g,
                                 torch.as_tensor(g_codes, device=q.device), int(chunk_size))
    num_queries, size = q.shape[0], g.shape[0]
    return {k: int((ranks < min(k, size)).sum()) / num_queries for k in ks}


@torch.no_grad()
def first_positive_ranks(query: torch.Tensor, query_codes: torch.Tensor, gallery: torch.Tensor,
                         gallery_codes: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """``[Q]`` int64: for each query, the 0-based rank of its first same-label gallery item in
    the order :func:`recall_at_k` documents, or ``G`` when no gallery item shares its label.

    Inputs are unchecked: floating ``[Q, D]`` / ``[G, D]`` features on one device and integer
    ``[Q]`` / ``[G]`` label codes there. The rank of the first positive ``p`` (similarity ``s``)
    is the number of gallery items with similarity ``> s`` plus the number with similarity
    ``== s`` and index ``< p``; no same-label item is among them (``s`` is their maximum and
    ``p`` the lowest index reaching it), so every item counted has another label.
    """
    q = torch.nn.functional.normalize(query, dim=1)
    g = torch.nn.functional.normalize(gallery, dim=1)
    size = g.shape[0]
    ranks = torch.full((q.shape[0],), size, dtype=torch.int64, device=q.device)
    if size == 0:
        return ranks
    # each distinct gallery vector once: its copies then share one similarity, bit for bit
    distinct, copies = torch.unique(g, dim=0, return_inverse=True)
    index = torch.arange(size, device=q.device)
    minus_inf = torch.tensor(float('-inf'), dtype=q.dtype, device=q.device)
    # Buffers reused by every chunk (fresh large tensors per chunk cost more than the counting).
    rows = min(chunk_size, q.shape[0])
    sim_buf = torch.empty(rows, size, dtype=q.dtype, device=q.device)
    distinct_buf = torch.empty(rows, distinct.shape[0], dtype=q.dtype, device=q.device)
    same_buf = torch.empty(rows, size, dtype=torch.bool, device=q.device)
    work_buf = torch.empty(rows, size, dtype=q.dtype, device=q.device)
    ones = torch.ones(size, dtype=q.dtype, device=q.device)
    exact_float_counts = size <= 2 / torch.finfo(q.dtype).eps  # all counts representable

    def count(compare, sim: torch.Tensor, best: torch.Tensor, work: torch.Tensor) -> torch.Tensor:
        """Per row, how many entries of ``sim`` pass ``compare`` with ``best``: a 0/1 matrix
        times a vector of ones (exact up to 2**24 items in float32), much faster than
        summing booleans."""
        if not exact_float_counts:
            return compare(sim, best).sum(dim=1)
        return torch.mv(compare(sim, best, out=work), ones[:sim.shape[1]]).to(torch.int64)

    for start in range(0, q.shape[0], chunk_size):
        stop = min(start + chunk_size, q.shape[0])
        n = stop - start
        sim, same, work = sim_buf[:n], same_buf[:n], work_buf[:n]
        torch.mm(q[start:stop], distinct.T, out=distinct_buf[:n])
        torch.index_select(distinct_buf[:n], 1, copies, out=sim)
        torch.eq(query_codes[start:stop, None], gallery_codes[None, :], out=same)
        best = torch.where(same, sim, minus_inf, out=work).amax(dim=1, keepdim=True)
        rank = count(torch.gt, sim, best, work)
        tied = (count(torch.eq, sim, best, work) > 1).nonzero()[:, 0]  # more than the positive
        if len(tied):
            at_best = sim[tied] == best[tied]
            first = torch.where(at_best & same[tied], index, size).amin(dim=1, keepdim=True)
            rank[tied] += (at_best & (index < first)).sum(dim=1)
        # without a positive, best is -inf and every item is counted: rank G (never a hit)
        ranks[start:stop] = torch.where(best[:, 0] > minus_inf, rank, size)
    return ranks


def _check_ks(ks: Iterable[int]) -> list[int]:
    if isinstance(ks, (int, np.integer)):
        raise ValueError(f'ks must be a sequence of positive integers, got {ks!r}')
    ks = list(ks)
    if not ks:
        raise ValueError('ks must name at least one k')
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f'every k must be a positive integer, got {k!r} in ks={ks}')
    return sorted({int(k) for k in ks})


def _features(x: Any, name: str, dtype: torch.dtype) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 2:
        raise ValueError(f'{name} must be 2-D [N, D], got shape {tuple(t.shape)}')
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f'{name} must hold real numbers, got {t.dtype}')
    t = t.to(dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f'{name} has non-finite values (nan or inf)')
    return t


def _labels(y: Any, name: str, n: int) -> np.ndarray:
    arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f'{name} must be 1-D, got shape {arr.shape}')
    if len(arr) != n:
        raise ValueError(f'{name} has {len(arr)} labels for {n} feature rows')
    return arr


def _label_codes(query_labels: np.ndarray, gallery_labels: np.ndarray):
    """Both label arrays as int64 codes of one shared vocabulary (equal labels, equal codes)."""
    _, codes = np.unique(np.concatenate([query_labels, gallery_labels]), return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    return codes[:len(query_labels)], codes[len(query_labels):]
