"""Learning to Count (Noroozi, Pirsiavash, Favaro, ICCV 2017; docs/methods.md §5).

The sampler hands one augmented crop ``x`` of side 2S per image (``inputs['crop']``, augmented
on the device by ``harness.AugmentViews``). Here, batched on the device: its four S x S quadrant
tiles ``T_1..T_4`` (top-left, top-right, bottom-left, bottom-right) and ``D∘x``, the crop
downsampled 2x to S x S with an interpolation drawn per sample from ``interpolations`` (an
anti-shortcut: the network cannot tell downsampled images from tiles by one resampling
filter's trace). ``y`` is the next image of the batch (the batch rolled by one), so ``φ(D∘y)``
is the rolled ``φ(D∘x)``. The 5N images of S x S pixels go through the backbone in one pass.
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import global_pool, MODELS
from harness_counting.losses import counting_terms

#: name -> F.interpolate arguments of each downsampling method ``interpolations`` may name
INTERPOLATIONS = {
    'nearest': dict(mode='nearest'),
    'nearest-exact': dict(mode='nearest-exact'),
    'area': dict(mode='area'),
    'bilinear': dict(mode='bilinear', align_corners=False, antialias=True),
    'bicubic': dict(mode='bicubic', align_corners=False, antialias=True),
    'bilinear-noaa': dict(mode='bilinear', align_corners=False, antialias=False),
    'bicubic-noaa': dict(mode='bicubic', align_corners=False, antialias=False),
}


def check_interpolations(names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [name for name in names if name not in INTERPOLATIONS]
    if not names or unknown:
        raise ValueError(f"interpolations must name one or more of {', '.join(INTERPOLATIONS)}; "
                         f'got {names}')
    return names


def quadrant_tiles(images: Tensor) -> Tensor:
    """``[N, C, 2S, 2S]`` -> ``[N, 4, C, S, S]``: top-left, top-right, bottom-left,
    bottom-right (an odd last row or column is left out)."""
    s = min(images.shape[-2:]) // 2
    return torch.stack([images[..., :s, :s], images[..., :s, s:2 * s],
                        images[..., s:2 * s, :s], images[..., s:2 * s, s:2 * s]], dim=1)


def downsample(images: Tensor, size: int, methods: Sequence[str], choice: Tensor) -> Tensor:
    """Each image ``[N, C, H, W]`` resized to ``size`` x ``size`` with its own method,
    ``methods[choice[i]]`` (:data:`INTERPOLATIONS`); the images of one method are resized
    together (as :func:`harness.data.augment.on_clips` runs a per-clip op once)."""
    out = images.new_empty(len(images), images.shape[1], size, size)
    for k, name in enumerate(methods):
        index = (choice == k).nonzero().squeeze(1)
        if index.numel():
            resized = F.interpolate(images.index_select(0, index), size=(size, size),
                                    **INTERPOLATIONS[name])
            out = out.index_copy(0, index, resized)
    return out


def pad_to(images: Tensor, size: int) -> Tensor:
    """Images smaller than ``size`` zero-padded (centred) to ``size`` x ``size``; after the
    ImageNet normalisation zero is the mean colour. Larger ones are returned as they are."""
    h, w = images.shape[-2:]
    if size <= 0 or (h >= size and w >= size):
        return images
    dh, dw = max(size - h, 0), max(size - w, 0)
    return F.pad(images, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))


@MODELS.register_module()
class Counting(BaseModel):
    """The counting network φ = head ∘ global average pool ∘ backbone, trained with
    :func:`~harness_counting.losses.counting_terms`.

    head: the paper's fc6-fc7-fc8 (``feat_dim`` -> ``hidden_dim`` -> ``hidden_dim`` ->
    ``num_counts``, ReLU after each, the last one making the counts non-negative); the paper
    flattens AlexNet's conv5 map into fc6, here it is pooled as for every backbone of the
    harness. margin: M (paper 10). contrastive_weight: the hinge's weight (1 in the paper; 0
    switches it off, which leaves the trivial solution φ = 0 open). interpolations: the
    downsampling methods D draws from per sample (:data:`INTERPOLATIONS`). min_input_size:
    tiles and downsampled images smaller than this are zero-padded to it before the backbone
    (AlexNet-BN maps inputs under 35 px to an empty map); 0: never pad. The demo and paper
    tile sizes (36 and 114 px) are never padded; it lets smaller crops (smoke runs) through.

    Modes: ``'loss'`` -> ``{'loss_equivariance', 'loss_contrastive'}`` (batch means; their sum
    is :func:`~harness_counting.losses.counting_loss`); ``'tensor'`` -> the pooled backbone
    features of ``inputs['crop']`` as given. :meth:`counts` gives φ of any images.
    """

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 4096,
                 num_counts: int = 1000, margin: float = 10.0, contrastive_weight: float = 1.0,
                 interpolations: Sequence[str] = ('nearest', 'bilinear', 'bicubic', 'area'),
                 min_input_size: int = 0, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = nn.Sequential(
            nn.Linear(feat_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, num_counts), nn.ReLU())
        self.margin, self.contrastive_weight = float(margin), float(contrastive_weight)
        self.interpolations = check_interpolations(interpolations)
        self.min_input_size = int(min_input_size)

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]``."""
        return global_pool(self.backbone(pad_to(images, self.min_input_size)))

    def counts(self, images: Tensor) -> Tensor:
        """φ: non-negative count vectors ``[N, num_counts]``."""
        return self.head(self.features(images))

    def views(self, crop: Tensor, generator: torch.Generator | None = None
              ) -> tuple[Tensor, Tensor, Tensor]:
        """``(D∘x [N, C, S, S], tiles [N, 4, C, S, S], choice [N])`` of crops ``[N, C, 2S, 2S]``;
        ``choice`` indexes ``interpolations``, drawn per sample (from ``generator`` if given)."""
        size = min(crop.shape[-2:]) // 2
        if size < 1:
            raise ValueError(f'crops of {tuple(crop.shape[-2:])} px have no tiles')
        choice = torch.randint(len(self.interpolations), (len(crop),), generator=generator,
                               device=crop.device if generator is None else generator.device
                               ).to(crop.device)
        square = crop[..., :2 * size, :2 * size]
        return downsample(square, size, self.interpolations, choice), \
            quadrant_tiles(square), choice

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        crop = inputs['crop']
        if mode == 'tensor':
            return self.features(crop)
        if mode != 'loss':
            raise ValueError(f"Counting supports mode 'loss' and 'tensor', not {mode!r}")
        n = len(crop)
        down, tiles, _ = self.views(crop)
        counts = self.counts(torch.cat([down, tiles.flatten(0, 1)]))
        down_x, tiles_x = counts[:n], counts[n:].view(n, tiles.shape[1], -1)
        equivariance, hinge = counting_terms(down_x, tiles_x, down_x.roll(1, 0), self.margin)
        return {'loss_equivariance': equivariance.mean(),
                'loss_contrastive': self.contrastive_weight * hinge.mean()}

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()
