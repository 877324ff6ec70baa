"""On-disk dataset formats, demo-data generators and multi-view clip samplers.

Each dataset layout is a module with ``read_split(root, split)``, ``generate_demo(root)``,
``is_demo(root)`` and ``files_sha256(items)``; :func:`layout` finds it by name.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from harness.errors import DataError

LAYOUTS = {'ucf101': 'harness.data.ucf101'}


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
