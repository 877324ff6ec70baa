"""Multi-view clip sampling: several views (clips) from one video, decoded once.

A view is ``frames`` frames taken every ``stride`` frames, cropped and resized to ``size``.
Views of one sample share a start frame by default (BraVe's code places the narrow window at the
start of the broad window); a video shorter than a view's span is looped (looping padding:
the sequence repeated as often as needed, docs/methods.md §2).

The indices are pure functions (tested on their own); :class:`SampleViews` is the mmengine
transform that opens the video once, decodes the union of all views' frames once, and
augments each view independently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F
from torchvision.transforms import v2

from harness.data.video import open_video, read_frames
from harness.registry import TRANSFORMS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ViewSpec:
    """One view: ``frames`` frames every ``stride`` frames, ``size`` x ``size`` pixels.

    augment: options of :func:`augment_view` (crop scale/ratio, flip, color, blur, random conv).
    """

    frames: int
    stride: int = 1
    size: int = 112
    augment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def span(self) -> int:
        """Frames of the video the view covers, from its first frame to after its last."""
        return (self.frames - 1) * self.stride + 1


def view_indices(num_frames: int, spec: ViewSpec, start: int) -> np.ndarray:
    """Frame indices of a view starting at ``start``; looping padding past the end."""
    if num_frames <= 0:
        raise ValueError('a video with no frames has no views')
    return (start + np.arange(spec.frames) * spec.stride) % num_frames


def sample_start(num_frames: int, span: int, rng: np.random.Generator) -> int:
    """A random start such that a window of ``span`` frames fits, or 0 if the video is
    shorter than ``span`` (the window then loops)."""
    return int(rng.integers(0, num_frames - span + 1)) if num_frames >= span else 0


def sample_view_indices(num_frames: int, views: Mapping[str, Sequence[ViewSpec]],
                        rng: np.random.Generator, placement: str = 'shared_start'
                        ) -> dict[str, list[np.ndarray]]:
    """Indices for every view. ``placement``: 'shared_start' (all views start where the
    longest starts) or 'independent' (each view gets its own random start)."""
    longest = max(spec.span for specs in views.values() for spec in specs)
    shared = sample_start(num_frames, longest, rng)
    out: dict[str, list[np.ndarray]] = {}
    for name, specs in views.items():
        out[name] = []
        for spec in specs:
            if placement == 'shared_start':
                start = shared
            elif placement == 'independent':
                start = sample_start(num_frames, spec.span, rng)
            else:
                raise ValueError(f"placement must be 'shared_start' or 'independent', "
                                 f'got {placement!r}')
            out[name].append(view_indices(num_frames, spec, start))
    return out


def random_conv(video: torch.Tensor, max_kernel: int = 11) -> torch.Tensor:
    """Convolve every frame with one random He-initialised 3x3xkxk kernel (odd k <= max),
    then restore the clip's mean and std (BraVe's broad-view augmentation)."""
    k = 2 * int(torch.randint(0, max_kernel // 2 + 1, (1,))) + 1
    weight = torch.randn(3, 3, k, k) * math.sqrt(2.0 / (3 * k * k))
    out = F.conv2d(video, weight, padding=k // 2)
    out = (out - out.mean()) / (out.std() + 1e-6)
    return out * video.std() + video.mean()


def augment_view(frames: torch.Tensor, size: int, options: Mapping[str, Any]) -> torch.Tensor:
    """Augment a view ``float [T, 3, H, W]`` in [0, 1] with the same parameters for every
    frame, normalise, and return ``[3, T, size, size]``.

    options: scale (0.3, 1.0), ratio (0.5, 2.0), flip (0.5), color (0.8: probability of
    brightness 32/255, contrast and saturation 0.6-1.4, hue 0.2), grayscale (0.2),
    blur (0.0: probability of a Gaussian blur, kernel ~ size/10, sigma 0.1-2),
    random_conv (0.0: probability). Probabilities of 0 switch a step off. Randomness comes
    from torch's global RNG, which mmengine seeds per dataloader worker.
    """
    def chance(p: float) -> bool:
        return p > 0 and float(torch.rand(())) < p

    crop = v2.RandomResizedCrop(size, scale=tuple(options.get('scale', (0.3, 1.0))),
                                ratio=tuple(options.get('ratio', (0.5, 2.0))), antialias=True)
    frames = crop(frames)
    if chance(options.get('flip', 0.5)):
        frames = frames.flip(-1)
    if chance(options.get('color', 0.8)):
        frames = v2.ColorJitter(brightness=32 / 255, contrast=(0.6, 1.4),
                                saturation=(0.6, 1.4), hue=0.2)(frames)
    if chance(options.get('grayscale', 0.2)):
        frames = v2.functional.rgb_to_grayscale(frames, num_output_channels=3)
    if chance(options.get('blur', 0.0)):
        kernel = max(3, (size // 10) | 1)
        frames = v2.GaussianBlur(kernel, sigma=(0.1, 2.0))(frames)
    if chance(options.get('random_conv', 0.0)):
        frames = random_conv(frames)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((frames - mean) / std).permute(1, 0, 2, 3).contiguous()


def decode_clips(reader, index_lists: Sequence[np.ndarray]) -> list[torch.Tensor]:
    """Decode the union of all clips' frames once and return each clip as
    ``float [T, 3, H, W]`` in [0, 1], in the order of ``index_lists``."""
    wanted = np.unique(np.concatenate([np.asarray(i) for i in index_lists]))
    position = {int(frame): row for row, frame in enumerate(wanted)}
    video = torch.from_numpy(read_frames(reader, wanted)).permute(0, 3, 1, 2).float().div_(255)
    return [video[[position[int(i)] for i in indices]] for indices in index_lists]


def _as_specs(value: Any) -> list[ViewSpec]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item if isinstance(item, ViewSpec) else ViewSpec(**item) for item in items]


@TRANSFORMS.register_module()
class SampleViews:
    """mmengine transform: ``results['filename']`` -> ``results['inputs'] = {name: views}``.

    views: ``{name: spec or [spec, ...]}`` with spec a dict of :class:`ViewSpec` fields. A name
    given one spec gets a tensor ``[3, T, S, S]``; a name given a list gets a list of tensors.
    The video is opened once and the union of all views' frames decoded once.
    """

    def __init__(self, views: Mapping[str, Any], placement: str = 'shared_start'):
        self.views = {name: _as_specs(value) for name, value in views.items()}
        self.single = {name: not isinstance(value, (list, tuple)) for name, value in views.items()}
        self.placement = placement

    def __call__(self, results: dict) -> dict:
        reader = open_video(results['filename'])
        # seeded from torch's RNG, which mmengine seeds per worker
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,))))
        indices = sample_view_indices(len(reader), self.views, rng, self.placement)
        names = list(self.views)
        clips = iter(decode_clips(reader, [i for name in names for i in indices[name]]))
        inputs: dict[str, Any] = {}
        for name in names:
            views = [augment_view(next(clips), spec.size, spec.augment)
                     for spec in self.views[name]]
            inputs[name] = views[0] if self.single[name] else views
        results['inputs'] = inputs
        return results

    def random_inputs(self, batch_size: int) -> dict[str, Any]:
        """Random batched inputs shaped like this transform's output (for model tests)."""
        inputs: dict[str, Any] = {}
        for name, specs in self.views.items():
            views = [torch.randn(batch_size, 3, s.frames, s.size, s.size) for s in specs]
            inputs[name] = views[0] if self.single[name] else views
        return inputs

    def __repr__(self) -> str:
        return f'{type(self).__name__}(views={self.views}, placement={self.placement!r})'


@TRANSFORMS.register_module()
class PackInputs:
    """mmengine transform: keep only ``keys`` (default: the model inputs) of the results."""

    def __init__(self, keys: Sequence[str] = ('inputs',)):
        self.keys = tuple(keys)

    def __call__(self, results: dict) -> dict:
        return {key: results[key] for key in self.keys}
