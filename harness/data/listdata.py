"""Datasets for pretraining, built by mmengine from configs (registry scope ``harness``)."""
from __future__ import annotations

import os.path as osp

from mmengine.dataset import BaseDataset

from harness.data.seeding import SeededItems
from harness.registry import DATASETS


@DATASETS.register_module()
class VideoListDataset(SeededItems, BaseDataset):
    """Videos listed one per line as ``relative/path.avi [label]`` in ``ann_file``.

    Paths are relative to ``data_root`` and may contain spaces (Kinetics class folders do): a
    line's last field is its label when it is an integer. Labels are kept but pretraining does
    not use them. The pipeline (e.g. ``SampleViews``) reads ``filename``. An item asked for as
    ``(index, seed)`` (by the pretraining's ``SeededInfiniteSampler``) draws its randomness from
    generators seeded for it alone (:mod:`harness.data.seeding`).
    """

    def load_data_list(self) -> list[dict]:
        data_list = []
        with open(self.ann_file, encoding='utf-8') as handle:
            for line in handle:
                line = line.rstrip('\r\n')
                if not line.strip():
                    continue
                path, _, last = line.rpartition(' ')
                if not path or not last.lstrip('-').isdigit():
                    path, last = line, '-1'
                data_list.append({'filename': osp.join(self.data_root, path),
                                  'label': int(last)})
        return data_list


@DATASETS.register_module()
class ImageListDataset(VideoListDataset):
    """Images listed as :class:`VideoListDataset` lists videos (``relative/path.png [label]``
    per line); each sample also carries ``img_path``, the key mmcv's ``LoadImageFromFile``
    reads."""

    def load_data_list(self) -> list[dict]:
        return [dict(item, img_path=item['filename']) for item in super().load_data_list()]
