"""A pytest plugin for plugin authors (loaded through the ``pytest11`` entry point).

Fixtures:
- ``harness_plugins``: a :class:`harness.plugins.PluginManager` over the installed plugins
  (what ``harness list`` shows), e.g. to parametrize over a plugin's registered methods.
- ``mmengine_globals_per_test`` (automatic): each test starts with the mmengine default scope
  the session had, and ends with a fresh, file-less current logger, so no test depends on what
  an earlier test in the same process (an xdist worker) left behind.

Helpers:
- :func:`assert_trains`: one optimizer step on a method model changes its parameters and gives
  a finite loss (the conformance check every method should pass); the loss is the sum of the
  returned values whose key contains ``'loss'`` (:func:`loss_total`, mmengine's rule).
- :func:`build_method_model`, :func:`random_view_inputs`: a method's model from its named
  config, and inputs shaped like its sampler's output.
- :func:`shrink_options`: ``--cfg-options`` that turn any config into a 2-iteration smoke run;
  a plugin shrinks its own config keys through ``SHRINK_RULES`` in its ``<package>.smoke``
  module (:func:`plugin_shrink_rules`). :func:`cli_options` writes them as the ``KEY=VALUE``
  words ``harness run --cfg-options`` takes.
- The checks ``harness validate`` runs are functions of :mod:`harness.conformance`.
- :func:`free_port`, :func:`run_two_processes`, :func:`run_processes`: a local TCP port for a
  process group, and a worker run in two (or N) spawned (or forked) processes that report into
  a shared dict (distributed tests).
"""
from __future__ import annotations

import copy
import itertools
import sys

import pytest


@pytest.fixture
def harness_plugins():
    from harness.plugins import PluginManager

    return PluginManager()


_LOGGER_NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
def mmengine_globals_per_test():
    """Two process-wide mmengine states, put back after each test (nothing is done where the
    test did not import mmengine):

    - the default scope: a Runner or ``init_default_scope`` makes its scope current for the
      rest of the process, and a later test's ``MODELS.build`` then searches that scope's
      registry (a model registered in the harness scope is "not in the mmdet::model
      registry"). The scopes the session had are restored;
    - the current logger: models built outside a Runner log to the latest logger made, which
      may be a finished runner's whose file is closed and whose folder is gone ("'NoneType'
      object has no attribute 'write'"). A new file-less logger is made current.
    """
    scopes = _default_scopes()
    yield
    if 'mmengine.registry' in sys.modules:
        from mmengine.registry import DefaultScope

        DefaultScope._instance_dict = scopes if scopes is not None else type(
            DefaultScope._instance_dict)()
    if 'mmengine.logging' in sys.modules:
        from mmengine.logging import MMLogger

        MMLogger.get_instance(f'tests-{next(_LOGGER_NUMBERS)}', log_level='ERROR')


def _default_scopes():
    """A copy of mmengine's default scopes, or None before mmengine is imported."""
    if 'mmengine.registry' not in sys.modules:
        return None
    from mmengine.registry import DefaultScope

    return copy.copy(DefaultScope._instance_dict)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a process group's rendezvous)."""
    import socket

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_two_processes(worker, *args, start_method: str = 'spawn') -> dict:
    """Run ``worker(rank, port, results, *args)`` as ranks 0 and 1, each in a process of its
    own; ``results`` is a shared dict the worker fills (it must be picklable, so a module-level
    function) and ``port`` a free one for ``init_process_group``. Returns the results as a
    plain dict.

    start_method: ``'spawn'`` (a fresh interpreter per rank, which imports what the worker
    needs: seconds per rank) or ``'fork'`` (a copy of this process, with every module it has
    imported: for CPU-only workers, in a process that has not started CUDA and whose torch
    computes on one thread, as under the harness's tox)."""
    return run_processes(worker, 2, *args, start_method=start_method)


def run_processes(worker, processes: int, *args, start_method: str = 'spawn') -> dict:
    """:func:`run_two_processes` with ``processes`` ranks (``worker(rank, port, results,
    *args)``; the world size is ``processes``)."""
    import torch.multiprocessing as mp

    with mp.Manager() as manager:
        results = manager.dict()
        mp.start_processes(worker, args=(free_port(), results, *args), nprocs=processes,
                           join=True, start_method=start_method)
        return dict(results)


def loss_total(losses) -> 'torch.Tensor':
    """The loss a method's ``forward(mode='loss')`` dict trains on, as mmengine's
    ``BaseModel.parse_losses`` takes it: the sum of the values whose key contains ``'loss'``
    (each a tensor or a list of tensors, each averaged); other values (accuracies, logged
    statistics) are not part of it. AssertionError when no key is a loss."""
    terms = {key: value for key, value in losses.items() if 'loss' in key}
    assert terms, (f"the model returned no loss: no key contains 'loss' "
                   f"(keys: {', '.join(map(str, losses)) or 'none'})")
    total = 0
    for value in terms.values():
        for part in (value if isinstance(value, (list, tuple)) else [value]):
            total = total + part.mean()
    return total


def assert_trains(model, inputs, lr: float = 1e-2) -> float:
    """Forward in 'loss' mode, backward through the loss terms only (:func:`loss_total`), one
    SGD step; the loss is finite and every parameter that received a non-negligible gradient
    changed (a bias right before a BatchNorm gets only rounding noise). Returns the loss."""
    import torch

    model.train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    loss = loss_total(model(inputs, mode='loss'))
    assert torch.isfinite(loss), f'loss is not finite: {loss}'
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=lr).step()
    trained = [name for name, p in model.named_parameters()
               if p.grad is not None and p.grad.abs().max() > 1e-6]
    assert trained, 'no parameter received a gradient'
    unchanged = [name for name in trained
                 if torch.equal(before[name], dict(model.named_parameters())[name])]
    assert not unchanged, f'parameters with gradients did not change: {unchanged[:5]}'
    return float(loss.detach())


def build_method_model(method, backbone, config: str = 'demo', **model_overrides):
    """Build a method's pretraining model from its named ``config`` with ``backbone`` plugged
    in, as the runner does (``method``/``backbone`` are MethodInfo/BackboneInfo; the backbone
    cut after the config's ``backbone_stage`` when it names one); returns the model and the
    merged config."""
    from harness.api import pick_config
    from harness.config import load_pretrain_config
    from harness.engine import config_scope, import_config_modules
    from harness.pretrain import STAGE_KEY
    from harness.registry import MODELS

    cfg = load_pretrain_config(pick_config(method.configs, config, method.name)[1])
    backbone = backbone.up_to(cfg.get(STAGE_KEY))
    cfg.model.backbone = dict(backbone.cfg)
    cfg.model.feat_dim = backbone.feat_dim
    cfg.model.update(model_overrides)
    cfg.custom_imports.imports = [*cfg.custom_imports.imports, *backbone.imports]
    import_config_modules(cfg)
    with config_scope(cfg):
        return MODELS.build(cfg.model), cfg


def random_view_inputs(cfg, batch_size: int = 2) -> dict:
    """Random model inputs shaped like what the config's sampling transform produces (the
    first pipeline step with a ``random_inputs`` method, e.g. SampleViews); the config's
    modules must be imported (:func:`build_method_model` does)."""
    from harness.engine import config_scope
    from harness.registry import TRANSFORMS

    for step in cfg.train_dataloader.dataset.pipeline:
        with config_scope(cfg):
            transform = TRANSFORMS.build(step)
        if hasattr(transform, 'random_inputs'):
            return transform.random_inputs(batch_size)
    raise ValueError('the config has no sampling transform with random_inputs()')


#: Config keys :func:`shrink_options` makes small, by the last part of their dotted name: the
#: sizes, lengths, batches, workers and widths any config may have. Keys of one plugin's own
#: models and hooks are shrunk by that plugin's rules (:func:`plugin_shrink_rules`).
SHRINK_RULES = {
    'frames': lambda v: min(v, 4), 'clip_len': lambda v: min(v, 4),
    'size': lambda v: min(v, 16),
    'crop_size': lambda v: min(v, 16), 'batch_size': lambda v: min(v, 2),
    'num_workers': lambda v: 0, 'persistent_workers': lambda v: False,
    'hidden_dim': lambda v: min(v, 16), 'dim': lambda v: min(v, 16),
    'proj_dim': lambda v: min(v, 16), 'pred_dim': lambda v: min(v, 8),
}


def plugin_shrink_rules(cfg) -> dict:
    """The shrink rules of the plugins a config imports: for every top-level package its
    ``custom_imports`` name, ``SHRINK_RULES`` (a dict like :data:`SHRINK_RULES`, for the
    package's own config keys) of the module ``<package>.smoke``, where it has one. Packages
    are taken in import order; a later rule for the same key replaces an earlier one."""
    import importlib
    import importlib.util

    from harness.config import as_plain

    imports = (as_plain(cfg).get('custom_imports') or {}).get('imports') or []
    rules: dict = {}
    for package in dict.fromkeys(str(module).partition('.')[0] for module in imports):
        try:
            found = importlib.util.find_spec(f'{package}.smoke') is not None
        except ModuleNotFoundError:  # a package that is not installed has no rules
            found = False
        if found:
            rules.update(importlib.import_module(f'{package}.smoke').SHRINK_RULES)
    return rules


def shrink_options(cfg, iters: int = 2) -> dict:
    """``--cfg-options`` that shrink a config for a smoke run: every input size, clip length,
    batch size and width it has (by key name, :data:`SHRINK_RULES` and the rules of the plugins
    it imports, :func:`plugin_shrink_rules`, which replace the core's for the same key;
    ``Resize`` scales to 16 px on the short side, so a three-crop of 16 px fits, and a multi-scale
    resize such as mmdet's ``RandomChoiceResize`` to the one scale 16 x 16), no dataloader
    workers, a training loop of ``iters`` iterations and parameter schedulers that fit in it.
    Only keys the config has are changed, so a config is smoke-tested through its own keys."""
    from harness.config import as_plain

    data = as_plain(cfg)
    rules = {**SHRINK_RULES, **plugin_shrink_rules(data)}
    options: dict = {}

    def visit(node, path):
        items = node.items() if isinstance(node, dict) else \
            enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            dotted = f'{path}{key}'
            rule = rules.get(str(key))
            if rule is not None and isinstance(value, (int, bool)):
                if rule(value) != value:
                    options[dotted] = rule(value)
            elif key == 'scale' and isinstance(node, dict) and \
                    str(node.get('type', '')).endswith('Resize') and isinstance(value, list):
                options[dotted] = (-1, 16) if -1 in value else (16, 16)
            elif key == 'scales' and isinstance(node, dict) and \
                    str(node.get('type', '')).endswith('Resize') and isinstance(value, list):
                options[dotted] = [(16, 16)]  # multi-scale training: one small scale
            else:
                visit(value, dotted + '.')

    visit({k: v for k, v in data.items() if k != 'paper_batch'}, '')
    if isinstance(data.get('paper_batch'), dict):
        # the paper's batch is the shrunk per-process batch: no accumulation, so every
        # iteration of the smoke run is an optimizer step
        batch = options.get('train_dataloader.batch_size',
                            (data.get('train_dataloader') or {}).get('batch_size'))
        if batch and batch != data['paper_batch'].get('size'):
            options['paper_batch.size'] = batch
    if 'train_cfg' in data:
        options['train_cfg'] = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=iters)
        for i, scheduler in enumerate(data.get('param_scheduler') or []):
            for key, value in (('begin', 0), ('end', iters), ('T_max', iters),
                               ('by_epoch', False), ('convert_to_iter_based', False)):
                if key in scheduler and scheduler[key] != value:
                    options[f'param_scheduler.{i}.{key}'] = value
    return options


def cli_options(options: dict, prefix: str = '') -> list[str]:
    """``options`` (e.g. :func:`shrink_options`) as the ``KEY=VALUE`` words ``harness run
    --cfg-options`` takes, each value written so that the command line reads it back as the
    same value (a Python literal: strings quoted, tuples and dicts as written). ``prefix``
    ``'eval.'`` targets the evaluation config. Print them for a shell with ``shlex.join``."""
    import ast

    words = []
    for key, value in options.items():
        text = repr(value)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise ValueError(f'{key}={text}: not a literal the command line reads back')
        words.append(f'{prefix}{key}={text}')
    return words


def draw_augment(count: int, height: int = 240, width: int = 320, size: int = 112,
                 **options) -> list[dict]:
    """``count`` clips' augmentation parameters (:func:`harness.data.augment.sample_augment`
    with ``options``) drawn from torch's RNG seeded with 0, for tests of augmentation steps."""
    import torch

    from harness.data.augment import sample_augment

    torch.manual_seed(0)
    return [sample_augment(height, width, size, options) for _ in range(count)]


def stack_augment(params: list[dict]) -> dict:
    """Per-clip parameters (:func:`draw_augment`) as one batch, as the dataloader collates
    them (``size`` kept as the shared int)."""
    import torch

    return {key: torch.stack([p[key] for p in params]) if key != 'size' else params[0][key]
            for key in params[0]}
