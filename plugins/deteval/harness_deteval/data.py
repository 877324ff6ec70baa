"""The detection datasets of a run, as mmdet's ``VOCDataset`` and ``CocoDataset`` read them.

mmdet reads the official files itself; the harness only points it at the images the split
kept. A listed image that is missing on disk (or that the run's probe found unreadable) would
stop mmdet mid-training, so when the split left any out, the dataset reads a copy of the
listing without them, written into the run's list folder: an ``ImageSets`` id list for
VOC, an annotation JSON for COCO (which ``CocoMetric`` then scores against, so both sides
agree). Otherwise the official files are read as they are.

VOC07+12 (the MoCo protocol) trains on ``ConcatDataset(VOC2007 trainval, VOC2012 trainval)``
with ``ignore_keys=['dataset_type']``: mmdet's VOCDataset names its year in its metainfo, which
mmengine's ConcatDataset otherwise refuses as mismatched (docs/image-evals.md §1c).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from harness.api import ConfigError, DataError

VOC_YEARS = ('VOC2007', 'VOC2012')


@dataclass
class DetectionData:
    """The datasets of one run: ``train`` / ``test`` mmdet dataset configs, the metric
    annotation file (COCO), and the files the run reads that the harness writes before
    training (path -> text)."""

    train: dict
    test: dict
    ann_file: str | None = None
    files: dict[Path, str] = field(default_factory=dict)
    train_images: int = 0
    #: boxes left out of the sets read besides the split's (VOC2012), by reason
    dropped: dict[str, int] = field(default_factory=dict)


def _template(dataset: Mapping[str, Any], where: str) -> dict:
    """A dataset config of the protocol, its harness-set keys checked to be left None."""
    out = copy.deepcopy(dict(dataset))
    for key in ('data_root', 'ann_file', 'data_prefix', 'metainfo'):
        if out.get(key) is not None:
            raise ConfigError(f'detection config: {where}.{key}={out[key]!r}: the harness sets '
                              'it from --data; leave it None')
    return out


def voc_data(train_template: Mapping, test_template: Mapping, root: Path, split,
             train_sets: Sequence[str], lists: Path) -> DetectionData:
    """VOC datasets: train on the trainval of each year in ``train_sets`` (VOC2007 from the
    run's split, VOC2012 read here), test on VOC2007 test."""
    from harness_detdata import voc07

    unknown = [year for year in train_sets if year not in VOC_YEARS]
    if unknown or not train_sets:
        raise ConfigError(f'detection config: train_sets={list(train_sets)!r}: VOC trains on '
                          f"one or more of {', '.join(VOC_YEARS)}")
    devkit = voc07.devkit_root(root)
    data = DetectionData(train={}, test={})
    trains = []
    for year in train_sets:
        if year == voc07.YEAR:
            items, listed = split.train, None
        else:
            if not (devkit / year).is_dir():
                raise DataError(f'this config trains on VOC2007+2012 trainval, but there is no '
                                f'{devkit / year}: put VOC2012 beside VOC2007, or use the '
                                "voc07 config 'paper07' (VOC2007 trainval only)")
            items, missing, lost = voc07.read_listing(root, year, voc07.TRAIN_LIST,
                                                      split.classes)
            listed = len(items) + missing
            data.dropped = {reason: data.dropped.get(reason, 0) + n
                            for reason, n in lost.items()}
        trains.append(_voc_dataset(train_template, 'train_dataloader.dataset', devkit, year,
                                   voc07.TRAIN_LIST, items, split.classes, lists, data,
                                   test_mode=False, listed=listed))
        data.train_images += len(items)
    data.train = trains[0] if len(trains) == 1 else dict(
        type='ConcatDataset', datasets=trains, ignore_keys=['dataset_type'])
    data.test = _voc_dataset(test_template, 'test_dataloader.dataset', devkit, voc07.YEAR,
                             voc07.TEST_LIST, split.test, split.classes, lists, data,
                             test_mode=True)
    return data


def _voc_dataset(template: Mapping, where: str, devkit: Path, year: str, listing: str,
                 items: Iterable, classes: Sequence[str], lists: Path, data: DetectionData,
                 *, test_mode: bool, listed: int | None = None) -> dict:
    """One VOCDataset config reading ``items`` (a run's DetItems) of ``year``'s ``listing``;
    a train set ignores the boxes :func:`harness_detdata.voc07.valid_box` refuses
    (``filter_cfg.bbox_min_size``)."""
    from harness_detdata import voc07
    dataset = _template(template, where)
    official = devkit / year / 'ImageSets' / 'Main' / f'{listing}.txt'
    ids = [str(item.image_id) for item in items]
    if listed is None:
        listed = len(official.read_text(encoding='utf-8').split())
    ann_file = official
    if len(ids) != listed:  # some listed images were left out: read a list without them
        ann_file = lists / f'voc07_{year}_{listing}.txt'
        data.files[ann_file] = ''.join(f'{i}\n' for i in ids)
    dataset.update(data_root=str(devkit), ann_file=str(ann_file),
                   data_prefix=dict(sub_data_root=f'{year}/'),
                   metainfo=dict(classes=tuple(classes)))
    if test_mode:
        dataset['test_mode'] = True
    else:  # the boxes voc07 counts as invalid are ignored in training (mmdet: ignore_flag)
        dataset['filter_cfg'] = dict(dataset.get('filter_cfg') or {})
        dataset['filter_cfg'].setdefault('bbox_min_size', voc07.MIN_BOX_SIZE)
    return dataset


def coco_data(train_template: Mapping, test_template: Mapping, root: Path, split,
              lists: Path) -> DetectionData:
    """COCO datasets: train on train2017, test on val2017 (the metric's annotation file)."""
    from harness_detdata import coco

    data = DetectionData(train={}, test={}, train_images=len(split.train))
    files = {}
    for subset, items in ((coco.TRAIN, split.train), (coco.VAL, split.test)):
        official = coco.ann_file(root, subset)
        files[subset] = _coco_annotations(official, {item.image_id for item in items},
                                          lists / f'coco_instances_{subset}.json', data)
    data.train = _coco_dataset(train_template, 'train_dataloader.dataset', root, coco.TRAIN,
                               files[coco.TRAIN], split.classes, test_mode=False)
    data.test = _coco_dataset(test_template, 'test_dataloader.dataset', root, coco.VAL,
                              files[coco.VAL], split.classes, test_mode=True)
    data.ann_file = str(files[coco.VAL])
    return data


def _coco_annotations(official: Path, kept: set, copy_path: Path, data: DetectionData
                      ) -> Path:
    """``official``, or when the run kept fewer of its images, a copy at ``copy_path`` with
    only the kept images and their annotations (to be written by :meth:`DetectionData.write`)."""
    if _image_ids(official, official.stat().st_mtime_ns) <= kept:
        return official
    with open(official, encoding='utf-8') as handle:
        content = json.load(handle)
    content['images'] = [image for image in content['images'] if image['id'] in kept]
    content['annotations'] = [ann for ann in content['annotations']
                              if ann.get('image_id') in kept]
    data.files[copy_path] = json.dumps(content)
    return copy_path


@lru_cache(maxsize=8)
def _image_ids(path: Path, mtime_ns: int) -> frozenset:
    """The image ids of a COCO annotation file (read once per file version: the config is
    built for every seed of a run, and the train file of real COCO is 450 MB)."""
    with open(path, encoding='utf-8') as handle:
        return frozenset(image['id'] for image in json.load(handle)['images'])


def _coco_dataset(template: Mapping, where: str, root: Path, subset: str, ann_file: Path,
                  classes: Sequence[str], *, test_mode: bool) -> dict:
    dataset = _template(template, where)
    dataset.update(data_root=str(root), ann_file=str(ann_file),
                   data_prefix=dict(img=f'{subset}/'), metainfo=dict(classes=tuple(classes)))
    if test_mode:
        dataset['test_mode'] = True
    return dataset
