# Runtime of the detection protocols: mmengine's Runner in mmdet's registry scope (mmdet's
# unscoped RPNHead, AnchorGenerator, ... resolve there; harness parts are named harness.X).
default_scope = 'mmdet'
custom_imports = dict(imports=['mmdet.models', 'mmdet.datasets', 'mmdet.evaluation',
                               'harness.weights', 'harness.hooks', 'harness_deteval.modules'],
                      allow_failed_imports=False)
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
    checkpoint=dict(type='CheckpointHook', interval=2000, by_epoch=False, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# the last model is tested (no model selection on the test set); the harness sets
# test_evaluator (the protocol's metrics) and the datasets' data_root / ann_file / data_prefix /
# metainfo (from --data)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
test_evaluator = None
# SGD at batch 16 (2 images x 8 GPUs), lr 0.02; with another total batch the lr is scaled
# linearly (mmengine's auto_scale_lr), as mmdet's configs ask
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=True, base_batch_size=16)
