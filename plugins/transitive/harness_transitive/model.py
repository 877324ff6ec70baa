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

import math

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import normalize, global_pool, map_shape, MODELS
from harness_transitive.losses import triplet_ranking_loss


#: how the head reads the backbone's last map: flattened (the official network's pool5 -> fc6)
#: or global-average-pooled
HEAD_INPUTS = ('flatten', 'pool')


@MODELS.register_module()
class TransitiveTriplet(BaseModel):
    """The embedding f = L2-normalise ∘ head ∘ (flatten or pool) ∘ backbone, trained with the
    cosine triplet ranking loss over both ends of each positive pair.

    head: fc6 (-> ``hidden_dim``) -> ReLU -> fc7 (-> ``embed_dim``) -> ReLU, then the L2
    normalisation: the 2015 network's fc6/relu6/fc7/relu7/``Norm`` before its ``RankHardLoss``
    (xiaolonw/caffe-video_triplet: rank_scripts/rank_vgg/imagenet_train.prototxt), so
    embeddings are non-negative unit vectors and their cosines lie in [0, 1].
    head_input: ``'flatten'``: fc6 reads the backbone's last map flattened, as the official
    network flattens VGG-16's pool5 (the map of ``input_size``-pixel views: 512 x 7 x 7 for
    VGG-16 at 224, whose harness module ends with pool5); ``'pool'``: its global average (the
    ResNets' own pooling; smaller fc6). input_size: the side of the views the network is
    trained on (needed for ``'flatten'``). margin: M of the loss; neg_num, hard_ratio,
    rand_ratio: the negative mining of the ``RankHardLoss`` layer.

    Modes: ``'loss'`` -> ``{'loss_triplet'}``; ``'tensor'`` -> the pooled backbone features
    of ``inputs['anchor']``. :meth:`describe` gives the pooled features of raw patches (what
    the graph hook clusters).
    """

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096,
                 embed_dim: int = 1024, margin: float = 1.0, neg_num: int = 4,
                 hard_ratio: float = 0.5, rand_ratio: float = 0.5, head_input: str = 'pool',
                 input_size: int | None = None, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if head_input not in HEAD_INPUTS:
            raise ValueError(f"head_input must be one of {', '.join(HEAD_INPUTS)}, got "
                             f'{head_input!r}')
        self.backbone = MODELS.build(backbone)
        self.head_input = head_input
        self.map_shape: tuple[int, ...] | None = None
        fc6_inputs = feat_dim
        if head_input == 'flatten':
            if not input_size:
                raise ValueError("head_input='flatten' needs input_size (the views' side): "
                                 "fc6's inputs are the backbone's map of such a view")
            self.map_shape = map_shape(self.backbone, int(input_size))
            fc6_inputs = math.prod(self.map_shape)
        self.input_size = input_size
        self.head = nn.Sequential(nn.Linear(fc6_inputs, hidden_dim), nn.ReLU(inplace=True),
                                  nn.Linear(hidden_dim, embed_dim), nn.ReLU(inplace=True))
        self.margin, self.neg_num = float(margin), int(neg_num)
        self.hard_ratio, self.rand_ratio = float(hard_ratio), float(rand_ratio)

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]``."""
        return global_pool(self.backbone(images))

    def fc6_inputs(self, images: Tensor) -> Tensor:
        """What fc6 reads: the backbone's map flattened ``[N, C * h * w]`` or pooled
        ``[N, C]`` (``head_input``)."""
        maps = self.backbone(images)
        if self.head_input == 'pool':
            return global_pool(maps)
        if tuple(maps.shape[1:]) != self.map_shape:
            raise ValueError(f'{tuple(images.shape[-2:])}-pixel views give a backbone map of '
                             f'{tuple(maps.shape[1:])}, but fc6 was built for the '
                             f'{self.map_shape} map of input_size={self.input_size}: set '
                             "model.input_size to the views' size")
        return maps.flatten(1)

    def embed(self, images: Tensor) -> Tensor:
        """The embedding the loss compares ``[N, embed_dim]``: relu7 L2-normalised
        (non-negative, unit length)."""
        return F.normalize(self.head(self.fc6_inputs(images)).float(), dim=1)

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
