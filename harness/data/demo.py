"""What every demo-data generator shares: the markers, the validation and the rendering of one
synthetic video (shapes and motions of :mod:`harness.data.synth`).

A generator writes ``DEMO.partial`` first and ``DEMO.txt`` (its parameters) last, so a demo is
complete exactly when ``DEMO.txt`` holds the parameters asked for; an interrupted one is redone.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from harness.errors import DataError
from harness.io import atomic_write_text

DEMO_MARKER = 'DEMO.txt'
PARTIAL_MARKER = 'DEMO.partial'


def is_demo(root: str | os.PathLike) -> bool:
    """True when ``root`` holds a completed demo (the generator writes ``DEMO.txt`` last)."""
    return (Path(root).expanduser() / DEMO_MARKER).is_file()


def item_seed(seed: int, name: str) -> int:
    """The seed of one demo file (video or image): a function of the demo's seed and the file's
    name."""
    return int.from_bytes(hashlib.sha256(f'{seed}:{name}'.encode()).digest()[:8], 'little')


def check_classes(classes: tuple[str, ...], known: Iterable[str]) -> None:
    known = tuple(known)
    unknown = [c for c in classes if c not in known]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise DataError(f"demo classes must be distinct names from {', '.join(known)}; "
                        f"got {', '.join(classes) or 'none'}")


def begin(root: Path, params: str, *, dataset: str, layout: Iterable[str]) -> bool:
    """Prepare ``root`` for writing the demo described by ``params``; False when it already
    holds exactly that demo (nothing to do). ``layout``: the top-level entries the demo writes;
    they are cleared first (leftovers of an earlier demo or an interrupted run). A root with a
    ``dataset`` layout the generator did not write is refused."""
    marker, partial = root / DEMO_MARKER, root / PARTIAL_MARKER
    if marker.is_file() and marker.read_text(encoding='utf-8', errors='replace') == params:
        return False
    layout = tuple(layout)
    ours = marker.is_file() or partial.is_file()
    if not ours and any((root / entry).exists() for entry in layout):
        raise DataError(f'{root} already holds a {dataset} layout that the demo generator did '
                        'not write; choose an empty folder for the demo')
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(partial, params)
    marker.unlink(missing_ok=True)
    for entry in layout:
        shutil.rmtree(root / entry, ignore_errors=True)
    return True


def finish(root: Path, params: str) -> None:
    """Mark the demo in ``root`` complete."""
    atomic_write_text(root / DEMO_MARKER, params)
    (root / PARTIAL_MARKER).unlink()


def render_video(path: Path, spec: tuple[str, str], *, name: str, seed: int, frames: int,
                 size: int, check: bool) -> float:
    """Render and write one demo video of ``spec`` = (shape, motion) at ``path``, its randomness
    seeded from ``(seed, name)``; returns its speed (drawn first, U(0.5, 2)). With ``check``,
    read it back first, so a frame size the decoder cannot read fails before a whole dataset
    is written."""
    from harness.data import synth  # cv2 is only needed when generating

    rng = np.random.default_rng(item_seed(seed, name))
    speed = float(rng.uniform(0.5, 2.0))
    shape, motion = spec
    synth.write_video(path, synth.render_clip(shape, motion, frames=frames, size=size,
                                              speed=speed, rng=rng))
    if check:
        problem = synth.check_readable(path, frames, size)
        if problem:
            raise DataError(f'{problem}; choose an even demo size >= 64 (e.g. 80)')
    return speed


def params_line(dataset: str, version: int, classes: tuple[str, ...],
                values: Mapping[str, int]) -> str:
    """The parameters a generator records in ``DEMO.txt``."""
    rest = ' '.join(f'{key}={value}' for key, value in values.items())
    return (f'ssl-harness {dataset} demo generator v{version}: classes={",".join(classes)} '
            f'{rest}\n')
