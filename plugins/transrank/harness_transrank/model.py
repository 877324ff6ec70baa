"""Transformation recognition: one backbone, an MLP head per transformation family (temporal
and/or rotation), a ranking (TransRank) or classification (TransCls and the RecogTrans
baselines) loss per family, summed."""
from __future__ import annotations

from mmengine.model import BaseModel
from torch import nn

from harness.api import global_pool, MODELS
from harness_transrank.losses import classification_loss, ranking_loss


def mlp_head(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """TransRank's MLP head (the paper finds MLP > linear for retrieval)."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


@MODELS.register_module()
class TransformationRecognizer(BaseModel):
    """Transformation recognition by ranking (``loss='rank'``) or classification (``'ce'``).

    Inputs (from ``SampleTransformedClips``): ``clips [B, K, 3, T, H, W]``, ``temporal [B, K]``
    and, when ``rotation=True``, ``rotation [B, K]`` (4 columns); with ``num_aspect``
    aspect-ratio changes, ``aspect [B, K]``. num_temporal: the number of temporal
    transformations (score columns; 0: no temporal head, e.g. 3D-RotNet); rotation scores have
    4 columns.
    """

    def __init__(self, backbone: dict, feat_dim: int, num_temporal: int, rotation: bool = False,
                 loss: str = 'rank', margin: float = 1.0, hidden_dim: int = 512,
                 num_aspect: int = 0, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if loss not in ('rank', 'ce'):
            raise ValueError(f"loss must be 'rank' or 'ce', got {loss!r}")
        self.backbone = MODELS.build(backbone)
        if not num_temporal and not rotation and not num_aspect:
            raise ValueError('nothing to recognise: set num_temporal > 0, rotation=True or '
                             'num_aspect > 0')
        self.temporal_head = mlp_head(feat_dim, hidden_dim, num_temporal) if num_temporal else None
        self.rotation_head = mlp_head(feat_dim, hidden_dim, 4) if rotation else None
        self.aspect_head = mlp_head(feat_dim, hidden_dim, num_aspect) if num_aspect else None
        self.loss_type, self.margin = loss, margin

    def _loss(self, scores, labels):
        if self.loss_type == 'rank':
            return ranking_loss(scores, labels, self.margin)
        return classification_loss(scores, labels)

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        clips = inputs['clips']
        batch, k = clips.shape[:2]
        features = global_pool(self.backbone(clips.flatten(0, 1)))
        if mode == 'tensor':
            return features.view(batch, k, -1)
        if mode != 'loss':
            raise ValueError(f"{type(self).__name__} supports mode 'loss' and 'tensor', "
                             f'not {mode!r}')
        losses = {}
        if self.temporal_head is not None:
            losses['loss_temporal'] = self._loss(
                self.temporal_head(features).view(batch, k, -1), inputs['temporal'])
        if self.rotation_head is not None:
            losses['loss_rotation'] = self._loss(
                self.rotation_head(features).view(batch, k, -1), inputs['rotation'])
        if self.aspect_head is not None:
            losses['loss_aspect'] = self._loss(
                self.aspect_head(features).view(batch, k, -1), inputs['aspect'])
        return losses

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()
