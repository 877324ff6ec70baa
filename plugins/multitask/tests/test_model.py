"""The MultiTask model: the trunk's stages are the backbone's, the exported weights are a fresh
backbone's keys, harmonised inputs are grey, the lasso's penalty and combination by hand, the
loss weights, every named config builds and trains a step, and the joint loss falls."""
from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from harness.data.augment import normalize
from harness.plugins import PluginManager
from harness.registry import MODELS
from harness.testing import assert_trains, build_method_model, random_view_inputs
from harness_multitask.model import MultiTask, as_input, grey
from harness_multitask.plugin import CONFIGS
from harness_multitask.trunk import ResNetStages, StageAdapters, stage_channels

importlib.import_module('harness_backbones.image')  # registers the ResNets
PM = PluginManager()
METHOD = PM.components['method']['multitask'].info


def backbone_info(name):
    return PM.components['backbone'][name].info


def slim_model(**kwargs):
    kwargs = {'hidden_dim': 16, 'embed_dim': 8, **kwargs}
    return MultiTask(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128, **kwargs)


def batch(n=4, size=32, patch=16, target=8, grid_bins=10):
    """Random inputs for every task (as the preprocessor hands them on)."""
    return {
        'relative_position': {
            'patches': torch.randint(0, 256, (n, 2, 3, patch, patch), dtype=torch.uint8),
            'label': torch.randint(0, 8, (n,))},
        'colorization': {
            'lightness': torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8),
            'bins': torch.randint(0, grid_bins, (n, target, target))},
        'exemplar': [torch.randn(n, 3, size, size), torch.randn(n, 3, size, size)],
        'motion': {
            'frame': torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8),
            'mask': (torch.rand(n, target, target) < 0.3).float(),
            'valid': torch.ones(n, target, target, dtype=torch.bool)},
    }


@pytest.mark.parametrize('name', ['harness.ResNet18', 'harness.ResNet18Slim'])
def test_stages_run_the_backbone_itself(name):
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type=name)).eval()
    x = torch.randn(2, 3, 64, 64)
    layer2, layer3, layer4 = ResNetStages(backbone).maps(x, ('layer2', 'layer3', 'layer4'))
    torch.testing.assert_close(layer4, backbone(x))
    assert layer2.shape[-1] == 8 and layer3.shape[-1] == 4 and layer4.shape[-1] == 2
    assert stage_channels(backbone, ('layer3', 'layer4')) == [layer3.shape[1], layer4.shape[1]]
    with pytest.raises(ValueError, match='not a ResNet'):
        ResNetStages(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match='stages must name'):
        ResNetStages(backbone).maps(x, ('layer5',))


def test_exported_weights_have_a_fresh_backbones_keys():
    for name in ('resnet18-slim', 'resnet50'):
        info = backbone_info(name)
        model, _ = build_method_model(METHOD, info, hidden_dim=16)
        exported = model.backbone_state_dict()
        assert list(exported) == list(MODELS.build(dict(info.cfg)).state_dict())
        own = model.backbone.state_dict()
        assert all(torch.equal(exported[key], own[key]) for key in own)
        assert not any(key.startswith(('heads', 'adapters', 'combine')) for key in exported)


def test_inputs_are_normalised_and_grey_is_the_luma():
    """A red uint8 pixel is (1, 0, 0) normalised; its grey is luma 0.2989 on every channel,
    normalised; a one-channel image is repeated."""
    red = torch.zeros(1, 3, 1, 1, dtype=torch.uint8)
    red[:, 0] = 255
    torch.testing.assert_close(as_input(red), normalize(torch.tensor([1.0, 0, 0]).view(
        1, 3, 1, 1)))
    torch.testing.assert_close(grey(as_input(red)), normalize(torch.full((1, 3, 1, 1), 0.2989)),
                               atol=1e-4, rtol=0)
    level = torch.full((1, 1, 2, 2), 51, dtype=torch.uint8)
    torch.testing.assert_close(as_input(level), normalize(torch.full((1, 3, 2, 2), 0.2)))


def test_harmonize_makes_every_input_grey_and_relative_position_is_always_grey():
    inputs = batch()

    def unnormalised(x):
        std = x.new_tensor((0.229, 0.224, 0.225)).view(3, 1, 1)
        mean = x.new_tensor((0.485, 0.456, 0.406)).view(3, 1, 1)
        return x * std + mean

    def is_grey(x):
        x = unnormalised(x)
        return torch.allclose(x[..., 0, :, :], x[..., 1, :, :], atol=1e-5) and \
            torch.allclose(x[..., 1, :, :], x[..., 2, :, :], atol=1e-5)

    plain, harmonised = slim_model(), slim_model(harmonize=True)
    assert is_grey(plain.task_inputs('relative_position', inputs['relative_position']))
    assert is_grey(plain.task_inputs('colorization', inputs['colorization']))
    assert not is_grey(plain.task_inputs('motion', inputs['motion']))
    assert not is_grey(plain.task_inputs('exemplar', inputs['exemplar']))
    for task in ('relative_position', 'colorization', 'exemplar', 'motion'):
        assert is_grey(harmonised.task_inputs(task, inputs[task])), task


def test_lasso_penalty_and_combination_in_the_model_by_hand():
    """Lasso over layer2-4 with weights starting on layer4: each of the 4 task rows is
    (0, 0, 1), so the penalty is 0.01 * 4 = 0.04. With a task's row set to (0.5, 0.25, 0) its
    head reads 0.5 * adapted layer2 + 0.25 * adapted layer3."""
    torch.manual_seed(0)
    model = slim_model(lasso=True, layers=('layer2', 'layer3', 'layer4'), lasso_strength=0.01)
    model.eval()
    losses = model(batch(), mode='loss')
    assert losses['loss_lasso'].item() == pytest.approx(0.04)
    images = torch.randn(2, 3, 64, 64)
    adapted = model.adapters(ResNetStages(model.backbone).maps(images, model.layers))
    assert all(m.shape == (2, 16, 2, 2) for m in adapted)  # 16 channels, layer4's size
    torch.testing.assert_close(model.task_map(images, 'motion'), adapted[2])
    with torch.no_grad():
        model.combine.weights[model.tasks.index('motion')] = torch.tensor([0.5, 0.25, 0.0])
    torch.testing.assert_close(model.task_map(images, 'motion'),
                               0.5 * adapted[0] + 0.25 * adapted[1])
    assert model(batch())['loss_lasso'].item() == pytest.approx(0.01 * (3 + 0.75))


def test_stage_adapters_standardise_and_pool_to_the_top_size():
    adapters = StageAdapters([4, 8], width=3).train()
    maps = [torch.randn(5, 4, 8, 8) * 7 + 3, torch.randn(5, 8, 2, 2)]
    fine, top = adapters(maps)
    assert fine.shape == top.shape == (5, 3, 2, 2)
    # BN without affine parameters: the 8 x 8 map is standardised, then 4 x 4 blocks averaged
    standard = adapters.adapt[0](maps[0])
    torch.testing.assert_close(standard.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(fine, nn.functional.avg_pool2d(standard, 4))


def test_task_weights_scale_their_loss_and_configuration_errors():
    inputs = batch()
    torch.manual_seed(0)
    plain = slim_model().eval()
    torch.manual_seed(0)
    weighted = slim_model(weights={'motion': 2.0}).eval()
    with torch.no_grad():
        a, b = plain(inputs), weighted(inputs)
    assert float(b['loss_motion']) == pytest.approx(2 * float(a['loss_motion']))
    assert float(b['loss_exemplar']) == pytest.approx(float(a['loss_exemplar']))
    assert 'loss_lasso' not in a
    assert plain(inputs, mode='tensor').shape == (4, 128)
    with pytest.raises(ValueError, match='distinct names'):
        slim_model(tasks=('jigsaw',))
    with pytest.raises(ValueError, match='one trunk stage'):
        slim_model(layers=('layer3', 'layer4'))
    with pytest.raises(ValueError, match='not trained'):
        slim_model(tasks=('motion',), weights={'exemplar': 1.0})
    with pytest.raises(KeyError, match='colorization'):
        slim_model()({'motion': inputs['motion']})
    with pytest.raises(ValueError, match='predict'):
        plain(inputs, mode='predict')


@pytest.mark.parametrize('config', CONFIGS)
def test_every_named_config_builds_and_trains_a_step(config):
    """Each config (joint, lasso, single tasks, paper) with the demo's backbone: one step;
    the single-task configs train exactly their task."""
    torch.manual_seed(0)
    model, cfg = build_method_model(METHOD, backbone_info('resnet18-slim'), config=config,
                                    hidden_dim=16)
    inputs = random_view_inputs(cfg, 2 if config == 'paper' else 4)
    losses = model(inputs)
    if config.endswith('_demo') and config != 'lasso_demo':
        assert set(losses) == {f"loss_{config[:-len('_demo')]}"}
    assert_trains(model, inputs)


def test_the_joint_loss_falls_over_a_few_steps():
    torch.manual_seed(0)
    model = slim_model()
    inputs = batch(n=6)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    totals = []
    for _ in range(25):
        loss = sum(model(inputs).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals.append(loss.item())
    first, last = sum(totals[:3]) / 3, sum(totals[-3:]) / 3
    assert last < 0.7 * first, (first, last)


def test_relative_position_is_learned_where_position_shows_in_the_pixels():
    """Grey ramps (brightness rising to the right and down, slopes drawn per frame, noise on
    top): the neighbour's place shows in its brightness against the centre's, so the sampled
    labels and patches agree with each other exactly when the loss falls well below ln 8."""
    import numpy as np
    from mmengine.dataset import default_collate

    from harness_multitask.sampling import RelativePositionSpec, relative_position_example

    rng = np.random.default_rng(0)
    spec = RelativePositionSpec(patch=20, gap=8, jitter=2)
    rows, cols = np.mgrid[0:80, 0:80].astype(np.float32)

    def ramp():
        level = 40 + 1.2 * rng.uniform(0.5, 1) * cols + 0.6 * rng.uniform(0.5, 1) * rows
        level = np.clip(level + rng.normal(0, 3, level.shape), 0, 255).astype(np.uint8)
        return np.repeat(level[..., None], 3, axis=2)

    torch.manual_seed(0)
    model = slim_model(tasks=('relative_position',), hidden_dim=64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(60):
        batch = {'relative_position': default_collate(
            [relative_position_example(ramp(), spec, rng) for _ in range(16)])}
        loss = model(batch)['loss_relative_position']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 1.4, losses[-10:]  # ln 8 = 2.08
