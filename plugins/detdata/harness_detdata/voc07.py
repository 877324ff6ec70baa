"""PASCAL VOC 2007 detection, read as it lies on disk, and a demo generator writing one.

Layout (``ROOT`` may hold ``VOCdevkit/`` or be ``VOCdevkit/`` itself; the folder that holds
``VOC2007/`` is mmdet's ``data_root``, see :func:`devkit_root`)::

    VOCdevkit/VOC2007/JPEGImages/<id>.jpg           (mmdet hard-codes .jpg)
    VOCdevkit/VOC2007/Annotations/<id>.xml          size, objects: name, difficult, 1-based bndbox
    VOCdevkit/VOC2007/ImageSets/Main/trainval.txt   image ids, one per line
    VOCdevkit/VOC2007/ImageSets/Main/test.txt

One split, ``'test'``: train items are the ids of ``trainval.txt``, test items those of
``test.txt``. The classes are the 20 VOC classes in their standard order (:data:`VOC_CLASSES`),
or, for a demo root, the first K of them that the demo drew (:func:`classes_of`). Counting
rules: a listed id whose image or annotation file is missing is skipped and counted
(``Split.missing``); a difficult object is kept with ``difficult=True`` (VOC's metric ignores
it); an object whose name is not a class is dropped and counted (``dropped['unknown_class']``);
a box less than one pixel wide or high as mmdet reads it (``xmax - xmin < 1`` or ``ymax - ymin
< 1`` of the XML's values truncated to integers, so an inverted box too) is dropped and counted
(``dropped['invalid_box']``): its regression target is the log of a width <= 0, a NaN loss.
mmdet reads the XML files itself: the detection protocol has it ignore those boxes in training
(the train dataset's ``filter_cfg.bbox_min_size = 1``). Boxes are stored as mmdet reads them:
the XML's 1-based values minus 1 (docs/image-evals.md §2).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

import numpy as np

from harness.api import demo, DataError
from harness.api import is_demo  # noqa: F401  (part of the layout API)
from harness_detdata.common import DEMO_SHAPES, DetItem, DetSplit

VOC_CLASSES: tuple[str, ...] = (
    'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
    'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
    'train', 'tvmonitor')
SPLITS = ('test',)
YEAR = 'VOC2007'
TRAIN_LIST, TEST_LIST = 'trainval', 'test'
GENERATOR_VERSION = 1
HELP = ('a voc07 root holds VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main/'
        '{trainval,test}.txt} (or is VOCdevkit itself)')
_HINT = f'{HELP}; point --data at it, or use --data demo'

#: demo class -> shape (harness.data.synth.SHAPES): the first K VOC classes, so VOCMetric's
#: table labels (VOC's own names) stay right (docs/image-evals.md §7)
DEMO_SPECS: dict[str, str] = dict(zip(VOC_CLASSES, DEMO_SHAPES))
CLASSES_DEMO: tuple[str, ...] = VOC_CLASSES[:4]


def devkit_root(root: str | os.PathLike) -> Path:
    """The ``VOCdevkit`` folder of ``root`` (mmdet's ``data_root``): ``root/VOCdevkit`` when it
    holds ``VOC2007/``, else ``root`` when it holds ``VOC2007/``; a one-line DataError
    naming the expected path otherwise."""
    root = Path(root).expanduser()
    for devkit in (root / 'VOCdevkit', root):
        if (devkit / YEAR).is_dir():
            return devkit
    raise DataError(f'no {root / "VOCdevkit" / YEAR} folder; {_HINT}')


def classes_of(root: str | os.PathLike) -> tuple[str, ...]:
    """The classes of the dataset at ``root``: the demo's (read from its ``DEMO.txt``) for a
    demo root, else the 20 VOC classes."""
    return demo_classes(root) or VOC_CLASSES


def demo_classes(root: str | os.PathLike) -> tuple[str, ...] | None:
    """The classes a demo generator recorded in ``root/DEMO.txt``, or None (not a demo)."""
    marker = Path(root).expanduser() / demo.DEMO_MARKER
    if not marker.is_file():
        return None
    for word in marker.read_text(encoding='utf-8', errors='replace').split():
        if word.startswith('classes='):
            return tuple(word[len('classes='):].split(','))
    return None


#: mmdet's ``filter_cfg.bbox_min_size`` that makes it ignore the boxes counted as invalid here.
MIN_BOX_SIZE = 1


def valid_box(box: tuple[float, ...]) -> bool:
    """Whether mmdet trains on the VOC box ``(xmin, ymin, xmax, ymax)`` (the XML's values): at
    least :data:`MIN_BOX_SIZE` wide and high once truncated to integers, as mmdet reads it."""
    xmin, ymin, xmax, ymax = (int(v) for v in box)
    return xmax - xmin >= MIN_BOX_SIZE and ymax - ymin >= MIN_BOX_SIZE


def parse_annotation(path: str | os.PathLike, classes: Iterable[str] = VOC_CLASSES
                     ) -> tuple[dict, dict[str, int]]:
    """One VOC XML file: ``({'width', 'height', 'boxes', 'labels', 'difficult'}, dropped)``,
    boxes as mmdet reads them (``x - 1``), ``dropped`` the objects left out by reason:
    ``unknown_class`` (a class not in ``classes``), ``invalid_box`` (:func:`valid_box`). A file
    that is not well-formed VOC XML is a one-line DataError."""
    index = {name: i for i, name in enumerate(classes)}
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as exc:
        raise DataError(f'cannot parse the VOC annotation {path}: {exc}') from None
    node = tree.getroot()
    try:
        size = node.find('size')
        width = int(float(size.findtext('width'))) if size is not None else 0
        height = int(float(size.findtext('height'))) if size is not None else 0
        boxes, labels, difficult = [], [], []
        dropped = {'unknown_class': 0, 'invalid_box': 0}
        for obj in node.findall('object'):
            name = (obj.findtext('name') or '').strip()
            if name not in index:
                dropped['unknown_class'] += 1
                continue
            bnd = obj.find('bndbox')
            raw = tuple(float(bnd.findtext(key)) for key in ('xmin', 'ymin', 'xmax', 'ymax'))
            if not valid_box(raw):
                dropped['invalid_box'] += 1
                continue
            box = tuple(value - 1.0 for value in raw)
            boxes.append(box)
            labels.append(index[name])
            difficult.append(bool(int(float(obj.findtext('difficult') or 0))))
    except (AttributeError, TypeError, ValueError) as exc:
        raise DataError(f'malformed VOC annotation {path}: {exc}') from None
    return dict(width=width, height=height, boxes=tuple(boxes), labels=tuple(labels),
                difficult=tuple(difficult)), dropped


def _ids(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text(encoding='utf-8').splitlines()
            if line.strip()]


def read_listing(root: str | os.PathLike, year: str, listing: str,
                 classes: Iterable[str]) -> tuple[tuple[DetItem, ...], int, dict[str, int]]:
    """The images of ``VOCdevkit/<year>/ImageSets/Main/<listing>.txt`` under ``root``:
    ``(items, missing, dropped)``, items with paths relative to ``root``; ``missing``: listed
    ids whose image or annotation is not on disk (skipped); ``dropped``: objects left out, by
    reason (:func:`parse_annotation`). A year folder without the listing is a one-line
    DataError."""
    root = Path(root).expanduser()
    folder = devkit_root(root) / year
    listed = folder / 'ImageSets' / 'Main' / f'{listing}.txt'
    for path in (folder / 'JPEGImages', folder / 'Annotations', listed):
        if not path.exists():
            raise DataError(f'no {path}; {_HINT}')
    prefix = folder.relative_to(root).as_posix() + '/'
    items, missing, dropped = [], 0, {'unknown_class': 0, 'invalid_box': 0}
    for image_id in _ids(listed):
        image, xml = folder / 'JPEGImages' / f'{image_id}.jpg', \
            folder / 'Annotations' / f'{image_id}.xml'
        if not image.is_file() or not xml.is_file():
            missing += 1
            continue
        ann, lost = parse_annotation(xml, classes)
        dropped = {reason: dropped[reason] + lost[reason] for reason in dropped}
        items.append(DetItem(f'{prefix}JPEGImages/{image_id}.jpg', image_id=image_id, **ann))
    return tuple(items), missing, dropped


def read_split(root: str | os.PathLike, split: str = 'test', *,
               classes: Iterable[str] | None = None) -> DetSplit:
    """Train items from ``trainval.txt``, test items from ``test.txt`` (split 'test'); paths
    relative to ``root``. ``classes``: default :func:`classes_of` ``root``."""
    if str(split) not in SPLITS:
        raise DataError(f"unknown voc07 split {split!r}; VOC 2007 has one split, 'test' "
                        '(train on trainval, test on test)')
    root = Path(root).expanduser()
    year = devkit_root(root) / YEAR
    classes = tuple(classes) if classes is not None else classes_of(root)
    train, lost_train, dropped_train = read_listing(root, YEAR, TRAIN_LIST, classes)
    test, lost_test, dropped_test = read_listing(root, YEAR, TEST_LIST, classes)
    if not train or not test:
        side = TRAIN_LIST if not train else TEST_LIST
        raise DataError(f'no image of {year}/ImageSets/Main/{side}.txt is on disk '
                        f'(.jpg under {year / "JPEGImages"}); {_HINT}')
    return DetSplit(name='test', classes=classes, train=train, test=test,
                    missing=lost_train + lost_test,
                    dropped={reason: dropped_train[reason] + dropped_test[reason]
                             for reason in dropped_train})


def prepare(root: str | os.PathLike) -> list[str]:
    """Check the layout at ``root`` and return what ``harness data prepare`` prints: one line of
    counts per split. mmdet reads the VOC files themselves, so nothing is written."""
    root = Path(root).expanduser()
    return [f'voc07 at {devkit_root(root)} (mmdet data_root): ' + read_split(root, s).summary()
            for s in SPLITS]


def annotation_xml(image_id: str, width: int, height: int,
                   objects: Iterable[tuple[str, tuple[int, int, int, int], bool]]) -> str:
    """A VOC annotation as the VOC devkit writes one: ``objects`` are ``(name, (xmin, ymin,
    xmax, ymax) 1-based inclusive, difficult)``."""
    node = ET.Element('annotation')
    ET.SubElement(node, 'folder').text = YEAR
    ET.SubElement(node, 'filename').text = f'{image_id}.jpg'
    source = ET.SubElement(node, 'source')
    ET.SubElement(source, 'database').text = 'ssl-harness demo'
    ET.SubElement(source, 'annotation').text = 'PASCAL VOC2007'
    size = ET.SubElement(node, 'size')
    for key, value in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(node, 'segmented').text = '0'
    for name, box, difficult in objects:
        obj = ET.SubElement(node, 'object')
        ET.SubElement(obj, 'name').text = name
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = str(int(difficult))
        bnd = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(bnd, key).text = str(int(value))
    ET.indent(node, space='\t')
    return ET.tostring(node, encoding='unicode') + '\n'


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  trainval: int = 96, test: int = 48, width: int = 320, height: int = 240,
                  seed: int = 0) -> Path:
    """Write a small synthetic VOC 2007 under ``root/VOCdevkit/VOC2007``; return ``root``.

    By default 96 trainval + 48 test JPEG images of 320 x 240, each with 1-3 shapes of 40-120
    pixels on a textured background (:func:`harness_detdata.common.render_scene`); the classes
    are the first 4 VOC classes, each one shape (:data:`DEMO_SPECS`), colour, texture, size,
    position and rotation drawn independently. Boxes are the tight 1-based inclusive VOC boxes
    of the drawn shapes; no box is difficult. Deterministic, idempotent, ``DEMO.txt`` last (as
    :func:`harness_imagedata.imagenet.generate_demo`).
    """
    from harness.api import synth  # cv2 is only needed when generating
    from harness.api import atomic_write_text
    from harness_detdata.common import render_scene

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 1 <= trainval <= 99999 or not 1 <= test <= 99999 or min(width, height) < 64:
        raise DataError('demo needs 1 <= trainval, test <= 99999 and images of at least 64 x 64 '
                        f'pixels; got trainval={trainval}, test={test}, {width} x {height}')
    params = demo.params_line('voc07', GENERATOR_VERSION, classes, dict(
        trainval=trainval, test=test, width=width, height=height, seed=seed))
    if not demo.begin(root, params, dataset='voc07', layout=('VOCdevkit',)):
        return root
    year = root / 'VOCdevkit' / YEAR
    shapes = [DEMO_SPECS[c] for c in classes]
    extent = (min(40, min(width, height) // 3), min(120, min(width, height) // 2))
    number = 0
    for listing, count in ((TRAIN_LIST, trainval), (TEST_LIST, test)):
        ids = []
        for _ in range(count):
            number += 1
            image_id = f'{number:06d}'
            rng = np.random.default_rng(demo.item_seed(seed, image_id))
            image, objects = render_scene(shapes, width=width, height=height, rng=rng,
                                          extent=extent)
            synth.write_image(year / 'JPEGImages' / f'{image_id}.jpg', image)
            atomic_write_text(year / 'Annotations' / f'{image_id}.xml', annotation_xml(
                image_id, width, height,
                [(classes[c], tuple(v + 1 for v in box), False) for c, box in objects]))
            ids.append(image_id)
        atomic_write_text(year / 'ImageSets' / 'Main' / f'{listing}.txt',
                          ''.join(f'{i}\n' for i in ids))
    demo.finish(root, params)
    return root
