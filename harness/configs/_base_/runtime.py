# The runtime of every mmengine Runner the harness builds, pretraining and evaluation alike:
# the harness's registry scope, the process setup, logging and the default hooks. Pretraining
# configs run over pretrain_runtime.py and evaluation configs trained by a Runner over
# eval_runtime.py (both on top of this file; harness.config merges them). A config states only
# where it differs: its registry scope, how often it logs, and how often it saves a checkpoint
# (a checkpoint's size and a run's length differ by orders of magnitude between runs).
default_scope = 'harness'
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
