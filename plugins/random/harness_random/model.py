"""The BatchNorm-calibrated reference: random weights whose BatchNorm statistics are fitted on
pretraining views, nothing else moved.

A pretrained backbone's BatchNorm layers hold running statistics of its pretraining views; a
randomly initialised one keeps mean 0 and variance 1. In a protocol that runs the backbone
frozen (BatchNorm in eval mode), that difference alone moves the score, so the fair reference
for a pretrained row there is the random network with statistics fitted the same way.
"""
from __future__ import annotations

import torch
from mmengine.model import BaseModel
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from harness.api import MODELS


def batch_norms(module: torch.nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


@MODELS.register_module()
class BNCalibration(BaseModel):
    """The backbone as initialised, its BatchNorm running statistics fitted on every view of
    every batch: each step runs the backbone in train mode without gradients, and the running
    statistics are the cumulative average of the batch statistics (``momentum=None``, counted
    from the first step). No parameter is trained: the optimizer is never stepped.

    The backbone is built and initialised here, in the order an evaluator builds a random one
    (build, then ``init_weights``, right after the run's seed is set), so the exported weights
    are the random row's of the same seed with only the BatchNorm buffers changed.
    feat_dim: set by the harness; unused.
    """

    def __init__(self, backbone: dict, feat_dim: int | None = None, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if hasattr(self.backbone, 'init_weights'):
            self.backbone.init_weights()  # now, before anything else draws random numbers
        norms = batch_norms(self.backbone)
        if not norms:
            raise ValueError(f'{type(self.backbone).__name__} has no BatchNorm layer: there is '
                             'nothing to calibrate (its random row is the reference)')
        for norm in norms:
            norm.momentum = None  # cumulative average over every batch seen
            norm.reset_running_stats()

    def train_step(self, data, optim_wrapper) -> dict[str, Tensor]:
        data = self.data_preprocessor(data, True)
        self.backbone.train()
        with torch.no_grad():
            for views in self.views(data['inputs']):
                self.backbone(views)
        return {'loss': torch.zeros((), device=self.device)}  # logged; nothing is optimised

    @staticmethod
    def views(inputs) -> list[Tensor]:
        """The batch's views: one tensor, or a dict of them (``view1``, ``view2``, ...)."""
        return list(inputs.values()) if isinstance(inputs, dict) else [inputs]

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode != 'tensor':
            raise ValueError(f"BNCalibration trains nothing: mode 'tensor' only, not {mode!r}")
        return [self.backbone(views) for views in self.views(inputs)]

    def backbone_state_dict(self) -> dict[str, Tensor]:
        return self.backbone.state_dict()

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device
