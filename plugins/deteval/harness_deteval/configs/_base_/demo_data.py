# Detection demo data, for a CPU: the paper recipe (voc_paper_data.py) on the demo's 320 x 240
# images at short side 160-224 (test 192), 4 images a step.
_base_ = ['./voc_paper_data.py']

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
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline))
