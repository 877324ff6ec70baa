"""Each pretraining item draws its randomness from generators seeded for it alone
(harness.data.seeding), so a pretraining's batches do not depend on how many loader workers
prepare them, and loading leaves the training process's own generators alone."""
from __future__ import annotations

import random
from importlib import resources

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.runner import Runner

from harness.config import load_pretrain_config
from harness.data.seeding import SeededInfiniteSampler, SeededItems, item_seed, \
    seeded_generators
from harness.engine import config_scope, import_config_modules
from harness.errors import ConfigError
from harness.registry import DATASETS


def draws() -> tuple[float, float, float]:
    return float(torch.rand(())), float(np.random.rand()), random.random()


def test_item_seeds_are_fixed_by_the_stream_seed_and_the_position():
    seeds = [item_seed(7, position) for position in range(1000)]
    assert seeds == [item_seed(7, position) for position in range(1000)]
    assert len(set(seeds)) == 1000
    assert not set(seeds) & {item_seed(8, position) for position in range(1000)}
    assert all(0 <= seed < 2 ** 32 for seed in seeds)


def test_seeded_generators_draw_from_the_seed_and_give_the_callers_state_back():
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    expected = [draws(), draws()]

    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    first = draws()
    with seeded_generators(123):
        inside = draws()
    assert [first, draws()] == expected  # the block drew from its own generators
    with seeded_generators(123):
        assert draws() == inside
    with seeded_generators(124):
        assert all(a != b for a, b in zip(draws(), inside))


def test_an_interrupted_block_gives_the_generators_back_too():
    torch.manual_seed(3)
    expected = torch.rand(())
    torch.manual_seed(3)
    with pytest.raises(RuntimeError), seeded_generators(5):
        raise RuntimeError
    assert torch.rand(()) == expected


class _Draws(SeededItems, BaseDataset):
    """Eight items, each the draws of the three global generators."""

    def load_data_list(self):
        return [{'index': index} for index in range(8)]

    def prepare_data(self, idx):
        return {'index': idx, 'draws': torch.tensor(draws(), dtype=torch.float64)}


class _PlainDraws(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        return draws()


def sampled(sampler, count):
    iterator = iter(sampler)
    return [next(iterator) for _ in range(count)]


def test_the_sampler_pairs_mmengines_stream_with_each_positions_seed():
    from mmengine.dataset import InfiniteSampler

    dataset = _Draws(lazy_init=True)
    pairs = sampled(SeededInfiniteSampler(dataset, shuffle=True, seed=11), 20)
    indices = sampled(InfiniteSampler(dataset, shuffle=True, seed=11), 20)
    assert pairs == [(index, item_seed(11, position))
                     for position, index in enumerate(indices)]


def test_ranks_share_the_single_process_stream_seeds_included(monkeypatch):
    import mmengine.dataset.sampler as mm_sampler

    dataset = _Draws(lazy_init=True)
    whole = sampled(SeededInfiniteSampler(dataset, seed=4), 24)
    for rank in range(3):
        monkeypatch.setattr(mm_sampler, 'get_dist_info', lambda rank=rank: (rank, 3))
        assert sampled(SeededInfiniteSampler(dataset, seed=4), 8) == whole[rank::3]


def test_a_dataset_that_cannot_take_item_seeds_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r'^SeededInfiniteSampler needs a dataset .* '
                                          r'_PlainDraws does not: use InfiniteSampler with it$'):
        SeededInfiniteSampler(_PlainDraws(), seed=0)


def test_a_seeded_item_is_reproducible_and_leaves_the_caller_alone():
    dataset = _Draws()
    torch.manual_seed(0)
    expected = torch.rand(())
    torch.manual_seed(0)
    first = dataset[(3, 99)]
    assert torch.rand(()) == expected
    assert torch.equal(dataset[(3, 99)]['draws'], first['draws'])
    assert dataset[3]['index'] == 3  # a plain index as before


def batches(loader_cfg, count):
    with config_scope({}):  # the harness's scope, as a pretraining builds its loader in
        loader = Runner.build_dataloader(loader_cfg, seed=5)
    iterator = iter(loader)
    out = [next(iterator) for _ in range(count)]
    del iterator, loader
    return out


def loader_cfg(dataset, sampler, workers):
    return dict(batch_size=3, num_workers=workers, persistent_workers=False,
                sampler=dict(type=sampler, shuffle=True),
                collate_fn=dict(type='default_collate'), dataset=dataset)


@pytest.fixture
def draws_dataset():
    DATASETS.register_module(name='_Draws', module=_Draws, force=True)
    yield dict(type='_Draws')
    DATASETS.module_dict.pop('_Draws', None)


def test_batches_are_the_same_with_0_1_or_2_workers(draws_dataset):
    runs = [batches(loader_cfg(draws_dataset, 'harness.SeededInfiniteSampler', workers), 3)
            for workers in (0, 1, 2)]
    for run in runs[1:]:
        for batch, expected in zip(run, runs[0]):
            assert torch.equal(batch['index'], expected['index'])
            assert torch.equal(batch['draws'], expected['draws'])


def test_with_mmengines_own_sampler_the_workers_change_the_draws(draws_dataset):
    """The control: what the seeded sampler fixes (without it, the draws follow the
    worker count)."""
    zero, two = (batches(loader_cfg(draws_dataset, 'InfiniteSampler', workers), 2)
                 for workers in (0, 2))
    assert torch.equal(zero[0]['index'], two[0]['index'])
    assert not torch.equal(zero[0]['draws'], two[0]['draws'])


def test_a_shipped_image_demo_pretraining_sees_the_same_views_with_0_or_2_workers(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(6):
        cv2.imwrite(str(tmp_path / f'{index}.png'), rng.integers(0, 256, (64, 64, 3), np.uint8))
    (tmp_path / 'list.txt').write_text(''.join(f'{index}.png 0\n' for index in range(6)))
    cfg = load_pretrain_config(resources.files('harness_contrastive') / 'configs' /
                               'simclr_demo.py')
    assert cfg.train_dataloader.sampler.type == 'SeededInfiniteSampler'
    import_config_modules(cfg)
    loader = dict(cfg.train_dataloader, batch_size=2)
    loader['dataset'] = dict(loader['dataset'], data_root=str(tmp_path),
                             ann_file=str(tmp_path / 'list.txt'))
    runs = [batches(dict(loader, num_workers=workers, persistent_workers=False), 2)
            for workers in (0, 2)]
    flat = [[tensor for batch in run for tensor in leaves(batch)] for run in runs]
    assert len(flat[0]) == len(flat[1]) > 4
    assert all(torch.equal(a, b) for a, b in zip(*flat))


def leaves(node):
    if isinstance(node, torch.Tensor):
        yield node
    elif isinstance(node, dict):
        for key in sorted(node):
            yield from leaves(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from leaves(item)
