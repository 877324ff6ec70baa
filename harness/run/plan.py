"""Planning a run: every name, config and data root of ``harness run`` resolved into an
immutable :class:`RunPlan`, each problem a one-line error raised before anything is trained.

The pretraining set (``--pretrain-data``) is chosen independently of the evaluation data
(``--eval``/``--data``); :mod:`harness.run.jobs` checks that it holds no test item of an
evaluated split.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from harness import data as datasets
from harness.api import DatasetInfo, MethodInfo, ProtocolInfo, pick_config
from harness.checks import SEED_MAX, seed_problem
from harness.launch import check_launcher
from harness.engine import init_distributed, main_process_first
from harness.errors import HarnessError, PluginError
from harness.io import nearest_existing
from harness.plugins import PluginManager, Registered


@dataclass
class RunOptions:
    """What ``harness run`` (or ``harness eval``: ``weights`` instead of ``method``) was asked
    to do."""

    method: str | None
    eval: str
    backbone: str | None = None
    protocol: str | None = None
    data: str = 'demo'
    split: str | None = None  # None: the evaluator's first split
    work_dir: str = 'work_dirs'
    seeds: tuple[int, ...] | None = None  # None: the evaluation config's ``seeds``, else (0,)
    resume: bool = False
    launcher: str = 'none'
    cfg_options: Mapping[str, Any] = field(default_factory=dict)
    records_dir: str | None = None
    max_unreadable: float = 0.05
    config: str | None = None
    eval_config: str | None = None
    pretrain_data: str | None = None
    dry_run: bool = False
    amp: str | None = None
    #: ``harness eval``: a weights file evaluated in place of a pretraining
    #: (:mod:`harness.external`), the prefix its keys are taken under (None: found), the
    #: record's name for it (None: the file's) and whether it was trained with labels
    weights: str | None = None
    weights_prefix: str | None = None
    name: str | None = None
    supervised: bool = False


@dataclass(frozen=True)
class DataSource:
    """A dataset on disk: the registered layout, its root, and whether it is demo data."""

    dataset: DatasetInfo
    root: Path
    is_demo: bool

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def label(self) -> str:
        return 'demo' if self.is_demo else 'real'

    def read_split(self, split: str):
        return self.dataset.module().read_split(self.root, split)


@dataclass(frozen=True)
class RunPlan:
    """A resolved run: the components, their configs, the data, and where things go; immutable
    (:func:`harness.run.jobs.plan_jobs` turns it into the run's jobs).

    method_config / eval_config: ``(name, file)`` of the configs used (``--config``,
    ``--eval-config``). splits: the splits evaluated (``--split all``: every split of the
    protocol). seeds: every seed runs the whole pretraining and evaluation (``--seeds``).
    pretrain_data: the pretraining set (None for a method that does not pretrain).
    """

    method: Registered
    backbone: Registered
    evaluator: Registered
    protocol: ProtocolInfo
    method_config: tuple[str, Path] | None
    eval_config: tuple[str, Path]
    eval_data: DataSource
    pretrain_data: DataSource | None
    splits: tuple[str, ...]
    work_dir: Path
    seeds: tuple[int, ...]
    resume: bool
    launcher: str
    cfg_options: Mapping[str, Any]
    records_dir: Path
    max_unreadable: float = 0.05
    dry_run: bool = False
    amp: str | None = None
    #: the seed of the one pretraining every seed evaluates (the evaluation config's ``seeds``
    #: are fine-tuning trials of one pretrained model); None: each seed pretrains on its own
    pretrain_seed: int | None = None
    #: the plugin distributions of every component the run uses (method, backbone, evaluator,
    #: the evaluation and pretraining datasets), whose provenance the record states
    distributions: tuple[str, ...] = ()
    #: ``harness eval``: the weights file evaluated in place of a pretraining
    #: (:class:`harness.external.ExternalWeights`); ``method`` then stands for it
    weights: Any = None

    @property
    def pretrains(self) -> bool:
        """Whether the run pretrains (a method config was picked)."""
        return self.method_config is not None

    @property
    def reference_variant(self) -> str | None:
        """The config of a reference row that pretrains (e.g. random's ``bn_calibrated``):
        the record's ``variant``, a reference row of its own; None otherwise."""
        return self.method_config[0] if self.method.info.reference and self.pretrains else None

    @property
    def pretrains_per_split(self) -> bool:
        """Whether each evaluated split pretrains on its own train list: the pretraining set is
        the evaluation data itself (the same dataset at the same root). The same dataset at
        another root (``--pretrain-data ucf101=/other/copy``) is a pretraining set of its own,
        read in its own layout."""
        return (self.pretrain_data is not None and self.pretrain_data.name == self.eval_data.name
                and self.pretrain_data.root.resolve() == self.eval_data.root.resolve())

    @property
    def data_label(self) -> str:
        demo = self.eval_data.is_demo or (self.pretrain_data and self.pretrain_data.is_demo)
        return 'demo' if demo else 'real'


# ------------------------------------------------------------------------------- planning


def plan_run(pm: PluginManager, options: RunOptions) -> RunPlan:
    """Resolve every name, config and data root; any problem is a one-line HarnessError,
    raised before anything is trained."""
    if options.weights is not None:
        return plan_external(pm, options)
    method = pm.get('method', options.method)
    evaluator = pm.get('evaluator', options.eval)
    if options.backbone:  # the method's variant for the named backbone's kind of data
        kind = pm.get('backbone', options.backbone).info.modality
    else:  # the variant for the evaluator's data
        kind = evaluator.info.modality
    variant = method.info.for_modality(kind)
    if variant is None:
        raise HarnessError(f"method '{method.info.name}' trains on "
                           f"{' and '.join(method.info.kinds)}, not on {kind}; pick a "
                           f"{' or '.join(method.info.kinds)} evaluator or backbone (see "
                           "'harness list')")
    method = replace(method, info=variant)
    backbone = pm.get('backbone', options.backbone or method.info.default_backbone)
    if method.info.modality not in ('any', backbone.info.modality):
        raise HarnessError(f"backbone '{backbone.info.name}' takes {backbone.info.modality} but "
                           f"method '{method.info.name}' trains on {method.info.modality}; "
                           f"pick a {method.info.modality} backbone (see 'harness list')")
    if evaluator.info.modality not in ('any', backbone.info.modality):
        raise HarnessError(f"evaluator '{evaluator.info.name}' takes {evaluator.info.modality} but "
                           f"backbone '{backbone.info.name}' takes {backbone.info.modality}; pick "
                           f"a {evaluator.info.modality} backbone with --backbone (see 'harness "
                           "list')")
    method_config = None
    if method.info.pretrains_with(options.config):
        method_config = pick_config(method.info.configs, options.config,
                                    f"method '{method.info.name}'")
    elif options.config:
        raise HarnessError(f"method '{method.info.name}' does not pretrain, so it takes no "
                           '--config; drop it')
    protocol, eval_config, splits, work_dir, records_dir, eval_data = resolve_evaluation(
        pm, evaluator, options, backbone, method, method_config)
    if options.backbone is None and eval_data.is_demo and backbone.info.demo_standin:
        # the default's cheaper sibling, so a CPU demo pretrains long enough to learn
        # something; every method on the demo gets it, random init included
        backbone = pm.get('backbone', backbone.info.demo_standin)
        pm.import_modules(backbone.info.imports, backbone.plugin)
    if not method.info.trains(backbone.info.name):
        raise HarnessError(f"method '{method.info.name}' trains only the backbones "
                           f"{', '.join(method.info.backbones)}, not '{backbone.info.name}'; "
                           'pick one of them with --backbone')
    if method_config is not None:  # cut where the config says the method stops training it
        from harness.config import split_cfg_options
        from harness.pretrain import trained_backbone

        backbone = replace(backbone, info=trained_backbone(
            method_config[1], backbone.info, split_cfg_options(options.cfg_options)[0]))
    pretrain_data = None
    if method_config is not None:
        pretrain_data = resolve_pretrain_data(
            pm, options.pretrain_data, eval_data,
            method.info.demo_pretrain or evaluator.info.demo_pretrain, work_dir)
        check_pretrain_kind(method.info, pretrain_data)
    elif options.pretrain_data:
        raise HarnessError(f"method '{method.info.name}' does not pretrain, so it takes no "
                           '--pretrain-data; drop it')
    trials = None if options.seeds else config_seeds(eval_config[1])
    return RunPlan(method, backbone, evaluator, protocol, method_config, eval_config, eval_data,
                   pretrain_data, splits, work_dir, tuple(options.seeds or trials or (0,)),
                   options.resume, options.launcher, options.cfg_options, records_dir,
                   options.max_unreadable, options.dry_run, options.amp,
                   pretrain_seed=0 if trials else None,
                   distributions=plugin_distributions(
                       pm, (method, backbone, evaluator),
                       (eval_data, *([pretrain_data] if pretrain_data else []))))


def plugin_distributions(pm: PluginManager, components, data) -> tuple[str, ...]:
    """The distributions (sorted, each once) of the plugins that registered ``components``
    (:class:`Registered`) and the datasets of ``data`` (:class:`DataSource`)."""
    entries = [*components, *(pm.components['dataset'].get(source.name) for source in data)]
    return tuple(sorted({entry.plugin.distribution for entry in entries
                         if entry is not None and entry.plugin.distribution}))


def import_plugin_modules(pm: PluginManager, method: Registered | None, backbone: Registered,
                          evaluator: Registered, protocol: ProtocolInfo,
                          method_config: tuple[str, Path] | None,
                          eval_config: tuple[str, Path]) -> None:
    """Import the modules the run's components and configs name (the configs'
    ``custom_imports``, the backbone's ``imports``, the protocol's implementation) before any
    config is loaded: a model module that fails to import is its plugin's failure, one line
    naming the plugin and the file and line where it broke, not the config's."""
    def config_modules(path: Path) -> list[str]:
        from mmengine.config import Config

        try:  # a config that cannot be read is load_config's one line, later
            cfg = Config.fromfile(str(path), import_custom_modules=False)
        except Exception:  # noqa: BLE001
            return []
        modules = (cfg.get('custom_imports') or {}).get('imports') or []
        return [modules] if isinstance(modules, str) else \
            [m for m in modules if isinstance(m, str)]

    if method_config is not None:
        pm.import_modules(config_modules(method_config[1]), method.plugin)
    pm.import_modules(backbone.info.imports, backbone.plugin)
    if protocol.implementation:
        pm.import_modules([protocol.implementation.partition(':')[0]], evaluator.plugin)
    pm.import_modules(config_modules(eval_config[1]), evaluator.plugin)


def resolve_evaluation(pm: PluginManager, evaluator: Registered, options: RunOptions,
                       backbone: Registered, method: Registered | None = None,
                       method_config: tuple[str, Path] | None = None):
    """The evaluation side of a run: ``(protocol, eval_config, splits, work_dir, records_dir,
    eval_data)``, the plugins' modules imported (:func:`import_plugin_modules`), the folders
    checked writable and the evaluation data's layout read."""
    protocols = [p.name for p in evaluator.info.protocols]
    protocol_name = options.protocol or protocols[0]
    if protocol_name not in protocols:
        raise PluginError(f"evaluator '{evaluator.info.name}' has no protocol "
                          f"'{protocol_name}'; its protocols: {', '.join(protocols)}")
    protocol = evaluator.info.protocol(protocol_name)
    eval_config = pick_config(protocol.configs, options.eval_config,
                              f"protocol '{evaluator.info.name}/{protocol.name}'")
    splits = resolve_splits(evaluator.info.name, evaluator.info.splits, protocol, options.split)
    import_plugin_modules(pm, method, backbone, evaluator, protocol, method_config, eval_config)
    if not 0 <= options.max_unreadable <= 1:
        raise HarnessError(f'--max-unreadable is a fraction in [0, 1], got '
                           f'{options.max_unreadable}')
    check_launcher(options.launcher)
    check_amp(options.amp)
    init_distributed(options.launcher)
    work_dir = Path(options.work_dir).expanduser().resolve()
    records_dir = Path(options.records_dir).expanduser().resolve() if options.records_dir \
        else work_dir / 'records'
    check_writable(work_dir, '--work-dir')  # first: the default records folder is in it
    check_writable(records_dir, '--records-dir')
    eval_dataset = pm.get('dataset', evaluator.info.dataset).info
    eval_data = data_source(eval_dataset, options.data, work_dir, '--data')
    eval_data.read_split(splits[0])  # a root without the layout fails here, not after pretraining
    return protocol, eval_config, splits, work_dir, records_dir, eval_data


def plan_external(pm: PluginManager, options: RunOptions) -> RunPlan:
    """``harness eval``: the plan of a run whose backbone weights come from a file
    (:mod:`harness.external`) instead of a pretraining; the method stands for the file."""
    from harness import external
    from harness.api import MethodInfo
    from harness.plugins import PluginRecord

    if options.name is not None and (not options.name.strip() or not options.name.isprintable()):
        raise HarnessError(f'--name {options.name!r}: give a label on one line (it names the '
                           'row in the record and on the leaderboard)')
    if not options.backbone:
        raise HarnessError('--weights needs --backbone NAME: the registered backbone the '
                           "weights are for (see 'harness list')")
    evaluator = pm.get('evaluator', options.eval)
    backbone = pm.get('backbone', options.backbone)
    if evaluator.info.modality not in ('any', backbone.info.modality):
        raise HarnessError(f"evaluator '{evaluator.info.name}' takes {evaluator.info.modality} but "
                           f"backbone '{backbone.info.name}' takes {backbone.info.modality}; "
                           f'evaluate {backbone.info.modality} weights with an evaluator of '
                           f"{backbone.info.modality} (see 'harness list')")
    protocol, eval_config, splits, work_dir, records_dir, eval_data = resolve_evaluation(
        pm, evaluator, options, backbone)
    with main_process_first():  # mapped and written once
        weights = external.prepare(options.weights, backbone.info, work_dir,
                                   prefix=options.weights_prefix, label=options.name,
                                   supervised=options.supervised, write=not options.dry_run)
    method = Registered(
        MethodInfo(name=weights.label, summary=f'external weights {weights.path.name}',
                   modality=backbone.info.modality, configs={},
                   default_backbone=backbone.info.name),
        PluginRecord(name='external', distribution=None, version=weights.sha256[:12],
                     module='external'))
    trials = None if options.seeds else config_seeds(eval_config[1])
    return RunPlan(method, backbone, evaluator, protocol, None, eval_config, eval_data, None,
                   splits, work_dir, tuple(options.seeds or trials or (0,)), options.resume,
                   options.launcher, options.cfg_options, records_dir, options.max_unreadable,
                   options.dry_run, options.amp, weights=weights,
                   distributions=plugin_distributions(pm, (backbone, evaluator), (eval_data,)))


def config_seeds(path: Path) -> tuple[int, ...] | None:
    """The fine-tuning trials an evaluation config runs when no seed is given (its top-level
    ``seeds``, e.g. the five trials a detection paper averages: one pretraining, seed 0,
    fine-tuned with each seed), or None."""
    from harness.config import load_config

    seeds = load_config(path, label='evaluation config').get('seeds')
    if seeds is None:
        return None
    if not isinstance(seeds, (list, tuple)) or not seeds or \
            any(seed_problem(s) for s in seeds) or len(set(seeds)) != len(seeds):
        raise HarnessError(f'evaluation config {path}: seeds={seeds!r} must be a list of '
                           f'distinct integers in [0, {SEED_MAX}]')
    return tuple(seeds)


def check_amp(amp: str | None) -> None:
    """``--amp`` is mmengine's AmpOptimWrapper, which trains on CUDA (or NPU, MLU) only."""
    import torch

    if amp is not None and not torch.cuda.is_available():
        raise HarnessError(f'--amp {amp} needs a GPU (mmengine\'s AmpOptimWrapper autocasts on '
                           'CUDA) and torch sees none here; drop --amp to train in fp32')


def check_writable(directory: Path, option: str) -> None:
    """``directory`` exists and is writable, or can be created: checked before any work, so a
    result is never lost at the end of a long run. Checked by writing and removing a file in
    it (or in the nearest folder above it that exists), which ``os.access`` cannot stand for
    (root passes it on read-only and virtual file systems); leaves nothing behind."""
    probe = nearest_existing(directory)
    if not probe.is_dir():
        raise HarnessError(f'{option} {directory} cannot be written ({probe} is a file, not a '
                           'folder); choose a folder you can write to')
    try:
        with tempfile.TemporaryFile(dir=probe, prefix='.harness-probe-') as handle:
            handle.write(b'probe')
            handle.flush()
    except OSError as exc:
        raise HarnessError(f'{option} {directory} cannot be written (writing in {probe}: '
                           f'{exc.strerror or exc}); choose a folder you can write to') from exc


def data_source(dataset: DatasetInfo, data: str, work_dir: Path, option: str) -> DataSource:
    with main_process_first():  # a demo is generated once
        root, is_demo = datasets.resolve_data_root(data, dataset, work_dir, option=option)
    return DataSource(dataset, root, is_demo)


def resolve_pretrain_data(pm: PluginManager, option: str | None, eval_data: DataSource,
                          demo_pretrain: str, work_dir: Path) -> DataSource:
    """``--pretrain-data NAME[=ROOT]`` as a :class:`DataSource`. Without ROOT: the evaluation
    data's root when NAME is the evaluation dataset, else the demo when the evaluation data is
    demo. Without the option, when the evaluation data is demo: the demo of the evaluator's
    ``demo_pretrain`` (e.g. Kinetics-400), or the evaluation set's train list."""
    if option is None:
        if not eval_data.is_demo:
            raise HarnessError('name the pretraining set with --pretrain-data NAME=ROOT (e.g. '
                               'kinetics400=/data/kinetics400, or '
                               f"{eval_data.name} to pretrain on the evaluation set's train "
                               "lists); see 'harness list' for the datasets")
        option = demo_pretrain or eval_data.name
    name, sep, root = option.partition('=')
    dataset = pm.get('dataset', name.strip()).info
    if sep:
        return data_source(dataset, root, work_dir, '--pretrain-data')
    if dataset.name == eval_data.name:
        return eval_data
    if eval_data.is_demo:
        return data_source(dataset, 'demo', work_dir, '--pretrain-data')
    raise HarnessError(f'--pretrain-data {name} needs its root: --pretrain-data '
                       f'{name}=/path/to/{name} (or {name}=demo)')


def check_pretrain_kind(method: MethodInfo, source: DataSource) -> None:
    """The pretraining set holds the kind of data the method's sampler reads."""
    kind = method.pretrain_kind
    if kind not in ('any', source.dataset.modality):
        raise HarnessError(f"method '{method.name}' pretrains on {kind} but the pretraining "
                           f"set {source.name} holds {source.dataset.modality}; name a {kind} "
                           "dataset with --pretrain-data (see 'harness list')")


def resolve_splits(evaluator: str, available, protocol: ProtocolInfo, requested: str
                   ) -> tuple[str, ...]:
    """``--split`` as the splits to evaluate: one name, 'all' (every split the protocol is
    defined on), or None (the first of those)."""
    allowed = tuple(protocol.splits or available)
    if requested is None:
        return allowed[:1]
    if requested == 'all':
        return allowed
    if requested not in available:
        raise HarnessError(f"evaluator '{evaluator}' has no split '{requested}'; its splits: "
                           f"{', '.join(available)} or all")
    if requested not in allowed:
        raise HarnessError(f"protocol '{protocol.name}' of '{evaluator}' is defined on split "
                           f"{', '.join(allowed)} only; drop --split or use --split "
                           f"{allowed[0]}")
    return (requested,)
