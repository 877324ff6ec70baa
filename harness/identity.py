"""What identifies a pretraining, an evaluation and a result.

The pretraining cache is keyed by :func:`pretrain_key` (the merged config, the versions of the
distributions involved and the source code that trains), so a change to a method's code (its
loss, its model, its sampler) trains again instead of silently reusing a checkpoint that the
new code did not produce. An evaluation's folder is keyed by :func:`evaluation_key` in the same
way, so ``--resume`` never reuses an evaluation made with other options; a record's id carries
:func:`record_identity`, so results of different settings never share a file.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

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


def evaluation_key(*, config_sha256: str, protocol: Mapping[str, Any], backbone: str,
                   method: str, pretraining: str | None, data: Mapping[str, Any], seed: int,
                   amp: str | None, sources: Mapping[str, str]) -> str:
    """What identifies one evaluation (its work folder, its ``result.json`` and, with the
    other evaluations of a run, the record's id): sha256 of the evaluation config's hash (its
    ``--cfg-options`` applied), the protocol (evaluator, name, version), the backbone, the
    method, the pretraining's key (None: random initialisation), the evaluated data (dataset,
    root, split, file lists), the seed, the precision and the source hashes of the code that
    evaluates. A resume reuses an evaluation only under the same key."""
    text = json.dumps({'config': config_sha256, 'protocol': dict(protocol), 'backbone': backbone,
                       'method': method, 'pretraining': pretraining, 'data': dict(data),
                       'seed': seed, 'amp': amp, 'sources': dict(sources)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def record_identity(evaluation_keys: Iterable[str]) -> str:
    """The identity of a result: sha256 of the keys of the evaluations it combines (their
    order aside); a record's id ends with its first characters."""
    text = json.dumps(sorted(evaluation_keys))
    return hashlib.sha256(text.encode()).hexdigest()
