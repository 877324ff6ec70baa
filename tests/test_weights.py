"""Transferring backbone weights: key matching, the load report, and refusing a bad load."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseModule
from torch import nn

from harness.weights import WeightTransferError, load_backbone_weights


class Net(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)


def test_matching_weights_load_completely():
    source, target = Net(), Net()
    report = load_backbone_weights(target, source.state_dict())
    total = len(target.state_dict())  # conv 2, bn 5 (incl. num_batches_tracked), fc 2
    assert report == {'loaded': total, 'total': total, 'missing': [], 'unexpected': []}
    assert torch.equal(target.conv.weight, source.conv.weight)


def test_partial_load_reports_missing_and_unexpected_keys():
    state = Net().state_dict()
    del state['fc.weight'], state['fc.bias']
    state['head.weight'] = torch.zeros(1)
    state['bn.weight'] = torch.zeros(7)  # wrong shape: not loaded
    report = load_backbone_weights(Net(), state)
    assert report['missing'] == ['bn.weight', 'fc.bias', 'fc.weight']
    assert report['unexpected'] == ['bn.weight', 'head.weight']
    assert report['loaded'] == report['total'] - 3


def test_a_load_that_drops_most_weights_is_an_error():
    prefixed = {f'backbone.{k}': v for k, v in Net().state_dict().items()}
    with pytest.raises(WeightTransferError, match=r'only 0 of 9 backbone tensors loaded'):
        load_backbone_weights(Net(), prefixed, source='ckpt.pth')


def test_mmengine_initializer_loads_and_keeps_the_report(tmp_path):
    import harness.weights  # noqa: F401  (registers harness.SSLPretrained)

    source = Net()
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    target = Net(init_cfg=dict(type='harness.SSLPretrained', checkpoint=str(path)))
    target.init_weights()
    assert torch.equal(target.fc.weight, source.fc.weight)
    assert target.weight_load_report['loaded'] == 9


def c4_detector(checkpoint: str):
    """mmdet's Faster R-CNN R50-C4 (the MoCo VOC protocol's model) with the SSL weights in the
    backbone (stem, layer1-3) and in the RoI head's res5 shared head (layer4)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import ConfigDict

    register_all_modules(init_default_scope=False)  # the tests' default scope stays

    def ssl(module: str) -> dict:
        return dict(type='harness.SSLPretrained', checkpoint=checkpoint, module=module)

    model = MMDET_MODELS.build(ConfigDict(
        type='FasterRCNN', _scope_='mmdet',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet', depth=50, num_stages=3, strides=(1, 2, 2),
                      dilations=(1, 1, 1), out_indices=(2,), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                      style='pytorch', init_cfg=ssl('backbone')),
        rpn_head=dict(type='RPNHead', in_channels=1024, feat_channels=1024,
                      anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                                            ratios=[0.5, 1.0, 2.0], strides=[16]),
                      bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                      target_stds=[1.0] * 4),
                      loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True),
                      loss_bbox=dict(type='L1Loss')),
        roi_head=dict(
            type='StandardRoIHead',
            shared_head=dict(type='ResLayer', depth=50, stage=3, stride=2, dilation=1,
                             style='pytorch', norm_cfg=dict(type='BN', requires_grad=True),
                             norm_eval=False, init_cfg=ssl('roi_head.shared_head')),
            bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=1024,
                                    featmap_strides=[16],
                                    roi_layer=dict(type='RoIAlign', output_size=14,
                                                   sampling_ratio=0)),
            bbox_head=dict(type='BBoxHead', with_avg_pool=True, roi_feat_size=7,
                           in_channels=2048, num_classes=3,
                           bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                           target_stds=[0.1, 0.1, 0.2, 0.2]),
                           loss_cls=dict(type='CrossEntropyLoss'),
                           loss_bbox=dict(type='L1Loss'))),
        train_cfg=None,
        test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=50, min_bbox_size=0,
                               nms=dict(type='nms', iou_threshold=0.7)),
                      rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                                max_per_img=10))))
    model.init_weights()
    return model


@pytest.mark.slow
def test_ssl_resnet50_export_fills_the_c4_backbone_and_its_res5_shared_head(tmp_path):
    """Every tensor of mmdet's C4 backbone and of its res5 shared head comes from the export;
    each part expects the other's keys as unexpected."""
    from harness.registry import MODELS
    import harness_backbones.image  # noqa: F401

    torch.manual_seed(0)
    exported = MODELS.build(dict(type='harness.ResNet50')).state_dict()
    path = tmp_path / 'backbone.pth'
    torch.save(exported, path)
    model = c4_detector(str(path))
    backbone, res5 = model.backbone.weight_load_report, \
        model.roi_head.shared_head.weight_load_report
    assert backbone['missing'] == [] and res5['missing'] == []
    assert backbone['loaded'] + res5['loaded'] == len(exported)
    assert all(key.startswith('layer4.') for key in backbone['unexpected'])
    assert not any(key.startswith('layer4.') for key in res5['unexpected'])
    assert torch.equal(model.roi_head.shared_head.layer4[0].conv1.weight,
                       exported['layer4.0.conv1.weight'])
    assert torch.equal(model.backbone.conv1.weight, exported['conv1.weight'])


@pytest.mark.slow
def test_an_export_under_a_prefix_fails_naming_the_module_left_unloaded(tmp_path):
    from harness.registry import MODELS
    import harness_backbones.image  # noqa: F401

    exported = MODELS.build(dict(type='harness.ResNet50')).state_dict()
    path = tmp_path / 'backbone.pth'
    torch.save({f'module.encoder_q.{k}': v for k, v in exported.items()}, path)
    with pytest.raises(WeightTransferError, match=r'only 0 of \d+ backbone tensors loaded'):
        c4_detector(str(path))
    # the backbone right, the res5 wrong: the error names the shared head
    torch.save({k if not k.startswith('layer4.') else f'res5.{k}': v
                for k, v in exported.items()}, path)
    with pytest.raises(WeightTransferError,
                       match=r'only 0 of \d+ roi_head.shared_head tensors loaded'):
        c4_detector(str(path))
