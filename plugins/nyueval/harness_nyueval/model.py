"""The dense probe of the nyuv2 evaluator, and its metrics (mmengine ``BaseMetric``s).

:class:`DenseProbe`: the backbone (a ResNet or VGG-16) brought to output stride 8
(:class:`~harness_nyueval.heads.DilatedBackbone`), frozen and kept in eval mode unless
``freeze_backbone=False``, then a :class:`~harness_nyueval.heads.PyramidPoolingHead`. Its
``task``:

- ``classify40``: K logits per pixel against a codebook of K unit normals; trained by
  cross-entropy on each pixel's nearest codeword at the head's resolution (ssl-transfer's
  1/8, labels taken from the target downsampled by nearest neighbour); predicted as
  ``normalize(sum_k p_k c_k)`` (:func:`~harness_nyueval.normals.decode_classes`);
- ``regress``: 3 outputs, trained by ``1 - cos`` (:func:`~harness_nyueval.normals.
  cosine_loss`), predicted normalised;
- ``depth``: 1 output in metres, trained by L1 (:func:`~harness_nyueval.depth.depth_l1_loss`).

Predictions are upsampled bilinearly to the input's resolution and scored there against the
target as the test pipeline gives it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import METRICS, MODELS
from harness_nyueval.depth import depth_l1_loss, depth_metrics
from harness_nyueval.heads import DilatedBackbone, PyramidPoolingHead
from harness_nyueval.normals import (IGNORE_INDEX, classification_loss, cosine_loss,
                                     decode_classes, normal_metrics, angular_errors)

TASKS = ('classify40', 'regress', 'depth')


def nearest_codewords(normals: Tensor, valid: Tensor, codebook: Tensor) -> Tensor:
    """Torch twin of :func:`~harness_nyueval.normals.codebook_labels` (same rule: nearest
    unit codeword by cosine, invalid pixels :data:`IGNORE_INDEX`), on the model's device."""
    words = F.normalize(codebook.to(normals.dtype), dim=-1)
    labels = torch.einsum('...c,kc->...k', F.normalize(normals, dim=-1), words).argmax(-1)
    return labels.masked_fill(~valid, IGNORE_INDEX)


@MODELS.register_module()
class DensePreprocessor(BaseDataPreprocessor):
    """Batches of :class:`~harness_nyueval.data.PackDenseInputs`: the images through
    ``images`` (mmengine's ``ImgDataPreprocessor``: BGR -> RGB, mean/std), the targets moved to
    the device as the model's ``data_samples``."""

    def __init__(self, images: Mapping[str, Any], non_blocking: bool = True):
        super().__init__(non_blocking=non_blocking)
        self.images = MODELS.build(dict(images))

    def forward(self, data: dict, training: bool = False) -> dict:
        if self.images.device != self.device:  # mmengine's to() sets only this one's device
            self.images.to(self.device)
        inputs = self.images({'inputs': data['inputs']}, training)['inputs']
        target = data.get('target')
        return {'inputs': inputs,
                'data_samples': None if target is None else self.cast_data(target)}


@MODELS.register_module()
class DenseProbe(BaseModel):
    """backbone: its config (the SSL weights as its ``init_cfg``); feat_dim: its channels;
    task: one of :data:`TASKS`; codebook: ``[K, 3]`` or a ``.npy`` file of it (``classify40``);
    norm_eval: a trained backbone's BatchNorm layers stay in eval mode (statistics fixed, affine
    parameters trained), for fine-tuning at a batch too small for batch statistics;
    head: options of the
    PyramidPoolingHead (``channels``, ``pool_scales``, ``dropout``). ``forward`` takes images
    ``[N, 3, H, W]`` (normalised) and ``data_samples`` the targets ``[N, H, W, C]``."""

    def __init__(self, backbone: Mapping[str, Any], feat_dim: int, task: str,
                 codebook: Any = None, head: Mapping[str, Any] | None = None,
                 freeze_backbone: bool = True, output_stride: int = 8, norm_eval: bool = False,
                 data_preprocessor: Mapping[str, Any] | None = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if (task == 'classify40') != (codebook is not None):
            raise ValueError('a codebook is given with task classify40, and only then')
        self.task, self.freeze_backbone, self.norm_eval = task, freeze_backbone, norm_eval
        self.backbone = DilatedBackbone(dict(backbone), output_stride=output_stride)
        if freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        if isinstance(codebook, str):  # a .npy file the evaluator wrote before training
            codebook = np.load(codebook)
        words = torch.as_tensor(np.asarray(codebook, dtype=np.float32)) if codebook is not None \
            else torch.zeros(0, 3)
        self.register_buffer('codebook', F.normalize(words, dim=-1) if len(words) else words)
        out = len(words) if task == 'classify40' else 3 if task == 'regress' else 1
        self.head = PyramidPoolingHead(feat_dim, out, **dict(head or {}))

    def train(self, mode: bool = True) -> DenseProbe:
        """Set the mode; a frozen backbone stays in eval mode (fixed BN statistics), and so do
        a trained backbone's BatchNorm layers with ``norm_eval``."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        elif self.norm_eval:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def logits(self, inputs: Tensor) -> Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_backbone):
            features = self.backbone(inputs)
        return self.head(features)

    def forward(self, inputs: Tensor, data_samples: Tensor | None = None,
                mode: str = 'tensor'):
        logits = self.logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return {'loss': self.loss(logits.float(), data_samples)}
        if mode == 'predict':
            return self.predict(logits.float(), inputs.shape[-2:], data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """The task's loss at the head's resolution (the target downsampled, nearest)."""
        small = F.interpolate(target.permute(0, 3, 1, 2).float(), size=logits.shape[-2:],
                              mode='nearest').permute(0, 2, 3, 1)
        valid = small[..., -1] > 0.5
        if self.task == 'classify40':
            labels = nearest_codewords(small[..., :3], valid, self.codebook)
            return classification_loss(logits, labels)
        if self.task == 'regress':
            return cosine_loss(logits.permute(0, 2, 3, 1), small[..., :3], valid)
        return depth_l1_loss(logits[:, 0], small[..., 0], valid)

    def predict(self, logits: Tensor, size, target: Tensor | None) -> list[dict]:
        """One dict per image: ``pred`` (normals ``[H, W, 3]`` or depth ``[H, W]`` at the
        input's resolution) and, given targets, ``target`` (what the metrics read)."""
        logits = F.interpolate(logits, size=tuple(size), mode='bilinear', align_corners=False)
        if self.task == 'classify40':
            pred = decode_classes(logits.softmax(dim=1), self.codebook)
        elif self.task == 'regress':
            pred = F.normalize(logits.permute(0, 2, 3, 1), dim=-1)
        else:
            pred = logits[:, 0]
        return [{'pred': p} if target is None else {'pred': p, 'target': t}
                for p, t in zip(pred, target if target is not None else [None] * len(pred))]


@METRICS.register_module()
class NormalsMetric(BaseMetric):
    """Angular errors of every valid test pixel, pooled over the test set in float64:
    mean and median (degrees) and % within 11.25, 22.5 and 30 degrees."""

    default_prefix = 'normals'

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            target = sample['target'].cpu().double().numpy()
            self.results.append(angular_errors(sample['pred'].cpu().double().numpy(),
                                               target[..., :3], target[..., 3] > 0.5))

    def compute_metrics(self, results: list) -> dict[str, float]:
        return normal_metrics(np.concatenate(results))


@METRICS.register_module()
class DepthMetric(BaseMetric):
    """Depth of every valid test pixel, pooled over the test set in float64: % with
    ``max(d/d*, d*/d) < 1.25``, abs-rel and RMSE (metres)."""

    default_prefix = 'depth'

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            target = sample['target'].cpu().double().numpy()
            valid = target[..., 1] > 0.5
            self.results.append((sample['pred'].cpu().double().numpy()[valid],
                                 target[..., 0][valid]))

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred = np.concatenate([r[0] for r in results])
        gt = np.concatenate([r[1] for r in results])
        return depth_metrics(pred, gt, np.ones_like(gt, dtype=bool))
