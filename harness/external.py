"""Weights made elsewhere (``harness eval --weights FILE``): read the file safely, find the
backbone's tensors in it and map their keys onto a registered backbone, so that the evaluators
read them exactly as they read a harness pretraining's export.

Reading: a torch checkpoint is read with ``torch.load(weights_only=True)`` (tensors and plain
containers only: a pickle that needs code to load is refused), a ``.safetensors`` file with the
``safetensors`` package. Nested containers (``state_dict``, ``model``, ``module``, ``teacher``,
...) are flattened into dotted keys (``state_dict.module.encoder_q.conv1.weight``), so finding
the state dict inside a container and removing a wrapper's prefix are one step.

Mapping: a candidate is ``(strip, add)``, tried under each naming convention of
:data:`CONVENTIONS` (the keys renamed first; ``none`` keeps them): the checkpoint keys starting with ``strip`` lose it
and gain ``add`` (the backbone's own wrapper, e.g. ``vit.`` for the harness ViTs, whose inner
timm names a timm file has; ``net.`` for an mmdet ResNet). The candidates come from matching
the keys' dotted suffixes against the backbone's, and each is scored by how many backbone
tensors it fills with a tensor of the same shape. The best must fill every backbone tensor
(``num_batches_tracked`` counters aside) and be the only one that does (a copy the method does
not evaluate, :data:`SECONDARY`, gives way: MoCo's ``encoder_k`` to its ``encoder_q``);
otherwise the run stops
with one line listing the candidates and ``--weights-prefix``. What the checkpoint holds besides
(a classifier ``fc.``/``head.``, a projector, a momentum encoder) is reported, not an error.

The mapped tensors are saved as a plain state dict of the backbone (what a pretraining exports,
``backbone.pth``) under ``WORK_DIR/weights/``; the record names the file (name, sha256, size),
the mapping and the load report (:meth:`ExternalWeights.record`).
"""
from __future__ import annotations

import hashlib
import json
import pickle
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from harness.errors import HarnessError

#: How deep containers are searched for tensors.
MAX_DEPTH = 8
#: Buffers a checkpoint may lack without the load counting as partial.
OPTIONAL_SUFFIXES = ('num_batches_tracked',)
#: Container names of the copy a method does not evaluate when a checkpoint holds two complete
#: backbones: MoCo's key encoder (``encoder_k``; MoCo v3's ``momentum_encoder``), BYOL's target
#: network, DINO's student (its teacher is the one evaluated). Only a tie is broken by them.
SECONDARY = ('encoder_k', 'momentum_encoder', 'target_encoder', 'target_net', 'student')
#: Naming conventions a checkpoint's keys may follow where the backbone's follow another, each
#: a list of ``(pattern, replacement)`` applied in order to every key (after which prefixes are
#: matched as for any file): ``mmpretrain-vit`` renames mmpretrain's (mmselfsup's)
#: VisionTransformer onto timm's names, which the harness ViTs keep (``layers.N`` ->
#: ``blocks.N``, ``ln1``/``ln2`` -> ``norm1``/``norm2``, ``ffn.layers.0.0``/``ffn.layers.1`` ->
#: ``mlp.fc1``/``mlp.fc2``, ``patch_embed.projection`` -> ``patch_embed.proj``, the final
#: ``ln1`` -> ``norm``). The ResNets need none: torchvision's names are mmdet's and
#: mmpretrain's too.
CONVENTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    'none': (),
    'mmpretrain-vit': (
        (r'(^|\.)patch_embed\.projection\.', r'\1patch_embed.proj.'),
        (r'(^|\.)layers\.(\d+)\.ln([12])\.', r'\1blocks.\2.norm\3.'),
        (r'(^|\.)layers\.(\d+)\.ffn\.layers\.0\.0\.', r'\1blocks.\2.mlp.fc1.'),
        (r'(^|\.)layers\.(\d+)\.ffn\.layers\.1\.', r'\1blocks.\2.mlp.fc2.'),
        (r'(^|\.)layers\.(\d+)\.', r'\1blocks.\2.'),
        (r'(^|\.)ln1\.(weight|bias)$', r'\1norm.\2'),
    ),
}
#: How many candidates an error line lists.
SHOWN = 4


class WeightsFileError(HarnessError):
    """An external weights file that cannot be read, or whose keys do not map onto the
    backbone."""


@dataclass(frozen=True)
class KeyMapping:
    """One way of mapping a checkpoint's (flattened) keys onto the backbone's."""

    strip: str
    add: str
    #: the naming convention applied before stripping (a name of :data:`CONVENTIONS`)
    convention: str = 'none'
    #: backbone key -> checkpoint key, for the keys that load (same shape)
    loaded: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: backbone keys whose checkpoint tensor has another shape
    mismatched: tuple[str, ...] = field(default=(), compare=False)

    def describe(self, total: int) -> str:
        add = f" add '{self.add}'" if self.add else ''
        names = f' {self.convention} names' if self.convention != 'none' else ''
        return f"'{self.strip}'{add}{names} ({len(self.loaded)}/{total})"


@dataclass(frozen=True)
class ExternalWeights:
    """A weights file mapped onto a backbone: the file's identity, the mapping chosen, the load
    report and the converted state dict's path (``backbone_path``)."""

    path: Path
    sha256: str
    size: int
    backbone: str
    container: str
    strip: str
    add: str
    convention: str
    report: Mapping[str, Any]
    backbone_path: Path
    label: str
    supervised: bool = False

    @property
    def key(self) -> str:
        """What identifies these weights as an evaluation reads them: the file and the
        mapping (an evaluation's key and folder carry it)."""
        text = json.dumps({'sha256': self.sha256, 'backbone': self.backbone,
                           'strip': self.strip, 'add': self.add,
                           'convention': self.convention}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        report = self.report
        return (f"external weights {self.path.name} (sha256 {self.sha256[:12]}): "
                f"{report['loaded']}/{report['total']} {self.backbone} tensors from "
                f"{self.where()}, {report['unexpected']} checkpoint tensors left out")

    def where(self) -> str:
        text = f"keys under '{self.strip}'" if self.strip else 'the top-level keys'
        text += f' renamed from {self.convention} names' if self.convention != 'none' else ''
        return text + (f" with '{self.add}' added" if self.add else '')

    def record(self) -> dict[str, Any]:
        """The record's ``external_weights`` block (schema: harness/schema.py)."""
        return {'file': self.path.name, 'sha256': self.sha256, 'size': self.size,
                'mapping': {'container': self.container, 'strip': self.strip,
                            'add': self.add, 'convention': self.convention},
                'load': dict(self.report), 'supervised': self.supervised}


# ------------------------------------------------------------------------------- reading


def read_weights_file(path: Path) -> tuple[Any, dict[str, Any]]:
    """``(what the file holds, its tensors as flat dotted keys)`` (see the module doc);
    one-line errors for a file that is missing, unreadable, truncated, or a pickle that needs
    code."""
    import torch

    if not path.is_file():
        raise WeightsFileError(f'--weights {path}: no such file')
    if path.suffix == '.safetensors':
        tensors = read_safetensors(path)
        return tensors, tensors
    try:
        with warnings.catch_warnings():  # a file that is no pickle warns before it fails
            warnings.simplefilter('ignore', UserWarning)
            loaded = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as exc:
        if is_safetensors(path):
            tensors = read_safetensors(path)
            return tensors, tensors
        reason = str(exc).strip().splitlines()
        detail = next((line.strip() for line in reason if 'GLOBAL' in line or
                       'Unsupported' in line), reason[0] if reason else '')
        raise WeightsFileError(
            f'--weights {path}: a pickle that needs code to load ({detail[:160]}); only '
            'tensors are read (torch.load weights_only=True): save its state_dict() with '
            'torch.save or export it as safetensors') from exc
    except Exception as exc:  # truncated zip, not a checkpoint at all, a read error
        if is_safetensors(path):
            tensors = read_safetensors(path)
            return tensors, tensors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsFileError(f'--weights {path}: not a readable torch checkpoint '
                               f'({first[:160]})') from exc
    tensors = flatten(loaded)
    if not tensors:
        raise WeightsFileError(f'--weights {path}: holds no tensors')
    return loaded, tensors


def is_safetensors(path: Path) -> bool:
    """Whether the file starts as a safetensors file does: an 8-byte header length, then a
    JSON object."""
    with open(path, 'rb') as handle:
        head = handle.read(9)
    return len(head) == 9 and head[8:9] == b'{'


def read_safetensors(path: Path) -> dict[str, Any]:
    try:
        from safetensors.torch import load_file
    except ImportError as exc:  # declared in requirements; an environment without it
        raise WeightsFileError(f'--weights {path}: reading safetensors needs the '
                               "'safetensors' package (pip install safetensors)") from exc
    try:
        return dict(load_file(str(path), device='cpu'))
    except Exception as exc:  # SafetensorError: truncated, bad header
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsFileError(f'--weights {path}: not a readable safetensors file '
                               f'({first[:160]})') from exc


def flatten(value: Any, prefix: str = '', depth: int = 0) -> dict[str, Any]:
    """The tensors inside ``value`` (nested mappings; lists and other values are passed over)
    under dotted keys."""
    import torch

    if isinstance(value, torch.Tensor):
        return {prefix[:-1]: value} if prefix else {}
    if not isinstance(value, Mapping) or depth > MAX_DEPTH:
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f'{prefix}{key}.', depth + 1))
    return out


# ------------------------------------------------------------------------------- mapping


def dotted_prefixes(key: str) -> list[tuple[str, str]]:
    """``(prefix, rest)`` for every split of ``key`` at a dot, ``('', key)`` first."""
    parts = key.split('.')
    return [('.'.join(parts[:i]) + ('.' if i else ''), '.'.join(parts[i:]))
            for i in range(len(parts))]


def rename(source: Mapping[str, Any], convention: str) -> dict[str, tuple[str, Any]] | None:
    """``{renamed key: (checkpoint key, tensor)}`` under ``convention``; None when it changes
    no key (nothing to try beyond ``none``) or maps two keys onto one."""
    import re

    rules = CONVENTIONS[convention]
    out = {}
    for key, tensor in source.items():
        name = key
        for pattern, replacement in rules:
            name = re.sub(pattern, replacement, name)
        out[name] = (key, tensor)
    if len(out) < len(source) or (rules and all(k == v[0] for k, v in out.items())):
        return None
    return out


def candidates(source: Mapping[str, Any], target: Mapping[str, Any], limit: int = 12
               ) -> list[tuple[str, str]]:
    """The ``(strip, add)`` pairs worth scoring: those under which the most checkpoint keys
    end as a backbone key does with a tensor of the same shape (a vote per such pair).
    ``source``: :func:`rename`'s ``{key: (checkpoint key, tensor)}``."""
    adds = wrappers(target)
    by_rest: dict[str, list[tuple[str, str]]] = {}
    for key in target:
        for add, rest in dotted_prefixes(key):
            if add in adds:
                by_rest.setdefault(rest, []).append((add, key))
    votes: Counter = Counter()
    for key, (_, tensor) in source.items():
        for strip, rest in dotted_prefixes(key):
            for add, target_key in by_rest.get(rest, ()):
                if tuple(target[target_key].shape) == tuple(tensor.shape):
                    votes[strip, add] += 1
    return [pair for pair, _ in votes.most_common(limit)]


def wrappers(target: Mapping[str, Any]) -> list[str]:
    """The prefixes a mapping may add: those every backbone key starts with ('' and e.g.
    'vit.' for a harness ViT, whose timm network is its ``vit``), so a mapping moves the
    whole checkpoint, never one block onto another."""
    keys = list(target)
    if not keys:
        return ['']
    return [add for add, _ in dotted_prefixes(keys[0]) if all(k.startswith(add) for k in keys)]


def score(source: Mapping[str, Any], target: Mapping[str, Any], strip: str, add: str
          ) -> KeyMapping:
    """What ``(strip, add)`` loads into the backbone (``source`` as for :func:`candidates`;
    ``loaded`` names the keys of ``source``)."""
    loaded, mismatched = {}, []
    for key, (_, tensor) in source.items():
        if not key.startswith(strip):
            continue
        name = add + key[len(strip):]
        if name not in target:
            continue
        if tuple(target[name].shape) == tuple(tensor.shape):
            loaded[name] = key
        else:
            mismatched.append(name)
    return KeyMapping(strip, add, loaded=loaded, mismatched=tuple(sorted(mismatched)))


def required(target: Mapping[str, Any]) -> set[str]:
    """The backbone keys a complete load fills."""
    return {key for key in target if not key.endswith(OPTIONAL_SUFFIXES)}


def choose(source: Mapping[str, Any], target: Mapping[str, Any], backbone: str, file: Path,
           prefix: str | None = None) -> KeyMapping:
    """The mapping that fills every backbone tensor, found as the module doc says (or the
    one ``prefix`` names); a WeightsFileError listing the candidates otherwise."""
    needed = required(target)
    scored = []
    order = {name: index for index, name in enumerate(CONVENTIONS)}
    for convention in CONVENTIONS:
        renamed = rename(source, convention)
        if renamed is None:
            continue
        pairs = [(prefix, add) for add in wrappers(target)] if prefix is not None else \
            candidates(renamed, target)
        for strip, add in pairs:
            found = score(renamed, target, strip, add)
            scored.append(replace(found, convention=convention, loaded={
                name: renamed[key][0] for name, key in found.loaded.items()}))
    ranked: list[KeyMapping] = []
    for mapping in sorted(scored, key=lambda m: (-len(m.loaded), order[m.convention],
                                                 len(m.strip), len(m.add))):
        pairs = set(mapping.loaded.items())
        # one that loads only part of what a better one loads the same way is no alternative
        # (stripping and adding 'layer2.' is the top-level keys' mapping, restricted)
        if not any(pairs <= set(better.loaded.items()) for better in ranked):
            ranked.append(mapping)
    complete = [m for m in ranked if needed <= set(m.loaded)]
    total = len(target)
    # worth naming: the mappings that load at least half of what the best loads
    worth = [m for m in ranked if ranked and 2 * len(m.loaded) >= len(ranked[0].loaded) > 0]
    listed = ', '.join(m.describe(total) for m in worth[:SHOWN]) or 'none'
    hint = ('choose the prefix to strip with --weights-prefix PREFIX' if prefix is None else
            f"--weights-prefix '{prefix}' does not fill it")
    if len(complete) > 1 and prefix is None:  # e.g. MoCo's encoder_q beside its encoder_k
        primary = [m for m in complete if not set(m.strip.split('.')) & set(SECONDARY)]
        complete = primary if len(primary) == 1 else complete
    if len(complete) == 1 or (complete and prefix is not None):
        return complete[0]
    if len(complete) > 1:
        raise WeightsFileError(
            f'--weights {file}: several key mappings fill every {backbone} tensor: '
            f"{', '.join(m.describe(total) for m in complete[:SHOWN])}; choose one with "
            '--weights-prefix PREFIX')
    best = ranked[0] if ranked else KeyMapping('', '')
    missing = sorted(needed - set(best.loaded))
    shapes = f', {len(best.mismatched)} of another shape' if best.mismatched else ''
    raise WeightsFileError(
        f'--weights {file}: no key mapping fills every {backbone} tensor (best fills '
        f"{len(best.loaded)}/{total}{shapes}, e.g. missing {', '.join(missing[:2]) or '-'}); "
        f'candidates (prefix stripped, tensors filled): {listed}; {hint}, or check '
        '--backbone')


def container_of(strip: str, held: Any) -> str:
    """The part of ``strip`` that names containers of the file (dict keys above the state
    dict, e.g. ``state_dict``) rather than a prefix of the state dict's own keys: the longest
    dotted prefix of ``strip`` under which the file holds a mapping of tensors."""
    container = ''
    node = held
    for part in strip.rstrip('.').split('.') if strip else ():
        if isinstance(node, Mapping) and part in node and isinstance(node[part], Mapping):
            node = node[part]
            container = f'{container}.{part}' if container else part
        else:
            break
    return container


# ------------------------------------------------------------------------------- preparing


def target_tensors(info) -> dict[str, Any]:
    """The backbone's state dict (a freshly built one; only the names and shapes are used)."""
    import importlib
    import logging

    from mmengine.logging import MMLogger

    from harness.registry import MODELS

    for module in info.imports:
        importlib.import_module(module)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # an mmdet network logs its initialisation tensor by tensor
    try:
        return MODELS.build(dict(info.cfg)).state_dict()  # its init reads values: not on meta
    finally:
        logger.setLevel(level)


def prepare(file: str | Path, info, work_dir: Path, *, prefix: str | None = None,
            label: str | None = None, supervised: bool = False, write: bool = True
            ) -> ExternalWeights:
    """Read ``file``, map it onto backbone ``info`` and (``write``) save the mapped state
    dict under ``work_dir/weights/`` (a file that is there already, the same content, is
    kept)."""
    from harness.config import file_sha256
    from harness.io import atomic_torch_save

    path = Path(file).expanduser().resolve()
    held, source = read_weights_file(path)
    target = target_tensors(info)
    mapping = choose(source, target, info.name, path, prefix)
    sha = file_sha256(path)
    used = set(mapping.loaded.values())
    report = {'loaded': len(mapping.loaded), 'total': len(target),
              'missing': len(set(target) - set(mapping.loaded)),
              'unexpected': len([k for k in source if k not in used]),
              'shape_mismatched': len(mapping.mismatched)}
    container = container_of(mapping.strip, held)
    out = work_dir / 'weights' / f'{info.name}_{sha[:16]}_{mapping_tag(mapping)}' / \
        'backbone.pth'
    weights = ExternalWeights(path=path, sha256=sha, size=path.stat().st_size,
                              backbone=info.name, container=container, strip=mapping.strip,
                              add=mapping.add, convention=mapping.convention, report=report, backbone_path=out,
                              label=label or default_label(path), supervised=supervised)
    if write and not out.is_file():
        state = {name: source[key].clone() for name, key in mapping.loaded.items()}
        atomic_torch_save(state, out)
    return weights


def mapping_tag(mapping: KeyMapping) -> str:
    text = json.dumps([mapping.strip, mapping.add, mapping.convention])
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_label(path: Path) -> str:
    """A file's name without its checkpoint suffixes: ``moco_v2_800ep_pretrain.pth.tar`` ->
    ``moco_v2_800ep_pretrain``."""
    name = path.name
    for suffix in ('.tar', '.pth', '.pt', '.ckpt', '.bin', '.safetensors', '.pkl'):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
    return name
