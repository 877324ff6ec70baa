"""Datasets for pretraining, built by mmengine from configs (registry scope ``harness``)."""
from __future__ import annotations

import os.path as osp

from mmengine.dataset import BaseDataset

from harness.registry import DATASETS


@DATASETS.register_module()
class VideoListDataset(BaseDataset):
    """Videos listed one per line as ``relative/path.avi [label]`` in ``ann_file``.

    Paths are relative to ``data_root``; labels, when present, are kept but pretraining does not
    use them. The pipeline (e.g. ``SampleViews``) reads ``filename``.
    """

    def load_data_list(self) -> list[dict]:
        data_list = []
        with open(self.ann_file) as handle:
            for line in handle:
                parts = line.split()
                if not parts:
                    continue
                label = int(parts[1]) if len(parts) > 1 else -1
                data_list.append({'filename': osp.join(self.data_root, parts[0]),
                                  'label': label})
        return data_list
