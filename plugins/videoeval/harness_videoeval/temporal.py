"""The ``temporal`` evaluator: linear probes on frozen backbone features that need temporal
understanding (the temporal-related tasks TransRank evaluates, docs/methods.md §1: order,
sync, motion). Their exact definitions in the paper could not be read here; these are ours.

A *clip* is ``clip_len`` frames every ``frame_interval`` frames (config); its *span* is
``T = (clip_len - 1) * frame_interval + 1`` video frames. Frame indices past a video's end loop
(looping padding, :func:`harness.data.views.view_indices`) where a protocol says so.

- ``order`` (2 classes): two non-overlapping clips of a video, the later one starting
  ``T + gap`` frames after the earlier one (``gap >= min_gap >= 0`` frames lie between the
  earlier clip's span and the later clip's first frame); label 1 when the clip presented first
  is the earlier one in the video, 0 when it is the later one. Videos shorter than
  ``2T + min_gap`` frames have no such pair and are left out (counted in the log).
- ``sync`` (3 classes): two overlapping clips A and B of a video; B starts ``h`` frames before
  A (label 0), at A's start (label 1) or ``h`` frames after A (label 2), with
  ``h = (clip_len // 2) * frame_interval``: half the clip, so B's frames are A's frames shifted
  by ``clip_len // 2`` positions and the clips share ``clip_len - clip_len // 2`` frames
  (label 1: B is A). A's start is drawn from the same range for every label, so where the
  pair lies in the video says nothing about its label.
- ``motion`` (one class per labelled motion type): the video's motion label
  (:func:`harness_videodata.motion.read_motion_labels`); the feature is the mean feature of
  ``motion_clips`` uniformly spaced clips. Videos without a motion label are left out.

Train samples come from the split's train videos, test samples from its test videos. The
sampling is pure and reproducible: train and test each draw from their own
``numpy.random.Generator`` seeded with ``(seed, part)``, and the labels of each part are
balanced (:func:`balanced_labels`). A pair's feature is ``concat(f_a, f_b, f_a - f_b)`` of the
globally pooled features of the clip presented first (a) and second (b). Clips are resized
(shorter side to ``size``), centre-cropped to ``size`` x ``size`` and ImageNet-normalised; no
random augmentation. The probe: StandardScaler + LogisticRegression(C, max_iter), fit on the
train samples; the metric is its accuracy on the test samples, in percent.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from harness.api import (EvalRequest, open_video, IMAGENET_MEAN, IMAGENET_STD, ViewSpec,
                         decode_clips, view_indices, DataError, FeatureProtocol, Features,
                         integer)

#: Seeds of the train and test sample streams: ``default_rng((seed, PARTS[part]))``.
PARTS = {'train': 0, 'test': 1}
#: The labels of the pair protocols, by index.
ORDER_CLASSES = ('later clip first', 'earlier clip first')
SYNC_CLASSES = ('B starts h before A', 'B starts with A', 'B starts h after A')


# ---------------------------------------------------------------------------------- sampling


def clip_spec(clip_len: int, frame_interval: int) -> ViewSpec:
    """The clip of the probes: ``clip_len`` frames every ``frame_interval`` frames."""
    if clip_len < 1 or frame_interval < 1:
        raise ValueError(f'a clip needs clip_len >= 1 and frame_interval >= 1, got '
                         f'{clip_len} and {frame_interval}')
    return ViewSpec(frames=clip_len, stride=frame_interval)


def balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in ``[0, classes)``: consecutive blocks of ``classes`` labels, each block a
    random permutation of all classes, truncated to ``n``. Every prefix of length ``m`` holds
    each class ``floor(m / classes)`` or ``ceil(m / classes)`` times, so the labels stay
    balanced however many samples are actually used."""
    blocks = -(-n // classes)
    return np.concatenate([rng.permutation(classes) for _ in range(blocks)] or
                          [np.zeros(0, np.int64)])[:n].astype(np.int64)


def order_min_frames(spec: ViewSpec, min_gap: int) -> int:
    """Frames a video needs for an order pair: two spans and the minimal gap."""
    return 2 * spec.span + min_gap


def order_pair(num_frames: int, spec: ViewSpec, min_gap: int, label: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices of an order pair (clip presented first, clip presented second).

    The gap ``g`` is uniform in ``[min_gap, num_frames - 2T]``, the earlier clip's start ``s``
    uniform in ``[0, num_frames - 2T - g]`` and the later clip starts at ``s + T + g``: both
    clips lie inside the video and do not overlap. ``label`` 1 presents the earlier clip
    first, 0 the later one. Raises ValueError for a video shorter than
    :func:`order_min_frames`.
    """
    if label not in (0, 1):
        raise ValueError(f'an order label is 0 or 1, got {label}')
    if min_gap < 0:
        raise ValueError(f'min_gap must be >= 0, got {min_gap}')
    room = num_frames - order_min_frames(spec, min_gap)
    if room < 0:
        raise ValueError(f'a video of {num_frames} frames has no two clips of span {spec.span} '
                         f'with a gap of {min_gap} frames')
    gap = min_gap + int(rng.integers(0, room + 1))
    start = int(rng.integers(0, num_frames - 2 * spec.span - gap + 1))
    early = view_indices(num_frames, spec, start)
    late = view_indices(num_frames, spec, start + spec.span + gap)
    return (early, late) if label == 1 else (late, early)


def sync_shift(spec: ViewSpec) -> int:
    """``h``: half the clip, ``(clip_len // 2) * frame_interval`` video frames."""
    return (spec.frames // 2) * spec.stride


def sync_pair(num_frames: int, spec: ViewSpec, label: int, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices of a sync pair (A, B): B starts at A's start ``+ (label - 1) * h``.

    A's start is uniform in ``[h, max(h, num_frames - T - h)]``, for every label: when the
    video has ``T + 2h`` frames or more, all three placements of B lie inside it; in a shorter
    video A starts at ``h`` (B at 0, h or 2h) and indices past the end loop.
    """
    if label not in (0, 1, 2):
        raise ValueError(f'a sync label is 0, 1 or 2, got {label}')
    if num_frames <= 0:
        raise ValueError('a video with no frames has no clips')
    h = sync_shift(spec)
    start = int(rng.integers(h, max(h, num_frames - spec.span - h) + 1))
    return (view_indices(num_frames, spec, start),
            view_indices(num_frames, spec, start + (label - 1) * h))


def uniform_clips(num_frames: int, spec: ViewSpec, clips: int) -> list[np.ndarray]:
    """Frame indices of ``clips`` clips with uniformly spaced starts
    ``round(linspace(0, max(num_frames - T, 0), clips))``: the first starts at the video's
    first frame, the last ends at its last frame (a shorter video loops)."""
    if clips < 1:
        raise ValueError(f'clips must be >= 1, got {clips}')
    if num_frames <= 0:
        raise ValueError('a video with no frames has no clips')
    starts = np.round(np.linspace(0, max(num_frames - spec.span, 0), clips)).astype(np.int64)
    return [view_indices(num_frames, spec, int(start)) for start in starts]


# ------------------------------------------------------------------------------- features


def preprocess(clip: torch.Tensor, size: int) -> torch.Tensor:
    """A decoded clip ``float [T, 3, H, W]`` in [0, 1] -> ``[3, T, size, size]``: shorter side
    resized to ``size``, centre crop, ImageNet normalisation."""
    from torchvision.transforms.v2 import functional as TF

    clip = TF.center_crop(TF.resize(clip, size, antialias=True), [size, size])
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((clip - mean) / std).permute(1, 0, 2, 3).contiguous()


class ClipEmbedder:
    """Pools the backbone's features of clips in batches of ``batch_size`` clips."""

    def __init__(self, model: torch.nn.Module, batch_size: int):
        self.model = model
        self.batch_size = batch_size
        self.device = next(model.parameters(), torch.empty(0)).device
        self.pending: list[torch.Tensor] = []
        self.rows: list[torch.Tensor] = []

    def add(self, clips: Sequence[torch.Tensor]) -> None:
        self.pending.extend(clips)
        if len(self.pending) >= self.batch_size:
            self.flush()

    @torch.no_grad()
    def flush(self) -> None:
        from harness.api import global_pool

        while self.pending:
            batch, self.pending = self.pending[:self.batch_size], self.pending[self.batch_size:]
            out = self.model(torch.stack(batch).to(self.device))
            if isinstance(out, (tuple, list)):  # backbones returning several stages
                out = out[-1]
            self.rows.append(global_pool(out).float().cpu())

    def features(self, clips_per_sample: int) -> torch.Tensor:
        """All clips' features so far, ``[samples, clips_per_sample, D]``."""
        self.flush()
        if not self.rows:
            return torch.zeros(0, clips_per_sample, 0)
        rows = torch.cat(self.rows)
        return rows.view(-1, clips_per_sample, rows.shape[-1])


@dataclass(frozen=True)
class Probe:
    """How one protocol turns a video into samples.

    samples_per_video: samples drawn from each video. classes: the number of labels drawn
    (balanced, :func:`balanced_labels`), or 0 when a sample's label is the video's own
    (``label_of``). min_frames: shorter videos give no sample and are left out.
    sample: (frames of the video, label, rng) -> the clip indices of one sample.
    combine: features ``[samples, clips, D]`` -> the classifier's input ``[samples, F]``.
    """

    samples_per_video: int
    classes: int
    clips: int
    sample: Callable[[int, int, np.random.Generator], Sequence[np.ndarray]]
    combine: Callable[[torch.Tensor], np.ndarray]
    min_frames: int = 1
    label_of: Callable[[Any], int] | None = None


def extract(request: EvalRequest, model: torch.nn.Module, cfg: Any, items: Sequence[Any],
            part: str, probe: Probe) -> tuple[np.ndarray, np.ndarray, int]:
    """The classifier's inputs and labels of one part (``'train'`` or ``'test'``) and the number
    of videos left out (too short). Each video is opened once, and the clips of each of its
    samples decoded at once; the rng of the part draws the labels first, then the samples in
    the order of ``items``."""
    from tqdm import tqdm

    rng = np.random.default_rng((request.seed, PARTS[part]))
    drawn = (balanced_labels(len(items) * probe.samples_per_video, probe.classes, rng)
             if probe.classes else None)
    embedder = ClipEmbedder(model, cfg.batch_size)
    labels: list[int] = []
    skipped = 0
    for item in tqdm(items, desc=f'{request.protocol.name} features ({part})', file=sys.stderr,
                     leave=False):
        reader = open_video(str(request.data_root / item.path))
        num_frames = len(reader)
        if num_frames < probe.min_frames:
            skipped += 1
            continue
        for _ in range(probe.samples_per_video):
            label = int(drawn[len(labels)]) if drawn is not None else probe.label_of(item)
            indices = probe.sample(num_frames, label, rng)
            embedder.add([preprocess(clip, cfg.size) for clip in decode_clips(reader, indices)])
            labels.append(label)
    features = embedder.features(probe.clips)
    return probe.combine(features), np.asarray(labels, np.int64), skipped


# ----------------------------------------------------------------------------------- probes


def pair_features(features: torch.Tensor) -> np.ndarray:
    """``[samples, 2, D]`` -> ``concat(f_a, f_b, f_a - f_b)``: ``[samples, 3D]``."""
    a, b = features[:, 0], features[:, 1]
    return torch.cat([a, b, a - b], dim=1).numpy()


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                   test_y: np.ndarray, spec: dict) -> float:
    """Accuracy (percent, 2 decimals) on the test samples of StandardScaler +
    LogisticRegression(``spec['C']``, ``spec['max_iter']``) fit on the train samples."""
    from harness_videoeval.linear import build_classifier

    if len(np.unique(train_y)) < 2:
        raise DataError(f'the temporal probe needs train samples of at least two classes, got '
                        f'{len(train_y)} samples of {len(np.unique(train_y))}')
    classifier = build_classifier({**spec, 'type': 'logistic'})
    classifier.fit(train_x, train_y)
    return round(100 * float(np.mean(classifier.predict(test_x) == test_y)), 2)


def _probe_keys() -> dict:
    from harness_videoeval.linear import CLASSIFIER_KEYS

    return {'clip_len': integer(1), 'frame_interval': integer(1), 'size': integer(1),
            'batch_size': integer(1), **CLASSIFIER_KEYS}


#: The keys every temporal probe reads (the sampling, the batch, the classifier).
PROBE_KEYS = _probe_keys()


def pool_clips(features: torch.Tensor) -> np.ndarray:
    """``[samples, clips, D]`` -> the mean over the clips: ``[samples, D]``."""
    return features.mean(1).numpy()


class TemporalProbe(FeatureProtocol):
    """A temporal probe: samples of clips drawn from each video (:meth:`probe`), their pooled
    features from the frozen backbone (:func:`harness.features.frozen_backbone`), and a
    linear probe's accuracy on them. It samples its own clips, so its keys are its own
    (:data:`PROBE_KEYS`), not the feature protocols' ``feature_*``."""

    keys = PROBE_KEYS

    def probe(self, request: EvalRequest, cfg: Any) -> tuple[Probe, list, list]:
        """The protocol's :class:`Probe` and its (train videos, test videos)."""
        raise NotImplementedError

    def features(self, request: EvalRequest, cfg: Any, log) -> Features:
        from harness.api import frozen_backbone, weight_report

        name = request.protocol.name
        probe, train, test = self.probe(request, cfg)
        model = frozen_backbone(request, cfg)
        train_x, train_y, train_skipped = extract(request, model, cfg, train, 'train', probe)
        test_x, test_y, test_skipped = extract(request, model, cfg, test, 'test', probe)
        left_out = (f'; {train_skipped} train and {test_skipped} test videos shorter than '
                    f'{probe.min_frames} frames left out' if train_skipped or test_skipped
                    else '')
        log(f'temporal {name}: {len(train_y)} train samples from '
            f'{len(train) - train_skipped} videos, {len(test_y)} test samples from '
            f'{len(test) - test_skipped} videos{left_out}')
        for part, labels in (('train', train_y), ('test', test_y)):
            if not len(labels):
                raise DataError(f'temporal {name}: no {part} samples in split {request.split} '
                                f'of {request.data_root}{left_out}')
        return Features(train_x, train_y, test_x, test_y, weight_report(model))

    def score(self, features: Features, cfg: Any, request: EvalRequest, log
              ) -> dict[str, float]:
        return {'accuracy': probe_accuracy(features.train_x, features.train_y,
                                           features.test_x, features.test_y,
                                           dict(cfg.classifier))}


class PairProbe(TemporalProbe):
    """A probe on pairs of clips of a video, labelled by one of ``classes`` (balanced)."""

    classes: tuple[str, ...] = ()
    keys = {**PROBE_KEYS, 'pairs_per_video': integer(1)}

    def sampler(self, spec: ViewSpec, cfg: Any) -> tuple[Callable, int]:
        """(frames, label, rng) -> the pair's clip indices; and the frames a video needs."""
        raise NotImplementedError

    def probe(self, request: EvalRequest, cfg: Any) -> tuple[Probe, list, list]:
        sample, min_frames = self.sampler(clip_spec(cfg.clip_len, cfg.frame_interval), cfg)
        split = request.read_split()
        probe = Probe(samples_per_video=cfg.pairs_per_video, classes=len(self.classes),
                      clips=2, combine=pair_features, min_frames=min_frames, sample=sample)
        return probe, list(split.train), list(split.test)

    def views(self, cfg: Any) -> tuple[int, int]:
        return 2, 1


class Order(PairProbe):
    """Which of two non-overlapping clips comes first (see the module doc)."""

    classes = ORDER_CLASSES
    keys = {**PairProbe.keys, 'min_gap': integer(0)}

    def sampler(self, spec: ViewSpec, cfg: Any) -> tuple[Callable, int]:
        return (lambda n, label, rng: order_pair(n, spec, cfg.min_gap, label, rng),
                order_min_frames(spec, cfg.min_gap))


class Sync(PairProbe):
    """The overlap pattern of two overlapping clips (see the module doc)."""

    classes = SYNC_CLASSES

    def sampler(self, spec: ViewSpec, cfg: Any) -> tuple[Callable, int]:
        return (lambda n, label, rng: sync_pair(n, spec, label, rng)), 1


class Motion(TemporalProbe):
    """The video's labelled motion type (see the module doc)."""

    keys = {**PROBE_KEYS, 'motion_clips': integer(1)}

    def probe(self, request: EvalRequest, cfg: Any) -> tuple[Probe, list, list]:
        from harness_videodata.motion import read_motion_labels

        spec = clip_spec(cfg.clip_len, cfg.frame_interval)
        names, motion = read_motion_labels(request.data_root)
        split = request.read_split()
        probe = Probe(samples_per_video=1, classes=0, clips=cfg.motion_clips,
                      sample=lambda n, label, rng: uniform_clips(n, spec, cfg.motion_clips),
                      combine=pool_clips, label_of=lambda item: motion[item.path])
        return (probe, [i for i in split.train if i.path in motion],
                [i for i in split.test if i.path in motion])

    def views(self, cfg: Any) -> tuple[int, int]:
        return cfg.motion_clips, 1
