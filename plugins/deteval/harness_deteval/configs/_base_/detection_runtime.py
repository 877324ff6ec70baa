# What the detection protocols add to the harness's evaluation runtime
# (harness/configs/_base_/eval_runtime.py: logging, hooks, the last model tested): mmengine's
# Runner in mmdet's registry scope (mmdet's unscoped RPNHead, AnchorGenerator, ... resolve
# there; harness parts are named harness.X). The harness sets test_evaluator (the protocol's
# metrics) and the datasets' data_root / ann_file / data_prefix / metainfo (from --data).
default_scope = 'mmdet'
custom_imports = dict(imports=['mmdet.models', 'mmdet.datasets', 'mmdet.evaluation',
                               'harness_deteval.modules'],
                      allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(interval=2000))
# SGD at batch 16 (2 images x 8 GPUs), lr 0.02; with another total batch the lr is scaled
# linearly (mmengine's auto_scale_lr), as mmdet's configs ask. Weight decay 1e-4, none on the
# normalisation layers' affine parameters ([code] facebookresearch/detectron2:
# detectron2/config/defaults.py SOLVER.WEIGHT_DECAY_NORM = 0.0, which MoCo's detection
# configs keep)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(norm_decay_mult=0.0))
auto_scale_lr = dict(enable=True, base_batch_size=16)
