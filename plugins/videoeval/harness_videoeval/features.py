"""Frozen-backbone features of every video of a split, for the linear, svm, retrieval and
temporal protocols, through the harness's feature cache (:mod:`harness.features`).

Each video is sampled by the protocol's mmaction2 test pipeline (``feature_pipeline``: e.g. 10
uniformly spaced clips, centre crop) through mmaction2's ``VideoDataset``; every clip goes
through the backbone inside mmaction2's ``Recognizer3D`` (``extract_feat(stage='backbone')``)
and is globally average-pooled: features ``[videos, clips x crops, D]``. The protocols use the
same sampling, so ``linear`` then ``retrieval`` on the same checkpoint extract once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from mmengine.config import Config

from harness.api import EvalRequest
from harness.features import cached_features, gather_in_order
from harness.features import split_features as features_of_split


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
    model = MODELS.build(dict(type='Recognizer3D', backbone=request.backbone_config(),
                              data_preprocessor=dict(cfg.data_preprocessor)))
    model.init_weights()
    return model.eval()


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
    return features, getattr(model.backbone, 'weight_load_report', None)


def video_features(request: EvalRequest, items: Sequence[Any], cfg: Config
                   ) -> tuple[torch.Tensor, dict | None]:
    """The features of ``items`` (see :func:`extract`), in their order, through the feature
    cache (:func:`harness.features.cached_features`)."""
    return cached_features(request, items, cfg, extract)


def split_features(request: EvalRequest, cfg: Config):
    """(train features, train labels, test features, test labels, weight report) of the
    request's split (:func:`harness.features.split_features`)."""
    return features_of_split(request, cfg, extract)
