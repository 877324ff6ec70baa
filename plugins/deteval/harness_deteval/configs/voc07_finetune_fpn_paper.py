# VOC07 detection with Faster R-CNN FPN (for ResNets whose four stages all transfer): the data
# and schedule of the MoCo protocol (paper.py: VOC2007+2012 trainval, short side 480-800,
# 24k iterations at batch 16), the FPN model of the COCO protocol (SyncBN in backbone, FPN and
# box head); five fine-tuning trials by default.
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/voc_paper_data.py',
          './_base_/schedule_24k.py']

train_sets = ['VOC2007', 'VOC2012']
