"""The core of a pretraining across processes (harness/distributed.py): the cross-process
BatchNorm and its conversion, the paper's batch on the processes a user has (accumulation or
the lr scaled, never silently), the EMA once per optimizer step under accumulation, each process
drawing its own views, and what the record says. The methods' equivalence across processes is
tests/test_distributed_methods.py; two torchrun "nodes" writing one record is the slow test at
the end."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.distributed as torch_dist
from torch import nn

from harness.distributed import (BatchPlan, CrossProcessBatchNorm, convert_batch_norm,
                                 normalise_as_configured, plan_batch, rank_seed_hook,
                                 target_update_hook)
from harness.errors import ConfigError
from harness.testing import run_two_processes

SIMCLR_PAPER = 'plugins/contrastive/harness_contrastive/configs/simclr_paper.py'


class TokenNorm(nn.BatchNorm1d):
    """A BatchNorm subclass with a forward of its own (tokens [B, L, C], as SIM's)."""

    def forward(self, tokens):
        return super().forward(tokens.transpose(1, 2)).transpose(1, 2)


class ScaleOnly(nn.BatchNorm1d):
    def __init__(self, features):
        super().__init__(features, momentum=None)  # a cumulative average, no offset
        self.bias = None


def _layers():
    torch.manual_seed(0)
    return nn.ModuleDict(dict(token=TokenNorm(4), scale=ScaleOnly(4), image=nn.BatchNorm2d(4))
                         ).double()


def _inputs():
    generator = torch.Generator().manual_seed(3)
    return dict(token=torch.randn(8, 5, 4, generator=generator, dtype=torch.float64),
                scale=torch.randn(8, 4, generator=generator, dtype=torch.float64),
                image=torch.randn(8, 4, 3, 3, generator=generator, dtype=torch.float64))


def _run(layers, inputs, rows=slice(None)):
    """Two forward passes (running statistics move twice) and the gradient of a loss that is
    not symmetric in the samples (``rows``: the samples of the whole batch ``inputs`` holds)."""
    out = {}
    for name, layer in layers.items():
        x = inputs[name].clone().requires_grad_()
        layer(x)
        y = layer(x)
        whole = (8, *y.shape[1:])
        weights = torch.linspace(-1, 2, y[0].numel() * 8, dtype=y.dtype).view(whole)[rows]
        (y * weights).sum().backward()
        out[name] = dict(grad=x.grad, stats=[b.clone() for b in layer.buffers()],
                         wgrad=layer.weight.grad.clone(), kind=type(layer).__name__,
                         cross=isinstance(layer, CrossProcessBatchNorm))
    return out


class _Params(torch.utils.data.Dataset):
    """Each item: one clip's augmentation parameters, drawn where the dataset runs."""

    def __len__(self):
        return 16

    def __getitem__(self, index):
        from harness.data.augment import sample_augment

        return sample_augment(64, 64, 32, {'blur': 0.5})['box']


def _first_box(workers: int, rank_seed: bool):
    from mmengine.runner import Runner, set_random_seed

    set_random_seed(0)
    loader = Runner.build_dataloader(
        dict(batch_size=2, num_workers=workers, persistent_workers=False,
             multiprocessing_context='fork' if workers else None,
             dataset=dict(type=_Params), sampler=dict(type='DefaultSampler', shuffle=False)),
        seed=0)
    if rank_seed:
        rank_seed_hook(0).before_train(None)
    return torch.stack(next(iter(loader)))


def _worker(rank: int, port: int, results) -> None:
    torch.set_num_threads(1)
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    layers = convert_batch_norm(_layers(), cuda=False)
    rows = slice(rank * 4, (rank + 1) * 4)
    results[f'bn@{rank}'] = _run(layers, {k: v[rows] for k, v in _inputs().items()}, rows)
    # the views each process draws, without and with dataloader workers
    for workers in (0, 2):
        results[f'views{workers}@{rank}'] = _first_box(workers, rank_seed=True)
    results[f'views_unseeded@{rank}'] = _first_box(0, rank_seed=False)
    torch_dist.destroy_process_group()


@pytest.fixture(scope='module')
def two():
    return run_two_processes(_worker, start_method='fork')


def test_distributed_batch_norm_subclasses_keep_their_forward_and_match_the_whole_batch(two):
    expected = _run(_layers(), _inputs())
    for rank in (0, 1):
        got = two[f'bn@{rank}']
        for name in expected:
            rows = slice(rank * 4, (rank + 1) * 4)
            assert got[name]['cross'] and not expected[name]['cross']
            assert got[name]['kind'] == expected[name]['kind']  # its own class, extended
            torch.testing.assert_close(got[name]['grad'], expected[name]['grad'][rows],
                                       rtol=1e-10, atol=1e-12)
            # the weight's gradient: this process's share; summed (DDP's sum) the whole one
            both = two[f'bn@0'][name]['wgrad'] + two[f'bn@1'][name]['wgrad']
            torch.testing.assert_close(both, expected[name]['wgrad'], rtol=1e-10, atol=1e-12)
            for got_stat, stat in zip(got[name]['stats'], expected[name]['stats']):
                torch.testing.assert_close(got_stat, stat, rtol=1e-10, atol=1e-12)


def test_distributed_each_process_draws_its_own_views(two):
    # without the rank reseeding, processes without workers draw the same parameters
    assert torch.equal(two['views_unseeded@0'], two['views_unseeded@1'])
    for workers in (0, 2):
        assert not torch.equal(two[f'views{workers}@0'], two[f'views{workers}@1']), workers
        boxes = torch.cat([two[f'views{workers}@0'], two[f'views{workers}@1']])
        assert len({tuple(box.tolist()) for box in boxes}) == len(boxes)


def test_distributed_one_process_keeps_plain_batch_norm():
    layers = _layers()
    assert normalise_as_configured(layers, {'batch_norm': 'global'}, processes=1) is layers
    assert type(layers['image']) is nn.BatchNorm2d
    per = normalise_as_configured(_layers(), {'batch_norm': 'per_process'}, processes=4)
    assert type(per['image']) is nn.BatchNorm2d
    # converted in one process it is still plain BN (the same numbers)
    expected = _run(_layers(), _inputs())
    got = _run(convert_batch_norm(_layers(), cuda=False), _inputs())
    for name in expected:
        torch.testing.assert_close(got[name]['grad'], expected[name]['grad'])


def _paper_cfg(**options):
    from harness.config import apply_cfg_options, load_pretrain_config

    return apply_cfg_options(load_pretrain_config(SIMCLR_PAPER), options, label='c')


@pytest.mark.parametrize('processes,accumulation', [(1, 16), (2, 8), (4, 4), (16, 1)])
def test_distributed_paper_batch_is_kept_by_accumulation(processes, accumulation):
    cfg = _paper_cfg()
    plan = plan_batch(cfg, processes)
    assert (plan.world_size, plan.per_process_batch, plan.accumulation, plan.effective_batch,
            plan.lr) == (processes, 256, accumulation, 4096, 4.8)
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == accumulation
    assert cfg.optim_wrapper.optimizer.lr == 4.8
    assert plan.batch_norm == 'global' and plan.bn_samples == 256 * processes
    assert 'with gradient' in plan.gathers['negatives']
    text = plan.describe()
    assert f'{processes} process' in text and f'{accumulation} accumulation' in text
    assert ('BN statistics are over the micro-batch' in text) == (accumulation > 1)


def test_distributed_scale_lr_trains_at_the_processes_batch_and_says_so():
    cfg = _paper_cfg(**{'paper_batch.scale_lr': True})
    plan = plan_batch(cfg, 4)
    assert (plan.accumulation, plan.effective_batch) == (1, 1024)
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(4.8 / 4) == plan.lr
    assert 'accumulative_counts' not in cfg.optim_wrapper
    assert 'linear' in plan.lr_note and any('1024' in note for note in plan.notes)
    cfg = _paper_cfg(**{'paper_batch.scale_lr': True, 'paper_batch.lr_scaling': 'sqrt'})
    assert plan_batch(cfg, 4).lr == pytest.approx(4.8 / 2)


@pytest.mark.parametrize('processes,options,message', [
    (3, {}, 'the paper batch 4096 cannot be kept on 3 processes x 256: run on a number of '
            'processes dividing 16 (1, 2, 4, 8, 16)'),
    (32, {}, 'cannot be kept on 32 processes x 256'),
    (1, {'paper_batch.lr_scaling': 'cube'}, "paper_batch.lr_scaling='cube' must be one of"),
    (1, {'batch_norm': 'synced'}, "batch_norm='synced' must be one of global"),
])
def test_distributed_a_paper_batch_that_cannot_be_kept_is_one_line(processes, options, message):
    with pytest.raises(ConfigError, match='^pretraining config: ') as error:
        plan_batch(_paper_cfg(**options), processes)
    assert message in str(error.value) and '\n' not in str(error.value)
    if not options:
        assert 'paper_batch.scale_lr=True' in str(error.value)


def test_distributed_demo_config_is_left_as_it_is():
    from harness.config import config_sha256, load_pretrain_config

    cfg = load_pretrain_config(SIMCLR_PAPER.replace('_paper', '_demo'))
    before = config_sha256(cfg)
    plan = plan_batch(cfg, 1)
    assert config_sha256(cfg) == before  # the demo's pretraining identity does not change
    assert (plan.accumulation, plan.paper_batch, plan.batch_norm) == (1, None, 'per_process')


def test_distributed_target_network_moves_once_per_optimizer_step():
    """A Runner training 4 micro-batches with accumulation 2: the optimizer steps twice, the
    target network's EMA twice (on the first micro-batch of each step), not 4 times."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    from harness.modules import TARGET_UPDATES, momentum_update

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.online, self.target = nn.Linear(2, 1), nn.Linear(2, 1).requires_grad_(False)
            self.updates = 0

        def forward(self, inputs, data_samples=None, mode='loss'):
            before = self.target.weight.clone()
            momentum_update(self.online, self.target, 0.5)
            self.updates += int(not torch.equal(before, self.target.weight))
            return {'loss': self.online(inputs).pow(2).mean()}

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            return dict(inputs=torch.full((2,), float(index + 1)))

    import tempfile

    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=Model(), work_dir=work_dir,
                        train_dataloader=dict(batch_size=2, dataset=Data(),
                                              sampler=dict(type='DefaultSampler', shuffle=False),
                                              num_workers=0,
                                              collate_fn=dict(type='default_collate')),
                        train_cfg=dict(by_epoch=False, max_iters=4),
                        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                                           accumulative_counts=2),
                        default_hooks=dict(checkpoint=None, logger=None),
                        custom_hooks=[target_update_hook(2)], default_scope='mmengine')
        runner.train()
        assert runner.model.updates == 2 and TARGET_UPDATES['enabled']
        assert runner.optim_wrapper.optimizer.state_dict()['state'] == {}  # plain SGD
        assert runner.optim_wrapper._inner_count == 4


def test_distributed_block_is_valid_in_a_record():
    from harness.schema import validate_record
    from tests._records import make_record

    plan = BatchPlan(world_size=2, per_process_batch=256, accumulation=8, effective_batch=4096,
                     lr=4.8, lr_note='x', paper_batch=4096, batch_norm='global',
                     bn_samples=512, gathers={'negatives': 'with gradient'},
                     notes=['BN statistics are over the micro-batch'])
    record = make_record()
    record['pretrain']['distributed'] = plan.as_record()
    validate_record(record)
    record['pretrain']['distributed']['batch_norm'] = 'sometimes'
    with pytest.raises(Exception, match='pretrain.distributed.batch_norm'):
        validate_record(record)


@pytest.mark.slow
def test_distributed_two_torchrun_nodes_write_one_record(tmp_path):
    """The same command as two torchrun "nodes" (--nnodes 2, --node_rank 0 and 1, one process
    each, rendezvous on localhost), as a two-node SLURM job starts it: SimCLR's paper config,
    shrunk, with the paper batch 16 = 2 processes x 4 x 2 accumulation steps, global BN; one
    record that says so. Then the dry run of the same command under torchrun."""
    import json
    import os

    from harness.config import load_pretrain_config
    from harness.testing import free_port, shrink_options

    # 4 iterations of 4 images per process = 2 optimizer steps of 16: smaller, some BN
    # weights get no gradient (1 x 1 maps of 2 samples) and the export check rightly stops
    options = shrink_options(load_pretrain_config(SIMCLR_PAPER), iters=4)
    options.pop('paper_batch.size', None)
    options['train_dataloader.batch_size'] = 4
    args = ['run', '--method', 'simclr', '--config', 'paper', '--eval', 'imagenet',
            '--backbone', 'resnet18-slim', '--work-dir', str(tmp_path / 'work'),
            '--records-dir', str(tmp_path / 'records'), '--launcher', 'pytorch',
            '--cfg-options', 'paper_batch.size=16', *[f'{k}={v!r}' for k, v in options.items()]]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    port = free_port()

    def node(rank: int, *extra: str):
        return subprocess.Popen(
            [sys.executable, '-m', 'torch.distributed.run', '--nnodes', '2', '--node_rank',
             str(rank), '--nproc_per_node', '1', '--master_addr', '127.0.0.1',
             '--master_port', str(port), '-m', 'harness.cli', *args, *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    nodes = [node(0), node(1)]
    outputs = [n.communicate(timeout=900)[0] for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], '\n'.join(o[-3000:] for o in outputs)
    records = list((tmp_path / 'records').glob('*.json'))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record['pretrain']['distributed'] | {'lr': None, 'lr_note': '', 'gathers': {}} == {
        'world_size': 2, 'per_process_batch': 4, 'accumulation': 2, 'effective_batch': 16,
        'paper_batch': 16, 'batch_norm': 'global', 'bn_samples': 8, 'lr': None, 'lr_note': '',
        'gathers': {},
        'notes': ['BN statistics are over the micro-batch (8 samples), not the effective batch 16']}
    assert record['pretrain']['iters'] == 4

    dry = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(free_port()), '-m', 'harness.cli', *args, '--dry-run'],
        env=env, capture_output=True, text=True, timeout=600)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert 'batch: 2 processes x 4 per process x 2 accumulation steps = effective batch 16' \
        in dry.stdout
    assert 'normalisation: global BN' in dry.stdout and 'negatives with gradient' in dry.stdout
