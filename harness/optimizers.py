"""Optimizers and parameter groups the configs name that mmengine does not ship.

``LARS`` is timm's implementation (``timm.optim.Lars``: momentum, nesterov, ``trust_coeff``,
weight decay), registered under the name the papers use. A param group with weight decay 0
is also left out of its trust-ratio adaptation (timm adapts a group only when its
``weight_decay`` is not 0, unless ``always_adapt``), so "no decay for biases and norms" also
excludes them from LARS, as SimCLR's, BYOL's and Barlow Twins' code do.

:class:`ParamGroupsOptimWrapperConstructor` gives biases, norm layers and named submodules
their own lr and weight-decay multipliers; :func:`param_group_summary` is what a record states
about the param groups an optimizer was built with.
"""
from __future__ import annotations

from numbers import Real
from typing import Any, Mapping

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm, _InstanceNorm
from timm.optim import Lars
from torch import nn

from harness.errors import ConfigError
from harness.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

OPTIMIZERS.register_module(name='LARS', module=Lars)

#: The layers whose parameters the ``norm`` rule covers (the layers mmengine's
#: ``norm_decay_mult`` covers).
NORM_LAYERS = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)
#: The multipliers a rule may set.
MULTIPLIERS = ('lr_mult', 'decay_mult')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ParamGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor with three rules for the param groups, each a dict of
    ``lr_mult`` and ``decay_mult`` (default 1: the optimizer's ``lr`` and ``weight_decay``
    times the multiplier)::

        optim_wrapper = dict(
            constructor='ParamGroupsOptimWrapperConstructor',
            optimizer=dict(type='LARS', lr=0.2, weight_decay=1.5e-6),
            paramwise_cfg=dict(
                bias=dict(lr_mult=0.024, decay_mult=0.0),   # biases of every other layer
                norm=dict(lr_mult=0.024, decay_mult=0.0),   # all of a norm layer's parameters
                modules={'predictor': dict(lr_mult=10.0)}))  # under model.predictor

    ``norm`` covers every parameter of a BatchNorm, InstanceNorm, GroupNorm or LayerNorm
    (:data:`NORM_LAYERS`), ``bias`` the ``bias`` of every other module. ``modules`` names
    submodules by their dotted path in the model (``'predictor'``, ``'backbone.layer4'``): a
    parameter under one takes its multipliers *times* the bias or norm rule's (the innermost
    named module when several hold it). That is what mmengine's own ``paramwise_cfg`` does not
    do: its ``custom_keys`` replace the bias and norm rules for the parameters they match (by
    substring), and it has no lr multiplier for norm layers. For decay multipliers alone on
    biases and norms, mmengine's ``paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0.)``
    with the default constructor does the same.

    Parameters with the same lr and weight decay share one param group (groups in the order
    their first parameter comes in ``model.parameters()``); frozen parameters
    (``requires_grad=False``) are left out. A misspelt rule or module is a one-line
    :class:`~harness.errors.ConfigError`.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        super().__init__(optim_wrapper_cfg, None)
        self.rules = check_rules(paramwise_cfg, self.base_wd)
        self.paramwise_cfg = self.rules  # not empty: mmengine then calls add_params

    @staticmethod
    def check_paramwise_cfg(paramwise_cfg: Mapping | None, weight_decay: float | None) -> None:
        """A one-line ConfigError for rules that cannot be right whatever the model (the
        config check calls it before anything trains; module names are checked on the
        model)."""
        check_rules(paramwise_cfg, weight_decay)

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module=None) -> None:
        named = self.rules['modules']
        missing = [name for name in named if name not in dict(module.named_modules())]
        if missing:
            children = ', '.join(name for name, _ in module.named_children()) or 'none'
            raise ConfigError(f'optim_wrapper.paramwise_cfg.modules: {type(module).__name__} '
                              f'has no submodule {missing[0]!r} (its children: {children})')
        groups: dict[tuple, dict] = {}
        for path, layer in module.named_modules():
            kind = 'norm' if isinstance(layer, NORM_LAYERS) else None
            owner = max((name for name in named
                         if path == name or path.startswith(name + '.')), key=len, default=None)
            for name, param in layer.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                rule = kind or ('bias' if name == 'bias' else None)
                lr_mult, decay_mult = 1.0, 1.0
                for factors in (self.rules.get(rule), named.get(owner)):
                    if factors:
                        lr_mult *= factors.get('lr_mult', 1.0)
                        decay_mult *= factors.get('decay_mult', 1.0)
                group = {'lr': self.base_lr * lr_mult}
                if self.base_wd is not None:
                    group['weight_decay'] = self.base_wd * decay_mult
                key = tuple(sorted(group.items()))
                groups.setdefault(key, {**group, 'params': []})['params'].append(param)
        params.extend(groups.values())


def check_rules(paramwise_cfg: Mapping | None, base_wd: float | None) -> dict[str, Any]:
    """The rules of :class:`ParamGroupsOptimWrapperConstructor` (``bias``, ``norm``,
    ``modules``), or a one-line ConfigError naming the key that is wrong."""
    here = 'optim_wrapper.paramwise_cfg'
    cfg = dict(paramwise_cfg or {})
    unknown = sorted(set(cfg) - {'bias', 'norm', 'modules'})
    if unknown:
        raise ConfigError(f'{here}.{unknown[0]}: ParamGroupsOptimWrapperConstructor takes the '
                          'rules bias, norm and modules (each lr_mult and decay_mult)')
    if not cfg:
        raise ConfigError(f'{here}: ParamGroupsOptimWrapperConstructor needs at least one rule '
                          '(bias, norm or modules); without rules use the default constructor')
    modules = cfg.pop('modules', None) or {}
    if not isinstance(modules, Mapping):
        raise ConfigError(f'{here}.modules: must map submodule names to '
                          f'dict(lr_mult=..., decay_mult=...), not {modules!r}')
    rules = {name: _factors(value, f'{here}.{name}', base_wd) for name, value in cfg.items()}
    rules['modules'] = {str(name): _factors(value, f'{here}.modules.{name}', base_wd)
                        for name, value in modules.items()}
    return rules


def _factors(value: Any, key: str, base_wd: float | None) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigError(f'{key}: must be dict(lr_mult=..., decay_mult=...), not {value!r}')
    unknown = sorted(set(value) - set(MULTIPLIERS))
    if unknown:
        raise ConfigError(f'{key}.{unknown[0]}: a rule takes lr_mult and decay_mult only')
    for name, factor in value.items():
        if isinstance(factor, bool) or not isinstance(factor, Real) or factor < 0:
            raise ConfigError(f'{key}.{name}: must be a number >= 0, not {factor!r}')
    if 'decay_mult' in value and base_wd is None:
        raise ConfigError(f'{key}.decay_mult: the optimizer has no weight_decay to multiply')
    return {name: float(factor) for name, factor in value.items()}


def param_group_summary(optim_wrapper, model: nn.Module) -> list[dict[str, Any]]:
    """The param groups ``optim_wrapper`` (an ``OptimWrapper`` or ``OptimWrapperDict``) trains
    ``model`` with, as a record states them: one entry per distinct (optimizer, lr, weight
    decay, fixed lr), in the order of the optimizer's groups, with the number of tensors
    (``params``) and of values (``numel``) it holds and its first parameter's name
    (``first``). ``lr`` is the group's lr before any schedule (``initial_lr``, which mmengine's
    schedulers record, else ``lr``: after ``auto_scale_lr``); ``optimizer`` names the wrapper
    of an ``OptimWrapperDict`` (absent for one optimizer)."""
    names = {id(param): name for name, param in model.named_parameters()}
    wrappers = (optim_wrapper.items() if isinstance(optim_wrapper, OptimWrapperDict)
                else [(None, optim_wrapper)])
    summary: dict[tuple, dict[str, Any]] = {}
    for wrapper_name, wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            if not group['params']:
                continue
            lr = float(group.get('initial_lr', group['lr']))
            decay = float(group.get('weight_decay', 0.0))
            fixed = bool(group.get('fix_lr', False))
            key = (wrapper_name, lr, decay, fixed)
            if key not in summary:
                entry = {} if wrapper_name is None else {'optimizer': wrapper_name}
                entry.update(lr=lr, weight_decay=decay, params=0, numel=0,
                             first=names.get(id(group['params'][0]), ''))
                if fixed:
                    entry['fix_lr'] = True
                summary[key] = entry
            summary[key]['params'] += len(group['params'])
            summary[key]['numel'] += sum(p.numel() for p in group['params'])
    return list(summary.values())
