"""Synthetic videos and images with learnable signal (numpy + OpenCV only).

A clip shows one large filled shape (about a quarter of the frame) in a per-video random colour
on a per-video random, mildly textured and noisy background, moving with one motion pattern.
Shape and motion are the class signal; colour, background, start phase and ``speed`` vary per
video so that a model has to look at shape and motion, not at colour. Clips are BGR uint8, the
layout OpenCV writes.

An image (:func:`render_image`) shows one filled shape of a texture class (plain, stripes,
checker, dots) at a random position, size, rotation and colour on the same kind of background;
shape and texture are the class signal.

:func:`write_video` stores a clip as an MJPG ``.avi`` (decodable by decord and PyAV),
:func:`write_image` an image as PNG or JPEG, both atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

SHAPES = ("circle", "square", "triangle", "cross", "ring")
MOTIONS = ("horizontal", "vertical", "diagonal", "orbit", "rotate")

_SUBPIXEL = 4  # fractional bits for cv2.fillPoly coordinates
_CIRCLE_VERTS = 48


def _outline(shape: str) -> list[np.ndarray]:
    """Contours of a shape in unit coordinates (extent about [-1, 1]); later ones cut holes."""
    t = np.linspace(0.0, 2.0 * np.pi, _CIRCLE_VERTS, endpoint=False)
    unit_circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    if shape == "circle":
        return [unit_circle * 0.95]
    if shape == "ring":
        return [unit_circle * 1.0, unit_circle * 0.55]
    if shape == "square":
        return [np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]])]
    if shape == "triangle":
        a = np.deg2rad([-90.0, 30.0, 150.0])
        return [np.stack([np.cos(a), np.sin(a)], axis=1) * 1.1]
    if shape == "cross":
        w, e = 0.36, 1.0
        return [np.array([[-w, -e], [w, -e], [w, -w], [e, -w], [e, w], [w, w],
                          [w, e], [-w, e], [-w, w], [-e, w], [-e, -w], [-w, -w]])]
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def _bounce(pos: float, lo: float, hi: float) -> float:
    """Fold an unbounded 1-D position into [lo, hi] like a ball bouncing between two walls."""
    span = hi - lo
    if span <= 0:
        return lo
    p = (pos - lo) % (2.0 * span)
    return lo + (p if p <= span else 2.0 * span - p)


def _trajectory(motion: str, frames: int, size: int, radius: float, speed: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame centre (x, y), rotation angle (rad) and scale for a motion pattern."""
    t = np.arange(frames, dtype=np.float64)
    lo, hi = radius, size - radius
    centre = size / 2.0
    step = 0.045 * size * speed  # pixels per frame for the translating motions
    phase = rng.uniform(lo, hi)
    sign = rng.choice([-1.0, 1.0])
    jitter = rng.uniform(-0.06, 0.06, size=2) * size
    angle = np.zeros(frames)
    scale = np.ones(frames)
    if motion == "horizontal":
        x = np.array([_bounce(phase + sign * step * i, lo, hi) for i in t])
        y = np.full(frames, centre + jitter[1])
    elif motion == "vertical":
        x = np.full(frames, centre + jitter[0])
        y = np.array([_bounce(phase + sign * step * i, lo, hi) for i in t])
    elif motion == "diagonal":
        phase_y = rng.uniform(lo, hi)
        sign_y = rng.choice([-1.0, 1.0])
        x = np.array([_bounce(phase + sign * step * i, lo, hi) for i in t])
        y = np.array([_bounce(phase_y + sign_y * step * i, lo, hi) for i in t])
    elif motion == "orbit":
        orbit_r = 0.2 * size
        theta = rng.uniform(0, 2 * np.pi) + sign * 0.16 * speed * t
        x = centre + orbit_r * np.cos(theta)
        y = centre + orbit_r * np.sin(theta)
    elif motion == "rotate":
        x = np.full(frames, centre + jitter[0])
        y = np.full(frames, centre + jitter[1])
        angle = rng.uniform(0, 2 * np.pi) + sign * 0.14 * speed * t
        scale = 1.0 + 0.18 * np.sin(rng.uniform(0, 2 * np.pi) + 0.2 * speed * t)
    else:
        raise ValueError(f"unknown motion {motion!r}; known: {', '.join(MOTIONS)}")
    return np.stack([x, y], axis=1), angle, scale


def draw_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A muted background colour and a saturated object colour far from it (BGR floats)."""
    bg = rng.uniform(50, 190, size=3)
    return bg, foreground_colour(bg, rng)


def foreground_colour(bg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A saturated object colour far from the background colour ``bg`` (BGR floats)."""
    for _ in range(64):
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(170, 256), rng.integers(170, 256)]]])
        fg = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float64)
        if np.linalg.norm(fg - bg) >= 130:
            return fg
    return 255.0 - bg  # the complement is always far enough


def shape_mask(shape: str, centre, radius: float, angle: float, width: int, height: int
               ) -> np.ndarray:
    """The anti-aliased coverage mask (uint8 [height, width], 0-255) of one of :data:`SHAPES`
    centred at ``centre`` (x, y), ``radius`` pixels from centre to outline, turned by
    ``angle``; every renderer draws its shapes with it."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]]) * radius
    mask = np.zeros((height, width), dtype=np.uint8)
    for k, contour in enumerate(_outline(shape)):
        pts = (contour @ rot.T + centre) * (1 << _SUBPIXEL)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 0 if k else 255,
                     lineType=cv2.LINE_AA, shift=_SUBPIXEL)
    return mask


def draw_background(size: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A static, smooth, low-contrast texture around ``base`` (float32 [size, size, 3])."""
    cells = int(rng.integers(3, 7))
    coarse = rng.uniform(-22, 22, size=(cells, cells, 3)).astype(np.float32)
    texture = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return base.astype(np.float32)[None, None, :] + texture


def render_clip(shape: str, motion: str, *, frames: int, size: int, speed: float,
                rng: np.random.Generator) -> np.ndarray:
    """Render one clip: uint8 array [frames, size, size, 3] in BGR order.

    ``speed`` scales the per-frame motion (translation step, orbit or spin rate); ``rng`` draws
    everything else that varies per video (colours, texture, start phase, direction, noise).
    """
    if frames < 1 or size < 8:
        raise ValueError(f"frames must be >= 1 and size >= 8, got frames={frames}, size={size}")
    _outline(shape)  # an unknown shape fails before anything is drawn
    radius = size / 4.0  # shape extent is about 2*radius = half the side: ~1/4 of the area
    centres, angles, scales = _trajectory(motion, frames, size, radius, speed, rng)
    bg_colour, fg_colour = draw_colours(rng)
    background = draw_background(size, bg_colour, rng)
    fg = fg_colour.astype(np.float32)[None, None, :]
    out = np.empty((frames, size, size, 3), dtype=np.uint8)
    for i in range(frames):
        mask = shape_mask(shape, centres[i], radius * scales[i], angles[i], size, size)
        alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
        frame = background * (1.0 - alpha) + fg * alpha
        frame += rng.normal(0.0, 4.0, size=frame.shape).astype(np.float32)
        out[i] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


TEXTURES = ("plain", "stripes", "checker", "dots")


def draw_texture(texture: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A [size, size] mask in [0, 1] of the texture's dark parts (random period, phase and,
    for stripes, orientation); all zero for ``plain``."""
    if texture == "plain":
        return np.zeros((size, size), np.float32)
    period = rng.uniform(0.08, 0.12) * size
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    if texture == "stripes":
        theta = rng.uniform(0, np.pi)
        u = x * np.cos(theta) + y * np.sin(theta) + rng.uniform(0, period)
        return (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    if texture == "checker":
        ox, oy = rng.uniform(0, period, size=2)
        cells = np.floor((x + ox) / (period / 2)) + np.floor((y + oy) / (period / 2))
        return (cells % 2).astype(np.float32)
    if texture == "dots":
        ox, oy = rng.uniform(0, period, size=2)
        dx = (x + ox) % period - period / 2
        dy = (y + oy) % period - period / 2
        return (np.hypot(dx, dy) < 0.27 * period).astype(np.float32)
    raise ValueError(f"unknown texture {texture!r}; known: {', '.join(TEXTURES)}")


def render_image(shape: str, texture: str, *, size: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """Render one image: uint8 [size, size, 3] in BGR order.

    The shape (one of :data:`SHAPES`) spans 0.45 to 0.7 of the side, at a random position and
    rotation, filled with a random saturated colour whose ``texture`` parts are darkened to
    40%; colours, background texture and noise are drawn from ``rng``.
    """
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    _outline(shape)  # an unknown shape fails before anything is drawn
    radius = size * rng.uniform(0.225, 0.35)
    centre = rng.uniform(radius, size - radius, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    mask = shape_mask(shape, centre, radius, angle, size, size)
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    bg_colour, fg_colour = draw_colours(rng)
    dark = draw_texture(texture, size, rng)[:, :, None]
    fg = fg_colour.astype(np.float32)[None, None, :] * (1.0 - 0.6 * dark)
    image = draw_background(size, bg_colour, rng) * (1.0 - alpha) + fg * alpha
    image += rng.normal(0.0, 4.0, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write BGR uint8 ``image`` [H, W, 3] to ``path`` (``.png``, ``.jpg`` or ``.jpeg``),
    atomically (a temporary file in the same folder, then renamed). Returns the path."""
    path = Path(path)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
    suffix = path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"demo images are .png or .jpg files, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(suffix, image)
    if not ok:
        raise OSError(f"OpenCV cannot encode {path.name}")
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{suffix}")
    try:
        tmp.write_bytes(encoded.tobytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


#: The codec of each container the demo generators write: MJPG ``.avi`` (UCF101, HMDB51) and
#: MPEG-4 Part 2 ``.mp4`` (Kinetics); the OpenCV wheels write both without extra codecs and
#: decord reads both back frame-exactly.
FOURCC = {'.avi': 'MJPG', '.mp4': 'mp4v'}


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 25) -> Path:
    """Write BGR uint8 ``frames`` [T, H, W, 3] to ``path`` (``.avi`` or ``.mp4``, see
    :data:`FOURCC`), atomically.

    The clip goes to a temporary file in the same folder first and is then renamed over
    ``path``, so a reader never sees a half-written video. Returns the path.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be uint8 [T>0, H, W, 3], got {frames.dtype} {frames.shape}")
    suffix = path.suffix.lower()
    if suffix not in FOURCC:
        raise ValueError(f"demo videos are {' or '.join(FOURCC)} files, got {path.name}")
    height, width = frames.shape[1:3]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{suffix}")  # cv2 picks the container
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*FOURCC[suffix]), float(fps),
                             (width, height))
    try:
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write a {FOURCC[suffix]} {suffix} at {tmp}; check that "
                          "the folder is writable and that opencv-python-headless is installed")
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    try:
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f"OpenCV wrote no data to {tmp}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_readable(path: str | os.PathLike, frames: int, size: int) -> str | None:
    """Read a written clip back with decord; return a problem description, or None when fine.

    decord mis-decodes some small or odd frame sizes (e.g. 48x48: a 4-channel frame or a size
    mismatch), so generators check one clip before writing a whole dataset. Returns None when
    decord is not installed (nothing to check against).
    """
    try:
        import decord
    except ImportError:
        return None
    try:
        reader = decord.VideoReader(str(path))
        count = len(reader)
        shape = tuple(reader.get_batch([0, count - 1]).asnumpy().shape[1:])
    except Exception as exc:  # decord raises its own DECORDError and others
        return f"decord cannot decode {path}: {str(exc).strip().splitlines()[-1]}"
    if count != frames or shape != (size, size, 3):
        return (f"decord reads {path} as {count} frames of {shape}, "
                f"expected {frames} frames of {(size, size, 3)}")
    return None
