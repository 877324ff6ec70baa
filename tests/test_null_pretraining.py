"""The null test of the pretrain-to-evaluate path: a pretraining that moves nothing exports the
random initialisation, and every protocol must then give the random row's metrics.

The exported weights of a pretraining that moves nothing are the backbone as initialised under
the run's seed (``random --config bn_calibrated`` at zero steps exports exactly these: see
plugins/random/tests). Loaded through the evaluator's weight path (``harness.SSLPretrained``:
key mapping, init order, BatchNorm buffers), they must reproduce the random row exactly, in the
protocols on frozen features and in those that train a head or the whole network alike (loading
weights instead of running the backbone's own initialisation must not shift the random stream
that the heads' initialisation and the data order draw from)."""
from __future__ import annotations

import importlib

import pytest
import torch

from tests.test_shipped_configs import (PM, SMOKE_DATA, eval_request, smoke_dataset)

#: every protocol's demo config
DEMO_PROTOCOLS = [(e.info, p) for e in PM.components['evaluator'].values()
                  for p in e.info.protocols if 'demo' in p.configs]


def null_weights(backbone, seed: int, path):
    """The weights a pretraining that moves nothing exports: the backbone built and
    initialised right after ``seed`` is set."""
    from mmengine.runner import set_random_seed

    from harness.registry import MODELS

    for module in backbone.imports:
        importlib.import_module(module)
    set_random_seed(seed)
    net = MODELS.build(dict(backbone.cfg))
    net.init_weights()
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize('evaluator,protocol', DEMO_PROTOCOLS,
                         ids=[f'{e.name}-{p.name}' for e, p in DEMO_PROTOCOLS])
def test_null_pretraining_gives_the_random_rows_metrics(evaluator, protocol, request, tmp_path):
    from dataclasses import replace

    from harness.config import load_eval_config
    from harness.evaluate import evaluate
    from harness.testing import shrink_options

    data_root = request.getfixturevalue(SMOKE_DATA[smoke_dataset(evaluator)])
    full = load_eval_config(eval_request(evaluator, protocol, 'demo', data_root, tmp_path))
    random_row = eval_request(evaluator, protocol, 'demo', data_root, tmp_path / 'random',
                              shrink_options(full))
    weights = null_weights(random_row.backbone, random_row.seed, tmp_path / 'null.pth')
    null_row = replace(random_row, backbone_weights=weights, work_dir=tmp_path / 'null' / 'eval',
                       cache_dir=tmp_path / 'null' / 'features')
    expected, got = evaluate(random_row), evaluate(null_row)
    # the demo config runs (tests/test_shipped_configs.py runs every other config)
    assert protocol.metrics[0] in expected.metrics
    assert set(expected.metrics) <= set(protocol.metrics) and expected.settings
    # every exported tensor went into the model (a detector's new parts, e.g. a C4 head's extra
    # BatchNorm, are the only ones missing)
    assert got.weights['loaded'] > 0 and got.weights['unexpected'] == []
    assert got.metrics == expected.metrics
