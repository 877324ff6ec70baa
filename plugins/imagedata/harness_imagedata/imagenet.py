"""An ImageNet-style image folder, read as it lies on disk, and a demo generator writing one.

Layout::

    train/<class>/<image>     the class folders of train/ are the classes (sorted by name)
    val/<class>/<image>       images of the same classes

An image is a file with one of :data:`EXTENSIONS` (any case, so ImageNet's ``.JPEG`` too);
hidden files and folders (a leading ``.``) are skipped. There is one split, ``'val'``: train
items are the images under ``train/``, test items those under ``val/``. A train class folder
without images is no class (nothing could be learnt of it): it is left out and counted
(``Split.dropped['empty_class']``). A val folder holding images of no train class is an error
(its images could not be scored). Labels are 0-based indices into the sorted class names.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from harness.api import demo, DataItem, Split, DataError
from harness.api import is_demo  # noqa: F401  (part of the layout API)

EXTENSIONS = ('.jpeg', '.jpg', '.png', '.bmp', '.webp')
SPLITS = ('val',)
TRAIN_DIR, VAL_DIR = 'train', 'val'
GENERATOR_VERSION = 1

HELP = ('an imagenet root holds train/<class>/ and val/<class>/ folders of images '
        f'({" ".join(EXTENSIONS)})')
_HINT = f'{HELP}; point --data at it, or use --data demo'

# demo class -> (shape, texture) for harness.data.synth.render_image: every class has its own
# shape, and its texture differs from the classes of similar outline (colour says nothing)
DEMO_SPECS: dict[str, tuple[str, str]] = {
    'striped_circle': ('circle', 'stripes'),
    'checkered_square': ('square', 'checker'),
    'dotted_triangle': ('triangle', 'dots'),
    'plain_cross': ('cross', 'plain'),
    'striped_ring': ('ring', 'stripes'),
}
CLASSES_DEMO: tuple[str, ...] = tuple(DEMO_SPECS)


def _images(folder: Path) -> list[str]:
    """Names of the images directly in ``folder``, sorted."""
    return sorted(entry.name for entry in os.scandir(folder)
                  if not entry.name.startswith('.') and entry.is_file()
                  and os.path.splitext(entry.name)[1].lower() in EXTENSIONS)


def _class_folders(folder: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(folder)
                  if entry.is_dir() and not entry.name.startswith('.'))


def read_split(root: str | os.PathLike, split: str = 'val') -> Split:
    """Train items from ``train/<class>/``, test items from ``val/<class>/`` (split 'val').

    A missing root or folder, a train/ without images, or a val class that train/ lacks is a
    one-line :class:`DataError`."""
    root = Path(root).expanduser()
    if str(split) not in SPLITS:
        raise DataError(f"unknown imagenet split {split!r}; an image folder has one split, "
                        "'val' (train/ for training, val/ for testing)")
    for sub in (TRAIN_DIR, VAL_DIR):
        if not (root / sub).is_dir():
            raise DataError(f'no {sub}/ folder in {root}; {_HINT}')
    folders = _class_folders(root / TRAIN_DIR)
    if not folders:
        raise DataError(f'no class folders in {root / TRAIN_DIR}; {_HINT}')
    classes = tuple(name for name in folders if _images(root / TRAIN_DIR / name))
    empty = [name for name in folders if name not in classes]
    label = {name: i for i, name in enumerate(classes)}
    strays = [name for name in _class_folders(root / VAL_DIR)
              if name not in label and _images(root / VAL_DIR / name)]
    if strays:
        why = (f'{root / TRAIN_DIR / strays[0]} has no images' if strays[0] in empty else
               f'{root / TRAIN_DIR} has no folder {strays[0]}')
        raise DataError(f'{len(strays)} class folders of {root / VAL_DIR} hold images of no '
                        f'class of {root / TRAIN_DIR} (e.g. {strays[0]}: {why}); the two '
                        'folders must hold the same classes')

    def items(sub: str) -> tuple[DataItem, ...]:
        out = []
        for name in _class_folders(root / sub):
            if name in label:
                out += [DataItem(f'{sub}/{name}/{image}', label[name])
                        for image in _images(root / sub / name)]
        return tuple(out)

    train, test = items(TRAIN_DIR), items(VAL_DIR)
    if not train:
        raise DataError(f'no images under {root / TRAIN_DIR}; {_HINT}')
    if not test:
        raise DataError(f'no images under {root / VAL_DIR}; {_HINT}')
    return Split(name='val', classes=classes, train=train, test=test,
                 dropped={'empty_class': len(empty)})


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  train_per_class: int = 48, val_per_class: int = 24, size: int = 64,
                  seed: int = 0) -> Path:
    """Write a small synthetic image folder in the layout above under ``root``; return it.

    By default 5 classes (:data:`DEMO_SPECS`: a shape with a texture) x (48 train + 24 val) PNG
    images of 64 x 64 pixels: 240 train and 120 val images (one val image is 0.83 points).
    Colour, position, size, rotation and background vary per image. The train images also
    serve image pretraining.

    Deterministic: the same arguments give identical images. Idempotent: returns at once when
    ``DEMO.txt`` records the same parameters. ``DEMO.txt`` is written last, so an interrupted
    run is redone. Refuses to write into a folder that holds a layout it did not write.
    """
    from harness.api import synth  # cv2 is only needed when generating

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 1 <= train_per_class <= 9999 or not 1 <= val_per_class <= 9999 or size < 16:
        raise DataError('demo needs 1 <= train_per_class <= 9999, 1 <= val_per_class <= 9999 '
                        f'and size >= 16; got train_per_class={train_per_class}, '
                        f'val_per_class={val_per_class}, size={size}')
    params = demo.params_line('imagenet', GENERATOR_VERSION, classes, dict(
        train_per_class=train_per_class, val_per_class=val_per_class, size=size, seed=seed))
    if not demo.begin(root, params, dataset='imagenet', layout=(TRAIN_DIR, VAL_DIR)):
        return root
    for sub, count in ((TRAIN_DIR, train_per_class), (VAL_DIR, val_per_class)):
        for cls in classes:
            shape, texture = DEMO_SPECS[cls]
            for i in range(count):
                rel = f'{sub}/{cls}/{cls}_{i:05d}.png'
                rng = np.random.default_rng(demo.item_seed(seed, rel))
                synth.write_image(root / rel, synth.render_image(shape, texture, size=size,
                                                                 rng=rng))
    demo.finish(root, params)
    return root
