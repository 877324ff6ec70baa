"""The core's public face: the interfaces plugins implement (what a Method, a Backbone and an
Evaluator are) and, imported on first use, the rest of the core that plugins use (see
``_EXPORTS`` at the end: errors, registries, the evaluation protocols, data and model helpers).

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
* An **evaluator** describes a dataset's protocols; each :class:`ProtocolInfo` names the class
  that runs it (``implementation``), a :class:`harness.evaluate.RunnerProtocol` or
  :class:`harness.evaluate.FeatureProtocol`, which the core's one evaluation engine drives.
"""
from __future__ import annotations

import importlib
from importlib import resources
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

#: The name of the config a run uses when ``--config`` / ``--eval-config`` is not given.
DEFAULT_CONFIG = 'demo'


def resolve_config(ref: str | Path) -> Path:
    """The file a config reference names.

    ``'package:path/in/package.py'`` is a file shipped inside an installed Python package (found
    through :mod:`importlib.resources`, so it works the same for editable and wheel installs);
    anything else is a filesystem path. A missing file is a one-line :class:`ConfigError`.
    """
    from harness.errors import ConfigError

    text = str(ref)
    package, sep, inner = text.partition(':')
    if sep and all(part.isidentifier() for part in package.split('.')):
        try:
            path = Path(str(resources.files(package).joinpath(inner)))
        except ModuleNotFoundError:
            raise ConfigError(f"config '{text}': package '{package}' is not installed") from None
    else:
        path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"config '{text}' does not exist ({path})")
    return path


def packaged_configs(package: str, stem: str, names: Sequence[str] = ('demo', 'paper')
                     ) -> dict[str, str]:
    """Named config references ``{name: 'package:configs/<stem>_<name>.py'}``: the convention
    every built-in plugin follows for the configs it ships inside its package."""
    return {name: f'{package}:configs/{stem}_{name}.py' for name in names}


def pick_config(configs: Mapping[str, str], choice: str | None, owner: str) -> tuple[str, Path]:
    """``(name, file)`` of the config ``choice`` (a name of ``configs`` or a path to a config
    file; None: :data:`DEFAULT_CONFIG`) of ``owner`` (e.g. "method 'brave'")."""
    from harness.errors import ConfigError

    choice = choice or DEFAULT_CONFIG
    if choice in configs:
        return choice, resolve_config(configs[choice])
    path = Path(choice).expanduser()
    if path.suffix == '.py' and path.is_file():
        return str(path.resolve()), path.resolve()
    raise ConfigError(f"{owner} has no config '{choice}'; its configs: "
                      f"{', '.join(configs) or 'none'}, or give the path of an mmengine config "
                      'file')


def import_object(target: str) -> Any:
    """Import ``'package.module:attr'`` (lazy targets keep plugin listing cheap)."""
    module_name, _, attr = target.partition(':')
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


@dataclass(frozen=True)
class MethodInfo:
    """A pretraining method.

    name: the ``--method`` name. configs: its named pretraining configs, name -> config
    reference (``'harness_mymethod:configs/demo.py'``, see :func:`resolve_config`); every
    pretraining method ships ``demo`` (minutes on a CPU) and ``paper`` (the paper's sizes and
    schedule). Empty for a method that does not pretrain (random init).
    modality: 'video', 'image' or 'any' (what its backbone takes). citation: the paper.
    default_backbone: used when ``--backbone`` is not given. The modules that register the
    method's models and transforms are its configs' ``custom_imports``.
    also: the same method on another kind of data, each a MethodInfo of the same name with
    its own ``modality``, ``configs`` and ``default_backbone`` (e.g. BYOL on clips and on images);
    a run takes the one whose data its evaluator reads (:meth:`for_modality`).
    backbones: the backbones it can train, by name, when not every backbone of its data
    (SiameseIM drives a ViT's patch embedding and blocks itself); empty: all of them.
    reads: the modality its pretraining sampler reads when that is not ``modality`` (e.g.
    ``'video'`` for a method that trains an image backbone on patches or frames of videos);
    '' for ``modality``. demo_pretrain: the dataset whose demo it pretrains on when a run on demo
    data names no ``--pretrain-data`` (needed when ``reads`` differs from the evaluator's
    data, e.g. ``'kinetics400'``); '' for the evaluator's choice.
    reference: a reference row, not a method (random init): it does not pretrain unless
    ``--config`` names one of its ``configs``, and the record of such a run names that config
    as its ``variant``, a reference row of its own (e.g. 'random (bn_calibrated)').
    """

    name: str
    summary: str
    modality: str
    configs: Mapping[str, str]
    default_backbone: str
    citation: str = ''
    also: Sequence['MethodInfo'] = ()
    backbones: Sequence[str] = ()
    reads: str = ''
    demo_pretrain: str = ''
    reference: bool = False

    @property
    def pretrains(self) -> bool:
        """Whether it can pretrain (it has configs)."""
        return bool(self.configs)

    def pretrains_with(self, config: str | None) -> bool:
        """Whether a run with ``--config config`` (None: not given) pretrains."""
        return self.pretrains and not (self.reference and config is None)

    @property
    def pretrain_kind(self) -> str:
        """The kind of data ('video', 'image', 'any') its pretraining set holds."""
        return self.reads or self.modality

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind of data the method trains on."""
        return (self.modality, *(other.modality for other in self.also))

    def trains(self, backbone: str) -> bool:
        """Whether the method can train the backbone named ``backbone`` (of its data)."""
        return not self.backbones or backbone in self.backbones

    def for_modality(self, kind: str) -> 'MethodInfo | None':
        """The variant of the method for data of ``kind`` (itself, one of ``also``), or
        None when it has none."""
        for variant in (self, *self.also):
            if variant.modality in ('any', kind):
                return variant
        return None


@dataclass(frozen=True)
class BackboneInfo:
    """A network a method trains and an evaluator transfers.

    cfg: the mmengine model config that builds it (``type='harness.X'``).
    modality: 'video' or 'image'. feat_dim: channels of its output feature map.
    demo_standin: the backbone a run on demo data uses in its place when it is a method's
    default and ``--backbone`` is not given (a cheaper network of the same family), or ''.
    stages: the stages the network can be cut after, in order, name -> channels of that
    stage's output (the last is the whole network, its ``feat_dim``); its config then takes
    ``out_stage=<name>`` and builds the network only up to that stage (no later stage exists,
    in the module or in its weights). Empty: it cannot be cut.
    out_stage, cut_from: set on a backbone cut by :meth:`up_to` (a pretraining config that
    trains only the first stages says so with its top-level ``backbone_stage``): the stage
    it ends at and the name of the registered backbone it was cut from ('' otherwise).
    """

    name: str
    summary: str
    modality: str
    cfg: Mapping[str, Any]
    feat_dim: int
    imports: Sequence[str] = ()
    demo_standin: str = ''
    stages: Mapping[str, int] = field(default_factory=dict)
    out_stage: str = ''
    cut_from: str = ''

    @property
    def registered_name(self) -> str:
        """The name of the registered backbone this is (or was cut from)."""
        return self.cut_from or self.name

    def up_to(self, stage: str | None) -> 'BackboneInfo':
        """This backbone cut after ``stage`` (one of :attr:`stages`), as evaluators build it:
        named ``<name>-to-<stage>``, its config with ``out_stage=stage``, its ``feat_dim`` the
        stage's channels. Itself for None, its last stage, or the stage it ends at already; a
        one-line ConfigError for a stage it does not have."""
        from harness.errors import ConfigError

        if stage is None or (self.stages and stage == list(self.stages)[-1]):
            return self
        if self.out_stage:
            raise ConfigError(f"backbone '{self.name}' ends at {self.out_stage} already; it "
                              f'cannot be cut after {stage!r}')
        if stage not in self.stages:
            have = ', '.join(self.stages) or 'none: it cannot be cut'
            raise ConfigError(f"backbone_stage={stage!r}: backbone '{self.name}' has no such "
                              f'stage (its stages: {have}); pick another --backbone')
        cut = list(self.stages)[:list(self.stages).index(stage) + 1]
        return replace(self, name=f'{self.name}-to-{stage}',
                       summary=f'{self.summary}; cut after {stage} ({self.stages[stage]}-d)',
                       cfg={**self.cfg, 'out_stage': stage}, feat_dim=self.stages[stage],
                       demo_standin='', stages={name: self.stages[name] for name in cut},
                       out_stage=stage, cut_from=self.name)


@dataclass(frozen=True)
class ProtocolInfo:
    """One evaluation protocol of an evaluator (finetune, linear, retrieval, ...).

    version: bumped whenever the protocol changes in a way that changes its numbers.
    configs: its named configs, name -> config reference (:func:`resolve_config`): ``demo`` and
    ``paper`` at least.
    metrics: the names of the metrics it reports, first is the headline.
    splits: the splits it is defined on (None: every split of its evaluator), e.g. retrieval
    is reported on split 1 only.
    implementation: ``'module:Class'`` of the protocol (a :class:`harness.evaluate.RunnerProtocol`
    or :class:`harness.evaluate.FeatureProtocol` subclass), imported only to run.
    """

    name: str
    version: str
    summary: str
    configs: Mapping[str, str] = field(default_factory=dict)
    metrics: Sequence[str] = ()
    splits: Sequence[str] | None = None
    implementation: str = ''


@dataclass(frozen=True)
class EvaluatorInfo:
    """A downstream evaluation.

    modality: 'video' or 'image' (what it feeds the backbone). dataset: the name of the
    dataset layout it reads (a registered :class:`DatasetInfo`). protocols: its protocols, each
    naming the class that runs it.
    demo_pretrain: the pretraining set a run on demo data uses when ``--pretrain-data`` is not
    given (a registered dataset's demo, e.g. ``'kinetics400'``); '' for the evaluation
    dataset's own train list.
    """

    name: str
    summary: str
    modality: str
    dataset: str
    protocols: Sequence[ProtocolInfo]
    splits: Sequence[str] = ('1',)
    demo_pretrain: str = ''

    def protocol(self, name: str) -> ProtocolInfo:
        for protocol in self.protocols:
            if protocol.name == name:
                return protocol
        raise KeyError(name)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset as it lies on disk, and the generator of its demo version.

    name: used by ``--pretrain-data NAME`` and ``EvaluatorInfo.dataset``. layout: the module
    that reads it (imported only when used), providing

    - ``SPLITS``: the names of its official splits;
    - ``read_split(root, split) -> harness.data.splits.Split``: the split's train and test
      items (train lists are what pretraining reads); one-line ``DataError`` when the root does
      not hold the layout;
    - ``generate_demo(root)``: write a small deterministic demo in the same layout (idempotent);
    - ``is_demo(root)``: whether ``root`` holds such a demo.

    modality: 'video' or 'image'. layout_help: what a root must hold, for error messages and
    ``harness list``.
    """

    name: str
    summary: str
    modality: str
    layout: str
    layout_help: str = ''

    def module(self) -> Any:
        return import_object(self.layout)


@runtime_checkable
class BackboneExporter(Protocol):
    """What a method model offers the evaluators: its transferable backbone weights."""

    def backbone_state_dict(self) -> dict[str, Any]:
        """Weights of the backbone to transfer, keys relative to the backbone module."""


@dataclass(frozen=True)
class EvalRequest:
    """Everything a protocol needs for one evaluation, built once per job by the runner.

    dataset: the registered dataset (:class:`DatasetInfo`); backbone_weights: path of the
    pretrained backbone state dict, or None (random init). data_root: the dataset root (demo or
    real). split: one split name; data_split: that split's items as the runner read them
    (unreadable ones removed; None: :meth:`read_split` reads the layout). work_dir: the
    evaluation's own folder. lists_dir: where annotation lists shared by the evaluations of a
    run are written (default: ``work_dir/lists``). cache_dir: where features worth reusing
    across runs are kept (default: ``work_dir/features``). config: the protocol's config file
    (``--eval-config``; default: its ``demo`` config); cfg_options: ``--cfg-options`` meant
    for the evaluation config. amp: ``bf16``/``fp16`` to train with mixed precision
    (:func:`harness.config.use_amp`), None for fp32.
    """

    protocol: ProtocolInfo
    backbone: BackboneInfo
    backbone_weights: Path | None
    dataset: DatasetInfo
    data_root: Path
    work_dir: Path
    split: str
    seed: int
    config: Path | None = None
    resume: bool = False
    launcher: str = 'none'
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    imports: Sequence[str] = ()
    data_split: Any = None
    cache_dir: Path | None = None
    lists_dir: Path | None = None
    amp: str | None = None

    def __post_init__(self):
        if self.config is None and DEFAULT_CONFIG in self.protocol.configs:
            object.__setattr__(self, 'config',
                               resolve_config(self.protocol.configs[DEFAULT_CONFIG]))

    @property
    def lists(self) -> Path:
        """The folder of the run's annotation lists."""
        return self.lists_dir or self.work_dir / 'lists'

    @property
    def features_dir(self) -> Path:
        """The folder of the feature cache."""
        return self.cache_dir or self.work_dir / 'features'

    def backbone_config(self) -> dict:
        """The backbone's model config, loading the pretrained weights (with a load report,
        ``harness.SSLPretrained``) when there are any."""
        backbone = dict(self.backbone.cfg)
        if self.backbone_weights is not None:
            backbone['init_cfg'] = dict(type='harness.SSLPretrained',
                                        checkpoint=str(self.backbone_weights))
        return backbone

    def read_split(self) -> Any:
        """The split to evaluate: the runner's (unreadable items already removed), or the
        dataset layout's own reading of ``split`` when the request was made by hand."""
        if self.data_split is not None:
            return self.data_split
        return self.dataset.module().read_split(self.data_root, self.split)

    def split_lists(self) -> tuple[int, Path, Path]:
        """(number of classes, train list, test list) of the split, written as mmaction2's
        VideoDataset and the harness's ImageListDataset read them (``path label``, paths
        relative to the data root) into :attr:`lists`. The number of classes is the dataset's,
        never the labels present."""
        from harness import data as datasets

        split = self.read_split()
        stem = f'{self.dataset.name}_{{}}{self.split}'
        return (len(split.classes),
                datasets.annotation_list(self.lists, stem.format('train'), split.train),
                datasets.annotation_list(self.lists, stem.format('test'), split.test))


@dataclass
class EvalResult:
    """metrics: name -> value (percent for accuracies); higher_is_better: name -> bool.

    splits, clips, crops: what was evaluated; weights: the backbone load report;
    config_sha256: hash of the merged evaluation config; settings: what the record states about
    that config (:func:`harness.config.summarize`: input sampling, batch size, schedule). For
    several splits or seeds, ``metrics`` holds the means, ``std`` the standard deviations,
    ``per_split`` name -> split -> value and ``per_seed`` name -> seed -> value.
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
    per_seed: dict[str, dict[str, float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


# The rest of the core that plugins use, imported on first use (PEP 562) so that importing this
# module stays cheap: plugin packages import the core through ``harness.api`` (and ``harness``
# for ``hookimpl``) only, so what they rely on is this list.
_EXPORTS: dict[str, tuple[str, ...]] = {
    # one-line errors for bad input (exit code 2)
    'harness.errors': ('ConfigError', 'DataError'),
    # the mmengine registries of the harness's scope
    'harness.registry': ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS', 'OPTIMIZERS',
                         'OPTIM_WRAPPER_CONSTRUCTORS'),
    # files written whole or not at all
    'harness.io': ('atomic_write_text', 'atomic_write_bytes'),
    # the evaluation engine's two kinds of protocol and what they exchange
    'harness.evaluate': ('RunnerProtocol', 'FeatureProtocol', 'Filled', 'Features', 'top_ks',
                         'FEATURE_KEYS'),
    # what a protocol's own config keys may hold (its ``keys``, checked before training)
    'harness.checks': ('Key', 'integer', 'number', 'boolean', 'one_of', 'integer_list',
                       'transform_list', 'registered'),
    # frozen backbones and the device evaluations compute on
    'harness.features': ('frozen_backbone', 'weight_report', 'device'),
    'harness.weights': ('merge_load_reports',),
    'harness.engine': ('main_process_first',),
    # building blocks of models
    'harness.modules': ('global_pool', 'map_shape', 'mlp', 'momentum_update'),
    # datasets: items and splits, decoding, sampling, augmentation
    'harness.data': ('list_sha256',),
    'harness.data.splits': ('DataItem', 'Split'),
    'harness.data.listdata': ('VideoListDataset',),
    'harness.data.seeding': ('SeededItems',),
    'harness.data.video': ('open_video', 'read_frames'),
    'harness.data.images': ('prepare_image',),
    'harness.data.flow': ('flows', 'magnitude'),
    'harness.data.views': ('ViewSpec', 'decode_clips', 'decode_frames', 'prepare_clip',
                           'stack_clips', 'view_indices'),
    'harness.data.augment': ('AugmentViews', 'IMAGENET_MEAN', 'IMAGENET_STD', 'chance',
                             'normalize', 'on_clips', 'resize_boxes'),
    'harness.data.augment_steps': ('AugmentStep', 'register_augment_step'),
    'harness.data.demo': ('is_demo',),
}
#: Core modules plugins use as namespaces: ``demo`` (writing a demo dataset: ``demo.begin``,
#: ``demo.finish``, ``demo.render_video``, ...) and ``synth`` (rendering shapes and textures).
_NAMESPACES = {'demo': 'harness.data.demo', 'synth': 'harness.data.synth'}
_ORIGIN = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _NAMESPACES:
        value = importlib.import_module(_NAMESPACES[name])
    elif name in _ORIGIN:
        value = getattr(importlib.import_module(_ORIGIN[name]), name)
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ORIGIN, *_NAMESPACES})
