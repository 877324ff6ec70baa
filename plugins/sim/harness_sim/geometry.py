"""Where SiameseIM's tokens are: sine-cosine position codes, the other view's patch grid in the
first view's patch units, and the block-wise mask.

Views are described as the image pipeline hands them on (``SampleImageViews(geometry=True)``):
``box`` = (top, left, height, width) of the crop as fractions of the image's height and width,
``flip`` = whether the crop was mirrored after cropping. A view of ``rows x cols`` patches has
its patch ``(r, c)`` centred at ``(r + 0.5) / rows`` of the crop's height from its top and
``(c + 0.5) / cols`` of its width from its left (from its right when flipped).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def sincos(positions: Tensor, dim: int) -> Tensor:
    """The 1-D sine-cosine code of (real-valued) positions: ``[...]`` -> ``[..., dim]``, the
    sines of ``position * w_k`` then their cosines, ``w_k = 1 / 10000 ** (k / (dim / 2))`` for
    k < dim / 2 (MAE's code)."""
    if dim % 2:
        raise ValueError(f'a sine-cosine code needs an even width, got {dim}')
    half = dim // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64, device=positions.device)
                            / half)
    angles = positions.to(torch.float64).unsqueeze(-1) * omega
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


def grid_code(rows: int, cols: int, dim: int) -> Tensor:
    """The fixed 2-D code of a ``rows x cols`` patch grid, row-major: ``[rows * cols, dim]``,
    half the channels coding the row index, half the column index."""
    if dim % 4:
        raise ValueError(f'a 2-D sine-cosine code needs a width divisible by 4, got {dim}')
    r, c = torch.meshgrid(torch.arange(rows, dtype=torch.float64),
                          torch.arange(cols, dtype=torch.float64), indexing='ij')
    return torch.cat([sincos(r.flatten(), dim // 2), sincos(c.flatten(), dim // 2)], dim=1)


def patch_centres(box: Tensor, flip: Tensor, rows: int, cols: int) -> tuple[Tensor, Tensor]:
    """Image coordinates (fractions of its height, width) of every patch centre of views with
    ``box [B, 4]`` and ``flip [B]``: ``(y [B, rows * cols], x [B, rows * cols])``, row-major."""
    top, left, height, width = box.to(torch.float64).unbind(1)
    r = (torch.arange(rows, dtype=torch.float64, device=box.device) + 0.5) / rows
    c = (torch.arange(cols, dtype=torch.float64, device=box.device) + 0.5) / cols
    c = torch.where(flip.bool()[:, None], 1 - c, c)  # [B, cols]
    y = top[:, None, None] + height[:, None, None] * r[None, :, None]
    x = left[:, None, None] + width[:, None, None] * c[:, None, :]
    y, x = torch.broadcast_tensors(y, x)
    return y.flatten(1), x.flatten(1)


def relative_grid(box1: Tensor, flip1: Tensor, box2: Tensor, flip2: Tensor,
                  grid1: tuple[int, int], grid2: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """View 2's patch centres in view 1's patch units, and view 2's size relative to view 1.

    Returns ``positions [B, N2, 2]`` (row, column; view 1's patch ``(r, c)`` is at ``(r, c)``,
    so a point mirrored in view 1 is measured from its right edge) for view 2's ``N2`` patches
    in row-major order, and ``scales [B, 2]`` = (height2 / height1, width2 / width1). This is
    SiameseIM's ``rel_pos_21`` grid (its crop offsets, scales and relative flip) written from
    the crop boxes directly.
    """
    y, x = patch_centres(box2, flip2, *grid2)
    top, left, height, width = box1.to(torch.float64).unbind(1)
    u = (y - top[:, None]) / height[:, None]
    v = (x - left[:, None]) / width[:, None]
    v = torch.where(flip1.bool()[:, None], 1 - v, v)
    positions = torch.stack([u * grid1[0] - 0.5, v * grid1[1] - 0.5], dim=-1)
    scales = box2[:, 2:].to(torch.float64) / box1[:, 2:].to(torch.float64)
    return positions.float(), scales.float()


def relative_code(positions: Tensor, scales: Tensor, dim: int) -> Tensor:
    """SiameseIM's code of the other view's patches: ``[B, N, 2 * dim]``, the sine-cosine codes
    (``dim / 2`` channels each) of the row, the column, ``10 log(scale_h)`` and
    ``10 log(scale_w)`` (the scales shared by every patch of a view)."""
    if dim % 4:
        raise ValueError(f'the relative code needs a width divisible by 4, got {dim}')
    logs = 10 * torch.log(scales)[:, None, :].expand(-1, positions.shape[1], -1)
    return torch.cat([sincos(positions[..., 0], dim // 2), sincos(positions[..., 1], dim // 2),
                      sincos(logs[..., 0], dim // 2), sincos(logs[..., 1], dim // 2)], dim=-1)


def block_mask(batch: int, rows: int, cols: int, num_masked: int, *, min_block: int = 16,
               max_aspect: float = 1 / 0.3, generator: torch.Generator | None = None) -> Tensor:
    """BEiT's block-wise masking, ``[batch, rows * cols]`` booleans (True = masked), with
    exactly ``num_masked`` patches masked per sample.

    Rectangles of ``min_block`` or more patches (and at most what is left to mask), aspect
    log-uniform in ``[1 / max_aspect, max_aspect]``, are placed at random until the count is
    reached or ten tries in a row add nothing (BEiT's generator); any shortfall is then made up
    with single patches at random, so every sample drops the same number of tokens.
    """
    total = rows * cols
    if not 0 <= num_masked < total:
        raise ValueError(f'cannot mask {num_masked} of {total} patches; keep at least one')
    masks = torch.zeros(batch, rows, cols, dtype=torch.bool)
    log_aspect = (-math.log(max_aspect), math.log(max_aspect))

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    def randint(high: int) -> int:
        return int(torch.randint(high, (), generator=generator))

    for mask in masks:
        count, idle = 0, 0
        while count < num_masked and idle < 10:
            left_to_mask = num_masked - count
            area = uniform(min(min_block, left_to_mask), left_to_mask)
            aspect = math.exp(uniform(*log_aspect))
            h = int(round(math.sqrt(area * aspect)))
            w = int(round(math.sqrt(area / aspect)))
            added = 0
            if 0 < h < rows and 0 < w < cols:
                top, left = randint(rows - h + 1), randint(cols - w + 1)
                block = mask[top:top + h, left:left + w]
                added = int((~block).sum())
                if added <= left_to_mask:
                    block.fill_(True)
                else:
                    added = 0
            count += added
            idle = 0 if added else idle + 1
        if count < num_masked:
            free = (~mask.flatten()).nonzero().squeeze(1)
            pick = free[torch.randperm(len(free), generator=generator)[:num_masked - count]]
            mask.view(-1)[pick] = True
    return masks.flatten(1)
