"""Dense optical flow between video frames (OpenCV's Farneback), the one implementation the
methods that learn from motion share (Transitive Invariance's tracks, Multi-task SSL's
moving-pixel masks)."""
from __future__ import annotations

import numpy as np


def flows(frames: np.ndarray) -> np.ndarray:
    """Dense optical flow between consecutive frames ``uint8 [T, H, W, 3]`` (RGB): float32
    ``[T-1, H, W, 2]`` (dx, dy) in pixels, Farneback's on the grey frames."""
    import cv2

    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < 2:
        raise ValueError(f'flow needs frames [T >= 2, H, W, 3], got shape {frames.shape}')
    grey = [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]
    return np.stack([cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3,
                                                  winsize=9, iterations=3, poly_n=5,
                                                  poly_sigma=1.1, flags=0)
                     for a, b in zip(grey, grey[1:])]).astype(np.float32)


def magnitude(flow: np.ndarray) -> np.ndarray:
    """Per-pixel flow magnitude ``[..., H, W]`` of flow ``[..., H, W, 2]``."""
    return np.linalg.norm(flow, axis=-1)
