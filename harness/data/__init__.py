"""On-disk dataset formats, demo-data generators and multi-view clip samplers.

Each dataset layout is a module with ``read_split(root, split)``, ``generate_demo(root)`` and
``is_demo(root)``; :func:`layout` finds it by name. A split's file lists are identified by
:func:`list_sha256`.
"""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

from harness.errors import DataError

LAYOUTS = {'ucf101': 'harness.data.ucf101', 'hmdb51': 'harness.data.hmdb51'}


def layout(name: str) -> ModuleType:
    """The module that reads (and generates demo data for) dataset layout ``name``."""
    if name not in LAYOUTS:
        raise DataError(f"no dataset layout '{name}'; known: {', '.join(sorted(LAYOUTS))}")
    return importlib.import_module(LAYOUTS[name])


def demo_root(work_dir: str | Path, name: str) -> Path:
    """Where ``--data demo`` keeps the generated demo dataset ``name``."""
    return Path(work_dir) / 'demo' / name


def resolve_data_root(data: str, dataset: str, work_dir: str | Path) -> tuple[Path, bool]:
    """``--data`` as (root, is_demo): 'demo' generates (once) the demo dataset; a path must
    exist. Whether a given root holds demo data is read from its marker, never assumed."""
    module = layout(dataset)
    if data == 'demo':
        root = demo_root(work_dir, dataset)
        module.generate_demo(root)
        return root, True
    root = Path(data).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f'data root {root} does not exist; point --data at a {dataset} root '
                        f'in its official layout, or use --data demo')
    return root, module.is_demo(root)


def list_sha256(items) -> str:
    """sha256 of the sorted ``path label`` lines of ``items``: the identity of a file list."""
    lines = sorted(f'{item.path} {item.label}\n' for item in items)
    return hashlib.sha256(''.join(lines).encode()).hexdigest()


def annotation_list(directory: Path, stem: str, items) -> Path:
    """Write ``items`` as mmaction2's VideoDataset reads them (``path label`` per line) to
    ``directory/<stem>_<list sha256[:12]>.txt``: content-addressed, so written once, atomically."""
    path = Path(directory) / f'{stem}_{list_sha256(items)[:12]}.txt'
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix('.tmp')
        tmp.write_text(''.join(f'{item.path} {item.label}\n' for item in items))
        tmp.replace(path)
    return path
