"""Demo videos in an ``.mp4`` container (MPEG-4 Part 2, fourcc ``mp4v``), for the layouts whose
real downloads are mp4 files (Kinetics).

:func:`harness.data.synth.write_video` writes MJPG ``.avi``; this module writes the same clips
as real mp4 files, which the OpenCV wheels write without extra codecs and decord reads back
frame-exactly. :func:`render_video` is :func:`harness.data.demo.render_video` for mp4: the same
seeding (speed drawn first, then the clip), so a video's content is a function of
``(seed, name)`` alone.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from harness.data import demo
from harness.errors import DataError

FOURCC = 'mp4v'


def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: int = 25) -> Path:
    """Write BGR uint8 ``frames`` [T, H, W, 3] to an mp4 at ``path``, atomically (a temporary
    file in the same folder, renamed over ``path``). Returns the path."""
    import cv2

    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f'frames must be uint8 [T>0, H, W, 3], got {frames.dtype} {frames.shape}')
    height, width = frames.shape[1:3]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.stem}.tmp{os.getpid()}.mp4')  # cv2 picks the container by suffix
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*FOURCC), float(fps),
                             (width, height))
    try:
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write an '{FOURCC}' .mp4 at {tmp}; check that the "
                          'folder is writable and that opencv-python-headless is installed')
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    try:
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f'OpenCV wrote no data to {tmp}')
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def render_video(path: Path, spec: tuple[str, str], *, name: str, seed: int, frames: int,
                 size: int, check: bool) -> float:
    """Render one demo clip of ``spec`` = (shape, motion) into the mp4 ``path``, seeded from
    ``(seed, name)`` as :func:`harness.data.demo.render_video` seeds it; returns its speed. With
    ``check``, read it back with decord first (a size the decoder cannot read fails early)."""
    from harness.data import synth  # cv2 is only needed when generating

    rng = np.random.default_rng(demo.video_seed(seed, name))
    speed = float(rng.uniform(0.5, 2.0))
    shape, motion = spec
    write_mp4(path, synth.render_clip(shape, motion, frames=frames, size=size, speed=speed,
                                      rng=rng))
    if check:
        problem = synth.check_readable(path, frames, size)
        if problem:
            raise DataError(f'{problem}; choose an even demo size >= 64 (e.g. 80)')
    return speed
