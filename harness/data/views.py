"""Multi-view clip sampling: several views (clips) from one video, decoded once.

A view is ``frames`` frames taken every ``stride`` frames, cropped and resized to ``size``.
Views of one sample share a start frame by default, drawn so that the *shortest* view fits in
the video; longer views run on from the same frame and, past the video's end, loop (looping
padding: the sequence repeated as often as needed). This is how BraVe's official sampler places
its narrow and broad views (google-deepmind/brave: brave/models/brave/brave.py
``_brave_random_view_sampler``, brave/datasets/sampling.py ``random_sample``,
brave/datasets/media_sequences.py ``extend_sequence``; docs/methods.md §2).

The indices are pure functions (tested on their own); :class:`SampleViews` is the mmengine
transform that opens the video once, decodes the union of all views' frames once, resizes each
view to its intermediate size (uint8) and draws each view's augmentation independently; the
pixels are augmented batched on the model's device (:mod:`harness.data.augment`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from harness.data.augment import resize_clip, sample_augment
from harness.data.augment_steps import check_options
from harness.data.video import open_video, read_frames
from harness.registry import TRANSFORMS


@dataclass(frozen=True)
class ViewSpec:
    """One view: ``frames`` frames every ``stride`` frames, ``size`` x ``size`` pixels.

    augment: options of :func:`harness.data.augment.sample_augment` (crop scale/ratio, flip,
    color, grayscale, blur, solarize, and those of the steps plugins register). decode_size:
    the intermediate square the worker resizes decoded frames to before the device crops them
    (default: 8/7 of ``size``, as 112-pixel crops are taken from 128-pixel videos).
    """

    frames: int
    stride: int = 1
    size: int = 112
    augment: Mapping[str, Any] = field(default_factory=dict)
    decode_size: int | None = None

    def __post_init__(self):
        check_options(self.augment)

    @property
    def intermediate(self) -> int:
        return self.decode_size or round(self.size * 8 / 7)

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
    """Indices for every view. ``placement``:

    'shared_start': every view starts at one frame, uniform over the starts where the
    *shortest* view fits (``[0, max(num_frames, span) - span]``, ``span`` the shortest view's);
    the longer views start at the same frame and loop past the end of the video. A narrow view
    thus covers the whole video even when the video is shorter than the broad view, as in
    BraVe's official sampler (the module's doc).
    'independent': each view gets its own random start, such that it fits (0, and looping,
    when the video is shorter than it)."""
    shortest = min(spec.span for specs in views.values() for spec in specs)
    shared = sample_start(num_frames, shortest, rng)
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


def decode_frames(reader, index_lists: Sequence[np.ndarray]) -> list[torch.Tensor]:
    """Decode the union of all clips' frames once and return each clip as
    ``uint8 [T, 3, H, W]``, in the order of ``index_lists``."""
    wanted = np.unique(np.concatenate([np.asarray(i) for i in index_lists]))
    position = {int(frame): row for row, frame in enumerate(wanted)}
    video = torch.from_numpy(read_frames(reader, wanted)).permute(0, 3, 1, 2)
    return [video[[position[int(i)] for i in indices]] for indices in index_lists]


def decode_clips(reader, index_lists: Sequence[np.ndarray]) -> list[torch.Tensor]:
    """:func:`decode_frames` as ``float [T, 3, H, W]`` in [0, 1] (for evaluation probes)."""
    return [clip.float().div_(255) for clip in decode_frames(reader, index_lists)]


def prepare_clip(frames: torch.Tensor, spec: ViewSpec) -> dict[str, Any]:
    """A decoded view ``uint8 [T, 3, H, W]`` as the worker hands it on: resized to the view's
    intermediate size, with its augmentation parameters drawn (augmented on the device by
    :class:`harness.data.augment.AugmentViews`)."""
    height, width = frames.shape[-2:]
    return {'video': resize_clip(frames, spec.intermediate),
            'augment': sample_augment(height, width, spec.size, spec.augment)}


def stack_clips(clips: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Prepared clips of one view spec as one clip with a leading clip dimension: video
    ``[K, 3, T, D, D]`` and every parameter stacked (the output ``size`` is shared)."""
    augment = {key: torch.stack([clip['augment'][key] for clip in clips])
               for key in clips[0]['augment'] if key != 'size'}
    augment['size'] = clips[0]['augment']['size']
    return {'video': torch.stack([clip['video'] for clip in clips]), 'augment': augment}


def _as_specs(value: Any) -> list[ViewSpec]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item if isinstance(item, ViewSpec) else ViewSpec(**item) for item in items]


@TRANSFORMS.register_module()
class SampleViews:
    """mmengine transform: ``results['filename']`` -> ``results['inputs'] = {name: views}``.

    views: ``{name: spec or [spec, ...]}`` with spec a dict of :class:`ViewSpec` fields. A name
    given one spec gets one clip, a name given a list a list of clips; a clip is
    ``{'video': uint8 [3, T, D, D], 'augment': parameters}`` (D the view's intermediate size),
    which the model's :class:`harness.data.augment.AugmentViews` preprocessor turns into
    ``float [3, T, S, S]``. The video is opened once and the union of all views' frames decoded
    once. placement: where the views start (:func:`sample_view_indices`): 'shared_start'
    (default; one start where the shortest view fits, longer views looped) or 'independent'.
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
        clips = iter(decode_frames(reader, [i for name in names for i in indices[name]]))
        inputs: dict[str, Any] = {}
        for name in names:
            views = [prepare_clip(next(clips), spec) for spec in self.views[name]]
            inputs[name] = views[0] if self.single[name] else views
        results['inputs'] = inputs
        return results

    def random_inputs(self, batch_size: int) -> dict[str, Any]:
        """Random batched inputs shaped like the model receives them after augmentation (for
        model tests)."""
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
