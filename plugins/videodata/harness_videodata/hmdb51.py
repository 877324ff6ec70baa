"""HMDB51 in its official layout, and a demo generator that writes the same layout.

Layout under a root (the class folders may also sit under ``videos/`` or ``hmdb51_org/``, as
people unpack the archives)::

    <class>/<video>.avi            e.g. brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi
    testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt
                                   lines "<video>.avi <flag> ": 1 train, 2 test, 0 unused

The 51 classes are the names in the split file names; a class's label is its index in sorted
order (as mmaction2's tools/data/parse_file_list.py numbers them). The reader tolerates the
quirks of the real download: trailing spaces, CRLF line endings, blank lines, and video names
with characters such as ``( ) ! & # + ;``. Listed train/test videos that are missing on disk are
skipped and counted in :attr:`Split.missing`.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterable

from harness.api import demo, Split, DataItem, DataError, atomic_write_text
from harness.api import is_demo  # noqa: F401  (part of the layout API)

SPLIT_DIR = 'testTrainMulti_7030_splits'
#: where the class folders may be, relative to the root, in the order they are looked for
VIDEO_DIRS = ('', 'videos', 'hmdb51_org')
SPLITS = ('1', '2', '3')
FLAGS = {'0': None, '1': 'train', '2': 'test'}
GENERATOR_VERSION = 1

_SPLIT_FILE = re.compile(r'^(.+)_test_split([0-9]+)\.txt$')

# demo class -> (shape, motion) for harness.data.synth: the pairs of the UCF101 demo, named the
# HMDB way (lower_case_with_underscores)
DEMO_SPECS: dict[str, tuple[str, str]] = {
    'slide_square': ('square', 'horizontal'),
    'lift_triangle': ('triangle', 'vertical'),
    'bounce_circle': ('circle', 'diagonal'),
    'orbit_ring': ('ring', 'orbit'),
    'spin_cross': ('cross', 'rotate'),
}
CLASSES_DEMO: tuple[str, ...] = tuple(DEMO_SPECS)

# demo "source movies" (one per group of clips), with the punctuation real HMDB51 names have
_DEMO_SOURCES = ('April_09', 'Shapes_in_Motion!', 'The_Demo_Reel_(2026)', 'Lines_&_Loops',
                 'Geometry_#3', 'Slow+Fast', 'Turns;_A_Study', 'Plain_Takes')
# HMDB51 meta tags: visible body part, camera motion, people, viewpoint, quality
_DEMO_TAGS = (('f', 'h', 'l', 'u'), ('cm', 'nm'), ('np1', 'np2', 'np3'),
              ('ba', 'fr', 'le', 'ri'), ('bad', 'goo', 'med'))

_HINT = (f'point --data at the folder holding the class folders and {SPLIT_DIR}/ '
         '(unpack hmdb51_org.rar and test_train_splits.rar there), or use --data demo')


# ----------------------------------------------------------------------------------- reading


def _split_files(split_dir: Path) -> dict[str, dict[str, Path]]:
    """split name -> {class: split file} for every ``<class>_test_split<k>.txt`` present."""
    found: dict[str, dict[str, Path]] = {}
    for entry in os.scandir(split_dir):
        m = _SPLIT_FILE.match(entry.name)
        if m and entry.is_file():
            found.setdefault(m.group(2), {})[m.group(1)] = Path(entry.path)
    return found


def _video_dir(root: Path, classes: tuple[str, ...]) -> str:
    """The folder (relative to ``root``, '' for the root) holding most of the class folders."""
    best, best_count = None, 0
    for sub in VIDEO_DIRS:
        base = root / sub if sub else root
        count = sum((base / c).is_dir() for c in classes)
        if count > best_count:
            best, best_count = sub, count
    if best is None:
        where = ', '.join(f'{root / d}/' if d else f'{root}/' for d in VIDEO_DIRS)
        raise DataError(f'no HMDB51 class folders (e.g. {classes[0]}/) in any of {where}; '
                        f'{_HINT}')
    return best


def read_split(root: str | os.PathLike, split: str = '1') -> Split:
    """Read split ``split`` ("1", "2" or "3") of the HMDB51 layout under ``root``.

    Raises :class:`DataError` when the root, the split folder or a class's split file is
    missing, when the split name is unknown, or on a malformed line (a flag other than 0, 1,
    2). Listed train/test videos that are missing on disk are skipped and counted.
    """
    root = Path(root).expanduser()
    split = str(split)
    if split not in SPLITS:
        raise DataError(f'unknown HMDB51 split {split!r}; use one of {", ".join(SPLITS)}')
    if not root.is_dir():
        raise DataError(f'no HMDB51 layout at {root}: the folder does not exist; {_HINT}')
    split_dir = root / SPLIT_DIR
    if not split_dir.is_dir():
        raise DataError(f'no HMDB51 layout at {root}: missing {split_dir}/; {_HINT}')
    files = _split_files(split_dir)
    classes = tuple(sorted({c for per_split in files.values() for c in per_split}))
    if not classes:
        raise DataError(f'no <class>_test_split{split}.txt files in {split_dir}; {_HINT}')
    absent = [c for c in classes if c not in files.get(split, {})]
    if absent:
        needed = split_dir / f'{absent[0]}_test_split{split}.txt'
        more = f' (and {len(absent) - 1} more)' if len(absent) > 1 else ''
        raise DataError(f'no HMDB51 split {split} at {root}: missing {needed}{more}; restore the '
                        'split files from the official test_train_splits.rar')
    sub = _video_dir(root, classes)
    prefix = f'{sub}/' if sub else ''
    train: list[DataItem] = []
    test: list[DataItem] = []
    missing = 0
    for label, cls in enumerate(classes):
        path = files[split][cls]
        class_dir = root / prefix / cls
        on_disk = {e.name for e in os.scandir(class_dir)} if class_dir.is_dir() else set()
        folded = {name.lower(): name for name in sorted(on_disk)}
        text = path.read_text(encoding='utf-8-sig', errors='replace')
        for n, line in enumerate(text.splitlines(), 1):
            parts = line.strip().rsplit(None, 1)
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in FLAGS:
                raise DataError(f'bad line {n} in {path}: {line.strip()!r}; expected '
                                "'<video file name> <flag>' with flag 1 (train), 2 (test) or "
                                '0 (unused); restore the file from test_train_splits.rar')
            name, flag = parts
            if FLAGS[flag] is None:
                continue
            found = name if name in on_disk else folded.get(name.lower())
            if found is None:
                missing += 1
                continue
            (train if FLAGS[flag] == 'train' else test).append(
                DataItem(f'{prefix}{cls}/{found}', label))
    if not train and not test:
        raise DataError(f'no videos of HMDB51 split {split} found under {root / prefix} '
                        f'({missing} listed, none on disk); {_HINT}')
    return Split(name=split, classes=classes, train=tuple(train), test=tuple(test),
                 missing=missing)


# -------------------------------------------------------------------------------------- demo


def _demo_name(cls: str, group: int, clip: int) -> str:
    """An HMDB51-style file name: ``<source>_<class>_<body>_<camera>_<people>_<view>_<quality>
    _<clip>.avi``; the tags are a fixed function of (class, group, clip), not of the seed."""
    source = _DEMO_SOURCES[(group - 1) % len(_DEMO_SOURCES)]
    if group > len(_DEMO_SOURCES):
        source = f'{source}_{(group - 1) // len(_DEMO_SOURCES) + 1}'
    digest = hashlib.sha256(f'{cls}/{group}/{clip}'.encode()).digest()
    tags = '_'.join(options[digest[i] % len(options)] for i, options in enumerate(_DEMO_TAGS))
    return f'{source}_{cls}_{tags}_{clip - 1}.avi'


def _demo_flag(split: int, groups: int, group: int, clip: int, clips: int) -> str:
    """Split k tests groups {2k-1, 2k} (wrapping) and leaves out (flag 0) the last clip of the
    two groups after them; everything else trains: about 70/30 train/test per class."""
    test = {(2 * split - 2) % groups + 1, (2 * split - 1) % groups + 1}
    unused = {(2 * split) % groups + 1, (2 * split + 1) % groups + 1}
    if group in test:
        return '2'
    return '0' if group in unused and clip == clips else '1'


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  groups: int = 8, clips_per_group: int = 3, frames: int = 48, size: int = 80,
                  seed: int = 0) -> Path:
    """Write a small synthetic HMDB51 in the official layout under ``root``; return the root.

    ``groups`` source movies of ``clips_per_group`` clips per class (24 videos per class by
    default); every split file lists all of a class's videos with flag 1, 2 or 0. Also writes
    ``motionLabels.txt`` (:mod:`harness_videodata.motion`): each video's speed band.

    Deterministic: the same arguments give byte-identical split files and identical videos.
    Idempotent: returns at once when ``DEMO.txt`` records the same parameters. ``DEMO.txt`` is
    written last, so an interrupted run is redone. Refuses to write into a folder that holds an
    HMDB51 layout the generator did not write.
    """
    from harness_videodata.motion import speed_band, write_motion_labels

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 4 <= groups <= 99 or not 2 <= clips_per_group <= 99 or frames < 1 or size < 16 \
            or size % 2:
        raise DataError('demo needs 4 <= groups <= 99, 2 <= clips_per_group <= 99, frames >= 1 '
                        f'and an even size >= 16; got groups={groups}, '
                        f'clips_per_group={clips_per_group}, frames={frames}, size={size}')
    params = demo.params_line('HMDB51', GENERATOR_VERSION, classes, dict(
        groups=groups, clips_per_group=clips_per_group, frames=frames, size=size, seed=seed))
    if not demo.begin(root, params, dataset='HMDB51', layout=(SPLIT_DIR, *DEMO_SPECS)):
        return root
    (root / SPLIT_DIR).mkdir(parents=True)

    entries: list[tuple[str, str, int, int]] = []  # (class, file name, group, clip)
    bands: list[tuple[str, str]] = []  # (DataItem.path, speed band)
    for cls in classes:
        for g in range(1, groups + 1):
            for c in range(1, clips_per_group + 1):
                name = _demo_name(cls, g, c)
                rel = f'{cls}/{name}'
                speed = demo.render_video(root / rel, DEMO_SPECS[cls], name=rel, seed=seed,
                                          frames=frames, size=size, check=not entries)
                entries.append((cls, name, g, c))
                bands.append((rel, speed_band(speed)))

    for cls in classes:
        for k in (1, 2, 3):  # the real files end every line with a space
            atomic_write_text(root / SPLIT_DIR / f'{cls}_test_split{k}.txt', ''.join(
                f'{name} {_demo_flag(k, groups, g, c, clips_per_group)} \n'
                for owner, name, g, c in entries if owner == cls))
    write_motion_labels(root, bands)
    demo.finish(root, params)
    return root
