"""Unreadable-file detection: which listed videos or images decode, cached per file version.

A video is readable when decord opens it, reports at least one frame, decodes its first and
its last frame, and, for an AVI, none of its data is cut off. The last check exists because
decord (FFmpeg's AVI demuxer) rebuilds the index of an AVI cut short by scanning what is left:
a file cut to half its bytes opens, reports only the frames that survived (5 of 16) and
decodes all of them; cut inside its last frame, it reports all 16 and decodes a damaged last
frame. So the probe walks the AVI's RIFF chunks: one that runs past the end of the file means
the file is truncated. Losing only the trailing index (``idx1``) keeps every frame: readable.

An image is readable when the loaders' decoder reads it, OpenCV through mmcv's
``imfrombytes`` (what mmcv's ``LoadImageFromFile`` and the harness's image datasets decode
with: a file in a format only Pillow knows, an ICO or TGA named ``.jpg``, would stop feature
extraction or training), and, where Pillow knows the format, Pillow decodes all of it: OpenCV
returns the part of a truncated JPEG it could read, Pillow fails there.

Results are cached in a JSON file keyed by absolute path, size and mtime (and the version of
the check of that kind, :data:`CHECK_VERSIONS`), so a second probe of the same files opens none
of them.
"""
from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from harness.data.splits import DataItem
from harness.data.video import open_video
from harness.errors import DataError

CACHE_VERSION = 1
_SAVE_EVERY = 500  # new results between cache writes, so an interrupted probe keeps its work


@dataclass(frozen=True)
class ProbeResult:
    """``items`` split into readable ones and the paths of unreadable ones (with reasons)."""

    readable: tuple[DataItem, ...]
    unreadable: tuple[str, ...]
    reasons: Mapping[str, str] = field(default_factory=dict)


def _avi_cut(path: Path, size: int) -> str | None:
    """Where an AVI file of ``size`` bytes is cut short, or None (complete, or not an AVI).

    Walks the top-level chunks of every RIFF segment (``AVI `` and OpenDML ``AVIX``); a chunk
    that runs past the end of the file is a cut, except the trailing index ``idx1``, which
    FFmpeg rebuilds by scanning (every frame is still there).
    """
    try:
        with open(path, 'rb') as handle:
            head = handle.read(12)
            if head[:4] != b'RIFF' or head[8:12] != b'AVI ':
                return None
            offset = 12
            while offset + 8 <= size:
                handle.seek(offset)
                head = handle.read(12)
                kind, length = head[:4], struct.unpack_from('<I', head, 4)[0]
                if not all(32 <= byte < 127 for byte in kind) or (kind == b'LIST'
                                                                   and length < 4):
                    return None  # a chunk id or size this walk does not understand: no verdict
                if kind == b'RIFF':  # the next OpenDML segment: walk its chunks
                    offset += 12
                    continue
                end = offset + 8 + length
                if end > size and kind != b'idx1':
                    name = head[8:12] if kind == b'LIST' else kind
                    name = ''.join(chr(b) if 32 <= b < 127 else '?' for b in name).strip()
                    return (f"truncated: the file ends at byte {size}, inside its '{name}' "
                            f'chunk that runs to byte {end}')
                offset = end + (length & 1)
    except OSError:
        return None
    return None


def _size(path: Path) -> tuple[int, str | None]:
    """The file's size, and 'not on disk' or 'empty file' when it cannot be read at all."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0, 'not on disk'
    return size, 'empty file' if size == 0 else None


def check_video(path: str | os.PathLike) -> str | None:
    """Why the video at ``path`` is unreadable, or None when it is readable."""
    path = Path(path)
    size, problem = _size(path)
    if problem:
        return problem
    cut = _avi_cut(path, size)  # before decoding: FFmpeg would print its complaints
    if cut:
        return cut
    try:
        reader = open_video(str(path))
        count = len(reader)
        if count < 1:
            return 'no frames'
        reader.get_batch([0, count - 1]).asnumpy()
    except Exception as exc:  # decord raises DECORDError, RuntimeError and others
        message = re.sub(r'\[[0-9:]+\] \S+:[0-9]+: ', '', str(exc)).strip()  # log prefixes
        last = (message.splitlines() or [type(exc).__name__])[-1]
        return f'decord cannot decode it: {last[:200]}'
    return None


def check_image(path: str | os.PathLike) -> str | None:
    """Why the image at ``path`` is unreadable, or None when it is readable (see the module
    doc: the loaders' decoder reads it, and Pillow, where it knows the format, all of it)."""
    import io

    import cv2
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    size, problem = _size(path)
    if problem:
        return problem
    try:
        data = path.read_bytes()
        # what mmcv.imfrombytes(data, flag='color', backend='cv2') calls
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except Exception as exc:  # noqa: BLE001 - any failure of the decoder is the verdict
        image, reason = None, f': {str(exc)[:200] or type(exc).__name__}'
    else:
        reason = ''
    if image is None:
        return f"OpenCV (the loaders' decoder, through mmcv) cannot decode it{reason}"
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()  # decodes every byte: a cut-off file fails here
    except UnidentifiedImageError:
        return None  # a format Pillow does not know: OpenCV's decode is the verdict
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError and others
        return (f'damaged or cut off: OpenCV decodes part of it, Pillow cannot decode all of '
                f'it: {str(exc)[:200] or type(exc).__name__}')
    return None


#: How each kind of data (``DatasetInfo.data``) is checked, and what its files are called.
CHECKS = {'video': check_video, 'image': check_image}
#: The version of each kind's check, part of a cached verdict's key: a changed check probes
#: the files of its kind again (images: 2, decoded as the loaders decode them).
CHECK_VERSIONS = {'video': (), 'image': (2,)}
NOUNS = {'video': 'videos', 'image': 'images'}


def _load_cache(cache_file: Path | None) -> dict[str, list]:
    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        data = json.loads(cache_file.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return {}  # a damaged cache is only a slower probe
    if not isinstance(data, dict) or data.get('version') != CACHE_VERSION \
            or not isinstance(data.get('videos'), dict):
        return {}
    return data['videos']


def _save_cache(cache_file: Path, videos: Mapping[str, list]) -> None:
    from harness.io import atomic_write_text

    atomic_write_text(cache_file, json.dumps({'version': CACHE_VERSION, 'videos': videos},
                                             sort_keys=True, separators=(',', ':')))


def probe_items(root: str | os.PathLike, items: Iterable[DataItem], kind: str = 'video',
                cache_file: str | os.PathLike | None = None) -> ProbeResult:
    """Split ``items`` (paths relative to ``root``) into readable and unreadable files of
    ``kind`` ('video' or 'image', see :data:`CHECKS`).

    With ``cache_file``, results are read from and written to that JSON file, keyed by the
    absolute path, size and mtime of each file: an unchanged file is not opened again.
    """
    check = CHECKS[kind]
    root = Path(root).expanduser().resolve()
    cache_path = Path(cache_file).expanduser() if cache_file is not None else None
    cache = _load_cache(cache_path)
    readable: list[DataItem] = []
    unreadable: dict[str, str] = {}
    fresh = 0
    for item in items:
        path = root / item.path
        key = str(path)
        try:
            stat = path.stat()
            version = [stat.st_size, stat.st_mtime_ns, *CHECK_VERSIONS[kind]]
        except OSError:
            version = None
        hit = cache.get(key)
        if version is not None and isinstance(hit, list) and len(hit) == len(version) + 1 \
                and hit[:-1] == version:
            reason = hit[-1]
        else:
            reason = check(path)
            if version is not None:
                cache[key] = [*version, reason]
                fresh += 1
                if cache_path is not None and fresh % _SAVE_EVERY == 0:
                    _save_cache(cache_path, cache)
        if reason is None:
            readable.append(item)
        else:
            unreadable.setdefault(item.path, reason)
    if cache_path is not None and fresh:
        _save_cache(cache_path, cache)
    return ProbeResult(readable=tuple(readable), unreadable=tuple(unreadable),
                       reasons=unreadable)


def check_unreadable(unreadable: int, total: int, max_fraction: float,
                     examples: Sequence[str] = (), noun: str = 'videos') -> None:
    """Raise :class:`DataError` when more than ``max_fraction`` of ``total`` files (``noun``)
    are unreadable; ``examples`` (paths) are named in the message."""
    if total <= 0 or unreadable <= max_fraction * total:
        return
    named = f' (e.g. {", ".join(list(examples)[:3])})' if examples else ''
    raise DataError(f'{unreadable} of {total} {noun} are unreadable '
                    f'({100 * unreadable / total:.1f}%), above the limit of '
                    f'{100 * max_fraction:.1f}%: they do not decode or are truncated{named}; '
                    'raise --max-unreadable or repair the files')
