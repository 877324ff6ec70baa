"""Across two real (gloo) processes: shuffle-BN mixes the key batch across processes and brings
it back in order, every process enqueues every process's keys, and SimCLR takes the other
process's views as negatives, with the gradient of the whole batch's loss."""
from __future__ import annotations

import torch
import torch.distributed as torch_dist

from harness.testing import run_two_processes
from harness_contrastive.shuffle import (gather_all, gather_others, shuffle_across_processes,
                                         unshuffle_across_processes)


def _worker(rank: int, port: int, results) -> None:
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    torch.manual_seed(rank)
    batch = torch.arange(8.0).view(4, 2) + 100 * rank  # rows 0..3 of rank 0, 100.. of rank 1
    shuffled, order = shuffle_across_processes(batch)
    encoded = shuffled * 2  # a row-wise "encoder"
    results[rank] = dict(shuffled=shuffled, back=unshuffle_across_processes(encoded, order),
                         batch=batch, gathered=gather_all(batch), others=gather_others(batch))
    torch_dist.destroy_process_group()


def test_shuffle_across_two_processes_round_trips():
    results = run_two_processes(_worker, start_method='fork')
    both = torch.cat([results[0]['batch'], results[1]['batch']])
    for rank in (0, 1):
        assert torch.equal(results[rank]['back'], results[rank]['batch'] * 2)
        assert torch.equal(results[rank]['gathered'], both)
        assert torch.equal(results[rank]['others'], results[1 - rank]['batch'])
    # the two shares partition the whole batch, and some rows changed process
    shares = torch.cat([results[0]['shuffled'], results[1]['shuffled']])
    assert sorted(shares[:, 0].tolist()) == sorted(both[:, 0].tolist())
    assert not torch.equal(results[0]['shuffled'], results[0]['batch'])


def test_one_process_is_the_identity():
    batch = torch.randn(3, 2)
    shuffled, order = shuffle_across_processes(batch)
    assert shuffled is batch and order is None
    assert unshuffle_across_processes(batch, order) is batch and gather_all(batch) is batch
    assert gather_others(batch) is None


class _Identity(torch.nn.Module):
    def forward(self, x):
        return x


def _simclr_worker(rank: int, port: int, results) -> None:
    from harness_contrastive.models import SimCLR

    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    model = SimCLR.__new__(SimCLR)  # no backbone: the views are the projections
    torch.nn.Module.__init__(model)
    model.backbone, model.projector, model.temperature = _Identity(), _Identity(), 0.5
    generator = torch.Generator().manual_seed(rank)
    view1, view2 = torch.randn(3, 4, generator=generator), torch.randn(3, 4, generator=generator)
    results[rank] = dict(loss=model.two_view_loss(view1, view2), views=torch.cat([view1, view2]))
    torch_dist.destroy_process_group()


def test_simclr_takes_the_other_processes_views_as_negatives():
    from harness_contrastive.losses import nt_xent

    results = run_two_processes(_simclr_worker, start_method='fork')
    for rank in (0, 1):
        own, other = results[rank]['views'], results[1 - rank]['views']
        expected = nt_xent(own[:3], own[3:], 0.5, other)
        assert torch.allclose(results[rank]['loss'], expected)
        assert not torch.allclose(expected, nt_xent(own[:3], own[3:], 0.5))


def _simclr_views(rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s two views of 3 images (4-d projections, float64), the same on every
    process that asks."""
    generator = torch.Generator().manual_seed(10 + rank)
    return (torch.randn(3, 4, generator=generator, dtype=torch.float64),
            torch.randn(3, 4, generator=generator, dtype=torch.float64))


def _simclr_gradient_worker(rank: int, port: int, results) -> None:
    from harness_contrastive.models import SimCLR

    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    model = SimCLR.__new__(SimCLR)  # no backbone, no projector: the views are the projections
    torch.nn.Module.__init__(model)
    model.backbone, model.projector, model.temperature = _Identity(), _Identity(), 0.5
    view1, view2 = (view.requires_grad_() for view in _simclr_views(rank))
    loss = model.two_view_loss(view1, view2)
    loss.backward()
    results[rank] = dict(loss=loss.detach(), grad1=view1.grad, grad2=view2.grad)
    torch_dist.destroy_process_group()


def test_simclr_gradient_across_processes_is_the_whole_batch_gradient():
    """Each process's loss covers its own 6 anchors (against all 12 views); DDP averages the
    processes' gradients. So (gradient that reaches process r's projections) / 2 must equal the
    gradient of the NT-Xent of the whole batch (12 anchors, one process) with respect to them.
    A gather without gradient misses what the other process's anchors send back."""
    from harness_contrastive.losses import nt_xent

    results = run_two_processes(_simclr_gradient_worker, start_method='fork')
    views = [[view.clone().requires_grad_() for view in _simclr_views(rank)] for rank in (0, 1)]
    whole = nt_xent(torch.cat([views[0][0], views[1][0]]), torch.cat([views[0][1], views[1][1]]),
                    0.5)
    whole.backward()
    # the whole batch's loss is the mean of the two processes' losses
    assert torch.allclose((results[0]['loss'] + results[1]['loss']) / 2, whole.detach(),
                          atol=1e-12)
    for rank in (0, 1):
        for index in (0, 1):
            expected = views[rank][index].grad
            got = results[rank][f'grad{index + 1}'] / 2
            assert torch.allclose(got, expected, rtol=0, atol=1e-6), (rank, index, got, expected)
