# COCO detection, Faster R-CNN R50-C4 1x (the box branch of MoCo's / mmselfsup's C4 ms-1x
# benchmark): the C4 model of the VOC protocol (res5 + extra BN as the RoI head, SyncBN) with
# the data and schedule of coco_finetune_paper.py. Five seeds by default.
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/coco_paper_data.py',
          './_base_/detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
