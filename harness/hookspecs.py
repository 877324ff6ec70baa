"""The plugin contract: every hook a plugin may implement. The docstrings are the spec.

A plugin is a module exposed through the ``harness`` entry-point group, e.g. in its
pyproject.toml::

    [project.entry-points.harness]
    mymethod = "harness_mymethod.plugin"

and implements any of these hooks with ``@harness.hookimpl``. A hookimpl may take any subset of
its hookspec's parameters, by name. A function marked ``@hookimpl`` whose name is no hook here
(a misspelling) makes the plugin fail to load: ``harness list`` and ``harness plugins`` report
it, and ``harness run`` stops with that one line (exit code 2).

The module must be cheap to import (no torch at import time): registration only *describes*
components; their heavy modules are imported when a run needs them (the ``imports`` of each
Info). This module itself imports only pluggy; the types below are for readers and checkers.

Hooks are called in the order the plugins were loaded (entry points sorted by name, then the
``-p`` modules). A register hook is called once per plugin on its own, so that a plugin whose
hook raises is reported and the others still register.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from harness.api import BackboneInfo, DatasetInfo, EvaluatorInfo, MethodInfo
    from harness.runner import RunPlan

hookspec = pluggy.HookspecMarker('harness')


@hookspec
def harness_register_methods(register: Callable[[MethodInfo], None]) -> None:
    """Register pretraining methods.

    :param register: call ``register(MethodInfo(...))`` once per method; anything but a
        :class:`harness.api.MethodInfo` makes the plugin fail to load.

    Names are global: two plugins registering the same method name is an error that names both
    distributions.
    """


@hookspec
def harness_register_backbones(register: Callable[[BackboneInfo], None]) -> None:
    """Register backbones.

    :param register: call ``register(BackboneInfo(...))`` once per backbone. The class its
        ``cfg`` builds must be registered in :data:`harness.registry.MODELS` by one of its
        ``imports``, and map inputs to a feature map with ``feat_dim`` channels.

    Names are global.
    """


@hookspec
def harness_register_evaluators(register: Callable[[EvaluatorInfo], None]) -> None:
    """Register downstream evaluators.

    :param register: call ``register(EvaluatorInfo(...))`` once per evaluator, listing its
        protocols (each with a version that changes whenever its numbers would).
        ``EvaluatorInfo.evaluator`` names the class that runs them (imported only to run).

    Names are global.
    """


@hookspec
def harness_register_datasets(register: Callable[[DatasetInfo], None]) -> None:
    """Register dataset layouts.

    :param register: call ``register(DatasetInfo(...))`` once per dataset: its name (what
        ``--pretrain-data`` and ``EvaluatorInfo.dataset`` refer to) and the module that reads
        its official on-disk layout and writes its demo (see :class:`harness.api.DatasetInfo`).

    An evaluator plugin registers the datasets it reads; a pretraining dataset can come from
    any plugin. Names are global.
    """


@hookspec
def harness_run_start(run: RunPlan) -> None:
    """Called once a run is resolved and checked, before anything is trained (not in a dry run).

    :param run: the :class:`harness.run.RunPlan`: method, backbone, evaluator, protocol,
        configs, data, splits, seeds, work and records directories. Read it to log, to check
        prerequisites or to tag; do not mutate it (the record describes the plan as planned).
        For ``harness eval`` its ``weights`` (:class:`harness.external.ExternalWeights`, the
        file mapped onto the backbone) stand for the pretraining, ``method`` names them, and
        :func:`harness_pretrain_end` is not called.

    An exception stops the run with nothing trained.
    """


@hookspec
def harness_pretrain_end(run: RunPlan, backbone_weights: str, reused: bool) -> None:
    """Called after each pretraining of a run (one per split or seed that needs its own),
    whether it trained or was reused from the cache.

    :param run: the :class:`harness.runner.RunPlan` of the run, as in :func:`harness_run_start`.
    :param backbone_weights: the path of the exported backbone weights (``backbone.pth``: a
        state dict with keys relative to the backbone, what evaluators load). Read it, copy it;
        do not change it, it is the cached pretraining other runs reuse.
    :param reused: True when an earlier pretraining with the same identity was reused instead of
        training.
    """


@hookspec
def harness_record_written(run: RunPlan, record: dict[str, Any], path: Path) -> None:
    """Called after the result record of a run was validated and written (main process only).

    :param run: the :class:`harness.runner.RunPlan` of the run, as in :func:`harness_run_start`.
    :param record: the record as written (schema in :mod:`harness.schema`); do not modify it.
    :param path: the JSON file it was written to. Use it to upload or to notify.
    """
