# COCO detection, demo sizes: the FPN detector of the paper config (faster_rcnn_fpn.py) on the
# demo's 320 x 240 images, trained on train2017 and tested on val2017 by CocoMetric. Differences
# from the paper config, all for a CPU: BN instead of SyncBN, 128-channel FPN levels (256 at
# stride 4 cost most of a step), mmdet's plain two-fc box head (Shared2FCBBoxHead, 1024-d,
# instead of four convolutions per RoI), 32 RoIs per image, fewer proposals, and the demo data
# and schedule (_base_/demo_data.py: short side 160-224, test 192, 300 steps of 4 images).
_base_ = ['./_base_/faster_rcnn_fpn.py', './_base_/demo_data.py',
          './_base_/schedule_demo.py']

bn = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=bn),
    neck=dict(norm_cfg=bn, out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=128),
                  bbox_head=dict(type='Shared2FCBBoxHead', in_channels=128,
                                 fc_out_channels=1024, norm_cfg=None)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100)))

train_dataloader = dict(dataset=dict(type='CocoDataset'))
test_dataloader = dict(dataset=dict(type='CocoDataset'))
