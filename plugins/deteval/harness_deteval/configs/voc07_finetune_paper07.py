# VOC07 detection trained on VOC2007 trainval only (the 2017 papers' data: Transitive
# Invariance, Multi-task SSL), with the model and schedule of the MoCo protocol (paper.py):
# Faster R-CNN R50-C4, 24k iterations at batch 16. The 2017 papers' own schedules (Fast R-CNN
# on VGG-16, Faster R-CNN on ResNet-101) differ; this config keeps the data split of their
# tables with today's detector recipe. Five seeds by default.
_base_ = ['./voc07_finetune_paper.py']

train_sets = ['VOC2007']
