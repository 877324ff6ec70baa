"""Hooks the configs name: the cosine schedule of a target network's EMA rate."""
from __future__ import annotations

import types

import pytest

from harness.hooks import CosineMomentumHook, cosine_momentum


def test_cosine_momentum_hand_values():
    assert cosine_momentum(0.99, 1.0, 0, 100) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 1.0, 50, 100) == pytest.approx(0.995)
    assert cosine_momentum(0.99, 1.0, 25, 100) == pytest.approx(1 - 0.01 * (2 ** 0.5 / 2 + 1) / 2)
    assert cosine_momentum(0.99, 1.0, 100, 100) == pytest.approx(1.0)
    assert cosine_momentum(0.99, 1.0, 150, 100) == pytest.approx(1.0)  # held past the end


def test_hook_sets_the_models_momentum_from_its_own_start():
    model = types.SimpleNamespace(momentum=0.996)
    runner = types.SimpleNamespace(model=model, iter=0, max_iters=10)
    hook = CosineMomentumHook(end=1.0)
    hook.before_train(runner)
    seen = []
    for step in range(11):
        runner.iter = step
        hook.before_train_iter(runner, step)
        seen.append(model.momentum)
    assert seen[0] == pytest.approx(0.996) and seen[-1] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(seen, seen[1:]))
