# The ssl-transfer normals recipe (linusericsson/ssl-transfer surface-normal-estimation,
# after Goyal et al. 2019; docs/image-evals.md §4): the backbone at output stride 8 (layer3
# dilated 2, layer4 dilated 4), PSPNet's pyramid pooling head, SGD lr 0.02, momentum 0.9,
# weight decay 1e-4, poly decay (power 0.9), 150 epochs x 90 iterations = 13500 iterations of
# batch 2, train short side drawn from 300/375/450/525/600 and no flip (asserted there), test at
# short side 450. One difference: ssl-transfer resizes whole images to one size per batch; here
# each image is resized on its own and a 400 x 300 crop of it is taken, so batches stack.
_base_ = ['./dense_runtime.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseTarget', kind=None),
    dict(type='RandomChoiceResize', scales=[(10000, s) for s in (300, 375, 450, 525, 600)],
         keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=(400, 300), allow_negative_crop=True),
    dict(type='PackDenseInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDenseTarget', kind=None),
    dict(type='Resize', scale=(10000, 450), keep_ratio=True),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='DenseListDataset', data_root=None, ann_file=None,
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='DenseListDataset', data_root=None, ann_file=None, test_mode=True,
                 pipeline=test_pipeline))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=13500)
# no weight decay on biases and BatchNorm parameters ([code] linusericsson/ssl-transfer:
# surface-normal-estimation/train.py group_weight)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
                        end=13500)]
