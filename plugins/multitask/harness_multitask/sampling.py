"""The sampler of Multi-task SSL (docs/methods.md §6): one video frame per sample, and from it
the inputs and targets of every task the config names.

The paper took relative position, colorization and exemplar examples from ImageNet images and
only motion segmentation from (YouTube) videos. Here every task samples frames of the
pretraining videos, so that one data source (``MethodInfo.reads = 'video'``) serves all four:
a frame is picked at random (with a later frame for motion), decoded once, and its shorter
side resized to ``frame_size``. Per task, ``results['inputs'][task]`` is

- ``relative_position``: ``{'patches': uint8 [2, 3, P, P]`` (the centre patch, then its
  neighbour), ``'label': int64`` (0..7, :data:`~harness_multitask.losses.NEIGHBOURS`)}, cut
  from the frame with gaps and jitter (:mod:`harness_multitask.patches`); the model greys them;
- ``colorization``: ``{'lightness': uint8 [1, S, S]`` (the L channel of a random S x S crop,
  :func:`~harness_multitask.colour.lightness`), ``'bins': int64 [s, s]`` (each cell's ab bin
  on an s x s grid over the crop, :func:`~harness_multitask.colour.bin_targets`; every cell
  :data:`~harness_multitask.losses.IGNORE_INDEX` when the whole frame has no colour, as in a
  black-and-white video)};
- ``exemplar``: two views ``[{'image': uint8 [3, D, D], 'augment': parameters}] * 2`` of one
  random crop, each with its own heavy augmentation drawn here and applied batched on the
  device by the model's ``harness.AugmentViews`` preprocessor;
- ``motion``: ``{'frame': uint8 [3, S, S]`` (a random crop), ``'mask': float32 [s, s]`` (1 on
  the cells of moving pixels, :mod:`harness_multitask.motion`), ``'valid': bool [s, s]``
  (False everywhere for a one-frame video, which has no motion)}.

The tasks' specs are dataclasses (:class:`RelativePositionSpec` ...), given as dicts in the
config; a task without a spec is not sampled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from harness.api import prepare_image, open_video, read_frames, ViewSpec, TRANSFORMS
from harness_multitask.colour import ab_bins, bin_targets, chroma, lightness
from harness_multitask.losses import IGNORE_INDEX
from harness_multitask.motion import moving_pixels, shrink_mask
from harness_multitask.patches import cut, grid_extent, sample_pair

#: the tasks, in the order the sampler and the model handle them
TASKS = ('relative_position', 'colorization', 'exemplar', 'motion')


@dataclass(frozen=True)
class RelativePositionSpec:
    """patch: side of each patch; gap: pixels between neighbouring grid cells; jitter: each
    patch's random shift, up to this many pixels per direction."""

    patch: int = 20
    gap: int = 8
    jitter: int = 2

    @property
    def extent(self) -> int:
        return grid_extent(self.patch, self.gap, self.jitter)


@dataclass(frozen=True)
class ColorizationSpec:
    """size: side of the crop whose L channel is the input; target: side of the grid of ab-bin
    targets (the head's output is resized to it); grid: the ab quantisation step
    (:mod:`harness_multitask.colour`); min_chroma: a frame whose largest chroma is below this
    counts as black and white (every target ignored)."""

    size: int = 64
    target: int = 16
    grid: float = 10.0
    min_chroma: float = 3.0


@dataclass(frozen=True)
class ExemplarSpec:
    """crop: side of the random square crop both views are taken from; view: the views'
    :class:`~harness.data.views.ViewSpec` fields (``size``, ``decode_size``, ``augment``:
    options of :func:`harness.data.augment.sample_augment`)."""

    crop: int = 64
    view: Mapping[str, Any] = field(default_factory=lambda: dict(size=56))

    @property
    def view_spec(self) -> ViewSpec:
        return ViewSpec(frames=1, **dict(self.view))


@dataclass(frozen=True)
class MotionSpec:
    """size: side of the crop the network sees; target: side of the mask grid; gap: frames
    from the frame to the later frame the flow goes to; threshold: pixels of motion against
    the frame's median motion that make a pixel moving (:mod:`harness_multitask.motion`)."""

    size: int = 64
    target: int = 16
    gap: int = 1
    threshold: float = 1.0


SPECS = {'relative_position': RelativePositionSpec, 'colorization': ColorizationSpec,
         'exemplar': ExemplarSpec, 'motion': MotionSpec}


def fit_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    """``frame [H, W, 3]`` resized (aspect kept) so that its shorter side is ``size`` (area
    averaging when shrinking, bilinear when enlarging); as it is for ``size`` None or equal."""
    import cv2

    height, width = frame.shape[:2]
    if not size or min(height, width) == size:
        return frame
    scale = size / min(height, width)
    shape = (max(size, round(width * scale)), max(size, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(frame), shape, interpolation=interpolation)


def random_square(frame: np.ndarray, side: int, rng: np.random.Generator
                  ) -> tuple[int, int]:
    """(top, left) of a random ``side`` x ``side`` square inside ``frame [H, W, ...]``."""
    height, width = frame.shape[:2]
    if side > min(height, width):
        raise ValueError(f'a {side}-pixel crop does not fit the {height} x {width} frame')
    return int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))


def chw(image: np.ndarray) -> torch.Tensor:
    """uint8 ``[H, W, C]`` (or ``[H, W]``) -> a contiguous uint8 tensor ``[C, H, W]``."""
    image = image[..., None] if image.ndim == 2 else image
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()


def relative_position_example(frame: np.ndarray, spec: RelativePositionSpec,
                              rng: np.random.Generator) -> dict[str, torch.Tensor]:
    centre, neighbour, label = sample_pair(frame.shape[0], frame.shape[1], spec.patch,
                                           spec.gap, spec.jitter, rng)
    patches = [chw(cut(frame, corner, spec.patch)) for corner in (centre, neighbour)]
    return {'patches': torch.stack(patches), 'label': torch.tensor(label, dtype=torch.int64)}


def colorization_example(frame: np.ndarray, spec: ColorizationSpec,
                         rng: np.random.Generator) -> dict[str, torch.Tensor]:
    top, left = random_square(frame, spec.size, rng)
    crop = frame[top:top + spec.size, left:left + spec.size]
    bins = bin_targets(crop, spec.target, spec.grid)
    if chroma(frame).max() < spec.min_chroma:
        bins = np.full_like(bins, IGNORE_INDEX)
    return {'lightness': chw(lightness(crop)), 'bins': torch.from_numpy(bins)}


def exemplar_example(frame: np.ndarray, spec: ExemplarSpec, rng: np.random.Generator
                     ) -> list[dict[str, Any]]:
    top, left = random_square(frame, spec.crop, rng)
    crop = np.ascontiguousarray(frame[top:top + spec.crop, left:left + spec.crop])
    view = spec.view_spec
    return [prepare_image(crop, view) for _ in range(2)]


def motion_example(frame: np.ndarray, later: np.ndarray | None, spec: MotionSpec,
                   rng: np.random.Generator) -> dict[str, torch.Tensor]:
    top, left = random_square(frame, spec.size, rng)
    if later is None:
        mask = np.zeros((spec.target, spec.target), np.float32)
        valid = np.zeros((spec.target, spec.target), bool)
    else:
        moving = moving_pixels(frame, later, spec.threshold)
        mask = shrink_mask(moving[top:top + spec.size, left:left + spec.size], spec.target)
        valid = np.ones_like(mask, dtype=bool)
    return {'frame': chw(frame[top:top + spec.size, left:left + spec.size]),
            'mask': torch.from_numpy(mask), 'valid': torch.from_numpy(valid)}


def frame_indices(num_frames: int, gap: int, rng: np.random.Generator) -> list[int]:
    """A random frame and, for ``gap > 0``, the frame ``gap`` later (the last frame when the
    video is shorter; only the one frame for a one-frame video)."""
    if num_frames <= 0:
        raise ValueError('a video with no frames has no frame to sample')
    gap = min(gap, num_frames - 1)
    first = int(rng.integers(0, num_frames - gap))
    return [first, first + gap] if gap > 0 else [first]


@TRANSFORMS.register_module()
class SampleMultitask:
    """mmengine transform: ``results['filename']`` (a video) -> ``results['inputs'] = {task:
    example}`` for each task given a spec (see the module's doc). frame_size: the shorter side
    decoded frames are resized to before any task cuts them (None: as decoded). The video is
    opened once and one or two frames decoded."""

    def __init__(self, frame_size: int | None = None, **specs: Mapping[str, Any] | None):
        unknown = sorted(set(specs) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}")
        self.specs = {task: SPECS[task](**dict(specs[task])) for task in TASKS
                      if specs.get(task) is not None}
        if not self.specs:
            raise ValueError(f"SampleMultitask needs a spec for at least one of {TASKS}")
        self.frame_size = frame_size
        if frame_size:
            for task, side in self.sides().items():
                if side > frame_size:
                    raise ValueError(f'{task} needs {side} x {side} pixels of a frame whose '
                                     f'shorter side is {frame_size}')

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def sides(self) -> dict[str, int]:
        """The square each task cuts from the frame."""
        sides = {'relative_position': lambda s: s.extent, 'colorization': lambda s: s.size,
                 'exemplar': lambda s: s.crop, 'motion': lambda s: s.size}
        return {task: sides[task](spec) for task, spec in self.specs.items()}

    def __call__(self, results: dict) -> dict:
        reader = open_video(results['filename'])
        # seeded from torch's RNG, which mmengine seeds per worker
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,))))
        gap = self.specs['motion'].gap if 'motion' in self.specs else 0
        indices = frame_indices(len(reader), gap, rng)
        frames = [fit_short_side(frame, self.frame_size)
                  for frame in read_frames(reader, indices)]
        frame, later = frames[0], (frames[1] if len(frames) > 1 else None)
        inputs: dict[str, Any] = {}
        for task, spec in self.specs.items():
            if task == 'relative_position':
                inputs[task] = relative_position_example(frame, spec, rng)
            elif task == 'colorization':
                inputs[task] = colorization_example(frame, spec, rng)
            elif task == 'exemplar':
                inputs[task] = exemplar_example(frame, spec, rng)
            else:
                inputs[task] = motion_example(frame, later, spec, rng)
        results['inputs'] = inputs
        return results

    def random_inputs(self, batch_size: int) -> dict[str, Any]:
        """Random batched inputs shaped like the model receives them after the data
        preprocessor (exemplar views augmented to float, everything else as sampled)."""
        n = batch_size
        inputs: dict[str, Any] = {}
        for task, spec in self.specs.items():
            if task == 'relative_position':
                inputs[task] = {
                    'patches': torch.randint(0, 256, (n, 2, 3, spec.patch, spec.patch),
                                             dtype=torch.uint8),
                    'label': torch.randint(0, 8, (n,))}
            elif task == 'colorization':
                inputs[task] = {
                    'lightness': torch.randint(0, 256, (n, 1, spec.size, spec.size),
                                               dtype=torch.uint8),
                    'bins': torch.randint(0, len(ab_bins(spec.grid)),
                                          (n, spec.target, spec.target))}
            elif task == 'exemplar':
                size = spec.view_spec.size
                inputs[task] = [torch.randn(n, 3, size, size) for _ in range(2)]
            else:
                inputs[task] = {
                    'frame': torch.randint(0, 256, (n, 3, spec.size, spec.size),
                                           dtype=torch.uint8),
                    'mask': (torch.rand(n, spec.target, spec.target) < 0.3).float(),
                    'valid': torch.ones(n, spec.target, spec.target, dtype=torch.bool)}
        return inputs

    def __repr__(self) -> str:
        return f'{type(self).__name__}(frame_size={self.frame_size}, specs={self.specs})'
