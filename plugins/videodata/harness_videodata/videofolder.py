"""A plain folder of unlabelled videos (for pretraining), and a demo generator writing one.

Every file under the root, at any depth, whose extension is one of :data:`EXTENSIONS` (any
case) is a video; hidden files and folders (a leading ``.``: temporary files of writers,
``.git``) are skipped, and symlinked folders are followed (each real folder once). There are no
labels: one split, ``'1'``, whose train items are all the videos sorted by path, label -1, and
whose test items are none.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from harness.api import demo, Split, DataItem, DataError
from harness.api import is_demo  # noqa: F401  (part of the layout API)

EXTENSIONS = ('.avi', '.mp4', '.mkv', '.webm', '.mov')
SPLITS = ('1',)
GENERATOR_VERSION = 1

HELP = f'a videofolder root holds video files ({" ".join(EXTENSIONS)}) at any depth'
_HINT = f'{HELP}; point --data at it, or use --data demo'

# demo sub-folder -> (container extension, the synth (shape, motion) pairs its videos cycle)
DEMO_FOLDERS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    'street': ('.mp4', (('square', 'horizontal'), ('circle', 'diagonal'))),
    'park/morning': ('.avi', (('triangle', 'vertical'), ('ring', 'orbit'))),
    'park/evening': ('.avi', (('cross', 'rotate'), ('square', 'rotate'))),
}


def _videos(root: Path) -> Iterator[str]:
    """Paths (posix, relative to ``root``) of the videos under ``root``, in no set order."""
    visited: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a symlink loop, or a folder linked twice
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        rel = Path(folder).relative_to(root)
        for name in files:
            if not name.startswith('.') and os.path.splitext(name)[1].lower() in EXTENSIONS \
                    and os.path.isfile(os.path.join(folder, name)):
                yield (rel / name).as_posix()


def read_split(root: str | os.PathLike, split: str = '1') -> Split:
    """Every video under ``root`` as the train items of split ``'1'`` (sorted by path, label
    -1); no classes, no test items. A missing root, or one without any video, is a one-line
    :class:`DataError`."""
    root = Path(root).expanduser()
    split = str(split)
    if split not in SPLITS:
        raise DataError(f"unknown videofolder split {split!r}; a folder of videos has one "
                        "split, '1'")
    if not root.is_dir():
        raise DataError(f'no video folder at {root}: the folder does not exist; {_HINT}')
    paths = sorted(_videos(root))
    if not paths:
        raise DataError(f'no videos under {root}; {_HINT}')
    return Split(name=split, classes=(), train=tuple(DataItem(p, -1) for p in paths), test=())


def generate_demo(root: str | os.PathLike, *, videos_per_folder: int = 8, frames: int = 48,
                  size: int = 80, seed: int = 0) -> Path:
    """Write a small folder of synthetic videos under ``root``; return the root.

    ``videos_per_folder`` clips in each of the folders of :data:`DEMO_FOLDERS` (3 folders, two
    of them nested, mp4 and avi: 24 videos by default), named ``clip_NNN.<ext>``.

    Deterministic: the same arguments give identical videos. Idempotent: returns at once when
    ``DEMO.txt`` records the same parameters. ``DEMO.txt`` is written last, so an interrupted
    run is redone. Refuses to write into a folder that holds videos the generator did not write.
    """
    root = Path(root).expanduser()
    if not 1 <= videos_per_folder <= 999 or frames < 1 or size < 16 or size % 2:
        raise DataError('demo needs 1 <= videos_per_folder <= 999, frames >= 1 and an even size '
                        f'>= 16; got videos_per_folder={videos_per_folder}, frames={frames}, '
                        f'size={size}')
    params = demo.params_line('videofolder', GENERATOR_VERSION, (), dict(
        videos_per_folder=videos_per_folder, frames=frames, size=size, seed=seed))
    ours = (root / demo.DEMO_MARKER).is_file() or (root / demo.PARTIAL_MARKER).is_file()
    if not ours and root.is_dir() and next(_videos(root), None) is not None:
        raise DataError(f'{root} already holds videos that the demo generator did not write; '
                        'choose an empty folder for the demo')
    tops = tuple(dict.fromkeys(folder.split('/')[0] for folder in DEMO_FOLDERS))
    if not demo.begin(root, params, dataset='video folder', layout=tops):
        return root
    for folder, (ext, specs) in DEMO_FOLDERS.items():
        for i in range(videos_per_folder):
            rel = f'{folder}/clip_{i:03d}{ext}'
            demo.render_video(root / rel, specs[i % len(specs)], name=rel, seed=seed,
                              frames=frames, size=size, check=i == 0)
    demo.finish(root, params)
    return root
