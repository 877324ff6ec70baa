# The MoCo VOC schedule (detectron2 pascal_voc_R_50_C4_24k): 24k iterations at batch 16, SGD lr
# 0.02 (detection_runtime.py), 100 linear warmup iterations, x0.1 at 18k and 22k. MoCo reports
# the mean of 5 trials: a run without --seed/--seeds fine-tunes one pretraining with seeds 0-4.
_base_ = ['./detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=24000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=24000, milestones=[18000, 22000],
         gamma=0.1),
]
