# Two augmented views of one image (the image versions of MoCo / BYOL / SimSiam), demo size:
# each view is a 56-pixel random resized crop of the demo imagenet's 64-pixel image (area 0.2-1
# as MoCo v2 and SimSiam, aspect 3/4-4/3), cut from the image and resized once to 56 in the
# worker, as torchvision's RandomResizedCrop (no decode_size: an intermediate of another size
# would resample each view twice and blur it), flipped, colour-jittered (0.4, 0.4, 0.4, 0.1)
# with p 0.8, grey with p 0.2 and blurred with p 0.5, augmented on the device. Method configs
# set `model` (and their own views where their paper's recipe differs).
# The harness runs it over its pretraining runtime (harness/configs/_base_/pretrain_runtime.py:
# logging, checkpoints, the core's imports, the train_dataloader's sampler and loader) and sets
# model.backbone (--backbone), model.feat_dim, the dataset's data_root and ann_file
# (--pretrain-data) and the seed; `harness run --dry-run` prints the merged config.
custom_imports = dict(imports=['harness_contrastive.models', 'harness_backbones.image'])

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        type='ImageListDataset',
        pipeline=[
            dict(type='SampleImageViews', views=dict(
                view1=dict(size=56, augment=dict(
                    scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1),
                    blur=0.5)),
                view2=dict(size=56, augment=dict(
                    scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.4, 0.4, 0.4, 0.1),
                    blur=0.5)))),
            dict(type='PackInputs'),
        ],
    ),
)

# 300 steps of batch 32 (40 passes over the 240 demo train images), not tuned per method
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, T_max=290),
]
