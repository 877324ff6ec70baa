# Faster R-CNN on VGG-16 (Transitive Invariance's network): harness.VGG16Conv5 (conv1_1-conv5_3,
# stride 16, no BN) with py-faster-rcnn's RPN (512 channels, anchors 8/16/32 x 0.5/1/2) and
# RoI head (7x7 RoIAlign, fc6-fc7 of 4096, 128 RoIs per image, 300 test proposals, NMS 0.3). The
# paper trained Fast R-CNN on Selective Search proposals, which the harness does not ship: the
# RPN proposes instead (docs/methods.md §4, a protocol difference the record names by this
# config). Only the convolutions transfer (the vgg16 backbone has no fc6/fc7); fc6/fc7 start at
# random. None: set by the harness (the SSL weights as the backbone's init_cfg, num_classes).
_base_ = ['./faster_rcnn.py']

model = dict(
    backbone=dict(type='harness.VGG16Conv5', frozen_stages=-1, init_cfg=None),
    rpn_head=dict(in_channels=512, feat_channels=512,
                  anchor_generator=dict(type='AnchorGenerator', scales=[8, 16, 32],
                                        ratios=[0.5, 1.0, 2.0], strides=[16])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=512, featmap_strides=[16]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=512, fc_out_channels=4096,
                       roi_feat_size=7)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(max_per_img=300), rcnn=dict(nms=dict(iou_threshold=0.3))))
