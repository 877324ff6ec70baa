"""What every dataset layout shares: demo-data roots, file-list identity, annotation lists,
video decoding and multi-view clip sampling. The layouts themselves (UCF101, HMDB51,
Kinetics-400, ...) come from plugins through ``harness_register_datasets`` (see
:class:`harness.api.DatasetInfo`).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from harness.errors import DataError


def demo_root(work_dir: str | Path, name: str) -> Path:
    """Where ``demo`` data keeps the generated demo dataset ``name``."""
    return Path(work_dir) / 'demo' / name


def resolve_data_root(data: str, dataset, work_dir: str | Path, *, option: str = '--data'
                      ) -> tuple[Path, bool]:
    """A data option (``demo`` or a root) for ``dataset`` (a :class:`harness.api.DatasetInfo`)
    as (root, is_demo): 'demo' generates (once) the demo dataset; a path must exist. Whether a
    given root holds demo data is read from its marker, never assumed."""
    module = dataset.module()
    if data == 'demo':
        root = demo_root(work_dir, dataset.name)
        module.generate_demo(root)
        return root.resolve(), True
    root = Path(data).expanduser().resolve()
    if not root.is_dir():
        hint = f' ({dataset.layout_help})' if dataset.layout_help else ''
        demo = f'{option} demo' if option == '--data' else f'{option} {dataset.name}=demo'
        raise DataError(f'{option} {root} does not exist; point it at a {dataset.name} root in '
                        f'its official layout{hint}, or use {demo}')
    return root, module.is_demo(root)


def list_sha256(items) -> str:
    """sha256 of the sorted ``path label`` lines of ``items``: the identity of a file list."""
    lines = sorted(f'{item.path} {item.label}\n' for item in items)
    return hashlib.sha256(''.join(lines).encode()).hexdigest()


def file_size(root: Path, path: str) -> int:
    """The size in bytes of the file ``root/path``, -1 when it cannot be stat-ed."""
    try:
        return os.stat(Path(root) / path).st_size
    except OSError:
        return -1


def files_sha256(root: Path, items) -> str:
    """sha256 of the sorted ``path label size`` lines of ``items`` under ``root``: the identity
    of a set of files on disk. It follows the data when the folder moves, and tells apart two
    folders of the same layout and names holding other files (their sizes differ) without
    reading them. A missing file counts with size -1 (:func:`file_size`)."""
    lines = sorted(f'{item.path} {item.label} {file_size(root, item.path)}\n' for item in items)
    return hashlib.sha256(''.join(lines).encode()).hexdigest()


def annotation_list(directory: Path, stem: str, items) -> Path:
    """Write ``items`` as mmaction2's VideoDataset reads them (``path label`` per line) to
    ``directory/<stem>_<list sha256[:12]>.txt``: content-addressed, so written once, atomically."""
    from harness.io import atomic_write_text

    path = Path(directory) / f'{stem}_{list_sha256(items)[:12]}.txt'
    if not path.exists():
        atomic_write_text(path, ''.join(f'{item.path} {item.label}\n' for item in items))
    return path
