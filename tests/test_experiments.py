"""The experiment scripts' own logic (their end-to-end runs are minutes of training)."""
from __future__ import annotations

import importlib.util

import pytest

from harness.data.splits import DataItem
from tests.conftest import REPO


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / 'experiments' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_signal_label_subsets_are_disjoint_and_balanced():
    demo_signal = load('demo_signal')
    train = [DataItem(f'c{label}/v{i}.avi', label) for label in range(3) for i in range(7)]
    subsets = demo_signal.label_subsets(train, labels=3, subsets=2)
    assert [len(s) for s in subsets] == [9, 9]
    assert not set(subsets[0]) & set(subsets[1])
    for subset in subsets:
        assert sorted(item.label for item in subset) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [item.path for item in subsets[1] if item.label == 0] == \
        ['c0/v3.avi', 'c0/v4.avi', 'c0/v5.avi']
    with pytest.raises(SystemExit, match='need 8 train videos per class'):
        demo_signal.label_subsets(train, labels=4, subsets=2)


def test_demo_signal_effective_dimension_counts_the_directions_features_use():
    import torch

    demo_signal = load('demo_signal')
    torch.manual_seed(0)
    isotropic = torch.randn(20000, 4)
    assert demo_signal.effective_dimension(isotropic) == pytest.approx(4.0, rel=0.01)
    on_a_line = torch.randn(1000, 1) * torch.tensor([[1.0, -2.0, 3.0]]) + \
        1e-4 * torch.randn(1000, 3)
    assert demo_signal.effective_dimension(on_a_line) == pytest.approx(1.0, abs=0.01)


def test_sim_views_adds_its_option_to_the_one_cfg_options_list():
    sim_views = load('sim_views')
    assert sim_views.with_option([], 'model.target_view=same') == \
        ['--cfg-options', 'model.target_view=same']
    assert sim_views.with_option(['--cfg-options', 'train_cfg.max_iters=5', '--amp', 'bf16'],
                                 'model.target_view=same') == \
        ['--cfg-options', 'model.target_view=same', 'train_cfg.max_iters=5', '--amp', 'bf16']
