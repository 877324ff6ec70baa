"""Siamese Image Modeling (Tao et al., CVPR 2023; docs/methods.md §3).

Two augmented views x1, x2 of an image. The online ViT sees x1 with a block-wise mask (the
masked tokens are dropped, not replaced); its tokens go through ``decoder_embed`` and a
projector of transformer blocks, then a predictor of transformer blocks whose input is the
class token, the visible x1 tokens with their grid positions, and one mask token per patch of
x2 carrying x2's patch position *relative to x1* (crop offset, scale and relative flip,
:mod:`harness_sim.geometry`). Its outputs at those tokens predict what an EMA target network
(patch embedding, blocks, ``decoder_embed``, projector) gives for the unmasked x2, under a
LayerNorm without affine. Loss: UniGrad on the dense tokens (:func:`harness_sim.losses.unigrad`),
in fp32.

As in the official code: the patch projection is frozen at its random initialisation, the
encoder's positions are fixed sine-cosine codes, the encoder has no final norm during
pretraining, the projector and predictor blocks normalise with BatchNorm over tokens
(``token_norm='batch'``). The encoder is the backbone's own timm ``VisionTransformer``
(its ``patch_embed``, ``cls_token``, ``pos_embed`` and ``blocks``), driven here so masked tokens
can be dropped; the exported backbone is that ViT.
"""
from __future__ import annotations

import copy
from functools import partial

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torch.nn import functional as F

from harness.api import global_pool, momentum_update, MODELS
from harness_sim.geometry import block_mask, grid_code, relative_code, relative_grid
from harness_sim.losses import unigrad


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the channels of tokens ``[B, L, C]`` (statistics over every token of
    the batch), in fp32 even under autocast: SiameseIM's norm inside its decoder blocks."""

    def forward(self, tokens: Tensor) -> Tensor:
        with torch.autocast(tokens.device.type, enabled=False):
            out = super().forward(tokens.float().transpose(1, 2))
        return out.transpose(1, 2)


def transformer_blocks(dim: int, heads: int, depth: int, token_norm: str) -> nn.Sequential:
    """``depth`` timm ViT blocks of width ``dim`` (MLP ratio 4, qkv bias), normalised by
    :class:`TokenBatchNorm` (``'batch'``) or LayerNorm (``'layer'``)."""
    from timm.models.vision_transformer import Block

    norms = {'batch': TokenBatchNorm, 'layer': partial(nn.LayerNorm, eps=1e-6)}
    if token_norm not in norms:
        raise ValueError(f"token_norm must be 'batch' or 'layer', got {token_norm!r}")
    return nn.Sequential(*(Block(dim, heads, mlp_ratio=4.0, qkv_bias=True,
                                 norm_layer=norms[token_norm]) for _ in range(depth)))


def patch_tokens(vit, images: Tensor) -> tuple[Tensor, tuple[int, int]]:
    """A timm ViT's patch embedding of ``images``: tokens ``[B, rows * cols, D]`` (row-major)
    and the grid ``(rows, cols)``."""
    tokens = vit.patch_embed(images)
    if tokens.dim() == 4:  # dynamic_img_size: [B, rows, cols, D]
        grid = tuple(tokens.shape[1:3])
        return tokens.flatten(1, 2), grid
    return tokens, tuple(vit.patch_embed.grid_size)


def grid_of(vit, images: Tensor) -> tuple[int, int]:
    """The patch grid a ViT makes of ``images`` (sides padded up to a multiple of the patch)."""
    patch = vit.patch_embed.patch_size
    return -(-images.shape[-2] // patch[0]), -(-images.shape[-1] // patch[1])


def positions(vit, grid: tuple[int, int]) -> Tensor:
    """The ViT's position embedding (class token first) for a ``grid`` of patches, resampled
    from its own grid as timm's forward does: ``[1, 1 + rows * cols, D]``."""
    from timm.layers import resample_abs_pos_embed

    return resample_abs_pos_embed(vit.pos_embed, new_size=list(grid),
                                  old_size=list(vit.patch_embed.grid_size), num_prefix_tokens=1)


@MODELS.register_module()
class SiameseIM(BaseModel):
    """SiameseIM on a timm ViT backbone (``harness.ViTB16``, ``ViTS16``, ``ViTTiny8``).

    hidden_dim: width of decoder_embed, projector and predictor (paper 768, the encoder's);
    head_dim: width of one attention head in them (paper 48: 16 heads); projector_depth,
    predictor_depth: blocks in each (paper 2 and 4);
    mask_ratio: share of x1's patches masked (paper 118 / 196); mask_min_block: the smallest
    masked block, in patches (BEiT: 16 on a 14 x 14 grid); neg_weight: UniGrad's lambda (0.02);
    momentum: the target's EMA rate at the start (a CosineMomentumHook raises it to 1);
    token_norm: 'batch' or 'layer' inside the decoder blocks; target_view: 'other' (predict x2,
    the method) or 'same' (predict the unmasked x1 itself, the paper's ablation).
    """

    gathers = {'UniGrad correlation': 'without gradient: averaged over every process\'s '
                                      'target tokens (all-reduce)'}

    def __init__(self, backbone: dict, feat_dim: int, hidden_dim: int = 768, head_dim: int = 48,
                 projector_depth: int = 2, predictor_depth: int = 4,
                 mask_ratio: float = 118 / 196, mask_min_block: int = 16,
                 neg_weight: float = 0.02, momentum: float = 0.995, token_norm: str = 'batch',
                 target_view: str = 'other', data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if target_view not in ('other', 'same'):
            raise ValueError(f"target_view must be 'other' or 'same', got {target_view!r}")
        self.backbone = MODELS.build(backbone)
        vit = getattr(self.backbone, 'vit', None)
        if vit is None or getattr(vit, 'cls_token', None) is None:
            raise ValueError(f'SiameseIM drives a timm ViT with a class token; '
                             f'{type(self.backbone).__name__} is not one (use vit-b16, vit-s16 '
                             'or vit-tiny8)')
        self.mask_ratio, self.mask_min_block = mask_ratio, mask_min_block
        self.neg_weight, self.momentum, self.target_view = neg_weight, momentum, target_view
        dim, heads = hidden_dim, max(1, hidden_dim // head_dim)
        if dim % heads or dim % 4:
            raise ValueError(f'hidden_dim {dim} must split into heads of head_dim {head_dim} '
                             'and be divisible by 4 (its sine-cosine codes)')
        with torch.no_grad():  # fixed sine-cosine positions (class token: zeros)
            vit.pos_embed.zero_()
            vit.pos_embed[0, 1:] = grid_code(*vit.patch_embed.grid_size, feat_dim)
        vit.pos_embed.requires_grad_(False)
        vit.patch_embed.requires_grad_(False)  # a frozen random projection
        vit.norm.requires_grad_(False)  # not used while pretraining (kept for the export)

        self.decoder_embed = nn.Linear(feat_dim, dim)
        self.projector = transformer_blocks(dim, heads, projector_depth, token_norm)
        self.predictor = transformer_blocks(dim, heads, predictor_depth, token_norm)
        self.decoder_pred = nn.Linear(dim, dim)
        self.decoder_pos_mlp = nn.Linear(2 * dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        for module in (self.decoder_embed, self.projector, self.predictor, self.decoder_pred,
                       self.decoder_pos_mlp):
            module.apply(_xavier)
        nn.init.normal_(self.mask_token, std=0.02)

        self.target_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.target_decoder_embed = copy.deepcopy(self.decoder_embed).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)

    # ------------------------------------------------------------------ branches

    def embed(self, images: Tensor) -> Tensor:
        return global_pool(self.backbone(images))

    def online(self, tokens: Tensor, grid: tuple[int, int], mask: Tensor, queries: Tensor
               ) -> Tensor:
        """Predictions ``[B, N2, dim]`` for the ``N2`` query positions ``queries [B, N2, dim]``
        (codes of x2's patches) from x1's patch ``tokens`` with ``mask`` dropped."""
        vit = self.backbone.vit
        pos = positions(vit, grid)
        batch, _, width = tokens.shape
        visible = (tokens + pos[:, 1:])[~mask].view(batch, -1, width)
        cls = (vit.cls_token + pos[:, :1]).expand(batch, -1, -1)
        hidden = vit.blocks(vit.norm_pre(torch.cat([cls, visible], dim=1)))
        hidden = self.projector(self.decoder_embed(hidden))
        code = grid_code(*grid, hidden.shape[-1]).to(hidden)
        visible_code = code.expand(batch, -1, -1)[~mask].view(batch, -1, hidden.shape[-1])
        # the class token's decoder position is zero (the sine-cosine table's first row)
        sequence = torch.cat([hidden[:, :1], hidden[:, 1:] + visible_code,
                              self.mask_token + queries], dim=1)
        return self.decoder_pred(self.predictor(sequence)[:, -queries.shape[1]:])

    @torch.no_grad()
    def target(self, x2: Tensor) -> Tensor:
        """The EMA target's normalised patch tokens of the unmasked ``x2``, ``[B, N2, dim]``;
        moves the target towards the online network first."""
        momentum_update(self.backbone, self.target_backbone, self.momentum)
        momentum_update(self.decoder_embed, self.target_decoder_embed, self.momentum)
        momentum_update(self.projector, self.target_projector, self.momentum)
        vit = self.target_backbone.vit
        tokens, grid = patch_tokens(vit, x2)
        pos = positions(vit, grid)
        cls = vit.cls_token.expand(len(tokens), -1, -1)
        hidden = vit.blocks(vit.norm_pre(torch.cat([cls, tokens], dim=1) + pos))
        hidden = self.target_projector(self.target_decoder_embed(hidden))[:, 1:]
        return F.layer_norm(hidden.float(), hidden.shape[-1:])

    # ------------------------------------------------------------------ loss

    def sim_loss(self, x1: Tensor, x2: Tensor, geometry1: dict, geometry2: dict) -> Tensor:
        vit = self.backbone.vit
        tokens, grid1 = patch_tokens(vit, x1)
        total = grid1[0] * grid1[1]
        num_masked = min(round(self.mask_ratio * total), total - 1)  # one token stays at least
        mask = block_mask(len(x1), *grid1, num_masked,
                          min_block=self.mask_min_block).to(x1.device)
        where, scales = relative_grid(geometry1['box'], geometry1['flip'], geometry2['box'],
                                      geometry2['flip'], grid1, grid_of(vit, x2))
        queries = self.decoder_pos_mlp(relative_code(where, scales, self.mask_token.shape[-1])
                                       .to(tokens))
        prediction = self.online(tokens, grid1, mask, queries)
        target = self.target(x2)
        with torch.autocast(x1.device.type, enabled=False):  # the loss in fp32
            return unigrad(prediction.float().flatten(0, 1), target.flatten(0, 1),
                           self.neg_weight)

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        if mode == 'tensor':
            return self.embed(inputs['view1'])
        if mode != 'loss':
            raise ValueError(f"SiameseIM supports mode 'loss' and 'tensor', not {mode!r}")
        geometry = inputs['geometry']
        if self.target_view == 'same':
            return {'loss': self.sim_loss(inputs['view1'], inputs['view1'],
                                          geometry['view1'], geometry['view1'])}
        return {'loss': self.sim_loss(inputs['view1'], inputs['view2'], geometry['view1'],
                                      geometry['view2'])}

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()


def _xavier(module: nn.Module) -> None:
    """MAE's initialisation of the decoder: xavier-uniform linear weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
