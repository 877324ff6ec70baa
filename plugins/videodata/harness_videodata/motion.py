"""Per-video motion labels for the temporal ``motion`` probe (optional, per dataset root).

File ``motionLabels.txt`` at the dataset root, one line per video::

    <DataItem.path> <label name>        e.g. "UCF-101/OrbitRing/v_OrbitRing_g01_c02.avi fast"

Paths are relative to the root as in :class:`harness.data.splits.DataItem`; label names are
single words. Real datasets do not label motion; the demo generators write the file from the
speed they draw for each video (:func:`speed_band`). Videos without a line are simply not
part of the probe.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from harness.api import DataError

MOTION_FILE = 'motionLabels.txt'
#: the labels :func:`speed_band` gives, slowest first
SPEED_BANDS = ('slow', 'medium', 'fast')


def speed_band(speed: float) -> str:
    """The motion label of a demo video drawn at ``speed`` (U(0.5, 2.0) in the generators):
    'slow' below 0.8, 'medium' below 1.25, 'fast' from 1.25 on."""
    if speed < 0.8:
        return 'slow'
    if speed < 1.25:
        return 'medium'
    return 'fast'


def write_motion_labels(root: str | os.PathLike, entries: Iterable[tuple[str, str]]) -> Path:
    """Write ``(path, label name)`` pairs to ``root/motionLabels.txt``, atomically; return it.

    Raises :class:`DataError` for a path or label that is empty or holds whitespace (the file
    is whitespace-separated) and for a path listed twice.
    """
    from harness.api import atomic_write_text

    lines, seen = [], set()
    for path, label in entries:
        path, label = str(path), str(label)
        for value, what in ((path, 'path'), (label, 'label')):
            if not value or any(ch.isspace() for ch in value):
                raise DataError(f'motion {what} {value!r} is empty or holds whitespace; '
                                f'{MOTION_FILE} needs single-word paths and labels')
        if path in seen:
            raise DataError(f'video {path} is listed twice for {MOTION_FILE}')
        seen.add(path)
        lines.append(f'{path} {label}\n')
    return atomic_write_text(Path(root).expanduser() / MOTION_FILE, ''.join(lines))


def read_motion_labels(root: str | os.PathLike) -> tuple[tuple[str, ...], dict[str, int]]:
    """``(label names sorted, {video path: label index})`` from ``root/motionLabels.txt``.

    Raises :class:`DataError` when the file is absent, empty, or has a malformed line.
    """
    root = Path(root).expanduser()
    path = root / MOTION_FILE
    if not path.is_file():
        raise DataError(f'{root} labels no motion type (no {MOTION_FILE}); the motion probe '
                        'needs one: use --data demo or write that file')
    text = path.read_text(encoding='utf-8-sig', errors='replace')
    named: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.strip().rsplit(None, 1)
        if not parts:
            continue
        if len(parts) != 2:
            raise DataError(f"bad line {n} in {path}: {line.strip()!r}; expected "
                            "'<video path> <label name>'")
        video, label = parts
        if named.setdefault(video, label) != label:
            raise DataError(f'{path} gives video {video} two motion labels '
                            f'({named[video]}, {label}); keep one line per video')
    if not named:
        raise DataError(f'{path} labels no videos; write one line per video '
                        "('<video path> <label name>') or use --data demo")
    names = tuple(sorted(set(named.values())))
    index = {name: i for i, name in enumerate(names)}
    return names, {video: index[label] for video, label in named.items()}
