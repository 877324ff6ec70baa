"""One optimizer wrapper per submodule, for models trained with several optimizers (VideoMoCo's
encoder and generator). mmengine leaves multi-optimizer construction to a custom constructor;
this one follows mmagic's ``MultiOptimWrapperConstructor`` convention."""
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
