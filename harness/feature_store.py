"""The feature cache's store on disk, read and grown through memory maps.

A store is a folder holding

- ``features.f32``: the rows of every item extracted so far, raw float32 in C order, each row
  ``[views, D]``;
- ``index.json``: the cache key, :data:`FORMAT_VERSION`, the row shape, the backbone's
  weight-load report and, per item path, its row and file stamp.

Rows are only ever appended: :func:`reserve` maps the rows past the last indexed one for
writing, and :func:`commit` then replaces the index atomically, so an interrupted extraction
leaves the previous store readable and never a half-written row indexed. :func:`features`
maps the indexed rows copy-on-write: nothing is read into memory until it is used, and a
protocol that changes a feature in place never changes the store. Splits larger than memory
are thus streamed from the page cache rather than held.

An index of another format or key is not read (the store counts as empty); so is a data file
shorter than its index says.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

#: Bumped whenever the layout of a store changes (version 1 was one ``torch.save`` file).
FORMAT_VERSION = 2
DATA = 'features.f32'
INDEX = 'index.json'
DTYPE = np.float32


@dataclass
class Store:
    """What a store's index says. rows: item path -> (row, file stamp); shape: a row's shape
    ``(views, D)`` (None while empty); count: the number of rows."""

    folder: Path
    key: str
    rows: dict[str, tuple[int, str]] = field(default_factory=dict)
    shape: tuple[int, ...] | None = None
    count: int = 0
    weights: dict | None = None

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape or (0,))) * np.dtype(DTYPE).itemsize


def open_store(folder: Path, key: str) -> Store:
    """The store in ``folder`` for ``key``; an empty one when there is none, or its index is of
    another key or format, or its data file is shorter than the index says."""
    folder = Path(folder)
    empty = Store(folder, key)
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, ValueError):
        return empty
    if index.get('format') != FORMAT_VERSION or index.get('key') != key:
        return empty
    store = Store(folder, key, rows={path: (int(row), stamp)
                                     for path, (row, stamp) in index['rows'].items()},
                  shape=tuple(index['shape']), count=int(index['count']),
                  weights=index.get('weights'))
    data = folder / DATA
    if not data.is_file() or data.stat().st_size < store.count * store.row_bytes:
        return empty
    return store


def features(store: Store) -> torch.Tensor:
    """The store's rows ``[count, views, D]`` float32, mapped copy-on-write from its data file
    (empty when it has none)."""
    if not store.count:
        return torch.empty((0, *(store.shape or (0,))), dtype=torch.float32)
    mapped = np.memmap(store.folder / DATA, dtype=DTYPE, mode='c',
                       shape=(store.count, *store.shape))
    return torch.from_numpy(mapped)


def reserve(store: Store, size: int, shape: Sequence[int]) -> np.ndarray:
    """A writable memory map of ``size`` new rows of ``shape`` past the store's last row (the
    data file grows to hold them; what was past the last indexed row is overwritten). The
    rows count once :func:`commit` indexes them."""
    shape = tuple(int(n) for n in shape)
    if store.shape is not None and store.count and store.shape != shape:
        raise ValueError(f'feature store {store.folder}: rows of shape {store.shape}, new rows '
                         f'of shape {shape}')
    store.folder.mkdir(parents=True, exist_ok=True)
    row_bytes = int(np.prod(shape)) * np.dtype(DTYPE).itemsize
    data = store.folder / DATA
    with open(data, 'ab') as handle:
        handle.truncate((store.count + size) * row_bytes)
    return np.memmap(data, dtype=DTYPE, mode='r+', offset=store.count * row_bytes,
                     shape=(size, *shape))


def commit(store: Store, new: Sequence[tuple[str, str]], shape: Sequence[int],
           weights: dict | None) -> Store:
    """Index the rows :func:`reserve` mapped: ``new`` lists (item path, file stamp) in row
    order. The data is flushed to disk before the index is replaced. Returns the updated
    store."""
    import os

    from harness.io import atomic_write_text

    with open(store.folder / DATA, 'rb+') as handle:
        os.fsync(handle.fileno())
    rows = dict(store.rows)
    rows.update({path: (store.count + i, stamp) for i, (path, stamp) in enumerate(new)})
    updated = Store(store.folder, store.key, rows=rows, shape=tuple(int(n) for n in shape),
                    count=store.count + len(new), weights=weights)
    index = {'format': FORMAT_VERSION, 'key': store.key, 'shape': list(updated.shape),
             'count': updated.count, 'weights': weights,
             'rows': {path: list(value) for path, value in rows.items()}}
    atomic_write_text(store.folder / INDEX, json.dumps(index))
    return updated


def take_rows(array: torch.Tensor, rows: Sequence[int], scratch: Path,
              chunk: int = 4096) -> torch.Tensor:
    """``array[rows]`` without holding it in memory: a view of ``array`` when ``rows`` are
    consecutive and ascending, otherwise copied ``chunk`` rows at a time into an anonymous
    memory-mapped file in the folder ``scratch`` (deleted when the tensor is freed)."""
    index = np.asarray(rows, dtype=np.int64)
    if len(index) == 0:
        return array[:0]
    if index[-1] - index[0] == len(index) - 1 and (np.diff(index) == 1).all():
        return array[int(index[0]):int(index[-1]) + 1]
    Path(scratch).mkdir(parents=True, exist_ok=True)
    mapped = np.memmap(tempfile.TemporaryFile(dir=scratch), dtype=DTYPE, mode='w+',
                       shape=(len(index), *array.shape[1:]))
    out = torch.from_numpy(mapped)
    for start in range(0, len(index), chunk):
        part = torch.from_numpy(index[start:start + chunk])
        out[start:start + len(part)] = array[part]
    return out
