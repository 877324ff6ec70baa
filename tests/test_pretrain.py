"""harness.pretrain: what a pretraining refuses before it trains."""
from __future__ import annotations

import pytest
from mmengine.model import (BaseModel, MMDistributedDataParallel,
                            MMSeparateDistributedDataParallel)

from harness.errors import HarnessError
from harness.pretrain import check_distributable


class PlainStep(BaseModel):
    def forward(self, inputs, data_samples=None, mode='loss'):
        return {}


class OwnStep(PlainStep):
    def train_step(self, data, optim_wrapper):  # several optimizers in turn
        return {}


def test_a_model_with_its_own_train_step_is_refused_under_ddp():
    ddp = object.__new__(MMDistributedDataParallel)  # a wrapper, without a process group
    with pytest.raises(HarnessError, match="OwnStep trains with a train_step of its own.*set "
                       "model_wrapper_cfg=dict.type='MMSeparateDistributedDataParallel'"):
        check_distributable(ddp, OwnStep())
    check_distributable(ddp, PlainStep())
    check_distributable(OwnStep(), OwnStep())  # one process: its train_step runs
    # the wrapper that wraps each child in DDP and calls the model's own train_step
    check_distributable(object.__new__(MMSeparateDistributedDataParallel), OwnStep())
