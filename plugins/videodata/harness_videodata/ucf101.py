"""UCF101 in its official layout, and a demo generator that writes the same layout.

Layout under a root::

    UCF-101/<Class>/v_<Class>_gXX_cYY.avi
    ucfTrainTestlist/classInd.txt            "1 ApplyEyeMakeup"              (1-based)
    ucfTrainTestlist/trainlist0{1,2,3}.txt   "ApplyEyeMakeup/v_..._g08_c01.avi 1"
    ucfTrainTestlist/testlist0{1,2,3}.txt    "ApplyEyeMakeup/v_..._g01_c01.avi"  (no label)

The reader tolerates the quirks of the real download: CRLF line endings, blank lines, and names
whose case differs between list files and disk (``HandstandPushups/v_HandStandPushups_...``).
List entries whose video is missing are skipped and counted in :attr:`Split.missing`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from harness.api import demo, Split, DataItem, DataError, atomic_write_text
from harness.api import is_demo  # noqa: F401  (part of the layout API)

VIDEO_DIR = "UCF-101"
LIST_DIR = "ucfTrainTestlist"
SPLITS = ("1", "2", "3")
GENERATOR_VERSION = 2  # v2: also writes motionLabels.txt; videos as in v1

# demo class -> (shape, motion) for harness.data.synth; every class has its own shape and motion
DEMO_SPECS: dict[str, tuple[str, str]] = {
    "SlideSquare": ("square", "horizontal"),
    "LiftTriangle": ("triangle", "vertical"),
    "BounceCircle": ("circle", "diagonal"),
    "OrbitRing": ("ring", "orbit"),
    "SpinCross": ("cross", "rotate"),
}
CLASSES_DEMO: tuple[str, ...] = tuple(DEMO_SPECS)

_HINT = "point --data at the folder holding UCF-101/ and ucfTrainTestlist/, or use --data demo"


# ----------------------------------------------------------------------------------- reading


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank, stripped lines with 1-based line numbers; handles CRLF and a UTF-8 BOM."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _read_classes(path: Path) -> tuple[str, ...]:
    by_index: dict[int, str] = {}
    for n, line in _read_lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"bad line {n} in {path}: {line!r}; expected '<index> <ClassName>'")
        by_index[int(parts[0])] = parts[1]
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise DataError(f"class indices in {path} are not 1..N; the file looks damaged, "
                        "restore it from the official UCF101 split archive")
    return tuple(by_index[i] for i in range(1, len(by_index) + 1))


class _Resolver:
    """Maps a list entry ("Class/v_....avi") to an existing file under UCF-101/, if any."""

    def __init__(self, video_dir: Path):
        self.video_dir = video_dir
        self._folded: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        if self._folded is None:  # built only when some exact path is missing
            folded: dict[str, str] = {}
            for cls in sorted(os.scandir(self.video_dir), key=lambda e: e.name):
                if cls.is_dir():
                    for f in sorted(os.scandir(cls.path), key=lambda e: e.name):
                        folded.setdefault(f"{cls.name}/{f.name}".lower(), f"{cls.name}/{f.name}")
            self._folded = folded
        return self._folded

    def __call__(self, entry: str) -> str | None:
        entry = entry.replace("\\", "/").lstrip("/")
        if (self.video_dir / entry).is_file():
            return entry
        return self._index().get(entry.lower())


def read_split(root: str | os.PathLike, split: str = "1") -> Split:
    """Read split ``split`` ("1", "2" or "3") of the UCF101 layout under ``root``.

    Raises :class:`DataError` when the root, the video folder or a list file is missing, or
    when the split name is unknown. Entries whose video is missing are skipped and counted.
    """
    root = Path(root).expanduser()
    split = str(split)
    if split not in SPLITS:
        raise DataError(f"unknown UCF101 split {split!r}; use one of {', '.join(SPLITS)}")
    if not root.is_dir():
        raise DataError(f"no UCF101 layout at {root}: the folder does not exist; {_HINT}")
    list_dir, video_dir = root / LIST_DIR, root / VIDEO_DIR
    class_file = list_dir / "classInd.txt"
    train_file, test_file = list_dir / f"trainlist0{split}.txt", list_dir / f"testlist0{split}.txt"
    for needed in (class_file, train_file, test_file):
        if not needed.is_file():
            raise DataError(f"no UCF101 layout at {root}: missing {needed}; {_HINT}")
    if not video_dir.is_dir():
        raise DataError(f"no UCF101 layout at {root}: missing {video_dir}/; {_HINT}")

    classes = _read_classes(class_file)
    label_of = {c.lower(): i for i, c in enumerate(classes)}
    resolve = _Resolver(video_dir)
    missing = 0

    def items(path: Path, labelled: bool) -> tuple[DataItem, ...]:
        nonlocal missing
        out = []
        for n, line in _read_lines(path):
            parts = line.split()
            entry = parts[0]
            if labelled and len(parts) >= 2:
                if not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(classes):
                    raise DataError(f"bad label on line {n} of {path}: {line!r}; "
                                    f"expected 1..{len(classes)} as in {class_file.name}")
                label = int(parts[1]) - 1
            else:
                folder = entry.replace("\\", "/").split("/")[0].lower()
                if folder not in label_of:
                    raise DataError(f"line {n} of {path} names class folder {folder!r} that is "
                                    f"not in {class_file}; the split files do not match")
                label = label_of[folder]
            found = resolve(entry)
            if found is None:
                missing += 1
                continue
            out.append(DataItem(f"{VIDEO_DIR}/{found}", label))
        return tuple(out)

    train, test = items(train_file, True), items(test_file, False)
    if not train and not test:
        raise DataError(f"no videos of UCF101 split {split} found under {video_dir} "
                        f"({missing} list entries, none on disk); {_HINT}")
    return Split(name=split, classes=classes, train=train, test=test, missing=missing)


def files_sha256(items: Iterable[DataItem]) -> str:
    """sha256 hex digest of the sorted "path label" lines: the identity of a file list."""
    from harness.api import list_sha256

    return list_sha256(items)


# -------------------------------------------------------------------------------------- demo


def _test_groups(split: int, groups: int) -> set[int]:
    """Split k tests groups {2k-1, 2k} (1-based), wrapping around when there are few groups."""
    return {(2 * split - 2) % groups + 1, (2 * split - 1) % groups + 1}


def generate_demo(root: str | os.PathLike, *, classes: Iterable[str] = CLASSES_DEMO,
                  groups: int = 3, clips_per_group: int = 8, frames: int = 48, size: int = 80,
                  seed: int = 0) -> Path:
    """Write a small synthetic UCF101 in the official layout under ``root``; return the root.

    By default 5 classes x 3 groups x 8 clips = 120 videos; each split tests on two groups (80
    videos, so one video is 1.25 points) and trains on the third (40 videos): few labels, as
    SSL is meant to be used, beside the larger unlabelled demo Kinetics-400 pretraining pool.

    Deterministic: the same arguments give byte-identical split files and identical videos.
    Also writes ``motionLabels.txt`` (:mod:`harness_videodata.motion`): each video's speed band.
    Idempotent: returns at once when ``DEMO.txt`` records the same parameters. ``DEMO.txt`` is
    written last, so an interrupted run is redone. Refuses to write into a folder that holds a
    UCF101 layout the generator did not write.
    """
    from harness_videodata.motion import speed_band, write_motion_labels

    root = Path(root).expanduser()
    classes = tuple(classes)
    demo.check_classes(classes, DEMO_SPECS)
    if not 3 <= groups <= 99 or not 1 <= clips_per_group <= 99 or frames < 1 or size < 16 \
            or size % 2:
        raise DataError("demo needs 3 <= groups <= 99, 1 <= clips_per_group <= 99, frames >= 1 "
                        f"and an even size >= 16; got groups={groups}, "
                        f"clips_per_group={clips_per_group}, frames={frames}, size={size}")
    params = demo.params_line("UCF101", GENERATOR_VERSION, classes, dict(
        groups=groups, clips_per_group=clips_per_group, frames=frames, size=size, seed=seed))
    if not demo.begin(root, params, dataset="UCF101", layout=(VIDEO_DIR, LIST_DIR)):
        return root
    (root / LIST_DIR).mkdir(parents=True)

    entries: list[tuple[str, int, int]] = []  # ("Class/v_...avi", 0-based label, group)
    bands: list[tuple[str, str]] = []  # (DataItem.path, speed band)
    for label, cls in enumerate(classes):
        for g in range(1, groups + 1):
            for c in range(1, clips_per_group + 1):
                rel = f"{cls}/v_{cls}_g{g:02d}_c{c:02d}.avi"
                speed = demo.render_video(root / VIDEO_DIR / rel, DEMO_SPECS[cls], name=rel,
                                          seed=seed, frames=frames, size=size,
                                          check=not entries)
                entries.append((rel, label, g))
                bands.append((f"{VIDEO_DIR}/{rel}", speed_band(speed)))

    lists = root / LIST_DIR
    atomic_write_text(lists / "classInd.txt",
                      "".join(f"{i} {c}\n" for i, c in enumerate(classes, 1)))
    for k in (1, 2, 3):
        test_groups = _test_groups(k, groups)
        atomic_write_text(lists / f"trainlist0{k}.txt", "".join(
            f"{rel} {label + 1}\n" for rel, label, g in entries if g not in test_groups))
        atomic_write_text(lists / f"testlist0{k}.txt", "".join(
            f"{rel}\n" for rel, _, g in entries if g in test_groups))
    write_motion_labels(root, bands)
    demo.finish(root, params)
    return root
