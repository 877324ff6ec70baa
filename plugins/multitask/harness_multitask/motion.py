"""Motion segmentation targets (docs/methods.md §6): which pixels of a video frame move.

Pathak et al. 2017, whose task Multi-task SSL trains, take the masks from an unsupervised
video segmentation (uNLC); the harness takes them from dense optical flow instead, the one
flow implementation it has (:mod:`harness.data.flow`, Farneback): the flow from the frame to a
later frame, minus the frame's median flow vector (per component, the motion most of the frame
shares: a camera pan, or nothing for a still camera), and a pixel is moving when the
magnitude of what is left exceeds ``threshold`` pixels. So the threshold is relative to the
frame's median motion, not to a still camera.
"""
from __future__ import annotations

import numpy as np

from harness.api import flows, magnitude


def moving_pixels(frame: np.ndarray, later: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    """bool ``[H, W]``: the pixels of ``frame`` (uint8 RGB ``[H, W, 3]``) that move against
    the frame's median motion by more than ``threshold`` pixels on the way to ``later``."""
    flow = flows(np.stack([frame, later]))[0]  # [H, W, 2]
    residual = flow - np.median(flow.reshape(-1, 2), axis=0)
    return magnitude(residual) > threshold


def shrink_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A bool mask ``[H, W]`` on a ``size`` x ``size`` grid: a cell is moving (1.0) when more
    than half of the pixels it covers move (area average, OpenCV ``INTER_AREA``). float32
    ``[size, size]``."""
    import cv2

    share = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return (share > 0.5).astype(np.float32)
