"""MoCo v2, BYOL and SimSiam on two clips of one video (views ``view1``, ``view2``)."""
from __future__ import annotations

import copy

import torch
from mmengine.model import BaseModel
from torch import nn
from torch.nn import functional as F

from harness.modules import global_pool, mlp
from harness.registry import MODELS
from harness_contrastive.losses import (byol_regression, info_nce, momentum_update,
                                        negative_cosine)


class _TwoViewModel(BaseModel):
    """Shared plumbing: one online backbone, inputs ``{'view1': x1, 'view2': x2}``."""

    def __init__(self, backbone: dict, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)

    def embed(self, clips):
        return global_pool(self.backbone(clips))

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        if mode == 'tensor':
            return self.embed(inputs['view1'])
        if mode != 'loss':
            raise ValueError(f"{type(self).__name__} supports mode 'loss' and 'tensor', "
                             f'not {mode!r}')
        return {'loss': self.two_view_loss(inputs['view1'], inputs['view2'])}

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()


@MODELS.register_module()
class MoCo(_TwoViewModel):
    """MoCo v2: query encoder + momentum key encoder (EMA ``momentum``), MLP head, a queue of
    ``queue_size`` negative keys, InfoNCE at ``temperature`` (v2: 0.2)."""

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 128,
                 queue_size: int = 65536, momentum: float = 0.999, temperature: float = 0.2,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.head = nn.Sequential(nn.Linear(feat_dim, hidden_dim), nn.ReLU(inplace=True),
                                  nn.Linear(hidden_dim, dim))
        self.key_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.key_head = copy.deepcopy(self.head).requires_grad_(False)
        self.momentum, self.temperature = momentum, temperature
        self.register_buffer('queue', F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys):
        """Replace the oldest keys (a ring buffer)."""
        size = len(self.queue)
        positions = (self.queue_ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[positions] = keys
        self.queue_ptr.copy_((self.queue_ptr + len(keys)) % size)

    def two_view_loss(self, view1, view2):
        query = F.normalize(self.head(self.embed(view1)), dim=1)
        with torch.no_grad():
            momentum_update(self.backbone, self.key_backbone, self.momentum)
            momentum_update(self.head, self.key_head, self.momentum)
            key = F.normalize(self.key_head(global_pool(self.key_backbone(view2))), dim=1)
        loss = info_nce(query, key, self.queue.clone(), self.temperature)
        self.enqueue(key)
        return loss


@MODELS.register_module()
class BYOL(_TwoViewModel):
    """BYOL: online projector + predictor regress an EMA target's projection, symmetrized."""

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096, dim: int = 256,
                 momentum: float = 0.996, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector = mlp(feat_dim, hidden_dim, dim, last_bn=False)
        self.predictor = mlp(dim, hidden_dim, dim, last_bn=False)
        self.target_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.momentum = momentum

    def two_view_loss(self, view1, view2):
        p1 = self.predictor(self.projector(self.embed(view1)))
        p2 = self.predictor(self.projector(self.embed(view2)))
        with torch.no_grad():
            momentum_update(self.backbone, self.target_backbone, self.momentum)
            momentum_update(self.projector, self.target_projector, self.momentum)
            z1 = self.target_projector(global_pool(self.target_backbone(view1)))
            z2 = self.target_projector(global_pool(self.target_backbone(view2)))
        return (byol_regression(p1, z2) + byol_regression(p2, z1)) / 2


@MODELS.register_module()
class SimSiam(_TwoViewModel):
    """SimSiam: projector (3 layers + BN) and predictor, -cos to the stop-gradient projection
    of the other view, symmetrized; no EMA."""

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 2048, dim: int = 2048,
                 pred_dim: int = 512, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector = nn.Sequential(
            nn.Linear(feat_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, dim), nn.BatchNorm1d(dim))
        self.predictor = mlp(dim, pred_dim, dim, last_bn=False)

    def two_view_loss(self, view1, view2):
        z1, z2 = self.projector(self.embed(view1)), self.projector(self.embed(view2))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2
