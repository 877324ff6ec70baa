# The detection demo schedule, for a CPU: 300 steps at lr 0.02 without lr scaling (the demo's
# batch is its own), 50 warmup steps, x0.1 at 225 and 275; a checkpoint every 100 steps.
_base_ = ['./detection_runtime.py']

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=300, milestones=[225, 275],
         gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=100))
