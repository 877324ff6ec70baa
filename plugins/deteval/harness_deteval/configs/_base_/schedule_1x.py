# The COCO 1x schedule: 12 epochs at batch 16, SGD lr 0.02 (detection_runtime.py), 500 linear
# warmup iterations, x0.1 after epochs 8 and 11; a checkpoint every epoch. Five fine-tuning
# trials of one pretraining unless --seed/--seeds say otherwise.
_base_ = ['./detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
