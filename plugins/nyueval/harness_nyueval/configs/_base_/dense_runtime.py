# Runtime of the nyuv2 protocols: mmengine's Runner in the harness's registry scope; the last
# model is tested (no model selection on the test set). The harness sets model.backbone,
# feat_dim, task (from the top-level task), codebook and data_preprocessor (from the top-level
# data_preprocessor), the data lists and test_evaluator (harness_nyueval/protocols.py).
default_scope = 'harness'
custom_imports = dict(imports=['harness.weights', 'harness.hooks', 'harness_nyueval.heads',
                               'harness_nyueval.model', 'harness_nyueval.data',
                               'mmdet.datasets.transforms'],
                      allow_failed_imports=False)
model = dict(type='DenseProbe', backbone=None, feat_dim=None, task=None, codebook=None,
             data_preprocessor=None, freeze_backbone=True, output_stride=8,
             head=dict(channels=512, pool_scales=(1, 2, 3, 6), dropout=0.1))
# the images as mmcv reads them (BGR) -> RGB with torchvision's mean and std
data_preprocessor = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
test_evaluator = None
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
