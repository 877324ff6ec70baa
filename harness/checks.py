"""Checks of a merged mmengine config before a Runner is built from it.

mmengine and the mm libraries reject a bad value only when they build the part that uses it:
``batch_size=0`` in torch's sampler, an unknown ``type`` as a KeyError deep in
``build_from_cfg``. The functions here find those values first and raise one
:class:`~harness.errors.ConfigError`: one line naming the config, the full dotted key (list
items by index, as ``--cfg-options`` writes them), the bad value and what is allowed::

    pretraining config: train_dataloader.batch_size=0: must be a positive integer

Types are resolved the way mmengine resolves them, with its own registries: the config's
``custom_imports`` are imported, its ``default_scope`` is made the current scope
(``DefaultScope``), and each ``type`` is looked up with ``Registry.get`` in the registry that
``Registry.switch_scope_and_registry`` picks (which also imports the lazily registered modules
of mmaction2, mmdet and the harness). A ``type`` given as a class or a function is taken as is.

What :func:`check_config` checks (what is there; absent keys are mmengine's defaults):

- ``custom_imports`` import, ``default_scope`` is a registry scope, ``launcher`` and
  ``log_level`` are names mmengine knows;
- every ``*_dataloader``: ``batch_size`` a positive integer, ``num_workers`` an integer >= 0,
  ``persistent_workers`` only with workers; ``sampler``/``batch_sampler`` (DATA_SAMPLERS),
  ``collate_fn``/``worker_init_fn`` (FUNCTIONS), ``dataset`` with its nested ``dataset`` /
  ``datasets`` (DATASETS); every list under a key ``pipeline`` (TRANSFORMS, with the
  ``transforms`` of wrappers such as RandomChoice);
- ``model`` (MODELS) and its registry-built parts: ``backbone``, ``neck``, ``*head``,
  ``data_preprocessor``, losses, RoI extractors, ``norm_cfg``/``act_cfg``/``conv_cfg``
  (MODELS), mmdet's assigners, samplers and coders (TASK_UTILS), ``init_cfg`` (WEIGHT_
  INITIALIZERS); mmaction2's ``torchvision.X`` / ``timm.X`` backbones against those libraries;
  an enclosing ``_scope_`` applies to what a part holds, as it does when mmengine builds it;
- ``train_cfg``/``val_cfg``/``test_cfg``: type (LOOPS), ``max_iters``/``max_epochs``/
  ``val_interval`` positive integers, every key an argument of the loop and every required
  argument given; ``*_dataloader``, ``*_cfg`` and ``optim_wrapper``/``*_evaluator`` of a phase
  set together (the Runner's rule);
- ``optim_wrapper``: its type (OPTIM_WRAPPERS), ``constructor`` (OPTIM_WRAPPER_CONSTRUCTORS),
  the optimizer's type (OPTIMIZERS), its keys arguments of that optimizer, ``lr``,
  ``weight_decay`` and ``momentum`` numbers >= 0;
- ``param_scheduler`` types (PARAM_SCHEDULERS), ``begin`` >= 0 < ``end``, ``T_max`` > 0;
- ``default_hooks``/``custom_hooks`` (HOOKS), ``val_evaluator``/``test_evaluator`` (METRICS,
  EVALUATOR), ``log_processor``, ``visualizer`` and its ``vis_backends``, ``model_wrapper_cfg``;
- the sections the Runner builds from dicts (``model``, ``train_cfg``, ``*_dataloader``,
  ``optim_wrapper``, ...) are dicts (or None), ``param_scheduler`` a dict or a list of dicts;
  ``randomness.seed`` a seed numpy takes (:data:`SEED_MAX`); a scheduler without an ``end``
  ends where the train loop does (mmengine's default), which must lie after its ``begin``;
- ``keys``: the constraints a caller declares on keys of its own (an evaluation protocol's
  ``k``, ``classifier.C``, ``feature_loader.batch_size``: :class:`Key` and the functions that
  make one, :func:`integer`, :func:`number`, :func:`one_of`, ...).

:func:`check_model_builds` builds the config's model once (on PyTorch's meta device, so no
memory is filled; on the CPU where a constructor needs real tensors) and turns what its
constructor rejects into the same one line.

An unknown type's message names the closest registered names (``difflib``); the lookups are
:mod:`harness.registry_lookup`. Whether the ``--launcher`` can start here is
:mod:`harness.launch`.
"""
from __future__ import annotations

import copy
import difflib
import importlib
import inspect
import math
import re
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Mapping, Sequence

from mmengine.config import Config, ConfigDict

from harness.errors import ConfigError
from harness.launch import LAUNCHERS
from harness.registry_lookup import (lookup, quiet_mmengine, registry_scopes, root_registries,
                                     unknown_type)

#: Problems named in one message; the rest are counted.
MAX_PROBLEMS = 3

#: Samplers whose stream never ends an epoch (mmengine's, and the harness's seeded one).
INFINITE_SAMPLERS = frozenset({'InfiniteSampler', 'SeededInfiniteSampler'})
#: Keys under ``model`` whose dicts mmdet builds from TASK_UTILS rather than MODELS.
TASK_UTIL_KEYS = frozenset({'assigner', 'sampler', 'bbox_coder', 'prior_generator',
                            'anchor_generator', 'point_generator', 'match_cost',
                            'iou_calculator', 'coder'})

#: Keys under ``model`` whose dicts the mm libraries build from a registry; other nested dicts
#: with a ``type`` may be read by the model itself (mmaction2's ``consensus``, SlowFast's
#: ``slow_pathway``) and are not checked.
COMPONENT_KEY = re.compile(r'(backbone|neck|necks|\w*head|heads|data_preprocessor|blending|'
                           r'loss|loss_\w+|\w+_loss|\w*roi_extractor|norm_cfg|act_cfg|conv_cfg)')

#: ``model.backbone`` types that mmaction2's recognizers take from these libraries themselves.
FOREIGN_BACKBONES = ('torchvision.', 'timm.')

#: The registries the parts nested in ``model`` are built from (a part's key does not say
#: which one: ``norm_cfg`` is a MODELS name, ``assigner`` a TASK_UTILS one).
MODEL_PART_KINDS = ('model', 'task util', 'weight initializer')

LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')

#: The largest seed: mmengine's ``set_random_seed`` hands the seed to ``np.random.seed``, which
#: takes integers in [0, 2**32 - 1].
SEED_MAX = 2 ** 32 - 1

#: Top-level sections the Runner builds from a dict (or takes as a built object), besides the
#: ``*_dataloader``\ s: a number, a string or a list there fails deep inside mmengine.
DICT_SECTIONS = ('model', 'train_cfg', 'val_cfg', 'test_cfg', 'optim_wrapper', 'default_hooks',
                 'env_cfg', 'log_processor', 'visualizer', 'randomness', 'auto_scale_lr',
                 'custom_imports', 'model_wrapper_cfg')
#: Top-level sections that hold a list (of dicts) or one dict.
LIST_SECTIONS = ('param_scheduler', 'custom_hooks', 'val_evaluator', 'test_evaluator')


def check_config(cfg: Config, label: str, *, keys: Mapping[str, Key] | None = None) -> None:
    """Raise a one-line ConfigError, starting with ``label`` (e.g. 'pretraining config'), if a
    Runner built from ``cfg`` would reject one of its values, or a value breaks the constraint
    ``keys`` declares for it (dotted key -> :class:`Key`, e.g. an evaluation protocol's own
    keys); return None when none is found.

    Imports ``cfg.custom_imports`` (the modules that register the config's types). The message
    shows the first :data:`MAX_PROBLEMS` problems; the error's ``problems`` lists them all.
    ``cfg.launcher`` is checked as a name only: :func:`harness.launch.check_launcher` checks
    the environment."""
    raise_problems(config_problems(cfg, keys=keys), label)


def raise_problems(problems: Sequence[str], label: str) -> None:
    """The one-line ConfigError of ``problems`` (none: nothing is raised)."""
    if problems:
        shown = '; '.join(problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        error = ConfigError(f'{label}: {shown}' + (f'; and {more} more' if more > 0 else ''))
        error.problems = list(problems)
        raise error


def config_problems(cfg: Config, *, keys: Mapping[str, Key] | None = None) -> list[str]:
    """Every problem :func:`check_config` reports, each as ``key=value: what is allowed``."""
    return _Checker(cfg, keys).run()


def seed_problem(value: Any) -> str | None:
    """What a seed must be, when ``value`` is none (mmengine seeds numpy with it); else None."""
    if _is_int(value) and 0 <= value <= SEED_MAX:
        return None
    return f'must be an integer in [0, {SEED_MAX}] (numpy takes no other seed)'


# --- declared keys --------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """A constraint on one config value, declared by whoever reads the key (an evaluation
    protocol's ``keys``): ``test(value)`` is True for an allowed value, ``allowed`` says what is
    allowed (``must be ...``); ``required``: an absent key is a problem (else absent is fine,
    and so is None with ``optional``). ``nested``: instead of ``test``, a check of the value by
    the config checker (a pipeline, a registered component), called as ``nested(checker,
    value, key)``."""

    test: Callable[[Any], bool] = lambda value: True
    allowed: str = ''
    required: bool = True
    optional: bool = False
    nested: Callable[[Any, Any, str], None] | None = None


def integer(low: int | None = None, high: int | None = None, *, required: bool = True,
            optional: bool = False) -> Key:
    """An integer in [low, high] (either bound may be open)."""
    if low == 1 and high is None:
        allowed = 'must be a positive integer'
    elif high is None:
        allowed = f'must be an integer >= {low}' if low is not None else 'must be an integer'
    else:
        allowed = f'must be an integer in [{low}, {high}]'
    return Key(lambda v: _is_int(v) and (low is None or v >= low) and (high is None or v <= high),
               allowed, required, optional)


def number(*, above: float | None = None, at_least: float | None = None,
           below: float | None = None, required: bool = True, optional: bool = False) -> Key:
    """A finite number ``> above`` / ``>= at_least`` / ``< below``."""
    bounds = [f'> {above}' if above is not None else '',
              f'>= {at_least}' if at_least is not None else '',
              f'< {below}' if below is not None else '']
    allowed = ' and '.join(b for b in bounds if b)
    return Key(lambda v: _is_number(v) and (above is None or v > above)
               and (at_least is None or v >= at_least) and (below is None or v < below),
               f'must be a number {allowed}'.rstrip(), required, optional)


def boolean(*, required: bool = True) -> Key:
    """True or False."""
    return Key(lambda v: isinstance(v, bool), 'must be True or False', required)


def one_of(*options: Any, required: bool = True) -> Key:
    """One of ``options``."""
    return Key(lambda v: any(v == o and type(v) is type(o) for o in options),
               f"must be one of {', '.join(map(repr, options))}", required)


def integer_list(low: int = 1, *, required: bool = True) -> Key:
    """A non-empty list (or tuple) of integers >= ``low``."""
    what = 'positive integers' if low == 1 else f'integers >= {low}'
    return Key(lambda v: isinstance(v, (list, tuple)) and len(v) > 0
               and all(_is_int(i) and i >= low for i in v),
               f'must be a non-empty list of {what}', required)


def transform_list(*, required: bool = True) -> Key:
    """A list of transform configs (each ``type`` a registered transform)."""
    def nested(checker: _Checker, value: Any, key: str) -> None:
        if not isinstance(value, (list, tuple)) or not value:
            checker.problem(key, value, 'must be a non-empty list of transform configs')
        else:
            checker.check_transforms(value, key, None)
    return Key(required=required, nested=nested)


def registered(kind: str, *, required: bool = True) -> Key:
    """A config of a registered ``kind`` ('model', 'transform', ...; the names of
    :func:`harness.registry_lookup.root_registries`)."""
    def nested(checker: _Checker, value: Any, key: str) -> None:
        if not isinstance(value, dict):
            checker.problem(key, value, f'must be a {kind} config (a dict with a type)')
        else:
            checker.check_type(kind, value, key)
    return Key(required=required, nested=nested)


# --- the model ------------------------------------------------------------------------------

def check_model_builds(cfg: Config, label: str, model: Mapping | None = None) -> int | None:
    """Raise a one-line ConfigError, starting with ``label``, when the model of ``cfg`` (or
    ``model``, a config to build in its place) cannot be built: a value its constructor (or a
    part's) rejects. Built once, as the Runner builds it (``MODELS.build`` in the config's
    default scope, its ``custom_imports`` imported), on the meta device (no memory, no
    initialisation); where a constructor needs real tensors, on the CPU. Call it after
    :func:`check_config`, whose messages name a bad type or value more precisely. Returns the
    model's size in bytes (its parameters and buffers; what a checkpoint holds besides the
    optimizer's state), or None when the config names no model."""
    import torch
    from mmengine.registry import MODELS

    from harness.engine import config_scope

    model = cfg.get('model') if model is None else model
    if not isinstance(model, Mapping) or 'type' not in model:
        return None
    for module in (cfg.get('custom_imports') or {}).get('imports') or []:
        importlib.import_module(module)  # what registers the model's types (checked before)
    plain = _plain(model) if not isinstance(model, dict) else model

    def build() -> int:
        built = MODELS.build(copy.deepcopy(dict(plain)))
        return sum(t.numel() * t.element_size()
                   for t in (*built.parameters(), *built.buffers()))

    with quiet_mmengine(), config_scope(cfg):
        try:
            with torch.device('meta'):
                return build()
        except Exception:  # noqa: BLE001 - retried on the CPU, which tells a real error
            pass
        try:
            return build()
        except Exception as exc:  # noqa: BLE001 - whatever a constructor raises is the answer
            text = ' '.join(str(exc).split()) or type(exc).__name__
            if len(text) > 300:
                text = text[:297] + '...'
            raise ConfigError(f'{label}: model={_show(plain.get("type"))}: the model cannot be '
                              f'built from it: {type(exc).__name__}: {text}') from exc


# --- formatting -----------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, ConfigDict):
        return value.to_dict()
    if isinstance(value, Config):
        return value.to_dict()
    return value


def _show(value: Any, limit: int = 80) -> str:
    """``value`` as one short line."""
    text = ' '.join(repr(_plain(value)).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _join(path: str, key: Any) -> str:
    return f'{path}.{key}' if path else str(key)


def _is_int(value: Any, *, integral_float: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return integral_float and isinstance(value, float) and value.is_integer()


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


# --- the checker ----------------------------------------------------------------------------

class _Checker:
    def __init__(self, cfg: Config, keys: Mapping[str, Key] | None = None):
        self.cfg = cfg
        self.keys = dict(keys or {})
        self.problems: list[str] = []
        self.registries = root_registries()
        self.scope = cfg.get('default_scope')

    def problem(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(f'{key}={_show(value)}: {allowed}')

    def missing(self, key: str, allowed: str) -> None:
        self.problems.append(f'{key}: missing; {allowed}')

    # -- entry --

    def run(self) -> list[str]:
        self.check_sections()
        if self.problems:
            return self.problems  # the checks below read the sections as dicts
        self.check_imports()
        if self.problems:
            return self.problems  # unimported modules would make every type look unknown
        from mmengine.registry import DefaultScope

        with quiet_mmengine():
            self.check_scope()
            if self.problems:
                return self.problems
            with DefaultScope.overwrite_default_scope(self.scope):
                self.check_runtime()
                self.check_model()
                self.check_dataloaders()
                self.check_pipelines(dict(self.cfg.items()), '')
                self.check_loops()
                self.check_optim_wrapper()
                self.check_param_schedulers()
                self.check_hooks()
                self.check_evaluators()
                self.check_others()
                self.check_keys()
        return self.problems

    # -- the shape of the sections --

    def check_sections(self) -> None:
        for name, value in self.cfg.items():
            if name in DICT_SECTIONS or name.endswith('_dataloader'):
                if isinstance(value, (int, float, str, bool, list, tuple)):
                    self.problem(name, value,
                                 f'must be a dict or None (mmengine builds {name} from a dict)')
            elif name in LIST_SECTIONS:
                items = value if isinstance(value, (list, tuple)) else [value]
                if value is not None and not all(isinstance(item, dict) or not isinstance(
                        item, (int, float, str, bool, list, tuple)) for item in items):
                    self.problem(name, value, 'must be a list of dicts (or one dict), or None')
        randomness = self.cfg.get('randomness')
        if isinstance(randomness, dict):
            seed = randomness.get('seed')
            if seed is not None and seed_problem(seed):
                self.problem('randomness.seed', seed, seed_problem(seed))
            for flag in ('deterministic', 'diff_rank_seed'):
                if flag in randomness and not isinstance(randomness[flag], bool):
                    self.problem(f'randomness.{flag}', randomness[flag], 'must be True or False')

    def check_keys(self) -> None:
        from harness.config import get_key

        top = dict(self.cfg.items())  # a Config is no Mapping; its values are
        for key, rule in self.keys.items():
            try:
                value = get_key(top, key)
            except KeyError:
                if rule.required:
                    self.missing(key, rule.allowed or 'the protocol reads it')
                continue
            if value is None and (rule.optional or not rule.required):
                continue
            if rule.nested is not None:
                rule.nested(self, value, key)
            elif not rule.test(value):
                self.problem(key, value, rule.allowed)

    # -- modules and scope --

    def check_imports(self) -> None:
        custom = self.cfg.get('custom_imports') or {}
        modules = custom.get('imports', [])
        if isinstance(modules, str):
            modules = [modules]
        for index, module in enumerate(modules):
            key = f'custom_imports.imports.{index}'
            if not isinstance(module, str):
                self.problem(key, module, 'must be a module name (a string)')
                continue
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                if custom.get('allow_failed_imports', False):
                    continue
                if error.name and module.split('.')[:len(error.name.split('.'))] == \
                        error.name.split('.'):
                    self.problem(key, module, f'no module {error.name!r} is installed; it must '
                                              f'name an importable module (the one that '
                                              f'registers the config\'s types)')
                else:
                    raise

    def check_scope(self) -> None:
        if self.scope is None:
            return
        from mmengine.registry import MODELS

        if not isinstance(self.scope, str):
            self.problem('default_scope', self.scope, 'must be a registry scope name (a string)')
            return
        try:
            importlib.import_module(f'{self.scope}.registry')
        except ImportError:
            pass
        if MODELS._search_child(self.scope) is None:
            from mmengine.config.utils import MODULE2PACKAGE

            known = sorted(registry_scopes(MODELS))
            close = difflib.get_close_matches(self.scope, known, n=3)
            hint = f" (closest: {', '.join(map(repr, close))})" if close else ''
            if self.scope in MODULE2PACKAGE:
                hint = f' (pip install {MODULE2PACKAGE[self.scope]} provides it)'
            self.problem('default_scope', self.scope,
                         f"must be a registry scope: {', '.join(known)}{hint}")

    # -- types --

    def resolve(self, kind: str, value: dict, scope: str | None = None, *,
                switch: bool = True):
        """(the object the config's ``type`` names or None, the registry it was looked up in).

        scope: the ``_scope_`` of an enclosing config (mmengine builds what a part builds in
        the part's scope); the value's own ``_scope_`` comes first."""
        from mmengine.registry import Registry

        root: Registry = self.registries[kind]
        name = value['type']
        if not switch:  # looked up as the Runner does for functions: no scope switch
            return lookup(root, name), root
        with root.switch_scope_and_registry(value.get('_scope_', scope)) as registry:
            return lookup(registry, name), registry

    def resolves_as(self, kind: str, value: dict, scope: str | None) -> bool:
        try:  # some registries mmengine never builds from fail to import their modules
            return self.resolve(kind, value, scope)[0] is not None
        except Exception:
            return False

    def check_type(self, kind: str, value: Any, path: str, *, scope: str | None = None,
                   required: bool = True, switch: bool = True, lenient: bool = False,
                   key: str | None = None):
        """Check ``value['type']`` names a registered ``kind``; returns what it names (or None).

        lenient: a type another registry knows is accepted (nested parts whose registry the
        config does not say, e.g. under ``model``)."""
        if not isinstance(value, dict):
            return None
        key = key or _join(path, 'type')
        if 'type' not in value:
            if required:
                self.missing(key, f'a {kind} config needs a type (a registered {kind} name)')
            return None
        name = value['type']
        if callable(name):
            return name
        if not isinstance(name, str):
            self.problem(key, name, f'must be a registered {kind} name (a string) or a class')
            return None
        found, registry = self.resolve(kind, value, scope, switch=switch)
        if found is not None:
            return found
        if lenient and any(self.resolves_as(other, value, scope) for other in MODEL_PART_KINDS
                           if other != kind):
            return None
        self.problem(key, name, unknown_type(kind, name, registry))
        return None

    # -- sections --

    def check_runtime(self) -> None:
        cfg = self.cfg
        launcher = cfg.get('launcher')
        if launcher is not None and launcher not in LAUNCHERS:
            self.problem('launcher', launcher, f"must be one of {', '.join(LAUNCHERS)}")
        level = cfg.get('log_level')
        if level is not None and not (_is_int(level) or
                                      (isinstance(level, str) and level.upper() in LOG_LEVELS)):
            self.problem('log_level', level, f"must be one of {', '.join(LOG_LEVELS)}")
        method = (cfg.get('env_cfg') or {}).get('mp_cfg', {}).get('mp_start_method')
        if method is not None:
            import multiprocessing

            methods = multiprocessing.get_all_start_methods()
            if method not in methods:
                self.problem('env_cfg.mp_cfg.mp_start_method', method,
                             f"must be one of {', '.join(methods)}")
        for parts in (('train_dataloader', 'train_cfg', 'optim_wrapper'),
                      ('val_dataloader', 'val_cfg', 'val_evaluator'),
                      ('test_dataloader', 'test_cfg', 'test_evaluator')):
            given = [part for part in parts if cfg.get(part) is not None]
            if given and len(given) < len(parts):
                absent = [part for part in parts if part not in given]
                self.missing(absent[0], f"{', '.join(parts)} go together: {', '.join(given)} "
                                        f"{'is' if len(given) == 1 else 'are'} set, so "
                                        f"{' and '.join(absent)} must be too (or set "
                                        f"{' and '.join(given)} to None)")
        if cfg.get('param_scheduler') is not None and cfg.get('optim_wrapper') is None:
            self.missing('optim_wrapper', 'param_scheduler is set, so an optim_wrapper must be '
                                          'too (or set param_scheduler to None)')
        base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
        if base is not None and not (_is_int(base) and base > 0):
            self.problem('auto_scale_lr.base_batch_size', base, 'must be a positive integer')

    def check_model(self) -> None:
        model = self.cfg.get('model')
        if isinstance(model, dict):
            self.check_type('model', model, 'model')
            self.check_model_parts(model, 'model', model.get('_scope_'), None)

    def check_model_parts(self, value: Any, path: str, scope: str | None, owner: Any) -> None:
        """The parts nested in a model config. ``owner``: the dict key a list belongs to
        (``bbox_head=[...]``: every item is a head)."""
        items = value.items() if isinstance(value, dict) else \
            ((index, item) for index, item in enumerate(value))
        for key, item in items:
            if key in ('type', '_scope_'):
                continue
            here = _join(path, key)
            name = key if isinstance(value, dict) else owner
            if name == 'init_cfg':  # without a type: read by the model's own init_weights
                self.check_initializers(item, here, scope)
            elif isinstance(item, dict):
                inner = item.get('_scope_', scope)
                if 'type' in item and _is_component(name):
                    self.check_model_part(name, item, here, scope)
                self.check_model_parts(item, here, inner, None)
            elif isinstance(item, (list, tuple)):
                self.check_model_parts(item, here, scope, name)

    def check_model_part(self, key: str, item: dict, path: str, scope: str | None) -> None:
        name = item['type']
        if key == 'backbone' and isinstance(name, str) and name.startswith(FOREIGN_BACKBONES):
            self.check_foreign_backbone(name, _join(path, 'type'))
            return
        kind = 'task util' if key in TASK_UTIL_KEYS else 'model'
        self.check_type(kind, item, path, scope=scope, lenient=True)

    def check_foreign_backbone(self, name: str, key: str) -> None:
        """mmaction2's recognizers build ``torchvision.X`` / ``timm.X`` backbones themselves."""
        library, _, model = name.partition('.')
        if library == 'torchvision':
            import torchvision.models

            names = sorted(n for n, v in vars(torchvision.models).items()
                           if callable(v) and n[:1].islower())
            known = model in names
        else:
            try:
                import timm
            except ImportError:
                self.problem(key, name, 'timm is not installed; pip install timm, or name '
                                        'a registered backbone')
                return
            names = timm.list_models()
            known = timm.is_model(model)
        if not known:
            close = difflib.get_close_matches(model, names, n=3)
            hint = (f"; closest: {', '.join(repr(f'{library}.{c}') for c in close)}"
                    if close else '')
            self.problem(key, name, f'must name a {library} model ({library}.NAME){hint}')

    def check_initializers(self, value: Any, path: str, scope: str | None) -> None:
        if isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                self.check_initializers(item, _join(path, index), scope)
        elif isinstance(value, dict):
            self.check_type('weight initializer', value, path, scope=scope, required=False)
            override = value.get('override')
            overrides = [override] if isinstance(override, dict) else \
                override if isinstance(override, (list, tuple)) else []
            for index, item in enumerate(overrides):
                here = _join(path, 'override')
                self.check_type('weight initializer', item,
                                here if isinstance(override, dict) else _join(here, index),
                                scope=scope, required=False)

    def check_dataloaders(self) -> None:
        for name, loader in self.cfg.items():
            if not name.endswith('_dataloader') or not isinstance(loader, dict):
                continue
            batch = loader.get('batch_size')
            if 'batch_size' in loader and not (_is_int(batch) and batch > 0):
                self.problem(f'{name}.batch_size', batch, 'must be a positive integer')
            workers = loader.get('num_workers', 0)
            if not (_is_int(workers) and workers >= 0):
                self.problem(f'{name}.num_workers', workers,
                             'must be an integer >= 0 (0: load in the main process)')
            elif workers == 0 and loader.get('persistent_workers'):
                self.problem(f'{name}.persistent_workers', loader['persistent_workers'],
                             f'needs worker processes: set {name}.persistent_workers=False '
                             f'with num_workers=0, or num_workers > 0')
            for part in ('sampler', 'batch_sampler'):
                if isinstance(loader.get(part), dict):
                    self.check_type('data sampler', loader[part], f'{name}.{part}')
            sampler = str((loader.get('sampler') or {}).get('type', '')).split('.')[-1]
            loop = self.cfg.get('train_cfg') or {}
            by_epoch = str(loop.get('type', '')).endswith('EpochBasedTrainLoop') or (
                'type' not in loop and loop.get('by_epoch'))
            if name == 'train_dataloader' and sampler in INFINITE_SAMPLERS and by_epoch:
                self.problem(f'{name}.sampler.type', sampler,
                             'never ends an epoch, so an epoch-based train loop would not '
                             'stop: use DefaultSampler with EpochBasedTrainLoop, or '
                             'IterBasedTrainLoop')
            for part in ('collate_fn', 'worker_init_fn'):
                if isinstance(loader.get(part), dict):
                    self.check_type('function', loader[part], f'{name}.{part}', switch=False)
            if 'dataset' not in loader:
                self.missing(f'{name}.dataset', 'a dataloader needs a dataset (a dict with a '
                                                'registered type)')
            elif isinstance(loader['dataset'], dict):
                found = self.check_dataset(loader['dataset'], f'{name}.dataset', None)
                if sampler == 'SeededInfiniteSampler' and isinstance(found, type):
                    from harness.data.seeding import unseeded_dataset

                    problem = unseeded_dataset(found)
                    if problem:
                        self.problem(f'{name}.sampler.type', sampler, problem)

    def check_dataset(self, dataset: dict, path: str, scope: str | None):
        """Check a dataset config and those it wraps; returns the class it names (or None)."""
        found = self.check_type('dataset', dataset, path, scope=scope)
        inner = dataset.get('_scope_', scope)
        if isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset
            self.check_dataset(dataset['dataset'], f'{path}.dataset', inner)
        if isinstance(dataset.get('datasets'), (list, tuple)):  # ConcatDataset
            for index, child in enumerate(dataset['datasets']):
                if isinstance(child, dict):
                    self.check_dataset(child, f'{path}.datasets.{index}', inner)
        return found

    def check_pipelines(self, value: Any, path: str, scope: str | None = None) -> None:
        """Every list under a key named ``pipeline``, anywhere in the config."""
        if isinstance(value, dict):
            scope = value.get('_scope_', scope)
            for key, item in value.items():
                here = _join(path, key)
                if key == 'pipeline' and isinstance(item, (list, tuple)):
                    self.check_transforms(item, here, scope)
                self.check_pipelines(item, here, scope)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                self.check_pipelines(item, _join(path, index), scope)

    def check_transforms(self, steps: Sequence, path: str, scope: str | None) -> None:
        for index, step in enumerate(steps):
            here = _join(path, index)
            if isinstance(step, dict):
                self.check_type('transform', step, here, scope=scope)
                inner = step.get('transforms')  # RandomChoice, RandomApply, KeyMapper, ...
                if isinstance(inner, dict):
                    self.check_type('transform', inner, f'{here}.transforms',
                                    scope=step.get('_scope_', scope))
                elif isinstance(inner, (list, tuple)):
                    self.check_transforms(inner, f'{here}.transforms',
                                          step.get('_scope_', scope))
            elif isinstance(step, (list, tuple)):  # RandomChoice's list of pipelines
                self.check_transforms(step, here, scope)
            elif not callable(step):
                self.problem(here, step, 'must be a transform config (a dict with a type) or '
                                         'a callable')

    def check_loops(self) -> None:
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop

        for name in ('train_cfg', 'val_cfg', 'test_cfg'):
            loop = self.cfg.get(name)
            if not isinstance(loop, dict):
                continue
            if 'type' in loop and 'by_epoch' in loop:
                self.problem(f'{name}.by_epoch', loop['by_epoch'],
                             f'set either {name}.type or {name}.by_epoch, not both')
            for count in ('max_iters', 'max_epochs', 'val_interval'):
                if count in loop and not (_is_int(loop[count], integral_float=True)
                                          and loop[count] > 0):
                    self.problem(f'{name}.{count}', loop[count], 'must be a positive integer')
            if 'type' in loop:
                found = self.check_type('loop', loop, name)
            elif name == 'train_cfg':
                found = EpochBasedTrainLoop if loop.get('by_epoch', True) else IterBasedTrainLoop
            else:  # what the Runner builds for a val_cfg / test_cfg without a type
                found = ValLoop if name == 'val_cfg' else TestLoop
            if inspect.isclass(found):
                self.check_arguments(found, loop, {'runner', 'dataloader', 'evaluator'}, name)

    def check_arguments(self, target: Any, value: dict, supplied: set, path: str) -> None:
        """The keys of ``value`` are arguments ``target`` takes, and with ``supplied`` (what
        mmengine passes itself) it gets every argument it needs."""
        given = {k for k in value if k not in ('type', '_scope_', 'by_epoch')}
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return
        params = signature.parameters
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        named = [n for n, p in params.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in supplied]
        title = getattr(target, '__name__', str(target))
        if not accepts_any:
            for key in sorted(given - set(named)):
                self.problem(_join(path, key), value[key],
                             f"is not an argument of {title} (its arguments: "
                             f"{', '.join(named) or 'none'})")
        for key in named:
            param = params[key]
            if param.default is param.empty and key not in given:
                self.missing(_join(path, key), f'{title} needs it')

    def check_optim_wrapper(self) -> None:
        wrapper = self.cfg.get('optim_wrapper')
        if not isinstance(wrapper, dict):
            return
        if isinstance(wrapper.get('constructor'), str):
            found = self.check_type('optimizer wrapper constructor',
                                    {'type': wrapper['constructor']}, 'optim_wrapper',
                                    key='optim_wrapper.constructor')
            # a constructor that can check its paramwise_cfg without the model says so
            check = getattr(found, 'check_paramwise_cfg', None)
            if callable(check) and isinstance(wrapper.get('optimizer'), dict):
                try:
                    check(wrapper.get('paramwise_cfg'), wrapper['optimizer'].get('weight_decay'))
                except ConfigError as exc:
                    self.problems.append(str(exc))
        if 'optimizer' in wrapper:
            self.check_single_wrapper(wrapper, 'optim_wrapper')
        elif 'constructor' in wrapper:  # several optimizers, one wrapper each
            for name, item in wrapper.items():
                if isinstance(item, dict) and 'optimizer' in item:
                    self.check_single_wrapper(item, f'optim_wrapper.{name}')
        else:
            self.missing('optim_wrapper.optimizer', 'an optim_wrapper needs an optimizer (a '
                                                    'dict with a registered type and its lr)')

    def check_single_wrapper(self, wrapper: dict, path: str) -> None:
        if 'type' in wrapper:
            self.check_type('optimizer wrapper', wrapper, path)
        optimizer = wrapper.get('optimizer')
        if not isinstance(optimizer, dict):
            return
        here = f'{path}.optimizer'
        found = self.check_type('optimizer', optimizer, here)
        for name in ('lr', 'weight_decay', 'momentum'):
            if name in optimizer and not (_is_number(optimizer[name]) and optimizer[name] >= 0):
                self.problem(f'{here}.{name}', optimizer[name], 'must be a number >= 0')
        if inspect.isclass(found):
            self.check_arguments(found, optimizer, {'params'}, here)

    def check_param_schedulers(self) -> None:
        schedulers = self.cfg.get('param_scheduler')
        if schedulers is None:
            return
        if isinstance(schedulers, dict) and 'type' not in schedulers:
            # several optimizers: {optimizer name: scheduler(s)}
            for name, item in schedulers.items():
                self.check_scheduler_list(item, f'param_scheduler.{name}')
        else:
            self.check_scheduler_list(schedulers, 'param_scheduler')

    def check_scheduler_list(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            self.check_scheduler(value, path)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    self.check_scheduler(item, _join(path, index))

    def implicit_end(self, scheduler: dict) -> tuple[str, Any] | None:
        """(the key, the value) of where mmengine ends a scheduler that sets no ``end``: the
        train loop's ``max_epochs`` (``by_epoch``, the default) or ``max_iters``; an iteration
        loop has 1 epoch; None where it is not known before the data is (iterations of an
        epoch loop)."""
        loop = self.cfg.get('train_cfg')
        if not isinstance(loop, dict):
            return None
        by_iter = str(loop.get('type', '')).endswith('IterBasedTrainLoop') or (
            'type' not in loop and loop.get('by_epoch') is False)
        if scheduler.get('by_epoch', True):
            if by_iter:
                return 'the iteration loop\'s one epoch', 1
            return ('train_cfg.max_epochs', loop.get('max_epochs')) if \
                'max_epochs' in loop else None
        return ('train_cfg.max_iters', loop.get('max_iters')) if by_iter and \
            'max_iters' in loop else None

    def check_scheduler(self, scheduler: dict, path: str) -> None:
        self.check_type('parameter scheduler', scheduler, path)
        begin, end = scheduler.get('begin', 0), scheduler.get('end')
        if not (_is_number(begin) and begin >= 0):
            self.problem(f'{path}.begin', begin, 'must be a number >= 0')
        elif end is not None and _is_number(end) and end <= begin:
            self.problem(f'{path}.end', end, f'must be larger than begin ({begin})')
        elif 'end' not in scheduler and self.implicit_end(scheduler):
            where, value = self.implicit_end(scheduler)
            if _is_int(value, integral_float=True) and 0 < value <= begin:  # (a bad count:
                # reported as such)
                self.problem(f'{path}.begin', begin,
                             f'must be smaller than the scheduler\'s end, which is {where} '
                             f'({value}) as it sets no end: set {path}.end, or a longer '
                             'schedule')
        if 'T_max' in scheduler and not (_is_number(scheduler['T_max'])
                                         and scheduler['T_max'] > 0):
            self.problem(f'{path}.T_max', scheduler['T_max'], 'must be a positive number')

    def check_hooks(self) -> None:
        hooks = self.cfg.get('default_hooks')
        if isinstance(hooks, dict):
            for name, hook in hooks.items():
                if isinstance(hook, dict):
                    self.check_type('hook', hook, f'default_hooks.{name}')
        custom = self.cfg.get('custom_hooks')
        if isinstance(custom, (list, tuple)):
            for index, hook in enumerate(custom):
                if isinstance(hook, dict):
                    self.check_type('hook', hook, f'custom_hooks.{index}')

    def check_evaluators(self) -> None:
        for name in ('val_evaluator', 'test_evaluator'):
            evaluator = self.cfg.get(name)
            if isinstance(evaluator, dict) and 'metrics' in evaluator:
                if 'type' in evaluator:
                    self.check_type('evaluator', evaluator, name)
                self.check_metrics(evaluator['metrics'], f'{name}.metrics')
            else:
                self.check_metrics(evaluator, name)

    def check_metrics(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            self.check_type('metric', value, path)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    self.check_type('metric', item, _join(path, index))

    def check_others(self) -> None:
        processor = self.cfg.get('log_processor')
        if isinstance(processor, dict):
            self.check_type('log processor', processor, 'log_processor', required=False)
        visualizer = self.cfg.get('visualizer')
        if isinstance(visualizer, dict):
            self.check_type('visualizer', visualizer, 'visualizer')
            backends = visualizer.get('vis_backends')
            if isinstance(backends, dict):
                backends = [backends]
            for index, backend in enumerate(backends or []):
                self.check_type('visualization backend', backend,
                                f'visualizer.vis_backends.{index}')
        wrapper = self.cfg.get('model_wrapper_cfg')
        if isinstance(wrapper, dict):
            self.check_type('model wrapper', wrapper, 'model_wrapper_cfg', required=False)


def _is_component(key: Any) -> bool:
    return isinstance(key, str) and (key in TASK_UTIL_KEYS or bool(COMPONENT_KEY.fullmatch(key)))
