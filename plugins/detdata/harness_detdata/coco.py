"""COCO 2017 detection, read as it lies on disk, and a demo generator writing one.

Layout::

    annotations/instances_train2017.json    COCO JSON: images, annotations, categories
    annotations/instances_val2017.json
    train2017/<file_name>                   the images the JSON names
    val2017/<file_name>

One split, ``'val2017'``: train items are the images of ``instances_train2017.json``, test items
those of ``instances_val2017.json``. The classes are the category names in category-id order
(both files must have the same categories); a box's label is the index of its category there.
Counting rules, those of mmdet's ``CocoDataset`` (docs/image-evals.md §2): an image listed in a
JSON but missing on disk is skipped and counted (``Split.missing``); an annotation marked
``ignore`` or with a category outside the categories is dropped (``dropped['unknown_class']``),
one with zero area, width or height < 1, or not overlapping its image is dropped
(``dropped['invalid_box']``); one whose ``image_id`` is no image of the file is dropped
(``dropped['no_image']``: mmdet never reads it); an ``iscrowd`` box is kept with
``difficult=True`` (the metric ignores it). Boxes are stored as mmdet reads them: ``[x, y,
x + w, y + h]``.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np

from harness.api import demo, DataError
from harness.api import is_demo  # noqa: F401  (part of the layout API)
from harness_detdata.common import DEMO_SHAPES, DetItem, DetSplit

SPLITS = ('val2017',)
TRAIN, VAL = 'train2017', 'val2017'
GENERATOR_VERSION = 1
HELP = ('a coco root holds annotations/instances_{train,val}2017.json and the train2017/ and '
        'val2017/ image folders')
_HINT = f'{HELP}; point --data at it, or use --data demo'

#: the first COCO categories (ids 1-5); the demo names its K classes after the first K
COCO_FIRST: tuple[str, ...] = ('person', 'bicycle', 'car', 'motorcycle', 'airplane')
DEMO_SPECS: dict[str, str] = dict(zip(COCO_FIRST, DEMO_SHAPES))
CLASSES_DEMO: tuple[str, ...] = COCO_FIRST[:4]


def ann_file(root: str | os.PathLike, subset: str) -> Path:
    """``root/annotations/instances_<subset>.json`` (mmdet's ``ann_file``)."""
    return Path(root).expanduser() / 'annotations' / f'instances_{subset}.json'


def _load(path: Path) -> dict:
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DataError(f'cannot read the COCO annotation file {path}: {exc}') from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in
                                             ('images', 'annotations', 'categories')):
        raise DataError(f'{path} is not a COCO instances file (it needs the lists images, '
                        'annotations and categories)')
    return data


def _categories(data: dict, path: Path) -> tuple[tuple[int, ...], tuple[str, ...]]:
    try:
        cats = sorted((int(c['id']), str(c['name'])) for c in data['categories'])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f'malformed categories in {path}: {exc}') from None
    if not cats:
        raise DataError(f'{path} has no categories')
    return tuple(i for i, _ in cats), tuple(n for _, n in cats)


def read_split(root: str | os.PathLike, split: str = 'val2017') -> DetSplit:
    """Train items from ``instances_train2017.json``, test items from
    ``instances_val2017.json`` (split 'val2017'); paths relative to ``root``."""
    if str(split) not in SPLITS:
        raise DataError(f"unknown coco split {split!r}; COCO 2017 has one split here, "
                        "'val2017' (train on train2017, test on val2017)")
    root = Path(root).expanduser()
    for path in (ann_file(root, TRAIN), ann_file(root, VAL), root / TRAIN, root / VAL):
        if not path.exists():
            raise DataError(f'no {path}; {_HINT}')
    missing = 0
    dropped = {'unknown_class': 0, 'invalid_box': 0, 'no_image': 0}
    reference: tuple[tuple[int, ...], tuple[str, ...]] | None = None

    def items(subset: str) -> tuple[DetItem, ...]:
        nonlocal missing, reference
        path = ann_file(root, subset)
        data = _load(path)
        cats = _categories(data, path)
        if reference is None:
            reference = cats
        elif cats != reference:
            raise DataError(f'{path} has other categories than {ann_file(root, TRAIN)}; both '
                            'files must list the same categories')
        label = {cat: i for i, cat in enumerate(cats[0])}
        per_image = defaultdict(list)
        for ann in data['annotations']:
            per_image[ann.get('image_id')].append(ann)
        out = []
        try:
            listed = {image['id'] for image in data['images']}
            dropped['no_image'] += sum(len(anns) for image_id, anns in per_image.items()
                                       if image_id not in listed)
            for image in data['images']:
                rel = f'{subset}/{image["file_name"]}'
                if not (root / rel).is_file():
                    missing += 1
                    continue
                width, height = int(image['width']), int(image['height'])
                boxes, labels, crowd = [], [], []
                for ann in per_image.get(image['id'], ()):
                    if ann.get('ignore', False) or ann.get('category_id') not in label:
                        dropped['unknown_class'] += 1
                        continue
                    x, y, w, h = (float(v) for v in ann['bbox'])
                    inter_w = max(0.0, min(x + w, width) - max(x, 0.0))
                    inter_h = max(0.0, min(y + h, height) - max(y, 0.0))
                    if inter_w * inter_h == 0 or float(ann.get('area', w * h)) <= 0 \
                            or w < 1 or h < 1:
                        dropped['invalid_box'] += 1
                        continue
                    boxes.append((x, y, x + w, y + h))
                    labels.append(label[ann['category_id']])
                    crowd.append(bool(ann.get('iscrowd', 0)))
                out.append(DetItem(rel, boxes=tuple(boxes), labels=tuple(labels),
                                   difficult=tuple(crowd), width=width, height=height,
                                   image_id=int(image['id'])))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f'malformed image or annotation in {path}: {exc!r}') from None
        return tuple(out)

    train, test = items(TRAIN), items(VAL)
    if not train or not test:
        subset = TRAIN if not train else VAL
        raise DataError(f'no image of {ann_file(root, subset)} is on disk under '
                        f'{root / subset}; {_HINT}')
    return DetSplit(name='val2017', classes=reference[1], train=train, test=test,
                    missing=missing, dropped=dropped)


def prepare(root: str | os.PathLike) -> list[str]:
    """Check the layout at ``root`` and return what ``harness data prepare`` prints: one line of
    counts per split. mmdet reads the JSON files themselves, so nothing is written."""
    return [f'coco at {Path(root).expanduser()}: ' + read_split(root, s).summary()
            for s in SPLITS]


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  train: int = 96, val: int = 48, width: int = 320, height: int = 240,
                  seed: int = 0) -> Path:
    """Write a small synthetic COCO 2017 under ``root``; return ``root``.

    The scenes of :func:`harness_detdata.voc07.generate_demo` (same renderer, sizes and
    counts), classes named after the first K COCO categories (:data:`DEMO_SPECS`, one shape
    each), JPEG files ``<image id:012d>.jpg`` as COCO names them; the JSON files carry
    ``info`` and ``licenses`` (pycocotools' ``loadRes`` needs ``info``), image and annotation
    ids unique across both files, category ids from 1, ``bbox`` ``[x, y, w, h]`` of the tight
    0-based pixel box (``w = x1 - x0 + 1``), ``area = w * h`` and ``iscrowd = 0``.
    Deterministic, idempotent, ``DEMO.txt`` last.
    """
    from harness.api import synth  # cv2 is only needed when generating
    from harness.api import atomic_write_text
    from harness_detdata.common import render_scene

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 1 <= train <= 99999 or not 1 <= val <= 99999 or min(width, height) < 64:
        raise DataError('demo needs 1 <= train, val <= 99999 and images of at least 64 x 64 '
                        f'pixels; got train={train}, val={val}, {width} x {height}')
    params = demo.params_line('coco', GENERATOR_VERSION, classes, dict(
        train=train, val=val, width=width, height=height, seed=seed))
    if not demo.begin(root, params, dataset='coco', layout=('annotations', TRAIN, VAL)):
        return root
    shapes = [DEMO_SPECS[c] for c in classes]
    extent = (min(40, min(width, height) // 3), min(120, min(width, height) // 2))
    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, name in enumerate(classes)]
    image_id = ann_id = 0
    for subset, count in ((TRAIN, train), (VAL, val)):
        images, annotations = [], []
        for _ in range(count):
            image_id += 1
            name = f'{image_id:012d}.jpg'
            rng = np.random.default_rng(demo.item_seed(seed, f'{subset}/{name}'))
            image, objects = render_scene(shapes, width=width, height=height, rng=rng,
                                          extent=extent)
            synth.write_image(root / subset / name, image)
            images.append(dict(id=image_id, file_name=name, width=width, height=height,
                               license=1))
            for cls, (x0, y0, x1, y1) in objects:
                ann_id += 1
                w, h = x1 - x0 + 1, y1 - y0 + 1
                annotations.append(dict(id=ann_id, image_id=image_id, category_id=cls + 1,
                                        bbox=[x0, y0, w, h], area=w * h, iscrowd=0))
        atomic_write_text(ann_file(root, subset), json.dumps(dict(
            info=dict(description='ssl-harness demo COCO', version='1.0', year=2017,
                      contributor='ssl-harness', date_created='2017-01-01'),
            licenses=[dict(id=1, name='synthetic', url='')],
            images=images, annotations=annotations, categories=categories)))
    demo.finish(root, params)
    return root
