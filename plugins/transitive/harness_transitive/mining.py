"""Intra-instance edges from a video (docs/methods.md §4, the Wang & Gupta 2015 pipeline): find
motion-salient patches in the first frame of a window, follow each through the window by dense
optical flow (:func:`harness.data.flow.flows`), and link the first patch to the last one: the
same object seen in another pose, place or deformation.

Everything here is a function of frames (``uint8 [T, H, W, 3]``), so any video the harness can
decode (the demo included) can be mined; boxes are ``(x0, y0, x1, y1)`` pixel boxes, exclusive
at the far end, of a fixed ``size``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.api import flows, magnitude

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Track:
    """One tracked patch: its box in the window's first and last frame, the frames' indices
    within the video, and its motion score (mean flow magnitude in the first box, pixels per
    frame)."""

    first: Box
    last: Box
    start: int
    end: int
    motion: float


def box_means(values: np.ndarray, size: int) -> np.ndarray:
    """The mean of ``values`` ``[H, W]`` over every ``size x size`` window: ``[H - size + 1,
    W - size + 1]``, entry (y, x) the window whose top-left corner is (x, y) (integral image)."""
    integral = np.pad(values.astype(np.float64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = (integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size]
            + integral[:-size, :-size])
    return sums / (size * size)


def salient_boxes(magnitude: np.ndarray, size: int, count: int, *, min_ratio: float = 2.0
                  ) -> list[tuple[Box, float]]:
    """Up to ``count`` non-overlapping ``size``-pixel boxes where the flow magnitude
    ``[H, W]`` is highest, each with its mean magnitude, best first. A box is motion-salient
    when its mean is at least ``min_ratio`` times the frame's median magnitude (plus a small
    floor, so a still video gives none)."""
    means = box_means(magnitude, size)
    floor = min_ratio * float(np.median(magnitude)) + 0.05
    taken = np.zeros_like(means, dtype=bool)
    out = []
    for flat in np.argsort(-means, axis=None, kind='stable'):
        y, x = np.unravel_index(flat, means.shape)
        if means[y, x] < floor or len(out) == count:
            break
        if taken[y, x]:
            continue
        out.append(((int(x), int(y), int(x) + size, int(y) + size), float(means[y, x])))
        taken[max(0, y - size + 1):y + size, max(0, x - size + 1):x + size] = True
    return out


def follow(box: Box, flow: np.ndarray, width: int, height: int) -> Box:
    """``box`` moved by the median flow inside it (one frame step), kept inside the frame."""
    x0, y0, x1, y1 = box
    dx, dy = np.median(flow[y0:y1, x0:x1].reshape(-1, 2), axis=0)
    size_x, size_y = x1 - x0, y1 - y0
    nx = int(round(min(max(x0 + float(dx), 0), width - size_x)))
    ny = int(round(min(max(y0 + float(dy), 0), height - size_y)))
    return nx, ny, nx + size_x, ny + size_y


def mine_tracks(frames: np.ndarray, *, size: int, per_window: int = 2, window: int = 8,
                stride: int | None = None, min_ratio: float = 2.0) -> list[Track]:
    """The tracks of a video: in each window of ``window`` frames (every ``stride`` frames,
    default ``window``), up to ``per_window`` motion-salient ``size``-pixel boxes of its first
    frame pair, each followed to the window's last frame."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < 2:
        raise ValueError(f'frames are [T >= 2, H, W, 3], got shape {frames.shape}')
    height, width = frames.shape[1:3]
    if size > min(height, width):
        raise ValueError(f'patches of {size} pixels do not fit frames of {width} x {height}')
    window = min(window, len(frames))
    stride = stride or window
    tracks = []
    for start in range(0, len(frames) - window + 1, stride):
        flow = flows(frames[start:start + window])
        moving = magnitude(flow[0])
        for box, motion in salient_boxes(moving, size, per_window, min_ratio=min_ratio):
            last = box
            for step in flow:
                last = follow(last, step, width, height)
            tracks.append(Track(box, last, start, start + window - 1, motion))
    return tracks
