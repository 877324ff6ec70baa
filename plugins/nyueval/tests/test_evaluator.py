"""The nyuv2 evaluator: the dense probe, its metrics, the config the harness builds, and short
runs through mmengine's Runner on the demo rooms."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import harness_backbones.image  # noqa: F401  (registers the harness image backbones)
import harness_nyueval.model  # noqa: F401  (registers DenseProbe, the metrics)
from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo, resolve_config
from harness.errors import ConfigError, DataError
from harness.evaluate import evaluate
from harness.registry import MODELS
from harness_nyueval.model import DepthMetric, DenseProbe, NormalsMetric, nearest_codewords
from harness_nyueval.normals import codebook_labels, normal_metrics
from harness_nyueval.protocols import Depth, Normals

NYUV2 = DatasetInfo('nyuv2', '', 'image', 'harness_nyudata.nyuv2')
SLIM = BackboneInfo('resnet18-slim', '', 'image', {'type': 'harness.ResNet18Slim'}, 128,
                    imports=('harness_backbones.image',))
VIT = BackboneInfo('vit-s16', '', 'image', {'type': 'harness.ViTS16'}, 384)
CONFIGS = {'normals': ('demo', 'paper', 'regress_paper', 'finetune_paper'),
           'depth': ('demo', 'paper')}
FAST = {'train_cfg.max_iters': 4, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)]}


def unit(rng, shape):
    v = rng.normal(size=(*shape, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    from harness_nyudata import nyuv2

    return nyuv2.generate_demo(tmp_path_factory.mktemp('nyu'), train=6, test=3)


def request_for(tmp_path, root, protocol='normals', config='demo', backbone=SLIM, weights=None,
                cfg_options=None) -> EvalRequest:
    configs = {name: f'harness_nyueval:configs/{protocol}_{name}.py'
               for name in CONFIGS[protocol]}
    info = ProtocolInfo(protocol, '1', '', configs=configs,
                        implementation=f'harness_nyueval.protocols:{protocol.title()}')
    return EvalRequest(protocol=info,
                       backbone=backbone, backbone_weights=weights, dataset=NYUV2,
                       data_root=root, work_dir=tmp_path / 'eval',
                       split='official', seed=0, cfg_options=cfg_options or {},
                       imports=backbone.imports, config=resolve_config(configs[config]))


def build_config(request: EvalRequest):
    """(config, files to write, task) of the protocol's prepared evaluation."""
    protocol = {'normals': Normals, 'depth': Depth}[request.protocol.name]()
    prepared = protocol.prepare(request)
    return prepared.cfg, prepared.filled.files, prepared.filled.settings['task']


# --------------------------------------------------------------------------- model, metrics


def test_the_training_labels_are_the_metrics_nearest_codewords():
    rng = np.random.default_rng(0)
    normals, codebook = unit(rng, (2, 5, 7)), unit(rng, (40,))
    valid = rng.random((2, 5, 7)) > 0.3
    labels = nearest_codewords(torch.as_tensor(normals), torch.as_tensor(valid),
                               torch.as_tensor(codebook))
    assert np.array_equal(labels.numpy(), codebook_labels(normals, valid, codebook))


def probe(task='classify40', freeze=True) -> DenseProbe:
    torch.manual_seed(0)
    codebook = unit(np.random.default_rng(1), (8,)) if task == 'classify40' else None
    return DenseProbe(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128, task=task,
                      codebook=codebook, head=dict(channels=32), freeze_backbone=freeze)


@pytest.mark.parametrize('task', ['classify40', 'regress', 'depth'])
def test_the_head_learns_while_a_frozen_backbone_stays_as_it_was(task):
    model = probe(task)
    model.train()
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    assert not model.backbone.training and model.head.training
    rng = np.random.default_rng(2)
    images = torch.randn(2, 3, 32, 32)
    if task == 'depth':
        target = torch.cat([torch.rand(2, 32, 32, 1) + 1, torch.ones(2, 32, 32, 1)], dim=-1)
    else:  # two planes: the left half faces one way, the right half another
        left, right = unit(rng, (1,))[0], unit(rng, (1,))[0]
        normals = np.broadcast_to(np.where(np.arange(32)[None, :, None] < 16, left, right),
                                  (2, 32, 32, 3))
        target = torch.cat([torch.as_tensor(normals.copy(), dtype=torch.float32),
                            torch.ones(2, 32, 32, 1)], dim=-1)
    optimizer = torch.optim.SGD(model.head.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(15):
        loss = model(images, target, mode='loss')['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    model.eval()
    (out,) = model(images[:1], target[:1], mode='predict')[:1]
    assert out['pred'].shape == ((32, 32) if task == 'depth' else (32, 32, 3))


def test_norm_eval_keeps_a_trained_backbones_batchnorm_statistics():
    model = DenseProbe(backbone=dict(type='harness.ResNet18Slim'), feat_dim=128, task='depth',
                       head=dict(channels=32), freeze_backbone=False, norm_eval=True)
    model.train()
    norms = [m for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert all(p.requires_grad for p in model.backbone.parameters())
    before = [m.running_mean.clone() for m in norms]
    model(torch.randn(2, 3, 32, 32), torch.cat([torch.rand(2, 32, 32, 1) + 1,
                                                torch.ones(2, 32, 32, 1)], dim=-1), mode='loss')
    assert all(torch.equal(m.running_mean, b) for m, b in zip(norms, before))


def test_normals_metric_pools_every_valid_pixel_of_the_test_set():
    """Two images of 1 and 3 valid pixels: the pooled median is over the 4 pixels."""
    gt = torch.zeros(1, 2, 3)
    gt[..., 2] = 1.0
    tilt = lambda deg: [np.sin(np.radians(deg)), 0.0, np.cos(np.radians(deg))]  # noqa: E731
    first = torch.tensor([[tilt(5), tilt(80)]], dtype=torch.float32)
    second = torch.tensor([[tilt(10), tilt(20)]], dtype=torch.float32)
    metric = NormalsMetric()
    metric.process({}, [{'pred': first, 'target': torch.cat([gt, torch.tensor([[[1.], [0.]]])],
                                                            -1)},
                        {'pred': second, 'target': torch.cat([gt, torch.ones(1, 2, 1)], -1)}])
    metric.process({}, [{'pred': torch.tensor([[tilt(40), tilt(40)]], dtype=torch.float32),
                         'target': torch.cat([gt, torch.tensor([[[1.], [0.]]])], -1)}])
    result = metric.compute_metrics(metric.results)
    assert result == pytest.approx(normal_metrics([5, 10, 20, 40]), abs=1e-4)
    assert result['median'] == pytest.approx(15.0, abs=1e-4)

    depth = DepthMetric()
    depth.process({}, [{'pred': torch.tensor([[2.0, 9.0]]),
                        'target': torch.tensor([[[2.0, 1.0], [1.0, 0.0]]])},
                       {'pred': torch.tensor([[1.0]]), 'target': torch.tensor([[[2.0, 1.0]]])}])
    result = depth.compute_metrics(depth.results)
    assert result['delta_1.25'] == pytest.approx(50.0)  # 2 vs 2 in, 1 vs 2 out; 9 invalid
    assert result['abs_rel'] == pytest.approx(0.25)
    assert result['rmse'] == pytest.approx(np.sqrt(0.5))


# --------------------------------------------------------------------------------- configs


@pytest.mark.parametrize('protocol,config', [(p, c) for p, cs in CONFIGS.items() for c in cs])
def test_every_config_builds_a_checked_runner_config(protocol, config, tmp_path, demo_root):
    from harness.checks import check_config

    cfg, files, task = build_config(request_for(tmp_path, demo_root, protocol, config,
                                                weights=Path('w.pth')))
    check_config(cfg, 'evaluation config')
    assert task == {'regress_paper': 'regress'}.get(config, 'depth' if protocol == 'depth'
                                                    else 'classify40')
    loads = [step for loader in ('train_dataloader', 'test_dataloader')
             for step in cfg[loader].dataset.pipeline if step.type == 'LoadDenseTarget']
    assert [step.kind for step in loads] == [protocol, protocol]
    assert cfg.model.backbone.init_cfg.type == 'harness.SSLPretrained'
    assert (cfg.model.codebook is not None) == (task == 'classify40')
    assert cfg.model.freeze_backbone == (protocol == 'normals' and 'finetune' not in config)
    # batch-2 depth fine-tuning keeps the backbone's BN statistics
    assert cfg.model.get('norm_eval', False) == (config == 'paper' and protocol == 'depth')
    if config != 'demo':  # ssl-transfer's solver: no decay on biases and BN parameters
        assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.0, bias_decay_mult=0.0)
    assert 'task' not in cfg and 'data_preprocessor' not in cfg
    train_list = Path(cfg.train_dataloader.dataset.ann_file)
    assert files[train_list].splitlines()[0] == (
        'images/000001_rgb.jpg ' + ('normals/nm_000001.mat' if protocol == 'normals'
                                    else 'depth/000001_depth.png'))


def test_a_backbone_it_cannot_dilate_and_missing_normals_are_one_line_errors(tmp_path,
                                                                             demo_root):
    import shutil

    with pytest.raises(ConfigError, match=r"'vit-s16' is not one of resnet18, resnet50, "
                                          r'resnet18-slim, vgg16'):
        build_config(request_for(tmp_path, demo_root, backbone=VIT))
    root = tmp_path / 'nyu'
    shutil.copytree(demo_root, root)
    (root / 'normals' / 'nm_000002.mat').unlink()
    with pytest.raises(DataError, match=r'1 of the 6 train images of nyuv2 have no normals '
                                        r'file \(e.g. image 2\).*or use --protocol depth'):
        build_config(request_for(tmp_path, root))
    build_config(request_for(tmp_path, root, 'depth'))  # depth needs no normals


def test_a_resnet_cut_after_layer3_is_probed_at_layer3(tmp_path, demo_root):
    """A pretraining that trains the backbone only up to layer3 (its config's backbone_stage):
    the probe reads the cut backbone (layer3 dilated to stride 8, 64-d on resnet18-slim); a cut
    further up is refused."""
    from harness_nyueval.heads import DilatedBackbone

    staged = BackboneInfo('resnet18-slim', '', 'image', {'type': 'harness.ResNet18Slim'}, 128,
                          imports=('harness_backbones.image',),
                          stages={'layer1': 16, 'layer2': 32, 'layer3': 64, 'layer4': 128})
    cfg, _, _ = build_config(request_for(tmp_path, demo_root, backbone=staged.up_to('layer3')))
    assert cfg.model.feat_dim == 64
    assert (cfg.model.backbone.type, cfg.model.backbone.out_stage) == \
        ('harness.ResNet18Slim', 'layer3')
    with torch.no_grad():
        maps = DilatedBackbone(dict(type='harness.ResNet18Slim', out_stage='layer3')).eval()(
            torch.randn(1, 3, 64, 64))
    assert maps.shape == (1, 64, 8, 8)
    with pytest.raises(ConfigError, match=r"'resnet18-slim-to-layer2' is not one of .*a ResNet "
                                          r'cut after layer3'):
        build_config(request_for(tmp_path, demo_root, backbone=staged.up_to('layer2')))


# ------------------------------------------------------------------------------ end to end


@pytest.mark.parametrize('protocol', ['normals', 'depth'])
def test_a_short_run_scores_the_test_rooms_and_reports_the_weights(protocol, tmp_path,
                                                                   demo_root):
    torch.manual_seed(0)
    saved = MODELS.build(dict(type='harness.ResNet18Slim')).state_dict()
    weights = tmp_path / 'backbone.pth'
    torch.save(saved, weights)
    request = request_for(tmp_path, demo_root, protocol, weights=weights, cfg_options=FAST)
    result = evaluate(request)
    if protocol == 'normals':
        assert list(result.metrics) == ['mean', 'median', 'within_11.25', 'within_22.5',
                                        'within_30']
        assert 0 <= result.metrics['mean'] <= 180
        assert result.settings['codebook'].startswith('spherical k-means of the train normals')
        assert result.settings['ground_truth'] == 'demo'
        assert np.load(request.work_dir / 'codebook40.npy').shape == (40, 3)
        checkpoint = torch.load(request.work_dir / 'iter_4.pth', map_location='cpu',
                                weights_only=False)['state_dict']
        assert all(torch.equal(checkpoint[f'backbone.backbone.{k}'], v)
                   for k, v in saved.items())  # frozen
    else:
        assert list(result.metrics) == ['delta_1.25', 'abs_rel', 'rmse']
        assert result.higher_is_better == {'delta_1.25': True, 'abs_rel': False,
                                           'rmse': False}
    assert result.weights['loaded'] == result.weights['total'] == len(saved)


# ------------------------------------------------------------------ targets checked up front


def damaged_copy(demo_root: Path, tmp_path: Path) -> tuple[Path, list]:
    """A copy of the demo: a test image's normals file without depthValid, another test
    image's depth PNG of half the size."""
    import shutil

    import cv2
    import scipy.io
    from harness_nyudata import nyuv2

    root = tmp_path / 'nyu'
    shutil.copytree(demo_root, root)
    test = nyuv2.read_split(root).test
    normals = root / test[0].normals
    data = scipy.io.loadmat(normals)
    scipy.io.savemat(normals, {k: data[k] for k in ('nx', 'ny', 'nz')})
    depth = cv2.imread(str(root / test[1].depth), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(root / test[1].depth), depth[::2, ::2])
    return root, test


def test_target_problems_are_found_from_the_headers(demo_root, tmp_path):
    from harness_nyudata import nyuv2

    root, test = damaged_copy(demo_root, tmp_path)
    assert nyuv2.target_problem(root, test[0], 'normals') == \
        f'{test[0].normals} lacks depthValid'
    assert nyuv2.target_problem(root, test[0], 'depth') is None
    assert nyuv2.target_problem(root, test[1], 'depth') == \
        f'{test[1].depth} is 40 x 30 but its image {test[1].path} is 80 x 60'
    assert nyuv2.target_problem(root, test[2], 'normals') is None


@pytest.mark.parametrize('protocol,skipped', [('normals', 'lacks depthValid'),
                                              ('depth', 'is 40 x 30 but its image')])
def test_a_test_target_that_would_stop_the_run_is_skipped_and_counted(demo_root, tmp_path,
                                                                      protocol, skipped):
    root, test = damaged_copy(demo_root, tmp_path)
    protocol_cls = {'normals': Normals, 'depth': Depth}[protocol]
    prepared = protocol_cls().prepare(request_for(tmp_path, root, protocol))
    assert prepared.filled.settings['skipped_targets'] == {'train': 0, 'test': 1}
    assert '6 train, 2 test images; skipped 0 train and 1 test images' in prepared.filled.note
    assert skipped in prepared.filled.note
    test_list = next(text for path, text in prepared.filled.files.items()
                     if str(path).endswith(f'nyuv2_{protocol}_test.txt'))
    assert len(test_list.splitlines()) == 2


def test_a_side_without_usable_targets_is_one_line(demo_root, tmp_path):
    import shutil

    from harness_nyudata import nyuv2

    root = tmp_path / 'nyu'
    shutil.copytree(demo_root, root)
    for item in nyuv2.read_split(root).test:
        (root / item.depth).write_bytes(b'not a png')
    with pytest.raises(DataError, match=r'^none of the 3 test depth targets of nyuv2 at .* can '
                                        r'be read \(e\.g\. depth/.*_depth\.png cannot be read'):
        Depth().prepare(request_for(tmp_path, root, 'depth'))
