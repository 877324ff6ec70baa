# VOC07 detection, the MoCo protocol (detectron2 pascal_voc_R_50_C4_24k_moco.yaml, mmselfsup
# faster-rcnn_r50-c4_ms-24k_voc0712.py; docs/image-evals.md §1): Faster R-CNN R50-C4 with res5 +
# extra BN as the RoI head, SyncBN, trained on VOC2007+2012 trainval (ConcatDataset) at short
# side 480-800, tested on VOC2007 test at 800; 24k iterations at batch 16 (2 images x 8 GPUs),
# SGD lr 0.02, 100 warmup iterations, x0.1 at 18k and 22k. MoCo reports the mean of 5 trials,
# so a run without --seed/--seeds runs seeds 0-4 and records their mean and std.
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/voc_paper_data.py',
          './_base_/detection_runtime.py']

seeds = [0, 1, 2, 3, 4]
train_sets = ['VOC2007', 'VOC2012']
train_cfg = dict(type='IterBasedTrainLoop', max_iters=24000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=24000, milestones=[18000, 22000],
         gamma=0.1),
]
