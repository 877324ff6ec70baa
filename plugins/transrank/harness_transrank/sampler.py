"""The shared transformation sampler: K clips of one video, clip k under transformation k.

Used by every transformation-recognition method (TransRank and the RecogTrans baselines). The
video is opened once and the union of the clips' frames decoded once; each clip is then
augmented independently (clip-wise augmentation, so clips cannot be matched by low-level
appearance) and, with ``rotation``, rotated by its own multiple of 90 degrees. The spatial
transformations are augmentation steps of :mod:`harness_transrank.augment`: the sampler writes
each clip's choice into its augment parameters and the model's AugmentViews preprocessor applies
them on the device.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from harness.api import open_video, ViewSpec, decode_frames, prepare_clip, stack_clips, TRANSFORMS
from harness_transrank.augment import STRETCH, TURNS
from harness_transrank.temporal import TEMPORAL, transform_indices


@TRANSFORMS.register_module()
class SampleTransformedClips:
    """mmengine transform: ``results['filename']`` -> ``results['inputs']`` with

    - ``clips``: the K clips as ``{'video': uint8 [K, 3, frames, D, D], 'augment': ...}``,
      ``float [K, 3, frames, size, size]`` after the model's AugmentViews preprocessor;
    - ``temporal``: ``long [K]``, the index in ``temporal`` of each clip's transformation:
      ``arange(K)`` with every transformation once (K = len(temporal), for ranking), or
      ``clips_per_video`` distinct ones drawn at random (for classification baselines);
    - ``rotation`` (with ``rotation=True``): ``long [K]``, distinct quarter turns (K <= 4);
    - ``aspect`` (with ``aspect`` ratios given): ``long [K]``, the index in ``aspect`` of each
      clip's distinct aspect-ratio change (:func:`harness_transrank.augment.stretch`;
      K <= len(aspect)).

    temporal: names from :data:`harness_transrank.temporal.TEMPORAL` (e.g. ['1x', '2x', '4x']).
    jitter: speed jitter range, u ~ U(jitter) multiplies every speed (TransRank: 0.8-1.2).
    augment: options of :func:`harness.data.augment.sample_augment`, drawn per clip.
    decode_size: the intermediate size of the decoded frames (default 8/7 of ``size``).
    aspect: width/height stretch factors, e.g. (0.5, 1.0, 2.0) (the aspect-ratio family of
    spatial transformations the TransRank notes mention, docs/methods.md §1a).
    """

    def __init__(self, temporal: Sequence[str], frames: int = 8, size: int = 32,
                 augment: Mapping[str, Any] | None = None, jitter: Sequence[float] = (0.8, 1.2),
                 rotation: bool = False, max_skip: int = 4, clips_per_video: int | None = None,
                 aspect: Sequence[float] = (), decode_size: int | None = None):
        unknown = [name for name in temporal if name not in TEMPORAL]
        if unknown or len(set(temporal)) != len(temporal):
            raise ValueError(f'temporal transformations must be distinct names from '
                             f"{', '.join(TEMPORAL)}; got {list(temporal)}")
        self.clips_per_video = clips_per_video or len(temporal)
        if not 1 <= self.clips_per_video <= len(temporal):
            raise ValueError(f'clips_per_video must be in 1..{len(temporal)}')
        if rotation and self.clips_per_video > 4:
            raise ValueError('distinct rotations need K <= 4 clips')
        self.aspect = tuple(float(r) for r in aspect)
        if self.aspect and (len(set(self.aspect)) != len(self.aspect)
                            or min(self.aspect) <= 0 or self.clips_per_video > len(self.aspect)):
            raise ValueError(f'aspect ratios must be distinct, positive and at least as many as '
                             f'the {self.clips_per_video} clips; got {list(aspect)}')
        self.temporal = list(temporal)
        self.frames, self.size = frames, size
        self.augment = dict(augment or {})
        self.spec = ViewSpec(frames=frames, size=size, augment=self.augment,
                             decode_size=decode_size)
        self.jitter = (float(jitter[0]), float(jitter[1]))
        self.rotation = rotation
        self.max_skip = max_skip

    def __call__(self, results: dict) -> dict:
        reader = open_video(results['filename'])
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,))))
        if self.clips_per_video == len(self.temporal):
            labels = np.arange(len(self.temporal))
        else:
            labels = np.sort(rng.choice(len(self.temporal), self.clips_per_video, replace=False))
        indices = [transform_indices(self.temporal[j], len(reader), self.frames, rng,
                                     jitter=self.jitter, max_skip=self.max_skip) for j in labels]
        clips = [prepare_clip(clip, self.spec) for clip in decode_frames(reader, indices)]
        k = len(clips)
        inputs = {'temporal': torch.as_tensor(labels, dtype=torch.long)}
        if self.rotation:
            turns = rng.permutation(4)[:k]
            for clip, t in zip(clips, turns):
                clip['augment'][TURNS] = torch.tensor(int(t))
            inputs['rotation'] = torch.as_tensor(turns, dtype=torch.long)
        if self.aspect:
            ratios = rng.permutation(len(self.aspect))[:k]
            for clip, r in zip(clips, ratios):
                clip['augment'][STRETCH] = torch.tensor(self.aspect[int(r)])
            inputs['aspect'] = torch.as_tensor(ratios, dtype=torch.long)
        inputs['clips'] = stack_clips(clips)
        results['inputs'] = inputs
        return results

    def random_inputs(self, batch_size: int) -> dict[str, torch.Tensor]:
        """Random batched inputs shaped like the model receives them after augmentation (for
        model tests)."""
        k = self.clips_per_video
        inputs = {'clips': torch.randn(batch_size, k, 3, self.frames, self.size, self.size),
                  'temporal': torch.stack([torch.randperm(len(self.temporal))[:k]
                                           for _ in range(batch_size)])}
        if self.rotation:
            inputs['rotation'] = torch.stack([torch.randperm(4)[:k] for _ in range(batch_size)])
        if self.aspect:
            inputs['aspect'] = torch.stack([torch.randperm(len(self.aspect))[:k]
                                            for _ in range(batch_size)])
        return inputs
