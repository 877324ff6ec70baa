"""Frozen-backbone features of a dataset's items (videos or images), extracted once and cached:
the one cache every feature-based protocol (linear, svm, kNN, retrieval, temporal probes) uses.

The cache is a store per backbone and sampling: its key is the sha256 of what determines an
item's features, the backbone (its config and the sha256 of its weights, or 'random' and the
seed), the data root and the sampling (the evaluator's pipeline and preprocessing). It holds one
row per item, stamped with the file's size and modification time; a request extracts only the
items the store lacks (or whose file changed). Protocols with the same sampling share a store,
so two probes of one checkpoint extract once, and the splits of a dataset, which partition
(mostly) the same files, share their extractions.

Evaluators bring the extraction itself (:data:`Extract`): mmaction2's recognizer for videos,
the backbone on an image pipeline for images. Their configs name the sampling the same way:
``feature_pipeline`` and ``data_preprocessor``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from harness import data as datasets
from harness.api import EvalRequest

FORMAT_VERSION = 1

#: ``extract(request, items, cfg, list_file) -> (features [len(items), views, D], weight-load
#: report)``: the features of ``items`` in the order of ``list_file`` (their ``path label``
#: lines), on every process of a distributed run.
Extract = Callable[[EvalRequest, Sequence[Any], Any, Path], 'tuple[torch.Tensor, dict | None]']


def sampling(cfg: Any) -> dict[str, Any]:
    """What determines an item's features besides the backbone: the protocol config's
    ``feature_pipeline`` and ``data_preprocessor``."""
    return {'pipeline': cfg.feature_pipeline, 'preprocessor': cfg.data_preprocessor}


def cache_key(request: EvalRequest, sampling: Mapping[str, Any]) -> str:
    """sha256 of the backbone identity, the data root and the sampling (see the module doc)."""
    weights = request.backbone_sha256 or f'random-seed{request.seed}'
    identity = {
        'format': FORMAT_VERSION,
        'backbone': dict(request.backbone.cfg), 'weights': weights,
        'data_root': str(request.data_root), **sampling,
    }
    text = json.dumps(identity, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def file_stamp(root: Path, item: Any) -> str:
    """``size:mtime_ns`` of an item's file: a changed file is extracted again."""
    stat = (Path(root) / item.path).stat()
    return f'{stat.st_size}:{stat.st_mtime_ns}'


def gather_in_order(rows: list, size: int) -> list:
    """Every process's rows, back in dataset order, on every process: each process held the
    indices ``rank, rank + world_size, ...`` of mmengine's DefaultSampler (padded to equal
    shares, so the padding is cut at ``size``)."""
    from mmengine.dist import all_gather_object, get_world_size

    if get_world_size() == 1:
        return rows
    shares = all_gather_object([row.cpu() for row in rows])
    return [row for same_step in zip(*shares) for row in same_step][:size]


def cached_features(request: EvalRequest, items: Sequence[Any], cfg: Any, extract: Extract
                    ) -> tuple[torch.Tensor, dict | None]:
    """The features of ``items`` under the protocol config ``cfg``, in their order, and the
    backbone's weight-load report; items already in the cache store (same file stamp) are not
    extracted again. In a distributed run every process calls this and gets all the features
    (``extract`` splits the work)."""
    from mmengine.dist import barrier, is_main_process

    from harness.data.probe import NOUNS
    from harness.engine import main_process_first

    key = cache_key(request, sampling(cfg))
    cache_dir = request.cache_dir or request.work_dir / 'features'
    path = cache_dir / f'{request.dataset.name}_{key[:16]}.pt'
    store = torch.load(path, map_location='cpu', weights_only=True) if path.is_file() else {}
    if store.get('key') != key:
        store = {'key': key, 'rows': {}, 'features': None, 'weights': None}
    stamps = {item.path: file_stamp(request.data_root, item) for item in items}
    todo = sorted({item.path: item for item in items
                   if store['rows'].get(item.path, (None, None))[1] != stamps[item.path]
                   }.values(), key=lambda item: item.path)
    if not todo:
        print(f'[harness] features reused from cache: {path}', flush=True)
    else:
        with main_process_first():
            list_file = datasets.annotation_list(cache_dir / 'lists', request.dataset.name, todo)
        new, report = extract(request, todo, cfg, list_file)  # every process gets all
        if len(new) != len(todo):
            raise RuntimeError(f'extracted {len(new)} feature rows for {len(todo)} items')
        start = 0 if store['features'] is None else len(store['features'])
        store['features'] = new if store['features'] is None else \
            torch.cat([store['features'], new])
        store['rows'].update({item.path: (start + i, stamps[item.path])
                              for i, item in enumerate(todo)})
        store['weights'] = report
        if is_main_process():  # one writer
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
            torch.save(store, tmp)
            os.replace(tmp, path)
            print(f'[harness] features of {len(todo)} {NOUNS[request.dataset.data]} extracted '
                  f'({len(stamps) - len(todo)} reused from cache): {path}', flush=True)
        barrier()
    rows = [store['rows'][item.path][0] for item in items]
    return store['features'][rows], store['weights']


def split_features(request: EvalRequest, cfg: Any, extract: Extract):
    """(train features, train labels, test features, test labels, weight report) of the
    request's split, the train and test items extracted (and cached) together."""
    split = request.read_split()
    items = list(split.train) + list(split.test)
    features, report = cached_features(request, items, cfg, extract)
    labels = torch.tensor([item.label for item in items])
    n = len(split.train)
    return features[:n], labels[:n], features[n:], labels[n:], report
