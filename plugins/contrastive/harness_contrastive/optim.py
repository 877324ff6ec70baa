"""Optimizer wrapper constructors of the baselines: one optimizer wrapper per submodule, for
models trained with several optimizers (VideoMoCo's encoder and generator; mmengine leaves
multi-optimizer construction to a custom constructor, this one follows mmagic's
``MultiOptimWrapperConstructor`` convention), and submodules whose learning rate the schedule
does not change (SimSiam's predictor, :class:`FixedLrOptimWrapperConstructor`)."""
from __future__ import annotations

import copy
from collections import OrderedDict

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from harness.api import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Builds an :class:`~mmengine.optim.OptimWrapperDict` with one wrapper per config key.

    As in mmagic, each key names a submodule of the model (``model.<key>``) and holds that
    wrapper's config (``optimizer``, optional ``type``, ``clip_grad``, ``paramwise_cfg``, ...),
    built by mmengine's ``DefaultOptimWrapperConstructor``. Added here: ``modules=[...]`` lets
    one wrapper own several submodules (VideoMoCo's ``encoder`` is ``backbone`` + ``head``).
    Every trainable parameter must belong to exactly one wrapper::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            encoder=dict(modules=['backbone', 'head'], optimizer=dict(type='AdamW', lr=1e-4)),
            generator=dict(optimizer=dict(type='AdamW', lr=1e-4)))

    Parameter schedulers: a list in ``param_scheduler`` is built for each wrapper (mmengine);
    a dict keyed like the wrappers gives each its own.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor: give paramwise_cfg inside each '
                             "wrapper's config, not next to the constructor")
        if not optim_wrapper_cfg:
            raise ValueError('MultiOptimWrapperConstructor: no optimizer wrappers configured')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers, owner = OrderedDict(), {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(dict(cfg))
            names = list(cfg.pop('modules', [name]))
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            missing = [n for n in names if not isinstance(getattr(model, n, None), nn.Module)]
            if missing:
                raise ValueError(f'optimizer wrapper {name!r}: {type(model).__name__} has no '
                                 f'submodule {missing[0]!r}')
            module = (getattr(model, names[0]) if len(names) == 1
                      else nn.ModuleDict({n: getattr(model, n) for n in names}))
            for param in module.parameters():
                if param.requires_grad and owner.setdefault(id(param), name) != name:
                    raise ValueError(f'a parameter is in optimizer wrappers {owner[id(param)]!r} '
                                     f'and {name!r}')
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(module)
        orphans = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in owner]
        if orphans:
            raise ValueError(f'trainable parameters in no optimizer wrapper: {orphans[:3]}')
        return OptimWrapperDict(**wrappers)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FixedLrOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, plus submodules whose learning rate no parameter
    scheduler changes: SimSiam's ``--fix-pred-lr`` (facebookresearch/simsiam
    ``main_simsiam.py``: the predictor's param group is flagged ``fix_lr`` and kept at the
    initial lr while the cosine schedule decays the others)::

        optim_wrapper = dict(constructor='FixedLrOptimWrapperConstructor',
                             fixed_lr=['predictor'], optimizer=dict(type='SGD', lr=0.1))

    ``fixed_lr`` names submodules of the model (``model.<name>``). Every param group the
    default constructor builds is split in two: the parameters of those submodules go to a
    group of their own, flagged ``fix_lr=True`` and placed after the others (so the lr mmengine
    logs, the first group's, is the scheduled one). mmengine's parameter schedulers change the
    lr of every group; a step pre-hook on the optimizer puts each flagged group's lr back to
    its initial value (``initial_lr``, which the schedulers record, or the lr it was built
    with) before every step, so the flagged parameters always move at the initial lr.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.fixed_lr = list(optim_wrapper_cfg.pop('fixed_lr', []))
        if not self.fixed_lr:
            raise ValueError('FixedLrOptimWrapperConstructor: name the submodules whose lr is '
                             "fixed in fixed_lr (e.g. fixed_lr=['predictor'])")
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module):
        if is_model_wrapper(model):
            model = model.module
        missing = [n for n in self.fixed_lr if not isinstance(getattr(model, n, None), nn.Module)]
        if missing:
            raise ValueError(f'FixedLrOptimWrapperConstructor: {type(model).__name__} has no '
                             f'submodule {missing[0]!r}')
        fixed = {id(p) for name in self.fixed_lr for p in getattr(model, name).parameters()}
        wrapper = super().__call__(model)
        optimizer = wrapper.optimizer
        scheduled, pinned = [], []
        for group in optimizer.param_groups:
            options = {k: v for k, v in group.items() if k != 'params'}
            own = [p for p in group['params'] if id(p) not in fixed]
            theirs = [p for p in group['params'] if id(p) in fixed]
            if own:
                scheduled.append({**options, 'params': own})
            if theirs:
                pinned.append({**options, 'params': theirs, 'fix_lr': True})
        if not pinned:
            raise ValueError(f'FixedLrOptimWrapperConstructor: {self.fixed_lr} hold no parameter '
                             'the optimizer trains')
        optimizer.param_groups.clear()
        for group in scheduled + pinned:
            optimizer.add_param_group(group)
        optimizer.register_step_pre_hook(_pin_fixed_lr)
        return wrapper


def _pin_fixed_lr(optimizer, args, kwargs) -> None:
    """Before a step: every param group flagged ``fix_lr`` back at its initial lr."""
    for group in optimizer.param_groups:
        if group.get('fix_lr'):
            group['lr'] = group.get('initial_lr', group['lr'])
