"""Frozen-backbone features of every image of a split, through the harness's feature cache
(:mod:`harness.features`).

Each image goes through the protocol's ``feature_pipeline`` (mmcv's ``LoadImageFromFile``,
``Resize``, ``CenterCrop``, then ``harness.PackImage``), is normalised batched by mmengine's
``ImgDataPreprocessor`` (``data_preprocessor``) and through the backbone in eval mode, and its
feature map is globally average-pooled: features ``[images, 1, D]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from mmengine.config import Config

from harness.api import EvalRequest
from harness.features import gather_in_order
from harness.features import split_features as features_of_split


def build_extractor(request: EvalRequest, cfg: Config):
    """(backbone with its weights loaded, in eval mode; the data preprocessor)."""
    import importlib

    from mmengine.registry import MODELS as MMENGINE_MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    from harness.registry import MODELS

    for module in ('harness.weights', 'harness.datasets', 'harness.data.images',
                   *request.imports):
        importlib.import_module(module)
    init_default_scope('harness')
    set_random_seed(request.seed, deterministic=cfg.randomness.deterministic)
    backbone = MODELS.build(request.backbone_config())
    backbone.init_weights()
    preprocessor = MMENGINE_MODELS.build(dict(cfg.data_preprocessor))
    return backbone.eval(), preprocessor


@torch.no_grad()
def extract(request: EvalRequest, items: Sequence[Any], cfg: Config, list_file: Path
            ) -> tuple[torch.Tensor, dict | None]:
    """Features ``[len(items), 1, D]`` (float32) in the order of ``list_file`` (= items), and
    the backbone's weight-load report. In a distributed run the processes extract a share each
    and every process gets all the features."""
    from mmengine.dist import is_main_process
    from mmengine.runner import Runner
    from tqdm import tqdm

    from harness.engine import file_logger
    from harness.modules import global_pool
    from harness.registry import DATASETS

    log = file_logger(f'features-{request.work_dir.name}', request.work_dir / 'features.log')
    if is_main_process():  # (mmengine's logger writes its file on the main process only)
        print(f'[harness] feature extraction log: {log.handlers[-1].baseFilename}', flush=True)
    backbone, preprocessor = build_extractor(request, cfg)
    dataset = DATASETS.build(dict(type='ImageListDataset', ann_file=str(list_file),
                                  data_root=str(request.data_root), test_mode=True,
                                  pipeline=list(cfg.feature_pipeline)))
    loader = Runner.build_dataloader(dict(
        batch_size=cfg.feature_loader.batch_size, num_workers=cfg.feature_loader.num_workers,
        # in order; in a distributed run each process takes every world_size-th image
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'), dataset=dataset), seed=request.seed)
    rows = []
    for batch in tqdm(loader, desc='features', leave=False, disable=not is_main_process()):
        images = preprocessor(batch, False)['inputs']
        rows.extend(global_pool(backbone(images)).float().unsqueeze(1))
    features = torch.stack(gather_in_order(rows, len(dataset)))
    return features, getattr(backbone, 'weight_load_report', None)


def split_features(request: EvalRequest, cfg: Config):
    """(train features, train labels, test features, test labels, weight report) of the
    request's split, through the feature cache (:func:`harness.features.split_features`)."""
    return features_of_split(request, cfg, extract)
