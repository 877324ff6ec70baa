"""Transitive Invariance's Triplet-Siamese network (Wang, He, Gupta, ICCV 2017;
docs/methods.md §4): one backbone with shared weights embeds both patches of each positive
pair; negatives are the other pairs' patches in the batch, chosen as the ``RankHardLoss``
layer chooses them (:func:`harness_transitive.losses.triplet_ranking_loss`).

The sampler (:class:`harness_transitive.dataset.SamplePatchPair`) hands ``inputs['anchor']``
and ``inputs['positive']`` (augmented batched on the device by ``harness.AugmentViews``) and
``inputs['group']``, the graph component of each pair (patches of one component are never
each other's negatives).
"""
from __future__ import annotations

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import normalize, global_pool, MODELS
from harness_transitive.losses import triplet_ranking_loss


@MODELS.register_module()
class TransitiveTriplet(BaseModel):
    """The embedding f = head ∘ global average pool ∘ backbone, trained with the cosine
    triplet ranking loss over both ends of each positive pair.

    head: ``feat_dim`` -> ``hidden_dim`` -> ``embed_dim`` (Linear, ReLU, Linear: the fc6/fc7
    the paper puts on VGG-16's conv5). margin: M of the loss; neg_num, hard_ratio,
    rand_ratio: the negative mining of the ``RankHardLoss`` layer.

    Modes: ``'loss'`` -> ``{'loss_triplet'}``; ``'tensor'`` -> the pooled backbone features
    of ``inputs['anchor']``. :meth:`describe` gives the pooled features of raw patches (what
    the graph hook clusters).
    """

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096,
                 embed_dim: int = 1024, margin: float = 1.0, neg_num: int = 4,
                 hard_ratio: float = 0.5, rand_ratio: float = 0.5, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = nn.Sequential(nn.Linear(feat_dim, hidden_dim), nn.ReLU(inplace=True),
                                  nn.Linear(hidden_dim, embed_dim))
        self.margin, self.neg_num = float(margin), int(neg_num)
        self.hard_ratio, self.rand_ratio = float(hard_ratio), float(rand_ratio)

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]``."""
        return global_pool(self.backbone(images))

    def embed(self, images: Tensor) -> Tensor:
        """The embedding the loss compares ``[N, embed_dim]`` (not normalised)."""
        return self.head(self.features(images))

    @torch.no_grad()
    def describe(self, patches: Tensor, size: int, batch_size: int = 256) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]`` (float32, CPU) of raw patches ``uint8
        [N, S, S, 3]``, each resized to ``size`` and normalised as the training views are,
        in eval mode (BatchNorm uses its running statistics)."""
        was_training = self.training
        self.eval()
        out = []
        try:
            for start in range(0, len(patches), batch_size):
                chunk = patches[start:start + batch_size].to(self.data_preprocessor.device)
                images = chunk.permute(0, 3, 1, 2).float().div(255)
                images = F.interpolate(images, size=(size, size), mode='bilinear',
                                       align_corners=False, antialias=True)
                out.append(self.features(normalize(images)).float().cpu())
        finally:
            self.train(was_training)
        return torch.cat(out)

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        anchor = inputs['anchor']
        if mode == 'tensor':
            return self.features(anchor)
        if mode != 'loss':
            raise ValueError(f"TransitiveTriplet supports mode 'loss' and 'tensor', not {mode!r}")
        pairs = torch.stack([anchor, inputs['positive']], dim=1).flatten(0, 1)  # a0 p0 a1 p1
        groups = torch.as_tensor(inputs['group'], device=pairs.device).repeat_interleave(2)
        loss = triplet_ranking_loss(self.embed(pairs), groups, margin=self.margin,
                                    neg_num=self.neg_num, hard_ratio=self.hard_ratio,
                                    rand_ratio=self.rand_ratio)
        return {'loss_triplet': loss}

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()
