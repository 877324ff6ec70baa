# COCO detection, demo sizes: the FPN detector of the paper config (faster_rcnn_fpn.py) on the
# demo's 320 x 240 images, trained on train2017 and tested on val2017 by CocoMetric. Differences
# from the paper config, all for a CPU: BN instead of SyncBN, 128-channel FPN levels (256 at
# stride 4 cost most of a step), mmdet's plain two-fc box head (Shared2FCBBoxHead, 1024-d,
# instead of four convolutions per RoI), 32 RoIs per image, fewer proposals, demo-sized scales (short side
# 160-224, test 192) and a 300-iteration schedule at batch 4 without lr scaling.
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/detection_runtime.py']

bn = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=bn),
    neck=dict(norm_cfg=bn, out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=128),
                  bbox_head=dict(_delete_=True, type='Shared2FCBBoxHead', in_channels=128,
                                 fc_out_channels=1024, roi_feat_size=7, num_classes=None,
                                 bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                                                 target_means=[0.0] * 4,
                                                 target_stds=[0.1, 0.1, 0.2, 0.2]),
                                 reg_class_agnostic=False,
                                 loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                               loss_weight=1.0),
                                 loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(320, s) for s in (160, 192, 224)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 192), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type='CocoDataset', data_root=None, ann_file=None, data_prefix=None,
                 metainfo=None, filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoDataset', data_root=None, ann_file=None, data_prefix=None,
                 metainfo=None, test_mode=True, pipeline=test_pipeline))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=300, milestones=[225, 275],
         gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=100))
