# VOC07 detection, demo sizes: the C4 detector of the paper config (faster_rcnn_c4.py) on the
# demo's 320 x 240 images, trained on VOC2007 trainval and tested on VOC2007 test. Differences
# from the paper config, all for a CPU, where res5 run on every RoI costs 95% of a step: BN
# instead of SyncBN, 8 x 8 RoIAlign (res5 then gives 4 x 4, not 7 x 7) on 32 RoIs per image,
# fewer proposals, demo-sized scales (short side 160-224, test 192) and a 300-iteration
# schedule at batch 4 without lr scaling (about 1 s a step on 2 cores with resnet18).
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/detection_runtime.py']

bn = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=bn),
    roi_head=dict(shared_head=dict(norm_cfg=bn),
                  bbox_roi_extractor=dict(roi_layer=dict(output_size=8)),
                  bbox_head=dict(roi_feat_size=4)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=2000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100)))

train_sets = ['VOC2007']
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
    dataset=dict(type='VOCDataset', data_root=None, ann_file=None, data_prefix=None,
                 metainfo=None, filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VOCDataset', data_root=None, ann_file=None, data_prefix=None,
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
