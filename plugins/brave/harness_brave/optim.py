"""BraVe's LARS as the official code builds it (google-deepmind/brave:
brave/training/optimizers.py ``get_optimizer`` with ``optimizer_name='lars'``)::

    optax.chain(_scale_by_module_name([('.*predictor.*', 10.0)]),
                optax.lars(schedule, weight_decay=1e-2, momentum=0.9, nesterov=True,
                           trust_coefficient=0.001,
                           weight_decay_mask=exclude_bias_and_normalizers,
                           trust_ratio_mask=exclude_bias_and_normalizers))

optax's ``lars`` (0.0.9, the version brave's requirements.txt pins) is itself a chain:
``add_decayed_weights`` (masked) -> ``scale_by_trust_ratio`` (masked, eps 0) -> scale by the
learning rate -> ``trace`` (momentum, nesterov). So for a parameter ``w`` with gradient ``g``, one
step is::

    u = s * g                        s: the gradient scale (10 for the predictor, else 1)
    u = u + wd * w                   unless w is a bias or a normaliser's parameter
    u = u * eta * |w| / |u|          likewise (a factor 1 when |w| or |u| is 0)
    u = lr * u
    m = u + momentum * m             (the momentum holds learning-rate-scaled updates)
    w = w - (u + momentum * m)       with nesterov; w - m without

Consequences the harness used to miss: the predictor's x10 multiplies the *gradient* before
LARS, so the trust ratio cancels it on the predictor's weight matrices (their step stays
``lr * eta * |w|`` in size) and only the predictor's biases and BatchNorm parameters move 10x
further; biases and normalisers are neither decayed nor adapted.

:class:`BraveLARS` is that update (per-group ``weight_decay``, ``trust_ratio`` on/off and
``grad_scale``); it differs from timm's ``Lars`` (the core's ``LARS``) in the trust ratio's
denominator (``|g + wd w|`` here, ``|g| + wd |w|`` there), its eps (0 here) and the place of
the learning rate (before the momentum here, after it there: the same under a constant rate).
:class:`BraveOptimWrapperConstructor` builds its parameter groups from ``paramwise_cfg``.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.optim import Optimizer

from harness.api import ConfigError, OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

NORMS = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


@OPTIMIZERS.register_module()
class BraveLARS(Optimizer):
    """LARS as optax's ``lars`` chain preceded by a gradient scale (the module's doc).

    Group options: lr, momentum (0.9), nesterov (False), trust_coefficient (eta, 0.001), eps
    (added to the trust ratio's denominator, 0), weight_decay (0), trust_ratio (whether the
    trust ratio adapts the group's update, True), grad_scale (multiplies the gradient before
    everything else, 1).
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.9, nesterov: bool = False,
                 trust_coefficient: float = 0.001, eps: float = 0.0, weight_decay: float = 0.0,
                 trust_ratio: bool = True, grad_scale: float = 1.0):
        if lr < 0 or momentum < 0 or weight_decay < 0 or trust_coefficient <= 0:
            raise ValueError('BraveLARS: lr, momentum and weight_decay must be >= 0 and '
                             'trust_coefficient > 0')
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      trust_coefficient=trust_coefficient, eps=eps,
                                      weight_decay=weight_decay, trust_ratio=trust_ratio,
                                      grad_scale=grad_scale))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                update = p.grad * group['grad_scale']
                if group['weight_decay'] != 0:
                    update = update.add(p, alpha=group['weight_decay'])
                if group['trust_ratio']:
                    w_norm, u_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(update)
                    ratio = group['trust_coefficient'] * w_norm / (u_norm + group['eps'])
                    one = torch.ones_like(ratio)
                    update = update * torch.where((w_norm == 0) | (u_norm == 0), one, ratio)
                update = update * group['lr']
                if group['momentum'] != 0:
                    state = self.state[p]
                    if 'momentum_buffer' not in state:
                        state['momentum_buffer'] = torch.zeros_like(p)
                    trace = state['momentum_buffer']
                    trace.mul_(group['momentum']).add_(update)
                    update = update.add(trace, alpha=group['momentum']) if group['nesterov'] \
                        else trace
                p.sub_(update)
        return loss


def is_bias_or_norm(module: nn.Module, name: str) -> bool:
    """The official ``exclude_bias_and_normalizers`` predicate in PyTorch's terms: a bias, or
    any parameter of a normalisation layer."""
    return name == 'bias' or isinstance(module, NORMS)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BraveOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor (``paramwise_cfg``'s ``norm_decay_mult``,
    ``bias_decay_mult``, ``custom_keys``, ... as usual; every parameter gets a group of its own)
    plus two ``paramwise_cfg`` keys for :class:`BraveLARS`:

    adapt_bias_and_norm (True): False leaves biases and normalisation parameters out of the
    trust ratio (the official ``trust_ratio_mask``; the weight-decay mask is mmengine's
    ``norm_decay_mult=0, bias_decay_mult=0``).
    grad_mult ({}): ``{regex: scale}``; the gradient of every parameter whose name (e.g.
    ``predictor.0.weight``) the regex matches (``re.match``, as the official
    ``scale_learning_rate_by_regex``) is multiplied by the scale before the optimizer uses it
    (several matches multiply).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        self.adapt_bias_and_norm = bool(paramwise_cfg.pop('adapt_bias_and_norm', True))
        self.grad_mult: Mapping[str, float] = dict(paramwise_cfg.pop('grad_mult', {}))
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        # a group per parameter (mmengine puts all parameters in one group without options)
        self.paramwise_cfg.setdefault('custom_keys', {})

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        wrapper = super().__call__(model)
        optimizer = wrapper.optimizer
        for option, needed in (('trust_ratio', not self.adapt_bias_and_norm),
                               ('grad_scale', bool(self.grad_mult))):
            if needed and option not in optimizer.defaults:
                raise ConfigError(f'BraveOptimWrapperConstructor: the optimizer '
                                  f"{type(optimizer).__name__} has no group option '{option}' "
                                  f'(use BraveLARS)')
        names = {id(p): name for name, p in model.named_parameters()}
        excluded = {id(p) for module in model.modules()
                    for name, p in module.named_parameters(recurse=False)
                    if is_bias_or_norm(module, name)}
        for group in optimizer.param_groups:
            (param,) = group['params']
            if not self.adapt_bias_and_norm and id(param) in excluded:
                group['trust_ratio'] = False
            scale = 1.0
            for pattern, factor in self.grad_mult.items():
                if re.match(pattern, names[id(param)]):
                    scale *= factor
            if self.grad_mult:
                group['grad_scale'] = scale
        return wrapper
