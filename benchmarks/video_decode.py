"""Benchmark: decoding a strided clip with :func:`harness.data.video.read_frames` (nearby frames
decoded as one stretch) against decord's own ``get_batch`` of the same indices (a seek for each
index that does not follow the one before), on the same demo videos, in one process, one thread.

    .venv/bin/python benchmarks/video_decode.py [--size 80] [--frames 128] [--clip 16] \
        [--videos 12] [--rounds 5]

For each stride, both decode the same clip (``--clip`` frames at that stride, from a random
start) of every video, opening the video each time as the pretraining loaders do; the two
alternate (``--rounds``, the one that goes first changing each round). Prints ms per clip of
each and the ratio (decord / read_frames: above 1, read_frames is faster). The frames are
checked equal before timing.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def clip_indices(rng, length: int, clip: int, stride: int) -> np.ndarray:
    """``clip`` frames ``stride`` apart from a random start (from the start, as many as fit, in
    a video too short for the clip)."""
    span = min(length, (clip - 1) * stride + 1)
    start = int(rng.integers(0, length - span + 1))
    return np.arange(start, start + span, stride)[:clip]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=80, help='video width and height (pixels)')
    parser.add_argument('--frames', type=int, default=128, help='frames per demo video')
    parser.add_argument('--clip', type=int, default=16, help='frames per clip')
    parser.add_argument('--strides', default='1,2,4,8')
    parser.add_argument('--videos', type=int, default=12)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    import torch

    from harness.data.video import open_video, read_frames
    from harness_videodata.ucf101 import generate_demo

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix='video_decode-'))
    try:
        demo = generate_demo(work, groups=3, clips_per_group=1, frames=args.frames,
                             size=args.size)
        paths = [str(p) for p in sorted(demo.rglob('*.avi'))][:args.videos]

        def decord_batch(reader, indices):
            return reader.get_batch(list(indices)).asnumpy()

        sides = {'decord get_batch': decord_batch, 'read_frames': read_frames}
        print(f'{len(paths)} videos of {args.frames} frames at {args.size}x{args.size}, clips '
              f'of {args.clip} frames; ms per clip (mean over {args.rounds} rounds)')
        print('| stride | decord get_batch | read_frames | ratio |')
        print('|---|---|---|---|')
        for stride in (int(s) for s in args.strides.split(',')):
            rng = np.random.default_rng(stride)
            clips = [(path, clip_indices(rng, len(open_video(path)), args.clip, stride))
                     for path in paths]
            for path, indices in clips:  # the same frames, or the timing means nothing
                assert np.array_equal(decord_batch(open_video(path), indices),
                                      read_frames(open_video(path), indices))
            times = {name: 0.0 for name in sides}
            for round_ in range(args.rounds):
                order = list(sides)[round_ % 2:] + list(sides)[:round_ % 2]
                for name in order:
                    start = time.perf_counter()
                    for path, indices in clips:
                        sides[name](open_video(path), indices)
                    times[name] += time.perf_counter() - start
            ms = {name: 1000 * t / (args.rounds * len(clips)) for name, t in times.items()}
            print(f"| {stride} | {ms['decord get_batch']:.1f} | {ms['read_frames']:.1f} | "
                  f"{ms['decord get_batch'] / ms['read_frames']:.2f}x |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
