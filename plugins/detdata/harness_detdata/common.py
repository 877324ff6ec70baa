"""What the detection layouts share: the item and split types, and the demo scene renderer.

Boxes of :class:`DetItem` are in mmdet's convention, whatever the file format: ``(x1, y1, x2,
y2)`` floats, 0-based pixels, as mmdet's ``VOCDataset`` (the XML values minus 1) and
``CocoDataset`` (``[x, y, x + w, y + h]``) hand them to a detector, so our counts and boxes
compare one to one with mmdet's (docs/image-evals.md §2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from harness.api import DataItem, Split

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetItem(DataItem):
    """One image with its boxes. ``path`` is relative to the dataset root; ``label`` is -1 (an
    image has no single class). ``boxes`` (mmdet's 0-based ``x1, y1, x2, y2``), ``labels``
    (0-based indices into the split's classes) and ``difficult`` (the metric ignores the box:
    VOC's ``difficult``, COCO's ``iscrowd``; mmdet's ``ignore_flag``) are parallel tuples.
    ``image_id``: the VOC id (``'000005'``) or the COCO image id."""

    label: int = -1
    boxes: tuple[Box, ...] = ()
    labels: tuple[int, ...] = ()
    difficult: tuple[bool, ...] = ()
    width: int = 0
    height: int = 0
    image_id: str | int = ''

    @property
    def num_boxes(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class DetSplit(Split):
    """A detection split. ``missing``: listed images whose file is not on disk (skipped);
    ``dropped``: boxes left out, by reason (``'unknown_class'``: a class outside the class
    list; ``'invalid_box'``: empty or outside the image, as mmdet's CocoDataset drops them)."""

    dropped: Mapping[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Images, boxes and difficult boxes of each side, missing images, dropped boxes."""
        out: dict[str, int] = {}
        for side, items in (('train', self.train), ('test', self.test)):
            out[f'{side}_images'] = len(items)
            out[f'{side}_boxes'] = sum(item.num_boxes for item in items)
            out[f'{side}_difficult'] = sum(sum(item.difficult) for item in items)
        out['missing_images'] = self.missing
        for reason, count in sorted(self.dropped.items()):
            out[f'dropped_{reason}'] = count
        return out

    def summary(self) -> str:
        """One line of counts, for ``harness data prepare``."""
        c = self.counts()
        dropped = ', '.join(f'{n} {reason.replace("_", " ")}' for reason, n in
                            sorted(self.dropped.items()) if n) or 'none'
        return (f'split {self.name}: {len(self.classes)} classes; train {c["train_images"]} '
                f'images, {c["train_boxes"]} boxes ({c["train_difficult"]} difficult); test '
                f'{c["test_images"]} images, {c["test_boxes"]} boxes ({c["test_difficult"]} '
                f'difficult); {self.missing} listed images missing on disk; boxes dropped: '
                f'{dropped}')


# ---------------------------------------------------------------------------- demo scenes

DEMO_SHAPES = ('circle', 'square', 'triangle', 'cross', 'ring')


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The tight box ``(x0, y0, x1, y1)`` (0-based, inclusive) of the pixels a shape covers at
    least half (``mask >= 128``, what the eye sees as the shape), or None when none."""
    ys, xs = np.nonzero(mask >= 128)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def render_scene(shapes: Sequence[str], *, width: int, height: int, rng: np.random.Generator,
                 objects: tuple[int, int] = (1, 3), extent: tuple[int, int] = (40, 120)
                 ) -> tuple[np.ndarray, list[tuple[int, tuple[int, int, int, int]]]]:
    """Render one detection scene: ``(image, objects)``.

    ``image``: uint8 BGR [height, width, 3], the textured noisy background of
    :mod:`harness.data.synth` with ``objects[0]..objects[1]`` shapes on it; ``objects``: a list
    of ``(class index into shapes, (x0, y0, x1, y1))``, the tight 0-based inclusive pixel box of
    the shape (:func:`mask_box`). Each shape's class, size (its longer box side in
    ``extent`` pixels, about), position, rotation, colour and texture are drawn independently;
    boxes do not overlap (a placement that would is redrawn, up to 50 times, then the scene has
    fewer shapes), so no shape hides another.
    """
    from harness.api import synth

    side = max(width, height)
    bg_colour, _ = synth.draw_colours(rng)
    canvas = synth.draw_background(side, bg_colour, rng)[:height, :width]
    count = int(rng.integers(objects[0], objects[1] + 1))
    placed: list[tuple[int, tuple[int, int, int, int]]] = []
    for _ in range(count):
        for _attempt in range(50):
            cls = int(rng.integers(len(shapes)))
            radius = rng.uniform(extent[0], extent[1]) / 2.0
            margin = radius * 1.15 + 2
            if 2 * margin >= min(width, height):
                radius = min(width, height) / 2.0 / 1.15 - 3
                margin = radius * 1.15 + 2
            centre = (rng.uniform(margin, width - margin), rng.uniform(margin, height - margin))
            angle = rng.uniform(0, 2 * np.pi)
            mask = synth.shape_mask(shapes[cls], centre, radius, angle, width, height)
            box = mask_box(mask)
            if box is None or any(box[0] <= b[2] + 2 and b[0] <= box[2] + 2 and
                                  box[1] <= b[3] + 2 and b[1] <= box[3] + 2 for _, b in placed):
                continue
            texture = synth.TEXTURES[int(rng.integers(len(synth.TEXTURES)))]
            dark = synth.draw_texture(texture, side, rng)[:height, :width, None]
            fg = synth.foreground_colour(bg_colour, rng).astype(np.float32)[None, None, :] * (
                1.0 - 0.6 * dark)
            alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
            canvas = canvas * (1.0 - alpha) + fg * alpha
            placed.append((cls, box))
            break
    canvas = canvas + rng.normal(0.0, 4.0, size=canvas.shape).astype(np.float32)
    return np.clip(canvas, 0, 255).astype(np.uint8), placed
