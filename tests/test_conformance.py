"""Checks every registered method and backbone gets for free (timm's tests/test_models.py):
one training step of each pretraining method on each backbone of its kind, each backbone's output
width against its registration, and each video backbone inside mmaction2's Recognizer3D."""
from __future__ import annotations

import pytest
import torch

from harness.plugins import PluginManager
from harness.testing import assert_trains, build_method_model, random_view_inputs

PM = PluginManager()
#: every pretraining method (the reference rows train nothing: plugins/random/tests)
METHODS = [variant for e in PM.components['method'].values()
           for variant in (e.info, *e.info.also) if variant.pretrains and not variant.reference]
BACKBONES = [e.info for e in PM.components['backbone'].values()]
PAIRS = [(m, b) for m in METHODS for b in BACKBONES
         if b.modality == m.modality and m.trains(b.name)]
#: the backbones slowest to build and step on a CPU (1-4 s a pair); their pairs run with the
#: whole suite, not in the fast set, except with the method's own default backbone
SLOW_BACKBONES = {'vit-b16', 'vgg16', 'resnet50', 'r2plus1d18'}


@pytest.mark.parametrize('method,backbone', [
    pytest.param(m, b, id=f'{m.name}-{b.name}',
                 marks=[pytest.mark.slow] if b.name in SLOW_BACKBONES
                 and b.name != m.default_backbone else [])
    for m, b in PAIRS])
def test_method_trains_one_step_on_backbone(method, backbone):
    torch.manual_seed(0)
    model, cfg = build_method_model(method, backbone, hidden_dim=32)
    assert_trains(model, random_view_inputs(cfg))
    exported = model.backbone_state_dict()
    assert exported and all(torch.is_tensor(v) for v in exported.values())


EXPORTING = [m for m in METHODS if 'demo' in m.configs]


@pytest.mark.parametrize('method', EXPORTING,
                         ids=[f'{m.name}-{m.modality}' for m in EXPORTING])
def test_method_export_loads_into_its_backbone_with_nothing_missing(method):
    """harness validate's export check: backbone_state_dict() of the demo model loads into its
    default backbone, every tensor present and none left over."""
    from harness.conformance import check_export

    assert check_export(PM, method).endswith(f'load into {method.default_backbone}')


VIDEO_BACKBONES = [b for b in BACKBONES if b.modality == 'video']


@pytest.mark.parametrize('backbone', VIDEO_BACKBONES, ids=[b.name for b in VIDEO_BACKBONES])
def test_video_backbone_in_mmaction_recognizer(backbone):
    import importlib

    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS as MMACTION_MODELS
    from mmaction.structures import ActionDataSample

    for module in backbone.imports:
        importlib.import_module(module)
    with DefaultScope.overwrite_default_scope('mmaction'):  # the other tests keep theirs
        model = MMACTION_MODELS.build(dict(
            type='Recognizer3D', backbone=dict(backbone.cfg),
            cls_head=dict(type='I3DHead', num_classes=3, in_channels=backbone.feat_dim),
            data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    clips = torch.randn(2, 1, 3, 8, 32, 32)
    samples = [ActionDataSample().set_gt_label(i) for i in (0, 2)]
    losses = model(clips, samples, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.parameters())


@pytest.mark.parametrize('backbone', BACKBONES, ids=[b.name for b in BACKBONES])
def test_backbone_outputs_the_width_its_registration_states(backbone):
    """BackboneInfo.feat_dim is the one statement of a backbone's width (the harness sets every
    method's and evaluator's feat_dim from it): the network's output channels match it, and the
    network does not state it again."""
    from harness.conformance import check_backbone_width
    from harness.registry import MODELS

    assert check_backbone_width(backbone) == backbone.feat_dim
    assert not hasattr(MODELS.build(dict(backbone.cfg)), 'feat_dim'), backbone.name


@pytest.mark.parametrize('backbone', BACKBONES, ids=[b.name for b in BACKBONES])
def test_transferred_weights_survive_the_init_an_evaluator_runs(backbone):
    """An evaluator builds the backbone with init_cfg=harness.SSLPretrained and mmengine calls
    init_weights(): what the backbone holds afterwards must be the transferred weights, not a
    fresh initialisation of some submodule (harness validate's backbone check)."""
    from harness.conformance import check_backbone_keeps_weights
    from harness.registry import MODELS

    assert check_backbone_keeps_weights(backbone) == \
        len(MODELS.build(dict(backbone.cfg)).state_dict())


STAGED = [(b, stage) for b in BACKBONES for stage in b.stages]


@pytest.mark.parametrize('backbone,stage', STAGED, ids=[f'{b.name}-{s}' for b, s in STAGED])
def test_a_backbone_cut_after_a_stage_ends_there(backbone, stage):
    """BackboneInfo.stages: the network built with ``out_stage`` outputs that stage's stated
    channels, holds the whole network's tensors up to that stage under the same names and no
    tensor of a later stage; the cut's description says so."""
    import importlib

    from harness.registry import MODELS

    for module in backbone.imports:
        importlib.import_module(module)
    cut = backbone.up_to(stage)
    if stage == list(backbone.stages)[-1]:
        assert cut is backbone and backbone.stages[stage] == backbone.feat_dim
        return
    assert (cut.name, cut.out_stage, cut.cut_from, cut.registered_name) == \
        (f'{backbone.name}-to-{stage}', stage, backbone.name, backbone.name)
    assert cut.feat_dim == backbone.stages[stage] and dict(cut.cfg)['out_stage'] == stage
    torch.manual_seed(0)
    whole = MODELS.build(dict(backbone.cfg)).state_dict()
    net = MODELS.build(dict(cut.cfg)).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 64)).shape[1] == cut.feat_dim
    later = set(list(backbone.stages)[list(backbone.stages).index(stage) + 1:])
    assert later and list(net.state_dict()) == [key for key in whole
                                                if not set(key.split('.')) & later]
    assert cut.up_to(stage) is cut


def test_a_cut_names_a_stage_the_backbone_has():
    from harness.api import BackboneInfo
    from harness.errors import ConfigError

    info = BackboneInfo('net', 'a net', 'image', {'type': 'X'}, 8, stages={'a': 4, 'b': 8})
    assert info.up_to(None) is info and info.up_to('b') is info
    cut = info.up_to('a')
    assert (dict(cut.cfg), cut.feat_dim, dict(cut.stages), cut.name) == \
        ({'type': 'X', 'out_stage': 'a'}, 4, {'a': 4}, 'net-to-a')
    with pytest.raises(ConfigError, match=r"'c': backbone 'net' has no such stage \(its "
                                          r'stages: a, b\)'):
        info.up_to('c')
    with pytest.raises(ConfigError, match='its stages: none: it cannot be cut'):
        BackboneInfo('vit', '', 'image', {'type': 'V'}, 8).up_to('a')
    with pytest.raises(ConfigError, match="ends at a already"):
        cut.up_to('b')


def test_the_model_and_its_sampler_build_in_the_configs_scope_whatever_scope_is_current():
    """A test that ran a detection model before leaves mmdet's scope current in its process
    (an xdist worker): the helpers build in the config's scope, as the Runner does."""
    from mmengine.registry import DefaultScope

    import mmdet.registry  # noqa: F401  (makes the mmdet scope known)

    method = PM.get('method', 'multitask').info
    with DefaultScope.overwrite_default_scope('mmdet'):
        model, cfg = build_method_model(method, PM.get('backbone', 'resnet18-slim').info,
                                        config='colorization_demo', hidden_dim=16)
        inputs = random_view_inputs(cfg, 2)
    assert set(model(inputs)) == {'loss_colorization'}
