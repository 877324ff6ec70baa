"""Random draws of the data pipeline that do not depend on how many processes load the data.

mmengine seeds each loader worker by its number (``worker_init_fn``: seed + worker id), and a
worker's generators advance with every item it prepares, so the crops, flips and clip starts a
pretraining sees change with ``num_workers`` (and differ again with no workers, where items draw
from the training process's own generators). Here each item draws from generators seeded for
that item alone:

- :class:`SeededInfiniteSampler` streams mmengine's :class:`~mmengine.dataset.InfiniteSampler`
  indices as ``(index, item seed)`` pairs, the seed a function of the sampler's seed and the
  item's position in the stream of all ranks (:func:`item_seed`), so it is the same item seed
  whichever rank, worker or process count prepares it;
- :class:`SeededItems`, a mixin of the harness's datasets, prepares ``dataset[(index, seed)]``
  with the global torch, numpy and ``random`` generators seeded by ``seed``
  (:func:`seeded_generators`) and gives the caller its generators back as they were, so a loader
  without workers leaves the training process's draws (dropout, batched augmentation, key
  shuffles) as they would be with workers.

Every pretraining runs this sampler (``harness/configs/_base_/pretrain_runtime.py``): its
batches are equal with 0, 1 or 8 workers.
"""
from __future__ import annotations

import itertools
import random
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from torch.utils.data import get_worker_info

from harness.errors import ConfigError
from harness.registry import DATA_SAMPLERS


def item_seed(seed: int, position: int) -> int:
    """The seed of the item at ``position`` (0, 1, ...) of a stream seeded by ``seed``: a
    32-bit integer from numpy's ``SeedSequence``, so neighbouring positions get unrelated
    generators."""
    return int(np.random.SeedSequence((seed, position)).generate_state(1)[0])


def seed_generators(seed: int) -> None:
    """Seed the global torch (CPU), numpy and ``random`` generators by ``seed``."""
    torch.default_generator.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@contextmanager
def seeded_generators(seed: int) -> Iterator[None]:
    """Within the block, the global generators are seeded by ``seed`` (:func:`seed_generators`);
    after it, each is back in the state it had before."""
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    seed_generators(seed)
    try:
        yield
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def unseeded_dataset(dataset: type) -> str | None:
    """Why ``SeededInfiniteSampler`` cannot serve the dataset class ``dataset`` (its items cannot
    take their own seed), or None when it can; the sampler and the config check say this."""
    if issubclass(dataset, SeededItems):
        return None
    return (f'needs a dataset that prepares items under their own seed '
            f'(harness.data.seeding.SeededItems, as VideoListDataset and ImageListDataset do); '
            f'{dataset.__name__} does not: use InfiniteSampler with it')


class SeededItems:
    """Mixin of a dataset (before mmengine's ``BaseDataset`` in the bases): ``dataset[(index,
    seed)]`` is ``dataset[index]`` prepared with the global generators seeded by ``seed``; a
    plain index is served as before. In a loader worker, whose generators serve nothing else,
    they are only seeded (about 20 us an item); in any other process they are given back as
    they were (:func:`seeded_generators`: 0.1 ms more, for numpy's state)."""

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            return super().__getitem__(key)
        index, seed = key
        if get_worker_info() is not None:
            seed_generators(seed)
            return super().__getitem__(index)
        with seeded_generators(seed):
            return super().__getitem__(index)


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (the same endless, per-rank stream of indices) yielding
    ``(index, item seed)``: the item at position ``p`` of the stream of all ranks gets
    :func:`item_seed` ``(seed, p)``. Its dataset must take such keys (:class:`SeededItems`)."""

    def __init__(self, dataset, shuffle: bool = True, seed: int | None = None) -> None:
        problem = unseeded_dataset(type(dataset))
        if problem:
            raise ConfigError(f'SeededInfiniteSampler {problem}')
        super().__init__(dataset, shuffle=shuffle, seed=seed)

    def _indices_of_rank(self) -> Iterator[tuple[int, int]]:
        stream = itertools.islice(enumerate(self._infinite_indices()), self.rank, None,
                                  self.world_size)
        for position, index in stream:
            yield index, item_seed(self.seed, position)
