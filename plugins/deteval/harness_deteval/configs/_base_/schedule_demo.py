# The detection demo schedule, for a CPU: 300 steps, 50 warmup steps, x0.1 at 225 and 275; a
# checkpoint every 100 steps. The lr is the runtime's 0.02 at batch 16 scaled linearly to the
# demo's batch (0.005 at batch 4), fixed a priori by that rule, not chosen on any row.
_base_ = ['./detection_runtime.py']

train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=300, milestones=[225, 275],
         gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=100))
