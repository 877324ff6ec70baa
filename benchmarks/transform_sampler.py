"""Benchmark: the shared transformation sampler (one open + one decode per video) against
opening and decoding each clip separately, on the same videos, in one process.

    .venv/bin/python benchmarks/transform_sampler.py [--data ROOT] [--videos 60] [--repeats 3]

Prints clips per second for both and their ratio (shared / separate). Both paths draw the
same indices and prepare the clips alike (resize, augmentation drawn); only the decoding
differs.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from harness_transrank.temporal import transform_indices
from harness.data.video import open_video, read_frames
from harness.data.views import ViewSpec, decode_frames, prepare_clip
from harness_videodata import ucf101

TEMPORAL = ['1x', '2x', '4x', 'reverse']


def finish(clip: torch.Tensor, size: int, augment: bool):
    """What the worker does after decoding: resize and draw the augmentation."""
    return prepare_clip(clip, ViewSpec(frames=len(clip), size=size)) if augment else clip


def shared(path: str, rng, frames: int, size: int, augment: bool) -> list:
    reader = open_video(path)
    indices = [transform_indices(t, len(reader), frames, rng, jitter=(0.8, 1.2)) for t in TEMPORAL]
    return [finish(c, size, augment) for c in decode_frames(reader, indices)]


def separate(path: str, rng, frames: int, size: int, augment: bool) -> list:
    clips = []
    num_frames = len(open_video(path))
    for t in TEMPORAL:
        idx = transform_indices(t, num_frames, frames, rng, jitter=(0.8, 1.2))
        reader = open_video(path)  # each clip opens and decodes on its own
        video = torch.from_numpy(read_frames(reader, idx)).permute(0, 3, 1, 2)
        clips.append(finish(video, size, augment))
    return clips


def clips_per_second(fn, paths, frames, size, repeats, augment) -> float:
    best = 0.0
    for _ in range(repeats):
        rng = np.random.default_rng(0)
        torch.manual_seed(0)
        start = time.perf_counter()
        for path in paths:
            fn(path, rng, frames, size, augment)
        best = max(best, len(paths) * len(TEMPORAL) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='work_dirs/demo/ucf101')
    parser.add_argument('--videos', type=int, default=60)
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = ucf101.generate_demo(Path(args.data)) if args.data.endswith('demo/ucf101') else \
        Path(args.data)
    split = ucf101.read_split(root, '1')
    paths = [str(root / item.path) for item in split.train[:args.videos]]
    print(f'{len(paths)} videos x {len(TEMPORAL)} clips of {args.frames} frames, best of '
          f'{args.repeats}')
    for augment in (False, True):
        one = clips_per_second(shared, paths, args.frames, args.size, args.repeats, augment)
        per_clip = clips_per_second(separate, paths, args.frames, args.size, args.repeats,
                                    augment)
        label = 'decode + augment' if augment else 'decode only'
        print(f'{label:<17} shared (one decode per video) {one:8.1f} clips/s, per clip '
              f'{per_clip:8.1f} clips/s, ratio {one / per_clip:5.2f}x')


if __name__ == '__main__':
    main()
