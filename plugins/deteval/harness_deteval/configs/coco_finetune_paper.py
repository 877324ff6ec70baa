# COCO detection, Faster R-CNN R50-FPN 1x (the box branch of MoCo's / mmselfsup's ms-1x
# benchmark; docs/image-evals.md §1): SyncBN in backbone, FPN and box head, no frozen stages,
# train2017 at short side 640-800, 12 epochs at batch 16 (2 images x 8 GPUs), lr 0.02, x0.1
# after epochs 8 and 11; CocoMetric box AP/AP50/AP75 on val2017; five fine-tuning trials by
# default.
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/coco_paper_data.py',
          './_base_/schedule_1x.py']
