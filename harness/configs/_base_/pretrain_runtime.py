# Runtime shared by pretraining configs (mmengine Runner, registry scope 'harness').
default_scope = 'harness'
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=5, by_epoch=False)
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=5),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # resumable every 30 iterations (with optimizer state an R3D-18 checkpoint is 800 MB)
    checkpoint=dict(type='CheckpointHook', interval=30, by_epoch=False, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [dict(type='ProgressBarHook', desc='pretrain')]
