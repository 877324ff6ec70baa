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


# ------------------------------------------------------------------ tensors left untrained

def test_untrained_tensors_are_those_still_equal_to_their_initial_values(tmp_path):
    import json

    import torch

    from harness.pretrain import tensor_digests, untrained_tensors

    initial = {'a': torch.zeros(3), 'b': torch.ones(2, 2), 'n': torch.tensor(0)}
    digests = tmp_path / 'initial.json'
    digests.write_text(json.dumps(tensor_digests(initial)))
    after = {'a': torch.zeros(3), 'b': torch.ones(2, 2) + 1e-7, 'n': torch.tensor(3)}
    assert untrained_tensors(after, digests) == ['a']
    # the same bytes in another dtype or shape are another tensor
    assert untrained_tensors({'a': torch.zeros(3, dtype=torch.int32)}, digests) == []
    assert untrained_tensors({'b': torch.ones(4)}, digests) == []
    assert untrained_tensors(after, tmp_path / 'missing.json') is None


def pretrained(untrained):
    from harness.pretrain import Pretrained

    return Pretrained(backbone_path='b.pth', key='0' * 64, config_sha256='1' * 64,
                      checkpoint_sha256='2' * 64, iters=1, epochs=None, work_dir='/w',
                      untrained=untrained)


def test_untrained_tensors_stop_a_run_unless_the_config_names_them():
    from mmengine.config import Config

    from harness.pretrain import check_untrained

    names = ['norm.weight', 'norm.bias', 'layer4.0.conv.weight', 'layer4.1.conv.weight',
             'layer4.2.conv.weight', 'layer4.3.conv.weight']
    with pytest.raises(HarnessError, match=r"^the pretraining in /w left 6 exported tensors "
                       r"exactly as initialised \(norm.weight, norm.bias, layer4.0.conv.weight, "
                       r"layer4.1.conv.weight and 2 more\).*untrained_tensors"):
        check_untrained(pretrained(names), Config({}))
    with pytest.raises(HarnessError, match='left 4 exported'):
        check_untrained(pretrained(names), Config({'untrained_tensors': ['norm.*']}))
    check_untrained(pretrained(names), Config({'untrained_tensors': ['norm.*', 'layer4.*']}))
    check_untrained(pretrained([]), Config({}))
    check_untrained(pretrained(None), Config({}))  # not known (an older pretraining)


def test_a_pretraining_records_the_exported_tensors_it_never_changed(tmp_path):
    """Through mmengine's Runner: a backbone tensor the loss never reaches is reported, the
    trained ones are not."""
    import torch
    from mmengine.config import Config
    from mmengine.model import BaseModel
    from torch import nn

    from harness.pretrain import PretrainJob, pretrain
    from harness.registry import DATASETS, MODELS

    @MODELS.register_module(force=True)
    class _HalfUsed(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = nn.ModuleDict(dict(used=nn.Linear(2, 2), unused=nn.Linear(2, 2)))

        def forward(self, inputs, data_samples=None, mode='loss'):
            return {'loss': self.backbone['used'](torch.stack(inputs)).pow(2).mean()}

        def backbone_state_dict(self):
            return self.backbone.state_dict()

    @DATASETS.register_module(force=True)
    class _Points(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            return {'inputs': torch.full((2,), float(index))}

    cfg = Config(dict(
        default_scope='harness', model=dict(type='_HalfUsed'),
        train_dataloader=dict(batch_size=4, num_workers=0, dataset=dict(type='_Points'),
                              sampler=dict(type='InfiniteSampler', shuffle=False)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=10)),
        randomness=dict(seed=0), launcher='none', log_level='WARNING'))
    job = PretrainJob(cfg, 'k' * 64, 'c' * 64, tmp_path / 'pretrain', {}, {}, {})
    result = pretrain(job, resume=False, log=lambda line: None)
    assert result.untrained == ['unused.bias', 'unused.weight']
