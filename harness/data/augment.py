"""Clip augmentation in two halves: parameters drawn per clip in the dataloader worker, pixels
transformed batched on the model's device.

Worker side (:func:`sample_augment`, called by the clip samplers): draws one clip's random
parameters with torchvision's own parameter samplers (``RandomResizedCrop.get_params``,
``ColorJitter.get_params``, ``GaussianBlur.get_params``) and torch's RNG, which mmengine seeds
per worker, so the statistics are torchvision's and a seeded run repeats itself. The worker
itself only decodes frames and resizes them to a fixed intermediate size as uint8
(:func:`resize_clip`).

Device side (:func:`augment_clips`, run by the :class:`AugmentViews` data preprocessor): applies
those parameters to a whole batch at once, step by step in the order of the augmentation step
registry (:mod:`harness.data.augment_steps`). The core's steps, in that order:

    random resized crop -> horizontal flip -> colour jitter (brightness, contrast, saturation,
    hue in the clip's own random order) -> grayscale -> Gaussian blur -> solarize ->
    ImageNet normalisation

with the same parameters for every frame of a clip; plugins add their own steps before or
after the normalisation. Every step takes per-clip parameters and runs once on the clips that
take it (:func:`on_clips`). Each step matches the torchvision function it replaces on one clip
(tests compare them pixel by pixel). An image is a clip of one frame.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor
from torch.nn import functional as F
from torchvision import transforms as T
from torchvision.transforms.v2 import functional as TF

from harness.data.augment_steps import (NORMALISE_POSITION, AugmentStep, check_options,
                                        check_params, ordered_steps, register_augment_step)
from harness.registry import MODELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Default colour jitter strengths (BraVe's video recipe): brightness 32/255, contrast and
# saturation 0.4 (factors 0.6-1.4), hue 0.2, as torchvision's ColorJitter arguments; the order
# of the four is drawn per clip, as ColorJitter does. Image recipes set their own (``jitter``).
JITTER = (32 / 255, 0.4, 0.4, 0.2)
BLUR_SIGMA = (0.1, 2.0)
SOLARIZE_THRESHOLD = 0.5  # values at or above it are inverted
#: A crop box (top, left, height, width as fractions) covering the whole frame: the box of a
#: view the worker has cut already.
WHOLE_BOX = (0.0, 0.0, 1.0, 1.0)
#: The core's augment options (a view's ``augment``) and the value each takes when a view does
#: not set it: crop area and aspect ranges (torchvision's RandomResizedCrop), the chances of a
#: flip, of colour jitter, of grey and of blur and solarize (0: never), and the jitter strengths
#: (brightness, contrast, saturation, hue).
AUGMENT_DEFAULTS: dict[str, Any] = {'scale': (0.3, 1.0), 'ratio': (0.5, 2.0), 'flip': 0.5,
                                    'color': 0.8, 'jitter': JITTER, 'grayscale': 0.2,
                                    'blur': 0.0, 'solarize': 0.0}


def blur_kernel_size(size: int) -> int:
    """The Gaussian blur's kernel for ``size`` pixel views: about a tenth of the view, odd."""
    return max(3, (size // 10) | 1)


def chance(p: float) -> bool:
    """True with probability ``p``, drawn from torch's RNG (nothing is drawn for ``p <= 0``)."""
    return p > 0 and float(torch.rand(())) < p


def sample_augment(height: int, width: int, size: int, options: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """One clip's augmentation parameters, drawn in the worker by every registered step that
    draws its own (:mod:`harness.data.augment_steps`), in device order.

    height, width: the decoded frames' size (crop boxes are drawn in their pixels, as on the
    original video); size: the view's output size. options (the core's): scale (0.3, 1.0),
    ratio (0.5, 2.0), jitter (:data:`JITTER`: brightness, contrast, saturation and hue
    strengths as torchvision's ColorJitter takes them), and the probability of each step (0
    switches a step off): flip (0.5), color (0.8), grayscale (0.2), blur (0.0), solarize (0.0);
    plugins' steps add theirs. An option no registered step reads is refused
    (:class:`harness.data.augment_steps.AugmentOptionError`).

    Returns tensors that collate into a batch. The core's: ``box`` (top, left, height, width
    as fractions of the frame), ``flip``, ``color`` (whether colour jitter applies),
    ``jitter`` (brightness, contrast, saturation, hue factors; (1, 1, 1, 0) without colour),
    ``order`` (the jitter order), ``gray``, ``blur_sigma`` (0 = no blur; only with blur > 0),
    ``solarize`` (only with solarize > 0); and ``size``.
    """
    check_options(options)
    params: dict[str, Any] = {}
    for step in ordered_steps():
        if step.sample is not None:
            params.update(step.sample(options, height, width))
    params['size'] = size
    return params


def _sample_crop(options: Mapping[str, Any], height: int, width: int) -> dict[str, Tensor]:
    frame = torch.empty(()).expand(3, height, width)  # get_params reads only the shape
    top, left, h, w = T.RandomResizedCrop.get_params(
        frame, scale=list(options.get('scale', AUGMENT_DEFAULTS['scale'])),
        ratio=list(options.get('ratio', AUGMENT_DEFAULTS['ratio'])))
    return {'box': torch.tensor([top / height, left / width, h / height, w / width])}


def _sample_flip(options: Mapping[str, Any], height: int, width: int) -> dict[str, Tensor]:
    return {'flip': torch.tensor(chance(options.get('flip', AUGMENT_DEFAULTS['flip'])))}


def _sample_jitter(options: Mapping[str, Any], height: int, width: int) -> dict[str, Tensor]:
    jitter, order = torch.tensor([1.0, 1.0, 1.0, 0.0]), torch.arange(4)
    coloured = chance(options.get('color', AUGMENT_DEFAULTS['color']))
    if coloured:
        strengths = options.get('jitter', AUGMENT_DEFAULTS['jitter'])
        brightness, contrast, saturation, hue = strengths
        order, *factors = T.ColorJitter.get_params(
            _factor_range(brightness), _factor_range(contrast), _factor_range(saturation),
            (-hue, hue) if hue > 0 else None)
        # an operation switched off (None) is the identity: factor 1, hue shift 0
        jitter = torch.tensor([1.0 if f is None else float(f) for f in factors[:3]]
                              + [0.0 if factors[3] is None else float(factors[3])])
    return {'color': torch.tensor(coloured), 'jitter': jitter, 'order': order}


def _sample_gray(options: Mapping[str, Any], height: int, width: int) -> dict[str, Tensor]:
    grey = chance(options.get('grayscale', AUGMENT_DEFAULTS['grayscale']))
    return {'gray': torch.tensor(grey)}


def _sample_blur(options: Mapping[str, Any], height: int, width: int) -> dict[str, Tensor]:
    if options.get('blur', AUGMENT_DEFAULTS['blur']) <= 0:
        return {}
    sigma = T.GaussianBlur.get_params(*BLUR_SIGMA) if chance(options['blur']) else 0.0
    return {'blur_sigma': torch.tensor(float(sigma))}


def _sample_solarize(options: Mapping[str, Any], height: int, width: int
                     ) -> dict[str, Tensor]:
    if options.get('solarize', AUGMENT_DEFAULTS['solarize']) <= 0:
        return {}
    return {'solarize': torch.tensor(chance(options['solarize']))}


def _factor_range(strength: float) -> tuple[float, float] | None:
    """ColorJitter's factor range for a strength, ``(max(0, 1 - s), 1 + s)``; None for 0."""
    return (max(0.0, 1 - strength), 1 + strength) if strength > 0 else None


def resize_clip(frames: Tensor, size: int | tuple[int, int]) -> Tensor:
    """``uint8 [T, 3, H, W]`` -> ``uint8 [3, T, h, w]`` (antialiased bilinear), the worker's
    fixed intermediate size (a square ``size`` if one number)."""
    shape = [size, size] if isinstance(size, int) else list(size)
    return TF.resize(frames, shape, antialias=True).permute(1, 0, 2, 3).contiguous()


# --- device side: every function takes frames [N, T, 3, H, W] float in [0, 1] --------------


def _per_clip(values: Tensor, like: Tensor) -> Tensor:
    """Broadcast a per-clip vector ``[N]`` against frames ``[N, T, 3, H, W]``."""
    return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def _box_axis_weights(start: Tensor, length: Tensor, size: int, extent: int,
                      sampling_ratio: int) -> Tensor:
    """``[N, size, extent]``: along one axis, the weight of each input pixel in each output
    pixel of torchvision's ``roi_align`` (``aligned=True``) for boxes starting at ``start``
    (pixels, half-pixel offset applied) and ``length`` pixels long: each output bin averages
    ``sampling_ratio`` bilinear samples (``ceil(length / size)`` when not positive), samples
    beyond the image's border by more than a pixel count as zero, nearer ones clamp."""
    samples = (torch.full_like(length, float(sampling_ratio)) if sampling_ratio > 0
               else torch.ceil(length / size))
    count = samples.clamp(min=1).view(-1, 1, 1)
    bin_size = (length / size).view(-1, 1, 1)
    out = torch.arange(size, dtype=start.dtype, device=start.device).view(1, -1, 1)
    sample = torch.arange(max(int(samples.max()), 1), dtype=start.dtype,
                          device=start.device).view(1, 1, -1)
    coord = start.view(-1, 1, 1) + out * bin_size + (sample + 0.5) * bin_size / count
    inside = (sample < samples.view(-1, 1, 1)) & (coord >= -1) & (coord <= extent)
    coord = coord.clamp(min=0)
    low = coord.floor().long().clamp(max=extent - 1)
    high = (low + 1).clamp(max=extent - 1)
    frac = torch.where(low == extent - 1, torch.zeros_like(coord), coord - low.to(coord.dtype))
    share = inside.to(coord.dtype) / count
    weights = torch.zeros(len(start), size, extent, dtype=start.dtype, device=start.device)
    weights.scatter_add_(2, low, (1 - frac) * share)
    return weights.scatter_add_(2, high, frac * share)


def resize_boxes(images: Tensor, boxes: Tensor, size: tuple[int, int],
                 sampling_ratio: int = -1) -> Tensor:
    """Each image's box resized to ``size`` (height, width): ``images [N, C, H, W]``, ``boxes
    [N, 4]`` as pixel corners ``(x1, y1, x2, y2)``, one box per image. The values of
    torchvision's ``roi_align(images, boxes, size, 1.0, sampling_ratio, aligned=True)``
    (bilinear samples averaged per output pixel: with ``sampling_ratio`` <= 0, as many as the
    box has input pixels per output pixel, so shrinking averages), computed as two batched
    matrix products, one per axis (bilinear sampling and its averaging are separable), which
    use every core where ``roi_align``'s CPU kernel uses one."""
    boxes = boxes.to(images.dtype) - 0.5
    rows = _box_axis_weights(boxes[:, 1], boxes[:, 3] - boxes[:, 1], size[0], images.shape[-2],
                             sampling_ratio)
    cols = _box_axis_weights(boxes[:, 0], boxes[:, 2] - boxes[:, 0], size[1], images.shape[-1],
                             sampling_ratio)
    return rows.unsqueeze(1) @ images @ cols.transpose(1, 2).unsqueeze(1)


def crop_resize(frames: Tensor, box: Tensor, size: int) -> Tensor:
    """Each clip's box (fractions: top, left, height, width) resized to ``size`` x ``size``,
    bilinear with adaptive sampling (averaging when shrinking), the same box for every frame
    (:func:`resize_boxes`). Whole boxes at the frames' own size are the identity, returned as
    they are (image views arrive cut and resized by the worker)."""
    n, t, c, h, w = frames.shape
    if (h, w) == (size, size) and bool((box == box.new_tensor(WHOLE_BOX)).all()):
        return frames
    top, left = box[:, 0] * h, box[:, 1] * w
    corners = torch.stack([left, top, left + box[:, 3] * w, top + box[:, 2] * h], dim=1)
    out = resize_boxes(frames.reshape(n, t * c, h, w), corners, (size, size))
    return out.view(n, t, c, size, size)


def flip(frames: Tensor, mask: Tensor) -> Tensor:
    return torch.where(_per_clip(mask, frames).bool(), frames.flip(-1), frames)


def grayscale(frames: Tensor) -> Tensor:
    """torchvision's luma (0.2989, 0.587, 0.114) repeated on three channels."""
    return TF.rgb_to_grayscale(frames, num_output_channels=3)


def _blend(frames: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    ratio = _per_clip(factor, frames)
    return (ratio * frames + (1 - ratio) * other).clamp_(0, 1)


def adjust_brightness(frames: Tensor, factor: Tensor) -> Tensor:
    return _blend(frames, torch.zeros_like(frames), factor)


def adjust_contrast(frames: Tensor, factor: Tensor) -> Tensor:
    """Blend with each frame's mean grey level (torchvision's per-image mean)."""
    mean = TF.rgb_to_grayscale(frames).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(frames, mean, factor)


def adjust_saturation(frames: Tensor, factor: Tensor) -> Tensor:
    return _blend(frames, TF.rgb_to_grayscale(frames), factor)


def rgb_to_hsv(frames: Tensor) -> Tensor:
    """RGB in [0, 1] -> HSV with hue in [0, 1) (channel dim -3)."""
    r, g, b = frames.unbind(-3)
    value, _ = frames.max(-3)
    low, _ = frames.min(-3)
    chroma = value - low
    flat = chroma == 0
    safe = torch.where(flat, torch.ones_like(chroma), chroma)
    saturation = chroma / torch.where(value == 0, torch.ones_like(value), value)
    hue = torch.where(value == r, (g - b) / safe,
                      torch.where(value == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    hue = torch.where(flat, torch.zeros_like(hue), hue)
    return torch.stack([torch.remainder(hue / 6, 1.0), saturation, value], dim=-3)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """HSV (hue in [0, 1)) -> RGB in [0, 1] (channel dim -3)."""
    hue, saturation, value = hsv.unbind(-3)
    sector = hue * 6
    index = torch.floor(sector)
    fraction = sector - index
    index = index.long() % 6
    p = (value * (1 - saturation)).clamp(0, 1)
    q = (value * (1 - saturation * fraction)).clamp(0, 1)
    t = (value * (1 - saturation * (1 - fraction))).clamp(0, 1)
    # per sector: (r, g, b) chosen among v, t, p, q
    table = torch.stack([torch.stack(c, dim=0) for c in (
        (value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value),
        (value, p, q))], dim=0)  # [6, 3, ...]
    return table.gather(0, index.unsqueeze(0).unsqueeze(0).expand(1, 3, *index.shape))[0] \
        .movedim(0, -3)


def adjust_hue(frames: Tensor, factor: Tensor) -> Tensor:
    """Rotate every pixel's hue by ``factor`` (a fraction of the colour circle, per clip)."""
    hsv = rgb_to_hsv(frames)
    shift = factor.to(frames.dtype).view(-1, *([1] * (frames.dim() - 2)))
    hue = torch.remainder(hsv[..., 0, :, :] + shift, 1.0)
    return hsv_to_rgb(torch.cat([hue.unsqueeze(-3), hsv[..., 1:, :, :]], dim=-3))


_JITTER = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def on_clips(frames: Tensor, mask: Tensor, transform, *per_clip: Tensor,
             in_place: bool = False) -> Tensor:
    """``transform(frames[mask], *(a[mask] for a in per_clip))`` written back into the clips
    ``mask`` selects; the others are left as they are (and cost nothing). ``in_place``: written
    into ``frames`` itself instead of a new batch."""
    index = mask.nonzero().squeeze(1)
    if index.numel() == 0:
        return frames
    if index.numel() == len(frames):  # every clip: no selecting and writing back
        out = transform(frames, *per_clip)
        return frames.copy_(out) if in_place else out
    out = transform(frames.index_select(0, index), *(a.index_select(0, index) for a in per_clip))
    return frames.index_copy_(0, index, out) if in_place else frames.index_copy(0, index, out)


def color_jitter(frames: Tensor, factors: Tensor, order: Tensor, applied: Tensor) -> Tensor:
    """Brightness, contrast, saturation and hue with per-clip ``factors [N, 4]``, in each clip's
    ``order [N, 4]``, on the clips ``applied`` selects. The 16 (position, operation) subsets
    are written back into one copy of ``frames`` (not a new batch each)."""
    if not bool(applied.any()):
        return frames
    frames = frames.clone()  # written in place below; the caller's tensor stays as it was
    for position in range(4):
        for op, adjust in enumerate(_JITTER):
            on_clips(frames, applied & (order[:, position] == op), adjust, factors[:, op],
                     in_place=True)
    return frames


def gaussian_blur(frames: Tensor, sigma: Tensor, kernel: int) -> Tensor:
    """Per-clip Gaussian blur (``sigma [N]``), reflect padding, as torchvision's
    ``gaussian_blur`` on one clip."""
    n, t, c, h, w = frames.shape
    x = torch.linspace(-(kernel // 2), kernel // 2, kernel, device=frames.device,
                       dtype=frames.dtype)
    weights = torch.exp(-0.5 * (x / sigma.to(frames.dtype)[:, None]) ** 2)
    weights = (weights / weights.sum(1, keepdim=True)).repeat_interleave(t * c, dim=0)
    pad = kernel // 2
    flat = F.pad(frames.reshape(1, n * t * c, h, w), (pad, pad, pad, pad), mode='reflect')
    flat = F.conv2d(flat, weights.view(-1, 1, kernel, 1), groups=n * t * c)
    flat = F.conv2d(flat, weights.view(-1, 1, 1, kernel), groups=n * t * c)
    return flat.view_as(frames)


def solarize(frames: Tensor) -> Tensor:
    """Invert every value at or above :data:`SOLARIZE_THRESHOLD` (torchvision's ``solarize``
    on values in [0, 1])."""
    return torch.where(frames >= SOLARIZE_THRESHOLD, 1 - frames, frames)


def normalize(frames: Tensor) -> Tensor:
    mean = frames.new_tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = frames.new_tensor(IMAGENET_STD).view(3, 1, 1)
    return (frames - mean) / std


def augment_clips(video: Tensor, params: Mapping[str, Any]) -> Tensor:
    """Apply drawn parameters to a batch: ``uint8 [..., 3, T, h, w]`` with parameters of the
    same leading shape -> ``float [..., 3, T, size, size]``, normalised. Every registered step
    whose parameters are all present runs, in device order; a parameter no registered step
    applies is refused (:class:`harness.data.augment_steps.AugmentOptionError`)."""
    check_params(params)
    lead = video.shape[:-4]
    c, t, h, w = video.shape[-4:]
    size = int(params['size'])
    flat: dict[str, Any] = {key: value.reshape(-1, *value.shape[len(lead):])
                            for key, value in params.items() if key != 'size'}
    flat['size'] = size
    frames = video.reshape(-1, c, t, h, w).transpose(1, 2).float().div_(255)
    for step in ordered_steps():
        if all(key in flat for key in step.params):
            frames = step.apply(frames, flat)
    return frames.transpose(1, 2).reshape(*lead, c, t, size, size).contiguous()


def _blur_clips(frames: Tensor, params: Mapping[str, Any]) -> Tensor:
    kernel = blur_kernel_size(params['size'])
    return on_clips(frames, params['blur_sigma'] > 0,
                    lambda x, sigma: gaussian_blur(x, sigma, kernel), params['blur_sigma'])


for _step in (
        AugmentStep('crop', 10, lambda x, p: crop_resize(x, p['box'], p['size']),
                    params=('box',), options=('scale', 'ratio'), sample=_sample_crop),
        AugmentStep('flip', 20, lambda x, p: flip(x, p['flip']), params=('flip',),
                    options=('flip',), sample=_sample_flip),
        AugmentStep('jitter', 30, lambda x, p: color_jitter(x, p['jitter'], p['order'],
                                                            p['color']),
                    params=('color', 'jitter', 'order'), options=('color', 'jitter'),
                    sample=_sample_jitter),
        AugmentStep('grayscale', 40, lambda x, p: on_clips(x, p['gray'], grayscale),
                    params=('gray',), options=('grayscale',), sample=_sample_gray),
        AugmentStep('blur', 50, _blur_clips, params=('blur_sigma',), options=('blur',),
                    sample=_sample_blur),
        AugmentStep('solarize', 60, lambda x, p: on_clips(x, p['solarize'], solarize),
                    params=('solarize',), options=('solarize',), sample=_sample_solarize),
        AugmentStep('normalise', NORMALISE_POSITION, lambda x, p: normalize(x))):
    register_augment_step(_step)


def is_clip(value: Any) -> bool:
    """A sampler's clip or image before augmentation: ``{'video' or 'image': uint8,
    'augment': parameters}``."""
    return isinstance(value, Mapping) and set(value) in ({'video', 'augment'},
                                                         {'image', 'augment'})


def augment_view(view: Mapping[str, Any]) -> Tensor:
    """A batched clip ``uint8 [..., 3, T, h, w]`` or image ``uint8 [..., 3, h, w]`` augmented
    (:func:`augment_clips`; an image is a clip of one frame)."""
    if 'image' in view:
        return augment_clips(view['image'].unsqueeze(-3), view['augment']).squeeze(-3)
    return augment_clips(view['video'], view['augment'])


def map_nested(value: Any, is_leaf, transform) -> Any:
    """``value`` with every leaf (``is_leaf``) inside its dicts, lists and tuples replaced by
    ``transform(leaf)``; anything else is kept."""
    if is_leaf(value):
        return transform(value)
    if isinstance(value, Mapping):
        return {key: map_nested(item, is_leaf, transform) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_nested(item, is_leaf, transform) for item in value)
    return value


def _size_as_int(clip: Mapping[str, Any]) -> dict[str, Any]:
    """The clip (or image) with its collated ``size`` tensor as an int (read on the host)."""
    size = clip['augment']['size']
    size = int(size.flatten()[0]) if isinstance(size, Tensor) else size
    return {**clip, 'augment': {**clip['augment'], 'size': size}}


def to_channels_last(value: Any) -> Any:
    """Every 5-D tensor in ``value`` in channels-last-3D memory format (N, T, H, W, C order in
    memory) and every 4-D one in channels-last (N, H, W, C), which lets cuDNN pick its NDHWC /
    NHWC convolutions."""
    formats = {5: torch.channels_last_3d, 4: torch.channels_last}
    return map_nested(value, lambda v: isinstance(v, Tensor) and v.dim() in formats,
                      lambda v: v.contiguous(memory_format=formats[v.dim()]))


@MODELS.register_module()
class AugmentViews(BaseDataPreprocessor):
    """Data preprocessor of the pretraining methods: moves the batch to the model's device and
    augments every clip or image the sampler left as ``{'video' or 'image', 'augment'}`` (see
    the module's doc);
    other inputs (labels, indices) are only moved. Copies are non-blocking by default, so
    pinned batches overlap with compute.

    channels_last: on a GPU, hand clips on in channels-last-3D and images in channels-last
    memory format (a fast path for convolutions with cuDNN; the CPU keeps the default format).
    """

    def __init__(self, non_blocking: bool = True, channels_last: bool = False):
        super().__init__(non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(map_nested(data, is_clip, _size_as_int))
        with torch.no_grad():
            data['inputs'] = map_nested(data['inputs'], is_clip, augment_view)
            if self.channels_last and self.device.type == 'cuda':
                data['inputs'] = to_channels_last(data['inputs'])
        data.setdefault('data_samples', None)
        return data
