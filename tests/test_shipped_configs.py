"""Every config the installed plugins ship (demo and paper, every method with its default
backbone, every protocol) runs: 2 iterations at batch 2 on demo data, its inputs shrunk only
through its own config keys (:func:`harness.testing.shrink_options`). Also checks what makes a
config honest to override: no top-level variable that nothing reads."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.api import EvalRequest, pick_config
from harness.config import load_pretrain_config
from harness.plugins import PluginManager
from harness.testing import shrink_options

PM = PluginManager()
#: every pretraining method on every kind of data it trains on, with each of its configs
METHODS = [(variant, name) for e in PM.components['method'].values()
           for variant in (e.info, *e.info.also) if variant.pretrains
           for name in variant.configs]
IDS = [f'{m.name}-{n}' if m.modality == 'video' else f'{m.name}-{m.modality}-{n}' for m, n in METHODS]
PROTOCOLS = [(e.info, p, name) for e in PM.components['evaluator'].values()
             for p in e.info.protocols for name in p.configs]
#: Top-level keys mmengine's Runner or the harness reads from a pretraining config.
PRETRAIN_KEYS = {'default_scope', 'custom_imports', 'model', 'train_dataloader', 'train_cfg',
                 'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'default_hooks',
                 'custom_hooks', 'env_cfg', 'log_level', 'log_processor', 'randomness',
                 'model_wrapper_cfg', 'untrained_tensors', 'backbone_stage',
                 'batch_norm', 'paper_batch'}


def test_every_method_and_protocol_ships_demo_and_paper_configs():
    for method, _ in METHODS:  # a reference row (random init) has only its named variants
        assert method.reference or {'demo', 'paper'} <= set(method.configs), method.name
    for evaluator, protocol, _ in PROTOCOLS:
        assert {'demo', 'paper'} <= set(protocol.configs), (evaluator.name, protocol.name)


@pytest.mark.parametrize('method,name', METHODS, ids=IDS)
def test_pretraining_config_has_only_keys_that_are_read_and_passes_the_checks(method, name):
    from harness.checks import check_config
    from harness.conformance import check_method_config

    cfg = load_pretrain_config(pick_config(method.configs, name, method.name)[1])
    assert set(cfg.keys()) <= PRETRAIN_KEYS, set(cfg.keys()) - PRETRAIN_KEYS
    check_config(cfg, 'pretraining config')  # unshrunk: e.g. its loop and sampler agree
    assert cfg.model.backbone.type == PM.get('backbone', method.default_backbone).info.cfg['type']
    # what harness validate checks: merged with the backbone as planning builds it, checked,
    # its model built (no false alarm)
    check_method_config(PM, method, name)


@pytest.mark.slow
@pytest.mark.parametrize('method,name', METHODS, ids=IDS)
def test_pretraining_config_trains_two_iterations(method, name, request, tmp_path):
    from harness import data as datasets
    from harness.pretrain import (build_pretrain_config, check_untrained, plan_pretraining,
                                  pretrain, trained_backbone)

    config = pick_config(method.configs, name, method.name)[1]
    backbone = trained_backbone(config, PM.get('backbone', method.default_backbone).info, {})
    if method.pretrain_kind == 'image':
        small_demo = request.getfixturevalue('small_image_demo')
        split = PM.get('dataset', 'imagenet').info.module().read_split(small_demo, 'val')
    else:
        small_demo = request.getfixturevalue('small_demo')
        split = PM.get('dataset', 'ucf101').info.module().read_split(small_demo, '1')
    ann_file = datasets.annotation_list(tmp_path, 'train', split.train)
    build = dict(data_root=small_demo, ann_file=ann_file, seed=0, launcher='none',
                 data_identity={'files_sha256': datasets.list_sha256(split.train)})
    full = build_pretrain_config(config, backbone, cfg_options={}, **build)
    cfg = build_pretrain_config(config, backbone, cfg_options=shrink_options(full), **build)
    job = plan_pretraining(cfg, tmp_path, method.name, backbone.name, versions={})
    result = pretrain(job, resume=False)
    assert result.iters == 2 and result.checkpoint_sha256
    # two steps move every exported tensor but those the config says stay as initialised
    check_untrained(result, cfg)


#: each evaluator is smoke-tested on a small demo of its dataset (fixtures of tests/conftest.py;
#: every video protocol reads the UCF101 layout's smallest demo, one train video per class),
#: with the backbone of its data kind or the one a config's detector family needs
SMOKE_DATA = {'ucf101': 'tiny_demo', 'hmdb51': 'tiny_demo', 'imagenet': 'small_image_demo',
              'voc07': 'small_voc07_demo', 'coco': 'small_coco_demo',
              'nyuv2': 'small_nyuv2_demo'}
SMOKE_BACKBONE = {'video': 'r3d18', 'image': 'resnet18'}
CONFIG_BACKBONE = {'vgg16_paper': 'vgg16'}


def smoke_dataset(evaluator) -> str:
    return 'ucf101' if evaluator.modality == 'video' else evaluator.dataset


def eval_request(evaluator, protocol, name, data_root, tmp_path, cfg_options=None):
    backbone = PM.get('backbone', CONFIG_BACKBONE.get(name, SMOKE_BACKBONE[evaluator.modality])).info
    return EvalRequest(
        protocol=protocol, backbone=backbone, backbone_weights=None,
        dataset=PM.get('dataset', smoke_dataset(evaluator)).info, data_root=data_root,
        work_dir=tmp_path / 'eval', split=evaluator.splits[0], seed=0,
        cfg_options=cfg_options or {}, imports=backbone.imports,
        cache_dir=tmp_path / 'features', config=pick_config(protocol.configs, name,
                                                            protocol.name)[1])


#: every protocol config but the demo ones, which tests/test_null_pretraining.py runs (twice)
NON_DEMO_PROTOCOLS = [(e, p, n) for e, p, n in PROTOCOLS if n != 'demo']


@pytest.mark.slow
@pytest.mark.parametrize('evaluator,protocol,name', NON_DEMO_PROTOCOLS,
                         ids=[f'{e.name}-{p.name}-{n}' for e, p, n in NON_DEMO_PROTOCOLS])
def test_protocol_config_evaluates_on_demo_data(evaluator, protocol, name, request, tmp_path):
    from harness.config import load_eval_config
    from harness.evaluate import evaluate

    data_root = request.getfixturevalue(SMOKE_DATA[smoke_dataset(evaluator)])
    full = load_eval_config(eval_request(evaluator, protocol, name, data_root, tmp_path))
    request = eval_request(evaluator, protocol, name, data_root, tmp_path,
                           shrink_options(full))
    result = evaluate(request)
    assert protocol.metrics[0] in result.metrics and set(result.metrics) <= set(protocol.metrics)
    assert result.settings


@pytest.mark.slow
def test_a_method_config_runs_under_plain_mmengine(small_demo, tmp_path):
    """Without the harness's runner: the merged config (what `harness run --dry-run` prints,
    the method's config over its runtime base) written to a file and trained by mmengine's own
    Runner with the config's own custom_imports (in a fresh process, so nothing the tests
    imported helps)."""
    import subprocess
    import sys

    from harness import data as datasets
    from harness.pretrain import build_pretrain_config

    split = PM.get('dataset', 'ucf101').info.module().read_split(small_demo, '1')
    ann_file = datasets.annotation_list(tmp_path, 'train', split.train)
    config = pick_config(PM.get('method', 'brave').info.configs, 'demo', 'brave')[1]
    backbone = PM.get('backbone', 'r3d18').info
    build = dict(data_root=small_demo, ann_file=ann_file, seed=0, launcher='none',
                 data_identity={'files_sha256': datasets.list_sha256(split.train)})
    full = build_pretrain_config(config, backbone, cfg_options={}, **build)
    merged = tmp_path / 'brave_demo_merged.py'
    build_pretrain_config(config, backbone, cfg_options=shrink_options(full), **build).dump(merged)
    code = f'''
from mmengine.config import Config
from mmengine.runner import Runner
from harness.compat import allow_mmengine_checkpoints
allow_mmengine_checkpoints()
cfg = Config.fromfile({str(merged)!r})
cfg.work_dir = {str(tmp_path / 'plain')!r}
Runner.from_cfg(cfg).train()
print('trained')
'''
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0 and 'trained' in result.stdout, result.stderr[-2000:]
