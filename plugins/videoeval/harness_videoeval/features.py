"""Frozen-backbone features of every video of a split, for the linear, svm and retrieval
protocols, extracted once and cached.

Each video is sampled by the protocol's mmaction2 test pipeline (``feature_pipeline``: e.g. 10
uniformly spaced clips, centre crop) through mmaction2's ``VideoDataset``; every clip goes
through the backbone inside mmaction2's ``Recognizer3D`` (``extract_feat(stage='backbone')``)
and is globally average-pooled: features ``[videos, clips x crops, D]``.

The cache is a store per backbone and sampling: its key is the sha256 of what determines a
video's features, the backbone (its config and the sha256 of its weights, or 'random' and the
seed), the data root and the sampling (pipeline, preprocessing). It holds one row per video,
stamped with the file's size and modification time; a request extracts only the videos the
store lacks (or whose file changed). The protocols use the same sampling, so ``linear`` then
``retrieval`` on the same checkpoint extract once, and the splits of a dataset, which partition
(mostly) the same videos, share their extractions.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import torch
from mmengine.config import Config

from harness import data as datasets
from harness.api import EvalRequest
from harness_videoeval.finetune import backbone_cfg

FORMAT_VERSION = 1


def cache_key(request: EvalRequest, cfg: Config) -> str:
    """sha256 of the backbone identity, the data root and the sampling (see the module doc)."""
    weights = request.backbone_sha256 or f'random-seed{request.seed}'
    identity = {
        'format': FORMAT_VERSION,
        'backbone': dict(request.backbone.cfg), 'weights': weights,
        'data_root': str(request.data_root),
        'pipeline': cfg.feature_pipeline, 'preprocessor': cfg.data_preprocessor,
    }
    text = json.dumps(identity, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def file_stamp(root: Path, item: Any) -> str:
    """``size:mtime_ns`` of a video file: a changed file is extracted again."""
    stat = (Path(root) / item.path).stat()
    return f'{stat.st_size}:{stat.st_mtime_ns}'


def build_extractor(request: EvalRequest, cfg: Config):
    """mmaction2's Recognizer3D around the backbone (no head), weights loaded, in eval mode."""
    import importlib

    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    from mmaction.registry import MODELS

    for module in ('harness.weights', *request.imports):
        importlib.import_module(module)
    init_default_scope('mmaction')
    set_random_seed(request.seed, deterministic=cfg.randomness.deterministic)
    model = MODELS.build(dict(type='Recognizer3D', backbone=backbone_cfg(request),
                              data_preprocessor=dict(cfg.data_preprocessor)))
    model.init_weights()
    return model.eval()


def gather_in_order(rows: list, size: int) -> list:
    """Every process's rows, back in dataset order, on every process: each process held the
    indices ``rank, rank + world_size, ...`` of mmengine's DefaultSampler (padded to equal
    shares, so the padding is cut at ``size``)."""
    from mmengine.dist import all_gather_object, get_world_size

    if get_world_size() == 1:
        return rows
    shares = all_gather_object([row.cpu() for row in rows])
    return [row for same_step in zip(*shares) for row in same_step][:size]


@torch.no_grad()
def extract(request: EvalRequest, items: Sequence[Any], cfg: Config, list_file: Path
            ) -> tuple[torch.Tensor, dict | None]:
    """Features ``[len(items), views, D]`` (float32) in the order of ``list_file`` (= items),
    and the backbone's weight-load report. In a distributed run the processes extract a share
    each and every process gets all the features."""
    from mmaction.registry import DATASETS
    from mmengine.dist import is_main_process
    from mmengine.runner import Runner
    from tqdm import tqdm

    from harness.engine import file_logger
    from harness.modules import global_pool

    log = file_logger(f'features-{request.work_dir.name}', request.work_dir / 'features.log')
    if is_main_process():  # (mmengine's logger writes its file on the main process only)
        print(f'[harness] feature extraction log: {log.handlers[-1].baseFilename}', flush=True)
    model = build_extractor(request, cfg)  # also makes mmaction the default scope
    dataset = DATASETS.build(dict(type='VideoDataset', ann_file=str(list_file), test_mode=True,
                                  data_prefix=dict(video=str(request.data_root)),
                                  pipeline=list(cfg.feature_pipeline)))
    loader = Runner.build_dataloader(dict(
        batch_size=cfg.feature_loader.batch_size, num_workers=cfg.feature_loader.num_workers,
        # in order; in a distributed run each process takes every world_size-th video
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='pseudo_collate'), dataset=dataset), seed=request.seed)
    rows = []
    for batch in tqdm(loader, desc='features', leave=False, disable=not is_main_process()):
        data = model.data_preprocessor(batch, False)
        inputs = data['inputs']  # [B, views, C, T, H, W]
        feats, _ = model.extract_feat(inputs, stage='backbone', test_mode=True)
        rows.extend(global_pool(feats).view(inputs.shape[0], inputs.shape[1], -1).float())
    features = torch.stack(gather_in_order(rows, len(dataset)))
    if len(features) != len(items):
        raise RuntimeError(f'extracted {len(features)} feature rows for {len(items)} videos')
    return features, getattr(model.backbone, 'weight_load_report', None)


def video_features(request: EvalRequest, items: Sequence[Any], cfg: Config
                   ) -> tuple[torch.Tensor, dict | None]:
    """The features of ``items`` (see :func:`extract`), in their order; videos already in the
    cache store (same file stamp) are not extracted again."""
    from mmengine.dist import barrier, is_main_process

    from harness.engine import main_process_first

    key = cache_key(request, cfg)
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
        new, report = extract(request, todo, cfg, list_file)  # every process gets all of them
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
            reused = len(stamps) - len(todo)
            print(f'[harness] features of {len(todo)} videos extracted ({reused} reused from '
                  f'cache): {path}', flush=True)
        barrier()
    rows = [store['rows'][item.path][0] for item in items]
    return store['features'][rows], store['weights']


def split_features(request: EvalRequest, cfg: Config):
    """(train features, train labels, test features, test labels, weight report) of the
    request's split; the train and test videos are extracted (and cached) together."""
    split = request.read_split()
    items = list(split.train) + list(split.test)
    features, report = video_features(request, items, cfg)
    labels = torch.tensor([item.label for item in items])
    n = len(split.train)
    return features[:n], labels[:n], features[n:], labels[n:], report


def load_config(request: EvalRequest) -> Config:
    """The protocol's config with the request's seed (``randomness``) and ``cfg_options``
    applied (keys must exist)."""
    from harness.config import apply_cfg_options, load_config as load

    cfg = load(request.config, label='evaluation config')
    cfg.randomness = dict(seed=request.seed, deterministic=False)
    return apply_cfg_options(cfg, request.cfg_options, label='evaluation config',
                             prefix='eval.')
