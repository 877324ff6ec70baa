# What the nyuv2 protocols add to the harness's evaluation runtime
# (harness/configs/_base_/eval_runtime.py: mmengine's Runner in the harness's registry scope,
# logging, hooks, the last model tested, no model selection on the test set). The harness sets
# model.backbone, feat_dim, task (from the top-level task), codebook and data_preprocessor (from
# the top-level data_preprocessor), the data lists and test_evaluator
# (harness_nyueval/protocols.py).
custom_imports = dict(imports=['harness_nyueval.heads', 'harness_nyueval.model',
                               'harness_nyueval.data', 'mmdet.datasets.transforms'],
                      allow_failed_imports=False)
model = dict(type='DenseProbe', backbone=None, feat_dim=None, task=None, codebook=None,
             data_preprocessor=None, freeze_backbone=True, output_stride=8,
             head=dict(channels=512, pool_scales=(1, 2, 3, 6), dropout=0.1))
# the images as mmcv reads them (BGR) -> RGB with torchvision's mean and std
data_preprocessor = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
default_hooks = dict(checkpoint=dict(interval=1000))
