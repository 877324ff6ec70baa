"""Shuffle-BN and the shared queue of MoCo-style methods under distributed data parallel.

With BatchNorm computed per process, a key encoder that sees the same samples as the query
encoder could use the batch statistics to find the positive ("cheat"); MoCo therefore shuffles
the key batch across processes before the key encoder and restores the order after it
(:func:`shuffle_across_processes` / :func:`unshuffle_across_processes`). The keys every process
computed are enqueued by all (:func:`gather_all`), so the processes' queues stay identical.
In-batch contrastive losses take the other processes' samples as negatives
(:func:`gather_others`). In a single process there is no other process to shuffle with or
gather from.
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


def gather_others(tensor: Tensor) -> Tensor | None:
    """The tensors of all other processes, concatenated in rank order (no gradient): extra
    negatives for in-batch contrastive losses (SimCLR, MoCo v3). None in a single process."""
    if dist.get_world_size() == 1:
        return None
    shares = dist.all_gather(tensor.detach().contiguous())
    return torch.cat([share for rank, share in enumerate(shares) if rank != dist.get_rank()])


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
