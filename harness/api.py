"""The interfaces plugins implement: what a Method, a Backbone and an Evaluator are.

Plugins describe themselves with the ``*Info`` dataclasses below from their register hooks
(see :mod:`harness.hookspecs`). Describing is cheap: an Info names config files and the modules
to import (``imports``), but importing those modules (torch, mmaction2, ...) is deferred until a
run actually needs them, so ``harness list`` stays fast.

Contracts the runner relies on:

* A **method** model is an ``mmengine.model.BaseModel`` registered in
  :data:`harness.registry.MODELS`, built from the method's config; ``forward(inputs,
  data_samples, mode='loss')`` returns a dict of losses, and it implements
  :class:`BackboneExporter` (``backbone_state_dict()``), which returns the weights of the
  representation to transfer, with keys relative to the backbone module.
* A **backbone** is an ``mmengine.model.BaseModule`` (it takes ``init_cfg``: evaluators load
  the pretrained weights through it) registered in :data:`harness.registry.MODELS` whose
  ``forward`` maps a clip batch ``[N, C, T, H, W]`` (or images ``[N, C, H, W]``) to a feature map
  ``[N, D, ...]``; ``feat_dim`` is ``D``. The same class is used in pretraining and inside the
  downstream models (mmaction2's Recognizer3D, mmdet's detectors), so weights transfer 1:1.
* An **evaluator** returns an :class:`EvalResult` from ``evaluate(request)``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

#: Root of the configs shipped with this repository (``configs/``).
CONFIGS_ROOT = Path(__file__).resolve().parent.parent / 'configs'


def resolve_config(path: str | Path) -> Path:
    """An absolute config path as is; a relative one under :data:`CONFIGS_ROOT`."""
    path = Path(path)
    return path if path.is_absolute() else CONFIGS_ROOT / path


def import_object(target: str) -> Any:
    """Import ``'package.module:attr'`` (lazy targets keep plugin listing cheap)."""
    module_name, _, attr = target.partition(':')
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


@dataclass(frozen=True)
class MethodInfo:
    """A pretraining method.

    name: the ``--method`` name. config: the mmengine config of its pretraining (absolute, or
    relative to ``configs/``), or None for a method that does not pretrain (random init).
    data: 'video', 'image' or 'any' (what its backbone takes). imports: modules that register
    its models/transforms.
    citation: the paper, as in specs/methods.md. default_backbone: used when ``--backbone`` is
    not given.
    """

    name: str
    summary: str
    data: str
    config: str | None
    default_backbone: str
    imports: Sequence[str] = ()
    citation: str = ''

    @property
    def pretrains(self) -> bool:
        return self.config is not None


@dataclass(frozen=True)
class BackboneInfo:
    """A network a method trains and an evaluator transfers.

    cfg: the mmengine model config that builds it (``type='harness.X'``).
    data: 'video' or 'image'. feat_dim: channels of its output feature map.
    """

    name: str
    summary: str
    data: str
    cfg: Mapping[str, Any]
    feat_dim: int
    imports: Sequence[str] = ()


@dataclass(frozen=True)
class ProtocolInfo:
    """One evaluation protocol of an evaluator (finetune, linear, retrieval, ...).

    version: bumped whenever the protocol changes in a way that changes its numbers.
    config: the mmengine config of the protocol (absolute, or relative to ``configs/``).
    metrics: the names of the metrics it reports, first is the headline.
    splits: the splits it is defined on (None: every split of its evaluator), e.g. retrieval
    is reported on split 1 only.
    """

    name: str
    version: str
    summary: str
    config: str | None = None
    metrics: Sequence[str] = ()
    splits: Sequence[str] | None = None


@dataclass(frozen=True)
class EvaluatorInfo:
    """A downstream evaluation.

    dataset: the name of the dataset layout it reads (see :mod:`harness.data`).
    evaluator: ``'module:attr'`` of an :class:`Evaluator` (imported only to run).
    """

    name: str
    summary: str
    data: str
    dataset: str
    protocols: Sequence[ProtocolInfo]
    evaluator: str
    splits: Sequence[str] = ('1',)

    def protocol(self, name: str) -> ProtocolInfo:
        for protocol in self.protocols:
            if protocol.name == name:
                return protocol
        raise KeyError(name)


@runtime_checkable
class BackboneExporter(Protocol):
    """What a method model offers the evaluators: its transferable backbone weights."""

    def backbone_state_dict(self) -> dict[str, Any]:
        """Weights of the backbone to transfer, keys relative to the backbone module."""


@dataclass
class EvalRequest:
    """Everything an evaluator needs for one evaluation.

    dataset: the dataset layout name (:func:`harness.data.layout`); backbone_weights: path of
    the pretrained backbone state dict, or None (random init). data_root: the dataset root
    (demo or real). split: one split name; data_split: that split's videos as the runner
    read them (:meth:`read_split`). backbone_sha256: identity of the weights ('random' init has
    none). cache_dir: where evaluators may keep what is worth reusing across runs (features).
    cfg_options: ``--cfg-options`` meant for the evaluation config.
    """

    protocol: ProtocolInfo
    backbone: BackboneInfo
    backbone_weights: Path | None
    dataset: str
    data_root: Path
    is_demo: bool
    work_dir: Path
    split: str
    seed: int
    resume: bool = False
    launcher: str = 'none'
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    imports: Sequence[str] = ()
    data_split: Any = None
    backbone_sha256: str | None = None
    cache_dir: Path | None = None

    def read_split(self) -> Any:
        """The split to evaluate: the runner's (unreadable videos already removed), or the
        dataset layout's own reading of ``split`` when the request was made by hand."""
        if self.data_split is None:
            from harness import data as datasets

            self.data_split = datasets.layout(self.dataset).read_split(self.data_root,
                                                                      self.split)
        return self.data_split


@dataclass
class EvalResult:
    """metrics: name -> value (percent for accuracies); higher_is_better: name -> bool.

    splits, clips, crops: what was evaluated; weights: the backbone load report;
    config_sha256: hash of the merged evaluation config. For several splits, ``metrics`` holds
    the means, ``std`` the standard deviations and ``per_split`` name -> split -> value.
    """

    metrics: dict[str, float]
    higher_is_better: dict[str, bool]
    splits: list[str]
    clips: int
    crops: int
    config_sha256: str
    units: dict[str, str] = field(default_factory=dict)
    weights: dict[str, Any] | None = None
    std: dict[str, float] = field(default_factory=dict)
    per_split: dict[str, dict[str, float]] = field(default_factory=dict)


class Evaluator(Protocol):
    """Runs one protocol of one downstream task (the class an EvaluatorInfo points at)."""

    def evaluate(self, request: EvalRequest) -> EvalResult:
        """Train/test as the protocol says and return its metrics."""

