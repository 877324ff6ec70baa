"""Learning to Count (Noroozi, Pirsiavash, Favaro, ICCV 2017; docs/methods.md §5).

The sampler hands one augmented crop ``x`` of side 2S per image (``inputs['crop']``, augmented
on the device by ``harness.AugmentViews``). Here, batched on the device: its four S x S quadrant
tiles ``T_1..T_4`` (top-left, top-right, bottom-left, bottom-right) and ``D∘x``, the crop
downsampled 2x to S x S with an interpolation drawn per sample from ``interpolations`` (an
anti-shortcut: the network cannot tell downsampled images from tiles by one resampling
filter's trace). ``y`` is the next image of the batch (the batch rolled by one), so ``φ(D∘y)``
is the rolled ``φ(D∘x)``. The 5N images of S x S pixels go through the backbone in one pass;
its conv map is flattened into fc6, as in the paper.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import global_pool, map_shape, MODELS
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
    """The counting network φ = head ∘ flatten ∘ backbone, trained with
    :func:`~harness_counting.losses.counting_terms`.

    head: the paper's fc6-fc7-fc8 (``C * h * w`` -> ``hidden_dim`` -> ``hidden_dim`` ->
    ``num_counts``, ReLU after each, the last one making the counts non-negative); fc6 reads
    the backbone's last map flattened, as the paper flattens AlexNet's conv5 (after pool5)
    into fc6: ``(C, h, w)`` is the map of a ``tile_size`` tile (AlexNet-BN: 256 x 3 x 3 at the
    paper's 114 px, 256 x 1 x 1 at the demo's 36 px), so the spatial layout of the counts'
    evidence reaches the head. tile_size: the side S of the tiles and of the downsampled copy
    (half the crop); tiles of another size are refused. margin: M (paper 10).
    contrastive_weight: the hinge's weight (1 in the paper; 0 switches it off, which leaves the
    trivial solution φ = 0 open). interpolations: the downsampling methods D draws from per
    sample (:data:`INTERPOLATIONS`). min_input_size: tiles and downsampled images smaller than
    this are zero-padded to it before the backbone (AlexNet-BN maps inputs under 35 px to an
    empty map); 0: never pad. The demo and paper tile sizes (36 and 114 px) are never padded;
    it lets smaller crops (smoke runs) through.

    Modes: ``'loss'`` -> ``{'loss_equivariance', 'loss_contrastive'}`` (batch means; their sum
    is :func:`~harness_counting.losses.counting_loss`); ``'tensor'`` -> the pooled backbone
    features of ``inputs['crop']`` as given. :meth:`counts` gives φ of tiles.
    """

    def __init__(self, backbone: dict, feat_dim: int, tile_size: int, hidden_dim: int = 4096,
                 num_counts: int = 1000, margin: float = 10.0, contrastive_weight: float = 1.0,
                 interpolations: Sequence[str] = ('nearest', 'bilinear', 'bicubic', 'area'),
                 min_input_size: int = 0, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.min_input_size = int(min_input_size)
        self.tile_size = int(tile_size)
        self.map_shape = map_shape(self.backbone, max(self.tile_size, self.min_input_size))
        if 0 in self.map_shape:
            raise ValueError(f'{self.tile_size}-pixel tiles give the backbone an empty map '
                             f'{self.map_shape}: raise min_input_size')
        self.head = nn.Sequential(
            nn.Linear(math.prod(self.map_shape), hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, num_counts), nn.ReLU())
        self.margin, self.contrastive_weight = float(margin), float(contrastive_weight)
        self.interpolations = check_interpolations(interpolations)

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]``."""
        return global_pool(self.backbone(pad_to(images, self.min_input_size)))

    def flat_map(self, images: Tensor) -> Tensor:
        """What fc6 reads: the backbone's map of tiles ``[N, 3, S, S]``, flattened
        ``[N, C * h * w]``."""
        maps = self.backbone(pad_to(images, self.min_input_size))
        if tuple(maps.shape[1:]) != self.map_shape:
            raise ValueError(f'{tuple(images.shape[-2:])}-pixel tiles give a backbone map of '
                             f'{tuple(maps.shape[1:])}, but fc6 was built for the '
                             f'{self.map_shape} map of tile_size={self.tile_size}: set '
                             'model.tile_size to half the crop size')
        return maps.flatten(1)

    def counts(self, images: Tensor) -> Tensor:
        """φ: non-negative count vectors ``[N, num_counts]`` of tiles ``[N, 3, S, S]``."""
        return self.head(self.flat_map(images))

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
