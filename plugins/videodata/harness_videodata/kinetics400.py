"""Kinetics-400 as distributed, and a demo generator that writes the same layout.

Layout under a root::

    annotations/train.csv, annotations/val.csv
        label,youtube_id,time_start,time_end,split
        abseiling,-3B32lodo2M,59,69,train
        "petting animal (not cat)",0QIpIK9lpNk,7,17,train
    train/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4
    val/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4

``label`` is the class name (it may hold spaces and, quoted as CSV quotes it, commas); the class
folder is the label as is, or with spaces replaced by underscores (a common re-packaging), or
absent (videos directly under ``train/`` / ``val/``, as the CVDF archives unpack). Downloads
vary in container: ``.mkv`` and ``.webm`` files with the same stem are accepted too.

There is one split, ``'1'``: train = the rows of ``train.csv``, test = the rows of ``val.csv``;
labels are indices into the sorted class names of both files. Real Kinetics downloads always
miss some videos (taken off YouTube): rows whose video is not on disk are skipped and counted in
:attr:`Split.missing`, never an error.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
from pathlib import Path
from typing import Iterable

from harness.api import demo, Split, DataItem, DataError, atomic_write_text
from harness.api import is_demo  # noqa: F401  (part of the layout API)

ANNOTATION_DIR = 'annotations'
#: the csv of each side, and the folder its videos are in
SIDES = ('train', 'val')
SPLITS = ('1',)
COLUMNS = ('label', 'youtube_id', 'time_start', 'time_end', 'split')
#: container extensions, in order of preference when a video exists in several
EXTENSIONS = ('.mp4', '.mkv', '.webm')
GENERATOR_VERSION = 1

# demo class -> (shape, motion) for harness.data.synth: every class its own pair, named as
# Kinetics names classes (lower case words with spaces, some with a parenthesised note)
DEMO_SPECS: dict[str, tuple[str, str]] = {
    'sliding square': ('square', 'horizontal'),
    'lifting triangle': ('triangle', 'vertical'),
    'bouncing circle': ('circle', 'diagonal'),
    'orbiting ring': ('ring', 'orbit'),
    'spinning cross': ('cross', 'rotate'),
    'spinning square (not cross)': ('square', 'rotate'),
    'orbiting triangle': ('triangle', 'orbit'),
    'sliding ring': ('ring', 'horizontal'),
}
CLASSES_DEMO: tuple[str, ...] = tuple(DEMO_SPECS)

HELP = ('a Kinetics-400 root holds annotations/train.csv and annotations/val.csv '
        f'({",".join(COLUMNS)}) and the videos as '
        '{train,val}/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4')
_HINT = f'{HELP}; point --data at it, or use --data demo'


# ----------------------------------------------------------------------------------- reading


def video_stem(youtube_id: str, start: int, end: int) -> str:
    """The file name of a clip without its extension: ``<youtube_id>_<start:06d>_<end:06d>``."""
    return f'{youtube_id}_{start:06d}_{end:06d}'


def _seconds(value: str, path: Path, line: int, column: str) -> int:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10 ** 6 or seconds != int(seconds):
        raise DataError(f'bad {column} {value!r} on line {line} of {path}; expected whole '
                        'seconds as in the official Kinetics-400 csv files')
    return int(seconds)


def _read_csv(path: Path) -> list[tuple[str, str]]:
    """``(label, file stem)`` per row of an annotation csv, in file order."""
    with open(path, encoding='utf-8-sig', errors='replace', newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        names = [h.strip() for h in header or ()]
        needed = [c for c in COLUMNS[:4] if c not in names]
        if needed:
            raise DataError(f'{path} has no column {needed[0]!r} in its header line; expected '
                            f'the header {",".join(COLUMNS)}')
        at = {c: names.index(c) for c in COLUMNS[:4]}
        rows = []
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue  # a blank line
            line = reader.line_num
            if len(fields) < len(names):
                raise DataError(f'line {line} of {path} has {len(fields)} fields, the header '
                                f'{len(names)}; the file looks damaged, restore it from the '
                                'official Kinetics-400 annotations')
            label, youtube_id = fields[at['label']].strip(), fields[at['youtube_id']].strip()
            if not label or not youtube_id:
                raise DataError(f'line {line} of {path} has an empty label or youtube_id')
            start = _seconds(fields[at['time_start']].strip(), path, line, 'time_start')
            end = _seconds(fields[at['time_end']].strip(), path, line, 'time_end')
            rows.append((label, video_stem(youtube_id, start, end)))
    return rows


def _index(side_dir: Path) -> dict[str, dict[str, str]]:
    """folder name ('' for the side folder itself) -> {file stem: file name} of its videos;
    of several containers of one stem, the first in :data:`EXTENSIONS` wins."""
    rank = {ext: i for i, ext in enumerate(EXTENSIONS)}
    index: dict[str, dict[str, str]] = {}

    def add(folder: str, entries: Iterable[os.DirEntry]) -> None:
        found = index.setdefault(folder, {})
        for entry in entries:
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in rank and not entry.name.startswith('.') and entry.is_file():
                best = found.get(stem)
                if best is None or rank[ext.lower()] < rank[os.path.splitext(best)[1].lower()]:
                    found[stem] = entry.name

    if side_dir.is_dir():
        entries = list(os.scandir(side_dir))
        add('', entries)
        for entry in entries:
            if entry.is_dir() and not entry.name.startswith('.'):
                add(entry.name, os.scandir(entry.path))
    return index


def read_split(root: str | os.PathLike, split: str = '1') -> Split:
    """Read the Kinetics-400 layout under ``root`` (one split, ``'1'``: train.csv / val.csv).

    Raises :class:`DataError` when the root or an annotation file is missing, on a damaged csv,
    or when none of the listed videos is on disk. Rows whose video is missing are skipped and
    counted in :attr:`Split.missing`.
    """
    root = Path(root).expanduser()
    split = str(split)
    if split not in SPLITS:
        raise DataError(f"unknown Kinetics-400 split {split!r}; it has one split, '1' "
                        '(train.csv for training, val.csv for testing)')
    if not root.is_dir():
        raise DataError(f'no Kinetics-400 layout at {root}: the folder does not exist; {_HINT}')
    files = {side: root / ANNOTATION_DIR / f'{side}.csv' for side in SIDES}
    for path in files.values():
        if not path.is_file():
            raise DataError(f'no Kinetics-400 layout at {root}: missing {path}; {_HINT}')
    rows = {side: _read_csv(path) for side, path in files.items()}
    classes = tuple(sorted({label for side in SIDES for label, _ in rows[side]}))
    label_of = {c: i for i, c in enumerate(classes)}
    missing = 0
    items: dict[str, list[DataItem]] = {}
    for side in SIDES:
        index, seen, out = _index(root / side), set(), []
        for label, stem in rows[side]:
            for folder in dict.fromkeys((label, label.replace(' ', '_'), '')):
                name = index.get(folder, {}).get(stem)
                if name is not None:
                    path = f'{side}/{folder}/{name}' if folder else f'{side}/{name}'
                    if path not in seen:  # a row listed twice is one video
                        seen.add(path)
                        out.append(DataItem(path, label_of[label]))
                    break
            else:
                missing += 1
        items[side] = out
    if not items['train'] and not items['val']:
        listed = sum(len(r) for r in rows.values())
        raise DataError(f'no videos of the Kinetics-400 annotations found under '
                        f'{root / "train"}/ or {root / "val"}/ ({listed} csv rows, none on '
                        f'disk); {_HINT}')
    return Split(name=split, classes=classes, train=tuple(items['train']),
                 test=tuple(items['val']), missing=missing)


# -------------------------------------------------------------------------------------- demo


def _youtube_id(cls: str, side: str, index: int) -> str:
    """A YouTube-like id (11 characters of [A-Za-z0-9_-]), a fixed function of the row."""
    digest = hashlib.sha256(f'{cls}/{side}/{index}'.encode()).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()[:11]


def _start(cls: str, side: str, index: int) -> int:
    digest = hashlib.sha256(f'start:{cls}/{side}/{index}'.encode()).digest()
    return int.from_bytes(digest[:4], 'little') % 290


def _absent(classes: tuple[str, ...], absent: int) -> set[tuple[str, str]]:
    """The (class, side) of the rows listed but deliberately not written: spread over the
    classes, alternately train and val."""
    return {(classes[(3 * j) % len(classes)], SIDES[j % 2]) for j in range(absent)}


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  train_per_class: int = 20, val_per_class: int = 4, absent: int = 4,
                  frames: int = 48, size: int = 80, seed: int = 0) -> Path:
    """Write a small synthetic Kinetics-400 in its distributed layout under ``root``; return
    the root.

    ``train_per_class`` + ``val_per_class`` mp4 videos per class (8 x (20 + 4) = 192 by
    default: 160 train, 32 val), listed in ``annotations/{train,val}.csv``, plus ``absent`` rows
    (spread over classes, alternately train and val) whose video is deliberately not written,
    as in a real download (:attr:`Split.missing`). The csv labels hold spaces; the class
    folders have them replaced by underscores (the re-packaged variant of the layout), because
    the video lists the harness and mmaction2 read are whitespace-separated. Also writes
    ``motionLabels.txt`` (:mod:`harness_videodata.motion`): each video's speed band.

    Deterministic: the same arguments give byte-identical annotation files and videos.
    Idempotent: returns at once when ``DEMO.txt`` records the same parameters. ``DEMO.txt`` is
    written last, so an interrupted run is redone. Refuses to write into a folder that holds a
    Kinetics layout the generator did not write.
    """
    from harness_videodata.motion import speed_band, write_motion_labels

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 1 <= train_per_class <= 999 or not 1 <= val_per_class <= 999 \
            or not 0 <= absent <= 2 * len(classes) or frames < 1 or size < 16 or size % 2:
        raise DataError('demo needs 1 <= train_per_class <= 999, 1 <= val_per_class <= 999, '
                        '0 <= absent <= 2 x classes, frames >= 1 and an even size >= 16; got '
                        f'train_per_class={train_per_class}, val_per_class={val_per_class}, '
                        f'absent={absent}, frames={frames}, size={size}')
    params = demo.params_line('Kinetics-400', GENERATOR_VERSION, classes, dict(
        train_per_class=train_per_class, val_per_class=val_per_class, absent=absent,
        frames=frames, size=size, seed=seed))
    if not demo.begin(root, params, dataset='Kinetics-400', layout=(ANNOTATION_DIR, *SIDES)):
        return root
    (root / ANNOTATION_DIR).mkdir(parents=True)

    not_written = _absent(classes, absent)
    bands: list[tuple[str, str]] = []  # (DataItem.path, speed band)
    for side, count in (('train', train_per_class), ('val', val_per_class)):
        rows = []
        for cls in classes:
            extra = (cls, side) in not_written
            for i in range(count + extra):
                youtube_id, start = _youtube_id(cls, side, i), _start(cls, side, i)
                rows.append((cls, youtube_id, start, start + 10, side))
                if i == count:
                    continue  # listed, not on disk
                folder = cls.replace(' ', '_')
                rel = f'{side}/{folder}/{video_stem(youtube_id, start, start + 10)}.mp4'
                speed = demo.render_video(root / rel, DEMO_SPECS[cls], name=rel, seed=seed,
                                     frames=frames, size=size, check=not bands)
                bands.append((rel, speed_band(speed)))
        atomic_write_text(root / ANNOTATION_DIR / f'{side}.csv', _csv_text(rows))
    write_motion_labels(root, bands)
    demo.finish(root, params)
    return root


def _csv_text(rows: Iterable[tuple]) -> str:
    """The annotation csv (header and rows) as the csv module writes it, with '\\n' endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
