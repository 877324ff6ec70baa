"""Writing files atomically: a reader sees the old file or the new one, never a part of either.

Every file the harness writes for others to read (records, leaderboards, annotation lists,
caches, exported weights) goes through here. The data is written to a temporary file beside the
target (a unique name, so concurrent writers never share one), flushed to disk and renamed over
the target; the rename is then made durable where the platform allows. If anything fails the
temporary file is removed and the target is left as it was.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


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


@contextmanager
def _replacing(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary file whose content replaces ``path`` when the block ends without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
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
