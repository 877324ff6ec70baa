"""Streaming cosine nearest neighbours: the ``k`` most similar rows of a bank for each query,
in float32 on one device, with memory bounded by the chunk sizes rather than by the bank.

The bank (a tensor, possibly memory-mapped from the feature cache, or a numpy array) is walked
``bank_chunk`` rows at a time; each chunk is moved to the device and L2-normalised once, then
compared with the queries ``query_chunk`` at a time, and each query keeps a running top-k that
is merged with the chunk's own top-k. The queries are taken ``queries_per_pass`` at a time, the
bank being walked once per pass. What is held at once: one pass of normalised queries, one
bank chunk, one ``query_chunk x bank_chunk`` similarity block and the running top-k.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F


def _rows(array: Any, start: int, stop: int, device: torch.device) -> Tensor:
    """Rows ``start:stop`` of ``array`` as float32 on ``device``, L2-normalised (an all-zero
    row stays zero)."""
    return F.normalize(torch.as_tensor(array[start:stop]).to(device, torch.float32), dim=1)


def _merge(values: Tensor, indices: Tensor, new_values: Tensor, new_indices: Tensor, k: int
           ) -> tuple[Tensor, Tensor]:
    """The top ``k`` of two candidate lists per row (values descending)."""
    values = torch.cat([values, new_values], dim=1)
    indices = torch.cat([indices, new_indices], dim=1)
    values, position = values.topk(k, dim=1)
    return values, indices.gather(1, position)


@torch.no_grad()
def cosine_topk(queries: Any, bank: Any, k: int, *, device: torch.device | str | None = None,
                query_chunk: int = 1024, bank_chunk: int = 16384,
                queries_per_pass: int = 65536) -> tuple[Tensor, Tensor]:
    """``(similarities, indices)``, both ``[len(queries), k]`` on the CPU: for each query its
    ``k`` most cosine-similar bank rows, most similar first (float32 similarities, int64 bank
    row indices). ``queries`` ``[Q, D]`` and ``bank`` ``[N, D]`` are tensors or numpy arrays
    (e.g. memory-mapped) of any float dtype; they are read a chunk at a time. ``device``:
    where to compute (default: the evaluation device, ``harness.api.device()``). Equal
    similarities may come in either order."""
    from harness.api import device as evaluation_device

    if not 1 <= k <= len(bank):
        raise ValueError(f'k must be between 1 and the bank size {len(bank)}, got {k}')
    if min(query_chunk, bank_chunk, queries_per_pass) < 1:
        raise ValueError('chunk sizes must be positive')
    device = torch.device(device) if device is not None else evaluation_device()
    total = len(queries)
    out_values = torch.empty(total, k, dtype=torch.float32)
    out_indices = torch.empty(total, k, dtype=torch.int64)
    for first in range(0, total, queries_per_pass):
        query = _rows(queries, first, first + queries_per_pass, device)
        values = torch.full((len(query), k), -float('inf'), device=device)
        indices = torch.zeros((len(query), k), dtype=torch.int64, device=device)
        for start in range(0, len(bank), bank_chunk):
            chunk = _rows(bank, start, start + bank_chunk, device)
            top = min(k, len(chunk))
            for row in range(0, len(query), query_chunk):
                rows = slice(row, row + query_chunk)
                sims, where = (query[rows] @ chunk.T).topk(top, dim=1)
                values[rows], indices[rows] = _merge(values[rows], indices[rows], sims,
                                                     where + start, k)
        out_values[first:first + len(query)] = values.cpu()
        out_indices[first:first + len(query)] = indices.cpu()
    return out_values, out_indices
