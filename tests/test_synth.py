"""The synthetic clips every demo generator renders (harness.data.synth)."""

from __future__ import annotations

import numpy as np

from harness.data import synth


def test_render_clip_shape_and_speed():
    def clip(motion: str, speed: float) -> np.ndarray:
        return synth.render_clip("square", motion, frames=12, size=64, speed=speed,
                                 rng=np.random.default_rng(3))

    slow, fast = clip("horizontal", 0.5), clip("horizontal", 2.0)
    assert slow.shape == (12, 64, 64, 3) and slow.dtype == np.uint8
    motion = lambda c: np.abs(np.diff(c.astype(np.int16), axis=0)).mean()  # noqa: E731
    assert motion(fast) > 1.5 * motion(slow)
    # horizontal motion moves the column profile; the row profile only sees pixel noise
    rows = fast.astype(np.float32).mean(axis=(2, 3))
    cols = fast.astype(np.float32).mean(axis=(1, 3))
    assert np.abs(np.diff(cols, axis=0)).max() > 4 * np.abs(np.diff(rows, axis=0)).max()


def test_write_video_atomic(tmp_path):
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    out = synth.write_video(tmp_path / "sub" / "x.avi", frames)
    assert out.is_file() and out.stat().st_size > 0
    assert [p.name for p in out.parent.iterdir()] == ["x.avi"]  # no temp file left behind
