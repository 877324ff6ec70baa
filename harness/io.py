"""Writing files atomically: a reader sees the old file or the new one, never a part of either.

Every file the harness writes for others to read (records, leaderboards, annotation lists,
caches, exported weights) goes through here. The data is written to a temporary file beside the
target (a unique name, so concurrent writers never share one), flushed to disk and renamed over
the target; the rename is then made durable where the platform allows. If anything fails the
temporary file is removed and the target is left as it was.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parents created); returns ``path`` as a Path."""
    with _replacing(path) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically as UTF-8, line ends as given (no translation)."""
    return atomic_write_bytes(path, text.encode('utf-8'))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically, streamed to the temporary file (a checkpoint
    is not held in memory twice); returns ``path`` as a Path."""
    import torch

    with _replacing(path) as handle:
        torch.save(obj, handle)
    return Path(path)


def nearest_existing(path: str | os.PathLike) -> Path:
    """``path`` if it exists, else the nearest folder above it that does (what a new folder
    there would be created in)."""
    probe = Path(path)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def exclusive_write_text(path: str | os.PathLike, text: str) -> bool:
    """Create ``path`` with ``text`` atomically unless it exists: True when written, False
    when ``path`` already existed (it is then left as it was). Of several writers of one path
    at the same time exactly one creates it; the others get False."""
    with _replacing(path, exclusive=True) as (handle, created):
        handle.write(text.encode('utf-8'))
    return created[0]


@contextmanager
def folder_lock(path: str | os.PathLike, on_wait: Callable[[], None] | None = None
                ) -> Iterator[None]:
    """Hold an exclusive lock on the folder ``path`` (a POSIX ``flock`` on ``.<name>.lock``
    beside it, released when the block ends or the process dies) against other processes of
    this machine that lock it; ``on_wait`` is called once when another holds it (the block
    then waits for it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f'.{path.name}.lock', 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _replacing(path: str | os.PathLike, exclusive: bool = False) -> Iterator[Any]:
    """A binary file whose content replaces ``path`` when the block ends without an error. The
    file gets the permissions a new file of the user gets (0666 less the umask; the temporary
    file's own 0600 is not kept). ``exclusive``: the block gets ``(file, created)`` and the
    file becomes ``path`` only if ``path`` does not exist (a hard link, which fails rather than
    replacing), ``created[0]`` saying whether it did."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    created = [False]
    try:
        with os.fdopen(fd, 'wb') as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            yield (handle, created) if exclusive else handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
                created[0] = True
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: a rename unless it exists
                if not path.exists():
                    os.replace(tmp, path)
                    created[0] = True
            if os.path.exists(tmp):  # linked (or not created): the temporary name goes
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable; not possible on every platform (then a no-op)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
