"""Looking up a config's ``type`` in mmengine's registries, and what to say when it is not there.

The config checker (:mod:`harness.checks`) resolves every ``type`` the way mmengine's builders
do; this module holds what that needs from mmengine's registry tree: the root registries by the
names messages use, a lookup that answers None instead of raising, the scopes of the tree, and
the one-line description of an unknown name with the closest registered ones (``difflib``).
"""
from __future__ import annotations

import difflib
import importlib
import logging
from contextlib import contextmanager
from typing import Any, Iterator


def root_registries() -> dict[str, Any]:
    """mmengine's root registries under the names the messages use ('model', 'task util',
    'optimizer wrapper', ...)."""
    from mmengine import registry as mm

    return {
        'model': mm.MODELS, 'dataset': mm.DATASETS, 'transform': mm.TRANSFORMS,
        'data sampler': mm.DATA_SAMPLERS, 'function': mm.FUNCTIONS, 'loop': mm.LOOPS,
        'hook': mm.HOOKS, 'optimizer': mm.OPTIMIZERS,
        'optimizer wrapper': mm.OPTIM_WRAPPERS,
        'optimizer wrapper constructor': mm.OPTIM_WRAPPER_CONSTRUCTORS,
        'parameter scheduler': mm.PARAM_SCHEDULERS, 'metric': mm.METRICS,
        'evaluator': mm.EVALUATOR, 'log processor': mm.LOG_PROCESSORS,
        'visualizer': mm.VISUALIZERS, 'visualization backend': mm.VISBACKENDS,
        'model wrapper': mm.MODEL_WRAPPERS, 'weight initializer': mm.WEIGHT_INITIALIZERS,
        'task util': mm.TASK_UTILS,
    }


@contextmanager
def quiet_mmengine() -> Iterator[None]:
    """Registry lookups log warnings (unknown scopes, fallbacks) that the check reports itself."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def lookup(registry, name: str):
    """``registry.get(name)``, None where mmengine would not find it."""
    try:
        return registry.get(name)
    except RuntimeError:  # raised by get when the name looks like a path that does not import
        return None


def registry_scopes(root) -> set[str]:
    """The scopes of the registry tree under ``root`` (``mmengine``, ``mmaction``, ...)."""
    found = {root.scope}
    for child in root.children.values():
        found |= registry_scopes(child)
    return found


def _names(registry) -> set[str]:
    """Names ``registry`` resolves without a scope: its own and its ancestors'."""
    names: set[str] = set()
    while registry is not None:
        names |= set(registry.module_dict)
        registry = registry.parent
    return names


def _scoped_names(root) -> set[str]:
    """``scope.Name`` for every registry of the tree under ``root``."""
    names = {f'{root.scope}.{name}' for name in root.module_dict}
    for child in root.children.values():
        names |= _scoped_names(child)
    return names


def unknown_type(kind: str, name: str, registry) -> str:
    """What is allowed instead of the unknown ``name``: the closest registered names."""
    root = registry.root
    scope, _ = registry.split_scope_key(name)
    known_scopes = registry_scopes(root)
    if scope is not None and scope not in known_scopes:
        try:  # 'torch.optim.AdamW'-style paths resolve as Python objects
            importlib.import_module(scope)
            known_package = True
        except ImportError:
            known_package = False
        if not known_package:
            from mmengine.config.utils import MODULE2PACKAGE

            install = (f' (pip install {MODULE2PACKAGE[scope]} provides it)'
                       if scope in MODULE2PACKAGE else '')
            return (f"must name a registered {kind}; there is no registry scope "
                    f"{scope!r}{install}; scopes here: {', '.join(sorted(known_scopes))}")
    candidates = _names(registry) | _scoped_names(root)
    if scope is not None and scope not in known_scopes:  # a Python path: 'torch.optim.AdamW'
        from mmengine.utils import get_object_from_string

        parent = get_object_from_string(name.rpartition('.')[0])
        candidates = {f"{name.rpartition('.')[0]}.{attr}" for attr in dir(parent)
                      if not attr.startswith('_')} if parent is not None else set()
    close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    where = f"in scope {registry.scope!r}" if scope is None else ''
    hint = (f"closest: {', '.join(map(repr, close))}" if close else
            "none is close; if it is yours, add the module that registers it to "
            "custom_imports")
    return f"must name a registered {kind}{' ' + where if where else ''} ({hint})"
