"""The detection evaluators: the detector fitted to the backbone, SSL weights checked into every
module that takes them, the datasets mmdet reads, the configs, and short runs through
mmengine's Runner."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict

import harness_backbones.image  # noqa: F401  (registers the harness image backbones)
import harness_deteval.modules  # noqa: F401  (registers ResLayerExtraNorm, VGG16Conv5)
from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo, resolve_config
from harness.errors import ConfigError, DataError
from harness.registry import MODELS
from harness.weights import WeightTransferError
from harness_deteval.detector import check_no_downloads, fit_detector, weight_modules
from harness.evaluate import evaluate, protocol_for

VOC_CONFIGS = ('demo', 'paper', 'paper07', 'fpn_paper', 'vgg16_paper')
COCO_CONFIGS = ('demo', 'paper', 'c4_paper')
DATASETS = {'voc07': DatasetInfo('voc07', '', 'image', 'harness_detdata.voc07'),
            'coco': DatasetInfo('coco', '', 'image', 'harness_detdata.coco')}
BACKBONES = {name: BackboneInfo(name, '', 'image', {'type': f'harness.{cls}'}, dim,
                                imports=('harness_backbones.image',))
             for name, cls, dim in (('resnet18-slim', 'ResNet18Slim', 128),
                                    ('resnet50', 'ResNet50', 2048),
                                    ('vgg16', 'VGG16', 512))}


def config_ref(dataset: str, name: str) -> str:
    stem = 'voc07_finetune' if dataset == 'voc07' else 'coco_finetune'
    return f'harness_deteval:configs/{stem}_{name}.py'


def model_config(dataset: str, name: str) -> dict:
    return Config.fromfile(str(resolve_config(config_ref(dataset, name)))).model.to_dict()


def build_detector(model: dict):
    """An mmdet detector from a fitted model config, weights initialised as a Runner does."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)  # the tests' default scope stays
    detector = MMDET_MODELS.build(ConfigDict(dict(model, _scope_='mmdet')))
    detector.init_weights()
    return detector


def export(tmp_path: Path, backbone: str, keys=lambda k: k) -> tuple[dict, Path]:
    torch.manual_seed(0)
    state = MODELS.build(dict(BACKBONES[backbone].cfg)).state_dict()
    path = tmp_path / f'{backbone}.pth'
    torch.save({keys(k): v for k, v in state.items()}, path)
    return state, path


# ------------------------------------------------------------------------ weights into mmdet


@pytest.mark.slow
def test_ssl_resnet50_export_fills_the_c4_backbone_and_its_res5_shared_head(tmp_path):
    """The VOC paper config's R50-C4: every tensor of the backbone (stem, layer1-3) and of the
    res5 shared head comes from the export; only the extra norm after res5 starts fresh, and
    no exported key is left unused by both modules."""
    exported, path = export(tmp_path, 'resnet50')
    model = fit_detector(model_config('voc07', 'paper'), 'resnet50', 20, path)
    detector = build_detector(model)
    backbone = detector.backbone.weight_load_report
    head = detector.roi_head.shared_head.weight_load_report
    assert backbone['missing'] == []
    assert all(key.startswith('norm.') for key in head['missing']) and head['missing']
    assert all(key.startswith('layer4.') for key in backbone['unexpected'])
    assert backbone['loaded'] + head['loaded'] == len(exported)
    assert set(head['unexpected']) == set(exported) - set(backbone['unexpected'])
    assert torch.equal(detector.backbone.layer3[5].conv3.weight,
                       exported['layer3.5.conv3.weight'])
    assert torch.equal(detector.roi_head.shared_head.layer4[2].bn3.running_var,
                       exported['layer4.2.bn3.running_var'])
    assert weight_modules(model) == ['backbone', 'roi_head.shared_head']


@pytest.mark.slow
def test_an_export_under_a_wrong_prefix_fails_naming_the_module_left_unloaded(tmp_path):
    model = model_config('voc07', 'paper')
    _, path = export(tmp_path, 'resnet50', keys=lambda k: f'module.encoder_q.{k}')
    with pytest.raises(WeightTransferError, match=r'^only 0 of \d+ backbone tensors loaded'):
        build_detector(fit_detector(model, 'resnet50', 20, path))
    # the backbone right, res5 under another name: the error names the shared head
    _, path = export(tmp_path, 'resnet50', keys=lambda k: f'res5.{k}' if k.startswith(
        'layer4.') else k)
    with pytest.raises(WeightTransferError,
                       match=r'^only 0 of \d+ roi_head.shared_head tensors loaded'):
        build_detector(fit_detector(model, 'resnet50', 20, path))


def test_narrow_resnet_and_vgg16_exports_load_by_key(tmp_path):
    """resnet18-slim's export (keys under ``net.``) fills the demo C4 detector; vgg16's
    convolutions fill VGG16Conv5, whose feature map is 512 channels at stride 16."""
    exported, path = export(tmp_path, 'resnet18-slim')
    detector = build_detector(fit_detector(model_config('voc07', 'demo'), 'resnet18-slim', 4,
                                           path))
    loaded = detector.backbone.weight_load_report['loaded'] + \
        detector.roi_head.shared_head.weight_load_report['loaded']
    assert loaded == len(exported)
    assert detector.roi_head.shared_head.out_channels == 128
    assert torch.equal(detector.backbone.conv1.weight, exported['net.conv1.weight'])

    exported, path = export(tmp_path, 'vgg16')
    detector = build_detector(fit_detector(model_config('voc07', 'vgg16_paper'), 'vgg16', 4,
                                           path))
    report = detector.backbone.weight_load_report
    assert report['loaded'] == report['total'] == len(exported) and not report['unexpected']
    (feature,) = detector.backbone(torch.zeros(1, 3, 64, 96))
    assert feature.shape == (1, 512, 4, 6)


def test_a_trunk_cut_after_layer3_fills_the_c4_backbone_and_leaves_res5_at_random(tmp_path):
    """A pretraining that trains resnet18-slim only up to layer3 (backbone_stage): its export
    fills the C4 backbone (stem, layer1-3) completely; the res5 head takes no SSL weight and
    starts as mmdet initialises it; FPN, which reads layer4, and a cut before layer3 are
    refused."""
    torch.manual_seed(0)
    state = MODELS.build(dict(type='harness.ResNet18Slim', out_stage='layer3')).state_dict()
    path = tmp_path / 'cut.pth'
    torch.save(state, path)
    model = fit_detector(model_config('voc07', 'demo'), 'resnet18-slim', 4, path,
                         out_stage='layer3')
    assert model['roi_head']['shared_head'].get('init_cfg') is None
    assert weight_modules(model) == ['backbone']
    detector = build_detector(model)
    report = detector.backbone.weight_load_report
    assert report['loaded'] == report['total'] == len(state) and not report['unexpected']
    assert not hasattr(detector.roi_head.shared_head, 'weight_load_report')
    assert torch.equal(detector.backbone.layer3[1].conv2.weight, state['net.layer3.1.conv2.weight'])
    with pytest.raises(ConfigError, match=r"cut after layer3 .* a fpn detector reads stages "
                                          r'after it'):
        fit_detector(model_config('coco', 'paper'), 'resnet50', 80, path, out_stage='layer3')
    with pytest.raises(ConfigError, match=r'cut after layer2 .* a c4 detector reads stages'):
        fit_detector(model_config('voc07', 'demo'), 'resnet18-slim', 4, path,
                     out_stage='layer2')


# ---------------------------------------------------------------------- fitting the detector


def test_fit_sets_the_backbone_dependent_values_and_nothing_else():
    c4 = fit_detector(model_config('voc07', 'demo'), 'resnet18-slim', 4, None)
    assert (c4['backbone']['depth'], c4['backbone']['base_channels']) == (18, 16)
    assert c4['rpn_head']['in_channels'] == c4['rpn_head']['feat_channels'] == 64
    assert c4['roi_head']['bbox_roi_extractor']['out_channels'] == 64
    assert c4['roi_head']['bbox_head']['in_channels'] == 128
    assert c4['roi_head']['bbox_head']['num_classes'] == 4
    assert c4['backbone']['init_cfg'] is None  # random init: mmdet's own
    fpn = fit_detector(model_config('coco', 'paper'), 'resnet50', 80, Path('w.pth'))
    assert fpn['neck']['in_channels'] == [256, 512, 1024, 2048]
    assert fpn['backbone']['init_cfg'] == dict(type='harness.SSLPretrained', checkpoint='w.pth',
                                               module='backbone')
    assert weight_modules(fpn) == ['backbone']


def test_fit_refuses_a_value_the_harness_sets_and_a_backbone_the_family_cannot_hold():
    model = model_config('voc07', 'paper')
    model['backbone']['depth'] = 101
    with pytest.raises(ConfigError, match=r'model.backbone.depth=101: the harness sets it'):
        fit_detector(model, 'resnet50', 20, None)
    with pytest.raises(ConfigError, match=r"c4 detector.*'vgg16' fits the vgg16 family's"):
        fit_detector(model_config('voc07', 'paper'), 'vgg16', 20, None)
    with pytest.raises(ConfigError, match=r"'vit-s16' fits no detection config here"):
        fit_detector(model_config('coco', 'paper'), 'vit-s16', 80, None)


def test_a_downloaded_checkpoint_in_the_detector_is_refused():
    model = model_config('voc07', 'paper')
    model['roi_head']['shared_head']['init_cfg'] = dict(
        type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')
    with pytest.raises(ConfigError, match=r'shared_head.init_cfg.checkpoint=open-mmlab://'):
        check_no_downloads(model)
    check_no_downloads(model_config('voc07', 'paper'))


# --------------------------------------------------------------------- datasets and configs


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory) -> Path:
    from harness_detdata import voc07

    return voc07.generate_demo(tmp_path_factory.mktemp('voc'), trainval=6, test=4)


@pytest.fixture(scope='module')
def voc0712_root(voc_root, tmp_path_factory) -> Path:
    """The demo with its VOC2007 copied as VOC2012 (the 07+12 configs' second train set)."""
    root = tmp_path_factory.mktemp('voc0712') / 'voc'
    shutil.copytree(voc_root, root)
    shutil.copytree(root / 'VOCdevkit' / 'VOC2007', root / 'VOCdevkit' / 'VOC2012')
    return root


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> Path:
    from harness_detdata import coco

    return coco.generate_demo(tmp_path_factory.mktemp('coco'), train=6, val=4)


def request_for(tmp_path: Path, dataset: str, root: Path, config='demo', backbone='resnet18-slim',
                weights=None, cfg_options=None) -> EvalRequest:
    configs = {name: config_ref(dataset, name)
               for name in (VOC_CONFIGS if dataset == 'voc07' else COCO_CONFIGS)}
    protocol = ProtocolInfo('finetune', '1', '', configs=configs, implementation=(
        'harness_deteval.finetune:' + ('VocFinetune' if dataset == 'voc07' else 'CocoFinetune')))
    return EvalRequest(protocol=protocol, backbone=BACKBONES[backbone],
                       backbone_weights=weights, dataset=DATASETS[dataset], data_root=root,
                       work_dir=tmp_path / 'eval', lists_dir=tmp_path / 'lists',
                       split='test' if dataset == 'voc07' else 'val2017', seed=0,
                       cfg_options=cfg_options or {}, config=resolve_config(configs[config]))


def build_config(request: EvalRequest):
    """(config, what the protocol filled in besides it) of the prepared evaluation."""
    prepared = protocol_for(request.protocol).prepare(request)
    return prepared.cfg, prepared.filled


@pytest.mark.parametrize('dataset,name', [('voc07', n) for n in VOC_CONFIGS]
                         + [('coco', n) for n in COCO_CONFIGS])
def test_every_config_builds_a_checked_runner_config(dataset, name, tmp_path, voc0712_root,
                                                     coco_root):
    from harness.checks import check_config

    backbone = 'vgg16' if 'vgg16' in name else 'resnet50'
    root = voc0712_root if dataset == 'voc07' else coco_root
    cfg, data = build_config(request_for(tmp_path, dataset, root, name, backbone,
                                         weights=Path('w.pth')))
    check_config(cfg, 'evaluation config')
    assert 'seeds' not in cfg and 'train_sets' not in cfg and cfg.default_scope == 'mmdet'
    assert cfg.model.data_preprocessor.bgr_to_rgb is True  # torchvision RGB, in the model
    assert cfg.test_dataloader.dataset.test_mode is True
    assert data.files == {}  # every listed image is there: the official files are read
    # detectron2's solver: no weight decay on the normalisation layers
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.0
    # the lr is 0.02 at batch 16 (0.01 for VGG-16), scaled linearly to the config's batch
    scale = cfg.auto_scale_lr
    assert scale.enable and scale.base_batch_size == 16
    if name == 'demo':  # 0.005 at the demo's batch 4
        assert cfg.optim_wrapper.optimizer.lr * cfg.train_dataloader.batch_size / 16 == 0.005
    if dataset == 'voc07':
        assert [m['iou_thrs'][0] for m in cfg.test_evaluator] == [0.5, 0.5]
        train = cfg.train_dataloader.dataset
        first = train.datasets[0] if train.type == 'ConcatDataset' else train
        assert first.ann_file.endswith('VOC2007/ImageSets/Main/trainval.txt')
        assert first.metainfo.classes == ('aeroplane', 'bicycle', 'bird', 'boat')
        assert (train.type == 'ConcatDataset') == (name in ('paper', 'fpn_paper'))
    else:
        assert cfg.test_evaluator[0].ann_file == cfg.test_dataloader.dataset.ann_file
        assert cfg.train_dataloader.dataset.data_prefix == dict(img='train2017/')


def test_voc0712_trains_on_a_concat_dataset_and_needs_voc2012(tmp_path, voc_root,
                                                               voc0712_root):
    from harness.run.plan import config_seeds

    with pytest.raises(DataError, match=r"no .*VOC2012: put VOC2012 beside VOC2007, or use "
                                        r"the voc07 config 'paper07'"):
        build_config(request_for(tmp_path, 'voc07', voc_root, 'paper', 'resnet50'))
    cfg, data = build_config(request_for(tmp_path, 'voc07', voc0712_root, 'paper', 'resnet50'))
    train = cfg.train_dataloader.dataset
    assert train.type == 'ConcatDataset' and train.ignore_keys == ['dataset_type']
    assert [d.data_prefix.sub_data_root for d in train.datasets] == ['VOC2007/', 'VOC2012/']
    assert data.settings['train_images'] == 12
    paper = resolve_config(config_ref('voc07', 'paper'))
    assert config_seeds(paper) == (0, 1, 2, 3, 4)  # MoCo's five trials
    assert config_seeds(resolve_config(config_ref('voc07', 'demo'))) is None


def test_listed_images_missing_on_disk_are_left_out_of_what_mmdet_reads(tmp_path, voc_root,
                                                                        coco_root):
    root = tmp_path / 'voc'
    shutil.copytree(voc_root, root)
    (root / 'VOCdevkit/VOC2007/JPEGImages/000002.jpg').unlink()
    cfg, data = build_config(request_for(tmp_path, 'voc07', root))
    ann_file = Path(cfg.train_dataloader.dataset.ann_file)
    assert ann_file.parent == tmp_path / 'lists'
    assert data.files[ann_file] == '000001\n000003\n000004\n000005\n000006\n'
    assert cfg.test_dataloader.dataset.ann_file.endswith('VOC2007/ImageSets/Main/test.txt')

    root = tmp_path / 'coco'
    shutil.copytree(coco_root, root)
    first = json.loads((root / 'annotations/instances_val2017.json').read_text())['images'][0]
    (root / 'val2017' / first['file_name']).unlink()
    cfg, data = build_config(request_for(tmp_path, 'coco', root))
    ann_file = Path(cfg.test_dataloader.dataset.ann_file)
    kept = json.loads(data.files[ann_file])
    assert first['id'] not in {image['id'] for image in kept['images']}
    assert first['id'] not in {ann['image_id'] for ann in kept['annotations']}
    assert len(kept['images']) == 3 and kept['info'] and 'licenses' in kept
    assert cfg.test_evaluator[0].ann_file == str(ann_file)  # the metric scores the same images


# ------------------------------------------------------------------------------ end to end


SHORT = {'train_cfg.max_iters': 3, 'train_dataloader.batch_size': 2,
         'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
         'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
         'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)]}


@pytest.mark.slow
@pytest.mark.parametrize('dataset', ['voc07', 'coco'])
def test_a_short_finetune_scores_the_test_set_and_reports_the_weights(dataset, tmp_path,
                                                                      voc_root, coco_root):
    _, path = export(tmp_path, 'resnet18-slim')
    root = voc_root if dataset == 'voc07' else coco_root
    request = request_for(tmp_path, dataset, root, weights=path, cfg_options=SHORT)
    result = evaluate(request)
    names = ['AP50', 'AP'] if dataset == 'voc07' else ['AP', 'AP50', 'AP75']
    assert list(result.metrics) == names
    assert all(0 <= value <= 100 for value in result.metrics.values())
    modules = ['backbone', 'roi_head.shared_head'] if dataset == 'voc07' else ['backbone']
    assert list(result.weights['modules']) == modules
    assert result.weights['unexpected'] == []
    assert result.weights['loaded'] == sum(r['loaded'] for r in result.weights['modules'].values())
    assert result.settings['detector'] == ('c4' if dataset == 'voc07' else 'fpn')


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.slow
def test_a_paper_config_runs_five_finetune_trials_of_one_pretraining(tmp_path, capsys):
    """MoCo's detection numbers are the mean of 5 fine-tuning trials: a paper config names
    them, so one pretraining (seed 0) is fine-tuned with seeds 0-4; --seed/--seeds override it
    (each seed then pretrains too)."""
    from harness.cli import main

    base = ['run', '--method', 'simclr', '--backbone', 'resnet18', '--eval', 'voc07',
            '--eval-config', 'paper07', '--work-dir', str(tmp_path), '--dry-run']
    assert main(base) == 0
    out = capsys.readouterr().out
    assert 'seed 0, 1, 2, 3, 4;' in out and out.count('evaluation voc07/finetune') == 5
    assert out.count('pretraining (to train)') == 1
    assert 'seeds = ' not in out  # the runner's, not a key of the Runner config
    assert main(base + ['--seeds', '3,4']) == 0
    out = capsys.readouterr().out
    assert 'seed 3, 4;' in out and out.count('evaluation voc07/finetune') == 2
    assert out.count('pretraining (to train)') == 2


def test_a_backbone_without_a_detection_trunk_is_one_line_and_exit_2(tmp_path, capsys):
    from harness.cli import main

    assert main(['run', '--method', 'random', '--backbone', 'vit-s16', '--eval', 'coco',
                 '--work-dir', str(tmp_path), '--dry-run']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'vit-s16' fits no detection config here" in err[0]


def test_an_invalid_voc_box_is_counted_and_ignored_in_training(voc0712_root, tmp_path):
    """An inverted box would be a NaN loss: voc07 counts it, the record and the log say so,
    and mmdet's VOCDataset, built from the run's train config, flags it ignored (the
    harness's filter_cfg.bbox_min_size), so the detector never trains on it."""
    import xml.etree.ElementTree as ET

    from mmdet.registry import DATASETS as MMDET_DATASETS
    from mmengine.registry import init_default_scope

    root = tmp_path / 'voc'
    shutil.copytree(voc0712_root, root)
    for year in ('VOC2007', 'VOC2012'):
        first = (root / 'VOCdevkit' / year / 'ImageSets/Main/trainval.txt').read_text().split()[0]
        xml = root / 'VOCdevkit' / year / 'Annotations' / f'{first}.xml'
        tree = ET.parse(xml)
        box = tree.getroot().find('object/bndbox')
        xmin, xmax = box.findtext('xmin'), box.findtext('xmax')
        box.find('xmin').text, box.find('xmax').text = xmax, xmin  # inverted
        tree.write(xml)
    cfg, filled = build_config(request_for(tmp_path, 'voc07', root, config='paper'))
    assert filled.settings['dropped'] == {'unknown_class': 0, 'invalid_box': 2}  # 07 + 12
    train = cfg.train_dataloader.dataset.to_dict()
    assert [d['filter_cfg']['bbox_min_size'] for d in train['datasets']] == [1, 1]
    assert 'filter_cfg' not in cfg.test_dataloader.dataset or \
        'bbox_min_size' not in cfg.test_dataloader.dataset.filter_cfg
    init_default_scope('mmdet')
    dataset = MMDET_DATASETS.build(dict(train['datasets'][0], pipeline=[]))
    flags = [(tuple(i['bbox']), i['ignore_flag']) for i in dataset[0]['instances']]
    assert any(box[2] < box[0] and ignored == 1 for box, ignored in flags), flags
    assert all(ignored == 0 for box, ignored in flags if box[2] > box[0])

