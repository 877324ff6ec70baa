"""The types every dataset layout returns: a split of a dataset into train and test items."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class DataItem:
    """One file of a dataset (a video or an image): ``path`` relative to the dataset root
    (posix), ``label`` 0-based (-1 when the layout has no labels, e.g. a plain folder of
    videos)."""

    path: str
    label: int


@dataclass(frozen=True)
class Split:
    """One official train/test split; ``missing`` counts list entries without their file;
    ``dropped``: what else the reader left out, by reason (a detection set's boxes, an image
    folder's empty class folders), which an evaluation states in its record
    (``eval.dropped``) and its log."""

    name: str
    classes: tuple[str, ...]
    train: tuple[DataItem, ...]
    test: tuple[DataItem, ...]
    missing: int = 0
    dropped: Mapping[str, int] = field(default_factory=dict)
