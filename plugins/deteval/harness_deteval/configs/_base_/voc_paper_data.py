# VOC data of the MoCo / mmselfsup protocol (docs/image-evals.md §1): train short side drawn
# from 480-800 in steps of 32 (long side <= 1333) with a horizontal flip, images without boxes
# or under 32 pixels left out; test at short side 800. 2 images per GPU. The train sets are a
# config's train_sets: VOC2007 trainval (the default), plus VOC2012 trainval for 07+12.
# None: set by the harness from --data.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(480, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type='VOCDataset', data_root=None, ann_file=None, data_prefix=None,
                 metainfo=None, filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VOCDataset', data_root=None, ann_file=None, data_prefix=None,
                 metainfo=None, test_mode=True, pipeline=test_pipeline))
