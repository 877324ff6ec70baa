"""What identifies a pretraining: its merged config, the versions of the distributions
involved and the source code that trains it.

The pretraining cache is keyed by :func:`pretrain_key`, so a change to a method's code (its
loss, its model, its sampler) trains again instead of silently reusing a checkpoint that the
new code did not produce.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Iterable, Mapping

#: Files of a package that are code or configs (what can change what a pretraining computes).
SOURCE_SUFFIXES = ('.py',)


def module_sources(module: str) -> tuple[str, Path | None, list[Path]]:
    """``(name, root, files)``: the source files ``module`` stands for and the folder their
    names are taken relative to. A plugin module stands for its whole top-level package
    (``harness_brave.model`` -> every file of ``harness_brave``); a core module for its own file
    (``harness.data.views``), so a change to, say, the core CLI does not retrain."""
    top = module.split('.')[0]
    name = module if top == 'harness' else top
    spec = importlib.util.find_spec(name)
    if spec is None:
        return name, None, []
    if spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        files = sorted(p for p in root.rglob('*')
                       if p.suffix in SOURCE_SUFFIXES and '__pycache__' not in p.parts)
        return name, root, files
    origin = Path(spec.origin) if spec.origin else None
    return name, origin.parent if origin else None, [origin] if origin else []


def source_sha256(modules: Iterable[str]) -> dict[str, str]:
    """``{package or core module: sha256 of its source files (names and contents)}``."""
    digests = {}
    for module in sorted(set(modules)):
        name, root, files = module_sources(module)
        if not files:
            continue
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b'\0')
            digest.update(path.read_bytes())
        digests[name] = digest.hexdigest()
    return digests


def pretrain_key(config_sha256: str, versions: Mapping[str, str],
                 sources: Mapping[str, str]) -> str:
    """The pretraining's cache key: sha256 of the config hash, the distribution versions and
    the source hashes."""
    text = json.dumps({'config': config_sha256, 'versions': dict(versions),
                       'sources': dict(sources)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
