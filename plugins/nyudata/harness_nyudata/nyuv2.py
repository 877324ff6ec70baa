"""NYU Depth v2 (the 1449 labeled images: surface normals and depth), read as it lies on disk,
its loaders, a demo generator, and ``prepare`` (converting the official files into the layout).

Layout (docs/image-evals.md §4)::

    images/<id:06d>_rgb.jpg         RGB image (a JPEG written by OpenCV: BGR on disk, as usual)
    depth/<id:06d>_depth.png        uint16 depth in millimetres, 0 = invalid
    normals/nm_<id:06d>.mat         MATLAB v5: nx, ny, nz float32 [H, W] unit normals and
                                    depthValid uint8 [H, W] (1 valid, 0 invalid): the
                                    MarrRevisited/Fouhey per-image layout
    splits/trainlist.txt            one 1-based image index (the ids above) per line
    splits/testlist.txt
    vocab40.mat                     optional: 'vocab' [40, 3], the normal codebook of the
                                    classify40 protocol
    SOURCE.txt                      one line naming the source of the normals: 'ladicky',
                                    'fouhey', 'depth' (computed from depth) or 'demo'

``id`` is the 1-based index of the image in ``nyu_depth_v2_labeled.mat`` (and in
``splits.mat``'s ``trainNdxs``/``testNdxs``): 795 train, 654 test. One split, ``'official'``:
train items from ``trainlist.txt``, test items from ``testlist.txt``. A listed index without
its RGB image is skipped and counted (``Split.missing``); one without its depth or normals file
is kept with ``depth`` or ``normals`` empty (the depth protocol needs no normals, and real
normals come separately from the images: see :func:`prepare`).

Normals are in camera coordinates, x right, y down, z forward (the camera looks along +z),
pointing towards the camera (the floor's normal is ``(0, -1, 0)``): the convention the demo
renders (:mod:`harness_nyudata.render`) and the one the Fouhey/Ladicky files are taken to
follow. The loaders neither check nor flip signs: they return what the files hold. Different
ground-truth sources give different numbers (docs/image-evals.md §4), so a record must name
the one used: :func:`normals_source`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.api import demo, DataItem, Split, DataError
from harness.api import is_demo  # noqa: F401  (part of the layout API)

SPLITS = ('official',)
SOURCES = ('ladicky', 'fouhey', 'depth', 'demo')
IMAGES, DEPTH, NORMALS, LISTS = 'images', 'depth', 'normals', 'splits'
TRAIN_LIST, TEST_LIST = 'trainlist.txt', 'testlist.txt'
SOURCE_FILE, VOCAB_FILE = 'SOURCE.txt', 'vocab40.mat'
LABELED_MAT, SPLITS_MAT = 'nyu_depth_v2_labeled.mat', 'splits.mat'
GENERATOR_VERSION = 1
HELP = ('a nyuv2 root holds images/<id:06d>_rgb.jpg, depth/<id:06d>_depth.png, '
        'normals/nm_<id:06d>.mat and splits/{trainlist,testlist}.txt (1-based ids)')
_HINT = (f'{HELP}; point --data at it, run harness data prepare nyuv2 --root ROOT on a root '
         f'holding {LABELED_MAT} and {SPLITS_MAT}, or use --data demo')


def rgb_path(index: int) -> str:
    """The RGB image of 1-based ``index``, relative to the root."""
    return f'{IMAGES}/{index:06d}_rgb.jpg'


def depth_path(index: int) -> str:
    """The depth map of 1-based ``index``, relative to the root."""
    return f'{DEPTH}/{index:06d}_depth.png'


def normals_path(index: int) -> str:
    """The normals file of 1-based ``index``, relative to the root."""
    return f'{NORMALS}/nm_{index:06d}.mat'


@dataclass(frozen=True)
class NYUItem(DataItem):
    """One labeled image: ``path`` its RGB image, relative to the root; ``label`` -1 (no
    class); ``index`` its 1-based index in the labeled .mat; ``depth`` and ``normals`` its
    depth and normals files relative to the root, '' when not on disk."""

    label: int = -1
    index: int = 0
    depth: str = ''
    normals: str = ''


@dataclass(frozen=True)
class NYUSplit(Split):
    """The official split; ``missing``: listed indices without their RGB image (skipped)."""

    def counts(self) -> dict[str, int]:
        """Images of each side, how many of them have depth and normals, missing images."""
        out: dict[str, int] = {}
        for side, items in (('train', self.train), ('test', self.test)):
            out[f'{side}_images'] = len(items)
            out[f'{side}_depth'] = sum(bool(item.depth) for item in items)
            out[f'{side}_normals'] = sum(bool(item.normals) for item in items)
        out['missing_images'] = self.missing
        return out

    def summary(self) -> str:
        """One line of counts, for ``harness data prepare``."""
        c = self.counts()
        sides = '; '.join(f'{side} {c[f"{side}_images"]} images ({c[f"{side}_depth"]} with '
                          f'depth, {c[f"{side}_normals"]} with normals)'
                          for side in ('train', 'test'))
        return f'split {self.name}: {sides}; {self.missing} listed images missing on disk'


def read_list(path: Path) -> list[int]:
    """The 1-based indices of a split list, one per line (blank lines skipped); anything else
    is a one-line DataError naming the line."""
    try:
        lines = path.read_text(encoding='utf-8').splitlines()
    except OSError as exc:
        raise DataError(f'cannot read the split list {path}: {exc}') from None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            index = int(line.strip())
        except ValueError:
            index = 0
        if index < 1:
            raise DataError(f'line {number} of {path} is not a 1-based image index: '
                            f'{line.strip()[:40]!r}; write one index (1, 2, ...) per line')
        out.append(index)
    return out


def read_split(root: str | os.PathLike, split: str = 'official') -> NYUSplit:
    """Train items from ``splits/trainlist.txt``, test items from ``splits/testlist.txt``
    (split 'official'); paths relative to ``root``."""
    if str(split) not in SPLITS:
        raise DataError(f"unknown nyuv2 split {split!r}; NYU Depth v2 has one split here, "
                        "'official' (795 train / 654 test images)")
    root = Path(root).expanduser()
    for path in (root / IMAGES, root / LISTS / TRAIN_LIST, root / LISTS / TEST_LIST):
        if not path.exists():
            raise DataError(f'no {path}; {_HINT}')
    missing = 0

    def items(listing: str) -> tuple[NYUItem, ...]:
        nonlocal missing
        out = []
        for index in read_list(root / LISTS / listing):
            if not (root / rgb_path(index)).is_file():
                missing += 1
                continue
            depth, normals = depth_path(index), normals_path(index)
            out.append(NYUItem(rgb_path(index), index=index,
                               depth=depth if (root / depth).is_file() else '',
                               normals=normals if (root / normals).is_file() else ''))
        return tuple(out)

    train, test = items(TRAIN_LIST), items(TEST_LIST)
    if not train or not test:
        listing = TRAIN_LIST if not train else TEST_LIST
        raise DataError(f'no image of {root / LISTS / listing} is on disk under '
                        f'{root / IMAGES}; {_HINT}')
    return NYUSplit(name='official', classes=(), train=train, test=test, missing=missing)


def normals_source(root: str | os.PathLike) -> str:
    """The ground-truth source of the normals at ``root``, the line of ``SOURCE.txt``: one of
    :data:`SOURCES`. A missing file or another name is a one-line DataError."""
    path = Path(root).expanduser() / SOURCE_FILE
    if not path.is_file():
        raise DataError(f'no {path}; write one line naming the source of the normals in '
                        f"normals/: {', '.join(SOURCES[:3])} (normals computed from depth)")
    words = path.read_text(encoding='utf-8', errors='replace').split()
    source = words[0].lower() if words else ''
    if source not in SOURCES:
        raise DataError(f'{path} names the normals source {source[:40]!r}; it must be one of '
                        f"{', '.join(SOURCES)}")
    return source


def _is_hdf5(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts with the HDF5 signature (at byte 0, 512 or 1024: after a user
    block such as MATLAB's v7.3 header)."""
    try:
        with open(path, 'rb') as handle:
            head = handle.read(1032)
    except OSError:
        return False
    return any(head[offset:offset + 8] == b'\x89HDF\r\n\x1a\n' for offset in (0, 512, 1024))


def read_mat(path: str | os.PathLike, keys: tuple[str, ...], what: str) -> dict:
    """``scipy.io.loadmat(path)``, which must hold ``keys``; ``what`` names the file in the
    one-line DataError for a file that is not such a MATLAB v5 .mat."""
    import scipy.io  # only needed when loading

    try:
        data = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises many types for a broken file
        if isinstance(exc, NotImplementedError) or _is_hdf5(path):  # scipy: v7.3 is HDF5
            raise DataError(f'{path} is a MATLAB v7.3 (HDF5) file; {what} must be a MATLAB v5 '
                            '.mat (scipy.io.savemat, or save -v7 in MATLAB)') from None
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f'cannot read {path} as a MATLAB .mat ({what}): {message}') from None
    absent = [key for key in keys if key not in data]
    if absent:
        raise DataError(f'{path} lacks {", ".join(absent)}; {what} must hold '
                        f'{", ".join(keys)}')
    return data


def load_normals(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One ``nm_<id>.mat``: ``(normals float32 [H, W, 3], valid bool [H, W])``, the normals as
    the file holds them (camera coordinates, see the module docstring), ``valid`` its
    ``depthValid`` != 0. A file that is not this layout is a one-line DataError."""
    keys = NORMALS_KEYS
    data = read_mat(path, keys, 'a normals file')
    arrays = [np.asarray(data[key]) for key in keys]
    if any(a.ndim != 2 or a.shape != arrays[0].shape for a in arrays):
        shapes = ', '.join(f'{k} {a.shape}' for k, a in zip(keys, arrays))
        raise DataError(f'{path}: nx, ny, nz and depthValid must be [H, W] arrays of one shape; '
                        f'got {shapes}')
    normals = np.stack(arrays[:3], axis=-1).astype(np.float32)
    return normals, arrays[3] != 0


def load_depth(path: str | os.PathLike) -> np.ndarray:
    """One ``<id>_depth.png``: depth in metres, float32 [H, W], 0 where invalid. A file that is
    not a single-channel uint16 PNG is a one-line DataError."""
    import cv2  # only needed when loading

    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.dtype != np.uint16 or depth.ndim != 2:
        got = 'unreadable' if depth is None else f'{depth.dtype} {depth.shape}'
        raise DataError(f'{path} is not a uint16 single-channel PNG of depth in millimetres '
                        f'(got {got}); rewrite it with harness data prepare nyuv2')
    return depth.astype(np.float32) / np.float32(1000.0)


#: The arrays of a normals file (:func:`load_normals`).
NORMALS_KEYS = ('nx', 'ny', 'nz', 'depthValid')


def target_problem(root: str | os.PathLike, item: NYUItem, kind: str) -> str | None:
    """Why the ``kind`` ('depth' or 'normals') target of ``item`` would stop a run that reads
    it, or None: a depth map that is no 16-bit single-channel PNG, a normals file without
    nx, ny, nz and depthValid, or either not the size of the item's image. Reads the files'
    headers only (Pillow's, scipy's ``whosmat``), so a whole split is checked in moments."""
    import scipy.io
    from PIL import Image

    root = Path(root).expanduser()
    target = getattr(item, kind)
    if not target:
        return f'no {kind} file'
    try:
        with Image.open(root / item.path) as image:
            width, height = image.size
    except Exception as exc:  # noqa: BLE001 - the probe names an unreadable image itself
        return f'its image {item.path} cannot be read: {str(exc)[:120]}'
    if kind == 'depth':
        try:
            with Image.open(root / target) as depth:
                mode, size = depth.mode, depth.size
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types
            return f'{target} cannot be read: {str(exc)[:120] or type(exc).__name__}'
        if mode not in ('I;16', 'I;16B', 'I;16L'):
            return f'{target} is no 16-bit single-channel PNG (Pillow mode {mode})'
        shape = size
    else:
        try:
            arrays = {name: shape for name, shape, _ in scipy.io.whosmat(str(root / target))}
        except Exception as exc:  # noqa: BLE001 - scipy raises many types
            why = 'a MATLAB v7.3 (HDF5) file' if _is_hdf5(root / target) else \
                f'no MATLAB v5 .mat ({str(exc)[:80] or type(exc).__name__})'
            return f'{target} is {why}'
        absent = [key for key in NORMALS_KEYS if key not in arrays]
        if absent:
            return f"{target} lacks {', '.join(absent)}"
        shapes = {arrays[key] for key in NORMALS_KEYS}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            return f"{target}: {', '.join(NORMALS_KEYS)} are not [H, W] arrays of one shape"
        shape = tuple(reversed(next(iter(shapes))))
    if tuple(shape) != (width, height):
        return (f'{target} is {shape[0]} x {shape[1]} but its image {item.path} is {width} x '
                f'{height}')
    return None


def load_vocab(root: str | os.PathLike) -> np.ndarray | None:
    """The normal codebook of ``root/vocab40.mat`` ('vocab', float32 [K, 3], K = 40 in the
    FAIR files), or None when the root has none."""
    path = Path(root).expanduser() / VOCAB_FILE
    if not path.is_file():
        return None
    vocab = np.asarray(read_mat(path, ('vocab',), 'the codebook')['vocab'], dtype=np.float32)
    if vocab.ndim != 2 or vocab.shape[1] != 3 or len(vocab) < 2:
        raise DataError(f"{path}: 'vocab' must be a [K, 3] codebook of normals (K = 40); got "
                        f'{vocab.shape}')
    return vocab


def prepare(root: str | os.PathLike) -> list[str]:
    """Convert and check the layout at ``root``; return what ``harness data prepare`` prints.

    When ``root`` holds the official ``nyu_depth_v2_labeled.mat`` and ``splits.mat``, first
    write ``images/``, ``depth/`` and ``splits/`` from them
    (:func:`harness_nyudata.convert.convert_labeled`; resumable). Then read the split and
    return its counts and the normals source. The labeled file has no normals: without
    ``normals/`` a line says where to get them and that only the depth protocol can run."""
    root = Path(root).expanduser()
    lines = []
    if (root / LABELED_MAT).is_file():
        from harness_nyudata.convert import convert_labeled

        lines += convert_labeled(root)
    split = read_split(root, 'official')
    if (root / NORMALS).is_dir():
        source = normals_source(root)
    else:
        source = 'none'
        lines.append(f'nyuv2: no {root / NORMALS} folder: add the ground-truth normals, one '
                     'nm_<id:06d>.mat per image (nx, ny, nz, depthValid; Ladicky\'s or the '
                     'MarrRevisited/Fouhey files), and name their source in SOURCE.txt '
                     "('ladicky', 'fouhey' or 'depth'); until then only the depth protocol "
                     'can run')
    lines.append(f'nyuv2 at {root}: {split.summary()}; normals source: {source}')
    return lines


def generate_demo(root: str | os.PathLike, *, train: int = 24, test: int = 12,
                  width: int = 80, height: int = 60, seed: int = 0) -> Path:
    """Write a small synthetic nyuv2 under ``root``; return ``root``.

    By default 24 train + 12 test rooms of 80 x 60 pixels, ids 1..36 (train first), rendered
    with exact depth and normals by :func:`harness_nyudata.render.render_room` (its docstring
    has the camera and the conventions), each from its own seed (``demo.item_seed(seed,
    '<id:06d>')``); ``SOURCE.txt`` says 'demo'; no ``vocab40.mat``. Deterministic,
    idempotent, ``DEMO.txt`` last (as :func:`harness_imagedata.imagenet.generate_demo`).
    """
    from harness.api import atomic_write_text
    from harness_nyudata import formats
    from harness_nyudata.render import render_room

    root = Path(root).expanduser()
    if not 1 <= train <= 99999 or not 1 <= test <= 99999 or min(width, height) < 16:
        raise DataError('demo needs 1 <= train, test <= 99999 and images of at least 16 x 16 '
                        f'pixels; got train={train}, test={test}, {width} x {height}')
    params = demo.params_line('nyuv2', GENERATOR_VERSION, (), dict(
        train=train, test=test, width=width, height=height, seed=seed))
    if not demo.begin(root, params, dataset='nyuv2',
                      layout=(IMAGES, DEPTH, NORMALS, LISTS, SOURCE_FILE)):
        return root
    for listing, first, count in ((TRAIN_LIST, 1, train), (TEST_LIST, 1 + train, test)):
        indices = range(first, first + count)
        for index in indices:
            room = render_room(width, height, np.random.default_rng(
                demo.item_seed(seed, f'{index:06d}')))
            formats.write_rgb(root / rgb_path(index), room.rgb)
            formats.write_depth(root / depth_path(index), room.depth)
            formats.write_normals(root / normals_path(index), room.normals, room.valid)
        atomic_write_text(root / LISTS / listing, ''.join(f'{i}\n' for i in indices))
    atomic_write_text(root / SOURCE_FILE, 'demo\n')
    demo.finish(root, params)
    return root
