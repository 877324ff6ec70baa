# Faster R-CNN FPN for an SSL ResNet (MoCo's / mmselfsup's FPN benchmark, box branch only;
# docs/image-evals.md §1): mmdet ResNet with 4 stages, style 'pytorch', BN trained with
# norm_eval=False and no frozen stages, SyncBN in the FPN and the box head too (the detectron2
# FPN-BN recipe: four 256-channel convolutions and one fc per RoI).
# None: set by the harness from --backbone (depth, base_channels, neck.in_channels, the SSL
# weights as the backbone's init_cfg) and the dataset (num_classes).
_base_ = ['./faster_rcnn.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(type='ResNet', depth=None, base_channels=None, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_cfg=norm_cfg,
                  norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=None, out_channels=256, num_outs=5, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=256, feat_channels=256,
                  anchor_generator=dict(type='AnchorGenerator', scales=[8],
                                        ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', in_channels=256, conv_out_channels=256,
                       fc_out_channels=1024, roi_feat_size=7, norm_cfg=norm_cfg)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=2000, max_per_img=1000)),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=1000)))
