# The dense recipe at demo size, for a CPU: the demo's 80 x 60 rooms at short side 60-84 with a
# 72 x 56 crop, tested at their own size; 200 steps of batch 4, SGD lr 0.02, poly decay; a
# 128-channel head (the paper's 512 would dwarf resnet18-slim).
_base_ = ['./dense_paper.py']

model = dict(head=dict(channels=128))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseTarget', kind=None),
    dict(type='RandomChoiceResize', scales=[(10000, s) for s in (60, 72, 84)], keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=(72, 56), allow_negative_crop=True),
    dict(type='PackDenseInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseTarget', kind=None),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
                        end=200)]
default_hooks = dict(checkpoint=dict(interval=100))
