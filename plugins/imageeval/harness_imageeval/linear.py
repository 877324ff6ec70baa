"""The ``linear`` protocol: a linear classifier trained on a frozen backbone's pooled features.

MoCo's ``main_lincls.py`` protocol (docs/image-evals.md §5), run by mmengine's Runner:

- the backbone is frozen (``requires_grad`` False) and kept in eval mode while the head trains,
  so its BatchNorm statistics stay fixed (:meth:`LinearProbe.train` keeps it there whatever
  mmengine's loops ask for); its feature map is globally average-pooled;
- the head is ``Linear(feat_dim, num_classes)`` initialised N(0, 0.01) with bias 0 (MoCo), or
  with ``head=dict(batchnorm=True, init='trunc_normal')`` a ``BatchNorm1d(affine=False,
  eps=1e-6)`` before a truncated-normal Linear (the MAE / SiameseIM ViT linear probe);
- the optimizer holds the head's parameters only (:class:`HeadOptimWrapperConstructor`);
- training images: the split's train list, one random resized crop with a flip per image,
  prepared by ``harness.SampleImageViews`` in the workers and augmented on the model's device
  (:class:`ProbePreprocessor`, which hands views to ``harness.AugmentViews``);
- test: the split's test list through the protocol's ``feature_pipeline`` (the centre crop the
  ``knn`` protocol extracts features of) and ``data_preprocessor`` (mmengine's
  ``ImgDataPreprocessor``), scored by mmaction2's ``AccMetric`` (top-1, and top-5 when there
  are at least 5 classes). The number of classes is the dataset's, never the labels present.

The protocol config is the Runner config without the parts the harness fills in: the model's
backbone, ``feat_dim``, ``num_classes`` and data preprocessor, the data lists, and the test
phase, which :meth:`Linear.fill` makes from ``feature_pipeline``, ``feature_loader`` and
``data_preprocessor`` (the same keys, and so the same val crops, as the ``knn`` protocol).
The head is trained on the train list, then the last head is tested (no model selection on
the val split).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from mmengine.model import BaseDataPreprocessor, BaseModel, is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import (EvalRequest, IMAGENET_MEAN, IMAGENET_STD, AugmentViews, Filled,
                         RunnerProtocol, boolean, global_pool, MODELS, number, one_of,
                         OPTIM_WRAPPER_CONSTRUCTORS, top_ks)

#: ``head=dict(init=...)``: how the Linear's weight is drawn (its bias starts at 0).
HEAD_INITS = ('normal', 'trunc_normal')


class LinearHead(nn.Module):
    """``[BatchNorm1d(affine=False, eps=1e-6)] -> Linear(in_dim, num_classes)``.

    init: 'normal' (MoCo's ``fc.weight.data.normal_(0, std)``) or 'trunc_normal' (MAE's
    ``trunc_normal_(head.weight, std=std)``, cut at +-2 as timm's); the bias starts at 0.
    """

    def __init__(self, in_dim: int, num_classes: int, *, batchnorm: bool = False,
                 init: str = 'normal', std: float = 0.01):
        super().__init__()
        if init not in HEAD_INITS:
            raise ValueError(f"head init must be one of {', '.join(HEAD_INITS)}, got {init!r}")
        self.bn = nn.BatchNorm1d(in_dim, affine=False, eps=1e-6) if batchnorm else nn.Identity()
        self.fc = nn.Linear(in_dim, num_classes)
        if init == 'normal':
            nn.init.normal_(self.fc.weight, mean=0.0, std=std)
        else:
            nn.init.trunc_normal_(self.fc.weight, std=std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, features: Tensor) -> Tensor:
        return self.fc(self.bn(features))


@MODELS.register_module()
class LinearProbe(BaseModel):
    """A frozen backbone, global average pooling and a trainable :class:`LinearHead`.

    backbone: the backbone's config (with the SSL weights as its ``init_cfg``); feat_dim: its
    output channels; head: :class:`LinearHead` options (``batchnorm``, ``init``, ``std``).
    ``forward`` takes images ``[N, 3, H, W]`` (normalised) and labels ``[N]`` as
    ``data_samples``: mode 'loss' gives the cross-entropy, 'predict' one dict per image with
    ``pred_score`` (softmax) and ``gt_label`` (what mmaction2's AccMetric reads), 'tensor' the
    logits.
    """

    def __init__(self, backbone: Mapping[str, Any], feat_dim: int, num_classes: int,
                 head: Mapping[str, Any] | None = None,
                 data_preprocessor: Mapping[str, Any] | None = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(dict(backbone))
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        self.head = LinearHead(feat_dim, num_classes, **dict(head or {}))

    def train(self, mode: bool = True) -> LinearProbe:
        """Set the head's mode; the backbone stays in eval mode (fixed BN statistics)."""
        super().train(mode)
        self.backbone.eval()
        return self

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]`` (no gradient: the backbone is frozen)."""
        with torch.no_grad():
            return global_pool(self.backbone(inputs))

    def forward(self, inputs: Tensor, data_samples: Tensor | None = None,
                mode: str = 'tensor'):
        logits = self.head(self.extract_feat(inputs))
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return {'loss': F.cross_entropy(logits.float(), data_samples)}
        if mode == 'predict':
            scores = logits.float().softmax(dim=1)
            if data_samples is None:
                return [{'pred_score': score} for score in scores]
            return [{'pred_score': score, 'gt_label': label.view(1)}
                    for score, label in zip(scores, data_samples)]
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")


@MODELS.register_module()
class ProbePreprocessor(BaseDataPreprocessor):
    """The linear probe's data preprocessor: training batches hold one view per image from
    ``SampleImageViews`` (``{'inputs': {name: {'image', 'augment'}}, 'label'}``), which
    ``harness.AugmentViews`` crops, flips and normalises on the device; test batches hold the
    ``uint8`` centre crops of ``PackImage``, which ``images`` (the protocol's
    ``data_preprocessor``, mmengine's ``ImgDataPreprocessor``) normalises. Returns
    ``{'inputs': float [N, 3, S, S], 'data_samples': labels [N]}``.

    AugmentViews normalises RGB with the ImageNet mean and std, so ``images`` must do the same
    (BGR -> RGB, mean and std of ImageNet in 0-255): the two halves then agree.
    """

    def __init__(self, images: Mapping[str, Any], non_blocking: bool = True,
                 channels_last: bool = False):
        super().__init__(non_blocking=non_blocking)
        self.views = AugmentViews(non_blocking=non_blocking, channels_last=channels_last)
        self.images = MODELS.build(dict(images))
        check_same_normalisation(self.images)

    def forward(self, data: dict, training: bool = False) -> dict:
        for part in (self.views, self.images):  # mmengine's to() sets only this one's device
            if part.device != self.device:
                part.to(self.device)
        if isinstance(data['inputs'], Mapping):
            data = self.views(data, training)
            if len(data['inputs']) != 1:
                raise ValueError(f'the linear probe trains on one view per image, got '
                                 f"{len(data['inputs'])} ({', '.join(data['inputs'])})")
            (data['inputs'],) = data['inputs'].values()
        else:
            data = self.images(data, training)
        labels = data.get('label')
        return {'inputs': data['inputs'],
                'data_samples': None if labels is None else self.cast_data(labels)}


def check_same_normalisation(images: nn.Module) -> None:
    """Raise ValueError unless ``images`` (an ``ImgDataPreprocessor``) swaps BGR to RGB and
    normalises with the ImageNet mean and std, as AugmentViews does to the training views."""
    mean, std = getattr(images, 'mean', None), getattr(images, 'std', None)
    same = (getattr(images, '_enable_normalize', False)
            and getattr(images, '_channel_conversion', False)
            and torch.allclose(mean.flatten().float(), torch.tensor(IMAGENET_MEAN) * 255,
                               atol=1e-3)
            and torch.allclose(std.flatten().float(), torch.tensor(IMAGENET_STD) * 255,
                               atol=1e-3))
    if not same:
        raise ValueError('the linear probe trains on views normalised as RGB with the ImageNet '
                         'mean and std (harness.AugmentViews); its data_preprocessor must '
                         'normalise test images the same: ImgDataPreprocessor with '
                         'bgr_to_rgb=True, mean=[123.675, 116.28, 103.53], '
                         'std=[58.395, 57.12, 57.375]')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class HeadOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor applied to ``model.head`` alone: the optimizer holds only
    the head's parameters (MoCo's ``main_lincls.py`` asserts that it optimises ``fc.weight``
    and ``fc.bias`` only), so ``paramwise_cfg`` rules (e.g. ``custom_keys``) apply to the head
    and the frozen backbone is never seen."""

    def __call__(self, model: nn.Module):
        if is_model_wrapper(model):
            model = model.module
        return super().__call__(model.head)


# ------------------------------------------------------------------------------ the protocol


class Linear(RunnerProtocol):
    """A linear head trained on the frozen backbone's pooled features; top-1 (and top-5 with
    at least 5 classes) of the val images. Besides these keys, :meth:`check` builds the probe
    once (its preprocessor checks that both halves normalise alike)."""

    keys = {'model.head.batchnorm': boolean(required=False),
            'model.head.init': one_of(*HEAD_INITS, required=False),
            'model.head.std': number(above=0, required=False)}

    def fill(self, cfg: dict, request: EvalRequest) -> Filled:
        num_classes, train_list, test_list = request.split_lists()
        pipeline = cfg.pop('feature_pipeline')
        loader = cfg.pop('feature_loader')
        images = cfg.pop('data_preprocessor')
        cfg['model'].update(
            backbone=request.backbone_config(), feat_dim=request.backbone.feat_dim,
            num_classes=num_classes,
            data_preprocessor=dict(type='harness.ProbePreprocessor', images=images))
        cfg['train_dataloader']['dataset'].update(ann_file=str(train_list),
                                                  data_root=str(request.data_root))
        cfg['test_dataloader'] = dict(
            **loader,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='ImageListDataset', ann_file=str(test_list),
                         data_root=str(request.data_root), test_mode=True, pipeline=pipeline))
        cfg['test_cfg'] = dict(type='TestLoop')
        cfg['test_evaluator'] = dict(
            type='mmaction.AccMetric', metric_list=('top_k_accuracy',),
            metric_options=dict(top_k_accuracy=dict(topk=top_ks(num_classes))))
        return Filled(settings=dict(head=dict(cfg['model'].get('head') or {})),
                      note=f'{num_classes} classes')

    def scores(self, metrics: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        num_classes = len(request.read_split().classes)
        return {f'top{k}': round(100 * float(metrics[f'acc/top{k}']), 2)
                for k in top_ks(num_classes)}
