# VOC07 detection with Faster R-CNN FPN (for ResNets whose four stages all transfer): the data
# and schedule of the MoCo protocol (paper.py: VOC2007+2012 trainval, short side 480-800,
# 24k iterations at batch 16, lr 0.02, x0.1 at 18k and 22k), the FPN model of the COCO
# protocol (SyncBN in backbone, FPN and box head). Five seeds by default.
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/voc_paper_data.py',
          './_base_/detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_sets = ['VOC2007', 'VOC2012']
train_cfg = dict(type='IterBasedTrainLoop', max_iters=24000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=24000, milestones=[18000, 22000],
         gamma=0.1),
]
