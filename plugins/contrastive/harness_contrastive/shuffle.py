"""Shuffle-BN and the shared queue of MoCo-style methods under distributed data parallel, and
a substitute for shuffle-BN in a single process.

With BatchNorm computed per process, a key encoder that sees the same samples as the query
encoder could use the batch statistics to find the positive ("cheat"); MoCo therefore shuffles
the key batch across processes before the key encoder and restores the order after it
(:func:`shuffle_across_processes` / :func:`unshuffle_across_processes`). The keys every process
computed are enqueued by all (:func:`gather_all`), so the processes' queues stay identical.
In-batch contrastive losses take the other processes' samples as negatives
(:func:`gather_others`; with their gradient where the negatives are trained,
:func:`gather_with_gradient`).

In a single process there is no other process to shuffle with. The substitute
(:func:`query_groups`, :func:`key_groups`) splits the batch as G processes would hold it: the
query encoder normalises each of G contiguous sub-batches on its own, and the key encoder G
other sub-batches, each of which takes an equal share of every query sub-batch. This is what
MoCo's shuffle-BN does over G processes of batch / G samples each (per-process BN, keys
shuffled between processes), not a synchronised BN, and its BN batches are G times smaller
than the whole batch.
"""
from __future__ import annotations

import torch
from mmengine import dist
from torch import Tensor


def gather_all(tensor: Tensor) -> Tensor:
    """The tensors of all processes concatenated in rank order (no gradient)."""
    if dist.get_world_size() == 1:
        return tensor
    return torch.cat(dist.all_gather(tensor.detach().contiguous()))


class _GatherWithGradient(torch.autograd.Function):
    """All-gather whose backward pass returns to each process the gradient that every
    process's loss sends to its share (summed over the processes)."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        ctx.rank, ctx.rows = dist.get_rank(), len(tensor)
        return torch.cat(dist.all_gather(tensor.contiguous()))

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op='sum')
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def gather_with_gradient(tensor: Tensor) -> Tensor:
    """The tensors of all processes concatenated in rank order, differentiable: the gradient
    reaching a process's share is the sum over the processes of what their losses send it
    (SimCLR's ``tpu_cross_replica_concat``, google-research/simclr ``objective.py``, whose
    backward is a cross-replica sum). With each process's loss averaged over its own
    anchors and DDP averaging gradients, the parameters get the gradient of the loss averaged
    over the whole batch. Every process's tensor must have the same shape."""
    if dist.get_world_size() == 1:
        return tensor
    return _GatherWithGradient.apply(tensor)


def gather_others(tensor: Tensor, with_gradient: bool = False) -> Tensor | None:
    """The tensors of all other processes, concatenated in rank order: extra negatives for
    in-batch contrastive losses. ``with_gradient``: through :func:`gather_with_gradient`
    (SimCLR, whose negatives are trained), else without gradient (MoCo v3's keys). None in a
    single process."""
    if dist.get_world_size() == 1:
        return None
    rank = dist.get_rank()
    if with_gradient:
        whole, rows = gather_with_gradient(tensor), len(tensor)
        return torch.cat([whole[:rank * rows], whole[(rank + 1) * rows:]])
    shares = dist.all_gather(tensor.detach().contiguous())
    return torch.cat([share for index, share in enumerate(shares) if index != rank])


def shuffle_across_processes(batch: Tensor) -> tuple[Tensor, Tensor | None]:
    """This process's share of the whole batch in a random order drawn by rank 0, and the
    permutation (for :func:`unshuffle_across_processes`). Every process's batch must have the
    same size."""
    if dist.get_world_size() == 1:
        return batch, None
    whole = gather_all(batch)
    order = torch.randperm(len(whole), device=batch.device)
    dist.broadcast(order, src=0)
    share = order.view(dist.get_world_size(), -1)[dist.get_rank()]
    return whole[share], order


def unshuffle_across_processes(encoded: Tensor, order: Tensor | None) -> Tensor:
    """The rows of this process's original batch, back from the shuffled encoding."""
    if order is None:
        return encoded
    whole = gather_all(encoded)
    restore = torch.argsort(order).view(dist.get_world_size(), -1)[dist.get_rank()]
    return whole[restore]


def query_groups(count: int, groups: int) -> list[Tensor]:
    """The rows of a batch of ``count`` split into ``groups`` contiguous sub-batches (sizes
    differing by at most 1, as ``Tensor.tensor_split``): the sub-batches whose BN statistics
    the query encoder computes apart, as ``groups`` processes would each hold one."""
    return list(torch.arange(count).tensor_split(groups))


def key_groups(count: int, groups: int, generator: torch.Generator | None = None
               ) -> list[Tensor]:
    """A random partition of the rows of a batch of ``count`` into ``groups`` key sub-batches
    that deals every query sub-batch (:func:`query_groups`) out evenly: the rows of each query
    sub-batch, in a random order, are dealt in turn to the key sub-batches like cards. Each
    key sub-batch therefore takes the same number of rows (within one) from every query
    sub-batch, and with ``2 <= groups <= count / 2`` none lies within one query sub-batch.
    When ``groups**2`` divides ``count`` it takes exactly ``count / groups**2`` rows of each:
    a key's BN statistics share ``1 / groups`` of their samples with those of its query, the
    share MoCo's random shuffle over ``groups`` processes gives on average."""
    order = torch.cat([rows[torch.randperm(len(rows), generator=generator)]
                       for rows in query_groups(count, groups)])
    dealt = torch.arange(count) % groups
    return [order[dealt == group] for group in range(groups)]
