# VOC07 detection on VGG-16 (Transitive Invariance's table: train VOC2007 trainval, test VOC2007
# test, mAP@0.5). The paper fine-tuned Fast R-CNN on Selective Search proposals; the harness
# has no proposal files, so this is Faster R-CNN (RPN proposals) on the same trunk: conv1_1-
# conv5_3 from the SSL weights, fc6/fc7 random (docs/methods.md §4). Data at short side
# 480-800 as the other VOC configs; VGG-16 without BN trains at lr 0.01 (batch 16) with 500
# warmup iterations, 24k iterations, x0.1 at 18k and 22k; five fine-tuning trials by default.
_base_ = ['./_base_/faster_rcnn_vgg16.py', './_base_/voc_paper_data.py',
          './_base_/schedule_24k.py']

train_sets = ['VOC2007']
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=24000, milestones=[18000, 22000],
         gamma=0.1),
]
