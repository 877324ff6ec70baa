"""Frozen-backbone features: the one path every feature-based protocol builds its backbone
through (:func:`frozen_backbone`, weights loaded by ``harness.SSLPretrained``), and the one
feature extraction and cache the split-level protocols share (linear, svm, kNN, retrieval).

:func:`extract` reads the items of a list through the dataset reader of their modality
(:data:`FEATURE_DATASETS`: mmaction2's ``VideoDataset`` for videos, the harness's
``ImageListDataset`` for images), the protocol config's ``feature_pipeline`` and
``data_preprocessor``, and pools the backbone's feature map globally: ``[items, views, D]``
(views: the clips x crops of a video's test pipeline; 1 for an image).

Extraction writes each batch into a preallocated array (the cache store's memory map), so no
list of rows is held and a split larger than memory can be extracted.

The cache is a store per backbone and sampling (:mod:`harness.feature_store`: a float32 file
read through a memory map and its index): its key is the sha256 of what determines an item's
features, the backbone (its config and the sha256 of its weights file, or 'random' and the
seed), the data root and the sampling (the config's pipeline and preprocessing). It holds one
row per item, stamped with the file's size and modification time; a request extracts only the
items the store lacks (or whose file changed), and the features it returns are mapped from the
store, so the protocols (linear, svm, kNN, retrieval) read splits larger than memory from the
page cache. Protocols with the same sampling share a
store, so two probes of one checkpoint extract once, and the splits of a dataset, which
partition (mostly) the same files, share their extractions.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from harness import data as datasets
from harness.api import EvalRequest

from harness.feature_store import FORMAT_VERSION  # noqa: F401 (part of the cache key)

Log = Callable[[str], None]
#: Called with a row's shape ``(views, D)``: the array ``[items, views, D]`` to write into, or
#: None to keep nothing.
Allocate = Callable[[tuple], Any]

#: modality -> (the dataset config reading a list of such items, the collate function).
FEATURE_DATASETS = {
    'video': (lambda root, ann: dict(type='mmaction.VideoDataset', ann_file=ann,
                                     data_prefix=dict(video=root), test_mode=True),
              'pseudo_collate'),
    'image': (lambda root, ann: dict(type='harness.ImageListDataset', ann_file=ann,
                                     data_root=root, test_mode=True),
              'default_collate'),
}
#: The number of dimensions of one input of a backbone of each modality: ``[C, T, H, W]`` or
#: ``[C, H, W]``.
INPUT_DIMS = {'video': 4, 'image': 3}


def device() -> torch.device:
    """The device evaluations compute on: the GPU when there is one, else the CPU."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def import_modules(request: EvalRequest, cfg: Any) -> None:
    """The modules the protocol config (the core's included) and the backbone register."""
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    for module in (*imports, *request.imports):
        importlib.import_module(module)


def frozen_backbone(request: EvalRequest, cfg: Any) -> torch.nn.Module:
    """The request's backbone with its SSL weights loaded through ``harness.SSLPretrained``
    (seeded random init when there are none), in eval mode, on the GPU when there is one. Its
    ``weight_load_report`` is the load report (absent: random init)."""
    from mmengine.runner import set_random_seed

    from harness.registry import MODELS

    import_modules(request, cfg)
    set_random_seed(request.seed, deterministic=cfg.randomness.deterministic)
    backbone = MODELS.build(request.backbone_config())
    backbone.init_weights()
    return backbone.eval().to(device())


def weight_report(backbone: torch.nn.Module) -> dict | None:
    return getattr(backbone, 'weight_load_report', None)


@torch.no_grad()
def extract(request: EvalRequest, cfg: Any, list_file: Path, size: int,
            allocate: Allocate | None = None) -> tuple[Any, dict | None]:
    """Features ``[size, views, D]`` (float32) of the ``size`` items of ``list_file``, in its
    order, and the backbone's weight-load report. Each batch is written into the array
    ``allocate((views, D))`` returns at the first batch (default: a new array in memory), so
    no list of rows is held; an ``allocate`` that returns None keeps nothing (the result is
    then None). In a distributed run the processes extract a share each and every process
    receives every batch (:func:`gather_batch`)."""
    import numpy as np
    from mmengine.dist import is_main_process
    from mmengine.registry import DATASETS, MODELS
    from tqdm import tqdm

    from harness.engine import HarnessRunner, config_scope
    from harness.modules import global_pool

    kind = request.dataset.modality
    backbone = frozen_backbone(request, cfg)
    make_dataset, collate = FEATURE_DATASETS[kind]
    with config_scope(cfg):
        preprocessor = MODELS.build(dict(cfg.data_preprocessor)).to(device())
        dataset = DATASETS.build(dict(make_dataset(str(request.data_root), str(list_file)),
                                      pipeline=list(cfg.feature_pipeline)))
        if len(dataset) != size:
            raise RuntimeError(f'{list_file} lists {len(dataset)} items, expected {size}')
        loader = HarnessRunner.build_dataloader(dict(
            batch_size=cfg.feature_loader.batch_size, num_workers=cfg.feature_loader.num_workers,
            # in order; in a distributed run each process takes every world_size-th item
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type=collate), dataset=dataset), seed=request.seed)
    allocate = allocate or (lambda shape: np.empty((size, *shape), dtype=np.float32))
    out, allocated, done = None, False, 0  # done: the items of this process's share so far
    for batch in tqdm(loader, desc='features', leave=False, disable=not is_main_process()):
        inputs = preprocessor(batch, False)['inputs']
        per_item = inputs.shape[1] if inputs.dim() == INPUT_DIMS[kind] + 2 else None
        flat = inputs.flatten(0, 1) if per_item else inputs
        pooled = global_pool(backbone(flat)).float()
        rows = pooled.view(len(inputs), per_item or 1, -1).cpu()
        for index, part in gather_batch(done, rows, size):
            if not allocated:
                out, allocated = allocate(tuple(part.shape[1:])), True
            if out is not None:
                out[index] = part.numpy()
        done += len(rows)
    result = None if out is None else torch.from_numpy(out)
    return result, weight_report(backbone)


def sampling(cfg: Any) -> dict[str, Any]:
    """What determines an item's features besides the backbone: the protocol config's
    ``feature_pipeline`` and ``data_preprocessor``."""
    return {'pipeline': cfg.feature_pipeline, 'preprocessor': cfg.data_preprocessor}


def cache_key(request: EvalRequest, sampling: Mapping[str, Any]) -> str:
    """sha256 of the backbone identity, the data root and the sampling (see the module doc)."""
    from harness.config import file_sha256

    weights = file_sha256(request.backbone_weights) if request.backbone_weights \
        else f'random-seed{request.seed}'
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


def gather_batch(done: int, rows: torch.Tensor, size: int
                 ) -> list[tuple[Any, torch.Tensor]]:
    """Every process's batch ``rows`` as ``(item indices, rows)`` pairs, on every process
    (this process's own in one process). ``done``: the items of this process's share before
    the batch. A process held the indices ``rank, rank + world_size, ...`` of mmengine's
    DefaultSampler, padded to equal shares by repeating the first items; the padding
    (indices from ``size``) is dropped."""
    import numpy as np
    from mmengine.dist import all_gather_object, get_world_size

    world = get_world_size()
    if world == 1:
        return [(slice(done, done + len(rows)), rows)]
    shares = all_gather_object(rows.cpu())
    gathered = []
    for rank, share in enumerate(shares):
        index = (done + np.arange(len(share))) * world + rank
        keep = index < size
        if keep.any():
            gathered.append((index[keep], share[torch.from_numpy(keep)]))
    return gathered


def store_folder(request: EvalRequest, key: str) -> Path:
    """The folder of the cache store for ``key``."""
    return request.features_dir / f'{request.dataset.name}_{key[:16]}'


def cached_features(request: EvalRequest, items: Sequence[Any], cfg: Any, log: Log = print
                    ) -> tuple[torch.Tensor, dict | None]:
    """The features of ``items`` under the protocol config ``cfg``, in their order, and the
    backbone's weight-load report; items already in the cache store (same file stamp) are not
    extracted again. The features are mapped from the store (or, when the items are not
    consecutive rows of it, from an anonymous file beside it), never read whole into
    memory. In a distributed run every process calls this and gets all the features
    (:func:`extract` splits the work, the main process writes the store)."""
    from mmengine.dist import barrier, is_main_process

    from harness import feature_store as fs
    from harness.data.readable import NOUNS
    from harness.engine import file_logger, main_process_first
    from harness.io import folder_lock

    key = cache_key(request, sampling(cfg))
    folder = store_folder(request, key)
    stamps = {item.path: file_stamp(request.data_root, item) for item in items}
    main = is_main_process()
    with folder_lock(folder) if main else nullcontext():  # one writer of the store at a time
        barrier()  # the others read the index once the main process holds the lock
        store = fs.open_store(folder, key)
        todo = sorted({item.path: item for item in items
                       if store.rows.get(item.path, (None, None))[1] != stamps[item.path]
                       }.values(), key=lambda item: item.path)
        if not todo:
            log(f'features reused from cache: {folder}')
        else:
            log_file = request.work_dir / 'features.log'  # written by the main process only
            file_logger(f'features-{request.work_dir.name}', log_file)
            log(f'feature extraction log: {log_file}')
            with main_process_first():
                list_file = datasets.annotation_list(request.features_dir / 'lists',
                                                     request.dataset.name, todo)
            shape = []

            def allocate(row_shape):  # the main process writes into the store, the rest skip
                shape.extend(row_shape)
                return fs.reserve(store, len(todo), row_shape) if main else None

            new, report = extract(request, cfg, list_file, len(todo), allocate)
            if main:
                fs.commit(store, [(item.path, stamps[item.path]) for item in todo], shape,
                          report)
                log(f'features of {len(todo)} {NOUNS[request.dataset.modality]} extracted '
                    f'({len(stamps) - len(todo)} reused from cache): {folder}')
        barrier()
    store = fs.open_store(folder, key)
    rows = [store.rows[item.path][0] for item in items]
    return fs.take_rows(fs.features(store), rows, folder), store.weights


def split_features(request: EvalRequest, cfg: Any, log: Log = print):
    """The :class:`harness.evaluate.Features` of the request's split, the train and test items
    extracted (and cached) together."""
    from harness.evaluate import Features

    split = request.read_split()
    items = list(split.train) + list(split.test)
    features, report = cached_features(request, items, cfg, log)
    labels = torch.tensor([item.label for item in items])
    n = len(split.train)
    return Features(features[:n], labels[:n], features[n:], labels[n:], report)
