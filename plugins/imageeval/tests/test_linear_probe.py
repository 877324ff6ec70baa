"""The imagenet evaluator's ``linear`` protocol: the frozen backbone, the head, the data
preprocessor, the configs, and end-to-end runs through mmengine's Runner."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn
from torch.utils.data import default_collate

import harness_backbones.image  # noqa: F401  (registers harness.ResNet18Slim)
from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo, resolve_config
from harness.data.images import prepare_image
from harness.data.splits import DataItem
from harness.evaluate import evaluate
from harness.data.views import ViewSpec
from harness.registry import MODELS
from harness_imageeval.linear import (HeadOptimWrapperConstructor, LinearHead, LinearProbe,
                                      Linear, ProbePreprocessor, top_ks)

CONFIGS = {name: f'harness_imageeval:configs/linear_{name}.py'
           for name in ('demo', 'paper', 'lars_paper', 'vit_paper')}
PROTOCOL = ProtocolInfo('linear', '1', '', configs=CONFIGS, metrics=('top1', 'top5'),
                        implementation='harness_imageeval.linear:Linear')
IMAGENET = DatasetInfo('imagenet', '', 'image', 'harness_imagedata.imagenet')
SLIM = BackboneInfo('resnet18-slim', '', 'image', {'type': 'harness.ResNet18Slim'}, 128,
                    imports=('harness_backbones.image',))
NORMALISE = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                 std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
AUGMENT = dict(scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=0.0, grayscale=0.0)


@MODELS.register_module(name='LinearProbeTestPixels', force=True)
class Pixels(nn.Module):
    """A 'backbone' whose feature map is the image itself: pooled, the features are the mean
    normalised colour (3-d), so solid-colour classes are linearly separable."""

    def forward(self, x):
        return x


def probe(head=None, num_classes=5) -> LinearProbe:
    torch.manual_seed(0)
    return LinearProbe(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128,
                       num_classes=num_classes, head=head,
                       data_preprocessor=dict(type='harness.ProbePreprocessor', images=NORMALISE))


def training_batch(n=4, size=32, seed=0) -> dict:
    """A training batch as SampleImageViews + PackInputs + default_collate hand it on."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    spec = ViewSpec(frames=1, size=size, decode_size=size + 4, augment=AUGMENT)
    return default_collate([
        {'inputs': {'image': prepare_image(rng.integers(0, 256, (40, 48, 3), np.uint8), spec)},
         'label': i % 5} for i in range(n)])


# ---------------------------------------------------------------------------- the model


def test_head_init_is_mocos_normal_or_maes_truncated_normal_with_zero_bias():
    torch.manual_seed(0)
    head = LinearHead(1024, 500)
    assert isinstance(head.bn, nn.Identity)
    weight = head.fc.weight.detach()
    assert abs(float(weight.std()) - 0.01) < 2e-4
    assert abs(float(weight.mean())) < 1e-4
    assert torch.equal(head.fc.bias, torch.zeros(500))
    head = LinearHead(1024, 500, batchnorm=True, init='trunc_normal', std=0.01)
    assert isinstance(head.bn, nn.BatchNorm1d) and not head.bn.affine and head.bn.eps == 1e-6
    assert abs(float(head.fc.weight.detach().std()) - 0.01) < 2e-4
    assert torch.equal(head.fc.bias, torch.zeros(500))
    with pytest.raises(ValueError, match='head init'):
        LinearHead(8, 2, init='xavier')


def test_backbone_stays_frozen_in_eval_mode_and_only_the_head_trains():
    model = probe(head=dict(batchnorm=True))
    assert not any(p.requires_grad for p in model.backbone.parameters())
    model.train()  # what mmengine's train loops call
    assert model.head.training and model.head.bn.training
    assert not any(m.training for m in model.backbone.modules())
    optimizer = HeadOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5, momentum=0.9)))(model)
    params = [p for group in optimizer.optimizer.param_groups for p in group['params']]
    assert {id(p) for p in params} == {id(p) for p in model.head.parameters()}
    backbone = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head = {k: v.clone() for k, v in model.head.state_dict().items()}
    for step in range(3):
        losses = model.train_step(training_batch(seed=step), optimizer)
        assert torch.isfinite(losses['loss'])
    after = model.backbone.state_dict()  # weights, BN running statistics, batch counters
    assert all(torch.equal(backbone[k], after[k]) for k in backbone)
    assert not torch.equal(head['fc.weight'], model.head.state_dict()['fc.weight'])
    assert not torch.equal(head['bn.running_mean'], model.head.state_dict()['bn.running_mean'])


def test_predict_gives_acc_metric_samples_and_eval_mode_uses_running_statistics():
    model = probe(num_classes=7).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    data = model.data_preprocessor({'inputs': images, 'label': torch.tensor([0, 6, 2])})
    samples = model(**data, mode='predict')
    assert len(samples) == 3 and samples[1]['gt_label'].tolist() == [6]
    assert samples[0]['pred_score'].shape == (7,)
    assert torch.allclose(samples[0]['pred_score'].sum(), torch.tensor(1.0))
    logits = model(data['inputs'])
    assert torch.allclose(torch.stack([s['pred_score'] for s in samples]), logits.softmax(1))


def test_training_views_and_test_images_are_normalised_alike():
    """A view that crops the whole image at its own size, unflipped, equals the test path's
    normalised image (RGB, ImageNet statistics)."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 24, 3), np.uint8)
    view = {'image': torch.from_numpy(rgb).permute(2, 0, 1).contiguous(),
            'augment': {'box': torch.tensor([0.0, 0.0, 1.0, 1.0]), 'flip': torch.tensor(False),
                        'color': torch.tensor(False), 'jitter': torch.tensor([1., 1., 1., 0.]),
                        'order': torch.arange(4), 'gray': torch.tensor(False), 'size': 24}}
    preprocessor = ProbePreprocessor(images=NORMALISE)
    train = preprocessor(default_collate([{'inputs': {'image': view}, 'label': 3}]), True)
    bgr = torch.from_numpy(rgb[:, :, ::-1].copy()).permute(2, 0, 1)
    test = preprocessor({'inputs': bgr[None], 'label': torch.tensor([3])}, False)
    assert train['inputs'].shape == test['inputs'].shape == (1, 3, 24, 24)
    assert torch.allclose(train['inputs'], test['inputs'], atol=1e-4)
    assert train['data_samples'].tolist() == test['data_samples'].tolist() == [3]
    with pytest.raises(ValueError, match='ImageNet mean and std'):
        ProbePreprocessor(images=dict(NORMALISE, bgr_to_rgb=False))


def test_lars_configs_adapt_as_their_sources():
    """mmpretrain's LARS adapts every parameter; MAE's leaves the bias out."""
    from mmengine.registry import init_default_scope

    import harness.optimizers  # noqa: F401  (registers LARS in the harness scope)

    init_default_scope('harness')
    model = probe()
    for name, bias_adapts in (('lars_paper', True), ('vit_paper', False)):
        cfg = Config.fromfile(str(resolve_config(CONFIGS[name])))
        wrapper = dict(cfg.optim_wrapper)
        wrapper.pop('constructor')
        optimizer = HeadOptimWrapperConstructor(wrapper, wrapper.pop('paramwise_cfg', None))(
            model).optimizer
        adapts = {id(p): group['always_adapt'] for group in optimizer.param_groups
                  for p in group['params']}
        assert adapts[id(model.head.fc.weight)] is True
        assert adapts[id(model.head.fc.bias)] is bias_adapts
        assert len(adapts) == 2


# --------------------------------------------------------------------------- the configs


def request_for(tmp_path: Path, data_root: Path, *, config='demo', backbone=SLIM, weights=None,
                cfg_options=None, data_split=None) -> EvalRequest:
    return EvalRequest(protocol=PROTOCOL, backbone=backbone, backbone_weights=weights,
                       dataset=IMAGENET, data_root=data_root,
                       work_dir=tmp_path / 'eval', split='val', seed=0,
                       cfg_options=cfg_options or {}, imports=backbone.imports,
                       data_split=data_split, config=resolve_config(CONFIGS[config]))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_linear_tests_on_the_knn_centre_crops_and_takes_the_classes_of_the_dataset(name,
                                                                                 tmp_path):
    """The test phase is the knn protocol's feature pipeline and preprocessing (demo or paper
    sizes), and the head has as many outputs as the dataset has classes, whatever labels the
    val images carry."""
    knn = Config.fromfile(str(resolve_config(
        f"harness_imageeval:configs/knn_{'demo' if name == 'demo' else 'paper'}.py")))
    split = SimpleNamespace(classes=tuple('abcdefg'), train=(DataItem('train/a/1.png', 0),),
                            test=(DataItem('val/a/2.png', 0), DataItem('val/b/3.png', 1)))
    request = request_for(tmp_path, tmp_path, config=name, data_split=split)
    cfg = Linear().prepare(request).cfg
    assert cfg.test_dataloader.dataset.pipeline == knn.feature_pipeline
    assert cfg.model.data_preprocessor.images == knn.data_preprocessor
    assert cfg.test_dataloader.batch_size == knn.feature_loader.batch_size
    assert cfg.model.num_classes == 7 and cfg.model.feat_dim == 128
    assert cfg.test_evaluator.metric_options.top_k_accuracy.topk == (1, 5)
    assert {'feature_pipeline', 'feature_loader', 'data_preprocessor'}.isdisjoint(cfg.keys())
    assert top_ks(5) == (1,) and top_ks(6) == (1, 5)  # top-5 of 5 classes is always 100%


# ------------------------------------------------------------------------------ end to end


def solid_colour_folder(root: Path) -> Path:
    """An imagenet layout of six solid colours (cube corners) with a little noise: 8 train
    images per class; the val folder holds four of the six classes."""
    rng = np.random.default_rng(0)
    colours = {'blue': (255, 0, 0), 'green': (0, 255, 0), 'red': (0, 0, 255),
               'cyan': (255, 255, 0), 'magenta': (255, 0, 255), 'yellow': (0, 255, 255)}
    for sub, count, names in (('train', 8, list(colours)), ('val', 3, list(colours)[:4])):
        for name in names:
            (root / sub / name).mkdir(parents=True)
            for i in range(count):
                noise = rng.integers(-20, 21, (64, 64, 3))
                image = np.clip(np.array(colours[name]) + noise, 0, 255).astype(np.uint8)
                cv2.imwrite(str(root / sub / name / f'{i}.png'), image)
    return root


def test_linear_probe_reaches_100_percent_on_separable_features(tmp_path):
    """Through mmengine's Runner on a known input: the pooled 'features' of solid colours are
    linearly separable, so the trained head gets every val image right."""
    root = solid_colour_folder(tmp_path / 'colours')
    pixels = BackboneInfo('pixels', '', 'image', {'type': 'harness.LinearProbeTestPixels'}, 3)
    request = request_for(tmp_path, root, backbone=pixels, cfg_options={
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'feature_loader.num_workers': 0})
    result = evaluate(request)
    assert result.metrics == {'top1': 100.0, 'top5': 100.0}  # 6 classes in the dataset
    assert result.splits == ['val'] and result.weights is None


def test_linear_probe_on_a_small_demo_keeps_the_loaded_backbone_unchanged(tmp_path):
    from harness_imagedata.imagenet import generate_demo

    root = generate_demo(tmp_path / 'demo', train_per_class=4, val_per_class=2)
    torch.manual_seed(1)
    weights = tmp_path / 'backbone.pth'
    saved = MODELS.build(dict(type='harness.ResNet18Slim')).state_dict()
    torch.save(saved, weights)
    request = request_for(tmp_path, root, weights=weights, cfg_options={
        'train_cfg.max_iters': 4, 'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'feature_loader.num_workers': 0})
    result = evaluate(request)
    assert 0 <= result.metrics['top1'] <= 100
    assert 'top5' not in result.metrics  # five classes: every one is in the top five
    assert result.weights['loaded'] == result.weights['total'] == len(saved)
    assert set(result.settings['inputs']) == {'train', 'test'}
    assert result.settings['head'] == {'batchnorm': True, 'init': 'normal', 'std': 0.01}
    checkpoint = torch.load(request.work_dir / 'iter_4.pth', map_location='cpu',
                            weights_only=False)['state_dict']
    assert all(torch.equal(checkpoint[f'backbone.{k}'], v) for k, v in saved.items())
