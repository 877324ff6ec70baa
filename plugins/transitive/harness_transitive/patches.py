"""The mining stage of Transitive Invariance (docs/methods.md §4): every video of a list is
decoded once, its motion-salient patches are tracked (:func:`harness_transitive.mining.
mine_tracks`) and the first and last patch of each track are cut out. The result, a
:class:`PatchSet`, is cached in one ``.npz`` file named after what produced it (the video
list's sha256 and the mining options), so a second pretraining on the same videos mines
nothing; videos that cannot be decoded are skipped and counted.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from harness_transitive.mining import Box, mine_tracks

#: the mining options and their defaults (``mining=dict(...)`` of the dataset overrides them)
MINING_DEFAULTS = {
    'size': 40,  # patch side in the decoded frames, pixels
    'window': 8,  # frames a track spans
    'stride': 8,  # frames between two windows' starts
    'per_window': 2,  # tracks started per window (the most moving boxes)
    'min_ratio': 2.0,  # a box moves at least this many times the frame's median flow
    'max_frames': 48,  # frames decoded from the start of each video
}
#: bump when the mining code changes what it produces (part of the cache name)
MINING_VERSION = 1


@dataclass
class PatchSet:
    """Mined patches: ``patches`` ``uint8 [N, S, S, 3]`` RGB, ``track`` ``[N]`` (the track,
    i.e. object instance, a patch belongs to), ``video`` ``[N]`` (index into ``videos``).
    Track ``t``'s first patch is row ``2t`` and its last one row ``2t + 1``: those pairs are
    the intra-instance edges. ``skipped``: the videos that could not be decoded."""

    patches: np.ndarray
    track: np.ndarray
    video: np.ndarray
    videos: list[str]
    skipped: list[str]

    def __len__(self) -> int:
        return len(self.patches)

    @property
    def intra_edges(self) -> list[tuple[int, int]]:
        return [(2 * t, 2 * t + 1) for t in range(len(self.patches) // 2)]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, patches=self.patches, track=self.track, video=self.video,
                 videos=np.array(self.videos, dtype=str),
                 skipped=np.array(self.skipped, dtype=str))
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> 'PatchSet':
        with np.load(path) as data:
            return cls(data['patches'], data['track'], data['video'],
                       [str(v) for v in data['videos']], [str(v) for v in data['skipped']])


def mining_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults with ``options`` applied; an unknown option is an error."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(MINING_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown mining option(s) {', '.join(unknown)}; the options are "
                         f"{', '.join(MINING_DEFAULTS)}")
    return {**MINING_DEFAULTS, **options}


def cut(frame: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(frame[y0:y1, x0:x1])


def mine_video(frames: np.ndarray, options: Mapping[str, Any]) -> list[np.ndarray]:
    """The patches of one video's frames ``uint8 [T, H, W, 3]``: for each track its first and
    last patch, in track order (an empty list for a video too short or too still)."""
    if len(frames) < 2 or options['size'] > min(frames.shape[1:3]):
        return []
    tracks = mine_tracks(frames, size=options['size'], per_window=options['per_window'],
                         window=options['window'], stride=options['stride'],
                         min_ratio=options['min_ratio'])
    out = []
    for track in tracks:
        out += [cut(frames[track.start], track.first), cut(frames[track.end], track.last)]
    return out


def decode(path: str, max_frames: int) -> np.ndarray:
    """The first ``max_frames`` frames of a video, ``uint8 [T, H, W, 3]``."""
    from harness.api import open_video, read_frames

    reader = open_video(path)
    return read_frames(reader, range(min(len(reader), max_frames)))


def mine_patches(paths: Sequence[str], options: Mapping[str, Any],
                 read: Callable[[str, int], np.ndarray] = decode) -> PatchSet:
    """Mine every video of ``paths`` (decoded with ``read(path, max_frames)``)."""
    patches, track, video, skipped = [], [], [], []
    for index, path in enumerate(paths):
        try:
            found = mine_video(read(path, options['max_frames']), options)
        except Exception:  # a video that cannot be decoded is skipped and counted
            skipped.append(str(path))
            continue
        first = len(patches) // 2
        patches += found
        track += [first + k // 2 for k in range(len(found))]
        video += [index] * len(found)
    size = options['size']
    return PatchSet(np.stack(patches) if patches else np.zeros((0, size, size, 3), np.uint8),
                    np.asarray(track, dtype=np.int64), np.asarray(video, dtype=np.int64),
                    [str(p) for p in paths], skipped)


def cache_name(paths: Sequence[str], options: Mapping[str, Any]) -> str:
    """The cache file's name: a hash of the video list and the mining options."""
    text = json.dumps({'videos': [str(p) for p in paths], 'options': dict(options),
                       'version': MINING_VERSION}, sort_keys=True)
    return f'patches-{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz'


def load_or_mine(paths: Sequence[str], options: Mapping[str, Any], cache_dir: str | Path,
                 log: Callable[[str], None] = print,
                 read: Callable[[str, int], np.ndarray] = decode) -> PatchSet:
    """The :class:`PatchSet` of ``paths`` from the cache in ``cache_dir``, mined (and
    cached, atomically) when it is not there."""
    from harness.api import atomic_write_bytes

    path = Path(cache_dir) / cache_name(paths, options)
    if path.is_file():
        found = PatchSet.load(path)
        log(f'transitive: {len(found)} mined patches of {len(paths)} videos read from {path}')
        return found
    log(f'transitive: mining patches of {len(paths)} videos into {path}')
    mined = mine_patches(paths, options, read)
    atomic_write_bytes(path, mined.to_bytes())
    log(f'transitive: {len(mined) // 2} tracks mined ({len(mined.skipped)} unreadable videos '
        'skipped)')
    return mined
