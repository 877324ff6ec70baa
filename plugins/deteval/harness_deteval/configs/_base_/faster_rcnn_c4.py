# Faster R-CNN C4 for an SSL ResNet, as MoCo (detectron2 Base-RCNN-C4-BN, *_moco.yaml) and
# mmselfsup run it (docs/image-evals.md §1), on mmdet 3.3.0's parts:
# - backbone: mmdet ResNet, stem + res2-res4 (stride 16), style 'pytorch' (torchvision's layout
#   and parameter names), BN trained (SyncBN in multi-GPU runs; mmengine makes it BN on one
#   process) with norm_eval=False, no frozen stages;
# - RoI shared head: res5 + one extra BN (harness.ResLayerExtraNorm = MoCo's
#   Res5ROIHeadsExtraNorm), 14x14 RoIAlign -> res5 (stride 2) -> avg pool -> BBoxHead;
# - input: torchvision's RGB mean/std in the model's own data_preprocessor (mmselfsup's VOC
#   config left it outside the model, so BGR unnormalised pixels reached the network).
# None: set by the harness from --backbone (depth, base_channels, channel counts, the SSL
# weights as init_cfg of the backbone AND of the shared head) and the dataset (num_classes).
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=None, base_channels=None, num_stages=3,
                  strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2,), frozen_stages=-1,
                  norm_cfg=norm_cfg, norm_eval=False, style='pytorch', init_cfg=None),
    rpn_head=dict(
        type='RPNHead', in_channels=None, feat_channels=None,
        anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        shared_head=dict(type='harness.ResLayerExtraNorm', depth=None, base_channels=None,
                         stage=3, stride=2, dilation=1, style='pytorch', norm_cfg=norm_cfg,
                         norm_eval=False, extra_norm=True, init_cfg=None),
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=None, featmap_strides=[16]),
        bbox_head=dict(
            type='BBoxHead', with_avg_pool=True, roi_feat_size=7, in_channels=None,
            num_classes=None,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=12000, max_per_img=2000,
                          nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))
