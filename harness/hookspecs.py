"""The plugin contract: every hook a plugin may implement. The docstrings are the spec.

A plugin is a module exposed through the ``harness`` entry-point group, e.g. in its
pyproject.toml::

    [project.entry-points.harness]
    mymethod = "harness_mymethod.plugin"

and implements any of these hooks with ``@harness.hookimpl``. The module must be cheap to import
(no torch at import time): registration only *describes* components; their heavy modules are
imported when a run needs them (the ``imports`` of each Info).
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker('harness')


@hookspec
def harness_register_methods(register):
    """Register pretraining methods.

    Call ``register(MethodInfo(...))`` once per method. Names are global: two plugins registering
    the same method name is an error that names both distributions.
    """


@hookspec
def harness_register_backbones(register):
    """Register backbones.

    Call ``register(BackboneInfo(...))`` once per backbone. The class its ``cfg`` builds must be
    registered in :data:`harness.registry.MODELS` by one of its ``imports``, and map inputs to a
    feature map with ``feat_dim`` channels. Names are global.
    """


@hookspec
def harness_register_evaluators(register):
    """Register downstream evaluators.

    Call ``register(EvaluatorInfo(...))`` once per evaluator, listing its protocols (each with a
    version that changes whenever its numbers would). ``EvaluatorInfo.evaluator`` names the
    class that runs them (imported only to run). Names are global.
    """


@hookspec
def harness_register_datasets(register):
    """Register dataset layouts.

    Call ``register(DatasetInfo(...))`` once per dataset: its name (what ``--pretrain-data`` and
    ``EvaluatorInfo.dataset`` refer to) and the module that reads its official on-disk layout
    and writes its demo (see :class:`harness.api.DatasetInfo`). An evaluator plugin registers
    the datasets it reads; a pretraining dataset can come from any plugin. Names are global.
    """


@hookspec
def harness_run_start(run):
    """Called once a run is resolved, before anything is trained.

    ``run`` is the :class:`harness.run.RunPlan` (method, backbone, evaluator, protocol, data
    root, work dir, seed). Use it to log, to check prerequisites, or to add tags; do not mutate
    the plan's components.
    """


@hookspec
def harness_pretrain_end(run, checkpoint, reused):
    """Called after pretraining: ``checkpoint`` is the path of the exported backbone weights,
    ``reused`` is True when a cached pretraining was used instead of training."""


@hookspec
def harness_record_written(run, record, path):
    """Called after the result record ``record`` (a dict, already validated) was written to
    ``path``. Use it to upload or notify; the record must not be modified."""
