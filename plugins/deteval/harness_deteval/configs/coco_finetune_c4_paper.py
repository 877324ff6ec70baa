# COCO detection, Faster R-CNN R50-C4 1x (the box branch of MoCo's / mmselfsup's C4 ms-1x
# benchmark): the C4 model of the VOC protocol (res5 + extra BN as the RoI head, SyncBN) with
# the data and schedule of coco_finetune_paper.py; five fine-tuning trials by default.
_base_ = ['./_base_/faster_rcnn_c4.py', './_base_/coco_paper_data.py',
          './_base_/schedule_1x.py']
