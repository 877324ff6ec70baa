"""The paper config's heads stop at layer3, so the backbone is cut there (its top-level
``backbone_stage``): the export holds only stages the losses train, every evaluator reads layer3,
a whole backbone under heads that stop early is refused, and a partly trained export loaded into
a whole backbone says which modules kept their initialisation."""
from __future__ import annotations

import importlib

import pytest
import torch

from harness.api import EvalRequest
from harness.plugins import PluginManager
from harness.registry import MODELS
from harness.testing import build_method_model, random_view_inputs
from harness_multitask.model import MultiTask

importlib.import_module('harness_backbones.image')  # registers the ResNets
import harness.weights  # noqa: E402,F401  (registers harness.SSLPretrained)

PM = PluginManager()
METHOD = PM.components['method']['multitask'].info
SLIM = PM.components['backbone']['resnet18-slim'].info


def paper_model():
    torch.manual_seed(0)
    return build_method_model(METHOD, SLIM, config='paper', hidden_dim=16)


def test_the_paper_export_holds_exactly_the_stages_its_losses_train():
    model, cfg = paper_model()
    assert cfg.backbone_stage == 'layer3'
    exported = model.backbone_state_dict()
    whole = MODELS.build(dict(SLIM.cfg)).state_dict()
    # the whole network's keys less layer4's, under the same names
    assert list(exported) == [key for key in whole if not key.startswith('net.layer4.')]
    assert len(whole) - len(exported) == 30  # layer4 of a ResNet-18: 2 blocks, 30 tensors
    model.train()
    losses = model(random_view_inputs(cfg, 2))
    sum(losses.values()).backward()
    # every exported parameter is reached by a loss (a zero-initialised residual branch gets a
    # zero gradient at the first step, but a gradient)
    parameters = dict(model.backbone.named_parameters())
    unreached = [key for key in exported if key in parameters and parameters[key].grad is None]
    assert not unreached, unreached[:5]
    assert sum(key in parameters for key in exported) == 45  # stem 3, layer1 12, layer2 and layer3 15 each


def test_a_whole_backbone_under_heads_that_stop_early_is_refused():
    with pytest.raises(ValueError, match=r"goes on to layer4.*backbone_stage='layer3'"):
        MultiTask(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128, layers=('layer3',),
                  hidden_dim=16, embed_dim=8)
    with pytest.raises(ValueError, match='stages must name some of layer1, layer2, layer3'):
        MultiTask(backbone=dict(type='harness.ResNet18Slim', out_stage='layer3'), feat_dim=64,
                  layers=('layer4',), hidden_dim=16, embed_dim=8)


def test_the_evaluators_read_the_trained_stage(tmp_path, capsys):
    """The dry run says which stage the evaluators read; the evaluation request builds the
    backbone up to layer3 (64-d on the demo's resnet18-slim) and the paper export fills it
    completely."""
    from harness.cli import main
    from harness.run import RunOptions, plan_run

    work = tmp_path / 'work'
    assert main(['run', '--method', 'multitask', '--config', 'paper', '--eval', 'imagenet',
                 '--protocol', 'knn', '--dry-run', '--work-dir', str(work)]) == 0
    out = capsys.readouterr().out
    assert ('backbone resnet18-slim-to-layer3 (resnet18-slim cut after layer3, the last stage '
            'the pretraining trains: the evaluators read layer3, 64-d)') in out
    assert "backbone=dict(out_stage='layer3', type='harness.ResNet18Slim')" in out

    plan = plan_run(PM, RunOptions(method='multitask', eval='imagenet', protocol='knn',
                                   config='paper', work_dir=str(work), dry_run=True))
    info = plan.backbone.info
    assert (info.name, info.out_stage, info.cut_from, info.feat_dim) == \
        ('resnet18-slim-to-layer3', 'layer3', 'resnet18-slim', 64)
    model, _ = paper_model()
    path = tmp_path / 'backbone.pth'
    torch.save(model.backbone_state_dict(), path)
    request = EvalRequest(protocol=plan.protocol, backbone=info, backbone_weights=path,
                          dataset=plan.eval_data.dataset, data_root=plan.eval_data.root,
                          work_dir=tmp_path / 'eval', split='val', seed=0)
    evaluated = MODELS.build(request.backbone_config())
    evaluated.init_weights()
    report = evaluated.weight_load_report
    assert report['loaded'] == report['total'] == len(model.backbone_state_dict())
    assert report['missing'] == report['unexpected'] == report['missing_modules'] == []
    with torch.no_grad():
        features = evaluated.eval()(torch.randn(1, 3, 64, 64))
    assert features.shape == (1, 64, 4, 4)  # layer3: 64 channels at stride 16


def test_a_partly_trained_export_in_a_whole_backbone_names_what_kept_its_init(tmp_path):
    from mmengine.logging import MMLogger

    model, _ = paper_model()
    exported = model.backbone_state_dict()
    path = tmp_path / 'backbone.pth'
    torch.save(exported, path)
    whole = MODELS.build(dict(SLIM.cfg, init_cfg=dict(type='harness.SSLPretrained',
                                                      checkpoint=str(path))))
    layer4 = sorted(key for key in whole.state_dict() if key.startswith('net.layer4.'))
    logger = MMLogger.get_current_instance()
    messages = []
    handler = type('Keep', (__import__('logging').Handler,),
                   {'emit': lambda self, record: messages.append(record.getMessage())})()
    logger.addHandler(handler)
    try:
        whole.init_weights()
    finally:
        logger.removeHandler(handler)
    report = whole.weight_load_report
    assert report['total'] == 120 and report['loaded'] == 90 == len(exported)
    assert report['missing'] == layer4 and len(layer4) == 30
    assert report['missing_modules'] == ['net.layer4'] and report['unexpected'] == []
    assert any('loaded 90/120 tensors' in m and
               'missing 30 (left at their initialisation: net.layer4)' in m for m in messages)


def test_the_pretraining_config_takes_only_the_backbone_cut_where_it_says(tmp_path):
    from harness.api import pick_config
    from harness.errors import ConfigError
    from harness.pretrain import build_pretrain_config, config_stage, trained_backbone

    config = pick_config(METHOD.configs, 'paper', 'multitask')[1]
    build = dict(data_root=tmp_path, ann_file=tmp_path / 'list.txt', data_identity={}, seed=0,
                 launcher='none', cfg_options={})
    with pytest.raises(ConfigError, match=r"backbone_stage='layer3' but backbone "
                                          r"'resnet18-slim' goes on past it"):
        build_pretrain_config(config, SLIM, **build)
    cut = trained_backbone(config, SLIM, {})
    cfg = build_pretrain_config(config, cut, **build)
    assert dict(cfg.model.backbone) == {'type': 'harness.ResNet18Slim', 'out_stage': 'layer3'}
    assert cfg.model.feat_dim == 64
    # the pretraining's --cfg-options decide too (a whole backbone then needs heads on layer4)
    assert config_stage(config, {'backbone_stage': 'layer4'}) == 'layer4'
    assert trained_backbone(config, SLIM, {'backbone_stage': 'layer4'}) is SLIM
    demo = pick_config(METHOD.configs, 'demo', 'multitask')[1]
    assert config_stage(demo, {}) is None and trained_backbone(demo, SLIM, {}) is SLIM
