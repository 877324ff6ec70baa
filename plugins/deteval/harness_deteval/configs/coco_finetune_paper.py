# COCO detection, Faster R-CNN R50-FPN 1x (the box branch of MoCo's / mmselfsup's ms-1x
# benchmark; docs/image-evals.md §1): SyncBN in backbone, FPN and box head, no frozen stages,
# train2017 at short side 640-800, 12 epochs at batch 16 (2 images x 8 GPUs), SGD lr 0.02,
# 500 warmup iterations, x0.1 after epochs 8 and 11; CocoMetric box AP/AP50/AP75 on val2017.
# Five seeds by default.
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/coco_paper_data.py',
          './_base_/detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
