"""Each method across W gloo processes (CPU) as its paper ran it: one training step on W
processes with N / W samples each gives the parameter gradients and BN statistics of one
process on all N samples (global BN and gradient-carrying gathers: SimCLR, BYOL, SimSiam,
MoCo v3, BraVe), in float64, with the inputs (the augmentation) fixed; and the shuffle-BN
methods (MoCo, VideoMoCo) encode keys on a shuffled sub-batch and keep one queue on every
process.

One set of processes per world size (forked, so they inherit the imports) runs every method
(module-scoped fixtures), so the whole file takes seconds. :func:`measure` also runs the step
as before this harness had cross-process BN (no conversion; SimCLR's negatives gathered
without gradient too): ``python -m tests.test_distributed_methods`` prints the gradient
differences before and after.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.distributed as torch_dist
from torch import nn

from harness.testing import run_processes

N = 8  # the whole batch: divisible by 2 and 4
METHODS = ('simclr', 'byol', 'simsiam', 'mocov3', 'brave')
SHUFFLED = ('shuffle:moco', 'shuffle:videomoco')
#: relative L2 tolerance of the float64 comparisons
RTOL = 1e-5


class TinyNet(nn.Module):
    """A backbone with BatchNorm: conv -> BN -> ReLU -> conv -> BN -> ReLU, 8 channels."""

    def __init__(self, dims: int = 2):
        super().__init__()
        conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
        self.layers = nn.Sequential(conv(3, 8, 3, padding=1), norm(8), nn.ReLU(),
                                    conv(8, 8, 3, stride=2, padding=1), norm(8), nn.ReLU())

    def forward(self, x):
        return self.layers(x)


def build(method: str):
    """The method's model with a tiny backbone and tiny heads, float64, initialised from seed
    0 (the same on every process)."""
    from harness_brave.model import BraVe
    from harness_contrastive.models import BYOL, SimCLR, SimSiam, MoCoV3

    torch.manual_seed(0)
    backbone = dict(type=TinyNet)
    model = {
        'simclr': lambda: SimCLR(backbone, feat_dim=8, hidden_dim=16, dim=8, temperature=0.5),
        'byol': lambda: BYOL(backbone, feat_dim=8, hidden_dim=16, dim=8, momentum=0.9),
        'simsiam': lambda: SimSiam(backbone, feat_dim=8, hidden_dim=16, dim=8, pred_dim=4),
        'mocov3': lambda: MoCoV3(backbone, feat_dim=8, hidden_dim=16, dim=8, momentum=0.9,
                                 temperature=0.5),
        'brave': lambda: BraVe(backbone, feat_dim=8, hidden_dim=16, proj_dim=8),
    }[method]()
    return model.double().train()


def batch(method: str) -> dict:
    """The whole batch's two views (fixed: the augmentation is not redrawn per process)."""
    generator = torch.Generator().manual_seed(1)
    first = torch.randn(N, 3, 6, 6, generator=generator, dtype=torch.float64)
    second = torch.randn(N, 3, 6, 6, generator=generator, dtype=torch.float64)
    if method == 'brave':
        return {'narrow': first, 'broad': [second]}
    return {'view1': first, 'view2': second}


def share(inputs: dict, rank: int, world: int) -> dict:
    rows = slice(rank * N // world, (rank + 1) * N // world)
    return {key: [v[rows] for v in value] if isinstance(value, list) else value[rows]
            for key, value in inputs.items()}


def step(model, inputs: dict, world: int) -> dict:
    """One step's loss.backward(), the gradients averaged over the processes as DDP does;
    returns the gradients and every BN's running statistics (after the step)."""
    loss = model(inputs, mode='loss')['loss']
    loss.backward()
    grads = {}
    for name, param in model.named_parameters():
        if param.grad is None:
            continue
        grad = param.grad.detach().clone()
        if world > 1:
            torch_dist.all_reduce(grad)
            grad /= world
        grads[name] = grad
    stats = {name: buffer.detach().clone() for name, buffer in model.named_buffers()
             if name.endswith(('running_mean', 'running_var'))}
    return {'grads': grads, 'stats': stats}


def _worker(rank: int, port: int, results, world: int, variants: tuple[str, ...]) -> None:
    import harness_contrastive.models as models
    from harness.distributed import normalise_as_configured

    torch.set_num_threads(1)
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=world)
    gather_others = models.gather_others
    for variant in variants:
        method, _, before = variant.partition(':')
        if method == 'shuffle':
            results[f'{variant}@{rank}'] = shuffle_step(rank, world, before)
            continue
        if before == 'no_gradient_gather' or before == 'before':
            models.gather_others = lambda t, with_gradient=False: gather_others(t, False)
        model = build(method)
        if before != 'before':  # before: per-process BN, as the harness had
            normalise_as_configured(model, {'batch_norm': 'global'}, processes=world)
        out = step(model, share(batch(method), rank, world), world)
        models.gather_others = gather_others
        if rank == 0:
            results[variant] = out
        results[f'{variant}@{rank}'] = out['grads']
    torch_dist.destroy_process_group()


def reference(method: str) -> dict:
    """One process on all N samples (plain BN)."""
    return step(build(method), batch(method), 1)


def relative(got: dict, expected: dict) -> float:
    """Relative L2 difference of two dicts of tensors (same keys), all entries together."""
    assert got.keys() == expected.keys()
    diff = torch.cat([(got[k] - expected[k]).flatten() for k in expected])
    return float(diff.norm() / torch.cat([expected[k].flatten() for k in expected]).norm())


@pytest.fixture(scope='module', params=[2, 4], ids=['2 processes', '4 processes'])
def across(request):
    world = request.param
    import harness_brave.model  # noqa: F401  (imported here, so the forked ranks have them)
    import harness_contrastive.models  # noqa: F401

    return world, run_processes(_worker, world, world, (*METHODS, *SHUFFLED),
                                start_method='fork')


@pytest.mark.parametrize('method', METHODS)
def test_distributed_step_equals_one_process_on_the_whole_batch(method, across):
    world, results = across
    expected = reference(method)
    got = results[method]
    assert relative(got['grads'], expected['grads']) < RTOL
    assert relative(got['stats'], expected['stats']) < RTOL
    for rank in range(1, world):  # every process holds the same averaged gradient
        assert relative(results[f'{method}@{rank}'], got['grads']) < 1e-12


def measure(worlds=(2, 4)) -> dict:
    """{(method, world): (before, after)} relative gradient differences to one process on the
    whole batch; SimCLR also ``'simclr (gather without gradient only)'``."""
    variants = tuple(f'{m}:before' for m in METHODS) + METHODS + ('simclr:no_gradient_gather',)
    table = {}
    for world in worlds:
        results = run_processes(_worker, world, world, variants)
        for method in METHODS:
            expected = reference(method)['grads']
            table[method, world] = (relative(results[f'{method}:before']['grads'], expected),
                                    relative(results[method]['grads'], expected))
        table['simclr, gather without gradient only', world] = (
            relative(results['simclr:no_gradient_gather']['grads'],
                     reference('simclr')['grads']), None)
    return table


# ------------------------------------------------------------------- shuffle-BN methods


class _Ids(nn.Module):
    """Records the sample ids (each sample is a constant tensor of its id) of every batch the
    wrapped module sees."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.flatten(1).mean(1).round().long().tolist())
        return self.inner(x)


def shuffle_step(rank: int, world: int, method: str) -> dict:
    """One step of MoCo or VideoMoCo on this process's share of N samples, each a constant
    image or clip of its index: the samples the query and key encoders saw, and the queue."""
    from harness_contrastive.models import MoCo, VideoMoCo

    torch.manual_seed(0)
    per = N // world
    ids = torch.arange(rank * per, (rank + 1) * per, dtype=torch.float32)
    if method == 'moco':
        model = MoCo(dict(type=TinyNet), feat_dim=8, hidden_dim=16, dim=8, queue_size=32)
        clips = ids.view(-1, 1, 1, 1).expand(per, 3, 4, 4).contiguous()
    else:
        model = VideoMoCo(dict(type=TinyNet, dims=3), feat_dim=8, hidden_dim=16, dim=8,
                          queue_size=32, drop=1, generator=dict(width=4, hidden=4))
        clips = ids.view(-1, 1, 1, 1, 1).expand(per, 3, 4, 8, 8).contiguous()
    model.backbone, model.key_backbone = _Ids(model.backbone), _Ids(model.key_backbone)
    queue_before = model.queue.clone()
    loss = model({'view1': clips, 'view2': clips.clone()}, mode='loss')['loss']
    loss.backward()
    return dict(query=model.backbone.seen[0], key=model.key_backbone.seen[0],
                queue=model.queue.clone(), queue_before=queue_before, ptr=int(model.queue_ptr))


@pytest.mark.parametrize('method', ['moco', 'videomoco'])
def test_distributed_shuffle_bn_keys_on_another_sub_batch_one_queue(method, across):
    world, spawned = across
    results = {rank: spawned[f'shuffle:{method}@{rank}'] for rank in range(world)}
    keys = [sorted(results[rank]['key']) for rank in range(world)]
    for rank in range(world):
        query = results[rank]['query']
        assert query == list(range(rank * N // world, (rank + 1) * N // world))
        assert len(keys[rank]) == N // world
    # the key encoder's BN batches: a partition of the whole batch, not the query batches
    assert sorted(sum(keys, [])) == list(range(N))
    assert any(keys[rank] != sorted(results[rank]['query']) for rank in range(world))
    # every process enqueued every process's keys: one queue
    for rank in range(1, world):
        assert torch.equal(results[rank]['queue'], results[0]['queue'])
        assert results[rank]['ptr'] == results[0]['ptr'] == N
    assert not torch.equal(results[0]['queue'][:N], results[0]['queue_before'][:N])


if __name__ == '__main__':
    for (name, world), (before, after) in measure().items():
        print(f'{name:40s} {world} processes: before {before:.3g}'
              + (f', after {after:.3g}' if after is not None else ''))
