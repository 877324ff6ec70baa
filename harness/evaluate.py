"""The evaluation engine: every protocol runs through one of two sequences, written once here.

A protocol is a class that a :class:`~harness.api.ProtocolInfo` names (``implementation``,
``'module:Class'``). It has two steps, which the runner calls once per evaluation:

- ``prepare(request) -> Prepared``: the merged config the evaluation runs (what ``--dry-run``
  prints and what the runner checks, before anything is trained) and what the run reads besides
  it (files written once before it starts);
- ``check(prepared)``: called by the planner right after ``prepare``, before anything is
  trained: raises a one-line ConfigError for a value the run would reject. It checks the config
  as mmengine would (:func:`harness.checks.check_config`), the protocol's own keys against what
  the protocol declares in :attr:`Protocol.keys` (dotted key -> :class:`harness.checks.Key`:
  ``{'knn.k': integer(1)}``), and a Runner protocol's model by building it once
  (:func:`harness.checks.check_model_builds`);
- ``run(request, prepared, log) -> EvalResult``.

Plugins derive from one of the two kinds and only describe and fill:

- :class:`RunnerProtocol`: mmengine's Runner trains and tests a downstream model. The plugin
  fills the harness-owned values of its config (:meth:`RunnerProtocol.fill`: the backbone with
  its SSL weights, the data lists, the metric) and turns the Runner's test metrics into scores
  (:meth:`RunnerProtocol.scores`). The engine loads the config (runtime base, seed,
  ``--cfg-options``), adds the run's plumbing (imports, progress bar, launcher, precision, work
  dir, resume), writes the files, builds the Runner, trains, tests and reports what loaded.
- :class:`FeatureProtocol`: a classifier (or a retrieval) scored on frozen features. The
  features of the split's train and test items come from the one frozen-backbone path
  (:func:`harness.features.split_features`, cached); the plugin scores them
  (:meth:`FeatureProtocol.score`). A protocol that samples its own inputs (the temporal probes)
  overrides :meth:`FeatureProtocol.features` and still builds its backbone through
  :func:`harness.features.frozen_backbone`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from harness.api import EvalRequest, EvalResult, ProtocolInfo
from harness.errors import PluginError

Log = Callable[[str], None]
#: A file a run reads, written once (on the main process) before it starts: its content, or a
#: function computing it (called only when the run starts, never in a dry run).
FileContent = 'str | bytes | Callable[[], str | bytes]'



def top_ks(num_classes: int) -> tuple[int, ...]:
    """The top-k accuracies a classification protocol reports for ``num_classes`` classes:
    top-5 only where there are more than 5 (with 5 or fewer it is 100% by construction)."""
    return (1, 5) if num_classes > 5 else (1,)

@dataclass(frozen=True)
class Filled:
    """What a protocol's :meth:`RunnerProtocol.fill` adds besides the config values.

    files: path -> content (:data:`FileContent`) of the files the run reads (lists, annotation
    copies, a codebook). settings: what the record states about the evaluation beyond the
    config's summary (:func:`harness.config.summarize`). note: one line for the log (what is
    trained on what).
    """

    files: Mapping[Path, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    note: str = ''


@dataclass(frozen=True)
class Prepared:
    """An evaluation ready to run: its merged config and what :class:`Filled` added."""

    cfg: Any
    filled: Filled = field(default_factory=Filled)


@dataclass(frozen=True)
class Features:
    """Frozen features of a split: ``*_x`` ``[items, views, D]`` (or a protocol's own sample
    features), ``*_y`` the labels, and the backbone's weight-load report (None: random init)."""

    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any
    weights: dict | None


def _feature_keys() -> dict[str, Any]:
    from harness.checks import integer, registered, transform_list

    return {'feature_pipeline': transform_list(), 'data_preprocessor': registered('model'),
            'feature_loader.batch_size': integer(1), 'feature_loader.num_workers': integer(0)}


#: The keys :func:`harness.features.extract` reads from a feature protocol's config.
FEATURE_KEYS: Mapping[str, Any] = _feature_keys()


class Protocol:
    """What both kinds share: how metrics are labelled and how a result is assembled.

    units: metric -> unit (None: every metric in percent). higher_is_better: metric -> bool
    (None: higher is better for every metric).
    """

    units: Mapping[str, str] | None = None
    higher_is_better: Mapping[str, bool] | None = None
    #: What the protocol's own keys of the prepared config may hold: dotted key ->
    #: :class:`harness.checks.Key` (made by :func:`harness.checks.integer`, ``number``,
    #: ``one_of``, ...; plugins import them from ``harness.api``); checked by :meth:`check`
    #: during planning.
    keys: Mapping[str, Any] = {}

    def prepare(self, request: EvalRequest) -> Prepared:
        raise NotImplementedError

    def check(self, prepared: Prepared) -> None:
        """Raise a one-line ConfigError ('evaluation config: key=value: ...') for a value of the
        prepared config that the run would reject: what mmengine rejects and what :attr:`keys`
        does not allow. The planner calls it before anything is trained."""
        from harness.checks import check_config

        check_config(prepared.cfg, 'evaluation config', keys=self.keys)

    def run(self, request: EvalRequest, prepared: Prepared, log: Log) -> EvalResult:
        raise NotImplementedError

    def views(self, cfg: Any) -> tuple[int, int]:
        """(clips, crops) each test item is seen as; (1, 1) for images."""
        return 1, 1

    def result(self, request: EvalRequest, prepared: Prepared, scores: Mapping[str, float],
               weights: dict | None, sha: str) -> EvalResult:
        """The result; its ``settings``: the config's summary, what the split's reader left
        out (``dropped``, :func:`dropped`) and the protocol's own settings."""
        from harness.config import summarize

        clips, crops = self.views(prepared.cfg)
        units = {name: '%' for name in scores} if self.units is None else dict(self.units)
        better = dict(self.higher_is_better or {})
        left_out = dropped(request, prepared)
        return EvalResult(metrics=dict(scores),
                          higher_is_better={name: better.get(name, True) for name in scores},
                          units=units, splits=[request.split], clips=clips, crops=crops,
                          config_sha256=sha, weights=weights,
                          settings={**summarize(prepared.cfg),
                                    **({'dropped': left_out} if left_out else {}),
                                    **prepared.filled.settings})


class RunnerProtocol(Protocol):
    """A protocol that mmengine's Runner trains and tests (see the module doc). Subclasses
    implement :meth:`fill` and :meth:`scores`; ``imports`` names modules the filled config
    needs beyond the config's own and the backbone's."""

    imports: tuple[str, ...] = ()

    def fill(self, cfg: dict, request: EvalRequest) -> Filled | None:
        """Set the harness-owned values of ``cfg`` (the protocol's config as a plain dict, the
        request's ``--cfg-options`` applied) in place; return the files the run reads and the
        settings the record states, or None."""
        raise NotImplementedError

    def scores(self, metrics: Mapping[str, Any], request: EvalRequest, cfg: Any
               ) -> dict[str, float]:
        """The protocol's scores from what ``runner.test()`` returned."""
        raise NotImplementedError

    def weights(self, model: Any, cfg: Any) -> dict | None:
        """The weight-load report of the trained model (None: random init): by default what
        ``harness.SSLPretrained`` left on ``model.backbone``."""
        return getattr(model.backbone, 'weight_load_report', None)

    def model_to_check(self, cfg: Any) -> Mapping | None:
        """The model config :meth:`check` builds once to find what its constructors reject:
        by default the config's ``model``; a protocol whose model reads a file written only
        when the run starts returns a copy without that (None: not built)."""
        return cfg.get('model')

    def check(self, prepared: Prepared) -> None:
        """:meth:`Protocol.check`, then the model built once
        (:func:`harness.checks.check_model_builds`)."""
        from harness.checks import check_model_builds

        super().check(prepared)
        model = self.model_to_check(prepared.cfg)
        if model is not None:
            check_model_builds(prepared.cfg, 'evaluation config', model)

    def prepare(self, request: EvalRequest) -> Prepared:
        from mmengine.config import Config

        from harness.config import load_eval_config, use_amp

        loaded = load_eval_config(request, runtime=True)
        cfg = copy.deepcopy(loaded.to_dict())
        filled = self.fill(cfg, request) or Filled()
        imports = list(cfg.get('custom_imports', {}).get('imports', []))
        imports += [m for m in (*self.imports, *request.imports)
                    if m not in imports]
        cfg.update(
            custom_imports=dict(imports=imports, allow_failed_imports=False),
            custom_hooks=[*cfg.get('custom_hooks', []),
                          dict(type='harness.ProgressBarHook', desc=request.protocol.name)],
            launcher=request.launcher, work_dir=str(request.work_dir), resume=request.resume,
            experiment_name=request.protocol.name)
        return Prepared(use_amp(Config(cfg, filename=loaded.filename), request.amp), filled)

    def run(self, request: EvalRequest, prepared: Prepared, log: Log) -> EvalResult:
        from mmengine.model import is_model_wrapper

        from harness.config import config_sha256
        from harness.engine import build_runner

        cfg = prepared.cfg
        sha = config_sha256(cfg)  # before the Runner adds its own keys
        write_files(prepared.filled.files)
        runner = build_runner(copy.deepcopy(cfg))
        log_dropped(request, prepared, log)
        note = f': {prepared.filled.note}' if prepared.filled.note else ''
        log(f'{request.dataset.name}/{request.protocol.name}{note}; log: {runner.log_dir}')
        runner.train()
        metrics = runner.test()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return self.result(request, prepared, self.scores(metrics, request, cfg),
                           self.weights(model, cfg), sha)


class FeatureProtocol(Protocol):
    """A protocol scored on frozen features (see the module doc). Subclasses implement
    :meth:`score`; its config names the sampling (``feature_pipeline``, ``feature_loader``,
    ``data_preprocessor``) unless :meth:`features` is overridden (then it declares its own
    :attr:`keys` in place of :data:`FEATURE_KEYS`)."""

    keys: Mapping[str, Any] = FEATURE_KEYS

    def score(self, features: Features, cfg: Any, request: EvalRequest, log: Log
              ) -> dict[str, float]:
        raise NotImplementedError

    def features(self, request: EvalRequest, cfg: Any, log: Log) -> Features:
        """The split's train and test features through the feature cache."""
        from harness.features import split_features

        return split_features(request, cfg, log)

    def settings(self, cfg: Any) -> dict[str, Any]:
        """What the record states beyond the config's summary."""
        return {}

    def prepare(self, request: EvalRequest) -> Prepared:
        from harness.config import load_eval_config

        cfg = load_eval_config(request, runtime=False)
        return Prepared(cfg, Filled(settings=self.settings(cfg)))

    def run(self, request: EvalRequest, prepared: Prepared, log: Log) -> EvalResult:
        from harness.config import config_sha256

        log_dropped(request, prepared, log)
        features = self.features(request, prepared.cfg, log)
        scores = self.score(features, prepared.cfg, request, log)
        return self.result(request, prepared, scores, features.weights,
                           config_sha256(prepared.cfg))


def dropped(request: EvalRequest, prepared: Prepared) -> dict[str, int]:
    """What the reader of the evaluated data left out besides missing files, by reason (the
    split's ``dropped``: a detection set's invalid boxes, an image folder's empty class
    folders), or the protocol's own count where it reads more than the split (its settings'
    ``dropped``, e.g. VOC2012 beside VOC2007); {} when the reader counts nothing."""
    own = prepared.filled.settings.get('dropped')
    if own is not None:
        return dict(own)
    return dict(getattr(request.read_split(), 'dropped', None) or {})


def log_dropped(request: EvalRequest, prepared: Prepared, log: Log) -> None:
    """One warning line when the reader left anything out (:func:`dropped`)."""
    left_out = {reason: n for reason, n in dropped(request, prepared).items() if n}
    if left_out:
        log(f'warning: {request.dataset.name} split {request.split}: left out '
            + ', '.join(f"{n} {reason.replace('_', ' ')}" for reason, n in left_out.items())
            + ' (counted in the record: eval.dropped)')


def write_files(files: Mapping[Path, Any]) -> None:
    """Write a run's files once, on the main process, before the others go on."""
    from mmengine.dist import is_main_process

    from harness.engine import main_process_first
    from harness.io import atomic_write_bytes

    with main_process_first():
        if is_main_process():
            for path, content in files.items():
                content = content() if callable(content) else content
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(Path(path), content.encode() if isinstance(content, str)
                                   else content)


def protocol_for(info: ProtocolInfo) -> Protocol:
    """An instance of the class that runs protocol ``info`` (its ``implementation``)."""
    from harness.api import import_object

    if not info.implementation:
        raise PluginError(f"protocol '{info.name}' names no implementation "
                          "('module:Class' of a RunnerProtocol or FeatureProtocol)")
    protocol = import_object(info.implementation)()
    if not isinstance(protocol, Protocol):
        raise PluginError(f"protocol '{info.name}': {info.implementation} is no "
                          'harness.evaluate.RunnerProtocol or FeatureProtocol')
    return protocol


def evaluate(request: EvalRequest, log: Log = print) -> EvalResult:
    """One evaluation as the runner runs it: prepared, its config checked, run."""
    protocol = protocol_for(request.protocol)
    prepared = protocol.prepare(request)
    protocol.check(prepared)
    return protocol.run(request, prepared, log)
